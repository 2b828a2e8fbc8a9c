"""Tests of check_conv and friends: results, counterexamples, arguments, pytest helper."""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis.errors import InvalidArgument

import convproof as cp
from convproof.testing import check as cpc
from convproof.testing import faulty_convs as examples
from convproof.testing import runner


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
    assert 0 < result.seconds < 600
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
    assert abs(cx.expected[cx.index] - cx.got[cx.index]) > cx.bound[cx.index]
    # and the index is the first one outside the allowed deviation in C order
    differs = np.argwhere(np.abs(cx.expected - cx.got) > cx.bound)
    assert tuple(differs[0]) == cx.index
    assert cx.x.shape == cx.input_shape
    assert cx.layout in cpc.LAYOUTS and cx.bound.shape == cx.expected.shape


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
    assert d["counterexample"]["layout"] == cx.layout
    assert d["counterexample"]["bound_value"] == cx.bound_value
    assert isinstance(d["unexercised"], list) and "gamma_n" in d["comparison"]
    assert f"layout      = {cx.layout!r}" in text and "allowed     = " in text


def test_raising_function_is_a_counterexample() -> None:
    def broken(x: Any, weight: Any, bias: Any = None, **kw: Any) -> Any:
        if weight.shape[-1] > 1:
            raise IndexError("kernel too wide for my kernel")
        return good_conv(x, weight, bias, **kw)

    result = cp.check_conv(broken, max_examples=100, derandomize=True)
    cx = result.counterexample
    assert cx.reason == "raised"
    assert cx.error.splitlines()[0] == "IndexError: kernel too wide for my kernel"
    assert "in broken: raise IndexError" in cx.error  # the user's own frame
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
        (dict(fn=good_conv, rtol=-1.0), cp.ConvProofError, "rtol must be a number >= 0"),
        (dict(fn=good_conv, atol="1"), cp.ConvProofError, "atol must be a number >= 0"),
        (dict(fn=good_conv, layouts=["Z"]), cp.ConvProofError, "layouts must be a non-empty"),
        (dict(fn=good_conv, layouts=[]), cp.ConvProofError, "layouts must be a non-empty"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], error: type, message: str) -> None:
    fn = kwargs.pop("fn")
    with pytest.raises(error, match=message):
        cp.check_conv(fn, **kwargs)


def test_check_pool_rejects_unknown_kind() -> None:
    with pytest.raises(cp.ConvProofError, match="kind must be 'max', 'avg' or 'lp'"):
        cp.check_pool(good_conv, kind="min")


def test_assert_conv_matches() -> None:
    assert cp.assert_conv_matches(good_conv, max_examples=20, derandomize=True)
    with pytest.raises(AssertionError, match=r"conv check FAILED(.|\n)*at index"):
        cp.assert_conv_matches(_flipped, max_examples=50, derandomize=True)
    with pytest.raises(cp.ConvProofError, match="layer must be one of"):
        cp.assert_conv_matches(good_conv, layer="dense")


def _conv32(x: Any, weight: Any, bias: Any = None, **kw: Any) -> Any:
    b = None if bias is None else bias.astype(np.float32)
    return good_conv(x.astype(np.float32), weight.astype(np.float32), b, **kw)


def test_float32_implementation_passes_on_float32_data() -> None:
    assert cp.check_conv(_conv32, dtype="float32", max_examples=60, seed=3)


def test_float32_accumulation_of_float64_data_is_caught_by_default() -> None:
    cx = cp.check_conv(_conv32, seed=3).counterexample
    assert cx is not None and cx.reason == "values differ"
    # float32 rounding exceeds the float64 bound (0 where every partial sum is exact)
    assert abs(cx.got_value - cx.expected_value) > cx.bound_value
    assert cx.got.dtype == np.float32


def test_rounding_to_integers_is_caught_exactly() -> None:
    def rounded(x: Any, weight: Any, bias: Any = None, **kw: Any) -> Any:
        return np.round(good_conv(x, weight, bias, **kw))

    cx = cp.check_conv(rounded, seed=1).counterexample
    assert cx is not None and cx.bound_value == 0.0
    assert cx.expected_value % 1 != 0 and cx.got_value == np.round(cx.expected_value)
    assert "allowed     = exact" in str(cx)


@pytest.mark.parametrize(
    ("values", "quantum"),
    [([0.75, 2.0], -2), ([3 * 2.0**10], 10), ([-0.5, 6.0], -1), ([0.0, 0.0], None),
     ([1.0, 2.0**-30], -30), ([2.0**52 + 1], 0)],
)  # fmt: skip
def test_quantum_is_the_finest_binary_exponent(values: list[float], quantum: Any) -> None:
    assert runner._quantum(np.array(values)) == quantum


def _problem_1d(x: list[float], w: list[float], bias: Any = None, dtype: Any = np.float64) -> Any:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=len(w), ndim=1,
                       bias=bias is not None)  # fmt: skip
    arrays = (np.array([[x]], dtype=dtype), np.array([[w]], dtype=dtype),
              None if bias is None else np.array([bias], dtype=dtype))  # fmt: skip
    return cp.strategies.ConvProblem(spec, (1, 1, len(x)), *arrays)


@pytest.mark.parametrize(
    ("x", "w", "bias", "dtype", "bound"),
    [
        # exact: every partial sum is a multiple of 2**-2 below 2**(53-2)
        ([0.5, 0.25], [1.0, 3.0], None, "float64", 0.0),
        ([2.0**52, 1.0], [1.0, 1.0], None, "float64", 0.0),
        # S = 2**53 + 1 >= 2**53: two terms, the user's and the reference's gamma_2 each
        ([2.0**53, 1.0], [1.0, 1.0], None, "float64", 2 * (2 * 2.0**-53 / (1 - 2 * 2.0**-53))
         * (2.0**53 + 1)),
        # float32: S = 2**24 + 1 with a bias term: gamma_3 at u = 2**-24 (the float64 side exact)
        ([2.0**23, 1.0], [2.0, 0.5], 0.5, "float32", 3 * 2.0**-24 / (1 - 3 * 2.0**-24)
         * (2.0**24 + 1)),
        ([2.0**21, 1.0], [2.0, 0.5], 0.5, "float32", 0.0),
    ],
)  # fmt: skip
def test_allowed_deviation_table(x: Any, w: Any, bias: Any, dtype: str, bound: float) -> None:
    expected, allowed = runner._reference(_problem_1d(x, w, bias, dtype), dtype)
    exact = sum(a * b for a, b in zip(x, w)) + (bias or 0)
    assert expected[0, 0, 0] == exact
    assert allowed[0, 0, 0] == pytest.approx(bound, rel=1e-8, abs=0)


def test_pool_bounds() -> None:
    x = np.array([[[1.0, 2.0**60, 3.0]]])
    for kind, bound in (("max", 0.0), ("avg", 2 * (5 * 2.0**-53 / (1 - 5 * 2.0**-53)))):
        spec = cp.PoolSpec(kind=kind, kernel_size=3, ndim=1)
        problem = cp.strategies.ConvProblem(spec, x.shape, x, None, None)
        expected, allowed = runner._reference(problem, "float64")
        mean = (1.0 + 2.0**60 + 3.0) / 3
        assert expected[0, 0, 0] == pytest.approx(2.0**60 if kind == "max" else mean, rel=1e-15)
        assert allowed[0, 0, 0] == pytest.approx(bound * mean, rel=1e-8, abs=0)


def test_layouts_are_probed_and_reported() -> None:
    seen: set[str] = set()

    def spy(x: Any, weight: Any, bias: Any = None, **kw: Any) -> Any:
        if x.flags.c_contiguous:
            seen.add("C")
        elif x.flags.f_contiguous:
            seen.add("F")
            assert weight.flags.f_contiguous
        else:
            seen.add("strided")
            assert x.base is not None and x.strides[-1] == 2 * x.itemsize
        return good_conv(x, weight, bias, **kw)

    assert cp.check_conv(spy, seed=0)
    assert seen == {"C", "F", "strided"}

    def c_only(x: Any, weight: Any, bias: Any = None, **kw: Any) -> Any:
        if x.flags.f_contiguous and not x.flags.c_contiguous:
            x = np.ascontiguousarray(x.T).reshape(x.shape)  # reads the memory as if C order
        return good_conv(x, weight, bias, **kw)

    result = cp.check_conv(c_only, seed=0)
    assert not result and result.counterexample.layout == "F"
    assert "layout      = 'F' (Fortran-ordered x and weight)" in str(result)
    assert cp.check_conv(c_only, layouts=["C", "strided"], seed=0)


def test_large_sizes_are_drawn_and_can_be_turned_off() -> None:
    widths: list[int] = []

    def spy(x: Any, weight: Any, bias: Any = None, **kw: Any) -> Any:
        widths.append(x.shape[-1])
        return good_conv(x, weight, bias, **kw)

    assert cp.check_conv(spy, seed=0)
    assert max(widths) > 8 and max(widths) <= 130
    widths.clear()
    assert cp.check_conv(spy, seed=0, large_sizes=False, max_dilation=1, max_kernel_size=1,
                         max_padding=0)  # fmt: skip
    assert max(widths) <= 1 + 3


def test_scalar_args() -> None:
    seen: list[dict[str, Any]] = []

    def scalar_conv(x: Any, weight: Any, bias: Any = None, stride: int = 1, padding: int = 0,
                    dilation: int = 1, groups: int = 1) -> Any:  # fmt: skip
        seen.append(dict(stride=stride, padding=padding, dilation=dilation))
        assert weight.shape[2] == weight.shape[3]  # one kernel size for every axis
        return good_conv(x, weight, bias, (stride,) * 2, (padding,) * 2, (dilation,) * 2, groups)

    assert cp.check_conv(scalar_conv, scalar_args=True, seed=0)
    assert all(type(v) is int for kw in seen for v in kw.values())
    assert {kw["stride"] for kw in seen} == {1, 2} and {kw["padding"] for kw in seen} >= {0, 1}

    calls: list[dict[str, Any]] = []

    def pool(x: Any, **kw: Any) -> Any:
        calls.append(kw)
        return cp.conv(cp.PoolSpec(kind="max", ndim=x.ndim - 2, **kw), x)

    assert cp.check_pool(pool, scalar_args=True, ndim=3, max_examples=30, seed=0)
    assert all(type(kw[k]) is int for kw in calls for k in ("kernel_size", "stride", "padding"))


def test_scalar_args_arguments() -> None:
    with pytest.raises(cp.ConvProofError, match="paddings must be a subset"):
        cp.check_conv(good_conv, scalar_args=True, paddings=["pairs"])
    with pytest.raises(cp.ConvProofError, match="scalar_args must be True or False"):
        cp.check_conv(good_conv, scalar_args=1)
    asym = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, padding=((0, 1), (0, 1)))
    with pytest.raises(cp.ConvProofError, match="one symmetric padding"):
        cp.check_conv(good_conv, scalar_args=True, specs=[asym])


def test_specs_with_bounds() -> None:
    a = cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=3, padding=1, groups=2)
    b = cp.ConvSpec(in_channels=1, out_channels=3, kernel_size=(1, 2), stride=2)
    seen: set[Any] = set()

    def spy(x: Any, weight: Any, bias: Any = None, **kw: Any) -> Any:
        seen.add((x.shape[1], weight.shape, kw["stride"], kw["groups"]))
        assert x.shape[0] == 1 and x.shape[-1] <= 3 + 2
        return good_conv(x, weight, bias, **kw)

    result = cp.check_conv(spy, specs=[a, b], max_batch=1, max_extra_size=2, large_sizes=False,
                           max_kernel_size=3, seed=0)  # fmt: skip
    assert result, str(result)
    assert seen == {(2, (2, 1, 3, 3), (1, 1), 2), (1, (3, 1, 1, 2), (2, 2), 1)}
    with pytest.raises(InvalidArgument, match="outside the bound max_kernel_size=2"):
        cp.check_conv(good_conv, specs=[a, b], max_kernel_size=2)
    with pytest.raises(InvalidArgument, match="outside the bound groups=False"):
        cp.check_conv(good_conv, specs=a, groups=False)
    # a strategy of specs is filtered by the bounds
    strat = cp.strategies.conv_specs(max_channels=2)
    seen.clear()
    assert cp.check_conv(spy, specs=strat, groups=False, max_batch=1, large_sizes=False,
                         max_extra_size=2, max_examples=30, seed=0)  # fmt: skip
    assert {g for *_, g in seen} == {1}


def test_unexercised_features_warn_at_the_caller() -> None:
    # one problem cannot draw both specs: the other one's feature is never exercised
    grouped = cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=1, groups=2, bias=False)
    strided = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=1, stride=2, bias=False)
    kw = dict(specs=[grouped, strided], max_examples=1, max_batch=1, seed=0)
    with pytest.warns(cp.UnexercisedWarning, match="without exercising") as record:
        result = cp.check_conv(good_conv, **kw)
    assert record[0].filename == __file__
    assert result and result.unexercised in (("groups > 1",), ("stride > 1",))
    assert "never exercised" in str(result)
    with pytest.warns(cp.UnexercisedWarning) as record:
        cp.assert_conv_matches(good_conv, **kw)
    assert record[0].filename == __file__
    kw["max_examples"] = 30
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cp.check_conv(good_conv, **kw).unexercised == ()


@pytest.mark.parametrize(
    ("layer", "bounds", "features"),
    [
        ("conv", dict(padding_modes=["reflect", "circular"]),
         {"padding_mode='reflect'", "padding_mode='circular'", "groups > 1", "stride > 1",
          "dilation > 1", "padding > 0", "bias", "batch > 1"}),
        ("conv", dict(groups=False, max_stride=1, max_dilation=1, max_padding=0, bias=False,
                      batch=False), {"padding_mode='zeros'"}),
        ("conv", dict(max_channels=1, paddings=["same"], max_batch=1),
         {"padding_mode='zeros'", "dilation > 1", "bias", "padding > 0"}),
        ("conv_transpose", dict(), {"groups > 1", "stride > 1", "dilation > 1", "padding > 0",
                                    "bias", "batch > 1", "output_padding > 0"}),
        ("conv_transpose", dict(max_stride=1, max_dilation=1, paddings=["valid"]),
         {"groups > 1", "bias", "batch > 1"}),
        ("max_pool", dict(), {"stride > 1", "dilation > 1", "padding > 0", "batch > 1",
                              "ceil_mode=True"}),
        ("avg_pool", dict(ceil_mode=False, max_kernel_size=1),
         {"stride > 1", "batch > 1", "count_include_pad=True", "count_include_pad=False"}),
    ],
)  # fmt: skip
def test_enabled_features(layer: str, bounds: dict[str, Any], features: set[str]) -> None:
    defaults = {"conv": {"paddings": ("int", "per_dim"), "padding_modes": ("zeros",)},
                "conv_transpose": {"paddings": ("int", "per_dim")},
                "max_pool": {"paddings": ("int", "per_dim"), "kinds": ("max",)},
                "avg_pool": {"paddings": ("int", "per_dim"), "kinds": ("avg",)}}[layer]  # fmt: skip
    kind = layer if layer.startswith("conv") else "pool"
    plan = runner._Plan(kind, None, defaults, bounds, None, False, cpc.LAYOUTS)
    assert plan.enabled == features


def test_features_of_a_problem() -> None:
    spec = cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=3, padding="same", groups=2,
                       dilation=(1, 2), padding_mode="reflect")  # fmt: skip
    x = np.zeros((3, 2, 5, 5))
    problem = cp.strategies.ConvProblem(spec, x.shape, x, np.zeros((2, 1, 3, 3)), None)
    assert runner._features(problem) == {
        "groups > 1",
        "dilation > 1",
        "padding > 0",
        "padding_mode='reflect'",
        "batch > 1",
        "bias",
    }
    tspec = cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=2, stride=2,
                                 output_padding=(0, 1), bias=True)  # fmt: skip
    assert runner._spec_features(tspec) == {"stride > 1", "output_padding > 0", "bias"}
    pspec = cp.PoolSpec(kind="avg", kernel_size=2, ceil_mode=True, count_include_pad=False)
    assert runner._spec_features(pspec) == {"stride > 1", "ceil_mode=True",
                                               "count_include_pad=False"}  # fmt: skip


def test_shipped_im2col_example_fails_only_on_other_layouts() -> None:
    result = cp.check_conv(examples.im2col_conv, seed=0)
    assert not result and result.counterexample.layout == "F"
    assert cp.check_conv(examples.im2col_conv, seed=0, layouts=["C", "strided"])


def test_gamma() -> None:
    # gamma_n = n u / (1 - n u): with u = 1/4, gamma_1 = 1/3 and gamma_2 = 1
    assert runner._gamma(np.array([1.0, 2.0]), 0.25).tolist() == [1 / 3, 1.0]


def test_counterexample_to_dict_keeps_the_call_a_mapping() -> None:
    """The keyword arguments fn was called with stay a JSON object, not a string."""
    from convproof.testing import faulty_convs as examples

    result = cp.check_conv(examples.flipped_conv, max_examples=20, seed=0)
    call = json.loads(json.dumps(result.to_dict()))["counterexample"]["call"]
    assert isinstance(call, dict)
    assert call["groups"] == 1 and isinstance(call["stride"], list)


def _boom_conv(x: Any, weight: Any, bias: Any = None, **kw: Any) -> Any:
    raise RuntimeError("boom")  # the user's own line


def test_user_exception_shows_the_users_file_and_line() -> None:
    """A user function that raises is reported with its own frame, not just the message."""
    result = cp.check_conv(_boom_conv, max_examples=5, seed=0)
    cx = result.counterexample
    assert not result and cx is not None and cx.reason == "raised"
    first, *where = cx.error.splitlines()
    assert first == "RuntimeError: boom"
    assert len(where) == 1 and "test_check.py:" in where[0] and "in _boom_conv" in where[0]
    assert 'raise RuntimeError("boom")' in where[0]
    text = str(result)
    assert "raised      = RuntimeError: boom" in text and "in _boom_conv" in text


# --------------------------------------------------------------------------------------
# reports: counts named; the signature checked before the run; PyTorch callables
# --------------------------------------------------------------------------------------


def test_report_names_examples_tried_and_failures() -> None:
    passed = cp.check_conv(good_conv, max_examples=15, seed=0)
    assert passed.failures == 0
    assert passed.headline(seconds=False) == (
        f"conv check passed: {passed.examples_run} examples tried, no failure"
    )
    failed = cp.check_conv(examples.flipped_conv, max_examples=50, seed=0)
    # every shrink step that still fails counts; at least the first failure and the last
    assert 2 <= failed.failures < failed.examples_run
    head = failed.headline(seconds=False)
    assert head == (
        f"conv check FAILED: {failed.failures} of {failed.examples_run} examples tried failed "
        "(shrinking included)"
    )
    assert "problems" not in str(failed).splitlines()[0]
    assert failed.to_dict()["failures"] == failed.failures


def test_wrong_signature_is_an_error_before_the_run() -> None:
    calls = [0]

    def two_args(x: Any, weight: Any) -> Any:  # no bias, no keywords
        calls[0] += 1
        return x

    with pytest.raises(cp.ConvProofError, match=r"fn must accept the checker's call fn\(") as e:
        cp.check_conv(two_args, max_examples=10, seed=0)
    assert "two_args(x, weight)" in str(e.value) and "stride=" in str(e.value)
    assert calls[0] == 0  # refused by the signature, never called

    def no_groups(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
                  dilation: Any = 1) -> Any:  # fmt: skip
        return good_conv(x, weight, bias, stride, padding, dilation)

    with pytest.raises(cp.ConvProofError, match="groups"):
        cp.check_conv(no_groups, max_examples=10, seed=0)
    with pytest.raises(cp.ConvProofError, match="fn must accept"):
        cp.check_pool(lambda x, kernel_size: x, kind="max", max_examples=5)
    with pytest.raises(cp.ConvProofError, match="fn must accept"):
        cp.check_conv_backward(lambda grad_output, x: x, max_examples=5)


def test_signature_error_during_the_run_is_an_error_not_a_counterexample() -> None:
    """padding_mode= is passed only for non-zero modes: the call before the run accepts."""

    def zeros_only(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
                   dilation: Any = 1, groups: int = 1) -> Any:  # fmt: skip
        return good_conv(x, weight, bias, stride, padding, dilation, groups)

    with pytest.raises(cp.ConvProofError, match="padding_mode="):
        cp.check_conv(zeros_only, padding_modes=("zeros", "reflect"), max_examples=50, seed=0)


def test_a_function_that_raises_is_still_a_counterexample() -> None:
    """A TypeError inside the user's code (not the call) is a failure of the function."""

    def bad(x: Any, weight: Any, bias: Any = None, **kw: Any) -> Any:
        raise TypeError("boom")

    result = cp.check_conv(bad, max_examples=5, seed=0)
    assert not result and result.counterexample.reason == "raised"
    assert result.counterexample.error.startswith("TypeError: boom")
    assert 'raise TypeError("boom")' in result.counterexample.error  # the user's line


@pytest.mark.torch
def test_pytorch_functions_are_accepted_directly(torch: Any) -> None:
    F = torch.nn.functional
    assert cp.check_conv(F.conv2d, max_examples=25, seed=0)
    assert cp.check_conv(F.conv1d, ndim=1, max_examples=15, seed=0)
    assert cp.check_conv_transpose(F.conv_transpose2d, max_examples=25, seed=0)
    assert cp.check_pool(F.max_pool2d, kind="max", max_examples=25, seed=0)
    assert cp.check_pool(F.avg_pool2d, kind="avg", max_examples=25, seed=0)
    grads = (torch.nn.grad.conv2d_input, torch.nn.grad.conv2d_weight)
    assert cp.check_conv_backward(grads, max_examples=15, seed=0)


@pytest.mark.torch
def test_user_code_with_tensors_is_accepted_and_still_checked(torch: Any) -> None:
    F = torch.nn.functional
    seen: list[Any] = []

    def mine(x: Any, weight: Any, bias: Any = None, **kw: Any) -> Any:
        seen.append(type(x))
        return F.conv2d(x, weight, bias, **kw)  # raises TypeError on NumPy arrays

    assert cp.check_conv(mine, max_examples=15, seed=0)
    assert seen[-1] is torch.Tensor

    def flipped(x: Any, weight: Any, bias: Any = None, **kw: Any) -> Any:
        return F.conv2d(x, torch.flip(weight, dims=(2, 3)), bias, **kw)  # a true convolution

    cx = cp.check_conv(flipped, max_examples=50, seed=0).counterexample
    assert cx is not None and cx.reason == "values differ"
    assert isinstance(cx.got, np.ndarray)  # converted back at the boundary

    def numpy_in_torch_out(x: Any, weight: Any, bias: Any = None, **kw: Any) -> Any:
        out = good_conv(x, weight, bias, **kw)
        return torch.from_numpy(np.ascontiguousarray(out))

    assert cp.check_conv(numpy_in_torch_out, max_examples=10, seed=0)


def test_numpy_functions_get_numpy_arrays() -> None:
    seen: set[type] = set()

    def spy(x: Any, weight: Any, bias: Any = None, **kw: Any) -> Any:
        seen.add(type(x))
        return good_conv(x, weight, bias, **kw)

    assert cp.check_conv(spy, max_examples=10, seed=0)
    assert seen == {np.ndarray}


def test_progress_bar_on_request(capsys: pytest.CaptureFixture[str]) -> None:
    cp.check_conv(good_conv, max_examples=5, seed=0, progress=True)
    assert "conv check" in capsys.readouterr().err
    cp.check_conv(good_conv, max_examples=5, seed=0)  # default: only on a terminal
    assert capsys.readouterr().err == ""
    with pytest.raises(cp.ConvProofError, match="progress must be"):
        cp.check_conv(good_conv, max_examples=5, progress="yes")


def test_signature_error_is_the_public_error_type() -> None:
    with pytest.raises(cp.ConvProofError) as e:
        cp.check_conv(lambda x: x, max_examples=5)
    assert type(e.value) is cp.ConvProofError
    with pytest.raises(cp.ConvProofError) as e:
        cp.check_conv(
            lambda x, weight, bias, stride, padding, dilation, groups: x,
            padding_modes=("reflect",), max_examples=5,
        )  # fmt: skip
    assert type(e.value) is cp.ConvProofError and "padding_mode=" in str(e.value)
