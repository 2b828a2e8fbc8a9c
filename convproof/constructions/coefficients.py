"""Canonical coefficient tables: polynomials ``sum c * X[col] * W[tap]`` per output ``row``.

A proof brings both sides to this form (duplicate monomials summed, zero coefficients
dropped, sorted by one composite integer key) and compares the arrays; two polynomials are
equal iff their canonical tables are.  This module only stores and compares tables: it knows
nothing of layers, so both the definition (:mod:`convproof.constructions.definition`) and the
proofs use it.

Examples
--------
>>> import numpy as np
>>> from convproof.constructions.coefficients import Entries, canonical
>>> rows, cols, taps = np.array([1, 0, 1]), np.array([2, 0, 2]), np.array([0, 0, 0])
>>> canonical(Entries(rows, cols, taps, None), 2, 3, 1).size   # (1, 2, 0) twice: summed
2
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from convproof.errors import ConvProofError


class Entries(NamedTuple):
    """Unsorted monomial entries ``coef * X[col] * W[tap]`` of output ``row``.

    ``tap == -1`` means no kernel symbol (average pooling).  ``coef`` is ``None`` (all
    ones), an int64 array, or an object array of ``Fraction``.
    """

    rows: np.ndarray
    cols: np.ndarray
    taps: np.ndarray
    coef: np.ndarray | None


def concat(parts: list[np.ndarray]) -> np.ndarray:
    if not parts:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate(parts).astype(np.int64, copy=False)


def reciprocals(divisors: np.ndarray, scale: int = 1) -> np.ndarray | None:
    """``scale/divisors`` as an object array of ``Fraction`` (``None`` when all are 1).

    ``scale`` is the constant numerator of a pool's windows (``prod(kernel_size)`` for the
    linear Lp pool, else 1).
    """
    divisors = np.asarray(divisors, dtype=np.int64)
    if divisors.size == 0 or bool(np.all(divisors == scale)):
        return None
    if bool(np.any(divisors <= 0)):
        raise ConvProofError(f"divisors must be >= 1, got min(divisors)={int(divisors.min())}")
    uniq, inv = np.unique(divisors, return_inverse=True)
    table = np.array([Fraction(scale, int(d)) for d in uniq] + [None], dtype=object)[:-1]
    return table[inv.reshape(-1)]


# --------------------------------------------------------------------------------------
# canonical coefficient tables
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """Sorted, duplicate-free monomials with non-zero coefficients.

    ``key = (row * ncols + col) * (ntaps + 1) + (tap + 1)`` when that fits in int64 (then
    ``cols`` / ``taps`` are ``None`` and ``rows`` holds the key), else the three columns
    sorted lexicographically.  ``coef`` is ``None`` when every coefficient is 1.
    """

    columns: tuple[np.ndarray, ...]
    coef: np.ndarray | None
    ncols: int
    ntaps: int

    @property
    def size(self) -> int:
        return int(self.columns[0].size)

    def decode(self, i: int) -> tuple[int, int, int]:
        if len(self.columns) == 3:
            return tuple(int(c[i]) for c in self.columns)  # type: ignore[return-value]
        key = int(self.columns[0][i])
        rc, tap = divmod(key, self.ntaps + 1)
        row, col = divmod(rc, self.ncols)
        return row, col, tap - 1

    def coefficient(self, i: int) -> Fraction:
        if self.coef is None:
            return Fraction(1)
        return Fraction(self.coef[i])


def key_fits(nrows: int, ncols: int, ntaps: int) -> bool:
    return nrows * ncols * (ntaps + 1) < 2**63


def canonical(entries: Entries, nrows: int, ncols: int, ntaps: int) -> Table:
    """Aggregate duplicate monomials, drop zero coefficients, sort (the canonical form)."""
    rows, cols, taps, coef = entries
    if key_fits(nrows, ncols, ntaps):
        # entries grouped by row (the matrix stage emits them so) are nearly sorted: timsort
        by_row = rows.size < 2 or bool(np.all(rows[1:] >= rows[:-1]))
        key = rows.astype(np.int64, copy=True)
        key *= ncols
        key += cols
        key *= ntaps + 1
        key += taps
        key += 1
        return canonical_keys(key, coef, ncols, ntaps, runs=by_row)
    order = np.lexsort((taps, cols, rows))
    columns = (rows[order], cols[order], taps[order])
    return _aggregate(columns, None if coef is None else coef[order], ncols, ntaps)


def canonical_keys(
    key: np.ndarray, coef: np.ndarray | None, ncols: int, ntaps: int, *, runs: bool = False
) -> Table:
    """Sort composite keys (in place when there are no coefficients) and aggregate.

    ``runs``: the keys are long sorted runs (timsort merges them in near-linear time).
    """
    if coef is None:
        if key.size < 2 or bool(np.all(key[1:] > key[:-1])):
            return Table((key,), None, ncols, ntaps)  # strictly increasing: no duplicates
        key.sort(kind="stable" if runs else None)
        return _aggregate((key,), None, ncols, ntaps)
    order = np.argsort(key, kind="stable")
    return _aggregate((key[order],), coef[order], ncols, ntaps)


def _aggregate(
    columns: tuple[np.ndarray, ...], coef: np.ndarray | None, ncols: int, ntaps: int
) -> Table:
    n = columns[0].size
    if n:
        change = np.empty(n, dtype=bool)
        change[0] = True
        np.not_equal(columns[0][1:], columns[0][:-1], out=change[1:])
        for col in columns[1:]:
            change[1:] |= col[1:] != col[:-1]
        if not bool(change.all()):  # duplicate monomials: sum their coefficients
            starts = np.flatnonzero(change)
            columns = tuple(col[starts] for col in columns)
            if coef is None:
                coef = np.diff(np.append(starts, n)).astype(np.int64)
            else:
                coef = np.add.reduceat(coef, starts)
        del change
    if coef is not None:
        if coef.dtype == object:
            coef = np.array([*(Fraction(v) for v in coef), None], dtype=object)[:-1]
        keep = coef != 0
        if not bool(np.all(keep)):
            columns = tuple(col[keep] for col in columns)
            coef = coef[keep]
        if bool(np.all(coef == 1)):
            coef = None
    return Table(columns, coef, ncols, ntaps)


def _coef_equal(a: np.ndarray | None, b: np.ndarray | None, n: int) -> np.ndarray | None:
    """Elementwise ``a[:n] != b[:n]`` for coefficient arrays (``None`` = all ones)."""
    if a is None and b is None:
        return None
    if a is None:
        return np.asarray(b[:n] != 1, dtype=bool)  # type: ignore[index]
    if b is None:
        return np.asarray(a[:n] != 1, dtype=bool)
    return np.asarray(a[:n] != b[:n], dtype=bool)


def first_difference(a: Table, b: Table) -> int | None:
    """Index of the first row where the sorted tables differ (``None`` if identical)."""
    n = min(a.size, b.size)
    if len(a.columns) == len(b.columns):
        same = a.size == b.size and all(
            np.array_equal(ca, cb) for ca, cb in zip(a.columns, b.columns)
        )
        if same:
            diff_coef = _coef_equal(a.coef, b.coef, n)
            if diff_coef is None or not bool(diff_coef.any()):
                return None
            return int(np.flatnonzero(diff_coef)[0])
        diff = a.columns[0][:n] != b.columns[0][:n]
        for ca, cb in zip(a.columns[1:], b.columns[1:]):
            diff |= ca[:n] != cb[:n]
        diff_coef = _coef_equal(a.coef, b.coef, n)
        if diff_coef is not None:
            diff |= diff_coef
        hits = np.flatnonzero(diff)
        if hits.size:
            return int(hits[0])
        return None if a.size == b.size else n
    for i in range(n):  # pragma: no cover - mixed encodings only for enormous layers
        if a.decode(i) != b.decode(i) or a.coefficient(i) != b.coefficient(i):
            return i
    return None if a.size == b.size else n


def smallest_difference(
    expected: Table, found: Table
) -> tuple[tuple[int, int, int], Fraction, Fraction] | None:
    """The smallest monomial whose coefficient differs: ``((row, col, tap), expected, found)``."""
    i = first_difference(expected, found)
    if i is None:
        return None
    e = expected.decode(i) if i < expected.size else None
    f = found.decode(i) if i < found.size else None
    if e is not None and (f is None or e < f):
        return e, expected.coefficient(i), Fraction(0)
    if f is not None and (e is None or f < e):
        return f, Fraction(0), found.coefficient(i)
    assert e is not None
    return e, expected.coefficient(i), found.coefficient(i)
