"""Concrete proofs: the conv matrix (or yours) *is* the sliding-window sum, exactly.

Both sides of ``vec(Z) = T vec(X) + bias`` are polynomials in the input symbols ``X``, the
kernel symbols ``W`` and the bias symbols ``b``: every output is a sum of monomials
``c * X[i] * W[t]`` (``c`` a rational; for average pooling ``c * X[i]``) plus ``b[c_out]``.
Two such polynomials are equal iff their coefficient tables are equal, so :func:`prove`
builds both tables as NumPy arrays, brings them to a canonical form (duplicate monomials
summed, zeros dropped, sorted by one composite integer key) and compares them with array
equality.  No floating point is involved and no SymPy expression is built for large cases.

Convproof's own matrix is compared *block by block* (a range of channels times a slab of
the first spatial axis, about 131 k entries): both sides list a block's monomials in the
same order (output, input channel, tap), so equal lists prove the block with one pass and
no sort; a block that differs is compared exactly (canonical tables) and the smallest
difference over all blocks is the counterexample.  Memory stays at one block, so whole
networks are provable (ResNet-50's 53 conv layers at 224x224, about 4 G monomials, in
seconds: see ``benchmarks/bench_prove_networks.py``); :func:`convproof.prove_network` proves
every layer of a network.

=========================  ===========================================================
side                       built from
=========================  ===========================================================
definition                 this module's own index arithmetic, straight from the
                           definition (gather form for convolution and pooling, scatter
                           form for the transposed convolution), padding modes included
matrix                     :func:`convproof.constructions.matrix.matrix_entries` (per-axis index
                           patterns combined by Kronecker structure), or *your* matrix
=========================  ===========================================================

A failed proof is a result, not an exception: :class:`ProofResult` with ``status ==
"refuted"`` and the smallest counterexample (which output, which monomial, expected vs
found coefficient).  :func:`prove_function` checks a conv *function* the same way.

Examples
--------
>>> import convproof as cp
>>> spec = cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3, padding="same")
>>> result = cp.prove(spec, (3, 25, 25))
>>> bool(result), result.status, result.method
(True, 'proved', 'coefficient-table')
>>> result.checks[0].monomials   # 5 x 3 channel pairs x 73**2 (output, tap) pairs
79935
"""

from __future__ import annotations

import contextvars
import itertools
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np

from convproof.errors import ConvProofError, MemoryLimitError, human_bytes
from convproof.layers.padding import numpy_pad_read
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec
from convproof.settings import LIMIT_HINT, resolve_max_bytes

__all__ = [
    "ProofCounterexample",
    "ProofResult",
    "coefficient_table",
    "prove",
    "prove_function",
]

_STATUSES = ("proved", "verified", "refuted", "inconclusive")
#: Above this many monomials the optional SymPy cross-check is skipped by default.
_CROSSCHECK_LIMIT = 600
#: Up to this many outputs the library's bias vector is read symbolically (else by probes).
_SYMBOLIC_BIAS_LIMIT = 2_000
# Peak bytes per monomial of a coefficient-table proof: both sides' keys and coefficients,
# the matrix entries and the sort's scratch (VGG's first layer: 89.4 M monomials, 3.38 GB).
_BYTES_PER_MONOMIAL = 40


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProofCounterexample:
    """Where a claimed map and the definition differ: one output, one monomial.

    Attributes
    ----------
    output : tuple of int
        Output multi-index ``(c_out, *position)`` (per sample; the batch axis is dropped).
    monomial : str
        The monomial whose coefficient differs, named like the symbols of
        :func:`convproof.layer_symbols`: ``"x_{0,1,2}*w_{3,0,1,1}"``, ``"x_{0,4}"``
        (average pooling, or a numeric matrix) or ``"b_{2}"`` (bias).
    input : tuple of int or None
        Input multi-index ``(c_in, *position)`` of the monomial (``None`` for a bias term).
    weight : tuple of int or None
        Weight multi-index (PyTorch layout) of the monomial, ``None`` if it has none.
    expected, found
        The coefficient in the definition and in the claimed map (``Fraction`` when exact;
        for numeric matrices the entry values).
    """

    output: tuple[int, ...]
    monomial: str
    expected: Any
    found: Any
    input: tuple[int, ...] | None = None
    weight: tuple[int, ...] | None = None

    def __str__(self) -> str:
        out = ", ".join(map(str, self.output))
        return (
            f"output [{out}]: coefficient of {self.monomial} is {_fmt_value(self.found)}, "
            f"the definition says {_fmt_value(self.expected)}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; exact coefficients become strings such as ``"1/9"``."""
        return {
            "output": list(self.output),
            "monomial": self.monomial,
            "input": None if self.input is None else list(self.input),
            "weight": None if self.weight is None else list(self.weight),
            "expected": _json_value(self.expected),
            "found": _json_value(self.found),
        }


def _fmt_value(v: Any) -> str:
    if isinstance(v, Fraction) and v.denominator == 1:
        return str(v.numerator)
    return str(v)


def _json_value(v: Any) -> Any:
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, int | np.integer):
        return int(v)
    if isinstance(v, Fraction):
        return str(v.numerator) if v.denominator == 1 else str(v)
    if isinstance(v, float | np.floating):
        return float(v)
    return str(v)


def _json(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _json(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_json(x) for x in v]
    if hasattr(v, "to_dict"):
        return v.to_dict()
    if isinstance(v, str | bool) or v is None:
        return v
    return _json_value(v)


@dataclass(frozen=True)
class ProofResult:
    """The outcome of a proof: truthy iff proved, with a printable certificate.

    Attributes
    ----------
    status : {"proved", "verified", "refuted", "inconclusive"}
        ``"proved"``: a symbolic identity, or an exact comparison that covers the whole
        claim.  ``"verified"``: exact checks passed, but the claim rests on the stated
        ``assumptions`` (a black-box function assumed bilinear, a theorem checked on a
        finite grid).  ``"refuted"``: ``counterexample`` shows where the claim fails.
        ``"inconclusive"``: neither could be established (``reason`` says why).
    method : str
        ``"coefficient-table"`` (canonical coefficient tables, NumPy), ``"sympy-expand"``
        (small cases, row by row), ``"window-sets"`` (max pooling: the windows),
        ``"numeric-exact"`` / ``"numeric-tolerance"`` (a numeric matrix for given weights),
        ``"symbolic-probe"`` / ``"basis-probe"`` (a user function),
        ``"symbolic-delta-summation"`` (symbolic sizes, :func:`prove_general`).
    statement : str
        What was proved (or refuted).
    seconds : float
        Wall time.
    monomials : int
        Number of monomials (table entries) compared.
    sizes : dict
        Shapes and counts (input, output, matrix size, kernel symbols ...).
    counterexample : ProofCounterexample or None
        The smallest difference when refuted.
    reason : str or None
        Why the result is inconclusive, or a note on the method.
    checks : tuple of ProofResult
        Sub-proofs (bias, cross-checks, the parts of a general proof).
    spot_check : dict or None
        For general proofs: the numeric spot-check of the derived identity.
    steps : tuple of str
        For general proofs: the derivation, one step per line.
    scope : dict
        What the verdict covers: shapes (per sample and batch), which parts of the claim
        (e.g. ``"bias": "not part of the claim"``), parameter ranges.
    assumptions : tuple of str
        What the verdict rests on beyond exact arithmetic; empty for a full proof.
    conditions : tuple of str
        For general (symbolic-size) results: the conditions under which the identity holds.
    """

    status: str
    method: str
    statement: str
    seconds: float = 0.0
    monomials: int = 0
    sizes: dict[str, Any] = field(default_factory=dict)
    counterexample: ProofCounterexample | None = None
    reason: str | None = None
    checks: tuple[ProofResult, ...] = ()
    spot_check: dict[str, Any] | None = None
    steps: tuple[str, ...] = ()
    scope: dict[str, Any] = field(default_factory=dict)
    assumptions: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.status not in _STATUSES:  # pragma: no cover - internal misuse
            raise ConvProofError(
                f"status must be one of {', '.join(map(repr, _STATUSES))}, "
                f"got status={self.status!r}"
            )

    def __bool__(self) -> bool:
        return self.status in ("proved", "verified")

    @property
    def proved(self) -> bool:
        """``True`` iff the status is ``"proved"`` (``bool(result)`` also accepts verified)."""
        return self.status == "proved"

    def _lines(self, indent: str = "") -> list[str]:
        lines = [f"{indent}{self.status.upper()}: {self.statement}"]
        pad = indent + "  "
        lines.append(f"{pad}method:   {self.method}")
        for key, value in self.sizes.items():
            lines.append(f"{pad}{key + ':':<9} {value}")
        if self.monomials:
            unit = "(output, input) pairs" if self.method == "window-sets" else "monomials"
            lines.append(f"{pad}compared: {self.monomials} {unit}")
        for step in self.steps:
            lines.append(f"{pad}step:     {step}")
        if self.spot_check is not None:
            sc = self.spot_check
            verdict = "passed" if sc.get("passed") else "FAILED"
            lines.append(
                f"{pad}spot-check: {verdict} at {sc.get('cases', '?')} random concrete cases "
                f"(seed {sc.get('seed', '?')}, exact integers)"
            )
        for cond in self.conditions:
            lines.append(f"{pad}condition: {cond}")
        for key, value in self.scope.items():
            lines.append(f"{pad}covers:   {key}: {value}")
        for assumption in self.assumptions:
            lines.append(f"{pad}assumes:  {assumption}")
        if self.counterexample is not None:
            lines.append(f"{pad}counterexample: {self.counterexample}")
        if self.reason:
            lines.append(f"{pad}note:     {self.reason}")
        for check in self.checks:
            lines.extend(check._lines(pad))
        if not indent:
            lines.append(f"{pad}time:     {self.seconds:.3f} s")
        return lines

    def __str__(self) -> str:
        return "\n".join(self._lines())

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython shows the certificate, not the dataclass fields."""
        printer.text(str(self))

    def _repr_html_(self) -> str:
        """Jupyter shows the certificate as preformatted text.

        Examples
        --------
        >>> import convproof as cp
        >>> r = cp.prove(cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=1), (1, 1, 2))
        >>> r._repr_html_().splitlines()[0]
        '<pre>PROVED: vec(Z) = T vec(X) + bias'
        """
        import html

        return f"<pre>{html.escape(str(self))}</pre>"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field (nested checks included).

        Examples
        --------
        >>> import json, convproof as cp
        >>> r = cp.prove(cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2), (1, 3, 3))
        >>> d = r.to_dict()
        >>> d["status"], d["method"], d["monomials"]   # 16 x*w terms + 4 bias terms
        ('proved', 'coefficient-table', 20)
        >>> json.loads(json.dumps(d))["proved"]
        True
        """
        return {
            "status": self.status,
            "proved": self.proved,
            "method": self.method,
            "statement": self.statement,
            "seconds": self.seconds,
            "monomials": self.monomials,
            "sizes": _json(self.sizes),
            "counterexample": None
            if self.counterexample is None
            else self.counterexample.to_dict(),
            "reason": self.reason,
            "checks": [c.to_dict() for c in self.checks],
            "spot_check": None if self.spot_check is None else _json(self.spot_check),
            "steps": list(self.steps),
            "scope": _json(self.scope),
            "assumptions": list(self.assumptions),
            "conditions": list(self.conditions),
        }


# --------------------------------------------------------------------------------------
# layer geometry (from the spec only; the index arithmetic below is this module's own)
# --------------------------------------------------------------------------------------


class _Layout(NamedTuple):
    """Shapes of one sample: rows are ``(C_out, *out)``, columns ``(C_in, *in)``."""

    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    weight_shape: tuple[int, ...] | None
    pads: tuple[tuple[int, int], ...]

    @property
    def nrows(self) -> int:
        return math.prod(self.out_shape)

    @property
    def ncols(self) -> int:
        return math.prod(self.in_shape)

    @property
    def ntaps(self) -> int:
        return 0 if self.weight_shape is None else math.prod(self.weight_shape)


def _check_spec(spec: Any) -> None:
    if not isinstance(spec, ConvSpec | ConvTransposeSpec | PoolSpec):
        raise ConvProofError(
            f"spec must be a ConvSpec, ConvTransposeSpec or PoolSpec, got spec={spec!r}"
        )


def _layout(spec: Any, input_shape: Sequence[int]) -> _Layout:
    _check_spec(spec)
    _, c, spatial = spec.split_input_shape(input_shape)
    sample = (c, *spatial)
    out = spec.output_shape(sample)
    return _Layout(sample, tuple(out), spec.weight_shape, spec.resolve_padding(sample))


def _source(q: np.ndarray, n: int, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Input index read at padded positions ``q`` on an axis of length ``n``, and validity."""
    if mode == "zeros":
        valid = (q >= 0) & (q < n)
        return np.where(valid, q, 0), valid
    ok = np.ones(q.shape, dtype=bool)
    if mode == "circular":
        return np.mod(q, n), ok
    if mode == "replicate":
        return np.clip(q, 0, n - 1), ok
    if mode == "reflect":  # edge not repeated; padding < n, so one reflection is enough
        r = np.where(q < 0, -q, q)
        return np.where(r > n - 1, 2 * (n - 1) - r, r), ok
    # a mode added to the padding table: NumPy's np.pad, never the table's index map (the
    # matrix's), so the definition stays independent; an unknown mode is an error
    flat = [numpy_pad_read(mode, int(t), n) for t in q.ravel()]
    valid = np.array([v is not None for v in flat], dtype=bool).reshape(q.shape)
    return np.array([v or 0 for v in flat], dtype=np.int64).reshape(q.shape), valid


def _grid(per_axis: list[np.ndarray], sizes: Sequence[int]) -> np.ndarray:
    """Flat C-order index of the outer product of per-axis index arrays."""
    flat = np.zeros((1,) * len(per_axis), dtype=np.int64)
    for ax, idx in enumerate(per_axis):
        shape = [1] * len(per_axis)
        shape[ax] = idx.size
        flat = flat * sizes[ax] + idx.reshape(shape)
    return flat.reshape(-1)


def _all(per_axis: list[np.ndarray]) -> np.ndarray:
    ok = np.ones((1,) * len(per_axis), dtype=bool)
    for ax, v in enumerate(per_axis):
        shape = [1] * len(per_axis)
        shape[ax] = v.size
        ok = ok & v.reshape(shape)
    return ok.reshape(-1)


class _Entries(NamedTuple):
    """Unsorted monomial entries ``coef * X[col] * W[tap]`` of output ``row``.

    ``tap == -1`` means no kernel symbol (average pooling).  ``coef`` is ``None`` (all
    ones), an int64 array, or an object array of ``Fraction``.
    """

    rows: np.ndarray
    cols: np.ndarray
    taps: np.ndarray
    coef: np.ndarray | None


def _gather_positions(
    spec: Any, lay: _Layout, u: tuple[int, ...], mode: str
) -> tuple[np.ndarray, np.ndarray]:
    """Output positions (flat) whose tap ``u`` reads a real input element, and that element."""
    idx, val = [], []
    for ax in range(spec.ndim):
        a = np.arange(lay.out_shape[1 + ax], dtype=np.int64)
        q = a * spec.stride[ax] + u[ax] * spec.dilation[ax] - lay.pads[ax][0]
        i, ok = _source(q, lay.in_shape[1 + ax], mode)
        idx.append(i)
        val.append(ok)
    ok = _all(val)
    pos = np.flatnonzero(ok)
    inflat = _grid(idx, lay.in_shape[1:])[pos]
    return pos, inflat


class _Chunk(NamedTuple):
    """Entries ``row = row_a[:, None] + row_b``, ``col = col_a[:, None] + col_b``, ``tap = tap_a``.

    ``*_a`` run over channels, ``*_b`` over spatial positions; ``div_b`` is the
    average-pooling divisor per position (``None`` otherwise).
    """

    row_a: np.ndarray
    row_b: np.ndarray
    col_a: np.ndarray
    col_b: np.ndarray
    tap_a: np.ndarray
    div_b: np.ndarray | None = None

    @property
    def size(self) -> int:
        return int(self.row_a.size * self.row_b.size)


def _conv_chunks(spec: ConvSpec, lay: _Layout) -> list[_Chunk]:
    """``Z[c, a] = sum_{k in group(c)} sum_u X[k, src(a*s + u*d - p)] * W[c, k - k0, u]``."""
    c_out, cg_in = spec.out_channels, spec.in_channels // spec.groups
    cg_out = c_out // spec.groups
    p_out, p_in = math.prod(lay.out_shape[1:]), math.prod(lay.in_shape[1:])
    ktaps = math.prod(spec.kernel_size)
    c = np.arange(c_out, dtype=np.int64)
    group = c // cg_out
    chunks = []
    for uflat, u in enumerate(itertools.product(*(range(k) for k in spec.kernel_size))):
        pos, inflat = _gather_positions(spec, lay, u, spec.padding_mode)
        for kl in range(cg_in):
            chunks.append(
                _Chunk(
                    c * p_out,
                    pos,
                    (group * cg_in + kl) * p_in,
                    inflat,
                    (c * cg_in + kl) * ktaps + uflat,
                )
            )
    return chunks


def _transpose_chunks(spec: ConvTransposeSpec, lay: _Layout) -> list[_Chunk]:
    """Scatter form: ``X[k, i]`` adds ``X[k, i] * W[k, c - c0, u]`` to ``Y[c, i*s + u*d - p]``.

    Output padding only lengthens the output (its extra positions receive what lands there).
    """
    c_in, cg_out = spec.in_channels, spec.out_channels // spec.groups
    cg_in = c_in // spec.groups
    p_out, p_in = math.prod(lay.out_shape[1:]), math.prod(lay.in_shape[1:])
    ktaps = math.prod(spec.kernel_size)
    k = np.arange(c_in, dtype=np.int64)
    group = k // cg_in
    chunks = []
    for uflat, u in enumerate(itertools.product(*(range(kk) for kk in spec.kernel_size))):
        idx, val = [], []
        for ax in range(spec.ndim):
            i = np.arange(lay.in_shape[1 + ax], dtype=np.int64)
            q = i * spec.stride[ax] + u[ax] * spec.dilation[ax] - lay.pads[ax][0]
            ok = (q >= 0) & (q < lay.out_shape[1 + ax])
            idx.append(np.where(ok, q, 0))
            val.append(ok)
        src = np.flatnonzero(_all(val))  # flat input positions that land inside
        dst = _grid(idx, lay.out_shape[1:])[src]
        for cl in range(cg_out):
            chunks.append(
                _Chunk(
                    (group * cg_out + cl) * p_out,
                    dst,
                    k * p_in,
                    src,
                    (k * cg_out + cl) * ktaps + uflat,
                )
            )
    return chunks


def _pool_divisors(spec: PoolSpec, lay: _Layout) -> np.ndarray:
    """Average-pooling divisor per flat output position (PyTorch's rules)."""
    counts = []
    for ax in range(spec.ndim):
        a = np.arange(lay.out_shape[1 + ax], dtype=np.int64)[:, None]
        u = np.arange(spec.kernel_size[ax], dtype=np.int64)[None, :]
        q = a * spec.stride[ax] + u * spec.dilation[ax] - lay.pads[ax][0]
        n = lay.in_shape[1 + ax]
        if spec.count_include_pad:  # explicit padding counts, the ceil-mode overhang does not
            inside = (q >= -lay.pads[ax][0]) & (q < n + lay.pads[ax][1])
        else:
            inside = (q >= 0) & (q < n)
        counts.append(inside.sum(axis=1))
    div = np.ones((1,) * spec.ndim, dtype=np.int64)
    for ax, cnt in enumerate(counts):
        shape = [1] * spec.ndim
        shape[ax] = cnt.size
        div = div * cnt.reshape(shape)
    return div.reshape(-1)


def _pool_chunks(spec: PoolSpec, lay: _Layout) -> list[_Chunk]:
    """``Z[c, a] = (1/divisor(a)) sum_u X[c, a*s + u*d - p]`` over taps inside the input."""
    channels = lay.in_shape[0]
    p_out, p_in = math.prod(lay.out_shape[1:]), math.prod(lay.in_shape[1:])
    c = np.arange(channels, dtype=np.int64)
    div = _pool_divisors(spec, lay) if spec.kind == "avg" else None
    no_tap = np.full(channels, -1, dtype=np.int64)
    chunks = []
    for u in itertools.product(*(range(k) for k in spec.kernel_size)):
        pos, inflat = _gather_positions(spec, lay, u, "zeros")
        chunks.append(
            _Chunk(c * p_out, pos, c * p_in, inflat, no_tap, None if div is None else div[pos])
        )
    return chunks


def _definition_chunks(spec: Any, lay: _Layout) -> list[_Chunk]:
    if isinstance(spec, ConvSpec):
        return _conv_chunks(spec, lay)
    if isinstance(spec, ConvTransposeSpec):
        return _transpose_chunks(spec, lay)
    return _pool_chunks(spec, lay)


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    if not parts:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate(parts).astype(np.int64, copy=False)


def _reciprocals(divisors: np.ndarray) -> np.ndarray | None:
    """``1/divisors`` as an object array of ``Fraction`` (``None`` when all are 1)."""
    divisors = np.asarray(divisors, dtype=np.int64)
    if divisors.size == 0 or bool(np.all(divisors == 1)):
        return None
    if bool(np.any(divisors <= 0)):
        raise ConvProofError(f"divisors must be >= 1, got min(divisors)={int(divisors.min())}")
    uniq, inv = np.unique(divisors, return_inverse=True)
    table = np.array([Fraction(1, int(d)) for d in uniq] + [None], dtype=object)[:-1]
    return table[inv.reshape(-1)]


def _materialize(chunks: list[_Chunk]) -> _Entries:
    total = sum(ch.size for ch in chunks)
    rows = np.empty(total, dtype=np.int64)
    cols = np.empty(total, dtype=np.int64)
    taps = np.empty(total, dtype=np.int64)
    divs = None if not chunks or chunks[0].div_b is None else np.empty(total, dtype=np.int64)
    off = 0
    for ch in chunks:
        n = ch.size
        shape = (ch.row_a.size, ch.row_b.size)
        np.add(ch.row_a[:, None], ch.row_b[None, :], out=rows[off : off + n].reshape(shape))
        np.add(ch.col_a[:, None], ch.col_b[None, :], out=cols[off : off + n].reshape(shape))
        taps[off : off + n].reshape(shape)[...] = ch.tap_a[:, None]
        if divs is not None and ch.div_b is not None:
            divs[off : off + n].reshape(shape)[...] = ch.div_b[None, :]
        off += n
    return _Entries(rows, cols, taps, None if divs is None else _reciprocals(divs))


def definition_entries(spec: Any, input_shape: Sequence[int]) -> _Entries:
    """The definition's monomials, unsorted (private to proofs; see :func:`coefficient_table`)."""
    lay = _layout(spec, input_shape)
    return _materialize(_definition_chunks(spec, lay))


def _definition_table(spec: Any, lay: _Layout) -> _Table:
    """The definition's canonical table, keys written straight from the chunks (fast path)."""
    chunks = _definition_chunks(spec, lay)
    avg = isinstance(spec, PoolSpec) and spec.kind == "avg"
    if avg or not _fits(lay.nrows, lay.ncols, lay.ntaps):
        return _canonical(_materialize(chunks), lay.nrows, lay.ncols, lay.ntaps)
    m2 = lay.ntaps + 1
    m1 = lay.ncols * m2
    if isinstance(spec, ConvSpec):
        # row-major fill (output channel, position, input channel, tap): for each output the
        # taps come in increasing (column, tap) order whenever no padding mode folds taps,
        # so the keys are born sorted (checked below; otherwise they are sorted)
        ordered = _chunk_slots(chunks, spec)
        p_out = math.prod(lay.out_shape[1:])
        valid = np.zeros((p_out, len(ordered)), dtype=bool)
        base = np.zeros((p_out, len(ordered)), dtype=np.int64)
        for slot, ch in enumerate(ordered):
            valid[ch.row_b, slot] = True
            base[ch.row_b, slot] = ch.row_b * m1 + ch.col_b * m2
        per = int(valid.sum())
        keys = np.empty(lay.out_shape[0] * per, dtype=np.int64)
        offsets = np.stack([ch.row_a * m1 + ch.col_a * m2 + ch.tap_a + 1 for ch in ordered], 1)
        shift = offsets - offsets[:1]  # per output channel, the same for every slot?
        if bool(np.all(shift == shift[:, :1])):
            first = (base + offsets[0])[valid]  # output channel 0, compressed
            for c in range(lay.out_shape[0]):
                np.add(first, shift[c, 0], out=keys[c * per : (c + 1) * per])
        else:  # pragma: no cover - every conv layout has a channel-independent slot offset
            block = np.empty_like(base)
            for c in range(lay.out_shape[0]):
                np.add(base, offsets[c], out=block)
                keys[c * per : (c + 1) * per] = block[valid]
        del base
        return _canonical_keys(keys, None, lay.ncols, lay.ntaps)
    keys = np.empty(sum(ch.size for ch in chunks), dtype=np.int64)
    off = 0
    for ch in chunks:
        n = ch.size
        a = ch.row_a * m1 + ch.col_a * m2 + ch.tap_a + 1
        b = ch.row_b * m1 + ch.col_b * m2
        np.add(a[:, None], b[None, :], out=keys[off : off + n].reshape(a.size, b.size))
        off += n
    # one (row, col, tap) per (output, tap) in the definition, so no duplicates arise
    return _canonical_keys(keys, None, lay.ncols, lay.ntaps)


def _chunk_slots(chunks: list[_Chunk], spec: ConvSpec) -> list[_Chunk]:
    """Conv chunks in (input channel, tap) order; :func:`_conv_chunks` emits (tap, channel)."""
    cg_in = spec.in_channels // spec.groups
    ktaps = math.prod(spec.kernel_size)
    return [chunks[u * cg_in + kl] for kl in range(cg_in) for u in range(ktaps)]


# --------------------------------------------------------------------------------------
# streaming comparison with the library, block by block (bounded memory)
# --------------------------------------------------------------------------------------
#
# Every monomial of a conv, transposed conv or average pool has one "block channel" (the
# output channel of a convolution, the input channel of a transposed one, the channel of a
# pool) and one position along the first spatial axis of that channel's windows (output
# position for gather forms, input position for the scatter form).  Blocks are (channel
# range) x (slab of that axis); they partition both sides' monomials.  Per block both sides
# list their entries; when the two lists are equal element by element (the definition lists
# them in the order the library emits them: row, input channel, tap), the block's monomials
# are equal as multisets.  Otherwise the block is compared exactly (canonical tables) and the
# smallest difference over all blocks is the counterexample.  Entries of the library block
# that do not belong to the block send the proof to the whole-layer path.

#: Target number of entries per block: a block's arrays stay in the CPU caches.
_BLOCK_ENTRIES = 1 << 17
#: Peak bytes per block entry: the library's rows, cols and taps, the definition's three
#: columns per channel and the comparison's scratch.
_BYTES_PER_BLOCK_ENTRY = 96
#: Bytes per output row of the bias comparison (both sides' tables and their sort).
_BYTES_PER_BIAS_ROW = 80
#: Worker threads of the block comparison (NumPy releases the GIL in its loops).
_THREADS = max(1, min(2, os.cpu_count() or 1))
#: Progress bars appear (on a terminal) above this many monomials.
_PROGRESS_MIN = 20_000_000


class _DefSlab(NamedTuple):
    """The definition's entries of block channel 0 at one slab (add the channel offsets)."""

    rows: np.ndarray
    cols: np.ndarray
    taps: np.ndarray
    divs: np.ndarray | None


class _Offsets(NamedTuple):
    """Per block channel, what its entries add to block channel 0's rows, cols and taps."""

    rows: np.ndarray
    cols: np.ndarray
    taps: np.ndarray


def _axis_tables(
    spec: Any, lay: _Layout, lo: int, hi: int, transposed: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Flat index and validity per (window position, tap) of the slab ``lo <= a_0 < hi``.

    Gather form: window position = output position ``a``, index = the input element read at
    ``a*s + u*d - p`` (padding mode applied).  Scatter form (transposed): window position =
    input position ``i``, index = the output position ``i*s + u*d - p`` it lands on.
    """
    nd = spec.ndim
    here = lay.in_shape[1:] if transposed else lay.out_shape[1:]
    there = lay.out_shape[1:] if transposed else lay.in_shape[1:]
    mode = spec.padding_mode
    flat = np.zeros((1,) * (2 * nd), dtype=np.int64)
    ok = np.ones((1,) * (2 * nd), dtype=bool)
    for ax in range(nd):
        a = np.arange(lo, hi) if ax == 0 else np.arange(here[ax])
        u = np.arange(spec.kernel_size[ax])
        q = a[:, None] * spec.stride[ax] + u[None, :] * spec.dilation[ax] - lay.pads[ax][0]
        if transposed:
            v = (q >= 0) & (q < there[ax])
            i = np.where(v, q, 0)
        else:
            i, v = _source(q, there[ax], mode)
        shape = [1] * (2 * nd)
        shape[ax], shape[nd + ax] = a.size, u.size
        flat = flat * there[ax] + i.reshape(shape)  # C order over the target axes
        ok = ok & v.reshape(shape)
    npos = (hi - lo) * math.prod(here[1:])
    ktaps = math.prod(spec.kernel_size)
    full = (hi - lo, *here[1:], *spec.kernel_size)
    flat = np.broadcast_to(flat, full).reshape(npos, ktaps)
    ok = np.broadcast_to(ok, full).reshape(npos, ktaps)
    return flat, ok


def _slab_definition(spec: Any, lay: _Layout, lo: int, hi: int) -> _DefSlab:
    """The definition's entries of block channel 0 at the slab, in (row, channel, tap) order."""
    transposed = isinstance(spec, ConvTransposeSpec)
    flat, ok = _axis_tables(spec, lay, lo, hi, transposed)
    npos, ktaps = ok.shape
    p_out, p_in = math.prod(lay.out_shape[1:]), math.prod(lay.in_shape[1:])
    if isinstance(spec, PoolSpec):
        pos, u = np.nonzero(ok)
        inner = math.prod(lay.out_shape[2:])
        rows = pos + lo * inner
        divs = _pool_divisors(spec, lay)[rows] if spec.kind == "avg" else None
        return _DefSlab(rows, flat[pos, u], np.full(pos.size, -1, dtype=np.int64), divs)
    per = (spec.out_channels if transposed else spec.in_channels) // spec.groups
    pos, k, u = np.nonzero(np.broadcast_to(ok[:, None, :], (npos, per, ktaps)))
    taps = k * ktaps + u
    if transposed:  # input (k0, i) lands on output (channel k, position flat[i, u])
        inner = math.prod(lay.in_shape[2:])
        return _DefSlab(k * p_out + flat[pos, u], pos + lo * inner, taps, None)
    inner = math.prod(lay.out_shape[2:])
    return _DefSlab(pos + lo * inner, k * p_in + flat[pos, u], taps, None)


def _block_channels(spec: Any, lay: _Layout) -> int:
    if isinstance(spec, ConvTransposeSpec):
        return spec.in_channels
    if isinstance(spec, ConvSpec):
        return spec.out_channels
    return lay.in_shape[0]


def _offsets(spec: Any, lay: _Layout, c0: int, c1: int) -> _Offsets:
    """Row, column and tap offsets of block channels ``c0..c1-1`` (the definition's channel
    arithmetic: groups map output channel ``c`` to input channels ``g(c) * C_in/g ...``)."""
    c = np.arange(c0, c1, dtype=np.int64)
    p_out, p_in = math.prod(lay.out_shape[1:]), math.prod(lay.in_shape[1:])
    if isinstance(spec, PoolSpec):
        return _Offsets(c * p_out, c * p_in, np.zeros_like(c))
    ktaps = math.prod(spec.kernel_size)
    if isinstance(spec, ConvTransposeSpec):
        cg_in, cg_out = spec.in_channels // spec.groups, spec.out_channels // spec.groups
        return _Offsets((c // cg_in) * cg_out * p_out, c * p_in, c * cg_out * ktaps)
    cg_in, cg_out = spec.in_channels // spec.groups, spec.out_channels // spec.groups
    return _Offsets(c * p_out, (c // cg_out) * cg_in * p_in, c * cg_in * ktaps)


def _slabs(spec: Any, lay: _Layout, per_channel: int) -> tuple[list[tuple[int, int]], int]:
    """Slabs along the first spatial axis and channels per block, for blocks of about
    :data:`_BLOCK_ENTRIES` entries (``per_channel``: one channel's entries, all slabs)."""
    n0 = (lay.in_shape if isinstance(spec, ConvTransposeSpec) else lay.out_shape)[1]
    if per_channel <= _BLOCK_ENTRIES:
        return [(0, n0)], max(1, _BLOCK_ENTRIES // max(per_channel, 1))
    step = max(1, (_BLOCK_ENTRIES * n0) // per_channel)
    return [(lo, min(lo + step, n0)) for lo in range(0, n0, step)], 1


def _per_channel(spec: Any, lay: _Layout) -> int:
    """Upper bound of one block channel's entries (every window position x every tap)."""
    ktaps = math.prod(spec.kernel_size)
    if isinstance(spec, PoolSpec):
        return math.prod(lay.out_shape[1:]) * ktaps
    if isinstance(spec, ConvTransposeSpec):
        return math.prod(lay.in_shape[1:]) * (spec.out_channels // spec.groups) * ktaps
    return math.prod(lay.out_shape[1:]) * (spec.in_channels // spec.groups) * ktaps


def _stream_bytes(spec: Any, lay: _Layout) -> int:
    """Peak bytes of a streaming proof: the largest block, the slab tables, the bias part."""
    per_channel = _per_channel(spec, lay)
    (lo, hi), *_ = _slabs(spec, lay, per_channel)[0]
    n0 = (lay.in_shape if isinstance(spec, ConvTransposeSpec) else lay.out_shape)[1]
    slab = per_channel * (hi - lo) // max(n0, 1)
    channels = _slabs(spec, lay, per_channel)[1]
    block = min(slab * channels, slab * _block_channels(spec, lay))
    bias = lay.nrows * _BYTES_PER_BIAS_ROW if getattr(spec, "bias", False) else 0
    return block * _BYTES_PER_BLOCK_ENTRY + slab * 64 + bias


class _Misfit(Exception):
    """A library block held an entry outside the block (use the whole-layer comparison)."""


class _Outside(Exception):
    """A library block held an entry outside the matrix (the counterexample is its arg)."""


def _outside(
    rows: np.ndarray, cols: np.ndarray, taps: np.ndarray, nrows: int, ncols: int, ntaps: int
) -> ProofCounterexample | None:
    """The first entry outside the matrix (row, column or tap out of range), if any."""
    bad = (rows < 0) | (rows >= nrows) | (cols < 0) | (cols >= ncols)
    bad |= (taps != -1) if ntaps == 0 else ((taps < 0) | (taps >= ntaps))
    hits = np.flatnonzero(bad)
    if hits.size == 0:
        return None
    i = int(hits[0])
    r, c, t = int(rows[i]), int(cols[i]), int(taps[i])
    taps_text = "no taps" if ntaps == 0 else f"taps 0..{ntaps - 1}"
    return ProofCounterexample(
        (r,),
        f"an entry at (row {r}, column {c}, tap {t}), outside the {nrows} x {ncols} "
        f"matrix ({taps_text})",
        0,
        1,
    )


class _Scratch:
    """Work arrays of the element-wise comparison, reused from block to block."""

    def __init__(self, dtype: Any) -> None:
        self.ints = np.empty(0, dtype=dtype)
        self.flags = np.empty(0, dtype=bool)

    def take(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if self.ints.size < n:
            self.ints = np.empty(n, dtype=self.ints.dtype)
            self.flags = np.empty(n, dtype=bool)
        return self.ints[:n], self.flags[:n]


def _same(arr: np.ndarray, base: np.ndarray, off: np.ndarray, scratch: _Scratch) -> bool:
    """``arr`` (reps x n, flat) equals ``base + off[:, None]`` element by element.

    ``base``, ``off`` and the scratch share one integer type; an ``arr`` of another type is
    compared in int64 (never cast down).
    """
    if arr.size != off.size * base.size:
        return False
    if not arr.dtype == base.dtype == off.dtype == scratch.ints.dtype:
        arr, base, off = (np.asarray(a, dtype=np.int64) for a in (arr, base, off))
        scratch = _Scratch(np.int64)
    ints, flags = scratch.take(arr.size)
    shape = (off.size, base.size)
    v = arr.reshape(shape)
    if off.any():
        v = np.subtract(v, off[:, None], out=ints.reshape(shape))
    np.equal(v, base, out=flags.reshape(shape))
    return bool(flags.all())


def _block_table(
    lay: _Layout, rows: np.ndarray, cols: np.ndarray, taps: np.ndarray, divs: np.ndarray | None
) -> _Table:
    coef = None if divs is None else _reciprocals(divs)
    return _canonical(_Entries(rows, cols, taps, coef), lay.nrows, lay.ncols, lay.ntaps)


def _block_difference(
    spec: Any,
    lay: _Layout,
    lib: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None],
    d: _DefSlab,
    off: _Offsets,
    c0: int,
    lo: int,
    hi: int,
) -> tuple[tuple[int, int, int], Fraction, Fraction] | None:
    """Exact comparison of one block (canonical tables); raises :class:`_Misfit` or
    :class:`_Outside`."""
    rows, cols, taps = (np.asarray(a, dtype=np.int64).reshape(-1) for a in lib[:3])
    divs = None if lib[3] is None else np.asarray(lib[3], dtype=np.int64).reshape(-1)
    sizes = {a.size for a in (rows, cols, taps, divs) if a is not None}
    if len(sizes) > 1:
        lengths = ", ".join(
            f"{k} {a.size}"
            for k, a in zip(("rows", "cols", "taps", "divisors"), lib)
            if a is not None
        )
        raise _Outside(ProofCounterexample((), f"entries of different lengths ({lengths})", 0, 1))
    stray = _outside(rows, cols, taps, lay.nrows, lay.ncols, lay.ntaps)
    if stray is not None:
        raise _Outside(stray)
    # the library block's entries must lie in the block: its channels, its slab
    transposed = isinstance(spec, ConvTransposeSpec)
    key, size = (cols, lay.in_shape) if transposed else (rows, lay.out_shape)
    per, inner = math.prod(size[1:]), math.prod(size[2:])
    chan, at = np.divmod(key, per)
    inside = (chan >= c0) & (chan < c0 + off.rows.size) & (at >= lo * inner) & (at < hi * inner)
    if not bool(np.all(inside)):
        raise _Misfit
    reps = off.rows.size
    expected = _block_table(
        lay,
        (d.rows[None, :] + off.rows[:, None]).ravel(),
        (d.cols[None, :] + off.cols[:, None]).ravel(),
        (d.taps[None, :] + off.taps[:, None]).ravel(),
        None if d.divs is None else np.tile(d.divs, reps),
    )
    found = _block_table(lay, rows, cols, taps, divs)
    return _smallest_difference(expected, found)


def _stream_compare(
    spec: Any, lay: _Layout, progress: Callable[[int], None], limit: int
) -> ProofResult:
    """Compare the definition with the library's entries block by block (see above)."""
    from convproof.constructions import matrix as _matrix

    start = time.perf_counter()
    name = "T = the definition's coefficient table (x*w monomials)"
    method = "coefficient-table"
    plan = _matrix._plan(spec, lay.in_shape)
    channels = _block_channels(spec, lay)
    n0 = (lay.in_shape if isinstance(spec, ConvTransposeSpec) else lay.out_shape)[1]
    if (
        plan.shape != (lay.nrows, lay.ncols)
        or plan.c_out != channels
        or plan.patterns[0].out_size != n0
    ):  # the library's layout differs: the whole-layer comparison names the difference
        return _whole_layer(spec, lay, name, method, start, limit)
    per_channel = _per_channel(spec, lay)
    slabs, step = _slabs(spec, lay, per_channel)
    # int32 halves the memory traffic when every index fits (both sides, checked apart)
    small = max(lay.nrows, lay.ncols, lay.ntaps) < 2**31 - 1 and _matrix._fits_int32(plan)
    dtype = np.int32 if small else np.int64
    local = threading.local()

    def check(lo: int, hi: int, d: _DefSlab, t: Any, c0: int) -> tuple[int, int, Any]:
        """One block: (definition entries, library entries, outcome), where the outcome is
        None (equal), a difference, or a :class:`_Misfit` / :class:`_Outside` exception."""
        scratch = getattr(local, "scratch", None)
        if scratch is None or scratch.ints.dtype != dtype:
            scratch = local.scratch = _Scratch(dtype)
        c1 = min(c0 + step, channels)
        off = _Offsets(*(a.astype(dtype) for a in _offsets(spec, lay, c0, c1)))
        lib = _matrix._block_entries(plan, t, lo, c0, c1, dtype)
        n = d.rows.size * (c1 - c0)
        rows, cols, taps, divs = lib
        same = (
            _same(rows, d.rows, off.rows, scratch)
            and _same(cols, d.cols, off.cols, scratch)
            and _same(taps, d.taps, off.taps, scratch)
            and (
                (divs is None or (divs.size == rows.size and bool(np.all(divs == 1))))
                if d.divs is None
                else divs is not None
                and _same(divs, d.divs, np.zeros(c1 - c0, dtype=np.int64), scratch)
            )
        )
        if same:
            return n, rows.size, None
        try:
            return n, rows.size, _block_difference(spec, lay, lib, d, off, c0, lo, hi)
        except (_Misfit, _Outside) as exc:
            return n, rows.size, exc

    best: tuple[tuple[int, int, int], Fraction, Fraction] | None = None
    compared = 0
    workers = min(_THREADS, max(1, -(-channels // step)))
    pool = ThreadPoolExecutor(workers) if workers > 1 else None
    try:
        for lo, hi in slabs:
            d0 = _slab_definition(spec, lay, lo, hi)
            d = _DefSlab(
                d0.rows.astype(dtype),
                d0.cols.astype(dtype),
                d0.taps.astype(dtype),
                d0.divs,  # int64, as the library's divisors
            )
            t = _matrix._template(plan, lo, hi, dtype)
            starts = range(0, channels, step)
            if pool is None:
                outcomes: Any = (check(lo, hi, d, t, c0) for c0 in starts)
            else:
                outcomes = pool.map(lambda c0: check(lo, hi, d, t, c0), starts)  # noqa: B023
            for n, found, outcome in outcomes:  # in block order, whatever the threads did
                if isinstance(outcome, _Misfit):
                    return _whole_layer(spec, lay, name, method, start, limit)
                if isinstance(outcome, _Outside):
                    seconds = time.perf_counter() - start
                    total = max(compared, _monomials(spec, lay))  # the claim's size
                    return ProofResult(
                        "refuted", method, name, seconds, total, counterexample=outcome.args[0]
                    )
                if outcome is not None and (best is None or outcome[0] < best[0]):
                    best = outcome
                compared += max(n, found)
                progress(n)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    seconds = time.perf_counter() - start
    if best is None:
        return ProofResult("proved", method, name, seconds, compared)
    (row, col, tap), e, f = best
    cx = _counterexample(lay, row, col, tap, e, f)
    return ProofResult("refuted", method, name, seconds, compared, counterexample=cx)


def _whole_layer(
    spec: Any, lay: _Layout, name: str, method: str, start: float, limit: int
) -> ProofResult:
    """The whole-layer comparison (every monomial in memory at once)."""
    _check_memory(spec, (lay.in_shape), limit, streaming=False)
    return _compare(
        name,
        _definition_table(spec, lay),
        _library_entries(spec, lay),
        lay,
        ncols=lay.ncols,
        ntaps=lay.ntaps,
        method=method,
        t0=start,
    )


# --------------------------------------------------------------------------------------
# canonical coefficient tables
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
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


def _fits(nrows: int, ncols: int, ntaps: int) -> bool:
    return nrows * ncols * (ntaps + 1) < 2**63


def _canonical(entries: _Entries, nrows: int, ncols: int, ntaps: int) -> _Table:
    """Aggregate duplicate monomials, drop zero coefficients, sort (the canonical form)."""
    rows, cols, taps, coef = entries
    if _fits(nrows, ncols, ntaps):
        # entries grouped by row (the matrix stage emits them so) are nearly sorted: timsort
        by_row = rows.size < 2 or bool(np.all(rows[1:] >= rows[:-1]))
        key = rows.astype(np.int64, copy=True)
        key *= ncols
        key += cols
        key *= ntaps + 1
        key += taps
        key += 1
        return _canonical_keys(key, coef, ncols, ntaps, runs=by_row)
    order = np.lexsort((taps, cols, rows))
    columns = (rows[order], cols[order], taps[order])
    return _aggregate(columns, None if coef is None else coef[order], ncols, ntaps)


def _canonical_keys(
    key: np.ndarray, coef: np.ndarray | None, ncols: int, ntaps: int, *, runs: bool = False
) -> _Table:
    """Sort composite keys (in place when there are no coefficients) and aggregate.

    ``runs``: the keys are long sorted runs (timsort merges them in near-linear time).
    """
    if coef is None:
        if key.size < 2 or bool(np.all(key[1:] > key[:-1])):
            return _Table((key,), None, ncols, ntaps)  # strictly increasing: no duplicates
        key.sort(kind="stable" if runs else None)
        return _aggregate((key,), None, ncols, ntaps)
    order = np.argsort(key, kind="stable")
    return _aggregate((key[order],), coef[order], ncols, ntaps)


def _aggregate(
    columns: tuple[np.ndarray, ...], coef: np.ndarray | None, ncols: int, ntaps: int
) -> _Table:
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
    return _Table(columns, coef, ncols, ntaps)


def _coef_equal(a: np.ndarray | None, b: np.ndarray | None, n: int) -> np.ndarray | None:
    """Elementwise ``a[:n] != b[:n]`` for coefficient arrays (``None`` = all ones)."""
    if a is None and b is None:
        return None
    if a is None:
        return np.asarray(b[:n] != 1, dtype=bool)  # type: ignore[index]
    if b is None:
        return np.asarray(a[:n] != 1, dtype=bool)
    return np.asarray(a[:n] != b[:n], dtype=bool)


def _first_difference(a: _Table, b: _Table) -> int | None:
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


def _smallest_difference(
    expected: _Table, found: _Table
) -> tuple[tuple[int, int, int], Fraction, Fraction] | None:
    """The smallest monomial whose coefficient differs: ``((row, col, tap), expected, found)``."""
    i = _first_difference(expected, found)
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


def coefficient_table(
    spec: Any, input_shape: Sequence[int]
) -> dict[tuple[int, int, int], Fraction]:
    """The definition's coefficient table as a dict (small layers; for inspection and tests).

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
    input_shape : tuple of int
        ``(C, *spatial)`` or ``(N, C, *spatial)`` (the batch axis is ignored).

    Returns
    -------
    dict
        ``{(row, col, tap): coefficient}``: output ``row`` (flat over ``(C_out, *out)``)
        contains ``coefficient * X[col] * W[tap]`` (flat C-order indices; ``tap == -1``
        for pooling, which has no kernel symbols).  Built by this module's own index
        arithmetic from the definition, never from the matrix code.

    Examples
    --------
    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False)
    >>> table = cp.coefficient_table(spec, (1, 3, 3))   # the seed's 4x9 matrix
    >>> sorted(col for (row, col, tap) in table if row == 0)
    [0, 1, 3, 4]
    >>> pool = cp.coefficient_table(cp.PoolSpec(kind="avg", kernel_size=2, ndim=1), (1, 4))
    >>> [(row, col, str(c)) for (row, col, tap), c in pool.items()]
    [(0, 0, '1/2'), (0, 1, '1/2'), (1, 2, '1/2'), (1, 3, '1/2')]
    """
    lay = _layout(spec, input_shape)
    table = _canonical(definition_entries(spec, input_shape), lay.nrows, lay.ncols, lay.ntaps)
    return {table.decode(i): table.coefficient(i) for i in range(table.size)}


# --------------------------------------------------------------------------------------
# naming monomials
# --------------------------------------------------------------------------------------


def _unravel(flat: int, shape: Sequence[int]) -> tuple[int, ...]:
    return tuple(int(v) for v in np.unravel_index(flat, tuple(shape)))


def _idx(t: tuple[int, ...]) -> str:
    return ",".join(map(str, t))


def _counterexample(
    lay: _Layout, row: int, col: int, tap: int, expected: Any, found: Any, *, bias: bool = False
) -> ProofCounterexample:
    out = _unravel(row, lay.out_shape)
    if bias:
        return ProofCounterexample(out, f"b_{{{col}}}", expected, found)
    inp = _unravel(col, lay.in_shape)
    if tap < 0 or lay.weight_shape is None:
        return ProofCounterexample(out, f"x_{{{_idx(inp)}}}", expected, found, inp, None)
    w = _unravel(tap, lay.weight_shape)
    return ProofCounterexample(out, f"x_{{{_idx(inp)}}}*w_{{{_idx(w)}}}", expected, found, inp, w)


def _spec_text(spec: Any) -> str:
    fields = [
        f"kernel_size={spec.kernel_size}",
        f"stride={spec.stride}",
        f"padding={spec.padding!r}",
        f"dilation={spec.dilation}",
    ]
    if isinstance(spec, PoolSpec):
        head = f"PoolSpec(kind={spec.kind!r}, "
        fields += [f"ceil_mode={spec.ceil_mode}", f"count_include_pad={spec.count_include_pad}"]
    else:
        head = f"{type(spec).__name__}({spec.in_channels}->{spec.out_channels}, "
        fields += [f"groups={spec.groups}", f"bias={spec.bias}"]
        if isinstance(spec, ConvSpec):
            fields.append(f"padding_mode={spec.padding_mode!r}")
        else:
            fields.append(f"output_padding={spec.output_padding}")
    return head + ", ".join(fields) + ")"


def _sizes(spec: Any, lay: _Layout) -> dict[str, Any]:
    sizes: dict[str, Any] = {
        "layer": _spec_text(spec),
        "input": lay.in_shape,
        "output": lay.out_shape,
        "padding": lay.pads,
    }
    if isinstance(spec, PoolSpec) and spec.kind == "max":  # not linear: windows, no matrix
        sizes["windows"] = f"{lay.nrows} outputs over {lay.ncols} inputs"
    else:
        sizes["matrix"] = f"{lay.nrows} x {lay.ncols}"
    if lay.weight_shape is not None:
        sizes["kernel"] = f"{lay.ntaps} symbols W{list(lay.weight_shape)}"
    return sizes


# --------------------------------------------------------------------------------------
# the matrix side
# --------------------------------------------------------------------------------------


def _entries_from_matrix_entries(me: Any) -> _Entries:
    rows = np.asarray(me.rows, dtype=np.int64).reshape(-1)
    cols = np.asarray(me.cols, dtype=np.int64).reshape(-1)
    taps = np.asarray(me.taps, dtype=np.int64).reshape(-1)
    divisors = getattr(me, "divisors", None)
    coef = None if divisors is None else _reciprocals(np.asarray(divisors).reshape(-1))
    return _Entries(rows, cols, taps, coef)


def _library_entries(spec: Any, lay: _Layout) -> _Entries:
    from convproof.constructions import matrix as _matrix

    return _entries_from_matrix_entries(_matrix.matrix_entries(spec, lay.in_shape))


def _flat_symbols(array: Any) -> list[Any]:
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


def _symbol_maps(spec: Any, lay: _Layout) -> tuple[dict[Any, int], dict[Any, int], dict[Any, int]]:
    """``{symbol: flat index}`` for the layer's X, W and b symbols (from ``layer_symbols``)."""
    from convproof.constructions.sliding_sum import layer_symbols

    syms = layer_symbols(spec, lay.in_shape)
    maps = tuple(
        {s: i for i, s in enumerate(_flat_symbols(arr))}
        for arr in (syms.X, getattr(syms, "W", None), getattr(syms, "b", None))
    )
    return maps  # type: ignore[return-value]


def _to_fraction(c: Any) -> Fraction | None:
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


class _Parsed(NamedTuple):
    entries: _Entries
    bad: tuple[int, int, str, Any] | None  # smallest (row, col, monomial, coefficient)


def _parse_symbolic(
    matrix: Any, lay: _Layout, wmap: dict[Any, int], xname: Callable[[int], str]
) -> _Parsed:
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
            frac = _to_fraction(value)
            tap = -1 if term == 1 else wmap.get(term)
            if frac is None or tap is None:
                if bad is None or (r, c) < bad[:2]:
                    bad = (int(r), int(c), f"{xname(int(c))}*{term}", value)
                continue
            rows.append(int(r))
            cols.append(int(c))
            taps.append(tap)
            coef.append(frac)
    entries = _Entries(
        np.asarray(rows, dtype=np.int64),
        np.asarray(cols, dtype=np.int64),
        np.asarray(taps, dtype=np.int64),
        np.array([*coef, None], dtype=object)[:-1],
    )
    return _Parsed(entries, bad)


def _is_sympy_matrix(m: Any) -> bool:
    try:
        import sympy
    except ImportError:  # pragma: no cover
        return False
    return isinstance(m, sympy.MatrixBase)


def _is_entries(m: Any) -> bool:
    return all(hasattr(m, name) for name in ("rows", "cols", "taps")) and not _is_sympy_matrix(m)


# --------------------------------------------------------------------------------------
# bias
# --------------------------------------------------------------------------------------


def _bias_definition(spec: Any, lay: _Layout) -> _Entries:
    n = lay.nrows
    if not getattr(spec, "bias", False):
        z = np.zeros(0, dtype=np.int64)
        return _Entries(z, z, z, None)
    rows = np.arange(n, dtype=np.int64)
    return _Entries(rows, rows // math.prod(lay.out_shape[1:]), np.full(n, -1), None)


def _bias_from_vector(vector: Any, lay: _Layout, bmap: dict[Any, int]) -> _Parsed:
    """Parse a symbolic bias vector (entries linear in the b symbols)."""
    import sympy

    items = list(vector) if _is_sympy_matrix(vector) else list(np.asarray(vector, object).ravel())
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
        for term, value in sympy.expand(sympy.sympify(expr)).as_coefficients_dict().items():
            if value == 0:
                continue
            frac = _to_fraction(value)
            c = bmap.get(term)
            if frac is None or c is None:
                if bad is None:
                    bad = (r, 0, str(term), value)
                continue
            rows.append(r)
            cols.append(c)
            coef.append(frac)
    ent = _Entries(
        np.asarray(rows, dtype=np.int64),
        np.asarray(cols, dtype=np.int64),
        np.full(len(rows), -1, dtype=np.int64),
        np.array([*coef, None], dtype=object)[:-1],
    )
    return _Parsed(ent, bad)


def _library_bias(spec: Any, lay: _Layout) -> _Parsed:
    """The matrix stage's bias vector, read exactly (symbolic bias, else basis probes)."""
    from convproof.constructions import matrix as _matrix

    c_out = lay.out_shape[0]
    if lay.nrows <= _SYMBOLIC_BIAS_LIMIT:
        _, _, bmap = _symbol_maps(spec, lay)
        vec = _matrix.bias_vector(spec, lay.in_shape)  # symbolic: entries in the b symbols
        return _bias_from_vector(vec, lay, bmap)
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
    rows = _cat(rows_l)
    # a coefficient other than 1 is read exactly and refuted by the comparison
    coef = None if all_ones else _exact_values(np.concatenate(vals_l), "bias_vector")[0]
    return _Parsed(_Entries(rows, _cat(cols_l), np.full(rows.size, -1, dtype=np.int64), coef), None)


def _compare(
    name: str,
    expected: _Entries | _Table,
    found: _Entries | _Table,
    lay: _Layout,
    *,
    ncols: int,
    ntaps: int,
    method: str,
    bias: bool = False,
    t0: float | None = None,
) -> ProofResult:
    start = time.perf_counter() if t0 is None else t0
    if isinstance(found, _Entries):
        stray = _outside(found.rows, found.cols, found.taps, lay.nrows, ncols, ntaps)
        if stray is not None:
            seconds = time.perf_counter() - start
            return ProofResult("refuted", method, name, seconds, 0, counterexample=stray)
    a = expected if isinstance(expected, _Table) else _canonical(expected, lay.nrows, ncols, ntaps)
    b = found if isinstance(found, _Table) else _canonical(found, lay.nrows, ncols, ntaps)
    diff = _smallest_difference(a, b)
    seconds = time.perf_counter() - start
    if diff is None:
        return ProofResult("proved", method, name, seconds, a.size)
    (row, col, tap), e, f = diff
    cx = _counterexample(lay, row, col, tap, e, f, bias=bias)
    return ProofResult("refuted", method, name, seconds, max(a.size, b.size), counterexample=cx)


# --------------------------------------------------------------------------------------
# numeric matrices (a given weight)
# --------------------------------------------------------------------------------------


def _coo(matrix: Any, lay: _Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def _exact_values(values: np.ndarray, name: str) -> tuple[np.ndarray, bool]:
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
            f = _to_fraction(v) if not isinstance(v, float) else Fraction(v)
            if f is None:
                raise ConvProofError(
                    f"{name} must hold numbers (int, Fraction, float, SymPy Rational), got {v!r}"
                )
            out_l.append(f)
        return np.array([*out_l, None], dtype=object)[:-1], any(
            isinstance(v, float) for v in values.ravel()
        )
    raise ConvProofError(f"{name} must be numeric, got dtype {values.dtype}")


_RTOL = 1e-12


def _prove_numeric(
    spec: Any, lay: _Layout, matrix: Any, weight: Any, t0: float, *, rounded: bool = False
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
        wvals, wfloat = _exact_values(w, "weight")
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
        defn = _Entries(urows, ucols, utaps, None)
    rows, cols, mvals = _coo(matrix, lay)
    mexact, mfloat = _exact_values(mvals, "matrix")
    no_tap = np.full(rows.size, -1, dtype=np.int64)
    expected = _Entries(defn.rows, defn.cols, np.full(defn.rows.size, -1, np.int64), vals)
    found = _Entries(rows, cols, no_tap, mexact)
    res = _compare(
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
    a = _canonical(expected, lay.nrows, lay.ncols, 0)
    b = _canonical(found, lay.nrows, lay.ncols, 0)
    da = {a.decode(i)[:2]: a.coefficient(i) for i in range(a.size)}
    db = {b.decode(i)[:2]: b.coefficient(i) for i in range(b.size)}
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


def _numeric_bias(spec: Any, lay: _Layout, bias_vector: Any, bias: Any) -> _Entries:
    """A numeric bias vector as entries ``(row, 0, value)``; the definition uses ``bias``."""
    vec = np.asarray(bias_vector).reshape(-1)
    if vec.size != lay.nrows:
        raise ConvProofError(
            f"bias_vector must have one entry per output element ({lay.nrows}), "
            f"got {vec.size} entries"
        )
    vals, _ = _exact_values(vec, "bias_vector")
    rows = np.flatnonzero(vals != 0).astype(np.int64)
    return _Entries(rows, np.zeros(rows.size, np.int64), np.full(rows.size, -1), vals[rows])


def _numeric_bias_definition(spec: Any, lay: _Layout, bias: Any) -> _Entries:
    if not getattr(spec, "bias", False):
        z = np.zeros(0, dtype=np.int64)
        return _Entries(z, z, z, None)
    if bias is None:
        raise ConvProofError(
            "bias must be given with a numeric bias_vector (the values of b), got bias=None"
        )
    b = np.asarray(bias).reshape(-1)
    if b.size != lay.out_shape[0]:
        raise ConvProofError(
            f"bias must have shape ({lay.out_shape[0]},), got bias with shape {np.shape(bias)}"
        )
    bvals, _ = _exact_values(b, "bias")
    rows = np.arange(lay.nrows, dtype=np.int64)
    vals = bvals[rows // math.prod(lay.out_shape[1:])]
    return _Entries(rows, np.zeros(rows.size, np.int64), np.full(rows.size, -1), vals)


# --------------------------------------------------------------------------------------
# prove
# --------------------------------------------------------------------------------------


def _pattern_windows(spec: PoolSpec, lay: _Layout) -> _Entries:
    """Window entries from :func:`~convproof.constructions.index.axis_patterns` (matrix route)."""
    from convproof.constructions.index import axis_patterns

    patterns = axis_patterns(spec, lay.in_shape)
    channels = lay.in_shape[0]
    p_out, p_in = math.prod(lay.out_shape[1:]), math.prod(lay.in_shape[1:])
    c = np.arange(channels, dtype=np.int64)
    chunks = []
    for u in itertools.product(*(range(k) for k in spec.kernel_size)):
        idx = [np.asarray(pat.index)[:, ui].astype(np.int64) for pat, ui in zip(patterns, u)]
        pos = np.flatnonzero(_all([i >= 0 for i in idx]))
        inflat = _grid([np.maximum(i, 0) for i in idx], lay.in_shape[1:])[pos]
        chunks.append(_Chunk(c * p_out, pos, c * p_in, inflat, np.full(channels, -1)))
    return _materialize(chunks)


def _max_pool_proof(spec: PoolSpec, lay: _Layout, matrix: Any, t0: float) -> ProofResult:
    """Max pooling is not linear; prove the window *sets* (which inputs feed which output)."""
    if matrix is not None and not _is_entries(matrix):
        raise ConvProofError(
            "matrix must be None or window entries for max pooling (it is not linear and has "
            "no matrix), got a matrix"
        )
    defn = definition_entries(spec, lay.in_shape)
    defn = _Entries(defn.rows, defn.cols, defn.taps, None)
    me = _pattern_windows(spec, lay) if matrix is None else matrix
    found = _entries_from_matrix_entries(me)
    # a window is a set: keep each (output, input) pair once
    found = _Entries(found.rows, found.cols, np.full(found.rows.size, -1, np.int64), None)
    a = _canonical(defn, lay.nrows, lay.ncols, 0)
    b = _canonical(found, lay.nrows, lay.ncols, 0)
    b = _Table(b.columns, None, b.ncols, b.ntaps)
    diff = _smallest_difference(a, b)
    statement = "every max-pooling window reads exactly the definition's input elements"
    sizes = _sizes(spec, lay)
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
    cx = _counterexample(lay, row, col, -1, int(e != 0), int(f != 0))
    return ProofResult("refuted", "window-sets", statement, seconds, a.size, sizes, cx, reason=note)


def _monomials(spec: Any, lay: _Layout) -> int:
    """Monomials of the definition's ``x*w`` (or ``x``) part: one per (output, tap) pair."""
    per_sample = lay.in_shape
    return int(
        spec.window_reads(per_sample) if isinstance(spec, PoolSpec) else spec.macs(per_sample)
    )


#: Set by a network proof: the tick of its one progress bar (layers then add no bar).
_SHARED_TICK: contextvars.ContextVar[Callable[[int], None] | None] = contextvars.ContextVar(
    "convproof_progress_tick", default=None
)


class _progress_bar:
    """A ``tqdm`` bar over monomials on stderr (``progress``: True, False, or None = only on
    a terminal and for large proofs); the context value is a callable ``tick(n)``.  Inside a
    network proof the network's bar is ticked instead."""

    def __init__(self, progress: bool | None, total: int, desc: str = "proving") -> None:
        if progress is not None and not isinstance(progress, bool):
            raise ConvProofError(f"progress must be True, False or None, got progress={progress!r}")
        self.bar: Any = None
        self.shared = _SHARED_TICK.get()
        if self.shared is not None or not (
            progress or (progress is None and total >= _PROGRESS_MIN and _stderr_is_terminal())
        ):
            return
        import sys

        from tqdm import tqdm

        self.bar = tqdm(
            total=total,
            desc=desc,
            unit="mono",
            unit_scale=True,
            file=sys.stderr,
            leave=False,
            dynamic_ncols=True,
        )

    def __enter__(self) -> Callable[[int], None]:
        if self.shared is not None:
            return self.shared
        if self.bar is None:
            return _no_tick
        update: Callable[[int], None] = self.bar.update
        return update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


def _no_tick(n: int) -> None:
    return None


def _stderr_is_terminal() -> bool:
    import sys

    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # closed or replaced stderr
        return False


def _check_memory(
    spec: Any, input_shape: Sequence[int], max_bytes: int | None, *, streaming: bool = False
) -> int:
    """Raise :class:`MemoryLimitError` before a proof that would not fit in ``max_bytes``.

    ``streaming``: the library comparison runs block by block (its peak is one block, the
    slab tables and the bias part); otherwise every monomial is held at once.  Returns the
    limit.
    """
    limit = resolve_max_bytes(max_bytes)
    # monomials: one per (output, tap) pair of the definition (= MACs; window reads for
    # pooling), plus one bias term per output
    sample = spec.split_input_shape(input_shape)
    per_sample = (sample[1], *sample[2])
    pairs = spec.window_reads(per_sample) if isinstance(spec, PoolSpec) else spec.macs(per_sample)
    monomials = pairs + (math.prod(spec.output_shape(per_sample)) if spec.bias else 0)
    if streaming:
        need = _stream_bytes(spec, _layout(spec, input_shape))
        how = "block by block, the largest block and the bias part need"
    else:
        need = monomials * _BYTES_PER_MONOMIAL
        how = "would need"
    if need > limit:
        raise MemoryLimitError(
            f"proving this layer compares about {monomials:,} monomials and {how} about "
            f"{human_bytes(need)}, more than max_bytes={limit} ({human_bytes(limit)}); "
            f"prove a smaller input (the identity is per position and per channel block) or "
            f"{LIMIT_HINT}"
        )
    return limit


def prove(
    spec: Any,
    input_shape: Sequence[int],
    *,
    matrix: Any = None,
    weight: Any = None,
    bias: Any = None,
    bias_vector: Any = None,
    crosscheck: bool | None = None,
    max_bytes: int | None = None,
    progress: bool | None = None,
) -> ProofResult:
    """Prove that a conv matrix computes the layer's sliding-window sum, exactly.

    Decides ``vec(Z) = T vec(X) + bias_vector`` as an identity of polynomials in the input,
    kernel and bias symbols by comparing canonical coefficient tables (see the module
    docstring).  Nothing is rounded.

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
    input_shape : tuple of int
        ``(C, *spatial)`` or ``(N, C, *spatial)``; the proof is per sample.
    matrix : optional
        The claimed ``T``.  ``None`` (default): convproof's own
        :func:`~convproof.constructions.matrix.matrix_entries` / ``conv_matrix``.  A SymPy matrix
        whose
        entries are linear in the kernel symbols of :func:`convproof.layer_symbols`
        (constants for average pooling).  A NumPy array or SciPy sparse matrix: numeric, for
        the given ``weight``.  Or matrix entries (an object with ``rows``, ``cols``, ``taps``
        and optionally ``divisors`` arrays, as from ``matrix_entries``).
    weight : array_like, optional
        Required with a numeric ``matrix`` (conv and transposed conv): the weights it was
        built from, PyTorch layout.  Integers and Fractions compare exactly; floats too,
        with a tolerance fallback (status ``"inconclusive"``) when only rounding differs.
    bias, bias_vector : optional
        The claimed bias part.  With a user ``matrix`` and ``spec.bias``, give
        ``bias_vector``: SymPy entries in the ``b`` symbols, or numbers together with
        ``bias`` (the values of ``b``).  A missing ``bias_vector`` means zero, which refutes a
        layer with bias (use ``bias=False`` in the spec to check ``T`` alone).
    crosscheck : bool, optional
        Also compare with SymPy: :func:`~convproof.sliding_sum` vs the symbolic
        ``conv_matrix`` (coefficient tables) and row-by-row ``expand(T x + b - Z) == 0``.
        Default: only for small layers (at most 600 monomials).
    max_bytes : int, optional
        Refuse (before allocating) a proof whose estimated peak memory is larger; default
        :func:`convproof.get_max_bytes` (the one memory limit).  Convproof's own matrix
        (``matrix=None``) is compared
        block by block: the estimate is one block (about 12 MiB) plus about 80 bytes per
        output for the bias part, so whole VGG layers fit.  A given matrix is compared at
        once: about 40 bytes per monomial.
    progress : bool, optional
        Show a progress bar (``tqdm``, on stderr) while comparing the blocks.  Default
        (``None``): only when stderr is a terminal and the layer has more than 20 million
        monomials.

    Returns
    -------
    ProofResult
        Truthy iff proved.  ``method`` is ``"coefficient-table"``, ``"numeric-exact"``,
        ``"numeric-tolerance"`` or ``"window-sets"`` (max pooling: not linear, so the
        windows' input sets are proved equal instead).  When refuted, ``counterexample`` is
        the smallest differing monomial in (output row, input column, tap) order.

    Raises
    ------
    ConvProofError
        For invalid input (a shape that does not fit, a numeric matrix without ``weight``).
    MemoryLimitError
        When the estimated memory exceeds ``max_bytes``; the message says how much.

    Notes
    -----
    The definition side is built by this module's own index arithmetic (gather form for
    convolution and pooling, scatter form for the transposed convolution, padding modes
    mapped per axis), never from :mod:`convproof.constructions.index` or
    :mod:`convproof.constructions.matrix`.
    With ``matrix=None`` both sides are built block by block (channels x a slab of the first
    spatial axis): the library's entries (the construction of
    :func:`~convproof.constructions.matrix.matrix_entries`, one block at a time) and the
    definition's, in
    the same order, compared element by element (int32 when every index fits).  Equal
    blocks are proved in one pass; a differing block is compared exactly as below, and an
    entry outside its block sends the proof to the whole-layer comparison.  Cost ``O(m)``
    for ``m`` monomials, memory one block.  A given matrix is compared at once: the keys
    ``(row * n_cols + col) * (n_taps + 1) + tap + 1`` are sorted as one int64 array
    (three-column lexicographic sort when they would overflow), duplicate monomials are
    summed, zeros dropped: ``O(m log m)``, about 40 bytes per monomial.

    Examples
    --------
    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False)
    >>> r = cp.prove(spec, (1, 3, 3))
    >>> print(r)                                             # doctest: +ELLIPSIS
    PROVED: vec(Z) = T vec(X)
      method:   coefficient-table
      layer:    ConvSpec(1->1, kernel_size=(2, 2), stride=(1, 1), ...)
      input:    (1, 3, 3)
      output:   (1, 2, 2)
      padding:  ((0, 0), (0, 0))
      matrix:   4 x 9
      kernel:   4 symbols W[1, 1, 2, 2]
      compared: 16 monomials
      covers:   per sample: input (1, 3, 3) -> output (1, 2, 2)
      covers:   conv_matrix (scipy.sparse): assembled at random distinct integer weights, exact
      covers:   SymPy objects: sliding_sum and the symbolic conv_matrix, compared exactly
      PROVED: T = the definition's coefficient table (x*w monomials)
        method:   coefficient-table
        compared: 16 monomials
      PROVED: conv_matrix(weight) (CSR) = the definition at that weight
        method:   object-exact
        compared: 16 monomials
      PROVED: sliding_sum (SymPy) = the definition's table
        method:   sympy-coefficients
        compared: 16 monomials
      PROVED: expand(T x + bias - sliding_sum) == 0, row by row
        method:   sympy-expand
        rows:     4
      time:     ... s

    A user's symbolic matrix with the kernel flipped is refuted, with the smallest
    counterexample:

    >>> import sympy
    >>> X, W, b = cp.layer_symbols(spec, (1, 3, 3))
    >>> T = cp.conv_matrix(spec, (1, 3, 3))
    >>> flip = {W[0, 0, i, j]: W[0, 0, 1 - i, 1 - j] for i in range(2) for j in range(2)}
    >>> bad = cp.prove(spec, (1, 3, 3), matrix=T.xreplace(flip))
    >>> bad.status
    'refuted'
    >>> print(bad.counterexample)
    output [0, 0, 0]: coefficient of x_{0,0,0}*w_{0,0,0,0} is 0, the definition says 1
    """
    t0 = time.perf_counter()
    lay = _layout(spec, input_shape)
    streaming = matrix is None and not (isinstance(spec, PoolSpec) and spec.kind == "max")
    limit = _check_memory(spec, input_shape, max_bytes, streaming=streaming)
    sizes = _sizes(spec, lay)
    if isinstance(spec, PoolSpec) and spec.kind == "max":
        return _max_pool_proof(spec, lay, matrix, t0)
    statement = "vec(Z) = T vec(X) + bias" if getattr(spec, "bias", False) else "vec(Z) = T vec(X)"
    checks: list[ProofResult] = []
    ntaps = lay.ntaps

    has_bias = bool(getattr(spec, "bias", False))
    scope: dict[str, Any] = {"per sample": f"input {lay.in_shape} -> output {lay.out_shape}"}
    bias_claimed = has_bias and (matrix is None or bias_vector is not None)
    if has_bias and not bias_claimed:
        statement = "vec(Z) - bias = T vec(X) (the linear part)"
        scope["bias"] = "not part of the claim (no bias_vector given): T alone was checked"

    if matrix is not None and not _is_sympy_matrix(matrix) and not _is_entries(matrix):
        res, _ = _prove_numeric(spec, lay, matrix, weight, t0)
        checks.append(res)
        scope["weights"] = "the given numeric weight only"
        if bias_vector is not None:
            bexp = _numeric_bias_definition(spec, lay, bias)
            bfound = (
                _Entries(*(np.zeros(0, np.int64),) * 3, None)
                if bias_vector is None
                else _numeric_bias(spec, lay, bias_vector, bias)
            )
            checks.append(
                _compare(
                    "bias_vector = b[c_out]",
                    bexp,
                    bfound,
                    lay,
                    ncols=1,
                    ntaps=0,
                    method="numeric-exact",
                    bias=True,
                )
            )
        return replace(_combine(statement, checks, sizes, t0, method=res.method), scope=scope)

    bad = None
    method = "coefficient-table"
    if matrix is None:
        with _progress_bar(progress, _monomials(spec, lay)) as tick:
            main = _stream_compare(spec, lay, tick, limit)
    elif _is_entries(matrix):
        found = _entries_from_matrix_entries(matrix)
    else:
        wmap = _symbol_maps(spec, lay)[1] if lay.weight_shape is not None else {}
        if tuple(matrix.shape) != (lay.nrows, lay.ncols):
            raise ConvProofError(
                f"matrix must have shape ({lay.nrows}, {lay.ncols}) (outputs x inputs of one "
                f"sample), got matrix with shape {tuple(matrix.shape)}"
            )
        parsed = _parse_symbolic(
            matrix, lay, wmap, lambda c: f"x_{{{_idx(_unravel(c, lay.in_shape))}}}"
        )
        found, bad = parsed
    if matrix is not None:
        main = _compare(
            "T = the definition's coefficient table (x*w monomials)",
            _definition_table(spec, lay),
            found,
            lay,
            ncols=lay.ncols,
            ntaps=ntaps,
            method=method,
        )
    if bad is not None and (
        main.counterexample is None or (bad[0], bad[1]) <= _rc(lay, main.counterexample)
    ):
        r, c, mono, value = bad
        cx = ProofCounterexample(
            _unravel(r, lay.out_shape), mono, Fraction(0), value, _unravel(c, lay.in_shape), None
        )
        main = replace(main, status="refuted", counterexample=cx)
    checks.append(main)

    if bias_claimed or bias_vector is not None:
        bexp = _bias_definition(spec, lay)
        if matrix is None:
            parsed_b = _library_bias(spec, lay)
        else:
            bmap = _symbol_maps(spec, lay)[2]
            parsed_b = _bias_from_vector(bias_vector, lay, bmap)
        checks.append(
            _with_unreadable(
                _compare(
                    "bias = b[c_out] once per output",
                    bexp,
                    parsed_b.entries,
                    lay,
                    ncols=lay.out_shape[0],
                    ntaps=0,
                    method=method,
                    bias=True,
                ),
                parsed_b.bad,
                lay,
            )
        )
    if matrix is None and main.status == "proved":  # (a refuted T needs no second witness)
        checks.append(_library_object_check(spec, lay, main.monomials, scope))
    elif matrix is None:
        scope["conv_matrix (scipy.sparse)"] = "not checked: its entries are already refuted"
    else:
        scope["weights"] = "all (an identity of polynomials in the kernel symbols)"

    if crosscheck is None:
        crosscheck = matrix is None and main.monomials <= _CROSSCHECK_LIMIT
    if crosscheck:
        checks.extend(_sympy_crosschecks(spec, lay, _definition_table(spec, lay)))
        scope["SymPy objects"] = "sliding_sum and the symbolic conv_matrix, compared exactly"
    return replace(_combine(statement, checks, sizes, t0, method=method), scope=scope)


def _with_unreadable(
    result: ProofResult, bad: tuple[int, int, str, Any] | None, lay: _Layout
) -> ProofResult:
    """Refute ``result`` with a term its parser could not read (none may disappear)."""
    if bad is None:
        return result
    row, _, term, value = bad
    if result.counterexample is not None and result.counterexample.output <= _unravel(
        row, lay.out_shape
    ):
        return result
    cx = ProofCounterexample(_unravel(row, lay.out_shape), str(term), Fraction(0), value)
    return replace(
        result,
        status="refuted",
        counterexample=cx,
        reason=f"term {term} (coefficient {value}) is not of the form c*b[c_out]",
    )


#: Up to this many monomials :func:`prove` also checks the CSR that ``conv_matrix`` returns.
_OBJECT_CHECK_LIMIT = 2_000_000


def _library_object_check(
    spec: Any, lay: _Layout, monomials: int, scope: dict[str, Any]
) -> ProofResult:
    """The object users receive: ``conv_matrix``'s CSR, assembled for a generic weight.

    The coefficient table proves ``matrix_entries`` for every weight; this checks the
    assembly of the returned ``scipy.sparse`` matrix exactly, at distinct random 31-bit
    integer weights (average pooling: entries equal to the exact ``1/divisor`` rounded to
    the nearest float64).
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
    if lay.weight_shape is None:
        try:
            m = _matrix.conv_matrix(spec, lay.in_shape, dtype=np.float64)
        except (ValueError, IndexError) as exc:
            return _object_failed(exc, t0)
        res, _ = _prove_numeric(spec, lay, m, None, t0, rounded=True)
        scope[key] = "float64 entries = the exact coefficients rounded to nearest, compared exactly"
        return replace(
            res,
            method="object-exact",
            statement="conv_matrix (float64 CSR) = the definition, rounded",
        )
    rng = np.random.default_rng(0)
    w = rng.integers(1, 2**31, size=lay.weight_shape, dtype=np.int64)
    try:
        m = _matrix.conv_matrix(spec, lay.in_shape, w)
    except (ValueError, IndexError) as exc:
        return _object_failed(exc, t0)
    res, _ = _prove_numeric(spec, lay, m, w, t0)
    scope[key] = "assembled at random distinct integer weights, exact"
    return replace(
        res,
        method="object-exact",
        statement="conv_matrix(weight) (CSR) = the definition at that weight",
    )


def _object_failed(exc: Exception, t0: float) -> ProofResult:
    """conv_matrix could not even build the object: the claim about it is refuted."""
    return ProofResult(
        "refuted",
        "object-exact",
        "conv_matrix builds the matrix",
        time.perf_counter() - t0,
        reason=f"conv_matrix raised {type(exc).__name__}: {exc}",
    )


def _rc(lay: _Layout, cx: ProofCounterexample) -> tuple[int, int]:
    row = int(np.ravel_multi_index(cx.output, lay.out_shape))
    col = -1 if cx.input is None else int(np.ravel_multi_index(cx.input, lay.in_shape))
    return row, col


def _combine(
    statement: str, checks: list[ProofResult], sizes: dict[str, Any], t0: float, *, method: str
) -> ProofResult:
    """One result from the parts: refuted if any part is, else inconclusive if any is, else
    verified if any part is (its assumptions carried up), else proved."""
    status = "proved"
    cx = None
    reason = None
    assumptions: list[str] = []
    for c in checks:
        assumptions.extend(a for a in c.assumptions if a not in assumptions)
        if c.status == "refuted":
            status, cx, reason = "refuted", c.counterexample, c.reason
            break
        if c.status == "inconclusive" and status in ("proved", "verified"):
            status, reason = "inconclusive", c.reason
        elif c.status == "verified" and status == "proved":
            status = "verified"
    monomials = sum(
        c.monomials for c in checks if not c.method.startswith(("sympy", "random", "object"))
    )
    return ProofResult(
        status,
        method,
        statement,
        time.perf_counter() - t0,
        monomials,
        sizes,
        cx,
        reason,
        tuple(checks),
        assumptions=tuple(assumptions),
    )


# --------------------------------------------------------------------------------------
# SymPy cross-checks (small layers)
# --------------------------------------------------------------------------------------


def _parse_outputs(
    exprs: Sequence[Any], xmap: dict[Any, int], wmap: dict[Any, int], bmap: dict[Any, int]
) -> tuple[_Entries, _Entries, tuple[int, Any] | None]:
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
            frac = _to_fraction(value)
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

    weights = _Entries(
        np.asarray(rows, np.int64),
        np.asarray(cols, np.int64),
        np.asarray(taps, np.int64),
        objects(coef),
    )
    biases = _Entries(
        np.asarray(brows, np.int64),
        np.asarray(bcols, np.int64),
        np.full(len(brows), -1, dtype=np.int64),
        objects(bcoef),
    )
    return weights, biases, unknown


def _sympy_crosschecks(spec: Any, lay: _Layout, defn: _Table) -> list[ProofResult]:
    import sympy

    from convproof.constructions import matrix as _matrix
    from convproof.constructions.sliding_sum import layer_symbols, sliding_sum

    t0 = time.perf_counter()
    xmap, wmap, bmap = _symbol_maps(spec, lay)
    z = _flat_symbols(sliding_sum(spec, lay.in_shape))
    found, bfound, unknown = _parse_outputs(z, xmap, wmap, bmap)
    first = _compare(
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
        bias_check = _compare(
            "bias",
            _bias_definition(spec, lay),
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
    xs = sympy.Matrix(_flat_symbols(syms.X))
    t_sym = _matrix.conv_matrix(spec, lay.in_shape)
    tx = t_sym * xs
    if getattr(spec, "bias", False):
        bvec = list(
            np.asarray(
                _matrix.bias_vector(
                    spec, lay.in_shape, np.array([*_flat_symbols(syms.b), None], dtype=object)[:-1]
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
                reason=f"row {bad_row} ({_unravel(bad_row, lay.out_shape)}) does not cancel",
            )
        )
    return out


# --------------------------------------------------------------------------------------
# user functions
# --------------------------------------------------------------------------------------

#: Random calls with which :func:`prove_function` tests the assumptions of a numeric probe.
_TRIALS = 12
_MAP_NAMES = {"max": "max-pooling", "linear": "bilinear"}


def _call(
    fn: Callable[..., Any], spec: Any, x: Any, w: Any, b: Any, expected: tuple[int, ...]
) -> np.ndarray:
    """``fn``'s result as an array of the expected shape (else :class:`ConvProofError`)."""
    out = fn(x) if isinstance(spec, PoolSpec) else fn(x, w, b)
    if hasattr(out, "detach") and hasattr(out, "numpy"):  # a torch tensor
        out = out.detach().cpu().numpy()
    arr = np.asarray(out)
    if tuple(arr.shape) != tuple(expected):
        raise ConvProofError(
            f"fn must return an array of shape {tuple(expected)} for an input of shape "
            f"{tuple(np.shape(x))}, got shape {tuple(arr.shape)}"
        )
    return arr


def _objects(values: list[Any], shape: Sequence[int]) -> np.ndarray:
    return np.array([*values, None], dtype=object)[:-1].reshape(tuple(shape))


def _sample_symbols(xsyms: list[Any], n: int) -> list[Any]:
    """Input symbols of sample ``n`` of a batch (sample 0 keeps ``layer_symbols``' names)."""
    import sympy

    if n == 0:
        return xsyms
    return [sympy.Symbol(f"{s.name}^({n})", **s.assumptions0) for s in xsyms]


def _symbolic_probe(
    fn: Callable[..., Any], spec: Any, lay: _Layout, batch: int | None
) -> list[tuple[_Entries, _Entries, tuple[int, Any] | None]] | None:
    """Call ``fn`` once on the layer's SymPy symbols, every sample of the batch its own.

    Returns one parsed table per sample, or ``None`` if ``fn`` cannot compute with symbols.
    """
    from convproof.constructions.sliding_sum import layer_symbols

    syms = layer_symbols(spec, lay.in_shape)
    xflat = _flat_symbols(syms.X)
    samples = [_sample_symbols(xflat, n) for n in range(batch or 1)]
    xs = [_objects(v, lay.in_shape) for v in samples]
    x = np.stack(xs) if batch is not None else xs[0]
    w = None if syms.W is None else _objects(_flat_symbols(syms.W), syms.W.shape)
    has_bias = getattr(spec, "bias", False)
    b = _objects(_flat_symbols(syms.b), syms.b.shape) if has_bias and syms.b is not None else None
    expected_shape = ((batch,) if batch is not None else ()) + lay.out_shape
    try:
        out = fn(x) if isinstance(spec, PoolSpec) else fn(x, w, b)
    except Exception:
        return None
    out = np.asarray(out)
    if out.dtype != object:
        return None
    if tuple(out.shape) != expected_shape:
        raise ConvProofError(
            f"fn must return an array of shape {expected_shape}, got shape {tuple(out.shape)}"
        )
    _, wmap, bmap = _symbol_maps(spec, lay)
    per_sample = out.reshape(len(samples), -1)
    return [
        _parse_outputs(list(per_sample[n]), {s: i for i, s in enumerate(v)}, wmap, bmap)
        for n, v in enumerate(samples)
    ]


def _read_number(v: Any, *, snap: bool = False) -> Fraction:
    """An exact number; ``snap``: a float that rounds from a fraction with a small
    denominator (``1/6`` from ``0.16666666666666666``) is read as that fraction."""
    if isinstance(v, float | np.floating):
        if not math.isfinite(float(v)):
            raise ConvProofError(f"fn must return finite numbers here, got {v!r}")
        f = Fraction(float(v))
        if snap:
            small = f.limit_denominator(2**20)
            return small if float(small) == float(v) else f
        return f
    frac = _to_fraction(v)
    if frac is None:
        raise ConvProofError(f"fn must return numbers, got {v!r}")
    return frac


def _read_all(values: np.ndarray) -> np.ndarray:
    snapped = (_read_number(v, snap=True) for v in values.ravel())
    return np.array([*snapped, None], dtype=object)[:-1]


def _basis_probe(
    fn: Callable[..., Any], spec: Any, lay: _Layout, batch: int | None, max_calls: int
) -> tuple[_Entries, list[_Entries], int]:
    """Unit impulses in x and w (and b): the coefficient table of a bilinear/affine fn.

    Returns the ``x*w`` table (read from impulses batched along the batch axis when ``fn``
    is batched), the bias table of every sample of a batch of the user's size, and the
    number of calls.
    """
    n_in = lay.ncols
    ntaps = max(lay.ntaps, 1)
    has_bias = bool(getattr(spec, "bias", False))
    calls = ntaps * (1 if batch is not None else n_in) + (lay.out_shape[0] if has_bias else 0)
    if calls > max_calls:
        raise ConvProofError(
            f"max_calls must be at least the {calls} calls this basis probe needs (one per "
            f"kernel tap{'' if batch is not None else ' and input element'}), got "
            f"max_calls={max_calls}; use a smaller input_shape"
        )
    rows_l: list[np.ndarray] = []
    cols_l: list[np.ndarray] = []
    taps_l: list[np.ndarray] = []
    vals_l: list[np.ndarray] = []
    zero_b = np.zeros(lay.out_shape[0], dtype=np.int64) if has_bias else None
    for t in range(ntaps):
        w = None
        if lay.weight_shape is not None:
            w = np.zeros(lay.ntaps, dtype=np.int64)
            w[t] = 1
            w = w.reshape(lay.weight_shape)
        if batch is not None:
            x = np.eye(n_in, dtype=np.int64).reshape((n_in, *lay.in_shape))
            out = _call(fn, spec, x, w, zero_b, (n_in, *lay.out_shape)).reshape(n_in, lay.nrows)
        else:
            outs = []
            for j in range(n_in):
                x = np.zeros(n_in, dtype=np.int64)
                x[j] = 1
                outs.append(
                    _call(fn, spec, x.reshape(lay.in_shape), w, zero_b, lay.out_shape).reshape(-1)
                )
            out = np.stack(outs)
        js, rs = np.nonzero(out)
        rows_l.append(rs)
        cols_l.append(js)
        taps_l.append(np.full(rs.size, t if lay.weight_shape is not None else -1))
        vals_l.append(_read_all(out[js, rs]))
    weights = _Entries(
        _cat(rows_l), _cat(cols_l), _cat(taps_l), np.concatenate([*vals_l, np.zeros(0, object)])
    )
    samples = batch or 1
    brow: list[list[int]] = [[] for _ in range(samples)]
    bcol: list[list[int]] = [[] for _ in range(samples)]
    bval: list[list[Fraction]] = [[] for _ in range(samples)]
    if zero_b is not None:
        x0 = np.zeros(((batch,) if batch is not None else ()) + lay.in_shape, dtype=np.int64)
        w0 = np.zeros(lay.weight_shape or (), dtype=np.int64)
        shape = ((batch,) if batch is not None else ()) + lay.out_shape
        for c in range(lay.out_shape[0]):
            e = np.zeros(lay.out_shape[0], dtype=np.int64)
            e[c] = 1
            bout = _call(fn, spec, x0, w0, e, shape).reshape(samples, -1)
            for n in range(samples):
                for r in np.flatnonzero(bout[n]):
                    brow[n].append(int(r))
                    bcol[n].append(c)
                    bval[n].append(_read_number(bout[n, r], snap=True))
    biases = [
        _Entries(
            np.asarray(brow[n], np.int64),
            np.asarray(bcol[n], np.int64),
            np.full(len(brow[n]), -1, dtype=np.int64),
            np.array([*bval[n], None], dtype=object)[:-1],
        )
        for n in range(samples)
    ]
    return weights, biases, calls


def _window_probe(
    fn: Callable[..., Any], spec: Any, lay: _Layout, batch: int | None, max_calls: int
) -> tuple[_Entries, int, tuple[int, int, Any] | None]:
    """Max pooling: ``x = e_j`` (zeros elsewhere) gives 1 exactly at the windows holding j.

    Returns the window entries, the number of calls and the first output that is neither
    0, 1 nor ``-inf`` (``(row, col, value)``), which no max over inputs can give.
    """
    n_in = lay.ncols
    calls = 1 if batch is not None else n_in
    if calls > max_calls:
        raise ConvProofError(
            f"max_calls must be at least the {calls} calls this window probe needs (one per "
            f"input element), got max_calls={max_calls}; use a smaller input_shape"
        )
    if batch is not None:
        x = np.eye(n_in).reshape((n_in, *lay.in_shape))
        out = _call(fn, spec, x, None, None, (n_in, *lay.out_shape)).reshape(n_in, lay.nrows)
    else:
        rows = []
        for j in range(n_in):
            x = np.zeros(n_in)
            x[j] = 1
            rows.append(_call(fn, spec, x.reshape(lay.in_shape), None, None, lay.out_shape))
        out = np.stack([r.reshape(-1) for r in rows])
    out = np.asarray(out, dtype=np.float64)
    odd = ~((out == 0) | (out == 1) | (out == -np.inf))
    bad = None
    if bool(odd.any()):
        js, rs = np.nonzero(odd)
        k = int(np.lexsort((js, rs))[0])
        bad = (int(rs[k]), int(js[k]), float(out[js[k], rs[k]]))
    js, rs = np.nonzero(out == 1)
    entries = _Entries(rs.astype(np.int64), js.astype(np.int64), np.full(rs.size, -1), None)
    return entries, calls, bad


def _definition_values(
    defn: _Entries,
    lay: _Layout,
    x: np.ndarray,
    w: np.ndarray | None,
    b: np.ndarray | None,
    kind: str,
) -> np.ndarray:
    """The definition evaluated exactly at one sample (object array of Fractions)."""
    xs = np.asarray(x, dtype=object).reshape(-1)
    if kind == "max":
        out = np.full(lay.nrows, -math.inf, dtype=object)
        for r, c in zip(defn.rows.tolist(), defn.cols.tolist()):
            if out[r] == -math.inf or xs[c] > out[r]:
                out[r] = xs[c]
        return out
    terms = xs[defn.cols]
    if defn.coef is not None:
        terms = terms * defn.coef
    if w is not None:
        terms = terms * np.asarray(w, dtype=object).reshape(-1)[defn.taps]
    out = np.zeros(lay.nrows, dtype=object)
    np.add.at(out, defn.rows, terms)
    if b is not None:
        out += np.repeat(np.asarray(b, dtype=object), math.prod(lay.out_shape[1:]))
    return np.array([*(Fraction(v) if v != -math.inf else v for v in out), None], object)[:-1]


def _abs(a: np.ndarray | None) -> np.ndarray | None:
    return None if a is None else np.abs(a)


def _trial_inputs(
    rng: np.random.Generator, kind: int, shape: tuple[int, ...], distinct: bool
) -> np.ndarray:
    """Trial data: mixed signs, all negative, all positive, wide magnitudes, float64."""
    size = math.prod(shape)
    if distinct:  # max pooling: distinct values, so the maximum is unique
        vals = rng.permutation(size).astype(np.int64) - (size if kind % 3 == 1 else size // 2)
        if kind % 3 == 2:
            vals = vals + size
        return vals.reshape(shape)
    if kind % 4 == 0:
        return rng.integers(-9, 10, shape)
    if kind % 4 == 1:
        return -rng.integers(1, 10, shape)
    if kind % 4 == 2:
        return rng.integers(1, 10, shape)
    return rng.integers(-9, 10, shape) * (2 ** rng.integers(0, 20, shape))


def _random_checks(
    fn: Callable[..., Any],
    spec: Any,
    lay: _Layout,
    batch: int | None,
    defn: _Entries,
    trials: int,
    seed: int,
) -> ProofResult:
    """``trials`` calls on random data (the user's batch size), compared exactly."""
    rng = np.random.default_rng(seed)
    kind = "max" if isinstance(spec, PoolSpec) and spec.kind == "max" else "linear"
    has_bias = bool(getattr(spec, "bias", False))
    samples = batch or 1
    shape = ((batch,) if batch is not None else ()) + lay.out_shape
    stmt = (
        f"{trials} calls on random inputs (seed {seed}) match the definition exactly (float "
        f"results: within (terms + 2) * 2**-52 * sum |terms|)"
    )
    for trial in range(trials):
        x = np.stack(
            [_trial_inputs(rng, trial, lay.in_shape, kind == "max") for _ in range(samples)]
        )
        if kind != "max" and trial % 5 == 4:
            x = x / 2  # float64, exactly representable halves
        w = None if lay.weight_shape is None else rng.integers(-9, 10, lay.weight_shape)
        b = rng.integers(-9, 10, lay.out_shape[0]) if has_bias else None
        got = _call(fn, spec, x if batch is not None else x[0], w, b, shape).reshape(samples, -1)
        for n in range(samples):
            want = _definition_values(defn, lay, x[n], w, b, kind)
            size = None
            for row in range(lay.nrows):
                g = got[n, row]
                is_float = isinstance(g, float | np.floating)
                g = -math.inf if float(g) == -math.inf else _read_number(g)
                if g != want[row] and is_float and kind != "max" and want[row] != -math.inf:
                    if size is None:  # sum of |terms| per output, and the number of terms
                        size = _definition_values(defn, lay, np.abs(x[n]), _abs(w), _abs(b), kind)
                        counts = np.bincount(defn.rows, minlength=lay.nrows) + 2
                    # float arithmetic: within the forward error bound of a sum of n terms
                    if abs(g - want[row]) <= Fraction(int(counts[row]), 2**52) * size[row]:
                        continue
                if g != want[row]:
                    where = f"sample {n}, " if batch is not None else ""
                    cx = ProofCounterexample(
                        _unravel(row, lay.out_shape),
                        f"(random input, trial {trial}, {where}seed {seed})",
                        want[row],
                        g,
                    )
                    return ProofResult(
                        "refuted",
                        "random-exact",
                        stmt,
                        counterexample=cx,
                        reason=(
                            f"fn differs from the definition on random data ({where}trial "
                            f"{trial}): it is not the {_MAP_NAMES[kind]} map its probes read"
                        ),
                    )
    return ProofResult("proved", "random-exact", stmt, monomials=0)


def _weight_check(
    prefix: str, defn: _Table, found: _Entries, lay: _Layout, method: str
) -> ProofResult:
    """A function's x*w coefficients against the definition's table."""
    return _compare(
        prefix + "x*w coefficients", defn, found, lay, ncols=lay.ncols, ntaps=lay.ntaps,
        method=method,
    )  # fmt: skip


def _bias_check(prefix: str, spec: Any, found: _Entries, lay: _Layout, method: str) -> ProofResult:
    """A function's bias coefficients against ``b[c_out]`` once per output."""
    return _compare(
        prefix + "bias coefficients", _bias_definition(spec, lay), found, lay,
        ncols=lay.out_shape[0], ntaps=0, method=method, bias=True,
    )  # fmt: skip


def prove_function(
    fn: Callable[..., Any],
    spec: Any,
    input_shape: Sequence[int],
    *,
    max_calls: int = 10_000,
    trials: int = _TRIALS,
    seed: int = 0,
) -> ProofResult:
    """Check a user's conv function against the definition, exactly; minimal counterexample.

    ``fn`` is called as ``fn(x, weight, bias)`` for convolutions (``bias`` is ``None`` when
    the spec has none) and ``fn(x)`` for pooling, with NumPy arrays in PyTorch layouts; bind
    stride, padding and the rest with a ``lambda`` or :func:`functools.partial`.  ``x`` has
    the rank of ``input_shape``: batched ``(N, C, *spatial)`` or not.  A batched
    ``input_shape`` is checked for every one of its ``N`` samples.

    Ways to read ``fn``, tried in order:

    ``"symbolic-probe"``  (status ``"proved"``)
        ``fn`` is called once on object arrays of SymPy symbols, each sample of the batch
        with its own input symbols (works for pure-NumPy code that does not force a float
        dtype).  Its outputs *are* polynomials, so equal coefficient tables prove ``fn``
        equals the definition for all inputs on that code path; ``trials`` random numeric
        calls (integers, then exact halves in float64) check that ``fn``'s numeric path
        computes the same.
    ``"basis-probe"``  (status ``"verified"``)
        Unit impulses ``x = e_j``, ``weight = e_t`` (``bias = 0``), then ``bias = e_c``.
        This reads ``fn`` completely *if* ``fn`` is bilinear in ``(x, weight)`` and affine
        in ``bias`` (every convolution is) and treats the samples of a batch alike.  Those
        are assumptions: they are tested by ``trials`` random calls with the user's batch
        size (mixed signs, all negative, all positive, wide magnitudes, halves) compared
        exactly, and stated in ``.assumptions``.
    ``"window-probe"``  (max pooling; status ``"verified"``)
        ``x = e_j`` (zeros elsewhere) gives 1 exactly at the outputs whose window holds
        input ``j``: the window sets are compared with the definition's, then ``trials``
        random inputs with distinct values check that each output is its window's maximum.

    Parameters
    ----------
    fn : callable
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
    input_shape : tuple of int
        Keep it small: the table has ``inputs * taps`` entries.
    max_calls : int
        Refuse probes that would need more calls than this.
    trials : int
        Random calls that test the probe's assumptions (and the numeric path).
    seed : int
        Seed of the random calls (reported).

    Returns
    -------
    ProofResult
        ``counterexample`` is the smallest output (then monomial) where ``fn`` differs.
        ``scope`` says which samples and inputs were covered, ``assumptions`` what a
        ``"verified"`` result rests on.

    Raises
    ------
    ConvProofError
        If ``fn`` returns the wrong shape or non-numbers, or the probe is too large.

    Examples
    --------
    >>> import numpy as np, convproof as cp
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, bias=False, ndim=1)
    >>> def mine(x, w, b):          # np.convolve flips the kernel: a true convolution
    ...     return np.convolve(x[0], w[0, 0], mode="valid")[None]
    >>> r = cp.prove_function(mine, spec, (1, 5))
    >>> r.status, r.method
    ('refuted', 'symbolic-probe')
    >>> print(r.counterexample)
    output [0, 0]: coefficient of x_{0,0}*w_{0,0,0} is 0, the definition says 1
    >>> def fixed(x, w, b):
    ...     return np.correlate(x[0], w[0, 0], mode="valid")[None]
    >>> cp.prove_function(fixed, spec, (1, 5)).status
    'proved'

    A function that only works on floats is read by impulses, and the verdict says what
    it rests on:

    >>> def floats(x, w, b):
    ...     return np.correlate(np.asarray(x, float)[0], np.asarray(w, float)[0, 0])[None]
    >>> r = cp.prove_function(floats, spec, (1, 5))
    >>> r.status, r.method
    ('verified', 'basis-probe')
    >>> print(r.assumptions[0])
    fn is bilinear in (x, weight) and affine in bias (read from 15 unit-impulse calls)
    """
    t0 = time.perf_counter()
    if not callable(fn):
        raise ConvProofError(f"fn must be callable, got fn={fn!r}")
    for name, value, low in (("max_calls", max_calls, 1), ("trials", trials, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConvProofError(f"{name} must be an int >= {low}, got {name}={value!r}")
    lay = _layout(spec, input_shape)
    batch_dims, _, _ = spec.split_input_shape(input_shape)
    batch = int(batch_dims[0]) if len(batch_dims) == 1 else None
    sizes = _sizes(spec, lay)
    if batch is not None:
        sizes["batch"] = batch
    is_max = isinstance(spec, PoolSpec) and spec.kind == "max"
    entries = definition_entries(spec, lay.in_shape)
    scope: dict[str, Any] = {
        "samples": "every sample of the batch" if batch is not None else "one unbatched input",
        "per sample": f"input {lay.in_shape} -> output {lay.out_shape}",
    }
    assumptions: list[str] = []
    statement = (
        "fn(x) = the definition"
        if isinstance(spec, PoolSpec)
        else ("fn(x, weight, bias) = the definition")
    )
    checks: list[ProofResult] = []
    has_bias = bool(getattr(spec, "bias", False))

    probe = None if is_max else _symbolic_probe(fn, spec, lay, batch)
    if probe is not None:
        method, calls = "symbolic-probe", 1
        defn = _definition_table(spec, lay)
        for n, (weights, biases, unknown) in enumerate(probe):
            prefix = f"sample {n}: " if batch is not None else ""
            checks.append(_weight_check(prefix, defn, weights, lay, method))
            if has_bias or biases.rows.size:
                checks.append(_bias_check(prefix, spec, biases, lay, method))
            if unknown is not None:
                r, term = unknown
                cx = ProofCounterexample(_unravel(r, lay.out_shape), str(term), Fraction(0), term)
                checks.append(
                    ProofResult("refuted", method, prefix + "no other terms", counterexample=cx)
                )
        scope["inputs"] = "all (a polynomial identity on SymPy object arrays)"
        scope["numeric path"] = f"{trials} random calls compared exactly"
    elif is_max:
        windows, calls, odd = _window_probe(fn, spec, lay, batch, max_calls)
        method = "window-probe"
        ref = _Entries(entries.rows, entries.cols, np.full(entries.rows.size, -1), None)
        res = _compare(
            "window sets (x = e_j gives 1 where j is in the window)",
            ref,
            windows,
            lay,
            ncols=lay.ncols,
            ntaps=0,
            method=method,
        )
        if odd is not None:
            r, c, v = odd
            cx = ProofCounterexample(
                _unravel(r, lay.out_shape), f"x = e_{{{_idx(_unravel(c, lay.in_shape))}}}", 1, v
            )
            res = replace(
                res,
                status="refuted",
                counterexample=cx,
                reason=f"a max over inputs of a unit impulse is 0, 1 or -inf, got {v!r}",
            )
        checks.append(res)
        assumptions.append(
            f"fn(x)[o] is the maximum of x over a fixed set of inputs (sets read from "
            f"{lay.ncols} unit impulses)"
        )
        scope["inputs"] = f"{lay.ncols} unit impulses and {trials} random inputs"
    else:
        weights, bias_tables, calls = _basis_probe(fn, spec, lay, batch, max_calls)
        method = "basis-probe"
        checks.append(_weight_check("", _definition_table(spec, lay), weights, lay, method))
        for n, biases in enumerate(bias_tables):
            if has_bias or biases.rows.size:
                prefix = f"sample {n}: " if batch is not None else ""
                checks.append(_bias_check(prefix, spec, biases, lay, method))
        assumptions.append(
            f"fn is bilinear in (x, weight) and affine in bias (read from {calls} "
            f"unit-impulse calls)"
        )
        assumptions.append(
            "a float coefficient is the nearest float to a fraction with denominator "
            "<= 2**20 when it rounds from one (1/6 read from 0.16666666666666666)"
        )
        if batch is not None:
            assumptions.append(
                f"fn treats every sample alike (impulses went in a batch of {lay.ncols})"
            )
        scope["inputs"] = f"unit impulses and {trials} random inputs"
    sizes["calls"] = calls
    if all(checks):
        sizes["random calls"] = trials
        checks.append(_random_checks(fn, spec, lay, batch, entries, trials, seed))
        if assumptions:
            assumptions.append(f"tested by {trials} random calls (seed {seed}), all exact")
    result = _combine(statement, checks, sizes, t0, method=method)
    status = result.status
    if status == "proved" and assumptions:
        status = "verified"
    return replace(result, status=status, scope=scope, assumptions=tuple(assumptions))
