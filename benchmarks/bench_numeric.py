"""Benchmark ``convproof.conv`` against PyTorch CPU (``torch.nn.functional.conv2d``).

Run ``python benchmarks/bench_numeric.py`` (options: ``--repeat``, ``--rounds``,
``--floors``, ``--dtypes``).  For every
case and dtype it reports the median time of ``--repeat`` runs (after one warm-up) for
convproof and for PyTorch in the same process, and their ratio; then the median ratio over
the suite per dtype (the goal is <= 1.0).  PyTorch and NumPy's BLAS use the same number of
threads (``--threads``, default: the number of cores; the script restarts itself with
``OPENBLAS_NUM_THREADS`` set to it).  ``--order`` chooses blocked (default) or interleaved
timing (see :func:`_median_times`).  ``--rounds R`` runs the suite R times and reports per
case the median over rounds (PyTorch's own time varies by up to 2.5x between runs on this
machine); ``--floors`` adds the time of the unavoidable part of a NumPy convolution (see
:func:`_floor_fn`), the bound any im2col route meets.  It also measures how many small generated
problems per second :func:`convproof.check_conv` runs (the goal is >= 50).

The test suite does not run this script; ``tests/test_numeric.py`` imports it with tiny
sizes as a smoke test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import convproof as cp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import pin_blas_threads
from check_false_alarms import _numpy_conv  # the correct conv the checkers are run on

#: (name, input shape, out_channels, kernel, padding, dilation, groups)
CASES: list[tuple[str, tuple[int, ...], int, int, int, int, int]] = [
    ("224x224 3->64 3x3 p1", (1, 3, 224, 224), 64, 3, 1, 1, 1),
    ("8x64x56x56 ->64 3x3 p1", (8, 64, 56, 56), 64, 3, 1, 1, 1),
    ("256x14x14 ->256 3x3 p1", (1, 256, 14, 14), 256, 3, 1, 1, 1),
    ("3x32x32 ->5 5x5", (1, 3, 32, 32), 5, 5, 0, 1, 1),
    ("4x32x28x28 depthwise 3x3", (4, 32, 28, 28), 32, 3, 0, 1, 32),
    ("16x64x64 3x3 d2 p2", (1, 16, 64, 64), 16, 3, 2, 2, 1),
]

TINY_CASES: list[tuple[str, tuple[int, ...], int, int, int, int, int]] = [
    ("tiny", (1, 2, 6, 6), 2, 3, 1, 1, 1),
    ("tiny depthwise", (1, 2, 6, 6), 2, 3, 0, 1, 2),
]


def _median_times(
    fns: list[Callable[[], Any]],
    repeat: int,
    clock: Callable[[], float] = time.perf_counter,
    order: str = "blocked",
) -> list[float]:
    """Median time of each function over ``repeat`` timed runs.

    ``order="blocked"`` (default) times each function in runs of its own, in the symmetric
    order A B ... B A (two blocks each of ``ceil(repeat / 2)`` runs, each block after one
    untimed warm-up run).  ``order="interleaved"`` alternates A B A B ... run by run.  On a
    small machine interleaving measures mostly the interference of the two thread pools
    (OpenBLAS and PyTorch's OpenMP workers keep spinning for a while after a call, taking the
    cores the other library needs), so both sides look several times slower than when called
    repeatedly on their own.

    ``clock`` is wall time by default; ``time.process_time`` (CPU time of this process) is
    steadier on a shared machine, and fair when both sides use one thread.
    """
    for fn in fns:
        fn()  # warm-up
    times: list[list[float]] = [[] for _ in fns]
    if order == "interleaved":
        for _ in range(repeat):
            for fn, bucket in zip(fns, times):
                t0 = clock()
                fn()
                bucket.append(clock() - t0)
        return [statistics.median(bucket) for bucket in times]
    per_block = -(-repeat // 2)
    idx = list(range(len(fns)))
    for i in idx + idx[::-1]:
        fns[i]()  # untimed: lets the other library's threads go quiet
        for _ in range(per_block):
            t0 = clock()
            fns[i]()
            times[i].append(clock() - t0)
    return [statistics.median(bucket) for bucket in times]


def _floor_fn(spec: Any, x_shape: tuple[int, ...], dtype: str) -> Callable[[], Any]:
    """The part of ``cp.conv`` no NumPy route can avoid, on operands built beforehand.

    With channel mixing it is the im2col GEMM alone, ``(G, C_out/G, C_in/G * taps)`` times
    ``(G, C_in/G * taps, N * prod(out))``; with one input channel per group it is one
    multiply and one add per tap over an output-sized array (NumPy has no fused
    multiply-add).  The ratio of this time to PyTorch's whole convolution bounds what any
    im2col / per-tap NumPy implementation can reach on this machine.
    """
    rng = np.random.default_rng(1)
    out = spec.output_shape(x_shape)
    g, cin_g = spec.groups, spec.in_channels // spec.groups
    taps = int(np.prod(spec.kernel_size))
    columns = out[0] * int(np.prod(out[2:]))
    if cin_g == 1:
        acc = np.zeros((spec.out_channels, columns), dtype=dtype)
        src = rng.standard_normal(acc.shape).astype(dtype)
        scale = rng.standard_normal((spec.out_channels, 1)).astype(dtype)
        buf = np.empty_like(acc)

        def passes() -> Any:
            for _ in range(taps):
                np.multiply(src, scale, out=buf)
                np.add(acc, buf, out=acc)
            return acc

        return passes
    a = rng.standard_normal((g, spec.out_channels // g, cin_g * taps)).astype(dtype)
    b = rng.standard_normal((g, cin_g * taps, columns)).astype(dtype)
    return lambda: np.matmul(a, b)


def run_conv_suite(
    cases: list[tuple[str, tuple[int, ...], int, int, int, int, int]] = CASES,
    dtypes: tuple[str, ...] = ("float32", "float64"),
    repeat: int = 7,
    threads: int | None = None,
    verbose: bool = True,
    clock: Callable[[], float] = time.perf_counter,
    order: str = "blocked",
    floors: bool = False,
) -> dict[str, list[dict[str, Any]]]:
    """Time every case in every dtype; return ``{dtype: [row, ...]}`` (rows hold the ratio).

    With ``floors`` each row also holds ``floor_ms`` and ``floor_ratio``: see :func:`_floor_fn`.
    """
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads or os.cpu_count() or 1)
    rng = np.random.default_rng(0)
    results: dict[str, list[dict[str, Any]]] = {}
    for dtype in dtypes:
        rows: list[dict[str, Any]] = []
        for name, shape, c_out, k, p, d, g in cases:
            spec = cp.ConvSpec(
                in_channels=shape[1],
                out_channels=c_out,
                kernel_size=k,
                padding=p,
                dilation=d,
                groups=g,
                bias=False,
            )
            x = rng.standard_normal(shape).astype(dtype)
            w = rng.standard_normal(spec.weight_shape).astype(dtype)
            xt, wt = torch.from_numpy(x), torch.from_numpy(w)
            ours = cp.conv(spec, x, w)
            with torch.no_grad():
                theirs = F.conv2d(xt, wt, padding=p, dilation=d, groups=g).numpy()
            tol = 1e-3 if dtype == "float32" else 1e-9
            if not np.allclose(ours, theirs, rtol=tol, atol=tol * 10):
                raise AssertionError(f"{name} {dtype}: convproof and PyTorch disagree")

            def run_torch(xt: Any = xt, wt: Any = wt, p: int = p, d: int = d, g: int = g) -> Any:
                with torch.no_grad():
                    return F.conv2d(xt, wt, padding=p, dilation=d, groups=g)

            def run_ours(spec: Any = spec, x: Any = x, w: Any = w) -> Any:
                return cp.conv(spec, x, w)

            fns = [run_ours, run_torch]
            if floors:
                fns.append(_floor_fn(spec, shape, dtype))
            t_ours, t_torch, *t_floor = _median_times(fns, repeat, clock, order)
            row: dict[str, Any] = {
                "case": name,
                "ours_ms": 1e3 * t_ours,
                "torch_ms": 1e3 * t_torch,
                "ratio": t_ours / t_torch,
            }
            if floors:
                row["floor_ms"] = 1e3 * t_floor[0]
                row["floor_ratio"] = t_floor[0] / t_torch
            rows.append(row)
            if verbose:
                floor_text = (
                    f"   floor {row['floor_ms']:9.3f} ms = {row['floor_ratio']:5.2f}"
                    if floors
                    else ""
                )
                print(
                    f"{dtype:8s} {name:28s} convproof {row['ours_ms']:9.3f} ms   "
                    f"torch {row['torch_ms']:9.3f} ms   ratio {row['ratio']:6.2f}{floor_text}"
                )
        results[dtype] = rows
        if verbose:
            med = statistics.median(r["ratio"] for r in rows)
            print(f"{dtype:8s} median ratio convproof/torch over {len(rows)} cases: {med:.2f}")
    return results


def summarize(rounds: list[dict[str, list[dict[str, Any]]]], verbose: bool = True) -> dict:
    """Combine several rounds of :func:`run_conv_suite`: per case, the median over rounds.

    Returns ``{dtype: {"median": m, "rounds": [m_1, ...], "floor": f or None}}``: the suite
    median of the per-case median ratios, each round's own suite median, and the suite
    median of the per-case floor ratios (when measured).
    """
    summary: dict[str, dict[str, Any]] = {}
    for dtype in rounds[0]:
        names = [row["case"] for row in rounds[0][dtype]]

        def case_medians(key: str, dtype: str = dtype, cases: int = len(names)) -> list[float]:
            return [statistics.median(r[dtype][i][key] for r in rounds) for i in range(cases)]

        per_case = case_medians("ratio")
        per_round = [statistics.median(row["ratio"] for row in r[dtype]) for r in rounds]
        has_floor = "floor_ratio" in rounds[0][dtype][0]
        floor = statistics.median(case_medians("floor_ratio")) if has_floor else None
        summary[dtype] = {
            "median": statistics.median(per_case),
            "rounds": per_round,
            "floor": floor,
        }
        if verbose:
            cases = ", ".join(f"{n} {v:.2f}" for n, v in zip(names, per_case))
            print(f"{dtype}: per-case median ratio over {len(rounds)} round(s): {cases}")
            text = ", ".join(f"{m:.2f}" for m in per_round)
            print(
                f"{dtype}: suite median ratio {summary[dtype]['median']:.2f} "
                f"(rounds: {text})"
                + (f"; suite median of the floors {floor:.2f}" if floor is not None else "")
            )
    return summary


def run_check_rate(max_examples: int = 200, verbose: bool = True) -> float:
    """Problems per second that ``check_conv`` runs on a correct implementation."""

    with warnings.catch_warnings():  # a rate, not a verdict: coverage warnings do not matter
        warnings.simplefilter("ignore", cp.UnexercisedWarning)
        result = cp.check_conv(_numpy_conv, max_examples=max_examples)
    rate = result.examples_run / result.seconds
    if verbose:
        print(
            f"check_conv: {result.examples_run} problems in {result.seconds:.2f} s "
            f"= {rate:.0f} problems/s (passed={result.passed})"
        )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--check-examples", type=int, default=300)
    parser.add_argument(
        "--check-only", action="store_true",
        help="only measure the check_conv rate (problems/s), not the convolution suite",
    )  # fmt: skip
    parser.add_argument(
        "--clock", choices=["wall", "cpu"], default="wall",
        help="wall time (default) or this process's CPU time (steadier on a shared machine)",
    )  # fmt: skip
    parser.add_argument(
        "--order", choices=["blocked", "interleaved"], default="blocked",
        help="time each side in blocks of its own runs (default) or alternate run by run",
    )  # fmt: skip
    parser.add_argument(
        "--rounds", type=int, default=1,
        help="run the whole suite this many times; report per-case medians over the rounds",
    )  # fmt: skip
    parser.add_argument(
        "--floors", action="store_true",
        help="also time the part no NumPy route avoids (the GEMM, or the depthwise passes)",
    )  # fmt: skip
    args = parser.parse_args()
    threads = str(args.threads or os.cpu_count() or 1)
    # the same count as PyTorch's (otherwise --threads 1 would time 1 against 2 threads)
    pin_blas_threads(threads)
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    if args.check_only:
        run_check_rate(args.check_examples)
        return
    print(
        f"numpy {np.__version__}, clock={args.clock}, order={args.order}, "
        f"threads={threads} (PyTorch and NumPy's BLAS), "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )
    rounds = [
        run_conv_suite(
            dtypes=tuple(args.dtypes.split(",")),
            repeat=args.repeat,
            threads=args.threads,
            clock=clock,
            order=args.order,
            floors=args.floors,
        )
        for _ in range(args.rounds)
    ]
    summarize(rounds)
    run_check_rate(args.check_examples)


if __name__ == "__main__":
    main()
