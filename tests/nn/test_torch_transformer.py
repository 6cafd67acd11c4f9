"""The Transformer family against PyTorch: each class with a state_dict copied from torch
(outputs, gradients of the inputs and of every parameter, float64 and float32), norm_first and
batch_first both ways, relu/gelu/callable/Module activations, masks of each kind, state_dicts
both ways, initialisation, reprs, the causal mask and the errors."""
import math
import warnings

import numpy as np
import pytest

import autodiff as ad
import nn

from _torch import assert_close, convert_state, require_torch, to_ad, to_torch

torch = require_torch()
# torch's notes on its nested-tensor fast path, and the mask-type deprecation both sides give
pytestmark = [pytest.mark.filterwarnings("ignore:enable_nested_tensor is True"),
              pytest.mark.filterwarnings("ignore:Support for mismatched")]
R = np.random.default_rng(15)
D, H, FF = 8, 2, 16
GELU_TOL = 1e-9  # our erf (and so gelu) has a 1.5e-11 relative error, not float64 rounding


def lib_nn(lib):
    return torch.nn if lib is torch else nn


def lib_dtype(lib, dtype):
    return getattr(torch, np.dtype(dtype).name) if lib is torch else np.dtype(dtype)


def act_tanh(x):
    """A user activation written once for either library."""
    return x.tanh() * 0.5 + x * 0.5


def causal(lib, n, dtype=np.float64):
    return lib_nn(lib).Transformer.generate_square_subsequent_mask(n, dtype=lib_dtype(lib, dtype))


def padding(n, s, *masked):
    """(n, s) bool key padding mask, True (= ignored) at the given (batch, position) pairs."""
    m = np.zeros((n, s), bool)
    for b, p in masked:
        m[b, p] = True
    return m


def pair_modules(make, dtype=np.float64, seed=0):
    """(ours, torch's): make(lib, dtype) for each library, ours loaded from torch's state_dict."""
    torch.manual_seed(seed)
    theirs = make(torch, lib_dtype(torch, dtype))
    ours = make(ad, lib_dtype(ad, dtype))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    with torch.no_grad():  # norms start at 1 / 0 and biases at 0: make every parameter count
        for p in theirs.parameters():
            p.add_(0.2 * torch.randn_like(p))
    ours.load_state_dict(convert_state(theirs.state_dict(), ad))
    return ours, theirs


def compare(make, call, arrays, dtype=np.float64, tol=1e-9, train=True, seed=0):
    """call(lib, module, *tensors) on both sides (float arrays require grad, bool ones do not):
    the output, then after one random upstream gradient every input's and parameter's
    gradient."""
    ours, theirs = pair_modules(make, dtype, seed)
    ours.train(train)
    theirs.train(train)
    arrays = [np.asarray(a) if np.asarray(a).dtype == bool else np.asarray(a, dtype)
              for a in arrays]
    grads = [a.dtype != bool for a in arrays]
    xs = [to_ad(a, g) for a, g in zip(arrays, grads)]
    ts = [to_torch(a, g) for a, g in zip(arrays, grads)]
    out, tout = call(ad, ours, *xs), call(torch, theirs, *ts)
    assert_close(out, tout, tol=tol, err_msg="output")
    g = R.standard_normal(tout.shape).astype(dtype)
    tout.backward(torch.from_numpy(g))
    out.backward(ad.tensor(g))
    for i, (x, t) in enumerate(zip(xs, ts)):
        if t.requires_grad:
            assert_close(x.grad, t.grad, tol=tol, err_msg=f"gradient of input {i}")
    tparams = dict(theirs.named_parameters())
    named = dict(ours.named_parameters())
    assert list(named) == list(tparams)
    for name, p in named.items():
        assert_close(p.grad, tparams[name].grad, tol=tol, err_msg=f"gradient of {name}")
    return ours, theirs


def activation_for(lib, spec):
    """'relu'/'gelu' as given; 'callable': a function; 'module': a GELU module."""
    if spec == "callable":
        return act_tanh
    if spec == "module":
        return lib_nn(lib).GELU(approximate="tanh")
    return spec


def encoder_layer(norm_first=False, batch_first=False, activation="relu", dropout=0.0, **kw):
    def make(lib, dtype):
        return lib_nn(lib).TransformerEncoderLayer(
            D, H, FF, dropout, activation_for(lib, activation), batch_first=batch_first,
            norm_first=norm_first, dtype=dtype, **kw)
    return make


def decoder_layer(norm_first=False, batch_first=False, activation="relu", dropout=0.0, **kw):
    def make(lib, dtype):
        return lib_nn(lib).TransformerDecoderLayer(
            D, H, FF, dropout, activation_for(lib, activation), batch_first=batch_first,
            norm_first=norm_first, dtype=dtype, **kw)
    return make


def seq(n, s, batch_first):
    return R.standard_normal((n, s, D) if batch_first else (s, n, D))


# --- layers --------------------------------------------------------------------------------------

@pytest.mark.parametrize("norm_first,batch_first,activation", [
    (False, False, "relu"), (True, True, "gelu"), (False, True, "callable"),
    (True, False, "module")])
def test_encoder_layer_matches_torch(norm_first, batch_first, activation):
    n, s = 2, 4
    kpm = padding(n, s, (0, 3), (1, 1))

    def call(lib, m, x, kpm):
        return m(x, src_mask=causal(lib, s), src_key_padding_mask=kpm)
    compare(encoder_layer(norm_first, batch_first, activation), call,
            [seq(n, s, batch_first), kpm], tol=GELU_TOL if activation == "gelu" else 1e-9)


def test_encoder_layer_masks_bool_float_and_none():
    s = 3
    bool_mask = np.array([[False, True, False], [False, False, True], [True, False, False]])
    float_mask = R.standard_normal((s, s))
    make = encoder_layer()
    compare(make, lambda lib, m, x: m(x), [seq(2, s, False)])
    compare(make, lambda lib, m, x, am: m(x, src_mask=am), [seq(2, s, False), bool_mask])
    # a float mask is added to the scores, and its gradient flows back
    compare(make, lambda lib, m, x, am: m(x, src_mask=am), [seq(2, s, False), float_mask])
    # is_causal with the causal mask as the hint's mask
    compare(make, lambda lib, m, x: m(x, src_mask=causal(lib, s), is_causal=True),
            [seq(2, s, False)])


def test_encoder_layer_unbatched_and_bias_free():
    make = encoder_layer(bias=False, layer_norm_eps=1e-3)
    compare(make, lambda lib, m, x: m(x, src_mask=causal(lib, 4)),
            [R.standard_normal((4, D))])


@pytest.mark.parametrize("norm_first,batch_first", [(False, False), (True, True)])
def test_decoder_layer_matches_torch(norm_first, batch_first):
    n, t, s = 2, 4, 3
    tkpm, mkpm = padding(n, t, (1, 3)), padding(n, s, (0, 0))
    mem_mask = np.array([[False, True, False]] * t)

    def call(lib, m, x, mem, tkpm, mkpm, mm):
        return m(x, mem, tgt_mask=causal(lib, t), memory_mask=mm, tgt_key_padding_mask=tkpm,
                 memory_key_padding_mask=mkpm)
    compare(decoder_layer(norm_first, batch_first, "gelu"), call,
            [seq(n, t, batch_first), seq(n, s, batch_first), tkpm, mkpm, mem_mask], tol=GELU_TOL)


def test_decoder_layer_causal_hints_and_unbatched():
    t = 3

    def call(lib, m, x, mem):
        mask = causal(lib, t)
        return m(x, mem, tgt_mask=mask, memory_mask=mask, tgt_is_causal=True,
                 memory_is_causal=True)
    compare(decoder_layer(activation="callable"), call, [seq(2, t, False), seq(2, t, False)])
    compare(decoder_layer(norm_first=True), lambda lib, m, x, mem: m(x, mem),
            [R.standard_normal((t, D)), R.standard_normal((2, D))])
    compare(decoder_layer(batch_first=True), lambda lib, m, x, mem: m(x, mem),
            [seq(2, t, True), seq(2, 2, True)], dtype=np.float32, tol=2e-5)


# --- stacks --------------------------------------------------------------------------------------

def encoder(norm=True, norm_first=False, batch_first=False, layers=2):
    def make(lib, dtype):
        L = lib_nn(lib)
        layer = encoder_layer(norm_first, batch_first)(lib, dtype)
        return L.TransformerEncoder(layer, layers, L.LayerNorm(D, dtype=dtype) if norm else None,
                                    enable_nested_tensor=False)
    return make


def decoder(norm=True, norm_first=False, batch_first=False, layers=2):
    def make(lib, dtype):
        L = lib_nn(lib)
        layer = decoder_layer(norm_first, batch_first)(lib, dtype)
        return L.TransformerDecoder(layer, layers, L.LayerNorm(D, dtype=dtype) if norm else None)
    return make


@pytest.mark.parametrize("norm,norm_first,batch_first", [(True, False, True),
                                                         (False, True, False)])
def test_encoder_matches_torch(norm, norm_first, batch_first):
    n, s = 2, 5
    kpm = padding(n, s, (0, 4), (1, 3))
    ours, _ = compare(encoder(norm, norm_first, batch_first),
                      lambda lib, m, x, k: m(x, mask=causal(lib, s), src_key_padding_mask=k),
                      [seq(n, s, batch_first), kpm])
    # deep copies: independent parameters, one ModuleList
    assert isinstance(ours.layers, nn.ModuleList) and len(ours.layers) == 2
    assert ours.layers[0].linear1.weight is not ours.layers[1].linear1.weight
    assert ours.num_layers == 2 and (ours.norm is not None) == norm


def test_encoder_causal_detection_bool_mask_and_float32():
    s = 4
    bool_causal = np.triu(np.ones((s, s), bool), 1)
    compare(encoder(), lambda lib, m, x, am: m(x, mask=am), [seq(2, s, False), bool_causal])
    compare(encoder(batch_first=True),
            lambda lib, m, x: m(x, mask=causal(lib, s, np.float32), is_causal=True),
            [seq(2, s, True)], dtype=np.float32, tol=2e-5)


@pytest.mark.parametrize("norm,norm_first,batch_first", [(True, True, True),
                                                         (False, False, False)])
def test_decoder_matches_torch(norm, norm_first, batch_first):
    n, t, s = 2, 4, 3
    tkpm, mkpm = padding(n, t, (0, 3)), padding(n, s, (1, 2))

    def call(lib, m, x, mem, tk, mk):
        return m(x, mem, tgt_mask=causal(lib, t), tgt_key_padding_mask=tk,
                 memory_key_padding_mask=mk)
    compare(decoder(norm, norm_first, batch_first), call,
            [seq(n, t, batch_first), seq(n, s, batch_first), tkpm, mkpm])


# --- the full Transformer ------------------------------------------------------------------------

def transformer(batch_first=False, norm_first=False, activation="relu", **kw):
    def make(lib, dtype):
        return lib_nn(lib).Transformer(D, H, 2, 1, FF, 0.0, activation, batch_first=batch_first,
                                       norm_first=norm_first, dtype=dtype, **kw)
    return make


@pytest.mark.parametrize("batch_first,norm_first", [(False, False), (True, True)])
def test_transformer_matches_torch(batch_first, norm_first):
    n, s, t = 2, 5, 4
    skpm, tkpm = padding(n, s, (1, 4)), padding(n, t, (0, 3))

    def call(lib, m, src, tgt, sk, tk):
        return m(src, tgt, tgt_mask=causal(lib, t), src_key_padding_mask=sk,
                 tgt_key_padding_mask=tk, memory_key_padding_mask=sk)
    compare(transformer(batch_first, norm_first, "gelu"), call,
            [seq(n, s, batch_first), seq(n, t, batch_first), skpm, tkpm], tol=GELU_TOL)


def test_transformer_unbatched_custom_parts_and_state_dict_back():
    compare(transformer(), lambda lib, m, src, tgt: m(src, tgt, src_mask=causal(lib, 3)),
            [R.standard_normal((3, D)), R.standard_normal((2, D))])

    def custom(lib, dtype):
        enc = encoder(norm=False, layers=1)(lib, dtype)
        return lib_nn(lib).Transformer(D, H, custom_encoder=enc, num_decoder_layers=1,
                                       dim_feedforward=FF, dropout=0.0, dtype=dtype)
    ours, theirs = compare(custom, lambda lib, m, src, tgt: m(src, tgt),
                           [seq(1, 3, False), seq(1, 2, False)])
    assert ours.encoder.norm is None and len(ours.decoder.layers) == 1
    # our trained state back into torch: same outputs
    with ad.no_grad():
        for p in ours.parameters():
            p.add_(0.01)
    theirs.load_state_dict(convert_state(ours.state_dict(), torch))
    src, tgt = seq(1, 3, False), seq(1, 2, False)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(src), torch.from_numpy(tgt))
    assert_close(ours(ad.tensor(src), ad.tensor(tgt)), expected, tol=1e-9)


def test_transformer_eval_with_dropout_matches_torch_fast_path():
    """Eval mode with dropout 0.1: no dropout; under no_grad torch takes its fused path."""
    ours, theirs = pair_modules(lambda lib, dtype: lib_nn(lib).Transformer(
        D, H, 1, 1, FF, batch_first=True, dtype=dtype))
    ours.eval()
    theirs.eval()
    src, tgt = seq(2, 4, True), seq(2, 3, True)
    kpm = padding(2, 4, (1, 3))
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's note that nested tensors are a prototype
        expected = theirs(torch.from_numpy(src), torch.from_numpy(tgt),
                          src_key_padding_mask=torch.from_numpy(kpm),
                          memory_key_padding_mask=torch.from_numpy(kpm))
    with ad.no_grad():
        got = ours(ad.tensor(src), ad.tensor(tgt), src_key_padding_mask=ad.tensor(kpm),
                   memory_key_padding_mask=ad.tensor(kpm))
    # torch's fast path returns 0 at padded source positions, which only reach the decoder
    # through memory_key_padding_mask (masked out), so the outputs agree
    assert_close(got, expected, tol=1e-9)
    ours.train()
    a = ours(ad.tensor(src), ad.tensor(tgt))
    b = ours(ad.tensor(src), ad.tensor(tgt))
    assert not np.allclose(a.data, b.data), "dropout 0.1 in training changes the output"


def test_transformer_initialisation():
    ad.manual_seed(3)
    m = nn.Transformer(D, H, 1, 1, FF)
    for name, p in m.named_parameters():
        assert p.dtype == np.float32
        if p.ndim > 1:  # xavier uniform over (fan_out, fan_in)
            bound = math.sqrt(6.0 / (p.shape[0] + p.shape[1]))
            assert np.abs(p.data).max() <= bound, name
            assert np.abs(p.data).max() > 0.7 * bound, name
        elif name.endswith("norm1.weight") or name.endswith("norm.weight"):
            assert np.all(p.data == 1.0)
        elif name.endswith("in_proj_bias"):
            assert np.all(p.data == 0.0)
    a = nn.Transformer(D, H, 1, 1, FF, dtype=ad.float64)
    assert all(p.dtype == np.float64 for p in a.parameters())
    assert a.d_model == D and a.nhead == H and a.batch_first is False


# --- printouts, masks, errors --------------------------------------------------------------------

def test_reprs_match_torch():
    makers = [encoder_layer(activation="module"),
              decoder_layer(norm_first=True, bias=False), encoder(), decoder(norm=False),
              transformer(batch_first=True)]
    for make in makers:
        ours, theirs = pair_modules(make)
        assert repr(ours) == repr(theirs)


def test_generate_square_subsequent_mask_matches_torch():
    for n in (1, 4):
        ours = nn.Transformer.generate_square_subsequent_mask(n)
        theirs = torch.nn.Transformer.generate_square_subsequent_mask(n)
        assert_close(ours, theirs, tol=0)
        assert not ours.requires_grad
    m = nn.Transformer.generate_square_subsequent_mask(3, dtype=ad.float64)
    assert m.dtype == np.float64
    np.testing.assert_array_equal(m.numpy(), [[0, -np.inf, -np.inf], [0, 0, -np.inf],
                                              [0, 0, 0]])
    nn.Transformer.generate_square_subsequent_mask(2, device="cpu")
    with pytest.raises(RuntimeError, match="CPU"):
        nn.Transformer.generate_square_subsequent_mask(2, device="cuda")


def _raises_like_torch(exc, match, fn):
    """fn(lib) raises exc (a message matching `match`) for torch and for us."""
    with pytest.raises(exc):
        fn(torch)
    with pytest.raises(exc, match=match):
        fn(ad)


def test_errors_match_torch():
    def transformer_call(bf, src_shape, tgt_shape):
        def fn(lib):
            m = lib_nn(lib).Transformer(D, H, 1, 1, FF, batch_first=bf)
            return m(lib.zeros(*src_shape), lib.zeros(*tgt_shape))
        return fn
    _raises_like_torch(RuntimeError, r"batch number of src and tgt.*\(5, 2, 8\).*\(4, 3, 8\)",
                       transformer_call(False, (5, 2, D), (4, 3, D)))
    _raises_like_torch(RuntimeError, "batch number", transformer_call(True, (2, 5, D), (3, 4, D)))
    _raises_like_torch(RuntimeError, r"feature number.*d_model=8",
                       transformer_call(False, (5, 2, D), (4, 2, 6)))
    _raises_like_torch(RuntimeError, "activation should be relu/gelu, not tanh",
                       lambda lib: lib_nn(lib).TransformerEncoderLayer(D, H, FF,
                                                                       activation="tanh"))
    _raises_like_torch(RuntimeError, "activation should be relu/gelu",
                       lambda lib: lib_nn(lib).TransformerDecoderLayer(D, H, FF,
                                                                       activation="swish"))

    def int_mask(lib):
        layer = lib_nn(lib).TransformerEncoderLayer(D, H, FF)
        return layer(lib.zeros(3, 2, D), src_mask=lib.zeros(3, 3, dtype=lib.int64))
    _raises_like_torch(AssertionError, "only bool and floating types of src_mask", int_mask)
    with pytest.raises(TypeError, match="activation must be"):
        nn.TransformerEncoderLayer(D, H, FF, activation=3)
    with pytest.raises(TypeError, match="src and tgt must be Tensors"):
        nn.Transformer(D, H, 1, 1, FF)(np.zeros((3, 2, D)), ad.zeros(3, 2, D))


def test_activation_flag_and_submodule_like_torch():
    for spec in ("relu", "gelu", "callable", "module"):
        ours, theirs = pair_modules(encoder_layer(activation=spec))
        assert ours.activation_relu_or_gelu == theirs.activation_relu_or_gelu, spec
        assert ("activation" in dict(ours.named_children())) == (spec == "module")


def test_mismatched_mask_types_warn_like_torch():
    for lib in (torch, ad):
        enc = lib_nn(lib).TransformerEncoder(lib_nn(lib).TransformerEncoderLayer(D, H, FF),
                                             1, enable_nested_tensor=False)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            enc(lib.zeros(3, 2, D), mask=causal(lib, 3, np.float32),
                src_key_padding_mask=lib.zeros(2, 3, dtype=lib.bool))
        assert any("mismatched src_key_padding_mask and mask" in str(x.message) for x in w), lib
