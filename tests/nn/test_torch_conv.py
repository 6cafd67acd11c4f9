"""The convolution family against PyTorch: conv1d/2d/3d and conv_transpose1d/2d/3d for every
option (values, first-order and, where marked, second-order gradients), unfold / fold, pixel
and channel shuffles, and the modules (state_dict copied from torch, padding modes,
output_size, printouts, errors)."""
import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from _torch import (assert_close, assert_grads_close, backward_both, pair, require_torch,
                    run_outputs, same_error, to_torch)

torch = require_torch()
TF = torch.nn.functional


def _rng(*key):
    return np.random.default_rng(abs(hash(repr(key))) % 2**32)


def _f(lib):
    return TF if lib is torch else F


def _ids(options):
    return ",".join(f"{k}={v}" for k, v in options.items()) or "default"


# --- convolutions ---------------------------------------------------------------------------------

CONV_CASES = {  # nd -> option sets (bias and groups included); sizes chosen to stay small
    1: [dict(), dict(stride=2, padding=1), dict(padding="same", dilation=2),
        dict(padding="valid", groups=2), dict(stride=(3,), padding=(2,), dilation=(2,)),
        dict(groups=4, bias=False), dict(padding="same", groups=2, dilation=3)],
    2: [dict(stride=(2, 1), padding=(0, 2), dilation=(1, 2), groups=2),
        dict(padding="same", dilation=(2, 1), groups=4), dict(padding="valid", bias=False)],
    3: [dict(), dict(stride=2, padding=1), dict(stride=(1, 2, 1), padding=(1, 0, 2),
                                               dilation=(2, 1, 1)),
        dict(padding="same", groups=2), dict(padding="same", dilation=2, bias=False),
        dict(padding="valid", groups=4, stride=(2, 1, 2))],
}
SPATIAL = {1: (9,), 2: (7, 6), 3: (5, 4, 6)}
KERNEL = {1: (3,), 2: (3, 2), 3: (2, 3, 2)}


@pytest.mark.parametrize("nd, options", [(nd, o) for nd, cases in CONV_CASES.items()
                                         for o in cases],
                         ids=lambda v: str(v) if isinstance(v, int) else _ids(v))
def test_convnd_matches_torch(nd, options):
    options = dict(options)
    bias, groups = options.pop("bias", True), options.get("groups", 1)
    rng = _rng("conv", nd, options)
    x = rng.standard_normal((2, 4) + SPATIAL[nd])
    w = rng.standard_normal((8, 4 // groups) + KERNEL[nd])
    arrays = [x, w] + ([rng.standard_normal(8)] if bias else [])
    run_outputs(torch, lambda lib, *t: getattr(lib, f"conv{nd}d")(*t, **options), *arrays)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_convnd_unbatched_matches_torch(nd):
    rng = _rng("unbatched", nd)
    x, w = rng.standard_normal((2,) + SPATIAL[nd]), rng.standard_normal((4, 2) + KERNEL[nd])
    (out,), _ = run_outputs(torch, lambda lib, x, w: getattr(_f(lib), f"conv{nd}d")(
        x, w, padding=1), x, w)
    assert out.ndim == nd + 1


@pytest.mark.parametrize("options", [dict(stride=(1, 2, 1), padding=1, dilation=(1, 1, 2)),
                                     dict(groups=2, padding="same")], ids=_ids)
def test_conv3d_second_order_matches_torch(options):
    rng = _rng("conv3d2", options)
    x, w = rng.standard_normal((2, 2, 3, 4, 3)), rng.standard_normal((2, 2 // options.get(
        "groups", 1), 2, 2, 2))
    run_outputs(torch, lambda lib, x, w, b: lib.conv3d(x, w, b, **options).tanh(), x, w,
                rng.standard_normal(2), second_order=True)


def test_conv1d_float32_matches_torch():
    rng = _rng("f32")
    x, w = rng.standard_normal((3, 2, 40)), rng.standard_normal((5, 2, 4))
    run_outputs(torch, lambda lib, x, w: lib.conv1d(x, w, stride=2, padding="valid"),
                x.astype(np.float32), w.astype(np.float32))


# --- transposed convolutions ---------------------------------------------------------------------

TRANSPOSE_CASES = {
    1: [dict(), dict(stride=2, padding=1, output_padding=1), dict(stride=3, groups=2),
        dict(dilation=3, output_padding=2), dict(stride=2, dilation=2, padding=2, groups=4,
                                                 output_padding=1, bias=False)],
    2: [dict(), dict(stride=2, padding=1, output_padding=1),
        dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2)),
        dict(dilation=(2, 3), output_padding=(1, 2), padding=(0, 1)),  # output_padding >= stride
        dict(groups=2, dilation=2, stride=2, padding=1),
        dict(groups=4, stride=(1, 2), bias=False)],
    3: [dict(), dict(stride=2, padding=1, output_padding=1, groups=2),
        dict(stride=(1, 2, 1), dilation=(2, 1, 2), padding=(1, 0, 1), output_padding=(1, 1, 0))],
}
T_SPATIAL = {1: (6,), 2: (4, 5), 3: (3, 2, 3)}


@pytest.mark.parametrize("nd, options", [(nd, o) for nd, cases in TRANSPOSE_CASES.items()
                                         for o in cases],
                         ids=lambda v: str(v) if isinstance(v, int) else _ids(v))
def test_conv_transpose_matches_torch(nd, options):
    options = dict(options)
    bias, groups = options.pop("bias", True), options.get("groups", 1)
    rng = _rng("convT", nd, options)
    x = rng.standard_normal((2, 4) + T_SPATIAL[nd])
    w = rng.standard_normal((4, 6 // groups if 6 % groups == 0 else 2) + KERNEL[nd])
    arrays = [x, w] + ([rng.standard_normal(w.shape[1] * groups)] if bias else [])
    run_outputs(torch, lambda lib, *t: getattr(_f(lib), f"conv_transpose{nd}d")(*t, **options),
                *arrays)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_conv_transpose_unbatched_and_top_level(nd):
    rng = _rng("convT_unbatched", nd)
    x, w = rng.standard_normal((3,) + T_SPATIAL[nd]), rng.standard_normal((3, 2) + KERNEL[nd])
    (out,), _ = run_outputs(torch, lambda lib, x, w: getattr(lib, f"conv_transpose{nd}d")(
        x, w, stride=2), x, w)
    assert out.ndim == nd + 1


@pytest.mark.parametrize("options", [dict(stride=2, padding=1, output_padding=1, groups=2),
                                     dict(dilation=(2, 1), output_padding=(1, 0))], ids=_ids)
def test_conv_transpose2d_second_order_matches_torch(options):
    rng = _rng("convT2", options)
    x, w = rng.standard_normal((2, 4, 3, 4)), rng.standard_normal((4, 2, 3, 2))
    run_outputs(torch, lambda lib, x, w, b: _f(lib).conv_transpose2d(x, w, b, **options).tanh(),
                x, w, rng.standard_normal(2 * options.get("groups", 1)), second_order=True)


def test_conv_transpose3d_second_order_matches_torch():
    rng = _rng("convT3")
    x, w = rng.standard_normal((1, 2, 2, 3, 2)), rng.standard_normal((2, 2, 2, 2, 2))
    run_outputs(torch, lambda lib, x, w: lib.conv_transpose3d(x, w, stride=(2, 1, 2), padding=1,
                                                              output_padding=(1, 0, 0)).tanh(),
                x, w, second_order=True)


@pytest.mark.parametrize("nd", [1, 3])
def test_long_output_rows_take_the_other_scatter_layout(nd):
    """Output rows of 16 or more are summed batch-first (see ConvTranspose.forward): the
    transposed convolution and the convolution's input gradient, both layouts."""
    rng = _rng("long", nd)
    x = rng.standard_normal((2, 2) + (2,) * (nd - 1) + (17,))
    w = rng.standard_normal((2, 3) + (2,) * (nd - 1) + (3,))
    run_outputs(torch, lambda lib, x, w: getattr(lib, f"conv_transpose{nd}d")(
        x, w, stride=1, padding=1), x, w)
    run_outputs(torch, lambda lib, x, w: getattr(lib, f"conv{nd}d")(x, w, padding=1),
                rng.standard_normal((2, 3) + (3,) * (nd - 1) + (18,)), w)


def test_conv_transpose_is_the_input_gradient_of_conv():
    rng = _rng("adjoint")
    x = ad.tensor(rng.standard_normal((2, 4, 7, 8)), requires_grad=True)
    w = ad.tensor(rng.standard_normal((6, 2, 3, 3)))
    out = ad.conv2d(x, w, stride=2, padding=1, dilation=1, groups=2)
    g = ad.tensor(rng.standard_normal(out.shape))
    gx, = ad.grad(out, [x], g)
    again = ad.conv_transpose2d(g, w, stride=2, padding=1, output_padding=(0, 1), groups=2)
    np.testing.assert_allclose(again.data, gx.data, atol=1e-12)


# --- unfold / fold and the shuffles ---------------------------------------------------------------

BLOCK_CASES = [dict(kernel_size=2), dict(kernel_size=(2, 3), stride=(2, 1), padding=1),
               dict(kernel_size=(3, 2), dilation=(2, 1), padding=(1, 0), stride=2)]


@pytest.mark.parametrize("options", BLOCK_CASES, ids=_ids)
@pytest.mark.parametrize("batched", [True, False])
def test_unfold_and_fold_match_torch(options, batched):
    rng = _rng("blocks", options, batched)
    x = rng.standard_normal((2, 3, 6, 7) if batched else (3, 6, 7))
    (cols,), _ = run_outputs(torch, lambda lib, x: _f(lib).unfold(x, **options), x,
                          second_order=True)
    run_outputs(torch, lambda lib, c: _f(lib).fold(c, (6, 7), **options),
                rng.standard_normal(cols.shape), second_order=True)


def test_fold_of_unfold_counts_the_blocks_covering_each_pixel():
    x = ad.ones(1, 1, 4, 4)
    counts = F.fold(F.unfold(x, 2), (4, 4), 2).data[0, 0]
    np.testing.assert_array_equal(counts, [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2],
                                           [1, 2, 2, 1]])


@pytest.mark.parametrize("shape, r", [((2, 8, 3, 2), 2), ((18, 1, 2), 3), ((2, 3, 4, 2, 2), 2)])
def test_pixel_shuffle_and_unshuffle_match_torch(shape, r):
    rng = _rng("shuffle", shape)
    (out,), _ = run_outputs(torch, lambda lib, x: _f(lib).pixel_shuffle(x, r),
                         rng.standard_normal(shape))
    (back,), _ = run_outputs(torch, lambda lib, x: _f(lib).pixel_unshuffle(x, r),
                          rng.standard_normal(out.shape))
    assert back.shape == shape
    x = ad.tensor(rng.standard_normal(shape))
    np.testing.assert_array_equal(ad.pixel_unshuffle(ad.pixel_shuffle(x, r), r).data, x.data)


@pytest.mark.parametrize("shape, groups", [((2, 6, 3), 3), ((1, 8, 2, 2), 2), ((2, 4, 1, 2, 1), 4)])
def test_channel_shuffle_matches_torch(shape, groups):
    run_outputs(torch, lambda lib, x: _f(lib).channel_shuffle(x, groups),
                _rng("cs", shape).standard_normal(shape))
    m = nn.ChannelShuffle(groups)
    x = ad.arange(float(np.prod(shape))).reshape(shape)
    assert_close(m(x), torch.nn.ChannelShuffle(groups)(to_torch(x)), check_dtype=False)


# --- modules -------------------------------------------------------------------------------------

def _load_from(ours, theirs):
    """Copies torch's state_dict into ours (same names and shapes) and returns ours."""
    ours.load_state_dict({k: ad.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    return ours


def _module_pair(name, *args, **kwargs):
    theirs = getattr(torch.nn, name)(*args, **kwargs).double()
    ours = getattr(nn, name)(*args, **kwargs).double()
    assert repr(ours) == repr(theirs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    return _load_from(ours, theirs), theirs


def _check_module(ours, theirs, x, **call):
    """Output, input gradient and parameter gradients of both modules on the same input."""
    xa, xt = pair(x)
    out, tout = ours(xa, **call), theirs(xt, **call)
    assert_close(out, tout)
    backward_both(out, tout, seed=1)
    assert_grads_close([xa] + list(ours.parameters()), [xt] + list(theirs.parameters()))
    return out


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("nd, options", [
    (1, dict(padding=2, stride=2)), (2, dict(padding="same", dilation=(1, 2))),
    (2, dict(padding=(1, 2), groups=2, bias=False)), (3, dict(padding=1, stride=(1, 2, 1))),
    (1, dict(padding="valid"))], ids=lambda v: str(v) if isinstance(v, int) else _ids(v))
def test_conv_modules_with_padding_modes_match_torch(nd, options, mode):
    ours, theirs = _module_pair(f"Conv{nd}d", 4, 6, 3, padding_mode=mode, **options)
    x = _rng("mod", nd, mode).standard_normal((2, 4) + tuple(s + 1 for s in SPATIAL[nd]))
    _check_module(ours, theirs, x)


@pytest.mark.parametrize("nd, options, size", [
    (1, dict(stride=2), None), (1, dict(stride=3, padding=1), (2, 6, 17)),
    (2, dict(stride=2, padding=1, output_padding=1, groups=2), None),
    (2, dict(stride=(2, 3), padding=1), (8, 14)), (2, dict(dilation=2, bias=False), None),
    (3, dict(stride=2, padding=(0, 1, 1)), (7, 4, 6))],
    ids=lambda v: str(v) if isinstance(v, (int, tuple)) or v is None else _ids(v))
def test_conv_transpose_modules_match_torch(nd, options, size):
    ours, theirs = _module_pair(f"ConvTranspose{nd}d", 4, 6, 3, **options)
    x = _rng("modT", nd).standard_normal((2, 4) + T_SPATIAL[nd])
    call = {} if size is None else {"output_size": size}
    out = _check_module(ours, theirs, x, **call)
    if size is not None:
        assert out.shape[-nd:] == tuple(size)[-nd:]


def test_conv_transpose_module_output_size_errors_match_torch():
    x = ad.zeros(1, 2, 5, 5)
    ours, theirs = nn.ConvTranspose2d(2, 2, 3, stride=2), torch.nn.ConvTranspose2d(2, 2, 3, 2)
    for size in [(1, 2, 3), (14, 11), (8, 11)]:
        with pytest.raises(ValueError) as e:
            theirs(to_torch(x), output_size=size)
        with pytest.raises(ValueError, match=r"ConvTranspose2d.*output_size|valid sizes") as f:
            ours(x, output_size=size)
        assert ("range" in str(e.value)) == ("range" in str(f.value))


@pytest.mark.parametrize("name, args, kwargs", [
    ("Conv1d", (2, 4, 3), dict(padding="same", padding_mode="reflect", bias=False, groups=2)),
    ("Conv2d", (2, 2, 3), dict(padding="valid")),
    ("Conv2d", (4, 8, (3, 1)), dict(stride=(2, 1), dilation=2, padding=(1, 0))),
    ("Conv3d", (2, 4, 3), dict(padding_mode="circular", padding=1)),
    ("ConvTranspose1d", (2, 4, 3), dict(output_padding=1, stride=2)),
    ("ConvTranspose3d", (2, 4, 3), dict(stride=2, output_padding=1, dilation=2, groups=2)),
    ("Unfold", ((2, 3),), dict(padding=1)), ("Fold", (4, 2), dict(stride=(1, 2))),
    ("PixelShuffle", (2,), {}), ("PixelUnshuffle", (3,), {}), ("ChannelShuffle", (2,), {}),
])
def test_printouts_match_torch(name, args, kwargs):
    assert repr(getattr(nn, name)(*args, **kwargs)) == \
        repr(getattr(torch.nn, name)(*args, **kwargs))
    model = nn.Sequential(getattr(nn, name)(*args, **kwargs), nn.ReLU())
    tmodel = torch.nn.Sequential(getattr(torch.nn, name)(*args, **kwargs), torch.nn.ReLU())
    assert repr(model) == repr(tmodel)


@pytest.mark.parametrize("name", ["Conv1d", "Conv3d", "ConvTranspose2d", "ConvTranspose3d"])
def test_default_init_bounds_are_pytorchs(name):
    m = getattr(nn, name)(4, 6, 3, groups=2)
    fan_in = m.weight.shape[1] * 3 ** (m.weight.ndim - 2)
    bound = 1 / np.sqrt(fan_in)  # kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in), ...)
    assert m.weight.shape == tuple(getattr(torch.nn, name)(4, 6, 3, groups=2).weight.shape)
    assert np.abs(m.weight.data).max() <= bound and np.abs(m.bias.data).max() <= bound
    assert m.weight.data.std() == pytest.approx(bound / np.sqrt(3), rel=0.25)
    assert m.weight.dtype == np.float32


def test_block_and_shuffle_modules_match_torch():
    rng = _rng("blockmods")
    x = rng.standard_normal((2, 8, 4, 6))
    for ours, theirs in [(nn.Unfold((2, 3), padding=1, stride=(1, 2)),
                          torch.nn.Unfold((2, 3), padding=1, stride=(1, 2))),
                         (nn.PixelShuffle(2), torch.nn.PixelShuffle(2)),
                         (nn.PixelUnshuffle(2), torch.nn.PixelUnshuffle(2))]:
        run_outputs(torch, lambda lib, x: (ours if lib is ad else theirs)(x), x)
    cols = rng.standard_normal((2, 12, 6))
    run_outputs(torch, lambda lib, c: (nn.Fold((4, 5), 2, stride=(1, 2)) if lib is ad else
                                       torch.nn.Fold((4, 5), 2, stride=(1, 2)))(c), cols)


# --- errors: PyTorch's exception classes ---------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda lib: lib.conv1d(lib.zeros(2, 2, 2, 5), lib.zeros(3, 2, 3)),
    lambda lib: lib.conv3d(lib.zeros(1, 2, 4, 4, 4), lib.zeros(3, 1, 2, 2, 2)),
    lambda lib: lib.conv2d(lib.zeros(1, 2, 5, 5), lib.zeros(2, 2, 3, 3), stride=2,
                           padding="same"),
    lambda lib: lib.conv2d(lib.zeros(1, 2, 5, 5), lib.zeros(2, 2, 3, 3), padding="full"),
    lambda lib: lib.conv2d(lib.zeros(1, 2, 5, 5), lib.zeros(2, 2, 3, 3), stride=(1, 1, 1)),
    lambda lib: lib.conv2d(lib.zeros(1, 2, 2, 2), lib.zeros(2, 2, 3, 3)),
    lambda lib: lib.conv_transpose2d(lib.zeros(1, 2, 5, 5), lib.zeros(2, 3, 3, 3), stride=2,
                                     output_padding=2),
    lambda lib: lib.conv_transpose2d(lib.zeros(1, 2, 5, 5), lib.zeros(2, 3, 3, 3), padding=5),
    lambda lib: lib.conv_transpose2d(lib.zeros(1, 2, 5, 5), lib.zeros(3, 3, 3, 3)),
    lambda lib: lib.conv_transpose2d(lib.zeros(1, 2, 5, 5), lib.zeros(2, 3, 3, 3),
                                     lib.zeros(4)),
    lambda lib: lib.conv_transpose2d(lib.zeros(1, 2, 5, 5), lib.zeros(2, 3, 3, 3),
                                     padding="same"),
    lambda lib: _f(lib).unfold(lib.zeros(1, 2, 5, 5, 5), 2),
    lambda lib: _f(lib).unfold(lib.zeros(1, 2, 1, 1), 2),
    lambda lib: _f(lib).fold(lib.zeros(1, 8, 10), (5, 5), 2),
    lambda lib: _f(lib).fold(lib.zeros(1, 7, 16), (5, 5), 2),
    lambda lib: lib.pixel_shuffle(lib.zeros(3, 2, 2), 2),
    lambda lib: lib.pixel_shuffle(lib.zeros(2, 2), 2),
    lambda lib: lib.pixel_shuffle(lib.zeros(4, 2, 2), 0),
    lambda lib: lib.pixel_unshuffle(lib.zeros(4, 3, 2), 2),
    lambda lib: lib.channel_shuffle(lib.zeros(2, 6), 3),
    lambda lib: lib.channel_shuffle(lib.zeros(2, 6, 1), 4),
    lambda lib: lib.channel_shuffle(lib.zeros(2, 6, 1), 0),
    lambda lib: (nn if lib is ad else torch.nn).Conv2d(2, 2, 3, stride=2, padding="same"),
    lambda lib: (nn if lib is ad else torch.nn).Conv2d(2, 2, 3, padding="full"),
    lambda lib: (nn if lib is ad else torch.nn).Conv2d(2, 2, 3, padding_mode="foo"),
    lambda lib: (nn if lib is ad else torch.nn).Conv3d(3, 2, 3, groups=2),
    lambda lib: (nn if lib is ad else torch.nn).Conv1d(2, 3, 3, groups=2),
    lambda lib: (nn if lib is ad else torch.nn).Conv2d(2, 2, 3, groups=0),
    lambda lib: (nn if lib is ad else torch.nn).ConvTranspose2d(2, 2, 3, padding_mode="reflect"),
])
def test_errors_have_torchs_class(call):
    same_error(torch, call)


@pytest.mark.parametrize("call, pattern", [
    (lambda: ad.conv3d(ad.zeros(1, 2, 4, 4, 4), ad.zeros(3, 1, 2, 2, 2)),
     r"conv3d: input has 2 channels .* groups=1 expects 1"),
    (lambda: ad.conv1d(ad.zeros(2, 2, 2, 5), ad.zeros(3, 2, 3)), r"conv1d: .*\(N, C, L\)"),
    (lambda: ad.conv3d(ad.zeros(1, 1, 2, 4, 4), ad.zeros(1, 1, 3, 1, 1)),
     r"conv3d: input depth 2 with kernel 3"),
    (lambda: ad.conv_transpose2d(ad.zeros(1, 2, 5, 5), ad.zeros(2, 3, 3, 3), stride=2,
                                 output_padding=2),
     r"output_padding \(2, 2\) must be smaller than the stride \(2, 2\) or the dilation"),
    (lambda: ad.conv_transpose1d(ad.zeros(1, 2, 5), ad.zeros(2, 3, 3), padding=5),
     r"gives output size \(-3,\).*use less padding"),
    (lambda: ad.conv_transpose2d(ad.zeros(1, 2, 5, 5), ad.zeros(3, 3, 3, 3)),
     r"input has 2 channels .* expects weight.shape\[0\] = 3"),
    (lambda: F.fold(ad.zeros(1, 8, 10), (5, 5), 2), r"make 4 \* 4 = 16 sliding blocks.* 10"),
    (lambda: F.fold(ad.zeros(1, 7, 16), (5, 5), 2), r"7.*divisible by the product"),
    (lambda: F.unfold(ad.zeros(1, 2, 1, 1), 2), r"unfold: input height 1 with kernel 2"),
    (lambda: ad.pixel_shuffle(ad.zeros(3, 2, 2), 2), r"channel dim .* \(3\) .* = 4"),
    (lambda: ad.pixel_unshuffle(ad.zeros(4, 3, 2), 2), r"\(3, 2\) must be divisible by "
                                                       r"downscale_factor = 2"),
    (lambda: ad.channel_shuffle(ad.zeros(2, 6, 1), 4), r"6 channels .* groups=4"),
    (lambda: nn.Conv2d(2, 2, 3, stride=2, padding="same"), r"Conv2d: padding='same'.*strided"),
    (lambda: nn.ConvTranspose1d(2, 2, 3, padding="same"), r"ConvTranspose1d: padding must"),
    (lambda: nn.Conv1d(2, 2, 3, padding_mode="mirror"), r"padding_mode must be one of"),
])
def test_error_messages_name_the_op_the_sizes_and_the_fix(call, pattern):
    with pytest.raises((RuntimeError, ValueError, TypeError), match=pattern):
        call()


# --- conv_tbc and nn.init.dirac_ ------------------------------------------------------------------

@pytest.mark.parametrize("pad", [0, 1, 2])
def test_conv_tbc_matches_torch_to_second_order(pad):
    rng = np.random.default_rng(pad)
    x, w, b = rng.standard_normal((6, 2, 3)), rng.standard_normal((3, 3, 4)), \
        rng.standard_normal(4)
    run_outputs(torch, lambda lib, x, w, b: (lib.nn.functional.conv_tbc(x, w, b, pad) if lib is
                                              torch else F.conv_tbc(x, w, b, pad)),
                x, w, b, second_order=True)


def test_conv_tbc_shape_errors_are_runtime_errors():
    with pytest.raises(RuntimeError, match=r"conv_tbc.*\(3, 3, 4\)"):
        F.conv_tbc(ad.zeros(6, 2, 2), ad.zeros(3, 3, 4), ad.zeros(4))


@pytest.mark.parametrize("shape,groups", [((4, 2, 3), 1), ((6, 4, 3, 3), 2),
                                          ((2, 5, 3, 3, 3), 1), ((6, 2, 2, 2), 3)])
def test_dirac_init_matches_torch(shape, groups):
    w, tw = ad.empty(*shape), torch.empty(*shape)
    nn.init.dirac_(w, groups)
    torch.nn.init.dirac_(tw, groups)
    np.testing.assert_array_equal(w.data, tw.numpy())
    with pytest.raises(ValueError, match="3, 4, or 5"):
        nn.init.dirac_(ad.empty(2, 2))
