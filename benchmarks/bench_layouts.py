"""What a data or weight layout costs: :func:`convproof.conv` and :func:`convproof.conv_matrix`
in NHWC / HWIO against the same call channels-first, in one process.

Run ``python benchmarks/bench_layouts.py`` (option ``--repeat``).  The layout route moves
the axes (views), computes channels-first and returns a C-contiguous NHWC copy, so its cost
is two copies of the data; the matrix route permutes the rows and columns of the CSR
matrix.  No goal is set by an issue; the figures are reported.  The test suite does not
run this script.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import convproof as cp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import median_time


def conv_case(repeat: int, n: int = 8, c: int = 64, size: int = 56) -> tuple[float, float]:
    """Seconds for ``cp.conv`` of a 3x3 ``c -> c`` layer on ``(n, c, size, size)``: channels
    first, and NHWC / HWIO."""
    spec = cp.ConvSpec(in_channels=c, out_channels=c, kernel_size=3, padding=1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, size, size)).astype(np.float32)
    w = rng.standard_normal(spec.weight_shape).astype(np.float32)
    x_nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    w_hwio = np.ascontiguousarray(w.transpose(2, 3, 1, 0))
    first = median_time(lambda: cp.conv(spec, x, w), repeat)
    last = median_time(
        lambda: cp.conv(spec, x_nhwc, w_hwio, layout="NHWC", weight_layout="HWIO"), repeat
    )
    return first, last


def matrix_case(
    repeat: int, c_in: int = 16, c_out: int = 32, size: int = 64
) -> tuple[float, float]:
    """Seconds for the numeric ``cp.conv_matrix`` of a 3x3 layer, channels first and HWC."""
    spec = cp.ConvSpec(in_channels=c_in, out_channels=c_out, kernel_size=3, padding=1)
    w = np.random.default_rng(0).standard_normal(spec.weight_shape)
    first = median_time(lambda: cp.conv_matrix(spec, (c_in, size, size), w), repeat)
    last = median_time(lambda: cp.conv_matrix(spec, (size, size, c_in), w, layout="HWC"), repeat)
    return first, last


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    first, last = conv_case(args.repeat)
    print(f"conv 8x64x56x56, 3x3 64->64 float32: NCHW/OIHW {first * 1e3:.1f} ms, "
          f"NHWC/HWIO {last * 1e3:.1f} ms ({last / first:.2f}x)")  # fmt: skip
    first, last = matrix_case(args.repeat)
    print(f"conv_matrix 16->32, 64x64, 3x3: CHW {first * 1e3:.0f} ms, HWC {last * 1e3:.0f} ms "
          f"({last / first:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
