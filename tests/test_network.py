"""Network arithmetic: shipped networks vs published figures, receptive fields vs a brute-force
dependency probe, JSON schema and errors, symbolic mode, alignment, rendering."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from fractions import Fraction

import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

import convproof as cp

# --------------------------------------------------------------------------------------
# published figures (torchvision model docs: params, "GFLOPS" = GMACs of conv + linear)
# --------------------------------------------------------------------------------------

PUBLISHED = [
    # name, params, GMACs as published, decimals published
    ("alexnet", 61_100_840, "0.714", 3),
    ("vgg16", 138_357_544, "15.47", 2),
    ("resnet18", 11_689_512, "1.814", 3),
    ("resnet50", 25_557_032, "4.089", 3),
    ("mobilenet_v2", 3_504_872, "0.301", 3),
]


def _gmacs(macs: int, decimals: int) -> str:
    """Round MACs / 1e9 half-up to the published precision, exactly (no floats)."""
    q = Fraction(macs, 10**9) * 10**decimals
    return f"{math.floor(q + Fraction(1, 2)) / 10**decimals:.{decimals}f}"


@pytest.mark.parametrize(("name", "params", "gmacs", "decimals"), PUBLISHED)
def test_shipped_networks_match_published_figures(name, params, gmacs, decimals):
    s = cp.summary(cp.load_network(name), (3, 224, 224))
    assert s.total_params == params
    assert _gmacs(s.total_macs, decimals) == gmacs
    assert s.output_shape == (1000,)
    assert s.total_flops == 2 * s.total_macs


@pytest.mark.parametrize("name", cp.NETWORKS)
def test_shipped_networks_params_are_sum_of_layer_formulas(name):
    """Totals equal the sum of SEMANTICS.md's per-layer formulas over the network's nodes."""
    net = cp.load_network(name)
    expected = 0
    for node in net.nodes:
        layer = node.layer
        if isinstance(layer, cp.ConvSpec):
            g = layer.groups
            k = math.prod(layer.kernel_size)
            expected += layer.out_channels * (layer.in_channels // g) * k
            expected += layer.out_channels if layer.bias else 0
        elif isinstance(layer, cp.Linear):
            expected += layer.in_features * layer.out_features + layer.out_features
        elif isinstance(layer, cp.BatchNorm):
            expected += 2 * layer.num_features
    assert cp.summary(net, (3, 224, 224)).total_params == expected


def test_vgg16_pool5_receptive_field():
    s = cp.summary(cp.load_network("vgg16"), (1, 3, 224, 224))
    row = s["features.30"]
    assert row.kind == "max_pool"
    assert row.output_shape == (1, 512, 7, 7)
    assert row.receptive_field == (212, 212)
    assert row.effective_stride == (32, 32)
    assert row.effective_padding == (90, 90)


# Hand derivations with r += (k_eff - 1) S, S *= s from the architectures:
# AlexNet: conv11/4 -> 11 (S 4); pool3/2 -> 19 (S 8); conv5 -> 51; pool3/2 -> 67 (S 16);
#   three conv3 -> 99, 131, 163; pool3/2 -> 195 (S 32).
# ResNet-50 v1.5 (stride on the 3x3): conv7/2 -> 7; pool3/2 -> 11 (S 4); layer1 3 x 3x3 -> 35;
#   layer2 3x3/2 at S 4 -> 43 (S 8), 3 more -> 91; layer3 -> 107 (S 16), 5 more -> 267;
#   layer4 -> 299 (S 32), 2 more -> 427.
# MobileNetV2: conv3/2 -> 3 (S 2); one 3x3 depthwise per block: (n, s) = (1,1) (2,2) (3,2)
#   (4,2) (3,1) (3,2) (1,1) -> 7; 11, 19; 27, 59; 75, 171; 267; 299, 427; 491.
@pytest.mark.parametrize(
    ("name", "layer", "rf", "stride"),
    [
        ("alexnet", "features.12", 195, 32),
        ("vgg16", "features.30", 212, 32),
        ("resnet50", "layer4.2.relu@2", 427, 32),
        ("mobilenet_v2", "features.18.2", 491, 32),
    ],
)
def test_receptive_fields_match_hand_derivation(name, layer, rf, stride):
    row = cp.summary(cp.load_network(name), (3, 224, 224))[layer]
    assert row.receptive_field == (rf, rf)
    assert row.effective_stride == (stride, stride)


def test_resnet50_v1_matches_araujo_table():
    """Araujo et al. (2019, Table 1) list 483 for resnet_v1_50 (TF-slim, stride on the first
    1x1 conv of a block); moving the stride of our v1.5 network there must give 483."""
    net = cp.load_network("resnet50")
    nodes = []
    for node in net.nodes:
        layer = node.layer
        if node.name.endswith(".0.conv1") and not node.name.startswith("layer1"):
            layer = dataclasses.replace(layer, stride=(2, 2))
        if node.name.endswith(".0.conv2") and not node.name.startswith("layer1"):
            layer = dataclasses.replace(layer, stride=(1, 1))
        nodes.append(cp.Node(node.name, layer, node.inputs))
    v1 = cp.Network.from_nodes(nodes, name="resnet50_v1")
    s = cp.summary(v1, (3, 224, 224))
    assert s["layer4.2.relu@2"].receptive_field == (483, 483)
    assert s.total_params == 25_557_032  # moving a stride changes no parameter


def test_json_round_trip_for_shipped_networks():
    for name in cp.NETWORKS:
        net = cp.load_network(name)
        again = cp.network_from_json(net.to_json())
        assert again == net
        a = cp.summary(net, (3, 224, 224)).to_dict()
        b = cp.summary(again, (3, 224, 224)).to_dict()
        assert a == b


# --------------------------------------------------------------------------------------
# brute-force receptive-field probe: which input positions can change an output
# --------------------------------------------------------------------------------------


def _spatial_shapes(net: cp.Network, input_spatial: tuple[int, ...], channels: int):
    """Per-node (C, *spatial) shapes using only the foundation specs (not network.py)."""
    shapes = {"input": (channels, *input_spatial)}
    for node in net.nodes:
        layer, src = node.layer, shapes[node.inputs[0]]
        if isinstance(layer, cp.ConvSpec | cp.ConvTransposeSpec | cp.PoolSpec):
            shapes[node.name] = tuple(layer.output_shape(src))
        elif isinstance(layer, cp.Pad):
            shapes[node.name] = (
                src[0],
                *(i + a + b for i, (a, b) in zip(src[1:], layer.padding)),
            )
        elif isinstance(layer, cp.Concat):
            shapes[node.name] = (sum(shapes[n][0] for n in node.inputs), *src[1:])
        else:
            shapes[node.name] = src
    return shapes


def _probe(net: cp.Network, input_spatial: tuple[int, ...], channels: int, out_index):
    """Boolean mask over input positions that output ``out_index`` of the last node reads.

    Backward dependency propagation straight from the layer definitions:
    conv/pool output ``y`` reads ``y*s + u*d - p_l``; transposed input ``a`` writes
    ``a*s + u*d - p_l``; padding shifts by ``p_l``; joins read all their inputs.
    """
    shapes = _spatial_shapes(net, input_spatial, channels)
    masks = {name: np.zeros(shape[1:], dtype=bool) for name, shape in shapes.items()}
    masks[net.output][tuple(out_index)] = True
    for node in reversed(net.nodes):
        out = masks[node.name]
        layer = node.layer
        for src in node.inputs:
            m_in = masks[src]
            if isinstance(layer, cp.ConvSpec | cp.PoolSpec):
                pads = layer.resolve_padding(shapes[src])
                for y in zip(*np.nonzero(out)):
                    for u in itertools.product(*(range(k) for k in layer.kernel_size)):
                        x = tuple(
                            yy * s + uu * d - p[0]
                            for yy, uu, s, d, p in zip(y, u, layer.stride, layer.dilation, pads)
                        )
                        if all(0 <= xx < n for xx, n in zip(x, m_in.shape)):
                            m_in[x] = True
            elif isinstance(layer, cp.ConvTransposeSpec):
                pads = layer.resolve_padding(shapes[src])
                for a in np.ndindex(*m_in.shape):
                    for u in itertools.product(*(range(k) for k in layer.kernel_size)):
                        y = tuple(
                            aa * s + uu * d - p[0]
                            for aa, uu, s, d, p in zip(a, u, layer.stride, layer.dilation, pads)
                        )
                        if all(0 <= yy < n for yy, n in zip(y, out.shape)) and out[y]:
                            m_in[a] = True
            elif isinstance(layer, cp.Pad):
                for y in zip(*np.nonzero(out)):
                    x = tuple(yy - p[0] for yy, p in zip(y, layer.padding))
                    if all(0 <= xx < n for xx, n in zip(x, m_in.shape)):
                        m_in[x] = True
            else:  # element-wise, add, concat (channels ignored: all spatially aligned)
                m_in |= out
    return masks["input"]


def _conv(k, s, p, d, c=2):
    return cp.ConvSpec(
        in_channels=c, out_channels=c, kernel_size=k, stride=s, padding=p, dilation=d
    )


@st.composite
def small_networks(draw, *, transposed: bool, dense: bool):
    """Random 2-D networks of conv / pool / pad / residual / concat layers (per-axis params)."""
    items: list = []
    n_layers = draw(st.integers(1, 4))
    ks = st.tuples(st.integers(1, 4), st.integers(1, 4))
    for i in range(n_layers):
        kind = draw(
            st.sampled_from(
                ["conv", "pool", "pad", "residual", "concat"]
                + (["transposed"] if transposed else [])
            )
        )
        k = draw(ks)
        if dense:
            s = tuple(draw(st.integers(1, kk)) for kk in k)
            d = (1, 1)
        else:
            s = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
            d = draw(st.tuples(st.integers(1, 2), st.integers(1, 2)))
        p = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(2))
        if kind == "conv":
            items.append((f"conv{i}", _conv(k, s, p, d)))
        elif kind == "pool":
            pp = tuple((min(a, kk // 2), min(b, kk // 2)) for (a, b), kk in zip(p, k))
            items.append((f"pool{i}", cp.PoolSpec(kind="max", kernel_size=k, stride=s, padding=pp)))
        elif kind == "pad":
            items.append((f"pad{i}", cp.Pad(p)))
        elif kind == "residual":
            body = [(f"rc{i}", _conv((3, 3), 1, 1, (1, 1))), (f"rr{i}", cp.Activation())]
            items.append(cp.Residual(body, name=f"add{i}"))
        elif kind == "concat":
            b1 = [(f"ca{i}", _conv((3, 3), 1, 1, (1, 1), c=2))]
            b2 = [(f"cb{i}", _conv((5, 1), 1, ((2, 2), (0, 0)), (1, 1), c=2))]
            items.append(cp.Parallel([b1, b2], join="concat", name=f"cat{i}"))
            items.append((f"mix{i}", cp.ConvSpec(in_channels=4, out_channels=2, kernel_size=1)))
        else:
            op = tuple(draw(st.integers(0, max(0, min(ss, dd) - 1))) for ss, dd in zip(s, d))
            pt = tuple(draw(st.integers(0, dd * (kk - 1))) for dd, kk in zip(d, k))
            items.append(
                (
                    f"tconv{i}",
                    cp.ConvTransposeSpec(
                        in_channels=2,
                        out_channels=2,
                        kernel_size=k,
                        stride=s,
                        padding=pt,
                        output_padding=op,
                        dilation=d,
                    ),
                )
            )
    return cp.Network(items)


def _summary_or_none(net, shape):
    try:
        return cp.summary(net, shape)
    except cp.ConvProofError:
        return None  # the random network does not fit this input (empty output)


def _check_probe(net, spatial, exact: bool, transposed: bool, data) -> None:
    s = _summary_or_none(net, (2, *spatial))
    if s is None:
        return
    out_spatial = s.output_shape[1:]
    ys = {tuple(0 for _ in out_spatial), tuple(n - 1 for n in out_spatial)}
    ys.add(tuple(data.draw(st.integers(0, n - 1)) for n in out_spatial))
    ys.add(tuple(n // 2 for n in out_spatial))
    for y in sorted(ys):
        mask = _probe(net, spatial, 2, y)
        region = s.receptive_region(None, y)
        lo = [math.ceil(Fraction(v)) for v in region.start]
        hi = [math.floor(Fraction(v)) for v in region.stop]
        idx = np.argwhere(mask)
        # (1) every position that can change the output lies inside the region
        for axis in range(len(spatial)):
            if len(idx):
                assert idx[:, axis].min() >= lo[axis], (y, region)
                assert idx[:, axis].max() <= hi[axis], (y, region)
        if transposed:
            continue
        # (2) a region inside the input never meets padding on any path (a padded position's
        # own region sticks out of the input), so the extreme taps are read: the region is
        # the bounding box of what is read
        inside = all(0 <= a and b < n for a, b, n in zip(lo, hi, spatial))
        if inside:
            assert [tuple(idx.min(axis=0)), tuple(idx.max(axis=0))] == [tuple(lo), tuple(hi)]
        # (3) dense chains (k >= s, no dilation, no concat): all of the region is read (a
        # concat of a 3x3 and a 5x1 branch reads a cross, whose bounding box is the region)
        if exact and inside and not any(isinstance(n.layer, cp.Concat) for n in net.nodes):
            box = np.zeros(spatial, dtype=bool)
            box[tuple(slice(a, b + 1) for a, b in zip(lo, hi))] = True
            assert (mask == box).all(), (y, region)


# (dense networks: the region equals what is read; the others: it bounds it)
@pytest.mark.parametrize(
    ("dense", "transposed", "sizes"),
    [(True, False, (6, 14)), (False, False, (6, 14)), (False, True, (3, 8))],
    ids=["equals-on-dense-networks", "bounds-with-dilation-and-gaps", "bounds-transposed-convs"],
)
@given(data=st.data())
def test_receptive_field_against_probe(dense, transposed, sizes, data):
    net = data.draw(small_networks(transposed=transposed, dense=dense), label="net")
    spatial = data.draw(st.tuples(st.integers(*sizes), st.integers(*sizes)), label="spatial")
    _check_probe(net, spatial, dense, transposed, data)


@given(
    k=st.integers(1, 5),
    s=st.integers(1, 3),
    pl=st.integers(0, 4),
    i=st.integers(2, 8),
    data=st.data(),
)
def test_single_transposed_conv_region_is_exact(k, s, pl, i, data):
    """One transposed conv (d=1): the integer points of the fractional region are exactly
    the inputs that write into output ``y``."""
    pl = min(pl, k - 1)
    t = cp.ConvTransposeSpec(
        in_channels=1, out_channels=1, kernel_size=k, stride=s, padding=((pl, 0),), ndim=1
    )
    net = cp.Network([("t", t)])
    s_ = cp.summary(net, (1, i))
    y = data.draw(st.integers(0, s_.output_shape[-1] - 1))
    mask = _probe(net, (i,), 1, (y,))
    region = s_.receptive_region("t", (y,))
    expected = [a for a in range(i) if Fraction(region.start[0]) <= a <= Fraction(region.stop[0])]
    assert list(np.nonzero(mask)[0]) == expected


# --------------------------------------------------------------------------------------
# transposed conv MACs, counts
# --------------------------------------------------------------------------------------


def _loop_transposed_products(c_in, c_out, g, k, s, i):
    """Count multiplications of the scatter form of a 2-D transposed conv (no padding)."""
    count = 0
    for _ci in range(c_in):
        for _ in range(c_out // g):
            for _a in itertools.product(range(i), range(i)):
                for _u in itertools.product(range(k), range(k)):
                    count += 1  # x[ci, a] * w[ci, co, u] accumulated into y[co, a*s + u]
    return count


@pytest.mark.parametrize(
    ("c_in", "c_out", "g", "k", "s", "i"),
    [(4, 2, 1, 3, 2, 5), (2, 3, 1, 4, 2, 4), (4, 4, 2, 3, 3, 3), (3, 6, 3, 2, 2, 6)],
)
def test_transposed_conv_macs_counted_on_input_positions(c_in, c_out, g, k, s, i):
    t = cp.ConvTransposeSpec(
        in_channels=c_in, out_channels=c_out, kernel_size=k, stride=s, groups=g
    )
    row = cp.summary(cp.Network([("t", t)]), (c_in, i, i))["t"]
    assert row.macs == _loop_transposed_products(c_in, c_out, g, k, s, i)
    # counting output positions (torchinfo/thop) gives about s^2 times more
    o = (i - 1) * s + k
    assert row.output_shape == (c_out, o, o)
    output_count = c_out * o * o * (c_in // g) * k * k
    assert output_count > row.macs
    assert row.bias_adds == c_out * o * o


def test_seed_counts():
    """SEMANTICS.md seeds: 5 kernels 3x3x3 'same' -> 140 params; 5x5x3 filter 75 + 1;
    a dense layer on 32x32x3 has 3 073."""
    net = cp.Network(
        [("c", cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3, padding="same"))]
    )
    row = cp.summary(net, (3, 25, 25))["c"]
    assert (row.output_shape, row.params) == ((5, 25, 25), 140)
    net = cp.Network([("c", cp.ConvSpec(in_channels=3, out_channels=1, kernel_size=5))])
    assert cp.summary(net, (3, 32, 32))["c"].params == 76
    dense = cp.Network([("f", cp.Flatten()), ("fc", cp.Linear(3072, 1))])
    s = cp.summary(dense, (3, 32, 32))
    assert s.total_params == 3073
    assert s.total_macs == 3072
    assert s["fc"].bias_adds == 1


def test_batch_norm_buffers_are_not_params():
    s = cp.summary(cp.load_network("resnet18"), (3, 224, 224))
    bn_channels = sum(
        n.layer.num_features
        for n in cp.load_network("resnet18").nodes
        if isinstance(n.layer, cp.BatchNorm)
    )
    bn_layers = sum(isinstance(n.layer, cp.BatchNorm) for n in cp.load_network("resnet18").nodes)
    # PyTorch's count: running mean + running variance + one num_batches_tracked per layer
    assert bn_layers == 20 and bn_channels == 4800
    assert s.total_buffers == 2 * bn_channels + bn_layers == 9620
    assert s["bn1"].params == 128 and s["bn1"].buffers == 129
    assert cp.BatchNorm(8, track_running_stats=False).num_buffers == 0
    assert "as torch's module.buffers() counts them): 9,620" in s.to_text()


# --------------------------------------------------------------------------------------
# padding, adaptive pooling, alignment
# --------------------------------------------------------------------------------------


def test_explicit_pad_equals_tf_same():
    """ZeroPad (2, 3) + valid conv == TF SAME conv at i=224, k=7, s=2 (SEMANTICS.md)."""
    same = cp.Network(
        [("c", cp.ConvSpec(in_channels=3, out_channels=4, kernel_size=7, stride=2, padding="SAME"))]
    )
    padded = cp.Network(
        [
            ("pad", cp.Pad(((2, 3), (2, 3)))),
            ("c", cp.ConvSpec(in_channels=3, out_channels=4, kernel_size=7, stride=2)),
        ]
    )
    a = cp.summary(same, (3, 224, 224))["c"]
    b = cp.summary(padded, (3, 224, 224))["c"]
    assert a.output_shape == b.output_shape == (4, 112, 112)
    assert (
        (a.receptive_field, a.effective_stride, a.effective_padding)
        == (
            b.receptive_field,
            b.effective_stride,
            b.effective_padding,
        )
        == ((7, 7), (2, 2), (2, 2))
    )
    assert a.macs == b.macs


def test_tf_same_padding_resolved_from_actual_size():
    conv = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, stride=2, padding="SAME")
    net = cp.Network([("c", conv)])
    # total = max(0, (ceil(i/2) - 1)*2 + 3 - i): 1 for even i -> (0, 1); 2 for odd -> (1, 1)
    assert cp.summary(net, (1, 8, 9))["c"].effective_padding == (0, 1)


@pytest.mark.parametrize(
    ("i", "o", "rf", "stride"),
    [(14, 7, 2, 2), (14, 1, 14, 14), (7, 7, 1, 1), (12, 4, 3, 3)],
)
def test_adaptive_pool_regular_cases(i, o, rf, stride):
    net = cp.Network([("ap", cp.AdaptivePool(o, ndim=1))])
    row = cp.summary(net, (3, i))["ap"]
    assert row.output_shape == (3, o)
    assert (row.receptive_field, row.effective_stride, row.effective_padding) == (
        (rf,),
        (stride,),
        (0,),
    )


def test_adaptive_pool_irregular_has_no_receptive_field():
    net = cp.Network([("ap", cp.AdaptivePool(6)), ("relu", cp.Activation())])
    s = cp.summary(net, (3, 13, 13))
    assert s["ap"].output_shape == (3, 6, 6)
    assert s["relu"].receptive_field is None
    assert "not a regular grid" in s["relu"].note
    with pytest.raises(cp.ConvProofError, match="has no receptive field"):
        s.receptive_region("ap", (0, 0))


def _inception_3a():
    """GoogLeNet inception (3a) (Szegedy et al. 2015, Table 1): 192 -> 64+128+32+32."""

    def c(cin, cout, k):
        return cp.ConvSpec(in_channels=cin, out_channels=cout, kernel_size=k, padding=k // 2)

    return cp.Network(
        [
            cp.Parallel(
                [
                    [("b1", c(192, 64, 1))],
                    [("b2r", c(192, 96, 1)), ("b2", c(96, 128, 3))],
                    [("b3r", c(192, 16, 1)), ("b3", c(16, 32, 5))],
                    [
                        ("b4p", cp.PoolSpec(kind="max", kernel_size=3, stride=1, padding=1)),
                        ("b4", c(192, 32, 1)),
                    ],
                ],
                join="concat",
            )
        ],
        name="inception3a",
    )


def test_inception_module_is_aligned_and_counted():
    s = cp.summary(_inception_3a(), (192, 28, 28))
    # parameters by hand: 192*64+64, 192*96+96, 96*128*9+128, 192*16+16, 16*32*25+32, 192*32+32
    assert s.total_params == 12352 + 18528 + 110720 + 3088 + 12832 + 6176
    cat = s["cat"]
    assert cat.output_shape == (256, 28, 28)
    assert cat.receptive_field == (5, 5)  # the largest branch's
    assert cat.effective_padding == (2, 2)


def test_resnet_projection_shortcuts_are_aligned():
    net = cp.load_network("resnet50")
    s = cp.summary(net, (3, 224, 224))
    assert s["layer2.0.add"].effective_stride == (8, 8)
    joins = [n for n in net.nodes if isinstance(n.layer, cp.Add)]
    assert len(joins) == 16
    for node in joins:  # both paths: same stride and centre -P + (r - 1)/2 (by hand here)
        rows = [s[name] for name in node.inputs]
        centres = {
            tuple(
                Fraction(r - 1, 2) - p for r, p in zip(row.receptive_field, row.effective_padding)
            )
            for row in rows
        }
        assert len(centres) == 1
        assert len({row.effective_stride for row in rows}) == 1


def test_misaligned_branches_raise():
    # a 2-tap conv padded on the left only shifts the centre by -1/2 relative to identity
    shift = cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=(2, 1), padding=((1, 0), (0, 0)))
    net = cp.Network([cp.Residual([("shift", shift)])])
    with pytest.raises(cp.ConvProofError, match=r"not aligned along spatial axis 0.*centre -1/2"):
        cp.summary(net, (2, 8, 8), check_alignment=True)
    s = cp.summary(net, (2, 8, 8), check_alignment=False)
    assert s["add"].receptive_field is None and s["add"].output_shape == (2, 8, 8)
    # by default: a warning naming the join and the centres, and the counts are still given
    with pytest.warns(cp.ConvProofWarning, match=r"joined at 'add' are not aligned.*-1/2"):
        s = cp.summary(net, (2, 8, 8))
    assert s["add"].receptive_field is None and "not aligned" in s["add"].note
    assert s.total_params == 2 * 2 * 2 + 2 and s.total_macs == 2 * 2 * 2 * 64


def test_aligned_network_gives_no_alignment_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cp.summary(cp.load_network("resnet18"), (3, 64, 64))


def test_tf_same_stride_two_branches_are_not_aligned():
    """TF SAME on an even input: a 3x3/2 conv pads (0, 1) while a 1x1/2 conv pads (0, 0) —
    their centres differ by 1, so the Inception-style concat is not aligned."""
    c3 = cp.ConvSpec(in_channels=4, out_channels=4, kernel_size=3, stride=2, padding="SAME")
    c1 = cp.ConvSpec(in_channels=4, out_channels=4, kernel_size=1, stride=2, padding="SAME")
    net = cp.Network([cp.Parallel([[("c3", c3)], [("c1", c1)]], join="concat")])
    with pytest.raises(cp.ConvProofError, match="not aligned"):
        cp.summary(net, (4, 28, 28), check_alignment=True)
    # on an odd input SAME pads (1, 1): aligned
    assert cp.summary(net, (4, 27, 27))["cat"].receptive_field == (3, 3)


# --------------------------------------------------------------------------------------
# symbolic mode
# --------------------------------------------------------------------------------------

H = sympy.Symbol("H", integer=True, positive=True)
W = sympy.Symbol("W", integer=True, positive=True)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "vgg16"])
def test_symbolic_summary_substitutes_to_concrete(name):
    net = cp.load_network(name)
    sym = cp.summary(net, (3, H, W))
    for h, w in [(224, 224), (97, 130), (64, 33)]:
        conc = cp.summary(net, (3, h, w))
        for a, b in zip(sym.rows, conc.rows):
            subs = {H: h, W: w}
            assert tuple(sympy.sympify(v).subs(subs) for v in a.output_shape) == b.output_shape
            assert sympy.sympify(a.macs).subs(subs) == b.macs
            if b.receptive_field is not None and a.receptive_field is not None:
                assert tuple(sympy.sympify(v).subs(subs) for v in a.receptive_field) == (
                    b.receptive_field
                )
        assert sympy.sympify(sym.total_macs).subs({H: h, W: w}) == conc.total_macs
    assert sym.total_params == cp.summary(net, (3, 224, 224)).total_params


def test_symbolic_receptive_field_and_stride_are_numbers():
    s = cp.summary(cp.load_network("resnet50"), (3, H, H))
    row = s["layer4.2.relu@2"]
    assert row.receptive_field == (427, 427)  # as derived by hand above
    assert row.effective_stride == (32, 32)
    assert isinstance(row.output_shape[1], sympy.Expr)


@pytest.mark.parametrize("ceil_mode", [False, True])
def test_symbolic_same_and_ceil_mode_substitute(ceil_mode):
    net = cp.Network(
        [
            (
                "c",
                cp.ConvSpec(in_channels=1, out_channels=2, kernel_size=3, stride=2, padding="SAME"),
            ),
            ("p", cp.PoolSpec(kind="max", kernel_size=3, stride=2, ceil_mode=ceil_mode)),
            (
                "t",
                cp.ConvTransposeSpec(
                    in_channels=2,
                    out_channels=1,
                    kernel_size=3,
                    stride=2,
                    padding="SAME_LOWER",
                    output_padding=1,
                ),
            ),
        ]
    )
    sym = cp.summary(net, (1, H, 5))
    for h in range(7, 30):
        conc = cp.summary(net, (1, h, 5))
        for a, b in zip(sym.rows, conc.rows):
            assert tuple(sympy.sympify(v).subs(H, h) for v in a.output_shape) == b.output_shape
            assert tuple(sympy.sympify(v).subs(H, h) for v in a.effective_padding) == (
                b.effective_padding
            )
            assert sympy.sympify(a.macs).subs(H, h) == b.macs


# --------------------------------------------------------------------------------------
# JSON schema and errors
# --------------------------------------------------------------------------------------


def test_json_schema_forms_agree():
    compact = {
        "layers": [
            {"name": "c", "type": "conv", "in_channels": 3, "out_channels": 4, "kernel_size": 3},
            {"type": "max_pool", "kernel_size": 2},
        ]
    }
    spec_form = {
        "layers": [
            {"name": "c", **cp.ConvSpec(in_channels=3, out_channels=4, kernel_size=3).to_dict()},
            {"type": "PoolSpec", "kind": "max", "kernel_size": [2, 2]},
        ]
    }
    graph_form = {
        "layers": [
            {
                "name": "c",
                "type": "conv",
                "in_channels": 3,
                "out_channels": 4,
                "kernel_size": 3,
                "inputs": ["input"],
            },
            {"name": "1", "type": "max_pool", "kernel_size": 2, "inputs": ["c"]},
        ]
    }
    nets = [cp.network_from_dict(d) for d in (compact, spec_form, graph_form)]
    assert nets[0] == nets[1] == nets[2]
    assert nets[0].names == ("c", "1")


def test_json_nested_names_follow_module_paths():
    data = {
        "layers": [
            {
                "type": "sequential",
                "name": "layer1",
                "layers": [
                    {
                        "type": "sequential",
                        "name": "0",
                        "layers": [
                            {
                                "type": "residual",
                                "body": [
                                    {
                                        "name": "conv1",
                                        "type": "conv",
                                        "in_channels": 4,
                                        "out_channels": 4,
                                        "kernel_size": 3,
                                        "padding": 1,
                                    },
                                    {"name": "relu", "type": "relu"},
                                ],
                                "shortcut": [{"type": "identity"}],
                            },
                            {"name": "relu", "type": "relu"},
                        ],
                    }
                ],
            }
        ]
    }
    net = cp.network_from_dict(data)
    assert net.names == (
        "layer1.0.conv1",
        "layer1.0.relu",
        "layer1.0.1.0",
        "layer1.0.add",
        "layer1.0.relu@1",
    )
    assert net.nodes[3].inputs == ("layer1.0.relu", "layer1.0.1.0")


BAD_JSON = [
    ({"layers": "conv"}, r"\$\.layers must be a list"),
    ({"layers": []}, "layers must not be empty"),
    ({"format": "onnx", "layers": []}, "format must be"),
    (
        {"layers": [{"type": "conv", "in_channels": 3}]},
        r"\$\.layers\[0\]: conv description is "
        "incomplete",
    ),
    ({"layers": [{"type": "warp"}]}, r"\$\.layers\[0\]: type must be one of"),
    ({"layers": [{"type": "relu", "inplace": True}]}, r"\$\.layers\[0\]: unknown field 'inplace'"),
    (
        {
            "layers": [
                {
                    "type": "residual",
                    "body": [
                        {"type": "relu"},
                        {"type": "linear", "in_features": 0, "out_features": 3},
                    ],
                }
            ]
        },
        r"\$\.layers\[0\]\.body\[1\]: in_features must be >= 1, got in_features=0",
    ),
    (
        {"layers": [{"type": "parallel", "join": "mul", "branches": [[], []]}]},
        r"\$\.layers\[0\]: join must be 'add' or 'concat'",
    ),
    ({"layers": [{"type": "parallel", "branches": [[]]}]}, "two or more branches"),
    ({"layers": [{"type": "relu", "inputs": ["nowhere"]}]}, "must name earlier nodes"),
    ({"layers": [{"name": "a", "type": "add", "inputs": ["input"]}]}, "two or more inputs"),
    ({"layers": [{"type": "pad", "padding": [[1, 2, 3]]}]}, r"\$\.layers\[0\]: padding pairs"),
    (
        {"layers": [{"type": "adaptive_avg_pool", "output_size": [0, 1]}]},
        r"\$\.layers\[0\]: output_size must hold ints >= 1",
    ),
    ({"layers": [{"type": "activation", "function": "swishy"}]}, "function must be one of"),
    ({"layers": [{"type": "dropout", "p": 2}]}, r"p must be a number in \[0, 1\]"),
    ({"layers": [{"type": "relu", "name": 3}]}, r"\$\.layers\[0\]\.name must be a string"),
    ({"ndim": 0, "layers": []}, r"\$\.ndim: ndim must be >= 1"),
    ({"layers": [{"type": "relu"}], "extra": 1}, "unknown top-level field 'extra'"),
]


@pytest.mark.parametrize(("data", "match"), BAD_JSON)
def test_bad_json_names_the_path(data, match):
    with pytest.raises(cp.ConvProofError, match=match):
        cp.network_from_dict(data)


def test_bad_json_text_and_files(tmp_path):
    with pytest.raises(cp.ConvProofError, match="text must be valid JSON"):
        cp.network_from_json("{")
    with pytest.raises(cp.ConvProofError, match="name_or_path must be one of"):
        cp.load_network(tmp_path / "missing.json")
    path = tmp_path / "net.json"
    path.write_text(json.dumps({"layers": [{"type": "flatten"}]}))
    assert cp.load_network(path).names == ("0",)


def _conv_net():
    return cp.Network([("c", cp.ConvSpec(in_channels=3, out_channels=4, kernel_size=3))])


BAD_SUMMARY = [
    (
        lambda: cp.summary(_conv_net(), (4, 8, 8)),
        r"layer 'c' \(conv\): input_shape has 4 "
        "channels but the layer expects 3",
    ),
    (
        lambda: cp.summary(_conv_net(), (3, 2, 8)),
        r"layer 'c' \(conv\): convolution output "
        "would be empty",
    ),
    (lambda: cp.summary(_conv_net(), (3, 8)), "input_shape must be"),
    (lambda: cp.summary(_conv_net(), "3x8x8"), "input_shape must be a tuple"),
    (lambda: cp.summary(_conv_net(), (3, 8.0, 8)), "input_shape must hold ints"),
    (lambda: cp.summary(object(), (3, 8, 8)), "model must be a convproof Network"),
    (
        lambda: cp.summary(cp.Network([("f", cp.Flatten()), ("fc", cp.Linear(10, 2))]), (3, 2, 2)),
        r"layer 'fc' \(linear\): input has 12 features .*in_features=10",
    ),
    (
        lambda: cp.summary(
            cp.Network(
                [cp.Residual([("c", cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=3))])]
            ),
            (2, 8, 8),
        ),
        r"inputs of add 'add' must have equal shapes",
    ),
    (
        lambda: cp.summary(cp.Network([("bn", cp.BatchNorm(4))]), (3, 8)),
        r"input has 3 channels .*num_features=4",
    ),
    (
        lambda: cp.summary(_conv_net(), (3, 8, 8)).receptive_region("c", (6, 0)),
        "index must lie inside the output",
    ),
    (
        lambda: cp.summary(_conv_net(), (3, 8, 8)).receptive_region("c", (1,)),
        "index must be a tuple of 2 ints",
    ),
    (lambda: cp.summary(_conv_net(), (3, 8, 8))["nope"], "layer must name a row"),
    (lambda: cp.Network([]), "layers must not be empty"),
    (lambda: cp.Network(["relu"]), r"layers\[0\] must be a spec, a layer"),
    (lambda: cp.Pad(((1, 2),), ndim=2), "one entry per spatial dimension"),
    (lambda: cp.Network.from_nodes([cp.Node("input", cp.Identity())]), "node names must be"),
]


@pytest.mark.parametrize(("call", "match"), BAD_SUMMARY)
def test_bad_inputs_raise_convproof_error(call, match):
    with pytest.raises(cp.ConvProofError, match=match):
        call()


# --------------------------------------------------------------------------------------
# rendering
# --------------------------------------------------------------------------------------


def test_text_and_markdown_tables_show_rows_and_totals():
    s = cp.summary(cp.load_network("resnet18"), (1, 3, 224, 224))
    text = s.to_text()
    assert "conv1 (conv)" in text and "[1, 64, 112, 112]" in text
    assert "Total params: 11,689,512" in text
    assert "Total MACs: 1,814,073,344 (1.81G)" in text
    assert "Total FLOPs: 3,628,146,688" in text
    lines = text.splitlines()
    assert len([ln for ln in lines if ln.startswith("layer")]) == len(s) - 7
    md = s.to_markdown()
    assert md.splitlines()[0].startswith("| Layer (kind) | Output shape | Params | MACs |")
    assert "| **Total** |  | **11,689,512** | **1,814,073,344** |" in md


def test_json_output_is_plain_and_labelled():
    net = cp.Network(
        [
            (
                "t",
                cp.ConvTransposeSpec(
                    in_channels=1, out_channels=1, kernel_size=3, stride=2, ndim=1
                ),
            )
        ]
    )
    d = json.loads(cp.summary(net, (1, 4)).to_json())
    row = d["rows"][0]
    assert row["effective_stride"] == ["1/2"]
    assert row["receptive_field"] == [2]  # 1 + (3 - 1) / 2
    assert row["effective_padding"] == [1]  # (k_eff - 1 - p) / s
    assert row["macs"] == 12 and row["flops"] == 24 and row["bias_adds"] == 9
    assert "bias excluded" in d["conventions"]
    sym = cp.summary(cp.load_network("alexnet"), (3, H, H)).to_dict()
    assert isinstance(sym["total_macs"], str) and "floor" in sym["total_macs"]


def test_symbolic_alignment_that_depends_on_the_size_is_reported():
    c3 = cp.ConvSpec(in_channels=4, out_channels=4, kernel_size=3, stride=2, padding="SAME")
    c1 = cp.ConvSpec(in_channels=4, out_channels=4, kernel_size=1, stride=2, padding="SAME")
    net = cp.Network([cp.Parallel([[("c3", c3)], [("c1", c1)]], join="concat")])
    with pytest.raises(cp.ConvProofError, match="depends on the symbolic input size"):
        cp.summary(net, (4, H, H), check_alignment=True)
    s = cp.summary(net, (4, H, H), check_alignment=False)
    assert s["cat"].receptive_field is None
    assert "depends on the input size" in s["cat"].note
    with pytest.warns(cp.ConvProofWarning, match="alignment at 'cat' depends on the input size"):
        assert cp.summary(net, (4, H, H))["cat"].receptive_field is None


def test_json_parallel_concat_equals_python_inception():
    def c(name, cin, cout, k):
        return {
            "name": name,
            "type": "conv",
            "in_channels": cin,
            "out_channels": cout,
            "kernel_size": k,
            "padding": k // 2,
        }

    data = {
        "name": "inception3a",
        "layers": [
            {
                "type": "parallel",
                "join": "concat",
                "branches": [
                    [c("b1", 192, 64, 1)],
                    [c("b2r", 192, 96, 1), c("b2", 96, 128, 3)],
                    [c("b3r", 192, 16, 1), c("b3", 16, 32, 5)],
                    [
                        {
                            "name": "b4p",
                            "type": "max_pool",
                            "kernel_size": 3,
                            "stride": 1,
                            "padding": 1,
                        },
                        c("b4", 192, 32, 1),
                    ],
                ],
            }
        ],
    }
    assert cp.network_from_dict(data) == _inception_3a()


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_symbolic_summary_subs_equals_concrete_summary(name):
    net = cp.load_network(name)
    sym = cp.summary(net, (3, H, W))
    for h, w in [(224, 224), (65, 97)]:
        assert sym.subs({H: h, W: w}).to_dict() == cp.summary(net, (3, h, w)).to_dict()


def test_receptive_region_stop_is_inclusive_and_says_so():
    """receptive_region(...).stop is the last position seen (inclusive), unlike Python's stop."""
    net = cp.Network(
        [("conv", cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, stride=2, ndim=1))]
    )
    region = cp.receptive_region(net, (1, 9), (1,))
    # output 1 of a k=3, s=2 conv reads inputs 2, 3, 4 (by hand)
    assert region.start == (2,) and region.stop == (4,) and region.end_exclusive == (5,)
    assert list(range(region.start[0], region.end_exclusive[0])) == [2, 3, 4]
    assert region.size == (region.stop[0] - region.start[0] + 1,)
    assert "stop=(4,) (inclusive)" in repr(region) and "end_exclusive=(5,)" in repr(region)
    vgg = cp.summary(cp.load_network("vgg16"), (3, 224, 224)).receptive_region(
        "features.30", (0, 3)
    )
    assert vgg.end_exclusive == (122, 218)
