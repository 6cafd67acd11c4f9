"""Function transforms: jacobian, hessian, vjp, jvp, hvp (torch.autograd.functional's
signatures) and JAX-style grad / value_and_grad."""
import numpy as np

from .engine import grad as _grad
from .grad_mode import enable_grad
from .tensor import Tensor


def _inputs(inputs, who, create_graph=False):
    single = isinstance(inputs, Tensor)
    xs = (inputs,) if single else tuple(inputs)
    for i, x in enumerate(xs):
        if not isinstance(x, Tensor):
            raise TypeError(f"{who}: inputs must be Tensors, got {type(x).__name__} at index {i}")
        if x.dtype.kind != "f":
            raise TypeError(f"{who}: input {i} has dtype {x.dtype}; only float inputs can be "
                            f"differentiated")
    # fresh leaves, so the caller's tensors and their .grad are untouched - except that with
    # create_graph a caller's tensor that requires grad is used as is, so the result stays
    # connected to it (as in PyTorch)
    return single, tuple(x if create_graph and x.requires_grad
                         else Tensor._const(x.data).requires_grad_() for x in xs)


def _outputs(out, who):
    single = isinstance(out, Tensor)
    outs = (out,) if single else tuple(out)
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor):
            raise TypeError(f"{who}: the function must return Tensors, got "
                            f"{type(o).__name__} at index {i}")
    return single, outs


def _zeros_if_none(gs, xs):
    return tuple(g if g is not None else Tensor._const(np.zeros(x.shape, x.dtype))
                 for g, x in zip(gs, xs))


def _pack(single, items):
    return items[0] if single else tuple(items)


def _detach_all(items, create_graph):
    return tuple(t if create_graph else t.detach() for t in items)


def _differentiable(outs):
    """Outputs that do not depend on the inputs still get (zero) gradients."""
    return [o for o in outs if o.requires_grad]


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product. v may be omitted for scalar outputs."""
    single_in, xs = _inputs(inputs, "vjp", create_graph)
    with enable_grad():
        out = func(*xs)
        single_out, outs = _outputs(out, "vjp")
        vs = (None,) * len(outs) if v is None else ((v,) if isinstance(v, Tensor) else tuple(v))
        pairs = [(o, g) for o, g in zip(outs, vs) if o.requires_grad]
        if pairs:
            gs = _grad([o for o, _ in pairs], xs, [g for _, g in pairs], create_graph=create_graph,
                       allow_unused=True)
        else:
            gs = (None,) * len(xs)
    _strict_check(strict, gs, "vjp")
    return _pack(single_out, _detach_all(outs, create_graph)), \
        _pack(single_in, _zeros_if_none(gs, xs))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product, by the double-vjp trick."""
    single_in, xs = _inputs(inputs, "jvp", create_graph)
    vs = (v,) if isinstance(v, Tensor) else (tuple(v) if v is not None else None)
    if vs is None:
        if not all(x.numel() == 1 for x in xs):
            raise RuntimeError("jvp: v can be omitted only when every input has one element")
        vs = tuple(Tensor._const(np.ones(x.shape, x.dtype)) for x in xs)
    with enable_grad():
        out = func(*xs)
        single_out, outs = _outputs(out, "jvp")
        # u is a dummy cotangent: g(u) = u^T J is linear in u, so d(g . v)/du = J v
        us = tuple(Tensor._const(np.zeros(o.shape, o.dtype)).requires_grad_() for o in outs)
        live = [(o, u) for o, u in zip(outs, us) if o.requires_grad]
        if live:
            gs = _grad([o for o, _ in live], xs, [u for _, u in live], create_graph=True,
                       allow_unused=True)
            pairs = [(g, vv) for g, vv in zip(gs, vs) if g is not None and g.requires_grad]
        else:
            pairs = []
        if pairs:
            jv = _grad([g for g, _ in pairs], us, [vv for _, vv in pairs],
                       create_graph=create_graph, allow_unused=True)
        else:
            jv = (None,) * len(us)
    _strict_check(strict, jv, "jvp")
    return _pack(single_out, _detach_all(outs, create_graph)), \
        _pack(single_out, _zeros_if_none(jv, outs))


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False):
    """d func / d inputs, shaped out.shape + in.shape (tuples of these for several
    inputs/outputs: `result[i][j]` is d out_i / d in_j). Built row by row from vjps."""
    single_in, xs = _inputs(inputs, "jacobian", create_graph)
    with enable_grad():
        out = func(*xs)
        single_out, outs = _outputs(out, "jacobian")
        rows = []
        for o in outs:
            per_input = [[] for _ in xs]
            for k in range(o.numel()):
                if o.requires_grad:
                    seed = np.zeros(o.shape, o.dtype)
                    seed.flat[k] = 1
                    gs = _grad(o, xs, Tensor._const(seed), retain_graph=True,
                               create_graph=create_graph, allow_unused=True)
                else:
                    gs = (None,) * len(xs)
                _strict_check(strict, gs, "jacobian")
                for j, g in enumerate(_zeros_if_none(gs, xs)):
                    per_input[j].append(g)
            blocks = []
            for j, x in enumerate(xs):
                from .ops.shape import reshape, stack
                if per_input[j]:
                    block = reshape(stack(per_input[j]), o.shape + x.shape)
                else:
                    block = Tensor._const(np.zeros(o.shape + x.shape, x.dtype))
                blocks.append(block if create_graph else block.detach())
            rows.append(_pack(single_in, blocks))
    return _pack(single_out, rows)


def hessian(func, inputs, create_graph=False, strict=False):
    """Second derivatives of a scalar function: shape in.shape + in.shape
    (`result[i][j]` = d2 f / d in_i d in_j for several inputs)."""
    single_in, xs = _inputs(inputs, "hessian", create_graph)

    def gradient(*ys):
        out = func(*ys)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise RuntimeError("hessian: the function must return a tensor with one element, got "
                               f"{getattr(out, 'shape', type(out).__name__)}")
        gs = _grad(out.reshape(()), ys, create_graph=True, allow_unused=True)
        return _pack(single_in, _zeros_if_none(gs, ys))

    return jacobian(gradient, xs[0] if single_in else xs, create_graph=create_graph, strict=strict)


def hvp(func, inputs, v, create_graph=False, strict=False):
    """(func(inputs), H v) for a scalar function: the Hessian-vector product, via
    two reverse passes (H is symmetric, so v^T H = (H v)^T)."""
    single_in, xs = _inputs(inputs, "hvp", create_graph)
    vs = (v,) if isinstance(v, Tensor) else tuple(v)
    with enable_grad():
        out = func(*xs)
        if not isinstance(out, Tensor) or out.numel() != 1:
            raise RuntimeError("hvp: the function must return a tensor with one element")
        gs = _grad(out.reshape(()), xs, create_graph=True, allow_unused=True)
        pairs = [(g, vv) for g, vv in zip(gs, vs) if g is not None and g.requires_grad]
        if pairs:
            hv = _grad([g for g, _ in pairs], xs, [vv for _, vv in pairs],
                       create_graph=create_graph, allow_unused=True)
        else:
            hv = (None,) * len(xs)
    _strict_check(strict, hv, "hvp")
    return (out if create_graph else out.detach()), _pack(single_in, _zeros_if_none(hv, xs))


def vhp(func, inputs, v, create_graph=False, strict=False):
    """(func(inputs), v^T H); equal to hvp for twice-differentiable functions."""
    return hvp(func, inputs, v, create_graph=create_graph, strict=strict)


def _strict_check(strict, gs, who):
    if strict and any(g is None for g in gs):
        i = next(i for i, g in enumerate(gs) if g is None)
        raise RuntimeError(f"{who}: with strict=True, the output does not depend on input {i}")


# --- JAX-style transforms ------------------------------------------------------------------------

def value_and_grad(func, argnums=0, has_aux=False):
    """A function returning (func(*args), d func / d args[argnums]).

    func must return a one-element tensor (or (value, aux) with has_aux=True). argnums is an int
    or a tuple of ints; the gradient is a tensor or a tuple to match. Inputs may be tensors,
    arrays or numbers; the gradients are tensors of the same shapes.
    """
    many = isinstance(argnums, (tuple, list))
    nums = tuple(argnums) if many else (argnums,)

    def wrapped(*args, **kwargs):
        args = list(args)
        nested = False  # an argument already in a graph: we are inside another transform
        for n in nums:
            if n >= len(args):
                raise TypeError(f"value_and_grad: argnums {n} is out of range for "
                                f"{len(args)} positional argument(s)")
            a = args[n]
            if isinstance(a, Tensor) and a.requires_grad:
                nested = True
                continue
            data = a.data if isinstance(a, Tensor) else np.asarray(a, dtype=_float_dtype(a))
            args[n] = Tensor._const(data).requires_grad_()
        with enable_grad():
            result = func(*args, **kwargs)
            value, aux = result if has_aux else (result, None)
            if not isinstance(value, Tensor) or value.numel() != 1:
                raise TypeError(
                    f"grad: the function must return a one-element tensor, got "
                    f"{getattr(value, 'shape', type(value).__name__)}. For vector outputs use "
                    f"autodiff.functional.jacobian or vjp.")
            targets = tuple(args[n] for n in nums)
            gs = (None,) * len(targets)
            if value.requires_grad:
                gs = _grad(value.reshape(()), targets, create_graph=nested, allow_unused=True)
            gs = _zeros_if_none(gs, targets)
        g = gs if many else gs[0]
        if not nested:
            value = value.detach()
        return ((value, aux), g) if has_aux else (value, g)

    wrapped.__name__ = f"value_and_grad({getattr(func, '__name__', 'f')})"
    return wrapped


def grad(func, argnums=0, has_aux=False):
    """A function returning d func / d args[argnums] (JAX's grad); see value_and_grad."""
    vg = value_and_grad(func, argnums, has_aux)

    def wrapped(*args, **kwargs):
        out = vg(*args, **kwargs)
        if has_aux:
            (_, aux), g = out
            return g, aux
        return out[1]

    wrapped.__name__ = f"grad({getattr(func, '__name__', 'f')})"
    return wrapped


def _float_dtype(a):
    from .dtypes import get_default_dtype
    arr = np.asarray(a)
    return arr.dtype if arr.dtype.kind == "f" and isinstance(a, np.ndarray) else get_default_dtype()
