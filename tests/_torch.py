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


def convert_state(value, to):
    """A state_dict (dicts and lists walked) with its tensors converted to `to`: the torch or
    the autodiff module."""
    if isinstance(value, dict):
        return {k: convert_state(v, to) for k, v in value.items()}
    if isinstance(value, list):
        return [convert_state(v, to) for v in value]
    if isinstance(value, ad.Tensor) or hasattr(value, "detach"):
        arr = np.array(to_numpy(value))
        return to.from_numpy(arr)
    return value


def state_structure(value):
    """A state_dict's keys, numbers, and ("tensor", dtype, shape) for each tensor."""
    if isinstance(value, dict):
        return {k: state_structure(v) for k, v in value.items()}
    if isinstance(value, list):
        return [state_structure(v) for v in value]
    if isinstance(value, ad.Tensor) or hasattr(value, "detach"):
        arr = to_numpy(value)
        return ("tensor", str(arr.dtype), arr.shape)
    return value


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


# --- functions written once for either library, with several outputs -----------------------------

def _outputs(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def run_outputs(torch, fn, *arrays, second_order=False, tol=None):
    """fn(lib, *tensors) on autodiff and on torch inputs holding the same arrays (floats require
    grad): each output's value, shape and dtype, then the gradients of a random weighting of
    the outputs (of their squares too, differentiated twice, with second_order). float32 and
    float16 inputs are compared to their precision unless tol is given. Returns both outputs."""
    arrays = [np.asarray(a) for a in arrays]
    floats = [a.dtype.kind == "f" for a in arrays]
    if tol is None:
        tol = {np.float32: 1e-5, np.float16: 1e-3}.get(
            min((a.dtype.type for a in arrays if a.dtype.kind == "f"),
                key=lambda t: np.finfo(t).bits, default=np.float64), None)
    tols = {} if tol is None else {"tol": tol}
    ours_in = [to_ad(a, f) for a, f in zip(arrays, floats)]
    theirs_in = [to_torch(a, f) for a, f in zip(arrays, floats)]
    ours, theirs = _outputs(fn(ad, *ours_in)), _outputs(fn(torch, *theirs_in))
    assert len(ours) == len(theirs)
    for i, (o, t) in enumerate(zip(ours, theirs)):
        assert_close(o, t, err_msg=f"output {i}", **tols)
    wrt = [(a, t) for a, t, f in zip(ours_in, theirs_in, floats) if f]
    outs = [(o, t) for o, t in zip(ours, theirs) if t.requires_grad]
    assert all(o.requires_grad for o, _ in outs), "an output requires grad in torch, not here"
    if not wrt or not outs:
        return ours, theirs
    rng = np.random.default_rng(1)
    gs = [rng.standard_normal(t.shape) for _, t in outs]
    vs = [rng.standard_normal(a.shape) for a, _ in wrt]
    for lib, side in ((ad, 0), (torch, 1)):
        loss = sum(((p[side] * p[side] if second_order else p[side]) * lib.tensor(g)).sum()
                   for p, g in zip(outs, gs))
        xs = [p[side] for p in wrt]
        if second_order:
            grads = (ad.grad if lib is ad else torch.autograd.grad)(
                loss, xs, create_graph=True, allow_unused=True)
            loss = sum((gx * lib.tensor(v)).sum() for gx, v in zip(grads, vs)
                       if gx is not None)
        loss.backward()
    for i, (a, t) in enumerate(wrt):
        assert_close(a.grad, t.grad, err_msg=f"gradient of input {i}", **tols)
    return ours, theirs


def same_error(torch, fn):
    """fn(lib) raises in torch; ours raises the same class (or a subclass)."""
    with pytest.raises(Exception) as theirs:
        fn(torch)
    with pytest.raises(theirs.type):
        fn(ad)
