"""Benchmark ``convproof.summary`` on every torchvision model of issue 13 at 224x224
(inception_v3 at 299x299), against ``torchinfo.summary`` (a real forward pass) when it is
installed.

Run ``python benchmarks/bench_summary_torchvision.py`` (``--only resnet50,vit_b_16``,
``--repeat 3``).  Goal: each convproof summary <= 1 s.  Each line: model, convproof's median
time, torchinfo's median time and their ratio, params (convproof vs ``sum(p.numel())``),
layers with unknown MACs.  The machine is shared (2 cores): the load average is printed.
Needs torch and torchvision (``pip install torch==2.14.1 torchvision==0.29.1 torchinfo``).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _timing import median_time
from nets_torchvision import CLASSIFICATION, SEGMENTATION, build

import convproof as cp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated model names")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(CLASSIFICATION + SEGMENTATION)
    try:
        import torchinfo
    except ImportError:
        torchinfo = None
    import torch

    torch.set_num_threads(1)
    print(f"load average {os.getloadavg()}; torch {torch.__version__}, threads 1")
    print(f"{'model':28s} {'convproof':>10s} {'torchinfo':>10s} {'ratio':>6s}  params  unknown")
    worst = 0.0
    for name in names:
        model = build(name).eval()
        n = 299 if name == "inception_v3" else 224
        shape = (1, 3, n, n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = cp.summary(model, shape)
            ours = median_time(lambda m=model, x=shape: cp.summary(m, x), args.repeat)
            peer = None
            if torchinfo is not None:
                peer = median_time(
                    lambda m=model, x=shape: torchinfo.summary(m, x, verbose=0), args.repeat
                )
        worst = max(worst, ours)
        ok = "==" if s.total_params == sum(p.numel() for p in model.parameters()) else "!="
        peer_s = f"{peer:9.3f}s" if peer is not None else "       --"
        ratio = f"{peer / ours:6.2f}" if peer is not None else "    --"
        print(f"{name:28s} {ours:9.3f}s {peer_s} {ratio}  {ok:>6s}  {len(s.unknown_macs)}")
    print(f"slowest convproof summary: {worst:.3f} s (goal <= 1 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
