"""Numerical helpers with PyTorch's names: frexp, renorm, gradient (finite differences), vander,
histogram, histogramdd.

frexp's mantissa is one primitive (its gradient scales g by 2**-exponent); renorm, gradient and
vander are compositions of recorded ops (norms, slices, products), so their gradients to every
order come from those. The histograms count: they have no gradient.
"""
import builtins
import numbers
from collections import namedtuple

import numpy as np

from ..dtypes import get_default_dtype
from ..function import Node, apply1
from ..tensor import Tensor, _axis
from ._operands import tensor_arg
from .decompositions import vector_norm
from .elementwise import raw, where
from .shape import cat, flip, getitem, reshape

__all__ = ["frexp", "renorm", "gradient", "vander", "histogram", "histogramdd"]

frexp_result = namedtuple("frexp", ["mantissa", "exponent"])
histogram_result = namedtuple("histogram", ["hist", "bin_edges"])
histogramdd_result = namedtuple("histogramdd", ["hist", "bin_edges"])


def _float_only(x, op):
    if x.data.dtype.kind != "f":
        raise RuntimeError(f"torch.{op}() only supports floating-point dtypes, got "
                           f"{x.data.dtype}; convert first, e.g. x.double()")


# --- frexp -------------------------------------------------------------------------------------

def _inverse_scale(x):
    """2**-exponent of frexp(x), in x's dtype (1 at 0, inf and nan, where the exponent is 0)"""
    with np.errstate(over="ignore"):  # (subnormal x: inf, as PyTorch's g / 2**exponent)
        return np.ldexp(np.ones((), x.dtype), -np.frexp(x)[1]).astype(x.dtype, copy=False)


class Frexp(Node):
    """out = mantissa of x = x * 2**-exponent (piecewise linear); dx = g * 2**-exponent"""
    __slots__ = ()
    reads = ((0,),)

    def forward(self, x):
        return np.frexp(x)[0]

    def backward(self, g, out, x):
        return (g * _inverse_scale(raw(x)),)


def frexp(x):
    """(mantissa, exponent) with x = mantissa * 2**exponent, 0.5 <= |mantissa| < 1 (0 at 0);
    the exponent is int32 and carries no gradient"""
    x = tensor_arg(x, "frexp")
    _float_only(x, "frexp")
    exponent = Tensor._const(np.frexp(x.data)[1].astype(np.int32))
    return frexp_result(apply1(Frexp(), x), exponent)


# --- renorm -------------------------------------------------------------------------------------

def renorm(x, p, dim, maxnorm):
    """Each slice x[..., i, ...] along dim whose p-norm exceeds maxnorm scaled to norm maxnorm:
    out = x * where(norm > maxnorm, maxnorm / (norm + 1e-7), 1), PyTorch's formula"""
    x = tensor_arg(x, "renorm")
    nd = x.data.ndim
    if nd < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {nd} dimensions "
                           f"(shape {x.data.shape})")
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not p > 0:
        raise RuntimeError(f"renorm: non-positive-norm not supported (p = {p!r}); p must be > 0")
    if not maxnorm >= 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    if x.data.dtype.kind != "f":
        raise RuntimeError(f"renorm: expected a floating point tensor, got {x.data.dtype}; "
                           f"convert first, e.g. x.double()")
    d = _axis(dim, nd, "renorm")
    norm = vector_norm(x, p, tuple(i for i in range(nd) if i != d), keepdim=True)
    factor = where(Tensor._const(raw(norm) > maxnorm), maxnorm / (norm + 1e-7),
                   Tensor._const(np.ones((), x.data.dtype)))
    return x * factor


# --- gradient -----------------------------------------------------------------------------------

def _gradient_spacing(spacing, dims, x):
    """One spacing per dim: a number (uniform steps) or a 1-d coordinates tensor"""
    if isinstance(spacing, (list, tuple)):
        spacing = list(spacing)
        if len(spacing) != len(dims):
            raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or "
                               f"a list of length {len(dims)} (one per dim in {list(dims)}), "
                               f"but got a list of length {len(spacing)}")
    else:
        spacing = [spacing] * len(dims)
    out = []
    for s, d in zip(spacing, dims):
        if isinstance(s, Tensor) or isinstance(s, np.ndarray):
            s = tensor_arg(s, "gradient", "spacing")
            if s.data.ndim != 1:
                raise RuntimeError(f"torch.gradient expected each element of spacing to have one "
                                   f"dimension, but got an element with {s.data.ndim} dimensions!")
            if s.data.shape[0] != x.data.shape[d]:
                raise RuntimeError(f"torch.gradient: the coordinates for dim {d} have "
                                   f"{s.data.shape[0]} elements but the input has "
                                   f"{x.data.shape[d]} along that dim")
            if s.data.dtype.kind not in "f":
                s = s.to(get_default_dtype())
        elif isinstance(s, bool) or not isinstance(s, numbers.Number):
            raise TypeError(f"torch.gradient: spacing must be a number, a list of numbers or a "
                            f"list of 1-d tensors, got {type(s).__name__}")
        out.append(s)
    return out


def _at(x, d, start, stop=None):
    return getitem(x, (slice(None),) * d + (slice(start, stop),))


def _along(c, d, nd):
    """A 1-d tensor of coefficients shaped to broadcast along dim d of an nd-dim tensor"""
    return reshape(c, (1,) * d + (-1,) + (1,) * (nd - d - 1))


def _derivative(f, d, h, edge_order):
    """numpy.gradient's second-order accurate central differences along d, as PyTorch computes
    them (uniform step h or coordinates h), with one-sided differences at the edges"""
    nd = f.data.ndim
    if not isinstance(h, Tensor):
        center = (_at(f, d, 2) - _at(f, d, 0, -2)) / h / 2
        if edge_order == 1:
            first = (_at(f, d, 1, 2) - _at(f, d, 0, 1)) / h
            last = (_at(f, d, -1) - _at(f, d, -2, -1)) / h
        else:
            first = (-1.5 * _at(f, d, 0, 1) + 2 * _at(f, d, 1, 2) - 0.5 * _at(f, d, 2, 3)) / h
            last = (0.5 * _at(f, d, -3, -2) - 2 * _at(f, d, -2, -1) + 1.5 * _at(f, d, -1)) / h
        return cat([first, center, last], d)
    dx = h[1:] - h[:-1]
    dx1, dx2 = dx[:-1], dx[1:]
    a = _along(-dx2 / (dx1 * (dx1 + dx2)), d, nd)
    b = _along((dx2 - dx1) / (dx1 * dx2), d, nd)
    c = _along(dx1 / (dx2 * (dx1 + dx2)), d, nd)
    center = a * _at(f, d, 0, -2) + b * _at(f, d, 1, -1) + c * _at(f, d, 2)
    if edge_order == 1:
        first = (_at(f, d, 1, 2) - _at(f, d, 0, 1)) / dx[0]
        last = (_at(f, d, -1) - _at(f, d, -2, -1)) / dx[-1]
    else:
        h0, h1 = dx[0], dx[1]
        first = (-(2.0 * h0 + h1) / (h0 * (h0 + h1)) * _at(f, d, 0, 1)
                 + (h0 + h1) / (h0 * h1) * _at(f, d, 1, 2)
                 + -h0 / (h1 * (h0 + h1)) * _at(f, d, 2, 3))
        h0, h1 = dx[-2], dx[-1]
        last = (h1 / (h0 * (h1 + h0)) * _at(f, d, -3, -2)
                - (h1 + h0) / (h1 * h0) * _at(f, d, -2, -1)
                + (2 * h1 + h0) / (h1 * (h1 + h0)) * _at(f, d, -1))
    return cat([first, center, last], d)


def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """The derivative estimated along each dim in dim (all when None) by central differences
    (numpy.gradient), uniform `spacing` or coordinates per dim; a tuple, one tensor per dim"""
    f = tensor_arg(input, "gradient")
    if edge_order not in (1, 2) or isinstance(edge_order, bool):
        raise RuntimeError(f"torch.gradient only supports edge_order=1 and edge_order=2, got "
                           f"{edge_order!r}")
    nd = f.data.ndim
    if dim is None:
        dims = tuple(range(nd))
    else:
        listed = tuple(dim) if isinstance(dim, (list, tuple)) else (dim,)
        dims = tuple(_axis(d, nd, "gradient") for d in listed)
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"torch.gradient: dim {dims} appears multiple times in the list "
                               f"of dims")
        if dims and not nd:
            raise IndexError("torch.gradient: a 0-d tensor has no dims to differentiate along")
    if f.data.dtype.kind != "f":
        f = f.to(get_default_dtype())
    hs = _gradient_spacing(spacing, dims, f)
    for d in dims:
        if f.data.shape[d] < edge_order + 1:
            raise RuntimeError(f"torch.gradient expected each dimension size to be at least "
                               f"edge_order+1 ({edge_order + 1}), got size {f.data.shape[d]} "
                               f"along dim {d} (shape {f.data.shape})")
    return tuple(_derivative(f, d, h, edge_order) for d, h in zip(dims, hs))


# --- vander -------------------------------------------------------------------------------------

def vander(x, N=None, increasing=False):
    """The Vandermonde matrix: out[i, j] = x[i] ** (N - 1 - j) (x[i] ** j when increasing), N
    columns (len(x) by default)"""
    x = tensor_arg(x, "vander")
    if x.data.ndim != 1:
        raise RuntimeError(f"vander: x must be a one-dimensional tensor, got shape "
                           f"{x.data.shape}")
    n = x.data.shape[0]
    N = n if N is None else N
    if isinstance(N, bool) or not isinstance(N, numbers.Integral):
        raise TypeError(f"vander: N must be an int, got {type(N).__name__}")
    if N < 0:
        raise RuntimeError(f"vander: N must be non-negative, got {N}")
    if x.data.dtype.kind != "f":  # integers and bools: int64 powers, no gradient
        return Tensor._const(np.vander(x.data.astype(np.int64), N, increasing))
    ones = Tensor._const(np.ones((n, min(N, 1)), x.data.dtype))
    if N <= 1:
        return ones
    # repeated products (not cumprod, whose second order is not exact at zeros): x, x*x, ...
    powers = [ones, reshape(x, (n, 1))]
    for _ in range(N - 2):
        powers.append(powers[-1] * powers[1])
    out = cat(powers, 1)
    return out if increasing else flip(out, 1)


# --- histograms ---------------------------------------------------------------------------------

def _hist_input(x, weight, op):
    x = tensor_arg(x, op)
    if x.data.dtype.kind != "f":
        raise NotImplementedError(f'"{op}" not implemented for {x.data.dtype}: histograms take '
                                  f'floating point inputs (convert with x.float())')
    w = None if weight is None else np.asarray(raw(tensor_arg(weight, op, "weight")))
    if w is not None and w.dtype != x.data.dtype:
        raise RuntimeError(f"torch.{op}: if weight tensor is provided, it should have the same "
                           f"dtype as the input tensor ({x.data.dtype}), got {w.dtype}")
    return x, w


def _check_range(lo, hi, d, op):
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"torch.{op}: dimension {d}'s range [{lo}, {hi}] is not finite")
    if lo > hi:
        raise RuntimeError(f"torch.{op}: min should not exceed max, but got min {lo} max {hi} "
                           f"for dimension {d}")


def _bins_arg(bins, d, op, dtype):
    if isinstance(bins, (Tensor, np.ndarray)):
        edges = np.asarray(raw(bins))
        if edges.dtype != dtype:
            raise RuntimeError(f"torch.{op}: input tensor and bins tensors should have the same "
                               f"dtype, but got input with dtype {dtype} and bins for dimension "
                               f"{d} with dtype {edges.dtype}")
        if edges.ndim != 1 or edges.size < 1:
            raise RuntimeError(f"torch.{op}: bins for dimension {d} must be a 1-d tensor of "
                               f"bin edges, got shape {edges.shape}")
        return edges
    if isinstance(bins, bool) or not isinstance(bins, numbers.Integral):
        raise TypeError(f"torch.{op}: bins must be an int or a 1-d tensor of bin edges, got "
                        f"{type(bins).__name__}")
    if bins <= 0:
        raise RuntimeError(f"torch.{op}(): bins must be > 0, but got {bins} for dimension {d}")
    return int(bins)


def histogramdd(input, bins, *, range=None, weight=None, density=False):
    """The histogram of the points input[..., :] (the last dim holds each point's D
    coordinates): counts (or summed weights) per bin, and the D tensors of bin edges"""
    x, w = _hist_input(input, weight, "histogramdd")
    if x.data.ndim < 2:
        raise RuntimeError(f"torch.histogramdd: input tensor should have at least 2 dimensions, "
                           f"got shape {x.data.shape}")
    D = x.data.shape[-1]
    points = x.data.reshape(-1, D)
    if w is not None and w.shape != x.data.shape[:-1]:
        raise RuntimeError(f"torch.histogramdd: if weight tensor is provided it should have the "
                           f"same shape as the input tensor excluding its innermost dimension, "
                           f"but got input with shape {list(x.data.shape)} and weight with "
                           f"shape {list(w.shape)}")
    if isinstance(bins, (list, tuple)):
        if len(bins) != D:
            raise RuntimeError(f"torch.histogramdd: expected {D} sequences of bin edges or bin "
                               f"counts (one per dimension), got {len(bins)}")
        bins = [_bins_arg(b, d, "histogramdd", x.data.dtype) for d, b in enumerate(bins)]
    else:
        bins = [_bins_arg(bins, d, "histogramdd", x.data.dtype) for d in builtins.range(D)]
    if range is not None:
        range = [float(v) for v in range]
        if len(range) != 2 * D:
            raise RuntimeError(f"torch.histogramdd: expected a range of {2 * D} values (min and "
                               f"max for each of the {D} dimensions), got {len(range)}")
    pairs = []
    for d in builtins.range(D):
        if isinstance(bins[d], np.ndarray):
            pairs.append(None)
            continue
        if range is not None:
            lo, hi = range[2 * d], range[2 * d + 1]
        elif points.shape[0]:
            lo, hi = float(points[:, d].min()), float(points[:, d].max())
        else:
            lo, hi = 0.0, 1.0
        _check_range(lo, hi, d, "histogramdd")
        pairs.append((lo, hi))
    hist, edges = np.histogramdd(points, bins, range=pairs,
                                 weights=None if w is None else w.reshape(-1), density=density)
    dt = x.data.dtype
    return histogramdd_result(Tensor._const(hist.astype(dt)),
                              tuple(Tensor._const(e.astype(dt)) for e in edges))


def histogram(input, bins, *, range=None, weight=None, density=False):
    """The histogram of input's elements: counts (or summed weights) in `bins` equal bins over
    range (min and max of input by default), or between the given bin edges"""
    x, w = _hist_input(input, weight, "histogram")
    if w is not None and w.shape != x.data.shape:
        raise RuntimeError(f"torch.histogram: if weight tensor is provided it should have the "
                           f"same shape as the input tensor, but got input with shape "
                           f"{list(x.data.shape)} and weight with shape {list(w.shape)}")
    hist, edges = histogramdd(reshape(x, (-1, 1)), [bins], range=range,
                              weight=None if w is None else w.reshape(-1), density=density)
    return histogram_result(hist, edges[0])


METHODS = {"frexp": frexp, "renorm": renorm, "histogram": histogram}
