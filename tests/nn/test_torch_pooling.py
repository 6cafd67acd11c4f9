"""Pooling cross-checked against PyTorch: every functional form over its documented argument
combinations (values, indices, first- and second-order gradients), the module forms' printed
forms and outputs, PyTorch's tie, NaN and -inf rules for max pooling, and the error paths."""
import math

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as NF
from _torch import assert_close, pair, require_torch, run_outputs, same_error

torch = require_torch()
TF = torch.nn.functional


def F(lib):
    """nn.functional of either library."""
    return TF if lib is torch else NF


def _nn(lib):
    return torch.nn if lib is torch else nn


def _x(shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


SHAPES = {1: (2, 3, 9), 2: (2, 2, 7, 6), 3: (1, 2, 5, 6, 4)}

# (kernel_size, stride, padding, dilation, ceil_mode): int and tuple spellings, overlapping and
# side-by-side windows, padding up to half the (dilated) kernel, ceil-mode overhangs
MAX_CASES = [(2, None, 0, 1, False), (3, 2, 1, 1, False), (3, 2, 1, 1, True),
             (2, 1, 1, 2, False), (3, 2, 1, 2, True), (2, 3, 0, 1, True), (3, 3, 1, 1, True)]


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("case", MAX_CASES, ids=str)
def test_max_pool_with_indices_matches_torch(nd, case):
    k, s, p, d, ceil = case
    if nd > 1 and case == MAX_CASES[1]:  # a tuple spelling: a different window per dim
        k, s, p = (3, 2, 2)[:nd], (2, 1, 2)[:nd], (1, 0, 1)[:nd]
    run_outputs(torch, lambda lib, x: getattr(F(lib), f"max_pool{nd}d")(
        x, k, s, p, d, ceil, return_indices=True), _x(SHAPES[nd]), second_order=True)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_pool_unbatched_and_float32_match_torch(nd):
    x = _x(SHAPES[nd][1:], seed=1, dtype=np.float32)
    run_outputs(torch, lambda lib, x: getattr(F(lib), f"max_pool{nd}d")(
        x, 2, 1, 1, ceil_mode=True, return_indices=True), x)
    run_outputs(torch, lambda lib, x: getattr(lib, f"max_pool{nd}d")(x, 3, 2, 1, 1, True), x)


def test_top_level_forms_match_torch():
    x = _x((2, 3, 9))
    run_outputs(torch, lambda lib, x: lib.max_pool1d_with_indices(x, 3, 2, 1, 1, True), x)
    run_outputs(torch, lambda lib, x: lib.avg_pool1d(x, 3, 2, 1, True, False), x)
    run_outputs(torch, lambda lib, x: lib.adaptive_avg_pool1d(x, 4), x)
    run_outputs(torch, lambda lib, x: lib.adaptive_max_pool1d(x, 4), x)


# (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
AVG_CASES = [(2, None, 0, False, True, None), (3, 2, 1, False, True, None),
             (3, 2, 1, False, False, None), (3, 2, 1, True, True, None),
             (3, 2, 1, True, False, None), (2, 3, 1, True, True, None),
             (3, 2, 1, True, True, 4), (2, 1, 0, False, True, 3)]


@pytest.mark.parametrize("nd,case", [(nd, c) for nd in (1, 2, 3) for c in AVG_CASES
                                     if nd > 1 or c[-1] is None],  # (no divisor_override in 1-d)
                         ids=str)
def test_avg_pool_matches_torch(nd, case):
    k, s, p, ceil, cip, div = case
    extra = {} if nd == 1 else {"divisor_override": div}
    run_outputs(torch, lambda lib, x: getattr(F(lib), f"avg_pool{nd}d")(
        x, k, s, p, ceil, cip, **extra), _x(SHAPES[nd]), second_order=True)


def test_avg_pool_tuple_arguments_and_unbatched_match_torch():
    run_outputs(torch, lambda lib, x: F(lib).avg_pool2d(x, (3, 2), (2, 1), (1, 0), True, False),
                _x((2, 7, 6)))
    run_outputs(torch, lambda lib, x: F(lib).avg_pool3d(x, (2, 3, 2), (1, 2, 2), (1, 1, 0),
                                                        True, True, 5), _x((2, 5, 6, 4)))


OUTPUT_SIZES = {1: [1, 4, 5, 12], 2: [1, 3, (4, 5), (None, 4), (8, 2)],
                3: [1, (2, 4, 3), (None, 5, 3), (3, 4, None)]}


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("kind", ["avg", "max"])
def test_adaptive_pool_matches_torch(nd, kind):
    """Non-divisible sizes (windows of different lengths that overlap), outputs larger than
    the input, None keeping a dim, and the divisible fast paths."""
    for size in OUTPUT_SIZES[nd]:
        extra = {"return_indices": True} if kind == "max" else {}
        run_outputs(torch, lambda lib, x: getattr(F(lib), f"adaptive_{kind}_pool{nd}d")(
            x, size, **extra), _x(SHAPES[nd]), second_order=True)
    run_outputs(torch, lambda lib, x: getattr(F(lib), f"adaptive_{kind}_pool{nd}d")(x, 3),
                _x(SHAPES[nd][1:], dtype=np.float32))


def test_adaptive_pool_to_an_empty_side_matches_torch():
    x = _x((1, 2, 5, 4))  # (values only: PyTorch's backward refuses an empty output)
    assert_close(NF.adaptive_avg_pool2d(ad.tensor(x), (0, 2)),
                 TF.adaptive_avg_pool2d(torch.tensor(x), (0, 2)))
    for a, t in zip(NF.adaptive_max_pool2d(ad.tensor(x), (2, 0), True),
                    TF.adaptive_max_pool2d(torch.tensor(x), (2, 0), True)):
        assert_close(a, t)


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("norm_type", [1, 2, 3, 1.5, math.inf])
def test_lp_pool_matches_torch(nd, norm_type):
    x = np.abs(_x(SHAPES[nd])) + 0.1 if norm_type in (3, 1.5) else _x(SHAPES[nd])
    for k, s, ceil in [(2, None, False), (3, 2, True)]:
        run_outputs(torch, lambda lib, x: getattr(F(lib), f"lp_pool{nd}d")(
            x, norm_type, k, s, ceil), x, second_order=norm_type != math.inf)


def test_lp_pool_gradient_is_zero_where_a_window_is_all_zero_as_torch():
    x = np.zeros((1, 2, 4, 4))
    x[0, 0, :2, :2] = [[1.0, -2.0], [0.5, 3.0]]
    run_outputs(torch, lambda lib, x: F(lib).lp_pool2d(x, 2, 2), x)
    xa = ad.tensor(x, requires_grad=True)
    NF.lp_pool2d(xa, 2, 2).sum().backward()
    assert np.all(np.isfinite(xa.grad.data)) and not xa.grad.data[0, 1].any()


@pytest.mark.parametrize("nd", [2, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fractional_max_pool_with_given_samples_matches_torch(nd, dtype):
    shape = {2: (2, 3, 11, 9), 3: (2, 2, 7, 8, 9)}[nd]
    x = _x(shape, seed=3, dtype=dtype)
    u = np.random.default_rng(4).random(shape[:2] + (nd,)).astype(dtype)
    for kernel, size, ratio in [(2, (5, 4, 6)[:nd], None), ((3, 2, 2)[:nd], None, (0.5,) * nd),
                                ((2, 3, 1)[:nd], (3, 2, 3)[:nd], None)]:
        run_outputs(torch, lambda lib, x: getattr(F(lib), f"fractional_max_pool{nd}d")(
            x, kernel, size, ratio, return_indices=True, _random_samples=lib.tensor(u)), x,
            second_order=dtype == np.float64)
    # unbatched: samples (1, C, nd)
    run_outputs(torch, lambda lib, x: getattr(F(lib), f"fractional_max_pool{nd}d")(
        x, 2, output_ratio=(0.6,) * nd, _random_samples=lib.tensor(u[:1])), x[0])


def test_fractional_max_pool_draws_samples_from_autodiffs_generator():
    x = ad.tensor(_x((2, 3, 9, 9)))
    ad.manual_seed(7)
    a, ia = NF.fractional_max_pool2d(x, 2, output_size=4, return_indices=True)
    ad.manual_seed(7)
    b, ib = NF.fractional_max_pool2d(x, 2, output_size=4, return_indices=True)
    np.testing.assert_array_equal(ia.data, ib.data)
    ad.manual_seed(7)
    u = ad.rand(2, 3, 2, dtype=ad.float64)  # the same draw, given explicitly
    c = NF.fractional_max_pool2d(x, 2, output_size=4, _random_samples=u)
    np.testing.assert_array_equal(a.data, c.data)
    assert len({NF.fractional_max_pool2d(x, 2, output_size=4).data.tobytes()
                for _ in range(6)}) > 1  # fresh samples each call


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_unpool_matches_torch(nd):
    """pool -> unpool round trips: the default size (even sides), output_size (odd sides, given
    as spatial sizes or with N and C in front), and padding."""
    def round_trip(x, k, s, p, sizes):
        pool = getattr(TF, f"max_pool{nd}d")
        pooled, idx = pool(torch.tensor(x), k, s, p, return_indices=True)
        for size in sizes:
            run_outputs(torch, lambda lib, y, i: getattr(F(lib), f"max_unpool{nd}d")(
                y, i, k, s, p, size), pooled.numpy(), idx.numpy(), second_order=True)
    even, odd = {1: ((2, 3, 8), (2, 3, 9)), 2: ((2, 2, 6, 4), (2, 2, 7, 5)),
                 3: ((1, 2, 4, 4, 2), (1, 2, 5, 5, 3))}[nd]
    round_trip(_x(even, seed=5), 2, None, 0, [None])
    x = _x(odd, seed=5)
    round_trip(x, 2, None, 0, [odd[2:], odd])
    round_trip(x, 3, 3, 1, [odd[2:]])
    round_trip(x[0], 2, None, 0, [odd[2:]])  # unbatched (C, *spatial)


def test_max_unpool_module_with_output_size_matches_torch():
    x = _x((1, 1, 5, 5))
    out, idx = NF.max_pool2d(ad.tensor(x), 2, return_indices=True)
    tout, tidx = TF.max_pool2d(torch.tensor(x), 2, return_indices=True)
    ours = nn.MaxUnpool2d(2)(out, idx, output_size=(1, 1, 5, 5))
    theirs = torch.nn.MaxUnpool2d(2)(tout, tidx, output_size=(1, 1, 5, 5))
    assert_close(ours, theirs)


# --- max pooling's subgradients, NaN and -inf, as PyTorch -------------------------------------

def test_max_pool_gives_the_whole_gradient_to_the_first_maximum():
    for x in (np.ones((1, 1, 4, 4)), np.array([[[[1.0, 3.0], [3.0, 0.0]]]])):
        run_outputs(torch, lambda lib, x: F(lib).max_pool2d(x, 2, return_indices=True), x,
                    second_order=True)
    run_outputs(torch, lambda lib, x: F(lib).max_pool2d(x, 3, 1, 1, return_indices=True),
                np.ones((1, 1, 4, 5)))  # overlapping windows of ties, with padding
    run_outputs(torch, lambda lib, x: F(lib).adaptive_max_pool2d(x, 3, return_indices=True),
                np.ones((1, 1, 5, 4)))


def test_max_pool_nan_wins_and_all_minus_inf_windows_keep_an_index_inside():
    x = np.array([[[[1.0, np.nan, 3.0, np.nan], [np.nan, 2.0, 0.0, 1.0],
                    [-np.inf, -np.inf, 5.0, -1.0], [-np.inf, -np.inf, 1.0, 2.0]]]])
    run_outputs(torch, lambda lib, x: F(lib).max_pool2d(x, 2, return_indices=True), x)
    run_outputs(torch, lambda lib, x: F(lib).max_pool2d(x, 2, 1, 1, return_indices=True), x)
    run_outputs(torch, lambda lib, x: F(lib).adaptive_max_pool2d(x, 3, return_indices=True), x)
    run_outputs(torch, lambda lib, x: F(lib).max_pool1d(x, 3, 2, 1, 2, return_indices=True),
                x[0, 0])


def test_max_pool_of_integers_matches_torch():
    x = np.random.default_rng(0).integers(-5, 5, (2, 3, 6, 7))
    ours = NF.max_pool2d(ad.tensor(x), 3, 2, 1, return_indices=True)
    theirs = TF.max_pool2d(torch.tensor(x), 3, 2, 1, return_indices=True)
    for a, t in zip(ours, theirs):
        assert_close(a, t)


def test_max_pool_input_changed_in_place_is_an_error_at_backward():
    x = ad.randn(1, 1, 4, 4, requires_grad=True)
    h = x * 1
    out = NF.max_pool2d(h, 2)
    with ad.no_grad():
        h.add_(1)
    with pytest.raises(RuntimeError, match="in-?place"):
        out.sum().backward()


# --- modules --------------------------------------------------------------------------------

MODULES = [
    ("MaxPool1d", (3,), {}), ("MaxPool2d", (3, 2, 1), {"dilation": 2, "ceil_mode": True}),
    ("MaxPool2d", ((2, 3),), {"return_indices": True}), ("MaxPool3d", (2,), {"stride": 1}),
    ("AvgPool1d", (3, 2, 1), {"ceil_mode": True}), ("AvgPool2d", (3,), {"divisor_override": 2}),
    ("AvgPool2d", ((3, 2), (2, 1), (1, 0)), {"count_include_pad": False}),
    ("AvgPool3d", (2, 1), {"ceil_mode": True}),
    ("AdaptiveAvgPool1d", (4,), {}), ("AdaptiveAvgPool2d", ((None, 3),), {}),
    ("AdaptiveAvgPool3d", ((2, 3, None),), {}), ("AdaptiveMaxPool1d", (4,), {}),
    ("AdaptiveMaxPool2d", ((2, 3),), {"return_indices": True}), ("AdaptiveMaxPool3d", (2,), {}),
    ("LPPool1d", (2, 3), {}), ("LPPool2d", (1.5, 2, 1), {"ceil_mode": True}),
    ("LPPool3d", (3, (2, 1, 2)), {}), ("MaxUnpool1d", (2,), {}),
    ("MaxUnpool2d", ((2, 3), 2, 1), {}), ("MaxUnpool3d", (2,), {}),
    ("FractionalMaxPool2d", (2,), {"output_size": 3}),
    ("FractionalMaxPool3d", (2,), {"output_ratio": 0.5}),
]
INPUTS = {"1d": (2, 3, 9), "2d": (2, 2, 8, 7), "3d": (1, 2, 6, 5, 6)}


@pytest.mark.parametrize("name,args,kwargs", MODULES, ids=[m[0] for m in MODULES])
def test_module_repr_and_forward_match_torch(name, args, kwargs):
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    if name.startswith(("MaxUnpool", "Fractional")):
        return
    x = _x(INPUTS[name[-2:]], dtype=np.float32)
    ours_out = ours(ad.tensor(x))
    theirs_out = theirs(torch.tensor(x))
    for a, t in zip(*(o if isinstance(o, tuple) else (o,) for o in (ours_out, theirs_out))):
        assert_close(a, t, tol=1e-5)


def test_fractional_module_with_samples_buffer_matches_torch():
    x = _x((2, 3, 9, 8), seed=6)
    u = np.random.default_rng(7).random((2, 3, 2))
    ours = nn.FractionalMaxPool2d(3, output_ratio=(0.5, 0.6), return_indices=True,
                                  _random_samples=ad.tensor(u))
    theirs = torch.nn.FractionalMaxPool2d(3, output_ratio=(0.5, 0.6), return_indices=True,
                                          _random_samples=torch.tensor(u))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["_random_samples"]
    for a, t in zip(ours(ad.tensor(x)), theirs(torch.tensor(x))):
        assert_close(a, t)


def test_pool_modules_in_a_model_train_like_torch():
    """A small conv net with max pool (indices and unpool), avg and adaptive pooling: outputs
    and gradients equal to PyTorch's from the same weights."""
    def build(lib):
        m = _nn(lib)
        return m.Sequential(m.Conv2d(2, 4, 3, padding=1), m.MaxPool2d(2, ceil_mode=True),
                            m.ReLU(), m.AvgPool2d(3, 1, 1, count_include_pad=False),
                            m.LPPool2d(2, 2), m.AdaptiveMaxPool2d((2, 1)), m.Flatten())
    ours, theirs = build(ad), build(torch)
    ours.double().load_state_dict({k: ad.tensor(v.detach().numpy())
                                   for k, v in theirs.double().state_dict().items()})
    assert repr(ours) == repr(theirs)
    x, tx = pair(_x((2, 2, 9, 9), seed=8))
    out, tout = ours(x), theirs(tx)
    assert_close(out, tout)
    out.square().sum().backward()
    tout.square().sum().backward()
    assert_close(x.grad, tx.grad)
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        assert_close(p.grad, tp.grad, err_msg=name)


# --- errors ---------------------------------------------------------------------------------

ERRORS = [
    (lambda F, z: F.max_pool2d(z(1, 1, 5, 5), 2, padding=2), "at most half"),
    (lambda F, z: F.avg_pool2d(z(1, 1, 5, 5), 2, padding=2), "at most half"),
    (lambda F, z: F.max_pool2d(z(1, 1, 5, 5), 2, padding=2, dilation=3), "at most half"),
    (lambda F, z: F.max_pool2d(z(1, 1, 1, 5), 2), "input height 1"),
    (lambda F, z: F.max_pool1d(z(1, 1, 1), 2), "input length 1"),
    (lambda F, z: F.avg_pool3d(z(1, 1, 1, 3, 3), 2), "input depth 1"),
    (lambda F, z: F.max_pool2d(z(1, 1, 1, 1, 5, 5), 2), "shape"),
    (lambda F, z: F.max_pool2d(z(5, 5), 2), "shape"),
    (lambda F, z: F.max_pool2d(z(1, 1, 5, 5), 0), "kernel_size"),
    (lambda F, z: F.max_pool2d(z(1, 1, 5, 5), 2, stride=0), "stride"),
    (lambda F, z: F.max_pool2d(z(1, 1, 5, 5), 2, dilation=0), "dilation"),
    (lambda F, z: F.max_pool2d(z(1, 1, 5, 5), 2, padding=-1), "padding"),
    (lambda F, z: F.max_pool2d(z(1, 1, 5, 5), (2, 2, 2)), "kernel_size"),
    (lambda F, z: F.avg_pool2d(z(1, 1, 5, 5), 2, divisor_override=0), "divisor_override"),
    (lambda F, z: F.adaptive_max_pool2d(z(1, 1, 5, 5), (2, 3, 4)), "output_size"),
    (lambda F, z: F.adaptive_avg_pool2d(z(1, 1, 0, 5), 2), "non-empty"),
    (lambda F, z: F.max_unpool2d(z(1, 1, 2, 2), z(1, 1, 2, 2).long() + 99, 2), "invalid"),
    (lambda F, z: F.max_unpool2d(z(1, 1, 2, 2), z(1, 1, 2, 2), 2), "int64"),
    (lambda F, z: F.max_unpool2d(z(1, 1, 2, 2), z(1, 1, 1, 3).long(), 2), "shape"),
    (lambda F, z: F.max_unpool2d(z(1, 1, 2, 2), z(1, 1, 2, 2).long(), 2, output_size=(6, 6)),
     "between 2 and 6"),
    (lambda F, z: F.max_unpool2d(z(1, 1, 2, 2), z(1, 1, 2, 2).long(), 2, output_size=(1, 5, 5)),
     "2 \\(or 4\\)"),
    (lambda F, z: F.fractional_max_pool2d(z(1, 1, 5, 5), 2), "output_size or an output_ratio"),
    (lambda F, z: F.fractional_max_pool2d(z(1, 1, 5, 5), 2, output_size=5), "at least 6"),
    (lambda F, z: F.fractional_max_pool2d(z(1, 1, 5, 5), 2, output_size=2,
                                          _random_samples=z(1, 1, 3)), "random_samples"),
]


@pytest.mark.parametrize("call,pattern", ERRORS, ids=[e[1] for e in ERRORS])
def test_errors_raise_torchs_class_with_a_message(call, pattern):
    same_error(torch, lambda lib: call(F(lib), lib.zeros))
    with pytest.raises(Exception, match=pattern):
        call(NF, ad.zeros)


def test_integer_input_to_average_pooling_is_rejected_with_a_fix():
    with pytest.raises(TypeError, match=r"\.float\(\)"):
        NF.avg_pool2d(ad.zeros(1, 1, 4, 4, dtype=ad.int64), 2)


def test_module_argument_errors_match_torch():
    for make in (lambda m: m.FractionalMaxPool2d(2),
                 lambda m: m.FractionalMaxPool2d(2, output_size=2, output_ratio=0.5),
                 lambda m: m.FractionalMaxPool2d(2, output_ratio=1.5),
                 lambda m: m.FractionalMaxPool3d(0, output_size=2)):
        with pytest.raises(ValueError):
            make(torch.nn)
        with pytest.raises(ValueError):
            make(nn)
