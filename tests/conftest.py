"""Test-suite set-up: hypothesis profiles (CI is derandomized with no deadline) and fixtures."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import autodiff as ad
from _torch import require_torch

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=25,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=25,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", deadline=None, max_examples=300,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _fresh_state():
    """Every test starts with float32 default, grad mode on and a seeded default generator."""
    ad.set_default_dtype(ad.float32)
    ad.manual_seed(0)
    np.random.seed(0)
    with ad.enable_grad():
        yield
    ad.set_default_dtype(ad.float32)


@pytest.fixture
def torch():
    """The torch module for a PyTorch cross-check, or a clean skip naming the wheel to install
    (tests/_torch.py has the conversions and comparisons)."""
    return require_torch()
