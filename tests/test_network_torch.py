"""summary() of PyTorch modules (traced with torch.fx): torchvision-equivalent networks against
published figures and sum(p.numel()), shapes against torch's forward, receptive fields against
autograd.  Skips with a stated reason when torch is absent (the ``torch`` fixture)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import sympy
from nets_torch import BUILDERS
from test_network import PUBLISHED, _gmacs

import convproof as cp

pytestmark = pytest.mark.torch


@pytest.mark.parametrize(("name", "params", "gmacs", "decimals"), PUBLISHED)
def test_torch_networks_match_published_figures_and_numel(torch, name, params, gmacs, decimals):
    model = BUILDERS[name]()
    s = cp.summary(model, (1, 3, 224, 224))
    assert sum(p.numel() for p in model.parameters()) == params  # independent count
    assert s.total_params == params
    assert _gmacs(s.total_macs, decimals) == gmacs
    assert s.output_shape == (1, 1000)
    # the JSON description gives the same rows: names (module paths), shapes, counts, RFs
    from_json = cp.summary(cp.load_network(name), (1, 3, 224, 224))
    assert [r.to_dict() for r in s.rows] == [r.to_dict() for r in from_json.rows]


def _forward_shapes(torch, model, shape):
    """Output shape of every leaf module (first call) and the conv + linear MACs per sample,
    from a real forward pass: output elements times the weight's fan-in."""
    shapes: dict[str, tuple[int, ...]] = {}
    macs = [0]
    hooks = []
    for path, module in model.named_modules():
        if not list(module.children()):

            def hook(mod, inputs, output, path=path):
                shapes.setdefault(path, tuple(output.shape))
                if isinstance(mod, torch.nn.Conv2d | torch.nn.Linear):
                    macs[0] += output.numel() // shape[0] * mod.weight[0].numel()

            hooks.append(module.register_forward_hook(hook))
    with torch.no_grad():
        out = model.eval()(torch.zeros(shape))
    for h in hooks:
        h.remove()
    return shapes, tuple(out.shape), macs[0]


@pytest.mark.parametrize(("name", "size"), [("resnet18", 64), ("mobilenet_v2", 57)])
def test_torch_shapes_match_forward(torch, name, size):
    model = BUILDERS[name]()
    shapes, out, macs = _forward_shapes(torch, model, (2, 3, size, size))
    s = cp.summary(model, (2, 3, size, size))
    assert s.output_shape == out
    assert s.total_macs == macs
    checked = 0
    for row in s.rows:
        if row.name in shapes:
            assert row.output_shape == shapes[row.name], row.name
            checked += 1
    assert checked > 20


def _inception_module(torch):
    nn = torch.nn

    class Inception(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.b1 = nn.Conv2d(8, 4, 1)
            self.b2 = nn.Sequential(nn.Conv2d(8, 4, 1), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1))
            self.b3 = nn.Sequential(nn.ZeroPad2d((2, 2, 2, 2)), nn.Conv2d(8, 2, 5))
            self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(8, 2, 1))

        def forward(self, x):
            return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)

    return Inception()


def test_torch_inception_concat(torch):
    model = _inception_module(torch)
    s = cp.summary(model, (1, 8, 12, 12))
    out = model(torch.zeros(1, 8, 12, 12))
    assert s.output_shape == tuple(out.shape) == (1, 14, 12, 12)
    assert s.total_params == sum(p.numel() for p in model.parameters())
    assert s["cat"].receptive_field == (5, 5)
    assert s["b3.0"].kind == "pad" and s["b3.0"].output_shape == (1, 8, 16, 16)


def test_torch_zero_pad_order_is_last_axis_first(torch):
    nn = torch.nn
    model = nn.Sequential(nn.ZeroPad2d((1, 2, 3, 4)), nn.Conv2d(3, 1, 3))
    s = cp.summary(model, (3, 10, 20))
    assert s.output_shape == tuple(model(torch.zeros(3, 10, 20)).shape)
    assert s["0"].effective_padding == (3, 1)  # top pad 3 on H, left pad 1 on W


def test_torch_shared_module_params_counted_once(torch):
    nn = torch.nn

    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 3, padding=1)

        def forward(self, x):
            return self.conv(self.conv(x))

    model = Twice()
    s = cp.summary(model, (2, 8, 8))
    assert [r.name for r in s.rows] == ["conv", "conv@1"]
    assert s.total_params == sum(p.numel() for p in model.parameters()) == 38
    assert s["conv@1"].macs == s["conv"].macs  # MACs are per call
    assert s["conv@1"].receptive_field == (5, 5)


def test_torch_transposed_conv_macs_on_input_positions(torch):
    nn = torch.nn
    model = nn.Sequential(nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1))
    s = cp.summary(model, (4, 5, 5))
    assert s.output_shape == tuple(model(torch.zeros(4, 5, 5)).shape) == (2, 10, 10)
    assert s.total_macs == 4 * 25 * 2 * 9  # C_in * H_in * W_in * C_out * k^2
    assert s.total_params == sum(p.numel() for p in model.parameters())


def test_torch_unmodelled_modules_are_named(torch):
    nn = torch.nn
    # with a concrete size: PyTorch's shape, MACs unknown, the module path in the note
    s = cp.summary(
        nn.Sequential(nn.Conv2d(3, 4, 3), nn.Upsample(scale_factor=2, mode="area")), (3, 8, 8)
    )
    assert s["1"].output_shape == (4, 12, 12) and s["1"].macs is None
    assert s.unknown_macs == ("1",) and "Upsample is not modelled (at 1)" in s["1"].note
    # symbolic sizes cannot be propagated: an error naming the module
    H = sympy.Symbol("H", integer=True, positive=True)
    with pytest.raises(cp.ConvProofError, match=r"module '1' of type Upsample is not supported"):
        cp.summary(
            nn.Sequential(nn.Conv2d(3, 4, 3), nn.Upsample(scale_factor=2, mode="area")), (3, H, H)
        )
    # a module PyTorch itself refuses on this input: the error names it
    with pytest.raises(cp.ConvProofError, match=r"shape propagation failed at 1 "):
        cp.summary(nn.Sequential(nn.Conv2d(3, 4, 3), nn.LSTM(4, 4)), (3, 8, 8))


def _random_torch_net(torch, rng):
    """A small random 2-D net of layers whose gradients never cancel (positive weights, avg
    pooling, no ReLU), with a residual block: autograd then shows every dependency."""
    nn = torch.nn
    layers = []
    for _ in range(rng.integers(1, 4)):
        k = tuple(int(v) for v in rng.integers(1, 4, size=2))
        s = tuple(int(rng.integers(1, kk + 1)) for kk in k)
        d = tuple(int(v) for v in rng.integers(1, 3, size=2))
        p = tuple(int(v) for v in rng.integers(0, 3, size=2))
        choice = rng.integers(0, 4)
        if choice == 0:
            layers.append(nn.Conv2d(2, 2, k, stride=s, padding=p, dilation=d))
        elif choice == 1:
            pp = tuple(min(a, kk // 2) for a, kk in zip(p, k))
            layers.append(nn.AvgPool2d(k, stride=s, padding=pp))
        elif choice == 2:
            layers.append(nn.ZeroPad2d((p[1], int(rng.integers(0, 3)), p[0], 1)))
        else:
            op = tuple(int(rng.integers(0, min(ss, dd))) for ss, dd in zip(s, d))
            layers.append(
                nn.ConvTranspose2d(2, 2, k, stride=s, padding=0, output_padding=op, dilation=d)
            )

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 3, padding=1)

        def forward(self, x):
            return x + self.conv(x)

    layers.insert(int(rng.integers(0, len(layers) + 1)), Block())
    model = nn.Sequential(*layers).double()
    with torch.no_grad():
        for prm in model.parameters():
            prm.uniform_(0.5, 1.0)
    return model


def test_receptive_regions_match_autograd(torch, rng):
    checked = 0
    for _ in range(40):
        model = _random_torch_net(torch, rng)
        h, w = (int(v) for v in rng.integers(6, 13, size=2))
        try:
            s = cp.summary(model, (2, h, w))
            out = model(torch.ones(1, 2, h, w, dtype=torch.float64))
        except (cp.ConvProofError, RuntimeError):
            continue  # this random net does not fit the input (both must agree below)
        assert s.output_shape == tuple(out.shape[1:])
        oh, ow = out.shape[-2:]
        for y in {(0, 0), (oh - 1, ow - 1), (oh // 2, ow // 2)}:
            x = torch.ones(1, 2, h, w, dtype=torch.float64, requires_grad=True)
            model(x)[0, 0, y[0], y[1]].backward()
            read = np.argwhere(x.grad[0].sum(0).numpy() > 0)
            region = s.receptive_region(None, y)
            for axis in range(2):
                lo = math.ceil(Fraction(region.start[axis]))
                hi = math.floor(Fraction(region.stop[axis]))
                if len(read):
                    assert read[:, axis].min() >= lo and read[:, axis].max() <= hi
            checked += 1
    assert checked > 20


def test_summary_rejects_untraceable_models(torch):
    nn = torch.nn

    class Branchy(nn.Module):
        def forward(self, x):
            if x.sum() > 0:
                return x
            return -x

    with pytest.raises(cp.ConvProofError, match=r"could not be traced with torch\.fx"):
        cp.summary(Branchy(), (1, 4, 4))


def test_torch_functional_ops_are_followed(torch):
    nn = torch.nn
    F = torch.nn.functional

    class Functional(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(3, 4, 3, padding=1)
            self.b = nn.Conv2d(3, 4, 1)
            self.pool = nn.AdaptiveAvgPool2d((None, 1))
            self.fc = nn.Linear(4 * 6, 5)

        def forward(self, x):
            y = torch.add(F.relu(self.a(x)), self.b(x))
            y = F.dropout(self.pool(y), 0.1, self.training)
            y = y.view(y.size(0), -1)
            return F.relu6(self.fc(y))

    model = Functional().eval()
    s = cp.summary(model, (1, 3, 6, 10))
    assert [r.kind for r in s.rows] == [
        "conv",
        "relu",
        "conv",
        "add",
        "adaptive_avg_pool",
        "dropout",
        "flatten",
        "linear",
        "relu6",
    ]
    assert s.output_shape == tuple(model(torch.zeros(1, 3, 6, 10)).shape)
    assert s.total_params == sum(p.numel() for p in model.parameters())
    # (None, 1): height kept (RF 3 from the 3x3 branch), width pooled globally (3 + 10 - 1)
    assert s["pool"].receptive_field == (3, 12)
    assert s["pool"].effective_stride == (1, 10)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_buffers_are_counted_like_torch(torch, name):
    """resnet18's summary said 9,600 buffers where PyTorch has 9,620 (num_batches_tracked)."""
    model = BUILDERS[name]()
    s = cp.summary(model, (1, 3, 64, 64))
    assert s.total_buffers == sum(b.numel() for b in model.buffers())  # independent count
    assert s.total_buffers == cp.summary(cp.load_network(name), (1, 3, 64, 64)).total_buffers


def test_buffers_without_running_stats_like_torch(torch):
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3),
        nn.BatchNorm2d(4),
        nn.BatchNorm2d(4, track_running_stats=False),
        nn.BatchNorm2d(4, affine=False),
    )
    s = cp.summary(model, (1, 3, 8, 8))
    assert s.total_buffers == sum(b.numel() for b in model.buffers()) == 2 * (2 * 4 + 1)
    assert s.total_params == sum(p.numel() for p in model.parameters())
