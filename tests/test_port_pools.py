"""Max and average pools a target cannot name, ported by an explicit pre-pad.

TF/ONNX/JAX ``SAME`` and asymmetric pools to PyTorch, ceil mode to JAX, averages excluding
their padding: hand-worked outputs, the loop reference (tests/reference.py), the stated size
sets brute-forced over 1..300, and planted defects (0 for -inf, the divisor prod(k), the
ceil overhang dropped) that must be caught.
"""

from __future__ import annotations

import numpy as np
import pytest
from reference import ref_pool
from test_port import jax, onnxruntime  # noqa: F401 (fixtures)

import convproof as cp

TF_SAME_MAX = cp.PoolSpec(
    kind="max", kernel_size=3, stride=2, padding="SAME_UPPER", legality="tensorflow"
)


@pytest.mark.parametrize("n", [8, 7])
def test_tf_same_max_pool_to_pytorch_by_hand(n: int, torch) -> None:
    # SAME 3x3/2: the total padding is (ceil(n/2) - 1) * 2 + 3 - n, 1 for n = 8 (all at the
    # end) and 2 for n = 7 (one each side); x = arange, so a window's max is its last tap
    x = np.arange(n * n, dtype=np.float64).reshape(1, 1, n, n)
    lo = 0 if n == 8 else 1

    def last(i: int) -> int:
        return min(2 * i - lo + 2, n - 1)

    want = np.array([[n * last(i) + last(j) for j in range(4)] for i in range(4)], float)
    for shape in [None, (1, 1, n, n)]:
        p = cp.port(TF_SAME_MAX, to="pytorch", input_shape=shape)
        got = p.run(x)
        np.testing.assert_array_equal(got[0, 0], want)
        np.testing.assert_array_equal(got, ref_pool(TF_SAME_MAX, x).astype(float))
        assert p.params["padding"] == 0 and p.params["ceil_mode"] is False
    fixed = cp.port(TF_SAME_MAX, to="pytorch", input_shape=(1, 3, 8, 8))
    assert fixed.pre_pad == ((0, 1), (0, 1))
    assert "constant_values=-np.inf" in fixed.code


def _pool_equal(p: cp.Port, spec: cp.PoolSpec, x: np.ndarray) -> bool:
    want = ref_pool(spec, x).astype(float)
    try:
        got = p.run(x)
    except RuntimeError:  # the target refuses the size (a fixed padding too small for it)
        return False
    return got.shape == want.shape and np.allclose(got, want, rtol=1e-6, atol=1e-6)


SPECS_1D = [
    cp.PoolSpec(kind="max", kernel_size=3, stride=2, padding="SAME_UPPER", ndim=1,
                legality="tensorflow"),
    cp.PoolSpec(kind="avg", kernel_size=3, stride=2, padding="SAME_LOWER", ndim=1,
                legality="onnx", count_include_pad=False),
    cp.PoolSpec(kind="avg", kernel_size=4, stride=3, padding="SAME_UPPER", ndim=1,
                legality="jax"),
]  # fmt: skip


@pytest.mark.parametrize("spec", SPECS_1D, ids=repr)
def test_same_pool_fixed_for_a_shape_is_exact_on_exactly_the_stated_sizes(
    spec: cp.PoolSpec, rng: np.random.Generator, torch
) -> None:
    p = cp.port(spec, to="pytorch", input_shape=(1, 8))
    stated = 0
    for n in range(1, 301):
        x = rng.standard_normal((1, 1, n))
        assert _pool_equal(p, spec, x) is (n in p.agrees_for[0]), n
        stated += n in p.agrees_for[0]
    assert 0 < stated < 300  # SAME's padding changes with n: the fixed port is right on some


@pytest.mark.parametrize(
    ("spec", "to"),
    [
        (SPECS_1D[0], "pytorch"),
        (SPECS_1D[1], "pytorch"),
        (cp.PoolSpec(kind="max", kernel_size=3, stride=2, padding=((0, 2),), ndim=1,
                     ceil_mode=True, legality="onnx"), "pytorch"),
        (cp.PoolSpec(kind="avg", kernel_size=3, stride=2, padding=1, ndim=1, ceil_mode=True),
         "jax"),
        (cp.PoolSpec(kind="avg", kernel_size=3, stride=2, padding=1, ndim=1, ceil_mode=True,
                     count_include_pad=False), "jax"),
        (cp.PoolSpec(kind="max", kernel_size=2, stride=3, padding=1, ndim=1, ceil_mode=True),
         "jax"),
        (cp.PoolSpec(kind="avg", kernel_size=3, stride=1, padding=((2, 1),), ndim=1,
                     count_include_pad=False, legality="onnx"), "jax"),
    ],
)  # fmt: skip
def test_per_input_pool_ports_are_exact_on_every_size(
    spec: cp.PoolSpec, to: str, rng: np.random.Generator, request: pytest.FixtureRequest
) -> None:
    request.getfixturevalue("torch" if to == "pytorch" else "jax")
    p = cp.port(spec, to=to)
    assert p.pre_pad is not None and p.params.get("ceil_mode", False) is False
    assert all(n in p.agrees_for[0] for n in range(1, 301)), p.agrees_for
    for n in range(1, 301 if to == "pytorch" else 41):  # JAX compiles once per size
        assert _pool_equal(p, spec, rng.standard_normal((1, 1, n))), (n, p.code)


def _planted(p: cp.Port, old: str, new: str) -> cp.Port:
    """``p`` with one printed line changed (steps and snippet alike)."""
    steps = {
        name: tuple(step.replace(old, new) for step in getattr(p, name))
        for name in ("input_steps", "output_steps")
    }
    assert steps != {"input_steps": p.input_steps, "output_steps": p.output_steps}, old
    return p.__class__(**{**p.__dict__, **steps, "code": p.code.replace(old, new)})


@pytest.mark.parametrize(
    ("spec", "old", "new"),
    [
        # max pooling pre-padded with 0 instead of -inf: an all-negative edge window reads 0
        (TF_SAME_MAX, "constant_values=-np.inf", "constant_values=0"),
        # the divisor prod(k) where count_include_pad=False: the mask's pool dropped
        (cp.PoolSpec(kind="avg", kernel_size=3, stride=2, padding="SAME_UPPER",
                     count_include_pad=False, legality="onnx"),
         "y = np.divide(y[:, :-1], y[:, -1:],", "y = np.divide(y[:, :-1], 1.0,"),
        # the ceil overhang dropped: one output fewer
        (cp.PoolSpec(kind="max", kernel_size=3, stride=2, padding=((0, 1), (1, 0)),
                     ceil_mode=True, legality="onnx"),
         "c = [_ceil_pads", "c = e or [_ceil_pads"),
        # ceil mode's overhang counted in the divisor
        (cp.PoolSpec(kind="avg", kernel_size=3, stride=2, padding=((1, 1), (0, 1)),
                     ceil_mode=True, legality="onnx"),
         "m = np.pad(m, [(0, 0), (0, 0)] +",
         "m = np.pad(m, mode='edge', pad_width=[(0, 0), (0, 0)] +"),
    ],
)  # fmt: skip
def test_planted_pool_defects_are_caught(
    spec: cp.PoolSpec, old: str, new: str, rng: np.random.Generator, torch
) -> None:
    p = cp.port(spec, to="pytorch")
    wrong = _planted(p, old, new)
    x = -np.abs(rng.standard_normal((2, 3, 9, 9))) - 1  # negative: 0 beats every tap
    assert _pool_equal(p, spec, x)
    assert not _pool_equal(wrong, spec, x)


def test_pool_ports_to_jax_and_onnx_agree(
    rng: np.random.Generator, request: pytest.FixtureRequest, torch
) -> None:
    for fixture in ["jax", "onnxruntime"]:
        request.getfixturevalue(fixture)
    for spec in [
        cp.PoolSpec(kind="max", kernel_size=3, stride=2, padding=1, ceil_mode=True,
                    legality="onnx"),
        cp.PoolSpec(kind="avg", kernel_size=3, stride=2, padding=((0, 1), (1, 0)),
                    count_include_pad=False, legality="jax"),
    ]:  # fmt: skip
        x = rng.standard_normal((1, 3, 8, 7))
        for to in ["jax", "onnx", "pytorch"]:
            assert _pool_equal(cp.port(spec, to=to), spec, x), to
