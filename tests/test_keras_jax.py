"""Keras -> JAX: ``cp.spec_from_keras(layer)`` then ``cp.port(spec, to="jax")``, against Keras.

A process that has loaded TensorFlow 2.21 can abort on a JAX compile (tests/conftest.py runs
the TensorFlow tests last for that reason), so the two halves run in two processes: this
test generates 300 Keras layers (Conv1D/2D/3D, Conv{1,2,3}DTranspose, DepthwiseConv,
SeparableConv, max/average and global pools, ZeroPadding and Cropping pairs; channels_last
and channels_first, strides, dilation, 'same'/'valid'/'causal'; the generator of
tests/test_keras.py), computes Keras's outputs here, saves inputs, PyTorch-layout weights
and outputs to an .npz, and runs tests/keras_jax_worker.py in a fresh interpreter
(``sys.executable``, the same ``PYTHONPATH``) that ports each spec to JAX, applies the
port's transforms and its ``jax.lax`` call, and compares.  A port with a flipped kernel, a
planted defect, must be caught by the same harness.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from test_keras import _keras_case, _torch_weight, keras_layers

JAX_REASON = "JAX is not installed (pip install 'jax[cpu]' runs the Keras -> JAX test)"
WORKER = Path(__file__).with_name("keras_jax_worker.py")
LAYERS = 300


def _stages(specs: Any, weights: list, n: int, name: str) -> list[tuple[Any, Any, Any]]:
    """(spec, PyTorch-layout weight or None, bias or None) per spec, in order (as
    tests/test_keras.py's _convproof_run moves the Keras weights)."""
    specs = specs if isinstance(specs, tuple) else (specs,)
    ws = [w for w in weights if w]
    if not ws:
        return [(specs[0], None, None)]
    w = ws[0]
    if name.startswith("SeparableConv"):
        dw, pw = specs
        bias = w[2] if len(w) > 2 else None
        return [(dw, _torch_weight(w[0], n, True), None), (pw, _torch_weight(w[1], n, False), bias)]
    depthwise = name.startswith("DepthwiseConv")
    return [(specs[0], _torch_weight(w[0], n, depthwise), w[1] if len(w) > 1 else None)]


@pytest.fixture(scope="module")
def keras_cases(keras, tmp_path_factory) -> Path:
    """The npz of LAYERS generated Keras layers with their Keras outputs."""
    arrays: dict[str, np.ndarray] = {}
    cases: list[dict[str, Any]] = []

    @settings(max_examples=LAYERS + 20, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=keras_layers())
    def collect(case: tuple) -> None:
        specs, weights, x, want, n, name = _keras_case(keras, case)
        i = len(cases)
        stages = []
        for j, (spec, w, b) in enumerate(_stages(specs, weights, n, name)):
            if w is not None:
                arrays[f"w{i}_{j}"] = w
            if b is not None:
                arrays[f"b{i}_{j}"] = b
            stages.append({"spec": spec.to_dict(), "weight": w is not None, "bias": b is not None})
        arrays[f"x{i}"], arrays[f"y{i}"] = x, want
        cases.append({"layers": case[0], "input_shape": list(case[1]), "stages": stages})

    collect()
    assert len(cases) >= LAYERS, len(cases)
    path = tmp_path_factory.mktemp("keras_jax") / "cases.npz"
    np.savez(path, cases=np.array(json.dumps(cases)), **arrays)
    return path


def _needs_jax() -> None:
    """Skip without JAX, found without importing it into this TensorFlow process."""
    if importlib.util.find_spec("jax") is None:
        pytest.skip(JAX_REASON)


def _jax_half(path: Path, *extra: str) -> dict[str, Any]:
    """Run the worker in a fresh interpreter (no TensorFlow loaded) and read its verdict."""
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    env["JAX_PLATFORMS"] = "cpu"
    done = subprocess.run(
        [sys.executable, str(WORKER), str(path), *extra],
        capture_output=True, text=True, env=env, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def _families(path: Path) -> set[str]:
    cases = json.loads(str(np.load(path)["cases"]))
    return {layer["class_name"] for case in cases for layer in case["layers"]}


@pytest.mark.slow
def test_keras_layers_ported_to_jax_agree_with_keras(keras_cases: Path, keras) -> None:
    _needs_jax()
    result = _jax_half(keras_cases)
    if result["failure"] is not None:
        pytest.fail(f"first failing Keras layer: {json.dumps(result['failure'])}")
    # every refusal is a stated one; most layers are ported and compared
    reasons = {r["why"].split(":")[-1].strip() for r in result["refused"]}
    assert all("cannot be ported" in r["why"] for r in result["refused"]), reasons
    assert result["checked"] + len(result["refused"]) >= LAYERS
    assert result["checked"] >= 0.8 * LAYERS, (result["checked"], reasons)
    wanted = {"Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "DepthwiseConv2D"}
    assert wanted <= _families(keras_cases)
    assert {"MaxPooling2D", "AveragePooling2D"} & _families(keras_cases)


@pytest.mark.slow
def test_the_harness_catches_a_flipped_kernel(keras_cases: Path, keras) -> None:
    _needs_jax()
    result = _jax_half(keras_cases, "--planted", "flipped_kernel")
    assert result["failure"] is not None, result["checked"]
    failing = result["failure"]["layers"]
    assert any("Conv" in layer["class_name"] for layer in failing), failing
