"""Tests for convproof.proofs: concrete proofs, user matrices and user functions.

Independent references: the loop reference (tests/reference.py) evaluates the definition;
planted defects come with counterexamples worked out by hand in the comments; user matrices
are written by hand from the seed / Dumoulin & Visin index rule.
"""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import scipy.sparse
import sympy
from hypothesis import given
from hypothesis import strategies as st

import convproof as cp
from convproof.constructions.coefficients import Entries
from convproof.constructions.definition import definition_entries
from convproof.proofs.result import ProofResult

try:
    from reference import reference
    from testsupport import load_benchmark, padded_1d
except ImportError:  # pragma: no cover
    from tests.reference import reference
    from tests.testsupport import load_benchmark, padded_1d


# --------------------------------------------------------------------------------------
# random specs covering every feature (seeded)
# --------------------------------------------------------------------------------------


def _random_case(rng: random.Random) -> tuple[Any, tuple[int, ...]] | None:
    ndim = rng.choice([1, 1, 2, 2, 2, 3])
    kind = rng.choice(["conv", "conv", "conv", "transpose", "avg", "max"])
    k = tuple(rng.randint(1, 3) for _ in range(ndim))
    s = tuple(rng.randint(1, 3) for _ in range(ndim))
    d = tuple(rng.randint(1, 2) for _ in range(ndim))
    spatial = tuple(rng.randint(1, 6 if ndim < 3 else 4) for _ in range(ndim))
    groups = rng.choice([1, 1, 2])
    cin, cout = groups * rng.randint(1, 2), groups * rng.randint(1, 2)
    bias = rng.random() < 0.5
    conv_kw: dict[str, Any] = dict(in_channels=cin, out_channels=cout, kernel_size=k, stride=s,
                                   dilation=d, groups=groups, bias=bias)  # fmt: skip
    try:
        if kind == "conv":
            form = rng.choice(["int", "pairs", "same", "full", "SAME_UPPER", "SAME_LOWER"])
            padding: Any = {
                "int": rng.randint(0, 2),
                "pairs": tuple((rng.randint(0, 2), rng.randint(0, 2)) for _ in range(ndim)),
            }.get(form, form)
            if form == "same":
                conv_kw["stride"] = (1,) * ndim
            spec: Any = cp.ConvSpec(
                **conv_kw, padding=padding, padding_mode=rng.choice(cp.PADDING_MODES)
            )
        elif kind == "transpose":
            op = tuple(rng.randint(0, max(si, di) - 1) for si, di in zip(s, d))
            spec = cp.ConvTransposeSpec(
                **conv_kw,
                padding=tuple(rng.randint(0, 2) for _ in range(ndim)),
                output_padding=op,
            )
        else:
            spec = cp.PoolSpec(
                kind=kind,
                kernel_size=k,
                stride=s,
                dilation=d if kind == "max" else 1,
                padding=tuple(rng.randint(0, kk // 2) for kk in k),
                ceil_mode=rng.random() < 0.5,
                count_include_pad=rng.random() < 0.5,
            )
        shape = (getattr(spec, "in_channels", rng.randint(1, 2)), *spatial)
        spec.output_shape(shape)
    except cp.ConvProofError:
        return None
    return spec, shape


def _cases(n: int, seed: int) -> list[tuple[Any, tuple[int, ...]]]:
    rng = random.Random(seed)
    out: list[tuple[Any, tuple[int, ...]]] = []
    while len(out) < n:
        case = _random_case(rng)
        if case is not None:
            out.append(case)
    return out


CASES = _cases(240, seed=4)


def _feature(spec: Any) -> set[str]:
    f = {f"{spec.ndim}d", type(spec).__name__}
    if isinstance(spec, cp.PoolSpec):
        f.add(f"pool-{spec.kind}")
    else:
        f.add(f"groups>1={spec.groups > 1}")
        if isinstance(spec, cp.ConvSpec):
            f.add(f"mode-{spec.padding_mode}")
            if isinstance(spec.padding, str):
                f.add(f"name-{spec.padding}")
    if any(v > 1 for v in spec.dilation):
        f.add("dilation")
    if any(v > 1 for v in spec.stride):
        f.add("stride")
    return f


def test_random_cases_cover_every_feature() -> None:
    seen = Counter(x for spec, _ in CASES for x in _feature(spec))
    wanted = [
        "1d", "2d", "3d", "ConvSpec", "ConvTransposeSpec", "pool-avg", "pool-max",
        "groups>1=True", "mode-zeros", "mode-circular", "mode-reflect", "mode-replicate",
        "name-same", "name-full", "name-SAME_UPPER", "name-SAME_LOWER", "dilation", "stride",
    ]  # fmt: skip
    assert all(seen[w] >= 3 for w in wanted), {w: seen[w] for w in wanted}


@pytest.mark.parametrize(("spec", "shape"), CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_library_matrix_proved_on_random_specs(spec: Any, shape: tuple[int, ...]) -> None:
    result = cp.prove(spec, shape)
    assert result, str(result)
    assert result.status == "proved"
    assert result.counterexample is None
    expected_method = (
        "window-sets" if isinstance(spec, cp.PoolSpec) and spec.kind == "max" else
        "coefficient-table"
    )  # fmt: skip
    assert result.method == expected_method
    assert all(check.status == "proved" for check in result.checks)


def _evaluate_table(spec: Any, shape: tuple[int, ...], x: np.ndarray, w: Any) -> np.ndarray:
    """Z = sum coef * x[col] * w[tap], from the definition's coefficient table."""
    out_shape = spec.output_shape(shape)
    z = [Fraction(0)] * int(np.prod(out_shape))
    xs = x.reshape(-1)
    ws = None if w is None else w.reshape(-1)
    for (row, col, tap), coef in cp.coefficient_table(spec, shape).items():
        z[row] += coef * int(xs[col]) * (1 if tap < 0 else int(ws[tap]))  # type: ignore[index]
    return np.array(z, dtype=object).reshape(out_shape)


LINEAR = [
    (i, spec, shape)
    for i, (spec, shape) in enumerate(CASES)
    if not (isinstance(spec, cp.PoolSpec) and spec.kind == "max")
][::2]


@pytest.mark.parametrize(
    ("spec", "shape"), [c[1:] for c in LINEAR], ids=[f"case{c[0]}" for c in LINEAR]
)
def test_definition_table_matches_loop_reference(spec: Any, shape: tuple[int, ...]) -> None:
    """The proof's definition side is itself checked against the loop reference."""
    rng = np.random.default_rng(7)
    x = rng.integers(-5, 6, shape).astype(object)
    w = None
    if spec.weight_shape is not None:
        w = rng.integers(-5, 6, spec.weight_shape).astype(object)
    got = _evaluate_table(spec, shape, x, w)
    ref = np.asarray(reference(spec, x, w) if w is not None else reference(spec, x))
    assert [Fraction(v) for v in got.ravel()] == [Fraction(v) for v in ref.ravel()]


def test_max_pool_window_sets_match_the_reference_windows() -> None:
    spec = cp.PoolSpec(kind="max", kernel_size=3, stride=2, padding=1, ceil_mode=True, ndim=1)
    # i=6, k=3, s=2, p=1, ceil: o = ceil((6+2-3)/2)+1 = 4, windows start at -1, 1, 3, 5
    entries = definition_entries(spec, (1, 6))
    windows = sorted(zip(entries.rows.tolist(), entries.cols.tolist()))
    assert windows == [(0, 0), (0, 1), (1, 1), (1, 2), (1, 3), (2, 3), (2, 4), (2, 5),
                       (3, 5)]  # fmt: skip
    assert cp.prove(spec, (1, 6)).method == "window-sets"


@given(
    problem=st.sampled_from(["conv", "conv_transpose", "pool"]).flatmap(
        lambda kind: cp.strategies.conv_problems(
            kind=kind, max_extra_size=2, **({} if kind == "pool" else {"max_channels": 3})
        )
    )
)
def test_property_prove_on_strategy_problems(problem: Any) -> None:
    result = cp.prove(problem.spec, problem.x.shape, crosscheck=False)
    assert result, str(result)


# --------------------------------------------------------------------------------------
# seed cases, batch axis, cross-checks, certificate
# --------------------------------------------------------------------------------------


def test_seed_4x9_matrix_monomials() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False)
    result = cp.prove(spec, (1, 3, 3))
    assert result and result.monomials == 16  # 4 rows x 4 taps (the seed's 16 non-zeros)
    assert [c.method for c in result.checks] == [
        "coefficient-table",
        "object-exact",
        "sympy-coefficients",
        "sympy-expand",
    ]


def test_seed_case_monomials_counted_by_hand() -> None:
    spec = cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3, padding="same")
    result = cp.prove(spec, (3, 25, 25))
    # per axis: 25 outputs x 3 taps minus the 2 taps that fall into the zero padding = 73
    assert result.checks[0].monomials == 5 * 3 * 73 * 73
    assert result.checks[1].monomials == 5 * 25 * 25  # one bias term per output
    assert result.monomials == 5 * 3 * 73 * 73 + 5 * 25 * 25


def test_batch_axis_is_ignored() -> None:
    spec = cp.ConvSpec(in_channels=2, out_channels=1, kernel_size=2, ndim=1)
    assert cp.prove(spec, (4, 2, 5)).sizes["input"] == (2, 5)


def test_certificate_and_json() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=2, kernel_size=2, ndim=1)
    result = cp.prove(spec, (1, 4))
    text = str(result)
    for needle in (
        "PROVED",
        "method:   coefficient-table",
        "matrix:   6 x 4",
        "compared:",
        "time:",
    ):
        assert needle in text
    data = json.loads(json.dumps(result.to_dict()))
    assert data["status"] == "proved" and data["proved"] is True
    assert data["monomials"] == 2 * 3 * 2 + 6  # 2 channels x 3 outputs x 2 taps, 6 biases
    assert data["sizes"]["output"] == [2, 3]


# --------------------------------------------------------------------------------------
# user matrices written by hand, and planted defects with hand-computed counterexamples
# --------------------------------------------------------------------------------------


def _hand_matrix(
    spec: Any,
    shape: tuple[int, ...],
    *,
    stride: tuple[int, ...] | None = None,
    pad: tuple[int, ...] | None = None,
    swap_channels: bool = False,
) -> sympy.Matrix:
    """T by the textbook rule: T[(c, a), (k, a*s + u - p)] = W[c, k, u] (no dilation, groups)."""
    W = cp.layer_symbols(spec, shape).W
    out = spec.output_shape(shape)
    stride = stride or spec.stride
    pad = pad or tuple(p for p, _ in spec.resolve_padding(shape))
    cin = shape[0]
    T = sympy.zeros(int(np.prod(out)), int(np.prod(shape)))
    for c, *a in itertools.product(*(range(n) for n in out)):
        row = int(np.ravel_multi_index((c, *a), out))
        for k in range(cin):
            for u in itertools.product(*(range(n) for n in spec.kernel_size)):
                pos = tuple(ai * si + ui - pi for ai, si, ui, pi in zip(a, stride, u, pad))
                if all(0 <= v < n for v, n in zip(pos, shape[1:])):
                    kk = cin - 1 - k if swap_channels else k
                    T[row, int(np.ravel_multi_index((kk, *pos), shape))] += W[(c, k, *u)]
    return T


def test_hand_matrix_is_proved() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False)
    assert cp.prove(spec, (1, 3, 3), matrix=_hand_matrix(spec, (1, 3, 3)))


def test_hand_matrix_dumoulin_visin_row_0() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, bias=False)
    T = _hand_matrix(spec, (1, 4, 4))
    W = cp.layer_symbols(spec, (1, 4, 4)).W
    w = [[W[0, 0, i, j] for j in range(3)] for i in range(3)]
    row0 = [*w[0], 0, *w[1], 0, *w[2], 0, 0, 0, 0, 0]  # w00 w01 w02 0 w10 ... (D&V)
    assert list(T.row(0)) == row0
    assert cp.prove(spec, (1, 4, 4), matrix=T)


def _cx(result: ProofResult) -> tuple[tuple[int, ...], str, Any, Any]:
    assert result.status == "refuted", str(result)
    cx = result.counterexample
    assert cx is not None
    return cx.output, cx.monomial, cx.expected, cx.found


def test_defect_one_tap_moved() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False)
    T = _hand_matrix(spec, (1, 3, 3))
    W = cp.layer_symbols(spec, (1, 3, 3)).W
    # row 0 reads x00 x01 x10 x11 (cols 0 1 3 4); move w11 from x11 (col 4) to x12 (col 5)
    T[0, 4], T[0, 5] = 0, W[0, 0, 1, 1]
    # smallest differing (row, col, tap): (0, 4, 3) — expected 1, found 0
    assert _cx(cp.prove(spec, (1, 3, 3), matrix=T)) == (
        (0, 0, 0),
        "x_{0,1,1}*w_{0,0,1,1}",
        1,
        0,
    )


def test_defect_kernel_flipped() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False)
    W = cp.layer_symbols(spec, (1, 3, 3)).W
    flip = {W[0, 0, i, j]: W[0, 0, 1 - i, 1 - j] for i in range(2) for j in range(2)}
    T = _hand_matrix(spec, (1, 3, 3)).xreplace(flip)
    # row 0 now has x00*w11: the definition's x00*w00 (row 0, col 0, tap 0) is missing
    assert _cx(cp.prove(spec, (1, 3, 3), matrix=T)) == (
        (0, 0, 0),
        "x_{0,0,0}*w_{0,0,0,0}",
        1,
        0,
    )


def test_defect_stride_on_the_wrong_axis() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, stride=(2, 1), bias=False)
    # output 2x4 = 8 rows; the wrong matrix uses stride (1, 2): output 4x2, also 8 rows
    T = _hand_matrix(spec, (1, 5, 5), stride=(1, 2))
    assert T.shape == (8, 25)
    # row 1: correct window starts at (0, 1) (cols 1, 2, 6, 7), wrong one at (0, 2)
    # (cols 2, 3, 7, 8); smallest difference: col 1 with tap 0 — expected 1, found 0
    assert _cx(cp.prove(spec, (1, 5, 5), matrix=T)) == (
        (0, 0, 1),
        "x_{0,0,1}*w_{0,0,0,0}",
        1,
        0,
    )


def test_defect_padding_off_by_one() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=1, bias=False)
    T = _hand_matrix(spec, (1, 3, 3), pad=(0, 0))
    # row 0 with p=0 reads x00 with w00 (col 0, tap 0); with p=1 x00 pairs with w11 (tap 4)
    assert _cx(cp.prove(spec, (1, 3, 3), matrix=T)) == (
        (0, 0, 0),
        "x_{0,0,0}*w_{0,0,0,0}",
        0,
        1,
    )


def test_defect_channels_in_the_wrong_order() -> None:
    spec = cp.ConvSpec(in_channels=2, out_channels=1, kernel_size=1, bias=False)
    T = _hand_matrix(spec, (2, 1, 2), swap_channels=True)
    # Z[0,0,0] should be w000*x000 + w010*x100; the wrong one pairs x000 with w010 (tap 1)
    assert _cx(cp.prove(spec, (2, 1, 2), matrix=T)) == (
        (0, 0, 0),
        "x_{0,0,0}*w_{0,0,0,0}",
        1,
        0,
    )


def test_defect_doubled_entry() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False)
    rows, cols, taps = [], [], []
    for a0, a1, u0, u1 in itertools.product(range(2), range(2), range(2), range(2)):
        rows.append(a0 * 2 + a1)
        cols.append((a0 + u0) * 3 + a1 + u1)
        taps.append(u0 * 2 + u1)
    rows.append(3)  # x22*w11 in the last row, twice
    cols.append(8)
    taps.append(3)
    entries = Entries(np.array(rows), np.array(cols), np.array(taps), None)
    assert _cx(cp.prove(spec, (1, 3, 3), matrix=entries)) == (
        (0, 1, 1),
        "x_{0,2,2}*w_{0,0,1,1}",
        1,
        2,
    )


def test_defect_bias_missing() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=2, kernel_size=2, ndim=1)
    shape = (1, 3)
    T = _hand_matrix(spec, shape)
    b = cp.layer_symbols(spec, shape).b
    assert cp.prove(spec, shape, matrix=T, bias_vector=[b[0], b[0], b[1], b[1]])
    # channel 1's bias left out: first output of channel 1 is row 2 = output (1, 0)
    assert _cx(cp.prove(spec, shape, matrix=T, bias_vector=[b[0], b[0], 0, 0])) == (
        (1, 0),
        "b_{1}",
        1,
        0,
    )
    # a zero bias vector claims "no bias": the very first output lacks b_0
    assert _cx(cp.prove(spec, shape, matrix=T, bias_vector=[0, 0, 0, 0])) == (
        (0, 0),
        "b_{0}",
        1,
        0,
    )
    # no bias_vector at all: the claim is T alone, and the certificate says so
    linear = cp.prove(spec, shape, matrix=T)
    assert linear.status == "proved"
    assert "not part of the claim" in linear.scope["bias"]
    assert "bias: not part of the claim" in str(linear)


def test_non_linear_entry_is_refuted() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False, ndim=1)
    T = _hand_matrix(spec, (1, 3))
    W = cp.layer_symbols(spec, (1, 3)).W
    T[1, 2] = W[0, 0, 1] ** 2
    result = cp.prove(spec, (1, 3), matrix=T)
    assert result.status == "refuted"
    assert result.counterexample is not None
    assert result.counterexample.output == (0, 1)


# --------------------------------------------------------------------------------------
# numeric user matrices
# --------------------------------------------------------------------------------------


def _numeric_hand(spec: Any, shape: tuple[int, ...], weight: np.ndarray) -> np.ndarray:
    T = _hand_matrix(spec, shape)
    W = cp.layer_symbols(spec, shape).W
    sub = {W[idx]: weight[idx] for idx in itertools.product(*(range(n) for n in W.shape))}
    return np.array(T.xreplace(sub).tolist(), dtype=weight.dtype)


def test_numeric_integer_matrix_exact() -> None:
    spec = cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=2, bias=False)
    w = np.arange(1, 17, dtype=np.int64).reshape(spec.weight_shape)
    M = _numeric_hand(spec, (2, 3, 3), w)
    result = cp.prove(spec, (2, 3, 3), matrix=scipy.sparse.csr_array(M), weight=w)
    assert result and result.method == "numeric-exact"
    M[5, 7] += 1
    out, mono, expected, found = _cx(cp.prove(spec, (2, 3, 3), matrix=M, weight=w))
    # row 5 = output (1, 0, 1); col 7 = input (0, 2, 1)
    assert (out, mono) == ((1, 0, 1), "x_{0,2,1}")
    assert found == expected + 1


def _reflect_matrix(w: np.ndarray) -> np.ndarray:
    """4x4 matrix of a 1-D conv, kernel 3, padding 1, reflect mode (row 0 reads x1 x0 x1)."""
    M = np.zeros((4, 4))
    for a in range(4):
        for u in range(3):
            pos = a + u - 1
            pos = -pos if pos < 0 else (6 - pos if pos > 3 else pos)
            M[a, pos] += w[0, 0, u]
    return M


def test_numeric_float_matrix_exact_and_with_rounding() -> None:
    spec = padded_1d("reflect")
    w = np.array([[[0.1, 0.2, 0.7]]])
    shape = (1, 4)
    # row 0 reads (reflect) x1, x0, x1: entry (0, 1) = 0.1 + 0.7 — a float sum
    M = _reflect_matrix(w)
    result = cp.prove(spec, shape, matrix=M, weight=w)
    # float(0.1) + float(0.7) is not a float: the stored sum is rounded, so only the
    # tolerance comparison can pass, and the status says so
    assert Fraction(0.1) + Fraction(0.7) != Fraction(0.1 + 0.7)
    assert result.status == "inconclusive" and not result
    assert result.method == "numeric-tolerance" and "tolerance 1e-12" in (result.reason or "")
    w_exact = np.array([[[0.25, 0.5, 0.25]]])  # 0.25 + 0.25 is exact: proved exactly
    exact = cp.prove(spec, shape, matrix=_reflect_matrix(w_exact), weight=w_exact)
    assert exact and exact.method == "numeric-exact"
    M[2, 2] = 0.5
    assert cp.prove(spec, shape, matrix=M, weight=w).status == "refuted"


def test_numeric_avg_pool_fraction_matrix() -> None:
    spec = cp.PoolSpec(kind="avg", kernel_size=2, ceil_mode=True, ndim=1)
    # [x0 x1 x2] -> [(x0+x1)/2, x2/1]: the ceil-mode overhang is not counted
    M = np.array([[Fraction(1, 2), Fraction(1, 2), 0], [0, 0, Fraction(1)]], dtype=object)
    assert cp.prove(spec, (1, 3), matrix=M).method == "numeric-exact"
    M[1, 2] = Fraction(1, 2)
    assert _cx(cp.prove(spec, (1, 3), matrix=M)) == ((0, 1), "x_{0,2}", 1, Fraction(1, 2))


def test_numeric_bias_vector() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=2, kernel_size=2, ndim=1)
    w = np.array([[[1, 2]], [[3, 4]]])
    M = _numeric_hand(spec, (1, 3), w)
    bias = np.array([5, 7])
    assert cp.prove(spec, (1, 3), matrix=M, weight=w, bias=bias, bias_vector=[5, 5, 7, 7])
    bad = cp.prove(spec, (1, 3), matrix=M, weight=w, bias=bias, bias_vector=[5, 5, 7, 0])
    assert _cx(bad) == ((1, 1), "b_{0}", 7, 0)


# --------------------------------------------------------------------------------------
# user functions
# --------------------------------------------------------------------------------------


def _np_conv1d(x: np.ndarray, w: np.ndarray, b: Any) -> np.ndarray:
    out = np.stack([np.correlate(x[0], w[o, 0], mode="valid") for o in range(w.shape[0])])
    return out if b is None else out + np.asarray(b)[:, None]


def test_function_symbolic_probe_proves() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=2, kernel_size=3, ndim=1)
    result = cp.prove_function(_np_conv1d, spec, (1, 6))
    assert result and result.method == "symbolic-probe"


def test_function_basis_probe_verifies_float_code() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=2, kernel_size=3, ndim=1)

    def floats(x: np.ndarray, w: np.ndarray, b: Any) -> np.ndarray:
        return _np_conv1d(np.asarray(x, dtype=np.float64), np.asarray(w, np.float64), b)

    result = cp.prove_function(floats, spec, (1, 6))
    assert result and result.method == "basis-probe"
    # impulses read a black box completely only if it is bilinear: verified, not proved
    assert result.status == "verified"
    assert "bilinear" in result.assumptions[0]
    assert result.sizes["calls"] == 6 * 6 + 2  # taps x inputs (unbatched) + one per bias
    assert result.checks[-1].method == "random-exact"
    assert result.sizes["random calls"] == 12


def test_function_flipped_kernel_minimal_counterexample() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, bias=False, ndim=1)

    def flipped(x: np.ndarray, w: np.ndarray, b: Any) -> np.ndarray:
        return np.convolve(np.asarray(x[0], float), np.asarray(w[0, 0], float), "valid")[None]

    result = cp.prove_function(flipped, spec, (1, 5))
    # output 0 = x0*w2 + x1*w1 + x2*w0: x0*w0 is missing
    assert _cx(result) == ((0, 0), "x_{0,0}*w_{0,0,0}", 1, 0)


def test_function_pooling_and_not_bilinear() -> None:
    spec = cp.PoolSpec(kind="avg", kernel_size=2, ndim=1)

    def avg(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return (x[:, 0::2] + x[:, 1::2]) / 2

    assert cp.prove_function(avg, spec, (1, 4))

    def shifted(x: np.ndarray) -> np.ndarray:
        return avg(x) + 1.0

    assert cp.prove_function(shifted, spec, (1, 4)).status == "refuted"


def test_function_batched_probe_uses_one_call_per_tap() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False, ndim=1)

    def batched(x: np.ndarray, w: np.ndarray, b: Any) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return np.stack([_np_conv1d(xi, np.asarray(w, float), None) for xi in x])

    result = cp.prove_function(batched, spec, (1, 1, 5))
    assert result and result.method == "basis-probe" and result.sizes["calls"] == 2


# --------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------

SPEC = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False, ndim=1)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: cp.prove("conv", (1, 3)), "spec must be a ConvSpec"),
        (lambda: cp.prove(SPEC, (2, 3)), "channels"),
        (lambda: cp.prove(SPEC, (1, 3), matrix=np.zeros((2, 3))), "weight must be given"),
        (lambda: cp.prove(SPEC, (1, 3), matrix=np.zeros((3, 3)), weight=np.ones((1, 1, 2))),
         "matrix must have shape"),
        (lambda: cp.prove(SPEC, (1, 3), matrix=np.zeros((2, 3)), weight=np.ones(2)),
         "weight must have shape"),
        (lambda: cp.prove(SPEC, (1, 3), matrix=np.zeros(3), weight=np.ones((1, 1, 2))),
         "matrix must be 2-D"),
        (lambda: cp.prove(SPEC, (1, 3), matrix=sympy.zeros(3, 3)), "matrix must have shape"),
        (lambda: cp.prove(cp.PoolSpec(kind="max", kernel_size=2, ndim=1), (1, 4),
                          matrix=np.zeros((2, 4))), "max pooling"),
        (lambda: cp.prove_function(3, SPEC, (1, 3)), "fn must be callable"),
        (lambda: cp.prove_function(lambda x, w, b: np.zeros(5, dtype=object), SPEC, (1, 3)),
         "fn must return an array of shape"),
        (lambda: cp.prove_function(lambda x, w, b: np.zeros((1, 2)), SPEC, (1, 50),
                                   max_calls=10), "max_calls must be at least"),
    ],
)  # fmt: skip
def test_bad_input(call: Any, match: str) -> None:
    with pytest.raises(cp.ConvProofError, match=match):
        call()


# --------------------------------------------------------------------------------------
# benchmark smoke test (the benchmark itself is not run by the tests)
# --------------------------------------------------------------------------------------


def test_benchmark_smoke() -> None:
    bench = load_benchmark("bench_proof")
    rows = bench.bench_seed(1, 1, False, n25=4, n32=5)
    assert [r["case"] for r in rows] == ["3x4x4 -> 5, 3x3 same", "3x5x5 -> 1, 5x5"]
    assert all(r["naive_s"] > 0 and r["prove_s"] > 0 for r in rows)
    vgg = bench.vgg_child(size=6, channels=2)
    assert vgg["status"] == "proved" and vgg["monomials"] == 2 * 3 * 16 * 16 + 2 * 36
    # per axis: 6 outputs x 3 taps - 2 in the padding = 16; bias: one per output


def test_naive_peer_detects_a_wrong_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    bench = load_benchmark("bench_proof")
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False, ndim=1)
    assert bench.naive_prove(spec, (1, 3))
    real = cp.conv_matrix

    def shifted(s: Any, shape: Any, weight: Any = None) -> Any:
        T = real(s, shape, weight)
        return T.T.T * 2

    monkeypatch.setattr(cp, "conv_matrix", shifted)
    assert not bench.naive_prove(spec, (1, 3))


def test_transposed_with_output_padding_at_least_stride() -> None:
    """op < dilation but op >= stride: the transposed conv is the adjoint of only the first
    n rows of the forward conv on its output (the forward conv would have more outputs)."""
    spec = cp.ConvTransposeSpec(
        in_channels=1, out_channels=1, kernel_size=2, stride=1, dilation=2, output_padding=1,
        bias=False, ndim=1,
    )  # fmt: skip
    assert spec.output_shape((1, 3)) == (1, 6)  # (3-1)*1 + 2*(2-1) + 1 + 1
    forward = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, dilation=2, ndim=1)
    assert forward.output_shape((1, 6)) == (1, 4)  # 4 rows, not 3
    assert cp.prove(spec, (1, 3))
    # scatter definition by hand: x_i w_u lands on output i + 2u
    table = cp.coefficient_table(spec, (1, 3))
    assert sorted((row, col, tap) for row, col, tap in table) == sorted(
        (i + 2 * u, i, u) for i in range(3) for u in range(2)
    )


def test_default_path_refutes_a_broken_matrix_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default proof really reads the matrix stage's entries (the block construction
    behind matrix_entries): a broken one is refuted."""
    import convproof.constructions.matrix as cpm

    real = cpm._block_entries

    def broken(*args: Any) -> Any:
        rows, cols, taps, divisors = real(*args)
        taps = taps.copy()
        taps[rows == 1] = taps[rows == 1][::-1]  # row 1: kernel flipped
        return rows, cols, taps, divisors

    monkeypatch.setattr(cpm, "_block_entries", broken)
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False, ndim=1)
    e = cpm.matrix_entries(spec, (1, 4))
    assert e.taps[e.rows == 1].tolist() == [1, 0]  # what the proof reads is matrix_entries
    # row 1 = output (0, 1) reads x1*w0 + x2*w1; flipped: x1*w1 + x2*w0
    assert _cx(cp.prove(spec, (1, 4))) == ((0, 1), "x_{0,1}*w_{0,0,0}", 1, 0)


def test_memory_limit_refuses_before_allocating() -> None:
    spec = cp.ConvSpec(in_channels=64, out_channels=64, kernel_size=3, padding=1)
    # 64 * 512 * 512 outputs x (64 * 9 taps + 1 bias): streamed block by block, but the bias
    # part (80 bytes per output, 1.25 GiB) does not fit in 1 GiB: refused at once
    monomials = 64 * 512 * 512 * (64 * 9 + 1)
    with pytest.raises(cp.MemoryLimitError, match=rf"{monomials:,} monomials block by block.* GiB"):
        cp.prove(spec, (64, 512, 512), max_bytes=2**30)
    # a given matrix is compared at once: 40 bytes per monomial, 4096 x 577 monomials
    small_entries = cp.matrix_entries(spec, (64, 8, 8))
    with pytest.raises(
        cp.MemoryLimitError, match=r"2,363,392 monomials all at once, would need about 90\.2 MiB"
    ):
        cp.prove(spec, (64, 8, 8), matrix=small_entries, max_bytes=2**20)
    small = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3)
    # 6 * 6 outputs x (9 taps + 1 bias) = 360 monomials, about 14 KiB
    with pytest.raises(
        cp.MemoryLimitError, match=r"360 monomials .* KiB, more than max_bytes=100 "
    ):
        cp.prove(small, (1, 8, 8), max_bytes=100)
    with pytest.raises(cp.ConvProofError, match="max_bytes must be a positive integer"):
        cp.prove(small, (1, 8, 8), max_bytes=0)
    assert cp.prove(small, (1, 8, 8), max_bytes=100_000)
