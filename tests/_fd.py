"""A small float64 central-difference checker for the op catalog (to be replaced by
autodiff.testing once it lands)."""
import numpy as np

import autodiff as ad


def _contract(out, v):
    return float(np.sum(out.data.astype(np.float64) * v))


def numeric_vjp(fn, arrays, v, eps):
    """d/dx_i sum(fn(xs) * v) by central differences, one element at a time."""
    grads = []
    for i, a in enumerate(arrays):
        g = np.zeros_like(a, dtype=np.float64)
        for k in range(a.size):
            plus = [b.copy() for b in arrays]
            minus = [b.copy() for b in arrays]
            h = eps * max(1.0, abs(a.flat[k]))
            plus[i].flat[k] += h
            minus[i].flat[k] -= h
            with ad.no_grad():
                fp = _contract(fn(*[ad.tensor(b) for b in plus]), v)
                fm = _contract(fn(*[ad.tensor(b) for b in minus]), v)
            g.flat[k] = (fp - fm) / (2 * h)
        grads.append(g)
    return grads


def analytic_vjp(fn, arrays, v, create_graph=False, leaves=None):
    xs = leaves or [ad.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*xs)
    if not out.requires_grad:
        return xs, [np.zeros_like(a) for a in arrays]
    gs = ad.grad(out, xs, ad.tensor(v.astype(out.dtype)), create_graph=create_graph,
                 allow_unused=True)
    return xs, gs


def assert_close(analytic, numeric, atol, rtol, what):
    diff = np.abs(analytic - numeric)
    tol = atol + rtol * np.maximum(np.abs(analytic), np.abs(numeric))
    bad = diff > tol
    if bad.any():
        k = np.unravel_index(np.argmax(diff - tol), diff.shape) if diff.ndim else ()
        raise AssertionError(f"{what}: analytic {analytic[k]} vs numeric {numeric[k]} at index {k} "
                             f"(|diff| {diff[k]:.3g} > tol {tol[k]:.3g})")


def check_grad(fn, arrays, rng, eps=1e-6, atol=1e-6, rtol=1e-5, what="gradient"):
    """First order: ad.grad of sum(fn * v) against central differences, v random."""
    with ad.no_grad():
        out = fn(*[ad.tensor(a) for a in arrays])
    v = rng.standard_normal(out.shape)
    _, gs = analytic_vjp(fn, arrays, v)
    num = numeric_vjp(fn, arrays, v, eps)
    for i, (g, n) in enumerate(zip(gs, num)):
        ga = np.zeros_like(n) if g is None else np.asarray(g.data, np.float64)
        assert ga.shape == n.shape, f"{what}: gradient {i} has shape {ga.shape}, expected {n.shape}"
        assert_close(ga, n, atol, rtol, f"{what} for input {i}")


def check_gradgrad(fn, arrays, rng, eps=1e-6, atol=1e-5, rtol=1e-4):
    """Second order: the vjp itself, contracted with random w, checked like a first-order op."""
    with ad.no_grad():
        out = fn(*[ad.tensor(a) for a in arrays])
    v = rng.standard_normal(out.shape)
    ws = [rng.standard_normal(a.shape) for a in arrays]

    def vjp_dot_w(*xs):
        with ad.enable_grad():
            leaves = [x if x.requires_grad else x.detach().requires_grad_() for x in xs]
            _, gs = analytic_vjp(fn, None, v, create_graph=True, leaves=leaves)
            total = ad.tensor(0.0, dtype=ad.float64)
            for g, w in zip(gs, ws):
                if g is not None:
                    total = total + (g * ad.tensor(w)).sum()
            return total

    check_grad(vjp_dot_w, arrays, rng, eps, atol, rtol, what="second-order gradient")
