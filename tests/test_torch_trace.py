"""The shape shortcuts of convproof.networks.torch_trace against PyTorch running the module,
and the inputs they must leave to PyTorch (which then raises, reported as ConvProofError)."""

from __future__ import annotations

import pytest

import convproof as cp
from convproof.networks.torch_trace import module_result

pytestmark = pytest.mark.torch


def _cases(nn):
    act = [nn.ReLU(), nn.ReLU6(), nn.Hardtanh(), nn.LeakyReLU(), nn.ELU(), nn.SELU(), nn.CELU()]
    act += [nn.GELU(), nn.SiLU(), nn.Mish(), nn.Sigmoid(), nn.Tanh(), nn.Hardswish()]
    act += [nn.Hardsigmoid(), nn.Softplus(), nn.Dropout(), nn.Dropout2d(), nn.Identity()]
    x4 = (2, 6, 5, 3)
    cases = [(m, x4) for m in act]
    cases += [(nn.BatchNorm1d(6), (2, 6)), (nn.BatchNorm1d(6), (2, 6, 7))]
    cases += [(nn.BatchNorm2d(6), x4), (nn.BatchNorm3d(6), (1, 6, 2, 3, 4))]
    cases += [(nn.GroupNorm(3, 6), x4), (nn.LayerNorm(3), x4), (nn.LayerNorm((5, 3)), x4)]
    cases += [(nn.Linear(3, 4), x4), (nn.Linear(3, 4, bias=False), (3,))]
    return cases


def test_shortcut_shapes_equal_pytorch_running_the_module(torch):
    for module, shape in _cases(torch.nn):
        module.eval()
        x = torch.randn(shape)
        out = module_result(torch, module, (x,), {})
        assert out is not None, type(module).__name__
        expected = module(x)
        assert out.shape == expected.shape and out.dtype == expected.dtype, module


@pytest.mark.parametrize(
    "build, shape",
    [
        (lambda nn: nn.BatchNorm2d(5), (1, 6, 4, 4)),  # channels do not fit
        (lambda nn: nn.BatchNorm2d(6), (6, 4, 4)),  # 2d needs a 4-D input
        (lambda nn: nn.BatchNorm1d(6), (1, 6, 4, 4)),
        (lambda nn: nn.GroupNorm(2, 4), (1, 6, 4, 4)),
        (lambda nn: nn.LayerNorm(5), (1, 6, 4, 4)),
        (lambda nn: nn.Linear(5, 2), (1, 6, 4, 4)),
    ],
)
def test_inputs_a_module_rejects_are_left_to_pytorch(torch, build, shape):
    module = build(torch.nn).eval()
    assert module_result(torch, module, (torch.zeros(shape),), {}) is None
    with pytest.raises((RuntimeError, ValueError)):  # PyTorch rejects the input itself
        module(torch.zeros(shape))
    if len(shape) == 4:  # a conv first: summary then reads the shape as (N, C, H, W)
        model = torch.nn.Sequential(torch.nn.Conv2d(6, 6, 1), module)
        with pytest.raises(cp.ConvProofError, match="shape propagation failed"):
            cp.summary(model, shape)


def test_subclasses_and_other_calls_are_not_shortcut(torch):
    nn = torch.nn

    class Doubling(nn.ReLU):  # a subclass may change the shape
        def forward(self, x):
            return torch.cat([x, x], 1)

    x = torch.zeros(1, 2, 3, 3)
    assert module_result(torch, Doubling(), (x,), {}) is None
    assert module_result(torch, nn.ReLU(), (x, x), {}) is None
    assert module_result(torch, nn.Softmax(1), (x,), {}) is None
    s = cp.summary(nn.Sequential(nn.Conv2d(2, 2, 1), Doubling()), (1, 2, 3, 3))
    assert s.output_shape == (1, 4, 3, 3)
