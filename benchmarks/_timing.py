"""Timing shared by the benchmark scripts: the median of several runs of one callable, and
the BLAS thread count pinned before NumPy starts."""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any


def median_time(fn: Callable[[], Any], repeat: int, warmup: bool = True) -> float:
    """Median wall time of ``repeat`` calls of ``fn`` (after one untimed call if ``warmup``)."""
    if warmup:
        fn()
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def pin_blas_threads(threads: str) -> None:
    """Run this script again with NumPy's BLAS (OpenBLAS, OpenMP, MKL) pinned to ``threads``.

    BLAS reads its thread count only at start-up, so the script re-executes itself with the
    variables set (once: the new process finds them set and returns at once).
    """
    if os.environ.get("OPENBLAS_NUM_THREADS") != threads:
        names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
        env = {**os.environ, **dict.fromkeys(names, threads)}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
