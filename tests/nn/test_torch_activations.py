"""PyTorch cross-checks of nn's activations and dropout variants: values, first and second order
gradients (at the kinks too), in-place forms, version counting, errors, module printouts, and
the random ones by statistics, seeding, and PyTorch's own noise fed to ours."""
import math
import types
import warnings

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from _torch import require_torch, run_outputs, same_error, to_numpy

torch = require_torch()
TF = torch.nn.functional

# every kink of the functions below (0, +-0.5, +-1, +-3, 6 ...) and values between them
KINKS = np.array([-7.0, -4.0, -3.0, -2.5, -1.0, -0.7, -0.5, -0.25, 0.0, 0.25, 0.5, 0.7, 1.0,
                  2.0, 3.0, 3.5, 6.0, 7.5])


def funcs(lib):
    return TF if lib is torch else F


def mods(lib):
    return torch.nn if lib is torch else nn


def points():
    extra = np.random.default_rng(0).normal(0, 3, 10)
    return np.concatenate([KINKS, extra]).reshape(4, 7)


# --- values and gradients, kinks included -----------------------------------------------------

ACTIVATIONS = {
    "hardtanh": lambda f, x: f.hardtanh(x),
    "hardtanh(-0.5, 3)": lambda f, x: f.hardtanh(x, -0.5, 3.0),
    "relu6": lambda f, x: f.relu6(x),
    "hardsigmoid": lambda f, x: f.hardsigmoid(x),
    "hardswish": lambda f, x: f.hardswish(x),
    "relu": lambda f, x: f.relu(x),
    "leaky_relu": lambda f, x: f.leaky_relu(x, 0.2),
    "leaky_relu(negative slope)": lambda f, x: f.leaky_relu(x, -0.3),
    "elu": lambda f, x: f.elu(x, 0.7),
    "selu": lambda f, x: f.selu(x),
    "celu": lambda f, x: f.celu(x),
    "celu(0.5)": lambda f, x: f.celu(x, 0.5),
    "mish": lambda f, x: f.mish(x),
    "silu": lambda f, x: f.silu(x),
    "softsign": lambda f, x: f.softsign(x),
    "softshrink": lambda f, x: f.softshrink(x),
    "softshrink(1)": lambda f, x: f.softshrink(x, 1.0),
    "hardshrink": lambda f, x: f.hardshrink(x),
    "hardshrink(3)": lambda f, x: f.hardshrink(x, 3.0),
    "tanhshrink": lambda f, x: f.tanhshrink(x),
    "threshold": lambda f, x: f.threshold(x, 0.5, -3.0),
    "threshold(value above)": lambda f, x: f.threshold(x, 1.0, 20.0),
    "rrelu(eval)": lambda f, x: f.rrelu(x, 0.1, 0.4),
    "logsigmoid": lambda f, x: f.logsigmoid(x),
    "glu": lambda f, x: f.glu(x, 0),
    "glu(dim=-1)": lambda f, x: f.glu(x[:, :6]),
    "softmin": lambda f, x: f.softmin(x, 1),
    "softmin(dtype)": lambda f, x: f.softmin(x.float(), 0, dtype=torch.float64
                                             if f is TF else ad.float64),
    "softmax(dtype)": lambda f, x: f.softmax(x.float(), -1, dtype=torch.float64
                                             if f is TF else ad.float64),
}


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_values_and_gradients_match_torch_at_kinks(name):
    fn = ACTIVATIONS[name]
    # torch has no second derivative of hardsigmoid (the catalog checks ours), and its slope
    # 1/6 is rounded to float32 (ours is exact)
    hard = name == "hardsigmoid"
    run_outputs(torch, lambda lib, x: fn(funcs(lib), x), points(), second_order=not hard,
                tol=1e-7 if hard else None)


def test_float32_and_integer_inputs_as_torch():
    x = points().astype(np.float32)
    for name in ("hardswish", "selu", "softshrink", "mish"):
        run_outputs(torch, lambda lib, x: ACTIVATIONS[name](funcs(lib), x), x)
    ints = np.array([-7, -1, 0, 1, 3, 9])
    for fn in (lambda f, x: f.hardtanh(x), lambda f, x: f.relu6(x),
               lambda f, x: f.threshold(x, 1, 5), lambda f, x: f.softsign(x),
               lambda f, x: f.relu(x)):
        ours, theirs = fn(F, ad.tensor(ints)), fn(TF, torch.tensor(ints))
        assert ours.dtype == to_numpy(theirs).dtype
        np.testing.assert_allclose(ours.data, to_numpy(theirs), rtol=1e-6)


# --- in place ----------------------------------------------------------------------------------

IN_PLACE = {
    "relu_": lambda f, y: f.relu_(y),
    "leaky_relu_": lambda f, y: f.leaky_relu_(y, 0.1),
    "elu_": lambda f, y: f.elu_(y, 0.6),
    "selu_": lambda f, y: f.selu_(y),
    "celu_": lambda f, y: f.celu_(y, 1.5),
    "hardtanh_": lambda f, y: f.hardtanh_(y, -0.5, 0.5),
    "threshold_": lambda f, y: f.threshold_(y, 0.5, -2.0),
    "rrelu_": lambda f, y: f.rrelu_(y),
    "relu(inplace)": lambda f, y: f.relu(y, inplace=True),
    "relu6(inplace)": lambda f, y: f.relu6(y, inplace=True),
    "hardtanh(inplace)": lambda f, y: f.hardtanh(y, inplace=True),
    "hardsigmoid(inplace)": lambda f, y: f.hardsigmoid(y, inplace=True),
    "hardswish(inplace)": lambda f, y: f.hardswish(y, inplace=True),
    "silu(inplace)": lambda f, y: f.silu(y, inplace=True),
    "mish(inplace)": lambda f, y: f.mish(y, inplace=True),
    "elu(inplace)": lambda f, y: f.elu(y, inplace=True),
    "selu(inplace)": lambda f, y: f.selu(y, inplace=True),
    "celu(inplace)": lambda f, y: f.celu(y, inplace=True),
    "leaky_relu(inplace)": lambda f, y: f.leaky_relu(y, inplace=True),
    "threshold(inplace)": lambda f, y: f.threshold(y, 0.0, 1.0, inplace=True),
    "rrelu(inplace)": lambda f, y: f.rrelu(y, inplace=True),
}


@pytest.mark.parametrize("name", IN_PLACE)
def test_in_place_forms_write_the_input_with_torch_gradients(name):
    def fn(lib, x):
        y = x * 2.0
        before = y._version
        out = IN_PLACE[name](funcs(lib), y)
        assert out is y and y._version > before
        return y
    hard = "hardsigmoid" in name  # (see above)
    run_outputs(torch, fn, points(), second_order=not hard, tol=1e-7 if hard else None)


def test_in_place_through_a_view_rewrites_the_base():
    def fn(lib, x):
        base = x * 1.0
        funcs(lib).hardtanh_(base[1:3], -0.5, 0.5)
        return base
    run_outputs(torch, fn, points(), second_order=True)


def test_in_place_module_forms():
    def fn(lib, x):
        m = mods(lib)
        outs = []
        for layer in (m.ELU(0.5, inplace=True), m.ReLU6(inplace=True), m.Hardswish(True)):
            y = x * 1.0
            assert layer(y) is y
            outs.append(y)
        return tuple(outs)
    run_outputs(torch, fn, points())


def test_in_place_errors_as_torch():
    x = points()

    def leaf(lib):
        t = lib.tensor(x, requires_grad=True)
        funcs(lib).elu_(t)
    same_error(torch, leaf)

    def saved_then_changed(lib):  # y * y saved y; relu_ changes it before the backward
        t = lib.tensor(x, requires_grad=True)
        y = t * 1.0
        z = y * y
        funcs(lib).relu_(y)
        z.sum().backward()
    same_error(torch, saved_then_changed)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        saved_then_changed(ad)

    # outside the graph in-place on a leaf is allowed, and counted
    t = ad.tensor(x, requires_grad=True)
    with ad.no_grad():
        v = t._version
        F.hardtanh_(t)
    assert t._version == v + 1 and t.data.max() <= 1

    # a negative slope: torch refuses at backward, we refuse at the call
    for name, call in (("leaky_relu_", lambda f, y: f.leaky_relu_(y, -0.5)),
                       ("elu_", lambda f, y: f.elu_(y, -0.5)),
                       ("celu_", lambda f, y: f.celu_(y, -0.5))):
        ty = torch.tensor(x, requires_grad=True) * 1.0
        call(TF, ty)
        with pytest.raises(RuntimeError, match="negative"):
            ty.sum().backward()
        with pytest.raises(RuntimeError, match=f"{name}.*negative"):
            call(F, ad.tensor(x, requires_grad=True) * 1.0)


# --- errors ----------------------------------------------------------------------------------

ERRORS = [
    (lambda lib: funcs(lib).hardtanh(lib.ones(2), 1.0, 0.0), "min_val cannot be greater"),
    (lambda lib: funcs(lib).softshrink(lib.ones(2), -0.5), "lambda"),
    (lambda lib: funcs(lib).glu(lib.ones(3, 3)), "Halving dimension must be even"),
    (lambda lib: funcs(lib).glu(lib.tensor(1.0)), "glu does not support scalars"),
    (lambda lib: funcs(lib).celu(lib.ones(2), 0.0), "alpha cannot be 0"),
    (lambda lib: funcs(lib).rrelu(lib.ones(2), 0.5, 0.3, True), "Lower bound"),
    (lambda lib: mods(lib).Softmax2d()(lib.ones(2, 2)), "expected input to be 3D or 4D"),
    (lambda lib: mods(lib).Hardtanh(1.0, 1.0), "must be greater than min_val"),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_have_torch_classes(case):
    fn, message = ERRORS[case]
    same_error(torch, fn)
    with pytest.raises(Exception, match=message):
        fn(ad)


def test_softmax_forms_warn_on_an_implicit_dim():
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        F.softmin(ad.ones(2, 3))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        nn.Softmax()(ad.ones(2, 3))


# --- modules -----------------------------------------------------------------------------------

MODULES = [
    lambda m: m.Threshold(0.5, 20.0), lambda m: m.Threshold(0.1, -1, inplace=True),
    lambda m: m.ReLU(), lambda m: m.ReLU(inplace=True), lambda m: m.RReLU(),
    lambda m: m.RReLU(0.2, 0.4, inplace=True), lambda m: m.Hardtanh(),
    lambda m: m.Hardtanh(-2.0, 2.5, True), lambda m: m.Hardtanh(0, 6), lambda m: m.ReLU6(),
    lambda m: m.ReLU6(inplace=True), lambda m: m.Sigmoid(), lambda m: m.Hardsigmoid(),
    lambda m: m.Hardsigmoid(inplace=True), lambda m: m.Tanh(), lambda m: m.SiLU(),
    lambda m: m.SiLU(inplace=True), lambda m: m.Mish(), lambda m: m.Mish(inplace=True),
    lambda m: m.Hardswish(), lambda m: m.Hardswish(inplace=True), lambda m: m.ELU(),
    lambda m: m.ELU(alpha=0.5, inplace=True), lambda m: m.CELU(), lambda m: m.CELU(2.0, True),
    lambda m: m.SELU(), lambda m: m.SELU(inplace=True), lambda m: m.GLU(),
    lambda m: m.GLU(dim=0), lambda m: m.GELU(), lambda m: m.GELU("tanh"),
    lambda m: m.Hardshrink(), lambda m: m.Hardshrink(1.5), lambda m: m.LeakyReLU(),
    lambda m: m.LeakyReLU(0.2, inplace=True), lambda m: m.LogSigmoid(), lambda m: m.Softplus(),
    lambda m: m.Softplus(2.0, 10.0), lambda m: m.Softshrink(), lambda m: m.Softshrink(0.25),
    lambda m: m.PReLU(), lambda m: m.PReLU(2, 0.1), lambda m: m.Softsign(),
    lambda m: m.Tanhshrink(), lambda m: m.Softmin(), lambda m: m.Softmin(dim=1),
    lambda m: m.Softmax(dim=1), lambda m: m.Softmax(), lambda m: m.Softmax2d(),
    lambda m: m.LogSoftmax(dim=-1),
]


def test_module_printouts_match_torch():
    for make in MODULES:
        assert repr(make(nn)) == repr(make(torch.nn))
    ours = nn.Sequential(nn.Linear(2, 3), nn.ReLU(inplace=True), nn.Dropout2d(0.1),
                         nn.Hardtanh(-2.0, 2.0))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(inplace=True),
                                 torch.nn.Dropout2d(0.1), torch.nn.Hardtanh(-2.0, 2.0))
    assert repr(ours) == repr(theirs)


def test_modules_compute_as_torch_in_eval():
    x = points()[:, :6].reshape(2, 2, 3, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # (implicit softmax dims)
        for make in MODULES:
            def fn(lib, x):
                module = make(mods(lib)).double().eval()
                return module(x * 1.0)
            run_outputs(torch, fn, x, tol=1e-7)  # (torch's float64 hardsigmoid: 1/6 in float32)


def test_prelu_state_dict_crosses_over():
    t = torch.nn.PReLU(3, 0.1).double()
    m = nn.PReLU(3, 0.1).double()
    assert m.state_dict().keys() == t.state_dict().keys()
    m.load_state_dict({"weight": to_numpy(t.weight)})
    run_outputs(torch, lambda lib, x: (m if lib is ad else t)(x), points()[:2, :6].reshape(2, 3, 2))


# --- random activations ----------------------------------------------------------------------

def fixed_generator(**draws):
    """A stand-in for ad.Generator whose numpy rng returns the given arrays (torch's noise)."""
    return types.SimpleNamespace(rng=types.SimpleNamespace(
        **{name: (lambda *a, v=v, **k: v) for name, v in draws.items()}))


def test_rrelu_with_torchs_noise_matches_and_its_statistics():
    x = points()
    x[x == 0] = -1.5  # (torch's noise at 0 is unseen in its output)
    torch.manual_seed(0)
    tout = TF.rrelu(torch.tensor(x), 0.1, 0.3, training=True)
    noise = np.where(x > 0, 1.0, to_numpy(tout) / x)

    def fn(lib, x):
        if lib is torch:
            torch.manual_seed(0)
            return TF.rrelu(x, 0.1, 0.3, training=True)
        return F.rrelu(x, 0.1, 0.3, training=True, generator=fixed_generator(uniform=noise))
    run_outputs(torch, fn, x, second_order=True)

    out = F.rrelu(-ad.ones(20000, dtype=ad.float64), 0.1, 0.3, training=True).data
    slopes = -out
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3
    assert abs(slopes.mean() - 0.2) < 0.003 and abs(slopes.std() - 0.2 / math.sqrt(12)) < 0.003
    ad.manual_seed(5)
    a = nn.RReLU()(-ad.ones(10))
    ad.manual_seed(5)
    b = nn.RReLU()(-ad.ones(10))
    assert np.array_equal(a.data, b.data) and len(set(a.data.tolist())) > 1
    g = F.rrelu(-ad.ones(10), training=True, generator=ad.Generator(3))
    assert np.array_equal(g.data, F.rrelu(-ad.ones(10), training=True,
                                          generator=ad.Generator(3)).data)


@pytest.mark.parametrize("hard", [False, True])
def test_gumbel_softmax_with_torchs_noise(hard):
    logits = points()
    torch.manual_seed(0)
    noise = to_numpy(torch.empty(logits.shape, dtype=torch.float64).exponential_())

    def fn(lib, x):
        if lib is torch:
            torch.manual_seed(0)
            return TF.gumbel_softmax(x, tau=0.5, hard=hard, dim=0)
        return F.gumbel_softmax(x, tau=0.5, hard=hard, dim=0,
                                generator=fixed_generator(standard_exponential=noise))
    run_outputs(torch, fn, logits, second_order=True)


def test_gumbel_softmax_samples_the_softmax_and_is_seeded():
    logits = ad.tensor(np.log([[0.2, 0.5, 0.3]] * 4000))
    ad.manual_seed(1)
    y = F.gumbel_softmax(logits, hard=True)
    assert set(np.unique(y.data)) == {0.0, 1.0} and np.all(y.data.sum(1) == 1)
    np.testing.assert_allclose(y.data.mean(0), [0.2, 0.5, 0.3], atol=0.03)
    ad.manual_seed(1)
    assert np.array_equal(F.gumbel_softmax(logits, hard=True).data, y.data)
    soft = F.gumbel_softmax(logits, tau=2.0)
    np.testing.assert_allclose(soft.data.sum(1), 1.0, rtol=1e-12)
    with pytest.warns(UserWarning, match="eps"):
        F.gumbel_softmax(logits, eps=1e-3)


# --- dropout variants -------------------------------------------------------------------------

P = 0.4
A = 1.7580993408473766
ALPHA_A = 1 / math.sqrt((A * A * P + 1) * (1 - P))


def _keep_from(out, x, alpha):
    """Which elements torch kept, read off its output."""
    if alpha:
        return ~np.isclose(out, -A * ALPHA_A * (1 - P), rtol=0, atol=1e-12)
    return out != 0


DROPOUTS = {  # name -> (torch call, our call, input shape, mask dims kept (feature dropout))
    "dropout": ("dropout", (3, 4, 2), None, {}),
    "dropout1d": ("dropout1d", (3, 4, 5), 2, {}),
    "dropout1d(unbatched)": ("dropout1d", (4, 5), 1, {}),
    "dropout2d": ("dropout2d", (2, 3, 2, 2), 2, {}),
    "dropout3d": ("dropout3d", (2, 3, 2, 1, 2), 2, {}),
    "dropout3d(unbatched)": ("dropout3d", (3, 2, 1, 2), 1, {}),
    "alpha_dropout": ("alpha_dropout", (3, 4, 2), None, {"training": True}),
    "feature_alpha_dropout": ("feature_alpha_dropout", (3, 4, 2), 2, {"training": True}),
}


@pytest.mark.parametrize("name", DROPOUTS)
@pytest.mark.parametrize("inplace", [False, True])
def test_dropout_with_torchs_mask_matches(name, inplace):
    fname, shape, channel_dims, kw = DROPOUTS[name]
    x = np.random.default_rng(1).uniform(0.5, 2.0, shape)
    torch.manual_seed(0)
    tout = to_numpy(getattr(TF, fname)(torch.tensor(x), P, **kw))
    keep = _keep_from(tout, x, "alpha" in fname)
    if channel_dims is not None:
        keep = keep[(slice(None),) * channel_dims + (slice(0, 1),) * (keep.ndim - channel_dims)]
        keep = keep.reshape(keep.shape[:channel_dims] + (1,) * (len(shape) - channel_dims))
        if channel_dims == 1:  # (unbatched: we draw for a batch of one)
            keep = keep[None]
    draws = np.where(keep, 1.0, 0.0)

    def fn(lib, x):
        y = x * 1.0 if inplace else x
        if lib is torch:
            torch.manual_seed(0)
            out = getattr(TF, fname)(y, P, inplace=inplace, **kw)
        else:
            out = getattr(F, fname)(y, P, inplace=inplace, generator=fixed_generator(
                random=draws), **kw)
        assert (out is y) == inplace
        return out
    run_outputs(torch, fn, x, second_order=True)


def test_feature_dropout_zeroes_whole_channels_at_rate_p():
    x = ad.ones(40, 50, 3, 2)
    out = F.dropout2d(x, 0.3).data
    per_channel = out.reshape(40, 50, -1)
    assert np.all(per_channel == per_channel[..., :1])
    assert set(np.unique(out)) <= {0.0, np.float32(1 / 0.7)}
    assert abs((per_channel[..., 0] == 0).mean() - 0.3) < 0.03
    out1 = F.dropout1d(ad.ones(60, 7), 0.5).data  # unbatched (C, L): channels are rows
    assert np.all(out1 == out1[:, :1]) and 0 < (out1[:, 0] == 0).sum() < 60


def test_alpha_dropout_keeps_zero_mean_and_unit_variance():
    x = ad.randn(200000, dtype=ad.float64)
    for p in (0.2, 0.5):
        out = F.alpha_dropout(x, p, training=True).data
        assert abs(out.mean()) < 0.01 and abs(out.std() - 1) < 0.01
    out = F.feature_alpha_dropout(ad.randn(2000, 100, 4, dtype=ad.float64), 0.3,
                                  training=True).data
    assert abs(out.mean()) < 0.02 and abs(out.std() - 1) < 0.02
    assert F.alpha_dropout(x, 0.5) is x  # training=False by default, as torch


def test_dropout_edges_match_torch():
    x = points().reshape(2, 2, 7, 1)
    for name in ("dropout", "dropout2d", "alpha_dropout", "feature_alpha_dropout"):
        kw = {"training": True} if "alpha" in name else {}
        run_outputs(torch, lambda lib, x: getattr(funcs(lib), name)(x, 1.0, **kw), x)
        xt = ad.tensor(x)
        assert getattr(F, name)(xt, 0.0, **kw) is xt  # p = 0: the input itself
        ours = getattr(F, name)(ad.tensor(x), 0.5, training=False)
        np.testing.assert_array_equal(ours.data, x)
    ad.manual_seed(2)
    a = F.dropout3d(ad.ones(2, 3, 2, 2, 2))
    ad.manual_seed(2)
    assert np.array_equal(a.data, F.dropout3d(ad.ones(2, 3, 2, 2, 2)).data)


def test_dropout_errors_and_warnings_as_torch():
    for name in ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
                 "feature_alpha_dropout"):
        same_error(torch, lambda lib: getattr(funcs(lib), name)(lib.ones(2, 3, 4), 1.5))
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
            getattr(F, name)(ad.ones(2, 3, 4), -0.1)
    for cls in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                "FeatureAlphaDropout"):
        same_error(torch, lambda lib: getattr(mods(lib), cls)(1.5))
    same_error(torch, lambda lib: funcs(lib).dropout1d(lib.ones(2, 3, 4, 5)))
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input"):
        F.dropout1d(ad.ones(3))
    same_error(torch, lambda lib: funcs(lib).feature_alpha_dropout(lib.ones(3), training=True))
    for fn, message in ((lambda f, lib: f.dropout2d(lib.ones(2, 3, 4, 5, 6)), "5-D input"),
                        (lambda f, lib: f.dropout2d(lib.ones(2, 3, 4)), "3D input"),
                        (lambda f, lib: f.dropout3d(lib.ones(2, 3, 4)), "3-D input")):
        for f, lib in ((F, ad), (TF, torch)):
            with pytest.warns(UserWarning, match=message):
                fn(f, lib)
    with pytest.warns(UserWarning, match="1-D input"), pytest.raises(RuntimeError,
                                                                    match="at least 2"):
        F.dropout2d(ad.ones(3))


def test_dropout_modules_print_and_switch_off_in_eval():
    for cls in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                "FeatureAlphaDropout"):
        for args in ((), (0.2, True)):
            ours, theirs = getattr(nn, cls)(*args), getattr(torch.nn, cls)(*args)
            assert repr(ours) == repr(theirs)
        m = getattr(nn, cls)(0.3).eval()
        x = ad.ones(*{"Dropout1d": (2, 3, 4), "Dropout3d": (2, 3, 4, 2, 2)}.get(cls, (2, 3, 4, 2)))
        assert m(x) is x
    m = nn.Dropout2d(0.5, inplace=True)
    y = ad.ones(4, 5, 2, 2, requires_grad=True) * 1.0
    assert m(y) is y and set(np.unique(y.data)) == {0.0, 2.0}
