"""A new network layer kind is one class: kinds defined only in this file work in Network,
analyze, summary, JSON and the exact receptive field, with no library file touched.

Expected values come from hand-worked arithmetic or from networks in which the new kind is
replaced by an equivalent spec (computed by the spec adapters, not by the new class)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pytest
import sympy

import convproof as cp
from convproof.networks.protocol import NetworkLayer, Step, as_layer, layer_kind
from convproof.networks.receptive import receptive_field

try:
    from reference import ref_conv, ref_conv_transpose
except ImportError:  # pragma: no cover - run from another rootdir
    from tests.reference import ref_conv, ref_conv_transpose


@dataclass(frozen=True)
class LocalResponseNorm(NetworkLayer):
    """``nn.LocalResponseNorm``: mixes neighbouring channels only; no parameters."""

    size: int
    alpha: float = 1e-4
    beta: float = 0.75
    k: float = 1.0
    layer: ClassVar[str] = "local_response_norm"


@dataclass(frozen=True)
class BoxBlur(NetworkLayer):
    """A toy windowed kind: per-channel mean over a ``size``-wide window on every spatial
    axis, stride 1, ``size // 2`` zeros each side (odd ``size``: same size out)."""

    size: int
    layer: ClassVar[str] = "box_blur"

    def apply(self, shape: tuple[Any, ...], spatial_ndim: int, name: str) -> Step:
        self.needs_spatial(shape, spatial_ndim, name)
        n = spatial_ndim
        macs = shape[0] * sympy.prod(shape[1:]) * self.size**n
        window = (self.size, 1, self.size // 2)
        return Step(tuple(shape), macs=sympy.expand(macs), receptive=(window,) * n)


def conv(c_in: int, c_out: int, k: int, **kw: Any) -> cp.ConvSpec:
    return cp.ConvSpec(in_channels=c_in, out_channels=c_out, kernel_size=k, **kw)


def alex_head(norm: Any) -> cp.Network:
    """conv 11/4 -> relu -> norm -> max pool 3/2 -> conv 5 (AlexNet v1's first block)."""
    items = [
        ("conv1", conv(3, 8, 11, stride=4, padding=2)),
        ("relu1", cp.Activation()),
        *([("lrn1", norm)] if norm is not None else []),
        ("pool1", cp.PoolSpec(kind="max", kernel_size=3, stride=2)),
        ("conv2", conv(8, 4, 5, padding=2)),
    ]
    return cp.Network(items, name="head")


def test_local_response_norm_in_analyze_and_summary_matches_the_network_without_it() -> None:
    with_lrn = cp.summary(alex_head(LocalResponseNorm(5)), (3, 224, 224))
    without = cp.summary(alex_head(None), (3, 224, 224))
    assert [r.name for r in with_lrn] == ["conv1", "relu1", "lrn1", "pool1", "conv2"]
    row = with_lrn["lrn1"]
    assert row.kind == "local_response_norm"
    assert (row.params, row.macs, row.buffers) == (0, 0, 0)
    assert row.output_shape == without["relu1"].output_shape == (8, 55, 55)
    assert row.receptive_field == without["relu1"].receptive_field == (11, 11)
    for name in ("conv1", "pool1", "conv2"):
        assert with_lrn[name].to_dict() == without[name].to_dict()
    assert (with_lrn.total_params, with_lrn.total_macs) == (
        without.total_params,
        without.total_macs,
    )
    # hand-worked: conv2 after pool 3/2 after conv 11/4 p2: r = 11 + 2*4 + 4*8 = 51, S = 8
    assert with_lrn["conv2"].receptive_field == (51, 51)
    assert with_lrn["conv2"].effective_stride == (8, 8)
    assert "lrn1 (local_response_norm)" in with_lrn.to_text()
    assert "| lrn1 (local_response_norm) |" in with_lrn.to_markdown()


def test_new_kinds_round_trip_through_json() -> None:
    net = cp.Network(
        [("conv", conv(2, 4, 3)), ("lrn", LocalResponseNorm(3, beta=0.5)), ("blur", BoxBlur(5))]
    )
    data = net.to_dict()
    assert data["layers"][1] == {
        "name": "lrn",
        "type": "local_response_norm",
        "size": 3,
        "alpha": 1e-4,
        "beta": 0.5,
        "k": 1.0,
        "inputs": ["conv"],
    }
    back = cp.network_from_json(net.to_json())
    assert back == net
    assert isinstance(back.nodes[1].layer, LocalResponseNorm)
    nested = cp.network_from_dict({"layers": [{"type": "box_blur", "size": 3, "name": "b"}]})
    assert nested.nodes[0] == cp.Node("b", BoxBlur(3))
    with pytest.raises(cp.ConvProofError, match="unknown field 'sigma' for a box_blur layer"):
        cp.network_from_dict({"layers": [{"type": "box_blur", "size": 3, "sigma": 1}]})
    with pytest.raises(cp.ConvProofError, match="box_blur description is incomplete"):
        cp.network_from_dict({"layers": [{"type": "box_blur"}]})
    with pytest.raises(cp.ConvProofError, match=r"'box_blur'.*'local_response_norm'"):
        cp.network_from_dict({"layers": [{"type": "no_such_layer"}]})


def test_a_json_type_is_registered_once() -> None:
    with pytest.raises(cp.ConvProofError, match=r"layer must be a new JSON type.*'box_blur'"):

        @dataclass(frozen=True)
        class OtherBlur(NetworkLayer):
            layer: ClassVar[str] = "box_blur"


def test_windowed_kind_equals_the_equivalent_depthwise_conv() -> None:
    """BoxBlur(k) has the receptive field, shapes and MACs of a depthwise k x k conv with
    padding k // 2 and no bias (computed by the ConvSpec adapter)."""
    for size in (1, 3, 5):
        blur = cp.summary(
            cp.Network([("c", conv(3, 3, 3, stride=2)), ("b", BoxBlur(size))]), (3, 17, 17)
        )
        depthwise = conv(3, 3, size, padding=size // 2, groups=3, bias=False)
        ref = cp.summary(
            cp.Network([("c", conv(3, 3, 3, stride=2)), ("b", depthwise)]), (3, 17, 17)
        )
        for field in (
            "output_shape",
            "macs",
            "receptive_field",
            "effective_stride",
            "effective_padding",
        ):
            assert getattr(blur["b"], field) == getattr(ref["b"], field), (size, field)
    # hand-worked: conv 3/2 then blur 5 (p 2): r = 3 + 4*2 = 11, S = 2, P = 0 + 2*2 = 4
    row = cp.summary(cp.Network([conv(1, 1, 3, stride=2), BoxBlur(5)]), (1, 17, 17))["1"]
    assert (row.receptive_field, row.effective_stride, row.effective_padding) == (
        (11, 11),
        (2, 2),
        (4, 4),
    )
    assert row.macs == 1 * 8 * 8 * 25


def test_new_kinds_with_symbolic_sizes() -> None:
    H = sympy.Symbol("H", integer=True, positive=True)
    net = cp.Network([conv(1, 2, 3, padding=1), LocalResponseNorm(2), BoxBlur(3)])
    s = cp.summary(net, (1, H, H))
    assert s["2"].output_shape == (2, H, H)
    assert sympy.expand(s["2"].macs - 18 * H**2) == 0
    assert s.subs({H: 10})["2"].macs == 2 * 100 * 9


def test_exact_receptive_field_passes_new_kinds() -> None:
    """render's receptive-field picture walks through the new kinds without knowing them."""
    c3 = conv(1, 1, 3)
    net = cp.Network([("a", c3), ("lrn", LocalResponseNorm(3)), ("b", c3)])
    ref = cp.Network([("a", c3), ("b", c3)])
    for at in [(0, 0), (2, 3), (5, 5)]:
        assert receptive_field(net, (1, 10, 10), at) == receptive_field(ref, (1, 10, 10), at)
        assert cp.render.receptive_field(net, (1, 10, 10), at) == receptive_field(
            ref, (1, 10, 10), at
        )
    # hand-worked: blur 3 (p 1) then conv 3 valid on 8 inputs (1-D): output 0 reads blur
    # outputs 0..2, which read inputs -1..3 -> 0..3
    blur_net = cp.Network([BoxBlur(3), conv(1, 1, 3, ndim=1)])
    assert receptive_field(blur_net, (1, 8), (0,)) == ((0, 1, 2, 3),)
    assert receptive_field(blur_net, (1, 8), (5,)) == ((4, 5, 6, 7),)
    # the default trace equals the exact taps of the equivalent spec
    spec = conv(1, 1, 5, padding=2, ndim=1)
    for at in range(9):
        assert receptive_field([BoxBlur(5)], (1, 9), (at,)) == receptive_field(spec, (1, 9), (at,))


def test_pad_layer_is_traced_like_spec_padding() -> None:
    """A Pad layer followed by a valid conv reads what the conv with that padding reads."""
    padded = cp.Network([cp.Pad(((2, 1),)), conv(1, 1, 3, ndim=1, dilation=2)])
    spec = conv(1, 1, 3, ndim=1, dilation=2, padding=((2, 1),))
    for at in range(7):
        assert receptive_field(padded, (1, 8), (at,)) == receptive_field(spec, (1, 8), (at,))


def test_protocol_dispatch_of_builtin_kinds() -> None:
    assert layer_kind(LocalResponseNorm(5)) == "local_response_norm"
    assert as_layer(cp.PoolSpec(kind="avg", kernel_size=2)).kind == "avg_pool"
    assert (
        as_layer(cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=2)).num_params == 5
    )
    with pytest.raises(cp.ConvProofError, match="must be a spec or a convproof network layer"):
        as_layer("relu")
    with pytest.raises(cp.ConvProofError, match="must be a spec or a convproof network layer"):
        cp.Network.from_nodes([cp.Node("x", object())])
    with pytest.raises(cp.ConvProofError, match=r"layer 'b' \(box_blur\) needs a \(C, \*spatial\)"):
        cp.analyze(cp.Network([cp.Flatten(), ("b", BoxBlur(3))]), (2, 4, 4))


def _dependency_probe(specs: list[Any], n: int, at: int) -> tuple[int, ...]:
    """Input positions whose unit impulse changes output ``at`` (loop reference, weights 1)."""
    seen = []
    for i in range(n):
        x = np.zeros((1, 1, n))
        x[0, 0, i] = 1.0
        for spec in specs:
            w = np.ones(spec.weight_shape)
            fn = ref_conv_transpose if isinstance(spec, cp.ConvTransposeSpec) else ref_conv
            x = fn(spec, x, w)
        if x[0, 0, at] != 0:
            seen.append(i)
    return tuple(seen)


@pytest.mark.parametrize("mode", ["zeros", "circular", "reflect", "replicate"])
def test_exact_trace_of_padding_modes_and_transposed_matches_a_dependency_probe(mode) -> None:
    """The spec adapters' exact taps (through the index rule's padding-mode map) against
    unit impulses pushed through the loop reference."""
    n = 7
    chain = [
        conv(1, 1, 3, ndim=1, padding=2, dilation=2, padding_mode=mode),
        cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=3, stride=2, ndim=1),
        conv(1, 1, 2, ndim=1, stride=3, padding=1, padding_mode=mode),
    ]
    size = n
    for spec in chain:
        size = spec.output_shape((1, size))[-1]
    for at in range(size):
        assert receptive_field(chain, (1, n), (at,)) == (_dependency_probe(chain, n, at),), at
    edge = [conv(1, 1, 3, ndim=1, padding=((2, 1),), padding_mode=mode)]  # taps -2..0 at output 0
    for at in range(n):
        assert receptive_field(edge, (1, n), (at,)) == (_dependency_probe(edge, n, at),), at
    hand = {"zeros": (0,), "circular": (0, 5, 6), "reflect": (0, 1, 2), "replicate": (0,)}
    assert receptive_field(edge, (1, n), (0,)) == (hand[mode],)
    far = conv(1, 1, 2, ndim=1, padding=((3, 0),), padding_mode=mode)  # output 0: taps -3, -2
    hand = {"zeros": (), "circular": (4, 5), "reflect": (2, 3), "replicate": (0,)}
    assert receptive_field(far, (1, n), (0,)) == (hand[mode],)
    assert receptive_field(far, (1, n), (0,)) == (_dependency_probe([far], n, 0),)
