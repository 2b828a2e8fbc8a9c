"""Benchmark :func:`convproof.prove` against a naive SymPy proof, in one process.

Run ``python benchmarks/bench_proof.py`` (options: ``--repeat``, ``--naive-repeat``,
``--skip-vgg``, ``--skip-naive``).  It reports medians of several runs and:

1. the seed cases 3x25x25 -> 5 kernels 3x3 (same padding) and 3x32x32 -> 1 kernel 5x5:
   ``prove`` vs the naive proof (``expand(T*x + b - sliding_sum) == 0`` row by row with the
   symbolic ``conv_matrix``), and the ratio (goals: <= 0.5 s each, >= 30x faster);
2. VGG's first layer, 3x224x224 -> 64 kernels 3x3, padding 1 (about 87 M monomials): time
   and peak resident memory of a child process that only runs this proof (goals: <= 60 s,
   <= 8 GB);
3. the general 2-D proof with symbolic sizes (goal: <= 10 s).

The machine's load average is printed with the figures: the build machine is shared, and a
loaded machine inflates every time.  The test suite does not run this script;
``tests/test_proof.py`` imports it and calls its functions with tiny sizes as a smoke test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import sympy

import convproof as cp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import median_time

# --------------------------------------------------------------------------------------
# the peer: a naive SymPy proof
# --------------------------------------------------------------------------------------


def naive_prove(spec: Any, input_shape: tuple[int, ...]) -> bool:
    """``expand(T*x + b - sliding_sum) == 0`` row by row (symbolic matrix, SymPy only)."""
    syms = cp.layer_symbols(spec, input_shape)
    x = sympy.Matrix(list(sympy.flatten(syms.X.tolist())))
    T = cp.conv_matrix(spec, input_shape)
    b = cp.bias_vector(spec, input_shape)
    z = list(sympy.flatten(cp.sliding_sum(spec, input_shape).tolist()))
    rows: dict[int, list[tuple[int, Any]]] = {}
    for (r, c), entry in T.todok().items():  # the non-zeros of T, row by row
        rows.setdefault(r, []).append((c, entry))
    for r in range(T.shape[0]):
        tx = sympy.Add(*(entry * x[c] for c, entry in rows.get(r, [])))
        if sympy.expand(tx + b[r] - z[r]) != 0:
            return False
    return True


# --------------------------------------------------------------------------------------
# cases
# --------------------------------------------------------------------------------------


def seed_cases(n25: int = 25, n32: int = 32) -> list[tuple[str, Any, tuple[int, ...]]]:
    same = cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3, padding="same")
    five = cp.ConvSpec(in_channels=3, out_channels=1, kernel_size=5)
    return [
        (f"3x{n25}x{n25} -> 5, 3x3 same", same, (3, n25, n25)),
        (f"3x{n32}x{n32} -> 1, 5x5", five, (3, n32, n32)),
    ]


def bench_seed(repeat: int, naive_repeat: int, skip_naive: bool, **sizes: int) -> list[dict]:
    rows = []
    for name, spec, shape in seed_cases(**sizes):
        result = cp.prove(spec, shape, crosscheck=False)
        assert result, str(result)
        ours = median_time(lambda s=spec, sh=shape: cp.prove(s, sh, crosscheck=False), repeat)
        row: dict[str, Any] = {"case": name, "monomials": result.monomials, "prove_s": ours}
        if not skip_naive:
            assert naive_prove(spec, shape)
            naive = median_time(
                lambda s=spec, sh=shape: naive_prove(s, sh), naive_repeat, warmup=False
            )
            row.update(naive_s=naive, ratio=naive / ours)
        rows.append(row)
    return rows


def vgg_child(size: int = 224, channels: int = 64) -> dict[str, Any]:
    """Run in a fresh process: prove VGG's first layer, report time and peak RSS."""
    spec = cp.ConvSpec(in_channels=3, out_channels=channels, kernel_size=3, padding=1)
    t0 = time.perf_counter()
    result = cp.prove(spec, (3, size, size))
    seconds = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "status": result.status,
        "monomials": result.monomials,
        "seconds": seconds,
        "peak_rss_gb": peak_kb / 2**20,
    }


def bench_vgg(size: int = 224, channels: int = 64) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--vgg-child", str(size), str(channels)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def bench_general(repeat: int, cases: int = 60) -> dict[str, Any]:
    result = cp.prove_general(kind="conv", ndim=2, cases=cases)
    assert result, str(result)
    seconds = median_time(lambda: cp.prove_general(kind="conv", ndim=2, cases=cases), repeat)
    every = median_time(lambda: cp.prove_general(kind="all", ndim=2, cases=cases), 1, False)
    return {"conv_2d_s": seconds, "all_2d_s": every, "spot_check_cases": cases}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--naive-repeat", type=int, default=1)
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--skip-vgg", action="store_true")
    parser.add_argument("--vgg-child", nargs=2, type=int, metavar=("SIZE", "CHANNELS"))
    args = parser.parse_args(argv)
    if args.vgg_child:
        print(json.dumps(vgg_child(*args.vgg_child)))
        return
    print(f"load average before: {os.getloadavg()}", flush=True)
    for row in bench_seed(args.repeat, args.naive_repeat, args.skip_naive):
        line = (
            f"{row['case']:<26} {row['monomials']:>9} monomials  "
            f"prove {row['prove_s'] * 1e3:.2f} ms"
        )
        if "naive_s" in row:
            line += f"  naive {row['naive_s']:.1f} s  ratio {row['ratio']:.0f}x"
        print(line, flush=True)
    if not args.skip_vgg:
        vgg = bench_vgg()
        print(
            f"VGG first layer 3x224x224 -> 64, 3x3 p1: {vgg['status']}, {vgg['monomials']} "
            f"monomials, {vgg['seconds']:.1f} s, peak RSS {vgg['peak_rss_gb']:.2f} GB",
            flush=True,
        )
    gen = bench_general(args.repeat)
    print(
        f"general 2-D proof (symbolic sizes, {gen['spot_check_cases']} spot-check cases): "
        f"{gen['conv_2d_s']:.2f} s; all four identities: {gen['all_2d_s']:.2f} s"
    )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
