"""Benchmark the operator's spectrum (:mod:`convproof.spectrum`) against its goals
and a peer.

Run ``python benchmarks/bench_spectrum.py`` (options: ``--repeat``, ``--threads``,
``--skip-resnet``, ``--skip-peer``).  Random He-normal weights (seeded).  It reports:

1. circular padding, every singular value, 64 -> 64, 3x3, 64x64 input (goal <= 5 s);
2. zero padding, the certified interval of ``operator_norm`` for 64 -> 64, 3x3, 32x32
   (goal <= 5 s), against the peer: ARPACK (``scipy.sparse.linalg.svds``, k=1) on the
   explicit ``conv_matrix`` (matrix build included, and alone), as a ratio;
3. the relative widths ``upper / lower - 1`` on the issue's layers: 3 -> 64 7x7 stride 2
   at 32x32, 64 -> 64 5x5 at 32x32, 64 -> 64 3x3 at 32x32 (goal <= 1e-3), with the reshaped
   weight norm next to the certified interval, and for the zero-padded stride-1 layers the
   width without the localised Toeplitz bound (``reduced=0``, circulant bounds only);
4. ``lipschitz_report`` of ResNet-18 (``load_network("resnet18")``, random weights) at
   224x224 (goal <= 120 s).

NumPy's BLAS is pinned to ``--threads`` (default 1) by re-executing with
``OPENBLAS_NUM_THREADS``: on a shared machine OpenBLAS threads on many small matrices are
much slower than one thread.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

import convproof as cp
from convproof.spectrum.bounds import reshaped_weight_norm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import median_time, pin_blas_threads


def layer(c_in: int, c_out: int, k: int, n: int, *, stride: int = 1, mode: str = "zeros",
          seed: int = 0) -> tuple[cp.ConvSpec, tuple[int, ...], np.ndarray]:  # fmt: skip
    """A layer with "same"-style padding ``k // 2`` and He-normal weights."""
    spec = cp.ConvSpec(
        in_channels=c_in, out_channels=c_out, kernel_size=k, stride=stride, padding=k // 2,
        padding_mode=mode, bias=False,
    )  # fmt: skip
    w = np.random.default_rng(seed).standard_normal(spec.weight_shape)
    return spec, (c_in, n, n), w * np.sqrt(2.0 / (c_in * k * k))


def arpack_peer(spec: cp.ConvSpec, shape: tuple[int, ...], w: np.ndarray) -> float:
    """The peer: the explicit sparse matrix, then ARPACK's largest singular value."""
    from scipy.sparse.linalg import svds

    T = cp.conv_matrix(spec, shape, w)
    return float(svds(T, k=1, return_singular_vectors=False, tol=1e-6)[0])


def bench_circular(repeat: int, n: int = 64) -> None:
    spec, shape, w = layer(64, 64, 3, n, mode="circular")
    t = median_time(lambda: cp.singular_values(spec, shape, w), repeat)
    sv = cp.singular_values(spec, shape, w)
    print(
        f"circular all singular values 64->64 3x3 at {n}x{n}: {t:.2f} s "
        f"({sv.size} values, largest {sv[0]:.6f}; goal <= 5 s)"
    )


def bench_zero_interval(repeat: int, peer: bool, n: int = 32) -> None:
    spec, shape, w = layer(64, 64, 3, n)
    c0 = time.process_time()
    t = median_time(lambda: cp.operator_norm(spec, shape, w), repeat)
    cpu = (time.process_time() - c0) / (repeat + 1)
    r = cp.operator_norm(spec, shape, w)
    print(
        f"zero padding certified interval 64->64 3x3 at {n}x{n}: {t:.2f} s "
        f"({cpu:.2f} s CPU per call) [{r.lower:.8f}, {r.upper:.8f}], width {r.width:.2e} "
        f"(goal <= 5 s)"
    )
    if peer:
        t_build = median_time(lambda: cp.conv_matrix(spec, shape, w), 1, warmup=False)
        t0 = time.perf_counter()
        top = arpack_peer(spec, shape, w)
        t_peer = time.perf_counter() - t0
        print(
            f"  peer ARPACK svds on conv_matrix: {t_peer:.2f} s (matrix build {t_build:.2f} s), "
            f"sigma_1 = {top:.8f}; ratio peer / ours = {t_peer / t:.2f} "
            f"(the peer gives an estimate, not an interval)"
        )


def bench_widths() -> None:
    cases = [
        ("3->64 7x7 stride 2 at 32x32", layer(3, 64, 7, 32, stride=2)),
        ("64->64 5x5 at 32x32", layer(64, 64, 5, 32)),
        ("64->64 3x3 at 32x32", layer(64, 64, 3, 32)),
        ("64->64 3x3 at 32x32, circular", layer(64, 64, 3, 32, mode="circular")),
    ]
    print("widths upper / lower - 1 (goal <= 1e-3):")
    for name, (spec, shape, w) in cases:
        t0, c0 = time.perf_counter(), time.process_time()
        r = cp.operator_norm(spec, shape, w)
        t, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(
            f"  {name}: [{r.lower:.6f}, {r.upper:.6f}] width {r.width:.2e}; "
            f"reshaped-weight norm {reshaped_weight_norm(w):.6f} "
            f"(true / reshaped = {r.lower / reshaped_weight_norm(w):.2f}); {t:.2f} s "
            f"({cpu:.2f} s CPU); upper from: {r.theorem.split(':')[0]}"
        )
        if any(b.startswith("localised") for b in r.bounds):
            off = cp.operator_norm(spec, shape, w, reduced=0)
            print(
                f"    without the localised Toeplitz bound (reduced=0): width {off.width:.2e} "
                f"({off.theorem.split(':')[0]})"
            )


def bench_resnet(size: int = 224) -> None:
    net = cp.load_network("resnet18")
    t0, c0 = time.perf_counter(), time.process_time()
    rep = cp.lipschitz_report(net, (3, size, size))
    t, cpu = time.perf_counter() - t0, time.process_time() - c0
    widths = [r.norm.width for r in rep]
    p = rep.products
    print(
        f"lipschitz_report ResNet-18 at {size}x{size}: {t:.1f} s wall, {cpu:.1f} s CPU, for "
        f"{len(rep)} conv layers "
        f"(goal <= 120 s); widths {min(widths):.1e} .. {max(widths):.1e}; products: certified "
        f"[{p['lower']:.4g}, {p['upper']:.4g}], reshaped {p['reshaped']:.4g}, Singla-Feizi "
        f"{p['singla_feizi']:.4g}, Araujo {p['araujo']:.4g}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--skip-resnet", action="store_true")
    parser.add_argument("--skip-peer", action="store_true")
    args = parser.parse_args(argv)
    threads = str(args.threads)
    if argv is None:
        pin_blas_threads(threads)
    print(
        f"numpy {np.__version__}, BLAS threads {os.environ.get('OPENBLAS_NUM_THREADS')}, "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )
    bench_circular(args.repeat)
    bench_zero_interval(args.repeat, not args.skip_peer)
    bench_widths()
    if not args.skip_resnet:
        bench_resnet()


if __name__ == "__main__":
    main()
