"""Checking a matrix that is not convproof's streamed one: a numeric (given-weight) matrix,
an object array, the max-pooling window sets, and the optional SymPy cross-checks.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import replace
from fractions import Fraction
from typing import Any

import numpy as np

from convproof.constructions.coefficients import Entries, Table, canonical, smallest_difference
from convproof.constructions.definition import (
    Chunk,
    DefSlab,
    Layout,
    all_valid,
    bias_definition,
    channel_offsets,
    definition_entries,
    flat_grid,
    materialize,
)
from convproof.errors import ConvProofError
from convproof.layers.spec import PoolSpec
from convproof.proofs.reading import (
    coo_triplets,
    entries_from_matrix_entries,
    exact_values,
    flat_symbols,
    is_entries,
    parse_outputs,
    symbol_maps,
)
from convproof.proofs.result import (
    ProofCounterexample,
    ProofResult,
    compare_entries,
    layer_sizes,
    make_counterexample,
    unravel,
)

_RTOL = 1e-12


def prove_numeric(
    spec: Any, lay: Layout, matrix: Any, weight: Any, t0: float, *, rounded: bool = False
) -> tuple[ProofResult, bool]:
    """Compare a numeric matrix with the definition evaluated at the given weight.

    ``rounded``: the expected values are the exact ones rounded to the nearest float64 (for
    a float matrix of a constant operator, such as average pooling's ``1/divisor``).
    """
    defn = definition_entries(spec, lay.in_shape)
    if lay.weight_shape is not None:
        if weight is None:
            raise ConvProofError(
                "weight must be given with a numeric matrix (the matrix is T(weight)), "
                "got weight=None"
            )
        w = np.asarray(weight)
        if tuple(w.shape) != tuple(lay.weight_shape):
            raise ConvProofError(
                f"weight must have shape {tuple(lay.weight_shape)}, got weight with shape "
                f"{tuple(w.shape)}"
            )
        wvals, wfloat = exact_values(w, "weight")
        vals = wvals[defn.taps]
        if defn.coef is not None:
            vals = vals.astype(object) * defn.coef
    else:
        wfloat = False
        vals = defn.coef if defn.coef is not None else np.ones(defn.rows.size, dtype=np.int64)
    if rounded:
        exact = np.ones(defn.rows.size, dtype=object) * vals  # per entry; folds sum below
        vals = _round_sums(defn.rows, defn.cols, exact, lay.ncols)
        urows, ucols, utaps = _unique_pairs(defn.rows, defn.cols, lay.ncols)
        defn = Entries(urows, ucols, utaps, None)
    rows, cols, mvals = coo_triplets(matrix, lay)
    mexact, mfloat = exact_values(mvals, "matrix")
    no_tap = np.full(rows.size, -1, dtype=np.int64)
    expected = Entries(defn.rows, defn.cols, np.full(defn.rows.size, -1, np.int64), vals)
    found = Entries(rows, cols, no_tap, mexact)
    res = compare_entries(
        "T(weight) = the definition's matrix",
        expected,
        found,
        lay,
        ncols=lay.ncols,
        ntaps=0,
        method="numeric-exact",
        t0=t0,
    )
    if res.status == "proved" or rounded or not (wfloat or mfloat):
        return res, False
    # floats: exact equality failed; accept rounding within a stated tolerance
    a = canonical(expected, lay.nrows, lay.ncols, 0)
    b = canonical(found, lay.nrows, lay.ncols, 0)
    da = {a.decode(i)[:2]: _python_fraction(a.coefficient(i)) for i in range(a.size)}
    db = {b.decode(i)[:2]: _python_fraction(b.coefficient(i)) for i in range(b.size)}
    worst = Fraction(0)
    for key in sorted(set(da) | set(db)):
        e, f = da.get(key, Fraction(0)), db.get(key, Fraction(0))
        scale = max(abs(e), abs(f))
        if abs(e - f) > _RTOL * scale:
            return res, False
        if scale:
            worst = max(worst, abs(e - f) / scale)
    reason = (
        f"floating-point entries: equal to the exact values only within relative tolerance "
        f"{_RTOL:g} (largest relative difference {float(worst):.3g}); exact equality fails at "
        f"{res.counterexample}"
    )
    return replace(
        res, status="inconclusive", method="numeric-tolerance", reason=reason, counterexample=None
    ), True


def _python_fraction(c: Fraction) -> Fraction:
    """``c`` with Python integers (a NumPy int64 numerator overflows in comparisons)."""
    return Fraction(int(c.numerator), int(c.denominator))


def _unique_pairs(rows: np.ndarray, cols: np.ndarray, ncols: int) -> tuple[np.ndarray, ...]:
    keys = np.unique(rows.astype(np.int64) * ncols + cols)
    return keys // ncols, keys % ncols, np.full(keys.size, -1, dtype=np.int64)


def _round_sums(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, ncols: int) -> np.ndarray:
    """Exact sums per ``(row, col)`` (in ``_unique_pairs`` order), rounded to float64."""
    keys = rows.astype(np.int64) * ncols + cols
    order = np.argsort(keys, kind="stable")
    _, starts = np.unique(keys[order], return_index=True)
    sums = np.add.reduceat(vals[order], starts) if keys.size else vals[:0]
    return np.array([*(Fraction(float(Fraction(v))) for v in sums), None], dtype=object)[:-1]


# --------------------------------------------------------------------------------------
# prove
# --------------------------------------------------------------------------------------


def _pattern_windows(spec: PoolSpec, lay: Layout) -> Entries:
    """Window entries from :func:`~convproof.constructions.index.axis_patterns` (matrix route)."""
    from convproof.constructions.index import axis_patterns

    patterns = axis_patterns(spec, lay.in_shape)
    channels = lay.in_shape[0]
    p_out, p_in = math.prod(lay.out_shape[1:]), math.prod(lay.in_shape[1:])
    c = np.arange(channels, dtype=np.int64)
    chunks = []
    for u in itertools.product(*(range(k) for k in spec.kernel_size)):
        idx = [np.asarray(pat.index)[:, ui].astype(np.int64) for pat, ui in zip(patterns, u)]
        pos = np.flatnonzero(all_valid([i >= 0 for i in idx]))
        inflat = flat_grid([np.maximum(i, 0) for i in idx], lay.in_shape[1:])[pos]
        chunks.append(Chunk(c * p_out, pos, c * p_in, inflat, np.full(channels, -1)))
    return materialize(chunks)


def max_pool_proof(spec: PoolSpec, lay: Layout, matrix: Any, t0: float) -> ProofResult:
    """Max pooling is not linear; prove the window *sets* (which inputs feed which output)."""
    if matrix is not None and not is_entries(matrix):
        raise ConvProofError(
            "matrix must be None or window entries for max pooling (it is not linear and has "
            "no matrix), got a matrix"
        )
    defn = definition_entries(spec, lay.in_shape)
    defn = Entries(defn.rows, defn.cols, defn.taps, None)
    me = _pattern_windows(spec, lay) if matrix is None else matrix
    found = entries_from_matrix_entries(me)
    # a window is a set: keep each (output, input) pair once
    found = Entries(found.rows, found.cols, np.full(found.rows.size, -1, np.int64), None)
    a = canonical(defn, lay.nrows, lay.ncols, 0)
    b = canonical(found, lay.nrows, lay.ncols, 0)
    b = Table(b.columns, None, b.ncols, b.ntaps)
    diff = smallest_difference(a, b)
    statement = "every max-pooling window reads exactly the definition's input elements"
    sizes = layer_sizes(spec, lay)
    note = (
        "max pooling is not linear, so there is no matrix to compare; this proves the index "
        "structure (the set of inputs of every window; -inf padding never wins)"
    )
    seconds = time.perf_counter() - t0
    if diff is None:
        return ProofResult(
            "proved", "window-sets", statement, seconds, a.size, sizes, reason=note,
            scope={
                "per sample": f"input {lay.in_shape} -> output {lay.out_shape}",
                "claim": "which inputs each window reads (index structure), not max values",
            },
        )  # fmt: skip
    (row, col, _), e, f = diff
    cx = make_counterexample(lay, row, col, -1, int(e != 0), int(f != 0))
    return ProofResult("refuted", "window-sets", statement, seconds, a.size, sizes, cx, reason=note)


def with_unreadable(
    result: ProofResult, bad: tuple[int, int, str, Any] | None, lay: Layout
) -> ProofResult:
    """Refute ``result`` with a term its parser could not read (none may disappear)."""
    if bad is None:
        return result
    row, _, term, value = bad
    if result.counterexample is not None and result.counterexample.output <= unravel(
        row, lay.out_shape
    ):
        return result
    cx = ProofCounterexample(unravel(row, lay.out_shape), str(term), Fraction(0), value)
    return replace(
        result,
        status="refuted",
        counterexample=cx,
        reason=f"term {term} (coefficient {value}) is not of the form c*b[c_out]",
    )


#: Up to this many monomials :func:`prove` also checks the CSR that ``conv_matrix`` returns.
_OBJECT_CHECK_LIMIT = 2_000_000


def library_object_check(
    spec: Any,
    lay: Layout,
    monomials: int,
    scope: dict[str, Any],
    blocks: list[tuple[int, int, DefSlab]] | None = None,
) -> ProofResult:
    """The object users receive: ``conv_matrix``'s CSR, assembled for a generic weight.

    The coefficient table proves ``matrix_entries`` for every weight; this checks the
    assembly of the returned ``scipy.sparse`` matrix exactly, at distinct random 31-bit
    integer weights (average pooling: entries equal to the exact ``1/divisor`` rounded to
    the nearest float64).  ``blocks``: the definition's blocks kept by the streaming proof
    (:func:`~convproof.proofs.streaming.stream_compare`), reused instead of rebuilt.  Three
    exact comparisons, each sufficient on its own, the cheapest first: stored entry by
    stored entry in the definition's order (:func:`_entrywise`); the definition's
    canonical CSR arrays, sorted and summed (folded taps, the transposed conv's order);
    else the entry comparison of :func:`prove_numeric`, which decides every other case
    (a non-canonical CSR, float values, a difference) and names the smallest difference.
    """
    from convproof.constructions import matrix as _matrix

    t0 = time.perf_counter()
    key = "conv_matrix (scipy.sparse)"
    if monomials > _OBJECT_CHECK_LIMIT:
        scope[key] = (
            f"not checked (over {_OBJECT_CHECK_LIMIT:,} monomials); the claim covers "
            f"matrix_entries, from which conv_matrix assembles it"
        )
        return ProofResult("proved", "object-skipped", "conv_matrix CSR: not part of the claim")
    pool = lay.weight_shape is None
    if pool:
        w = None
        scope[key] = "float64 entries = the exact coefficients rounded to nearest, compared exactly"
        statement = "conv_matrix (float64 CSR) = the definition, rounded"
    else:
        rng = np.random.default_rng(0)
        w = rng.integers(1, 2**31, size=lay.weight_shape, dtype=np.int64)
        scope[key] = "assembled at random distinct integer weights, exact"
        statement = "conv_matrix(weight) (CSR) = the definition at that weight"
    try:
        if w is None:
            m = _matrix.conv_matrix(spec, lay.in_shape, dtype=np.float64)
        else:
            m = _matrix.conv_matrix(spec, lay.in_shape, w)
    except (ValueError, IndexError) as exc:
        return _object_failed(exc, t0)
    if _entrywise(spec, lay, blocks, monomials, m, w):
        seconds = time.perf_counter() - t0
        return ProofResult("proved", "object-exact", statement, seconds, monomials)
    expected = _definition_csr(spec, lay, blocks, monomials, w)
    if expected is not None and _same_csr(m, expected, lay):
        seconds = time.perf_counter() - t0
        size = int(expected[1].size)
        return ProofResult("proved", "object-exact", statement, seconds, size)
    res, _ = prove_numeric(spec, lay, m, w, t0, rounded=pool)
    return replace(res, method="object-exact", statement=statement)


def _entrywise(
    spec: Any,
    lay: Layout,
    blocks: list[tuple[int, int, DefSlab]] | None,
    monomials: int,
    m: Any,
    weight: np.ndarray | None,
) -> bool:
    """Stored entry ``j`` of the CSR ``m`` is the definition's entry ``j`` (row, column and
    value; the blocks channel-major), and ``m`` stores nothing else.

    Then ``m``, the sum of its stored entries, is the definition's matrix at ``weight``.
    One pass, no sort, channel by channel.  ``False`` (another order, summed folded taps, a
    difference) leaves the decision to the other comparisons.
    """
    if not blocks or getattr(m, "format", None) != "csr":
        return False
    indptr, indices, data = (np.asarray(a) for a in (m.indptr, m.indices, m.data))
    if (
        tuple(m.shape) != (lay.nrows, lay.ncols)
        or indptr.shape != (lay.nrows + 1,)
        or not indices.size == data.size == monomials
        or indptr[0] != 0
        or indptr[-1] != monomials
        or bool(np.any(indptr[1:] < indptr[:-1]))
    ):
        return False
    if weight is None:
        if data.dtype != np.float64:
            return False
    elif data.dtype.kind != "i":
        return False
    wflat = None if weight is None else weight.reshape(-1)
    pos = 0
    for c0, c1, d in sorted(blocks, key=lambda b: b[0]):  # channel-major (stable in slabs)
        off = channel_offsets(spec, lay, c0, c1)
        n = d.rows.size
        if wflat is None:
            if d.divs is None or not bool(np.all(d.divs > 0)):
                return False
            values = float(d.scale) / d.divs.astype(np.float64)  # correctly rounded
        if not _rows_match(indptr, d.rows, off.rows, pos):
            return False
        for k in range(c1 - c0):  # one channel at a time: the arrays stay in the caches
            end = pos + n
            if wflat is not None:
                values = wflat[d.taps + off.taps[k]]
            if not (
                np.array_equal(indices[pos:end], d.cols + off.cols[k])
                and np.array_equal(data[pos:end], values)
            ):
                return False
            pos = end
    return pos == monomials


def _rows_match(indptr: np.ndarray, rows: np.ndarray, offsets: np.ndarray, pos: int) -> bool:
    """The stored entries ``pos + k*n + i`` of a CSR with row pointers ``indptr`` (non-
    decreasing) lie in rows ``rows[i] + offsets[k]`` (``n = rows.size``; ``rows`` sorted):
    every row pointer from ``rows[0]`` to ``rows[-1] + 1`` of every channel ``k`` is where
    the sorted rows put it."""
    n = rows.size
    if n == 0:
        return True
    if not bool(np.all(rows[1:] >= rows[:-1])) or rows[-1] + offsets.max() + 1 >= indptr.size:
        return False
    span = np.arange(rows[0], rows[-1] + 2)  # the channel's rows and the one after
    starts = pos + np.searchsorted(rows, span)  # entries of the channel before each row
    k = np.arange(offsets.size)[:, None]
    return bool(np.array_equal(indptr[span[None, :] + offsets[:, None]], starts + k * n))


def _definition_csr(
    spec: Any,
    lay: Layout,
    blocks: list[tuple[int, int, DefSlab]] | None,
    monomials: int,
    weight: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The definition's matrix at ``weight`` (pooling: rounded to float64) as canonical CSR
    arrays ``(indptr, indices, data)``, from the streaming proof's blocks.

    ``None`` when the blocks do not hold all ``monomials`` entries, the keys could
    overflow, or a pooling entry sums windows with different divisors.
    """
    if not blocks or lay.nrows * max(lay.ncols, 1) >= 2**62:
        return None
    parts: list[tuple[np.ndarray, ...]] = []
    for c0, c1, d in sorted(blocks, key=lambda b: b[0]):  # channel-major (stable in slabs)
        off = channel_offsets(spec, lay, c0, c1)
        parts.append(
            (
                (d.rows[None, :] + off.rows[:, None]).ravel(),
                (d.cols[None, :] + off.cols[:, None]).ravel(),
                (d.taps[None, :] + off.taps[:, None]).ravel(),
                np.tile(d.divs, c1 - c0) if d.divs is not None else np.zeros(0, np.int64),
            )
        )
    rows, cols, taps, divs = (np.concatenate(a).astype(np.int64) for a in zip(*parts))
    scales = {d.scale for _, _, d in blocks}  # the layer's one numerator (Lp: prod(k))
    if rows.size != monomials or len(scales) != 1:
        return None
    if weight is None:
        if divs.size != rows.size or not bool(np.all(divs > 0)):
            return None
        vals = np.full(rows.size, scales.pop(), dtype=np.int64)
    else:
        vals = weight.reshape(-1)[taps]
    keys = rows * lay.ncols + cols
    if keys.size > 1 and not bool(np.all(keys[1:] > keys[:-1])):
        # folded taps or a scatter form: sort, and sum every (row, col) pair's values
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
        vals = np.add.reduceat(vals[order], starts)
        if weight is None:
            divs = divs[order]
            if not np.array_equal(
                np.minimum.reduceat(divs, starts), np.maximum.reduceat(divs, starts)
            ):
                return None
            divs = divs[starts]
        keys = keys[starts]
    data: np.ndarray = vals  # int64 values (conv); for pooling, scale times window counts
    if weight is None:  # over the divisor in float64 (IEEE division of integers: rounded once)
        data = vals.astype(np.float64) / divs.astype(np.float64)
    indptr = np.zeros(lay.nrows + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys // lay.ncols, minlength=lay.nrows), out=indptr[1:])
    return indptr, keys % lay.ncols, data


def _same_csr(m: Any, expected: tuple[np.ndarray, ...], lay: Layout) -> bool:
    """``m`` is a CSR matrix whose arrays equal ``expected`` exactly (values compared
    without rounding); ``False`` leaves the decision to the exact entry comparison."""
    indptr, indices, data = expected
    if getattr(m, "format", None) != "csr" or tuple(m.shape) != (lay.nrows, lay.ncols):
        return False
    if not (np.array_equal(m.indptr, indptr) and np.array_equal(m.indices, indices)):
        return False
    found = np.asarray(m.data)
    if data.dtype == np.float64:  # pooling: float64 against the correctly rounded values
        return found.dtype == np.float64 and np.array_equal(found, data)
    if found.dtype.kind == "i" or (found.dtype.kind == "u" and found.dtype.itemsize < 8):
        return np.array_equal(found.astype(np.int64), data)
    if found.dtype.kind == "f" and (not data.size or int(np.max(np.abs(data))) < 2**53):
        return np.array_equal(found.astype(np.float64), data.astype(np.float64))
    return False


def _object_failed(exc: Exception, t0: float) -> ProofResult:
    """conv_matrix could not even build the object: the claim about it is refuted."""
    return ProofResult(
        "refuted",
        "object-exact",
        "conv_matrix builds the matrix",
        time.perf_counter() - t0,
        reason=f"conv_matrix raised {type(exc).__name__}: {exc}",
    )


def sympy_crosschecks(spec: Any, lay: Layout, defn: Table) -> list[ProofResult]:
    import sympy

    from convproof.constructions import matrix as _matrix
    from convproof.constructions.sliding_sum import layer_symbols, sliding_sum

    t0 = time.perf_counter()
    xmap, wmap, bmap = symbol_maps(spec, lay)
    z = flat_symbols(sliding_sum(spec, lay.in_shape))
    found, bfound, unknown = parse_outputs(z, xmap, wmap, bmap)
    first = compare_entries(
        "sliding_sum (SymPy) = the definition's table",
        defn,
        found,
        lay,
        ncols=lay.ncols,
        ntaps=lay.ntaps,
        method="sympy-coefficients",
        t0=t0,
    )
    if first and getattr(spec, "bias", False):
        bias_check = compare_entries(
            "bias",
            bias_definition(spec, lay),
            bfound,
            lay,
            ncols=lay.out_shape[0],
            ntaps=0,
            method="sympy-coefficients",
            bias=True,
        )
        if not bias_check:
            first = replace(first, status="refuted", counterexample=bias_check.counterexample)
    if unknown is not None:
        first = replace(
            first,
            status="refuted",
            reason=f"unexpected term {unknown[1]} in output row {unknown[0]} of sliding_sum",
        )
    out = [first]
    # row-by-row expand(T x + b - Z) == 0 with the symbolic conv_matrix
    t1 = time.perf_counter()
    syms = layer_symbols(spec, lay.in_shape)
    xs = sympy.Matrix(flat_symbols(syms.X))
    t_sym = _matrix.conv_matrix(spec, lay.in_shape)
    tx = t_sym * xs
    if getattr(spec, "bias", False):
        bvec = list(
            np.asarray(
                _matrix.bias_vector(
                    spec, lay.in_shape, np.array([*flat_symbols(syms.b), None], dtype=object)[:-1]
                ),
                dtype=object,
            ).reshape(-1)
        )
    else:
        bvec = [0] * lay.nrows
    bad_row = None
    for r in range(lay.nrows):
        if sympy.expand(tx[r] + bvec[r] - z[r]) != 0:
            bad_row = r
            break
    seconds = time.perf_counter() - t1
    stmt = "expand(T x + bias - sliding_sum) == 0, row by row"
    if bad_row is None:
        out.append(ProofResult("proved", "sympy-expand", stmt, seconds, 0, {"rows": lay.nrows}))
    else:
        out.append(
            ProofResult(
                "refuted",
                "sympy-expand",
                stmt,
                seconds,
                lay.nrows,
                reason=f"row {bad_row} ({unravel(bad_row, lay.out_shape)}) does not cancel",
            )
        )
    return out
