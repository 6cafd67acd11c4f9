"""nn.RNN, nn.LSTM, nn.GRU and the cells against PyTorch: a state_dict copied from torch, then
outputs, final states and the gradients of the input, the initial state and every parameter for
each option (layers, directions, batch_first, bias, proj_size, relu, unbatched, packed input),
printouts, state_dict keys, initialisation, dropout and the error paths."""
import warnings

import numpy as np
import pytest

import autodiff as ad
import nn
from _torch import assert_close, convert_state, require_torch, same_error, to_ad, to_torch

torch = require_torch()
T, B, I, H, P = 4, 3, 3, 4, 2  # steps, batch, input size, hidden size, projection size
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}


def _rng(*key):
    return np.random.default_rng(abs(hash(repr(key))) % 2**32)


def _lib_rnn(lib):
    return torch.nn.utils.rnn if lib is torch else nn.utils.rnn


def _mod(lib):
    return torch.nn if lib is torch else nn


def _modules(name, dtype=np.float64, **options):
    """(ours, torch's) with torch's initial parameters copied into ours."""
    theirs = getattr(torch.nn, name)(**options).to(TORCH_DTYPE[dtype])
    ours = getattr(nn, name)(**options).to(dtype)
    ours.load_state_dict(convert_state(theirs.state_dict(), ad))
    return ours, theirs


def _flat(result):
    """The tensors of a layer's result: output (a packed one's data and layout), h_n, c_n."""
    out, state = result
    if isinstance(state, tuple):
        state = list(state)
    else:
        state = [state]
    if hasattr(out, "batch_sizes"):
        extra = [x for x in (out.sorted_indices, out.unsorted_indices) if x is not None]
        return [out.data, out.batch_sizes, *extra, *state]
    return [out, *state]


def _check(ours_mod, theirs_mod, run, arrays, tol=1e-10, seed=0):
    """run(lib, module, *tensors) -> list of tensors, on both sides: every output compared, then
    a random weighting of the float outputs backpropagated and the gradients of every input
    and every parameter compared."""
    ours_in = [to_ad(a, True) for a in arrays]
    theirs_in = [to_torch(a, True) for a in arrays]
    ours, theirs = run(ad, ours_mod, *ours_in), run(torch, theirs_mod, *theirs_in)
    assert len(ours) == len(theirs)
    for i, (o, t) in enumerate(zip(ours, theirs)):
        assert_close(o, t, tol=tol, err_msg=f"output {i}")
    rng = np.random.default_rng(seed)
    pairs = [(o, t) for o, t in zip(ours, theirs) if t.dtype.is_floating_point]
    gs = [rng.standard_normal(tuple(t.shape)) for _, t in pairs]
    sum((o * ad.tensor(g, dtype=o.dtype)).sum() for (o, _), g in zip(pairs, gs)).backward()
    sum((t * torch.tensor(g, dtype=t.dtype)).sum() for (_, t), g in zip(pairs, gs)).backward()
    for i, (a, t) in enumerate(zip(ours_in, theirs_in)):
        assert_close(a.grad, t.grad, tol=tol, err_msg=f"gradient of input {i}")
    theirs_params = dict(theirs_mod.named_parameters())
    ours_params = dict(ours_mod.named_parameters())
    assert list(ours_params) == list(theirs_params)
    for name, p in theirs_params.items():
        assert_close(ours_params[name].grad, p.grad, tol=tol, err_msg=f"gradient of {name}")


def _state_arrays(name, options, rng, batch):
    """Initial state arrays (h_0 or h_0, c_0) of shape (D * layers, batch, size) (batch None:
    unbatched)."""
    D = 2 if options.get("bidirectional") else 1
    lead = (D * options.get("num_layers", 1),) + ((batch,) if batch is not None else ())
    h = options.get("proj_size") or H
    sizes = (h, H) if name == "LSTM" else (h,)
    return [rng.standard_normal(lead + (s,)) for s in sizes]


def _hx(name, states):
    if not states:
        return None
    return tuple(states) if name == "LSTM" else states[0]


LAYER_CASES = [
    ("RNN", dict()),
    ("RNN", dict(nonlinearity="relu", num_layers=2, bias=False)),
    ("RNN", dict(bidirectional=True, batch_first=True)),
    ("LSTM", dict()),
    ("LSTM", dict(num_layers=2, bidirectional=True, dropout=0.5)),  # eval: dropout is off
    ("LSTM", dict(proj_size=P, batch_first=True)),
    ("LSTM", dict(proj_size=P, num_layers=2, bidirectional=True, bias=False)),
    ("GRU", dict()),
    ("GRU", dict(num_layers=2, bidirectional=True, batch_first=True)),
    ("GRU", dict(bias=False)),
]
MODES = ["hx", "no_hx", "unbatched", "packed_sorted", "packed_unsorted", "pack_sequence"]


def _case_id(case):
    name, options = case
    opts = ",".join(f"{k}={v}" for k, v in options.items())
    return f"{name}({opts})"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", LAYER_CASES, ids=_case_id)
def test_layer_matches_torch(case, mode):
    name, options = case
    ours, theirs = _modules(name, input_size=I, hidden_size=H, **options)
    ours.eval()
    theirs.eval()
    rng = _rng(name, options, mode)
    bf = options.get("batch_first", False)
    layout = (B, T, I) if bf else (T, B, I)
    if mode in ("hx", "no_hx"):
        states = _state_arrays(name, options, rng, B) if mode == "hx" else []

        def run(lib, mod, x, *hx):
            return _flat(mod(x, _hx(name, hx)))
        arrays = [rng.standard_normal(layout)] + states
    elif mode == "unbatched":
        states = _state_arrays(name, options, rng, None)

        def run(lib, mod, x, *hx):
            return _flat(mod(x, _hx(name, hx)))
        arrays = [rng.standard_normal((T, I))] + states
    elif mode in ("packed_sorted", "packed_unsorted"):
        lengths = [4, 3, 1] if mode == "packed_sorted" else [3, 4, 1]
        states = _state_arrays(name, options, rng, B) if mode == "packed_unsorted" else []

        def run(lib, mod, x, *hx):
            packed = _lib_rnn(lib).pack_padded_sequence(
                x, lengths, batch_first=bf, enforce_sorted=mode == "packed_sorted")
            return _flat(mod(packed, _hx(name, hx)))
        arrays = [rng.standard_normal(layout)] + states
    else:
        lengths = [2, 4, 1]

        def run(lib, mod, *seqs):
            packed = _lib_rnn(lib).pack_sequence(list(seqs), enforce_sorted=False)
            result = mod(packed)
            # the unpacked outputs too: pad_packed_sequence of a layer's output
            padded, lens = _lib_rnn(lib).pad_packed_sequence(result[0], batch_first=True)
            return _flat(result) + [padded, lens]
        arrays = [rng.standard_normal((n, I)) for n in lengths]
    _check(ours, theirs, run, arrays)


@pytest.mark.parametrize("name, options", [
    ("RNN", dict(num_layers=2, bidirectional=True)),
    ("LSTM", dict(proj_size=P, bidirectional=True)),
    ("GRU", dict(batch_first=True, num_layers=2)),
], ids=["RNN", "LSTM", "GRU"])
def test_layer_float32_matches_torch(name, options):
    ours, theirs = _modules(name, np.float32, input_size=I, hidden_size=H, **options)
    rng = _rng("float32", name)
    layout = (B, T, I) if options.get("batch_first") else (T, B, I)
    x = rng.standard_normal(layout).astype(np.float32)
    states = [s.astype(np.float32) for s in _state_arrays(name, options, rng, B)]

    def run(lib, mod, x, *hx):
        return _flat(mod(x, _hx(name, hx)))
    _check(ours, theirs, run, [x] + states, tol=1e-5)
    out, _ = ours(ad.tensor(x))
    assert out.dtype == ad.float32 and ours.weight_ih_l0.grad.dtype == ad.float32


def test_packed_output_layout_matches_torch():
    """A packed output keeps the input's batch_sizes and indices; h_n is in the caller's order."""
    ours, theirs = _modules("GRU", input_size=I, hidden_size=H)
    x = _rng("layout").standard_normal((T, B, I))
    lengths = ad.tensor([1, 4, 2])
    p_ours = nn.utils.rnn.pack_padded_sequence(ad.tensor(x), lengths, enforce_sorted=False)
    out, h = ours(p_ours)
    assert isinstance(out, nn.utils.rnn.PackedSequence)
    assert out.batch_sizes is p_ours.batch_sizes and out.sorted_indices is p_ours.sorted_indices
    assert out.unsorted_indices is p_ours.unsorted_indices
    p_theirs = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), torch.tensor([1, 4, 2]),
                                                       enforce_sorted=False)
    out_t, h_t = theirs(p_theirs)
    assert_close(h, h_t)
    # each row's h_n is its output at its last valid step
    padded, lens = nn.utils.rnn.pad_packed_sequence(out)
    for b, n in enumerate(lens.tolist()):
        assert_close(padded[n - 1, b], h[0, b])


def test_dropout_train_matches_torch_at_p1_and_is_seeded():
    """dropout=1 zeroes every layer's output but the last: deterministic, so compared exactly;
    at p=0.5 the mask comes from autodiff's generator."""
    options = dict(input_size=I, hidden_size=H, num_layers=2, dropout=1.0)
    ours, theirs = _modules("LSTM", **options)
    x = _rng("dropout").standard_normal((T, B, I))
    _check(ours, theirs, lambda lib, mod, x: _flat(mod(x)), [x])
    ours.dropout = theirs.dropout = 0.5
    ad.manual_seed(3)
    a = ours(ad.tensor(x))[0]
    ad.manual_seed(3)
    b = ours(ad.tensor(x))[0]
    c = ours(ad.tensor(x))[0]
    ours.eval()
    d = ours(ad.tensor(x))[0]
    assert_close(a, b)
    assert not np.allclose(a.data, c.data) and not np.allclose(a.data, d.data)
    theirs.eval()
    assert_close(d, theirs(torch.tensor(x))[0])


@pytest.mark.parametrize("lib", ["ours", "torch"])
def test_dropout_zeroes_a_fraction_p_and_rescales(lib):
    """With identity input weights, no recurrence and relu on positive input, layer 2's output
    is exactly dropout(x): a fraction ~p of zeros and 1 / (1 - p) elsewhere (same in torch)."""
    lib = torch if lib == "torch" else ad
    p, n = 0.3, 8
    mod = _mod(lib).RNN(n, n, num_layers=2, nonlinearity="relu", bias=False, dropout=p)
    with lib.no_grad():
        for name, w in mod.named_parameters():
            w.copy_(lib.eye(n) if "ih" in name else lib.zeros(n, n))
    out = mod(lib.ones(50, 16, n))[0].detach().numpy()
    np.testing.assert_allclose(out[out != 0], 1 / (1 - p), rtol=1e-6)
    assert abs((out == 0).mean() - p) < 0.03


@pytest.mark.parametrize("case", LAYER_CASES[:9], ids=_case_id)
def test_printout_keys_and_shapes_match_torch(case):
    name, options = case
    ours, theirs = _modules(name, input_size=I, hidden_size=H, **options)
    assert repr(ours) == repr(theirs)
    sd_ours, sd_theirs = ours.state_dict(), theirs.state_dict()
    assert list(sd_ours) == list(sd_theirs)
    assert [tuple(v.shape) for v in sd_ours.values()] == [tuple(v.shape)
                                                        for v in sd_theirs.values()]
    assert ours._flat_weights_names == theirs._flat_weights_names
    assert [[tuple(w.shape) for w in ws] for ws in ours.all_weights] == \
        [[tuple(w.shape) for w in ws] for ws in theirs.all_weights]
    assert ours.all_weights[0][0] is ours.weight_ih_l0
    assert ours.flatten_parameters() is None


def test_repr_of_every_argument_matches_torch():
    kwargs = dict(input_size=5, hidden_size=7, num_layers=3, bias=False, batch_first=True,
                  dropout=0.25, bidirectional=True)
    for name, extra in (("RNN", dict(nonlinearity="relu")), ("GRU", {}), ("LSTM",
                                                                        dict(proj_size=3))):
        assert repr(getattr(nn, name)(**kwargs, **extra)) == \
            repr(getattr(torch.nn, name)(**kwargs, **extra))
    for name, extra in (("RNNCell", dict(bias=False, nonlinearity="relu")), ("RNNCell", {}),
                        ("LSTMCell", dict(bias=False)), ("GRUCell", {})):
        assert repr(getattr(nn, name)(5, 7, **extra)) == repr(getattr(torch.nn, name)(5, 7,
                                                                                       **extra))


@pytest.mark.parametrize("name, args, kwargs, expected", [
    ("LSTM", (3, 5), dict(num_layers=np.int64(2)), "LSTM(3, 5, num_layers=2)"),
    ("LSTM", (3, 5), dict(proj_size=np.int64(2)), "LSTM(3, 5, proj_size=2)"),
    ("GRUCell", (np.int64(3), np.int32(5)), {}, "GRUCell(3, 5)"),
    ("RNNCell", (np.int16(3), np.uint8(5)), {}, "RNNCell(3, 5)"),
])
def test_numpy_integer_sizes_are_stored_as_ints_like_torch(name, args, kwargs, expected):
    ours = getattr(nn, name)(*args, **kwargs)
    assert repr(ours) == repr(getattr(torch.nn, name)(*args, **kwargs)) == expected
    for attr in ("input_size", "hidden_size", "num_layers", "proj_size"):
        assert type(getattr(ours, attr, 0)) is int
    ours(ad.zeros(2, 3))  # runs


def test_numpy_integer_sizes_of_layers_are_accepted():
    """torch's layers reject numpy input_size / hidden_size (TypeError); we take any integer."""
    m = nn.GRU(np.int64(3), np.int64(4), num_layers=np.int8(2))
    assert repr(m) == "GRU(3, 4, num_layers=2)" and type(m.hidden_size) is int
    assert m.weight_hh_l1.shape == (12, 4)


def test_state_dict_copied_from_ours_gives_torchs_outputs():
    options = dict(input_size=I, hidden_size=H, num_layers=2, bidirectional=True, proj_size=P)
    ours = nn.LSTM(**options).double()
    theirs = torch.nn.LSTM(**options).double()
    theirs.load_state_dict(convert_state(ours.state_dict(), torch))
    x = _rng("to torch").standard_normal((T, B, I))
    out, (h, c) = ours(ad.tensor(x))
    out_t, (h_t, c_t) = theirs(torch.tensor(x))
    for a, t in ((out, out_t), (h, h_t), (c, c_t)):
        assert_close(a, t)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"])
def test_init_is_uniform_in_plus_minus_one_over_sqrt_hidden(name):
    hidden = 16
    ad.manual_seed(5)
    mod = getattr(nn, name)(8, hidden)
    ad.manual_seed(5)
    again = getattr(nn, name)(8, hidden)
    bound = 1 / np.sqrt(hidden)
    values = np.concatenate([p.data.ravel() for p in mod.parameters()])
    assert values.dtype == np.float32
    assert np.abs(values).max() <= bound
    assert values.min() < -0.9 * bound and values.max() > 0.9 * bound
    assert abs(values.mean()) < 0.1 * bound and abs(values.std() - bound / np.sqrt(3)) < 0.1 * bound
    for p, q in zip(mod.parameters(), again.parameters()):
        assert_close(p, q)
    proj = nn.LSTM(8, hidden, proj_size=4)
    assert np.abs(proj.weight_hr_l0.data).max() <= bound


def test_device_and_dtype_arguments():
    m = nn.GRU(I, H, device="cpu", dtype=ad.float64)
    assert all(p.dtype == ad.float64 for p in m.parameters())
    assert nn.LSTMCell(I, H, dtype=ad.float64).weight_hh.dtype == ad.float64
    with pytest.raises(RuntimeError, match="CPU"):
        nn.LSTM(I, H, device="cuda")


# --- cells ---------------------------------------------------------------------------------------

CELL_CASES = [("RNNCell", dict()), ("RNNCell", dict(nonlinearity="relu", bias=False)),
              ("LSTMCell", dict()), ("LSTMCell", dict(bias=False)), ("GRUCell", dict()),
              ("GRUCell", dict(bias=False))]


@pytest.mark.parametrize("batched, with_hx", [(True, True), (True, False), (False, True),
                                              (False, False)])
@pytest.mark.parametrize("case", CELL_CASES, ids=_case_id)
def test_cell_matches_torch(case, batched, with_hx):
    name, options = case
    ours, theirs = _modules(name, input_size=I, hidden_size=H, **options)
    rng = _rng(name, options, batched, with_hx)
    lead = (B,) if batched else ()
    n_states = 2 if name == "LSTMCell" else 1
    states = [rng.standard_normal(lead + (H,)) for _ in range(n_states)] if with_hx else []

    def run(lib, mod, x, *hx):
        out = mod(x, (tuple(hx) if n_states == 2 else hx[0]) if hx else None)
        return list(out) if n_states == 2 else [out]
    _check(ours, theirs, run, [rng.standard_normal(lead + (I,))] + states)


def test_cell_float32_and_a_loop_over_time_matches_the_layer():
    cell = nn.LSTMCell(I, H)
    layer = nn.LSTM(I, H)
    layer.load_state_dict({k + "_l0": v for k, v in cell.state_dict().items()})
    x = ad.randn(T, B, I)
    h = c = ad.zeros(B, H)
    outs = []
    for t in range(T):
        h, c = cell(x[t], (h, c))
        outs.append(h)
    out, (h_n, c_n) = layer(x)
    assert out.dtype == ad.float32
    assert_close(ad.stack(outs), out, tol=1e-6)
    assert_close(c, c_n[0], tol=1e-6)


# --- errors --------------------------------------------------------------------------------------

def _errors():
    x3 = lambda lib: lib.zeros(T, B, I)  # noqa: E731
    return {
        "dropout > 1": lambda lib: _mod(lib).LSTM(I, H, dropout=1.5),
        "dropout bool": lambda lib: _mod(lib).GRU(I, H, dropout=True),
        "proj_size with GRU": lambda lib: _mod(lib).GRU(I, H, proj_size=2),
        "proj_size with RNN": lambda lib: _mod(lib).RNN(I, H, proj_size=2),
        "proj_size >= hidden": lambda lib: _mod(lib).LSTM(I, H, proj_size=H),
        "proj_size < 0": lambda lib: _mod(lib).LSTM(I, H, proj_size=-1),
        "hidden_size 0": lambda lib: _mod(lib).LSTM(I, 0),
        "input_size float": lambda lib: _mod(lib).LSTM(2.0, H),
        "num_layers 0": lambda lib: _mod(lib).GRU(I, H, num_layers=0),
        "bias not bool": lambda lib: _mod(lib).RNN(I, H, bias=1),
        "nonlinearity": lambda lib: _mod(lib).RNN(I, H, nonlinearity="sigmoid"),
        "input 4-D": lambda lib: _mod(lib).LSTM(I, H)(lib.zeros(1, T, B, I)),
        "input 1-D": lambda lib: _mod(lib).GRU(I, H)(lib.zeros(I)),
        "input_size mismatch": lambda lib: _mod(lib).RNN(I, H)(lib.zeros(T, B, I + 1)),
        "h_0 shape": lambda lib: _mod(lib).GRU(I, H)(x3(lib), lib.zeros(1, B, H + 1)),
        "h_0 batch": lambda lib: _mod(lib).RNN(I, H, num_layers=2)(x3(lib), lib.zeros(1, B, H)),
        "c_0 shape": lambda lib: _mod(lib).LSTM(I, H)(x3(lib), (lib.zeros(1, B, H),
                                                              lib.zeros(1, B, H + 1))),
        "h_0 of a projection": lambda lib: _mod(lib).LSTM(I, H, proj_size=P)(
            x3(lib), (lib.zeros(1, B, H), lib.zeros(1, B, H))),
        "batched input, 2-D h_0": lambda lib: _mod(lib).GRU(I, H)(x3(lib), lib.zeros(B, H)),
        "unbatched input, 3-D h_0": lambda lib: _mod(lib).RNN(I, H)(lib.zeros(T, I),
                                                                    lib.zeros(1, 1, H)),
        "unbatched LSTM, 3-D state": lambda lib: _mod(lib).LSTM(I, H)(
            lib.zeros(T, I), (lib.zeros(1, 1, H), lib.zeros(1, 1, H))),
        "cell input 3-D": lambda lib: _mod(lib).GRUCell(I, H)(lib.zeros(1, B, I)),
        "cell hidden 3-D": lambda lib: _mod(lib).RNNCell(I, H)(lib.zeros(B, I),
                                                               lib.zeros(1, B, H)),
        "cell hx[1] 3-D": lambda lib: _mod(lib).LSTMCell(I, H)(lib.zeros(B, I), (
            lib.zeros(B, H), lib.zeros(1, B, H))),
        "cell input_size": lambda lib: _mod(lib).LSTMCell(I, H)(lib.zeros(B, I + 1)),
        "cell hidden batch": lambda lib: _mod(lib).GRUCell(I, H)(lib.zeros(B, I),
                                                                 lib.zeros(B + 1, H)),
        "cell hidden size": lambda lib: _mod(lib).RNNCell(I, H)(lib.zeros(B, I),
                                                                lib.zeros(B, H + 1)),
        "cell nonlinearity": lambda lib: _mod(lib).RNNCell(I, H, nonlinearity="gelu")(
            lib.zeros(B, I)),
        "proj_size float": lambda lib: _mod(lib).LSTM(I, H, proj_size=1.0),
        "LSTM hx of 3": lambda lib: _mod(lib).LSTM(I, H)(x3(lib), (lib.zeros(1, B, H),) * 3),
        "LSTM packed hx of 3": lambda lib: _mod(lib).LSTM(I, H)(
            _lib_rnn(lib).pack_sequence([lib.zeros(2, I)]), (lib.zeros(1, 1, H),) * 3),
        "LSTMCell hx of 1": lambda lib: _mod(lib).LSTMCell(I, H)(lib.zeros(B, I),
                                                                 (lib.zeros(B, H),)),
        "LSTMCell hx of 3": lambda lib: _mod(lib).LSTMCell(I, H)(lib.zeros(B, I),
                                                                 [lib.zeros(B, H)] * 3),
        "LSTMCell hx a tensor": lambda lib: _mod(lib).LSTMCell(I, H)(lib.zeros(B, I),
                                                                     lib.zeros(2, B, H)),
        "layer input dtype": lambda lib: _mod(lib).GRU(I, H)(lib.zeros(T, B, I,
                                                                       dtype=lib.float64)),
        "RNNCell input dtype": lambda lib: _mod(lib).RNNCell(I, H)(lib.zeros(B, I,
                                                                        dtype=lib.float64)),
        "LSTMCell unbatched input dtype": lambda lib: _mod(lib).LSTMCell(I, H)(
            lib.zeros(I, dtype=lib.float64)),
        "GRUCell input dtype": lambda lib: _mod(lib).GRUCell(I, H)(lib.zeros(B, I,
                                                                        dtype=lib.float64)),
    }


@pytest.mark.parametrize("what", list(_errors()))
def test_errors_match_torchs_classes(what):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same_error(torch, _errors()[what])


@pytest.mark.parametrize("fn, cls, pattern", [
    (lambda: nn.GRU(I, H)(ad.zeros(T, B, I), ad.zeros(1, B, H + 1)), RuntimeError,
     r"Expected hidden size \(1, 3, 4\), got \[1, 3, 5\]"),
    (lambda: nn.LSTM(I, H, bidirectional=True)(ad.zeros(T, B, I), (ad.zeros(2, B, H),
                                                                   ad.zeros(1, B, H))),
     RuntimeError, r"Expected hidden\[1\] size \(2, 3, 4\), got \[1, 3, 4\]"),
    (lambda: nn.RNN(I, H)(ad.zeros(T, B, I + 2)), RuntimeError,
     "input.size\\(-1\\) must be equal to input_size. Expected 3, got 5"),
    (lambda: nn.LSTM(I, H)(ad.zeros(T, B, I, dtype=ad.float64)), ValueError,
     r"LSTM input dtype \(autodiff.float64\) does not match weight dtype \(autodiff.float32\)"
     r".*input.to\(autodiff.float32\).*model.to\(autodiff.float64\)"),
    (lambda: nn.GRUCell(I, H)(ad.zeros(B, I, dtype=ad.float64)), RuntimeError,
     r"GRUCell input dtype \(autodiff.float64\) does not match weight dtype "
     r"\(autodiff.float32\).*input.to\(autodiff.float32\).*model.to\(autodiff.float64\)"),
    (lambda: nn.LSTMCell(I, H)(ad.zeros(B, I), (ad.zeros(B, H),)), RuntimeError,
     r"lstm_cell expects two hidden states, got 1 \(shapes \[\(3, 4\)\]\); pass "
     r"hx=\(h_0, c_0\)"),
    (lambda: nn.LSTMCell(I, H)(ad.zeros(I), (ad.zeros(H),) * 3), RuntimeError,
     r"lstm_cell expects two hidden states, got 3 \(shapes \[\(4,\), \(4,\), \(4,\)\]\)"),
    (lambda: nn.LSTMCell(I, H)(ad.zeros(B, I), ad.zeros(2, B, H)), TypeError,
     r"lstm_cell: hx must be a tuple \(h_0, c_0\) of tensors, got Tensor"),
    (lambda: nn.LSTM(I, H)(ad.zeros(T, B, I), (ad.zeros(1, B, H),) * 3), RuntimeError,
     r"lstm expects two hidden states, got 3 \(shapes \[\(1, 3, 4\), \(1, 3, 4\), "
     r"\(1, 3, 4\)\]\); pass hx=\(h_0, c_0\)"),
    (lambda: nn.LSTM(I, H, proj_size=1.0), TypeError,
     r"proj_size should be of type int, got: float \(1.0\); pass an int"),
    (lambda: nn.GRUCell(I, np.float64(4)), TypeError,
     r"hidden_size should be of type int, got: float64"),
    (lambda: nn.LSTM(I, H, num_layers=True), TypeError, "num_layers should be of type int, "
     "got: bool"),
    (lambda: nn.LSTM(I, H)(ad.zeros(2, T, B, I)), ValueError, "Expected input to be 2D or 3D, "
     "got 4D"),
    (lambda: nn.LSTM(I, H)(ad.zeros(T, B, I), ad.zeros(1, B, H)), TypeError,
     r"tuple \(h_0, c_0\)"),
    (lambda: nn.GRU(I, H)(ad.zeros(T, I), ad.zeros(1, 1, H)), RuntimeError,
     "For unbatched 2-D input, hx should also be 2-D but got 3-D tensor"),
    (lambda: nn.LSTM(I, H)(ad.zeros(T, B, I), (ad.zeros(1, B, H), ad.zeros(B, H))),
     RuntimeError, r"For batched 3-D input, hx and cx should also be 3-D but got \(3-D, 2-D\)"),
    (lambda: nn.LSTM(I, H, proj_size=H + 1), ValueError, "proj_size has to be smaller than "
     "hidden_size"),
    (lambda: nn.GRU(I, H, proj_size=1), ValueError, "only supported for LSTM"),
    (lambda: nn.RNN(I, H, dropout=-0.1), ValueError, r"range \[0, 1\]"),
    (lambda: nn.LSTMCell(I, H)(ad.zeros(B, I), (ad.zeros(B, H), ad.zeros(B + 1, H))),
     RuntimeError, "Input batch size 3 doesn't match hidden1 batch size 4"),
    (lambda: nn.GRUCell(I, H)(ad.zeros(I + 1)), RuntimeError, "inconsistent input_size: got 4 "
     "expected 3"),
])
def test_error_messages(fn, cls, pattern):
    with pytest.raises(cls, match=pattern):
        fn()


def test_dropout_with_one_layer_warns_like_torch():
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.LSTM(I, H, dropout=0.2)
