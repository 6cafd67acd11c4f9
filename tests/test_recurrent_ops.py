"""The fused recurrent primitives (autodiff/ops/recurrent.py): against the composed reference (a
loop of recorded ops) for every option, outputs and every gradient, first and second order;
against PyTorch's one-layer nn.RNN / nn.LSTM / nn.GRU with copied weights (packed sequences
included); long sequences; argument errors."""
import sys
import tracemalloc

import numpy as np
import pytest

import autodiff as ad
from autodiff.ops import recurrent as R

GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


def _arrays(name, T=3, B=3, I=2, H=3, proj=0, bias=True, seed=0, scale=0.6):
    """[x, h0, (c0), w_ih, w_hh, b_ih, b_hh, (w_hr)] float64 arrays (None for absent ones)."""
    rng = np.random.default_rng(seed)
    G, P = GATES[name], proj or H

    def u(*shape):
        return rng.uniform(-scale, scale, shape)
    arrays = [rng.standard_normal((T, B, I)), u(B, P)]
    if name == "lstm":
        arrays.append(u(B, H))
    arrays += [u(G * H, I), u(G * H, P)]
    arrays += [u(G * H), u(G * H)] if bias else [None, None]
    if name == "lstm":
        arrays.append(u(P, H) if proj else None)
    return arrays


def _call(f, name, xs, **kw):
    """f(...) of the fused function (or R._reference) with xs in the public order."""
    if f is R._reference:
        if name == "lstm":
            return R._reference(name, *xs, **kw)
        return R._reference(name, xs[0], xs[1], None, *xs[2:], **kw)[:2]
    return f(*xs, **kw)


def _leaves(arrays, dtype=np.float64, requires=None):
    return [None if a is None else ad.tensor(a.astype(dtype), requires_grad=(
        requires is None or i in requires)) for i, a in enumerate(arrays)]


def _run(name, arrays, dtype=np.float64, requires=None, create_graph=False, fused=True, **kw):
    """Outputs and the gradients of a random weighting of them (second order: then the
    gradient of the squared first-order gradients)."""
    xs = _leaves(arrays, dtype, requires)
    f = getattr(R, name) if fused else R._reference
    outs = _call(f, name, xs, **kw)
    rng = np.random.default_rng(1)
    loss = sum((o * ad.tensor(rng.standard_normal(o.shape).astype(dtype))).sum() for o in outs)
    wrt = [x for x in xs if x is not None and x.requires_grad]
    grads = ad.grad(loss, wrt, create_graph=create_graph, allow_unused=True)
    if create_graph:
        second = sum((g * g).sum() for g in grads if g is not None)
        grads = ad.grad(second, wrt, allow_unused=True)
    return [o.detach().numpy() for o in outs], [None if g is None else g.numpy() for g in grads]


def _assert_same(a, b, tol):
    outs_a, grads_a = a
    outs_b, grads_b = b
    assert len(outs_a) == len(outs_b) and len(grads_a) == len(grads_b)
    for i, (p, q) in enumerate(zip(outs_a + grads_a, outs_b + grads_b)):
        assert (p is None) == (q is None), i
        if p is not None:
            assert p.dtype == q.dtype and p.shape == q.shape, (i, p.dtype, q.dtype)
            np.testing.assert_allclose(p, q, rtol=tol, atol=tol, err_msg=f"item {i}")


# --- fused vs composed ---------------------------------------------------------------------------

OPTIONS = [  # (name, kwargs of _arrays, batch_sizes, reverse)
    ("rnn_tanh", {}, None, False),
    ("rnn_tanh", {"bias": False}, [3, 2, 2], True),
    ("rnn_relu", {}, [3, 3, 1], False),
    ("rnn_relu", {"bias": False}, None, True),
    ("lstm", {}, None, False),
    ("lstm", {}, [3, 2, 1], True),
    ("lstm", {"bias": False}, [3, 1, 1], False),
    ("lstm", {"proj": 2}, None, True),
    ("lstm", {"proj": 1, "bias": False}, [3, 2, 1], False),
    ("gru", {}, None, True),
    ("gru", {}, [3, 2, 1], False),
    ("gru", {"bias": False}, [2, 2, 1], True),
]
IDS = [f"{n}-{'-'.join(f'{k}{v}' for k, v in o.items())}-{bs}-{'rev' if r else 'fwd'}"
       for n, o, bs, r in OPTIONS]


@pytest.mark.parametrize("name, opts, batch_sizes, reverse", OPTIONS, ids=IDS)
def test_fused_matches_the_composed_form(name, opts, batch_sizes, reverse):
    arrays = _arrays(name, **opts)
    kw = dict(batch_sizes=batch_sizes, reverse=reverse)
    _assert_same(_run(name, arrays, **kw), _run(name, arrays, fused=False, **kw), 1e-12)
    # float32: outputs and gradients in float32, to float32's precision
    fused32 = _run(name, arrays, np.float32, **kw)
    assert all(a.dtype == np.float32 for a in fused32[0] + fused32[1])
    _assert_same(fused32, _run(name, arrays, np.float32, fused=False, **kw), 2e-5)
    # second order (create_graph=True runs the rule on tensors, over recomputed activations)
    _assert_same(_run(name, arrays, create_graph=True, **kw),
                 _run(name, arrays, create_graph=True, fused=False, **kw), 1e-10)


@pytest.mark.parametrize("name, requires", [
    ("lstm", {0}), ("lstm", {4}), ("lstm", {1, 2}), ("lstm", {5, 7}), ("gru", {3}),
    ("gru", {1, 5}), ("rnn_tanh", {0, 5})])
def test_gradients_when_only_some_inputs_require_grad(name, requires):
    arrays = _arrays(name, proj=2 if name == "lstm" else 0)
    kw = dict(batch_sizes=[3, 2, 2], reverse=True)
    fused = _run(name, arrays, requires=requires, **kw)
    assert len(fused[1]) == len(requires)
    _assert_same(fused, _run(name, arrays, requires=requires, fused=False, **kw), 1e-12)


def test_no_input_requires_grad_records_nothing():
    xs = _leaves(_arrays("lstm"), requires=set())
    out, h, c = R.lstm(*xs)
    assert not out.requires_grad and out.grad_fn is None
    with ad.no_grad():
        xs = _leaves(_arrays("gru"))
        out, h = R.gru(*xs)
    assert not out.requires_grad
    np.testing.assert_allclose(out.numpy(), _call(R._reference, "gru", xs)[0].detach().numpy(),
                               rtol=1e-12, atol=1e-12)


def test_outputs_are_contiguous_and_views_work():
    xs = _leaves(_arrays("lstm", proj=2))
    out, h, c = R.lstm(*xs)
    assert out.shape == (3, 3, 2) and h.shape == (3, 2) and c.shape == (3, 3)
    for t in (out, h, c):
        assert t.data.flags.c_contiguous
    out.view(-1, 2).sum().backward()
    assert xs[0].grad.shape == (3, 3, 2)


def test_gradients_from_each_output_meet_in_the_node():
    """h_n alone, c_n alone, and the sum of both: gradients add up (one node, one rule)."""
    arrays = _arrays("lstm")
    parts = []
    for pick in ((1,), (2,), (1, 2)):
        xs = _leaves(arrays)
        outs = R.lstm(*xs)
        sum(outs[k].sum() for k in pick).backward()
        parts.append(xs[4].grad.numpy())
    np.testing.assert_allclose(parts[0] + parts[1], parts[2], rtol=1e-12, atol=1e-12)


def test_in_place_changes():
    """The outputs may change in place after the forward (the rule keeps its own states, as
    PyTorch, whose output is a stack of its steps); x, which the rule reads, may not."""
    arrays = _arrays("gru")
    expected = _run("gru", arrays)[1]
    xs = _leaves(arrays)
    out, h = R.gru(*xs)
    rng = np.random.default_rng(1)
    loss = sum((o * ad.tensor(rng.standard_normal(o.shape))).sum() for o in (out, h))
    with ad.no_grad():
        out.mul_(2.0)
        h.zero_()
    grads = ad.grad(loss, xs)
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(g.numpy(), e, rtol=1e-12, atol=1e-12)
    out, h = R.gru(*xs)
    with ad.no_grad():
        xs[0].mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_a_thousand_step_sequence():
    """No recursion anywhere (a low recursion limit), the composed form's gradients, and the
    memory of the saved activations linear in T."""
    arrays = _arrays("lstm", T=1000, B=2, I=2, H=3, scale=0.4)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        tracemalloc.start()
        fused = _run("lstm", arrays)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    finally:
        sys.setrecursionlimit(limit)
    # float64 per step: x, activations (4H), c, tanh c, states and gate gradients, a few times
    assert peak < 1000 * 2 * 3 * 8 * 60, peak
    _assert_same(fused, _run("lstm", arrays, fused=False), 1e-10)


@pytest.mark.parametrize("batch_sizes, reverse", [(None, False), ([3, 3, 3, 2, 2, 1, 1], True)])
def test_lstm_local_derivatives_in_chunks_of_steps(batch_sizes, reverse):
    """The LSTM forward computes its backward's local derivatives every `chunk` steps: a length
    that is not a multiple of the chunk (7 = 4 + 3) in both directions, packed and not."""
    assert R.LSTMSeq.chunk == 4
    arrays = _arrays("lstm", T=7)
    kw = dict(batch_sizes=batch_sizes, reverse=reverse)
    _assert_same(_run("lstm", arrays, **kw), _run("lstm", arrays, fused=False, **kw), 1e-12)


def test_a_one_step_call_as_the_cells_make_it():
    arrays = _arrays("gru", T=1, B=4, I=3, H=2)
    _assert_same(_run("gru", arrays), _run("gru", arrays, fused=False), 1e-12)


# --- errors --------------------------------------------------------------------------------------

def _lstm_args(**changes):
    xs = dict(zip(("x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh", "w_hr"),
                  _leaves(_arrays("lstm"))))
    for k, v in changes.items():
        xs[k] = None if v is None else ad.tensor(np.zeros(v)) if isinstance(v, tuple) else v
    return xs


@pytest.mark.parametrize("changes, pattern", [
    ({"x": (3, 2)}, r"lstm: expected x of shape \(T, B, input_size\), got shape \(3, 2\)"),
    ({"x": (0, 3, 2)}, r"lstm: expected a sequence length larger than 0"),
    ({"w_ih": (12, 5)}, r"lstm: w_ih must have shape \(4 \* hidden_size, input_size=2\) for x "
                        r"of shape \(3, 3, 2\), got \(12, 5\)"),
    ({"w_hh": (12, 2)}, r"lstm: w_hh must have shape \(12, 3\) .* got \(12, 2\)"),
    ({"h0": (2, 3)}, r"lstm: expected h0 of shape \(3, 3\) \(batch, hidden_size\) for x of "
                     r"shape \(3, 3, 2\), got \(2, 3\)"),
    ({"c0": (3, 4)}, r"lstm: expected c0 of shape \(3, 3\) .* got \(3, 4\)"),
    ({"b_hh": (13,)}, r"lstm: b_hh must have shape \(12,\) \(4 \* hidden_size\), got \(13,\)"),
    ({"w_hr": (3, 3)}, r"lstm: w_hr must have shape \(proj_size, hidden_size=3\) with "
                       r"0 < proj_size < hidden_size, got \(3, 3\)"),
])
def test_shape_errors_name_the_function_the_shapes_and_the_fix(changes, pattern):
    with pytest.raises(RuntimeError, match=pattern):
        R.lstm(**_lstm_args(**changes))


@pytest.mark.parametrize("batch_sizes", [[3, 2], [2, 3, 1], [3, 3, 4]])
def test_batch_sizes_errors(batch_sizes):
    with pytest.raises(RuntimeError, match=r"lstm: batch_sizes must be 3 non-increasing counts "
                                           r"between 0 and the batch size 3"):
        R.lstm(**_lstm_args(), batch_sizes=batch_sizes)


def test_dtype_and_type_errors():
    xs = _lstm_args()
    xs["w_hh"] = xs["w_hh"].float()
    with pytest.raises(RuntimeError, match=r"lstm: w_hh has dtype float32 but x has float64; "
                                           r"all inputs and weights must share one dtype"):
        R.lstm(**xs)
    xs = _lstm_args()
    with pytest.raises(TypeError, match=r"gru: h0 must be a Tensor, got ndarray"):
        R.gru(xs["x"], np.zeros((3, 3)), ad.zeros(9, 2, dtype=ad.float64),
              ad.zeros(9, 3, dtype=ad.float64))
    with pytest.raises(RuntimeError, match=r"rnn_relu: expected a floating-point input x"):
        R.rnn_relu(ad.zeros(2, 1, 1, dtype=ad.int64), ad.zeros(1, 1), ad.zeros(1, 1),
                   ad.zeros(1, 1))


# --- against PyTorch -----------------------------------------------------------------------------

def _torch_case(torch, name, bidirectional, proj, packed, bias=True):
    """(our outputs and gradients, torch's) for a one-layer torch module with the same weights,
    float64; outputs (output padded, h_n per direction, c_n per direction)."""
    T, B, I, H = 4, 3, 2, 3
    kind = {"rnn_tanh": "RNN", "rnn_relu": "RNN", "lstm": "LSTM", "gru": "GRU"}[name]
    kwargs = {"bias": bias, "bidirectional": bidirectional}
    if kind == "RNN":
        kwargs["nonlinearity"] = name[4:]
    if proj:
        kwargs["proj_size"] = proj
    torch.manual_seed(0)
    m = getattr(torch.nn, kind)(I, H, **kwargs).double()
    rng = np.random.default_rng(0)
    lengths = [4, 3, 1] if packed else [T] * B
    x_np = rng.standard_normal((T, B, I))
    D, P = 2 if bidirectional else 1, proj or H
    h0_np = rng.standard_normal((D, B, P)) * 0.5
    c0_np = rng.standard_normal((D, B, H)) * 0.5
    g_out = rng.standard_normal((T, B, D * P))
    g_h = rng.standard_normal((D, B, P))
    g_c = rng.standard_normal((D, B, H))
    for b, n in enumerate(lengths):
        g_out[n:, b] = 0.0
    # torch
    x_t = torch.tensor(x_np, requires_grad=True)
    h0_t = torch.tensor(h0_np, requires_grad=True)
    c0_t = torch.tensor(c0_np, requires_grad=True)
    inp = x_t
    if packed:
        inp = torch.nn.utils.rnn.pack_padded_sequence(x_t, lengths)
    state = (h0_t, c0_t) if kind == "LSTM" else h0_t
    out_t, hn_t = m(inp, state)
    if packed:
        out_t = torch.nn.utils.rnn.pad_packed_sequence(out_t, total_length=T)[0]
    outs_t = [out_t] + (list(hn_t) if kind == "LSTM" else [hn_t])
    gs = [g_out, g_h] + ([g_c] if kind == "LSTM" else [])
    torch.autograd.backward(outs_t, [torch.tensor(g) for g in gs])
    params_t = dict(m.named_parameters())
    theirs = ([o.detach().numpy() for o in outs_t],
              [x_t.grad.numpy(), h0_t.grad.numpy()] + ([c0_t.grad.numpy()] if kind == "LSTM"
                                                        else [])
              + [params_t[k].grad.numpy() for k in sorted(params_t)])
    # ours: the primitive per direction, with torch's weights
    x = ad.tensor(x_np, requires_grad=True)
    h0 = ad.tensor(h0_np, requires_grad=True)
    c0 = ad.tensor(c0_np, requires_grad=True)
    params = {k: ad.tensor(v.detach().numpy().copy(), requires_grad=True)
              for k, v in params_t.items()}
    batch_sizes = [sum(n > t for n in lengths) for t in range(T)] if packed else None
    outs, hs, cs = [], [], []
    for d in range(D):
        sfx = "_l0" + ("_reverse" if d else "")
        w = [params.get(f"{k}{sfx}") for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        if kind == "LSTM":
            res = R.lstm(x, h0[d], c0[d], *w, params.get(f"weight_hr{sfx}"),
                         batch_sizes=batch_sizes, reverse=bool(d))
        else:
            res = getattr(R, name)(x, h0[d], *w, batch_sizes=batch_sizes, reverse=bool(d))
        outs.append(res[0])
        hs.append(res[1])
        if kind == "LSTM":
            cs.append(res[2])
    ours_out = [ad.cat(outs, -1), ad.stack(hs)] + ([ad.stack(cs)] if kind == "LSTM" else [])
    ad.backward(ours_out, [ad.tensor(g) for g in gs])
    ours = ([o.detach().numpy() for o in ours_out],
            [x.grad.numpy(), h0.grad.numpy()] + ([c0.grad.numpy()] if kind == "LSTM" else [])
            + [params[k].grad.numpy() for k in sorted(params)])
    return ours, theirs


TORCH_CASES = [  # (name, bidirectional, proj, packed, bias)
    ("rnn_tanh", True, 0, False, True),
    ("rnn_relu", False, 0, True, False),
    ("lstm", True, 0, False, True),
    ("lstm", True, 0, True, True),
    ("lstm", True, 2, True, False),
    ("gru", True, 0, False, True),
    ("gru", True, 0, True, True),
]


@pytest.mark.parametrize("name, bidirectional, proj, packed, bias", TORCH_CASES)
def test_against_torch_one_layer_modules(torch, name, bidirectional, proj, packed, bias):
    ours, theirs = _torch_case(torch, name, bidirectional, proj, packed, bias)
    _assert_same(ours, theirs, 1e-10)
