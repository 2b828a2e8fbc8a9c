"""Text, LaTeX, JSON and pictures: how convproof shows a layer to a person.

Text and LaTeX
    :func:`element_sum` answers the seeds' question "how do three channels collapse into one
    number?" for any layer: the exact sum behind one output element, term by term, channel by
    channel, plus the bias, with the taps that land in padding listed (skipped for zero
    padding, remapped for circular / reflect / replicate).  :func:`shape_report` and
    :func:`format_table` produce the command line's tables.

Pictures (matplotlib, an optional extra: ``pip install matplotlib``)
    :func:`matrix_figure` draws the conv matrix's sparsity pattern with its channel blocks
    and per-axis blocks; :func:`sliding_figure` and :func:`sliding_animation` draw the kernel
    sliding over the padded input like Dumoulin & Visin's figures (a strip of frames, or an
    animated GIF), including stride, dilation and the zero insertion of transposed
    convolution, what every padding cell holds and which input cell a padded tap reads;
    :func:`receptive_field_figure` draws which input cells one output sees, on numbered
    axes.  Every figure is a :class:`matplotlib.figure.Figure` (no pyplot state; it shows
    itself in Jupyter through ``_repr_png_``) with a legend; drawn cells carry a ``gid``
    (``"tap-input"``, ``"rf-cell"``, ...) so tests and notebooks can count them.

Examples
--------
>>> import convproof as cp
>>> from convproof.presentation.render import element_sum
>>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2)
>>> print(element_sum(spec, (1, 3, 3), (0, 0, 0)).text())
Z[0,0,0] = b[0]
  + (channel 0)  X[0,0,0]*W[0,0,0,0] + X[0,0,1]*W[0,0,0,1]
               + X[0,1,0]*W[0,0,1,0] + X[0,1,1]*W[0,0,1,1]
4 products (1 input channel x 4 taps), plus the bias b[0]
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convproof.errors import ConvProofError
from convproof.layers import sizes as _axis
from convproof.layers.padding import padding_mode
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "ElementSum",
    "Term",
    "element_sum",
    "format_table",
    "matrix_figure",
    "receptive_field",
    "receptive_field_figure",
    "shape_report",
    "sliding_animation",
    "sliding_figure",
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
    operation : {"sum", "max", "avg"}
    bias : tuple of int or None
        ``(c_out,)`` when a bias is added.
    channels : tuple of (int, tuple of Term)
        Per contributing input channel, its products in tap order.
    skipped : tuple of (tap, position, reason)
        Spatial taps that read no input element (zero padding, the ceil-mode overhang, or,
        for a transposed conv, a zero inserted by the stride); the same for every channel.
    divisor : int or None
        Average pooling's divisor.
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
        if self.operation == "avg":
            total: Any = 0
            for t in self.terms:
                total = total + x[t.input]
            divisor = self.divisor or 1
            if isinstance(total, int):
                from fractions import Fraction

                return Fraction(total, divisor)
            return total / divisor
        if weight is None:
            raise ConvProofError("weight must be given to evaluate a convolution, got None")
        acc: Any = bias[self.bias] if (self.bias is not None and bias is not None) else 0
        for t in self.terms:
            assert t.weight is not None
            acc = acc + x[t.input] * weight[t.weight]
        return acc

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
        if self.operation in ("max", "avg"):
            inner = ", " if self.operation == "max" else " + "
            body = inner.join(self._term_text(t) for t in self.terms) or "(nothing)"
            if self.operation == "max":
                lines.append(f"{lhs} = max({body})")
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


def _source(pos: int, n: int, mode: str) -> int | None:
    """Input index read at padded coordinate ``pos`` on an axis of length ``n``."""
    src = int(padding_mode(mode).index(pos, n))  # the padding table's index map
    return None if src < 0 else src


def _unbatched(spec: AnySpec, input_shape: Sequence[int]) -> tuple[int, ...]:
    _, c, spatial = spec.split_input_shape(input_shape)
    return (c, *spatial)


def element_sum(spec: AnySpec, input_shape: Sequence[int], at: Sequence[int]) -> ElementSum:
    """The exact expression behind one output element, built from the definition.

    ==========================  ========================================================
    layer                       ``Z[c, a]`` (``a`` a multi-index, taps ``u``)
    ==========================  ========================================================
    ConvSpec                    ``b[c] + sum_{k in group(c)} sum_u X[k, as + ud - p] W[c, k', u]``
    ConvTransposeSpec           ``b[c] + sum_k sum_{(i, u): is + ud - p = a} X[k, i] W[k, c', u]``
    PoolSpec, kind="max"        ``max_u X[c, a*s + u*d - p]`` (padding is ``-inf``)
    PoolSpec, kind="avg"        ``sum_u X[c, a*s + u*d - p] / divisor``
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
    pads = spec.resolve_padding(input_shape)
    if isinstance(spec, ConvTransposeSpec):
        return _transposed_sum(spec, shape, at_t, pads)
    return _window_sum(spec, shape, at_t, pads)


def _window_sum(
    spec: ConvSpec | PoolSpec,
    shape: tuple[int, ...],
    at: tuple[int, ...],
    pads: tuple[tuple[int, int], ...],
) -> ElementSum:
    c_out, a = at[0], at[1:]
    spatial = shape[1:]
    mode = spec.padding_mode
    taps: list[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...] | None, str | None]] = []
    skipped = []
    counted = 1  # average pooling divisor factors (product over axes)
    for ax in range(spec.ndim):
        s, d, k, (pl, pr), n = (
            spec.stride[ax],
            spec.dilation[ax],
            spec.kernel_size[ax],
            pads[ax],
            spatial[ax],
        )
        positions = [a[ax] * s + u * d - pl for u in range(k)]
        if isinstance(spec, PoolSpec):
            if spec.count_include_pad:
                counted *= sum(1 for t in positions if -pl <= t < n + pr)
            else:
                counted *= sum(1 for t in positions if 0 <= t < n)
    for u in itertools.product(*(range(k) for k in spec.kernel_size)):
        pos = tuple(
            a[ax] * spec.stride[ax] + u[ax] * spec.dilation[ax] - pads[ax][0]
            for ax in range(spec.ndim)
        )
        beyond = any(p >= spatial[ax] + pads[ax][1] or p < -pads[ax][0] for ax, p in enumerate(pos))
        src = tuple(_source(p, spatial[ax], mode) for ax, p in enumerate(pos))
        inside = all(0 <= p < spatial[ax] for ax, p in enumerate(pos))
        if beyond:
            skipped.append((u, pos, "ceil-mode overhang"))
        elif any(v is None for v in src):
            what = (
                "-inf padding"
                if isinstance(spec, PoolSpec) and spec.kind == "max"
                else ("zero padding")
            )
            skipped.append((u, pos, what))
        else:
            taps.append((u, pos, src, None if inside else mode))  # type: ignore[arg-type]
    if isinstance(spec, PoolSpec):
        terms = tuple(
            Term(input=(c_out, *src), weight=None, tap=u, position=pos, note=note)
            for u, pos, src, note in taps
            if src is not None
        )
        return ElementSum(
            spec=spec,
            input_shape=shape,
            at=at,
            operation=spec.kind,
            bias=None,
            channels=((c_out, terms),),
            skipped=tuple(skipped),
            divisor=counted if spec.kind == "avg" else None,
        )
    cin_g = spec.in_channels // spec.groups
    cout_g = spec.out_channels // spec.groups
    group = c_out // cout_g
    channels = []
    for k_local in range(cin_g):
        ci = group * cin_g + k_local
        terms = tuple(
            Term(input=(ci, *src), weight=(c_out, k_local, *u), tap=u, position=pos, note=note)
            for u, pos, src, note in taps
            if src is not None
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


def _transposed_sum(
    spec: ConvTransposeSpec,
    shape: tuple[int, ...],
    at: tuple[int, ...],
    pads: tuple[tuple[int, int], ...],
) -> ElementSum:
    c_out, o = at[0], at[1:]
    spatial = shape[1:]
    sources = []
    skipped = []
    for u in itertools.product(*(range(k) for k in spec.kernel_size)):
        # input i reaches output o through tap u iff i*s + u*d - p_before = o
        num = tuple(o[ax] + pads[ax][0] - u[ax] * spec.dilation[ax] for ax in range(spec.ndim))
        if any(not 0 <= v <= (spatial[ax] - 1) * spec.stride[ax] for ax, v in enumerate(num)):
            skipped.append((u, num, "outside the input"))
            continue
        if any(v % spec.stride[ax] for ax, v in enumerate(num)):
            skipped.append((u, num, "a zero inserted by the stride"))
            continue
        sources.append((u, tuple(v // spec.stride[ax] for ax, v in enumerate(num))))
    cin_g = spec.in_channels // spec.groups
    cout_g = spec.out_channels // spec.groups
    group = c_out // cout_g
    channels = []
    for k_local in range(cin_g):
        ci = group * cin_g + k_local
        terms = tuple(
            Term(input=(ci, *i), weight=(ci, c_out - group * cout_g, *u), tap=u, position=o)
            for u, i in sources
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
        return f"{'Max' if spec.kind == 'max' else 'Avg'}Pool{spec.ndim}d"
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
    formulas = []
    for ax, i in enumerate(spatial):
        k, s, d = spec.kernel_size[ax], spec.stride[ax], spec.dilation[ax]
        pl, pr = pads[ax]
        o = out[-spec.ndim + ax]
        keff = _axis.effective_kernel(k, d)
        ktxt = f"{keff}" if d == 1 else f"({d}*({k} - 1) + 1)"
        formulas.append(_size_equation(spec, i, k, s, d, pl, pr, ktxt, ax, o))
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


def _size_equation(
    spec: AnySpec, i: int, k: int, s: int, d: int, pl: int, pr: int, ktxt: str, ax: int, o: int
) -> str:
    """One axis's output-size equation, its value from the one rule (:mod:`convproof.layers.sizes`).

    The printed left side evaluates (exactly, with ``floor`` / ``ceil`` of fractions) to the
    printed right side, which is the spec's output size; a mismatch raises instead of
    printing a false equation.
    """
    if isinstance(spec, ConvTransposeSpec):
        op = spec.output_padding[ax]
        value = _axis.transposed_out(i, k, s, d, pl, pr, op)
        text = f"({i} - 1)*{s} - {pl} - {pr} + {d}*({k} - 1) + {op} + 1 = {value}"
    elif isinstance(spec, PoolSpec) and spec.ceil_mode:
        value = _axis.pool_ceil_count(i, k, s, d, pl, pr)
        lhs = f"ceil(({i} + {pl} + {pr} - {ktxt}) / {s}) + 1"
        if value > 0 and _axis.ceil_drops_last(value, s, i, pl):
            # PyTorch: the last window must start inside the input or the left padding
            start = (value - 1) * s - pl
            text = (
                f"{lhs} - 1 = {value - 1} (ceil mode; the last window would start at "
                f"({value} - 1)*{s} - {pl} = {start}, past the input's last index {i - 1}, "
                f"so it is dropped)"
            )
            value -= 1
        else:
            text = f"{lhs} = {value} (ceil mode)"
    else:
        value = _axis.conv_out(i, k, s, d, pl, pr)
        text = f"floor(({i} + {pl} + {pr} - {ktxt}) / {s}) + 1 = {value}"
    if value != o:  # pragma: no cover - both come from convproof.layers.sizes
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
# --------------------------------------------------------------------------------------

_COLORS = {
    "input": "#dbe9f6",
    "padding": "#ffffff",
    "padding-copy": "#f3eddc",  # reflect / replicate / circular padding: a copy of an input
    "zero-insert": "#f2f2f2",
    "overhang": "#fafafa",
    "tap-input": "#2b7bba",
    "tap-padding": "#a6c8e0",
    "output": "#e6f2e1",
    "output-current": "#2e9a4a",
    "rf-cell": "#d95f02",
    "channel-boundary": "#c0392b",
    "axis-boundary": "#7f8c8d",
}


def _figure_class() -> Any:
    """The Figure class pictures use (it shows itself in Jupyter); needs matplotlib."""
    try:
        import matplotlib  # noqa: F401  (first: a missing matplotlib is reported here)

        from convproof.presentation.figure import InlineFigure
    except ImportError:
        raise ConvProofError(
            "pictures need matplotlib, which is not installed: pip install matplotlib "
            "(or, for an installed convproof, pip install 'convproof[plots]')"
        ) from None
    return InlineFigure


def _rect(
    ax: Axes, x: float, y: float, kind: str, width: float = 1.0, height: float = 1.0, **kw: Any
) -> Any:
    from matplotlib.patches import Rectangle

    r = Rectangle(
        (x, y),
        width,
        height,
        facecolor=_COLORS[kw.pop("face", kind)],
        edgecolor=kw.pop("edgecolor", "#555555"),
        linewidth=kw.pop("linewidth", 0.6),
        linestyle=kw.pop("linestyle", "-"),
        **kw,
    )
    r.set_gid(kind)
    ax.add_artist(r)  # add_patch would recompute data limits per cell (slow); limits are set
    return r


def _save(fig: Figure, path: str | Path | None, **kw: Any) -> None:
    if path is not None:
        p = Path(path)
        if p.parent and not p.parent.exists():
            raise ConvProofError(f"path must be in an existing directory, got path={str(path)!r}")
        fig.savefig(p, **kw)


def _matrix_pattern(matrix: Any) -> tuple[tuple[int, int], Any, Any]:
    """Rows/cols of a matrix's structural non-zeros (scipy sparse, dense or SymPy)."""
    import numpy as np

    if hasattr(matrix, "tocoo"):
        coo = matrix.tocoo()
        mask = coo.data != 0
        return coo.shape, coo.row[mask], coo.col[mask]
    if hasattr(matrix, "todok") and hasattr(matrix, "shape"):  # SymPy sparse/dense matrix
        keys = [(r, c) for (r, c), v in matrix.todok().items() if v != 0]
        rows = np.array([r for r, _ in keys], dtype=np.int64)
        cols = np.array([c for _, c in keys], dtype=np.int64)
        return tuple(matrix.shape), rows, cols
    arr = np.asarray(matrix)
    if arr.ndim != 2:
        raise ConvProofError(f"matrix must be 2-D, got matrix with shape {arr.shape}")
    r, c = np.nonzero(arr)
    return arr.shape, r, c


def matrix_figure(
    spec: AnySpec,
    input_shape: Sequence[int],
    weight: Any = None,
    *,
    matrix: Any = None,
    path: str | Path | None = None,
    max_cells: int = 4_000_000,
    max_bytes: int | None = None,
) -> Figure:
    """Draw a layer's conv matrix: its non-zeros, channel blocks and per-axis blocks.

    Rows are the output ``(C_out, *out)`` unrolled row-major, columns the input
    ``(C_in, *in)``.  Thick red lines separate channel blocks (one ``prod(out) x prod(in)``
    block per output/input channel pair); thin grey lines separate the blocks of the first
    spatial axis (for 2-D, one block per output row / input row: the doubly-block Toeplitz
    structure).

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or PoolSpec (average)
    input_shape : tuple of int
    weight : array, optional
        Kernel values; by default all ones (the pattern is what is drawn).
    matrix : optional
        A ready matrix (scipy sparse, dense, or SymPy) to draw instead of building one with
        :func:`convproof.conv_matrix`.
    path : str or Path, optional
        Also save the figure there (PNG, SVG, PDF by suffix).
    max_cells : int
        Refuse matrices with more cells than this (the picture would be unreadable).
    max_bytes : int, optional
        Passed to :func:`convproof.conv_matrix` (its memory limit).

    Returns
    -------
    matplotlib.figure.Figure
        Its axes hold the 0/1 image of the non-zeros (``gid="nonzeros"``) and ``Line2D``
        boundaries with ``gid`` ``"channel-boundary"`` / ``"axis-boundary"``.

    Raises
    ------
    ConvProofError
        Without matplotlib, for max pooling (not linear), or for a matrix over ``max_cells``.

    Examples
    --------
    >>> import convproof as cp
    >>> from convproof.presentation.render import matrix_figure
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False)
    >>> import numpy as np
    >>> dense = np.array([[1, 1, 0, 1, 1, 0, 0, 0, 0], [0, 1, 1, 0, 1, 1, 0, 0, 0],
    ...                   [0, 0, 0, 1, 1, 0, 1, 1, 0], [0, 0, 0, 0, 1, 1, 0, 1, 1]])
    >>> fig = matrix_figure(spec, (1, 3, 3), matrix=dense)
    >>> int(fig.axes[0].images[0].get_array().sum())
    16
    """
    Figure = _figure_class()
    import numpy as np

    if isinstance(spec, PoolSpec) and spec.kind == "max":
        raise ConvProofError(
            "max pooling is not linear and has no matrix, got spec with kind='max'"
        )
    out = spec.output_shape(input_shape)
    shape_in = _unbatched(spec, input_shape)
    shape_out = out[-spec.ndim - 1 :]
    if isinstance(spec, PoolSpec):
        shape_out = (shape_in[0], *shape_out[1:])
    n_rows, n_cols = math.prod(shape_out), math.prod(shape_in)
    if n_rows * n_cols > max_cells:
        raise ConvProofError(
            f"the matrix has {n_rows} x {n_cols} = {n_rows * n_cols} cells, more than "
            f"max_cells={max_cells}; pick a smaller input shape"
        )
    if matrix is None:
        from convproof.constructions.matrix import conv_matrix

        if weight is None and spec.weight_shape is not None:
            weight = np.ones(spec.weight_shape)
        matrix = (
            conv_matrix(spec, shape_in, weight, max_bytes=max_bytes)
            if spec.weight_shape
            else conv_matrix(spec, shape_in, max_bytes=max_bytes)
        )
    (r_m, c_m), rows, cols = _matrix_pattern(matrix)
    if (r_m, c_m) != (n_rows, n_cols):
        raise ConvProofError(
            f"matrix must have shape {(n_rows, n_cols)} for this layer and input, "
            f"got matrix with shape {(r_m, c_m)}"
        )
    size = min(10.0, max(4.0, 0.2 * max(n_rows, n_cols) ** 0.8))
    aspect = n_rows / n_cols
    width = max(size, 6.0)  # room for the row label and the legend
    fig = Figure(figsize=(width, max(3.0, (width - 1.5) * aspect + 1.8)), layout="constrained")
    ax = fig.add_subplot()
    mask = np.zeros((n_rows, n_cols), dtype=np.int8)
    mask[rows, cols] = 1
    image = ax.imshow(
        mask, cmap=_binary_cmap(), vmin=0, vmax=1, interpolation="nearest", aspect="equal"
    )
    image.set_gid("nonzeros")
    ax.set_xlim(-0.5, n_cols - 0.5)
    ax.set_ylim(n_rows - 0.5, -0.5)
    ax.set_aspect("equal")
    dims = {1: "L", 2: "H, W", 3: "D, H, W"}.get(spec.ndim, "...")
    ax.set_xlabel(f"columns: input (C_in, {dims}) = {_shape_text(shape_in)} unrolled: {n_cols}")
    # a horizontal, multi-line row label: a long rotated one is clipped on flat matrices
    ax.set_ylabel(
        f"rows:\noutput\n(C_out, {dims})\n= {_shape_text(shape_out)}\nunrolled: {n_rows}",
        rotation=0,
        ha="right",
        va="center",
        fontsize=9,
    )
    ax.set_title(f"{_layer_name(spec)}\n{n_rows} x {n_cols}, nnz = {len(rows)}", fontsize=10)
    ax.xaxis.set_label_position("top")
    ax.xaxis.tick_top()
    # per-axis blocks: sizes of one step of the first spatial axis
    row_step = math.prod(shape_out[2:]) if spec.ndim > 1 else 0
    col_step = math.prod(shape_in[2:]) if spec.ndim > 1 else 0
    row_chan, col_chan = math.prod(shape_out[1:]), math.prod(shape_in[1:])
    for step, chan, total, horizontal in (
        (row_step, row_chan, n_rows, True),
        (col_step, col_chan, n_cols, False),
    ):
        if step:
            for b in range(step, total, step):
                if b % chan:
                    _boundary(ax, b, horizontal, "axis-boundary", n_rows, n_cols)
        for b in range(chan, total, chan):
            _boundary(ax, b, horizontal, "channel-boundary", n_rows, n_cols)
    _matrix_legend(fig, ax)
    _save(fig, path, dpi=120)
    return fig


def _shape_text(shape: Sequence[int]) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def _matrix_legend(fig: Figure, ax: Axes) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = [Patch(facecolor="#1f4e79", label="non-zero (a kernel tap)")]
    gids = {line.get_gid() for line in ax.lines}
    if "channel-boundary" in gids:
        handles.append(
            Line2D([], [], color=_COLORS["channel-boundary"], lw=1.6, label="channel blocks")
        )
    if "axis-boundary" in gids:
        handles.append(
            Line2D([], [], color=_COLORS["axis-boundary"], lw=0.8, label="blocks of spatial axis 0")
        )
    legend = fig.legend(
        handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8, frameon=False
    )
    legend.set_gid("legend")


def _binary_cmap() -> Any:
    from matplotlib.colors import ListedColormap

    return ListedColormap(["#ffffff", "#1f4e79"])


def _boundary(ax: Axes, b: int, horizontal: bool, kind: str, n_rows: int, n_cols: int) -> None:
    width = 1.6 if kind == "channel-boundary" else 0.5
    if horizontal:
        (line,) = ax.plot([-0.5, n_cols - 0.5], [b - 0.5, b - 0.5], color=_COLORS[kind], lw=width)
    else:
        (line,) = ax.plot([b - 0.5, b - 0.5], [-0.5, n_rows - 0.5], color=_COLORS[kind], lw=width)
    line.set_gid(kind)


@dataclass(frozen=True)
class _Grid:
    """One axis of a sliding picture: grid cells, their kinds, and each output's window."""

    kinds: tuple[str, ...]  # per drawn cell
    windows: tuple[tuple[int, ...], ...]  # per output position: drawn-cell index per tap
    out_size: int
    sources: tuple[int | None, ...] = ()  # per drawn cell: the input index it reads, if any
    labels: tuple[str, ...] = ()  # per drawn cell: its index along the axis ("" for none)


def _axis_grid(
    spec: AnySpec, ax: int, n: int, pads: tuple[int, int], o_size: int, mode: str
) -> _Grid:
    k, s, d = spec.kernel_size[ax], spec.stride[ax], spec.dilation[ax]
    pl, pr = pads
    if isinstance(spec, ConvTransposeSpec):
        # Dumoulin & Visin: the equivalent direct conv on the zero-inserted input padded by
        # d(k-1) - p (before) and d(k-1) - p + output_padding (after), stride 1.
        span = d * (k - 1)
        start = span - pl  # drawn coordinate of input 0 (may be < 0: cropped)
        length = o_size + span
        kinds: list[str] = []
        sources: list[int | None] = []
        labels: list[str] = []
        for q in range(length):
            rel = q - start
            if 0 <= rel <= (n - 1) * s and rel % s == 0:
                kinds.append("input")
                sources.append(rel // s)
                labels.append(str(rel // s))
            else:
                kinds.append("zero-insert" if 0 < rel < (n - 1) * s else "padding")
                sources.append(None)
                labels.append("")
        windows = tuple(tuple(o + u * d for u in range(k)) for o in range(o_size))
        return _Grid(tuple(kinds), windows, o_size, tuple(sources), tuple(labels))
    windows_pos = [[o * s + u * d for u in range(k)] for o in range(o_size)]
    length = max(n + pl + pr, max(max(w) for w in windows_pos) + 1)
    kinds, sources, labels = [], [], []  # (typed as in the transposed branch)
    for q in range(length):
        t = q - pl
        if 0 <= t < n:
            kinds.append("input")
            sources.append(t)
        elif t < n + pr:
            kinds.append("padding")
            sources.append(_source(t, n, mode))
        else:
            kinds.append("overhang")
            sources.append(None)
        labels.append(str(t))
    return _Grid(
        tuple(kinds), tuple(tuple(w) for w in windows_pos), o_size, tuple(sources), tuple(labels)
    )


@dataclass(frozen=True)
class _Sliding:
    """Everything a sliding picture needs: both axes' grids and what padding holds."""

    grids: list[_Grid]
    out: tuple[int, ...]  # spatial output shape
    mode: str  # "zeros", "reflect", "replicate", "circular" (what padding cells hold)
    pad_value: str  # the label of a padding cell that reads no input: "0" or "-inf"
    one_d: bool


def _grids(spec: AnySpec, input_shape: Sequence[int]) -> _Sliding:
    if spec.ndim not in (1, 2):
        raise ConvProofError(f"sliding pictures draw 1-D or 2-D layers, got ndim={spec.ndim}")
    out = spec.output_shape(input_shape)
    pads = spec.resolve_padding(input_shape)
    _, _, spatial = spec.split_input_shape(input_shape)
    o_sp = out[-spec.ndim :]
    mode = spec.padding_mode
    grids = [_axis_grid(spec, ax, spatial[ax], pads[ax], o_sp[ax], mode) for ax in range(spec.ndim)]
    if spec.ndim == 1:  # draw a 1-D layer as one row
        grids = [_Grid(("input",), ((0,),), 1, (0,), ("",)), grids[0]]
    pad_value = "-inf" if isinstance(spec, PoolSpec) and spec.kind == "max" else "0"
    return _Sliding(grids, tuple(o_sp), mode, pad_value, spec.ndim == 1)


def _cell_kind(kinds: Sequence[str]) -> str:
    for kind in ("overhang", "padding", "zero-insert"):
        if kind in kinds:
            return kind
    return "input"


def _cell_source(sl: _Sliding, r: int, c: int) -> tuple[int, ...] | None:
    """The input cell (spatial index) that drawn cell ``(r, c)`` reads, or ``None``."""
    gy, gx = sl.grids
    sr, sc = gy.sources[r], gx.sources[c]
    if sr is None or sc is None:
        return None
    return (sc,) if sl.one_d else (sr, sc)


def _legend_entries(sl: _Sliding, kinds: set[str]) -> list[tuple[str, str, str]]:
    """``(kind, label, linestyle)`` for the legend, only for the kinds drawn."""
    copy = sl.mode != "zeros"
    padding = (
        f"{sl.mode} padding: holds the input cell named in it"
        if copy
        else ("padding (-inf, never the max)" if sl.pad_value == "-inf" else "zero padding")
    )
    tap_pad = "kernel tap on padding" + (
        " (arrow: the input cell it reads)" if copy else f" (reads {sl.pad_value})"
    )
    table = [
        ("input", "input cell (index on the edges)", "-"),
        ("padding", padding, "--"),
        ("zero-insert", "zero inserted by the stride", "-"),
        ("overhang", "ceil-mode overhang (not read)", "--"),
        ("tap-input", "kernel tap on an input cell", "-"),
        ("tap-padding", tap_pad, "-"),
        ("output", "output cell", "-"),
        ("output-current", "the output being computed", "-"),
    ]
    return [entry for entry in table if entry[0] in kinds]


def _add_legend(fig: Figure, sl: _Sliding, kinds: set[str]) -> None:
    from matplotlib.patches import Patch

    entries = _legend_entries(sl, kinds)
    face = {"padding": "padding-copy"} if sl.mode != "zeros" else {}
    handles = [
        Patch(
            facecolor=_COLORS[face.get(k, k)],
            edgecolor="#555555",
            linestyle=ls,  # type: ignore[arg-type]
            label=label,
        )
        for k, label, ls in entries
    ]
    # about 3 inches per column of labels, so the legend never runs off a narrow figure
    per_row = max(1, min(3, int(fig.get_figwidth() / 3.0)))
    legend = fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=min(per_row, len(handles)),
        fontsize=7,
        frameon=False,
    )
    legend.set_gid("legend")


def _draw_frame(ax: Axes, sl: _Sliding, frame: tuple[int, int], title: str) -> set[str]:
    """Draw one frame; returns the kinds of cells drawn (for the legend)."""
    from matplotlib.patches import FancyArrowPatch

    gy, gx = sl.grids
    rows, cols = len(gy.kinds), len(gx.kinds)
    oy, ox = frame
    window = {(r, c) for r in gy.windows[oy] for c in gx.windows[ox]}
    drawn: set[str] = set()
    # input cells are found by their source index (for arrows from padded taps)
    where = {
        _cell_source(sl, r, c): (r, c)
        for r in range(rows)
        for c in range(cols)
        if _cell_kind((gy.kinds[r], gx.kinds[c])) == "input"
    }
    small = 6 if sl.one_d else 5
    for r in range(rows):
        for c in range(cols):
            kind = _cell_kind((gy.kinds[r], gx.kinds[c]))
            dashed = kind in ("padding", "overhang")
            y = rows - 1 - r
            copy = kind == "padding" and sl.mode != "zeros"
            _rect(
                ax,
                c,
                y,
                kind,
                linestyle="--" if dashed else "-",
                face="padding-copy" if copy else kind,
            )
            drawn.add(kind)
            if kind in ("padding", "zero-insert"):
                src = _cell_source(sl, r, c)
                text = sl.pad_value if src is None else _ix(src)
                label = ax.text(
                    c + 0.5,
                    y + 0.5,
                    text,
                    ha="center",
                    va="center",
                    fontsize=small,
                    color="#333333",
                    zorder=4,
                )
                label.set_gid("source-label" if src is not None else "pad-value")
            if (r, c) in window:
                tap = "tap-input" if kind == "input" else "tap-padding"
                _rect(
                    ax,
                    c + 0.15,
                    y + 0.15,
                    tap,
                    width=0.7,
                    height=0.7,
                    edgecolor="none",
                    linewidth=0,
                )
                drawn.add(tap)
                src = _cell_source(sl, r, c) if kind == "padding" else None
                if src is not None and src in where:
                    tr, tc = where[src]
                    arrow = FancyArrowPatch(
                        (c + 0.5, y + 0.5),
                        (tc + 0.5, rows - 1 - tr + 0.5),
                        arrowstyle="-|>",
                        mutation_scale=6,
                        color="#b03a2e",
                        linewidth=0.8,
                        connectionstyle="arc3,rad=0.25",
                        zorder=5,
                    )
                    arrow.set_gid("source-arrow")
                    ax.add_artist(arrow)
    # the input's indices along the edges (negative / past the end: padding)
    for c, text in enumerate(gx.labels):
        if text:
            t = ax.text(c + 0.5, rows + 0.1, text, ha="center", va="bottom", fontsize=small)
            t.set_gid("index-label")
    if not sl.one_d:
        for r, text in enumerate(gy.labels):
            if text:
                t = ax.text(-0.1, rows - 1 - r + 0.5, text, ha="right", va="center", fontsize=small)
                t.set_gid("index-label")
    x0 = cols + 1.5
    orows, ocols = gy.out_size, gx.out_size
    y0 = (rows - orows) / 2
    for r in range(orows):
        for c in range(ocols):
            kind = "output-current" if (r, c) == (oy, ox) else "output"
            _rect(ax, x0 + c, y0 + orows - 1 - r, kind)
            drawn.add(kind)
    ax.set_xlim(-0.9, x0 + ocols + 0.2)
    ax.set_ylim(min(0, y0) - 0.2, max(rows + 0.8, y0 + orows) + 0.2)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=8)
    return drawn


def _frames(out_sp: tuple[int, ...]) -> list[tuple[int, int]]:
    if len(out_sp) == 1:
        return [(0, c) for c in range(out_sp[0])]
    return [(r, c) for r in range(out_sp[0]) for c in range(out_sp[1])]


def _pick_frames(
    out_sp: tuple[int, ...], max_frames: int, at: Sequence[int] | None
) -> tuple[list[tuple[int, int]], int]:
    """At most ``max_frames`` output positions, evenly spaced, always including ``at``.

    Returns the frames (row-major order) and the number of output positions.
    """
    frames = _frames(out_sp)
    total = len(frames)
    chosen: tuple[int, int] | None = None
    if at is not None:
        at_t = tuple(int(a) for a in at)
        if len(at_t) != len(out_sp) or any(not 0 <= a < n for a, n in zip(at_t, out_sp)):
            raise ConvProofError(
                f"at must be a spatial position inside the output {tuple(out_sp)}, "
                f"got at={tuple(at)!r}"
            )
        chosen = (0, at_t[0]) if len(out_sp) == 1 else (at_t[0], at_t[1])
    if total <= max_frames:
        return frames, total
    if max_frames == 1:
        picks = [frames.index(chosen) if chosen is not None else 0]
    else:
        picks = sorted({round(j * (total - 1) / (max_frames - 1)) for j in range(max_frames)})
    if chosen is not None:
        index = frames.index(chosen)
        if index not in picks:  # replace the nearest sampled frame by the chosen one
            nearest = min(picks, key=lambda p: (abs(p - index), p))
            picks = sorted({*(p for p in picks if p != nearest), index})
    return [frames[p] for p in picks], total


def _frames_note(shown: int, total: int) -> str:
    if shown == total:
        return ""
    return f"{shown} of {total} output positions shown (evenly spaced)"


def sliding_figure(
    spec: AnySpec,
    input_shape: Sequence[int],
    *,
    at: Sequence[int] | None = None,
    max_frames: int = 16,
    ncols: int = 4,
    path: str | Path | None = None,
) -> Figure:
    """Draw the kernel sliding over the padded input, one frame per output position.

    Like Dumoulin & Visin's figures: the (padded) input grid on the left — blue input cells
    with their indices on the edges, dashed padding, grey zeros inserted between inputs by a
    transposed conv's stride — with the kernel's taps marked (dark: tap on an input cell,
    light: tap on padding or an inserted zero) and the output grid on the right with the
    current output in green.  Each padding cell says what it holds: ``0`` (zero padding),
    ``-inf`` (max pooling), or, for ``reflect`` / ``replicate`` / ``circular`` padding, the
    index of the input cell it copies; a tap on such a cell has an arrow to that input cell.
    A legend names every kind of cell drawn.  A transposed convolution is drawn as its
    equivalent direct convolution: stride-1 kernel over the zero-inserted input padded by
    ``d(k-1) - p`` (plus ``output_padding`` at the end).

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
        1-D or 2-D.
    input_shape : tuple of int
        ``(C, *spatial)``; one channel plane is drawn (all channels slide together).
    at : tuple of int, optional
        A spatial output position that is always drawn (e.g. the element being explained).
    max_frames : int
        Draw at most this many frames.  With more output positions, frames are spaced
        evenly over them (first and last included, and ``at``), and the title says so.
    ncols : int
        Frames per row of the strip.
    path : str or Path, optional
        Also save the strip there.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per frame; each cell is a ``Rectangle`` whose ``gid`` is its kind
        (``"input"``, ``"padding"``, ``"zero-insert"``, ``"overhang"``, ``"tap-input"``,
        ``"tap-padding"``, ``"output"``, ``"output-current"``); padding labels are texts
        with ``gid`` ``"source-label"`` (the input cell copied) or ``"pad-value"``; arrows
        from padded taps to the cells they read have ``gid`` ``"source-arrow"``; the figure
        legend has ``gid`` ``"legend"``.  In Jupyter the figure shows itself.

    Raises
    ------
    ConvProofError
        Without matplotlib, for ``ndim`` 3, if the shape does not fit the layer or ``at`` is
        not an output position.

    Examples
    --------
    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, stride=2, padding=1)
    >>> fig = sliding_figure(spec, (1, 5, 5), max_frames=4)
    >>> len(fig.axes)
    4
    >>> sum(p.get_gid() == "tap-input" for p in fig.axes[0].patches)  # 2x2 taps on the input
    4

    Reflect padding: the corner tap of output (0, 0) reads input (1, 1), drawn as an arrow.

    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=1,
    ...                    padding_mode="reflect")
    >>> fig = sliding_figure(spec, (1, 4, 4), max_frames=1)
    >>> sum(p.get_gid() == "source-arrow" for p in fig.axes[0].patches)
    5
    """
    Figure = _figure_class()
    if max_frames < 1:
        raise ConvProofError(f"max_frames must be >= 1, got max_frames={max_frames!r}")
    if ncols < 1:
        raise ConvProofError(f"ncols must be >= 1, got ncols={ncols!r}")
    sl = _grids(spec, input_shape)
    grids = sl.grids
    frames, total = _pick_frames(sl.out, max_frames, at)
    ncols = min(ncols, len(frames))
    nrows = math.ceil(len(frames) / ncols)
    width_cells = len(grids[1].kinds) + 2.5 + grids[1].out_size
    height_cells = max(len(grids[0].kinds) + 1, grids[0].out_size) + 1
    scale = 0.28
    title = _sliding_title(spec, input_shape)
    note = _frames_note(len(frames), total)
    fig = Figure(
        figsize=(
            max(4.5, ncols * width_cells * scale, 0.08 * len(title)),
            max(1.2, nrows * height_cells * scale + 0.3) + 0.6,
        ),
        layout="constrained",
    )
    drawn: set[str] = set()
    for f, frame in enumerate(frames):
        ax = fig.add_subplot(nrows, ncols, f + 1)
        label = frame[1:] if spec.ndim == 1 else frame
        drawn |= _draw_frame(ax, sl, frame, f"output ({_ix(label)})")
    fig.suptitle(title + (f"\n{note}" if note else ""), fontsize=9)
    _add_legend(fig, sl, drawn)
    _save(fig, path, dpi=110)
    return fig


def _sliding_title(spec: AnySpec, input_shape: Sequence[int]) -> str:
    parts = [f"k={_fmt_tuple(spec.kernel_size)}", f"s={_fmt_tuple(spec.stride)}"]
    pads = spec.resolve_padding(input_shape)
    if len(set(pads)) == 1:
        before, after = pads[0]
        parts.append(f"p={before}" if before == after else f"p=({before}, {after})")
    else:
        parts.append(f"p={pads}")
    if spec.padding_mode != "zeros":
        parts[-1] += f" ({spec.padding_mode})"
    if any(d != 1 for d in spec.dilation):
        parts.append(f"d={_fmt_tuple(spec.dilation)}")
    if isinstance(spec, ConvTransposeSpec) and any(spec.output_padding):
        parts.append(f"op={_fmt_tuple(spec.output_padding)}")
    name = {"conv": "conv", "conv_transpose": "transposed conv", "pool": "pooling"}[spec.layer]
    if isinstance(spec, PoolSpec):
        name = f"{spec.kind} pooling"
    _, _, spatial = spec.split_input_shape(input_shape)
    return f"{name} on {'x'.join(map(str, spatial))}: " + ", ".join(parts)


def _gif_writer() -> Any:
    """matplotlib's ``PillowWriter`` when Pillow can write GIFs, else ``None``."""
    try:
        from matplotlib.animation import PillowWriter
    except ImportError:  # pragma: no cover - Pillow is a matplotlib dependency
        return None
    return PillowWriter if PillowWriter.isAvailable() else None


def sliding_animation(
    spec: AnySpec,
    input_shape: Sequence[int],
    path: str | Path,
    *,
    at: Sequence[int] | None = None,
    fps: int = 2,
    max_frames: int = 100,
) -> list[Path]:
    """Save the sliding kernel as an animated GIF (or, without Pillow, as PNG frames).

    Drawn as :func:`sliding_figure` draws one frame, with a legend.

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
        1-D or 2-D.
    input_shape : tuple of int
    path : str or Path
        The GIF's path (frames are saved as ``<stem>_000.png``, ... when Pillow is missing).
    at : tuple of int, optional
        A spatial output position that is always animated.
    fps : int
        Frames per second.
    max_frames : int
        At most this many frames.  With more output positions, frames are spaced evenly
        over them (first and last included, and ``at``), and every frame's title says
        ``frame j of m, N output positions (evenly spaced)``.

    Returns
    -------
    list of Path
        ``[path]`` for a GIF, else the frame files.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=1)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     (gif,) = sliding_animation(spec, (1, 4, 4), pathlib.Path(tmp) / "slide.gif")
    ...     gif.read_bytes()[:6]
    b'GIF89a'
    """
    Figure = _figure_class()
    if fps <= 0:
        raise ConvProofError(f"fps must be > 0, got fps={fps!r}")
    if max_frames < 1:
        raise ConvProofError(f"max_frames must be >= 1, got max_frames={max_frames!r}")
    target = Path(path)
    if not target.parent.exists():
        raise ConvProofError(f"path must be in an existing directory, got path={str(path)!r}")
    sl = _grids(spec, input_shape)
    grids = sl.grids
    frames, total = _pick_frames(sl.out, max_frames, at)
    width_cells = len(grids[1].kinds) + 2.5 + grids[1].out_size
    height_cells = max(len(grids[0].kinds) + 1, grids[0].out_size) + 1
    scale = 0.35
    fig = Figure(
        figsize=(max(4.5, width_cells * scale), max(1.5, height_cells * scale + 0.6) + 0.7),
        layout="constrained",
    )
    ax = fig.add_subplot()
    title = _sliding_title(spec, input_shape)
    # the legend is the same for every frame: kinds of cells over all frames
    drawn: set[str] = set()
    for frame in (frames[0], frames[-1]):
        drawn |= _draw_frame(ax, sl, frame, title)
        ax.clear()
    drawn |= {"tap-input", "tap-padding"} & _all_tap_kinds(sl, frames)
    _add_legend(fig, sl, drawn)
    sampled = len(frames) < total

    def frame_title(f: int, frame: tuple[int, int]) -> str:
        label = frame[1:] if spec.ndim == 1 else frame
        text = f"{title}\noutput ({_ix(label)})"
        if sampled:
            text += f": frame {f + 1} of {len(frames)}, {total} output positions (evenly spaced)"
        return text

    writer_class = _gif_writer()
    if writer_class is None:
        paths = []
        for f, frame in enumerate(frames):
            ax.clear()
            _draw_frame(ax, sl, frame, frame_title(f, frame))
            p = target.with_name(f"{target.stem}_{f:03d}.png")
            fig.savefig(p, dpi=90)
            paths.append(p)
        return paths
    writer = writer_class(fps=fps)
    with writer.saving(fig, str(target), dpi=90):
        for f, frame in enumerate(frames):
            ax.clear()
            _draw_frame(ax, sl, frame, frame_title(f, frame))
            writer.grab_frame()
    return [target]


def _all_tap_kinds(sl: _Sliding, frames: Sequence[tuple[int, int]]) -> set[str]:
    gy, gx = sl.grids
    kinds = set()
    for oy, ox in frames:
        for r in gy.windows[oy]:
            for c in gx.windows[ox]:
                cell = _cell_kind((gy.kinds[r], gx.kinds[c]))
                kinds.add("tap-input" if cell == "input" else "tap-padding")
    return kinds


# -- receptive fields ----------------------------------------------------------------------


_ELEMENTWISE = ("Activation", "BatchNorm", "Identity", "Dropout")
_SPATIAL_END = ("Flatten", "Linear", "AdaptivePool")


def _network_specs(net: Any) -> list[tuple[str, AnySpec]]:
    """The window layers (name, spec) of a chain-shaped :class:`~convproof.Network`, in order.

    Element-wise layers (activations, batch norm, dropout, identity) do not move receptive
    fields and are skipped; the walk stops at the first flatten / linear / adaptive pool.
    """
    out: list[tuple[str, AnySpec]] = []
    previous = "input"
    for node in net.nodes:
        layer = node.layer
        kind = type(layer).__name__
        if tuple(node.inputs) != (previous,):
            raise ConvProofError(
                f"receptive-field pictures need a chain of layers, but node {node.name!r} "
                f"reads {tuple(node.inputs)}; use cp.summary(...).receptive_region for graphs"
            )
        previous = node.name
        if isinstance(layer, ConvSpec | ConvTransposeSpec | PoolSpec):
            out.append((node.name, layer))
        elif kind in _SPATIAL_END:
            break
        elif kind not in _ELEMENTWISE:
            raise ConvProofError(
                f"receptive-field pictures cannot pass layer {node.name!r} ({kind}); "
                f"use cp.summary(...).receptive_region"
            )
    return out


def _named_layers(layers: Any) -> list[tuple[str, AnySpec]]:
    """``(name, spec)`` per window layer: a network's node names, else ``layer <i>``."""
    if isinstance(layers, ConvSpec | ConvTransposeSpec | PoolSpec):
        return [("layer 0", layers)]
    if hasattr(layers, "nodes"):
        out = _network_specs(layers)
    else:
        out = []
        try:
            for item in layers:
                if not isinstance(item, ConvSpec | ConvTransposeSpec | PoolSpec):
                    raise ConvProofError(
                        f"layers must be specs (ConvSpec, ConvTransposeSpec, PoolSpec) or a "
                        f"Network, got {item!r}"
                    )
                out.append((f"layer {len(out)}", item))
        except TypeError:
            raise ConvProofError(
                f"layers must be a spec, a sequence of specs or a Network, got {layers!r}"
            ) from None
    if not out:
        raise ConvProofError("layers must contain at least one layer, got an empty sequence")
    return out


def _layers(layers: Any) -> list[AnySpec]:
    return [spec for _, spec in _named_layers(layers)]


def _axis_sources(
    spec: AnySpec, ax: int, n_in: int, pads: tuple[int, int], n_out: int, outs: set[int]
) -> set[int]:
    """Input indices along one axis that the given outputs depend on."""
    k, s, d = spec.kernel_size[ax], spec.stride[ax], spec.dilation[ax]
    pl, pr = pads
    found: set[int] = set()
    if isinstance(spec, ConvTransposeSpec):
        for o in outs:
            for u in range(k):
                num = o + pl - u * d
                if num % s == 0 and 0 <= num // s < n_in:
                    found.add(num // s)
        return found
    mode = spec.padding_mode
    for o in outs:
        for u in range(k):
            t = o * s + u * d - pl
            if -pl <= t < n_in + pr:
                src = _source(t, n_in, mode)
                if src is not None:
                    found.add(src)
    return found


def receptive_field(
    layers: Any, input_shape: Sequence[int], at: Sequence[int]
) -> tuple[tuple[int, ...], ...]:
    """The input positions (per spatial axis) that one output position depends on.

    Traced backwards exactly through every layer's taps (dilation gaps, padding and strides
    included); axes are independent, so the region is the product of the per-axis sets.

    Parameters
    ----------
    layers : spec, sequence of specs, or a chain-shaped :class:`~convproof.Network`
        Applied in order to ``input_shape``.  In a network, element-wise layers are skipped
        and the walk stops at the first flatten / linear / adaptive pool.
    input_shape : tuple of int
        ``(C, *spatial)`` of the first layer's input.
    at : tuple of int
        Spatial output position of the last layer (no channel).

    Returns
    -------
    tuple of tuple of int
        Per spatial axis, the sorted input indices.

    Examples
    --------
    Two 3x3 convs (no padding): output 0 sees inputs 0..4 per axis (receptive field 5).

    >>> import convproof as cp
    >>> c = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3)
    >>> receptive_field([c, c], (1, 8, 8), (0, 0))
    ((0, 1, 2, 3, 4), (0, 1, 2, 3, 4))
    >>> d = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, dilation=3, ndim=1)
    >>> receptive_field(d, (1, 8), (1,))
    ((1, 4),)
    """
    specs = _layers(layers)
    shapes = [tuple(input_shape)]
    for spec in specs:
        try:
            shapes.append(tuple(spec.output_shape(shapes[-1])))
        except ConvProofError as exc:
            raise ConvProofError(f"layer {len(shapes) - 1}: {exc}") from None
    ndim = specs[0].ndim
    if any(sp.ndim != ndim for sp in specs):
        raise ConvProofError("layers must all have the same number of spatial dims")
    out_sp = shapes[-1][-ndim:]
    at_t = tuple(at)
    if len(at_t) != ndim or any(not 0 <= a < n for a, n in zip(at_t, out_sp)):
        raise ConvProofError(
            f"at must be a spatial position inside the output {tuple(out_sp)}, got at={at_t!r}"
        )
    sets = [{a} for a in at_t]
    for spec, shp_in, shp_out in zip(reversed(specs), reversed(shapes[:-1]), reversed(shapes[1:])):
        pads = spec.resolve_padding(shp_in)
        sets = [
            _axis_sources(spec, ax, shp_in[-ndim + ax], pads[ax], shp_out[-ndim + ax], sets[ax])
            for ax in range(ndim)
        ]
    return tuple(tuple(sorted(s)) for s in sets)


def receptive_field_figure(
    layers: Any,
    input_shape: Sequence[int],
    at: Sequence[int],
    *,
    path: str | Path | None = None,
    max_cells: int = 4096,
) -> Figure:
    """Draw the input cells one output position depends on (its receptive field).

    Parameters
    ----------
    layers : spec, sequence of specs, or a chain-shaped :class:`~convproof.Network`
    input_shape : tuple of int
        ``(C, *spatial)``, 1-D or 2-D spatial.
    at : tuple of int
        Spatial output position of the last layer.
    path : str or Path, optional
    max_cells : int
        Inputs with more cells are drawn as one 0/1 image (``gid="rf-image"``, 1 = seen)
        instead of one patch per cell.

    Returns
    -------
    matplotlib.figure.Figure
        Input cells are ``Rectangle`` patches with ``gid`` ``"input"``; the cells the output
        depends on have ``gid`` ``"rf-cell"``; a dashed ``"rf-box"`` rectangle marks the
        bounding box.  The axes are numbered with input indices (rows and columns), the
        title names the last layer (a network's node name, else ``layer <i>`` counted from
        0) and its kind, and a legend (``gid="legend"``) names the cells.  In Jupyter the
        figure shows itself.

    Examples
    --------
    >>> import convproof as cp
    >>> c = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, stride=2)
    >>> fig = receptive_field_figure([c, c], (1, 12, 12), (1, 1))
    >>> sum(p.get_gid() == "rf-cell" for p in fig.axes[0].patches)
    49
    """
    Figure = _figure_class()
    from matplotlib.patches import Patch, Rectangle

    region = receptive_field(layers, input_shape, at)
    last_name, last = _named_layers(layers)[-1]
    spatial = tuple(input_shape)[-len(region) :]
    if len(region) == 1:
        rows_set: tuple[int, ...] = (0,)
        cols_set = region[0]
        n_r, n_c = 1, spatial[0]
    elif len(region) == 2:
        rows_set, cols_set = region
        n_r, n_c = spatial
    else:
        raise ConvProofError(
            f"receptive-field pictures draw 1-D or 2-D inputs, got ndim={len(region)}"
        )
    scale = min(0.3, 8.0 / max(n_r, n_c))
    fig = Figure(
        figsize=(max(4.5, n_c * scale + 1.2), max(2.4, n_r * scale + 1.9)), layout="constrained"
    )
    ax = fig.add_subplot()
    hit = {(r, c) for r in rows_set for c in cols_set}
    if n_r * n_c > max_cells:  # too many cells for patches: one 0/1 image instead
        import numpy as np
        from matplotlib.colors import ListedColormap

        mask = np.zeros((n_r, n_c), dtype=np.int8)
        mask[np.ix_(list(rows_set), list(cols_set))] = 1
        image = ax.imshow(
            mask[::-1],
            cmap=ListedColormap([_COLORS["input"], _COLORS["rf-cell"]]),
            vmin=0,
            vmax=1,
            origin="lower",
            extent=(0, n_c, 0, n_r),
            interpolation="nearest",
        )
        image.set_gid("rf-image")
    else:
        for r in range(n_r):
            for c in range(n_c):
                kind = "rf-cell" if (r, c) in hit else "input"
                _rect(ax, c, n_r - 1 - r, kind, linewidth=0.3)
    if rows_set and cols_set:
        r0, r1, c0, c1 = min(rows_set), max(rows_set), min(cols_set), max(cols_set)
        box = Rectangle(
            (c0, n_r - 1 - r1),
            c1 - c0 + 1,
            r1 - r0 + 1,
            fill=False,
            edgecolor="black",
            linestyle="--",
            linewidth=1.5,
        )
        box.set_gid("rf-box")
        ax.add_patch(box)
    ax.set_xlim(-0.2, n_c + 0.2)
    ax.set_ylim(-0.2, n_r + 0.2)
    ax.set_aspect("equal")
    # axes in input indices: column c is centred at c + 0.5, row r at n_r - 1 - r + 0.5
    cols_ticks = _index_ticks(n_c)
    ax.set_xticks([c + 0.5 for c in cols_ticks], [str(c) for c in cols_ticks])
    ax.set_xlabel("input column" if len(region) == 2 else "input position")
    if len(region) == 2:
        rows_ticks = _index_ticks(n_r)
        ax.set_yticks([n_r - 1 - r + 0.5 for r in rows_ticks], [str(r) for r in rows_ticks])
        ax.set_ylabel("input row")
    else:
        ax.set_yticks([])
    ax.tick_params(labelsize=7, length=2)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    extent = " x ".join(str(max(s) - min(s) + 1) if s else "0" for s in region)
    ax.set_title(
        f"receptive field of output ({_ix(at)}) of {last_name}: {_layer_name(last)}, "
        f"k={_fmt_tuple(last.kernel_size)}, s={_fmt_tuple(last.stride)}\n"
        f"{len(hit)} input cells (extent {extent}) of the {'x'.join(map(str, spatial))} input",
        fontsize=9,
    )
    handles = [
        Patch(facecolor=_COLORS["rf-cell"], edgecolor="#555555", label="read by the output"),
        Patch(facecolor=_COLORS["input"], edgecolor="#555555", label="not read"),
        Patch(fill=False, edgecolor="black", linestyle="--", label="bounding box"),
    ]
    legend = fig.legend(
        handles=handles, loc="outside lower center", ncols=3, fontsize=8, frameon=False
    )
    legend.set_gid("legend")
    _save(fig, path, dpi=110)
    return fig


def _index_ticks(n: int) -> list[int]:
    """At most about 12 readable tick positions among ``0 .. n-1`` (multiples of 1, 2, 5 ...)."""
    step = 1
    for base in itertools.count():
        for m in (1, 2, 5):
            step = m * 10**base
            if n / step <= 12:
                return list(range(0, n, step))
    return [0]  # pragma: no cover - the loop always returns
