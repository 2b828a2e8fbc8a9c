"""check_pool_backward(kind="lp"): PyTorch's linear Lp pool (norm_type=1) backward.

The reference here is a loop written from the definition (each window's gradient is
``prod(k) / taps inside`` times ``grad_output``), and PyTorch's autograd where it agrees.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import convproof as cp


def loop_lp1_backward(grad_output, x, norm_type, kernel_size, stride, ceil_mode):
    """Independent on purpose: the transpose of sum * prod(k) / taps-inside, by loops
    (PyTorch's LPPool has no padding and no dilation)."""
    assert norm_type == 1
    gi = np.zeros_like(np.asarray(x, dtype=np.float64))
    spatial = x.shape[2:]
    for n, c in np.ndindex(*x.shape[:2]):
        for a in np.ndindex(*grad_output.shape[2:]):
            taps = [
                tuple(ai * s + u for ai, s, u in zip(a, stride, us))
                for us in np.ndindex(*kernel_size)
            ]
            inside = [t for t in taps if all(0 <= ti < i for ti, i in zip(t, spatial))]
            for t in inside:
                gi[(n, c, *t)] += grad_output[(n, c, *a)] * math.prod(kernel_size) / len(inside)
    return gi


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_a_correct_lp_backward_passes(ndim) -> None:
    result = cp.check_pool_backward(loop_lp1_backward, kind="lp", ndim=ndim, max_examples=25)
    assert result, result


@pytest.mark.parametrize(
    "defect",
    [
        "average",  # forgets the prod(k) scale: avg pool's gradient
        "sum",  # a plain sum pool's gradient: wrong only on a ceil-mode overhang
    ],
)
def test_planted_lp_backward_defects_are_caught(defect) -> None:
    def wrong(grad_output, x, norm_type, kernel_size, stride, ceil_mode):
        gi = loop_lp1_backward(grad_output, x, norm_type, kernel_size, stride, ceil_mode)
        if defect == "average":
            return gi / math.prod(kernel_size)
        return _sum(grad_output, x, kernel_size, stride)  # no prod(k)/inside in the overhang

    result = cp.check_pool_backward(wrong, kind="lp", ndim=1, max_examples=100, seed=0)
    assert not result
    assert result.counterexample.reason == "values differ"


def _sum(grad_output, x, kernel_size, stride):
    gi = np.zeros_like(np.asarray(x, dtype=np.float64))
    for n, c in np.ndindex(*x.shape[:2]):
        for a in np.ndindex(*grad_output.shape[2:]):
            for us in np.ndindex(*kernel_size):
                t = tuple(ai * s + u for ai, s, u in zip(a, stride, us))
                if all(0 <= ti < i for ti, i in zip(t, x.shape[2:])):
                    gi[(n, c, *t)] += grad_output[(n, c, *a)]
    return gi


def test_only_the_linear_lp_pool(torch) -> None:
    with pytest.raises(cp.ConvProofError, match=r"norm_types=\(1,\)"):
        cp.check_pool_backward(loop_lp1_backward, kind="lp", norm_types=(2,))
    with pytest.raises(cp.ConvProofError, match="got norm_types=\\(1,\\), legality='onnx'"):
        cp.check_pool_backward(loop_lp1_backward, kind="lp", legality="onnx")
    assert cp.check_pool_backward(loop_lp1_backward, kind="lp", norm_types=[1], max_examples=5)
    with pytest.raises(cp.ConvProofError, match="kind must be 'max', 'avg' or 'lp'"):
        cp.check_pool_backward(loop_lp1_backward, kind="sum")


def test_pytorch_lp1_gradient_vanishes_where_a_window_sums_to_zero(torch) -> None:
    """Found here: torch computes lp_pool as sign(s) * relu(|s|) ... , so its autograd gives
    0 on a window whose sum is 0, although the layer (p = 1) is linear there with gradient
    prod(k)/taps.  The checker reports it; elsewhere torch's gradient is the transpose."""

    def torch_lp(grad_output, x, norm_type, kernel_size, stride, ceil_mode):
        xt = torch.tensor(x, requires_grad=True)
        fn = {1: torch.nn.functional.lp_pool1d, 2: torch.nn.functional.lp_pool2d,
              3: torch.nn.functional.lp_pool3d}[x.ndim - 2]  # fmt: skip
        k, s = (kernel_size[0], stride[0]) if x.ndim == 3 else (kernel_size, stride)
        fn(xt, norm_type, k, s, ceil_mode=ceil_mode).backward(torch.tensor(grad_output))
        return xt.grad.numpy()

    x = np.array([[[1.0, -1.0, 1.0, 2.0]]])
    g = np.ones((1, 1, 2))
    got = torch_lp(g, x, 1, (2,), (2,), False)
    assert got.tolist() == [[[0.0, 0.0, 1.0, 1.0]]]  # the first window sums to 0
    assert loop_lp1_backward(g, x, 1, (2,), (2,), False).tolist() == [[[1.0, 1.0, 1.0, 1.0]]]
    result = cp.check_pool_backward(torch_lp, kind="lp", ndim=1, max_examples=100, seed=0)
    assert not result  # the generated inputs include all-zero windows
    ce = result.counterexample
    assert ce.reason == "values differ"
    # ... and the counterexample is such a window: torch gives 0 where the transpose is not
    assert ce.got[ce.index] == 0 and ce.expected[ce.index] != 0
