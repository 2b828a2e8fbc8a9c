"""valid_input_sizes: the exact input sizes that work, against brute force (build and run
every size with PyTorch) for a U-Net and three torchvision models, and hand-worked cases."""

from __future__ import annotations

import pytest
from nets_torchvision import brute_sizes, build, unet, unet_upsample

import convproof as cp

TV_REASON = "torchvision is not installed (pip install torch==2.14.1 torchvision==0.29.1)"


def _brute(torch, model, channels, other, stop):
    return brute_sizes(torch, model, channels, other, stop)


def test_hand_worked_residual_pool_and_upsample():
    down = cp.PoolSpec(kind="max", kernel_size=2, ndim=1)
    up = cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=2, stride=2, ndim=1)
    (sizes,) = cp.valid_input_sizes(cp.Network([cp.Residual([("d", down), ("u", up)])]), (1, 9))
    # pool then x2 upsample gives 2 * floor(n / 2): equal to n exactly for even n >= 2
    assert sizes.sizes(20) == [2, 4, 6, 8, 10, 12, 14, 16, 18]
    assert "join 'add'" in sizes.explain(7)
    # planted defect: a 3-wide pool (stride 3) against a x2 upsample: strides differ, refused
    bad = cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=3, stride=3, ndim=1)
    net = cp.Network([cp.Residual([("d", down), ("u", bad)])])
    with pytest.raises(cp.ConvProofError, match="different effective strides"):
        cp.valid_input_sizes(net, (1, 9))


@pytest.mark.parametrize("depth", [2, 3])
def test_unet_sizes_equal_brute_force(torch, depth):
    model = unet(torch, depth=depth)
    sizes = cp.valid_input_sizes(model, (1, 1, 64, 16))
    assert sizes[0].period == 2**depth and sizes[0].residues == frozenset({0})
    assert sizes[0].sizes(300) == _brute(torch, model, 1, 16, 300)
    assert sizes[1].sizes(300) == _brute(torch, model, 1, 16, 300)  # square net: same set
    assert "cat" in sizes[0].explain(2**depth + 1)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "squeezenet1_0"])
def test_torchvision_sizes_equal_brute_force(torch, name):
    pytest.importorskip("torchvision", reason=TV_REASON)
    model = build(name)
    sizes = cp.valid_input_sizes(model, (1, 3, 64, 64))
    assert sizes[0].sizes(120) == _brute(torch, model, 3, 64, 120)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["unet", "unet_upsample", "resnet18", "mobilenet_v2", "squeezenet1_0"]
)
def test_sizes_equal_brute_force_up_to_1000(torch, name):
    if name == "unet":
        model, channels = unet(torch, depth=3), 1
    elif name == "unet_upsample":  # nn.Upsample(scale_factor=2) instead of transposed convs
        model, channels = unet_upsample(torch, depth=3), 1
    else:
        pytest.importorskip("torchvision", reason=TV_REASON)
        model, channels = build(name), 3
    sizes = cp.valid_input_sizes(model, (1, channels, 64, 40))
    assert sizes[0].sizes(1001) == _brute(torch, model, channels, 40, 1001)
