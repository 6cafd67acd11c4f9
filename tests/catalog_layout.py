"""Catalog entries for the layout family (tests/catalog.py appends ENTRIES and merges the sets)."""
import itertools

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad
from catalog import MAX_SIDE, Op, _np_sum_tuple, _sum_tuple, fixed, unary


# --- parameters -----------------------------------------------------------------------------------

def _one_dim(draw, shape):
    nd = len(shape)
    return draw(st.integers(-nd, nd - 1))


def _roll_params(draw, shapes):
    nd = len(shapes[0])
    if nd == 0 or draw(st.booleans()):
        return {"shifts": draw(st.integers(-4, 4)), "dims": None}
    k = draw(st.integers(1, 3))
    return {"shifts": tuple(draw(st.integers(-4, 4)) for _ in range(k)),
            "dims": tuple(draw(st.integers(-nd, nd - 1)) for _ in range(k))}


def _rot90_params(draw, shapes):
    dims = draw(st.permutations(range(len(shapes[0]))))[:2]
    return {"k": draw(st.integers(-5, 5)), "dims": tuple(dims)}


def _unflatten_params(draw, shapes):
    d = _one_dim(draw, shapes[0])
    n = shapes[0][d]
    return {"dim": d, "sizes": draw(st.sampled_from([(n,), (1, n), (n, 1), (-1, 1), (1, -1)]))}


def _movedim_params(draw, shapes):
    nd = len(shapes[0])
    k = draw(st.integers(1, nd))
    src = draw(st.permutations(range(nd)))[:k]
    dst = draw(st.permutations(range(nd)))[:k]
    if k == 1 and draw(st.booleans()):
        return {"source": src[0] - nd, "destination": dst[0]}
    return {"source": tuple(src), "destination": tuple(dst)}


def _two_dims(draw, shapes):
    nd = len(shapes[0])
    return {"dim0": draw(st.integers(-nd, nd - 1)), "dim1": draw(st.integers(-nd, nd - 1))}


def _tensor_split_params(draw, shapes):
    d = _one_dim(draw, shapes[0])
    if draw(st.booleans()):
        return {"spec": draw(st.integers(1, MAX_SIDE + 1)), "dim": d}
    n = shapes[0][d]
    return {"spec": sorted(draw(st.lists(st.integers(0, n), max_size=3))), "dim": d}


def _np_tensor_split(x, spec, dim):
    if isinstance(spec, int):
        return np.array_split(x, spec, axis=dim)
    return np.split(x, spec, axis=dim)


def _repeat_interleave_params(draw, shapes):
    nd = len(shapes[0])
    dim = draw(st.one_of(st.none(), st.integers(-nd, nd - 1))) if nd else None
    if dim is not None and draw(st.booleans()):
        n = shapes[0][dim]
        return {"repeats": np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))),
                "dim": dim}
    return {"repeats": draw(st.integers(0, 3)), "dim": dim}


def _repeat_interleave(x, repeats, dim):
    r = ad.tensor(repeats) if isinstance(repeats, np.ndarray) else repeats
    return ad.repeat_interleave(x, r, dim)


def _diff_params(draw, shapes):
    return {"n": draw(st.integers(0, 3)), "dim": _one_dim(draw, shapes[0])}


def _unfold_params(draw, shapes):
    d = _one_dim(draw, shapes[0])
    return {"dimension": d, "size": draw(st.integers(0, shapes[0][d])),
            "step": draw(st.integers(1, 3))}


def _np_unfold(x, dimension, size, step):
    d = dimension % x.ndim
    w = np.lib.stride_tricks.sliding_window_view(x, size, axis=d)
    return w[(slice(None),) * d + (slice(None, None, step),)]


def _sum_to_size_params(draw, shapes):
    """a shape x's shape broadcasts from: trailing dims kept or 1, leading ones dropped"""
    shape = shapes[0]
    keep = shape[draw(st.integers(0, len(shape))):]
    return {"size": tuple(n if draw(st.booleans()) else 1 for n in keep)}


def _np_block_diag(*xs):
    xs = [np.atleast_2d(x) for x in xs]
    out = np.zeros((sum(x.shape[0] for x in xs), sum(x.shape[1] for x in xs)))
    r = c = 0
    for x in xs:
        out[r:r + x.shape[0], c:c + x.shape[1]] = x
        r, c = r + x.shape[0], c + x.shape[1]
    return out


def _np_combinations(x, r, with_replacement):
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    return x[np.array(list(pick(range(len(x)), r))).reshape(-1, r)]


def _np_cartesian(a, b, c):
    return np.stack([g.ravel() for g in np.meshgrid(a, b, c, indexing="ij")], 1)


ENTRIES = [
    Op("roll", ad.roll, lambda x, shifts, dims: np.roll(x, shifts, dims), unary(),
       params=_roll_params),
    Op("rot90", ad.rot90, lambda x, k, dims: np.rot90(x, k, dims), unary(min_dims=2),
       params=_rot90_params),
    Op("unflatten", ad.unflatten, lambda x, dim, sizes: x.reshape(
        x.shape[:dim % x.ndim] + tuple(x.shape[dim] if s == -1 else s for s in sizes)
        + x.shape[dim % x.ndim + 1:]), unary(min_dims=1), params=_unflatten_params),
    Op("movedim", ad.movedim, np.moveaxis, unary(min_dims=1), params=_movedim_params),
    Op("moveaxis", lambda x: ad.moveaxis(x, (0, -1), (-1, 1)),
       lambda x: np.moveaxis(x, (0, -1), (-1, 1)), fixed((2, 3, 1))),
    Op("swapdims", ad.swapdims, lambda x, dim0, dim1: np.swapaxes(x, dim0, dim1),
       unary(min_dims=1), params=_two_dims),
    Op("ravel", ad.ravel, np.ravel, unary()),
    Op("ravel", lambda x: x.mT.ravel(), lambda x: np.swapaxes(x, -1, -2).ravel(),
       unary(min_dims=2), label="non-contiguous"),
    Op("atleast_1d", ad.atleast_1d, np.atleast_1d, unary()),
    Op("atleast_2d", ad.atleast_2d, np.atleast_2d, unary()),
    Op("atleast_3d", ad.atleast_3d, np.atleast_3d, unary()),
    Op("atleast_3d", lambda x, y: _sum_tuple(ad.atleast_3d([x, y])),
       lambda x, y: _np_sum_tuple(np.atleast_3d(x, y)), fixed((), (2, 3)), label="several"),
    Op("hstack", lambda x, y: ad.hstack([x, y, x]), lambda x, y: np.hstack([x, y, x]),
       fixed((2, 3), (2, 1))),
    Op("hstack", lambda x, y: ad.hstack([x, y]), lambda x, y: np.hstack([x, y]),
       fixed((), (2,)), label="0-d and 1-d"),
    Op("vstack", lambda x, y: ad.vstack([x, y]), lambda x, y: np.vstack([x, y]),
       fixed((3,), (2, 3))),
    Op("row_stack", lambda x, y: ad.row_stack((x, y)), lambda x, y: np.vstack([x, y]),
       fixed((2,), (2,))),
    Op("dstack", lambda x, y: ad.dstack([x, y]), lambda x, y: np.dstack([x, y]),
       fixed((2, 3), (2, 3, 2))),
    Op("column_stack", lambda x, y, z: ad.column_stack([x, y, z]),
       lambda x, y, z: np.column_stack([x, y, z]), fixed((2,), (2, 3), (2, 1))),
    Op("tensor_split", lambda x, spec, dim: _sum_tuple(ad.tensor_split(x, spec, dim)),
       lambda x, spec, dim: _np_sum_tuple(_np_tensor_split(x, spec, dim)), unary(min_dims=1),
       params=_tensor_split_params),
    Op("hsplit", lambda x: _sum_tuple(ad.hsplit(x, [1, 2])),
       lambda x: _np_sum_tuple(np.hsplit(x, [1, 2])), fixed((2, 3))),
    Op("hsplit", lambda x: _sum_tuple(x.hsplit(2)), lambda x: _np_sum_tuple(np.hsplit(x, 2)),
       fixed((4,)), label="1-d, sections"),
    Op("vsplit", lambda x: _sum_tuple(ad.vsplit(x, 3)), lambda x: _np_sum_tuple(np.vsplit(x, 3)),
       fixed((3, 2))),
    Op("dsplit", lambda x: _sum_tuple(ad.dsplit(x, [1])),
       lambda x: _np_sum_tuple(np.dsplit(x, [1])), fixed((2, 1, 3))),
    Op("tile", lambda x, dims: ad.tile(x, dims), lambda x, dims: np.tile(x, dims), unary(),
       params=lambda draw, s: {"dims": tuple(draw(st.lists(st.integers(1, 2), max_size=4)))}),
    Op("repeat_interleave", _repeat_interleave,
       lambda x, repeats, dim: np.repeat(x, repeats, axis=dim), unary(),
       params=_repeat_interleave_params),
    Op("fliplr", ad.fliplr, np.fliplr, unary(min_dims=2)),
    Op("flipud", ad.flipud, np.flipud, unary(min_dims=1)),
    Op("diff", ad.diff, lambda x, n, dim: np.diff(x, n, axis=dim), unary(min_dims=1),
       params=_diff_params),
    Op("diff", lambda x, p, a: ad.diff(x, 2, 0, prepend=p, append=a),
       lambda x, p, a: np.diff(x, 2, axis=0, prepend=p, append=a), fixed((2, 3), (1, 3), (2, 3)),
       label="prepend and append"),
    Op("meshgrid", lambda x, y: _sum_tuple(ad.meshgrid(x, y, indexing="ij")),
       lambda x, y: _np_sum_tuple(np.meshgrid(x, y, indexing="ij")), fixed((2,), (3,))),
    Op("meshgrid", lambda x, y, z: _sum_tuple(ad.meshgrid([x, y, z], indexing="xy")),
       lambda x, y, z: _np_sum_tuple(np.meshgrid(x, y, z, indexing="xy")),
       fixed((2,), (3,), ()), label="xy"),
    Op("cartesian_prod", ad.cartesian_prod, _np_cartesian, fixed((2,), (3,), (2,))),
    Op("combinations", lambda x: ad.combinations(x), lambda x: _np_combinations(x, 2, False),
       fixed((4,))),
    Op("combinations", lambda x: ad.combinations(x, 3, with_replacement=True),
       lambda x: _np_combinations(x, 3, True), fixed((3,)), label="with replacement"),
    Op("broadcast_tensors", lambda x, y: _sum_tuple(ad.broadcast_tensors(x, y)),
       lambda x, y: _np_sum_tuple(np.broadcast_arrays(x, y)), fixed((2, 1), (3,))),
    Op("block_diag", ad.block_diag, _np_block_diag, fixed((2, 3), (), (2,), (1, 2))),
    Op("unfold", lambda x, dimension, size, step: x.unfold(dimension, size, step), _np_unfold,
       unary(min_dims=1), params=_unfold_params),
    Op("einsum", lambda x, y: ad.einsum(x, [0, 1], y, [1, 2], [0, 2]), lambda x, y: x @ y,
       fixed((2, 3), (3, 2)), label="sublist"),
    Op("einsum", lambda x, y: ad.einsum(x, [Ellipsis, 27], y, [27, 0]),
       lambda x, y: np.einsum("...b,bA->...A", x, y), fixed((2, 2, 3), (3, 2)),
       label="sublist, ellipsis, implicit output"),
]
ENTRIES += [
    Op("concat", lambda x, y: ad.concat([x, y], axis=-1), lambda x, y: np.concatenate([x, y], -1),
       fixed((2, 3), (2, 1))),
    Op("concatenate", lambda x, y: ad.concatenate((x, y)), lambda x, y: np.concatenate([x, y]),
       fixed((1, 3), (2, 3))),
    Op("t", ad.t, np.transpose,
       lambda draw: [draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=MAX_SIDE))],
       label="function"),
    Op("sum_to_size", lambda x, size: x.sum_to_size(size),
       lambda x, size: x.sum(axis=tuple(range(x.ndim - len(size))) + tuple(
           x.ndim - len(size) + i for i, n in enumerate(size) if n == 1), keepdims=True
       ).reshape(size), unary(), params=_sum_to_size_params),
]
NON_DIFFERENTIABLE = {"broadcast_shapes", "unravel_index"}  # shapes and integer coordinates
METHOD_NON_DIFFERENTIABLE = {"new"}  # a new tensor of self's dtype
