"""convproof.render: element sums against the loop reference, tables, and the pictures.

Pictures are checked by what they draw: every cell is a patch with a ``gid``, so the number
of highlighted cells can be compared with counts computed here by hand from the definition.
"""

from __future__ import annotations

import itertools
import math
import sys
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import convproof as cp
from convproof.render import (
    element_sum,
    format_table,
    matrix_figure,
    receptive_field,
    receptive_field_figure,
    shape_report,
    sliding_animation,
    sliding_figure,
    to_json,
)

try:
    from reference import reference
except ImportError:  # pragma: no cover - run from another rootdir
    from tests.reference import reference

PNG = b"\x89PNG\r\n\x1a\n"


def _plots():
    return pytest.importorskip("matplotlib", reason="matplotlib is the optional 'plots' extra")


# --------------------------------------------------------------------------------------
# element sums = the loop reference, for every layer kind
# --------------------------------------------------------------------------------------


def _check_element_sums(problem, data) -> None:
    spec, shape = problem.spec, problem.input_shape
    x = problem.x[0] if len(shape) == spec.ndim + 2 else problem.x
    unbatched = x.shape
    to_obj = np.vectorize(Fraction, otypes=[object])
    xo = to_obj(x.astype(np.int64))
    wo = None if problem.weight is None else to_obj(problem.weight.astype(np.int64))
    bo = None if problem.bias is None else to_obj(problem.bias.astype(np.int64))
    expected = reference(spec, xo, wo, bo)
    at = tuple(
        data.draw(st.integers(0, n - 1), label=f"at{k}") for k, n in enumerate(expected.shape)
    )
    e = element_sum(spec, unbatched, at)
    got = e.evaluate(xo, wo, bo)
    if spec.layer == "pool" and spec.kind == "max" and not e.terms:
        assert expected[at] == -math.inf  # pragma: no cover - PyTorch forbids empty windows
    else:
        assert got == expected[at], (spec, at, e.text())


@given(problem=cp.strategies.conv_problems(kind="conv", dtype="int64"), data=st.data())
def test_element_sum_conv_matches_reference(problem, data) -> None:
    _check_element_sums(problem, data)


@given(problem=cp.strategies.conv_problems(kind="conv_transpose", dtype="int64"), data=st.data())
def test_element_sum_transposed_matches_reference(problem, data) -> None:
    _check_element_sums(problem, data)


@given(problem=cp.strategies.conv_problems(kind="pool", dtype="int64"), data=st.data())
def test_element_sum_pool_matches_reference(problem, data) -> None:
    _check_element_sums(problem, data)


def test_element_sum_counts_seed() -> None:
    """Seed 000/002: one output of a 3-channel layer is 3 x k x k products plus one bias."""
    spec = cp.ConvSpec(in_channels=3, out_channels=1, kernel_size=5)
    e = element_sum(spec, (3, 32, 32), (0, 10, 10))
    assert len(e.terms) == 75 and e.bias == (0,)
    assert [c for c, _ in e.channels] == [0, 1, 2]
    d = e.to_dict()
    assert d["products"] == 75 and d["skipped"] == []


def test_element_sum_groups_reads_only_its_group() -> None:
    spec = cp.ConvSpec(in_channels=4, out_channels=6, kernel_size=1, groups=2)
    e = element_sum(spec, (4, 3, 3), (5, 1, 1))  # output 5 is in group 1: inputs 2, 3
    assert [c for c, _ in e.channels] == [2, 3]
    assert [t.weight for t in e.terms] == [(5, 0, 0, 0), (5, 1, 0, 0)]


def test_element_sum_batched_index_and_padding_modes() -> None:
    spec = cp.ConvSpec(
        in_channels=1, out_channels=1, kernel_size=3, padding=1, padding_mode="replicate", ndim=1
    )
    e = element_sum(spec, (2, 1, 4), (1, 0, 0))  # batch index dropped
    assert e.at == (0, 0)
    assert [t.input for t in e.terms] == [(0, 0), (0, 0), (0, 1)]
    assert [t.note for t in e.terms] == ["replicate", None, None]
    assert "replicate padding remaps 1 tap: (0) reads (-1) -> (0)" in e.text()


def test_element_sum_transposed_output_padding_region() -> None:
    spec = cp.ConvTransposeSpec(
        in_channels=2, out_channels=1, kernel_size=1, stride=2, output_padding=1, ndim=1
    )
    e = element_sum(spec, (2, 2), (0, 3))  # inputs sit at 0 and 2; 3 is output padding
    assert e.terms == () and [r for _, _, r in e.skipped] == ["outside the input"]
    assert e.text().splitlines()[:2] == [
        "Z[0,3] = b[0]",
        "0 products (2 input channels x 0 taps), plus the bias b[0]",
    ]


def test_element_sum_transposed_skips_inserted_zeros() -> None:
    spec = cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=3, stride=2, ndim=1)
    e = element_sum(spec, (1, 3), (0, 3))
    # 3 = i*2 + u: (i=1, u=1); u=0 and u=2 fall between inputs
    assert [(t.input, t.tap) for t in e.terms] == [((0, 1), (1,))]
    assert [r for _, _, r in e.skipped] == ["a zero inserted by the stride"] * 2


@pytest.mark.parametrize(
    ("at", "match"),
    [
        ((1, 0, 0), "at must be an index"),
        ((0, 5, 0), "at must be an index"),
        ((0, 0), "at must be an index"),
        ((0, -1, 0), "at must be an index"),
        ((3, 0, 0, 0), "at must be an index of the output shape"),
    ],
)
def test_element_sum_bad_index(at, match) -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2)
    with pytest.raises(cp.ConvProofError, match=match):
        element_sum(spec, (2, 1, 3, 3) if len(at) == 4 else (1, 3, 3), at)


def test_element_sum_bad_spec() -> None:
    with pytest.raises(cp.ConvProofError, match="spec must be"):
        element_sum("conv", (1, 3, 3), (0, 0, 0))  # type: ignore[arg-type]


def test_latex_forms() -> None:
    pool = cp.PoolSpec(kind="avg", kernel_size=2, ndim=1)
    assert element_sum(pool, (1, 4), (0, 1)).latex() == (
        r"Z_{0,1} = \frac{1}{2}\left(X_{0,2} + X_{0,3}\right)"
    )
    mx = cp.PoolSpec(kind="max", kernel_size=2, ndim=1)
    assert element_sum(mx, (1, 4), (0, 0)).latex() == r"Z_{0,0} = \max\left(X_{0,0}, X_{0,1}\right)"


# --------------------------------------------------------------------------------------
# tables and JSON
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "shape", "out", "params", "macs"),
    [
        (
            cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3, padding="same"),
            (3, 25, 25),
            [5, 25, 25],
            140,
            5 * 25 * 25 * 27,
        ),
        (
            cp.ConvSpec(in_channels=3, out_channels=1, kernel_size=5),
            (3, 32, 32),
            [1, 28, 28],
            76,
            28 * 28 * 75,
        ),
        (cp.PoolSpec(kind="max", kernel_size=2), (3, 8, 8), [3, 4, 4], 0, 0),
    ],
)
def test_shape_report_known(spec, shape, out, params, macs) -> None:
    r = shape_report(spec, shape)
    assert (r["output_shape"], r["params"], r["macs"]) == (out, params, macs)


def test_shape_report_formulas() -> None:
    t = cp.ConvTransposeSpec(
        in_channels=1, out_channels=1, kernel_size=3, stride=2, padding=1, output_padding=1, ndim=1
    )
    assert shape_report(t, (1, 8))["formulas"] == ["(8 - 1)*2 - 1 - 1 + 1*(3 - 1) + 1 + 1 = 16"]
    p = cp.PoolSpec(kind="max", kernel_size=2, ceil_mode=True, ndim=1)
    assert shape_report(p, (1, 5))["formulas"] == ["ceil((5 + 0 + 0 - 2) / 2) + 1 = 3 (ceil mode)"]
    d = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, dilation=2, ndim=1)
    assert shape_report(d, (1, 9))["formulas"] == [
        "floor((9 + 0 + 0 - (2*(3 - 1) + 1)) / 1) + 1 = 5"
    ]


def test_format_table_and_json() -> None:
    text = format_table(["a", "shape"], [[1, (2, 3)], [1000, None]])
    assert text.splitlines() == ["    a  shape", "-----  ------", "    1  (2, 3)", "1,000"]
    assert to_json({"t": (1, 2), "s": {3}}) == '{"t": [1, 2], "s": [3]}'


# --------------------------------------------------------------------------------------
# pictures
# --------------------------------------------------------------------------------------


def _gids(ax, gid: str) -> int:
    return sum(p.get_gid() == gid for p in ax.patches)


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
    frames = list(itertools.product(*(range(o) for o in out)))[:12]
    assert len(fig.axes) == len(frames)
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
    monkeypatch.setattr("convproof.render._gif_writer", lambda: None)  # no GIF writer
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, ndim=1)
    paths = sliding_animation(spec, (1, 4), tmp_path / "s.gif")
    assert [p.name for p in paths] == ["s_000.png", "s_001.png", "s_002.png"]
    assert all(p.read_bytes()[:8] == PNG for p in paths)


def test_pictures_need_matplotlib(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2)
    with pytest.raises(cp.ConvProofError, match="pip install 'convproof\\[plots\\]'"):
        sliding_figure(spec, (1, 3, 3))


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
    assert got  # never empty here
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
    with pytest.raises(cp.ConvProofError, match="layer 2: convolution output would be empty"):
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
