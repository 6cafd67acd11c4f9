"""PyTorch cross-checks, one way: import torch (or skip), convert tensors, compare.

PyTorch is optional (README): without it every cross-check skips cleanly, naming the wheel.

    from _torch import require_torch, pair, assert_close, compare_with_torch
    torch = require_torch()          # at module level or in a test; the `torch` fixture of
                                     # tests/conftest.py does the same for a test's argument
"""
import numpy as np
import pytest

import autodiff as ad

from _optional import INSTALL

TORCH_PIN = INSTALL["torch"]  # torch==2.13.0
SKIP_REASON = (f"PyTorch cross-check: torch is not installed (pip install {TORCH_PIN}, the CPU "
               f"build; scripts/test.sh installs it when it can)")


def require_torch():
    """The torch module, or a skip of the calling test (or test module) naming the pinned wheel."""
    return pytest.importorskip("torch", reason=SKIP_REASON)


# --- conversions ---------------------------------------------------------------------------------

def to_numpy(x):
    """An autodiff tensor, torch tensor (detached) or array-like as an ndarray, dtype kept."""
    if isinstance(x, ad.Tensor):
        return np.asarray(x.data)
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def to_torch(x, requires_grad=False):
    """A torch tensor holding a copy of x's values with x's dtype (float64 stays float64)."""
    torch = require_torch()
    return torch.tensor(np.array(to_numpy(x)), requires_grad=requires_grad)


def to_ad(x, requires_grad=False):
    """An autodiff tensor holding a copy of x's values with x's dtype."""
    return ad.tensor(np.array(to_numpy(x)), requires_grad=requires_grad)


def pair(array, requires_grad=True):
    """(autodiff leaf, torch leaf) holding the same values, float64 arrays staying float64."""
    array = np.asarray(array)
    return to_ad(array, requires_grad), to_torch(array, requires_grad)


# --- comparisons ---------------------------------------------------------------------------------

def assert_close(ours, theirs, *, rtol=1e-10, atol=1e-12, tol=None, check_dtype=True,
                 err_msg=""):
    """Same shape, same dtype (unless check_dtype=False) and values within tolerance (`tol` sets
    rtol and atol at once; NaNs must match). Gradients may be None: where torch has none, ours
    must be None or all zeros; where torch has one, ours must exist."""
    if tol is not None:
        rtol = atol = tol
    if theirs is None:
        assert ours is None or not np.any(to_numpy(ours)), \
            f"{err_msg}: torch gives None, ours is nonzero"
        return
    assert ours is not None, f"{err_msg}: torch gives a value, ours is None"
    a, t = to_numpy(ours), to_numpy(theirs)
    assert a.shape == t.shape, f"{err_msg}: shape {a.shape}, torch's {t.shape}"
    if check_dtype:
        assert a.dtype == t.dtype, f"{err_msg}: dtype {a.dtype}, torch's {t.dtype}"
    np.testing.assert_allclose(a, t, rtol=rtol, atol=atol, equal_nan=True, err_msg=err_msg)


def assert_grads_close(ours, theirs, **tolerances):
    """The .grad of each of our leaves against the matching torch leaf (see assert_close)."""
    assert len(ours) == len(theirs), (len(ours), len(theirs))
    for i, (a, t) in enumerate(zip(ours, theirs)):
        assert_close(a.grad, t.grad, err_msg=f"gradient of input {i}", **tolerances)


def backward_both(ours, theirs, seed=0):
    """Backpropagates the same random upstream gradient (in the output's dtype) through our
    output and torch's."""
    theirs_np = to_numpy(theirs)
    g = np.asarray(np.random.default_rng(seed).standard_normal(theirs_np.shape))
    g = g.astype(theirs_np.dtype)
    theirs.backward(to_torch(g))
    ours.backward(ad.tensor(g))


def compare_with_torch(ours_fn, theirs_fn, *arrays, seed=0, **tolerances):
    """Runs ours_fn on autodiff leaves and theirs_fn on torch leaves holding the same arrays
    (float arrays require grad), compares the outputs, backpropagates one random upstream
    gradient through both and compares every input's gradient. Returns both outputs."""
    arrays = [np.asarray(a) for a in arrays]
    floats = [np.issubdtype(a.dtype, np.floating) for a in arrays]
    ours_in = [to_ad(a, f) for a, f in zip(arrays, floats)]
    theirs_in = [to_torch(a, f) for a, f in zip(arrays, floats)]
    ours, theirs = ours_fn(*ours_in), theirs_fn(*theirs_in)
    assert_close(ours, theirs, err_msg="output", **tolerances)
    backward_both(ours, theirs, seed)
    assert_grads_close([x for x, f in zip(ours_in, floats) if f],
                       [t for t, f in zip(theirs_in, floats) if f], **tolerances)
    return ours, theirs


def run_both(fn, *arrays, **options):
    """compare_with_torch for a snippet written once against either library: fn(lib, *tensors)
    with lib the torch or the autodiff module (PyTorch code ported by changing imports)."""
    torch = require_torch()
    return compare_with_torch(lambda *xs: fn(ad, *xs), lambda *xs: fn(torch, *xs), *arrays,
                              **options)
