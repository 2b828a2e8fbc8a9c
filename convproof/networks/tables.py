"""Formatting of per-layer reports, in one place: fixed-width text, Markdown and JSON-ready
values, and :class:`RowTable` (rows looked up by layer name).

:class:`~convproof.Summary` holds data only and renders through here
(:func:`summary_text`, :func:`summary_markdown`, :func:`summary_dict`).  The helpers are
plain functions of strings and numbers, below :mod:`convproof.presentation` (which networks may
not import), so other reports (``spectrum``) can share them.

Examples
--------
>>> from convproof.networks.tables import text_table
>>> print(text_table(["a", "bb"], [["1", "2"], ["333", "4"]], ["total 7"]))
=======
a    bb
=======
1    2
333  4
=======
total 7
=======
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import sympy

from convproof.errors import ConvProofError

if TYPE_CHECKING:
    from convproof.networks.summary import Summary

__all__: list[str] = []

#: The conventions of a summary table, stated once under it.
CONVENTIONS = (
    "1 MAC = one multiply-accumulate, per sample, of conv, transposed conv (on input",
    "positions), linear and interpolation layers, bias excluded; FLOPs = 2 x MACs.",
    "Kernel, Stride, Pad: the layer's own (l/r: per side); RF, Eff. stride, Eff. pad:",
    "cumulative from the input.",
)
#: Said under tables whose Params/MACs cells are rounded.
UNITS_NOTE = "K, M, G = 10^3, 10^6, 10^9 (3 significant digits); exact: --exact, exact=True, JSON."


class RowTable:
    """Rows with unique ``name`` attributes: ``table[name]``, ``len``, iteration.

    Subclasses set ``rows`` (a tuple) and call :meth:`_index`; ``_row_what`` names the rows
    in the error for an unknown name.
    """

    rows: tuple[Any, ...]
    _row_what = "a row of the summary"

    def _index(self) -> None:
        self._by_name = {r.name: r for r in self.rows}

    def __getitem__(self, name: str) -> Any:
        try:
            return self._by_name[name]
        except KeyError:
            raise ConvProofError(f"layer must name {self._row_what}, got layer={name!r}") from None

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)


def plain(v: Any) -> Any:
    """JSON-ready: tuples as lists, Fractions and SymPy expressions as strings (integers as
    ints)."""
    if isinstance(v, tuple | list):
        return [plain(x) for x in v]
    if isinstance(v, bool) or v is None or isinstance(v, int | str):
        return v
    if isinstance(v, Fraction):
        return str(v)
    if isinstance(v, sympy.Basic):
        return int(v) if v.is_Integer else str(v)
    return v


def fmt(v: Any) -> str:
    """An int with thousands separators; anything else as ``str``."""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def axes(values: tuple[Any, ...] | None) -> str:
    """Per-axis values: one number when all agree, ``(a, b)`` otherwise, ``—`` for None."""
    if values is None:
        return "—"
    if len(set(map(str, values))) == 1:
        return fmt(values[0])
    return "(" + ", ".join(fmt(v) for v in values) + ")"


def human(v: Any) -> str:
    """A count in K, M or G (powers of 1000) to 3 significant digits; smaller ints, and
    anything else, as :func:`fmt`.

    Examples
    --------
    >>> from convproof.networks.tables import human
    >>> [human(v) for v in (224, 23296, 221184, 70276800, 1814073344)]
    ['224', '23.3K', '221K', '70.3M', '1.81G']
    """
    if isinstance(v, bool) or not isinstance(v, int) or abs(v) < 1000:
        return fmt(v)
    for unit, scale in (("K", 10**3), ("M", 10**6), ("G", 10**9)):
        x = v / scale
        text = f"{x:.{max(0, 3 - len(str(int(abs(x)))))}f}"
        if abs(float(text)) < 1000 or unit == "G":  # 999,999 is 1.00M, not 1000K
            return text + unit
    raise AssertionError("unreachable")  # pragma: no cover


def giga(v: Any) -> str:
    """`` (1.81G)``: :func:`human` in brackets for a count of a thousand or more, else
    empty."""
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 1000:
        return f" ({human(v)})"
    return ""


def text_table(header: list[str], body: list[list[str]], footer: Sequence[str]) -> str:
    """A fixed-width table between ``=`` rules, ``footer`` lines underneath."""
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    rule = "=" * max([len(line(header)), *(len(f) for f in footer)])
    return "\n".join([rule, line(header), rule, *(line(b) for b in body), rule, *footer, rule])


def markdown_table(header: list[str], align: str, body: list[list[str]]) -> list[str]:
    """Markdown table lines; ``align`` is the separator row (``"|---|---:|"``)."""
    out = ["| " + " | ".join(header) + " |", align]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in b) + " |" for b in body]
    return out


# -- Summary ------------------------------------------------------------------------------------


def _pad(p: Any) -> str:
    return f"{fmt(p[0])}/{fmt(p[1])}" if isinstance(p, tuple) else fmt(p)


def _own(values: tuple[Any, ...] | None, pad: bool = False) -> str:
    """A layer's own kernel, stride or padding: blank when it has none."""
    if values is None:
        return ""
    return axes(tuple(_pad(p) for p in values) if pad else values)


def _kernel(r: Any) -> str:
    k = _own(r.kernel_size)
    if k and r.dilation is not None and any(d != 1 for d in r.dilation):
        k += f" d{_own(r.dilation)}"
    return k


def _summary_table(s: Summary, exact: bool) -> tuple[list[str], list[list[str]], bool]:
    count = fmt if exact else human
    frozen = s.total_frozen_params != 0
    header = ["Layer (kind)", "Output shape", "Params"]
    header += ["Frozen"] if frozen else []
    header += ["MACs", "Kernel", "Stride", "Pad", "RF", "Eff. stride", "Eff. pad"]
    body = []
    rounded = False
    for r in s.rows:
        cells = [
            "--" if r.params == 0 else count(r.params),
            *([("--" if r.frozen_params == 0 else count(r.frozen_params))] if frozen else []),
            "?" if r.macs is None else "--" if r.macs == 0 else count(r.macs),
        ]
        rounded = rounded or any(c[-1:] in ("K", "M", "G") for c in cells)
        body.append(
            [
                f"{r.name} ({r.kind})",
                "[" + ", ".join(fmt(v) for v in r.output_shape) + "]",
                *cells,
                _kernel(r),
                _own(r.stride),
                _own(r.padding, pad=True),
                axes(r.receptive_field),
                axes(r.effective_stride),
                axes(r.effective_padding),
            ]
        )
    return header, body, rounded


def _params_line(s: Summary) -> str:
    line = f"Total params: {fmt(s.total_params)}{giga(s.total_params)}"
    if s.total_frozen_params != 0:
        line += f"; trainable {fmt(s.total_trainable_params)}, frozen {fmt(s.total_frozen_params)}"
    return line


def summary_text(s: Summary, exact: bool = False) -> str:
    """:meth:`~convproof.Summary.to_text`."""
    totals = [
        _params_line(s),
        f"Total MACs: {fmt(s.total_macs)}{giga(s.total_macs)}",
        f"Total FLOPs: {fmt(s.total_flops)}{giga(s.total_flops)}",
        f"Bias adds: {fmt(s.total_bias_adds)}",
    ]
    if s.unaligned:
        totals.append(
            f"Not aligned (receptive fields unknown from there on): {', '.join(s.unaligned)}"
        )
    if s.unknown_macs:
        totals.append(
            f"MACs unknown (left out of the totals) in {len(s.unknown_macs)} layers: "
            f"{', '.join(s.unknown_macs[:5])}{', ...' if len(s.unknown_macs) > 5 else ''}"
        )
    if s.total_buffers != 0:
        totals.append(
            f"Buffers (not params; as torch's module.buffers() counts them): {fmt(s.total_buffers)}"
        )
    if s.depth is not None:
        totals.append(f"Rows folded to depth {s.depth} ({len(s.leaf_rows)} layers)")
    header, body, rounded = _summary_table(s, exact)
    return text_table(header, body, [*totals, *CONVENTIONS, *([UNITS_NOTE] if rounded else [])])


def summary_markdown(s: Summary, exact: bool = False) -> str:
    """:meth:`~convproof.Summary.to_markdown`."""
    header, body, rounded = _summary_table(s, exact)
    align = "|---|---|" + "---:|" * (len(header) - 8) + "---|" * 6
    out = markdown_table(header, align, body)
    frozen = [f"**{fmt(s.total_frozen_params)}**"] if s.total_frozen_params != 0 else []
    cells = ["**Total**", "", f"**{fmt(s.total_params)}**", *frozen, f"**{fmt(s.total_macs)}**"]
    out.append("| " + " | ".join(cells + [""] * (len(header) - len(cells))) + " |")
    out.append("")
    notes = [f"Total FLOPs: {fmt(s.total_flops)}; bias adds: {fmt(s.total_bias_adds)}."]
    if s.total_frozen_params != 0:
        notes.append(
            f"Params: trainable {fmt(s.total_trainable_params)}, "
            f"frozen {fmt(s.total_frozen_params)}."
        )
    if s.depth is not None:
        notes.append(f"Rows folded to depth {s.depth} ({len(s.leaf_rows)} layers).")
    if s.unaligned:
        notes.append(
            f"Not aligned (receptive fields unknown from there on): {', '.join(s.unaligned)}."
        )
    notes.append(" ".join(CONVENTIONS))
    if rounded:
        notes.append(UNITS_NOTE)
    out.append(" ".join(notes))
    return "\n".join(out)


_ROW_FIELDS = (
    "name",
    "kind",
    "output_shape",
    "params",
    "buffers",
    "macs",
    "bias_adds",
    "flops",
    "receptive_field",
    "effective_stride",
    "effective_padding",
    "note",
    "kernel_size",
    "stride",
    "padding",
    "dilation",
    "frozen_params",
    "trainable_params",
)


def row_dict(row: Any) -> dict[str, Any]:
    """:meth:`~convproof.networks.summary.Row.to_dict`."""
    return {f: plain(getattr(row, f)) for f in _ROW_FIELDS}


def summary_dict(s: Summary) -> dict[str, Any]:
    """:meth:`~convproof.Summary.to_dict`."""
    return {
        "name": s.name,
        "input_shape": plain(s.input_shape),
        "output_shape": plain(s.output_shape),
        "total_params": plain(s.total_params),
        "total_trainable_params": plain(s.total_trainable_params),
        "total_frozen_params": plain(s.total_frozen_params),
        "total_buffers": plain(s.total_buffers),
        "total_macs": plain(s.total_macs),
        "total_bias_adds": plain(s.total_bias_adds),
        "total_flops": plain(s.total_flops),
        "conventions": " ".join(CONVENTIONS),
        "depth": s.depth,
        "rows": [row_dict(r) for r in s.rows],
    }
