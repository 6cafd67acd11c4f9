"""nn.data.transforms: torchvision's tensor-path geometry and semantics (checked against torch's
primitives and, where it imports, torchvision itself), random draws, errors, reprs, types,
gradients, and a DataLoader with worker processes applying them."""
import json
import math
import os
import pickle
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import autodiff as ad
import nn.data.transforms as T
import nn.data.transforms.functional as TF

IM = T.InterpolationMode
RNG = np.random.default_rng(0)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _img(*shape, dtype=np.float64):
    return RNG.random(shape).astype(dtype)


@pytest.fixture
def tv():
    """torchvision.transforms.functional, or a skip (not a dependency; a wheel built for
    another torch fails at import with RuntimeError, which also skips)."""
    try:
        import torchvision.transforms.functional as tvf
    except Exception as e:  # noqa: BLE001 - any import failure means "not usable here"
        pytest.skip(f"torchvision cross-check: torchvision is not importable ({type(e).__name__}"
                    f": {str(e)[:80]}); pip install torchvision matching the installed torch")
    return tvf


# --- reference: torchvision's tensor path rebuilt from torch primitives and the math --------

def _forward_matrix(center, angle, translate, scale, shear):
    """3x3 map of pixel positions (origin at the image centre, y down) for
    T(translate) C(center) R(angle) S(scale) ShY(shear_y) ShX(shear_x) C^-1."""
    a, sx, sy = (math.radians(v) for v in (angle, *shear))
    rot = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    shy = np.array([[1, 0, 0], [-math.tan(sy), 1, 0], [0, 0, 1]])
    shx = np.array([[1, -math.tan(sx), 0], [0, 1, 0], [0, 0, 1]])
    c = np.array([[1, 0, center[0]], [0, 1, center[1]], [0, 0, 1]], float)
    t = np.array([[1, 0, translate[0]], [0, 1, translate[1]], [0, 0, 1]], float)
    return t @ c @ rot @ np.diag([scale, scale, 1.0]) @ shy @ shx @ np.linalg.inv(c)


def _torch_warp(torch, img, inv, out_hw, mode, fill):
    """grid_sample (align_corners=False) at the output pixel centres mapped by inv, with
    torchvision's fill rule: nearest replaces, bilinear blends by the sampled ones-mask."""
    h, w = img.shape[-2:]
    oh, ow = out_hw
    ys, xs = np.meshgrid(np.arange(oh) - (oh - 1) / 2, np.arange(ow) - (ow - 1) / 2,
                         indexing="ij")
    pts = inv @ np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    grid = np.stack([pts[0] / (w / 2), pts[1] / (h / 2)], -1).reshape(1, oh, ow, 2)
    x = torch.from_numpy(img.reshape(-1, img.shape[-3], h, w).copy())
    g = torch.from_numpy(grid.astype(img.dtype)).expand(x.shape[0], oh, ow, 2)
    out = torch.nn.functional.grid_sample(x, g, mode=mode, padding_mode="zeros",
                                          align_corners=False).numpy()
    if fill is not None:
        ones = torch.ones((x.shape[0], 1, h, w), dtype=x.dtype)
        mask = torch.nn.functional.grid_sample(ones, g, mode=mode, padding_mode="zeros",
                                               align_corners=False).numpy()
        f = np.asarray(fill, img.dtype).reshape(1, -1, 1, 1)
        out = np.where(mask < 0.5, f, out) if mode == "nearest" else out * mask + (1 - mask) * f
    return out.reshape(img.shape[:-2] + (oh, ow))


def _centre(center, w, h):
    return [0.0, 0.0] if center is None else [center[0] - w / 2, center[1] - h / 2]


# Generic angles: no output pixel lands on a rounding tie, so nearest is well defined.
ROTATIONS = [(30.0, "nearest", False, None, None), (-17.3, "bilinear", False, None, [0.2]),
             (63.0, "bilinear", True, None, None), (41.0, "nearest", True, None, [0.5]),
             (12.5, "bilinear", False, [2, 3], [0.1, 0.2, 0.3]), (-70.0, "nearest", False, [1, 5],
                                                                  None)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("angle,mode,expand,center,fill", ROTATIONS)
def test_rotate_matches_torch_grid_sample(torch, dtype, angle, mode, expand, center, fill):
    img = _img(2, 3, 7, 6, dtype=dtype)
    ours = TF.rotate(img, angle, IM(mode), expand, center, fill)
    h, w = img.shape[-2:]
    fwd = _forward_matrix(_centre(center, w, h), -angle, [0, 0], 1.0, [0, 0])
    if expand:  # the bounding box of the turned image, in whole pixels
        corners = fwd @ np.array([[-w, -w, w, w], [-h, h, -h, h], [2, 2, 2, 2]]) / 2
        size = np.ceil(corners[:2].max(1) + [w / 2, h / 2] - 1e-4) - \
            np.floor(corners[:2].min(1) + [w / 2, h / 2] + 1e-4)
        out_hw = (int(size[1]), int(size[0]))
    else:
        out_hw = (h, w)
    ref = _torch_warp(torch, img, np.linalg.inv(fwd), out_hw, mode, fill)
    assert isinstance(ours, np.ndarray) and ours.dtype == dtype and ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=1e-5 if dtype == np.float32 else 1e-12)


AFFINES = [(20.0, (1, -2), 1.2, (5.0, 0.0), "nearest", None, None),
           (-35.0, (0, 0), 0.8, (10.0, -7.0), "bilinear", 0.3, None),
           (10.0, (2, 1), 1.5, (-20.0, 30.0), "bilinear", None, [1, 4]),
           (0.0, (3, 1), 1.0, (0.0, 0.0), "nearest", 0.7, None)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("angle,translate,scale,shear,mode,fill,center", AFFINES)
def test_affine_matches_torch_grid_sample(torch, dtype, angle, translate, scale, shear, mode,
                                          fill, center):
    img = _img(3, 8, 9, dtype=dtype)
    ours = TF.affine(img, angle, list(translate), scale, list(shear), IM(mode), fill, center)
    fwd = _forward_matrix(_centre(center, 9, 8), angle, translate, scale, shear)
    ref = _torch_warp(torch, img, np.linalg.inv(fwd), (8, 9), mode, fill)
    np.testing.assert_allclose(ours, ref, atol=1e-5 if dtype == np.float32 else 1e-12)


def test_rotate_right_angles_are_exact_and_break_ties_as_pytorch():
    x = np.arange(2 * 4 * 4, dtype=np.float64).reshape(2, 4, 4)
    np.testing.assert_array_equal(TF.rotate(x, 90.0), np.rot90(x, 1, axes=(1, 2)))
    np.testing.assert_array_equal(TF.rotate(x, 180.0), x[:, ::-1, ::-1])
    y = np.arange(12.0).reshape(1, 3, 4)
    np.testing.assert_array_equal(TF.rotate(x, -90.0, expand=True), np.rot90(x, -1, (1, 2)))
    # torchvision sizes the expanded canvas from corners shifted by the input's half size, so
    # a 3x4 image turned by 90 degrees lands on a 5x4 canvas (not 4x3); we reproduce it
    expected = [[8, 8, 0, 0], [8, 8, 0, 0], [10, 10, 6, 2], [10, 10, 6, 2], [0, 0, 0, 0]]
    np.testing.assert_array_equal(TF.rotate(y, -90.0, expand=True)[0], expected)
    # A 6x5 image turned by 90 degrees samples exactly between pixels; this is what
    # torchvision 0.28 + torch 2.13 (CPU) returns, whose grid_sample rounds (g + 1) * s - 0.5
    # once (a fused multiply-add) and then half to even.
    z = np.arange(30.0).reshape(1, 6, 5)
    expected = [[9, 14, 14, 24, 24], [9, 14, 14, 24, 24], [7, 12, 12, 22, 23],
                [6, 11, 12, 22, 22], [5, 10, 10, 20, 20], [5, 10, 10, 20, 20]]
    np.testing.assert_array_equal(TF.rotate(z, 90.0)[0], expected)
    expected32 = [[4, 9, 14, 24, 24], [4, 9, 14, 24, 24], [2, 7, 12, 22, 22],
                  [2, 7, 12, 22, 22], [0, 5, 10, 20, 20], [0, 5, 10, 20, 20]]  # float32 grid
    np.testing.assert_array_equal(TF.rotate(z.astype(np.float32), 90.0)[0], expected32)


def test_rotate_affine_with_torchvision(tv):
    import torch
    img = _img(3, 7, 6)
    t = torch.from_numpy(img.copy())
    for dtype in (np.float64, np.float32):
        a, ta = img.astype(dtype), t.to(getattr(torch, np.dtype(dtype).name))
        for angle, mode, expand, center, fill in ROTATIONS + [(90.0, "nearest", True, None,
                                                                None)]:
            ref = tv.rotate(ta, angle, tv.InterpolationMode(mode), expand, center, fill)
            np.testing.assert_allclose(TF.rotate(a, angle, IM(mode), expand, center, fill),
                                       ref.numpy(), atol=1e-5)
        for angle, tr, sc, sh, mode, fill, center in AFFINES:
            ref = tv.affine(ta, angle, list(tr), sc, list(sh), tv.InterpolationMode(mode), fill,
                            center)
            np.testing.assert_allclose(TF.affine(a, angle, list(tr), sc, list(sh), IM(mode),
                                                 fill, center), ref.numpy(), atol=1e-5)


def test_rotate_uint8_rounds_and_keeps_dtype(torch):
    img = (RNG.random((3, 9, 7)) * 255).astype(np.uint8)
    out = TF.rotate(img, 33.0, IM.BILINEAR, True, None, [10, 20, 30])
    fwd = _forward_matrix([0, 0], -33.0, [0, 0], 1.0, [0, 0])
    ref = _torch_warp(torch, img.astype(np.float32), np.linalg.inv(fwd), out.shape[-2:],
                      "bilinear", [10, 20, 30])
    assert out.dtype == np.uint8
    assert np.abs(out.astype(float) - np.round(ref)).max() <= 1  # float32 ties at .5 may flip


# --- flips, crops, padding ------------------------------------------------------------------

def test_flips_crops_center_crop_against_slicing():
    x = _img(2, 3, 5, 6)
    np.testing.assert_array_equal(TF.hflip(x), x[..., ::-1])
    np.testing.assert_array_equal(TF.vflip(x), x[..., ::-1, :])
    np.testing.assert_array_equal(TF.crop(x, 1, 2, 3, 4), x[..., 1:4, 2:6])
    out = TF.crop(x, -1, 4, 3, 4)  # outside the image reads 0
    np.testing.assert_array_equal(out[..., 1:, :2], x[..., :2, 4:])
    assert out.shape == (2, 3, 3, 4) and not out[..., 0, :].any() and not out[..., 2:].any()
    np.testing.assert_array_equal(TF.center_crop(x, 3), x[..., 1:4, 2:5])  # round(2/2), (3/2)
    np.testing.assert_array_equal(TF.center_crop(x, (4, 5)), x[..., 0:4, 0:5])
    big = TF.center_crop(x, (8, 7))  # zero-padded (1, 2) rows and (0, 1) columns first
    assert big.shape == (2, 3, 8, 7)
    np.testing.assert_array_equal(big[..., 1:6, 0:6], x)
    assert T.CenterCrop(3)(ad.from_numpy(x)).shape == (2, 3, 3, 3)


@pytest.mark.parametrize("padding", [2, [1, 3], [3, 0, 1, 2], [1, -1, 2, -2]])
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_pad_modes_match_numpy(padding, mode):
    x = _img(3, 5, 6)
    ours = TF.pad(x, padding, 0.5, mode)
    left, right, top, bottom = T._parse_padding(padding)
    if min(left, right, top, bottom) < 0:  # crop the negative sides first
        x = x[:, max(-top, 0):5 - max(-bottom, 0), max(-left, 0):6 - max(-right, 0)]
        left, right, top, bottom = (max(p, 0) for p in (left, right, top, bottom))
    kw = {"constant_values": 0.5} if mode == "constant" else {}
    ref = np.pad(x, [(0, 0), (top, bottom), (left, right)], "edge" if mode == "edge" else mode,
                 **kw)
    np.testing.assert_array_equal(ours, ref)
    t = TF.pad(ad.from_numpy(x if min(T._parse_padding(padding)) >= 0 else _img(3, 5, 6)),
               padding, 0.5, mode)
    assert isinstance(t, ad.Tensor) and t.shape == ours.shape


@pytest.mark.parametrize("mode,torch_mode", [("edge", "replicate"), ("reflect", "reflect"),
                                             ("constant", "constant")])
def test_pad_negative_and_wide_match_torch(torch, mode, torch_mode):
    x = _img(1, 3, 5, 6)
    for p in [(2, -1, 3, -2), (4, 1, 0, 4)]:  # torchvision padding (l, t, r, b) -> (l, r, t, b)
        ref = torch.nn.functional.pad(torch.from_numpy(x), (p[0], p[2], p[1], p[3]),
                                      mode=torch_mode).numpy()
        np.testing.assert_array_equal(TF.pad(x, list(p), 0, mode), ref)


def test_pad_uint8_and_tensor_fill():
    x = (RNG.random((3, 4, 4)) * 255).astype(np.uint8)
    out = TF.pad(x, 1, 7)
    assert out.dtype == np.uint8 and (out[:, 0] == 7).all()
    t = TF.pad(ad.from_numpy(x.astype(np.float32)), [1, 2], 3.0)
    assert t.shape == (3, 8, 6) and t.dtype == ad.float32 and (t.data[:, :2] == 3).all()


# --- normalize, to_tensor, resize -----------------------------------------------------------

def test_normalize_formula_dtype_and_inplace():
    x = _img(2, 3, 4, 4, dtype=np.float32)
    mean, std = [0.1, 0.2, 0.3], [0.5, 1.0, 2.0]
    out = T.Normalize(mean, std)(x)
    ref = (x - np.array(mean, np.float32)[:, None, None]) / np.array(std, np.float32)[:, None,
                                                                                         None]
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, ref)
    assert not np.shares_memory(out, x)
    y = x.copy()
    assert T.Normalize(mean, std, inplace=True)(y) is y
    np.testing.assert_array_equal(y, ref)
    t = ad.from_numpy(x.copy())
    assert T.Normalize(mean, std, inplace=True)(t) is t
    np.testing.assert_array_equal(t.data, ref)
    np.testing.assert_array_equal(T.Normalize([0.5], [2.0])(x), (x - np.float32(0.5)) / 2)


def test_to_tensor_and_pil():
    hwc = (RNG.random((4, 5, 3)) * 255).astype(np.uint8)
    t = T.ToTensor()(hwc)
    assert isinstance(t, ad.Tensor) and t.shape == (3, 4, 5) and t.dtype == ad.float32
    np.testing.assert_array_equal(t.data, hwc.transpose(2, 0, 1).astype(np.float32)
                                  / np.float32(255))
    assert T.ToTensor()(hwc[:, :, 0]).shape == (1, 4, 5)
    f = T.ToTensor()(np.ones((2, 2, 1), np.float64) * 7)  # not uint8: unscaled, dtype kept
    assert f.dtype == ad.float64 and (f.data == 7).all()
    ad.set_default_dtype(ad.float64)
    assert T.ToTensor()(hwc).dtype == ad.float64
    Image = pytest.importorskip("PIL.Image", reason="PIL is optional (ToTensor of PIL images)")
    pic = Image.fromarray(hwc)
    np.testing.assert_array_equal(T.ToTensor()(pic).data, hwc.transpose(2, 0, 1) / 255.0)
    p = T.PILToTensor()(pic)
    assert p.dtype == np.uint8 and p.shape == (3, 4, 5)
    np.testing.assert_array_equal(p.data, hwc.transpose(2, 0, 1))
    assert T.ToTensor()(Image.fromarray(hwc[:, :, 0] > 100)).data.max() == 1.0  # mode "1"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_resize_matches_torch_interpolate(torch, dtype):
    x = _img(2, 3, 6, 9, dtype=dtype)
    cases = [((4, 5), IM.BILINEAR, True), ((4, 5), IM.BILINEAR, False), (4, IM.NEAREST, True),
             ([12], IM.BICUBIC, False), ((9, 4), IM.NEAREST_EXACT, True), (3, IM.BICUBIC, True)]
    for size, mode, aa in cases:
        ours = T.Resize(size, mode, antialias=aa)(x)
        if isinstance(size, (int, list)):  # the shorter edge (height 6 here) becomes size
            s = size if isinstance(size, int) else size[0]
            size = (s, int(s * 9 / 6))
        kw = {"align_corners": False, "antialias": aa} if mode in (IM.BILINEAR, IM.BICUBIC) \
            else {}
        ref = torch.nn.functional.interpolate(torch.from_numpy(x), size=size, mode=mode.value,
                                              **kw).numpy()
        np.testing.assert_allclose(ours, ref, atol=1e-5 if dtype == np.float32 else 1e-10)
    assert T.Resize(6)(x) is x  # already the right size
    assert TF.resize(x, 6, max_size=7).shape == (2, 3, 4, 7)  # long edge capped at max_size


# --- types, dtypes, gradients ---------------------------------------------------------------

PIPE = [T.RandomCrop(4, padding=1, padding_mode="reflect"), T.RandomHorizontalFlip(),
        T.RandomVerticalFlip(), T.RandomRotation(20, IM.BILINEAR),
        T.RandomAffine(10, (0.1, 0.1), (0.9, 1.1), 5), T.Normalize([0.5] * 3, [0.2] * 3),
        T.Resize(3), T.CenterCrop(3), T.Pad(1, 2.0, "symmetric")]


@pytest.mark.parametrize("transform", PIPE, ids=lambda t: type(t).__name__)
def test_type_and_dtype_preserved(transform):
    for dtype in (np.float32, np.float64):
        x = _img(3, 6, 6, dtype=dtype)
        out = transform(x)
        assert isinstance(out, np.ndarray) and out.dtype == dtype
        t = transform(ad.from_numpy(x))
        assert isinstance(t, ad.Tensor) and t.dtype == dtype and not t.requires_grad
        b = transform(_img(2, 3, 6, 6, dtype=dtype))  # a batch gets the same draw throughout
        assert b.ndim == 4 and b.shape[:2] == (2, 3)
        if not isinstance(transform, T.Normalize):  # HW images (Normalize needs channels)
            hw = _img(6, 6, dtype=dtype)
            ad.manual_seed(2)
            one = transform(hw)
            ad.manual_seed(2)
            np.testing.assert_array_equal(one, transform(hw[None])[0])


def test_same_parameters_for_every_image_of_a_batch():
    x = _img(3, 6, 6)
    batch = np.stack([x, x])
    for t in (T.RandomRotation(40), T.RandomCrop(4), T.RandomAffine(20, (0.2, 0.2))):
        out = t(batch)
        np.testing.assert_array_equal(out[0], out[1])


@pytest.mark.parametrize("mode", [IM.NEAREST, IM.BILINEAR])
def test_gradients_flow_through_tensor_inputs(torch, mode):
    x = _img(2, 3, 5, 6)
    fill = [0.1, 0.2, 0.3]
    xa = ad.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    ya = TF.rotate(xa, 37.0, mode, True, None, fill)
    np.testing.assert_allclose(ya.data, TF.rotate(x, 37.0, mode, True, None, fill), atol=1e-14)
    fwd = _forward_matrix([0, 0], -37.0, [0, 0], 1.0, [0, 0])
    h, w = ya.shape[-2:]
    ys, xs = np.meshgrid(np.arange(h) - (h - 1) / 2, np.arange(w) - (w - 1) / 2, indexing="ij")
    pts = np.linalg.inv(fwd) @ np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    grid = torch.from_numpy(np.stack([pts[0] / 3, pts[1] / 2.5], -1).reshape(1, h, w, 2))
    yt = torch.nn.functional.grid_sample(xt, grid.expand(2, h, w, 2), mode=mode.value,
                                         align_corners=False)
    g = RNG.standard_normal(ya.shape)
    (ya * ad.from_numpy(g)).sum().backward()
    mask = torch.nn.functional.grid_sample(torch.ones(1, 1, 5, 6, dtype=torch.float64), grid,
                                           mode=mode.value, align_corners=False)
    # the fill blend scales the bilinear path by the mask; nearest keeps it where mask >= 0.5
    scale = mask if mode == IM.BILINEAR else (mask >= 0.5).double()
    (yt * scale * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(xa.grad.data, xt.grad.numpy(), atol=1e-12)
    za = ad.tensor(x, requires_grad=True)
    out = T.Normalize([0.5] * 3, [2.0] * 3)(TF.hflip(TF.pad(za, 1, 0.0, "reflect")))
    out.sum().backward()
    assert za.grad.shape == x.shape and np.abs(za.grad.data).sum() > 0


# --- randomness -----------------------------------------------------------------------------

def test_flip_frequency_and_reproducibility():
    x = np.arange(6.0).reshape(1, 2, 3)
    flips = sum(T.RandomHorizontalFlip(0.3)(x)[0, 0, 0] == 2 for _ in range(4000))
    assert abs(flips - 1200) < 150  # 5 standard deviations
    flips = sum(T.RandomVerticalFlip(0.8)(x)[0, 0, 0] == 3 for _ in range(2000))
    assert abs(flips - 1600) < 90
    assert all(T.RandomHorizontalFlip(0.0)(x) is x for _ in range(50))
    ad.manual_seed(5)
    a = [T.RandomRotation(45)(x) for _ in range(5)]
    ad.manual_seed(5)
    b = [T.RandomRotation(45)(x) for _ in range(5)]
    np.testing.assert_array_equal(a, b)


def test_crop_offsets_uniform():
    x = np.arange(36.0).reshape(1, 6, 6)
    counts = np.zeros(25)
    for _ in range(5000):
        corner = T.RandomCrop(2)(x)[0, 0, 0]
        counts[int(corner // 6) * 5 + int(corner % 6)] += 1
    chi2 = ((counts - 200) ** 2 / 200).sum()
    assert counts.min() > 0 and chi2 < 60  # 24 dof: P(chi2 > 60) < 1e-4
    assert T.RandomCrop.get_params(x, (6, 6)) == (0, 0, 6, 6)
    draws = np.array([T.RandomCrop.get_params(x, (2, 3))[:2] for _ in range(400)])
    assert draws[:, 0].min() == 0 and draws[:, 0].max() == 4
    assert draws[:, 1].min() == 0 and draws[:, 1].max() == 3


def test_random_crop_padding_and_pad_if_needed():
    x = _img(3, 4, 5)
    assert T.RandomCrop(4, padding=2)(x).shape == (3, 4, 4)
    # each short side is padded by the shortfall on both ends (as torchvision), then cropped
    for kw, ref in [({"fill": 9}, np.pad(x, [(0, 0), (2, 2), (2, 2)], constant_values=9)),
                    ({"padding_mode": "edge"}, np.pad(x, [(0, 0), (2, 2), (2, 2)], "edge"))]:
        for _ in range(5):
            out = T.RandomCrop((6, 7), pad_if_needed=True, **kw)(x)
            assert out.shape == (3, 6, 7)
            assert any(np.array_equal(out, ref[:, i:i + 6, j:j + 7]) for i in range(3)
                       for j in range(3))


def test_angle_and_affine_parameter_ranges():
    angles = np.array([T.RandomRotation.get_params([10.0, 20.0]) for _ in range(2000)])
    assert angles.min() >= 10 and angles.max() <= 20 and abs(angles.mean() - 15) < 0.3
    assert np.histogram(angles, 4, (10, 20))[0].min() > 400  # roughly flat
    params = [T.RandomAffine.get_params([-5.0, 5.0], [0.1, 0.3], [0.8, 1.2],
                                        [-2.0, 2.0, 10.0, 20.0], [20, 10])
              for _ in range(500)]
    ang, tr, sc, sh = (np.array(v) for v in zip(*params))
    assert np.abs(ang).max() <= 5 and tr.dtype.kind == "i"
    assert np.abs(tr[:, 0]).max() == 2 and np.abs(tr[:, 1]).max() == 3
    assert sc.min() >= 0.8 and sc.max() <= 1.2
    assert np.abs(sh[:, 0]).max() <= 2 and sh[:, 1].min() >= 10 and sh[:, 1].max() <= 20
    assert T.RandomAffine.get_params([0, 0], None, None, None, [5, 5]) == (0.0, (0, 0), 1.0,
                                                                          (0.0, 0.0))


def test_random_apply_choice_order():
    x = np.zeros((1, 2, 2))
    add = [T.Lambda(lambda v, k=k: v * 10 + k) for k in (1, 2, 3)]
    applied = sum(T.RandomApply(add[:1], p=0.25)(x)[0, 0, 0] == 1 for _ in range(2000))
    assert abs(applied - 500) < 100
    picks = np.bincount([int(T.RandomChoice(add, p=[1, 2, 7])(x)[0, 0, 0]) for _ in
                         range(2000)], minlength=4)[1:]
    np.testing.assert_allclose(picks / 2000, [0.1, 0.2, 0.7], atol=0.04)
    uniform = np.bincount([int(T.RandomChoice(add)(x)[0, 0, 0]) for _ in range(1500)])[1:]
    assert uniform.min() > 420
    orders = {int(T.RandomOrder(add)(x)[0, 0, 0]) for _ in range(300)}
    assert orders == {123, 132, 213, 231, 312, 321}


# --- errors ---------------------------------------------------------------------------------

ERRORS = [
    (lambda: TF.normalize(_img(3, 4, 4), [0.5] * 3, [1, 0, 1]), ValueError,
     "std evaluated to zero"),
    (lambda: TF.normalize(_img(3, 4, 4), [0.5] * 2, [1, 1]), RuntimeError,
     "mean has 2 values but the image has 3 channels"),
    (lambda: TF.normalize(_img(4, 4), [0.5], [1]), ValueError, r"size \(\.\.\., C, H, W\)"),
    (lambda: TF.normalize(np.zeros((3, 2, 2), np.uint8), [0.5], [1]), TypeError,
     "should be a float tensor. Got uint8"),
    (lambda: T.RandomCrop(7)(_img(3, 5, 5)), ValueError,
     r"Required crop size \(7, 7\) is larger than input image size \(5, 5\)"),
    (lambda: TF.rotate(_img(3, 5, 5), 10, IM.BICUBIC), ValueError,
     "'bicubic' is unsupported with tensor images"),
    (lambda: TF.rotate(_img(3, 5, 5), 10, fill=[1, 2]), ValueError, r"channels .*\(2 != 3\)"),
    (lambda: TF.rotate(_img(3, 5, 5), "10"), TypeError, "angle should be int or float"),
    (lambda: TF.rotate(_img(3, 5, 5), 10, "bilinear"), TypeError,
     "interpolation should be a InterpolationMode"),
    (lambda: TF.affine(_img(3, 5, 5), 10, (1,), 1, 0), ValueError, "translate should be a sequ"),
    (lambda: TF.affine(_img(3, 5, 5), 10, (1, 1), 0, 0), ValueError, "scale should be positive"),
    (lambda: TF.affine(_img(3, 5, 5), 10, (1, 1), 1, [1, 2, 3]), ValueError, "two values"),
    (lambda: TF.pad(_img(3, 5, 5), 5, 0, "reflect"), RuntimeError, "must be smaller than"),
    (lambda: TF.pad(_img(3, 5, 5), 6, 0, "symmetric"), IndexError, "at most the axis size"),
    (lambda: TF.pad(_img(3, 5, 5), 1, (1, 2, 3)), TypeError, "inappropriate fill"),
    (lambda: TF.pad(_img(3, 5, 5), [1, 2, 3]), ValueError, "not a 3 element tuple"),
    (lambda: TF.pad(_img(3, 5, 5), 1, 0, "wrap"), ValueError, "constant, edge, reflect or sym"),
    (lambda: T.ToTensor()(ad.zeros(2, 2, 3)), TypeError, "PIL Image or ndarray"),
    (lambda: T.ToTensor()(np.zeros((1, 2, 2, 3))), ValueError, "2/3 dimensional"),
    (lambda: TF.resize(_img(3, 5, 5), (2, 3), IM.BOX), NotImplementedError, "PIL-only"),
    (lambda: TF.resize(_img(3, 5, 5), (2, 3), max_size=4), ValueError, "max_size should only"),
    (lambda: TF.resize(_img(3, 5, 5), 4, max_size=4), ValueError, "strictly greater"),
    (lambda: T.RandomChoice([T.CenterCrop(3)], p=[0])(_img(3, 5, 5)), ValueError,
     "Total of weights"),
    (lambda: T.RandomChoice([T.CenterCrop(3)], p=[1, 2]), ValueError, "number of weights"),
    (lambda: T.RandomChoice([T.CenterCrop(3)], p=3), TypeError, "p should be a sequence"),
    (lambda: T.RandomOrder(3), TypeError, "transforms should be a sequence"),
    (lambda: T.RandomRotation(-3), ValueError, "If degrees is a single number, it must be pos"),
    (lambda: T.RandomRotation([1, 2, 3]), ValueError, "degrees should be a sequence of length 2"),
    (lambda: T.RandomRotation(None), TypeError, "degrees should be a sequence of length 2"),
    (lambda: T.RandomRotation(3, fill=object()), TypeError, "Fill should be either"),
    (lambda: T.RandomAffine(0, shear=(1, 2, 3)), ValueError, "shear should be a sequence of "
                                                             "length 2 or 4"),
    (lambda: T.RandomAffine(0, translate=(0.1, 2)), ValueError, "between 0 and 1"),
    (lambda: T.RandomAffine(0, scale=(0, 2)), ValueError, "scale values should be positive"),
    (lambda: T.RandomAffine(0, translate=0.1), TypeError, "translate should be a sequence"),
    (lambda: T.Resize([1, 2, 3]), ValueError, "1 or 2 values"),
    (lambda: T.Resize(3.5), TypeError, "Size should be int or sequence"),
    (lambda: T.Lambda(3), TypeError, "lambd should be callable, got 'int'"),
    (lambda: T.Pad("x"), TypeError, "inappropriate padding"),
    (lambda: T.CenterCrop([1, 2, 3]), ValueError, "only two dimensions"),
    (lambda: T.RandomHorizontalFlip(1.0)([1, 2]), TypeError, "numpy array or an autodiff Tens"),
    (lambda: T.RandomRotation(3)(np.zeros(4)), TypeError, "at least 2 dimensions"),
]


@pytest.mark.parametrize("fn,cls,match", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_errors(fn, cls, match):
    with pytest.raises(cls, match=match):
        fn()


# --- reprs (as torchvision 0.28 prints them) ------------------------------------------------

REPRS = [
    (T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(),
                T.Normalize((0.5,), (0.2,))]),
     "Compose(\n    RandomCrop(size=(32, 32), padding=4)\n    RandomHorizontalFlip(p=0.5)\n"
     "    Normalize(mean=(0.5,), std=(0.2,))\n)"),
    (T.RandomRotation((10, 20), IM.BILINEAR, True, (3, 4), fill=(1, 2, 3)),
     "RandomRotation(degrees=[10.0, 20.0], interpolation=bilinear, expand=True, center=(3, 4), "
     "fill=(1, 2, 3))"),
    (T.RandomRotation(30), "RandomRotation(degrees=[-30.0, 30.0], interpolation=nearest, "
                           "expand=False, fill=0)"),
    (T.RandomAffine((-5, 5), translate=(0.1, 0.2), scale=(0.9, 1.1), shear=5,
                    interpolation=IM.BILINEAR, fill=1, center=(1, 2)),
     "RandomAffine(degrees=[-5.0, 5.0], translate=(0.1, 0.2), scale=(0.9, 1.1), "
     "shear=[-5.0, 5.0], interpolation=bilinear, fill=1, center=(1, 2))"),
    (T.RandomAffine(10), "RandomAffine(degrees=[-10.0, 10.0])"),
    (T.Resize(32), "Resize(size=32, interpolation=bilinear, max_size=None, antialias=True)"),
    (T.Resize((3, 4), 0), "Resize(size=(3, 4), interpolation=nearest, max_size=None, "
                          "antialias=True)"),
    (T.CenterCrop([10]), "CenterCrop(size=(10, 10))"),
    (T.Pad([1, 2], fill=3, padding_mode="reflect"),
     "Pad(padding=[1, 2], fill=3, padding_mode=reflect)"),
    (T.RandomVerticalFlip(0.3), "RandomVerticalFlip(p=0.3)"),
    (T.RandomApply([T.CenterCrop(3)], p=0.3),
     "RandomApply(\n    p=0.3\n    CenterCrop(size=(3, 3))\n)"),
    (T.RandomChoice([T.CenterCrop(3)]), "RandomChoice(\n    CenterCrop(size=(3, 3))\n)(p=None)"),
    (T.RandomOrder([T.Lambda(abs)]), "RandomOrder(\n    Lambda()\n)"),
    (T.ToTensor(), "ToTensor()"), (T.PILToTensor(), "PILToTensor()"),
]


@pytest.mark.parametrize("transform,expected", REPRS, ids=[str(i) for i in range(len(REPRS))])
def test_repr_as_torchvision(transform, expected):
    assert repr(transform) == expected


def test_functional_module_and_pickling():
    assert TF is T.functional and TF.rotate is T.rotate
    import importlib
    assert importlib.import_module("nn.data.transforms.functional") is TF
    pipe = T.Compose([T.RandomCrop(4, padding=1), T.RandomHorizontalFlip(),
                      T.RandomRotation(10), T.Normalize([0.5] * 3, [0.2] * 3)])
    clone = pickle.loads(pickle.dumps(pipe))
    x = _img(3, 5, 5)
    ad.manual_seed(1)
    a = pipe(x)
    ad.manual_seed(1)
    np.testing.assert_array_equal(clone(x), a)


# --- DataLoader worker processes ------------------------------------------------------------

_LOADER_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import autodiff as ad
    import nn
    import nn.data.transforms as T

    class Images(nn.data.Dataset):
        def __init__(self, transform):
            self.x = np.tile(np.arange(36, dtype=np.float32).reshape(1, 6, 6), (3, 1, 1))
            self.transform = transform
        def __len__(self):
            return 16
        def __getitem__(self, i):
            return self.transform(self.x), i

    aug = T.Compose([T.RandomCrop(4, padding=1), T.RandomHorizontalFlip(), T.RandomRotation(30),
                     T.Normalize([0.5] * 3, [2.0] * 3)])
    runs = []
    for _ in range(2):
        ad.manual_seed(7)
        loader = nn.data.DataLoader(Images(aug), batch_size=4, num_workers=2, timeout=60)
        runs.append([[np.asarray(x.data if hasattr(x, "data") else x).tolist(),
                      np.asarray(i.data if hasattr(i, "data") else i).tolist()]
                     for x, i in loader])
    print(json.dumps(runs))
""")


def test_dataloader_workers_apply_transforms():
    proc = subprocess.Popen([sys.executable, "-c", _LOADER_SCRIPT], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the loader's workers too
        proc.communicate()
        pytest.fail("DataLoader(num_workers=2) with transforms did not finish within 120 s")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err[-2000:]
    first, second = json.loads(out)
    assert first == second  # same ad.manual_seed -> same worker seeds -> same augmentations
    images = np.array([x for batch, _ in first for x in batch])
    assert images.shape == (16, 3, 4, 4)
    assert [i for _, idx in first for i in idx] == list(range(16))
    assert len({im.tobytes() for im in images}) > 8  # augmented differently per sample
