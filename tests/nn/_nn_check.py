"""Finite-difference gradient checks for nn tests (float64, central differences)."""
import numpy as np

import autodiff as ad


def fd_check(fn, tensors, rng=None, eps=1e-6, atol=1e-6, rtol=1e-5):
    """Compares backward of sum(fn() * v) (v random) with central differences, perturbing
    each tensor's .data in place; fn takes no arguments and reads the tensors."""
    rng = rng or np.random.default_rng(0)
    with ad.no_grad():
        out0 = fn()
    v = rng.standard_normal(out0.shape)
    for t in tensors:
        t.grad = None
    out = fn()
    out.backward(ad.tensor(v.astype(out.dtype)))
    for i, t in enumerate(tensors):
        analytic = np.zeros(t.shape) if t.grad is None else t.grad.data.astype(np.float64)
        numeric = np.zeros(t.shape)
        flat = t.data.reshape(-1)
        for k in range(flat.size):
            old = flat[k]
            flat[k] = old + eps
            with ad.no_grad():
                fp = float(np.sum(fn().data * v))
            flat[k] = old - eps
            with ad.no_grad():
                fm = float(np.sum(fn().data * v))
            flat[k] = old
            numeric.reshape(-1)[k] = (fp - fm) / (2 * eps)
        np.testing.assert_allclose(analytic, numeric, atol=atol, rtol=rtol,
                                   err_msg=f"gradient of tensor {i} (shape {t.shape})")
