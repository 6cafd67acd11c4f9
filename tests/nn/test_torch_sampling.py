"""PyTorch cross-checks of resampling and padding: F.pad, F.interpolate, F.grid_sample,
F.affine_grid and the Upsample*/…Pad* modules (values, input and grid gradients, second order,
error classes, reprs)."""
import warnings

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from _torch import require_torch, run_outputs, same_error, assert_close

torch = require_torch()
TF = torch.nn.functional


def _F(lib):
    return TF if lib is torch else F


def _nn(lib):
    return torch.nn if lib is torch else nn


RNG = np.random.default_rng(0)


def _x(*shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


# --- F.pad ---------------------------------------------------------------------------------------

PAD_CASES = [  # (input shape, pad, mode)
    ((2, 3), (1, 2), "constant"), ((2, 3, 4), (-1, 2, 0, -1), "constant"),
    ((2, 3, 2, 2, 2), (1, 0, 0, 1, 2, 1, 1, 1), "constant"),
    ((2, 5), (2, 3), "reflect"), ((2, 3, 5), (-2, 1), "reflect"),
    ((2, 4, 3), (1, -1, 3, 2), "reflect"), ((1, 2, 4, 3), (2, 1, -1, 3), "reflect"),
    ((2, 3, 3, 4), (1, 2, 2, 1, -1, 2), "reflect"),
    ((1, 2, 3, 3, 4), (3, -1, 2, 0, 1, 1), "reflect"),
    ((2, 3), (3, 4), "replicate"), ((1, 2, 3), (-2, 3), "replicate"),
    ((2, 3, 4), (1, 2, -2, 4), "replicate"), ((1, 2, 2, 3, 3), (1, 1, 2, 0, 0, 3), "replicate"),
    ((2, 4), (2, 4), "circular"), ((1, 2, 5), (-2, 2), "circular"),
    ((2, 3, 4), (1, -1, 3, 0), "circular"), ((1, 1, 3, 3, 4), (2, 1, -1, 1, 3, 3), "circular"),
]


def test_pad_matches_torch_every_mode_and_dim():
    for shape, pad, mode in PAD_CASES:
        run_outputs(torch, lambda lib, x: _F(lib).pad(x, pad, mode=mode), _x(*shape),
                    second_order=True)
    run_outputs(torch, lambda lib, x: _F(lib).pad(x, (1, 1, 2, 0), value=-1.5), _x(2, 3, 3))
    run_outputs(torch, lambda lib, x: _F(lib).pad(x, [1, 2], mode="reflect"),
                _x(2, 3, 4, dtype=np.float32))


def test_pad_empty_results_as_torch():
    x = _x(1, 1, 1, 4)
    ours = F.pad(ad.tensor(x), (-2, -2, 0, 0), mode="reflect")
    assert ours.shape == tuple(TF.pad(torch.tensor(x), (-2, -2, 0, 0), mode="reflect").shape)


@pytest.mark.parametrize("case", [
    lambda lib, F: F.pad(lib.zeros(3), (1, 1), mode="reflect"),             # 1-D input
    lambda lib, F: F.pad(lib.zeros(1, 2, 3), (1, 1) * 3, mode="replicate"),  # 3 dims of 3-D
    lambda lib, F: F.pad(lib.zeros(2, 3), (1, 1), mode="wrap"),
    lambda lib, F: F.pad(lib.zeros(2, 3), (1, 1), mode="reflect", value=1.0),
    lambda lib, F: F.pad(lib.zeros(2, 3), (1,)),
    lambda lib, F: F.pad(lib.zeros(2, 3), (1,) * 6),
    lambda lib, F: F.pad(lib.zeros(2, 3), (3, 1), mode="reflect"),
    lambda lib, F: F.pad(lib.zeros(2, 3), (4, 1), mode="circular"),
    lambda lib, F: F.pad(lib.zeros(2, 3), (-2, -1), mode="replicate"),
    lambda lib, F: F.pad(lib.zeros(2, 3), (1.5, 1)),
])
def test_pad_errors_as_torch(case):
    same_error(torch, lambda lib: case(lib, _F(lib)))


def test_pad_error_messages_name_the_problem():
    with pytest.raises(NotImplementedError, match="padding size 2 is not supported for 1D"):
        F.pad(ad.zeros(3), (1, 1), mode="reflect")
    with pytest.raises(RuntimeError, match=r"reflect padding must be smaller.*size 3"):
        F.pad(ad.zeros(2, 3), (3, 1), mode="reflect")
    # where PyTorch reads past the cropped input (garbage or an overlap error), we raise
    with pytest.raises(RuntimeError, match="reads past the cropped input"):
        F.pad(ad.zeros(2, 3), (2, -2), mode="circular")


# --- F.interpolate ------------------------------------------------------------------------------

INTERP_CASES = [  # (input shape, kwargs)
    ((2, 2, 5), dict(size=7)), ((2, 2, 5), dict(scale_factor=1.7)),
    ((1, 2, 7), dict(scale_factor=0.45, recompute_scale_factor=True)),
    ((2, 1, 3, 4), dict(size=(5, 2))), ((2, 1, 3, 4), dict(scale_factor=(2.2, 1.3))),
    ((1, 2, 2, 3, 4), dict(size=(3, 5, 2))), ((1, 2, 2, 3, 4), dict(scale_factor=1.5)),
]
MODES = {3: ["nearest", "nearest-exact", "linear", "area"],
         4: ["nearest", "nearest-exact", "bilinear", "bicubic", "area"],
         5: ["nearest", "nearest-exact", "trilinear", "area"]}


def test_interpolate_matches_torch_every_mode():
    for shape, kw in INTERP_CASES:
        for mode in MODES[len(shape)]:
            corners = [False, True] if mode in ("linear", "bilinear", "bicubic", "trilinear") \
                else [None]
            for ac in corners:
                second = mode in ("bilinear", "bicubic")
                run_outputs(torch, lambda lib, x: _F(lib).interpolate(
                    x, mode=mode, align_corners=ac, **kw), _x(*shape), second_order=second)


def test_interpolate_float32_coordinates_match_torch():
    # the index and weight arithmetic follows PyTorch's float32 rounding
    x = _x(1, 2, 6, 7, dtype=np.float32)
    for mode in ("nearest", "nearest-exact", "bilinear", "bicubic"):
        for kw in (dict(scale_factor=1 / 3), dict(size=(13, 9)), dict(scale_factor=2.2)):
            run_outputs(torch, lambda lib, x: _F(lib).interpolate(x, mode=mode, **kw), x)
    # 2 -> 25: (i + 0.5) * (2 / 25) floors differently in float32 and in float64
    run_outputs(torch, lambda lib, x: _F(lib).interpolate(x, size=25, mode="nearest-exact"),
                _x(1, 1, 2, dtype=np.float32))


def test_interpolate_antialias_matches_torch():
    for mode in ("bilinear", "bicubic"):
        for kw in (dict(size=(3, 2)), dict(scale_factor=0.4), dict(size=(9, 4)),
                   dict(size=(2, 3), align_corners=True)):
            run_outputs(torch, lambda lib, x: _F(lib).interpolate(
                x, mode=mode, antialias=True, **kw), _x(1, 2, 7, 6), second_order=True)


def test_interpolate_same_size_is_a_new_tensor():
    x = ad.tensor(_x(1, 1, 3, 3))
    out = F.interpolate(x, size=(3, 3), mode="bilinear")
    assert out is not x
    np.testing.assert_array_equal(out.numpy(), x.numpy())


@pytest.mark.parametrize("case", [
    lambda lib, F: F.interpolate(lib.zeros(1, 1, 3), size=2, align_corners=True),
    lambda lib, F: F.interpolate(lib.zeros(1, 1, 3)),
    lambda lib, F: F.interpolate(lib.zeros(1, 1, 3), size=2, scale_factor=2.0),
    lambda lib, F: F.interpolate(lib.zeros(1, 1, 3, 3), size=(2, 2, 2)),
    lambda lib, F: F.interpolate(lib.zeros(1, 1, 3, 3), size=(2.0, 2)),
    lambda lib, F: F.interpolate(lib.zeros(1, 1, 3, 3), scale_factor=(2.0, 2.0, 2.0)),
    lambda lib, F: F.interpolate(lib.zeros(1, 1, 3), size=2, recompute_scale_factor=True),
    lambda lib, F: F.interpolate(lib.zeros(1, 1, 3), size=2, mode="linear", antialias=True),
    lambda lib, F: F.interpolate(lib.zeros(1, 1, 3), size=2, mode="bilinear"),
    lambda lib, F: F.interpolate(lib.zeros(1, 1, 3, 3, 3), size=2, mode="bicubic"),
    lambda lib, F: F.interpolate(lib.zeros(1, 1, 3, 3), size=2, mode="cubic"),
    lambda lib, F: F.interpolate(lib.zeros(1, 3), size=2),
    lambda lib, F: F.interpolate(lib.zeros(1, 1, 3, 3), scale_factor=0.1),
])
def test_interpolate_errors_as_torch(case):
    same_error(torch, lambda lib: case(lib, _F(lib)))


def test_upsample_aliases_warn_and_match():
    x = _x(1, 2, 3, 4)
    for name, kw in (("upsample", dict(scale_factor=2, mode="bilinear")),
                     ("upsample_nearest", dict(size=(5, 5))),
                     ("upsample_bilinear", dict(scale_factor=1.5))):
        with pytest.warns(UserWarning, match="deprecated"):
            ours = getattr(F, name)(ad.tensor(x), **kw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = getattr(TF, name)(torch.tensor(x), **kw)
        assert_close(ours, theirs)


# --- F.grid_sample, F.affine_grid ----------------------------------------------------------------

def _grid(*shape):
    g = RNG.uniform(-1.3, 1.3, shape)
    g.reshape(-1)[:4] = [1.0, -1.0, 0.0, 1.0]  # exact borders and centre, where kinks sit
    return g


def test_grid_sample_matches_torch_every_mode_and_padding():
    for mode in ("bilinear", "nearest", "bicubic"):
        for padding_mode in ("zeros", "border", "reflection"):
            for ac in (False, True):
                def fn(lib, x, g):
                    return _F(lib).grid_sample(x, g, mode=mode, padding_mode=padding_mode,
                                               align_corners=ac)
                run_outputs(torch, fn, _x(2, 2, 3, 4), _grid(2, 3, 2, 2),
                            second_order=mode != "nearest")
                if mode != "bicubic":
                    run_outputs(torch, fn, _x(1, 2, 2, 3, 2), _grid(1, 2, 1, 3, 3),
                                second_order=mode == "bilinear")


def test_grid_sample_float32_and_far_outside_points():
    g = np.array([[[[5.0, -7.0], [1e4, 0.3], [-0.2, -1e4]]]], np.float32)
    for mode in ("bilinear", "nearest", "bicubic"):
        for padding_mode in ("zeros", "border", "reflection"):
            run_outputs(torch, lambda lib, x, g: _F(lib).grid_sample(
                x, g, mode=mode, padding_mode=padding_mode, align_corners=False),
                _x(1, 2, 3, 3, dtype=np.float32), g, tol=1e-4)


def test_grid_sample_defaults_warn_like_torch():
    x, g = ad.zeros(1, 1, 2, 2), ad.zeros(1, 1, 1, 2)
    with pytest.warns(UserWarning, match="align_corners"):
        F.grid_sample(x, g)
    assert F.GRID_SAMPLE_INTERPOLATION_MODES == TF.GRID_SAMPLE_INTERPOLATION_MODES
    assert F.GRID_SAMPLE_PADDING_MODES == TF.GRID_SAMPLE_PADDING_MODES


@pytest.mark.parametrize("case", [
    lambda lib, F: F.grid_sample(lib.zeros(1, 1, 2, 2), lib.zeros(1, 1, 1, 2), mode="area"),
    lambda lib, F: F.grid_sample(lib.zeros(1, 1, 2, 2), lib.zeros(1, 1, 1, 2),
                                 padding_mode="circular"),
    lambda lib, F: F.grid_sample(lib.zeros(1, 1, 2, 2), lib.zeros(1, 1, 1, 2, 2),
                                 align_corners=False),
    lambda lib, F: F.grid_sample(lib.zeros(1, 1, 2, 2), lib.zeros(2, 1, 1, 2),
                                 align_corners=False),
    lambda lib, F: F.grid_sample(lib.zeros(1, 1, 2, 2), lib.zeros(1, 1, 1, 3),
                                 align_corners=False),
    lambda lib, F: F.grid_sample(lib.zeros(1, 1, 2, 2, 2), lib.zeros(1, 1, 1, 1, 3),
                                 mode="bicubic", align_corners=False),
    lambda lib, F: F.grid_sample(lib.zeros(1, 1, 0, 2), lib.zeros(1, 1, 1, 2),
                                 align_corners=False),
    lambda lib, F: F.affine_grid(lib.zeros(2, 3, 3), (2, 1, 2, 2), align_corners=False),
    lambda lib, F: F.affine_grid(lib.zeros(2, 2, 3), (2, 1, 2), align_corners=False),
    lambda lib, F: F.affine_grid(lib.zeros(2, 2, 3).long(), (2, 1, 2, 2), align_corners=False),
    lambda lib, F: F.affine_grid(lib.zeros(2, 2, 3), (2, 1, 0, 2), align_corners=False),
    lambda lib, F: F.affine_grid(lib.zeros(2, 2, 3), (3, 1, 2, 2), align_corners=False),
])
def test_grid_errors_as_torch(case):
    same_error(torch, lambda lib: case(lib, _F(lib)))


def test_grid_sample_dtype_mismatch_raises():
    with pytest.raises(RuntimeError, match="same dtype"):
        F.grid_sample(ad.zeros(1, 1, 2, 2), ad.zeros(1, 1, 1, 2, dtype=ad.float64),
                      align_corners=False)


def test_affine_grid_matches_torch_and_composes_with_grid_sample():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unit sizes with align_corners=True warn, in both
        for ac in (False, True):
            for size in ((2, 3, 4, 5), (2, 1, 1, 3)):
                run_outputs(torch, lambda lib, th: _F(lib).affine_grid(th, size, align_corners=ac),
                            _x(2, 2, 3))
            for size in ((2, 3, 2, 3, 4), (2, 1, 1, 1, 2)):
                run_outputs(torch, lambda lib, th: _F(lib).affine_grid(th, size, align_corners=ac),
                            _x(2, 3, 4))

    def warp(lib, x, th):  # spatial transformer: gradients reach theta through the grid
        grid = _F(lib).affine_grid(th, (2, 2, 4, 3), align_corners=False)
        return _F(lib).grid_sample(x, grid, align_corners=False)
    theta = np.array([[[0.9, 0.2, 0.1], [-0.1, 1.1, 0.05]]] * 2) + 0.01 * _x(2, 2, 3)
    run_outputs(torch, warp, _x(2, 2, 5, 4), theta, second_order=True)


# --- modules -------------------------------------------------------------------------------------

PAD_MODULES = [("ZeroPad1d", (2,), (2, 3, 4)), ("ZeroPad2d", ((1, 0, 2, 1),), (2, 3, 4)),
               ("ZeroPad3d", (1,), (1, 2, 2, 2)),
               ("ConstantPad1d", ((1, 3), 2.5), (2, 3)),
               ("ConstantPad2d", (1, 0), (1, 2, 3, 3)),
               ("ConstantPad3d", ((1, 0, 0, 2, 1, 1), -1.0), (1, 2, 2, 2, 2)),
               ("ReflectionPad1d", ((2, 1),), (2, 3, 4)), ("ReflectionPad2d", (2,), (2, 3, 4)),
               ("ReflectionPad3d", (1,), (1, 2, 2, 3, 3)),
               ("ReplicationPad1d", (3,), (2, 3)), ("ReplicationPad2d", ((1, 2, 0, 3),),
                                                     (1, 2, 3, 3)),
               ("ReplicationPad3d", (1,), (2, 2, 2, 2)),
               ("CircularPad1d", (2,), (1, 2, 4)), ("CircularPad2d", ((1, 1, 2, 0),), (2, 3, 3)),
               ("CircularPad3d", (1,), (1, 1, 2, 2, 3))]


def test_padding_modules_match_torch_outputs_and_reprs():
    for name, args, shape in PAD_MODULES:
        theirs, ours = getattr(torch.nn, name)(*args), getattr(nn, name)(*args)
        assert repr(ours) == repr(theirs)
        run_outputs(torch, lambda lib, x: (theirs if lib is torch else ours)(x), _x(*shape))


def test_circular_pad_module_checks_dims_like_torch():
    for name, shape in (("CircularPad1d", (2,)), ("CircularPad2d", (3,)),
                        ("CircularPad3d", (1, 2, 2, 2, 2, 2))):
        same_error(torch, lambda lib: getattr(_nn(lib), name)(1)(lib.zeros(*shape)))
    with pytest.raises(ValueError, match=r"expected 3D or 4D input \(got 1D"):
        nn.CircularPad2d(1)(ad.zeros(3))


def test_upsample_modules_match_torch_outputs_and_reprs():
    cases = [("Upsample", dict(scale_factor=2)), ("Upsample", dict(size=(3, 5), mode="bilinear")),
             ("Upsample", dict(scale_factor=(1.5, 2.0), mode="bicubic", align_corners=True)),
             ("Upsample", dict(size=3, mode="nearest-exact")),
             ("Upsample", dict(scale_factor=0.5, mode="area", recompute_scale_factor=True)),
             ("UpsamplingNearest2d", dict(scale_factor=3)),
             ("UpsamplingBilinear2d", dict(size=(4, 7)))]
    for name, kw in cases:
        theirs, ours = getattr(torch.nn, name)(**kw), getattr(nn, name)(**kw)
        assert repr(ours) == repr(theirs)
        for attr in ("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor"):
            assert getattr(ours, attr) == getattr(theirs, attr), (name, attr)
        run_outputs(torch, lambda lib, x: (theirs if lib is torch else ours)(x), _x(2, 1, 3, 4))
    ups = nn.Upsample(scale_factor=2, mode="trilinear")
    assert repr(nn.Sequential(ups)) == repr(torch.nn.Sequential(
        torch.nn.Upsample(scale_factor=2, mode="trilinear")))
