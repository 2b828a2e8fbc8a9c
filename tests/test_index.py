"""Per-axis index patterns: padding-mode mapping against np.pad, windows, pooling divisors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import convproof as cp
from convproof.constructions.index import AxisPattern, axis_pattern, axis_patterns, map_positions

# PyTorch padding modes and their NumPy np.pad names (SEMANTICS.md)
_NUMPY_MODE = {"circular": "wrap", "reflect": "reflect", "replicate": "edge"}


@pytest.mark.parametrize("mode", ["zeros", "circular", "reflect", "replicate"])
@pytest.mark.parametrize("n", range(1, 7))
def test_map_positions_matches_np_pad(mode: str, n: int) -> None:
    limit = {"reflect": n - 1, "circular": n}.get(mode, 2 * n)  # PyTorch's padding limits
    for p in range(0, limit + 1):
        t = np.arange(-p, n + p)
        if mode == "zeros":
            expected = np.pad(np.arange(n), p, mode="constant", constant_values=-1)
        else:
            expected = np.pad(np.arange(n), p, mode=_NUMPY_MODE[mode])  # type: ignore[call-overload]
        np.testing.assert_array_equal(map_positions(t, n, mode), expected)


def test_axis_pattern_is_the_formula() -> None:
    o, n, k, s, d, pl, pr = 4, 9, 3, 2, 2, 2, 1
    p = axis_pattern(o, n, k, s, d, (pl, pr))
    assert p.index.shape == p.position.shape == (o, k)
    for a in range(o):
        for u in range(k):
            t = a * s + u * d - pl
            assert p.position[a, u] == t
            assert p.index[a, u] == (t if 0 <= t < n else -1)
    assert p.valid.dtype == bool
    assert p.divisor is None


def test_axis_pattern_overhang_is_never_read() -> None:
    # coordinates beyond the right padding (a ceil-mode overhang) read nothing, even with
    # a mode that would otherwise wrap
    p = axis_pattern(2, 3, 3, stride=2, padding=(0, 0), mode="circular")
    assert p.index.tolist() == [[0, 1, 2], [2, -1, -1]]


def test_selection_matrices_sum_to_the_banded_matrix() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=1, ndim=1)
    (p,) = axis_patterns(spec, (1, 4))
    total = sum((u + 1) * p.selection(u) for u in range(3))
    expected = np.array([[2, 3, 0, 0], [1, 2, 3, 0], [0, 1, 2, 3], [0, 0, 1, 2]])
    np.testing.assert_array_equal(total, expected)
    with pytest.raises(cp.ConvProofError, match=r"tap must be in \[0, 3\), got tap=3"):
        p.selection(3)


@pytest.mark.parametrize(
    "mode, expected",
    [("zeros", [2, 3, 2]), ("circular", [3, 3, 3]), ("reflect", [2, 3, 2]),
     ("replicate", [2, 3, 2])],
)  # fmt: skip
def test_distinct_counts(mode: str, expected: list[int]) -> None:
    p = axis_pattern(3, 3, 3, padding=(1, 1), mode=mode)
    assert p.distinct_counts().tolist() == expected


def test_axis_patterns_conv_uses_resolved_padding_and_mode() -> None:
    spec = cp.ConvSpec(
        in_channels=1, out_channels=1, kernel_size=(3, 2), padding="same",
        padding_mode="replicate",
    )  # fmt: skip
    p0, p1 = axis_patterns(spec, (2, 1, 4, 5))  # batched shape: the batch is ignored
    assert (p0.out_size, p0.in_size, p0.padding, p0.mode) == (4, 4, (1, 1), "replicate")
    assert (p1.out_size, p1.in_size, p1.padding) == (5, 5, (0, 1))
    assert p1.index[-1].tolist() == [4, 4]


def test_axis_patterns_transposed_describe_the_forward_conv() -> None:
    spec = cp.ConvTransposeSpec(
        in_channels=1, out_channels=1, kernel_size=3, stride=2, padding=1, output_padding=1,
        ndim=1,
    )  # fmt: skip
    (p,) = axis_patterns(spec, (1, 3))
    assert (p.out_size, p.in_size) == (3, 6)  # transposed input 3 -> output 6
    assert p.index.tolist() == [[-1, 0, 1], [1, 2, 3], [3, 4, 5]]


@pytest.mark.parametrize(
    "kw, n, include, exclude",
    [
        # SEMANTICS.md: [1,2,3,4,5], k=2, s=2, ceil -> [1.5, 3.5, 5.0]: divisors 2, 2, 1
        ({"kernel_size": 2, "ceil_mode": True}, 5, [2, 2, 1], [2, 2, 1]),
        # explicit padding counts with count_include_pad, real elements only without
        ({"kernel_size": 3, "stride": 1, "padding": 1}, 4, [3, 3, 3, 3], [2, 3, 3, 2]),
        # i=5, k=2, s=2, p=1, ceil -> 3 windows [-1,0], [1,2], [3,4]
        ({"kernel_size": 2, "padding": 1, "ceil_mode": True}, 5, [2, 2, 2], [1, 2, 2]),
        # i=6, k=3, s=2, p=1, ceil -> last window [5, 6, 7]: 6 is padding, 7 the overhang
        ({"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, 6,
         [3, 3, 3, 2], [2, 3, 3, 1]),
    ],
)  # fmt: skip
def test_avg_pool_divisors(
    kw: dict[str, Any], n: int, include: list[int], exclude: list[int]
) -> None:
    for flag, expected in ((True, include), (False, exclude)):
        pool = cp.PoolSpec(kind="avg", count_include_pad=flag, ndim=1, **kw)
        (p,) = axis_patterns(pool, (1, n))
        assert p.divisor is not None
        assert p.divisor.tolist() == expected


@pytest.mark.torch
def test_avg_pool_divisors_match_torch(torch: Any) -> None:
    # the divisor is what torch divides a window of ones by
    import torch.nn.functional as F

    cases = [
        (n, k, s, pad, ceil, inc)
        for n in range(2, 8)
        for k in (2, 3)
        for s in (1, 2, 3)
        for pad in range(k // 2 + 1)
        for ceil in (False, True)
        for inc in (False, True)
        if n + 2 * pad >= k
    ]
    for n, k, s, pad, ceil, inc in cases:
        pool = cp.PoolSpec(
            kind="avg", kernel_size=k, stride=s, padding=pad, ceil_mode=ceil,
            count_include_pad=inc, ndim=1,
        )  # fmt: skip
        (p,) = axis_patterns(pool, (1, n))
        assert p.divisor is not None
        ones = torch.ones(1, 1, n, dtype=torch.float64)
        y = F.avg_pool1d(ones, k, s, pad, ceil, inc)[0, 0].numpy()
        real = np.count_nonzero(p.valid, axis=1)
        np.testing.assert_allclose(y, real / p.divisor, rtol=1e-15)


def test_max_pool_pattern_has_no_divisor() -> None:
    (p,) = axis_patterns(cp.PoolSpec(kind="max", kernel_size=2, padding=1, ndim=1), (1, 3))
    assert isinstance(p, AxisPattern)
    assert p.divisor is None
    assert p.index.tolist() == [[-1, 0], [1, 2]]


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: map_positions(np.arange(3), 3, "wrap"), r"mode must be one of .*got mode='wrap'"),
        (lambda: map_positions(np.arange(3), 0), r"size must be >= 1, got size=0"),
        (lambda: axis_pattern(-1, 3, 3), r"out_size must be >= 0, got out_size=-1"),
        (lambda: axis_pattern(2, 3, 0), r"kernel_size must be >= 1, got kernel_size=0"),
        (lambda: axis_patterns(cp.ConvSpec(in_channels=2, out_channels=1, kernel_size=3),
                               (1, 5, 5)), "input_shape has 1 channels"),
    ],
)  # fmt: skip
def test_bad_input(call: Any, match: str) -> None:
    with pytest.raises(cp.ConvProofError, match=match):
        call()


def test_index_rules_on_arrays_and_symbols() -> None:
    """The one index rule, checked against hand-worked values and used by the patterns."""
    import sympy

    from convproof.constructions.index import group_input_start, scatter_target, tap_source

    a, u = np.arange(4)[:, None], np.arange(3)[None, :]
    # stride 2, dilation 3, padding 1: window a starts at 2a - 1, taps 3 apart
    expected = np.array([[-1, 2, 5], [1, 4, 7], [3, 6, 9], [5, 8, 11]])
    np.testing.assert_array_equal(tap_source(a, u, stride=2, dilation=3, pad_before=1), expected)
    np.testing.assert_array_equal(
        scatter_target(a, u, stride=2, dilation=3, pad_before=1), expected
    )
    p = axis_pattern(4, 12, 3, stride=2, dilation=3, padding=(1, 0))
    np.testing.assert_array_equal(p.position, expected)
    # groups: 6 output channels in 3 groups of 2, each reading 4 input channels
    np.testing.assert_array_equal(
        group_input_start(np.arange(6), out_per_group=2, in_per_group=4), [0, 0, 4, 4, 8, 8]
    )
    s, d, q = sympy.symbols("s d q", integer=True, positive=True)
    x = sympy.Symbol("x", integer=True, nonnegative=True)
    assert tap_source(x, 2, stride=s, dilation=d, pad_before=q) == x * s + 2 * d - q
    assert group_input_start(x, out_per_group=s, in_per_group=d) == d * sympy.floor(x / s)


def test_patterns_read_the_rule_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """axis_pattern looks the rules up when called: a planted rule changes the patterns
    (and so the matrices; tests/test_general_soundness.py plants each wrong rule)."""
    from convproof.constructions import index

    monkeypatch.setattr(
        index, "tap_source", lambda a, u, *, stride, dilation, pad_before: a * stride + u
    )
    p = axis_pattern(2, 9, 3, stride=2, dilation=3)
    assert p.position.tolist() == [[0, 1, 2], [2, 3, 4]]
    spec = cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=3, dilation=3, ndim=1)
    (t,) = axis_patterns(spec, (1, 2))  # the transposed pattern uses scatter_target
    assert t.position.tolist() == [[0, 3, 6], [1, 4, 7]]
