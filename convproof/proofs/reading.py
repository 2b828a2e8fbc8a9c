"""Reading a claimed map into coefficient entries: SymPy matrices and vectors, sparse or dense
numeric matrices, convproof's own matrix entries and bias, and SymPy outputs of a function.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np

from convproof.constructions.coefficients import Entries, concat, reciprocals
from convproof.constructions.definition import Layout
from convproof.errors import ConvProofError

#: Up to this many outputs the library's bias vector is read symbolically (else by probes).
_SYMBOLIC_BIAS_LIMIT = 2_000


# --------------------------------------------------------------------------------------
# the matrix side
# --------------------------------------------------------------------------------------


def entries_from_matrix_entries(me: Any) -> Entries:
    rows = np.asarray(me.rows, dtype=np.int64).reshape(-1)
    cols = np.asarray(me.cols, dtype=np.int64).reshape(-1)
    taps = np.asarray(me.taps, dtype=np.int64).reshape(-1)
    divisors = getattr(me, "divisors", None)
    scale = int(getattr(me, "scale", 1))
    coef = None if divisors is None else reciprocals(np.asarray(divisors).reshape(-1), scale)
    return Entries(rows, cols, taps, coef)


def library_entries(spec: Any, lay: Layout) -> Entries:
    from convproof.constructions import matrix as _matrix

    return entries_from_matrix_entries(_matrix.matrix_entries(spec, lay.in_shape))


def flat_symbols(array: Any) -> list[Any]:
    if array is None:
        return []
    import sympy

    if isinstance(array, sympy.NDimArray):
        flat = getattr(array, "_array", None)  # dense arrays keep their C-order entries
        if isinstance(flat, list | tuple) and len(flat) == len(array):
            return list(flat)
        return list(array.reshape(len(array)))
    shape = tuple(getattr(array, "shape", ()))
    return [array[idx] for idx in itertools.product(*(range(n) for n in shape))]


def symbol_maps(spec: Any, lay: Layout) -> tuple[dict[Any, int], dict[Any, int], dict[Any, int]]:
    """``{symbol: flat index}`` for the layer's X, W and b symbols (from ``layer_symbols``)."""
    from convproof.constructions.sliding_sum import layer_symbols

    syms = layer_symbols(spec, lay.in_shape)
    maps = tuple(
        {s: i for i, s in enumerate(flat_symbols(arr))}
        for arr in (syms.X, getattr(syms, "W", None), getattr(syms, "b", None))
    )
    return maps  # type: ignore[return-value]


def to_fraction(c: Any) -> Fraction | None:
    """An exact SymPy / Python number as a Fraction (``None`` if it is not a number)."""
    import sympy

    if isinstance(c, int | Fraction):
        return Fraction(c)
    c = sympy.sympify(c) if not isinstance(c, sympy.Basic) else c
    if c.is_Rational:
        return Fraction(int(c.p), int(c.q))
    if c.is_Float:
        return Fraction(float(c))
    return None


class Parsed(NamedTuple):
    entries: Entries
    bad: tuple[int, int, str, Any] | None  # smallest (row, col, monomial, coefficient)


def parse_symbolic(
    matrix: Any, lay: Layout, wmap: dict[Any, int], xname: Callable[[int], str]
) -> Parsed:
    """Read a SymPy matrix whose entries are linear in the kernel symbols."""
    import sympy

    rows: list[int] = []
    cols: list[int] = []
    taps: list[int] = []
    coef: list[Fraction] = []
    bad: tuple[int, int, str, Any] | None = None
    dok = matrix.todok() if hasattr(matrix, "todok") else dict(matrix)
    for (r, c), expr in sorted(dok.items()):
        terms = sympy.expand(expr).as_coefficients_dict()
        for term, value in terms.items():
            frac = to_fraction(value)
            tap = -1 if term == 1 else wmap.get(term)
            if frac is None or tap is None:
                if bad is None or (r, c) < bad[:2]:
                    bad = (int(r), int(c), f"{xname(int(c))}*{term}", value)
                continue
            rows.append(int(r))
            cols.append(int(c))
            taps.append(tap)
            coef.append(frac)
    entries = Entries(
        np.asarray(rows, dtype=np.int64),
        np.asarray(cols, dtype=np.int64),
        np.asarray(taps, dtype=np.int64),
        np.array([*coef, None], dtype=object)[:-1],
    )
    return Parsed(entries, bad)


def is_sympy_matrix(m: Any) -> bool:
    try:
        import sympy
    except ImportError:  # pragma: no cover
        return False
    return isinstance(m, sympy.MatrixBase)


def is_entries(m: Any) -> bool:
    return all(hasattr(m, name) for name in ("rows", "cols", "taps")) and not is_sympy_matrix(m)


def bias_from_vector(vector: Any, lay: Layout, bmap: dict[Any, int]) -> Parsed:
    """Parse a symbolic bias vector (entries linear in the b symbols)."""
    import sympy

    items = list(vector) if is_sympy_matrix(vector) else list(np.asarray(vector, object).ravel())
    if len(items) != lay.nrows:
        raise ConvProofError(
            f"bias_vector must have one entry per output element ({lay.nrows}), "
            f"got {len(items)} entries"
        )
    rows: list[int] = []
    cols: list[int] = []
    coef: list[Fraction] = []
    bad: tuple[int, int, str, Any] | None = None
    for r, expr in enumerate(items):
        c = bmap.get(expr) if isinstance(expr, sympy.Symbol) else None
        if c is not None:  # the entry is one b symbol: coefficient 1, nothing to expand
            rows.append(r)
            cols.append(c)
            coef.append(Fraction(1))
            continue
        for term, value in sympy.expand(sympy.sympify(expr)).as_coefficients_dict().items():
            if value == 0:
                continue
            frac = to_fraction(value)
            c = bmap.get(term)
            if frac is None or c is None:
                if bad is None:
                    bad = (r, 0, str(term), value)
                continue
            rows.append(r)
            cols.append(c)
            coef.append(frac)
    ent = Entries(
        np.asarray(rows, dtype=np.int64),
        np.asarray(cols, dtype=np.int64),
        np.full(len(rows), -1, dtype=np.int64),
        np.array([*coef, None], dtype=object)[:-1],
    )
    return Parsed(ent, bad)


def library_bias(spec: Any, lay: Layout) -> Parsed:
    """The matrix stage's bias vector, read exactly (symbolic bias, else basis probes)."""
    from convproof.constructions import matrix as _matrix

    c_out = lay.out_shape[0]
    if lay.nrows <= _SYMBOLIC_BIAS_LIMIT:
        _, _, bmap = symbol_maps(spec, lay)
        vec = _matrix.bias_vector(spec, lay.in_shape)  # symbolic: entries in the b symbols
        return bias_from_vector(vec, lay, bmap)
    rows_l, cols_l, vals_l = [], [], []
    all_ones = True
    for c in range(c_out):  # bias_vector is linear in b: probe with every basis vector
        e = np.zeros(c_out, dtype=np.int64)
        e[c] = 1
        vec = np.asarray(_matrix.bias_vector(spec, lay.in_shape, e)).reshape(-1)
        per = lay.nrows // c_out  # fast path: are the non-zeros exactly channel c's rows?
        whole = np.count_nonzero(vec)
        if whole == per and np.count_nonzero(vec[c * per : (c + 1) * per]) == per:
            hit = np.arange(c * per, (c + 1) * per)  # = np.flatnonzero(vec), known
        else:
            hit = np.flatnonzero(vec)
        rows_l.append(hit)
        cols_l.append(np.full(hit.size, c))
        vals_l.append(vec[hit])
        all_ones = all_ones and not bool(np.any(vec[hit] != 1))
    rows = concat(rows_l)
    # a coefficient other than 1 is read exactly and refuted by the comparison
    coef = None if all_ones else exact_values(np.concatenate(vals_l), "bias_vector")[0]
    return Parsed(Entries(rows, concat(cols_l), np.full(rows.size, -1, dtype=np.int64), coef), None)


# --------------------------------------------------------------------------------------
# numeric matrices (a given weight)
# --------------------------------------------------------------------------------------


def coo_triplets(matrix: Any, lay: Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if hasattr(matrix, "tocoo"):
        coo = matrix.tocoo()
        shape = tuple(coo.shape)
        rows, cols, vals = coo.row, coo.col, np.asarray(coo.data)
    else:
        dense = np.asarray(matrix)
        if dense.ndim != 2:
            raise ConvProofError(
                f"matrix must be 2-D (a SymPy, NumPy or SciPy sparse matrix), "
                f"got matrix with shape {dense.shape}"
            )
        shape = dense.shape
        rows, cols = np.nonzero(dense)
        vals = dense[rows, cols]
    if shape != (lay.nrows, lay.ncols):
        raise ConvProofError(
            f"matrix must have shape ({lay.nrows}, {lay.ncols}) (outputs x inputs of one "
            f"sample), got matrix with shape {shape}"
        )
    return rows.astype(np.int64), cols.astype(np.int64), vals


def exact_values(values: np.ndarray, name: str) -> tuple[np.ndarray, bool]:
    """Values as int64 (integers) or an object array of Fraction; flag: came from floats."""
    values = np.asarray(values)
    if values.dtype.kind in "iub":
        if values.size and int(np.max(np.abs(values.astype(np.int64)))) >= 2**40:
            return np.array([*(Fraction(int(v)) for v in values.ravel()), None], object)[:-1], False
        return values.astype(np.int64).ravel(), False
    if values.dtype.kind == "f":
        if not bool(np.all(np.isfinite(values))):
            raise ConvProofError(f"{name} must be finite, got non-finite values in {name}")
        flat = values.astype(np.float64).ravel()
        out = np.array([*(Fraction(float(v)) for v in flat), None], dtype=object)[:-1]
        return out, True
    if values.dtype == object:
        out_l = []
        for v in values.ravel():
            f = to_fraction(v) if not isinstance(v, float) else Fraction(v)
            if f is None:
                raise ConvProofError(
                    f"{name} must hold numbers (int, Fraction, float, SymPy Rational), got {v!r}"
                )
            out_l.append(f)
        return np.array([*out_l, None], dtype=object)[:-1], any(
            isinstance(v, float) for v in values.ravel()
        )
    raise ConvProofError(f"{name} must be numeric, got dtype {values.dtype}")


def numeric_bias(spec: Any, lay: Layout, bias_vector: Any, bias: Any) -> Entries:
    """A numeric bias vector as entries ``(row, 0, value)``; the definition uses ``bias``."""
    vec = np.asarray(bias_vector).reshape(-1)
    if vec.size != lay.nrows:
        raise ConvProofError(
            f"bias_vector must have one entry per output element ({lay.nrows}), "
            f"got {vec.size} entries"
        )
    vals, _ = exact_values(vec, "bias_vector")
    rows = np.flatnonzero(vals != 0).astype(np.int64)
    return Entries(rows, np.zeros(rows.size, np.int64), np.full(rows.size, -1), vals[rows])


def numeric_bias_definition(spec: Any, lay: Layout, bias: Any) -> Entries:
    if not getattr(spec, "bias", False):
        z = np.zeros(0, dtype=np.int64)
        return Entries(z, z, z, None)
    if bias is None:
        raise ConvProofError(
            "bias must be given with a numeric bias_vector (the values of b), got bias=None"
        )
    b = np.asarray(bias).reshape(-1)
    if b.size != lay.out_shape[0]:
        raise ConvProofError(
            f"bias must have shape ({lay.out_shape[0]},), got bias with shape {np.shape(bias)}"
        )
    bvals, _ = exact_values(b, "bias")
    rows = np.arange(lay.nrows, dtype=np.int64)
    vals = bvals[rows // math.prod(lay.out_shape[1:])]
    return Entries(rows, np.zeros(rows.size, np.int64), np.full(rows.size, -1), vals)


# --------------------------------------------------------------------------------------
# SymPy cross-checks (small layers)
# --------------------------------------------------------------------------------------


def parse_outputs(
    exprs: Sequence[Any], xmap: dict[Any, int], wmap: dict[Any, int], bmap: dict[Any, int]
) -> tuple[Entries, Entries, tuple[int, Any] | None]:
    """Coefficient tables of output expressions: ``x*w`` (or ``x``) monomials and bias terms.

    Returns the weight entries, the bias entries and the first unexpected term (a monomial
    that is neither ``c*x*w``, ``c*x`` nor ``c*b``), if any.
    """
    import sympy

    rows: list[int] = []
    cols: list[int] = []
    taps: list[int] = []
    coef: list[Fraction] = []
    brows: list[int] = []
    bcols: list[int] = []
    bcoef: list[Fraction] = []
    unknown = None
    for r, expr in enumerate(exprs):
        for term, value in sympy.expand(sympy.sympify(expr)).as_coefficients_dict().items():
            if value == 0:
                continue
            powers = term.as_powers_dict()
            xs = [v for v in powers if v in xmap]
            ws = [v for v in powers if v in wmap]
            bs = [v for v in powers if v in bmap]
            frac = to_fraction(value)
            simple = all(e == 1 for e in powers.values()) and frac is not None
            if simple and len(bs) == 1 and len(powers) == 1:
                brows.append(r)
                bcols.append(bmap[bs[0]])
                bcoef.append(frac)  # type: ignore[arg-type]
            elif simple and len(xs) == 1 and len(ws) <= 1 and len(powers) == 1 + len(ws):
                rows.append(r)
                cols.append(xmap[xs[0]])
                taps.append(wmap[ws[0]] if ws else -1)
                coef.append(frac)  # type: ignore[arg-type]
            elif unknown is None:
                unknown = (r, value * term)

    def objects(values: list[Fraction]) -> np.ndarray:
        return np.array([*values, None], dtype=object)[:-1]

    weights = Entries(
        np.asarray(rows, np.int64),
        np.asarray(cols, np.int64),
        np.asarray(taps, np.int64),
        objects(coef),
    )
    biases = Entries(
        np.asarray(brows, np.int64),
        np.asarray(bcols, np.int64),
        np.full(len(brows), -1, dtype=np.int64),
        objects(bcoef),
    )
    return weights, biases, unknown
