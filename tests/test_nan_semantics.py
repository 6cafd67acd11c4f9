"""What the piecewise activations, abs/sign and maximum/minimum do at NaN and at the
infinities: NaN must come out as NaN (never a silent 0 or fill value), and gradients follow the
branch PyTorch's kernels pick (their "zero" conditions, x <= bound, are false for NaN). Closed
forms without PyTorch; the same table against PyTorch when it is installed."""
import numpy as np
import pytest

import autodiff as ad
import nn.functional as F
from _torch import assert_close, require_torch

NAN, INF = np.nan, np.inf
X = np.array([NAN, INF, -INF, -6.0, -3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 6.0, 7.0])

# name -> (our function, PyTorch's name and arguments, (value at NaN, gradient at NaN))
ACTIVATIONS = {
    "relu": (ad.relu, ("relu",), (NAN, 1.0)),
    "relu6": (F.relu6, ("relu6",), (NAN, 1.0)),
    "hardtanh": (F.hardtanh, ("hardtanh",), (NAN, 1.0)),
    "threshold": (lambda x: F.threshold(x, 0.1, 20.0), ("threshold", 0.1, 20.0), (NAN, 1.0)),
    "elu": (F.elu, ("elu",), (NAN, 1.0)),
    "selu": (F.selu, ("selu",), (NAN, 1.0507009873554805)),
    "celu": (lambda x: F.celu(x, 0.5), ("celu", 0.5), (NAN, 1.0)),
    "hardswish": (F.hardswish, ("hardswish",), (NAN, 1.0)),
    "hardsigmoid": (F.hardsigmoid, ("hardsigmoid",), (NAN, 0.0)),
    "softshrink": (F.softshrink, ("softshrink",), (NAN, 1.0)),
    "hardshrink": (F.hardshrink, ("hardshrink",), (NAN, 1.0)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), ("leaky_relu", 0.1), (NAN, 0.1)),
    "abs": (ad.abs, None, (NAN, 0.0)),
}


def value_and_grad(fn, array):
    x = ad.tensor(array, requires_grad=True)
    out = fn(x)
    out.backward(ad.ones(*out.shape))
    return out.detach().numpy(), x.grad.numpy()


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_nan_in_nan_out_and_the_gradient_of_the_branch_pytorch_takes(name):
    fn, _, (value, grad) = ACTIVATIONS[name]
    out, g = value_and_grad(fn, np.array([NAN, 1.5, -1.5]))
    np.testing.assert_equal(out[0], value)
    np.testing.assert_equal(g[0], grad)
    assert np.isfinite(out[1:]).all() and np.isfinite(g[1:]).all()


def test_sign_of_nan_is_zero():
    np.testing.assert_array_equal(ad.sign(ad.tensor([NAN, -2.0, 0.0, 3.0])).numpy(),
                                  [0.0, -1.0, 0.0, 1.0])
    np.testing.assert_array_equal(ad.sgn(ad.tensor([NAN, -2.0])).numpy(), [0.0, -1.0])


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_maximum_and_minimum_give_both_inputs_the_gradient_at_nan(op):
    x = ad.tensor([NAN, 1.0, 2.0, 3.0, NAN], requires_grad=True)
    y = ad.tensor([0.0, NAN, 2.0, 1.0, NAN], requires_grad=True)
    out = getattr(ad, op)(x, y)
    out.backward(ad.ones(5))
    assert np.isnan(out.detach().numpy()[[0, 1, 4]]).all()
    wins = 1.0 if op == "maximum" else 0.0  # x = 3 > y = 1 at index 3
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, 0.5, wins, 1.0])
    np.testing.assert_array_equal(y.grad.numpy(), [1.0, 1.0, 0.5, 1.0 - wins, 1.0])


# PyTorch's own kernels give NaN where the limit is finite or infinite; we keep the limit
# (a deliberate difference, listed here): gelu(inf) = inf (PyTorch: NaN), hardswish(-inf) = 0
# (PyTorch: NaN, -inf * 0 inside its kernel)
KEEP_LIMITS = {("gelu", INF), ("hardswish", -INF)}
# PyTorch 2.13's float64 kernels of these four give 0 at NaN where its float32 kernels (and its
# relu, threshold, elu, hardswish in both dtypes) pass the gradient; we pass it in both dtypes
FLOAT64_NAN_GRAD_DIFFERS = {"relu6", "hardtanh", "softshrink", "hardshrink"}
# float64 tolerances where the two libraries compute differently: our erf (gelu) is a rational
# approximation with a 1.5e-11 relative error; PyTorch's float64 hardsigmoid uses 1/6 rounded
# to float32 in its gradient
FLOAT64_TOL = {"gelu": 1e-10, "hardsigmoid": 1e-7}


@pytest.mark.parametrize("name", [n for n, spec in ACTIVATIONS.items() if spec[1]] +
                         ["gelu", "silu", "mish", "softplus", "logsigmoid", "tanhshrink"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_and_gradients_at_nan_and_infinities_match_torch(name, dtype):
    torch = require_torch()
    if name in ACTIVATIONS:
        fn, (t_name, *args), _ = ACTIVATIONS[name]
    else:
        fn, t_name, args = getattr(F, name), name, ()
    keep = [i for i, v in enumerate(X) if (name, v) not in KEEP_LIMITS]
    ours, our_grad = value_and_grad(fn, X.astype(dtype))
    t = torch.tensor(X.astype(dtype), requires_grad=True)
    theirs = getattr(torch.nn.functional, t_name)(t, *args)
    theirs.backward(torch.ones_like(theirs))
    tol = 1e-6 if dtype == np.float32 else FLOAT64_TOL.get(name, 1e-12)
    assert_close(ours[keep], theirs.detach().numpy()[keep], tol=tol)
    grad_keep = keep[1:] if dtype == np.float64 and name in FLOAT64_NAN_GRAD_DIFFERS else keep
    assert_close(our_grad[grad_keep], t.grad.numpy()[grad_keep], tol=tol)


def test_abs_sign_maximum_minimum_at_nan_match_torch():
    torch = require_torch()
    x = np.array([NAN, INF, -INF, -1.0, 0.0, 2.0])
    y = np.array([0.0, NAN, -INF, -1.0, 1.0, NAN])
    for op in ("abs", "sign", "sgn"):
        ours, _ = value_and_grad(getattr(ad, op), x)
        assert_close(ours, getattr(torch, op)(torch.tensor(x)).numpy())
    _, our_grad = value_and_grad(ad.abs, x)
    t = torch.tensor(x, requires_grad=True)
    torch.abs(t).backward(torch.ones(6, dtype=torch.float64))
    assert_close(our_grad, t.grad.numpy())
    for op in ("maximum", "minimum"):
        a, b = ad.tensor(x, requires_grad=True), ad.tensor(y, requires_grad=True)
        getattr(ad, op)(a, b).backward(ad.ones(6))
        ta, tb = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
        getattr(torch, op)(ta, tb).backward(torch.ones(6, dtype=torch.float64))
        assert_close(a.grad.numpy(), ta.grad.numpy())
        assert_close(b.grad.numpy(), tb.grad.numpy())
