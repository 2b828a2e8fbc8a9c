"""Benchmark :func:`convproof.sliding_sum` against a plain SymPy loop, in one process.

Run ``python benchmarks/bench_sliding_sum.py`` (options: ``--repeat``, ``--big-peer-repeat``,
``--skip-big-peer``).  It reports medians of several runs (``_timing.median_time``, after one
untimed run) for:

1. the seed layer, 3x25x25 -> 5 kernels 3x3, ``padding="same"`` (goals: <= 0.2 s and >= 8x
   faster than the plain loop);
2. a 16 -> 16 channel 3x3 ``"same"`` layer at 32x32 (goal: <= 5 s).

The peer is written here from the definition: for every output, the list of products
``x * w`` of the taps that read the input (zero padding dropped) and the bias, summed with
``sympy.Add(*terms)``, as one would write it by hand (SymPy's evaluating constructors,
Python's garbage collector left as it is).  For information the seed's peer is also timed
with the collector paused, as ``sliding_sum`` pauses it.  Both results are compared with
``==`` (structural: same args in the same order).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import sys
from pathlib import Path
from typing import Any

import numpy as np
import sympy

import convproof as cp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import median_time


def plain_loop(spec: cp.ConvSpec, shape: tuple[int, ...]) -> list[Any]:
    """Every output of a zero-padded conv as ``sympy.Add(*terms)``, from the definition."""
    # the layer's own symbols, held in NumPy object arrays (fast indexing, as one would)
    X, W, b = (None if a is None else np.array(a.tolist(), dtype=object)
               for a in cp.layer_symbols(spec, shape))  # fmt: skip
    assert X is not None and W is not None
    pads = spec.resolve_padding(shape)
    out = spec.output_shape(shape)
    cin_g = spec.in_channels // spec.groups
    cout_g = spec.out_channels // spec.groups
    values = []
    for o in range(spec.out_channels):
        for a in itertools.product(*(range(m) for m in out[1:])):
            terms = [] if b is None else [b[o]]
            for cc in range(cin_g):
                c = (o // cout_g) * cin_g + cc
                for u in itertools.product(*(range(k) for k in spec.kernel_size)):
                    t = [a[i] * spec.stride[i] + u[i] * spec.dilation[i] - pads[i][0]
                         for i in range(spec.ndim)]  # fmt: skip
                    if all(0 <= t[i] < shape[1 + i] for i in range(spec.ndim)):
                        terms.append(X[(c, *t)] * W[(o, cc, *u)])
            values.append(sympy.Add(*terms))
    return values


def _paused(fn: Any) -> Any:
    def run() -> Any:
        gc.disable()
        try:
            return fn()
        finally:
            gc.enable()

    return run


def bench_case(
    c_in: int, c_out: int, n: int, repeat: int, peer_repeat: int, peer: bool = True
) -> dict[str, Any]:
    spec = cp.ConvSpec(in_channels=c_in, out_channels=c_out, kernel_size=3, padding="same")
    shape = (c_in, n, n)
    est = cp.sliding_sum_estimate(spec, shape)
    ours = lambda: cp.sliding_sum(spec, shape, max_bytes=2**34)  # noqa: E731
    r: dict[str, Any] = {"terms": est.terms, "estimate_s": est.seconds}
    r["convproof_s"] = median_time(ours, repeat)
    if peer:
        r["plain_s"] = median_time(lambda: plain_loop(spec, shape), peer_repeat, warmup=False)
        r["ratio"] = r["plain_s"] / r["convproof_s"]
        r["equal"] = sympy.flatten(ours().tolist()) == plain_loop(spec, shape)
    return r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--big-peer-repeat", type=int, default=1)
    parser.add_argument("--skip-big-peer", action="store_true")
    args = parser.parse_args()
    r = bench_case(3, 5, 25, args.repeat, args.repeat)
    seed = cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3, padding="same")
    paused = median_time(_paused(lambda: plain_loop(seed, (3, 25, 25))), args.repeat)
    print(
        f"seed 3x25x25->5 3x3 same ({r['terms']:,} terms): sliding_sum {r['convproof_s']:.3f} s "
        f"(goal <= 0.2 s), plain Add(*terms) loop {r['plain_s']:.3f} s, ratio "
        f"{r['ratio']:.1f}x (goal >= 8x), equal={r['equal']}; plain loop with GC paused "
        f"{paused:.3f} s ({paused / r['convproof_s']:.1f}x)"
    )
    r = bench_case(16, 16, 32, args.repeat, args.big_peer_repeat, peer=not args.skip_big_peer)
    line = (
        f"16x32x32->16 3x3 same ({r['terms']:,} terms): sliding_sum {r['convproof_s']:.3f} s "
        f"(goal <= 5 s, estimate {r['estimate_s']:.1f} s)"
    )
    if "plain_s" in r:
        line += (
            f", plain Add(*terms) loop {r['plain_s']:.1f} s, ratio {r['ratio']:.1f}x, "
            f"equal={r['equal']}"
        )
    print(line)


if __name__ == "__main__":
    main()
