"""Pictures of a layer's matrix and receptive field (matplotlib, an optional extra).

:func:`matrix_figure` draws the conv matrix's sparsity pattern, built by
:func:`convproof.conv_matrix`, with its channel blocks and per-axis blocks;
:func:`receptive_field_figure` draws which input cells one output sees
(:func:`convproof.presentation.receptive.receptive_field`), on numbered axes.  Every figure
is a :class:`matplotlib.figure.Figure` (no pyplot state; it shows itself in Jupyter through
``_repr_png_``) with a legend; drawn cells carry a ``gid`` (``"nonzeros"``, ``"rf-cell"``,
...) so tests and notebooks can count them.  The cell colours and drawing helpers here are
shared with :mod:`convproof.presentation.animation`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convproof.errors import ConvProofError
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec
from convproof.presentation.text import _fmt_tuple, _ix, _layer_name, _unbatched

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["matrix_figure", "receptive_field_figure"]

AnySpec = ConvSpec | ConvTransposeSpec | PoolSpec

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

        from convproof.presentation.inline_figure import InlineFigure
    except ImportError:
        raise ConvProofError(
            "pictures need matplotlib, which is not installed: pip install matplotlib "
            "(in a checkout of convproof, pip install '.[plots]' does the same)"
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

    from convproof.networks.receptive import trace

    region, last_name, last = trace(layers, input_shape, at)
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
        f"receptive field of output ({_ix(at)}) of {last_name}: {_rf_layer_name(last)}\n"
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


def _rf_layer_name(layer: Any) -> str:
    """``MaxPool2d, k=2, s=2`` for a spec, else the layer's kind."""
    if isinstance(layer, ConvSpec | ConvTransposeSpec | PoolSpec):
        return (
            f"{_layer_name(layer)}, k={_fmt_tuple(layer.kernel_size)}, s={_fmt_tuple(layer.stride)}"
        )
    from convproof.networks.protocol import layer_kind

    return layer_kind(layer)


def _index_ticks(n: int) -> list[int]:
    """At most about 12 readable tick positions among ``0 .. n-1`` (multiples of 1, 2, 5 ...)."""
    step = 1
    for base in itertools.count():
        for m in (1, 2, 5):
            step = m * 10**base
            if n / step <= 12:
                return list(range(0, n, step))
    return [0]  # pragma: no cover - the loop always returns
