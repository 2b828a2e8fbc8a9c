"""Compare ``convproof.summary`` with torchinfo and fvcore (and torchvision's published figures)
on every torchvision model of issue 13 at 224x224 (inception_v3 at 299x299).

Run ``python benchmarks/compare_summary_tools.py`` (``--only resnet50,vit_b_16``,
``--repeat 3``, ``--details``).  Prints a markdown table: parameters (convproof, PyTorch's
``sum(p.numel())``, torchinfo, fvcore and torchvision's published count, ``=`` when all
agree), GMACs (convproof's known part with the number of layers whose MACs are unknown,
torchvision's published "GFLOPS", torchinfo's "Total mult-adds", fvcore's total "flops"),
and the median wall time of ``cp.summary`` (no forward pass) and ``torchinfo.summary`` (a real
forward pass) with their ratio.  ``--details`` adds, per model, torchinfo's difference split
by cause (``tests/summary_peers.py`` explains the conventions) and fvcore's split by operator.
The machine is shared (2 cores): the load average is printed.  Needs torch, torchvision and
torchinfo (fvcore optional: ``pip install torch==2.14.1 torchvision==0.29.1 torchinfo fvcore``).
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
from summary_peers import MODELS, compare, inference_model, input_shape

import convproof as cp


def _g(macs: int | float | None) -> str:
    return "--" if macs is None else f"{macs / 1e9:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated model names")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--details", action="store_true", help="print the differences by cause")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(MODELS)
    import torch
    import torchinfo

    torch.set_num_threads(1)
    print(f"load average {os.getloadavg()}; torch {torch.__version__}, threads 1\n")
    print(
        "| model | params | convproof GMACs (unknown) | published | torchinfo | fvcore "
        "| convproof s | torchinfo s | ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    worst, details = 0.0, []
    for name in names:
        c = compare(name)
        model, shape = inference_model(name), input_shape(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = median_time(lambda m=model, x=shape: cp.summary(m, x), args.repeat)
            peer = median_time(
                lambda m=model, x=shape: torchinfo.summary(m, x, verbose=0, mode="eval"),
                args.repeat,
            )
        worst = max(worst, ours)
        counts = {c.params, c.cp_params, c.torchinfo_params}
        counts |= {v for v in (c.fvcore_params, c.published_params) if v is not None}
        params = f"{c.params:,}" + ("" if len(counts) == 1 else f" (differ: {sorted(counts)})")
        unknown = f" ({len(c.cp_unknown)})" if c.cp_unknown else ""
        pub = "--" if c.published_gmacs is None else f"{c.published_gmacs:.3f}"
        label = name if c.size == 224 else f"{name} ({c.size})"
        fv = _g(c.fvcore_flops) if not c.fvcore_error else "failed"
        print(
            f"| {label} | {params} | {_g(c.cp_macs)}{unknown} | {pub} | {_g(c.torchinfo_macs)} "
            f"| {fv} | {ours:.2f} | {peer:.2f} | {peer / ours:.1f} |"
        )
        split = ", ".join(f"{k} {v / 1e6:+,.1f}M" for k, v in c.torchinfo_diff.items())
        ops = ", ".join(f"{k} {v / 1e6:,.1f}M" for k, v in c.fvcore_by_op.items())
        details.append(
            f"{name}: torchinfo - convproof = {split or '0'}; "
            f"fvcore: {ops or c.fvcore_error}; convproof conv+linear {c.cp_linear_macs / 1e6:,.1f}M"
        )
    if args.details:
        print("\n" + "\n".join(details))
    print(f"\nslowest convproof summary: {worst:.3f} s (goal <= 1 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
