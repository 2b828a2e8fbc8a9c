"""Benchmark :func:`convproof.port` (with its proof) and :func:`convproof.agreement`.

Run ``python benchmarks/bench_ports.py`` (option ``--repeat``).  Goals: ``port`` plus its
proof <= 1 s per layer; ``agreement`` of two specs over all sizes <= 0.5 s.  Medians of
several runs, with the machine's load average (the build machine is shared).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import convproof as cp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import median_time

STEM = dict(in_channels=3, out_channels=64, kernel_size=7, stride=2)
DILATED = dict(in_channels=64, out_channels=64, kernel_size=3, dilation=4)
K11 = dict(in_channels=1, out_channels=1, kernel_size=11, stride=4, dilation=3)
LAYERS = {
    "ResNet stem 7x7/2 SAME": cp.ConvSpec(**STEM, padding="SAME_UPPER"),
    "3x3 dilation 4, reflect": cp.ConvSpec(**DILATED, padding=4, padding_mode="reflect"),
    "transposed 4x4/2 p1": cp.ConvTransposeSpec(
        in_channels=64, out_channels=32, kernel_size=4, stride=2, padding=1
    ),
    "3-D conv 3x3x3/2 SAME_LOWER": cp.ConvSpec(
        in_channels=8, out_channels=8, kernel_size=3, stride=2, padding="SAME_LOWER", ndim=3
    ),
    "max pool 3x3/2 p1 ceil": cp.PoolSpec(
        kind="max", kernel_size=3, stride=2, padding=1, ceil_mode=True
    ),
}
PAIRS = {
    "(k-1)//2 vs SAME, 7x7/2": (cp.ConvSpec(**STEM, padding=3), LAYERS["ResNet stem 7x7/2 SAME"]),
    "k=11 d=3 s=4 p=15 vs SAME": (
        cp.ConvSpec(**K11, padding=15),
        cp.ConvSpec(**K11, padding="SAME_UPPER"),
    ),
    "pool s=3 vs s=2 (lcm 6), ceil": (
        cp.PoolSpec(kind="avg", kernel_size=3, stride=3, padding=1, ceil_mode=True),
        cp.PoolSpec(kind="avg", kernel_size=3, stride=2, padding=1, ceil_mode=True),
    ),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f}")
    worst_port = 0.0
    for name, spec in LAYERS.items():
        for to in cp.FRAMEWORKS:
            try:
                cp.port(spec, to=to)
            except cp.ConvProofError as exc:
                print(f"port  {name:32} -> {to:8}  refused: {exc}")
                continue
            t = median_time(lambda spec=spec, to=to: cp.port(spec, to=to), args.repeat)
            worst_port = max(worst_port, t)
            print(f"port  {name:32} -> {to:8} {t * 1e3:8.1f} ms")
    worst_agree = 0.0
    for name, (a, b) in PAIRS.items():
        t = median_time(lambda a=a, b=b: cp.agreement(a, b), args.repeat)
        worst_agree = max(worst_agree, t)
        print(f"agreement {name:32} {t * 1e3:8.1f} ms   {cp.agreement(a, b)[0]}")
    print(
        f"worst port + proof {worst_port:.3f} s (goal <= 1 s); "
        f"worst agreement {worst_agree:.3f} s (goal <= 0.5 s)"
    )


if __name__ == "__main__":
    main()
