"""The kernel sliding over the padded input, as a strip of frames or an animated GIF.

:func:`sliding_figure` and :func:`sliding_animation` draw the kernel sliding over the padded
input like Dumoulin & Visin's figures, including stride, dilation and the zero insertion of
transposed convolution, what every padding cell holds and which input cell a padded tap
reads.  Which cell a tap reads comes from the index rule
(:mod:`convproof.constructions.index`); the drawing adds only the layout.  Needs
matplotlib (an optional extra); drawn cells carry a ``gid`` (``"tap-input"``,
``"tap-padding"``, ``"source-arrow"``, ...).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from convproof.constructions.index import map_positions, scatter_target, tap_source
from convproof.errors import ConvProofError, MemoryLimitError
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec
from convproof.presentation.figures import _COLORS, _figure_class, _rect, _save
from convproof.presentation.text import _fmt_tuple, _ix
from convproof.settings import resolve_max_bytes

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["sliding_animation", "sliding_figure"]

AnySpec = ConvSpec | ConvTransposeSpec | PoolSpec


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
        # Dumoulin & Visin: the equivalent direct conv (stride 1) on the zero-inserted input,
        # padded by d(k-1) - p before and d(k-1) - p + output_padding after.  Window o covers
        # drawn cells o .. o + d(k-1) and its first cell meets tap k-1, so the scatter rule
        # places input j at the output it reaches through tap k-1 (< 0: cropped).
        length = o_size + d * (k - 1)
        landed = scatter_target(np.arange(n), k - 1, stride=s, dilation=d, pad_before=pl)
        drawn = {int(q): j for j, q in enumerate(landed)}
        first, last = int(landed[0]), int(landed[-1])
        kinds: list[str] = []
        sources: list[int | None] = []
        labels: list[str] = []
        for q in range(length):
            j = drawn.get(q)
            if j is not None:
                kinds.append("input")
                sources.append(j)
                labels.append(str(j))
            else:
                kinds.append("zero-insert" if first < q < last else "padding")
                sources.append(None)
                labels.append("")
        taps = np.arange(k)[None, :]
        reads = tap_source(np.arange(o_size)[:, None], taps, stride=1, dilation=d, pad_before=0)
        windows = tuple(tuple(w) for w in reads.tolist())
        return _Grid(tuple(kinds), windows, o_size, tuple(sources), tuple(labels))
    # drawn cell q is padded coordinate q - pl; the index rule says where each tap reads
    # and which input cell each padded coordinate holds
    taps = np.arange(k)[None, :]
    windows_pos = (
        tap_source(np.arange(o_size)[:, None], taps, stride=s, dilation=d, pad_before=0)
    ).tolist()
    length = max(n + pl + pr, max(max(w) for w in windows_pos) + 1)
    held = map_positions(np.arange(length) - pl, n, mode).tolist()
    kinds, sources, labels = [], [], []  # (typed as in the transposed branch)
    for q in range(length):
        t = q - pl
        if 0 <= t < n:
            kinds.append("input")
        elif t < n + pr:
            kinds.append("padding")
        else:
            kinds.append("overhang")
        sources.append(held[q] if t < n + pr and held[q] >= 0 else None)
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
    max_bytes: int | None = None,
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
    max_bytes : int, optional
        Refuse a figure estimated above this many bytes (default
        :func:`convproof.get_max_bytes`): every drawn cell is a matplotlib artist of
        several KiB, so a large input drawn in many frames needs gigabytes.

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
    MemoryLimitError
        When the estimate exceeds ``max_bytes`` (before anything is drawn).

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
    figsize = (
        max(4.5, ncols * width_cells * scale, 0.08 * len(title)),
        max(1.2, nrows * height_cells * scale + 0.3) + 0.6,
    )
    _check_figure_memory(
        len(frames) * _frame_cells(sl), figsize, 110, max_bytes, f"{len(frames)} frames"
    )
    fig = Figure(figsize=figsize, layout="constrained")
    drawn: set[str] = set()
    for f, frame in enumerate(frames):
        ax = fig.add_subplot(nrows, ncols, f + 1)
        label = frame[1:] if spec.ndim == 1 else frame
        drawn |= _draw_frame(ax, sl, frame, f"output ({_ix(label)})")
    fig.suptitle(title + (f"\n{note}" if note else ""), fontsize=9)
    _add_legend(fig, sl, drawn)
    _save(fig, path, dpi=110)
    return fig


#: Estimated bytes per drawn cell (a Rectangle artist, sometimes a label), besides the RGBA
#: canvas: measured 1.8 GB peak for 16 frames of a 64x64 input (127,040 cells, a 130 M pixel
#: canvas) and 0.56 GB for 32x32 (30,784 cells, 34 M pixels), about 150 MB of it Python.
_CELL_BYTES = 10 * 1024


def _frame_cells(sl: _Sliding) -> int:
    """Cells one frame draws: the (padded, zero-inserted) input grid and the output grid."""
    rows = len(sl.grids[0].kinds) * len(sl.grids[1].kinds)
    return rows + sl.grids[0].out_size * sl.grids[1].out_size


def _check_figure_memory(
    cells: int, figsize: tuple[float, float], dpi: int, max_bytes: int | None, what: str,
    frames_kept: int = 1,
) -> None:  # fmt: skip
    """Refuse before drawing when artists plus canvas (RGBA, ``frames_kept`` of them: an
    animation keeps every frame) would exceed the limit."""
    limit = resolve_max_bytes(max_bytes)
    pixels = int(figsize[0] * dpi) * int(figsize[1] * dpi)
    need = cells * _CELL_BYTES + 4 * pixels * max(1, frames_kept)
    if need > limit:
        raise MemoryLimitError(
            f"drawing {what} ({cells:,} cells on a {pixels:,}-pixel canvas)",
            need,
            limit,
            remedy="use a smaller input or fewer frames (max_frames=)",
        )


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
    max_bytes: int | None = None,
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
    max_bytes : int, optional
        Refuse an animation estimated above this many bytes (one frame's artists plus
        every frame's image; default :func:`convproof.get_max_bytes`).

    Returns
    -------
    list of Path
        ``[path]`` for a GIF, else the frame files.

    Raises
    ------
    MemoryLimitError
        When the estimate exceeds ``max_bytes`` (before anything is drawn).

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
    figsize = (max(4.5, width_cells * scale), max(1.5, height_cells * scale + 0.6) + 0.7)
    _check_figure_memory(
        _frame_cells(sl), figsize, 90, max_bytes, f"{len(frames)} animation frames",
        frames_kept=len(frames),
    )  # fmt: skip
    fig = Figure(figsize=figsize, layout="constrained")
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
