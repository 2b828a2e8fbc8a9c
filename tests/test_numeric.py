"""Tests of the fast numeric convolution against the loop reference, hand tables and PyTorch."""

from __future__ import annotations

import sys
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convproof as cp
from convproof.constructions import numeric
from convproof.testing import strategies as cs

try:
    from reference import reference
    from testsupport import kind_problems, load_benchmark
except ImportError:  # pragma: no cover - run from another rootdir
    from tests.reference import reference
    from tests.testsupport import kind_problems, load_benchmark


def _problems(kind: str, ndim: int, **kw: Any) -> st.SearchStrategy:
    return kind_problems(cs.conv_problems, kind, ndim, **kw)


# --------------------------------------------------------------------------------------
# against the loop reference (tests/reference.py)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["conv", "conv_transpose", "pool"])
@pytest.mark.parametrize("ndim", [1, 2, 3])
@given(data=st.data())
def test_matches_loop_reference(kind: str, ndim: int, data: st.DataObject) -> None:
    p = data.draw(_problems(kind, ndim, max_channels=3, max_extra_size=2))
    got = cp.conv(p.spec, p.x, p.weight, p.bias)
    expected = reference(p.spec, p.x, p.weight, p.bias)
    assert got.shape == expected.shape == p.spec.output_shape(p.input_shape)
    np.testing.assert_allclose(got, expected.astype(np.float64), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["conv", "conv_transpose", "pool"])
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_exact_object_arrays_match_reference(kind: str, data: st.DataObject) -> None:
    p = data.draw(_problems(kind, 2, dtype="object", max_channels=2, max_extra_size=1))
    x = p.x * Fraction(1, 3)  # rationals
    got = cp.conv(p.spec, x, p.weight, p.bias)
    expected = reference(p.spec, x, p.weight, p.bias)
    assert got.dtype == object
    assert got.tolist() == expected.tolist()  # exact equality


@pytest.mark.parametrize(
    "spec",
    [
        cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=2, padding=1, groups=2,
                    padding_mode="reflect"),
        cp.ConvTransposeSpec(in_channels=2, out_channels=2, kernel_size=2, stride=2,
                             output_padding=1),
        cp.PoolSpec(kind="avg", kernel_size=2, padding=1, ceil_mode=True),
        cp.PoolSpec(kind="max", kernel_size=2, stride=1, padding=1),
    ],
    ids=lambda s: type(s).__name__,
)  # fmt: skip
def test_sympy_symbols(spec: Any) -> None:
    x = np.array(sympy.symbols("x0:18"), dtype=object).reshape(2, 3, 3)
    weight = None if spec.layer == "pool" else np.array(
        sympy.symbols(f"w0:{int(np.prod(spec.weight_shape))}"), dtype=object
    ).reshape(spec.weight_shape)  # fmt: skip
    got = cp.conv(spec, x, weight)
    expected = reference(spec, x, weight)
    assert all(sympy.simplify(a - b) == 0 for a, b in zip(got.flat, expected.flat))


# --------------------------------------------------------------------------------------
# hand tables (SEMANTICS.md and the seeds)
# --------------------------------------------------------------------------------------


def test_seed_3x3_input_2x2_kernel() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False)
    x = np.array([[[1.0, 2, 3], [4, 5, 6], [7, 8, 9]]])
    w = np.array([[[[1.0, 0], [0, -1]]]])
    # out[a, b] = x[a, b] - x[a+1, b+1]
    assert cp.conv(spec, x, w).tolist() == [[[-4.0, -4.0], [-4.0, -4.0]]]


@pytest.mark.parametrize(
    ("mode", "padded"),
    [
        ("zeros", [0, 0, 1, 2, 3, 0, 0]),
        ("reflect", [3, 2, 1, 2, 3, 2, 1]),  # edge not repeated
        ("replicate", [1, 1, 1, 2, 3, 3, 3]),
        ("circular", [2, 3, 1, 2, 3, 1, 2]),
    ],
)
def test_padding_modes_by_hand(mode: str, padded: list[int]) -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=1, padding=2,
                       padding_mode=mode, bias=False, ndim=1)  # fmt: skip
    out = cp.conv(spec, np.array([[1, 2, 3]]), np.array([[[1]]]))
    assert out.tolist() == [padded]


def test_avg_pool_ceil_divisor_from_semantics() -> None:
    spec = cp.PoolSpec(kind="avg", kernel_size=2, stride=2, ceil_mode=True, ndim=1)
    assert cp.conv(spec, np.array([[1.0, 2, 3, 4, 5]])).tolist() == [[1.5, 3.5, 5.0]]


@pytest.mark.parametrize(
    ("count_include_pad", "expected"),
    # i=5, k=2, s=2, p=1, ceil -> 3 windows: [pad,1], [2,3], [4,5]
    [(True, [0.5, 2.5, 4.5]), (False, [1.0, 2.5, 4.5])],
)
def test_avg_pool_count_include_pad(count_include_pad: bool, expected: list[float]) -> None:
    spec = cp.PoolSpec(kind="avg", kernel_size=2, stride=2, padding=1, ceil_mode=True,
                       count_include_pad=count_include_pad, ndim=1)  # fmt: skip
    assert cp.conv(spec, np.array([[1.0, 2, 3, 4, 5]])).tolist() == [expected]


def test_avg_pool_ceil_overhang_not_counted_even_with_padding() -> None:
    # i=4, k=3, s=2, p=1, ceil: windows start at -1, 1, 3; the last covers 3, 4(pad), 5(overhang)
    spec = cp.PoolSpec(kind="avg", kernel_size=3, stride=2, padding=1, ceil_mode=True, ndim=1)
    out = cp.conv(spec, np.array([[3.0, 6, 9, 12]]))
    assert out.tolist() == [[9 / 3, 27 / 3, 12 / 2]]


def test_max_pool_pads_with_minus_infinity() -> None:
    spec = cp.PoolSpec(kind="max", kernel_size=2, stride=2, padding=1, ndim=1)
    assert cp.conv(spec, np.array([[-5.0, -6, -7]])).tolist() == [[-5.0, -6.0]]


@pytest.mark.torch
def test_max_pool_window_of_padding_only_is_minus_inf(torch: Any) -> None:
    # k=2, d=3, p=1 on 2 inputs: the single window reads positions -1 and 2 (both padding);
    # PyTorch returns -inf there too (not in SEMANTICS.md)
    spec = cp.PoolSpec(kind="max", kernel_size=2, stride=1, padding=1, dilation=3, ndim=1)
    x = np.array([[1.0, 2.0]])
    ours = cp.conv(spec, x)
    theirs = torch.nn.functional.max_pool1d(
        torch.from_numpy(x[None]), 2, stride=1, padding=1, dilation=3
    ).numpy()[0]
    assert ours.tolist() == theirs.tolist() == [[-np.inf]]


def test_avg_pool_with_dilation_is_refused() -> None:
    # PyTorch's AvgPool has no dilation (a window of padding alone would be 0 / 0)
    with pytest.raises(cp.ConvProofError, match=r"dilation must be 1 for average pooling"):
        cp.PoolSpec(kind="avg", kernel_size=2, stride=1, padding=1, dilation=3,
                    count_include_pad=False, ndim=1)  # fmt: skip


def test_transposed_conv_by_hand() -> None:
    # stride 2 scatters x[i] * w at 2i; padding 1 crops one element each side;
    # output_padding 1 adds one element at the end
    spec = cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=3, stride=2,
                                padding=1, output_padding=1, bias=False, ndim=1)  # fmt: skip
    out = cp.conv(spec, np.array([[1, 10]]), np.array([[[1, 2, 3]]]))
    # full: [1, 2, 3+10, 20, 30] -> crop 1 at start, length (2-1)*2 - 2 + 2 + 1 + 1 = 4
    assert out.tolist() == [[2, 13, 20, 30]]


# --------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------


@given(cs.conv_problems(kind="conv", paddings=["int", "pairs"], dtype="int64", batch=False),
       st.data())  # fmt: skip
def test_transposed_conv_is_the_adjoint(p: cs.ConvProblem, data: st.DataObject) -> None:
    spec = p.spec
    pads = spec.resolve_padding(p.input_shape)
    i = p.input_shape[1:]
    k_eff = spec.effective_kernel_size
    op = tuple((n + a + b - e) % s for n, (a, b), e, s in zip(i, pads, k_eff, spec.stride))
    tspec = cp.ConvTransposeSpec(
        in_channels=spec.out_channels, out_channels=spec.in_channels,
        kernel_size=spec.kernel_size, stride=spec.stride, padding=pads, output_padding=op,
        dilation=spec.dilation, groups=spec.groups, bias=False,
    )  # fmt: skip
    y_shape = spec.output_shape(p.input_shape)
    y = np.array(
        data.draw(
            st.lists(
                st.integers(-3, 3), min_size=int(np.prod(y_shape)), max_size=int(np.prod(y_shape))
            )
        )
    ).reshape(y_shape)
    zeros_spec = cp.ConvSpec(
        in_channels=spec.in_channels, out_channels=spec.out_channels,
        kernel_size=spec.kernel_size, stride=spec.stride, padding=pads,
        dilation=spec.dilation, groups=spec.groups, bias=False,
    )  # fmt: skip
    forward = cp.conv(zeros_spec, p.x, p.weight)
    back = cp.conv(tspec, y, p.weight)
    assert back.shape == p.input_shape
    assert int((forward * y).sum()) == int((p.x * back).sum())


@given(_problems("conv", 2, batch=True, max_batch=3))
def test_batched_is_stack_of_unbatched(p: cs.ConvProblem) -> None:
    batched = cp.conv(p.spec, p.x, p.weight, p.bias)
    singles = np.stack([cp.conv(p.spec, xi, p.weight, p.bias) for xi in p.x])
    np.testing.assert_array_equal(batched, singles)


@pytest.mark.parametrize("kind", ["conv", "conv_transpose", "pool"])
@given(data=st.data())
def test_float32_keeps_dtype(kind: str, data: st.DataObject) -> None:
    p = data.draw(_problems(kind, 2, dtype="float32"))
    got = cp.conv(p.spec, p.x, p.weight, p.bias)
    assert got.dtype == np.float32
    as64 = [None if a is None else a.astype(np.float64) for a in (p.x, p.weight, p.bias)]
    np.testing.assert_allclose(got, cp.conv(p.spec, *as64), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("kind", ["conv", "conv_transpose"])
@given(data=st.data())
def test_integer_arrays_stay_integer(kind: str, data: st.DataObject) -> None:
    p = data.draw(_problems(kind, 2, dtype="int64"))
    got = cp.conv(p.spec, p.x, p.weight, p.bias)
    assert got.dtype == np.int64
    assert got.tolist() == reference(p.spec, p.x, p.weight, p.bias).astype(np.int64).tolist()


def test_depthwise_and_grouped_paths_agree_with_reference(rng: np.random.Generator) -> None:
    for g, c_in, c_out in [(4, 4, 4), (4, 4, 8), (2, 4, 6), (1, 3, 5)]:
        spec = cp.ConvSpec(in_channels=c_in, out_channels=c_out, kernel_size=3, padding=1,
                           groups=g, dilation=(1, 2))  # fmt: skip
        x = rng.standard_normal((2, c_in, 7, 6))
        w = rng.standard_normal(spec.weight_shape)
        b = rng.standard_normal(c_out)
        np.testing.assert_allclose(cp.conv(spec, x, w, b), reference(spec, x, w, b), atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_wide_route_blocks_agree_with_reference(dtype: str, data: st.DataObject) -> None:
    """The stride-1 im2col in column blocks: block edges (a ragged last block) lose nothing."""

    g = data.draw(st.sampled_from([1, 2]), label="groups")
    cin_g = data.draw(st.integers(2, 3), label="cin_g")
    spec = cp.ConvSpec(
        in_channels=g * cin_g,
        out_channels=g * data.draw(st.integers(1, 3), label="cout_g"),
        kernel_size=data.draw(st.tuples(st.integers(1, 3), st.integers(1, 3)), label="k"),
        dilation=data.draw(st.tuples(st.integers(1, 2), st.integers(1, 2)), label="d"),
        padding=data.draw(st.sampled_from([0, 1, "same"]), label="padding"),
        padding_mode=data.draw(st.sampled_from(["zeros", "circular", "reflect", "replicate"])),
        groups=g,
        bias=True,
    )
    n = data.draw(st.integers(1, 3), label="batch")
    shape = (n, spec.in_channels, *data.draw(st.tuples(st.integers(5, 11), st.integers(5, 11))))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal(spec.weight_shape).astype(dtype)
    b = rng.standard_normal(spec.out_channels).astype(dtype)
    expected = reference(spec, x.astype(np.float64), w.astype(np.float64), b.astype(np.float64))
    tiny = numeric._Tuning(chunk_bytes=1, chunk_min=7)  # blocks of 7 columns: many per call
    got = numeric._evaluate(spec, x, w, b, tuning=tiny)
    assert got.dtype == np.dtype(dtype)
    tol = 1e-4 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * 10)
    np.testing.assert_allclose(cp.conv(spec, x, w, b), got, rtol=tol, atol=tol * 10)


def test_scratch_reuse_never_leaks_between_calls(rng: np.random.Generator) -> None:
    """Work arrays are reused between calls: results stay independent, borders stay zero.

    A call with ``circular`` padding leaves non-zero values where the next ``zeros`` call
    expects its border; a kernel-1, unpadded call would hand back its scratch array if the
    result were not copied out.
    """
    c = 3
    modes = ["circular", "zeros", "reflect", "zeros"]
    specs = [
        cp.ConvSpec(in_channels=c, out_channels=2, kernel_size=3, padding=2, padding_mode=m)
        for m in modes
    ]
    depthwise = cp.ConvSpec(in_channels=c, out_channels=c, kernel_size=3, padding=2,
                            groups=c, bias=False)  # fmt: skip
    x = rng.standard_normal((2, c, 6, 7)) * 100
    for spec in [*specs, depthwise, specs[1]]:
        w = rng.standard_normal(spec.weight_shape)
        np.testing.assert_allclose(cp.conv(spec, x, w), reference(spec, x, w), atol=1e-9)
    one = cp.ConvSpec(in_channels=c, out_channels=c, kernel_size=1, bias=False)
    w1 = rng.standard_normal(one.weight_shape)
    first = cp.conv(one, x[:1], w1)  # batch 1: the transposed work array is contiguous
    kept = first.copy()
    second = cp.conv(one, 2 * x[:1], w1)
    assert not np.shares_memory(first, second)
    np.testing.assert_array_equal(first, kept)
    np.testing.assert_allclose(second, 2 * kept, rtol=1e-12)


def test_threads_each_get_their_own_scratch(rng: np.random.Generator) -> None:
    """Concurrent calls from several threads (NumPy releases the GIL) give correct results."""
    from concurrent.futures import ThreadPoolExecutor

    spec = cp.ConvSpec(in_channels=4, out_channels=4, kernel_size=3, padding=1, bias=False)
    xs = [rng.standard_normal((2, 4, 20 + i, 20)) for i in range(4)]
    w = rng.standard_normal(spec.weight_shape)
    expected = [reference(spec, x, w) for x in xs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(5):
            results = list(pool.map(lambda x: cp.conv(spec, x, w), xs * 4))
            for i, got in enumerate(results):
                np.testing.assert_allclose(got, expected[i % 4], atol=1e-9)


def test_plan_cache_keeps_shapes_apart_and_still_rejects(rng: np.random.Generator) -> None:
    """The per-(spec, shape) plan cache: a bad shape after good ones still raises."""
    spec = cp.ConvSpec(in_channels=2, out_channels=1, kernel_size=3, padding="same", bias=False)
    w = rng.standard_normal(spec.weight_shape)
    for shape in [(2, 5, 5), (1, 2, 5, 5), (2, 7, 4), (3, 2, 4, 9), (2, 5, 5)]:
        x = rng.standard_normal(shape)
        got = cp.conv(spec, x, w)
        assert got.shape == spec.output_shape(shape)
        np.testing.assert_allclose(got, reference(spec, x, w), atol=1e-12)
    with pytest.raises(cp.ConvProofError, match="x"):
        cp.conv(spec, np.zeros((3, 5, 5)), w)  # wrong channel count, same spec
    with pytest.raises(cp.ConvProofError, match="x"):
        cp.conv(spec, np.zeros((3, 5, 5)), w)  # and again: errors are never cached


def test_empty_batch() -> None:
    spec = cp.ConvSpec(in_channels=2, out_channels=3, kernel_size=3)
    out = cp.conv(spec, np.zeros((0, 2, 5, 5)), np.zeros((3, 2, 3, 3)))
    assert out.shape == (0, 3, 3, 3)


# --------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------

_CONV = cp.ConvSpec(in_channels=2, out_channels=3, kernel_size=3, bias=True)
_NOBIAS = cp.ConvSpec(in_channels=2, out_channels=3, kernel_size=3, bias=False)
_POOL = cp.PoolSpec(kind="max", kernel_size=2)
_X = np.zeros((2, 5, 5))
_W = np.zeros((3, 2, 3, 3))

BAD = [
    (_CONV, _X, None, None, "weight is required"),
    (_CONV, _X, np.zeros((3, 2, 2, 2)), None, r"weight must have shape \(3, 2, 3, 3\)"),
    (_CONV, _X, _W, np.zeros(2), r"bias must have shape \(3,\)"),
    (_NOBIAS, _X, _W, np.zeros(3), "bias must be None for a layer without bias"),
    (_CONV, np.zeros((5, 5)), _W, None, r"x must have shape \(C, \*spatial\)"),
    (_CONV, np.zeros((3, 5, 5)), _W, None, "input_shape has 3 channels"),
    (_CONV, np.zeros((2, 2, 2)), _W, None, "output would be empty"),
    (_CONV, np.array(["a"] * 50).reshape(2, 5, 5), _W, None, "x must hold numbers"),
    (_POOL, _X, _W, None, "weight and bias must be None for pooling"),
    ("conv", _X, _W, None, "spec must be a ConvSpec"),
    (cp.ConvSpec(in_channels=2, out_channels=3, kernel_size=3, padding=2,
                 padding_mode="reflect"), _X[:, :2], _W, None, "reflect"),
]  # fmt: skip


@pytest.mark.parametrize(("spec", "x", "weight", "bias", "message"), BAD,
                         ids=[m for *_, m in BAD])  # fmt: skip
def test_bad_input(spec: Any, x: Any, weight: Any, bias: Any, message: str) -> None:
    with pytest.raises(cp.ConvProofError, match=message):
        cp.conv(spec, x, weight, bias)


# --------------------------------------------------------------------------------------
# PyTorch: >= 1000 generated problems across all features
# --------------------------------------------------------------------------------------

_TORCH_EXAMPLES = {"conv": 400, "conv_transpose": 350, "pool": 350}


@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.parametrize("kind", ["conv", "conv_transpose", "pool"])
def test_agrees_with_torch(kind: str, torch: Any) -> None:
    from convproof.testing.oracles import torch_reference

    ran = [0]
    ndims = st.sampled_from([1, 2, 3])

    @settings(max_examples=_TORCH_EXAMPLES[kind], deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(ndims.flatmap(lambda n: _problems(kind, n, max_channels=4, max_extra_size=3)))
    def run(p: cs.ConvProblem) -> None:
        if kind == "pool" and any(
            max(pair) > k // 2
            for pair, k in zip(p.spec.resolve_padding(p.input_shape), p.spec.kernel_size)
        ):
            return  # a named padding resolved beyond PyTorch's limit (kernel_size // 2)
        try:
            expected = torch_reference(p.spec, p.x, p.weight, p.bias)
        except NotImplementedError:  # e.g. asymmetric pooling padding: nothing to compare
            return
        got = cp.conv(p.spec, p.x, p.weight, p.bias)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
        ran[0] += 1

    run()
    # most problems are expressible in PyTorch: the comparison really ran
    assert ran[0] >= 0.6 * _TORCH_EXAMPLES[kind]


# --------------------------------------------------------------------------------------
# benchmark smoke test (the benchmark itself is not run by the tests)
# --------------------------------------------------------------------------------------


@pytest.mark.torch
def test_benchmark_smoke(torch: Any) -> None:
    bench = load_benchmark("bench_numeric")
    for order in ("blocked", "interleaved"):
        results = bench.run_conv_suite(
            bench.TINY_CASES, repeat=2, threads=1, verbose=False, order=order
        )
        assert set(results) == {"float32", "float64"}
        assert all(row["ratio"] > 0 for rows in results.values() for row in rows)
    assert bench.run_check_rate(max_examples=5, verbose=False) > 0


def test_conv_estimates_its_work_arrays_and_refuses_above_max_bytes() -> None:
    numeric_mod = sys.modules[cp.conv.__module__]  # wherever the module lives

    spec = cp.ConvSpec(in_channels=3, out_channels=8, kernel_size=3, padding=1)
    x, w = np.ones((2, 3, 16, 16)), np.ones(spec.weight_shape)
    # by hand: padded 2*3*18*18 + im2col 2*3*9*16*16 + output 2*8*16*16, float64
    need = (2 * 3 * 18 * 18 + 2 * 3 * 9 * 256 + 2 * 8 * 256) * 8
    assert numeric_mod._work_bytes(spec, x.shape, 8) == need == 158912
    assert cp.conv(spec, x, w, max_bytes=need).shape == (2, 8, 16, 16)
    with pytest.raises(cp.MemoryLimitError, match=r"155\.2 KiB .* max_bytes=158911 ") as e:
        cp.conv(spec, x, w, max_bytes=need - 1)
    assert "pass a larger max_bytes=" in str(e.value)
    # transposed, by hand: padded 2*16, products 3*9*16 + scatter buffer 3*18*18, output 3*9*9
    up = cp.ConvTransposeSpec(in_channels=2, out_channels=3, kernel_size=3, stride=2)
    assert numeric_mod._work_bytes(up, (1, 2, 4, 4), 8) == (32 + 432 + 972 + 243) * 8
    # the default limit refuses before allocating anything of the 11 GiB
    big = cp.ConvSpec(in_channels=512, out_channels=512, kernel_size=3, padding=1)
    x_big = np.broadcast_to(np.float32(0), (512, 512, 512))  # no memory behind it
    with pytest.raises(cp.MemoryLimitError, match="GiB of work arrays"):
        cp.conv(big, x_big, np.broadcast_to(np.float32(0), big.weight_shape))


def test_scratch_pool_is_bounded_and_clearable() -> None:
    numeric.clear_scratch()
    assert numeric.clear_scratch() == 0
    spec = cp.ConvSpec(in_channels=4, out_channels=4, kernel_size=3, padding=1)
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 4, 12, 12)), rng.standard_normal(spec.weight_shape)
    expected = reference(spec, x, w, None)
    np.testing.assert_allclose(cp.conv(spec, x, w), expected, atol=1e-10)
    held = numeric.clear_scratch()
    assert 0 < held <= len(numeric._ROLES) * numeric.SCRATCH_MAX
    assert numeric.clear_scratch() == 0
    # after clearing, results are still right (fresh buffers) and the pool refills
    np.testing.assert_allclose(cp.conv(spec, x, w), expected, atol=1e-10)
    assert numeric.clear_scratch() == held
    # an array larger than SCRATCH_MAX is never kept
    big = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=1, ndim=1)
    n = numeric.SCRATCH_MAX // 8 + 1
    cp.conv(big, np.ones((1, n)), np.ones((1, 1, 1)))
    assert numeric.clear_scratch() < numeric.SCRATCH_MAX


def test_tuning_is_frozen_and_routes_agree() -> None:
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        numeric._TUNING.wide = False  # type: ignore[misc]
    spec = cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=3, padding=1, groups=2)
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((2, 6, 7)), rng.standard_normal(spec.weight_shape)
    narrow = numeric._evaluate(spec, x, w, None, tuning=numeric._Tuning(wide=False))
    np.testing.assert_allclose(narrow, reference(spec, x, w, None), atol=1e-10)
    np.testing.assert_allclose(cp.conv(spec, x, w), narrow, atol=1e-10)


def test_backward_plan_cache_is_read_only() -> None:
    from convproof.constructions import backward_plan as backward

    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=1, ndim=1,
                       padding_mode="reflect")  # fmt: skip
    plan = backward._get_plan(spec, (1, 5))
    with pytest.raises(ValueError, match="read-only"):
        plan.axes[0].fold[0] = 7
