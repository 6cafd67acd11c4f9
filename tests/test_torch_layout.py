"""The layout family (autodiff/ops/layout.py) against PyTorch: values, dtypes, first-order
gradients (second order for a subset), views, warnings and the exception classes.

Each case is written once as fn(lib, *tensors), lib being autodiff or torch."""
import warnings

import numpy as np
import pytest

import autodiff as ad
from _torch import assert_close, run_outputs as run, same_error

RNG = np.random.default_rng(0)


def arr(*shape, dtype=np.float64):
    if np.dtype(dtype).kind == "f":
        return RNG.standard_normal(shape).astype(dtype)
    if np.dtype(dtype) == np.bool_:
        return RNG.integers(0, 2, shape).astype(bool)
    return RNG.integers(-5, 6, shape).astype(dtype)


# --- values and gradients ---------------------------------------------------------------------

CASES = {
    # roll
    "roll flat": (lambda L, x: L.roll(x, 1), arr(2, 3)),
    "roll dims": (lambda L, x: L.roll(x, (1, -1), (0, 1)), arr(2, 3)),
    "roll repeated dim": (lambda L, x: L.roll(x, (1, 4), (1, -1)), arr(2, 3)),
    "roll big shift": (lambda L, x: x.roll(7, 0), arr(3, 2)),
    "roll tuple dims None": (lambda L, x: L.roll(x, (2,)), arr(2, 2)),
    "roll 0-d": (lambda L, x: L.roll(x, 1), arr()),
    "roll empty": (lambda L, x: L.roll(x, 2, 1), arr(0, 3)),
    "roll int": (lambda L, x: L.roll(x, 1), arr(4, dtype=np.int64)),
    # rot90
    **{f"rot90 k={k} dims={d}": (lambda L, x, k=k, d=d: L.rot90(x, k, d), arr(2, 3, 2))
       for k in (-1, 0, 1, 2, 3, 5) for d in ((0, 1), (2, 0), (-1, 1))},
    "rot90 method": (lambda L, x: x.rot90(), arr(2, 3)),
    "rot90 empty": (lambda L, x: L.rot90(x), arr(0, 3)),
    # moving dims
    "unflatten": (lambda L, x: L.unflatten(x, 1, (2, 3)), arr(2, 6)),
    "unflatten -1": (lambda L, x: x.unflatten(-1, (-1, 2)), arr(2, 6)),
    "unflatten 1-d": (lambda L, x: L.unflatten(x, 0, (3, 1, 2)), arr(6)),
    "unflatten empty": (lambda L, x: L.unflatten(x, 1, (2, 3)), arr(0, 6)),
    "unflatten zero size": (lambda L, x: L.unflatten(x, 0, (2, 0)), arr(0, 2)),
    "movedim": (lambda L, x: L.movedim(x, 0, -1), arr(2, 3, 4)),
    "movedim tuple": (lambda L, x: x.movedim((0, 2), (2, 0)), arr(2, 3, 4)),
    "movedim list": (lambda L, x: L.movedim(x, [1, -1], [0, 1]), arr(2, 3, 4)),
    "movedim 0-d": (lambda L, x: L.movedim(x, 0, 0), arr()),
    "moveaxis": (lambda L, x: L.moveaxis(x, (0, 1), (-1, 0)), arr(2, 3, 4)),
    "moveaxis method": (lambda L, x: x.moveaxis(1, 0), arr(2, 3)),
    "swapdims": (lambda L, x: L.swapdims(x, 0, 2), arr(2, 3, 4)),
    "swapdims method": (lambda L, x: x.swapdims(-1, 0), arr(2, 3)),
    "ravel": (lambda L, x: L.ravel(x), arr(2, 3)),
    "ravel transposed": (lambda L, x: x.t().ravel(), arr(2, 3)),
    "ravel 0-d": (lambda L, x: x.ravel(), arr()),
    "ravel bool": (lambda L, x: x.ravel(), arr(2, 2, dtype=bool)),
    # at least n dims
    **{f"atleast_{n}d {nd}-d": (lambda L, x, n=n: getattr(L, f"atleast_{n}d")(x),
                                arr(*(2, 3, 1)[:nd]))
       for n in (1, 2, 3) for nd in range(4)},
    "atleast_2d several": (lambda L, x, y: L.atleast_2d(x, y), arr(), arr(3)),
    "atleast_3d list": (lambda L, x, y: L.atleast_3d([x, y]), arr(2, 2), arr(2)),
    "atleast_1d int": (lambda L, x: L.atleast_1d(x), arr(dtype=np.int64)),
    # stacking
    "hstack 1-d": (lambda L, x, y: L.hstack([x, y]), arr(2), arr(3)),
    "hstack 0-d": (lambda L, x, y: L.hstack((x, y)), arr(), arr(2)),
    "hstack 2-d": (lambda L, x, y: L.hstack([x, y, x]), arr(2, 3), arr(2, 1)),
    "hstack int and float": (lambda L, x, y: L.hstack([x, y]), arr(2, dtype=np.int64),
                             arr(2, dtype=np.float32)),
    "hstack empty": (lambda L, x, y: L.hstack([x, y]), arr(0, 2), arr(0, 1)),
    "vstack": (lambda L, x, y: L.vstack([x, y]), arr(3), arr(2, 3)),
    "vstack 0-d": (lambda L, x, y: L.vstack([x, y]), arr(), arr()),
    "vstack 3-d": (lambda L, x, y: L.vstack([x, y]), arr(1, 2, 2), arr(2, 2, 2)),
    "row_stack": (lambda L, x, y: L.row_stack([x, y]), arr(2), arr(2)),
    "dstack": (lambda L, x, y: L.dstack([x, y]), arr(2, 3), arr(2, 3, 2)),
    "dstack 1-d": (lambda L, x, y: L.dstack([x, y]), arr(2), arr(2)),
    "dstack bool and int": (lambda L, x, y: L.dstack([x, y]), arr(2, dtype=bool),
                            arr(2, dtype=np.int32)),
    "column_stack": (lambda L, x, y, z: L.column_stack([x, y, z]), arr(2), arr(2, 3),
                     arr(2, 1)),
    "column_stack 0-d": (lambda L, x, y: L.column_stack([x, y]), arr(), arr(1, 2)),
    "column_stack 3-d": (lambda L, x, y: L.column_stack([x, y]), arr(2, 1, 2), arr(2, 2, 2)),
    # splitting
    "tensor_split sections": (lambda L, x: L.tensor_split(x, 3), arr(7)),
    "tensor_split more sections than elements": (lambda L, x: L.tensor_split(x, 4, 1),
                                                  arr(2, 2)),
    "tensor_split indices": (lambda L, x: L.tensor_split(x, [1, 5, 3, 9]), arr(7)),
    "tensor_split negative indices": (lambda L, x: x.tensor_split((-2, 1), dim=1), arr(2, 4)),
    "tensor_split no indices": (lambda L, x: L.tensor_split(x, []), arr(3)),
    "tensor_split tensor sections": (lambda L, x: L.tensor_split(x, L.tensor(2), -1), arr(2, 3)),
    "tensor_split tensor indices": (lambda L, x: L.tensor_split(x, L.tensor([1, 2])), arr(4, 2)),
    "tensor_split empty": (lambda L, x: L.tensor_split(x, 3, 1), arr(2, 0)),
    "tensor_split int": (lambda L, x: L.tensor_split(x, 2), arr(3, dtype=np.int64)),
    "hsplit": (lambda L, x: L.hsplit(x, 2), arr(3, 4)),
    "hsplit indices": (lambda L, x: x.hsplit([1, 3]), arr(2, 4)),
    "hsplit 1-d": (lambda L, x: L.hsplit(x, 2), arr(4)),
    "vsplit": (lambda L, x: L.vsplit(x, [1]), arr(3, 2)),
    "vsplit sections": (lambda L, x: x.vsplit(2), arr(4, 1)),
    "dsplit": (lambda L, x: L.dsplit(x, 3), arr(1, 2, 3)),
    "dsplit indices": (lambda L, x: x.dsplit([2]), arr(1, 2, 3)),
    # repeating
    "tile": (lambda L, x: L.tile(x, (2, 1)), arr(2, 3)),
    "tile fewer dims": (lambda L, x: L.tile(x, (2,)), arr(2, 3)),
    "tile more dims": (lambda L, x: L.tile(x, (2, 1, 2)), arr(3)),
    "tile 0-d": (lambda L, x: L.tile(x, ()), arr()),
    "tile method varargs": (lambda L, x: x.tile(2, 2), arr(2)),
    "tile zero": (lambda L, x: L.tile(x, (0, 2)), arr(2, 2)),
    "repeat_interleave": (lambda L, x: L.repeat_interleave(x, 2), arr(2, 3)),
    "repeat_interleave dim": (lambda L, x: x.repeat_interleave(3, dim=1), arr(2, 2)),
    "repeat_interleave once": (lambda L, x: x.repeat_interleave(1, dim=0), arr(2, 2)),
    "repeat_interleave zero": (lambda L, x: x.repeat_interleave(0, dim=0), arr(2, 2)),
    "repeat_interleave tensor": (lambda L, x: L.repeat_interleave(x, L.tensor([1, 0, 3]), dim=1),
                                 arr(2, 3)),
    "repeat_interleave 0-d repeats": (lambda L, x: L.repeat_interleave(x, L.tensor(2), dim=0),
                                      arr(2, 2)),
    "repeat_interleave one repeat": (lambda L, x: L.repeat_interleave(x, L.tensor([2]), dim=1),
                                     arr(2, 2)),
    "repeat_interleave output_size": (lambda L, x: L.repeat_interleave(
        x, L.tensor([2, 1]), dim=0, output_size=3), arr(2, 2)),
    "repeat_interleave 0-d": (lambda L, x: L.repeat_interleave(x, 3), arr()),
    "repeat_interleave empty": (lambda L, x: L.repeat_interleave(x, 2, dim=0), arr(0, 2)),
    "repeat_interleave int": (lambda L, x: x.repeat_interleave(2), arr(3, dtype=np.int32)),
    "repeat_interleave repeats only": (lambda L: L.repeat_interleave(L.tensor([1, 0, 2])),),
    "fliplr": (lambda L, x: L.fliplr(x), arr(2, 3, 2)),
    "flipud": (lambda L, x: x.flipud(), arr(3, 2)),
    "flipud 1-d int": (lambda L, x: L.flipud(x), arr(3, dtype=np.int64)),
    # differences
    **{f"diff n={n} dim={d}": (lambda L, x, n=n, d=d: L.diff(x, n, d), arr(3, 4))
       for n in (0, 1, 2, 5) for d in (0, -1)},
    "diff prepend append": (lambda L, x, p, a: L.diff(x, dim=0, prepend=p, append=a),
                            arr(2, 3), arr(1, 3), arr(2, 3)),
    "diff n=2 prepend": (lambda L, x, p: x.diff(2, prepend=p), arr(2, 3), arr(2, 2)),
    "diff int append to float": (lambda L, x, a: L.diff(x, append=a), arr(2, 3),
                                 arr(2, 1, dtype=np.int64)),
    "diff bool": (lambda L, x: L.diff(x), arr(5, dtype=bool)),
    "diff bool n=2": (lambda L, x: L.diff(x, 2), arr(5, dtype=bool)),
    "diff int": (lambda L, x: L.diff(x, 2), arr(5, dtype=np.int64)),
    "diff empty": (lambda L, x: L.diff(x, dim=0), arr(0, 2)),
    "diff float32": (lambda L, x: L.diff(x), arr(3, dtype=np.float32)),
    # grids and combinations
    "meshgrid ij": (lambda L, x, y: L.meshgrid(x, y, indexing="ij"), arr(2), arr(3)),
    "meshgrid xy": (lambda L, x, y: L.meshgrid(x, y, indexing="xy"), arr(2), arr(3)),
    "meshgrid xy three": (lambda L, x, y, z: L.meshgrid([x, y, z], indexing="xy"), arr(2),
                          arr(3), arr()),
    "meshgrid one": (lambda L, x: L.meshgrid(x, indexing="xy"), arr(2)),
    "meshgrid empty": (lambda L, x, y: L.meshgrid(x, y, indexing="ij"), arr(0), arr(2)),
    "meshgrid int": (lambda L, x, y: L.meshgrid(x, y, indexing="ij"), arr(2, dtype=np.int64),
                     arr(3, dtype=np.int64)),
    "cartesian_prod": (lambda L, x, y: L.cartesian_prod(x, y), arr(2), arr(3)),
    "cartesian_prod three": (lambda L, x, y, z: L.cartesian_prod(x, y, z), arr(2), arr(1),
                             arr(2)),
    "cartesian_prod one": (lambda L, x: L.cartesian_prod(x), arr(3)),
    "cartesian_prod empty": (lambda L, x, y: L.cartesian_prod(x, y), arr(2), arr(0)),
    **{f"combinations r={r}{' with replacement' * w}": (
        lambda L, x, r=r, w=w: L.combinations(x, r, w), arr(4))
       for r in (0, 1, 2, 3, 5) for w in (False, True)},
    "combinations empty": (lambda L, x: L.combinations(x), arr(0)),
    "combinations int": (lambda L, x: L.combinations(x, with_replacement=True),
                         arr(3, dtype=np.int64)),
    "broadcast_tensors": (lambda L, x, y, z: L.broadcast_tensors(x, y, z), arr(2, 1), arr(3),
                          arr()),
    "broadcast_tensors same": (lambda L, x, y: L.broadcast_tensors(x, y), arr(2), arr(2)),
    "broadcast_tensors empty": (lambda L, x, y: L.broadcast_tensors(x, y), arr(0, 1), arr(3)),
    "broadcast_tensors mixed dtypes": (lambda L, x, y: L.broadcast_tensors(x, y),
                                       arr(2, 1, dtype=np.int64), arr(3)),
    "block_diag": (lambda L, x, y, z: L.block_diag(x, y, z), arr(2, 3), arr(), arr(2)),
    "block_diag int and float": (lambda L, x, y: L.block_diag(x, y), arr(2, 1, dtype=np.int64),
                                 arr(2, 2, dtype=np.float32)),
    "block_diag empty blocks": (lambda L, x, y: L.block_diag(x, y), arr(0, 2), arr(1, 0)),
    "block_diag one": (lambda L, x: L.block_diag(x), arr(2, 2)),
    # sliding windows
    "unfold": (lambda L, x: x.unfold(0, 3, 2), arr(7)),
    "unfold overlapping 3-d": (lambda L, x: x.unfold(1, 2, 1), arr(2, 3, 4)),
    "unfold step beyond size": (lambda L, x: x.unfold(-1, 1, 3), arr(2, 7)),
    "unfold whole": (lambda L, x: x.unfold(0, 3, 1), arr(3, 2)),
    "unfold size 0": (lambda L, x: x.unfold(0, 0, 2), arr(3)),
    "unfold 0-d": (lambda L, x: x.unfold(0, 1, 1), arr()),
    "unfold 0-d size 0": (lambda L, x: x.unfold(-1, 0, 1), arr()),
    "unfold empty": (lambda L, x: x.unfold(1, 0, 1), arr(2, 0)),
    "unfold int": (lambda L, x: x.unfold(0, 2, 1), arr(4, dtype=np.int64)),
    # einsum's sublist form
    "einsum sublist": (lambda L, x, y: L.einsum(x, [0, 1], y, [1, 2], [0, 2]), arr(2, 3),
                       arr(3, 2)),
    "einsum sublist implicit": (lambda L, x: L.einsum(x, [27, 1, 0]), arr(2, 3, 4)),
    "einsum sublist ellipsis": (lambda L, x, y: L.einsum(x, [Ellipsis, 1], y, [1, Ellipsis]),
                                arr(2, 3), arr(3, 2)),
    "einsum sublist ellipsis output": (lambda L, x: L.einsum(x, [0, Ellipsis], [Ellipsis, 0]),
                                       arr(2, 3, 2)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(torch, name):
    fn, *arrays = CASES[name]
    run(torch, fn, *arrays)


SECOND_ORDER = ["roll dims", "rot90 k=1 dims=(2, 0)", "unflatten", "movedim tuple",
                "atleast_3d 1-d", "hstack 2-d", "vstack", "column_stack",
                "tensor_split sections", "tile more dims", "repeat_interleave tensor",
                "repeat_interleave dim", "diff prepend append", "diff n=2 dim=0",
                "meshgrid xy three", "cartesian_prod three", "combinations r=2",
                "broadcast_tensors", "block_diag", "unfold overlapping 3-d", "unfold",
                "einsum sublist", "fliplr", "ravel transposed"]


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_second_order_matches_torch(torch, name):
    fn, *arrays = CASES[name]
    run(torch, fn, *arrays, second_order=True)


@pytest.mark.parametrize("indices,shape", [([4, 1], (2, 3)), (4, (2, 3)), (-1, (2, 3)),
                                           ([6, -7], (2, 3)), (2, 3), ([[0, 5], [3, 1]], (3, 2)),
                                           (0, ()), ([], (2, 2))])
def test_unravel_index(torch, indices, shape):
    ours = ad.unravel_index(ad.tensor(indices, dtype=ad.int64), shape)
    theirs = torch.unravel_index(torch.tensor(indices, dtype=torch.int64), shape)
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        assert_close(o, t)


@pytest.mark.parametrize("shapes", [((2, 1), (3,)), ((), (2, 3)), (3, (1, 3)), ((0, 1), (2,)),
                                    ((1,),), ()])
def test_broadcast_shapes(torch, shapes):
    assert ad.broadcast_shapes(*shapes) == tuple(torch.broadcast_shapes(*shapes))


# --- views, warnings ------------------------------------------------------------------------------

VIEWS = {
    "movedim": lambda L, x: L.movedim(x, 0, 1), "swapdims": lambda L, x: L.swapdims(x, 0, 1),
    "unflatten": lambda L, x: L.unflatten(x, 1, (2, 2)), "ravel": lambda L, x: L.ravel(x),
    "ravel copy": lambda L, x: L.ravel(x.t()), "atleast_3d": lambda L, x: L.atleast_3d(x),
    "tensor_split": lambda L, x: L.tensor_split(x, 2, 1)[1],
    "hsplit": lambda L, x: L.hsplit(x, [1])[0], "unfold": lambda L, x: x.unfold(1, 2, 1),
    "meshgrid": lambda L, x: L.meshgrid(x[0], x[1], indexing="xy")[0],
    "broadcast_tensors": lambda L, x: L.broadcast_tensors(x, x[:1])[1],
    "roll": lambda L, x: L.roll(x, 1), "rot90": lambda L, x: L.rot90(x, 0),
    "tile": lambda L, x: L.tile(x, (1, 1)),
    "repeat_interleave": lambda L, x: x.repeat_interleave(1),
    "diff n=0": lambda L, x: L.diff(x, 0), "fliplr": lambda L, x: L.fliplr(x),
    "hstack": lambda L, x: L.hstack([x]), "block_diag": lambda L, x: L.block_diag(x),
}


@pytest.mark.parametrize("name", list(VIEWS))
def test_views_as_torch(torch, name):
    """A view where PyTorch returns one of the input, new memory elsewhere (torch may call a
    view of its own intermediate copy a view: ravel of a transposed tensor)."""
    a = arr(2, 4)
    x, t = ad.tensor(a), torch.tensor(a)
    ours, theirs = VIEWS[name](ad, x), VIEWS[name](torch, t)
    shared = theirs.untyped_storage().data_ptr() == t.untyped_storage().data_ptr()
    assert np.shares_memory(ours.data, x.data) == shared
    if shared or not theirs._is_view():
        assert ours._is_view() == theirs._is_view()


@pytest.mark.parametrize("view", [lambda x: x.unfold(1, 2, 2), lambda x: x.tensor_split(2, 1)[0],
                                  lambda x: x.movedim(1, 0)[1:],
                                  lambda x: x.unflatten(1, (2, 2))[:, 0]],
                         ids=["unfold", "tensor_split", "movedim", "unflatten"])
def test_in_place_through_view(torch, view):
    """An in-place op through one of these views reaches the base's values and history."""
    a = arr(2, 4)
    results = []
    for lib in (ad, torch):
        leaf = lib.tensor(a, requires_grad=True)
        base = leaf * 1
        view(base).mul_(3)
        (base * base).sum().backward()
        results.append((base, leaf.grad))
    assert_close(*[r[0] for r in results])
    assert_close(*[r[1] for r in results])


def test_meshgrid_warns_without_indexing(torch):
    for lib in (ad, torch):
        with pytest.warns(UserWarning, match="indexing"):
            out = lib.meshgrid(lib.tensor([1.0, 2.0]), lib.tensor([1.0, 2.0, 3.0]))
        assert tuple(out[0].shape) == (2, 3)  # 'ij'
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ad.meshgrid(ad.tensor([1.0]), indexing="ij")


def test_atleast_returns_the_tensor_itself(torch):
    for lib in (ad, torch):
        x = lib.ones(2, 3)
        assert lib.atleast_1d(x) is x and lib.atleast_2d(x) is x
        row = x[0]
        assert lib.cartesian_prod(row) is row


# --- errors -----------------------------------------------------------------------------------

ERRORS = {
    "roll shifts and dims differ": lambda L: L.roll(L.ones(2, 3), (1, 2), 0),
    "roll dims without shifts": lambda L: L.roll(L.ones(2, 3), (1,), (0, 1)),
    "roll two shifts no dims": lambda L: L.roll(L.ones(2, 3), (1, 2)),
    "roll dim out of range": lambda L: L.roll(L.ones(2, 3), 1, 2),
    "roll 0-d with dims": lambda L: L.roll(L.tensor(1.0), 1, 0),
    "rot90 one dim": lambda L: L.rot90(L.ones(2, 3), 1, (0,)),
    "rot90 1-d": lambda L: L.rot90(L.ones(3)),
    "rot90 same dims": lambda L: L.rot90(L.ones(2, 3), 1, (1, 1)),
    "rot90 same dims wrapped": lambda L: L.rot90(L.ones(2, 3), 1, (0, -2)),
    "rot90 dim out of range": lambda L: L.rot90(L.ones(2, 3), 1, (0, 2)),
    "unflatten bad sizes": lambda L: L.unflatten(L.ones(2, 6), 1, (4, 2)),
    "unflatten two -1": lambda L: L.unflatten(L.ones(2, 6), 1, (-1, -1)),
    "unflatten empty sizes": lambda L: L.unflatten(L.ones(2, 6), 1, ()),
    "unflatten dim out of range": lambda L: L.unflatten(L.ones(2, 6), 2, (2, 3)),
    "movedim lengths differ": lambda L: L.movedim(L.ones(2, 3), (0, 1), (1,)),
    "movedim repeated": lambda L: L.movedim(L.ones(2, 3), (0, 0), (1, 0)),
    "movedim out of range": lambda L: L.movedim(L.ones(2, 3), 0, 2),
    "swapdims out of range": lambda L: L.swapdims(L.ones(2, 3), 0, 3),
    "hstack empty list": lambda L: L.hstack([]),
    "vstack sizes": lambda L: L.vstack([L.ones(2), L.ones(3)]),
    "hstack dims differ": lambda L: L.hstack([L.ones(2, 2), L.ones(2)]),
    "dstack sizes": lambda L: L.dstack([L.ones(2, 2), L.ones(3, 2)]),
    "column_stack sizes": lambda L: L.column_stack([L.ones(2), L.ones(3)]),
    "tensor_split 0-d": lambda L: L.tensor_split(L.tensor(1.0), 1),
    "tensor_split zero sections": lambda L: L.tensor_split(L.ones(3), 0),
    "tensor_split float tensor": lambda L: L.tensor_split(L.ones(3), L.tensor(2.0)),
    "tensor_split 2-d tensor": lambda L: L.tensor_split(L.ones(3), L.tensor([[1]])),
    "tensor_split dim": lambda L: L.tensor_split(L.ones(3), 2, 1),
    "hsplit not divisible": lambda L: L.hsplit(L.ones(2, 3), 2),
    "hsplit tensor not divisible": lambda L: L.hsplit(L.ones(2, 3), L.tensor(2)),
    "repeat_interleave list repeats": lambda L: L.repeat_interleave(L.ones(2), [1, 2], dim=0),
    "hsplit 0-d": lambda L: L.hsplit(L.tensor(1.0), 1),
    "vsplit 1-d": lambda L: L.vsplit(L.ones(4), 2),
    "dsplit 2-d": lambda L: L.dsplit(L.ones(2, 2), 1),
    "tile negative": lambda L: L.tile(L.ones(2), (-1,)),
    "repeat_interleave negative": lambda L: L.repeat_interleave(L.ones(2), -1),
    "repeat_interleave negative tensor": lambda L: L.repeat_interleave(L.ones(2),
                                                                       L.tensor([1, -1]), dim=0),
    "repeat_interleave wrong length": lambda L: L.repeat_interleave(L.ones(2, 2),
                                                                    L.tensor([1, 2, 3]), dim=0),
    "repeat_interleave float repeats": lambda L: L.repeat_interleave(L.ones(2),
                                                                     L.tensor([1.0, 2.0]), dim=0),
    "repeat_interleave output_size": lambda L: L.repeat_interleave(L.ones(2), 2, dim=0,
                                                                   output_size=3),
    "repeat_interleave dim": lambda L: L.repeat_interleave(L.ones(2), 2, dim=1),
    "fliplr 1-d": lambda L: L.fliplr(L.ones(3)),
    "flipud 0-d": lambda L: L.flipud(L.tensor(1.0)),
    "diff 0-d": lambda L: L.diff(L.tensor(1.0)),
    "diff negative n": lambda L: L.diff(L.ones(3), -1),
    "diff prepend dims": lambda L: L.diff(L.ones(2, 3), prepend=L.ones(3)),
    "diff prepend 0-d": lambda L: L.diff(L.ones(3), prepend=L.tensor(1.0)),
    "diff append shape": lambda L: L.diff(L.ones(2, 3), dim=0, append=L.ones(2, 2)),
    "diff dim": lambda L: L.diff(L.ones(2, 3), dim=2),
    "meshgrid 2-d": lambda L: L.meshgrid(L.ones(2), L.ones(2, 2), indexing="ij"),
    "meshgrid indexing": lambda L: L.meshgrid(L.ones(2), indexing="ji"),
    "meshgrid nothing": lambda L: L.meshgrid(indexing="ij"),
    "meshgrid dtypes": lambda L: L.meshgrid(L.ones(2), L.ones(2, dtype=L.int64), indexing="ij"),
    "cartesian_prod 2-d": lambda L: L.cartesian_prod(L.ones(2, 2)),
    "cartesian_prod dtypes": lambda L: L.cartesian_prod(L.ones(2), L.ones(2, dtype=L.int64)),
    "combinations 2-d": lambda L: L.combinations(L.ones(2, 2)),
    "combinations negative r": lambda L: L.combinations(L.ones(3), -1),
    "broadcast_tensors": lambda L: L.broadcast_tensors(L.ones(2), L.ones(3)),
    "broadcast_shapes": lambda L: L.broadcast_shapes((2,), (3,)),
    "broadcast_shapes negative": lambda L: L.broadcast_shapes((-1,), (3,)),
    "block_diag 3-d": lambda L: L.block_diag(L.ones(2, 2, 2)),
    "unravel_index float": lambda L: L.unravel_index(L.tensor([1.0]), (2, 3)),
    "unravel_index bool": lambda L: L.unravel_index(L.tensor(True), (2,)),
    "unravel_index negative shape": lambda L: L.unravel_index(L.tensor(1), (2, -3)),
    "unravel_index empty shape": lambda L: L.unravel_index(L.tensor(1), (2, 0)),
    "unfold too big": lambda L: L.ones(3).unfold(0, 4, 1),
    "unfold zero step": lambda L: L.ones(3).unfold(0, 2, 0),
    "unfold negative size": lambda L: L.ones(3).unfold(0, -1, 1),
    "unfold dim": lambda L: L.ones(3).unfold(1, 1, 1),
    "unfold 0-d too big": lambda L: L.tensor(1.0).unfold(0, 2, 1),
    "einsum sublist range": lambda L: L.einsum(L.ones(2, 2), [0, 52]),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_as_torch(torch, name):
    same_error(torch, ERRORS[name])
