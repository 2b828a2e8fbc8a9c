"""Resampling and padding layers (Upsample/interpolate, pixel (un)shuffle, reflect, replicate,
circular and constant pads): shapes against a real forward pass, traced positions against
autograd's gradient support, valid input sizes against brute force, torch.export with the
emitted constraints, and the one size-set class."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from nets_torchvision import brute_sizes, unet, unet_upsample

import convproof as cp
from convproof.networks.receptive import receptive_field
from convproof.networks.torch_import import network_from_torch


def _cases(torch):
    nn, F = torch.nn, torch.nn.functional

    class Fn(nn.Module):
        def __init__(self, f):
            super().__init__()
            self.f = f

        def forward(self, x):
            return self.f(x)

    return {
        "nearest x2": (nn.Upsample(scale_factor=2), 2),
        "nearest x3 then /2 size": (nn.Upsample(scale_factor=3), 2),
        "nearest-exact x2": (
            Fn(lambda x: F.interpolate(x, scale_factor=2, mode="nearest-exact")),
            2,
        ),
        "nearest size x2": (Fn(lambda x: F.interpolate(x, size=(14, 18))), 2),
        "nearest x1.5": (Fn(lambda x: F.interpolate(x, scale_factor=1.5)), 2),
        "bilinear x2": (nn.Upsample(scale_factor=2, mode="bilinear"), 2),
        "bilinear x3": (nn.Upsample(scale_factor=3, mode="bilinear"), 2),
        "bilinear align": (nn.UpsamplingBilinear2d(scale_factor=2), 2),
        "bicubic x2": (nn.Upsample(scale_factor=2, mode="bicubic"), 2),
        "linear x4 1d": (nn.Upsample(scale_factor=4, mode="linear"), 1),
        "trilinear x2 3d": (nn.Upsample(scale_factor=2, mode="trilinear"), 3),
        "pixel shuffle": (nn.PixelShuffle(2), 2),
        "pixel unshuffle": (nn.PixelUnshuffle(2), 2),
        "reflect 1d": (nn.ReflectionPad1d((2, 1)), 1),
        "reflect 2d": (nn.ReflectionPad2d((1, 2, 3, 0)), 2),
        "reflect 3d": (nn.ReflectionPad3d(1), 3),
        "replicate 2d": (nn.ReplicationPad2d((3, 0, 1, 2)), 2),
        "replicate 3d": (nn.ReplicationPad3d((1, 0, 0, 2, 1, 1)), 3),
        "circular 2d": (nn.CircularPad2d((2, 1, 0, 3)), 2),
        "zero 2d": (nn.ZeroPad2d((1, 0, 2, 1)), 2),
        "constant 1d": (nn.ConstantPad1d((0, 2), 3.5), 1),
        "F.pad reflect": (Fn(lambda x: F.pad(x, (1, 2, 2, 1), mode="reflect")), 2),
        "F.pad circular": (Fn(lambda x: F.pad(x, (2, 2, 1, 0), mode="circular")), 2),
        "F.pad constant": (Fn(lambda x: F.pad(x, (1, 0, 0, 2), value=1.0)), 2),
        "F.pixel_shuffle": (Fn(lambda x: F.pixel_shuffle(x, 2)), 2),
    }


CASES = [
    "nearest x2",
    "nearest x3 then /2 size",
    "nearest-exact x2",
    "nearest size x2",
    "nearest x1.5",
    "bilinear x2",
    "bilinear x3",
    "bilinear align",
    "bicubic x2",
    "linear x4 1d",
    "trilinear x2 3d",
    "pixel shuffle",
    "pixel unshuffle",
    "reflect 1d",
    "reflect 2d",
    "reflect 3d",
    "replicate 2d",
    "replicate 3d",
    "circular 2d",
    "zero 2d",
    "constant 1d",
    "F.pad reflect",
    "F.pad circular",
    "F.pad constant",
    "F.pixel_shuffle",
]
EXACT = ("nearest", "pixel", "reflect", "replicate", "circular", "zero", "constant", "F.p")


def _model(torch, name):
    layer, nd = _cases(torch)[name]
    conv = getattr(torch.nn, f"Conv{nd}d")
    model = torch.nn.Sequential(conv(4, 4, 3, padding=1), layer, conv(layer_out(name), 2, 3))
    model = model.double()
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(0.5, 1.0)
    return model, nd


def layer_out(name):
    return {"pixel shuffle": 1, "F.pixel_shuffle": 1, "pixel unshuffle": 16}.get(name, 4)


@pytest.mark.parametrize("name", CASES)
def test_shapes_match_forward_and_positions_match_gradient_support(torch, name):
    model, nd = _model(torch, name)
    spatial = (7, 9, 6)[:nd] if "unshuffle" not in name else (8, 10)
    shape = (4, *spatial)
    s = cp.summary(model, shape)
    out = model(torch.ones(1, *shape, dtype=torch.float64))
    assert s.output_shape == tuple(out.shape[1:])
    assert not s.unknown_macs and s.total_params == sum(p.numel() for p in model.parameters())
    net = network_from_torch(model, input_shape=shape)
    assert "?" not in "".join(cp.summary(net, shape)[n.name].kind for n in net.nodes)
    if name in ("nearest x1.5", "bilinear align"):
        return  # not a regular grid: the receptive field ends (checked below)
    mid = tuple(v // 2 for v in out.shape[2:])
    for at in {tuple(0 for _ in mid), mid, tuple(v - 1 for v in out.shape[2:])}:
        x = torch.ones(1, *shape, dtype=torch.float64, requires_grad=True)
        model(x)[0, :, *at].sum().backward()
        grad = x.grad[0].abs().sum(0).numpy()
        support = [sorted({int(v) for v in np.nonzero(grad)[a]}) for a in range(nd)]
        traced = receptive_field(net, shape, at)
        region = s.receptive_region(None, at)
        for a in range(nd):
            if name.startswith(EXACT):  # every tap has a nonzero weight
                assert support[a] == list(traced[a]), (name, at, a)
            else:  # interpolation weights may be 0 at exact source positions
                assert set(support[a]) <= set(traced[a]) and support[a], (name, at, a)
            lo = math.ceil(Fraction(region.start[a]))
            hi = math.floor(Fraction(region.stop[a]))
            if "reflect" not in name and "circular" not in name and "replicate" not in name:
                assert lo <= min(traced[a]) and max(traced[a]) <= hi, (name, at, a)


def test_irregular_resampling_ends_the_receptive_field(torch):
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Upsample(scale_factor=1.5))
    s = cp.summary(model, (1, 9, 9))
    assert s["1"].receptive_field is None and "not a regular grid" in s["1"].note
    # a regular upsampling keeps it: nearest x2 after a 3x3 conv
    s = cp.summary(nn.Sequential(nn.Conv2d(1, 1, 3), nn.Upsample(scale_factor=2)), (1, 9, 9))
    assert s["1"].effective_stride == (Fraction(1, 2),) * 2


def test_interpolation_macs_by_the_stated_convention(torch):
    nn = torch.nn
    shape = (3, 5, 6)
    for mode, taps in (("nearest", 0), ("bilinear", 4), ("bicubic", 16)):
        s = cp.summary(nn.Sequential(nn.Upsample(scale_factor=2, mode=mode)), shape)
        assert s.total_macs == taps * 3 * 10 * 12  # taps per output element


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "size or scale_factor must be given"),
        ({"size": (4,), "scale_factor": (2.0,)}, "size or scale_factor must be given"),
        ({"scale_factor": (-2.0,)}, "scale_factor must hold positive numbers"),
        ({"size": (0,)}, "size must hold positive numbers"),
        ({"size": (2,), "mode": "area"}, "mode must be one of"),
        ({"size": (2,), "align_corners": True}, "align_corners must be False"),
    ],
)
def test_bad_interpolate_arguments(kwargs, match):
    with pytest.raises(cp.ConvProofError, match=match):
        cp.Interpolate(**kwargs)


def test_bad_shuffle_and_pad_arguments():
    with pytest.raises(cp.ConvProofError, match="upscale_factor must"):
        cp.PixelShuffle(0)
    with pytest.raises(cp.ConvProofError, match="multiple of upscale_factor"):
        cp.PixelShuffle(2).apply((6, 4, 4), 2, "ps")
    with pytest.raises(cp.ConvProofError, match="must be a positive multiple"):
        cp.PixelUnshuffle(2).apply((6, 5, 4), 2, "pu")
    with pytest.raises(cp.ConvProofError, match="mode must be one of"):
        cp.Pad(1, mode="symmetric")
    with pytest.raises(cp.ConvProofError, match=r"circular padding 3 .* at most 2"):
        cp.Pad(((3, 0),), mode="circular").apply((1, 2), 1, "p")
    pad = cp.Pad(((1, 2), (0, 1)), mode="replicate")
    assert cp.network_from_json(cp.Network([("p", pad)]).to_json()).nodes[0].layer == pad


def test_unet_with_bilinear_upsampling_sizes_equal_brute_force(torch):
    # nearest upsampling: tests/test_network_sizes.py (sizes 1 .. 1000)
    for mode in ("bilinear",):
        model = unet_upsample(torch, depth=2, mode=mode).eval()
        (h, _) = cp.valid_input_sizes(model, (1, 1, 64, 16))
        assert (h.start, h.period, h.residues) == (4, 4, frozenset({0}))
        assert h.sizes(26) == brute_sizes(torch, model, 1, 8, 26)
        assert "join 'cat' does not line up" in h.explain(18)


def test_planted_mismatch_and_unshuffle_residues(torch):
    nn = torch.nn

    class Mismatch(nn.Module):  # pooled by 2, upsampled by 3: strides differ, refused
        def __init__(self):
            super().__init__()
            self.pool, self.up = nn.MaxPool2d(2), nn.Upsample(scale_factor=3)

        def forward(self, x):
            return torch.cat([x, self.up(self.pool(x))], 1)

    with pytest.raises(cp.ConvProofError, match="different effective strides"):
        cp.valid_input_sizes(Mismatch(), (1, 1, 12, 12))
    # a pixel unshuffle needs multiples of 2 after a stride-3 conv: n = 3 m + 1, m even
    model = nn.Sequential(nn.Conv2d(1, 1, 3, stride=3, padding=1), nn.PixelUnshuffle(2))
    (h, _) = cp.valid_input_sizes(model, (1, 1, 12, 12))
    ok = brute_sizes(torch, model, 1, 12, 40)
    assert h.sizes(40) == ok and h.period == 6
    assert "pixel_unshuffle" in h.explain(ok[0] + 3)
    with pytest.raises(cp.ConvProofError, match="one residue class"):
        cp.export_dynamic_shapes(model, (1, 1, 12, 12))


def test_one_size_set_class():
    from convproof.frameworks.agreement import SizeSet as FromAgreement
    from convproof.layers.size_sets import SizeSet

    assert cp.SizeSet is SizeSet is FromAgreement and issubclass(cp.ValidSizes, SizeSet)
    stem = dict(in_channels=1, out_channels=1, kernel_size=4, stride=2)
    a = cp.agreement(cp.ConvSpec(**stem, padding=1), cp.ConvSpec(**stem, padding="SAME_UPPER"))
    assert isinstance(a[0], SizeSet)
    down = cp.PoolSpec(kind="max", kernel_size=2, ndim=1)
    up = cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=2, stride=2, ndim=1)
    (v,) = cp.valid_input_sizes(cp.Network([cp.Residual([("d", down), ("u", up)])]), (1, 8))
    # both say "the even sizes": the same set, printed the same, one class of methods
    assert str(v) == str(a[0]) == "n >= 2, n ≡ 0 (mod 2)" or str(v.canonical()) == str(a[0])
    assert list(v.members(9)) == [n for n in range(1, 10) if n in a[0]] == [2, 4, 6, 8]
    assert v.canonical() == a[0].canonical()
    # canonical form: a reducible period is reduced, membership unchanged
    s = SizeSet(start=3, period=6, residues=frozenset({0, 2, 4}))
    assert (s.canonical().period, list(s.canonical().members(20))) == (2, list(s.members(20)))


def test_torch_export_dims_cover_exactly_the_set(torch):
    from convproof.layers.size_sets import SizeSet

    dim = SizeSet(start=5, period=4, residues=frozenset({1})).torch_export_dim("h", max=100)
    assert str(dim) == "4*h_k - 3"  # 5, 9, 13, ... (k >= 2)
    assert (dim.root.min, dim.root.max) == (2, 25)
    assert (
        str(SizeSet(start=3, period=1, residues=frozenset({0})).torch_export_dim("w"))
        == "Dim('w', min=3)"
    )
    with pytest.raises(cp.ConvProofError, match="one residue class"):
        SizeSet(start=4, period=2, residues=frozenset({0}), below=frozenset({1})).torch_export_dim(
            "h"
        )
    with pytest.raises(cp.ConvProofError, match="max must be at least"):
        SizeSet(start=8, period=8, residues=frozenset({0})).torch_export_dim("h", max=7)


@pytest.mark.parametrize("which", ["unet", "unet_upsample", "resnet"])
def test_torch_export_accepts_the_emitted_constraints(torch, which):
    from nets_torch import resnet18

    if which == "resnet":
        model, shape, sizes = resnet18(num_classes=10).eval(), (1, 3, 64, 64), [(33, 47), (64, 65)]
    else:
        build = unet if which == "unet" else unet_upsample
        model, shape, sizes = build(torch, depth=2).eval(), (1, 1, 16, 8), [(12, 20), (36, 8)]
    dynamic = cp.export_dynamic_shapes(model, shape, max=512)
    program = torch.export.export(model, (torch.zeros(shape),), dynamic_shapes=dynamic)
    for h, w in sizes:
        x = torch.randn(shape[0], shape[1], h, w)
        with torch.no_grad():
            assert torch.allclose(program.module()(x), model(x), atol=1e-5)
    if which != "resnet":  # a size outside the set: the exported program's guards refuse it
        with pytest.raises(Exception, match=r"(?i)guard|constraint|expected"):
            program.module()(torch.zeros(shape[0], shape[1], 14, 8))
