"""Matrix products: batched matmul with numpy semantics, and einsum."""
import math
import operator
import string

import numpy as np

from ..function import Node, apply, apply2
from ..threads import matmul as _blas_matmul
from ..tensor import Tensor
from ._operands import broadcast_shape, promote, tensor_arg
from .broadcast import BroadcastTo, SumTo
from .shape import Reshape, reshape, unsqueeze, squeeze


class MatMul(Node):
    """out = x @ y for x (..., n, k), y (..., k, m); dx = g @ y^T, dy = x^T @ g (summed over
    broadcast batch dims)"""
    __slots__ = ()
    reads = ((1,), (0,))

    forward = staticmethod(_blas_matmul)

    def backward(self, g, out, x, y):
        nx, ny = self.needs_input_grad
        gx = gy = None
        mm = _blas_matmul if type(g) is np.ndarray else operator.matmul  # tensors: recorded
        if nx:
            gx = _sum_to(mm(g, y.mT), x.shape)
        if ny:
            if y.ndim == 2 and x.ndim > 2:
                # a shared weight: one big product instead of a batch of small ones
                k, m = y.shape
                gy = mm(x.reshape(-1, k).mT, g.reshape(-1, m))
            else:
                gy = _sum_to(mm(x.mT, g), y.shape)
        return gx, gy


def _sum_to(x, shape):
    return x if x.shape == shape else SumTo.apply(x, shape=shape)


def matmul(x, y):
    """Matrix product with numpy's rules: 1-D operands are vectors, leading dims broadcast"""
    if isinstance(x, Tensor) and isinstance(y, Tensor) and x.data.ndim == y.data.ndim == 2 and \
            x.data.dtype == y.data.dtype and x.data.shape[1] == y.data.shape[0]:
        return apply2(MatMul(), x, y)  # the common case, kept cheap
    x, y = promote(x, y, "matmul")
    if x.data.ndim == 0 or y.data.ndim == 0:
        raise RuntimeError(f"matmul: both operands need at least 1 dimension, got shapes "
                         f"{x.data.shape} and {y.data.shape}; use * for scaling")
    vec_x, vec_y = x.data.ndim == 1, y.data.ndim == 1
    if vec_x:
        x = unsqueeze(x, 0)
    if vec_y:
        y = unsqueeze(y, -1)
    if x.data.shape[-1] != y.data.shape[-2]:
        raise RuntimeError(
            f"matmul: shapes {x.data.shape if not vec_x else x.data.shape[1:]} and "
            f"{y.data.shape if not vec_y else y.data.shape[:1]} are not aligned: the last dim of "
            f"the first ({x.data.shape[-1]}) must equal the "
            f"{'first' if vec_y else 'second-to-last'} dim of the second ({y.data.shape[-2]})")
    broadcast_shape("matmul (batch dims)", x.data.shape[:-2], y.data.shape[:-2])
    out = apply2(MatMul(), x, y)
    if vec_x and vec_y:
        return reshape(out, ())
    if vec_x:
        return squeeze(out, -2)
    if vec_y:
        return squeeze(out, -1)
    return out


class Linear(Node):
    """out = x @ w^T + b for x (..., in), w (out, in), b (out,) - one node instead of four;
    dx = g @ w, dw = g^T x and db = g summed over all leading dims"""
    __slots__ = ()
    reads = ((1,), (0,), ())

    def forward(self, x, w, b=None):
        if x.ndim > 2:  # one 2-D product: numpy's matmul would make one per leading index
            out = _blas_matmul(x.reshape(_rows(x.shape), w.shape[1]), w.T).reshape(
                x.shape[:-1] + w.shape[:1])
        else:
            out = _blas_matmul(x, w.T)
        if b is not None:
            out += b
        return out

    def backward(self, g, out, x, w, b=None):
        needs = self.needs_input_grad
        n_out, n_in = w.shape
        g2 = g if g.ndim == 2 else g.reshape(_rows(g.shape), n_out)
        gx = None
        mm = _blas_matmul if type(g) is np.ndarray else operator.matmul  # tensors: recorded
        if needs[0]:
            gx = mm(g, w) if g.ndim <= 2 else mm(g2, w).reshape(x.shape)
        gw = mm(g2.mT, x if x.ndim == 2 else x.reshape(_rows(x.shape), n_in)) \
            if needs[1] else None
        if b is None:
            return gx, gw
        return gx, gw, (np.add.reduce(g2, axis=0) if needs[2] else None)


def _rows(shape):
    """The number of rows of the 2-D view (rows, shape[-1]) of an array of this shape"""
    return math.prod(shape[:-1])


def linear(x, weight, bias=None):
    """x @ weight^T + bias for x (..., in_features), weight (out_features, in_features)"""
    if isinstance(x, Tensor) and isinstance(weight, Tensor) and isinstance(bias, Tensor):
        xd, wd, bd = x.data, weight.data, bias.data
        if xd.dtype == wd.dtype == bd.dtype and wd.ndim == 2 and xd.ndim and \
                xd.shape[-1] == wd.shape[1] and bd.shape == wd.shape[:1]:
            return apply(Linear(), x, weight, bias)  # the common case, kept cheap
    x, weight = promote(x, weight, "linear")
    if weight.data.ndim != 2:
        raise RuntimeError(f"linear: weight must be 2-D (out_features, in_features), got shape "
                         f"{weight.data.shape}")
    if x.data.ndim == 0 or x.data.shape[-1] != weight.data.shape[1]:
        got = x.data.shape[-1] if x.data.ndim else 0
        raise RuntimeError(
            f"linear: input of shape {x.data.shape} has {got} features in its last dim, but the "
            f"weight of shape {weight.data.shape} expects in_features={weight.data.shape[1]}; "
            f"reshape the input (e.g. x.flatten(1)) or build the layer with "
            f"in_features={got if x.data.ndim else '?'}")
    if bias is None:
        return apply2(Linear(), x, weight)
    bias, weight = promote(bias, weight, "linear")
    if bias.data.shape != (weight.data.shape[0],):
        raise RuntimeError(f"linear: bias must have shape ({weight.data.shape[0]},) to match the "
                         f"weight's out_features, got {bias.data.shape}")
    return apply(Linear(), x, weight, bias)


def _product(x, y, ndim, op):
    """matmul for operands that must both have exactly ndim dims (PyTorch's mm, bmm, dot)"""
    x, y = tensor_arg(x, op), tensor_arg(y, op, "other")
    for t in (x, y):
        if t.data.ndim != ndim:
            raise RuntimeError(f"{op}: expected {ndim}-d tensors, got shapes {x.data.shape} and "
                             f"{y.data.shape}; use matmul for vectors and batches of other shapes")
    return matmul(x, y)


def mm(x, y):
    """Matrix product of two 2-d tensors"""
    return _product(x, y, 2, "mm")


def bmm(x, y):
    """Batched matrix product of two 3-d tensors (b, n, k) @ (b, k, m)"""
    return _product(x, y, 3, "bmm")


def dot(x, y):
    """Inner product of two 1-d tensors"""
    return _product(x, y, 1, "dot")


def outer(x, y):
    """out[i, j] = x[i] * y[j] for 1-d x, y"""
    return einsum("i,j->ij", x, y)



# --- einsum ------------------------------------------------------------------------------------

class Einsum(Node):
    """out = einsum(spec, *xs) (no repeated letter within one operand); the gradient for
    operand i is einsum(g, the other operands -> operand i's letters), broadcast over letters
    that only operand i has"""
    __slots__ = ("inputs_spec", "output_spec")

    def __init__(self, inputs_spec, output_spec):
        self.inputs_spec, self.output_spec = inputs_spec, output_spec

    def forward(self, *xs):
        out = np.einsum(",".join(self.inputs_spec) + "->" + self.output_spec, *xs, optimize=True)
        return out.copy() if out.base is not None else out  # (numpy may view an operand)

    def backward(self, g, out, *xs):
        grads = []
        for i, (x, need) in enumerate(zip(xs, self.needs_input_grad)):
            if not need:
                grads.append(None)
                continue
            target = self.inputs_spec[i]
            others = [s for j, s in enumerate(self.inputs_spec) if j != i]
            operands = [g] + [t for j, t in enumerate(xs) if j != i]
            available = set(self.output_spec).union(*others)
            kept = "".join(c for c in target if c in available)
            gi = Einsum.apply(*operands, inputs_spec=tuple([self.output_spec] + others),
                              output_spec=kept)
            if kept != target:  # letters summed away inside operand i alone: broadcast back
                shape = tuple(x.shape[k] if c in available else 1 for k, c in enumerate(target))
                gi = BroadcastTo.apply(Reshape.apply(gi, shape=shape), shape=x.shape)
            grads.append(gi)
        return tuple(grads)


def _expand_ellipsis(spec, operands):
    """Replaces '...' with explicit letters not used elsewhere in the spec."""
    if "..." not in spec:
        return spec
    lhs, arrow, rhs = spec.partition("->")
    terms = lhs.split(",")
    free = [c for c in string.ascii_letters if c not in spec]
    width = 0
    for t, x in zip(terms, operands):
        if "..." in t:
            width = max(width, x.data.ndim - (len(t) - 3))
    letters = "".join(free[:width])
    new_terms = []
    for t, x in zip(terms, operands):
        if "..." in t:
            n = x.data.ndim - (len(t) - 3)
            t = t.replace("...", letters[width - n:])
        new_terms.append(t)
    if arrow:
        rhs = rhs.replace("...", letters)
    else:
        rhs = letters + "".join(sorted(c for c in set("".join(new_terms)) - set(letters)
                                       if "".join(new_terms).count(c) == 1))
    return ",".join(new_terms) + "->" + rhs


def einsum(spec, *operands):
    """Einstein summation, numpy's notation (with '...'), or the sublist form
    einsum(a, [0, 1], b, [1, 2], [0, 2]); differentiable in every operand"""
    if not isinstance(spec, str):  # sublist form: ints 0..51 stand for the letters A..Z a..z
        args = (spec,) + operands

        def letters(sub):
            for s in sub:
                if s is not Ellipsis and not 0 <= s < 52:
                    raise ValueError(f"einsum(): subscript {s} in subscript list is not within "
                                     f"the valid range [0, 52)")
            return "".join("..." if s is Ellipsis else
                           (string.ascii_uppercase + string.ascii_lowercase)[s] for s in sub)
        operands = args[0:len(args) - len(args) % 2:2]
        spec = ",".join(letters(s) for s in args[1::2][:len(operands)])
        if len(args) % 2:
            spec += "->" + letters(args[-1])
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    xs = [o if isinstance(o, Tensor) else Tensor._const(np.asarray(o)) for o in operands]
    if len(xs) > 1:
        dt = xs[0]
        for t in xs[1:]:
            dt, _ = promote(t, dt, "einsum")
        xs = [t.to(dt.data.dtype) for t in xs]
    spec = _expand_ellipsis(spec.replace(" ", ""), xs)
    lhs, arrow, rhs = spec.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(xs):
        raise RuntimeError(f"einsum: '{spec}' names {len(terms)} operand(s) but {len(xs)} were "
                           f"given")
    for t, x in zip(terms, xs):
        if len(t) != x.data.ndim:
            raise RuntimeError(f"einsum: operand '{t}' has {len(t)} letters but a tensor of "
                               f"shape {x.data.shape}")
    sizes = {}
    for t, x in zip(terms, xs):
        for c, n in zip(t, x.data.shape):
            if n != 1 and sizes.setdefault(c, n) != n:  # (size 1 broadcasts, as in PyTorch)
                raise RuntimeError(f"einsum: subscript '{c}' has size {n} in operand '{t}' "
                                   f"(shape {x.data.shape}) but {sizes[c]} in an earlier one; "
                                   f"the dims a letter names must match")
    if not arrow:
        joined = "".join(terms)
        rhs = "".join(sorted(c for c in set(joined) if joined.count(c) == 1))
    # a letter repeated inside one operand (diagonal, trace) becomes a product with an identity
    free = [c for c in string.ascii_letters if c not in spec]
    extra = []
    for i in range(len(terms)):
        t = terms[i]
        while len(set(t)) != len(t):
            c = next(c for c in t if t.count(c) > 1)
            k = t.index(c, t.index(c) + 1)
            new = free.pop(0)
            t = t[:k] + new + t[k + 1:]
            xs.append(Tensor._const(np.eye(xs[i].data.shape[k], dtype=xs[i].data.dtype)))
            extra.append(c + new)
        terms[i] = t
    terms += extra
    return apply(Einsum(tuple(terms), rhs), *xs)
