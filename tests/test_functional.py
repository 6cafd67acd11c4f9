"""ad.functional: jacobian, hessian, vjp, jvp, hvp and JAX-style grad / value_and_grad."""
import numpy as np
import pytest

import autodiff as ad
from autodiff import functional as AF


def f64(v, **kw):
    return ad.tensor(np.asarray(v, dtype=np.float64), **kw)


def test_jacobian_of_elementwise_and_linear_maps():
    A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    x = f64([0.5, -1.0])
    J = AF.jacobian(lambda t: ad.tensor(A) @ t, x)
    np.testing.assert_allclose(J.detach().numpy(), A)
    J = AF.jacobian(ad.exp, x)
    np.testing.assert_allclose(J.detach().numpy(), np.diag(np.exp(x.detach().numpy())))


def test_jacobian_with_several_inputs_and_outputs():
    x, y = f64([1.0, 2.0]), f64(3.0)
    (jxx, jxy), (jyx, jyy) = AF.jacobian(lambda a, b: (a * b, (a ** 2).sum()), (x, y))
    np.testing.assert_allclose(jxx.detach().numpy(), 3 * np.eye(2))
    np.testing.assert_allclose(jxy.detach().numpy(), [1, 2])
    np.testing.assert_allclose(jyx.detach().numpy(), [2, 4])
    assert jyy.shape == () and jyy.item() == 0


def test_hessian_of_a_quadratic_form():
    A = np.array([[2.0, 1.0], [0.0, 3.0]])
    H = AF.hessian(lambda x: x @ ad.tensor(A) @ x, f64([0.3, -0.2]))
    np.testing.assert_allclose(H.detach().numpy(), A + A.T)


def test_hessian_of_rosenbrock():
    def rosen(p):
        return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2

    x, y = 1.2, 0.8
    H = AF.hessian(rosen, f64([x, y]))
    expected = [[2 - 400 * (y - 3 * x * x), -400 * x], [-400 * x, 200]]
    np.testing.assert_allclose(H.detach().numpy(), expected, rtol=1e-10)


def test_vjp_and_jvp_agree_with_the_jacobian():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((3, 4))
    f = lambda x: ad.tanh(ad.tensor(W) @ x)  # noqa: E731
    x = f64(rng.standard_normal(4))
    J = AF.jacobian(f, x).detach().numpy()
    v_out, u_in = f64(rng.standard_normal(3)), f64(rng.standard_normal(4))
    out, vj = AF.vjp(f, x, v_out)
    np.testing.assert_allclose(vj.detach().numpy(), v_out.detach().numpy() @ J)
    out2, jv = AF.jvp(f, x, u_in)
    np.testing.assert_allclose(jv.detach().numpy(), J @ u_in.detach().numpy())
    np.testing.assert_allclose(out.detach().numpy(), out2.detach().numpy())
    assert not out.requires_grad and not vj.requires_grad


def test_hvp_matches_hessian_times_vector():
    f = lambda x: (ad.sin(x) * x ** 2).sum()  # noqa: E731
    x, v = f64([0.1, 0.7, -1.2]), f64([1.0, -2.0, 0.5])
    H = AF.hessian(f, x).detach().numpy()
    _, hv = AF.hvp(f, x, v)
    np.testing.assert_allclose(hv.detach().numpy(), H @ v.detach().numpy())


def test_transforms_leave_the_callers_tensors_alone():
    x = f64([1.0, 2.0], requires_grad=True)
    AF.jacobian(lambda t: t * t, x)
    assert x.grad is None


def test_jax_style_grad_and_value_and_grad():
    df = AF.grad(lambda x, y: (x * x * y).sum(), argnums=(0, 1))
    gx, gy = df(f64([1.0, 2.0]), f64(3.0))
    np.testing.assert_allclose(gx.detach().numpy(), [6, 12])
    assert gy.item() == 5
    value, g = AF.value_and_grad(lambda x: (x ** 3).sum())(np.array([2.0]))
    assert value.item() == 8 and g.detach().numpy().tolist() == [12.0]


def test_jax_style_grad_nests_for_higher_derivatives():
    d3 = AF.grad(AF.grad(AF.grad(lambda x: x ** 3)))
    assert d3(f64(2.0)).item() == 6
    assert AF.grad(AF.grad(ad.sin))(f64(0.5)).item() == pytest.approx(-np.sin(0.5))


def test_grad_with_aux_and_errors():
    g, aux = AF.grad(lambda x: ((x * x).sum(), "aux"), has_aux=True)(f64([1.0]))
    assert aux == "aux" and g.item() == 2
    with pytest.raises(TypeError, match="one-element tensor.*jacobian"):
        AF.grad(lambda x: x * 2)(f64([1.0, 2.0]))
