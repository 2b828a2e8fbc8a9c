"""Time :func:`convproof.prove` of two small layers in two checkouts, alternating them.

Run ``python benchmarks/compare_trees.py OLD NEW`` (two checkout directories; options
``--rounds``, ``--runs``).  Each round runs one fresh process per checkout (the order
alternates from round to round, so a load that changes meanwhile hits both alike); each
process proves 3x25x25 -> 5 kernels 3x3 (same padding) and 3x32x32 -> 1 kernel 5x5 ``--runs``
times and reports the median wall and CPU (``time.process_time``) time.  The script prints
the medians over the rounds and the ratio new/old, with the load average.  The goal of the
package-layout change: no more than 10 % slower than the tree before it (commit df9a351;
``git worktree add ../old df9a351``).  The test suite does not run this script.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from typing import Any

_CHILD = """
import json, statistics, sys, time
import convproof as cp
runs = int(sys.argv[1])
cases = {
    "3x25x25 -> 5, 3x3 same": (
        cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3, padding="same"), (3, 25, 25)
    ),
    "3x32x32 -> 1, 5x5": (cp.ConvSpec(in_channels=3, out_channels=1, kernel_size=5), (3, 32, 32)),
}
out = {}
for name, (spec, shape) in cases.items():
    cp.prove(spec, shape)
    wall, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        cp.prove(spec, shape)
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - t)
    out[name] = [statistics.median(wall), statistics.median(cpu)]
print(json.dumps(out))
"""


def run_tree(tree: str, runs: int) -> dict[str, list[float]]:
    env = dict(os.environ, PYTHONPATH=tree, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(runs)],
        env=env,
        cwd=tree,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, list[float]] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args(argv)
    trees = {"old": args.old, "new": args.new}
    results: dict[str, list[dict[str, list[float]]]] = {"old": [], "new": []}
    loads = []
    for r in range(args.rounds):
        for which in ("old", "new") if r % 2 == 0 else ("new", "old"):
            results[which].append(run_tree(trees[which], args.runs))
            loads.append(os.getloadavg()[0])
    print(
        f"{args.rounds} rounds x {args.runs} proofs, load average {min(loads):.1f}-{max(loads):.1f}"
    )
    for case in results["old"][0]:
        for i, clock in enumerate(("wall", "CPU")):
            med: dict[str, Any] = {
                k: statistics.median(d[case][i] for d in results[k]) for k in results
            }
            print(
                f"{case:<24} {clock:<4} old {med['old'] * 1e3:8.2f} ms  "
                f"new {med['new'] * 1e3:8.2f} ms  new/old {med['new'] / med['old']:.2f}"
            )


if __name__ == "__main__":
    main()
