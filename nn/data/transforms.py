"""Image transforms for data augmentation, as torchvision.transforms (its tensor path).

Images are numpy arrays or autodiff Tensors laid out [..., H, W] (HW, CHW or NCHW), as
torchvision's tensor transforms expect; a transform returns the type it was given. ToTensor
turns an HWC uint8 array (or a PIL image) into a float CHW Tensor in [0, 1]. Random parameters
are drawn from autodiff's default generator (ad.manual_seed; DataLoader workers seed it per
worker), so the sequences differ from torchvision's but the distributions are the same.
Geometry (rotate, affine) samples the inverse-mapped pixel centres as torchvision does (its
grid_sample with align_corners=False) with a vectorised numpy gather; for a Tensor that requires
grad the same gather is recorded, so gradients reach it. The functional forms live in
`nn.data.transforms.functional` (hflip, vflip, crop, pad, rotate, affine, normalize, ...).
"""
import math
import numbers
import sys
import types
from collections.abc import Sequence
from enum import Enum

import numpy as np

import autodiff as ad
from autodiff import Tensor
from nn.data._random import rng_from
from nn.module import Module

__all__ = ["InterpolationMode", "Compose", "ToTensor", "PILToTensor", "Normalize", "Resize",
           "CenterCrop", "Pad", "Lambda", "RandomTransforms", "RandomApply", "RandomOrder",
           "RandomChoice", "RandomCrop", "RandomHorizontalFlip", "RandomVerticalFlip",
           "RandomRotation", "RandomAffine", "functional"]


class InterpolationMode(Enum):
    """Interpolation modes, as torchvision's (tensors support nearest and bilinear for
    rotate/affine; nearest, nearest-exact, bilinear and bicubic for resize)."""
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


_PIL_CODES = {0: InterpolationMode.NEAREST, 2: InterpolationMode.BILINEAR,
              3: InterpolationMode.BICUBIC, 4: InterpolationMode.BOX,
              5: InterpolationMode.HAMMING, 1: InterpolationMode.LANCZOS}


def _interpolation(mode, op):
    """InterpolationMode from an InterpolationMode or a Pillow integer constant."""
    if isinstance(mode, InterpolationMode):
        return mode
    if isinstance(mode, numbers.Integral) and not isinstance(mode, bool) and mode in _PIL_CODES:
        return _PIL_CODES[int(mode)]
    raise TypeError(f"{op}: argument interpolation should be a InterpolationMode or a "
                    f"corresponding Pillow integer constant, got {mode!r}; use e.g. "
                    f"InterpolationMode.BILINEAR")


# --- image helpers --------------------------------------------------------------------------

def _check_image(img, op):
    if not isinstance(img, (np.ndarray, Tensor)):
        raise TypeError(f"{op}: img should be a numpy array or an autodiff Tensor laid out "
                        f"[..., H, W], got {type(img).__name__}; convert an HWC uint8 image "
                        f"with ToTensor() first")
    if img.ndim < 2:
        raise TypeError(f"{op}: img should have at least 2 dimensions [..., H, W], got shape "
                        f"{tuple(img.shape)}")


def _array(img):
    return img.data if isinstance(img, Tensor) else img


def _like(arr, img):
    """arr as the type of img: a Tensor (no graph) for a Tensor, the array itself otherwise."""
    return ad.from_numpy(np.ascontiguousarray(arr)) if isinstance(img, Tensor) else arr


def _tracks_grad(img):
    return isinstance(img, Tensor) and img.requires_grad and ad.is_grad_enabled()


def _plain_tensor(img):
    """A Tensor no gradient will flow to: transformed as its array (faster), then wrapped."""
    return isinstance(img, Tensor) and not (img.requires_grad and ad.is_grad_enabled())


def get_dimensions(img):
    """[channels, height, width] of an image laid out [..., H, W] (channels 1 for HW)."""
    _check_image(img, "get_dimensions")
    return [1 if img.ndim == 2 else int(img.shape[-3]), int(img.shape[-2]), int(img.shape[-1])]


def get_image_size(img):
    """[width, height], as torchvision's."""
    _, h, w = get_dimensions(img)
    return [w, h]


def get_image_num_channels(img):
    return get_dimensions(img)[0]


# --- conversion -----------------------------------------------------------------------------

def _pil_image_class():
    try:
        from PIL import Image
    except ImportError:
        return None
    return Image.Image


def to_tensor(pic):
    """HWC (or HW) array or PIL image -> CHW Tensor; uint8 is scaled to [0, 1] in the default
    float dtype, other dtypes are kept unscaled (as torchvision)."""
    pil = _pil_image_class()
    if pil is not None and isinstance(pic, pil):
        modes = {"I": np.int32, "I;16" if sys.byteorder == "little" else "I;16B": np.int16,
                 "F": np.float32}
        arr = np.array(pic, modes.get(pic.mode, np.uint8), copy=True)
        if pic.mode == "1":
            arr = 255 * arr
        arr = arr.reshape(pic.size[1], pic.size[0], len(pic.getbands()))
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"ToTensor: pic should be 2/3 dimensional (HW or HWC). Got "
                             f"{pic.ndim} dimensions, shape {pic.shape}")
        arr = pic[:, :, None] if pic.ndim == 2 else pic
    else:
        raise TypeError(f"ToTensor: pic should be PIL Image or ndarray (HWC). Got "
                        f"{type(pic).__name__}")
    arr = np.ascontiguousarray(arr.transpose(2, 0, 1))
    if arr.dtype == np.uint8:
        dt = np.dtype(ad.get_default_dtype())
        arr = arr.astype(dt) / dt.type(255)
    return ad.from_numpy(arr)


def pil_to_tensor(pic):
    """PIL image -> CHW Tensor of its own dtype, unscaled."""
    pil = _pil_image_class()
    if pil is None or not isinstance(pic, pil):
        raise TypeError(f"PILToTensor: pic should be PIL Image (PIL must be installed). Got "
                        f"{type(pic).__name__}")
    arr = np.array(pic, copy=True)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return ad.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


# --- flips, crops, padding ------------------------------------------------------------------

def hflip(img):
    """out[..., i, j] = img[..., i, W - 1 - j]"""
    _check_image(img, "hflip")
    if _plain_tensor(img):
        return _like(hflip(img.data), img)
    if isinstance(img, Tensor):
        return img.flip(-1)
    return img[..., ::-1].copy()


def vflip(img):
    """out[..., i, j] = img[..., H - 1 - i, j]"""
    _check_image(img, "vflip")
    if _plain_tensor(img):
        return _like(vflip(img.data), img)
    if isinstance(img, Tensor):
        return img.flip(-2)
    return img[..., ::-1, :].copy()


def crop(img, top, left, height, width):
    """out = img[..., top:top + height, left:left + width]; outside the image reads 0"""
    _check_image(img, "crop")
    if _plain_tensor(img):
        return _like(crop(img.data, top, left, height, width), img)
    _, h, w = get_dimensions(img)
    right, bottom = left + width, top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        ltrb = [max(-left + min(0, right), 0), max(-top + min(0, bottom), 0),
                max(right - max(w, left), 0), max(bottom - max(h, top), 0)]
        return pad(img[..., max(top, 0):bottom, max(left, 0):right], ltrb, fill=0)
    return img[..., top:bottom, left:right]


def center_crop(img, output_size):
    """The central output_size = (h, w) window; zero-padded first if the image is smaller"""
    _check_image(img, "center_crop")
    if isinstance(output_size, numbers.Number):
        output_size = (int(output_size), int(output_size))
    elif isinstance(output_size, (tuple, list)) and len(output_size) == 1:
        output_size = (output_size[0], output_size[0])
    _, h, w = get_dimensions(img)
    th, tw = output_size
    if tw > w or th > h:
        ltrb = [(tw - w) // 2 if tw > w else 0, (th - h) // 2 if th > h else 0,
                (tw - w + 1) // 2 if tw > w else 0, (th - h + 1) // 2 if th > h else 0]
        img = pad(img, ltrb, fill=0)
        _, h, w = get_dimensions(img)
        if tw == w and th == h:
            return img
    return crop(img, int(round((h - th) / 2.0)), int(round((w - tw) / 2.0)), th, tw)


_PAD_MODES = ("constant", "edge", "reflect", "symmetric")


def _parse_padding(padding):
    """int | [p] | [lr, tb] | [l, t, r, b] -> [left, right, top, bottom]"""
    if isinstance(padding, numbers.Integral):
        return [int(padding)] * 4
    if len(padding) == 1:
        return [int(padding[0])] * 4
    if len(padding) == 2:
        return [int(padding[0])] * 2 + [int(padding[1])] * 2
    return [int(padding[0]), int(padding[2]), int(padding[1]), int(padding[3])]


def _source_index(n, lo, hi, mode, axis, shape):
    """Index into a length-n axis of every output position when padding it by (lo, hi)."""
    if mode == "symmetric":  # the border value repeats: ... 1 0 | 0 1 ... n-1 | n-1 n-2 ...
        if lo > n or hi > n:
            raise IndexError(f"pad: symmetric padding ({lo}, {hi}) of axis {axis} (size {n}, "
                             f"image shape {tuple(shape)}) reaches past the mirrored image; "
                             f"each side may be at most the axis size")
        k = np.arange(-lo, n + hi)
        return np.where(k < 0, -k - 1, np.where(k >= n, 2 * n - 1 - k, k))
    k = np.arange(-lo, n + hi)  # positions in the uncropped input, as torch.nn.functional.pad
    if mode == "edge" or n == 1:
        return np.clip(k, 0, n - 1)
    if lo >= n or hi >= n:  # reflect: the border value is not repeated
        raise RuntimeError(f"pad: reflect padding ({lo}, {hi}) of axis {axis} must be smaller "
                           f"than its size {n} (image shape {tuple(shape)}); use "
                           f"padding_mode='symmetric' or 'edge' for wider padding")
    k = np.abs(k) % (2 * (n - 1))
    return np.where(k >= n, 2 * (n - 1) - k, k)


def pad(img, padding, fill=0, padding_mode="constant"):
    """Widen the last two axes by padding = p | (lr, tb) | (l, t, r, b) (negative: crop) with
    fill, the edge value, or a mirror image without (reflect) or with (symmetric) the edge"""
    _check_image(img, "pad")
    if _plain_tensor(img):
        return _like(pad(img.data, padding, fill, padding_mode), img)
    if fill is None:
        fill = 0
    if not isinstance(padding, (numbers.Integral, tuple, list)) or isinstance(padding, bool):
        raise TypeError(f"pad: got inappropriate padding arg {padding!r}; give an int or a "
                        f"sequence of 1, 2 or 4 ints")
    if not isinstance(fill, numbers.Real) or isinstance(fill, bool):
        raise TypeError(f"pad: got inappropriate fill arg {fill!r}; only a number is supported "
                        f"for tensor images (per-channel fills are a PIL-only feature)")
    if not isinstance(padding_mode, str):
        raise TypeError(f"pad: got inappropriate padding_mode arg {padding_mode!r}")
    if isinstance(padding, (tuple, list)) and len(padding) not in (1, 2, 4):
        raise ValueError(f"pad: padding must be an int or a 1, 2, or 4 element tuple, not a "
                         f"{len(padding)} element tuple")
    if padding_mode not in _PAD_MODES:
        raise ValueError(f"pad: padding mode should be either constant, edge, reflect or "
                         f"symmetric, got {padding_mode!r}")
    left, right, top, bottom = _parse_padding(padding)
    is_t = isinstance(img, Tensor)
    if padding_mode == "constant":
        if is_t:
            return ad.pad(img, (left, right, top, bottom), "constant", float(fill))
        img = img[..., max(-top, 0):img.shape[-2] - max(-bottom, 0),
                  max(-left, 0):img.shape[-1] - max(-right, 0)]
        top, left = max(top, 0), max(left, 0)
        h, w = img.shape[-2:]
        out = np.full(img.shape[:-2] + (h + top + max(bottom, 0), w + left + max(right, 0)),
                      fill, img.dtype)
        out[..., top:top + h, left:left + w] = img
        return out
    if padding_mode == "symmetric" and min(left, right, top, bottom) < 0:  # crop, then mirror
        img = img[..., max(-top, 0):img.shape[-2] - max(-bottom, 0),
                  max(-left, 0):img.shape[-1] - max(-right, 0)]
        left, right, top, bottom = (max(p, 0) for p in (left, right, top, bottom))
    shape = tuple(img.shape)
    rows = _source_index(shape[-2], top, bottom, padding_mode, -2, shape)
    cols = _source_index(shape[-1], left, right, padding_mode, -1, shape)
    return img[..., rows[:, None], cols[None, :]]


# --- normalize, resize ----------------------------------------------------------------------

def normalize(tensor, mean, std, inplace=False):
    """out[..., c, :, :] = (tensor[..., c, :, :] - mean[c]) / std[c]"""
    _check_image(tensor, "normalize")
    if _plain_tensor(tensor) and not inplace:
        return _like(normalize(tensor.data, mean, std), tensor)
    dtype = tensor.dtype if isinstance(tensor, np.ndarray) else np.dtype(tensor.dtype)
    if dtype.kind != "f":
        raise TypeError(f"normalize: input tensor should be a float tensor. Got {dtype}; "
                        f"convert it with ToTensor() or .float()")
    if tensor.ndim < 3:
        raise ValueError(f"normalize: expected tensor to be a tensor image of size "
                         f"(..., C, H, W). Got tensor.size() = {tuple(tensor.shape)}")
    m = np.asarray(mean, dtype=dtype)
    s = np.asarray(std, dtype=dtype)
    if (s == 0).any():
        raise ValueError(f"normalize: std evaluated to zero after conversion to {dtype}, "
                         f"leading to division by zero (std={std})")
    c = tensor.shape[-3]
    for name, v in (("mean", m), ("std", s)):
        if v.ndim > 1 or v.size not in (1, c):
            raise RuntimeError(f"normalize: {name} has {v.size} values but the image has {c} "
                               f"channels (shape {tuple(tensor.shape)}, channels at dim -3); "
                               f"give one value per channel or a single value")
    m = m.reshape(-1, 1, 1) if m.ndim == 1 else m
    s = s.reshape(-1, 1, 1) if s.ndim == 1 else s
    if isinstance(tensor, Tensor):
        mt, st = ad.from_numpy(m), ad.from_numpy(s)
        return tensor.sub_(mt).div_(st) if inplace else (tensor - mt) / st
    if inplace:
        tensor -= m
        tensor /= s
        return tensor
    return (tensor - m) / s


def _resized_size(h, w, size, max_size):
    if len(size) == 2:
        return [int(size[0]), int(size[1])]
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = int(size[0]), int(int(size[0]) * long / short)
    if max_size is not None:
        if max_size <= new_short:
            raise ValueError(f"resize: max_size = {max_size} must be strictly greater than the "
                             f"requested size for the smaller edge size = {size}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    return [new_h, new_w]


_RESIZE_MODES = ("nearest", "nearest-exact", "bilinear", "bicubic")


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    """Resample the last two axes to size = (h, w), or the shorter edge to size (aspect kept)"""
    _check_image(img, "resize")
    interpolation = _interpolation(interpolation, "resize")
    if isinstance(size, (list, tuple)):
        if len(size) not in (1, 2):
            raise ValueError(f"resize: size must be an int or a 1 or 2 element tuple/list, not "
                             f"a {len(size)} element tuple/list")
        if max_size is not None and len(size) != 1:
            raise ValueError("resize: max_size should only be passed if size specifies the "
                             "length of the smaller edge, i.e. size should be an int or a "
                             "sequence of length 1")
    mode = interpolation.value
    if mode not in _RESIZE_MODES:
        raise NotImplementedError(f"resize: interpolation {mode!r} is a PIL-only mode; tensor "
                                  f"images support {', '.join(_RESIZE_MODES)}")
    _, h, w = get_dimensions(img)
    out_size = _resized_size(h, w, [size] if isinstance(size, int) else list(size), max_size)
    if [h, w] == out_size:
        return img
    from nn.functional import interpolate
    if antialias is None or mode not in ("bilinear", "bicubic"):
        antialias = False
    x = img if isinstance(img, Tensor) else ad.from_numpy(np.ascontiguousarray(img))
    dtype = np.dtype(x.dtype)
    lead = tuple(x.shape[:-2])
    x = x.reshape((-1, 1) + tuple(x.shape[-2:]))
    if dtype.kind != "f":
        x = x.to(ad.float32)
    out = interpolate(x, size=out_size, mode=mode, antialias=bool(antialias),
                      align_corners=False if mode in ("bilinear", "bicubic") else None)
    out = out.reshape(lead + tuple(out_size))
    if dtype.kind != "f":
        arr = out.data
        if mode == "bicubic" and dtype == np.uint8:
            arr = np.clip(arr, 0, 255)
        return _like(np.round(arr).astype(dtype), img)
    return out if isinstance(img, Tensor) else out.data


# --- rotate, affine -------------------------------------------------------------------------

def _inverse_affine_matrix(center, angle, translate, scale, shear):
    """The 2x3 matrix (row-major list) mapping output pixel positions to input positions for
    M = T(translate) C(center) R(angle) S(scale) Sh(shear) C^-1, angles in degrees."""
    rot, sx, sy = math.radians(angle), math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    # R(rot) @ Sh_y(sy) @ Sh_x(sx) divided by cos(sy): a unit-determinant 2x2 block [[a, b],
    # [c, d]]; its inverse is [[d, -b], [-c, a]]
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = [d / scale, -b / scale, 0.0, -c / scale, a / scale, 0.0]
    # x_in = C RSS^-1 C^-1 T^-1 x_out: shift by -(center + translate), map, shift back by center
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty)
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty)
    m[2] += cx
    m[5] += cy
    return m


def _expanded_size(matrix, w, h):
    """(ow, oh) of the bounding box of the mapped image corners (float32, as torchvision)."""
    f32 = np.float32
    pts = np.array([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0],
                    [0.5 * w, 0.5 * h, 1.0], [0.5 * w, -0.5 * h, 1.0]], f32)
    new = pts @ np.asarray(matrix, f32).reshape(2, 3).T
    half = np.array([w * 0.5, h * 0.5], f32)
    lo, hi = new.min(axis=0) + half, new.max(axis=0) + half
    tol = f32(1e-4)  # drop float noise so that ceil(3 + 1e-15) stays 3
    size = np.ceil(np.trunc(hi / tol) * tol) - np.floor(np.trunc(lo / tol) * tol)
    return int(size[0]), int(size[1])


_CENTRES = {}


def _pixel_centres(ow, oh, dtype):
    """x (ow,) and y (oh, 1) of the output pixel centres about the image middle (cached)."""
    key = (ow, oh, dtype.char)
    if key not in _CENTRES:
        if len(_CENTRES) > 64:
            _CENTRES.clear()
        _CENTRES[key] = (np.arange(ow, dtype=dtype) - dtype.type(ow * 0.5 - 0.5),
                         (np.arange(oh, dtype=dtype) - dtype.type(oh * 0.5 - 0.5))[:, None])
    return _CENTRES[key]


def _padded_ones(h, w, dtype):
    """Flat (h + 2) * (w + 2) image of ones framed by zeros (cached)."""
    key = (h, w, dtype.char)
    if key not in _ONES:
        if len(_ONES) > 64:
            _ONES.clear()
        ones = np.zeros((h + 2, w + 2), dtype)
        ones[1:-1, 1:-1] = 1
        _ONES[key] = ones.reshape(-1)
    return _ONES[key]


_ONES = {}


def _sample_coords(matrix, w, h, ow, oh, dtype):
    """Input pixel coordinates (2, oh, ow): x then y, read by every output pixel."""
    half = np.array([0.5 * w, 0.5 * h], dtype).reshape(2, 1, 1)
    theta = np.asarray(matrix, dtype).reshape(2, 3, 1, 1) / half[:, None]
    xs, ys = _pixel_centres(ow, oh, dtype)
    g = xs * theta[:, 0] + ys * theta[:, 1] + theta[:, 2]  # grid_sample's [-1, 1] coordinates
    g += 1
    return _fused_mul_sub_half(g, np.array([w / 2, h / 2]).reshape(2, 1, 1))


def _fused_mul_sub_half(a, s):
    """a * s - 0.5 rounded once, as PyTorch's CPU grid_sample computes it (a fused multiply-
    add): nearest sampling rounds at pixel edges, where a second rounding flips the pixel."""
    if a.dtype == np.float32:  # float64 holds the float32 product exactly
        r = np.multiply(a, s)  # s is float64
        r -= 0.5
        return r.astype(np.float32)
    p = a * s
    c = a * 134217729.0  # Dekker's split: a * s = p + err exactly
    ah = c - (c - a)
    al = a - ah
    c = s * 134217729.0
    sh = c - (c - s)
    sl = s - sh
    err = ((ah * sh - p) + ah * sl + al * sh) + al * sl
    r = p - 0.5  # Knuth's two-sum: p - 0.5 = r + e exactly
    b = r - p
    e = (p - (r - b)) + (-0.5 - b)
    return r + (err + e)


def _taps(pix, w, h, mode):
    """(indices (k, P), weights (k, P) or None) of the k pixels each of the P output pixels
    mixes, indexing the image padded by one zero pixel all round: a position outside the
    image clips onto that border and reads 0 (grid_sample's zeros padding)."""
    hi = np.array([w, h]).reshape(2, 1)
    pix = pix.reshape(2, -1)
    if mode == "nearest":
        n = np.minimum(np.maximum(np.rint(pix), -1), hi).astype(np.intp)  # rint: half to even
        n[1] *= w + 2
        return (n[1] + n[0] + (w + 3))[None], None
    f = np.floor(pix)
    t = pix - f
    f = f.astype(np.intp)
    corner = np.stack([f, f + 1])  # (near/far, x/y, P), each clipped on its own
    corner = np.minimum(np.maximum(corner, -1, out=corner), hi, out=corner)
    corner += 1
    idx = corner[:, None, 1] * (w + 2) + corner[None, :, 0]
    wt = np.stack([1 - t, t])
    wts = wt[:, None, 1] * wt[None, :, 0]
    return idx.reshape(4, -1), wts.reshape(4, -1)  # corners (y0 x0), (y0 x1), (y1 x0), (y1 x1)


def _gather(flat, idx, wts):
    """flat (..., M) read at idx (k, P), weighted by wts (k, P) and summed over k."""
    if wts is None:
        return np.take(flat, idx[0], axis=-1)
    return (np.take(flat, idx, axis=-1) * wts).sum(axis=-2)


def _check_fill(fill, channels, op):
    if fill is None:
        return None
    if isinstance(fill, numbers.Real) and not isinstance(fill, bool):
        return [float(fill)]
    if not isinstance(fill, (tuple, list)):
        raise TypeError(f"{op}: fill should be a number or a sequence of numbers, got "
                        f"{type(fill).__name__}")
    if len(fill) > 1 and len(fill) != channels:
        raise ValueError(f"{op}: the number of elements in 'fill' cannot broadcast to match the "
                         f"number of channels of the image ({len(fill)} != {channels})")
    return [float(f) for f in fill]


def _grid_transform(img, matrix, mode, fill, ow, oh, op):
    """Sample img [..., C, H, W] at the inverse-mapped output pixel centres; fill outside."""
    if mode not in ("nearest", "bilinear"):
        raise ValueError(f"{op}: interpolation mode {mode!r} is unsupported with tensor images; "
                         f"use InterpolationMode.NEAREST or InterpolationMode.BILINEAR")
    c, h, w = get_dimensions(img)
    fill = _check_fill(fill, c, op)
    src = np.dtype(img.dtype)
    dtype = src if src.kind == "f" else np.dtype(np.float32)
    idx, wts = _taps(_sample_coords(matrix, w, h, ow, oh, dtype), w, h, mode)
    if fill is not None:
        fill = np.asarray(fill, dtype).reshape(-1, 1)
    lead = tuple(img.shape[:-2])
    if _tracks_grad(img):  # the same gather, recorded
        mask = None if fill is None else _gather(_padded_ones(h, w, dtype), idx, wts)
        flat = ad.pad(img.reshape(-1, c, h, w), (1, 1, 1, 1)).reshape(-1, c, (h + 2) * (w + 2))
        out = flat[..., idx[0]] if wts is None else \
            (flat[..., idx] * ad.from_numpy(wts)).sum(dim=-2)
        if mask is not None:
            if wts is None:
                out = ad.where(ad.from_numpy(mask < 0.5), ad.from_numpy(fill), out)
            else:
                m = ad.from_numpy(mask)
                out = out * m + (1 - m) * ad.from_numpy(fill)
        return out.reshape(lead + (oh, ow))
    x = _array(img).reshape(-1, c, h, w)
    padded = np.zeros((x.shape[0], c, h + 2, w + 2), dtype)
    if fill is not None and wts is None:  # nearest: a pixel outside reads the fill directly
        padded[...] = fill.reshape(-1, 1, 1)
    padded[:, :, 1:-1, 1:-1] = x
    out = _gather(padded.reshape(x.shape[0], c, -1), idx, wts)
    if fill is not None and wts is not None:  # bilinear: blend by the share read inside
        mask = _gather(_padded_ones(h, w, dtype), idx, wts)
        out = out * mask + (1 - mask) * fill
    if src.kind != "f":
        out = np.round(out).astype(src)
    return _like(out.reshape(lead + (oh, ow)), img)


def rotate(img, angle, interpolation=InterpolationMode.NEAREST, expand=False, center=None,
           fill=None):
    """Rotate counter-clockwise by angle degrees about center (default: the image centre);
    expand=True enlarges the output to hold the whole rotated image"""
    _check_image(img, "rotate")
    interpolation = _interpolation(interpolation, "rotate")
    if not isinstance(angle, numbers.Real) or isinstance(angle, bool):
        raise TypeError(f"rotate: argument angle should be int or float, got "
                        f"{type(angle).__name__}")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError(f"rotate: argument center should be a sequence (x, y), got "
                        f"{type(center).__name__}")
    _, h, w = get_dimensions(img)
    center_f = [0.0, 0.0]
    if center is not None:  # relative to the image centre, in pixels
        center_f = [1.0 * (cc - s * 0.5) for cc, s in zip(center, [w, h])]
    # the sampling matrix maps output to input, so the image turns by +angle
    matrix = _inverse_affine_matrix(center_f, -float(angle), [0.0, 0.0], 1.0, [0.0, 0.0])
    ow, oh = _expanded_size(matrix, w, h) if expand else (w, h)
    return _grid_transform(img, matrix, interpolation.value, fill, ow, oh, "rotate")


def affine(img, angle, translate, scale, shear, interpolation=InterpolationMode.NEAREST,
           fill=None, center=None):
    """x_out = T(translate) C R(angle) S(scale) Sh(shear) C^-1 x_in about center (default: the
    image centre); angle and shear in degrees, clockwise in image coordinates"""
    _check_image(img, "affine")
    interpolation = _interpolation(interpolation, "affine")
    if not isinstance(angle, numbers.Real) or isinstance(angle, bool):
        raise TypeError(f"affine: argument angle should be int or float, got "
                        f"{type(angle).__name__}")
    if not isinstance(translate, (list, tuple)):
        raise TypeError(f"affine: argument translate should be a sequence (tx, ty), got "
                        f"{type(translate).__name__}")
    if len(translate) != 2:
        raise ValueError(f"affine: argument translate should be a sequence of length 2, got "
                         f"{len(translate)} values")
    if scale <= 0.0:
        raise ValueError(f"affine: argument scale should be positive, got {scale}")
    if not isinstance(shear, (numbers.Number, list, tuple)):
        raise TypeError(f"affine: shear should be either a single value or a sequence of two "
                        f"values, got {type(shear).__name__}")
    if isinstance(shear, numbers.Number):
        shear = [shear, 0.0]
    shear = list(shear)
    if len(shear) == 1:
        shear = [shear[0], shear[0]]
    if len(shear) != 2:
        raise ValueError(f"affine: shear should be a sequence containing two values. Got "
                         f"{shear}")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError(f"affine: argument center should be a sequence (x, y), got "
                        f"{type(center).__name__}")
    _, h, w = get_dimensions(img)
    center_f = [0.0, 0.0]
    if center is not None:
        center_f = [1.0 * (cc - s * 0.5) for cc, s in zip(center, [w, h])]
    matrix = _inverse_affine_matrix(center_f, float(angle), [1.0 * t for t in translate],
                                    scale, [float(s) for s in shear])
    return _grid_transform(img, matrix, interpolation.value, fill, w, h, "affine")


# --- the functional namespace ---------------------------------------------------------------

# nn.data.transforms.functional is a module object registered here, as os.path is, so that
# `import nn.data.transforms.functional as F` works from this single file
functional = types.ModuleType(__name__ + ".functional",
                              "Functional forms of nn.data.transforms (torchvision's "
                              "transforms.functional, tensor path).")
_FUNCTIONAL = ["InterpolationMode", "get_dimensions", "get_image_size", "get_image_num_channels",
               "to_tensor", "pil_to_tensor", "hflip", "vflip", "crop", "center_crop", "pad",
               "normalize", "resize", "rotate", "affine"]
for _name in _FUNCTIONAL:
    setattr(functional, _name, globals()[_name])
functional.__all__ = list(_FUNCTIONAL)
sys.modules[functional.__name__] = functional
del _name


# --- transforms -----------------------------------------------------------------------------

def _setup_size(size, error_msg):
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise ValueError(error_msg)
    return size


def _check_sequence_input(x, name, req_sizes):
    msg = req_sizes[0] if len(req_sizes) < 2 else " or ".join(str(s) for s in req_sizes)
    if not isinstance(x, Sequence):
        raise TypeError(f"{name} should be a sequence of length {msg}.")
    if len(x) not in req_sizes:
        raise ValueError(f"{name} should be a sequence of length {msg}.")


def _setup_angle(x, name, req_sizes=(2,)):
    if isinstance(x, numbers.Number):
        if x < 0:
            raise ValueError(f"If {name} is a single number, it must be positive.")
        x = [-x, x]
    else:
        _check_sequence_input(x, name, req_sizes)
    return [float(d) for d in x]


def _setup_fill(fill):
    if fill is None:
        return 0
    if not isinstance(fill, (Sequence, numbers.Number)):
        raise TypeError("Fill should be either a sequence or a number.")
    return fill


def _per_channel(fill, channels):
    return [float(fill)] * channels if isinstance(fill, numbers.Number) else \
        [float(f) for f in fill]


def _rng():
    return rng_from(None)  # looked up per draw: manual_seed and workers replace the generator


def _list_repr(name, transforms, head=""):
    return name + "(" + head + "".join(f"\n    {t}" for t in transforms) + "\n)"


class Compose:
    """img -> transforms[-1](... transforms[0](img))"""

    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        return _list_repr(self.__class__.__name__, self.transforms)


class ToTensor:
    """HWC (or HW) uint8 array or PIL image -> float CHW Tensor in [0, 1]"""

    def __call__(self, pic):
        return to_tensor(pic)

    def __repr__(self):
        return f"{self.__class__.__name__}()"


class PILToTensor:
    """PIL image -> CHW Tensor of the image's dtype, unscaled"""

    def __call__(self, pic):
        return pil_to_tensor(pic)

    def __repr__(self):
        return f"{self.__class__.__name__}()"


class Normalize(Module):
    """out[c] = (img[c] - mean[c]) / std[c]"""

    def __init__(self, mean, std, inplace=False):
        super().__init__()
        self.mean, self.std, self.inplace = mean, std, inplace

    def forward(self, tensor):
        return normalize(tensor, self.mean, self.std, self.inplace)

    def __repr__(self):
        return f"{self.__class__.__name__}(mean={self.mean}, std={self.std})"


class Resize(Module):
    """Resample to size (h, w), or the shorter edge to size keeping the aspect ratio"""

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
                 antialias=True):
        super().__init__()
        if not isinstance(size, (int, Sequence)):
            raise TypeError(f"Size should be int or sequence. Got {type(size)}")
        if isinstance(size, Sequence) and len(size) not in (1, 2):
            raise ValueError("If size is a sequence, it should have 1 or 2 values")
        self.size, self.max_size, self.antialias = size, max_size, antialias
        self.interpolation = _interpolation(interpolation, "Resize")

    def forward(self, img):
        return resize(img, self.size, self.interpolation, self.max_size, self.antialias)

    def __repr__(self):
        return (f"{self.__class__.__name__}(size={self.size}, interpolation="
                f"{self.interpolation.value}, max_size={self.max_size}, "
                f"antialias={self.antialias})")


class CenterCrop(Module):
    """The central (h, w) window, zero-padded if the image is smaller"""

    def __init__(self, size):
        super().__init__()
        self.size = _setup_size(size, "Please provide only two dimensions (h, w) for size.")

    def forward(self, img):
        return center_crop(img, self.size)

    def __repr__(self):
        return f"{self.__class__.__name__}(size={self.size})"


class Pad(Module):
    """Pad the last two axes (see functional.pad)"""

    def __init__(self, padding, fill=0, padding_mode="constant"):
        super().__init__()
        if not isinstance(padding, (numbers.Number, tuple, list)):
            raise TypeError("Got inappropriate padding arg")
        if not isinstance(fill, (numbers.Number, tuple, list)):
            raise TypeError("Got inappropriate fill arg")
        if padding_mode not in _PAD_MODES:
            raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
        if isinstance(padding, Sequence) and len(padding) not in (1, 2, 4):
            raise ValueError(f"Padding must be an int or a 1, 2, or 4 element tuple, not a "
                             f"{len(padding)} element tuple")
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def forward(self, img):
        return pad(img, self.padding, self.fill, self.padding_mode)

    def __repr__(self):
        return (f"{self.__class__.__name__}(padding={self.padding}, fill={self.fill}, "
                f"padding_mode={self.padding_mode})")


class Lambda:
    """img -> lambd(img)"""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return f"{self.__class__.__name__}()"


class RandomTransforms:
    """Base of the transforms that pick among a list of transforms at random."""

    def __init__(self, transforms):
        if not isinstance(transforms, Sequence):
            raise TypeError("Argument transforms should be a sequence")
        self.transforms = transforms

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self.__class__.__name__} is an abstract base; use RandomApply, "
                        f"RandomOrder or RandomChoice")

    def __repr__(self):
        return _list_repr(self.__class__.__name__, self.transforms)


class RandomApply(Module):
    """All of transforms in order with probability p, else the image unchanged"""

    def __init__(self, transforms, p=0.5):
        super().__init__()
        self.transforms, self.p = transforms, p

    def forward(self, img):
        if self.p < _rng().random():
            return img
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        return _list_repr(self.__class__.__name__, self.transforms, f"\n    p={self.p}")


class RandomOrder(RandomTransforms):
    """All of transforms, in a uniformly random order"""

    def __call__(self, img):
        for i in _rng().permutation(len(self.transforms)):
            img = self.transforms[i](img)
        return img


class RandomChoice(RandomTransforms):
    """One of transforms, picked with relative weights p (uniform if None)"""

    def __init__(self, transforms, p=None):
        super().__init__(transforms)
        if p is not None and not isinstance(p, Sequence):
            raise TypeError("Argument p should be a sequence")
        if p is not None and len(p) != len(transforms):
            raise ValueError(f"The number of weights does not match the population: "
                             f"{len(p)} weights for {len(transforms)} transforms")
        self.p = p

    def __call__(self, *args):
        n = len(self.transforms)
        if n == 0:
            raise IndexError("RandomChoice: cannot choose from an empty list of transforms")
        if self.p is None:
            i = int(_rng().integers(n))
        else:
            cum = np.cumsum(np.asarray(self.p, dtype=np.float64))
            if not cum[-1] > 0:
                raise ValueError(f"Total of weights must be greater than zero, got p={self.p}")
            i = min(int(np.searchsorted(cum, _rng().random() * cum[-1], side="right")), n - 1)
        return self.transforms[i](*args)

    def __repr__(self):
        return f"{super().__repr__()}(p={self.p})"


class RandomCrop(Module):
    """A (h, w) window at a uniformly random position, after optional padding"""

    @staticmethod
    def get_params(img, output_size):
        """(top, left, h, w): top and left uniform over the positions where the crop fits"""
        _, h, w = get_dimensions(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size "
                             f"{(h, w)}; pass pad_if_needed=True or padding=...")
        if w == tw and h == th:
            return 0, 0, h, w
        rng = _rng()
        i = int(rng.integers(0, h - th + 1))
        j = int(rng.integers(0, w - tw + 1))
        return i, j, th, tw

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        super().__init__()
        self.size = tuple(_setup_size(size, "Please provide only two dimensions (h, w) for "
                                            "size."))
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"Padding mode should be either constant, edge, reflect or "
                             f"symmetric, got {padding_mode!r}")
        self.padding, self.pad_if_needed = padding, pad_if_needed
        self.fill, self.padding_mode = fill, padding_mode

    def forward(self, img):
        if self.padding is not None:
            img = pad(img, self.padding, self.fill, self.padding_mode)
        _, height, width = get_dimensions(img)
        if self.pad_if_needed and width < self.size[1]:
            img = pad(img, [self.size[1] - width, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and height < self.size[0]:
            img = pad(img, [0, self.size[0] - height], self.fill, self.padding_mode)
        return crop(img, *self.get_params(img, self.size))

    def __repr__(self):
        return f"{self.__class__.__name__}(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip(Module):
    """hflip with probability p"""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, img):
        return hflip(img) if _rng().random() < self.p else img

    def __repr__(self):
        return f"{self.__class__.__name__}(p={self.p})"


class RandomVerticalFlip(Module):
    """vflip with probability p"""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, img):
        return vflip(img) if _rng().random() < self.p else img

    def __repr__(self):
        return f"{self.__class__.__name__}(p={self.p})"


class RandomRotation(Module):
    """rotate by an angle uniform in degrees = (min, max), or (-degrees, degrees)"""

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand=False,
                 center=None, fill=0):
        super().__init__()
        self.interpolation = _interpolation(interpolation, "RandomRotation")
        self.degrees = _setup_angle(degrees, name="degrees", req_sizes=(2,))
        if center is not None:
            _check_sequence_input(center, "center", req_sizes=(2,))
        self.center, self.expand = center, expand
        self.fill = _setup_fill(fill)

    @staticmethod
    def get_params(degrees):
        """An angle uniform in [degrees[0], degrees[1]]"""
        return float(_rng().uniform(float(degrees[0]), float(degrees[1])))

    def forward(self, img):
        _check_image(img, "RandomRotation")
        fill = _per_channel(self.fill, get_dimensions(img)[0])
        angle = self.get_params(self.degrees)
        return rotate(img, angle, self.interpolation, self.expand, self.center, fill)

    def __repr__(self):
        s = (f"{self.__class__.__name__}(degrees={self.degrees}, interpolation="
             f"{self.interpolation.value}, expand={self.expand}")
        if self.center is not None:
            s += f", center={self.center}"
        return s + f", fill={self.fill})"


class RandomAffine(Module):
    """affine with angle, translation, scale and shear drawn uniformly from the given ranges"""

    def __init__(self, degrees, translate=None, scale=None, shear=None,
                 interpolation=InterpolationMode.NEAREST, fill=0, center=None):
        super().__init__()
        self.interpolation = _interpolation(interpolation, "RandomAffine")
        self.degrees = _setup_angle(degrees, name="degrees", req_sizes=(2,))
        if translate is not None:
            _check_sequence_input(translate, "translate", req_sizes=(2,))
            for t in translate:
                if not 0.0 <= t <= 1.0:
                    raise ValueError("translation values should be between 0 and 1")
        self.translate = translate
        if scale is not None:
            _check_sequence_input(scale, "scale", req_sizes=(2,))
            for s in scale:
                if s <= 0:
                    raise ValueError("scale values should be positive")
        self.scale = scale
        self.shear = None if shear is None else _setup_angle(shear, name="shear",
                                                              req_sizes=(2, 4))
        self.fill = _setup_fill(fill)
        if center is not None:
            _check_sequence_input(center, "center", req_sizes=(2,))
        self.center = center

    @staticmethod
    def get_params(degrees, translate, scale_ranges, shears, img_size):
        """(angle, (tx, ty), scale, (shear_x, shear_y)); img_size = [width, height];
        tx = round(uniform(-translate[0] * width, translate[0] * width)), likewise ty"""
        rng = _rng()
        angle = float(rng.uniform(float(degrees[0]), float(degrees[1])))
        if translate is not None:
            max_dx = float(translate[0] * img_size[0])
            max_dy = float(translate[1] * img_size[1])
            translations = (int(round(rng.uniform(-max_dx, max_dx))),
                            int(round(rng.uniform(-max_dy, max_dy))))
        else:
            translations = (0, 0)
        scale = 1.0
        if scale_ranges is not None:
            scale = float(rng.uniform(scale_ranges[0], scale_ranges[1]))
        shear_x = shear_y = 0.0
        if shears is not None:
            shear_x = float(rng.uniform(shears[0], shears[1]))
            if len(shears) == 4:
                shear_y = float(rng.uniform(shears[2], shears[3]))
        return angle, translations, scale, (shear_x, shear_y)

    def forward(self, img):
        _check_image(img, "RandomAffine")
        channels, height, width = get_dimensions(img)
        fill = _per_channel(self.fill, channels)
        ret = self.get_params(self.degrees, self.translate, self.scale, self.shear,
                              [width, height])
        return affine(img, *ret, interpolation=self.interpolation, fill=fill, center=self.center)

    def __repr__(self):
        s = f"{self.__class__.__name__}(degrees={self.degrees}"
        s += f", translate={self.translate}" if self.translate is not None else ""
        s += f", scale={self.scale}" if self.scale is not None else ""
        s += f", shear={self.shear}" if self.shear is not None else ""
        if self.interpolation != InterpolationMode.NEAREST:
            s += f", interpolation={self.interpolation.value}"
        s += f", fill={self.fill}" if self.fill != 0 else ""
        s += f", center={self.center}" if self.center is not None else ""
        return s + ")"
