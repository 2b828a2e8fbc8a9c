"""Pictures (presentation.figures, .animation) and receptive fields, checked by what they draw.

Every cell is a patch with a ``gid``, so the number of highlighted cells can be compared with
counts computed here by hand from the definition.
"""

from __future__ import annotations

import itertools
import math
import sys

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import convproof as cp
from convproof.presentation.render import (
    element_sum,
    matrix_figure,
    receptive_field,
    receptive_field_figure,
    sliding_animation,
    sliding_figure,
)

PNG = b"\x89PNG\r\n\x1a\n"


def _plots():
    return pytest.importorskip("matplotlib", reason="matplotlib is the optional 'plots' extra")


# --------------------------------------------------------------------------------------
# pictures
# --------------------------------------------------------------------------------------


def _gids(ax, gid: str) -> int:
    return sum(p.get_gid() == gid for p in ax.patches)


def _current_output(ax) -> tuple[int, ...]:
    """The output position a sliding frame computes, read from where its green cell sits."""
    cells = [p for p in ax.patches if p.get_gid() in ("output", "output-current")]
    (current,) = [p for p in cells if p.get_gid() == "output-current"]
    x0 = min(p.get_x() for p in cells)
    y_top = max(p.get_y() for p in cells)
    return (round(y_top - current.get_y()), round(current.get_x() - x0))


def _texts(fig, gid: str | None = None) -> list:
    from matplotlib.text import Text

    return [
        t
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip() and (gid is None or t.get_gid() == gid)
    ]


def _assert_nothing_clipped(fig) -> None:
    """Everything drawn (titles, labels, ticks, legends) lies inside the figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    box = fig.bbox
    for artist in [*fig.axes, *fig.legends, *fig.texts]:
        ext = artist.get_tightbbox(renderer)
        if ext is None:  # pragma: no cover - nothing drawn
            continue
        assert ext.x0 >= box.x0 - 1 and ext.x1 <= box.x1 + 1, (artist, ext, box)
        assert ext.y0 >= box.y0 - 1 and ext.y1 <= box.y1 + 1, (artist, ext, box)


def test_matrix_figure_seed_and_blocks(tmp_path) -> None:
    _plots()
    spec = cp.ConvSpec(in_channels=3, out_channels=2, kernel_size=2, bias=False)
    path = tmp_path / "m.png"
    fig = matrix_figure(spec, (3, 3, 3), path=path)
    ax = fig.axes[0]
    # non-zeros: every output's products, counted from the definition (element sums)
    expected = sum(
        len(element_sum(spec, (3, 3, 3), (c, a, b)).terms)
        for c, a, b in itertools.product(range(2), range(2), range(2))
    )
    assert expected == 2 * 4 * 12
    assert int(ax.images[0].get_array().sum()) == expected
    lines = [ln.get_gid() for ln in ax.lines]
    # channel blocks: 2 output x 3 input channels -> 1 + 2 boundaries
    assert lines.count("channel-boundary") == 1 + 2
    # axis-0 blocks inside each channel block: (2 - 1) per output channel, (3 - 1) per input
    assert lines.count("axis-boundary") == 2 * 1 + 3 * 2
    assert path.read_bytes()[:8] == PNG


def test_matrix_figure_given_matrix_and_errors() -> None:
    _plots()
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False)
    dense = np.zeros((4, 9))
    dense[0, 0] = 1
    assert (
        int(matrix_figure(spec, (1, 3, 3), matrix=dense).axes[0].images[0].get_array().sum()) == 1
    )
    with pytest.raises(cp.ConvProofError, match="matrix must have shape"):
        matrix_figure(spec, (1, 3, 3), matrix=np.zeros((3, 9)))
    with pytest.raises(cp.ConvProofError, match="max pooling is not linear"):
        matrix_figure(cp.PoolSpec(kind="max", kernel_size=2), (1, 4, 4))
    with pytest.raises(cp.ConvProofError, match="max_cells"):
        matrix_figure(spec, (1, 30, 30), max_cells=100)


def test_matrix_figure_avg_pool_and_transposed() -> None:
    _plots()
    pool = cp.PoolSpec(kind="avg", kernel_size=2)
    fig = matrix_figure(pool, (2, 4, 4))
    assert int(fig.axes[0].images[0].get_array().sum()) == 2 * 4 * 4  # each input once
    t = cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=3, stride=2, ndim=1)
    fig = matrix_figure(t, (1, 3))
    # T^T of the forward conv on 7 -> 3: each of the 3 inputs scatters to 3 outputs
    assert int(fig.axes[0].images[0].get_array().sum()) == 9


def _taps_on_input(spec, spatial, out_pos) -> int:
    """Spatial taps of ``out_pos`` that read a real input element, from the definition."""
    pads = spec.resolve_padding((1, *spatial))
    count = 1
    for ax, o in enumerate(out_pos):
        k, s, d, (pl, _), n = (
            spec.kernel_size[ax],
            spec.stride[ax],
            spec.dilation[ax],
            pads[ax],
            spatial[ax],
        )
        if spec.layer == "conv_transpose":
            hits = sum(
                1 for u in range(k) if (o + pl - u * d) % s == 0 and 0 <= (o + pl - u * d) // s < n
            )
        else:
            hits = sum(1 for u in range(k) if 0 <= o * s + u * d - pl < n)
        count *= hits
    return count


SLIDING = [
    (cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, stride=2, padding=1), (5, 5)),
    (cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, dilation=2, padding=1), (6, 6)),
    (cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=(2, 3), padding="SAME"), (4, 5)),
    (cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=3, stride=2), (3, 3)),
    (
        cp.ConvTransposeSpec(
            in_channels=1, out_channels=1, kernel_size=3, stride=2, padding=1, output_padding=1
        ),
        (3, 3),
    ),
    (
        cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=2, dilation=2, padding=2),
        (4, 4),
    ),
    (cp.PoolSpec(kind="max", kernel_size=2, ceil_mode=True), (5, 5)),
    (cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, stride=2, ndim=1), (7,)),
]


@pytest.mark.parametrize(("spec", "spatial"), SLIDING)
def test_sliding_figure_highlights_the_taps(spec, spatial) -> None:
    _plots()
    fig = sliding_figure(spec, (1, *spatial), max_frames=12)
    out = spec.output_spatial(spatial)
    total = math.prod(out)
    assert len(fig.axes) == min(12, total)
    frames = [_current_output(ax)[-len(out) :] for ax in fig.axes]
    # frames in row-major order, first and last output always drawn
    assert frames == sorted(frames) and len(set(frames)) == len(frames)
    assert frames[0] == (0,) * len(out) and frames[-1] == tuple(o - 1 for o in out)
    for ax, pos in zip(fig.axes, frames):
        assert _gids(ax, "tap-input") == _taps_on_input(spec, spatial, pos), pos
        assert _gids(ax, "tap-input") + _gids(ax, "tap-padding") == math.prod(spec.kernel_size)
        assert _gids(ax, "output-current") == 1
        assert _gids(ax, "output") == math.prod(out) - 1
    first = fig.axes[0]
    if spec.layer == "conv_transpose":
        # zero insertion: (i-1)s+1 cells per axis hold i inputs and the rest inserted zeros
        pads = spec.resolve_padding((1, *spatial))
        if all(pl <= d * (k - 1) for (pl, _), k, d in zip(pads, spec.kernel_size, spec.dilation)):
            dilated = math.prod((n - 1) * s + 1 for n, s in zip(spatial, spec.stride))
            assert _gids(first, "input") + _gids(first, "tap-input") >= math.prod(spatial)
            assert _gids(first, "zero-insert") == dilated - math.prod(spatial)
    else:
        assert _gids(first, "input") == math.prod(spatial)


def test_sliding_figure_frames_limit_and_saving(tmp_path) -> None:
    _plots()
    spec = cp.ConvSpec(in_channels=3, out_channels=2, kernel_size=3)
    path = tmp_path / "strip.png"
    fig = sliding_figure(spec, (3, 6, 6), max_frames=5, ncols=2, path=path)
    assert len(fig.axes) == 5
    assert path.read_bytes()[:8] == PNG
    with pytest.raises(cp.ConvProofError, match="ndim=3"):
        sliding_figure(
            cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=1, ndim=3), (1, 2, 2, 2)
        )
    with pytest.raises(cp.ConvProofError, match="max_frames must be >= 1"):
        sliding_figure(spec, (3, 6, 6), max_frames=0)


def test_sliding_animation_gif(tmp_path) -> None:
    _plots()
    pil = pytest.importorskip("PIL.Image", reason="Pillow writes GIFs (matplotlib depends on it)")
    spec = cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=3, stride=2)
    (gif,) = sliding_animation(spec, (1, 2, 1), tmp_path / "t.gif")
    assert gif.read_bytes()[:6] == b"GIF89a"
    with pil.open(gif) as im:
        assert im.n_frames == 5 * 3  # (i-1)*2 + 3 outputs per axis: 5 x 3


def test_sliding_animation_frames_without_pillow(tmp_path, monkeypatch) -> None:
    _plots()
    # no GIF writer
    monkeypatch.setattr("convproof.presentation.animation._gif_writer", lambda: None)
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, ndim=1)
    paths = sliding_animation(spec, (1, 4), tmp_path / "s.gif")
    assert [p.name for p in paths] == ["s_000.png", "s_001.png", "s_002.png"]
    assert all(p.read_bytes()[:8] == PNG for p in paths)


def test_pictures_need_matplotlib(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2)
    with pytest.raises(cp.ConvProofError, match="pip install matplotlib") as e:
        sliding_figure(spec, (1, 3, 3))
    # issue 16: 'convproof[plots]' fails for a source checkout (convproof is not on PyPI)
    assert "pip install '.[plots]'" in str(e.value) and "convproof[plots]" not in str(e.value)


# -- receptive fields --------------------------------------------------------------------

layer_params = st.tuples(
    st.integers(1, 4),  # kernel
    st.integers(1, 3),  # stride
    st.integers(0, 2),  # padding
    st.integers(1, 2),  # dilation
)


@given(layers=st.lists(layer_params, min_size=1, max_size=3), n=st.integers(8, 40), data=st.data())
def test_receptive_field_matches_distill_formula(layers, n, data) -> None:
    """Araujo et al. (2019): r, S, P by recursion; region [-P + yS, -P + yS + r - 1]."""
    specs = []
    for k, s, p, d in layers:
        assume(p <= d * (k - 1))  # keep every output touching the input
        specs.append(
            cp.ConvSpec(
                in_channels=1,
                out_channels=1,
                kernel_size=k,
                stride=s,
                padding=p,
                dilation=d,
                ndim=1,
            )
        )
    size = n
    for sp in specs:
        size = (size + 2 * sp.padding[0][0] - sp.effective_kernel_size[0]) // sp.stride[0] + 1
        assume(size >= 1)
    y = data.draw(st.integers(0, size - 1))
    r, S, P = 1, 1, 0
    for k, s, p, d in layers:
        r += (d * (k - 1)) * S
        P += p * S
        S *= s
    lo, hi = -P + y * S, -P + y * S + r - 1
    (got,) = receptive_field(specs, (1, n), (y,))
    if not got:  # an output whose windows read only padding, e.g. kernel 2, dilation 2,
        # padding 1 on a 1-element input: no input reaches it; checked with impulses
        # through the numeric convolution (weights all ones, so nothing cancels)
        for j in range(n):
            z = np.zeros((1, n))
            z[0, j] = 1.0
            for sp in specs:
                z = cp.conv(sp, z, np.ones(sp.weight_shape))
            assert z[0, y] == 0, f"input {j} reaches output {y}, receptive_field says none"
        return
    assert lo <= got[0] and got[-1] <= hi
    if lo >= 0 and hi < n:  # region inside the input: the ends are reached exactly
        assert (got[0], got[-1]) == (lo, hi)
        if all(d == 1 and k >= s for k, s, _, d in layers):  # windows overlap or touch
            assert got == tuple(range(lo, hi + 1))


def test_receptive_field_figure_counts_cells(tmp_path) -> None:
    _plots()
    conv = cp.ConvSpec(in_channels=3, out_channels=4, kernel_size=3, padding=1)
    pool = cp.PoolSpec(kind="max", kernel_size=2)
    conv2 = cp.ConvSpec(in_channels=4, out_channels=4, kernel_size=3, padding=1)
    path = tmp_path / "rf.png"
    fig = receptive_field_figure([conv, pool, conv2], (3, 16, 16), (3, 0), path=path)
    # r = 1 + 2 + 1 + 2*2 = 8, S = 2, P = 1 + 0 + 1*2 = 3: rows [3, 10], cols [-3, 4] -> [0, 4]
    ax = fig.axes[0]
    assert _gids(ax, "rf-cell") == 8 * 5
    assert _gids(ax, "rf-cell") + _gids(ax, "input") == 16 * 16
    assert _gids(ax, "rf-box") == 1
    assert path.read_bytes()[:8] == PNG


def test_receptive_field_errors() -> None:
    conv = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3)
    with pytest.raises(cp.ConvProofError, match="at must be a spatial position"):
        receptive_field(conv, (1, 5, 5), (3, 0))
    with pytest.raises(
        cp.ConvProofError, match=r"layer 'layer 2' \(conv\): convolution output would be empty"
    ):
        receptive_field([conv, conv, conv], (1, 5, 5), (0, 0))
    with pytest.raises(cp.ConvProofError, match="at least one layer"):
        receptive_field([], (1, 5, 5), (0, 0))


def test_receptive_field_of_a_shipped_network_matches_summary() -> None:
    """A chain Network (VGG-16) agrees with the summary's receptive regions (helper-4's code)."""
    net = cp.load_network("vgg16")
    summary = cp.summary(net, (3, 224, 224))
    for y in [(0, 0), (3, 3), (6, 2)]:
        region = summary.receptive_region("features.30", y)
        got = receptive_field(net, (3, 224, 224), y)
        for ax in range(2):
            lo = max(0, region.start[ax])
            hi = min(223, region.stop[ax])
            assert (got[ax][0], got[ax][-1]) == (lo, hi)
            assert got[ax] == tuple(range(lo, hi + 1))


def test_receptive_field_rejects_graphs() -> None:
    with pytest.raises(cp.ConvProofError, match="need a chain of layers"):
        receptive_field(cp.load_network("resnet18"), (3, 64, 64), (0, 0))


def test_receptive_field_figure_large_input_is_an_image() -> None:
    _plots()
    layers = [cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=5, stride=2)] * 2
    fig = receptive_field_figure(layers, (1, 100, 100), (10, 20))
    ax = fig.axes[0]
    (image,) = ax.images
    assert image.get_gid() == "rf-image"
    # r = 1 + 4 + 4*2 = 13 per axis, fully inside the input
    assert int(np.asarray(image.get_array()).sum()) == 13 * 13
    assert _gids(ax, "rf-cell") == 0


# -- pictures that teach (issue 16) ------------------------------------------------------


def test_matrix_figure_labels_are_not_clipped_and_legend() -> None:
    """`convproof matrix --in 2x4x4 --out-channels 2 --kernel 3 --format png` clipped a label."""
    _plots()
    for spec, shape in [
        (cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=3), (2, 4, 4)),
        (cp.ConvSpec(in_channels=3, out_channels=1, kernel_size=3, stride=2), (3, 8, 8)),
        (cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=1), (1, 12, 12)),
        (cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, ndim=1), (1, 3)),
    ]:
        fig = matrix_figure(spec, shape)
        _assert_nothing_clipped(fig)
        (legend,) = fig.legends
        assert legend.get_gid() == "legend"
        labels = [t.get_text() for t in legend.get_texts()]
        assert labels[0].startswith("non-zero")
        assert ("channel blocks" in labels) == (spec.in_channels > 1 or spec.out_channels > 1)


@pytest.mark.parametrize("at", [(4, 4), (2, 3)])
def test_sliding_figure_always_draws_the_chosen_output(at) -> None:
    """`explain --at 0,4,4 --picture x.png` never drew output (4, 4) (first 16 frames only)."""
    _plots()
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=1)
    fig = sliding_figure(spec, (1, 5, 5), at=at, max_frames=4)
    frames = [_current_output(ax) for ax in fig.axes]
    assert len(frames) == 4 and at in frames
    assert frames == sorted(frames)
    assert "4 of 25 output positions shown (evenly spaced)" in fig._suptitle.get_text()
    one = sliding_figure(spec, (1, 5, 5), at=at, max_frames=1)
    assert [_current_output(ax) for ax in one.axes] == [at]
    small = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=1, ndim=1)
    everything = sliding_figure(small, (1, 5), at=at[1:], max_frames=5)
    assert len(everything.axes) == 5 and "shown" not in everything._suptitle.get_text()
    with pytest.raises(cp.ConvProofError, match="at must be a spatial position"):
        sliding_figure(spec, (1, 5, 5), at=(5, 0))


def test_sliding_frames_are_spread_evenly() -> None:
    _plots()
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=1, ndim=1)
    fig = sliding_figure(spec, (1, 10), max_frames=4)
    # 10 positions, 4 frames: 0, 3, 6, 9 (round(j * 9 / 3))
    assert [_current_output(ax)[1] for ax in fig.axes] == [0, 3, 6, 9]


def _numpy_sources(n: int, pads: tuple[int, int], mode: str) -> list[int]:
    """Input index read at each padded position, by NumPy's own padding of an index ramp."""
    np_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    return np.pad(np.arange(n), pads, mode=np_mode).tolist()


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize(
    ("spatial", "kernel", "padding", "at"),
    [((5, 5), 3, 1, (4, 4)), ((4, 4), 3, 2, (0, 5)), ((6,), 3, 2, (1,)), ((4, 5), 2, 1, (0, 0))],
)
def test_padded_taps_show_the_cell_they_read(mode, spatial, kernel, padding, at) -> None:
    """Reflect / replicate / circular padding were drawn exactly like zero padding."""
    _plots()
    ndim = len(spatial)
    spec = cp.ConvSpec(
        in_channels=1,
        out_channels=1,
        kernel_size=kernel,
        padding=padding,
        padding_mode=mode,
        ndim=ndim,
    )
    fig = sliding_figure(spec, (1, *spatial), at=at, max_frames=1)
    (ax,) = fig.axes
    rows = 1 if ndim == 1 else spatial[0] + 2 * padding  # drawn grid: padded input
    pad_cells = [p for p in ax.patches if p.get_gid() == "padding"]
    assert len(pad_cells) == math.prod(n + 2 * padding for n in spatial) - math.prod(spatial)
    labels = {
        (math.floor(t.get_position()[0]), math.floor(t.get_position()[1])): t.get_text()
        for t in _texts(fig)
        if t.get_gid() in ("source-label", "pad-value")
    }
    assert len(labels) == len(pad_cells)
    # every padding cell says what it holds: "0", or the input cell NumPy's pad copies there
    for cell in pad_cells:
        x, y = round(cell.get_x()), round(cell.get_y())
        q_col, q_row = x, rows - 1 - y  # padded coordinates (q = t + padding)
        if mode == "zeros":
            assert labels[(x, y)] == "0"
            continue
        src_col = _numpy_sources(spatial[-1], (padding, padding), mode)[q_col]
        if ndim == 1:
            assert labels[(x, y)] == str(src_col)
        else:
            src_row = _numpy_sources(spatial[0], (padding, padding), mode)[q_row]
            assert labels[(x, y)] == f"{src_row},{src_col}"
    # a tap on padding has an arrow to the input cell it reads (none for zero padding)
    arrows = [p for p in ax.patches if p.get_gid() == "source-arrow"]
    taps = [p for p in ax.patches if p.get_gid() == "tap-padding"]
    assert taps  # every case above has taps in the padding
    if mode == "zeros":
        assert arrows == []
    else:
        assert len(arrows) == len(taps)
        for arrow in arrows:
            (xa, ya), (xb, yb) = arrow._posA_posB
            a_col, a_row = math.floor(xa), rows - 1 - math.floor(ya)
            b_col, b_row = math.floor(xb) - padding, rows - 1 - math.floor(yb)
            assert b_col == _numpy_sources(spatial[-1], (padding, padding), mode)[a_col]
            if ndim == 2:
                b_row -= padding
                assert b_row == _numpy_sources(spatial[0], (padding, padding), mode)[a_row]
    # the legend names padding by its mode
    (legend,) = fig.legends
    names = " ".join(t.get_text() for t in legend.get_texts())
    assert ("zero padding" if mode == "zeros" else f"{mode} padding") in names
    assert "kernel tap on an input cell" in names and "the output being computed" in names
    _assert_nothing_clipped(fig)


def test_sliding_legend_and_labels_for_pooling_and_transposed() -> None:
    _plots()
    pool = cp.PoolSpec(kind="max", kernel_size=2, padding=1, ceil_mode=True, ndim=1)
    fig = sliding_figure(pool, (1, 6))
    assert {t.get_text() for t in _texts(fig, "pad-value")} == {"-inf"}
    names = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "padding (-inf, never the max)" in names
    up = cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=3, stride=2)
    fig = sliding_figure(up, (1, 3, 3), max_frames=2)
    names = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "zero inserted by the stride" in names
    # input cells carry their own index on the edges: 0, 1, 2 along each axis of each frame
    index = [t.get_text() for t in _texts(fig, "index-label")]
    assert index.count("0") == index.count("2") == 2 * 2
    _assert_nothing_clipped(fig)


def test_sliding_animation_samples_frames_and_says_so(tmp_path, monkeypatch) -> None:
    _plots()
    pil = pytest.importorskip("PIL.Image", reason="Pillow writes GIFs (matplotlib depends on it)")
    import convproof.presentation.animation as render_mod

    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=1, ndim=1)
    titles = []
    original = render_mod._draw_frame

    def spy(ax, sl, frame, title):
        titles.append((frame, title))
        return original(ax, sl, frame, title)

    monkeypatch.setattr(render_mod, "_draw_frame", spy)
    (gif,) = sliding_animation(spec, (1, 30), tmp_path / "s.gif", max_frames=5, at=(17,))
    with pil.open(gif) as im:
        assert im.n_frames == 5  # 30 positions sampled, not the first 5
    drawn = [(frame[1], title) for frame, title in titles if "frame " in title]
    # round(j * 29 / 4) = 0, 7, 14 (replaced by the chosen 17), 22, 29
    assert [frame for frame, _ in drawn] == [0, 7, 17, 22, 29]
    assert all("of 5, 30 output positions (evenly spaced)" in title for _, title in drawn)


def test_receptive_field_figure_has_axes_layer_name_and_legend() -> None:
    _plots()
    conv = cp.ConvSpec(in_channels=3, out_channels=4, kernel_size=3, padding=1)
    pool = cp.PoolSpec(kind="max", kernel_size=2)
    conv2 = cp.ConvSpec(in_channels=4, out_channels=4, kernel_size=3, padding=1)
    fig = receptive_field_figure([conv, pool, conv2], (3, 16, 16), (3, 0))
    ax = fig.axes[0]
    assert ax.get_xlabel() == "input column" and ax.get_ylabel() == "input row"
    assert [t.get_text() for t in ax.get_xticklabels()][:3] == ["0", "2", "4"]
    # row 0 is at the top: its tick is the highest
    yticks = dict(zip((t.get_text() for t in ax.get_yticklabels()), ax.get_yticks()))
    assert yticks["0"] > yticks["14"]
    assert "of layer 2: Conv2d(4 -> 4)" in ax.get_title()
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "read by the output",
        "not read",
        "bounding box",
    ]
    _assert_nothing_clipped(fig)
    net = cp.load_network("vgg16")
    fig = receptive_field_figure(net, (3, 224, 224), (3, 3))
    assert "of features.30: MaxPool2d" in fig.axes[0].get_title()
    assert len(fig.axes[0].get_xticks()) <= 13
    _assert_nothing_clipped(fig)


def test_figures_show_themselves_in_jupyter() -> None:
    """IPython displays an object through its _repr_png_: no show() helper needed."""
    matplotlib = _plots()
    from matplotlib.figure import Figure

    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2)
    for fig in (
        sliding_figure(spec, (1, 3, 3), max_frames=1),
        matrix_figure(spec, (1, 3, 3)),
        receptive_field_figure(spec, (1, 3, 3), (0, 0)),
    ):
        assert isinstance(fig, Figure)
        assert fig._repr_png_()[:8] == PNG
    assert matplotlib.get_backend()  # the backend was not forced (no pyplot state touched)


def test_cli_explain_picture_draws_the_chosen_output(tmp_path, monkeypatch, capsys) -> None:
    _plots()
    import convproof.presentation.animation as render_mod
    from convproof.presentation.cli import main

    figures = []
    original = render_mod._save

    def keep(fig, path, **kw):
        figures.append(fig)
        return original(fig, path, **kw)

    monkeypatch.setattr(render_mod, "_save", keep)
    target = tmp_path / "x.png"
    argv = ["explain", "--in", "1x5x5", "--kernel", "3", "--padding", "1", "--at", "0,4,4"]
    assert main([*argv, "--picture", str(target)]) == 0
    assert target.read_bytes()[:8] == PNG
    (fig,) = figures
    assert (4, 4) in [_current_output(ax) for ax in fig.axes]
    out = capsys.readouterr().out
    assert "(16 of 25 output positions, evenly spaced, including --at)" in out


def test_sliding_pictures_refuse_before_drawing_what_would_not_fit(tmp_path, capsys) -> None:
    """A large input drawn in many frames needs gigabytes: estimated first, refused with the
    estimate and the way to raise the limit (API: max_bytes=, CLI: --max-bytes)."""
    _plots()
    from convproof.presentation import animation as render_mod
    from convproof.presentation.cli import main

    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3)
    # 16 frames of 8x8 input cells + 6x6 output cells, by hand
    sl = render_mod._grids(spec, (1, 8, 8))
    assert 16 * render_mod._frame_cells(sl) == 16 * (8 * 8 + 6 * 6)
    with pytest.raises(cp.MemoryLimitError, match=r"drawing 16 frames \(1,600 cells") as e:
        sliding_figure(spec, (1, 8, 8), max_bytes=10_000_000)
    assert "more than max_bytes=10000000" in str(e.value)
    assert "pass a larger max_bytes=" in str(e.value)
    with pytest.raises(cp.MemoryLimitError, match="animation frames"):
        sliding_animation(spec, (1, 8, 8), tmp_path / "a.gif", max_bytes=10_000_000)
    assert not (tmp_path / "a.gif").exists()
    assert len(sliding_figure(spec, (1, 8, 8), max_frames=2, max_bytes=2**30).axes) == 2
    # the default limit refuses a 224x224 strip (about 1.6 M cells) at once
    with pytest.raises(cp.MemoryLimitError, match="GiB"):
        sliding_figure(spec, (1, 224, 224))
    target = tmp_path / "x.png"
    argv = ["explain", "--in", "1x8x8", "--kernel", "3", "--picture", str(target)]
    assert main([*argv, "--max-bytes", "10M"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "pass a larger --max-bytes (like --max-bytes 16G)" in err
    assert not target.exists()
    assert main([*argv, "--max-bytes", "1G"]) == 0
    assert target.read_bytes()[:8] == PNG
