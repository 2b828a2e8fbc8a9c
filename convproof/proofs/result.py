"""What a proof returns: :class:`ProofResult`, :class:`ProofCounterexample`, their text and
``to_dict``, and the helpers that name a monomial and compare two entry lists.

Examples
--------
>>> import convproof as cp
>>> r = cp.prove(cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, ndim=1), (1, 4))
>>> r.status, r.to_dict()["status"]
('proved', 'proved')
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from convproof.constructions.coefficients import Entries, Table, canonical, smallest_difference
from convproof.constructions.definition import Layout
from convproof.errors import ConvProofError
from convproof.layers.spec import ConvSpec, PoolSpec

__all__ = ["ProofCounterexample", "ProofResult"]

_STATUSES = ("proved", "verified", "refuted", "inconclusive")


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


def outside_entry(
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


# --------------------------------------------------------------------------------------
# naming monomials
# --------------------------------------------------------------------------------------


def unravel(flat: int, shape: Sequence[int]) -> tuple[int, ...]:
    return tuple(int(v) for v in np.unravel_index(flat, tuple(shape)))


def index_text(t: tuple[int, ...]) -> str:
    return ",".join(map(str, t))


def make_counterexample(
    lay: Layout, row: int, col: int, tap: int, expected: Any, found: Any, *, bias: bool = False
) -> ProofCounterexample:
    out = unravel(row, lay.out_shape)
    if bias:
        return ProofCounterexample(out, f"b_{{{col}}}", expected, found)
    inp = unravel(col, lay.in_shape)
    if tap < 0 or lay.weight_shape is None:
        return ProofCounterexample(out, f"x_{{{index_text(inp)}}}", expected, found, inp, None)
    w = unravel(tap, lay.weight_shape)
    return ProofCounterexample(
        out, f"x_{{{index_text(inp)}}}*w_{{{index_text(w)}}}", expected, found, inp, w
    )


def spec_text(spec: Any) -> str:
    fields = [
        f"kernel_size={spec.kernel_size}",
        f"stride={spec.stride}",
        f"padding={spec.padding!r}",
        f"dilation={spec.dilation}",
    ]
    if isinstance(spec, PoolSpec):
        head = f"PoolSpec(kind={spec.kind!r}, "
        fields += [f"ceil_mode={spec.ceil_mode}", f"count_include_pad={spec.count_include_pad}"]
        if spec.kind == "lp":  # the scope names which Lp pool was proved
            fields += [f"norm_type={spec.norm_type!r}", f"legality={spec.legality!r}"]
    else:
        head = f"{type(spec).__name__}({spec.in_channels}->{spec.out_channels}, "
        fields += [f"groups={spec.groups}", f"bias={spec.bias}"]
        if isinstance(spec, ConvSpec):
            fields.append(f"padding_mode={spec.padding_mode!r}")
        else:
            fields.append(f"output_padding={spec.output_padding}")
    return head + ", ".join(fields) + ")"


def layer_sizes(spec: Any, lay: Layout) -> dict[str, Any]:
    sizes: dict[str, Any] = {
        "layer": spec_text(spec),
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


def compare_entries(
    name: str,
    expected: Entries | Table,
    found: Entries | Table,
    lay: Layout,
    *,
    ncols: int,
    ntaps: int,
    method: str,
    bias: bool = False,
    t0: float | None = None,
) -> ProofResult:
    start = time.perf_counter() if t0 is None else t0
    if isinstance(found, Entries):
        stray = outside_entry(found.rows, found.cols, found.taps, lay.nrows, ncols, ntaps)
        if stray is not None:
            seconds = time.perf_counter() - start
            return ProofResult("refuted", method, name, seconds, 0, counterexample=stray)
    a = expected if isinstance(expected, Table) else canonical(expected, lay.nrows, ncols, ntaps)
    b = found if isinstance(found, Table) else canonical(found, lay.nrows, ncols, ntaps)
    diff = smallest_difference(a, b)
    seconds = time.perf_counter() - start
    if diff is None:
        return ProofResult("proved", method, name, seconds, a.size)
    (row, col, tap), e, f = diff
    cx = make_counterexample(lay, row, col, tap, e, f, bias=bias)
    return ProofResult("refuted", method, name, seconds, max(a.size, b.size), counterexample=cx)


def combine(
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
