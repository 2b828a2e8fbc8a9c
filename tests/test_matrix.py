"""conv_matrix against the loop reference, PyTorch, hand tables and its own structure claims."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.sparse
import sympy
from hypothesis import assume, given
from hypothesis import strategies as st

import convproof as cp
from convproof.constructions import structure as cps

try:
    from reference import reference
    from testsupport import load_benchmark
except ImportError:  # pragma: no cover - when tests/ is not on sys.path
    from tests.reference import reference
    from tests.testsupport import load_benchmark

# --------------------------------------------------------------------------------------
# seeded random specs (rejection sampling: only specs the spec classes accept)
# --------------------------------------------------------------------------------------

N_SPECS = 300
CHUNKS = 10


def _ints(rng: np.random.Generator, lo: int, hi: int, n: int) -> tuple[int, ...]:
    return tuple(int(v) for v in rng.integers(lo, hi + 1, n))


def _padding(rng: np.random.Generator, nd: int, names: tuple[str, ...], most: int) -> Any:
    style = rng.integers(0, 4)
    if style == 0:
        return int(rng.integers(0, most + 1))
    if style == 1:
        return _ints(rng, 0, most, nd)
    if style == 2:
        return tuple(_ints(rng, 0, most, 2) for _ in range(nd))
    return str(rng.choice(names))


def _random_conv(rng: np.random.Generator) -> tuple[cp.ConvSpec, tuple[int, ...]]:
    nd = int(rng.integers(1, 4))
    g = int(rng.choice([1, 1, 2, 3]))
    kw: dict[str, Any] = {
        "in_channels": g * int(rng.integers(1, 3)),
        "out_channels": g * int(rng.integers(1, 3)),
        "kernel_size": _ints(rng, 1, 3 if nd == 3 else 4, nd),
        "stride": _ints(rng, 1, 3, nd),
        "dilation": _ints(rng, 1, 2, nd),
        "padding": _padding(rng, nd, ("valid", "same", "full", "SAME_UPPER", "SAME_LOWER"), 2),
        "groups": g,
        "bias": bool(rng.random() < 0.7),
        "padding_mode": str(rng.choice(["zeros", "circular", "reflect", "replicate"])),
        "ndim": nd,
    }
    if kw["padding"] == "same":
        kw["stride"] = 1
    spec = cp.ConvSpec(**kw)
    shape = (spec.in_channels, *_ints(rng, 1, 5 if nd == 3 else 7, nd))
    spec.output_shape(shape)
    return spec, shape


def _random_conv_transpose(
    rng: np.random.Generator,
) -> tuple[cp.ConvTransposeSpec, tuple[int, ...]]:
    nd = int(rng.integers(1, 4))
    g = int(rng.choice([1, 1, 2]))
    stride = _ints(rng, 1, 3, nd)
    dilation = _ints(rng, 1, 2, nd)
    spec = cp.ConvTransposeSpec(
        in_channels=g * int(rng.integers(1, 3)),
        out_channels=g * int(rng.integers(1, 3)),
        kernel_size=_ints(rng, 1, 3, nd),
        stride=stride,
        dilation=dilation,
        padding=_padding(rng, nd, ("valid", "SAME_UPPER", "SAME_LOWER"), 2),
        output_padding=tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation)),
        groups=g,
        bias=bool(rng.random() < 0.7),
        ndim=nd,
    )
    shape = (spec.in_channels, *_ints(rng, 1, 3 if nd == 3 else 5, nd))
    spec.output_shape(shape)
    return spec, shape


def _random_avg_pool(
    rng: np.random.Generator, torch_compatible: bool = False
) -> tuple[cp.PoolSpec, tuple[int, ...]]:
    nd = int(rng.integers(1, 4))
    k = _ints(rng, 1, 3, nd)
    if torch_compatible or rng.random() < 0.5:
        padding: Any = tuple(int(rng.integers(0, kk // 2 + 1)) for kk in k)
    elif rng.random() < 0.5:
        padding = tuple(
            (int(rng.integers(0, kk // 2 + 1)), int(rng.integers(0, kk // 2 + 1))) for kk in k
        )
    else:
        padding = str(rng.choice(["valid", "SAME_UPPER", "SAME_LOWER"]))
    spec = cp.PoolSpec(
        kind="avg",
        kernel_size=k,
        stride=None if rng.random() < 0.3 else _ints(rng, 1, 3, nd),
        padding=padding,
        dilation=1 if torch_compatible or rng.random() < 0.7 else _ints(rng, 1, 2, nd),
        ceil_mode=bool(rng.random() < 0.5),
        count_include_pad=bool(rng.random() < 0.5),
        ndim=nd,
    )
    shape = (int(rng.integers(1, 3)), *_ints(rng, 1, 4 if nd == 3 else 6, nd))
    spec.output_shape(shape)
    if torch_compatible and any(pl != pr for pl, pr in spec.resolve_padding(shape)):
        raise cp.ConvProofError("asymmetric")  # torch pools pad symmetrically: draw again
    if not spec.count_include_pad and any(d > 1 for d in spec.dilation):
        _check_nonempty_windows(spec, shape)
    return spec, shape


def _check_nonempty_windows(spec: cp.PoolSpec, shape: tuple[int, ...]) -> None:
    """Reject dilated average pools with a window of padding only (0/0; draw again)."""
    pads = spec.resolve_padding(shape)
    for ax, (n, o) in enumerate(zip(shape[1:], spec.output_shape(shape)[1:])):
        for a in range(o):
            taps = (a * spec.stride[ax] + u * spec.dilation[ax] - pads[ax][0]
                    for u in range(spec.kernel_size[ax]))  # fmt: skip
            if not any(0 <= t < n for t in taps):
                raise cp.ConvProofError("empty window")


_GENERATORS: dict[str, Callable[..., Any]] = {
    "conv": _random_conv,
    "conv_transpose": _random_conv_transpose,
    "avg_pool": _random_avg_pool,
    "avg_pool_torch": lambda rng: _random_avg_pool(rng, torch_compatible=True),
}


def _specs(kind: str, seed: int, count: int) -> list[tuple[Any, tuple[int, ...]]]:
    rng = np.random.default_rng(seed)
    out: list[tuple[Any, tuple[int, ...]]] = []
    while len(out) < count:
        try:
            out.append(_GENERATORS[kind](rng))
        except cp.ConvProofError:
            continue
    return out


def _problem(spec: Any, shape: tuple[int, ...], rng: np.random.Generator) -> tuple[Any, ...]:
    x = rng.standard_normal(shape)
    w = None if spec.weight_shape is None else rng.standard_normal(spec.weight_shape)
    b = rng.standard_normal(spec.out_channels) if spec.bias else None
    return x, w, b


def _apply(spec: Any, shape: tuple[int, ...], x: Any, w: Any, b: Any) -> np.ndarray:
    if w is None:
        t = cp.conv_matrix(spec, shape, dtype=np.float64)
    else:
        t = cp.conv_matrix(spec, shape, w)
    assert isinstance(t, scipy.sparse.csr_array)
    z = t @ x.ravel()
    if b is not None:
        z = z + cp.bias_vector(spec, shape, b)
    return z


def _reference_or_none(spec: Any, x: Any, w: Any, b: Any) -> np.ndarray | None:
    try:
        return reference(spec, x, w, b)
    except ZeroDivisionError:  # an average window with nothing to count (dilated pooling)
        return None


# --------------------------------------------------------------------------------------
# T @ x == the loop reference / PyTorch, 300 specs per kind
# --------------------------------------------------------------------------------------


def test_random_spec_counts() -> None:
    for kind in ("conv", "conv_transpose", "avg_pool", "avg_pool_torch"):
        specs = [s for c in range(CHUNKS) for s in _specs(kind, c, N_SPECS // CHUNKS)]
        assert len(specs) >= 300
        assert len({(s, sh) for s, sh in specs}) > 250  # genuinely different problems


def _assert_applies(
    spec: Any, shape: Any, x: Any, w: Any, b: Any, expected: Any, rtol: float
) -> None:
    """The matrix route applied to ``x`` equals ``expected`` (atol 1e-12)."""
    np.testing.assert_allclose(
        _apply(spec, shape, x, w, b), expected.ravel(), rtol=rtol, atol=1e-12,
        err_msg=f"{spec} on {shape}",
    )  # fmt: skip


@pytest.mark.parametrize("chunk", range(CHUNKS))
@pytest.mark.parametrize("kind", ["conv", "conv_transpose", "avg_pool"])
def test_matvec_equals_reference(kind: str, chunk: int) -> None:
    rng = np.random.default_rng(1000 + chunk)
    checked = 0
    for spec, shape in _specs(kind, chunk, N_SPECS // CHUNKS):
        x, w, b = _problem(spec, shape, rng)
        expected = _reference_or_none(spec, x, w, b)
        if expected is None:
            continue
        _assert_applies(spec, shape, x, w, b, expected, rtol=1e-12)
        checked += 1
    assert checked >= 0.9 * (N_SPECS // CHUNKS)


@pytest.mark.torch
@pytest.mark.parametrize("chunk", range(CHUNKS))
@pytest.mark.parametrize("kind", ["conv", "conv_transpose", "avg_pool_torch"])
def test_matvec_equals_torch(kind: str, chunk: int, torch: Any) -> None:
    from convproof.testing.oracles import torch_reference

    rng = np.random.default_rng(2000 + chunk)
    for spec, shape in _specs(kind, 100 + chunk, N_SPECS // CHUNKS):
        x, w, b = _problem(spec, shape, rng)
        expected = torch_reference(spec, x, w, b)
        _assert_applies(spec, shape, x, w, b, expected, rtol=1e-10)


def test_batched_input_shape_uses_the_sample_shape(rng: np.random.Generator) -> None:
    spec = cp.ConvSpec(in_channels=2, out_channels=3, kernel_size=2, stride=(1, 2), padding=1)
    w = rng.standard_normal(spec.weight_shape)
    x = rng.standard_normal((4, 2, 5, 6))
    t = cp.conv_matrix(spec, x.shape, w)
    assert t.shape == (3 * 6 * 4, 2 * 5 * 6)
    z = np.stack([t @ xi.ravel() for xi in x])
    np.testing.assert_allclose(z, reference(spec, x, w).reshape(4, -1), atol=1e-12)


# --------------------------------------------------------------------------------------
# hand-typed tables: Dumoulin & Visin's 4x16 and the seed's 4x9
# --------------------------------------------------------------------------------------

# "uv" = tap w[0, 0, u, v]; "." = 0.  Typed from Dumoulin & Visin (2016), fig. 2.1 / §4.1.
DUMOULIN_VISIN_4x16 = """
00 01 02 .  10 11 12 .  20 21 22 .  .  .  .  .
.  00 01 02 .  10 11 12 .  20 21 22 .  .  .  .
.  .  .  .  00 01 02 .  10 11 12 .  20 21 22 .
.  .  .  .  .  00 01 02 .  10 11 12 .  20 21 22
"""

# The seed (Krähenbühl & Wu): 3x3 input, 2x2 kernel [[a, b], [c, d]] -> 4x9.
SEED_4x9 = """
a b . c d . . . .
. a b . c d . . .
. . . a b . c d .
. . . . a b . c d
"""
_SEED_TAPS = {"a": (0, 0), "b": (0, 1), "c": (1, 0), "d": (1, 1)}


def _parse_table(text: str, tap_of: Callable[[str], tuple[int, int]]) -> list[list[Any]]:
    return [
        [None if cell == "." else tap_of(cell) for cell in line.split()]
        for line in text.strip().splitlines()
    ]


_TABLES = {
    "dumoulin-visin": (3, 4, _parse_table(DUMOULIN_VISIN_4x16, lambda c: (int(c[0]), int(c[1])))),
    "seed-4x9": (2, 3, _parse_table(SEED_4x9, _SEED_TAPS.__getitem__)),
}


@pytest.mark.parametrize("name", list(_TABLES))
def test_hand_table_numeric(name: str) -> None:
    k, n, table = _TABLES[name]
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=k, bias=False)
    w = (10 * np.arange(k)[:, None] + np.arange(k)[None, :] + 1).astype(float).reshape(1, 1, k, k)
    t = cp.conv_matrix(spec, (1, n, n), w)
    expected = np.array(
        [[0.0 if tap is None else w[0, 0, tap[0], tap[1]] for tap in row] for row in table]
    )
    assert t.shape == expected.shape
    np.testing.assert_array_equal(t.toarray(), expected)
    assert t.nnz == np.count_nonzero(expected) == cp.nnz(spec, (1, n, n))


@pytest.mark.parametrize("name", list(_TABLES))
def test_hand_table_symbolic(name: str) -> None:
    k, n, table = _TABLES[name]
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=k, bias=False)
    t = cp.conv_matrix(spec, (1, n, n))
    assert isinstance(t, sympy.SparseMatrix)
    expected = sympy.Matrix(
        [
            [0 if tap is None else sympy.Symbol(f"w_{{0,0,{tap[0]},{tap[1]}}}") for tap in row]
            for row in table
        ]
    )
    assert t.shape == expected.shape
    assert t == expected
    _, W, _ = cp.layer_symbols(spec, (1, n, n))
    assert W is not None and t[0, 0] is W[0, 0, 0, 0]  # the very same symbol objects


def test_seed_nnz_is_16() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2)
    assert cp.nnz(spec, (1, 3, 3)) == 16  # SEMANTICS.md: "4x9 matrix with 16 non-zeros"


# --------------------------------------------------------------------------------------
# symbolic matrix = numeric matrix; symbolic T x + b = sliding_sum
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind", ["conv", "conv_transpose", "avg_pool"])
def test_symbolic_matrix_substituted_equals_numeric(kind: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for spec, shape in _specs(kind, 500 + seed, 6):
        if math.prod(spec.output_shape(shape)) * math.prod(shape) > 4000:
            continue
        sym = cp.conv_matrix(spec, shape)
        if spec.weight_shape is None:
            num = cp.conv_matrix(spec, shape, dtype=np.float64).toarray()
            dense = np.array(sym.evalf().tolist(), dtype=float)
            np.testing.assert_allclose(dense, num, rtol=1e-15)
            continue
        w = rng.integers(-9, 10, spec.weight_shape)
        _, W, _ = cp.layer_symbols(spec, shape)
        assert W is not None
        values = {W[idx]: int(w[idx]) for idx in np.ndindex(*spec.weight_shape)}
        dense = np.array(sym.xreplace(values).tolist(), dtype=np.int64)
        np.testing.assert_array_equal(dense, cp.conv_matrix(spec, shape, w).toarray())


@pytest.mark.parametrize(
    "spec, shape",
    [
        (cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=2, padding=1, groups=2), (2, 3, 3)),
        (
            cp.ConvSpec(
                in_channels=1, out_channels=2, kernel_size=3, padding=1, padding_mode="reflect"
            ),
            (1, 3, 4),
        ),
        (
            cp.ConvTransposeSpec(
                in_channels=2, out_channels=1, kernel_size=3, stride=2, padding=1, output_padding=1
            ),
            (2, 2, 2),
        ),
        (cp.PoolSpec(kind="avg", kernel_size=2, padding=1, count_include_pad=False), (1, 3, 3)),
    ],
)
def test_symbolic_matrix_times_x_equals_sliding_sum(spec: Any, shape: tuple[int, ...]) -> None:
    X, _, _ = cp.layer_symbols(spec, shape)
    t = cp.conv_matrix(spec, shape)
    z = t * sympy.Matrix(list(sympy.flatten(X.tolist()))) + cp.bias_vector(spec, shape)
    s = sympy.flatten(cp.sliding_sum(spec, shape).tolist())
    assert [sympy.expand(a - b) for a, b in zip(z, s)] == [0] * len(s)


# --------------------------------------------------------------------------------------
# transposed conv = T.T of the forward conv; output_padding rows
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(30))
def test_transposed_is_forward_transpose(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ((tspec, shape),) = _specs("conv_transpose", 700 + seed, 1)
    out = tspec.output_shape(shape)
    pads = tspec.resolve_padding(shape)
    fwd = cp.ConvSpec(
        in_channels=tspec.out_channels,
        out_channels=tspec.in_channels,
        kernel_size=tspec.kernel_size,
        stride=tspec.stride,
        dilation=tspec.dilation,
        padding=pads,
        groups=tspec.groups,
        bias=False,
    )
    fwd_out = fwd.output_shape(out)
    w = rng.standard_normal(tspec.weight_shape)
    t = cp.conv_matrix(tspec, shape, w).toarray()
    f = cp.conv_matrix(fwd, out, w).toarray()
    # the forward conv may have more outputs than the transposed input when op >= s
    f = f.reshape(fwd_out[0], -1, f.shape[1])
    keep = np.zeros(fwd_out[1:], dtype=bool)
    keep[tuple(slice(0, n) for n in shape[1:])] = True
    f = f[:, keep.ravel(), :].reshape(-1, f.shape[2])
    np.testing.assert_array_equal(t, f.T)


def test_output_padding_rows_only_get_bias() -> None:
    # i=2, k=3, s=2, p=0, op=1: output 6, position 5 is reached by no input
    spec = cp.ConvTransposeSpec(
        in_channels=1, out_channels=1, kernel_size=3, stride=2, output_padding=1, ndim=1
    )
    w = np.array([[[1.0, 2.0, 3.0]]])
    t = cp.conv_matrix(spec, (1, 2), w)
    assert t.shape == (6, 2)
    expected = np.array([[1, 0], [2, 0], [3, 1], [0, 2], [0, 3], [0, 0]], dtype=float)
    np.testing.assert_array_equal(t.toarray(), expected)
    np.testing.assert_array_equal(cp.bias_vector(spec, (1, 2), np.array([7.0])), [7.0] * 6)


# --------------------------------------------------------------------------------------
# matrix_entries
# --------------------------------------------------------------------------------------


def test_matrix_entries_fold_duplicates() -> None:
    spec = cp.ConvSpec(
        in_channels=1, out_channels=1, kernel_size=3, padding=1, padding_mode="replicate", ndim=1
    )
    e = cp.matrix_entries(spec, (1, 3))
    assert all(a.dtype == np.int64 for a in (e.rows, e.cols, e.taps, e.divisors))
    pairs = list(zip(e.rows.tolist(), e.cols.tolist(), e.taps.tolist()))
    # output 0 reads padded -1 (-> 0), 0, 1; output 2 reads 1, 2, 3 (-> 2)
    assert pairs == [(0, 0, 0), (0, 0, 1), (0, 1, 2), (1, 0, 0), (1, 1, 1), (1, 2, 2),
                     (2, 1, 0), (2, 2, 1), (2, 2, 2)]  # fmt: skip
    assert e.divisors.tolist() == [1] * 9
    assert e.shape == (3, 3)


def test_matrix_entries_pool_divisors() -> None:
    # SEMANTICS.md: [1,2,3,4,5], k=2, s=2, ceil -> [1.5, 3.5, 5.0]
    pool = cp.PoolSpec(kind="avg", kernel_size=2, ceil_mode=True, ndim=1)
    e = cp.matrix_entries(pool, (1, 5))
    assert e.taps.tolist() == [-1] * 5
    assert e.divisors.tolist() == [2, 2, 2, 2, 1]
    assert (e.rows.tolist(), e.cols.tolist()) == ([0, 0, 1, 1, 2], [0, 1, 2, 3, 4])


@pytest.mark.parametrize("kind", ["conv", "conv_transpose"])
def test_matrix_entries_sum_to_conv_matrix(kind: str, rng: np.random.Generator) -> None:
    for spec, shape in _specs(kind, 900, 25):
        w = rng.standard_normal(spec.weight_shape)
        e = cp.matrix_entries(spec, shape)
        coo = scipy.sparse.coo_array((w.ravel()[e.taps], (e.rows, e.cols)), shape=e.shape)
        np.testing.assert_allclose(
            coo.toarray(), cp.conv_matrix(spec, shape, w).toarray(), atol=1e-14
        )
        assert len(e.rows) >= cp.nnz(spec, shape)


# --------------------------------------------------------------------------------------
# nnz closed form
# --------------------------------------------------------------------------------------


@st.composite
def _conv_problems(draw: Any) -> tuple[Any, tuple[int, ...]]:
    nd = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["conv", "conv", "conv_transpose", "avg"]))
    k = tuple(draw(st.lists(st.integers(1, 4), min_size=nd, max_size=nd)))
    s = tuple(draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd)))
    d = tuple(draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd)))
    pads = tuple(
        tuple(draw(st.lists(st.integers(0, 4), min_size=2, max_size=2))) for _ in range(nd)
    )
    n = tuple(draw(st.lists(st.integers(1, 7 if nd < 3 else 4), min_size=nd, max_size=nd)))
    g = draw(st.integers(1, 2))
    try:
        if kind == "conv":
            spec: Any = cp.ConvSpec(
                in_channels=g * draw(st.integers(1, 2)),
                out_channels=g,
                kernel_size=k,
                stride=s,
                dilation=d,
                padding=pads,
                groups=g,
                ndim=nd,
                padding_mode=draw(st.sampled_from(cp.PADDING_MODES)),
            )
        elif kind == "conv_transpose":
            op = tuple(draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d))
            spec = cp.ConvTransposeSpec(
                in_channels=g,
                out_channels=g * draw(st.integers(1, 2)),
                kernel_size=k,
                stride=s,
                dilation=d,
                padding=pads,
                output_padding=op,
                groups=g,
                ndim=nd,
            )
        else:
            spec = cp.PoolSpec(
                kind="avg",
                kernel_size=k,
                stride=s,
                dilation=d,
                ndim=nd,
                padding=tuple(min(kk // 2, p[0]) for kk, p in zip(k, pads)),
                ceil_mode=draw(st.booleans()),
                count_include_pad=draw(st.booleans()),
            )
        shape = (spec.in_channels if kind != "avg" else draw(st.integers(1, 2)), *n)
        spec.output_shape(shape)
        cp.nnz(spec, shape)  # refuses average windows with nothing to count
    except cp.ConvProofError:
        assume(False)
    return spec, shape


def _read_index(t: int, n: int, mode: str) -> int | None:
    if 0 <= t < n:
        return t
    return {
        "zeros": None,
        "circular": t % n,
        "replicate": 0 if t < 0 else n - 1,
        "reflect": -t if t < 0 else 2 * (n - 1) - t,
    }[mode]


@pytest.mark.parametrize("mode", cp.PADDING_MODES)
def test_axis_nnz_closed_forms_exhaustive(mode: str) -> None:
    """Per-axis closed forms = distinct (output, input) pairs counted with Python sets."""
    from convproof.constructions.index import axis_pattern

    for n, k, s, d in itertools.product(range(1, 7), range(1, 5), range(1, 4), range(1, 3)):
        limit = {"reflect": n - 1, "circular": n}.get(mode, n + 1)
        for pl, pr in itertools.product(range(limit + 1), repeat=2):
            o = (n + pl + pr - d * (k - 1) - 1) // s + 1
            if o < 1:
                continue
            pairs = set()
            for a in range(o):
                for u in range(k):
                    j = _read_index(a * s + u * d - pl, n, mode)
                    if j is not None:
                        pairs.add((a, j))
            p = axis_pattern(o, n, k, s, d, (pl, pr), mode)
            assert cps._axis_nnz(p) == len(pairs), (mode, n, k, s, d, pl, pr)


@given(_conv_problems())
def test_nnz_closed_form_matches_built_matrix(problem: tuple[Any, tuple[int, ...]]) -> None:
    spec, shape = problem
    rng = np.random.default_rng(0)
    if spec.weight_shape is None:
        t = cp.conv_matrix(spec, shape, dtype=np.float64)
    else:
        t = cp.conv_matrix(spec, shape, rng.uniform(1, 2, spec.weight_shape))
    assert t.has_canonical_format
    assert cp.nnz(spec, shape) == t.nnz == np.count_nonzero(t.toarray())


@given(_conv_problems())
def test_nnz_equals_support_of_reference_operator(problem: tuple[Any, tuple[int, ...]]) -> None:
    """The reference applied to unit impulses gives the operator's support, independently."""
    spec, shape = problem
    assume(math.prod(shape) <= 60)
    rng = np.random.default_rng(1)
    w = None if spec.weight_shape is None else rng.uniform(1, 2, spec.weight_shape)
    cols = []
    for j in range(math.prod(shape)):
        e = np.zeros(math.prod(shape))
        e[j] = 1.0
        out = _reference_or_none(spec, e.reshape(shape), w, None)
        assume(out is not None)
        assert out is not None
        cols.append(out.ravel())
    dense = np.stack(cols, axis=1)
    assert cp.nnz(spec, shape) == np.count_nonzero(dense)


# --------------------------------------------------------------------------------------
# structure flags, checked against the dense matrix
# --------------------------------------------------------------------------------------


def _dense_level_kind(t: np.ndarray, c_out: int, c_in: int, outs: tuple[int, ...],
                      ins: tuple[int, ...], ax: int) -> str:  # fmt: skip
    """Kind of spatial level ``ax`` judged on the dense matrix itself."""
    v = t.reshape(c_out, *outs, c_in, *ins)
    nd = len(outs)
    o, n = outs[ax], ins[ax]

    def block(a: int, j: int) -> np.ndarray:
        idx: list[Any] = [slice(None)] * v.ndim
        idx[1 + ax], idx[2 + nd + ax] = a, j
        return v[tuple(idx)]

    if o == n and all(
        np.array_equal(block(a, j), block((a + 1) % o, (j + 1) % n))
        for a in range(o) for j in range(n)
    ):  # fmt: skip
        return "circulant"
    if all(
        np.array_equal(block(a, j), block(a + 1, j + 1))
        for a in range(o - 1) for j in range(n - 1)
    ):  # fmt: skip
        return "toeplitz"
    return "general"


@pytest.mark.parametrize("kind", ["conv", "conv_transpose", "avg_pool"])
def test_structure_flags_match_dense_matrix(kind: str, rng: np.random.Generator) -> None:
    seen = set()
    for spec, shape in _specs(kind, 1200, 60):
        if spec.ndim == 3:
            continue
        if spec.weight_shape is None:
            t = cp.conv_matrix(spec, shape, dtype=np.float64).toarray()
        else:
            t = cp.conv_matrix(spec, shape, rng.standard_normal(spec.weight_shape)).toarray()
        out = spec.output_shape(shape)
        s = cp.matrix_structure(spec, shape)
        assert s.shape == t.shape
        assert s.levels[0].grid == (out[0], shape[0])
        for ax in range(spec.ndim):
            level = s.levels[1 + ax]
            assert level.grid == (out[1 + ax], shape[1 + ax])
            expected = _dense_level_kind(t, out[0], shape[0], out[1:], shape[1:], ax)
            if level.kind == "circulant" and out[1 + ax] == 1:
                expected = "circulant"  # a 1x1 grid is trivially both
            assert level.kind == expected, (spec, shape, ax)
            seen.add(level.kind)
    assert {"toeplitz", "general"} <= seen


@pytest.mark.parametrize(
    "spec, shape, kinds",
    [
        (cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3, padding=1), (3, 6, 6),
         ["dense", "toeplitz", "toeplitz"]),
        (cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3, stride=2, padding=1),
         (3, 6, 6), ["dense", "general", "general"]),
        (cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=3, padding=1,
                     padding_mode="circular", groups=2), (2, 5, 4),
         ["block-diagonal", "circulant", "circulant"]),
        (cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=1,
                     padding_mode="reflect"), (1, 5, 5), ["dense", "general", "general"]),
        (cp.PoolSpec(kind="avg", kernel_size=3, stride=1, padding=1), (2, 4, 4),
         ["diagonal", "toeplitz", "toeplitz"]),
        (cp.PoolSpec(kind="avg", kernel_size=3, stride=1, padding=1, count_include_pad=False),
         (2, 4, 4), ["diagonal", "general", "general"]),
    ],
)  # fmt: skip
def test_structure_known_cases(spec: Any, shape: tuple[int, ...], kinds: list[str]) -> None:
    s = cp.matrix_structure(spec, shape)
    assert [lv.kind for lv in s.levels] == kinds
    assert s.toeplitz == all(k in ("toeplitz", "circulant") for k in kinds[1:])
    assert s.circulant == all(k == "circulant" for k in kinds[1:])


def test_structure_transposed_swaps_grids() -> None:
    spec = cp.ConvTransposeSpec(in_channels=2, out_channels=3, kernel_size=3)
    s = cp.matrix_structure(spec, (2, 4, 5))
    assert s.shape == (3 * 6 * 7, 2 * 4 * 5)
    assert [(lv.grid, lv.kind) for lv in s.levels] == [
        ((3, 2), "dense"), ((6, 4), "toeplitz"), ((7, 5), "toeplitz")
    ]  # fmt: skip


# --------------------------------------------------------------------------------------
# memory limit, dtypes, errors
# --------------------------------------------------------------------------------------


def test_memory_limit_per_call() -> None:
    spec = cp.ConvSpec(in_channels=4, out_channels=4, kernel_size=3, padding=1)
    w = np.ones(spec.weight_shape)
    with pytest.raises(cp.MemoryLimitError, match=r"would need about .* max_bytes=1000 "):
        cp.conv_matrix(spec, (4, 16, 16), w, max_bytes=1000)
    with pytest.raises(cp.MemoryLimitError, match="symbolic"):
        cp.conv_matrix(spec, (4, 16, 16), max_bytes=1000)
    assert cp.conv_matrix(spec, (4, 16, 16), w, max_bytes=10**8).nnz == cp.nnz(spec, (4, 16, 16))


def test_memory_limit_setting() -> None:
    """One setting limits every construction; it is restored when the block ends."""
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3)
    before = cp.get_max_bytes()
    with cp.memory_limit(100):
        with pytest.raises(cp.MemoryLimitError, match="max_bytes=100 "):
            cp.conv_matrix(spec, (1, 8, 8), np.ones(spec.weight_shape))
        with pytest.raises(cp.MemoryLimitError):
            cp.matrix_entries(spec, (1, 8, 8))
        with pytest.raises(cp.MemoryLimitError, match="max_bytes=100 "):
            cp.sliding_sum(spec, (1, 8, 8))
        with pytest.raises(cp.MemoryLimitError, match="max_bytes=100 "):
            cp.prove(spec, (1, 8, 8))
    assert cp.get_max_bytes() == before
    assert cp.conv_matrix(spec, (1, 8, 8), np.ones(spec.weight_shape)).shape == (36, 64)
    previous = cp.set_max_bytes(100)
    try:
        with pytest.raises(cp.MemoryLimitError):
            cp.conv_matrix(spec, (1, 8, 8), np.ones(spec.weight_shape))
    finally:
        cp.set_max_bytes(previous)
    for bad in (0, -5, 1.5, True, "1G"):
        with pytest.raises(cp.ConvProofError, match=f"max_bytes={bad!r}"):
            cp.set_max_bytes(bad)


def test_memory_limit_default_refuses_huge_layers_without_allocating() -> None:
    spec = cp.ConvSpec(in_channels=512, out_channels=512, kernel_size=3, padding=1)
    with pytest.raises(cp.MemoryLimitError, match=r"TiB"):
        cp.conv_matrix(spec, (512, 256, 256), np.zeros(spec.weight_shape))
    assert cp.estimate_bytes(spec, (512, 256, 256)) > cp.DEFAULT_MAX_BYTES


def test_dtype_follows_weight() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, ndim=1)
    for dt in (np.float32, np.float64, np.int64, np.complex128):
        t = cp.conv_matrix(spec, (1, 4), np.ones((1, 1, 2), dtype=dt))
        assert t.dtype == dt
    assert cp.conv_matrix(spec, (1, 4), np.ones((1, 1, 2)), dtype=np.float32).dtype == np.float32
    pool = cp.PoolSpec(kind="avg", kernel_size=2, ndim=1)
    assert cp.conv_matrix(pool, (1, 4), dtype=np.float32).dtype == np.float32


def test_symbolic_pool_matrix_has_exact_rationals() -> None:
    pool = cp.PoolSpec(kind="avg", kernel_size=3, stride=1, padding=1, ndim=1)
    t = cp.conv_matrix(pool, (1, 3))
    assert t[0, 0] == sympy.Rational(1, 3)
    assert all(isinstance(v, sympy.Rational) for v in t.values())


def test_bias_vector_symbolic_and_numeric() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=2, kernel_size=2, ndim=1)
    bsym = cp.bias_vector(spec, (1, 3))
    _, _, b = cp.layer_symbols(spec, (1, 3))
    assert b is not None
    assert list(bsym) == [b[0], b[0], b[1], b[1]]
    nobias = cp.ConvSpec(in_channels=1, out_channels=2, kernel_size=2, bias=False, ndim=1)
    assert list(cp.bias_vector(nobias, (1, 3))) == [0] * 4
    pool = cp.PoolSpec(kind="avg", kernel_size=2, ndim=1)
    assert list(cp.bias_vector(pool, (3, 4))) == [0] * 6


_SPEC = cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=2)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: cp.conv_matrix(cp.PoolSpec(kind="max", kernel_size=2), (1, 4, 4)),
         "max pooling is not linear"),
        (lambda: cp.nnz(cp.PoolSpec(kind="max", kernel_size=2), (1, 4, 4)), "max pooling"),
        (lambda: cp.matrix_entries(cp.PoolSpec(kind="max", kernel_size=2), (1, 4, 4)),
         "max pooling"),
        (lambda: cp.conv_matrix(_SPEC, (2, 3, 3), np.ones((2, 2, 2))),
         r"weight must have shape spec.weight_shape=\(2, 2, 2, 2\)"),
        (lambda: cp.conv_matrix(_SPEC, (2, 3, 3), np.ones((2, 2, 2, 2), dtype=object)),
         "weight must be a numeric array"),
        (lambda: cp.conv_matrix(_SPEC, (3, 3, 3), np.ones((2, 2, 2, 2))),
         "input_shape has 3 channels"),
        (lambda: cp.conv_matrix(cp.PoolSpec(kind="avg", kernel_size=2), (1, 4, 4), np.ones(4)),
         "pooling has no weight"),
        (lambda: cp.conv_matrix(cp.PoolSpec(kind="avg", kernel_size=2), (1, 4, 4), dtype=int),
         "dtype must be a floating or complex dtype"),
        (lambda: cp.conv_matrix(_SPEC, (2, 3, 3), max_bytes=-1), "max_bytes must be"),
        (lambda: cp.conv_matrix("conv", (2, 3, 3)), "spec must be a ConvSpec"),
        (lambda: cp.bias_vector(_SPEC, (2, 3, 3), np.ones(3)), r"bias must have shape \(2,\)"),
        (lambda: cp.bias_vector(cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=1,
                                            bias=False), (1, 2, 2), np.ones(1)),
         "bias must be None for a layer without bias"),
    ],
)  # fmt: skip
def test_bad_input(call: Callable[[], Any], match: str) -> None:
    with pytest.raises(cp.ConvProofError, match=match):
        call()


# --------------------------------------------------------------------------------------
# benchmark smoke test (the benchmark itself is not run by the tests)
# --------------------------------------------------------------------------------------


@pytest.mark.torch
def test_benchmark_smoke(torch: Any) -> None:
    bench = load_benchmark("bench_matrix")
    assert bench.bench_jacrev(4, c_in=2, c_out=2, repeat=1, jac_repeat=1)["equal"]
    assert bench.bench_coo(n=5, c_in=2, c_out=3, repeat=1)["equal"]
    r = bench.bench_symbolic(n=4, repeat=1)
    assert r["nnz"] == r["closed_form_nnz"]


def test_progress_bar_over_the_numeric_build(capsys: pytest.CaptureFixture[str]) -> None:
    spec = cp.ConvSpec(in_channels=2, out_channels=3, kernel_size=3, padding=1,
                       padding_mode="reflect")  # fmt: skip
    w = np.arange(1.0, 1.0 + 54).reshape(spec.weight_shape)
    quiet = cp.conv_matrix(spec, (2, 5, 5), w)
    assert capsys.readouterr().err == ""  # default: off a terminal, small: no bar
    shown = cp.conv_matrix(spec, (2, 5, 5), w, progress=True)
    err = capsys.readouterr().err
    assert "conv_matrix" in err and "/6 " in err  # 5 steps + the folded taps summed
    assert (shown != quiet).nnz == 0  # the bar changes nothing
    with pytest.raises(cp.ConvProofError, match="progress must be"):
        cp.conv_matrix(spec, (2, 5, 5), w, progress="yes")
