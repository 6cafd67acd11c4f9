"""nn.RNN, nn.LSTM, nn.GRU and the cells against PyTorch: a state_dict copied from torch, then
outputs, final states and the gradients of the input, the initial state and every parameter for
each option (layers, directions, batch_first, bias, proj_size, relu, unbatched, packed input),
printouts, state_dict keys, initialisation, dropout, the error paths, and the overridable
check_input / get_expected_*_size / check_hidden_size / check_forward_args / permute_hidden
methods (return values, errors, and how forward calls them in a subclass)."""
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


# --- the public check / permute methods (check_input, get_expected_hidden_size, ...) ------------

CHECK_CASES = [
    ("RNN", dict()),
    ("GRU", dict(num_layers=2, batch_first=True)),
    ("LSTM", dict(bidirectional=True)),
    ("LSTM", dict(proj_size=P, batch_first=True)),
]
LENGTHS = [2, 4, 1]  # packed input: batch_sizes [3, 2, 1, 1], sorted_indices [1, 0, 2]


def _outcome(fn):
    """('ok', fn()'s result as numbers) or (exception class, message)."""
    try:
        result = fn()
    except Exception as e:  # noqa: BLE001 - compared with torch's
        return type(e), str(e)
    if isinstance(result, tuple):
        return "ok", tuple(np.asarray(x.detach().numpy() if hasattr(x, "detach")
                                      else getattr(x, "data", x)).tolist() for x in result)
    return "ok", None if result is None else np.asarray(getattr(result, "data", result)).tolist()


def _method_inputs(lib, name, options, kind):
    """(input as forward passes it to the methods, batch_sizes, [right state, wrong state] in
    (h,) or (h, c) form): kind batched, unbatched (unsqueezed, as forward does) or packed."""
    rng = _rng("methods", name, options, kind)
    bf = options.get("batch_first", False)
    if kind == "packed":
        seqs = [lib.tensor(rng.standard_normal((n, I))) for n in LENGTHS]
        p = _lib_rnn(lib).pack_sequence(seqs, enforce_sorted=False)
        x, batch_sizes, batch = p.data, p.batch_sizes, max(len(LENGTHS), 1)
    else:
        batch = B if kind == "batched" else 1
        x = lib.tensor(rng.standard_normal((batch, T, I) if bf else (T, batch, I)))
        batch_sizes = None
    right = [lib.tensor(a) for a in _state_arrays(name, options, rng, batch)]
    wrong = [lib.tensor(a) for a in _state_arrays(name, options, rng, batch + 1)]
    return x, batch_sizes, right, wrong


@pytest.mark.parametrize("kind", ["batched", "unbatched", "packed"])
@pytest.mark.parametrize("case", CHECK_CASES, ids=_case_id)
def test_check_methods_match_torch(case, kind):
    """Each method's return value, or its exception class and message, is torch's."""
    name, options = case
    lstm = name == "LSTM"
    results = {}
    for lib in (ad, torch):
        m = getattr(_mod(lib), name)(I, H, **options).double()
        x, bs, right, wrong = _method_inputs(lib, name, options, kind)
        hx = tuple(right) if lstm else right[0]
        bad_h = (wrong[0], right[1]) if lstm else wrong[0]
        calls = {
            "check_input": lambda: m.check_input(x, bs),
            "check_input features": lambda: m.check_input(x[..., :I - 1], bs),
            "check_input dims": lambda: m.check_input(x[0], bs),
            "check_input packed 3-D": lambda: m.check_input(x.unsqueeze(0), bs if bs is not None
                                                            else lib.tensor([1])),
            "expected hidden size": lambda: m.get_expected_hidden_size(x, bs),
            "check_hidden_size": lambda: m.check_hidden_size(
                right[0], m.get_expected_hidden_size(x, bs)),
            "check_hidden_size wrong": lambda: m.check_hidden_size(
                wrong[0], m.get_expected_hidden_size(x, bs)),
            "check_hidden_size msg": lambda: m.check_hidden_size(
                wrong[0], m.get_expected_hidden_size(x, bs), "want {} have {}"),
            "check_forward_args": lambda: m.check_forward_args(x, hx, bs),
            "check_forward_args wrong h": lambda: m.check_forward_args(x, bad_h, bs),
            "check_forward_args wrong input": lambda: m.check_forward_args(x[..., :1], hx, bs),
            "permute_hidden None": lambda: m.permute_hidden(hx, None),
            "permute_hidden": lambda: m.permute_hidden(hx, lib.tensor([2, 0, 1]))
            if kind != "unbatched" else m.permute_hidden(hx, lib.tensor([0])),
        }
        if lstm:
            calls.update({
                "expected cell size": lambda: m.get_expected_cell_size(x, bs),
                "check_forward_args wrong c": lambda: m.check_forward_args(
                    x, (right[0], wrong[1]), bs),
            })
        results[lib] = {k: _outcome(f) for k, f in calls.items()}
        assert m.permute_hidden(hx, None) is hx
        assert type(m.get_expected_hidden_size(x, bs)) is tuple
    for key, theirs in results[torch].items():
        ours = results[ad][key]
        assert ours == theirs, key
    assert results[ad]["check_hidden_size wrong"][0] is RuntimeError


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_check_input_dtype_raises_valueerror_like_torch(name):
    for lib in (ad, torch):
        m = getattr(_mod(lib), name)(I, H)
        with pytest.raises(ValueError, match="input dtype .* does not match weight dtype"):
            m.check_input(lib.zeros(T, B, I, dtype=lib.float64), None)


def _shapes(value):
    if value is None:
        return None
    if isinstance(value, (tuple, list)):
        return tuple(tuple(v.shape) for v in value)
    return tuple(value.shape)


def _values(t):
    return None if t is None else [int(v) for v in t.tolist()]


def _recording(lib, name):
    """A subclass recording every call of the overridable methods, then deferring to them."""
    class Recording(getattr(_mod(lib), name)):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.calls = []

        def check_input(self, input, batch_sizes):
            self.calls.append(("check_input", _shapes(input), _values(batch_sizes)))
            super().check_input(input, batch_sizes)

        def get_expected_hidden_size(self, input, batch_sizes):
            size = super().get_expected_hidden_size(input, batch_sizes)
            self.calls.append(("get_expected_hidden_size", _shapes(input), size))
            return size

        def check_hidden_size(self, hx, expected_hidden_size,
                              msg="Expected hidden size {}, got {}"):
            self.calls.append(("check_hidden_size", _shapes(hx), expected_hidden_size, msg))
            super().check_hidden_size(hx, expected_hidden_size, msg)

        def check_forward_args(self, input, hidden, batch_sizes):
            self.calls.append(("check_forward_args", _shapes(input), _shapes(hidden),
                               _values(batch_sizes)))
            super().check_forward_args(input, hidden, batch_sizes)

        def permute_hidden(self, hx, permutation):
            self.calls.append(("permute_hidden", _shapes(hx), _values(permutation)))
            return super().permute_hidden(hx, permutation)

    if name == "LSTM":
        def get_expected_cell_size(self, input, batch_sizes):
            size = super(Recording, self).get_expected_cell_size(input, batch_sizes)
            self.calls.append(("get_expected_cell_size", _shapes(input), size))
            return size
        Recording.get_expected_cell_size = get_expected_cell_size
    return Recording


def _pair(ours_cls, theirs_cls, **options):
    """(ours, torch's) float64 instances, torch's parameters copied into ours."""
    theirs = theirs_cls(I, H, **options).double()
    ours = ours_cls(I, H, **options).double()
    ours.load_state_dict(convert_state(theirs.state_dict(), ad))
    return ours, theirs


def _forward_input(lib, name, options, mode, rng_key):
    """(input, hx) for a forward mode: batched / unbatched / packed (unsorted) / sorted_packed,
    with _hx or _no_hx."""
    rng = _rng("forward", name, options, mode, rng_key)
    kind, with_hx = mode.rsplit("_", 1)[0].removesuffix("_no"), not mode.endswith("no_hx")
    if kind in ("packed", "sorted_packed"):
        lengths = LENGTHS if kind == "packed" else sorted(LENGTHS, reverse=True)
        seqs = [lib.tensor(rng.standard_normal((n, I))) for n in lengths]
        x = _lib_rnn(lib).pack_sequence(seqs, enforce_sorted=kind != "packed")
        batch = len(lengths)
    elif kind == "unbatched":
        x, batch = lib.tensor(rng.standard_normal((T, I))), None
    else:
        bf = options.get("batch_first", False)
        x, batch = lib.tensor(rng.standard_normal((B, T, I) if bf else (T, B, I))), B
    states = [lib.tensor(a) for a in _state_arrays(name, options, rng, batch)]
    return x, (_hx(name, states) if with_hx else None)


FORWARD_MODES = ["batched_hx", "batched_no_hx", "unbatched_hx", "unbatched_no_hx", "packed_hx",
                 "packed_no_hx", "sorted_packed_hx"]


@pytest.mark.parametrize("mode", FORWARD_MODES)
@pytest.mark.parametrize("case", CHECK_CASES, ids=_case_id)
def test_forward_calls_the_overridable_methods_like_torch(case, mode):
    """forward calls check_forward_args (and through it check_input, get_expected_*_size,
    check_hidden_size) and permute_hidden with the same arguments, in the same order, as
    torch's (its LSTM skips check_forward_args for packed input), with the same results."""
    name, options = case
    ours, theirs = _pair(_recording(ad, name), _recording(torch, name), **options)
    out = {}
    for lib, m in ((ad, ours), (torch, theirs)):
        x, hx = _forward_input(lib, name, options, mode, 0)
        out[lib] = _flat(m(x, hx))
    assert ours.calls == theirs.calls
    assert any(c[0] == "permute_hidden" for c in ours.calls)
    for o, t in zip(out[ad], out[torch]):
        assert_close(o, t)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_overriding_check_forward_args_to_skip_it_behaves_like_torch(name):
    """A subclass whose check_forward_args does nothing: valid input runs as usual, and input
    of the wrong dtype (a ValueError of check_input otherwise) fails in the computation with
    a RuntimeError, in both libraries."""
    def skipping(lib):
        class NoChecks(getattr(_mod(lib), name)):
            def check_forward_args(self, input, hidden, batch_sizes):
                pass
        return NoChecks
    ours, theirs = _pair(skipping(ad), skipping(torch))
    for mode in ("batched_hx", "unbatched_no_hx", "packed_hx"):
        results = [_flat(m(*_forward_input(lib, name, {}, mode, 1)))
                   for lib, m in ((ad, ours), (torch, theirs))]
        for o, t in zip(*results):
            assert_close(o, t)
    for lib, m in ((ad, ours), (torch, theirs)):
        plain = getattr(_mod(lib), name)(I, H)
        x = lib.zeros(T, B, I, dtype=lib.float64)
        with pytest.raises(ValueError, match="does not match weight dtype"):
            plain(x)
        with pytest.raises(RuntimeError):
            m.float()(x)
        m.double()
    if name != "LSTM":  # torch's LSTM does not check the state's batch in its C++ op
        for lib, m in ((ad, ours), (torch, theirs)):
            with pytest.raises(RuntimeError):
                m(lib.zeros(T, B, I, dtype=lib.float64),
                  lib.zeros(1, B + 1, H, dtype=lib.float64))


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_overriding_permute_hidden_behaves_like_torch(name):
    """A subclass whose permute_hidden ignores the permutation: with unsorted packed input
    h_0 is used, and h_n returned, in the sorted order, the same in both libraries."""
    def unpermuted(lib):
        class NoPermute(getattr(_mod(lib), name)):
            def permute_hidden(self, hx, permutation):
                return hx
        return NoPermute
    ours, theirs = _pair(unpermuted(ad), unpermuted(torch))
    plain = getattr(nn, name)(I, H).double()
    plain.load_state_dict(ours.state_dict())
    results = [_flat(m(*_forward_input(lib, name, {}, "packed_hx", 2)))
               for lib, m in ((ad, ours), (torch, theirs))]
    for o, t in zip(*results):
        assert_close(o, t)
    default = _flat(plain(*_forward_input(ad, name, {}, "packed_hx", 2)))
    assert not np.allclose(default[-1].detach().numpy(), results[0][-1].detach().numpy())


@pytest.mark.parametrize("lib", [ad, torch], ids=["autodiff", "torch"])
def test_check_forward_args_messages_as_torch(lib):
    """torch's wording, so pytest.raises(match=...) written against torch works on ours."""
    x = lib.zeros(T, B, I)
    lstm = _mod(lib).LSTM(I, H, proj_size=P)
    with pytest.raises(RuntimeError,
                       match=r"Expected hidden\[0\] size \(1, 3, 2\), got \[1, 3, 4\]"):
        lstm.check_forward_args(x, (lib.zeros(1, B, H), lib.zeros(1, B, H)), None)
    with pytest.raises(RuntimeError,
                       match=r"Expected hidden\[1\] size \(1, 3, 4\), got \[1, 3, 2\]"):
        lstm.check_forward_args(x, (lib.zeros(1, B, P), lib.zeros(1, B, P)), None)
    with pytest.raises(RuntimeError, match="input must have 2 dimensions, got 3"):
        _mod(lib).GRU(I, H).check_input(x, lib.tensor([3, 3]))
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 2, 4\), got \[1, 3, 4\]"):
        _mod(lib).RNN(I, H).check_forward_args(x[0], lib.zeros(1, B, H), lib.tensor([2, 1]))
    with pytest.raises(RuntimeError, match=r"^h_0: want \(1, 3, 4\), got \[1, 2, 4\]$"):
        _mod(lib).RNN(I, H).check_hidden_size(lib.zeros(1, 2, H), (1, 3, 4),
                                              "h_0: want {}, got {}")
