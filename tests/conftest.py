"""Shared test configuration: Hypothesis profiles and the optional-PyTorch marker."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=30, deadline=None)
settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

TORCH_REASON = "PyTorch is not installed (pip install torch==2.13.0 runs these oracle tests)"


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded NumPy generator (tests are reproducible)."""
    return np.random.default_rng(20261122)


@pytest.fixture
def torch():
    """The ``torch`` module; the test skips with a stated reason when it is absent."""
    return pytest.importorskip("torch", reason=TORCH_REASON)
