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

MACS_NOTE = "MACs per sample: conv, transposed conv (on input positions), linear; bias excluded"


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


def giga(v: Any) -> str:
    """`` (1.234 G)`` for a count of a million or more, else empty."""
    if isinstance(v, int) and v >= 10**6:
        return f" ({v / 1e9:.3f} G)"
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


def _summary_table(s: Summary) -> tuple[list[str], list[list[str]]]:
    header = ["Layer (kind)", "Output shape", "Params", "MACs", "RF", "Stride", "Padding"]
    body = [
        [
            f"{r.name} ({r.kind})",
            "[" + ", ".join(fmt(v) for v in r.output_shape) + "]",
            "--" if r.params == 0 else fmt(r.params),
            "?" if r.macs is None else "--" if r.macs == 0 else fmt(r.macs),
            axes(r.receptive_field),
            axes(r.effective_stride),
            axes(r.effective_padding),
        ]
        for r in s.rows
    ]
    return header, body


def summary_text(s: Summary) -> str:
    """:meth:`~convproof.Summary.to_text`."""
    totals = [
        f"Total params: {fmt(s.total_params)}",
        f"Total MACs: {fmt(s.total_macs)}{giga(s.total_macs)}",
        f"Bias adds: {fmt(s.total_bias_adds)}",
        f"FLOPs (2 x MACs): {fmt(s.total_flops)}{giga(s.total_flops)}",
    ]
    if s.unknown_macs:
        totals.append(
            f"MACs unknown (left out of the totals) in {len(s.unknown_macs)} layers: "
            f"{', '.join(s.unknown_macs[:5])}{', ...' if len(s.unknown_macs) > 5 else ''}"
        )
    if s.total_buffers != 0:
        totals.append(
            f"Buffers (not params; as torch's module.buffers() counts them): {fmt(s.total_buffers)}"
        )
    header, body = _summary_table(s)
    return text_table(header, body, [*totals, MACS_NOTE])


def summary_markdown(s: Summary) -> str:
    """:meth:`~convproof.Summary.to_markdown`."""
    header, body = _summary_table(s)
    out = markdown_table(header, "|---|---|---:|---:|---|---|---|", body)
    out.append(f"| **Total** | | **{fmt(s.total_params)}** | **{fmt(s.total_macs)}** | | | |")
    out.append("")
    out.append(
        f"Bias adds: {fmt(s.total_bias_adds)}; FLOPs (2 x MACs): {fmt(s.total_flops)}. {MACS_NOTE}."
    )
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
        "total_buffers": plain(s.total_buffers),
        "total_macs": plain(s.total_macs),
        "total_bias_adds": plain(s.total_bias_adds),
        "total_flops": plain(s.total_flops),
        "conventions": MACS_NOTE,
        "rows": [row_dict(r) for r in s.rows],
    }
