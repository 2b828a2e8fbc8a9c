"""Soundness of the checkers: every planted defect is caught, every correct counterpart passes.

One test id per defect (the zoo of deliberately wrong user convolutions, transposed
convolutions and poolings in ``tests/test_zoo.py``): ``check_conv``, ``check_conv_transpose``
and ``check_pool`` with their *default* settings (100 examples; a fixed seed for
reproducibility) must fail with a shrunk, minimal counterexample.  The correct user
implementations, convproof's own ``examples.loop_conv`` and PyTorch's float64 functionals
must pass over several seeds (no false alarm from the exact-or-bounded comparison).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from torch_functions import numpy_function

import convproof as cp
from convproof.testing import faulty_convs as examples

try:
    import test_zoo as zoo
except ImportError:  # pragma: no cover - run from the repository root as a package
    from tests import test_zoo as zoo

_CHECKERS: dict[str, Callable[..., cp.CheckResult]] = {
    "conv": cp.check_conv,
    "conv_transpose": cp.check_conv_transpose,
    "max_pool": functools.partial(cp.check_pool, kind="max"),
    "avg_pool": functools.partial(cp.check_pool, kind="avg"),
}

#: Seeds where the default one (0) misses within the default 100 examples (stated, not hidden).
_SEEDS = {"max_pool_ceil_without_drop_rule": 1}

#: Size allowances for minimality: the layout bugs need two non-trivial axes (a batch or a
#: second channel), the tile bug a width past 8, groups > 2 three channels.
_LIMITS: dict[str, dict[str, int]] = {
    "im2col_fortran_order": {"batch": 2, "size": 8},
    "max_pool_ravel_k_order": {"batch": 2, "size": 7},
    "tail_beyond_width_8": {"size": 9},
    "groups_over_2": {"channels": 3},
    "float32_accumulation": {"batch": 2, "channels": 3, "size": 5},
    # a float32 rounding needs particular values; shrinking once stopped at width 7 (CI, 2 cores)
    "transposed_float32_output": {"batch": 2, "channels": 3, "size": 8},
    "transposed_crop_start_only": {"size": 3},
    # the ceil-mode overhang needs a width the stride does not divide; shrinking sometimes
    # stops at 8 (seen under load), still a one-row, one-channel input
    "max_pool_ceil_without_drop_rule": {"size": 8},
}


def _assert_small(name: str, spec: Any, shape: tuple[int, ...]) -> None:
    limits = {"batch": 1, "channels": 2, "size": 4, **_LIMITS.get(name, {})}
    assert shape[0] <= limits["batch"], shape
    assert shape[1] <= limits["channels"], shape
    assert max(shape[2:]) <= limits["size"], shape
    assert max(spec.kernel_size) <= 3, spec
    if hasattr(spec, "out_channels"):
        assert spec.out_channels <= limits["channels"], spec


@pytest.mark.parametrize(("name", "options", "fn", "minimal"), zoo.ZOO, ids=[z[0] for z in zoo.ZOO])
def test_planted_defect_is_caught_with_a_minimal_counterexample(
    name: str, options: dict[str, Any], fn: Callable[..., Any], minimal: Any
) -> None:
    options = dict(options)
    layer = options.pop("layer", "conv")
    # default settings (100 examples); a defect that only shows on rare data (float32
    # rounding, a ceil-mode overhang) may need a second seed: at most three are tried, and
    # whether a given seed catches it can depend on the process (NumPy's SIMD summation
    # order follows memory alignment), so the test does not pin one
    first = _SEEDS.get(name, 0)
    for seed in (first, first + 1, first + 2):
        result = _CHECKERS[layer](fn, seed=seed, **options)
        if not result:
            break
    assert not result, f"{name} was not caught with seeds {first}..{first + 2}: {result}"
    cx = result.counterexample
    assert cx is not None, result
    _assert_small(name, cx.spec, cx.input_shape)
    assert minimal(cx.spec, cx), f"{name}: counterexample not minimal:\n{cx}"
    if cx.reason == "values differ":
        assert abs(cx.got_value - cx.expected_value) > cx.bound_value
    text = str(result)
    assert "FAILED" in text and repr(cx.spec) in text and f"layout      = {cx.layout!r}" in text


def test_soundness_suite_has_at_least_twenty_defects() -> None:
    assert len(zoo.ZOO) >= 20


# --------------------------------------------------------------------------------------
# correct counterparts: no false alarms
# --------------------------------------------------------------------------------------

_CORRECT = [
    ("conv", zoo.user_conv2d, {"padding_modes": ["zeros", "reflect", "replicate", "circular"]}),
    ("conv", zoo.user_im2col_conv2d, {}),
    ("conv", examples.loop_conv, {"max_batch": 1}),
    ("conv_transpose", zoo.user_conv_transpose2d, {}),
    ("max_pool", zoo.user_max_pool2d, {}),
    ("avg_pool", zoo.user_avg_pool2d, {}),
]


@pytest.mark.parametrize(("layer", "fn", "options"), _CORRECT,
                         ids=[f"{c[0]}-{c[1].__name__}" for c in _CORRECT])  # fmt: skip
def test_correct_numpy_implementation_passes(layer: str, fn: Any, options: dict) -> None:
    for seed in (0, 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", cp.UnexercisedWarning)
            result = _CHECKERS[layer](fn, seed=seed, **options)
        assert result, str(result)


@pytest.mark.torch
@pytest.mark.parametrize(
    ("layer", "name", "ndim", "dtype"),
    [("conv", "conv2d", 2, "float64"), ("conv", "conv1d", 1, "float64"),
     ("conv", "conv2d", 2, "float32"), ("conv_transpose", "conv_transpose2d", 2, "float64"),
     ("conv_transpose", "conv_transpose1d", 1, "float32"),
     ("max_pool", "max_pool2d", 2, "float64"), ("avg_pool", "avg_pool2d", 2, "float64"),
     ("avg_pool", "avg_pool1d", 1, "float32")],
)  # fmt: skip
def test_torch_functional_passes_over_seeds(
    torch: Any, layer: str, name: str, ndim: int, dtype: str
) -> None:
    # one seed here (PyTorch's float64 kernels are slow on 129-wide inputs); benchmarks/
    # check_false_alarms.py runs many seeds
    result = _CHECKERS[layer](numpy_function(torch, name), ndim=ndim, seed=0, dtype=dtype)
    assert result, str(result)
