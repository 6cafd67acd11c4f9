"""autodiff.increment_version (torch.autograd.graph.increment_version): an in-place change
made on a tensor's array directly counts like one made by an in-place method."""
import numpy as np
import pytest

import autodiff as ad
from _torch import require_torch


def _run(lib, tensor):
    """(versions seen, whether a backward through a saved operand raises RuntimeError)."""
    a = tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = a * 1
    view = b.view(3)
    c = b * b  # saves b
    before = b._version
    lib_increment(lib)(b, view)
    try:
        c.sum().backward()
        raised = False
    except RuntimeError as e:
        raised = "modified by an inplace operation" in str(e)
    return before, b._version, view._version, raised


def lib_increment(lib):
    if lib == "torch":
        import torch
        return lambda *ts: [torch.autograd.graph.increment_version(t) for t in ts]
    return ad.increment_version


def test_counts_each_tensor_and_its_views_and_stops_a_stale_backward():
    # b and its view share one storage: two changes, seen by both
    assert _run("autodiff", ad.tensor) == (0, 2, 2, True)


def test_a_numpy_update_counted_like_the_method():
    p = ad.tensor([1.0, 2.0], requires_grad=True)
    loss = (p * p).sum()  # saves p
    with ad.no_grad():
        np.subtract(p.data, 0.5, out=p.data)
    ad.increment_version(p)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_matches_torch():
    torch = require_torch()
    assert _run("autodiff", ad.tensor) == _run("torch", torch.tensor)
