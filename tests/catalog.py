"""The op catalog: every differentiable public op, once, with its numpy reference, its input
shapes and its safe input domain. tests/test_catalog.py turns each entry into forward,
first-order and second-order checks over hypothesis-drawn shapes."""
import math
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad

MAX_SIDE = 3


@dataclass
class Op:
    name: str                      # the public op this entry covers
    fn: Callable                   # (*tensors, **params) -> Tensor
    ref: Callable                  # (*arrays, **params) -> ndarray
    shapes: Callable               # draw -> list of input shapes
    domain: object = "real"        # a name from DOMAINS, or one per input
    params: Optional[Callable] = None   # (draw, shapes) -> dict of keyword params
    eps: float = 1e-6
    rtol: float = 1e-5
    constants: tuple = ()          # inputs that are not differentiated (masks, indices)
    label: str = ""
    # seconds per second-order example (recurrent cells, attention): the second-order sweep
    # draws a third of the profile's examples, the subset check one (their shapes are fixed or
    # tiny, so more examples vary values, not branches)
    slow: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def id(self):
        return self.name + (f"[{self.label}]" if self.label else "")


# --- shapes ------------------------------------------------------------------------------------

def unary(min_dims=0, min_side=1):
    def draw_shapes(draw):
        return [draw(hnp.array_shapes(min_dims=min_dims, max_dims=3, min_side=min_side,
                                      max_side=MAX_SIDE))]
    return draw_shapes


def broadcastable(n):
    def draw_shapes(draw):
        b = draw(hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=3,
                                                   min_side=1, max_side=MAX_SIDE))
        return list(b.input_shapes)
    return draw_shapes


def fixed(*shapes):
    return lambda draw: [tuple(s) for s in shapes]


def a_dim(draw, shape, allow_none=True, allow_tuple=True):
    """None, one dim (maybe negative) or a tuple of dims of `shape`."""
    nd = len(shape)
    options = [st.none()] if allow_none else []
    if nd:
        options.append(st.integers(-nd, nd - 1))
        if allow_tuple:
            options.append(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd,
                                    unique=True).map(tuple))
    return draw(st.one_of(options)) if options else None


# --- domains -----------------------------------------------------------------------------------

def _away(rng, shape, low=0.2, high=2.0):
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(low, high, size=shape)


def _distinct(rng, shape):
    n = int(np.prod(shape))
    vals = rng.permutation(np.linspace(-2, 2, max(n, 1)))[:n] + rng.uniform(-0.01, 0.01, n)
    return vals.reshape(shape)


DOMAINS = {
    "real": lambda rng, s: rng.uniform(-2, 2, size=s),
    "positive": lambda rng, s: rng.uniform(0.3, 2, size=s),
    "away": _away,                        # |x| >= 0.2: away from the kinks at 0
    "distinct": _distinct,                # no ties (amax, sorting-like ops)
    "unit": lambda rng, s: rng.uniform(-0.9, 0.9, size=s),
    "between_steps": lambda rng, s: rng.choice([-1.8, -1.3, -0.7, -0.2, 0.2, 0.7, 1.3, 1.8],
                                               size=s) + rng.uniform(-0.1, 0.1, size=s),
    # (away from the integers and half-integers where floor, round ... jump)
    "away_half": lambda rng, s: rng.choice([-1.5, -0.2, 0.2, 1.5], size=s)
    + rng.uniform(-0.15, 0.15, size=s),  # away from clamp bounds at +-0.5 and +-1
}


# --- references ---------------------------------------------------------------------------------

def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_logsumexp(x, dim=None, keepdim=False):
    m = np.max(x, axis=dim, keepdims=True)
    out = m + np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True))
    return out if keepdim else np.squeeze(out, axis=dim) if dim is not None else out.reshape(())


def np_softmax(x, dim):
    e = np.exp(x - np.max(x, axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def _norm_dim(dim, nd):
    if dim is None:
        return None
    if isinstance(dim, tuple):
        return tuple(d % nd for d in dim)
    return dim % nd


def _torch_pad_widths(x, pad):
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return widths


NP_PAD_MODE = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
               "circular": "wrap"}


# --- the catalog --------------------------------------------------------------------------------

def reduce_params(allow_tuple=True, keepdim=True):
    def params(draw, shapes):
        p = {"dim": a_dim(draw, shapes[0], allow_tuple=allow_tuple)}
        if keepdim:
            p["keepdim"] = draw(st.booleans())
        return p
    return params


def one_dim_param(draw, shapes):
    nd = len(shapes[0])
    return {"dim": draw(st.integers(-nd, nd - 1))}


def _reduce_ref(fn):
    def ref(x, dim=None, keepdim=False):
        return fn(x, axis=_norm_dim(dim, x.ndim), keepdims=keepdim)
    return ref


def _softmax_ref(x, dim):
    return np_softmax(x, dim)


def _broadcast_target(draw, shapes):
    shape = shapes[0]
    target = tuple(draw(st.integers(1, MAX_SIDE)) if n == 1 else n for n in shape)
    lead = draw(st.lists(st.integers(1, MAX_SIDE), max_size=1))
    return {"shape": tuple(lead) + target}


def _permutation(draw, shapes):
    nd = len(shapes[0])
    return {"dims": tuple(draw(st.permutations(range(nd))))}


def _getitem_basic(draw, shapes):
    index = tuple(draw(st.one_of(st.integers(-n, n - 1), st.slices(n))) for n in shapes[0])
    return {"index": index[:draw(st.integers(0, len(index)))]}


def _gather_index(draw, shapes):
    shape = shapes[0]
    d = draw(st.integers(0, len(shape) - 1))
    seed = draw(st.integers(0, 2**16))
    idx = np.random.default_rng(seed).integers(0, shape[d], size=shape)
    return {"dim": d, "index": idx}


def _np_gather(x, dim, index):
    return np.take_along_axis(x, index, axis=dim)


def _class_target(draw, shapes):
    shape = shapes[0]
    d = draw(st.integers(0, len(shape) - 1))
    seed = draw(st.integers(0, 2**16))
    target_shape = shape[:d] + shape[d + 1:]
    return {"dim": d, "target": np.random.default_rng(seed).integers(0, shape[d], target_shape)}


def _np_index_put(x, v):
    out = x.copy()
    out[:, [2, 0]] = v
    return out


def _np_index_put_row(x, v):
    out = x.copy()
    out[1] = v
    return out


def _split_params(draw, shapes):
    d = draw(st.integers(0, len(shapes[0]) - 1))
    return {"size": draw(st.integers(1, MAX_SIDE)), "dim": d}


def _pad_params(draw, shapes):
    nd = len(shapes[0])
    k = draw(st.integers(1, nd))
    mode = draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    pad = []
    for i in range(k):
        n = shapes[0][nd - 1 - i]
        hi = n - 1 if mode == "reflect" else (n if mode == "circular" else 2)
        pad += [draw(st.integers(0, hi)), draw(st.integers(0, hi))]
    return {"pad": tuple(pad), "mode": mode}


def _np_pad(x, pad, mode):
    return np.pad(x, _torch_pad_widths(x, pad), mode=NP_PAD_MODE[mode])


def matmul_shapes(draw):
    """x @ y of every rank pairing MatMul's rule tells apart: 1-D operands (vectors), 2-D,
    batched times 2-D (a shared weight), 2-D times batched, and batch dims that broadcast
    (size 1, or missing) on either side."""
    n, k, m = (draw(st.integers(1, MAX_SIDE)) for _ in range(3))
    batch = tuple(draw(st.lists(st.integers(1, 2), max_size=2)))
    x_rank, y_rank = draw(st.integers(1, 2 + len(batch))), draw(st.integers(1, 2 + len(batch)))

    def lead(rank):  # the last rank - 2 batch dims, some of them 1 (broadcast)
        dims = batch[len(batch) - max(rank - 2, 0):]
        return tuple(draw(st.sampled_from([d, 1])) for d in dims)
    x = (k,) if x_rank == 1 else lead(x_rank) + (n, k)
    y = (k,) if y_rank == 1 else lead(y_rank) + (k, m)
    return [x, y]


def linear_shapes(draw):
    """linear's input (any leading dims, or a vector), weight, and a bias or none."""
    n_in, n_out = draw(st.integers(1, MAX_SIDE)), draw(st.integers(1, MAX_SIDE))
    lead = tuple(draw(st.lists(st.integers(1, 2), max_size=3)))
    return [lead + (n_in,), (n_out, n_in)] + ([(n_out,)] if draw(st.booleans()) else [])


def _sum_tuple(xs):
    total = xs[0].sum()
    for t in xs[1:]:
        total = total + (t * (1.0 + t.numel())).sum()  # weight pieces differently
    return total


def _first_and_last(xs):
    """The pieces between get no gradient: the split's rule fills zeros for them."""
    return xs[0].sum() + (xs[-1] * xs[-1]).sum()


def _np_sum_tuple(xs):
    return sum(x.sum() * (1.0 if i == 0 else 1.0 + x.size) for i, x in enumerate(xs))


CATALOG = [
    # elementwise, binary (broadcasting, including 0-d)
    Op("add", lambda x, y: x + y, np.add, broadcastable(2)),
    Op("sub", lambda x, y: x - y, np.subtract, broadcastable(2)),
    Op("mul", lambda x, y: x * y, np.multiply, broadcastable(2)),
    Op("div", lambda x, y: x / y, np.divide, broadcastable(2), domain=("real", "away")),
    Op("pow", lambda x, y: x ** y, np.power, broadcastable(2), domain=("positive", "real"),
       label="tensor exponent"),
    Op("pow", lambda x: x ** 3, lambda x: x ** 3, unary(), label="cube"),
    Op("pow", lambda x: x ** 0.5, np.sqrt, unary(), domain="positive", label="sqrt"),
    Op("pow", lambda x: 2.0 ** x, lambda x: 2.0 ** x, unary(), label="number base"),
    Op("pow", lambda x: x ** -1, lambda x: 1 / x, unary(), domain="away", label="inverse"),
    Op("maximum", ad.maximum, np.maximum, broadcastable(2)),
    Op("minimum", ad.minimum, np.minimum, broadcastable(2)),
    Op("where", lambda c, x, y: ad.where(c > 0, x, y), lambda c, x, y: np.where(c > 0, x, y),
       broadcastable(3), constants=(0,)),
    # elementwise, unary
    Op("neg", lambda x: -x, np.negative, unary()),
    Op("exp", ad.exp, np.exp, unary()),
    Op("log", ad.log, np.log, unary(), domain="positive"),
    Op("log1p", ad.log1p, np.log1p, unary(), domain="positive"),
    Op("sqrt", ad.sqrt, np.sqrt, unary(), domain="positive"),
    Op("sin", ad.sin, np.sin, unary()),
    Op("cos", ad.cos, np.cos, unary()),
    Op("tanh", ad.tanh, np.tanh, unary()),
    Op("sigmoid", ad.sigmoid, np_sigmoid, unary()),
    Op("erf", ad.erf, np.vectorize(math.erf, otypes=[float]), unary()),
    Op("tanh_backward", ad.tanh_backward, lambda g, y: g * (1 - y * y), broadcastable(2)),
    Op("sigmoid_backward", ad.sigmoid_backward, lambda g, y: g * y * (1 - y), broadcastable(2)),
    Op("relu", ad.relu, lambda x: np.maximum(x, 0), unary(), domain="away"),
    Op("abs", ad.abs, np.abs, unary(), domain="away"),
    Op("sign", ad.sign, np.sign, unary(), domain="away"),  # (a zero gradient, as PyTorch)
    Op("clamp", lambda x: ad.clamp(x, -0.5, 1.0), lambda x: np.clip(x, -0.5, 1.0), unary(),
       domain="away_half"),
    Op("clip", lambda x: ad.clip(x, min=-0.5), lambda x: np.maximum(x, -0.5), unary(),
       domain="away_half"),
    Op("clamp", lambda x, lo: ad.clamp(x, min=lo), lambda x, lo: np.maximum(x, lo),
       broadcastable(2), label="tensor bound"),
    # (bounds moved by odd affine maps, so that drawn values never tie x with a bound, where
    # the rule picks a side and finite differences straddle the kink; hi < lo still happens)
    Op("clamp", lambda x, a, b: ad.clamp(x, a * 0.37 - 0.61, b * 0.41 + 0.53),
       lambda x, a, b: np.minimum(np.maximum(x, a * 0.37 - 0.61), b * 0.41 + 0.53),
       broadcastable(3), label="tensor bounds"),
    Op("cast", lambda x: ad.cast(x, ad.float32).to(ad.float64) * 1.0,
       lambda x: x.astype(np.float32).astype(np.float64), unary(), eps=1e-2, rtol=1e-4),
    Op("clone", ad.clone, lambda x: x.copy(), unary()),
    # reductions
    Op("sum", ad.sum, _reduce_ref(np.sum), unary(), params=reduce_params()),
    Op("mean", ad.mean, _reduce_ref(np.mean), unary(), params=reduce_params()),
    Op("var", lambda x, dim, keepdim, correction: ad.var(x, dim, keepdim=keepdim,
                                                          correction=correction),
       lambda x, dim, keepdim, correction: np.var(x, axis=_norm_dim(dim, x.ndim),
                                                  keepdims=keepdim, ddof=correction),
       unary(min_dims=1, min_side=2),
       params=lambda draw, s: dict(reduce_params()(draw, s),
                                   correction=draw(st.sampled_from([0, 1])))),
    Op("std", lambda x, dim, keepdim: ad.std(x, dim, keepdim=keepdim),
       lambda x, dim, keepdim: np.std(x, axis=_norm_dim(dim, x.ndim), keepdims=keepdim, ddof=1),
       unary(min_dims=1, min_side=2), params=reduce_params(),
       domain="distinct"),  # std'(x) is 0/0 at zero variance: no constant inputs
    Op("amax", ad.amax, _reduce_ref(np.max), unary(), domain="distinct", params=reduce_params()),
    Op("amin", ad.amin, _reduce_ref(np.min), unary(), domain="distinct", params=reduce_params()),
    Op("max", lambda x, dim: ad.max(x, dim)[0] if dim is not None else ad.max(x),
       lambda x, dim: np.max(x, axis=dim), unary(min_dims=1), domain="distinct",
       params=lambda draw, s: {"dim": a_dim(draw, s[0], allow_tuple=False)}),
    Op("min", lambda x, dim: ad.min(x, dim)[0] if dim is not None else ad.min(x),
       lambda x, dim: np.min(x, axis=dim), unary(min_dims=1), domain="distinct",
       params=lambda draw, s: {"dim": a_dim(draw, s[0], allow_tuple=False)}),
    Op("logsumexp", ad.logsumexp, np_logsumexp, unary(), params=reduce_params()),
    Op("softmax", ad.softmax, _softmax_ref, unary(min_dims=1), params=one_dim_param),
    Op("log_softmax", ad.log_softmax, lambda x, dim: np.log(np_softmax(x, dim)),
       unary(min_dims=1), params=one_dim_param),
    Op("softmax_cross_entropy", lambda x, target, dim: ad.softmax_cross_entropy(x, target, dim),
       lambda x, target, dim: -np.take_along_axis(np.log(np_softmax(x, dim)),
                                                  np.expand_dims(target, dim), dim).squeeze(dim),
       unary(min_dims=1), params=_class_target),
    Op("prod", ad.prod, lambda x, dim, keepdim: np.prod(x, axis=dim, keepdims=keepdim), unary(),
       params=reduce_params(allow_tuple=False)),
    Op("prod", lambda x: ad.prod(x * ad.tensor([1.0, 0.0, 1.0], dtype=ad.float64), 0),
       lambda x: np.prod(x * np.array([1.0, 0.0, 1.0]), 0), fixed((3,)), label="with a zero"),
    Op("norm", lambda x, dim, keepdim: ad.norm(x, 2, dim, keepdim),
       lambda x, dim, keepdim: np.sqrt(np.sum(x * x, axis=_norm_dim(dim, x.ndim),
                                              keepdims=keepdim)),
       unary(), domain="away", params=reduce_params()),
    Op("norm", lambda x: ad.norm(x * ad.tensor([[1.0], [0.0]], dtype=ad.float64), 2, 1),
       lambda x: np.sqrt(np.sum((x * np.array([[1.0], [0.0]])) ** 2, axis=1)), fixed((2, 3)),
       domain="away", label="a zero row"),  # (0 there, not 0 / 0)
    Op("norm", lambda x: ad.norm(x, 3), lambda x: np.sum(np.abs(x) ** 3) ** (1 / 3), unary(),
       domain="away", label="p=3"),
    Op("norm", lambda x: ad.norm(x, float("inf")), lambda x: np.max(np.abs(x)), unary(),
       domain="distinct", label="p=inf"),
    # shape
    Op("broadcast_to", ad.broadcast_to, lambda x, shape: np.broadcast_to(x, shape), unary(),
       params=_broadcast_target),
    Op("expand", lambda x, shape: x.expand(*shape), lambda x, shape: np.broadcast_to(x, shape),
       unary(), params=_broadcast_target),
    Op("sum_to", lambda x, shape: ad.sum_to(x, shape),
       lambda x, shape: np.sum(x, axis=0, keepdims=False), fixed((2, 3, 1)),
       params=lambda draw, s: {"shape": (3, 1)}),
    Op("reshape", lambda x: x.reshape(-1), lambda x: x.reshape(-1), unary()),
    Op("view", lambda x: x.view(1, -1, 1), lambda x: x.reshape(1, -1, 1), unary()),
    Op("flatten", lambda x: ad.flatten(x, 1), lambda x: x.reshape(x.shape[0], -1),
       unary(min_dims=2)),
    Op("squeeze", ad.squeeze, np.squeeze, unary()),
    Op("unsqueeze", lambda x, dim: ad.unsqueeze(x, dim), lambda x, dim: np.expand_dims(x, dim),
       unary(), params=lambda draw, s: {"dim": draw(st.integers(-len(s[0]) - 1, len(s[0])))}),
    Op("permute", lambda x, dims: x.permute(*dims), lambda x, dims: np.transpose(x, dims),
       unary(), params=_permutation),
    Op("transpose", lambda x: ad.transpose(x, 0, -1), lambda x: np.swapaxes(x, 0, -1),
       unary(min_dims=1)),
    Op("swapaxes", lambda x: ad.swapaxes(x, 0, 1), lambda x: np.swapaxes(x, 0, 1),
       unary(min_dims=2)),
    Op("mT", lambda x: x.mT, lambda x: np.swapaxes(x, -1, -2), unary(min_dims=2)),
    Op("getitem", lambda x, index: x[index], lambda x, index: x[index], unary(min_dims=1),
       params=_getitem_basic, label="basic"),
    Op("getitem", lambda x: x[[0, 1, 0, 0]], lambda x: x[[0, 1, 0, 0]], fixed((2, 3)),
       label="repeated integer indices"),
    Op("getitem", lambda x: x[x > 0], lambda x: x[x > 0], unary(min_dims=1), label="bool mask"),
    Op("getitem", lambda x: x[None, ..., 0], lambda x: x[None, ..., 0], unary(min_dims=1),
       label="None and Ellipsis"),
    Op("getitem", lambda x: x[np.array([[0, 1], [1, 1]]), 1:],
       lambda x: x[np.array([[0, 1], [1, 1]]), 1:],
       fixed((2, 3)), label="2-d integer array and a slice"),
    Op("index_add", lambda g: ad.index_add(g, (np.array([0, 2, 0]),), (3, 2)),
       lambda g: np.add.at(z := np.zeros((3, 2)), (np.array([0, 2, 0]),), g) or z, fixed((3, 2))),
    Op("gather", ad.gather, _np_gather, unary(min_dims=1), params=_gather_index),
    Op("index_put", lambda x, v: ad.index_put(x, (slice(None), [2, 0]), v), _np_index_put,
       fixed((3, 4), (2,)), label="advanced index, broadcast value"),
    Op("index_put", lambda x, v: ad.index_put(x, 1, v), _np_index_put_row, fixed((3, 4), (4,)),
       label="row"),
    Op("cat", lambda x, y: ad.cat([x, y, x], 1), lambda x, y: np.concatenate([x, y, x], 1),
       fixed((2, 3), (2, 1))),
    Op("stack", lambda x, y: ad.stack([x, y], -1), lambda x, y: np.stack([x, y], -1),
       fixed((2, 3), (2, 3))),
    Op("split", lambda x, size, dim: _sum_tuple(ad.split(x, size, dim)),
       lambda x, size, dim: _np_sum_tuple(np.split(x, range(size, x.shape[dim], size), dim)),
       unary(min_dims=1), params=_split_params),
    Op("chunk", lambda x: _sum_tuple(ad.chunk(x, 2, 0)),
       lambda x: _np_sum_tuple(np.array_split(x, 2, 0)), fixed((3, 2))),
    Op("unbind", lambda x: _sum_tuple(ad.unbind(x, 1)),
       lambda x: _np_sum_tuple([x[:, i] for i in range(x.shape[1])]), fixed((2, 3))),
    Op("split, a piece unused", lambda x: _first_and_last(ad.split(x, [1, 2, 1], 1)),
       lambda x: x[:, 0].sum() + (x[:, 3] ** 2).sum(), fixed((2, 4))),
    Op("unbind, pieces unused", lambda x: (ad.unbind(x, 0)[1] ** 2).sum(),
       lambda x: (x[1] ** 2).sum(), fixed((3, 2))),
    Op("repeat", lambda x: x.repeat(2, 1, 3), lambda x: np.tile(x, (2, 1, 3)),
       unary()),
    Op("flip", lambda x, dims: ad.flip(x, dims), lambda x, dims: np.flip(x, dims),
       unary(min_dims=1), params=lambda draw, s: {"dims": a_dim(draw, s[0], allow_none=False)}),
    Op("pad", ad.pad, _np_pad, unary(min_dims=1), params=_pad_params),
    Op("cumsum", lambda x, dim: ad.cumsum(x, dim), lambda x, dim: np.cumsum(x, axis=dim),
       unary(min_dims=1), params=one_dim_param),
    *[Op(name, getattr(ad, name), ref, unary(), domain="between_steps") for name, ref in (
        ("floor", np.floor), ("ceil", np.ceil), ("round", np.round))],
    Op("tril", lambda x: ad.tril(x, -1), lambda x: np.tril(x, -1), unary(min_dims=2)),
    Op("hardshrink", lambda x: x.hardshrink(0.5), lambda x: np.where(np.abs(x) > 0.5, x, 0.0),
       unary(), domain="away_half"),
    Op("prelu", lambda x, w: x.prelu(w), lambda x, w: np.where(
        x > 0, x, w.reshape((-1,) + (1,) * (x.ndim - 2)) * x), fixed((2, 3, 2), (3,)),
       domain=("away", "real")),
    Op("triu", lambda x: x.triu(1), lambda x: np.triu(x, 1), unary(min_dims=2)),
    Op("square", ad.square, np.square, unary()),
    Op("rsqrt", ad.rsqrt, lambda x: 1 / np.sqrt(x), unary(), domain="positive"),
    Op("sort", lambda x: ad.sort(x, 0, descending=True)[0], lambda x: -np.sort(-x, axis=0),
       unary(min_dims=1), domain="distinct"),
    Op("topk", lambda x: x.topk(2, dim=-1)[0], lambda x: -np.sort(-x, axis=-1)[..., :2],
       fixed((3, 4)), domain="distinct"),
    # linear algebra
    Op("mm", ad.mm, np.matmul, fixed((2, 3), (3, 4))),
    Op("bmm", ad.bmm, np.matmul, fixed((2, 2, 3), (2, 3, 2))),
    Op("dot", ad.dot, np.dot, fixed((3,), (3,))),
    Op("outer", ad.outer, np.outer, fixed((3,), (2,))),
    Op("matmul", lambda x, y: x @ y, np.matmul, fixed((2, 3), (3, 4)), label="2-d"),
    Op("matmul", lambda x, y: x @ y, np.matmul, fixed((3,), (3, 2)), label="vector @ matrix"),
    Op("matmul", lambda x, y: x @ y, np.matmul, fixed((2, 3), (3,)), label="matrix @ vector"),
    Op("matmul", lambda x, y: x @ y, np.matmul, fixed((3,), (3,)), label="dot"),
    Op("matmul", lambda x, y: x @ y, np.matmul, fixed((2, 1, 2, 3), (3, 3, 2)),
       label="broadcast batch"),
    Op("matmul", lambda x, y: x @ y, np.matmul, fixed((2, 2, 3), (3, 2)), label="batch @ weight"),
    Op("matmul", lambda x, y: x @ y, np.matmul, matmul_shapes, label="drawn ranks"),
    Op("linear", ad.linear, lambda x, w, b: x @ w.T + b, fixed((4, 3), (2, 3), (2,)),
       label="2-d with bias"),
    Op("linear", ad.linear, lambda x, w: x @ w.T, fixed((2, 2, 3), (4, 3)), label="batched"),
    Op("linear", ad.linear, lambda x, w, b: x @ w.T + b, fixed((3,), (2, 3), (2,)),
       label="vector input"),
    Op("linear", ad.linear, lambda x, w, b=None: x @ w.T + (0 if b is None else b),
       linear_shapes, label="drawn ranks"),
    Op("einsum", lambda x, y: ad.einsum("ij,jk->ik", x, y), lambda x, y: x @ y,
       fixed((2, 3), (3, 2)), label="matmul"),
    Op("einsum", lambda x: ad.einsum("ii->", x), np.trace, fixed((3, 3)), label="trace"),
    Op("einsum", lambda x: ad.einsum("...ij->...ji", x), lambda x: np.swapaxes(x, -1, -2),
       fixed((2, 2, 3)), label="ellipsis"),
    Op("einsum", lambda x, y: ad.einsum("bi,bj->bij", x, y),
       lambda x, y: x[:, :, None] * y[:, None, :], fixed((2, 3), (2, 2)), label="outer"),
    Op("einsum", lambda x, y: ad.einsum("ij,k->i", x, y),
       lambda x, y: x.sum(1) * y.sum(), fixed((2, 3), (2,)), label="summed-away letters"),
    # Tensor methods with no function form (the METHOD_* lists below name the others)
    Op("T", lambda x: x.T, lambda x: x.T, unary()),
    Op("t", lambda x: x.t(), lambda x: x.T,
       lambda draw: [draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=MAX_SIDE))]),
    Op("masked_fill", lambda c, x: x.masked_fill(c > 0, 0.5),
       lambda c, x: np.where(c > 0, 0.5, x), lambda draw: unary()(draw) * 2, constants=(0,)),
    Op("masked_fill", lambda c, x, v: x.masked_fill(c > 0, v),
       lambda c, x, v: np.where(c > 0, v, x), lambda draw: unary()(draw) * 2 + [()],
       constants=(0,), label="0-d tensor value"),
]


# --- in-place variants -------------------------------------------------------------------------
# Each is checked recorded on a non-leaf (its own history rewritten: x * 1 then the op) and
# through a view of one (its base's history rewritten, CopySlices: the op on rows 1.. only).

def _on_tensor(name, kw):
    def fn(x, *others):
        a = x * 1
        getattr(a, name)(*others, **kw)
        return a
    return fn


def _through_view(name, kw):
    def fn(x, *others):
        a = x * 1
        getattr(a[1:], name)(*[o[1:] if o.shape == x.shape else o for o in others], **kw)
        return a
    return fn


def _rows_after_first(ref):
    def partial(x, *others):
        out = np.array(x)
        out[1:] = ref(x[1:], *[o[1:] if np.shape(o) == x.shape else o for o in others])
        return out
    return partial


def _same_shape(n_others, scalar_others=()):
    """x (at least 2 rows) and n_others operands of x's shape (or 0-d, at scalar_others)."""
    def draw_shapes(draw):
        shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=MAX_SIDE))
        return [shape] + [() if i in scalar_others else shape for i in range(n_others)]
    return draw_shapes


def in_place(name, ref, n_others=0, domain="real", kw=None, label="", scalar_others=()):
    kw = kw or {}
    shapes = _same_shape(n_others, scalar_others)
    return [Op(name, _on_tensor(name, kw), ref, shapes, domain=domain, label=label),
            Op(name, _through_view(name, kw), _rows_after_first(ref), shapes, domain=domain,
               label=(label + ", " if label else "") + "through a view")]


def _np_setitem_row(x, v):
    out = np.array(x)
    out[0] = v
    return out


def _setitem_row(x, v):
    a = x * 1
    a[0] = v
    return a


def _setitem_fancy(x, v):
    a = x * 1
    a[[1, 0]] = v
    return a


def _np_setitem_fancy(x, v):
    out = np.array(x)
    out[[1, 0]] = v
    return out


def _masked_fill_(c, x, v):
    a = x * 1
    a.masked_fill_(c > 0, v)
    return a


def _index_put_accumulate(x, v):
    a = x * 1
    a.index_put_((np.array([0, 1, 0]),), v, accumulate=True)
    return a


def _np_index_put_accumulate(x, v):
    out = np.array(x)
    np.add.at(out, (np.array([0, 1, 0]),), v)
    return out


def _narrow_params(draw, shapes):
    d = draw(st.integers(0, len(shapes[0]) - 1))
    start = draw(st.integers(0, shapes[0][d] - 1))
    return {"dim": d, "start": start,
            "length": draw(st.integers(0, shapes[0][d] - start))}


def _select_params(draw, shapes):
    d = draw(st.integers(0, len(shapes[0]) - 1))
    return {"dim": d, "index": draw(st.integers(-shapes[0][d], shapes[0][d] - 1))}


VIEWS = [
    Op("narrow", ad.narrow, lambda x, dim, start, length: np.take(
        x, np.arange(start, start + length), axis=dim), unary(min_dims=1), params=_narrow_params),
    Op("select", ad.select, lambda x, dim, index: np.take(x, index, axis=dim), unary(min_dims=1),
       params=_select_params),
]
CATALOG += VIEWS

IN_PLACE = [
    *in_place("exp_", np.exp), *in_place("log_", np.log, domain="positive"),
    *in_place("log1p_", np.log1p, domain="positive"),
    *in_place("sqrt_", np.sqrt, domain="positive"),
    *in_place("rsqrt_", lambda x: 1 / np.sqrt(x), domain="positive"),
    *in_place("sin_", np.sin), *in_place("cos_", np.cos), *in_place("tanh_", np.tanh),
    *in_place("sigmoid_", np_sigmoid), *in_place("relu_", lambda x: np.maximum(x, 0),
                                                 domain="away"),
    *in_place("abs_", np.abs, domain="away"), *in_place("neg_", np.negative),
    *in_place("square_", np.square),
    *in_place("erf_", np.vectorize(math.erf, otypes=[float])),
    *in_place("clamp_", lambda x: np.clip(x, -0.5, 1.0), domain="away_half",
              kw={"min": -0.5, "max": 1.0}),
    *in_place("clamp_min_", lambda x: np.maximum(x, -0.5), domain="away_half",
              kw={"min": -0.5}),
    *in_place("clamp_max_", lambda x: np.minimum(x, 0.5), domain="away_half",
              kw={"max": 0.5}),
    *in_place("add_", np.add, 1), *in_place("sub_", np.subtract, 1),
    *in_place("add_", lambda x, y: x + 2 * y, 1, kw={"alpha": 2}, label="alpha"),
    *in_place("mul_", np.multiply, 1), *in_place("mul_", np.multiply, 1, label="0-d operand",
                                                 scalar_others=(0,)),
    *in_place("div_", np.divide, 1, domain=("real", "away")),
    *in_place("pow_", np.power, 1, domain=("positive", "real")),
    *in_place("addcmul_", lambda x, a, b: x + 0.5 * a * b, 2, kw={"value": 0.5}),
    *in_place("addcdiv_", lambda x, a, b: x + 0.5 * a / b, 2, kw={"value": 0.5},
              domain=("real", "real", "away")),
    *in_place("lerp_", lambda x, e, w: x + w * (e - x), 2),
    *in_place("copy_", lambda x, src: np.array(src) + 0 * x, 1),
    *in_place("fill_", lambda x, v: np.full_like(x, v), 1, scalar_others=(0,)),
    *in_place("zero_", np.zeros_like),
    Op("__setitem__", _setitem_row, _np_setitem_row,
       lambda draw: (lambda s: [s, s[1:]])(draw(hnp.array_shapes(min_dims=1, max_dims=3,
                                                                 min_side=2, max_side=3)))),
    Op("__setitem__", _setitem_fancy, _np_setitem_fancy,
       lambda draw: (lambda s: [s, (2,) + s[1:]])(draw(hnp.array_shapes(
           min_dims=1, max_dims=3, min_side=2, max_side=3))), label="advanced index"),
    Op("masked_fill_", _masked_fill_, lambda c, x, v: np.where(c > 0, v, x),
       lambda draw: unary()(draw) * 2 + [()], constants=(0,)),
    Op("index_put_", _index_put_accumulate, _np_index_put_accumulate,
       fixed((3, 2), (3, 2)), label="accumulate"),
]
CATALOG += IN_PLACE

# Public ops with no gradient (boolean or integer results); the guard test accepts these.
NON_DIFFERENTIABLE = {"lt", "le", "gt", "ge", "eq", "ne", "logical_and", "logical_or",
                      "logical_xor", "logical_not", "isnan", "isfinite", "argmax", "argmin",
                      "all", "any", "isinf", "allclose"}

# Tensor methods and operators with no function form that are not catalogued above under their
# own name: each is in exactly one of these lists (test_every_public_op_is_in_the_catalog).
# Same op as a catalogued one (name -> the catalogued op or ops it runs):
METHOD_ALIASES = {
    "__add__": "add", "__radd__": "add", "__sub__": "sub", "__rsub__": "sub",
    "__mul__": "mul", "__rmul__": "mul", "__truediv__": "div", "__rtruediv__": "div",
    "__pow__": "pow", "__rpow__": "pow", "__matmul__": "matmul", "__rmatmul__": "matmul",
    "__neg__": "neg", "__abs__": "abs", "__getitem__": "getitem",
    "__iter__": "getitem",                                  # yields x[0], x[1], ...
    "__array_ufunc__": ("add", "sub", "mul", "div", "pow", "matmul", "neg", "exp", "log",
                        "log1p", "sqrt", "sin", "cos", "tanh", "abs", "maximum", "minimum"),
    "to": "cast", "type": "cast", "type_as": "cast", "float": "cast", "double": "cast",
    "half": "cast",
    "expand_as": "expand", "view_as": "view", "reshape_as": "reshape",
    "__iadd__": "add_", "__isub__": "sub_", "__imul__": "mul_", "__itruediv__": "div_",
    "__ipow__": "pow_", "clip_": "clamp_",
    "floor_": "floor", "ceil_": "ceil", "round_": "round", "sign_": "sign",
    "__floordiv__": "floor_divide", "__rfloordiv__": "floor_divide",
}
# The tensor itself (or its node under another class): nothing is recorded, no rule to check.
METHOD_IDENTITIES = {"__pos__", "contiguous", "as_subclass"}  # (contiguous: or a clone)
# No gradient: comparisons and bitwise ops, floor division, casts to int or bool, new constants,
# detach (cuts the graph by definition), and conversions that leave the graph (Python numbers,
# ndarrays).
METHOD_NON_DIFFERENTIABLE = {
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__and__", "__or__", "__xor__",
    "__invert__", "bool", "int", "byte", "char", "short",
    "long", "new_zeros", "new_ones", "new_full", "new_tensor", "detach", "item", "tolist",
    "numpy", "__array__", "__float__", "__int__", "__index__", "__bool__",
    "detach_",
}
# In place: outside the graph (parameter updates, initialisation), or, for x[i] = v and x += y
# while recording, the out-of-place index_put / add ... already catalogued.
METHOD_IN_PLACE = {"normal_", "uniform_"}  # random values: nothing to differentiate
# Not ops: attributes, autograd API, sizes, and Python's object protocol.
TENSOR_NOT_OPS = {
    "backward", "register_hook", "retain_grad", "requires_grad_", "size", "dim", "cpu",
    "device", "dtype", "grad", "grad_fn", "is_leaf", "ndim", "shape", "data", "name",
    "requires_grad", "retains_grad", "__init__", "__repr__", "__str__", "__format__", "__len__",
    "__hash__", "__reduce_ex__", "__array_priority__", "__slots__", "__dict__", "__doc__",
    "__module__", "__weakref__", "data_ptr", "untyped_storage", "storage_offset", "stride",
    "is_contiguous", "is_view", "ndimension", "nelement", "element_size", "itemsize", "nbytes",
    "__dlpack__", "__dlpack_device__", "const_data_ptr", "is_cpu",
    "register_post_accumulate_grad_hook",
}

# convolution and pooling: entries and naive loop references live in tests/catalog_conv.py
from catalog_conv import conv_catalog  # noqa: E402

CATALOG += conv_catalog(Op)

# The wider surface (issue 13): one catalog file per family module of autodiff/ops. Each
# defines ENTRIES (a list of Op) and may extend the sets and dicts above of the same names.
# Ops of the autodiff.linalg and autodiff.special namespaces are named "linalg.det",
# "special.gammaln"; NAMESPACE_ALIASES maps such a name to the catalogued op it is.
NAMESPACE_ALIASES = {}
FAMILIES = ("unary", "binary", "scans", "indexing", "layout", "products", "linalg", "special",
            "predicates", "numerics", "pooling", "nn_activation", "nn_loss", "nn_normalization",
            "nn_sampling", "nn_linear", "nn_core", "recurrent", "attention", "distributed")
for _family in FAMILIES:
    _module = __import__(f"catalog_{_family}")
    CATALOG += _module.ENTRIES
    for _name in ("NON_DIFFERENTIABLE", "METHOD_IDENTITIES", "METHOD_NON_DIFFERENTIABLE",
                  "METHOD_IN_PLACE", "TENSOR_NOT_OPS"):
        globals()[_name] |= set(getattr(_module, _name, ()))
    METHOD_ALIASES.update(getattr(_module, "METHOD_ALIASES", {}))
    NAMESPACE_ALIASES.update(getattr(_module, "NAMESPACE_ALIASES", {}))
