"""Run the checkers on correct implementations over many seeds: any failure is a false alarm.

The comparison of ``check_conv`` and friends is exact where every partial sum is exact and
within the dot-product bound ``gamma_n * sum|x*w|`` otherwise; this script shows that correct
float64 (and float32) convolutions -- convproof's own, and PyTorch's functionals when
installed, passed to the checkers as they are -- pass on every seed.  Usage::

    python benchmarks/check_false_alarms.py --seeds 20 [--torch-seeds 5]

Prints one line per (implementation, dtype) with the number of failing seeds (must be 0) and
exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from typing import Any

import convproof as cp


def _numpy_conv(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
                dilation: Any = 1, groups: int = 1) -> Any:  # fmt: skip
    spec = cp.ConvSpec(
        in_channels=x.shape[1], out_channels=weight.shape[0], kernel_size=weight.shape[2:],
        stride=stride, padding=padding, dilation=dilation, groups=groups,
        bias=bias is not None,
    )  # fmt: skip
    return cp.conv(spec, x, weight, bias)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--torch-seeds", type=int, default=5)
    args = parser.parse_args()
    cases: list[tuple[str, Callable[..., cp.CheckResult], Callable[..., Any], dict, int]] = [
        ("numpy conv2d", cp.check_conv, _numpy_conv, {}, args.seeds),
        ("numpy conv2d float32", cp.check_conv, _numpy_conv, {"dtype": "float32"}, args.seeds),
    ]
    try:
        import torch

        torch.set_num_threads(1)
        for layer, name, ndim in [("conv", "conv2d", 2), ("conv", "conv1d", 1),
                                  ("conv", "conv3d", 3),
                                  ("conv_transpose", "conv_transpose2d", 2),
                                  ("max", "max_pool2d", 2), ("avg", "avg_pool2d", 2)]:  # fmt: skip
            checker: Callable[..., cp.CheckResult] = {
                "conv": cp.check_conv, "conv_transpose": cp.check_conv_transpose,
                "max": lambda f, **k: cp.check_pool(f, kind="max", **k),
                "avg": lambda f, **k: cp.check_pool(f, kind="avg", **k),
            }[layer]  # fmt: skip
            for dtype in ("float64", "float32"):
                cases.append((f"torch {name} {dtype}", checker, getattr(torch.nn.functional, name),
                              {"ndim": ndim, "dtype": dtype}, args.torch_seeds))  # fmt: skip
    except ImportError:
        print("PyTorch not installed: only NumPy cases")
    bad = 0
    for label, checker, fn, options, seeds in cases:
        failing = []
        for seed in range(seeds):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", cp.UnexercisedWarning)
                result = checker(fn, seed=seed, **options)
            if not result:
                failing.append(seed)
                print(result)
        bad += len(failing)
        print(f"{label}: {seeds} seeds x 100 examples, failing seeds: {failing or 'none'}",
              flush=True)  # fmt: skip
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
