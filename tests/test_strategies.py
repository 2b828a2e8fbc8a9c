"""Tests of the public Hypothesis strategies: validity, shrinking, bad arguments, from_type."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import convproof as cp
from convproof.testing import strategies as cs


class _Found(Exception):
    def __init__(self, value: Any) -> None:
        super().__init__("found")
        self.value = value


def minimal(strategy: st.SearchStrategy, condition: Any = lambda v: True) -> Any:
    """The shrunk example satisfying ``condition`` (carried out of Hypothesis by exception).

    The explain phase is skipped: it runs variations of the failing example after shrinking.
    """

    @settings(
        database=None, max_examples=300, deadline=None, report_multiple_bugs=False,
        phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    @given(strategy)
    def run(value: Any) -> None:
        if condition(value):
            raise _Found(value)

    with pytest.raises(_Found) as info:
        run()
    return info.value.value


# --------------------------------------------------------------------------------------
# validity
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["conv", "conv_transpose", "pool"])
@pytest.mark.parametrize("ndim", [1, 2, 3])
@given(data=st.data())
def test_problems_are_valid(kind: str, ndim: int, data: st.DataObject) -> None:
    paddings = {"conv": cs.CONV_PADDING_FORMS, "conv_transpose": cs.TRANSPOSE_PADDING_FORMS,
                "pool": cs.POOL_PADDING_FORMS}[kind]  # fmt: skip
    problem = data.draw(cs.conv_problems(kind=kind, ndim=ndim, paddings=paddings))
    spec, shape = problem.spec, problem.input_shape
    assert spec.ndim == ndim
    out = spec.output_shape(shape)  # raises if invalid
    assert all(o >= 1 for o in out)
    assert problem.x.shape == shape
    if kind == "pool":
        assert problem.weight is None and problem.bias is None
        # PyTorch: padding <= kernel // 2, avg pooling without dilation
        if isinstance(spec.padding, tuple):
            assert all(max(p) <= k // 2 for p, k in zip(spec.padding, spec.kernel_size))
        if spec.kind == "avg":
            assert spec.dilation == (1,) * ndim
    else:
        assert problem.weight.shape == spec.weight_shape
        assert (problem.bias is None) == (not spec.bias)
        assert spec.in_channels % spec.groups == 0 and spec.out_channels % spec.groups == 0
    if kind == "conv_transpose":
        assert all(op < s or op < d for op, s, d in
                   zip(spec.output_padding, spec.stride, spec.dilation))  # fmt: skip
    assert cp.conv(spec, problem.x, problem.weight, problem.bias).shape == out


@given(cs.conv_specs(paddings=["same"]))
def test_same_padding_forces_stride_one(spec: cp.ConvSpec) -> None:
    assert spec.padding == "same" and spec.stride == (1, 1)


@given(spec=cs.conv_specs(ndim=2, padding_modes=["reflect", "circular"], paddings=["full"]),
       data=st.data())  # fmt: skip
def test_input_shapes_respect_padding_mode_limits(spec: cp.ConvSpec, data: Any) -> None:
    shape = data.draw(cs.input_shapes(spec))
    for (pl, pr), i in zip(spec.resolve_padding(shape), shape[-2:]):
        assert max(pl, pr) < i if spec.padding_mode == "reflect" else max(pl, pr) <= i


@pytest.mark.parametrize(
    "spec",
    [
        cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=(3, 5), dilation=(2, 1)),
        cp.ConvSpec(
            in_channels=1, out_channels=1, kernel_size=3, padding=2, padding_mode="reflect"
        ),
        cp.ConvSpec(
            in_channels=1,
            out_channels=1,
            kernel_size=3,
            stride=2,
            padding="SAME_LOWER",
            padding_mode="circular",
        ),
        cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=2, padding=(3, 1)),
        cp.PoolSpec(kind="max", kernel_size=(2, 3), stride=(3, 1), ceil_mode=True),
        cp.PoolSpec(kind="avg", kernel_size=3, padding=1, stride=2),
    ],
    ids=repr,
)
def test_minimal_input_shape_is_the_smallest_valid(spec: Any) -> None:
    shape = minimal(cs.input_shapes(spec, batch=False))
    spec.output_shape(shape)
    for axis in range(spec.ndim):
        smaller = list(shape)
        smaller[1 + axis] -= 1
        if smaller[1 + axis] >= 1:
            with pytest.raises(cp.ConvProofError):
                spec.output_shape(tuple(smaller))


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "object"])
def test_dtype_option(dtype: str) -> None:
    problem = minimal(cs.conv_problems(dtype=dtype), lambda p: p.spec.bias)
    for arr in (problem.x, problem.weight, problem.bias):
        assert arr.dtype == np.dtype(dtype)
    if dtype == "object":
        assert all(type(v) is int for v in problem.x.flat)


@pytest.mark.parametrize("form", cs.CONV_PADDING_FORMS)
def test_every_padding_form_is_drawn(form: str) -> None:
    def is_form(spec: cp.ConvSpec) -> bool:
        p = spec.padding
        if form == "valid":
            return p == ((0, 0), (0, 0))
        if isinstance(p, str):
            return p == form
        return form in ("int", "per_dim", "pairs")

    spec = minimal(cs.conv_specs(paddings=[form]), lambda s: True)
    assert is_form(spec)


def test_per_axis_values_are_independent() -> None:
    spec = minimal(
        cs.conv_specs(ndim=3),
        lambda s: (
            len(set(s.kernel_size)) == 3
            and s.stride[0] != s.stride[2]
            and s.dilation[1] != s.dilation[0]
        ),
    )
    assert spec.kernel_size == (1, 2, 3)
    assert spec.stride[0] != spec.stride[2]


# --------------------------------------------------------------------------------------
# shrinking
# --------------------------------------------------------------------------------------


def test_conv_specs_shrink_to_minimal() -> None:
    assert minimal(cs.conv_specs(ndim=2)) == cp.ConvSpec(
        in_channels=1, out_channels=1, kernel_size=1, bias=False, ndim=2
    )


def test_conv_transpose_specs_shrink_to_minimal() -> None:
    assert minimal(cs.conv_transpose_specs(ndim=3)) == cp.ConvTransposeSpec(
        in_channels=1, out_channels=1, kernel_size=1, bias=False, ndim=3
    )


def test_pool_specs_shrink_to_minimal() -> None:
    assert minimal(cs.pool_specs(ndim=1)) == cp.PoolSpec(
        kind="max", kernel_size=1, stride=1, count_include_pad=False, ndim=1
    )


def test_problems_shrink_to_minimal() -> None:
    problem = minimal(cs.conv_problems(ndim=2))
    assert problem.spec == cp.ConvSpec(
        in_channels=1, out_channels=1, kernel_size=1, bias=False, ndim=2
    )
    assert problem.input_shape == (1, 1, 1)
    assert problem.x.tolist() == [[[0.0]]] and problem.weight.tolist() == [[[[0.0]]]]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (lambda s: s.groups > 1,
         dict(in_channels=2, out_channels=2, kernel_size=1, groups=2, bias=False)),
        (lambda s: s.stride == (1, 2), dict(in_channels=1, out_channels=1, kernel_size=1,
                                             stride=(1, 2), bias=False)),
        (lambda s: s.dilation[0] > 1 and s.kernel_size[0] > 1,
         dict(in_channels=1, out_channels=1, kernel_size=(2, 1), dilation=(2, 1), bias=False)),
        (lambda s: s.padding_mode == "reflect",
         dict(in_channels=1, out_channels=1, kernel_size=1, padding_mode="reflect",
              bias=False)),
    ],
    ids=["groups", "stride", "dilation", "mode"],
)  # fmt: skip
def test_conditional_shrinks(condition: Any, expected: dict[str, Any]) -> None:
    assert minimal(cs.conv_specs(), condition) == cp.ConvSpec(**expected)


# --------------------------------------------------------------------------------------
# bad arguments (checked when the strategy is built)
# --------------------------------------------------------------------------------------

BAD = [
    (cs.conv_specs, dict(ndim=0), "ndim must be >= 1"),
    (cs.conv_specs, dict(ndim=1.5), "ndim must be an integer"),
    (cs.conv_specs, dict(max_channels=0), "max_channels must be >= 1"),
    (cs.conv_specs, dict(min_channels=3, max_channels=2), "max_channels must be >= min"),
    (cs.conv_specs, dict(max_kernel_size=0), "max_kernel_size must be >= 1"),
    (cs.conv_specs, dict(max_stride=True), "max_stride must be an integer"),
    (cs.conv_specs, dict(max_dilation=0), "max_dilation must be >= 1"),
    (cs.conv_specs, dict(max_padding=-1), "max_padding must be >= 0"),
    (cs.conv_specs, dict(paddings=[]), "paddings must be a non-empty"),
    (cs.conv_specs, dict(paddings=["SAME"]), "paddings must be a non-empty"),
    (cs.conv_specs, dict(padding_modes=["mirror"]), "padding_modes must be"),
    (cs.conv_specs, dict(groups=2), "groups must be True or False"),
    (cs.conv_specs, dict(bias="yes"), "bias must be True, False or None"),
    (cs.conv_transpose_specs, dict(paddings=["same"]), "paddings must be"),
    (cs.conv_transpose_specs, dict(output_padding=1), "output_padding must be True or False"),
    (cs.pool_specs, dict(kinds=["min"]), "kinds must be"),
    (cs.pool_specs, dict(paddings=["full"]), "paddings must be"),
    (cs.pool_specs, dict(ceil_mode=1), "ceil_mode must be True, False or None"),
    (cs.conv_problems, dict(kind="dense"), "kind must be one of"),
    (cs.conv_problems, dict(dtype="float16"), "dtype must be one of"),
    (cs.conv_problems, dict(max_value=-1), "max_value must be >= 0"),
    (cs.conv_problems, dict(max_batch=0), "max_batch must be >= 1"),
    (cs.conv_problems, dict(max_kernal_size=3), "unknown bounds"),
    (cs.conv_problems, dict(specs=cs.conv_specs(), max_extra=1), "cannot be combined"),
    (
        cs.conv_problems,
        dict(specs=[cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3)], max_kernel_size=2),
        "outside the bound max_kernel_size=2",
    ),
    (cs.conv_problems, dict(specs=[]), "specs must not be empty"),
    (cs.conv_problems, dict(specs=1), "specs must be a SearchStrategy, a spec or a sequence"),
    (cs.conv_problems, dict(specs=[1]), "spec must be a ConvSpec"),
    (cs.conv_problems, dict(values=["halves"]), "values must be a non-empty sequence"),
    (cs.conv_problems, dict(dtype="int64", values=["wide"]), "values must be"),
    (cs.conv_problems, dict(large_sizes=1), "large_sizes must be True or False"),
    (
        cs.input_shapes,
        dict(spec=cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=1), large_sizes="yes"),
        "large_sizes must be True or False",
    ),
    (cs.conv_specs, dict(same_per_axis=None), "same_per_axis must be True or False"),
]


@pytest.mark.parametrize(("fn", "kwargs", "message"), BAD,
                         ids=[f"{f.__name__}-{k}" for f, k, _ in BAD])  # fmt: skip
def test_bad_arguments_raise_when_built(fn: Any, kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        fn(**kwargs)


def test_input_shapes_rejects_non_spec() -> None:
    with pytest.raises(InvalidArgument, match="spec must be a ConvSpec"):
        cs.input_shapes("conv")  # type: ignore[arg-type]


def test_positional_bounds_are_refused() -> None:
    with pytest.raises(TypeError):
        cs.conv_specs(2)  # type: ignore[misc]


# --------------------------------------------------------------------------------------
# st.from_type (the "hypothesis" entry point)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [cp.ConvSpec, cp.ConvTransposeSpec, cp.PoolSpec])
def test_from_type(cls: type) -> None:
    spec = minimal(st.from_type(cls))
    assert isinstance(spec, cls)
    assert spec.kernel_size == (1, 1)


@given(st.builds(lambda s: s, st.from_type(cp.ConvSpec)))
def test_from_type_draws_valid_specs(spec: cp.ConvSpec) -> None:
    assert spec.weight_shape[0] == spec.out_channels


# --------------------------------------------------------------------------------------
# issue 11: one value per axis, value kinds, sizes past the defaults, specs= with bounds
# --------------------------------------------------------------------------------------


@given(
    cs.conv_specs(ndim=3, same_per_axis=True, paddings=["int", "per_dim", "pairs"]),
    cs.conv_transpose_specs(ndim=2, same_per_axis=True, paddings=["per_dim", "pairs"]),
    cs.pool_specs(ndim=3, same_per_axis=True, paddings=["per_dim", "pairs"]),
)
def test_same_per_axis(conv: Any, tconv: Any, pool: Any) -> None:
    for spec in (conv, tconv, pool):
        for name in ("kernel_size", "stride", "dilation", "padding"):
            assert len(set(getattr(spec, name))) == 1, (name, spec)
    assert len(set(tconv.output_padding)) == 1


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@given(data=st.data())
def test_value_kinds_are_exact_and_bounded(dtype: str, data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(cs.VALUE_KINDS))
    problem = data.draw(cs.conv_problems(values=[kind], dtype=dtype, max_value=3))
    for a in (problem.x, problem.weight):
        assert a.dtype == dtype
        assert np.array_equal(a.astype(np.float32), a)  # exact in float32 (and float64)
        scaled = a.astype(np.float64) * {"integers": 1, "dyadic": 16, "wide": 2**20}[kind]
        assert np.array_equal(scaled, np.round(scaled))
        limit = 3 * (2**20 if kind == "wide" else 1)
        assert np.abs(a).max(initial=0) <= limit


def test_value_kinds_shrink_to_the_simplest_of_each() -> None:
    half = minimal(cs.conv_problems(values=["dyadic"], batch=False), lambda p: p.x.min() < 0)
    assert float(half.x.min()) == -0.5
    tiny = minimal(cs.conv_problems(values=["wide"], batch=False),
                   lambda p: 0 < abs(p.x).max() < 1)  # fmt: skip
    assert float(abs(tiny.x).max()) == 0.5
    big = minimal(cs.conv_problems(values=["integers", "wide"], batch=False),
                  lambda p: abs(p.x).max() > 3)  # fmt: skip
    assert float(abs(big.x).max()) == 4.0  # 1 * 2**2: wide is needed, with the smallest exponent


def test_large_sizes_shrink_to_the_smallest_failing_entry() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=1, ndim=2)
    shapes = cs.input_shapes(spec, batch=False, large_sizes=True)
    assert minimal(shapes) == (1, 1, 1)
    assert minimal(shapes, lambda s: s[-1] > 20) == (1, 1, 31)
    assert minimal(shapes, lambda s: s[1] > 8 and s[2] > 8) == (1, 9, 9)
    assert minimal(shapes, lambda s: s[2] >= 8) == (1, 1, 8)


@given(cs.conv_problems(ndim=3, large_sizes=True, max_channels=1, max_kernel_size=1,
                        max_padding=0, max_dilation=1))  # fmt: skip
def test_large_sizes_keep_the_cost_bounded(problem: Any) -> None:
    spatial = problem.input_shape[-3:]
    assert int(np.prod(spatial)) <= max(130 * 130, 4**3)
    assert max(spatial) <= 129


def test_specs_list_is_drawn_from() -> None:
    a = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, ndim=1)
    b = cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=1, groups=2, ndim=1)
    problems = cs.conv_problems(specs=[a, b], max_channels=2, ndim=1)
    assert minimal(problems).spec == a
    assert minimal(problems, lambda p: p.spec.groups == 2).spec == b
    assert minimal(cs.conv_problems(specs=b, batch=False)).input_shape == (2, 1)
    filtered = cs.conv_problems(specs=cs.conv_specs(ndim=1), max_kernel_size=1, groups=False)
    found = minimal(filtered, lambda p: p.spec.in_channels > 1)
    assert found.spec.kernel_size == (1,) and found.spec.groups == 1
    pool = cp.PoolSpec(kind="avg", kernel_size=2, ceil_mode=True, ndim=1)
    for bound, value in [("kinds", ["max"]), ("ceil_mode", False), ("max_stride", 1),
                         ("same_per_axis", True), ("count_include_pad", False)]:  # fmt: skip
        if bound == "same_per_axis":
            bad = cp.PoolSpec(kind="max", kernel_size=(1, 2))
            with pytest.raises(InvalidArgument, match="outside the bound same_per_axis"):
                cs.conv_problems(specs=[bad], same_per_axis=True)
            continue
        with pytest.raises(InvalidArgument, match=f"outside the bound {bound}="):
            cs.conv_problems(specs=[pool], **{bound: value})
    t = cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=1, stride=2,
                             output_padding=1, ndim=1)  # fmt: skip
    with pytest.raises(InvalidArgument, match="outside the bound output_padding=False"):
        cs.conv_problems(specs=[t], output_padding=False)
    with pytest.raises(InvalidArgument, match="outside the bound min_channels=2"):
        cs.conv_problems(specs=[a], min_channels=2)
    with pytest.raises(InvalidArgument, match="outside the bound padding_modes="):
        cs.conv_problems(specs=[a], padding_modes=["reflect"])
    with pytest.raises(InvalidArgument, match="outside the bound ndim=2"):
        cs.conv_problems(specs=[a], ndim=2)
    with pytest.raises(InvalidArgument, match="outside the bound max_padding=0"):
        cs.conv_problems(specs=[cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=1,
                                            padding=1, ndim=1)], max_padding=0)  # fmt: skip
