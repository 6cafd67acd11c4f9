"""pytest-friendly helpers: assert_gradients_close, gradient_test, register_profiles."""
import os

import numpy as np

from ..tensor import Tensor
from .gradcheck import gradcheck, gradgradcheck


def assert_gradients_close(fn, *inputs, order=2, grad_outputs=None, **options):
    """Asserts fn's gradients (order 1, or 1 and 2) match finite differences; raises
    GradcheckError, an AssertionError, so pytest reports it as a failed assertion.

    Float ndarrays among `inputs` become float64 tensors that require grad; tensors keep their
    requires_grad; anything else is passed to fn unchanged. `options` go to gradcheck.

    >>> import autodiff as ad, numpy as np
    >>> assert_gradients_close(lambda x, w: ad.tanh(x @ w), np.ones((2, 3)), np.eye(3))
    """
    if order not in (1, 2):
        raise ValueError(f"assert_gradients_close: order must be 1 or 2, got {order}")
    inputs = tuple(_as_input(x) for x in inputs)
    gradcheck(fn, inputs, **options)
    if order == 2:
        gradgradcheck(fn, inputs, grad_outputs, **options)


def gradient_test(fn, *strategies, order=2, **options):
    """A pytest test function that property-tests fn's gradients on inputs drawn from
    `strategies` (one per argument): `test_f = gradient_test(f, ts.tensors())`."""
    from hypothesis import given
    from hypothesis import strategies as st

    @given(st.tuples(*strategies))
    def test(inputs):
        assert_gradients_close(fn, *inputs, order=order, **options)

    name = getattr(fn, "__name__", "fn").strip("<>")
    test.__name__ = test.__qualname__ = f"test_gradients_of_{name}"
    return test


def register_profiles(load="ci"):
    """Registers hypothesis profiles 'ci' (derandomized, no deadline, 25 examples), 'dev'
    (random, 25) and 'thorough' (300), then loads $HYPOTHESIS_PROFILE or `load` (None: none).

    Call it from your conftest.py: `autodiff.testing.register_profiles()`.
    """
    from hypothesis import HealthCheck, settings
    quiet = [HealthCheck.too_slow]
    settings.register_profile("ci", derandomize=True, deadline=None, max_examples=25,
                              suppress_health_check=quiet)
    settings.register_profile("dev", deadline=None, max_examples=25, suppress_health_check=quiet)
    settings.register_profile("thorough", deadline=None, max_examples=300,
                              suppress_health_check=quiet)
    name = os.environ.get("HYPOTHESIS_PROFILE", load)
    if name is not None:
        settings.load_profile(name)
    return name


def _as_input(x):
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        return Tensor._from_data(x.astype(np.float64), requires_grad=True)
    return x
