"""The Module API, the containers, Bilinear and the lazy modules against PyTorch: the same
model written once for either library (`lib.nn`), compared through printouts, state_dicts,
traversals, outputs and gradients."""
import copy
from collections import OrderedDict

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F

from nn.parameter import is_lazy

from _torch import assert_close, require_torch, to_numpy

torch = require_torch()


def NN(lib):
    return torch.nn if lib is torch else nn


def to_ours(sd):
    return OrderedDict((k, to_numpy(v)) for k, v in sd.items())


def to_theirs(sd):
    return OrderedDict((k, torch.tensor(np.array(to_numpy(v)))) for k, v in sd.items())


def same_repr(ours, theirs):
    """repr(ours) == repr(theirs), reading torch's dtype names as ours."""
    t = repr(theirs).replace("torch.", "autodiff.")
    assert repr(ours) == t, f"\nours:\n{ours!r}\ntorch:\n{t}"


def raises_like(fn_ours, fn_theirs):
    """Both raise, with the same exception class; returns our message."""
    with pytest.raises(Exception) as theirs:
        fn_theirs()
    with pytest.raises(theirs.type) as ours:
        fn_ours()
    return str(ours.value)


# --- a nested model written once -----------------------------------------------------------------

def make_model(lib):
    n = NN(lib)

    class Head(n.Module):
        def __init__(self):
            super().__init__()
            self.bil = n.Bilinear(4, 3, 2)
            self.scale = n.Parameter(lib.ones(2))
            self.register_buffer("steps", lib.zeros(1))
            self.register_buffer("scratch", lib.zeros(2), persistent=False)

        def forward(self, a, b):
            return self.bil(a, b) * self.scale

        def extra_repr(self):
            return "two inputs\nscaled"

    class Model(n.Module):
        def __init__(self):
            super().__init__()
            self.body = n.Sequential(n.Linear(5, 4), n.ReLU(), n.Identity(7, key="ignored"),
                                     n.Unflatten(1, (2, 2)), n.Flatten())
            self.blocks = n.ModuleList([n.Linear(4, 4) for _ in range(3)] + [n.Tanh()])
            self.heads = n.ModuleDict({"main": Head(), "aux": n.Linear(4, 3, bias=False)})
            self.plist = n.ParameterList([n.Parameter(lib.zeros(2, 3)), lib.ones(3)])
            self.pdict = n.ParameterDict({"b": lib.zeros(2), "a": n.Parameter(lib.ones(1))})

        def forward(self, x):
            h = self.body(x)
            for m in self.blocks:
                h = m(h)
            return self.heads["main"](h, self.heads["aux"](h)) + self.plist[1].sum() \
                + self.pdict["a"]
    return Model()


def test_nested_model_printout_keys_and_values_as_torch():
    ours, theirs = make_model(ad), make_model(torch)
    same_repr(ours, theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    for (k, a), (_, t) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert tuple(a.shape) == tuple(t.shape), k


def test_state_dict_copies_both_ways_and_gives_torchs_outputs_and_gradients():
    ours, theirs = make_model(ad).double(), make_model(torch).double()
    ours.load_state_dict(to_ours(theirs.state_dict()))
    x = np.random.default_rng(0).standard_normal((3, 5))
    xa, xt = ad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ya, yt = ours(xa), theirs(xt)
    assert_close(ya, yt, tol=1e-12)
    g = np.random.default_rng(1).standard_normal(tuple(yt.shape))
    ya.backward(ad.tensor(g))
    yt.backward(torch.tensor(g))
    assert_close(xa.grad, xt.grad, tol=1e-12)
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p.grad, q.grad, tol=1e-12, err_msg=n)
    # and back: perturb ours, load it into a fresh torch model
    with ad.no_grad():
        for p in ours.parameters():
            p.add_(0.5)
    fresh = make_model(torch).double()
    fresh.load_state_dict(to_theirs(ours.state_dict()))
    assert_close(ours(ad.tensor(x)), fresh(torch.tensor(x)), tol=1e-12)


# --- Buffer and register_buffer ------------------------------------------------------------------

@pytest.mark.parametrize("lib", [ad, torch], ids=["ours", "torch"])
def test_buffer_assignment_registers_with_its_persistence(lib):
    n = NN(lib)
    m = n.Module()
    m.a = n.Buffer(lib.ones(2))
    m.b = n.Buffer(lib.zeros(1), persistent=False)
    m.c = lib.zeros(3)  # a plain tensor attribute is no buffer
    assert [k for k, _ in m.named_buffers()] == ["a", "b"]
    assert list(m.state_dict()) == ["a"]
    m.b = lib.ones(1)  # re-assigning keeps the buffer (and its persistence)
    assert list(m.state_dict()) == ["a"] and float(m.b[0]) == 1.0
    assert isinstance(m.a, n.Buffer) and not isinstance(lib.ones(1), n.Buffer)


def test_buffer_shares_memory_and_detaches():
    t = ad.ones(2, requires_grad=True) * 2
    b = nn.Buffer(t)
    assert b.is_leaf and np.shares_memory(b.data, t.data) and b.persistent


def test_register_errors_as_torch():
    mo, mt = nn.Linear(2, 2), torch.nn.Linear(2, 2)
    raises_like(lambda: mo.register_buffer("a.b", ad.zeros(1)),
                lambda: mt.register_buffer("a.b", torch.zeros(1)))
    raises_like(lambda: mo.register_buffer("", ad.zeros(1)),
                lambda: mt.register_buffer("", torch.zeros(1)))
    raises_like(lambda: mo.register_buffer(3, ad.zeros(1)),
                lambda: mt.register_buffer(3, torch.zeros(1)))
    raises_like(lambda: mo.register_buffer("weight", ad.zeros(1)),
                lambda: mt.register_buffer("weight", torch.zeros(1)))
    raises_like(lambda: mo.register_buffer("x", 3), lambda: mt.register_buffer("x", 3))
    raises_like(lambda: mo.register_parameter("x", ad.zeros(1)),
                lambda: mt.register_parameter("x", torch.zeros(1)))
    raises_like(lambda: mo.add_module("a.b", nn.ReLU()),
                lambda: mt.add_module("a.b", torch.nn.ReLU()))
    raises_like(lambda: setattr(mo, "weight", ad.zeros(2, 2)),
                lambda: setattr(mt, "weight", torch.zeros(2, 2)))


# --- traversal -----------------------------------------------------------------------------------

def shared_model(lib):
    n = NN(lib)
    shared = n.Linear(2, 2)
    m = n.Sequential(shared, n.Sequential(shared, n.ReLU()), n.Linear(2, 2))
    m[2].weight = m[0].weight  # a tied parameter
    return m


@pytest.mark.parametrize("kwargs", [{}, {"remove_duplicate": False}, {"prefix": "top"},
                                    {"prefix": "p", "remove_duplicate": False}])
def test_named_modules_as_torch(kwargs):
    ours, theirs = shared_model(ad), shared_model(torch)
    assert [k for k, _ in ours.named_modules(**kwargs)] == \
        [k for k, _ in theirs.named_modules(**kwargs)]


def test_named_modules_memo_parameters_and_children_as_torch():
    ours, theirs = shared_model(ad), shared_model(torch)
    memo_o, memo_t = {ours[1]}, {theirs[1]}
    assert [k for k, _ in ours.named_modules(memo=memo_o)] == \
        [k for k, _ in theirs.named_modules(memo=memo_t)]
    for kwargs in ({}, {"remove_duplicate": False}, {"prefix": "x", "recurse": False}):
        assert [k for k, _ in ours.named_parameters(**kwargs)] == \
            [k for k, _ in theirs.named_parameters(**kwargs)]
    assert [k for k, _ in ours.named_children()] == [k for k, _ in theirs.named_children()]
    assert len(list(ours.modules())) == len(list(theirs.modules())) == 5
    assert len(list(ours.parameters())) == len(list(theirs.parameters())) == 3


def test_apply_train_eval_requires_grad_and_zero_grad_as_torch():
    ours, theirs = make_model(ad), make_model(torch)
    seen_o, seen_t = [], []
    ours.apply(lambda m: seen_o.append(type(m).__name__))
    theirs.apply(lambda m: seen_t.append(type(m).__name__))
    assert seen_o == seen_t
    assert ours.eval() is ours and not any(m.training for m in ours.modules())
    assert ours.train() is ours and all(m.training for m in ours.modules())
    raises_like(lambda: ours.train("yes"), lambda: theirs.train("yes"))
    ours.requires_grad_(False)
    assert not any(p.requires_grad for p in ours.parameters())
    ours.requires_grad_()
    x = ad.randn(2, 5)
    ours(x).sum().backward()
    grads = [p.grad for p in ours.parameters()]
    assert sum(g is not None for g in grads) > 10
    ours.zero_grad(set_to_none=False)
    assert all(p.grad is g and (g is None or not g.data.any())
               for p, g in zip(ours.parameters(), grads))
    ours.zero_grad()
    assert all(p.grad is None for p in ours.parameters())


def test_get_submodule_parameter_buffer_as_torch():
    ours, theirs = make_model(ad), make_model(torch)
    assert ours.get_submodule("heads.main.bil") is ours.heads["main"].bil
    assert ours.get_parameter("heads.main.scale") is ours.heads["main"].scale
    assert ours.get_buffer("heads.main.steps") is ours.heads["main"].steps
    assert ours.get_submodule("") is ours
    for target in ("heads.nope", "body.0.weight", "blocks.9"):
        raises_like(lambda: ours.get_submodule(target), lambda: theirs.get_submodule(target))
    for target in ("heads.main.nope", "heads.main.steps", "heads.main.bil"):
        raises_like(lambda: ours.get_parameter(target), lambda: theirs.get_parameter(target))
    for target in ("heads.main.scale", "heads.main.nope"):
        raises_like(lambda: ours.get_buffer(target), lambda: theirs.get_buffer(target))
    ours.set_submodule("body.1", nn.Tanh())
    assert isinstance(ours.body[1], nn.Tanh)
    raises_like(lambda: ours.set_submodule("nope.x", nn.Tanh()),
                lambda: theirs.set_submodule("nope.x", torch.nn.Tanh()))


def test_dir_lists_registered_names_but_no_digits():
    m = make_model(ad)
    names = dir(m)
    assert {"body", "blocks", "heads", "forward", "state_dict"} <= set(names)
    assert "weight" in dir(m.body[0]) and "0" not in dir(m.body) and "0" not in dir(m.blocks)
    assert names == sorted(names)


# --- state_dict and load_state_dict ---------------------------------------------------------------

def test_load_state_dict_strict_and_incompatible_keys_as_torch():
    ours, theirs = make_model(ad), make_model(torch)
    sd_o, sd_t = ours.state_dict(), theirs.state_dict()
    for sd in (sd_o, sd_t):
        del sd["body.0.bias"]
        sd["extra"] = sd["heads.main.scale"]
    res_o, res_t = ours.load_state_dict(sd_o, strict=False), theirs.load_state_dict(sd_t, False)
    assert res_o.missing_keys == res_t.missing_keys == ["body.0.bias"]
    assert res_o.unexpected_keys == res_t.unexpected_keys == ["extra"]
    assert repr(ours.load_state_dict(ours.state_dict())) == "<All keys matched successfully>"
    msg = raises_like(lambda: ours.load_state_dict(sd_o), lambda: theirs.load_state_dict(sd_t))
    assert msg.index("Missing") < msg.index("Unexpected") and '"body.0.bias"' in msg
    bad_o, bad_t = ours.state_dict(), theirs.state_dict()
    bad_o["body.0.weight"], bad_t["body.0.weight"] = ad.zeros(1, 5), torch.zeros(1, 5)
    raises_like(lambda: ours.load_state_dict(bad_o, strict=False),
                lambda: theirs.load_state_dict(bad_t, strict=False))
    raises_like(lambda: ours.load_state_dict([1]), lambda: theirs.load_state_dict([1]))


def test_load_state_dict_assign_replaces_the_tensors():
    m = nn.Linear(2, 3)
    w = nn.Parameter(ad.ones(3, 2))
    sd = {"weight": w, "bias": ad.zeros(3)}
    before = m.bias
    m.load_state_dict(sd, assign=True)
    assert m.weight is w and m.bias is not before and isinstance(m.bias, nn.Parameter)
    assert m.bias.requires_grad
    m.load_state_dict({"weight": ad.full((3, 2), 2.0), "bias": ad.zeros(3)})  # in place again
    assert m.weight is w and float(w[0, 0]) == 2.0


def test_state_dict_hooks_and_extra_state():
    class WithExtra(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(1, 1)
            self.note = "v1"

        def get_extra_state(self):
            return {"note": self.note}

        def set_extra_state(self, state):
            self.note = state["note"]

    a, b = WithExtra(), WithExtra()
    a.note = "v2"
    sd = a.state_dict()
    assert list(sd) == ["_extra_state", "lin.weight", "lin.bias"]
    b.load_state_dict(sd)
    assert b.note == "v2"
    with pytest.raises(RuntimeError, match="_extra_state"):
        b.load_state_dict({k: v for k, v in sd.items() if k != "_extra_state"})
    with pytest.raises(RuntimeError, match="get_extra_state"):
        nn.Linear(1, 1).get_extra_state()
    calls = []
    h1 = b.register_state_dict_pre_hook(lambda m, prefix, keep: calls.append(("pre", prefix)))
    def drop_bias(module, sd, prefix, local_metadata):
        del sd[prefix + "lin.bias"]
    b.register_state_dict_post_hook(drop_bias)
    assert list(b.state_dict(prefix="top.")) == ["top._extra_state", "top.lin.weight"]
    assert calls == [("pre", "top.")]
    h1.remove()
    b.state_dict()
    assert len(calls) == 1
    b.register_state_dict_post_hook(lambda m, sd, prefix, meta: 1)
    with pytest.raises(RuntimeError, match="post-hook must return None"):
        b.state_dict()

    def rename(module, sd, prefix, *rest):
        if prefix + "old_weight" in sd:
            sd[prefix + "weight"] = sd.pop(prefix + "old_weight")
    lin = nn.Linear(2, 2)
    lin.register_load_state_dict_pre_hook(rename)
    given = {"old_weight": ad.ones(2, 2), "bias": ad.zeros(2)}
    lin.load_state_dict(given)
    assert float(lin.weight.sum()) == 4.0 and "old_weight" in given  # the caller's dict is kept
    lin.register_load_state_dict_post_hook(lambda m, keys: keys.missing_keys.clear())
    lin.load_state_dict({"weight": ad.ones(2, 2)})  # bias missing, forgiven by the post-hook


def test_state_dict_metadata_version_as_torch():
    ours, theirs = make_model(ad), make_model(torch)
    assert ours.state_dict()._metadata == theirs.state_dict()._metadata


def test_dtype_casts_as_torch():
    ours, theirs = make_model(ad), make_model(torch)
    for cast in ("half", "double", "float"):
        getattr(ours, cast)()
        getattr(theirs, cast)()
        assert [str(t.dtype).split(".")[-1] for t in ours.state_dict().values()] == \
            [str(t.dtype).split(".")[-1] for t in theirs.state_dict().values()]
    ours.to(ad.float64)
    assert ours.body[0].weight.dtype == ad.float64
    ours.to(ad.zeros(1, dtype=ad.float32))
    assert ours.body[0].weight.dtype == ad.float32
    ours.to("cpu", ad.float64)
    assert ours.body[0].weight.dtype == ad.float64
    m = nn.BatchNorm1d(2).type(ad.float64)
    assert m.num_batches_tracked.dtype == np.float64  # type() casts every tensor, as torch
    raises_like(lambda: ours.to(ad.int64), lambda: theirs.to(torch.int64))
    assert ours.share_memory() is ours


# --- containers ----------------------------------------------------------------------------------

def seq(lib, *names):
    n = NN(lib)
    return n.Sequential(*[getattr(n, k)() for k in names])


def test_sequential_list_operations_as_torch():
    for op in (lambda lib, s: s[1:], lambda lib, s: s[::-1], lambda lib, s: s[-1],
               lambda lib, s: s.append(NN(lib).ELU()),
               lambda lib, s: s.insert(1, NN(lib).ELU()),
               lambda lib, s: s.insert(-1, NN(lib).ELU()),
               lambda lib, s: s.extend(seq(lib, "GELU", "SiLU")),
               lambda lib, s: (s.pop(1), s), lambda lib, s: s + seq(lib, "SiLU"),
               lambda lib, s: s * 2, lambda lib, s: 2 * s):
        assert repr(op(ad, seq(ad, "ReLU", "Tanh", "Sigmoid"))) == \
            repr(op(torch, seq(torch, "ReLU", "Tanh", "Sigmoid")))
    for lib in (ad, torch):
        s = seq(lib, "ReLU", "Tanh", "Sigmoid")
        s *= 2
        del s[1]
        s[0] = NN(lib).ELU()
        s += seq(lib, "GELU")
        del s[::2]
        if lib is ad:
            ours = s
    assert repr(ours) == repr(s)


def test_sequential_named_entries_renumber_on_delete_as_torch():
    out = []
    for lib in (ad, torch):
        n = NN(lib)
        s = n.Sequential(OrderedDict(a=n.ReLU(), b=n.Tanh(), c=n.Sigmoid()))
        out.append(repr(s[1:]))
        del s[0]
        out.append(repr(s))
    assert out[:2] == out[2:]


def test_sequential_errors_as_torch():
    so, st = seq(ad, "ReLU"), seq(torch, "ReLU")
    raises_like(lambda: so[3], lambda: st[3])
    raises_like(lambda: so["a"], lambda: st["a"])
    raises_like(lambda: so + [nn.ReLU()], lambda: st + [torch.nn.ReLU()])
    raises_like(lambda: so * 0, lambda: st * 0)
    raises_like(lambda: so.insert(5, nn.ReLU()), lambda: st.insert(5, torch.nn.ReLU()))
    raises_like(lambda: so.insert(0, 3), lambda: st.insert(0, 3))
    raises_like(lambda: nn.Sequential(nn.ReLU(), 3), lambda: torch.nn.Sequential(
        torch.nn.ReLU(), 3))


def test_module_list_printout_and_operations_as_torch():
    def build(lib):
        n = NN(lib)
        ml = n.ModuleList([n.Linear(2, 2) for _ in range(3)])
        ml.append(n.ReLU()).extend([n.Linear(2, 3), n.Linear(2, 3)])
        ml.insert(0, n.Tanh())
        ml.insert(len(ml) - 2, n.Tanh())
        ml += [n.ReLU()]
        out = [repr(ml), repr(ml[1:4]), repr(ml + n.ModuleList([n.ELU()]))]
        popped = ml.pop(0)
        del ml[1:3]
        ml[-1] = n.GELU()
        out += [repr(popped), repr(ml), repr(n.ModuleList())]
        return out
    assert build(ad) == build(torch)
    raises_like(lambda: nn.ModuleList([nn.ReLU()])[2], lambda: torch.nn.ModuleList(
        [torch.nn.ReLU()])[2])
    raises_like(lambda: nn.ModuleList().extend(nn.ReLU()), lambda: torch.nn.ModuleList().extend(
        torch.nn.ReLU()))


def test_module_dict_as_torch():
    def build(lib):
        n = NN(lib)
        md = n.ModuleDict([("b", n.ReLU()), ("a", n.Tanh())])
        md.update({"c": n.ELU()})
        md["a"] = n.GELU()
        popped = md.pop("b")
        return [repr(md), list(md.keys()), repr(popped), "c" in md, len(md)]
    assert build(ad) == build(torch)
    raises_like(lambda: nn.ModuleDict().update([("a",)]),
                lambda: torch.nn.ModuleDict().update([("a",)]))
    raises_like(lambda: nn.ModuleDict().update(3), lambda: torch.nn.ModuleDict().update(3))


def test_parameter_list_as_torch():
    def build(lib):
        n = NN(lib)
        pl = n.ParameterList([n.Parameter(lib.zeros(2, 3)), lib.ones(3)])
        pl.append(5).extend([lib.zeros(2, dtype=lib.float64)])
        pl += [lib.ones(1)]
        pl[0] = lib.ones(4)
        sliced = pl[1:4]
        return [repr(pl), repr(sliced), len(pl), [k for k, _ in pl.named_parameters()],
                type(pl[1]).__name__, pl[2], [type(v).__name__ for v in pl]]
    ours, theirs = build(ad), build(torch)
    assert ours[0] == theirs[0].replace("torch.", "autodiff.")
    assert ours[1] == theirs[1].replace("torch.", "autodiff.")
    assert ours[2:] == theirs[2:]
    raises_like(lambda: nn.ParameterList()[0], lambda: torch.nn.ParameterList()[0])
    raises_like(lambda: nn.ParameterList()(1), lambda: torch.nn.ParameterList()(1))
    raises_like(lambda: nn.ParameterList().extend(ad.ones(2)),
                lambda: torch.nn.ParameterList().extend(torch.ones(2)))


def test_parameter_dict_as_torch():
    def build(lib):
        n = NN(lib)
        pd = n.ParameterDict({"b": lib.zeros(2), "a": n.Parameter(lib.ones(1)), "s": "text"})
        pd.update([("z", lib.ones(3)), ("c", lib.zeros(1))])
        out = [repr(pd), list(pd), list(pd.keys()), [k for k, _ in pd.named_parameters()]]
        out += [pd.setdefault("n", None), pd.get("missing", 7), "a" in pd, len(pd)]
        k, v = pd.popitem()
        out += [k, v, type(pd.pop("a")).__name__, list(reversed(pd))]
        merged = pd | n.ParameterDict({"q": lib.ones(1)})
        pd |= {"r": lib.zeros(1)}
        out += [list(merged), list(pd), list(pd.copy()), list(pd.fromkeys(["x", "y"]))]
        pd.clear()
        out += [len(pd), list(pd.parameters())]
        return out
    ours, theirs = build(ad), build(torch)
    assert ours[0] == theirs[0].replace("torch.", "autodiff.")
    assert ours[1:] == theirs[1:]
    raises_like(lambda: nn.ParameterDict()[1], lambda: torch.nn.ParameterDict()[1])
    raises_like(lambda: nn.ParameterDict()["x"], lambda: torch.nn.ParameterDict()["x"])
    raises_like(lambda: nn.ParameterDict()(1), lambda: torch.nn.ParameterDict()(1))
    raises_like(lambda: nn.ParameterDict().update([("a", 1, 2)]),
                lambda: torch.nn.ParameterDict().update([("a", 1, 2)]))


def test_parameter_dict_registers_for_optimizers_and_state_dict():
    pd = nn.ParameterDict({"w": ad.ones(2)})
    assert isinstance(pd["w"], nn.Parameter) and pd["w"].requires_grad
    assert list(pd.state_dict()) == ["w"] and copy.deepcopy(pd)["w"] is not pd["w"]


# --- layers --------------------------------------------------------------------------------------

@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batch", [(4,), (2, 3), ()])
def test_bilinear_as_torch(bias, batch):
    ours, theirs = nn.Bilinear(3, 2, 4, bias=bias).double(), \
        torch.nn.Bilinear(3, 2, 4, bias=bias).double()
    same_repr(ours, theirs)
    ours.load_state_dict(to_ours(theirs.state_dict()))
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal(batch + (3,)), rng.standard_normal(batch + (2,))
    a1, a2 = ad.tensor(x1, requires_grad=True), ad.tensor(x2, requires_grad=True)
    t1, t2 = torch.tensor(x1, requires_grad=True), torch.tensor(x2, requires_grad=True)
    ya, yt = ours(a1, a2), theirs(t1, t2)
    assert_close(ya, yt)
    g = rng.standard_normal(tuple(yt.shape))
    ya.backward(ad.tensor(g))
    yt.backward(torch.tensor(g))
    for a, t in ((a1, t1), (a2, t2), *zip(ours.parameters(), theirs.parameters())):
        assert_close(a.grad, t.grad)


def test_bilinear_init_and_errors_as_torch():
    m = nn.Bilinear(4, 3, 2)
    assert m.weight.shape == (2, 4, 3) and m.bias.shape == (2,)
    assert float(m.weight.abs().max()) <= 0.5 and float(m.bias.abs().max()) <= 0.5
    assert nn.Bilinear(2, 2, 2, dtype=ad.float64).weight.dtype == ad.float64
    raises_like(lambda: nn.Bilinear(0, 3, 2), lambda: torch.nn.Bilinear(0, 3, 2))
    w, b = np.zeros((4, 2, 3)), np.zeros(4)
    for s1, s2, ws, bs in (((5, 2), (4, 3), w.shape, b.shape), ((5, 3), (5, 3), w.shape, b.shape),
                           ((5, 2), (5, 2), w.shape, b.shape), ((5, 2), (5, 3), w.shape, (3,)),
                           ((5, 6, 2), (6, 3), w.shape, b.shape)):
        raises_like(lambda: F.bilinear(ad.zeros(*s1), ad.zeros(*s2), ad.zeros(*ws), ad.zeros(*bs)),
                    lambda: torch.nn.functional.bilinear(torch.zeros(s1), torch.zeros(s2),
                                                         torch.zeros(ws), torch.zeros(bs)))


def test_linear_identity_flatten_unflatten_as_torch():
    for args in ((3, 2), (3, 2, False)):
        same_repr(nn.Linear(*args), torch.nn.Linear(*args))
    assert nn.Linear(2, 3, dtype=ad.float64, device="cpu").weight.dtype == ad.float64
    with pytest.raises(RuntimeError, match="CPU only"):
        nn.Linear(2, 3, device="cuda")
    assert "bias" in nn.Linear(2, 3, bias=False)._parameters  # registered as None, as torch
    same_repr(nn.Identity(3, x=1), torch.nn.Identity(3, x=1))
    same_repr(nn.Flatten(0, 2), torch.nn.Flatten(0, 2))
    same_repr(nn.Unflatten(-1, (2, 3)), torch.nn.Unflatten(-1, (2, 3)))


# --- lazy modules --------------------------------------------------------------------------------

LAZY = [("LazyLinear", (3,), {}, (2, 5)), ("LazyLinear", (3,), {"bias": False}, (2, 3, 4)),
        ("LazyConv1d", (4, 3), {"padding": 1}, (2, 3, 5)),
        ("LazyConv2d", (4, 3), {"stride": 2, "groups": 2, "bias": False}, (1, 2, 5, 5)),
        ("LazyConv2d", (4, 3), {}, (2, 5, 5)),  # unbatched: channels from dim 0
        ("LazyConv3d", (2, 2), {}, (1, 1, 3, 3, 3)),
        ("LazyConvTranspose1d", (4, 3), {"stride": 2}, (2, 3, 4)),
        ("LazyConvTranspose2d", (4, 3), {"groups": 2}, (1, 2, 3, 3)),
        ("LazyConvTranspose3d", (2, 2), {}, (1, 1, 2, 2, 2)),
        ("LazyBatchNorm1d", (), {}, (4, 3)),
        ("LazyBatchNorm2d", (), {"affine": False}, (2, 3, 2, 2)),
        ("LazyBatchNorm3d", (), {}, (2, 2, 2, 2, 2)),
        ("LazyInstanceNorm1d", (), {}, (2, 3, 4)), ("LazyInstanceNorm2d", (), {}, (2, 2, 3, 3)),
        ("LazyInstanceNorm3d", (), {"affine": False}, (1, 2, 2, 2, 2))]


@pytest.mark.parametrize("name,args,kwargs,shape", LAZY, ids=[c[0] for c in LAZY])
def test_lazy_module_infers_shapes_and_becomes_its_class_as_torch(name, args, kwargs, shape):
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    same_repr(ours, theirs)
    assert ours.has_uninitialized_params() and isinstance(ours, type(ours).cls_to_become)
    with pytest.raises(RuntimeError, match="uninitialized"):
        [t for t in (*ours.parameters(), *ours.buffers()) if is_lazy(t)][0].shape
    params = list(ours.parameters())
    opt = nn.optim.SGD(params, lr=0.1) if params else None  # built before the first call
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ya, yt = ours(ad.tensor(x)), theirs(torch.tensor(x))
    assert type(ours).__name__ == type(theirs).__name__ == name[4:]
    same_repr(ours, theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (k, a), (_, t) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert tuple(a.shape) == tuple(t.shape) and str(a.dtype)[9:] == str(t.dtype)[6:], k
    assert ya.shape == tuple(yt.shape)
    assert all(p is q for p, q in zip(params, ours.parameters()))
    if opt is not None:
        ya.sum().backward()
        before = [p.detach().clone() for p in params]
        opt.step()
        assert any(not np.array_equal(p.data, b.data) for p, b in zip(params, before))
    # the regular class's initialisation: same bounds as a module built with the size
    fresh = getattr(nn, name[4:])
    assert fresh is type(ours)


def test_lazy_linear_draws_its_initial_values_at_the_first_call():
    ad.manual_seed(3)
    lazy = nn.LazyLinear(2)
    lazy(ad.zeros(1, 4))
    ad.manual_seed(3)
    regular = nn.Linear(4, 2)
    np.testing.assert_array_equal(lazy.weight.data, regular.weight.data)
    np.testing.assert_array_equal(lazy.bias.data, regular.bias.data)


def test_lazy_load_state_dict_materializes_from_the_shapes():
    theirs = torch.nn.Linear(5, 3)
    ours = nn.LazyLinear(3)
    ours.load_state_dict(to_ours(theirs.state_dict()))
    assert type(ours) is nn.LazyLinear and ours.weight.shape == (3, 5)
    x = np.ones((2, 5), np.float32)
    assert_close(ours(ad.tensor(x)), theirs(torch.tensor(x)), tol=1e-6)
    assert type(ours) is nn.Linear and ours.in_features == 5


def test_lazy_errors_and_printouts():
    with pytest.raises(ValueError, match="Expected 3D .unbatched. or 4D .batched. input"):
        nn.LazyConv2d(2, 3)(ad.zeros(5, 5))
    sd = nn.LazyLinear(2).state_dict()
    assert repr(sd["weight"]) == "<UninitializedParameter>"
    assert repr(nn.LazyBatchNorm1d().running_mean) == "<UninitializedBuffer>"
    p = nn.UninitializedParameter(dtype=ad.float64)
    p.materialize((2, 3))
    assert type(p) is nn.Parameter and p.shape == (2, 3) and p.dtype == ad.float64
    assert repr(copy.deepcopy(nn.LazyLinear(2))) == "LazyLinear(in_features=0, out_features=2, " \
        "bias=True)"
