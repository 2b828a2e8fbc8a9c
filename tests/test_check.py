"""Tests of check_conv and friends: results, counterexamples, arguments, pytest helper."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis.errors import InvalidArgument

import convproof as cp


def good_conv(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
              dilation: Any = 1, groups: int = 1, padding_mode: str = "zeros") -> Any:  # fmt: skip
    """A correct wrapper of convproof.conv (a spec from PyTorch's functional arguments)."""
    if isinstance(padding, tuple) and padding and isinstance(padding[0], tuple):
        padding = tuple(tuple(p) for p in padding)
    spec = cp.ConvSpec(
        in_channels=x.shape[1], out_channels=weight.shape[0], kernel_size=weight.shape[2:],
        stride=stride, padding=padding, dilation=dilation, groups=groups,
        bias=bias is not None, padding_mode=padding_mode,
    )  # fmt: skip
    return cp.conv(spec, x, weight, bias)


def test_correct_implementation_passes() -> None:
    result = cp.check_conv(good_conv, max_examples=40, derandomize=True)
    assert result and result.passed
    assert result.counterexample is None
    assert 0 < result.examples_run <= 40
    assert result.seconds > 0
    assert str(result).startswith("conv check passed: ")


def test_received_arguments_are_per_axis_tuples() -> None:
    seen: list[dict[str, Any]] = []

    def spy(x: Any, weight: Any, bias: Any = None, **kw: Any) -> Any:
        seen.append(kw)
        return good_conv(x, weight, bias, **kw)

    assert cp.check_conv(spy, ndim=3, max_examples=20, derandomize=True)
    for kw in seen:
        assert set(kw) == {"stride", "padding", "dilation", "groups"}
        for name in ("stride", "padding", "dilation"):
            assert isinstance(kw[name], tuple) and len(kw[name]) == 3
            assert all(isinstance(v, int) for v in kw[name])


def test_wider_bounds_pass_pairs_and_padding_mode() -> None:
    seen: list[dict[str, Any]] = []

    def spy(x: Any, weight: Any, bias: Any = None, **kw: Any) -> Any:
        seen.append(kw)
        return good_conv(x, weight, bias, **kw)

    result = cp.check_conv(spy, max_examples=60, derandomize=True, paddings=["pairs"],
                           padding_modes=["reflect", "zeros"])  # fmt: skip
    assert result, str(result)
    assert any("padding_mode" in kw for kw in seen)
    assert any(isinstance(kw["padding"][0], tuple) for kw in seen)


def _flipped(x: Any, weight: Any, bias: Any = None, **kw: Any) -> Any:
    return good_conv(x, weight[:, :, ::-1, ::-1], bias, **kw)


@pytest.fixture(scope="module")
def flipped_result() -> cp.CheckResult:
    return cp.check_conv(_flipped, max_examples=200, derandomize=True)


def test_counterexample_contents(flipped_result: cp.CheckResult) -> None:
    result = flipped_result
    assert not result and bool(result) is False
    cx = result.counterexample
    assert cx.reason == "values differ"
    # the counterexample is self-consistent: expected is convproof's result on its arrays
    np.testing.assert_array_equal(cx.expected, cp.conv(cx.spec, cx.x, cx.weight, cx.bias))
    np.testing.assert_array_equal(cx.got, _flipped(cx.x, cx.weight, cx.bias, **cx.call))
    assert cx.expected[cx.index] != cx.got[cx.index]
    # and the index is the first differing one in C order
    differs = np.argwhere(cx.expected != cx.got)
    assert tuple(differs[0]) == cx.index
    assert cx.x.shape == cx.input_shape


def test_str_and_to_dict(flipped_result: cp.CheckResult) -> None:
    result = flipped_result
    text = str(result)
    cx = result.counterexample
    assert "conv check FAILED" in text
    assert f"at index {cx.index}: expected {cx.expected_value!r}, got {cx.got_value!r}" in text
    assert "x = " in text and "weight = " in text
    d = json.loads(json.dumps(result.to_dict()))
    assert d["passed"] is False
    assert d["counterexample"]["index"] == list(cx.index)
    assert cp.spec_from_dict(d["counterexample"]["spec"]) == cx.spec
    assert d["counterexample"]["x"] == cx.x.tolist()


def test_raising_function_is_a_counterexample() -> None:
    def broken(x: Any, weight: Any, bias: Any = None, **kw: Any) -> Any:
        if weight.shape[-1] > 1:
            raise IndexError("kernel too wide for my kernel")
        return good_conv(x, weight, bias, **kw)

    result = cp.check_conv(broken, max_examples=100, derandomize=True)
    cx = result.counterexample
    assert cx.reason == "raised"
    assert cx.error == "IndexError: kernel too wide for my kernel"
    assert cx.spec.kernel_size == (1, 2)  # shrunk
    assert cx.got is None and cx.index is None
    assert "raised      = IndexError" in str(result)


def test_wrong_shape_is_a_counterexample() -> None:
    def cropped(x: Any, weight: Any, bias: Any = None, **kw: Any) -> Any:
        return good_conv(x, weight, bias, **kw)[..., :1]

    cx = cp.check_conv(cropped, max_examples=100, derandomize=True).counterexample
    assert cx.reason == "wrong shape"
    assert cx.got.shape[-1] == 1 and cx.expected.shape[-1] > 1
    assert "shape       = expected" in str(cx)


def test_nondeterministic_function_fails_with_a_note() -> None:
    calls = [0]

    def flaky(x: Any, weight: Any, bias: Any = None, **kw: Any) -> Any:
        calls[0] += 1
        out = good_conv(x, weight, bias, **kw)
        return out + 1 if calls[0] == 5 else out

    result = cp.check_conv(flaky, max_examples=50, derandomize=True)
    assert not result
    assert result.counterexample is None and result.note  # Hypothesis reports it as flaky


def test_seed_makes_runs_reproducible() -> None:
    a = cp.check_conv(_flipped, max_examples=30, seed=7).counterexample
    b = cp.check_conv(_flipped, max_examples=30, seed=7).counterexample
    assert a.spec == b.spec and a.input_shape == b.input_shape


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(fn=42), cp.ConvProofError, "fn must be callable"),
        (dict(fn=good_conv, max_examples=0), cp.ConvProofError, "max_examples must be"),
        (dict(fn=good_conv, max_kernal_size=2), InvalidArgument, "unknown bounds"),
        (dict(fn=good_conv, ndim=0), InvalidArgument, "ndim must be >= 1"),
        (dict(fn=good_conv, dtype="float16"), InvalidArgument, "dtype must be one of"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], error: type, message: str) -> None:
    fn = kwargs.pop("fn")
    with pytest.raises(error, match=message):
        cp.check_conv(fn, **kwargs)


def test_check_pool_rejects_unknown_kind() -> None:
    with pytest.raises(cp.ConvProofError, match="kind must be 'max' or 'avg'"):
        cp.check_pool(good_conv, kind="min")


def test_assert_conv_matches() -> None:
    assert cp.assert_conv_matches(good_conv, max_examples=20, derandomize=True)
    with pytest.raises(AssertionError, match=r"conv check FAILED(.|\n)*at index"):
        cp.assert_conv_matches(_flipped, max_examples=50, derandomize=True)
    with pytest.raises(cp.ConvProofError, match="layer must be one of"):
        cp.assert_conv_matches(good_conv, layer="dense")


def test_float32_implementation_passes_with_default_tolerance() -> None:
    def conv32(x: Any, weight: Any, bias: Any = None, **kw: Any) -> Any:
        b = None if bias is None else bias.astype(np.float32)
        return good_conv(x.astype(np.float32), weight.astype(np.float32), b, **kw)

    assert cp.check_conv(conv32, max_examples=40, derandomize=True)
