"""Presentation of summaries (issue 13, item 2): each layer's own kernel/stride/padding,
``depth=`` folding, trainable vs frozen parameters, K/M/G cells with the MAC convention
stated once, ``convproof net module:callable``, ``network_to_json`` and models with several
inputs.  Expected values come from hand-worked tables, from the PyTorch modules themselves
(``kernel_size`` attributes, ``sum(p.numel())``, ``requires_grad``) and from forward hooks."""

from __future__ import annotations

import json

import pytest
import sympy
from nets_torch import resnet18

import convproof as cp
from convproof.networks.tables import human
from convproof.presentation.cli import main


def conv(cin, cout, k, **kw):
    return cp.ConvSpec(in_channels=cin, out_channels=cout, kernel_size=k, **kw)


# --------------------------------------------------------------------------------------
# 1. the layer's own window next to the cumulative one
# --------------------------------------------------------------------------------------

OWN = [
    # layer, input shape, (kernel_size, stride, padding, dilation) worked by hand
    (conv(1, 1, 3, stride=2, padding=1), (1, 9, 9), ((3, 3), (2, 2), (1, 1), (1, 1))),
    (conv(1, 1, 3, padding=((0, 1), (2, 2))), (1, 9, 9), ((3, 3), (1, 1), ((0, 1), 2), (1, 1))),
    (conv(1, 1, 4, padding="same"), (1, 9, 9), ((4, 4), (1, 1), ((1, 2), (1, 2)), (1, 1))),
    (conv(1, 1, 3, dilation=2, padding=2), (1, 9, 9), ((3, 3), (1, 1), (2, 2), (2, 2))),
    (
        conv(1, 1, 3, stride=2, padding="SAME_UPPER"),
        (1, 8, 8),
        ((3, 3), (2, 2), ((0, 1), (0, 1)), (1, 1)),
    ),
    (
        cp.PoolSpec(kind="max", kernel_size=3, stride=2, padding=1),
        (1, 9, 9),
        ((3, 3), (2, 2), (1, 1), (1, 1)),
    ),
    (
        cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=4, stride=2, padding=1),
        (1, 5, 5),
        ((4, 4), (2, 2), (1, 1), (1, 1)),
    ),
]


@pytest.mark.parametrize(("layer", "shape", "expected"), OWN)
def test_own_window_known_values(layer, shape, expected) -> None:
    row = cp.summary(cp.Network([("x", layer)]), shape)["x"]
    assert (row.kernel_size, row.stride, row.padding, row.dilation) == expected


def test_own_window_is_not_the_cumulative_one() -> None:
    s = cp.summary(cp.load_network("vgg16"), (3, 224, 224))
    row = s["features.28"]  # the last 3x3 conv
    assert (row.kernel_size, row.stride, row.padding) == ((3, 3), (1, 1), (1, 1))
    assert (row.receptive_field, row.effective_stride, row.effective_padding) == (
        (196, 196),
        (16, 16),
        (90, 90),
    )
    line = next(ln for ln in s.to_text().splitlines() if ln.startswith("features.28 "))
    assert line.split()[-6:] == ["3", "1", "1", "196", "16", "90"]
    header = s.to_text().splitlines()[1].split("  ")
    header = [h.strip() for h in header if h.strip()]
    assert header[-6:] == ["Kernel", "Stride", "Pad", "RF", "Eff. stride", "Eff. pad"]
    assert s["features.29"].kernel_size is None  # relu: no window of its own
    assert s["classifier.0"].padding is None


def test_own_window_symbolic_named_padding_and_cells() -> None:
    h = sympy.Symbol("H", integer=True, positive=True)
    net = cp.Network(
        [
            ("c", conv(1, 2, 3, stride=2, padding="SAME_UPPER")),
            ("d", conv(2, 2, 3, dilation=2, padding=((0, 1), (0, 1)))),
        ]
    )
    s = cp.summary(net, (1, h, h))
    assert s["c"].padding == ("SAME_UPPER", "SAME_UPPER")
    text = cp.summary(net, (1, 16, 16)).to_text()
    d_line = next(ln for ln in text.splitlines() if ln.startswith("d (conv)"))
    assert "3 d2" in d_line and "0/1" in d_line


def test_own_window_matches_pytorch_module_attributes(torch) -> None:
    model = resnet18()
    s = cp.summary(model, (3, 64, 64))
    mods = dict(model.named_modules())
    checked = 0
    for row in s.rows:
        mod = mods.get(row.name)
        if isinstance(mod, torch.nn.Conv2d | torch.nn.MaxPool2d):
            k = mod.kernel_size if isinstance(mod.kernel_size, tuple) else (mod.kernel_size,) * 2
            st = mod.stride if isinstance(mod.stride, tuple) else (mod.stride,) * 2
            p = mod.padding if isinstance(mod.padding, tuple) else (mod.padding,) * 2
            assert (row.kernel_size, row.stride, row.padding) == (k, st, p), row.name
            checked += 1
    assert checked == 21


# --------------------------------------------------------------------------------------
# 2. depth folding
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_depth_folds_rows_and_keeps_totals(torch, depth) -> None:
    model = resnet18()
    full = cp.summary(model, (1, 3, 64, 64))
    s = cp.summary(model, (1, 3, 64, 64), depth=depth)
    for attr in ("total_params", "total_macs", "total_flops", "total_bias_adds", "total_buffers"):
        assert getattr(s, attr) == getattr(full, attr)
    assert sum(r.params for r in s.rows) == full.total_params
    assert sum(r.macs for r in s.rows) == full.total_macs
    assert all(len(r.name.split(".")) <= depth for r in s.rows)
    assert len(s.leaf_rows) == len(full.rows) > len(s.rows)
    # each folded module against PyTorch: its own parameters and a forward hook's shape
    mods = dict(model.named_modules())
    seen = {}
    hooks = [
        mods[r.name].register_forward_hook(
            lambda m, i, o, name=r.name: seen.__setitem__(name, tuple(o.shape))
        )
        for r in s.rows
        if r.kind not in ("add", "flatten") and r.name in mods
    ]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, 64, 64))
    for h in hooks:
        h.remove()
    assert seen
    for name, shape in seen.items():
        row = s[name]
        assert row.output_shape == shape, name
        assert row.params == sum(p.numel() for p in mods[name].parameters()), name
    if depth == 1:
        assert s["layer1"].kind == "Sequential"
        assert s["layer1"].kernel_size is None


def test_depth_on_a_network_and_bad_depths() -> None:
    net = cp.load_network("resnet18")
    s = cp.summary(net, (3, 224, 224), depth=1)
    assert [r.name for r in s.rows][4:8] == ["layer1", "layer2", "layer3", "layer4"]
    assert s["layer4"].receptive_field == (435, 435)  # the module's last row
    assert s["layer1"].kind == "group"
    assert "Rows folded to depth 1 (69 layers)" in s.to_text()
    assert s.subs({}).rows == s.rows
    for bad in (0, -1, True, 1.5, "2"):
        with pytest.raises(cp.ConvProofError, match="depth must be an int >= 1"):
            cp.summary(net, (3, 32, 32), depth=bad)


def test_depth_with_unknown_macs_and_a_repeated_module() -> None:
    from convproof.networks.traced import Opaque

    nodes = [
        cp.Node("a.c", conv(1, 1, 3, padding=1)),
        cp.Node("a.op", Opaque("Thing", "a.op (m.py:1)", (1, 8, 8), (1, 8, 8)), ("a.c",)),
        cp.Node("b", cp.Activation("relu"), ("a.op",)),
        cp.Node("a.c@1", conv(1, 1, 3, padding=1), ("b",)),
    ]
    s = cp.summary(cp.Network.from_nodes(nodes), (1, 8, 8), depth=1)
    assert [r.name for r in s.rows] == ["a", "b", "a@1"]
    assert s["a"].macs is None and "MACs unknown in 1 of its 2 layers" in s["a"].note
    assert s["a@1"].macs == 64 * 9
    assert s.total_macs == 2 * 64 * 9  # the unknown one is left out, as before folding


# --------------------------------------------------------------------------------------
# 3. trainable vs frozen
# --------------------------------------------------------------------------------------


def test_frozen_parameters_against_requires_grad(torch) -> None:
    misc = pytest.importorskip("torchvision.ops.misc", reason="torchvision is not installed")
    FrozenBatchNorm2d = misc.FrozenBatchNorm2d

    model = resnet18()
    model.conv1.requires_grad_(False)
    model.layer1.requires_grad_(False)
    model.bn1 = FrozenBatchNorm2d(64)  # its weight and bias are buffers, not parameters
    s = cp.summary(model, (3, 64, 64))
    params = list(model.parameters())
    assert s.total_params == sum(p.numel() for p in params)
    assert s.total_trainable_params == sum(p.numel() for p in params if p.requires_grad)
    assert s.total_frozen_params == sum(p.numel() for p in params if not p.requires_grad)
    assert s["conv1"].frozen_params == s["conv1"].params == 64 * 3 * 49
    assert s["layer2.0.conv1"].frozen_params == 0
    assert s["layer2.0.conv1"].trainable_params == s["layer2.0.conv1"].params
    text = s.to_text()
    assert "Frozen" in text.splitlines()[1]
    assert f"trainable {s.total_trainable_params:,}, frozen {s.total_frozen_params:,}" in text
    folded = cp.summary(model, (3, 64, 64), depth=1)
    assert folded["layer1"].frozen_params == sum(p.numel() for p in model.layer1.parameters())
    d = json.loads(s.to_json())
    assert d["total_frozen_params"] == s.total_frozen_params
    assert d["rows"][0]["trainable_params"] == 0
    # the description keeps the frozen counts
    back = cp.summary(cp.network_from_json(cp.network_to_json(model, (3, 64, 64))), (3, 64, 64))
    assert back.total_frozen_params == s.total_frozen_params


def test_no_frozen_column_without_frozen_parameters() -> None:
    s = cp.summary(cp.load_network("alexnet"), (3, 224, 224))
    assert s.total_frozen_params == 0 and s.total_trainable_params == s.total_params
    assert "Frozen" not in s.to_text() and "frozen" not in s.to_text()


# --------------------------------------------------------------------------------------
# 4. units and the convention, once
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (999, "999"),
        (1000, "1.00K"),
        (23296, "23.3K"),
        (221184, "221K"),
        (999_499, "999K"),
        (999_999, "1.00M"),
        (70_276_800, "70.3M"),
        (1_814_073_344, "1.81G"),
        (15_470_264_320, "15.5G"),
        (2 * 10**12, "2000G"),
    ],
)
def test_human_units(value, text) -> None:
    assert human(value) == text


def test_tables_state_the_convention_once_and_exact_on_request() -> None:
    s = cp.summary(cp.load_network("alexnet"), (3, 224, 224))
    text = s.to_text()
    assert text.count("FLOPs = 2 x MACs") == 1
    assert "(2 x MACs)" not in text
    assert "Total params: 61,100,840 (61.1M)" in text
    assert "Total MACs: 714,188,480 (714M)" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("classifier.1 "))
    assert "37.8M" in line and "37.7M" in line
    exact = s.to_text(exact=True)
    assert "37,752,832" in exact and "37,748,736" in exact and "K, M, G" not in exact
    md = s.to_markdown()
    assert md.count("FLOPs = 2 x MACs") == 1 and "**61,100,840**" in md
    assert all(line.count("|") == md.splitlines()[0].count("|") for line in md.splitlines()[:-2])
    assert s.to_dict()["rows"][-1]["params"] == 4097000  # JSON stays exact


# --------------------------------------------------------------------------------------
# 5. convproof net module:callable
# --------------------------------------------------------------------------------------

FACTORY = """
import torch.nn as nn

def make():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))

def broken():
    raise RuntimeError("no weights here")

def not_a_model():
    return [1, 2]
"""


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_net_loads_a_pytorch_callable(torch, tmp_path, capsys) -> None:
    path = tmp_path / "models.py"
    path.write_text(FACTORY)
    code, out, err = run(capsys, "net", f"{path}:make", "--in", "3x16x16", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["total_params"] == 3 * 8 * 9 + 8
    assert [r["output_shape"] for r in d["rows"]] == [[8, 16, 16], [8, 16, 16], [8, 8, 8]]
    code, out, err = run(capsys, "net", f"{path}:make", "--in", "3x16x16", "--depth", "1")
    assert code == 0 and "0 (conv)" in out  # top-level modules are depth 1 already
    bad = [
        (f"{path}:nope", "has no attribute 'nope'"),
        (f"{path}:broken", "could not be called without arguments: RuntimeError: no weights"),
        (
            f"{path}:not_a_model",
            "must name a torch.nn.Module or a function returning one, got list",
        ),
        ("no_such_pkg_xyz.models:make", "cannot import module 'no_such_pkg_xyz.models'"),
        ("os:system('ls')", "name a function after the colon"),
    ]
    for source, message in bad:
        code, out, err = run(capsys, "net", source, "--in", "3x16x16")
        assert code == 2 and out == "" and pytest.importorskip("re").search(message, err), err
    code, out, err = run(capsys, "net", f"{path}:make")
    assert code == 2 and "--in is required" in err


def test_cli_net_depth_exact_and_names_still_work(capsys) -> None:
    code, out, err = run(capsys, "net", "resnet18", "--in", "3x64x64", "--depth", "1")
    assert code == 0 and "layer1 (group)" in out and "layer1.0" not in out
    code, out, err = run(capsys, "net", "alexnet", "--exact")
    assert code == 0 and "37,752,832" in out
    for depth in ("0", "1,2", "x"):
        code, out, err = run(capsys, "net", "alexnet", "--depth", depth)
        assert code == 2 and "--depth" in err


# --------------------------------------------------------------------------------------
# 6. network_to_json
# --------------------------------------------------------------------------------------


def _unet(torch):
    nn = torch.nn

    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.down = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
            self.pool = nn.MaxPool2d(2)
            self.mid = nn.Conv2d(8, 16, 3, padding=1)
            self.up = nn.ConvTranspose2d(16, 8, 2, stride=2)
            self.head = nn.Conv2d(16, 2, 1)

        def forward(self, x):
            a = self.down(x)
            b = self.up(torch.relu(self.mid(self.pool(a))))
            return self.head(torch.cat([a, b], 1))

    return Tiny()


def _same(a, b) -> None:
    assert a.total_params == b.total_params and a.total_macs == b.total_macs
    assert [r.output_shape for r in a.rows] == [r.output_shape for r in b.rows]
    assert a.to_dict() == b.to_dict()


@pytest.mark.parametrize("which", ["resnet18", "unet", "mobilenet_v3_small", "shufflenet"])
def test_network_to_json_round_trip(torch, which) -> None:
    if which == "resnet18":
        model, shape = resnet18(), (3, 64, 64)
    elif which == "unet":
        model, shape = _unet(torch), (1, 3, 32, 32)
    else:
        tv = pytest.importorskip("torchvision", reason="torchvision is not installed")
        name = "shufflenet_v2_x0_5" if which == "shufflenet" else which
        model, shape = getattr(tv.models, name)(), (3, 96, 96)
    text = cp.network_to_json(model, shape)
    data = json.loads(text)
    assert data["format"] == "convproof.network/1" and data["input_shape"] == list(shape)
    _same(cp.summary(model, shape), cp.summary(cp.network_from_json(text), shape))
    assert cp.summary(model, shape).total_params == sum(p.numel() for p in model.parameters())


def test_network_to_json_refuses_what_it_cannot_express(torch, tmp_path, capsys) -> None:
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Softmax2d(), nn.ReLU())
    with pytest.raises(cp.ConvProofError, match=r"holds Softmax2d at 1, .*allow_opaque=True"):
        cp.network_to_json(model, (3, 8, 8))
    text = cp.network_to_json(model, (3, 8, 8), allow_opaque=True)
    _same(cp.summary(model, (3, 8, 8)), cp.summary(cp.network_from_json(text), (3, 8, 8)))
    path = tmp_path / "net.json"
    path.write_text(text)
    code, out, err = run(capsys, "net", str(path), "--json")  # the recorded input shape
    assert code == 0, err
    assert json.loads(out)["rows"][1]["output_shape"] == [4, 6, 6]
    for shape in ((3, sympy.Symbol("H")), (), "3x8x8", (3, 0, 8)):
        with pytest.raises(cp.ConvProofError, match="input_shape must"):
            cp.network_to_json(model, shape)
    with pytest.raises(cp.ConvProofError, match=r"model must be a torch\.nn\.Module"):
        cp.network_to_json(object(), (3, 8, 8))
    with pytest.raises(cp.ConvProofError, match="allow_opaque must be a bool"):
        cp.network_to_json(model, (3, 8, 8), allow_opaque="yes")


# --------------------------------------------------------------------------------------
# 7. several inputs
# --------------------------------------------------------------------------------------


def _fusion(torch):
    nn = torch.nn

    class Fusion(nn.Module):
        """A shared Siamese encoder on two images plus a depth branch, fused by concat."""

        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
            self.depth = nn.Conv2d(1, 8, 2, stride=2)  # aligned with conv3 + pool2
            self.head = nn.Conv2d(24, 4, 1)
            self.fc = nn.Linear(4 * 8 * 8, 10)

        def forward(self, left, right, depth):
            f = torch.cat([self.encoder(left), self.encoder(right), self.depth(depth)], 1)
            return self.fc(torch.flatten(self.head(f), 1))

    return Fusion()


def test_several_inputs_against_forward_hooks(torch) -> None:
    model = _fusion(torch)
    shapes = [(2, 3, 16, 16), (2, 3, 16, 16), (2, 1, 16, 16)]
    s = cp.summary(model, shapes)
    assert s.input_shape == tuple(shapes)
    assert s.total_params == sum(p.numel() for p in model.parameters())
    seen: dict[str, list] = {}
    for name, mod in model.named_modules():
        if name and not list(mod.children()):
            mod.register_forward_hook(
                lambda m, i, o, name=name: seen.setdefault(name, []).append(tuple(o.shape))
            )
    with torch.no_grad():
        model(*(torch.zeros(v) for v in shapes))
    for name, outs in seen.items():
        for k, shape in enumerate(outs):
            assert s[name if k == 0 else f"{name}@{k}"].output_shape == shape
    assert s["encoder.0@1"].params == 0  # the shared encoder is counted once
    assert s["cat"].output_shape == (2, 24, 8, 8)
    assert s.total_macs == (8 * 256 * 27) * 2 + 8 * 64 * 4 + 4 * 64 * 24 + 256 * 10
    text = cp.network_to_json(model, shapes)
    assert json.loads(text)["inputs"] == ["input", "input1", "input2"]
    _same(s, cp.summary(cp.network_from_json(text), shapes))


def test_several_inputs_bad_shapes(torch) -> None:
    model = _fusion(torch)
    with pytest.raises(cp.ConvProofError, match=r"one shape per input of forward \(left, right"):
        cp.summary(model, (3, 16, 16))
    with pytest.raises(cp.ConvProofError, match="one shape per input"):
        cp.summary(model, [(3, 16, 16), (3, 16, 16)])
    with pytest.raises(cp.ConvProofError, match="same batch size"):
        cp.summary(model, [(2, 3, 16, 16), (1, 3, 16, 16), (2, 1, 16, 16)])
    with pytest.raises(cp.ConvProofError, match="shape propagation failed"):
        cp.summary(model, [(3, 16, 16), (3, 8, 8), (1, 16, 16)])  # concat sizes differ
    small = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3))
    for bad in (5, "3x8x8", None):
        with pytest.raises(cp.ConvProofError, match="input_shape must"):
            cp.summary(small, bad)


def test_several_inputs_in_a_network_description() -> None:
    c = conv(2, 2, 3, padding=1)
    nodes = [cp.Node("a", c), cp.Node("b", c, ("input1",)), cp.Node("sum", cp.Add(), ("a", "b"))]
    net = cp.Network.from_nodes(nodes, inputs=("input", "input1"))
    s = cp.summary(net, [(2, 8, 8), (2, 8, 8)])
    assert s.output_shape == (2, 8, 8) and s.total_macs == 2 * 64 * 2 * 18
    assert cp.network_from_json(net.to_json()) == net
    with pytest.raises(cp.ConvProofError, match="must be a list of 2 shapes"):
        cp.summary(net, (2, 8, 8))
    with pytest.raises(cp.ConvProofError, match="inputs of add 'sum' must have equal shapes"):
        cp.summary(net, [(2, 8, 8), (2, 4, 4)])
    for bad in ((), ("x",), ("input", "input")):
        with pytest.raises(cp.ConvProofError, match="inputs must be distinct names"):
            cp.Network.from_nodes(nodes, inputs=bad)
    with pytest.raises(cp.ConvProofError, match="must name earlier nodes"):
        cp.Network.from_nodes(nodes)
    for analysis in (cp.valid_input_sizes, cp.prove_network):  # one-input analyses say so
        with pytest.raises(cp.ConvProofError, match="takes networks with one input"):
            analysis(net, (2, 8, 8))


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")
def test_an_unaligned_join_is_a_warning_a_field_and_a_table_line(torch) -> None:
    nn = torch.nn

    class EvenSame(nn.Module):  # an even-kernel 'same' branch added to a 1x1 branch
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(3, 4, 2, padding="same")
            self.b = nn.Conv2d(3, 4, 1)

        def forward(self, x):
            return self.a(x) + self.b(x)

    with pytest.warns(cp.ConvProofWarning, match="joined at 'add' are not aligned"):
        s = cp.summary(EvenSame(), (3, 8, 8))
    assert s.unaligned == ("add",)
    assert s["add"].receptive_field is None and "not aligned" in s["add"].note
    line = "Not aligned (receptive fields unknown from there on): add"
    assert line in s.to_text() and line in s.to_markdown()
    aligned = cp.summary(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1)), (3, 8, 8))
    assert aligned.unaligned == () and "Not aligned" not in aligned.to_text()
