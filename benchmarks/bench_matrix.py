"""Benchmark :func:`convproof.conv_matrix` against named peers, in one process.

Run ``python benchmarks/bench_matrix.py`` (options: ``--repeat``, ``--jacrev-repeat``,
``--skip-jacrev-64``).  It reports medians of several runs and ratios against:

1. ``torch.func.jacrev`` of ``conv2d`` (the dense Jacobian = the conv matrix) at
   3x32x32 -> 5 channels and 3x64x64 -> 5, 3x3 kernel, padding 1 (goals: >= 100x and >= 1000x
   faster);
2. a plain vectorized NumPy COO build (every (output channel, input channel, position, tap)
   as one COO entry, masked, then ``coo_array(...).tocsr()``) for 16 -> 32 channels,
   64x64, 3x3, padding 1, 18.5 M non-zeros: time (goal: no slower) and peak traced memory
   beyond the final CSR (``tracemalloc``; goal: peak <= 2x the final CSR's bytes);
3. the symbolic matrix of the seed case 3x25x25 -> 5 kernels 3x3, same padding (goal: <= 2 s).

The test suite does not run this script; ``tests/test_matrix.py`` imports it and calls its
functions with tiny sizes as a smoke test.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse

import convproof as cp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import median_time


def _spec(c_in: int, c_out: int) -> cp.ConvSpec:
    return cp.ConvSpec(in_channels=c_in, out_channels=c_out, kernel_size=3, padding=1)


# --------------------------------------------------------------------------------------
# peers
# --------------------------------------------------------------------------------------


def jacrev_matrix(weight: np.ndarray, n: int) -> np.ndarray:
    """The conv matrix as ``torch.func.jacrev`` of ``conv2d`` (3x3, padding 1), dense."""
    import torch
    import torch.nn.functional as F

    w = torch.from_numpy(weight)
    c_in = weight.shape[1]
    x = torch.zeros(c_in, n, n, dtype=torch.float64)
    jac = torch.func.jacrev(lambda t: F.conv2d(t[None], w, padding=1)[0])(x)
    return jac.reshape(weight.shape[0] * n * n, c_in * n * n).numpy()


def plain_coo_matrix(weight: np.ndarray, n: int) -> scipy.sparse.csr_array:
    """A plain vectorized COO build of the 3x3, padding 1, stride 1 conv matrix (the peer)."""
    c_out, c_in, k, _ = weight.shape
    # axes (o, c, a0, a1, u, v), broadcast rather than materialized until the final gather
    o, c, a0, a1, u, v = (
        np.arange(size).reshape([-1 if ax == i else 1 for ax in range(6)])
        for i, size in enumerate((c_out, c_in, n, n, k, k))
    )
    full = (c_out, c_in, n, n, k, k)
    i0, i1 = a0 + u - 1, a1 + v - 1
    ok = np.broadcast_to((i0 >= 0) & (i0 < n) & (i1 >= 0) & (i1 < n), full)
    rows = np.broadcast_to((o * n + a0) * n + a1, full)[ok]
    cols = np.broadcast_to((c * n + i0) * n + i1, full)[ok]
    vals = np.broadcast_to(weight[o, c, u, v], full)[ok]
    coo = scipy.sparse.coo_array((vals, (rows, cols)), shape=(c_out * n * n, c_in * n * n))
    return coo.tocsr()


def _csr_bytes(m: Any) -> int:
    return int(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes)


def _peak(fn: Callable[[], Any]) -> tuple[Any, int]:
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    out = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, peak


# --------------------------------------------------------------------------------------
# benchmarks
# --------------------------------------------------------------------------------------


def bench_jacrev(
    n: int, c_in: int = 3, c_out: int = 5, repeat: int = 5, jac_repeat: int = 2
) -> dict[str, Any]:
    """conv_matrix vs ``torch.func.jacrev`` at ``c_in x n x n -> c_out``, 3x3, padding 1."""
    rng = np.random.default_rng(0)
    spec = _spec(c_in, c_out)
    w = rng.standard_normal(spec.weight_shape)
    t_ours = median_time(lambda: cp.conv_matrix(spec, (c_in, n, n), w), repeat)
    t_jac = median_time(lambda: jacrev_matrix(w, n), jac_repeat, warmup=False)
    t = cp.conv_matrix(spec, (c_in, n, n), w).tocoo()
    jac = jacrev_matrix(w, n)  # dense; compare on the sparsity pattern to save memory
    same = np.count_nonzero(jac) == t.nnz and np.allclose(jac[t.row, t.col], t.data)
    return {"n": n, "convproof_s": t_ours, "jacrev_s": t_jac, "speedup": t_jac / t_ours,
            "equal": bool(same)}  # fmt: skip


def bench_coo(n: int = 64, c_in: int = 16, c_out: int = 32, repeat: int = 5) -> dict[str, Any]:
    """conv_matrix vs a plain vectorized COO build: median time and tracemalloc peak."""
    rng = np.random.default_rng(0)
    spec = _spec(c_in, c_out)
    w = rng.standard_normal(spec.weight_shape)
    shape = (c_in, n, n)
    ours_s, coo_s = [], []
    for _ in range(repeat):  # interleave the two so machine load affects both alike
        ours_s.append(median_time(lambda: cp.conv_matrix(spec, shape, w), 1, warmup=False))
        coo_s.append(median_time(lambda: plain_coo_matrix(w, n), 1, warmup=False))
    ours, ours_peak = _peak(lambda: cp.conv_matrix(spec, shape, w))
    peer, peer_peak = _peak(lambda: plain_coo_matrix(w, n))
    final = _csr_bytes(ours)
    equal = ours.nnz == peer.nnz and abs(ours - peer).max() == 0
    return {
        "nnz": int(ours.nnz),
        "convproof_s": statistics.median(ours_s),
        "coo_s": statistics.median(coo_s),
        "ratio": statistics.median(ours_s) / statistics.median(coo_s),
        "final_csr_mb": final / 2**20,
        "convproof_peak_mb": ours_peak / 2**20,
        "coo_peak_mb": peer_peak / 2**20,
        "peak_over_final": ours_peak / final,
        "equal": bool(equal),
    }


def bench_symbolic(n: int = 25, c_in: int = 3, c_out: int = 5, repeat: int = 3) -> dict[str, Any]:
    """The symbolic matrix of the seed case (same padding)."""
    spec = cp.ConvSpec(in_channels=c_in, out_channels=c_out, kernel_size=3, padding="same")
    shape = (c_in, n, n)
    t = median_time(lambda: cp.conv_matrix(spec, shape), repeat, warmup=False)
    m = cp.conv_matrix(spec, shape)
    return {"n": n, "seconds": t, "shape": m.shape, "nnz": len(m.todok()),
            "closed_form_nnz": cp.nnz(spec, shape)}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--jacrev-repeat", type=int, default=2)
    parser.add_argument("--skip-jacrev-64", action="store_true")
    args = parser.parse_args(argv)
    print(f"memory limit (convproof.get_max_bytes()) = {cp.get_max_bytes() / 2**30:.1f} GiB")
    for n in (32,) if args.skip_jacrev_64 else (32, 64):
        r = bench_jacrev(n, repeat=args.repeat, jac_repeat=args.jacrev_repeat)
        goal = 100 if n == 32 else 1000
        print(f"3x{n}x{n}->5 3x3 p1: conv_matrix {r['convproof_s'] * 1e3:.2f} ms, jacrev "
              f"{r['jacrev_s']:.2f} s, speedup {r['speedup']:.0f}x (goal >= {goal}x), "
              f"equal={r['equal']}")  # fmt: skip
    r = bench_coo(repeat=args.repeat)
    print(
        f"16->32 64x64 3x3 p1 ({r['nnz']:,} nnz): conv_matrix {r['convproof_s']:.3f} s, "
        f"plain COO {r['coo_s']:.3f} s, ratio {r['ratio']:.2f} (goal <= 1), equal={r['equal']}"
    )
    print(f"  final CSR {r['final_csr_mb']:.0f} MB; tracemalloc peak: conv_matrix "
          f"{r['convproof_peak_mb']:.0f} MB ({r['peak_over_final']:.2f}x final, goal <= 2), "
          f"plain COO {r['coo_peak_mb']:.0f} MB")  # fmt: skip
    r = bench_symbolic(repeat=3)
    print(
        f"symbolic seed 3x25x25->5 3x3 same: {r['seconds']:.3f} s (goal <= 2 s), "
        f"{r['shape']}, nnz {r['nnz']} (closed form {r['closed_form_nnz']})"
    )


if __name__ == "__main__":
    main()
