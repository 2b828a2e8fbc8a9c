"""Benchmark proofs of whole networks: every conv layer of ResNet-50 and VGG-16 at 224x224.

Run ``python benchmarks/bench_prove_networks.py`` (options: ``--only resnet50,vgg16,first``,
``--size``, ``--skip-peer``).  Each case runs in a fresh child process, which reports its
wall time and peak resident memory (``resource.getrusage``):

1. ``resnet50``: :func:`convproof.prove_network` on the shipped ResNet-50 description at
   3x224x224: 53 conv layers and the max pool (goal: <= 20 s in total, <= 4 GB);
2. ``vgg16``: the same for VGG-16: 13 conv layers (15.3 G monomials) and 5 max pools
   (goal: <= 75 s, <= 4 GB);
3. ``first``: VGG-16's first layer alone (3x224x224 -> 64, 3x3, padding 1, 89 M monomials)
   with the streaming engine and with the *peer*: the whole-layer comparison (every
   monomial's composite key in memory, sorted and compared at once), which was the engine
   before streaming and stays in ``convproof.proofs.streaming`` as its fallback (``whole_layer``).

Figures are monomials (one per (output, kernel tap) pair plus one per bias term) per second
of wall time.  The machine's load average is printed with them: the build machine is shared
(2 cores), and a loaded machine inflates every time.  ``tests/test_network_proof.py`` runs
the functions here with tiny sizes as a smoke test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

import convproof as cp


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def network_child(name: str, size: int) -> dict[str, Any]:
    """Prove every conv and pool layer of a shipped network (run in a fresh process)."""
    net = cp.load_network(name)
    result = cp.prove_network(net, (3, size, size), progress=False)
    conv = [layer for layer in result.layers if layer.kind == "conv"]
    return {
        "case": f"{name} at 3x{size}x{size}",
        "status": result.status,
        "layers": len(result.layers),
        "conv_layers": len(conv),
        "conv_monomials": sum(layer.result.monomials for layer in conv),
        "monomials": result.monomials,
        "seconds": result.seconds,
        "peak_rss_gb": _peak_gb(),
    }


def _whole_layer_engine() -> None:
    """Make :func:`convproof.prove` use the whole-layer comparison (the peer)."""
    import convproof.proofs.concrete as P
    from convproof.proofs.streaming import whole_layer

    def whole(spec: Any, lay: Any, progress: Any, limit: int, keep: Any = None) -> Any:
        name = "T = the definition's coefficient table (x*w monomials)"
        return whole_layer(spec, lay, name, "coefficient-table", time.perf_counter(), limit)

    P.stream_compare = whole


def first_layer_child(peer: bool, size: int, channels: int = 64) -> dict[str, Any]:
    """VGG-16's first layer alone, streaming or the peer (run in a fresh process)."""
    if peer:
        _whole_layer_engine()
    spec = cp.ConvSpec(in_channels=3, out_channels=channels, kernel_size=3, padding=1)
    cp.prove(cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=1), (1, 2, 2))  # imports
    t0 = time.perf_counter()
    result = cp.prove(spec, (3, size, size), progress=False, max_bytes=64 * 2**30)
    seconds = time.perf_counter() - t0
    return {
        "case": f"VGG-16 first layer 3x{size}x{size} -> {channels}, "
        + ("whole-layer peer" if peer else "streaming"),
        "status": result.status,
        "monomials": result.monomials,
        "seconds": seconds,
        "peak_rss_gb": _peak_gb(),
    }


def run_child(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _report(row: dict[str, Any]) -> str:
    rate = row["monomials"] / row["seconds"] / 1e6 if row["seconds"] else float("nan")
    text = (
        f"{row['case']}: {row['status']}, {row['monomials'] / 1e9:.3f} G monomials"
        f" in {row['seconds']:.2f} s ({rate:.0f} M monomials/s), peak RSS "
        f"{row['peak_rss_gb']:.2f} GB"
    )
    if "conv_layers" in row:
        text += (
            f"; {row['conv_layers']} conv layers ({row['conv_monomials'] / 1e9:.3f} G), "
            f"{row['layers']} layers proved"
        )
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="resnet50,vgg16,first")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args(argv)
    if args.child:
        what, *rest = args.child
        if what == "network":
            row = network_child(rest[0], int(rest[1]))
        else:
            row = first_layer_child(what == "peer", int(rest[0]))
        print(json.dumps(row))
        return
    print(f"load average before: {os.getloadavg()}", flush=True)
    for case in args.only.split(","):
        if case in ("resnet50", "vgg16"):
            print(_report(run_child("network", case, str(args.size))), flush=True)
        elif case == "first":
            ours = run_child("stream", str(args.size))
            print(_report(ours), flush=True)
            if not args.skip_peer:
                peer = run_child("peer", str(args.size))
                print(_report(peer), flush=True)
                print(f"speed-up: {peer['seconds'] / ours['seconds']:.1f}x", flush=True)
        else:
            raise SystemExit(f"unknown case {case!r}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
