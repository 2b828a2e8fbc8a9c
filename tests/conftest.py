"""Shared test configuration: Hypothesis profiles and the optional-PyTorch marker."""

from __future__ import annotations

import os
import warnings

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


TF_REASON = (
    "TensorFlow is not installed (pip install tensorflow-cpu==2.21.0 runs these oracle tests)"
)


@pytest.fixture(scope="session")
def tensorflow():
    """The ``tensorflow`` module, imported once and quietly (its C++ log, its import-time
    deprecation warnings); the test skips with a stated reason when it is absent."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tf = pytest.importorskip("tensorflow", reason=TF_REASON)
        pytest.importorskip("keras", reason=TF_REASON)
    return tf


@pytest.fixture(scope="session")
def keras(tensorflow):
    """The ``keras`` module (Keras 3 on the TensorFlow backend), skipped as ``tensorflow``."""
    import keras

    return keras


def pytest_collection_modifyitems(config, items):
    """Tests that load TensorFlow run last: once TensorFlow is loaded, a JAX (XLA) compile in
    the same process can abort it (seen with TF 2.21 and jaxlib 0.10), so every JAX test runs
    before the first TensorFlow import, and the TensorFlow tests use no JAX."""
    late = [item for item in items if {"tensorflow", "keras"} & set(item.fixturenames)]
    items[:] = [item for item in items if item not in late] + late
