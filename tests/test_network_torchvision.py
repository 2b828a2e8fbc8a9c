"""summary() on every torchvision model issue 13 names (random weights, nothing downloaded):
parameters equal to PyTorch's own sum(p.numel()), MACs equal to torchvision's published
figures where every operation is modelled, shapes equal to a real forward pass, unknown
operations marked with their module path and source line.  Skips with a stated reason when
torch or torchvision is absent."""

from __future__ import annotations

import inspect
import warnings

import pytest
from nets_torchvision import CLASSIFICATION, SEGMENTATION, build, published_gmacs

import convproof as cp

pytestmark = pytest.mark.torch

TV_REASON = "torchvision is not installed (pip install torch==2.14.1 torchvision==0.29.1)"


@pytest.fixture
def tv(torch):
    return pytest.importorskip("torchvision", reason=TV_REASON)


def _size(name):
    return 299 if name == "inception_v3" else 224


@pytest.mark.parametrize("name", CLASSIFICATION + SEGMENTATION)
def test_every_torchvision_model_summarises_with_exact_params(tv, torch, name):
    model = build(name)
    n = _size(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", cp.ConvProofWarning)  # torchvision's joins are aligned
        s = cp.summary(model, (1, 3, n, n))
    assert s.total_params == sum(p.numel() for p in model.parameters())
    if name in CLASSIFICATION:
        assert s.output_shape == (1, 1000)
        published = published_gmacs(name)
        if published is not None and n == 224:
            if not s.unknown_macs:
                expected = published
                if name == "googlenet":  # traced in training mode: the two aux heads count too
                    expected = published + 0.009
                assert round(s.total_macs / 1e9, 3) == pytest.approx(expected, abs=1e-3)
            else:  # attention matmuls etc. are unknown: what is counted is a lower bound
                assert s.total_macs <= published * 1e9
    for row in s.rows:
        if row.macs is None:
            assert row.kind.startswith("?") and "not modelled (at " in row.note


def _hook_shapes(torch, model, shape):
    shapes = {}

    def hook(path):
        def record(mod, inp, out):
            shapes.setdefault(path, tuple(out.shape))  # first call; returns None

        return record

    hooks = [
        m.register_forward_hook(hook(path))
        for path, m in model.named_modules()
        if path and not list(m.children())
    ]
    with torch.no_grad():
        model.eval()
        model(torch.zeros(shape))
    for h in hooks:
        h.remove()
    return shapes


@pytest.mark.parametrize(
    "name", ["shufflenet_v2_x1_0", "mobilenet_v3_small", "efficientnet_b0", "convnext_tiny"]
)
def test_row_shapes_equal_a_real_forward_pass(tv, torch, name):
    model = build(name)
    shape = (1, 3, 96, 80)
    expected = _hook_shapes(torch, model, shape)
    s = cp.summary(model, shape)
    checked = 0
    for row in s.rows:
        if row.name in expected:
            assert row.output_shape == expected[row.name], row.name
            checked += 1
    assert checked >= 20


def _lenet(torch):
    """PyTorch's 60-minute-blitz LeNet (functional pooling and a view)."""
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = torch.cat([x], 1)  # a one-element cat (DenseNet's first block)
            x = x.view(-1, 16 * 5 * 5)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    return Net()


def test_lenet_functional_forms_are_exact(torch):
    s = cp.summary(_lenet(torch), (1, 32, 32))
    # hand count: conv1 6*28*28*25, conv2 16*10*10*(6*25), fc 400*120 + 120*84 + 84*10
    assert s.total_macs == 117_600 + 240_000 + 48_000 + 10_080 + 840
    assert s.total_params == 61_706 and not s.unknown_macs
    kinds = [r.kind for r in s.rows]
    assert kinds.count("max_pool") == 2 and "flatten" in kinds and "?" not in "".join(kinds)
    assert s["max_pool2d@1"].output_shape == (16, 5, 5)
    assert s["max_pool2d@1"].receptive_field == (16, 16)  # 5 + 1*1 + 4*2 + 1*2
    assert s["max_pool2d@1"].effective_stride == (4, 4)


def test_channel_chunks_means_and_gates_are_exact(torch):
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 8, 3, padding=1)
            self.gate = nn.Conv2d(8, 8, 1)

        def forward(self, x):
            x = self.conv(x)
            a, b = x.chunk(2, dim=1)
            x = torch.cat([b, a], 1)
            g = self.gate(x.mean((2, 3), keepdim=True)).sigmoid()
            return (x * g).mean([2, 3])

    s = cp.summary(Block(), (4, 10, 10))
    assert not s.unknown_macs
    assert s.total_macs == 8 * 100 * 4 * 9 + 8 * 8
    assert [r.output_shape for r in s.rows if r.kind == "channels"] == [(4, 10, 10)] * 2
    assert s["getitem"].receptive_field == (3, 3)
    assert s.output_shape == (8,)


def test_unknown_operation_is_marked_with_module_path_and_source_line(torch):
    nn, F = torch.nn, torch.nn.functional

    class Inner(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x):
            return F.interpolate(self.conv(x), scale_factor=2.0, mode="area")

    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.stage = Inner()
            self.head = nn.Conv2d(4, 2, 1)

        def forward(self, x):
            return self.head(self.stage(x))

    line = inspect.getsourcelines(Inner.forward)[1] + 1
    s = cp.summary(Outer(), (3, 10, 10))
    (name,) = s.unknown_macs
    row = s[name]
    assert (
        row.output_shape == (4, 16, 16)
        and row.macs is None
        and row.kind == "?call_function interpolate"
    )
    assert f"stage: interpolate (test_network_torchvision.py:{line})" in row.note
    assert s["head"].output_shape == (2, 16, 16) and s["head"].macs == 2 * 4 * 256
    assert s.total_macs == 4 * 64 * 27 + 2 * 4 * 256  # the unknown row is left out
    assert "MACs unknown (left out of the totals) in 1 layers" in s.to_text()


def test_resnet_d_average_pool_shortcut_warns_and_still_counts(torch):
    nn = torch.nn

    class Down(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, stride=2, padding=1)
            self.short = nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(4, 4, 1))

        def forward(self, x):
            return self.conv(x) + self.short(x)

    model = Down()
    with pytest.warns(cp.ConvProofWarning, match="not aligned"):
        s = cp.summary(model, (4, 8, 8))
    assert s.total_params == sum(p.numel() for p in model.parameters())
    assert s.total_macs == 4 * 16 * 36 + 4 * 16 * 4
    with pytest.raises(cp.ConvProofError, match="not aligned"):
        cp.summary(model, (4, 8, 8), check_alignment=True)
