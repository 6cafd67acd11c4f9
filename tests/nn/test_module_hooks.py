"""nn.Module hooks: forward (pre-)hooks, full backward (pre-)hooks, global hooks and handles.

Each scenario is written once against either library (`lib` is autodiff or torch, `tnn` its
nn), so the PyTorch cross-checks build the same modules with the same weights and compare the
sequence of hook calls, the values and gradients the hooks see, and the effect of what they
return. Closed forms check the same behaviours without PyTorch.
"""
import gc
import warnings
import weakref

import numpy as np
import pytest

import autodiff as ad
import nn
from nn import module as module_mod

from _torch import assert_close, to_numpy

RNG = np.random.default_rng(7)


def _set_weights(lib, model, seed=0):
    """Deterministic weights, the same in both libraries (registration order is the same)."""
    rng = np.random.default_rng(seed)
    with lib.no_grad():
        for _, p in model.named_parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
    return model


def _arr(t):
    return None if t is None else np.array(to_numpy(t))


def _arrays(ts):
    return tuple(_arr(t) if not isinstance(t, (int, float, str)) else t for t in ts)


def _compare_logs(ours, theirs):
    """Same hook calls in the same order, each with the same values (None where torch has
    None)."""
    assert [e[0] for e in ours] == [e[0] for e in theirs]
    for (label, *a), (_, *b) in zip(ours, theirs):
        assert len(a) == len(b), label
        for x, y in zip(a, b):
            if isinstance(y, tuple):
                assert isinstance(x, tuple) and len(x) == len(y), (label, x, y)
                for i, (xi, yi) in enumerate(zip(x, y)):
                    if yi is None or isinstance(yi, (int, float, str)):
                        assert xi == yi, (label, i, xi, yi)
                    else:
                        assert_close(xi, yi, rtol=1e-5, atol=1e-6, err_msg=f"{label}[{i}]")
            else:
                assert x == y, (label, x, y)


def _both(torch, scenario):
    """scenario(lib, tnn, log) -> dict of arrays; run in both libraries, compare logs and
    results. Returns our log and results."""
    log_a, log_t = [], []
    res_a = scenario(ad, nn, log_a)
    res_t = scenario(torch, torch.nn, log_t)
    _compare_logs(log_a, log_t)
    assert res_a.keys() == res_t.keys()
    for k in res_a:
        assert_close(res_a[k], res_t[k], rtol=1e-5, atol=1e-6, check_dtype=False, err_msg=k)
    return log_a, res_a


def _mlp(tnn):
    return tnn.Sequential(tnn.Linear(3, 4), tnn.ReLU(), tnn.Linear(4, 2))


X = RNG.standard_normal((5, 3)).astype(np.float32)


# --- forward pre-hooks ---------------------------------------------------------------------------

def _pre_hook_returns(lib, tnn, log):
    lin = _set_weights(lib, tnn.Linear(3, 2))
    x = lib.tensor(X)
    out = {}
    with lin.register_forward_pre_hook(lambda m, args: args[0] * 2):  # non-tuple: (value,)
        out["non_tuple"] = lin(x)
    with lin.register_forward_pre_hook(lambda m, args: (args[0] + 1,)):
        out["tuple"] = lin(x)
    with lin.register_forward_pre_hook(lambda m, args: log.append(("pre", _arrays(args)))):
        out["none"] = lin(x)
    return out


def test_forward_pre_hook_return_values_closed_form():
    _, res = None, _pre_hook_returns(ad, nn, [])
    lin = _set_weights(ad, nn.Linear(3, 2))
    W, b = lin.weight.data, lin.bias.data
    np.testing.assert_allclose(res["non_tuple"].data, 2 * X @ W.T + b, rtol=1e-5)
    np.testing.assert_allclose(res["tuple"].data, (X + 1) @ W.T + b, rtol=1e-5)
    np.testing.assert_allclose(res["none"].data, X @ W.T + b, rtol=1e-5)


def test_forward_pre_hook_return_values_match_torch(torch):
    _both(torch, _pre_hook_returns)


def _pre_hook_order_and_kwargs(lib, tnn, log):
    class Scale(tnn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    m = Scale()
    m.register_forward_pre_hook(lambda m, args: log.append(("second",)))
    m.register_forward_pre_hook(lambda m, args: log.append(("first",)), prepend=True)

    def kw_hook(m, args, kwargs):
        log.append(("kw", _arrays(args), kwargs["scale"]))
        return (args[0] + 1,), {"scale": kwargs["scale"] * 10}

    m.register_forward_pre_hook(kw_hook, with_kwargs=True)
    m.register_forward_pre_hook(lambda m, args, kwargs: None, with_kwargs=True)
    y = m(lib.tensor(X), scale=2.0)
    return {"y": y}


def test_forward_pre_hooks_prepend_and_kwargs_closed_form():
    log = []
    res = _pre_hook_order_and_kwargs(ad, nn, log)
    assert [e[0] for e in log] == ["first", "second", "kw"]
    assert log[2][2] == 2.0
    np.testing.assert_allclose(res["y"].data, (X + 1) * 20, rtol=1e-6)


def test_forward_pre_hooks_prepend_and_kwargs_match_torch(torch):
    _both(torch, _pre_hook_order_and_kwargs)


def test_forward_pre_hook_with_kwargs_bad_return_raises_as_torch(torch):
    for lib, tnn in ((ad, nn), (torch, torch.nn)):
        lin = tnn.Linear(3, 2)
        lin.register_forward_pre_hook(lambda m, a, k: (a,), with_kwargs=True)
        with pytest.raises(RuntimeError, match=r"forward pre-hook must return None or a tuple "
                                               r"of \(new_args, new_kwargs\), but got \("):
            lin(lib.tensor(X))


# --- forward hooks -------------------------------------------------------------------------------

def _forward_hooks(lib, tnn, log):
    lin = _set_weights(lib, tnn.Linear(3, 2))
    lin.register_forward_hook(lambda m, args, out: log.append(("plain", _arrays(args),
                                                               _arrays((out,)))))
    lin.register_forward_hook(lambda m, args, out: out * 3)
    lin.register_forward_hook(lambda m, args, out: log.append(("first",)), prepend=True)
    lin.register_forward_hook(
        lambda m, args, kwargs, out: log.append(("kw", tuple(sorted(kwargs)),
                                                 _arrays((out,)))), with_kwargs=True)
    return {"y": lin(lib.tensor(X))}


def test_forward_hooks_order_replacement_and_kwargs_closed_form():
    log = []
    res = _forward_hooks(ad, nn, log)
    lin = _set_weights(ad, nn.Linear(3, 2))
    expected = X @ lin.weight.data.T + lin.bias.data
    assert [e[0] for e in log] == ["first", "plain", "kw"]
    np.testing.assert_allclose(log[1][2][0], expected, rtol=1e-5)  # before the replacement
    np.testing.assert_allclose(log[2][2][0], 3 * expected, rtol=1e-5)  # after it
    np.testing.assert_allclose(res["y"].data, 3 * expected, rtol=1e-5)


def test_forward_hooks_order_replacement_and_kwargs_match_torch(torch):
    _both(torch, _forward_hooks)


def _always_call(lib, tnn, log):
    class Boom(tnn.Module):
        def forward(self, x):
            raise ValueError("boom")

    m = Boom()
    m.register_forward_hook(lambda m, a, out: log.append(("never",)))
    m.register_forward_hook(lambda m, a, out: log.append(("always", out)), always_call=True)
    m.register_forward_hook(lambda m, a, k, out: log.append(("always_kw", sorted(k))),
                            with_kwargs=True, always_call=True)

    def bad(m, a, out):
        raise KeyError("in hook")

    m.register_forward_hook(bad, always_call=True)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="boom"):
            m(lib.tensor(X))
    log.append(("warnings", tuple(str(x.message) for x in w)))
    return {}


def test_always_call_forward_hooks_run_when_forward_raises():
    log = []
    _always_call(ad, nn, log)
    assert log[:2] == [("always", None), ("always_kw", [])]
    assert log[2][1] == ("module forward hook with ``always_call=True`` raised an exception that "
                         "was silenced as another error was raised in forward: 'in hook'",)


def test_always_call_forward_hooks_match_torch(torch):
    _both(torch, _always_call)


# --- handles -------------------------------------------------------------------------------------

def test_handles_remove_and_restore_the_fast_path(monkeypatch):
    lin = nn.Linear(3, 2)
    calls = []
    h1 = lin.register_forward_hook(lambda *a: calls.append(1), with_kwargs=False,
                                   always_call=True)
    h2 = lin.register_full_backward_hook(lambda *a: calls.append(2))
    assert lin.__dict__.get("_hooked") is True
    h1.remove()
    h1.remove()  # a second remove does nothing
    assert h1.id not in lin._forward_hooks_always_called
    assert lin.__dict__.get("_hooked") is True  # the backward hook is still there
    with h2:
        pass
    assert not lin._backward_hooks and "_hooked" not in lin.__dict__
    # no hooks: __call__ goes straight to forward
    monkeypatch.setattr(nn.Module, "_call_with_hooks",
                        lambda *a: pytest.fail("the hooked path ran on a module without hooks"))
    lin(ad.tensor(X)).sum().backward()
    assert calls == []


def test_handle_does_not_keep_the_module_alive():
    lin = nn.Linear(3, 2)
    h = lin.register_forward_hook(lambda *a: None)
    ref = weakref.ref(lin)
    del lin
    gc.collect()
    assert ref() is None
    h.remove()  # the module is gone: nothing to do, no error


def _remove_while_running(lib, tnn, log):
    lin = tnn.Linear(3, 2)
    handles = []

    def first(m, args, out):
        log.append(("first",))
        handles[1].remove()  # removes the next hook: it still runs in this call (as torch)
        handles[0].remove()  # and itself

    handles.append(lin.register_forward_hook(first))
    handles.append(lin.register_forward_hook(lambda m, a, o: log.append(("second",))))
    handles.append(lin.register_forward_pre_hook(lambda m, a: log.append(("pre",))))
    x = lib.tensor(X)
    lin(x)
    lin(x)
    handles[2].remove()
    lin(x)
    return {}


def test_hooks_removable_while_running():
    log = []
    _remove_while_running(ad, nn, log)
    assert [e[0] for e in log] == ["pre", "first", "second", "pre"]


def test_hooks_removable_while_running_match_torch(torch):
    _both(torch, _remove_while_running)


# --- full backward hooks -------------------------------------------------------------------------

def _record_backward(model, log, names):
    for name, m in model.named_modules():
        label = names.get(name, name)
        m.register_full_backward_pre_hook(
            lambda m, go, label=label: log.append(("pre " + label, _arrays(go))))
        m.register_full_backward_hook(
            lambda m, gi, go, label=label: log.append(("full " + label, _arrays(gi),
                                                       _arrays(go))))


def _mlp_backward(lib, tnn, log):
    model = _set_weights(lib, _mlp(tnn))
    _record_backward(model, log, {"": "seq"})
    x = lib.tensor(X, requires_grad=True)
    y = model(x)
    y.backward(lib.tensor(np.arange(10, dtype=np.float32).reshape(5, 2)))
    return {"x.grad": x.grad, **{n: p.grad for n, p in model.named_parameters()}}


def test_full_backward_hooks_closed_form():
    log = []
    res = _mlp_backward(ad, nn, log)
    model = _set_weights(ad, _mlp(nn))
    W0, b0, W2 = model[0].weight.data, model[0].bias.data, model[2].weight.data
    g = np.arange(10, dtype=np.float32).reshape(5, 2)
    h = X @ W0.T + b0
    g_relu_out = g @ W2
    g_h = g_relu_out * (h > 0)
    g_x = g_h @ W0
    assert [e[0] for e in log] == ["pre seq", "pre 2", "full 2", "pre 1", "full 1", "pre 0",
                                   "full 0", "full seq"]
    expect = {"pre seq": [(g,)], "pre 2": [(g,)], "full 2": [(g_relu_out,), (g,)],
              "pre 1": [(g_relu_out,)], "full 1": [(g_h,), (g_relu_out,)], "pre 0": [(g_h,)],
              "full 0": [(g_x,), (g_h,)], "full seq": [(g_x,), (g,)]}
    for label, *got in log:
        for tup, exp in zip(got, expect[label]):
            for a, b in zip(tup, exp):
                np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=label)
    np.testing.assert_allclose(res["x.grad"].data, g_x, rtol=1e-4, atol=1e-5)


def test_full_backward_hooks_match_torch(torch):
    _both(torch, _mlp_backward)


def _replacements(lib, tnn, log):
    model = _set_weights(lib, _mlp(tnn))
    model[2].register_full_backward_pre_hook(lambda m, go: (go[0] * 2,))
    model[0].register_full_backward_hook(lambda m, gi, go: (gi[0] * 0 + 1,))
    model[1].register_full_backward_hook(lambda m, gi, go: None)
    _record_backward(model, log, {"": "seq"})  # after the replacing ones: they see the results
    x = lib.tensor(X, requires_grad=True)
    model(x).sum().backward()
    return {"x.grad": x.grad, **{n: p.grad for n, p in model.named_parameters()}}


def test_returned_replacements_closed_form():
    log = []
    res = _replacements(ad, nn, log)
    model = _set_weights(ad, _mlp(nn))
    W0, b0 = model[0].weight.data, model[0].bias.data
    h = np.maximum(X @ W0.T + b0, 0)
    g = np.full((5, 2), 2.0, np.float32)  # the pre-hook doubled grad_output
    np.testing.assert_allclose(res["2.weight"].data, g.T @ h, rtol=1e-5)
    np.testing.assert_allclose(res["2.bias"].data, g.sum(0), rtol=1e-5)
    np.testing.assert_allclose(res["x.grad"].data, np.ones((5, 3)))  # replaced grad_input
    # the container's hook sees the replaced gradient of its input, its own grad_output intact
    full_seq = [e for e in log if e[0] == "full seq"][0]
    np.testing.assert_allclose(full_seq[1][0], np.ones((5, 3)))
    np.testing.assert_allclose(full_seq[2][0], np.ones((5, 2)))


def test_returned_replacements_match_torch(torch):
    _both(torch, _replacements)


def _many_args(lib, tnn, log):
    class Mix(tnn.Module):
        def forward(self, s, x, t, u, idx, k=None):
            return x[idx] * s + k[idx], "label", t * 2, t.sum() + 1, u

    m = Mix()
    _record_backward(m, log, {"": "mix"})
    x = lib.tensor(X, requires_grad=True)
    t = lib.tensor(X[0], requires_grad=True)
    u = lib.tensor(X[1])  # needs no gradient
    idx = lib.tensor([0, 2, 2])  # an integer tensor
    k = lib.tensor(X, requires_grad=True)  # keyword arguments are not hooked
    a, label, b, c, u2 = m(3.0, x, t, u, idx, k=k)
    assert label == "label"
    (a.sum() + (b * b).sum()).backward()  # c (recorded) unused: None in grad_output
    return {"x.grad": x.grad, "t.grad": t.grad, "k.grad": k.grad}


def test_positional_tensors_only_none_elsewhere():
    log = []
    res = _many_args(ad, nn, log)
    (pre, go), (full, gi, go2) = log
    assert (pre, full) == ("pre mix", "full mix")
    # grad_input: None for non-Tensors; as in PyTorch, zeros (of the input's dtype) for tensor
    # inputs that need no gradient. grad_output: None for non-Tensors and unused outputs.
    assert gi[0] is None and go[1] is None and go[3] is None and go[4] is None
    np.testing.assert_array_equal(gi[3], np.zeros(3, np.float32))
    assert gi[4].dtype == np.int64 and not gi[4].any()
    np.testing.assert_allclose(gi[1], np.array([3, 0, 6, 0, 0])[:, None] * np.ones((5, 3)))
    np.testing.assert_allclose(gi[2], 8 * X[0], rtol=1e-6)
    np.testing.assert_allclose(go[2], 4 * X[0], rtol=1e-6)
    np.testing.assert_allclose(res["k.grad"].data, gi[1] / 3)


def test_positional_tensors_only_none_elsewhere_match_torch(torch):
    _both(torch, _many_args)


def _no_input_requires_grad(lib, tnn, log):
    lin = _set_weights(lib, tnn.Linear(3, 2))
    _record_backward(lin, log, {"": "lin"})
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        lin(lib.tensor(X)).sum().backward()
    log.append(("warnings", tuple(str(x.message) for x in w)))
    bad = tnn.Linear(3, 2)
    bad.register_full_backward_hook(lambda m, gi, go: (gi[0],) if gi[0] is not None else
                                    (lib.ones(5, 3),))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match="Backward hook for Modules where no input "
                                               "requires gradient should always return None or "
                                               "None for all gradients."):
            bad(lib.tensor(X)).sum().backward()
    return {"weight.grad": lin.weight.grad}


def test_no_input_requiring_grad_fires_on_grad_output_with_a_warning():
    log = []
    _no_input_requires_grad(ad, nn, log)
    assert [e[0] for e in log] == ["pre lin", "full lin", "warnings"]
    assert log[1][1] == (None,)
    np.testing.assert_allclose(log[1][2][0], np.ones((5, 2)))
    assert log[2][1][0].startswith("Full backward hook is firing when gradients are computed "
                                   "with respect to module outputs since no inputs require "
                                   "gradients.")


def test_no_input_requiring_grad_matches_torch(torch):
    _both(torch, _no_input_requires_grad)


def _no_output_requires_grad(lib, tnn, log):
    act = tnn.ReLU()
    _record_backward(act, log, {"": "relu"})
    lin = tnn.Linear(3, 2)
    _record_backward(lin, log, {"": "lin"})
    x = lib.tensor(X, requires_grad=True)
    with lib.no_grad():
        lin(x)
    y = act(lib.tensor(X))
    assert not y.requires_grad
    z = (act(x) * 2).sum()  # only now does a gradient cross the module
    z.backward()
    return {"x.grad": x.grad}


def test_hooks_do_not_fire_without_a_recorded_output():
    log = []
    _no_output_requires_grad(ad, nn, log)
    assert [e[0] for e in log] == ["pre relu", "full relu"]


def test_hooks_do_not_fire_without_a_recorded_output_match_torch(torch):
    _both(torch, _no_output_requires_grad)


def _twice_and_removed(lib, tnn, log):
    lin = _set_weights(lib, tnn.Linear(2, 2, bias=False))
    h = lin.register_full_backward_hook(lambda m, gi, go: log.append(("full", _arrays(gi),
                                                                      _arrays(go))))
    x = lib.tensor(X[:, :2], requires_grad=True)
    y = lin(lin(x))  # one module, two calls: each call has its own hook state
    h.remove()  # removed after forward: PyTorch still fires it for this graph
    y.sum().backward()
    lin(x).sum().backward()  # a new call after removal: no hook
    return {"x.grad": x.grad}


def test_module_called_twice_and_hook_removed_after_forward():
    log = []
    _twice_and_removed(ad, nn, log)
    assert [e[0] for e in log] == ["full", "full"]
    np.testing.assert_allclose(log[1][2][0], log[0][1][0])  # outer's grad_input -> inner's output


def test_module_called_twice_and_hook_removed_after_forward_match_torch(torch):
    _both(torch, _twice_and_removed)


def _pre_hook_drops_everything(lib, tnn, log):
    class Double(tnn.Module):
        def forward(self, x):
            return x * 2

    out = {}
    for name, m in (("double", Double()), ("lin", _set_weights(lib, tnn.Linear(3, 3)))):
        m.register_full_backward_pre_hook(lambda m, go: (None,))
        m.register_full_backward_hook(lambda m, gi, go, name=name: log.append(
            (name, _arrays(gi), _arrays(go))))
        x = lib.tensor(X, requires_grad=True)
        m(x).sum().backward()
        out[name + " x.grad"] = x.grad
        out.update({f"{name} {n}": p.grad for n, p in m.named_parameters()})
    return out


def test_pre_hook_returning_none_gives_zero_input_gradients():
    log = []
    res = _pre_hook_drops_everything(ad, nn, log)
    assert [e[0] for e in log] == ["double", "lin"]
    for _, gi, go in log:
        assert go == (None,)
        np.testing.assert_array_equal(gi[0], np.zeros((5, 3)))
    np.testing.assert_array_equal(res["lin x.grad"].data, np.zeros((5, 3)))


def test_pre_hook_returning_none_matches_torch(torch):
    # (torch leaves the Linear's parameter grads None, ours are zeros: assert_close allows it)
    _both(torch, _pre_hook_drops_everything)


def _identity_and_forward_hook(lib, tnn, log):
    class Id(tnn.Module):
        def forward(self, x):
            return x  # returned as-is: the output wraps the wrapped input

    m = Id()
    m.register_forward_hook(lambda m, a, out: out * 3)  # the hooks see the replaced output
    _record_backward(m, log, {"": "id"})
    x = lib.tensor(X, requires_grad=True)
    (m(x) * 2).sum().backward()
    return {"x.grad": x.grad}


def test_identity_module_and_forward_hook_replacement():
    log = []
    res = _identity_and_forward_hook(ad, nn, log)
    assert [e[0] for e in log] == ["pre id", "full id"]
    np.testing.assert_allclose(log[1][2][0], np.full((5, 3), 2.0))
    np.testing.assert_allclose(log[1][1][0], np.full((5, 3), 6.0))
    np.testing.assert_allclose(res["x.grad"].data, np.full((5, 3), 6.0))


def test_identity_module_and_forward_hook_replacement_match_torch(torch):
    _both(torch, _identity_and_forward_hook)


def _double_backward(lib, tnn, log):
    class Cube(tnn.Module):
        def forward(self, x):
            return x ** 3

    m = Cube()
    _record_backward(m, log, {"": "cube"})
    x = lib.tensor(np.array([2.0, -1.0], np.float32), requires_grad=True)
    y = m(x)
    g, = lib.autograd.grad(y.sum(), x, create_graph=True) if lib is not ad else \
        ad.grad(y.sum(), x, create_graph=True)
    log.append(("g", _arrays((g,))))
    g.sum().backward()  # goes back through the input wrapper only: no hook fires
    y2 = m(x)
    y2.sum().backward(retain_graph=True)
    y2.sum().backward()  # every backward through the graph fires the hooks again
    return {"g": g, "x.grad": x.grad}


def test_double_backward_and_retain_graph():
    log = []
    res = _double_backward(ad, nn, log)
    assert [e[0] for e in log] == ["pre cube", "full cube", "g", "pre cube", "full cube",
                                   "pre cube", "full cube"]
    np.testing.assert_allclose(res["g"].data, [12.0, 3.0])
    np.testing.assert_allclose(res["x.grad"].data, [12.0 + 24.0, -6.0 + 6.0])


def test_double_backward_and_retain_graph_match_torch(torch):
    _both(torch, _double_backward)


def test_recorded_hook_gradients_support_second_order():
    m = nn.Tanh()
    m.register_full_backward_pre_hook(lambda m, go: (go[0] * 3,))
    x = ad.tensor([0.3, -0.8], dtype=ad.float64, requires_grad=True)
    g, = ad.grad(m(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, 3 * (1 - np.tanh(x.data) ** 2))
    gg, = ad.grad(g.sum(), x)
    t = np.tanh(x.data)
    np.testing.assert_allclose(gg.data, 3 * -2 * t * (1 - t ** 2))


# --- errors --------------------------------------------------------------------------------------

BAD_RETURNS = [
    ("full", lambda lib: lambda m, gi, go: (gi[0], gi[0]), RuntimeError,
     r"^Backward hook returned an invalid number of grad_input, got 2, but expected 1$"),
    ("pre", lambda lib: lambda m, go: (go[0], go[0]), RuntimeError,
     r"^Backward pre hook returned an invalid number of grad_output, got 2, but expected 1$"),
    ("full", lambda lib: lambda m, gi, go: (lib.ones(3),), RuntimeError,
     r"^hook 'hook' has changed the size of value$"),
    ("pre", lambda lib: lambda m, go: (lib.ones(3),), RuntimeError,
     r"^hook 'hook' has changed the size of value$"),
    ("pre", lambda lib: lambda m, go: go[0] * 2, RuntimeError,  # a Tensor, not a tuple
     r"^hook 'hook' has changed the size of value$"),
    ("full", lambda lib: lambda m, gi, go: (gi[0].double(),), RuntimeError,
     r"^hook 'hook' has changed the type of value \(was \S+ got \S+\)$"),
    ("full", lambda lib: lambda m, gi, go: (3.0,), TypeError,
     r"^expected \w+, but hook returned 'float'$"),
    ("pre", lambda lib: lambda m, go: 5, TypeError, r"^object of type 'int' has no len\(\)$"),
]


@pytest.mark.parametrize("kind, make_hook, error, message", BAD_RETURNS)
def test_bad_hook_returns_raise(kind, make_hook, error, message):
    lin = nn.Linear(2, 2)
    register = lin.register_full_backward_hook if kind == "full" else \
        lin.register_full_backward_pre_hook
    register(make_hook(ad))
    x = ad.ones(1, 2, requires_grad=True)
    with pytest.raises(error, match=message):
        lin(x).sum().backward()


@pytest.mark.parametrize("kind, make_hook, error, message", BAD_RETURNS)
def test_bad_hook_returns_raise_as_torch(torch, kind, make_hook, error, message):
    lin = torch.nn.Linear(2, 2)
    register = lin.register_full_backward_hook if kind == "full" else \
        lin.register_full_backward_pre_hook
    register(make_hook(torch))
    with pytest.raises(error, match=message):
        lin(torch.ones(1, 2, requires_grad=True)).sum().backward()


def test_mixing_regular_and_full_backward_hooks_raises_as_torch():
    msg = ("Cannot use both regular backward hooks and full backward hooks on a single Module. "
           "Please use only one of them.")
    lin = nn.Linear(2, 2)
    lin.register_full_backward_hook(lambda *a: None)
    with pytest.raises(RuntimeError, match=f"^{msg}$"):
        lin.register_backward_hook(lambda *a: None)
    lin = nn.Linear(2, 2)
    lin.register_backward_hook(lambda *a: None)
    with pytest.raises(RuntimeError, match=f"^{msg}$"):
        lin.register_full_backward_hook(lambda *a: None)


INPLACE_MSG = (r"^Output 0 of BackwardHookFunction is a view and (is being modified inplace|its "
               r"base or another view of its base has been modified inplace)\. This view was "
               r"created inside a custom Function \(or because an input was returned as-is\) and "
               r"the autograd logic to handle view\+inplace would override the custom backward "
               r"associated with the custom Function, leading to incorrect gradients\. This "
               r"behavior is forbidden\. You can fix this by cloning the output of the custom "
               r"Function\.")


def _inplace_modules(lib, tnn):
    class AddOne(tnn.Module):
        def forward(self, x):
            with lib.no_grad():
                x.add_(1)
            return x * 2

    class AddOneRecorded(tnn.Module):
        def forward(self, x):
            x.add_(1)
            return x * 2

    class Other(tnn.Module):  # modifies its second input, which needs no gradient
        def forward(self, x, y):
            y.add_(1)
            return x * y

    return AddOne, AddOneRecorded, Other


@pytest.mark.parametrize("kind", ["full", "pre"])
def test_forward_modifying_a_hooked_input_in_place_raises(kind):
    AddOne, AddOneRecorded, Other = _inplace_modules(ad, nn)
    for cls in (AddOne, AddOneRecorded):
        m = cls()
        if kind == "full":
            m.register_full_backward_hook(lambda *a: None)
        else:
            m.register_full_backward_pre_hook(lambda *a: None)
        x = ad.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match=INPLACE_MSG):
            m(x * 1)
        m(ad.ones(2))  # no input requires grad: nothing is wrapped, nothing raises
    m = Other()
    m.register_full_backward_hook(lambda *a: None)
    y = ad.ones(2)
    out = m(ad.ones(2, requires_grad=True) * 1, y)
    np.testing.assert_array_equal(y.data, [2.0, 2.0])
    np.testing.assert_array_equal(out.data, [2.0, 2.0])


def test_forward_modifying_a_hooked_input_in_place_raises_as_torch(torch):
    AddOne, AddOneRecorded, Other = _inplace_modules(torch, torch.nn)
    for cls in (AddOne, AddOneRecorded):
        m = cls()
        m.register_full_backward_hook(lambda *a: None)
        with pytest.raises(RuntimeError, match=INPLACE_MSG):
            m(torch.ones(2, requires_grad=True) * 1)
    m = Other()
    m.register_full_backward_hook(lambda *a: None)
    m(torch.ones(2, requires_grad=True) * 1, torch.ones(2))


def test_non_tensor_output_warns_as_torch():
    class Listy(nn.Module):
        def forward(self, x):
            return [x * 2]

    m = Listy()
    m.register_full_backward_hook(lambda *a: pytest.fail("must not fire"))
    with pytest.warns(UserWarning, match=r"^For backward hooks to be called, module output "
                                         r"should be a Tensor or a tuple of Tensors but received "
                                         r"<class 'list'>$"):
        out = m(ad.ones(2, requires_grad=True))
    out[0].sum().backward()


# --- the deprecated register_backward_hook, global hooks -----------------------------------------

def _deprecated(lib, tnn, log):
    act = tnn.Tanh()  # one op on one input: torch's old hook sees exactly the full hook's values
    act.register_backward_hook(lambda m, gi, go: log.append(("old", _arrays(gi), _arrays(go))))
    x = lib.tensor(X, requires_grad=True)
    (act(x) * 2).sum().backward()
    return {"x.grad": x.grad}


def test_register_backward_hook_behaves_as_the_full_hook():
    log = []
    _deprecated(ad, nn, log)
    np.testing.assert_allclose(log[0][2][0], np.full((5, 3), 2.0))
    np.testing.assert_allclose(log[0][1][0], 2 * (1 - np.tanh(X) ** 2), rtol=1e-5)


@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch's, about its old hook
def test_register_backward_hook_matches_torch_on_a_one_op_module(torch):
    _both(torch, _deprecated)


def _global_hooks(lib, tnn, log):
    mm = module_mod if lib is ad else tnn.modules.module
    model = _set_weights(lib, tnn.Sequential(tnn.Linear(3, 2), tnn.Tanh()))
    model[0].register_forward_hook(lambda m, a, o: log.append(("own fwd", type(m).__name__)))
    model[0].register_full_backward_hook(lambda m, gi, go: log.append(("own bwd",)))
    handles = [
        mm.register_module_forward_pre_hook(lambda m, a: log.append(("g pre",
                                                                     type(m).__name__))),
        mm.register_module_forward_hook(lambda m, a, o: log.append(("g fwd", type(m).__name__))),
        mm.register_module_full_backward_pre_hook(
            lambda m, go: log.append(("g bwd pre", type(m).__name__, _arrays(go)))),
        mm.register_module_full_backward_hook(
            lambda m, gi, go: log.append(("g bwd", type(m).__name__, _arrays(gi)))),
    ]
    try:
        x = lib.tensor(X, requires_grad=True)
        model(x).sum().backward()
    finally:
        for h in handles:
            h.remove()
    log.append(("removed",))
    model(x).sum().backward()
    return {"x.grad": x.grad}


def test_global_module_hooks_run_before_each_modules_own():
    log = []
    _global_hooks(ad, nn, log)
    assert [e[:2] for e in log] == [
        ("g pre", "Sequential"), ("g pre", "Linear"), ("g fwd", "Linear"), ("own fwd", "Linear"),
        ("g pre", "Tanh"), ("g fwd", "Tanh"), ("g fwd", "Sequential"),
        ("g bwd pre", "Sequential"), ("g bwd pre", "Tanh"), ("g bwd", "Tanh"),
        ("g bwd pre", "Linear"), ("g bwd", "Linear"), ("own bwd",), ("g bwd", "Sequential"),
        ("removed",), ("own fwd", "Linear"), ("own bwd",)]
    assert nn.Module._hooked is False  # every global hook removed: the fast path is back


def test_global_module_hooks_match_torch(torch):
    _both(torch, _global_hooks)


# --- hooks on parameters -------------------------------------------------------------------------

def _parameter_used_twice(lib, tnn, log):
    lin = _set_weights(lib, tnn.Linear(3, 3, bias=False))
    lin.weight.register_hook(lambda g: log.append(("weight", _arrays((g,)))))
    x = lib.tensor(X, requires_grad=True)
    (lin(lin(x)) * lib.tensor(np.arange(3, dtype=np.float32))).sum().backward()
    return {"weight.grad": lin.weight.grad}


def test_parameter_hook_runs_once_with_the_accumulated_gradient():
    log = []
    res = _parameter_used_twice(ad, nn, log)
    assert len(log) == 1
    W = _set_weights(ad, nn.Linear(3, 3, bias=False)).weight.data
    g2 = np.broadcast_to(np.arange(3, dtype=np.float32), (5, 3))
    h = X @ W.T
    total = g2.T @ h + (g2 @ W).T @ X  # outer use + inner use
    np.testing.assert_allclose(log[0][1][0], total, rtol=1e-5)
    np.testing.assert_allclose(res["weight.grad"].data, total, rtol=1e-5)


def test_parameter_hook_runs_once_with_the_accumulated_gradient_match_torch(torch):
    _both(torch, _parameter_used_twice)
