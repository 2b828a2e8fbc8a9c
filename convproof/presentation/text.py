"""Text, LaTeX and JSON: the exact sum behind one output element, shape reports, tables.

:func:`element_sum` answers the seeds' question "how do three channels collapse into one
number?" for any layer: the exact sum behind one output element, term by term, channel by
channel, plus the bias, with the taps that land in padding listed (skipped for zero
padding, remapped for circular / reflect / replicate).  It computes no index itself: it
reads the index rule of :mod:`convproof.constructions.index` (the rule the conv matrices
are built from, proved equal to the definition by :func:`convproof.prove_general`) and
writes out what that rule says.  :func:`shape_report` fills the output-size equation with
the numbers, its value from :mod:`convproof.layers.sizes`; :func:`format_table` and
:func:`to_json` produce the command line's tables and JSON.

Examples
--------
>>> import convproof as cp
>>> from convproof.presentation.text import element_sum
>>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=1,
...                    padding_mode="circular", bias=False, ndim=1)
>>> print(element_sum(spec, (1, 4), (0, 0)).text())
Z[0,0] =
    (channel 0)  X[0,3]*W[0,0,0] + X[0,0]*W[0,0,1] + X[0,1]*W[0,0,2]
3 products (1 input channel x 3 taps)
circular padding remaps 1 tap: (0) reads (-1) -> (3)
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convproof.constructions.index import AxisPattern, axis_patterns, group_input_start
from convproof.errors import ConvProofError
from convproof.layers import sizes
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec

__all__ = [
    "ElementSum",
    "Term",
    "element_sum",
    "format_table",
    "shape_report",
    "to_json",
]

AnySpec = ConvSpec | ConvTransposeSpec | PoolSpec


# --------------------------------------------------------------------------------------
# the exact sum behind one output element
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One product ``X[input] * W[weight]`` of an output element's sum.

    Attributes
    ----------
    input : tuple of int
        Index into the (unbatched) input ``(c, *spatial)``.
    weight : tuple of int or None
        Index into the weight (PyTorch layout); ``None`` for pooling.
    tap : tuple of int
        Kernel tap ``u`` (spatial).
    position : tuple of int
        Padded coordinate read, ``a*s + u*d - p_before`` (for a transposed conv: the output
        position the input element is scattered to, ``a*s + u*d - p_before``, equal to the
        chosen output).
    note : str or None
        ``"circular"``, ``"reflect"`` or ``"replicate"`` when padding remapped the read.
    """

    input: tuple[int, ...]
    weight: tuple[int, ...] | None
    tap: tuple[int, ...]
    position: tuple[int, ...]
    note: str | None = None


@dataclass(frozen=True)
class ElementSum:
    """The exact expression of one output element (see :func:`element_sum`).

    Attributes
    ----------
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
    input_shape : tuple of int
        Unbatched ``(C_in, *spatial)``.
    at : tuple of int
        Output index ``(c_out, *spatial)`` (unbatched).
    operation : {"sum", "max", "avg", "lp"}
    bias : tuple of int or None
        ``(c_out,)`` when a bias is added.
    channels : tuple of (int, tuple of Term)
        Per contributing input channel, its products in tap order.
    skipped : tuple of (tap, position, reason)
        Spatial taps that read no input element (zero padding, the ceil-mode overhang, or,
        for a transposed conv, a zero inserted by the stride); the same for every channel.
    divisor : int or None
        Average pooling's divisor; for PyTorch's Lp pool, the taps inside the input (its
        window sum of ``x**p`` is scaled by ``prod(kernel_size) / divisor``).
    """

    spec: AnySpec
    input_shape: tuple[int, ...]
    at: tuple[int, ...]
    operation: str
    bias: tuple[int, ...] | None
    channels: tuple[tuple[int, tuple[Term, ...]], ...]
    skipped: tuple[tuple[tuple[int, ...], tuple[int, ...], str], ...] = field(default=())
    divisor: int | None = None

    @property
    def terms(self) -> tuple[Term, ...]:
        """All products (or pooled elements), channel by channel."""
        return tuple(t for _, terms in self.channels for t in terms)

    @property
    def num_taps(self) -> int:
        """Spatial kernel taps per channel, ``prod(kernel_size)``."""
        return math.prod(self.spec.kernel_size)

    def evaluate(self, x: Any, weight: Any = None, bias: Any = None) -> Any:
        """Evaluate the expression on concrete arrays (unbatched ``x``).

        Works with floats and with exact object arrays (``Fraction``, SymPy).

        Examples
        --------
        >>> import numpy as np
        >>> import convproof as cp
        >>> spec = cp.ConvSpec(in_channels=3, out_channels=1, kernel_size=2, bias=False)
        >>> e = element_sum(spec, (3, 2, 2), (0, 0, 0))
        >>> int(e.evaluate(np.ones((3, 2, 2)), np.ones((1, 3, 2, 2))))
        12
        """
        if self.operation == "max":
            values = [x[t.input] for t in self.terms]
            best = values[0] if values else float("-inf")
            for v in values[1:]:
                best = v if v > best else best
            return best
        if self.operation in ("avg", "lp"):
            return self._pooled(x)
        if weight is None:
            raise ConvProofError("weight must be given to evaluate a convolution, got None")
        acc: Any = bias[self.bias] if (self.bias is not None and bias is not None) else 0
        for t in self.terms:
            assert t.weight is not None
            acc = acc + x[t.input] * weight[t.weight]
        return acc

    def _pooled(self, x: Any) -> Any:
        """An average or Lp pool's value: ``(scale * sum v**p / divisor) ** (1/p)``."""
        from fractions import Fraction

        p = self._norm_type()
        onnx = self.operation == "lp" and self.spec.legality == "onnx"
        total: Any = 0
        for t in self.terms:
            v = abs(x[t.input]) if onnx else x[t.input]
            # a power p != 1 is computed in float64, as conv() does (a negative base: nan)
            total = total + (v if p == 1 else np.float64(v) ** p)
        if isinstance(total, int):
            total = Fraction(total)
        if self.divisor is not None:
            total = total * self._lp_scale() / self.divisor
        if p == 1:
            return total
        with np.errstate(invalid="ignore"):
            return total ** (1.0 / p)

    def _norm_type(self) -> float:
        """The Lp pool's ``p`` (``1`` for every other operation)."""
        p = getattr(self.spec, "norm_type", None) if self.operation == "lp" else None
        return 1 if p is None else p

    def _lp_scale(self) -> int:
        """``prod(kernel_size)`` for PyTorch's Lp pool (scaled by it), else ``1``."""
        lp = self.operation == "lp" and self.spec.legality == "pytorch"
        return self.num_taps if lp else 1

    def _lp_text(self, power: str, root: str, latex: bool = False) -> str:
        """PyTorch's or ONNX's Lp window as text: ``(scale/divisor * sum v**p) ** (1/p)``."""
        onnx = self.spec.legality == "onnx"
        p = self._norm_type()
        one = p == 1

        def term(t: Term) -> str:
            v = f"X_{{{_ix(t.input)}}}" if latex else f"X[{_ix(t.input)}]"
            v = f"\\lvert {v} \\rvert" if latex and onnx else (f"|{v}|" if onnx else v)
            return v if one else power.format(v=v, p=_num(p))

        body = " + ".join(term(t) for t in self.terms) or "0"
        if self.divisor is not None and self._lp_scale() != self.divisor:
            scale, div = self._lp_scale(), self.divisor
            body = (
                f"\\frac{{{scale}}}{{{div}}}\\left({body}\\right)"
                if latex
                else f"{scale}/{div} * ({body})"
            )
        if not one:
            body = f"\\left({body}\\right)" if latex else f"({body})"
        return body if one else root.format(body=body, p=_num(p))

    # -- text -----------------------------------------------------------------------------
    def _lhs(self) -> str:
        return f"Z[{_ix(self.at)}]"

    def _term_text(self, t: Term) -> str:
        if t.weight is None:
            return f"X[{_ix(t.input)}]"
        return f"X[{_ix(t.input)}]*W[{_ix(t.weight)}]"

    def text(self) -> str:
        """A plain-text (ASCII) rendering, one kernel row per line.

        Examples
        --------
        >>> import convproof as cp
        >>> spec = cp.PoolSpec(kind="max", kernel_size=2, padding=1, ndim=1)
        >>> print(element_sum(spec, (1, 4), (0, 0)).text())
        Z[0,0] = max(X[0,0])
        1 element read
        skipped (-inf padding): tap (0) at (-1)
        """
        lhs = self._lhs()
        lines: list[str] = []
        n_terms = len(self.terms)
        if self.operation in ("max", "avg", "lp"):
            inner = ", " if self.operation == "max" else " + "
            body = inner.join(self._term_text(t) for t in self.terms) or "(nothing)"
            if self.operation == "max":
                lines.append(f"{lhs} = max({body})")
            elif self.operation == "lp":
                lines.append(f"{lhs} = " + self._lp_text("{v}**{p}", "{body} ** (1/{p})"))
            else:
                lines.append(f"{lhs} = ({body}) / {self.divisor}")
            noun = "element" if n_terms == 1 else "elements"
            summary = f"{n_terms} {noun} read"
        else:
            bias = f"b[{_ix(self.bias)}]" if self.bias is not None else ""
            lines.append(f"{lhs} = {bias}".rstrip())
            for n, (c, terms) in enumerate(self.channels):
                plus = "+" if (n or self.bias is not None) else " "
                label = f"  {plus} (channel {c})  "
                for r, row in enumerate(self._rows(terms)):
                    body = " + ".join(self._term_text(t) for t in row)
                    lines.append((label if r == 0 else " " * (len(label) - 2) + "+ ") + body)
            if n_terms == 0:  # e.g. a transposed conv output that no input reaches
                lines[0] = f"{lhs} = {bias or '0'}"
            chans = len(self.channels)
            per = {len(t) for _, t in self.channels}
            if len(per) == 1:
                taps = per.pop()
                how = (
                    f" ({chans} input channel{'s' if chans != 1 else ''} x {taps} "
                    f"tap{'s' if taps != 1 else ''})"
                )
            else:
                how = f" from {chans} input channels"
            summary = f"{n_terms} product{'s' if n_terms != 1 else ''}{how}"
            if self.bias is not None:
                summary += f", plus the bias b[{_ix(self.bias)}]"
        lines.append(summary)
        lines.extend(self._skip_lines())
        remapped = sorted({(t.tap, t.position, t.note) for t in self.terms if t.note})
        if remapped:
            mode = remapped[0][2]
            lines.append(
                f"{mode} padding remaps {len(remapped)} tap{'s' if len(remapped) != 1 else ''}: "
                + ", ".join(
                    f"({_ix(tap)}) reads ({_ix(pos)}) -> ({_ix(src)})"
                    for tap, pos, src in _remap_sources(self.terms)
                )
            )
        return "\n".join(lines)

    def _skip_lines(self) -> list[str]:
        lines = []
        for reason in sorted({r for _, _, r in self.skipped}):
            items = [(tap, pos) for tap, pos, r in self.skipped if r == reason]
            listed = " ".join(f"({_ix(tap)})" for tap, _ in items)
            at = " ".join(f"({_ix(pos)})" for _, pos in items)
            noun = "tap" if len(items) == 1 else "taps"
            lines.append(f"skipped ({reason}): {noun} {listed} at {at}")
        return lines

    def _rows(self, terms: tuple[Term, ...]) -> list[list[Term]]:
        rows: list[list[Term]] = []
        for t in terms:
            if rows and rows[-1][-1].tap[:-1] == t.tap[:-1]:
                rows[-1].append(t)
            else:
                rows.append([t])
        return rows

    def latex(self) -> str:
        r"""A LaTeX rendering (``\underbrace`` per channel), for ``IPython.display.Math``.

        Examples
        --------
        >>> import convproof as cp
        >>> spec = cp.ConvSpec(in_channels=2, out_channels=1, kernel_size=1)
        >>> print(element_sum(spec, (2, 1, 1), (0, 0, 0)).latex())
        Z_{0,0,0} = b_{0} + \underbrace{X_{0,0,0} W_{0,0,0,0}}_{\text{channel } 0}
            + \underbrace{X_{1,0,0} W_{0,1,0,0}}_{\text{channel } 1}
        """

        def term(t: Term) -> str:
            if t.weight is None:
                return f"X_{{{_ix(t.input)}}}"
            return f"X_{{{_ix(t.input)}}} W_{{{_ix(t.weight)}}}"

        lhs = f"Z_{{{_ix(self.at)}}}"
        if self.operation == "max":
            return lhs + r" = \max\left(" + ", ".join(term(t) for t in self.terms) + r"\right)"
        if self.operation == "avg":
            body = " + ".join(term(t) for t in self.terms)
            return lhs + rf" = \frac{{1}}{{{self.divisor}}}\left({body}\right)"
        if self.operation == "lp":
            return f"{lhs} = " + self._lp_text("{v}^{{{p}}}", "{body}^{{1/{p}}}", latex=True)
        parts = []
        if self.bias is not None:
            parts.append(f"b_{{{_ix(self.bias)}}}")
        for c, terms in self.channels:
            body = " + ".join(term(t) for t in terms)
            parts.append(rf"\underbrace{{{body}}}_{{\text{{channel }} {c}}}")
        return lhs + " = " + (" + ".join(parts) if parts else "0")

    def _repr_latex_(self) -> str | None:
        """Jupyter shows the sum as LaTeX (up to 64 products; beyond, as text)."""
        if len(self.terms) > 64:
            return None
        return "$$" + self.latex() + "$$"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's plain-text display: :meth:`text`."""
        printer.text(self.text())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (the command line's ``explain --json``).

        Examples
        --------
        >>> import convproof as cp
        >>> spec = cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3)
        >>> d = element_sum(spec, (3, 25, 25), (0, 0, 0)).to_dict()
        >>> d["products"], len(d["channels"]), d["bias"]
        (27, 3, [0])
        """
        return {
            "layer": self.spec.to_dict(),
            "input_shape": list(self.input_shape),
            "output": list(self.at),
            "operation": self.operation,
            "bias": list(self.bias) if self.bias is not None else None,
            "divisor": self.divisor,
            "products": len(self.terms),
            "channels": [
                {
                    "channel": c,
                    "terms": [
                        {
                            "input": list(t.input),
                            "weight": list(t.weight) if t.weight is not None else None,
                            "tap": list(t.tap),
                            "position": list(t.position),
                            "note": t.note,
                        }
                        for t in terms
                    ],
                }
                for c, terms in self.channels
            ],
            "skipped": [
                {"tap": list(tap), "position": list(pos), "reason": reason}
                for tap, pos, reason in self.skipped
            ],
            "text": self.text(),
            "latex": self.latex(),
        }


def _num(value: float) -> str:
    """A norm type as written: ``2`` for ``2.0``, ``1.5`` as is."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _ix(index: Iterable[int]) -> str:
    return ",".join(str(v) for v in index)


def _remap_sources(
    terms: Iterable[Term],
) -> list[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]:
    seen: dict[tuple[tuple[int, ...], tuple[int, ...]], tuple[int, ...]] = {}
    for t in terms:
        if t.note:
            seen.setdefault((t.tap, t.position), t.input[1:])
    return [(tap, pos, src) for (tap, pos), src in sorted(seen.items())]


def _unbatched(spec: AnySpec, input_shape: Sequence[int]) -> tuple[int, ...]:
    _, c, spatial = spec.split_input_shape(input_shape)
    return (c, *spatial)


def element_sum(spec: AnySpec, input_shape: Sequence[int], at: Sequence[int]) -> ElementSum:
    """The exact expression behind one output element, as the index rule reads it.

    ==========================  ========================================================
    layer                       ``Z[c, a]`` (``a`` a multi-index, taps ``u``)
    ==========================  ========================================================
    ConvSpec                    ``b[c] + sum_{k in group(c)} sum_u X[k, as + ud - p] W[c, k', u]``
    ConvTransposeSpec           ``b[c] + sum_k sum_{(i, u): is + ud - p = a} X[k, i] W[k, c', u]``
    PoolSpec, kind="max"        ``max_u X[c, a*s + u*d - p]`` (padding is ``-inf``)
    PoolSpec, kind="avg"        ``sum_u X[c, a*s + u*d - p] / divisor``
    PoolSpec, kind="lp"         ``(sum_u v**p) ** (1/p)``, ``v = X[c, a*s + u*d - p]``
                                (PyTorch, scaled by ``prod(k) / divisor`` in a ceil-mode
                                overhang) or ``|X[...]|`` (ONNX)
    ==========================  ========================================================

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
    input_shape : tuple of int
        ``(C, *spatial)`` or ``(N, C, *spatial)``.
    at : tuple of int
        Output index ``(c_out, *spatial)``, or ``(n, c_out, *spatial)`` with a batch.

    Returns
    -------
    ElementSum
        With ``.text()``, ``.latex()``, ``.to_dict()`` and ``.evaluate(x, weight, bias)``.

    Raises
    ------
    ConvProofError
        If the shape does not fit the layer or ``at`` is not an index of the output.

    Examples
    --------
    The seeds' question: a 3x3x3 kernel on a 25x25x3 image ("same" padding) — three
    channels' products are summed, and one bias is added:

    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3, padding="same")
    >>> e = element_sum(spec, (3, 25, 25), (4, 0, 0))
    >>> print(e.text())
    Z[4,0,0] = b[4]
      + (channel 0)  X[0,0,0]*W[4,0,1,1] + X[0,0,1]*W[4,0,1,2]
                   + X[0,1,0]*W[4,0,2,1] + X[0,1,1]*W[4,0,2,2]
      + (channel 1)  X[1,0,0]*W[4,1,1,1] + X[1,0,1]*W[4,1,1,2]
                   + X[1,1,0]*W[4,1,2,1] + X[1,1,1]*W[4,1,2,2]
      + (channel 2)  X[2,0,0]*W[4,2,1,1] + X[2,0,1]*W[4,2,1,2]
                   + X[2,1,0]*W[4,2,2,1] + X[2,1,1]*W[4,2,2,2]
    12 products (3 input channels x 4 taps), plus the bias b[4]
    skipped (zero padding): taps (0,0) (0,1) (0,2) (1,0) (2,0)
        at (-1,-1) (-1,0) (-1,1) (0,-1) (1,-1)
    """
    if not isinstance(spec, ConvSpec | ConvTransposeSpec | PoolSpec):
        raise ConvProofError(
            f"spec must be a ConvSpec, ConvTransposeSpec or PoolSpec, got {spec!r}"
        )
    full_out = spec.output_shape(input_shape)
    shape = _unbatched(spec, input_shape)
    out = full_out[-spec.ndim - 1 :]
    at_t = tuple(at)
    if len(at_t) == len(full_out) and len(full_out) == spec.ndim + 2:
        if not 0 <= at_t[0] < full_out[0]:
            raise ConvProofError(
                f"at must be an index of the output shape {full_out}, got at={tuple(at)!r}"
            )
        at_t = at_t[1:]
    if len(at_t) != spec.ndim + 1 or any(not 0 <= a < n for a, n in zip(at_t, out)):
        raise ConvProofError(
            f"at must be an index (c, {', '.join('i' + str(k) for k in range(spec.ndim))}) "
            f"of the output shape {tuple(out)}, got at={tuple(at)!r}"
        )
    at_t = tuple(int(a) for a in at_t)
    at_t = tuple(int(a) for a in at_t)
    patterns = axis_patterns(spec, shape)
    if isinstance(spec, ConvTransposeSpec):
        return _transposed_sum(spec, shape, at_t, patterns)
    return _window_sum(spec, shape, at_t, patterns)


def _taps(spec: AnySpec) -> Iterable[tuple[int, ...]]:
    return itertools.product(*(range(k) for k in spec.kernel_size))


_Read = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], str | None]
_Skip = tuple[tuple[int, ...], tuple[int, ...], str]


def _window_sum(
    spec: ConvSpec | PoolSpec,
    shape: tuple[int, ...],
    at: tuple[int, ...],
    patterns: tuple[AxisPattern, ...],
) -> ElementSum:
    """Read output ``at``'s window off the per-axis index tables (gather rule)."""
    c_out, a = at[0], at[1:]
    max_pool = isinstance(spec, PoolSpec) and spec.kind == "max"
    reads: list[_Read] = []
    skipped: list[_Skip] = []
    for u in _taps(spec):
        pos = tuple(int(p.position[a[ax], u[ax]]) for ax, p in enumerate(patterns))
        src = tuple(int(p.index[a[ax], u[ax]]) for ax, p in enumerate(patterns))
        if any(not -p.padding[0] <= t < p.in_size + p.padding[1] for p, t in zip(patterns, pos)):
            skipped.append((u, pos, "ceil-mode overhang"))
        elif min(src) < 0:
            skipped.append((u, pos, "-inf padding" if max_pool else "zero padding"))
        else:
            inside = all(0 <= t < p.in_size for p, t in zip(patterns, pos))
            reads.append((u, pos, src, None if inside else patterns[0].mode))
    if isinstance(spec, PoolSpec):
        terms = tuple(
            Term(input=(c_out, *src), weight=None, tap=u, position=pos, note=note)
            for u, pos, src, note in reads
        )
        divisor: int | None = None
        # the product of the axes' factors of the divisor (PyTorch's Lp pool: taps inside)
        if spec.kind == "avg" or (spec.kind == "lp" and spec.legality == "pytorch"):
            factors = [p.divisor for p in patterns]
            divisor = math.prod(int(f[a[ax]]) for ax, f in enumerate(factors) if f is not None)
        return ElementSum(
            spec=spec,
            input_shape=shape,
            at=at,
            operation=spec.kind,
            bias=None,
            channels=((c_out, terms),),
            skipped=tuple(skipped),
            divisor=divisor,
        )
    return _conv_element(spec, shape, at, reads, skipped)


def _transposed_sum(
    spec: ConvTransposeSpec,
    shape: tuple[int, ...],
    at: tuple[int, ...],
    patterns: tuple[AxisPattern, ...],
) -> ElementSum:
    """Find, per tap, the input the scatter rule sends to output ``at`` (if any).

    The patterns are in forward orientation: row ``j`` of an axis' table holds where input
    ``j`` lands through each tap.  A tap that no input reaches is listed with its offset from
    where input 0 lands (its coordinate in the zero-inserted input).
    """
    o = at[1:]
    reads: list[_Read] = []
    skipped: list[_Skip] = []
    for u in _taps(spec):
        landed = [p.position[:, u[ax]] for ax, p in enumerate(patterns)]
        hits = [(col == o[ax]).nonzero()[0] for ax, col in enumerate(landed)]
        if all(len(h) for h in hits):
            reads.append((u, o, tuple(int(h[0]) for h in hits), None))
            continue
        offset = tuple(o[ax] - int(col[0]) for ax, col in enumerate(landed))
        outside = any(not col[0] <= o[ax] <= col[-1] for ax, col in enumerate(landed))
        skipped.append(
            (u, offset, "outside the input" if outside else "a zero inserted by the stride")
        )
    return _conv_element(spec, shape, at, reads, skipped)


def _conv_element(
    spec: ConvSpec | ConvTransposeSpec,
    shape: tuple[int, ...],
    at: tuple[int, ...],
    reads: list[_Read],
    skipped: list[_Skip],
) -> ElementSum:
    """The products of every input channel of ``at``'s group, with PyTorch's weight layout."""
    c_out = at[0]
    cin_g = spec.in_channels // spec.groups
    cout_g = spec.out_channels // spec.groups
    first = int(group_input_start(c_out, out_per_group=cout_g, in_per_group=cin_g))
    transposed = isinstance(spec, ConvTransposeSpec)
    channels = []
    for k_local in range(cin_g):
        ci = first + k_local
        lead = (ci, c_out % cout_g) if transposed else (c_out, k_local)
        terms = tuple(
            Term(input=(ci, *src), weight=(*lead, *u), tap=u, position=pos, note=note)
            for u, pos, src, note in reads
        )
        channels.append((ci, terms))
    return ElementSum(
        spec=spec,
        input_shape=shape,
        at=at,
        operation="sum",
        bias=(c_out,) if spec.bias else None,
        channels=tuple(channels),
        skipped=tuple(skipped),
    )


# --------------------------------------------------------------------------------------
# tables and JSON
# --------------------------------------------------------------------------------------


def _layer_name(spec: AnySpec) -> str:
    if isinstance(spec, PoolSpec):
        name = {"max": "MaxPool", "avg": "AvgPool", "lp": "LPPool"}[spec.kind]
        return f"{name}{spec.ndim}d"
    if isinstance(spec, ConvTransposeSpec):
        return f"ConvTranspose{spec.ndim}d({spec.in_channels} -> {spec.out_channels})"
    return f"Conv{spec.ndim}d({spec.in_channels} -> {spec.out_channels})"


def _fmt_tuple(t: Sequence[int]) -> str:
    return str(t[0]) if len(set(t)) == 1 else "(" + ", ".join(map(str, t)) + ")"


def shape_report(spec: AnySpec, input_shape: Sequence[int]) -> dict[str, Any]:
    """Output shape, resolved padding, parameters and MACs of one layer, with the arithmetic.

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
    input_shape : tuple of int
        ``(C, *spatial)`` or ``(N, C, *spatial)``; reported as given.

    Returns
    -------
    dict
        Keys ``layer`` (the spec's dict), ``name``, ``input_shape``, ``output_shape``,
        ``padding`` (resolved ``[[before, after], ...]``), ``weight_shape``, ``bias_shape``,
        ``params``, ``macs`` (per sample, bias excluded) and ``formulas`` (one line per axis,
        the output-size arithmetic with the numbers filled in).

    Examples
    --------
    >>> import convproof as cp
    >>> r = shape_report(cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=5, stride=2),
    ...                  (3, 32, 32))
    >>> r["output_shape"], r["params"], r["macs"]
    ([5, 14, 14], 380, 73500)
    >>> r["formulas"][0]
    'floor((32 + 0 + 0 - 5) / 2) + 1 = 14'
    """
    out = spec.output_shape(input_shape)
    pads = spec.resolve_padding(input_shape)
    _, _, spatial = spec.split_input_shape(input_shape)
    formulas = [
        _size_equation(spec, ax, i, pads[ax], out[-spec.ndim + ax]) for ax, i in enumerate(spatial)
    ]
    return {
        "layer": spec.to_dict(),
        "name": _layer_name(spec),
        "input_shape": list(input_shape),
        "output_shape": list(out),
        "padding": [list(p) for p in pads],
        "weight_shape": list(spec.weight_shape) if spec.weight_shape is not None else None,
        "bias_shape": list(spec.bias_shape) if spec.bias_shape is not None else None,
        "params": spec.num_params,
        "macs": spec.macs(input_shape),
        "formulas": formulas,
    }


def _op(value: int, subtract: bool = False) -> str:
    """``value`` added (``+ 2``; a crop ``- 1``) or subtracted (``- 2``; a crop ``+ 1``)."""
    if subtract:
        return f"- {value}" if value >= 0 else f"+ {-value}"
    return f"+ {value}" if value >= 0 else f"- {-value}"


def _size_equation(spec: AnySpec, ax: int, i: int, pads: tuple[int, int], o: int) -> str:
    """One axis's output-size equation: the numbers filled in, the values from the size rule.

    Every value printed comes from :mod:`convproof.layers.sizes` (the one integer
    output-size rule); the text only writes the rule's formula around them.  Ceil mode's
    ``ceil(x / s)`` is ``floor((x + s - 1) / s)``, i.e. the floor rule with ``s - 1`` more
    padding after.  A value that disagrees with the spec's output size raises instead of
    printing a false equation.
    """
    k, s, d = spec.kernel_size[ax], spec.stride[ax], spec.dilation[ax]
    pl, pr = pads
    ktxt = f"{sizes.effective_kernel(k, d)}" if d == 1 else f"({d}*({k} - 1) + 1)"
    if isinstance(spec, ConvTransposeSpec):
        op = spec.output_padding[ax]
        value = sizes.transposed_out(i, k, s, d, pl, pr, op)
        text = f"({i} - 1)*{s} {_op(pl, True)} {_op(pr, True)} + {d}*({k} - 1) + {op} + 1 = {value}"
    elif isinstance(spec, PoolSpec) and spec.ceil_mode:
        ceil = sizes.conv_out(i, k, s, d, pl, pr + s - 1)  # ceil((i + pl + pr - keff) / s) + 1
        value = sizes.pool_out(i, k, s, d, pl, pr, True)
        lhs = f"ceil(({i} {_op(pl)} {_op(pr)} - {ktxt}) / {s}) + 1"
        if value != ceil:
            # PyTorch: the last window must start inside the input or the left padding
            text = (
                f"{lhs} - 1 = {value} (ceil mode; the last window would start at "
                f"({ceil} - 1)*{s} - {pl} = {(ceil - 1) * s - pl}, past the input's last index "
                f"{i - 1}, so it is dropped)"
            )
        else:
            text = f"{lhs} = {value} (ceil mode)"
    else:
        value = sizes.conv_out(i, k, s, d, pl, pr)
        text = f"floor(({i} {_op(pl)} {_op(pr)} - {ktxt}) / {s}) + 1 = {value}"
    if value < 0 and o == 0:  # a profile that admits empty outputs (JAX) clamps the size at 0
        lhs, rest = text.split(" = ", 1)
        text = f"max(0, {lhs}) = 0{rest[len(str(value)) :]} (an empty output)"
        value = 0
    if value != o:  # pragma: no cover - the spec uses the same size rule
        raise AssertionError(f"output size equation {text!r} disagrees with the spec's {o}")
    return text


def format_table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], *, markdown: bool = False
) -> str:
    """Align rows under headers as plain text (or a Markdown pipe table).

    Numbers are right-aligned with thousands separators; other cells left-aligned.

    Examples
    --------
    >>> print(format_table(["layer", "params"], [["conv1", 1792], ["fc", 4096000]]))
    layer     params
    -----  ---------
    conv1      1,792
    fc     4,096,000
    >>> print(format_table(["a", "b"], [[1, "x"]], markdown=True))
    | a | b |
    |--:|:--|
    | 1 | x |
    """
    rows_l = [list(r) for r in rows]
    numeric = [
        all(isinstance(r[j], int) and not isinstance(r[j], bool) for r in rows_l if j < len(r))
        and bool(rows_l)
        for j in range(len(headers))
    ]

    def cell(v: Any) -> str:
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:,}"
        if isinstance(v, tuple | list):
            return "(" + ", ".join(map(str, v)) + ")"
        return "" if v is None else str(v)

    cells = [[cell(v) for v in r] for r in rows_l]
    if markdown:
        head = "| " + " | ".join(headers) + " |"
        rule = "|" + "|".join("--:" if n else ":--" for n in numeric) + "|"
        body = ["| " + " | ".join(r) + " |" for r in cells]
        return "\n".join([head, rule, *body])
    widths = [
        max([len(h)] + [len(r[j]) for r in cells if j < len(r)]) for j, h in enumerate(headers)
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if numeric[j] else v.ljust(w) for j, (v, w) in enumerate(zip(values, widths))
        ]
        return "  ".join(parts).rstrip()

    return "\n".join(
        [line(list(headers)), line(["-" * w for w in widths]), *(line(r) for r in cells)]
    )


def to_json(data: Any) -> str:
    """Serialize to JSON, turning tuples, NumPy scalars/arrays and SymPy objects into JSON.

    Examples
    --------
    >>> import numpy as np
    >>> to_json({"shape": (5, 25, 25), "n": np.int64(3)})
    '{"shape": [5, 25, 25], "n": 3}'
    """

    def default(o: Any) -> Any:
        if hasattr(o, "tolist"):
            return o.tolist()
        if hasattr(o, "to_dict"):
            return o.to_dict()
        if isinstance(o, set | frozenset):
            return sorted(o)
        return str(o)

    return json.dumps(data, default=default)


# --------------------------------------------------------------------------------------
# pictures
