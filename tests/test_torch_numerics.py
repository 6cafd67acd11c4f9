"""The numerics family (autodiff/ops/numerics.py), the wave-2 layout names (concat, t,
sum_to_size, new) and the in-place triangles, renorm_ and view ops of autodiff/inplace.py
against PyTorch: values, dtypes, gradients (second order for a subset), memory sharing and the
exception classes.

Each case is written once as fn(lib, *tensors), lib being autodiff or torch."""
import numpy as np
import pytest

import autodiff as ad
from _torch import assert_close, run_outputs as run, same_error, to_ad, to_torch

RNG = np.random.default_rng(0)
INF, NAN = float("inf"), float("nan")


def arr(*shape, dtype=np.float64):
    if np.dtype(dtype).kind == "f":
        return RNG.standard_normal(shape).astype(dtype)
    if np.dtype(dtype) == np.bool_:
        return RNG.integers(0, 2, shape).astype(bool)
    return RNG.integers(-5, 6, shape).astype(dtype)


def with_zero_row(a):
    a = np.array(a)
    a[1] = 0
    return a


C4 = np.array([0.0, 1.0, 3.0, 7.0])   # coordinates (uneven steps)
C3 = np.array([-1.0, 0.5, 2.0])


# --- values and gradients ---------------------------------------------------------------------

CASES = {
    # frexp: the mantissa's gradient is 2**-exponent; the exponent is int32, constant
    "frexp": (lambda L, x: L.frexp(x), arr(2, 3)),
    "frexp edges": (lambda L, x: L.frexp(x),
                    np.array([0.0, -0.0, INF, -INF, NAN, 0.5, 1.0, -8.0, 1e-310, 3.5])),
    "frexp float32": (lambda L, x: x.frexp(), arr(4, dtype=np.float32)),
    "frexp float16": (lambda L, x: L.frexp(x), arr(3, dtype=np.float16)),
    "frexp 0-d": (lambda L, x: L.frexp(x), arr()),
    "frexp empty": (lambda L, x: L.frexp(x), arr(0, 2)),
    "frexp fields": (lambda L, x: (L.frexp(x).mantissa, L.frexp(x).exponent), arr(3)),
    # renorm: slices along dim with a p-norm above maxnorm scaled down to it
    **{f"renorm p={p} dim={d}": (lambda L, x, p=p, d=d: L.renorm(x, p, d, 1.0),
                                 with_zero_row(arr(3, 4)))
       for p in (1, 2, 3, 1.5, INF) for d in (0, 1, -1)},
    "renorm 3-d": (lambda L, x: L.renorm(x, 2, 1, 0.5), arr(2, 3, 2)),
    "renorm maxnorm 0": (lambda L, x: x.renorm(2, 0, 0.0), arr(2, 3)),
    "renorm big maxnorm": (lambda L, x: x.renorm(2, 0, 100.0), arr(2, 3)),
    "renorm float32": (lambda L, x: L.renorm(x, 2, 0, 1.0), arr(3, 2, dtype=np.float32)),
    "renorm empty": (lambda L, x: L.renorm(x, 2, 0, 1.0), arr(0, 3)),
    "renorm_": (lambda L, x: (x * 1).renorm_(2, 1, 0.7), arr(3, 3)),
    # gradient: central differences (numpy.gradient), one tensor per dim
    "gradient 1-d": (lambda L, x: L.gradient(x), arr(5)),
    "gradient 2-d": (lambda L, x: L.gradient(x), arr(3, 4)),
    "gradient spacing": (lambda L, x: L.gradient(x, spacing=2.5), arr(3, 4)),
    "gradient int spacing": (lambda L, x: L.gradient(x, spacing=2), arr(4)),
    "gradient spacings": (lambda L, x: L.gradient(x, spacing=[0.5, 3.0]), arr(3, 4)),
    "gradient edge_order=2": (lambda L, x: L.gradient(x, edge_order=2), arr(3, 4)),
    "gradient dim": (lambda L, x: L.gradient(x, dim=1), arr(3, 4)),
    "gradient dims": (lambda L, x: L.gradient(x, dim=[-1, 0], spacing=[2.0, 3.0]), arr(3, 4, 2)),
    "gradient coordinates": (lambda L, x, c: L.gradient(x, spacing=(c,), dim=1), arr(2, 4),
                             C4),
    "gradient coordinates edge_order=2": (
        lambda L, x, c, k: L.gradient(x, spacing=[c, k], edge_order=2), arr(3, 4), C3, C4),
    "gradient int": (lambda L, x: L.gradient(x), arr(4, dtype=np.int64)),
    "gradient int32 int spacing": (lambda L, x: L.gradient(x, spacing=2),
                                   arr(4, dtype=np.int32)),
    "gradient float32": (lambda L, x: L.gradient(x), arr(2, 3, dtype=np.float32)),
    "gradient float32 with float64 coordinates": (
        lambda L, x, c: L.gradient(x, spacing=(c,)), arr(4, dtype=np.float32), C4),
    "gradient int coordinates": (lambda L, x, c: L.gradient(x, spacing=(c,)), arr(4),
                                 np.array([0, 1, 3, 7])),
    "gradient empty": (lambda L, x: L.gradient(x, dim=1), arr(0, 3)),
    "gradient 0-d": (lambda L, x: L.gradient(x), arr()),
    "gradient nan and inf": (lambda L, x: L.gradient(x), np.array([1.0, NAN, 2.0, INF, 0.0])),
    # vander (values only: PyTorch 2.13's backward of vander raises, ours is in the catalog)
    **{f"vander N={n} increasing={inc}": (lambda L, x, n=n, inc=inc: L.vander(x.detach(), n,
                                                                           inc),
                                          np.array([0.0, 2.0, -1.5]))
       for n in (None, 0, 1, 2, 5) for inc in (False, True)},
    "vander int": (lambda L, x: L.vander(x), arr(3, dtype=np.int64)),
    "vander int32": (lambda L, x: L.vander(x, 4), arr(3, dtype=np.int32)),
    "vander bool": (lambda L, x: L.vander(x), arr(2, dtype=bool)),
    "vander float32": (lambda L, x: L.vander(x.detach(), increasing=True),
                       arr(3, dtype=np.float32)),
    "vander empty": (lambda L, x: L.vander(x), arr(0)),
    # concat, concatenate, t, sum_to_size
    "concat": (lambda L, x, y: L.concat([x, y], 1), arr(2, 3), arr(2, 1)),
    "concat axis": (lambda L, x, y: L.concat((x, y), axis=0), arr(2, 3), arr(1, 3)),
    "concatenate": (lambda L, x, y: L.concatenate([x, y]), arr(2), arr(3)),
    "concatenate dim": (lambda L, x, y: L.concatenate([x, y], dim=-1), arr(2, 1), arr(2, 2)),
    "concat promotes": (lambda L, x, y: L.concat([x, y]), arr(2, dtype=np.int64),
                        arr(1, dtype=np.float32)),
    "concat empty": (lambda L, x, y: L.concat([x, y]), arr(0, 2), arr(1, 2)),
    "t function": (lambda L, x: L.t(x), arr(2, 3)),
    "t function 1-d": (lambda L, x: L.t(x), arr(3)),
    "t function 0-d": (lambda L, x: L.t(x), arr()),
    "t method": (lambda L, x: x.t(), arr(3, 1)),
    "sum_to_size": (lambda L, x: x.sum_to_size(3, 1), arr(2, 3, 4)),
    "sum_to_size tuple": (lambda L, x: x.sum_to_size((1, 3, 1)), arr(2, 3, 4)),
    "sum_to_size list": (lambda L, x: x.sum_to_size([4]), arr(2, 3, 4)),
    "sum_to_size same": (lambda L, x: x.sum_to_size(2, 3) * 1, arr(2, 3)),
    "sum_to_size 0-d": (lambda L, x: x.sum_to_size(()), arr()),
    "sum_to_size to 0-d": (lambda L, x: x.sum_to_size(()), arr(2, 3)),
    "sum_to_size empty": (lambda L, x: x.sum_to_size(1, 3), arr(0, 3)),
    "sum_to_size int": (lambda L, x: x.sum_to_size(1), arr(3, dtype=np.int64)),
    # triangles in place: recorded, the gradient masked
    "tril_": (lambda L, x: (x * 2).tril_(), arr(3, 4)),
    "tril_ diagonal": (lambda L, x: (x * 2).tril_(-1), arr(2, 3, 3)),
    "triu_": (lambda L, x: (x * 2).triu_(), arr(4, 3)),
    "triu_ diagonal": (lambda L, x: (x * 2).triu_(diagonal=2), arr(3, 4)),
    "triu_ int": (lambda L, x: (x * 2).triu_(), arr(3, 3, dtype=np.int64)),
}


def _triangle_through_view(L, x):
    a = x * 1
    a[1:].tril_()
    return a


def _renorm_through_view(L, x):
    a = x * 1
    a[:, 1:].renorm_(2, 0, 0.5)
    return a


# --- view ops in place (the tensor object is kept, its shape changes; recorded as a view op) -----

W23 = arr(2, 3)


def _unsqueeze_then_use(L, a, w):
    x = a * 2
    r = x.unsqueeze_(0)
    assert r is x and tuple(x.shape) == (1, 2, 3)
    return x * w


def _t_after_saved_output(L, a):
    x = a * 2
    z = x.exp()  # (exp saves its output, not x: the change of x's shape does not matter)
    x.t_()
    return z.sum() + (x * L.tensor(W23.T)).sum()


def _squeeze_view_then_change(L, a):
    base = a * 1
    v = base[0:1]
    v.squeeze_(0)
    v.mul_(3)
    return base * 1


def _base_reshaped_then_view_changed(L, a):
    base = a * 1
    row = base[1]  # made before the base's shape changes: still the same elements after
    base.unsqueeze_(0)
    row.mul_(10)
    return base * L.tensor(W23)


def _transpose_view_then_operand(L, a, b):
    x = a * 1
    c = (x * 1).t()
    c.transpose_(0, 1)
    c.mul_(b)
    return x * 1 + c


def _chain(L, a):
    x = a * 1
    x.t_()
    y = x[0]
    x.unsqueeze_(1)
    y.mul_(5)
    x.squeeze_()
    return x.sum(0) * L.tensor([1.0, 2.0])


def _view_of_view(L, a):
    x = a * 1
    x.t_()
    x.t_()
    v = x[:, 1]
    v.unsqueeze_(0)
    v.unsqueeze_(-1)
    v.pow_(2)
    return x * L.tensor(W23)


def _swaps(L, a):
    base = a * 1
    v = base.t()
    v.t_()
    v.swapaxes_(0, 1)
    v.swapdims_(1, 0)
    v.mul_(L.tensor(W23))
    return base * L.tensor(W23)


def _in_place_after_shape_change(L, a):
    """exp_ saves its output, x's memory: the later unsqueeze_ counts as a change of it"""
    x = a * 1
    x.transpose_(0, 1)
    x.exp_()
    x.unsqueeze_(0)
    return x * 1


def _scalar_and_vector(L, a, b):
    x = a * 1
    x.t_()
    x.unsqueeze_(0).squeeze_(0)
    y = b * 1
    y.t_()
    return x * 2, y * 3


VIEW_CASES = {
    "unsqueeze_ then use": (_unsqueeze_then_use, arr(2, 3), arr(1, 2, 3)),
    "t_ after an op that saved its output": (_t_after_saved_output, arr(2, 3)),
    "squeeze_ on a view, then a change through it": (_squeeze_view_then_change, arr(2, 3)),
    "a view made before the base's unsqueeze_": (_base_reshaped_then_view_changed, arr(2, 3)),
    "transpose_ of a view, then mul_ by an operand": (_transpose_view_then_operand, arr(2, 3),
                                                      arr(2, 3)),
    "t_, a view, unsqueeze_, a change, squeeze_": (_chain, arr(2, 3)),
    "unsqueeze_ twice on a view of a view": (_view_of_view, arr(2, 3)),
    "t_ swapaxes_ swapdims_ on a view": (_swaps, arr(2, 3)),
    "0-d and 1-d": (_scalar_and_vector, arr(), arr(3)),
    "tril_ through a view": (_triangle_through_view, arr(3, 3)),
    "renorm_ through a view": (_renorm_through_view, arr(3, 3)),
}
ALL = {**CASES, **VIEW_CASES}


@pytest.mark.parametrize("name", list(ALL))
def test_matches_torch(torch, name):
    fn, *arrays = ALL[name]
    run(torch, fn, *arrays)


SECOND_ORDER = ["frexp", "renorm p=2 dim=1", "renorm 3-d", "renorm p=inf dim=1",
                "gradient 2-d", "gradient coordinates edge_order=2", "sum_to_size", "concat",
                "tril_ diagonal", "renorm_", "a view made before the base's unsqueeze_",
                "t_, a view, unsqueeze_, a change, squeeze_", "squeeze_ on a view, then a "
                "change through it", "renorm_ through a view"]


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_second_order_matches_torch(torch, name):
    fn, *arrays = ALL[name]
    run(torch, fn, *arrays, second_order=True)


def test_exponent_and_results(torch):
    x = arr(3, 2)
    m, e = ad.frexp(ad.tensor(x))
    assert e.dtype == ad.int32 and not e.requires_grad and m.dtype == ad.float64
    assert np.array_equal(m.numpy() * 2.0 ** e.numpy(), x)
    assert type(ad.frexp(ad.tensor(x))).__name__ == type(torch.frexp(torch.tensor(x))).__name__


def test_view_ops_in_place_share_memory(torch):
    """The tensor keeps its identity and its memory; views made before still alias it."""
    for lib in (ad, torch):
        a = lib.tensor(arr(2, 3), requires_grad=True)
        x = a * 2
        row = x[1]
        for method, args in (("unsqueeze_", (0,)), ("transpose_", (1, 2)), ("squeeze_", ()),
                             ("t_", ()), ("swapdims_", (0, 1))):
            assert getattr(x, method)(*args) is x
        assert tuple(x.shape) == (3, 2)
        with lib.no_grad():
            x[2, 1] = 7.0
        assert row[2].item() == 7.0
    b = ad.tensor(arr(2, 3))
    data = b.data
    b.t_()
    assert np.shares_memory(b.data, data) and b.shape == (3, 2)
    assert not b.data.flags.c_contiguous  # (a transposed view, as torch's strides)


def test_view_ops_in_place_count_a_version(torch):
    """An op that saved the tensor before its shape changed refuses to backpropagate."""
    for lib in (ad, torch):
        a = lib.tensor(arr(2, 3), requires_grad=True)
        x = a * 2
        y = x * x
        v = x._version
        x.t_()
        assert x._version == v + 1
        with pytest.raises(RuntimeError):
            y.sum().backward()


def test_view_ops_in_place_without_recording(torch):
    """Under no_grad (or with no tensor requiring grad) only the shape changes."""
    for lib in (ad, torch):
        a = lib.tensor(arr(2, 3), requires_grad=True)
        with lib.no_grad():
            a.unsqueeze_(0)
            assert tuple(a.shape) == (1, 2, 3) and a.requires_grad
        b = lib.tensor(arr(2, 3))
        b.t_()
        assert tuple(b.shape) == (3, 2) and b.grad_fn is None and not b.requires_grad


def test_gradient_coordinates_of_another_length_raise():
    """PyTorch broadcasts them into a meaningless result (or a size error); ours refuses."""
    for n in (2, 5):
        with pytest.raises(RuntimeError, match="coordinates"):
            ad.gradient(ad.ones(3), spacing=(ad.arange(float(n)),))


def test_histogram_has_no_gradient():
    x = ad.tensor(arr(4), requires_grad=True)
    h, edges = ad.histogram(x, 3)
    assert not h.requires_grad and not edges.requires_grad
    assert not ad.histogramdd(x.reshape(2, 2), 2).hist.requires_grad
    assert not ad.vander(ad.tensor(arr(3)).requires_grad_(), 1).requires_grad


# --- histograms: values and dtypes --------------------------------------------------------------

def _edges(lib, *values):
    return lib.tensor(np.array(values))


HISTOGRAMS = {
    "bins": (lambda L, x: L.histogram(x, 4), arr(10)),
    "range": (lambda L, x: L.histogram(x, 3, range=(-1.0, 1.0)), arr(10)),
    "edges": (lambda L, x: L.histogram(x, _edges(L, -1.0, 0.0, 0.5, 2.0)), arr(10)),
    "weight": (lambda L, x, w: L.histogram(x, 3, weight=w), arr(6), np.abs(arr(6))),
    "density": (lambda L, x: L.histogram(x, 5, density=True), arr(10)),
    "weight and density": (lambda L, x, w: L.histogram(x, _edges(L, -2.0, 0.0, 1.0),
                                                       weight=w, density=True),
                           arr(6), np.abs(arr(6))),
    "method": (lambda L, x: x.histogram(3), arr(2, 3)),
    "2-d input": (lambda L, x: L.histogram(x, 2), arr(2, 3)),
    "0-d": (lambda L, x: L.histogram(x, 3), arr()),
    "empty": (lambda L, x: L.histogram(x, 3), arr(0)),
    "equal values": (lambda L, x: L.histogram(x, 3), np.array([2.0, 2.0])),
    "edge values": (lambda L, x: L.histogram(x, 2, range=(0.0, 2.0)),
                    np.array([0.0, 1.0, 2.0, 2.5, -1.0])),
    "float32": (lambda L, x: L.histogram(x, 4), np.array([0.0, 0.5, 1.5, 3.0], np.float32)),
    "dd": (lambda L, x: L.histogramdd(x, bins=[3, 2]), arr(5, 2)),
    "dd int bins": (lambda L, x: L.histogramdd(x, 2), arr(3, 4, 3)),
    "dd range": (lambda L, x: L.histogramdd(x, 2, range=[0.0, 1.0, -1.0, 1.0]), arr(6, 2)),
    "dd edges": (lambda L, x: L.histogramdd(x, [_edges(L, -1.0, 0.0, 1.0), _edges(L, 0.0, 3.0)]),
                 arr(5, 2)),
    "dd weight and density": (lambda L, x, w: L.histogramdd(x, 2, weight=w, density=True),
                              arr(4, 2), np.abs(arr(4))),
    "dd empty": (lambda L, x: L.histogramdd(x, 2), arr(0, 2)),
}


@pytest.mark.parametrize("name", list(HISTOGRAMS))
def test_histograms_as_torch(torch, name):
    fn, *arrays = HISTOGRAMS[name]
    ours = fn(ad, *[to_ad(a) for a in arrays])
    theirs = fn(torch, *[to_torch(a) for a in arrays])
    assert type(ours).__name__ == type(theirs).__name__
    tol = 1e-6 if arrays[0].dtype == np.float32 else 1e-12
    assert_close(ours.hist, theirs.hist, tol=tol)
    ours_edges = ours.bin_edges if isinstance(ours.bin_edges, tuple) else (ours.bin_edges,)
    theirs_edges = theirs.bin_edges if isinstance(theirs.bin_edges, tuple) else (
        theirs.bin_edges,)
    assert len(ours_edges) == len(theirs_edges)
    for a, t in zip(ours_edges, theirs_edges):
        assert_close(a, t, tol=tol)


# --- Tensor.new ---------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [(2, 3), ([1.5, 2],), ((2, 3),), ([[1, 2], [3, 4]],), ()])
@pytest.mark.parametrize("dtype", [np.int32, np.float64])
def test_new(torch, args, dtype):
    a, t = ad.tensor(np.zeros(2, dtype)), torch.tensor(np.zeros(2, dtype))
    ours, theirs = a.new(*args), t.new(*args)
    assert ours.shape == tuple(theirs.shape) and not ours.requires_grad
    assert ours.dtype == to_ad(theirs).dtype
    if args and not isinstance(args[0], int):
        assert_close(ours, theirs)


def test_new_of_a_tensor(torch):
    a = ad.tensor([1.0, 2.0])
    b = ad.ones(3, dtype=ad.float32)
    assert_close(b.new(ad.tensor([4.0, 5.0], dtype=ad.float32)), torch.tensor([4.0, 5.0]))
    with pytest.raises(TypeError):
        a.new(ad.tensor([1, 2]))
    with pytest.raises(TypeError):
        torch.tensor([1.0]).new(torch.tensor([1, 2]))


# --- errors -------------------------------------------------------------------------------------

def _leaf(lib):
    return lib.tensor(np.ones((2, 3)), requires_grad=True)


ERRORS = {
    "frexp int": lambda L: L.frexp(L.tensor([1, 2])),
    "renorm 1-d": lambda L: L.renorm(L.tensor([3.0, 4.0]), 2, 0, 1.0),
    "renorm 0-d": lambda L: L.renorm(L.tensor(1.0), 2, 0, 1.0),
    "renorm p=0": lambda L: L.renorm(L.ones(2, 2), 0, 0, 1.0),
    "renorm p<0": lambda L: L.renorm(L.ones(2, 2), -1, 0, 1.0),
    "renorm maxnorm<0": lambda L: L.renorm(L.ones(2, 2), 2, 0, -1.0),
    "renorm dim": lambda L: L.renorm(L.ones(2, 2), 2, 2, 1.0),
    "renorm_ leaf": lambda L: _leaf(L).renorm_(2, 0, 1.0),
    "gradient too short": lambda L: L.gradient(L.tensor([1.0])),
    "gradient too short for edge_order=2": lambda L: L.gradient(L.ones(2), edge_order=2),
    "gradient edge_order=3": lambda L: L.gradient(L.ones(5), edge_order=3),
    "gradient 0-d spacing": lambda L: L.gradient(L.ones(3), spacing=(L.tensor(2.0),)),
    "gradient too many spacings": lambda L: L.gradient(L.ones(3), spacing=[2.0, 3.0]),
    "gradient spacings and dims": lambda L: L.gradient(L.ones(3, 3), spacing=[1.0, 2.0], dim=0),
    "gradient one spacing for two dims": lambda L: L.gradient(L.ones(3, 3), spacing=[2.0],
                                                              dim=(0, 1)),
    "gradient repeated dim": lambda L: L.gradient(L.ones(3, 3), dim=[0, 0]),
    "gradient dim": lambda L: L.gradient(L.ones(3, 3), dim=2),
    "gradient empty dim": lambda L: L.gradient(L.ones(0, 3)),
    "vander 2-d": lambda L: L.vander(L.ones(2, 2)),
    "vander 0-d": lambda L: L.vander(L.tensor(2.0)),
    "vander N<0": lambda L: L.vander(L.ones(2), N=-1),
    "histogram int": lambda L: L.histogram(L.tensor([1, 2]), 3),
    "histogram range": lambda L: L.histogram(L.ones(3), 3, range=(2.0, 1.0)),
    "histogram bins=0": lambda L: L.histogram(L.ones(3), 0),
    "histogram nan": lambda L: L.histogram(L.tensor([1.0, NAN]), 2),
    "histogram inf": lambda L: L.histogram(L.tensor([1.0, INF]), 2),
    "histogram weight shape": lambda L: L.histogram(L.ones(2), 2, weight=L.ones(1)),
    "histogram edges dtype": lambda L: L.histogram(L.ones(2, dtype=L.float64), L.ones(2)),
    "histogramdd 1-d": lambda L: L.histogramdd(L.ones(3), 2),
    "histogramdd weight shape": lambda L: L.histogramdd(L.ones(3, 2), 2, weight=L.ones(2)),
    "concat sizes": lambda L: L.concat([L.ones(2, 3), L.ones(1, 2)], dim=1),
    "concatenate empty list": lambda L: L.concatenate([]),
    "t 3-d": lambda L: L.t(L.ones(2, 2, 2)),
    "t method 3-d": lambda L: L.ones(2, 2, 2).t(),
    "sum_to_size not expandable": lambda L: L.ones(2, 3, 4).sum_to_size(2, 1),
    "sum_to_size more dims": lambda L: L.ones(2, 3).sum_to_size(1, 2, 3),
    "sum_to_size no size": lambda L: L.ones(2).sum_to_size(),
    "new float": lambda L: L.ones(2).new(2.5),
    "tril_ 1-d": lambda L: L.ones(3).tril_(),
    "tril_ leaf": lambda L: _leaf(L).tril_(),
    "triu_ view of a leaf": lambda L: _leaf(L)[0:1].triu_(),
    "unsqueeze_ leaf": lambda L: _leaf(L).unsqueeze_(0),
    "t_ leaf": lambda L: _leaf(L).t_(),
    "squeeze_ view of a leaf": lambda L: _leaf(L)[0:1].squeeze_(0),
    "transpose_ split output": lambda L: (_leaf(L) * 1).split(1)[0].transpose_(0, 1),
    "unsqueeze_ dim": lambda L: L.ones(2, 3).unsqueeze_(3),
    "squeeze_ dim": lambda L: L.ones(2, 3).squeeze_(2),
    "transpose_ dim": lambda L: L.ones(2, 3).transpose_(0, 2),
    "t_ 3-d": lambda L: L.ones(2, 2, 2).t_(),
    "backward through exp_ after a shape change": lambda L: (
        _in_place_after_shape_change(L, L.ones(2, 3, requires_grad=True)).sum().backward()),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_as_torch(torch, name):
    same_error(torch, ERRORS[name])
