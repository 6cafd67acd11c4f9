"""Catalog entries for the indexing family (tests/catalog.py appends ENTRIES, merges the sets)."""
import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad
from catalog import MAX_SIDE, Op, fixed, unary

I = np.array  # noqa: E741  (index arrays, written inline)


def _rng(draw):
    return np.random.default_rng(draw(st.integers(0, 2**16)))


# --- references ----------------------------------------------------------------------------------

def _np_scatter_reduce(x, dim, index, src, reduce, include_self=True):
    """A loop over index, as PyTorch documents scatter_reduce."""
    out = np.array(x, dtype=float)
    groups = {}
    for pos in np.ndindex(*index.shape):
        at = list(pos)
        at[dim] = index[pos]
        groups.setdefault(tuple(at), []).append(src[pos])
    for at, vals in groups.items():
        vals = vals + ([x[at]] if include_self else [])
        out[at] = {"sum": np.sum, "prod": np.prod, "mean": np.mean, "amax": np.max,
                   "amin": np.min}[reduce](vals)
    return out


def _np_index_reduce(x, dim, index, src, reduce, include_self=True):
    shape = src.shape
    grid = np.broadcast_to(index.reshape((-1,) + (1,) * (len(shape) - dim - 1)), shape)
    return _np_scatter_reduce(x, dim, grid, src, reduce, include_self)


def _np_index_add(x, dim, index, src, alpha=1):
    out = np.array(x)
    np.add.at(np.moveaxis(out, dim, 0), index, alpha * np.moveaxis(src, dim, 0))
    return out


def _np_put_along(x, dim, index, src):
    out = np.array(x)
    np.moveaxis(out, dim, 0)[index] = np.moveaxis(src, dim, 0)
    return out


def _np_scatter(x, dim, index, src):
    """PyTorch's scatter (np.put_along_axis would broadcast index over x's other dims)."""
    out = np.array(x)
    for pos in np.ndindex(*index.shape):
        at = list(pos)
        at[dim] = index[pos]
        out[tuple(at)] = src[pos]
    return out


def _np_diagonal_embed(x, offset, dim1, dim2):
    n = x.shape[-1] + abs(offset)
    out_nd = x.ndim + 1
    d1, d2 = dim1 % out_nd, dim2 % out_nd
    out = np.zeros(x.shape[:-1] + (n, n))
    rows = np.arange(x.shape[-1]) + max(-offset, 0)
    out[..., rows, rows + offset] = x
    # the new dims sit at the end; move them to d1, d2
    return np.moveaxis(out, (-2, -1), (d1, d2)) if d1 < d2 else \
        np.moveaxis(out, (-1, -2), (d2, d1))


def _np_put(x, index, s, accumulate):
    out = np.array(x).reshape(-1)
    if accumulate:
        np.add.at(out, index, s.reshape(-1))
    else:
        out[index] = s.reshape(-1)
    return out.reshape(x.shape)


def _np_diagonal_scatter(x, s):
    """x (2, 3, 2) with its offset -1 diagonal of dims (2, 0) replaced by s (3, 1)."""
    out = np.array(x)
    out[0, :, 1] = s[:, 0]
    return out


def _np_masked_scatter(c, x, s):
    out = np.array(np.broadcast_to(x, np.broadcast_shapes(c.shape, x.shape)))
    m = np.broadcast_to(c > 0, out.shape)
    out[m] = s.reshape(-1)[:m.sum()]
    return out


# --- parameters ----------------------------------------------------------------------------------

def _dim_and_index(draw, shapes, size=None, negative=False):
    shape = shapes[0]
    d = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[d]
    k = draw(st.integers(0, 4)) if size is None else size
    lo = -n if negative else 0
    return d, _rng(draw).integers(lo, n, size=k)


def _index_select_params(draw, shapes):
    d, idx = _dim_and_index(draw, shapes)
    return {"dim": d, "index": idx}


def _take_params(draw, shapes):
    n = math.prod(shapes[0])
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=MAX_SIDE))
    return {"index": _rng(draw).integers(-n, n, size=shape)}


def _diagonal_params(draw, shapes):
    nd = len(shapes[0])
    d1, d2 = draw(st.lists(st.integers(-nd, nd - 1), min_size=2, max_size=2, unique_by=lambda d:
                           d % nd))
    return {"offset": draw(st.integers(-2, 2)), "dim1": d1, "dim2": d2}


def _diag_embed_params(draw, shapes):
    nd = len(shapes[0]) + 1
    d1, d2 = draw(st.lists(st.integers(-nd, nd - 1), min_size=2, max_size=2, unique_by=lambda d:
                           d % nd))
    return {"offset": draw(st.integers(-2, 2)), "dim1": d1, "dim2": d2}


def _unique_rows(draw, shape, dim, n):
    """An index of `shape` whose entries along dim are distinct, in [0, n) (a scatter without
    collisions: every write counts)."""
    rng = _rng(draw)
    moved = np.moveaxis(np.empty(shape, np.int64), dim, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    for row in flat:
        row[:] = rng.permutation(n)[:len(row)]
    return np.moveaxis(flat.reshape(moved.shape), -1, dim)


def _scatter_shapes(draw):
    x = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=MAX_SIDE))
    idx = tuple(draw(st.integers(1, n)) for n in x)
    src = tuple(n + draw(st.integers(0, 1)) for n in idx)
    return [x, src, idx]


def _masked_shapes(draw):
    """A mask's and x's shapes (broadcasting together) and a 0-d value's."""
    b = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                               min_side=1, max_side=MAX_SIDE))
    return list(b.input_shapes) + [()]


def _np_slice_set(x, s):
    out = np.array(x)
    out[:, 0::2] = s
    return out


# --- entries --------------------------------------------------------------------------------------

def _scatter_entry_shapes(draw):
    return _scatter_shapes(draw)[:2]


def _scatter_kw(unique):
    def params(draw, shapes):
        x, src = shapes
        nd = len(x)
        d = draw(st.integers(0, nd - 1))
        idx_shape = tuple(draw(st.integers(1, min(n, m) if i != d else m))
                          for i, (n, m) in enumerate(zip(x, src)))
        if unique:
            idx_shape = tuple(min(n, x[d]) if i == d else n for i, n in enumerate(idx_shape))
            idx = _unique_rows(draw, idx_shape, d, x[d])
        else:
            idx = _rng(draw).integers(0, x[d], size=idx_shape)
        return {"dim": d, "index": idx}
    return params


def _split_scatter(fn, x_shape):
    """fn(x, src, ...) over one tensor holding x's and then src's values (all distinct, so no
    ties between x and src either)."""
    n = math.prod(x_shape)

    def on_one(z, **kw):
        return fn(z[:n].reshape(x_shape), z[n:].reshape(-1, 2), **kw)
    return on_one


def _np_split_scatter(fn, x_shape):
    n = math.prod(x_shape)

    def on_one(z, **kw):
        return fn(z[:n].reshape(x_shape), z[n:].reshape(-1, 2), **kw)
    return on_one


def _index_reduce_params(draw, shapes):
    return {"reduce": draw(st.sampled_from(["amax", "amin"])),
            "include_self": draw(st.booleans())}


def _in_place_pair(name, call, ref, shapes, domain="real", constants=(), label="", view=True):
    """The in-place method recorded on a non-leaf, and (view=True) through a view of one (rows
    1.. of an x one row longer: its base's history rewritten). All share one recording path
    (ops/indexing.py's _in_place): a few go through a view."""
    def on_tensor(x, *others):
        a = x * 1
        call(a, *others)
        return a

    def through_view(x, *others):
        a = x * 1
        call(a[1:], *others)
        return a

    def ref_view(x, *others):
        out = np.array(x)
        out[1:] = ref(x[1:], *others)
        return out

    def longer(draw):
        s = shapes(draw)
        return [(s[0][0] + 1,) + tuple(s[0][1:])] + list(s[1:])
    sep = ", " if label else ""
    return [Op(name, on_tensor, ref, shapes, domain=domain, constants=constants, label=label)] + \
        [Op(name, through_view, ref_view, longer, domain=domain, constants=constants,
            label=label + sep + "through a view")] * view


def _fill_diagonal(x):
    a = x * 1
    a.fill_diagonal_(0.5)
    return a


def _np_fill_diagonal(x, wrap=False):
    out = np.array(x)
    np.fill_diagonal(out, 0.5, wrap=wrap)
    return out


def _fill_diagonal_view(x):
    a = x * 1
    a[1:].fill_diagonal_(0.5, wrap=True)
    return a


def _np_fill_diagonal_view(x):
    out = np.array(x)
    out[1:] = _np_fill_diagonal(x[1:], wrap=True)
    return out


def _diagonal_zero(x):
    a = x * 1
    a.diagonal(1, 0, -1).zero_()
    return a


def _np_diagonal_zero(x):
    out = np.array(x)
    n, m = out.shape[0], out.shape[-1]
    for i in range(min(n, m - 1)):
        out[i, ..., i + 1] = 0
    return out


def _diagonal_mul(x, y):
    a = x * 1
    a.diagonal().mul_(y)
    return a


def _np_diagonal_mul(x, y):
    out = np.array(x)
    k = min(out.shape)
    out[range(k), range(k)] *= y
    return out


ROWS = I([0, 2, 0, 1])  # (repeats: accumulation where the op accumulates)

ENTRIES = [
    Op("index_select", lambda x, dim, index: ad.index_select(x, dim, ad.tensor(index)),
       lambda x, dim, index: np.take(x, index, axis=dim), unary(min_dims=1),
       params=_index_select_params),
    Op("index_select", lambda x: x.index_select(0, ad.tensor(1)), lambda x: x[1:2],
       fixed((3, 2)), label="0-d index"),
    Op("index_add", lambda x, s: x.index_add(0, ad.tensor(ROWS), s, alpha=2),
       lambda x, s: _np_index_add(x, 0, ROWS, s, 2), fixed((3, 2), (4, 2)),
       label="Tensor.index_add, PyTorch's form"),
    Op("index_add", lambda x, s: x.index_add(-1, ad.tensor(ROWS), s),
       lambda x, s: _np_index_add(x, 1, ROWS, s), fixed((2, 3), (2, 4)),
       label="Tensor.index_add, last dim"),
    Op("index_copy", lambda x, s: ad.index_copy(x, 1, ad.tensor([2, 0]), s),
       lambda x, s: _np_put_along(x, 1, I([2, 0]), s), fixed((2, 3), (2, 2))),
    Op("index_fill", lambda x, v: ad.index_fill(x, 0, ad.tensor([0, -1, 0]), v),
       lambda x, v: _np_put_along(x, 0, I([0, 2]), np.broadcast_to(v, (2, 2))),
       fixed((3, 2), ()), label="0-d tensor value, repeated and negative indices"),
    Op("index_fill", lambda x: x.index_fill(1, ad.tensor([1]), -1.5),
       lambda x: _np_put_along(x, 1, I([1]), np.full((2, 1), -1.5)), fixed((2, 3)),
       label="number value"),
    Op("index_reduce", lambda x, s, reduce, include_self: ad.index_reduce(
        x, 0, ad.tensor(ROWS), s, reduce, include_self=include_self),
       lambda x, s, reduce, include_self: _np_index_reduce(x, 0, ROWS, s, reduce, include_self),
       fixed((3, 2), (4, 2)), domain="away",
       params=lambda draw, s: {"reduce": draw(st.sampled_from(["prod", "mean"])),
                               "include_self": draw(st.booleans())}, label="prod, mean"),
    Op("index_reduce", _split_scatter(lambda x, s, reduce, include_self: ad.index_reduce(
        x, 0, ad.tensor(ROWS), s, reduce, include_self=include_self), (3, 2)),
       _np_split_scatter(lambda x, s, reduce, include_self: _np_index_reduce(
           x, 0, ROWS, s, reduce, include_self), (3, 2)),
       fixed((14,)), domain="distinct", params=_index_reduce_params, label="amax, amin"),
    Op("masked_fill", lambda c, x, v: ad.masked_fill(x, c > 0, v),
       lambda c, x, v: np.where(c > 0, v, x),
       _masked_shapes,
       constants=(0,), label="function form, broadcast mask"),
    Op("masked_select", lambda c, x: ad.masked_select(x, c > 0),
       lambda c, x: np.broadcast_to(x, np.broadcast_shapes(c.shape, x.shape))[
           np.broadcast_to(c > 0, np.broadcast_shapes(c.shape, x.shape))],
       lambda draw: _masked_shapes(draw)[:2], constants=(0,)),
    Op("masked_scatter", lambda c, x, s: ad.masked_scatter(x, c > 0, s), _np_masked_scatter,
       lambda draw: (lambda cx: cx + [(math.prod(np.broadcast_shapes(*cx)) + 1,)])(
           _masked_shapes(draw)[:2]), constants=(0,)),
    Op("take", lambda x, index: ad.take(x, ad.tensor(index)),
       lambda x, index: np.take(x.reshape(-1), index), unary(), params=_take_params),
    Op("take_along_dim", lambda x: ad.take_along_dim(x, ad.tensor([[1, -1, 0, 1]]), 1),
       lambda x: np.take_along_axis(x, np.broadcast_to(I([[1, 2, 0, 1]]), (2, 4)), 1),
       fixed((2, 3)), label="broadcast, negative indices"),
    Op("take_along_dim", lambda x: ad.take_along_dim(x, ad.tensor([[5], [0]])),
       lambda x: x.reshape(-1)[[5, 0]], fixed((2, 3)), label="dim=None"),
    Op("put", lambda x, s: ad.put(x, ad.tensor([[4, -1], [0, 2]]), s),
       lambda x, s: _np_put(x, I([4, 5, 0, 2]), s, False), fixed((2, 3), (2, 2))),
    Op("put", lambda x, s: x.put(ad.tensor([1, -5, 0]), s, accumulate=True),
       lambda x, s: _np_put(x, I([1, 1, 0]), s, True), fixed((3, 2), (3,)), label="accumulate"),
    Op("index_put", lambda x, v: x.index_put((ad.tensor([0, 2, 0]),), v, accumulate=True),
       lambda x, v: _np_index_add(x, 0, I([0, 2, 0]), np.broadcast_to(v, (3, 2))),
       fixed((3, 2), (2,)), label="Tensor.index_put, accumulate"),
    Op("scatter", lambda x, s, dim, index: ad.scatter(x, dim, ad.tensor(index), s),
       lambda x, s, dim, index: _np_scatter(x, dim, index, s), _scatter_entry_shapes,
       params=_scatter_kw(unique=True), label="src"),
    Op("scatter", lambda x: x.scatter(1, ad.tensor([[2, 0], [1, 2]]), 0.5),
       lambda x: _np_scatter(x, 1, I([[2, 0], [1, 2]]), np.full((2, 2), 0.5)), fixed((2, 3)),
       label="value"),
    Op("scatter", lambda x, s: x.scatter(0, ad.tensor([[0, 1], [0, 0]]), s, reduce="add"),
       lambda x, s: _np_scatter_reduce(x, 0, I([[0, 1], [0, 0]]), s, "sum"),
       fixed((2, 3), (2, 2)), label="reduce='add'"),
    Op("scatter", lambda x, s: x.scatter(0, ad.tensor([[0, 1], [0, 0]]), s, reduce="multiply"),
       lambda x, s: _np_scatter_reduce(x, 0, I([[0, 1], [0, 0]]), s, "prod"),
       fixed((2, 3), (2, 2)), domain="away", label="reduce='multiply'"),
    Op("scatter_add", lambda x, s, dim, index: x.scatter_add(dim, ad.tensor(index), s),
       lambda x, s, dim, index: _np_scatter_reduce(x, dim, index, s, "sum"),
       _scatter_entry_shapes, params=_scatter_kw(unique=False)),
    Op("scatter_reduce",
       lambda x, s, dim, index, reduce, include_self: ad.scatter_reduce(
           x, dim, ad.tensor(index), s, reduce, include_self=include_self),
       lambda x, s, dim, index, reduce, include_self: _np_scatter_reduce(
           x, dim, index, s, reduce, include_self),
       _scatter_entry_shapes, domain="away",
       params=lambda draw, shapes: dict(_scatter_kw(unique=False)(draw, shapes),
                                        reduce=draw(st.sampled_from(["sum", "prod", "mean"])),
                                        include_self=draw(st.booleans())),
       label="sum, prod, mean"),
    Op("scatter_reduce", _split_scatter(lambda x, s, reduce, include_self: ad.scatter_reduce(
        x, 1, ad.tensor([[0, 0], [2, 0], [2, 2], [1, 1]]), s, reduce, include_self=include_self),
        (4, 3)),
       _np_split_scatter(lambda x, s, reduce, include_self: _np_scatter_reduce(
           x, 1, I([[0, 0], [2, 0], [2, 2], [1, 1]]), s, reduce, include_self), (4, 3)),
       fixed((20,)), domain="distinct", params=_index_reduce_params, label="amax, amin"),
    Op("scatter_reduce", lambda x, s: x.scatter_reduce(
        0, ad.tensor([0, 1, 0, 0]), s * ad.tensor([1.0, 0.0, 1.0, 1.0], dtype=s.dtype),
        "prod"), lambda x, s: _np_scatter_reduce(x, 0, I([0, 1, 0, 0]),
                                                 s * I([1.0, 0.0, 1.0, 1.0]), "prod"),
       fixed((2,), (4,)), domain="away", label="prod with a zero"),
    Op("select_scatter", lambda x, s, index: ad.select_scatter(x, s, 0, index),
       lambda x, s, index: _np_put_along(x, 0, I([index]), s[None]), fixed((3, 2), (2,)),
       params=lambda draw, s: {"index": draw(st.integers(-3, 2))}),
    Op("select_scatter", lambda x, s: x.select_scatter(s, -1, 1),
       lambda x, s: _np_put_along(x, 1, I([1]), s[:, None]), fixed((3, 2), (3,)),
       label="last dim"),
    Op("slice_scatter", lambda x, s: ad.slice_scatter(x, s, 1, 0, None, 2),
       lambda x, s: _np_slice_set(x, s), fixed((2, 4), (2, 2))),
    Op("slice_scatter", lambda x, s: x.slice_scatter(s, start=-2),
       lambda x, s: np.concatenate([x[:-2], s]), fixed((3, 2), (2, 2)), label="negative start"),
    Op("diagonal", lambda x, offset, dim1, dim2: ad.diagonal(x, offset, dim1, dim2),
       lambda x, offset, dim1, dim2: np.diagonal(x, offset, dim1, dim2), unary(min_dims=2),
       params=_diagonal_params),
    Op("diagonal", _diagonal_zero, _np_diagonal_zero, unary(min_dims=2),
       label="zero_() through the view"),
    Op("diagonal", _diagonal_mul, _np_diagonal_mul, fixed((3, 2), (2,)),
       label="mul_() through the view"),
    Op("diagonal_scatter", lambda x, s: ad.diagonal_scatter(x, s, -1, 2, 0),
       lambda x, s: _np_diagonal_scatter(x, s), fixed((2, 3, 2), (3, 1))),
    Op("diag", lambda x, k: ad.diag(x, k), lambda x, k: np.diag(x, k), fixed((3,)),
       params=lambda draw, s: {"k": draw(st.integers(-2, 2))}, label="vector"),
    Op("diag", lambda x, k: x.diag(k), lambda x, k: np.diag(x, k),
       lambda draw: [draw(hnp.array_shapes(min_dims=2, max_dims=2, max_side=MAX_SIDE))],
       params=lambda draw, s: {"k": draw(st.integers(-2, 2))}, label="matrix"),
    Op("diag_embed", ad.diag_embed, _np_diagonal_embed, unary(min_dims=1),
       params=_diag_embed_params),
    Op("diagflat", lambda x: ad.diagflat(x, -1), lambda x: np.diagflat(x, -1), unary()),
    Op("trace", ad.trace, np.trace,
       lambda draw: [draw(hnp.array_shapes(min_dims=2, max_dims=2, max_side=MAX_SIDE))]),
    Op("fill_diagonal_", _fill_diagonal, _np_fill_diagonal,
       lambda draw: [draw(st.sampled_from([(2, 3), (3, 2), (2, 2, 2), (3, 3)]))]),
    Op("fill_diagonal_", _fill_diagonal_view, _np_fill_diagonal_view, fixed((6, 2)),
       label="wrap, through a view"),
    *_in_place_pair("index_add_", lambda a, s: a.index_add_(0, ad.tensor(ROWS), s),
                    lambda x, s: _np_index_add(x, 0, ROWS, s), fixed((3, 2), (4, 2))),
    *_in_place_pair("index_copy_", lambda a, s: a.index_copy_(0, ad.tensor([2, 0]), s),
                    lambda x, s: _np_put_along(x, 0, I([2, 0]), s), fixed((3, 2), (2, 2)),
                    view=False),
    *_in_place_pair("index_fill_", lambda a, v: a.index_fill_(1, ad.tensor([1]), v),
                    lambda x, v: _np_put_along(x, 1, I([1]), np.broadcast_to(v, (x.shape[0], 1))),
                    fixed((3, 2), ()), view=False),
    *_in_place_pair("index_reduce_", lambda a, s: a.index_reduce_(0, ad.tensor(ROWS), s, "prod"),
                    lambda x, s: _np_index_reduce(x, 0, ROWS, s, "prod"), fixed((3, 2), (4, 2)),
                    domain="away", view=False),
    *_in_place_pair("scatter_", lambda a, s: a.scatter_(1, ad.tensor([[1], [0], [1]]), s),
                    lambda x, s: _np_scatter(x, 1, I([[1], [0], [1]]), s),
                    fixed((3, 2), (3, 2))),
    *_in_place_pair("scatter_add_",
                    lambda a, s: a.scatter_add_(0, ad.tensor([[0, 1], [0, 0]]), s),
                    lambda x, s: _np_scatter_reduce(x, 0, I([[0, 1], [0, 0]]), s, "sum"),
                    fixed((3, 2), (2, 2)), view=False),
    *_in_place_pair("scatter_reduce_",
                    lambda a, s: a.scatter_reduce_(0, ad.tensor([[0, 1], [0, 0]]), s, "mean",
                                                   include_self=False),
                    lambda x, s: _np_scatter_reduce(x, 0, I([[0, 1], [0, 0]]), s, "mean", False),
                    fixed((3, 2), (2, 2)), view=False),
    *_in_place_pair("put_", lambda a, s: a.put_(ad.tensor([5, 0]), s),
                    lambda x, s: _np_put(x, I([5, 0]), s, False), fixed((3, 2), (2,)),
                    view=False),
    *_in_place_pair("masked_scatter_",
                    lambda a, c, s: a.masked_scatter_(c > 0, s),
                    lambda x, c, s: _np_masked_scatter(c, x, s),
                    fixed((3, 2), (2,), (7,)), constants=(1,)),
]

NON_DIFFERENTIABLE = {"nonzero", "argwhere", "tril_indices", "triu_indices"}  # integer results
