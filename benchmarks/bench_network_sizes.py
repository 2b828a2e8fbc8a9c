"""Benchmark the size analyses of issue 13: ``valid_input_sizes`` of a U-Net and a symbolic
ResNet-50 summary with closed forms of its sizes.

Run ``python benchmarks/bench_network_sizes.py`` (``--repeat 5``).  Goals: ``valid_input_sizes``
of a U-Net <= 2 s; the symbolic ResNet-50 summary plus the closed form of every distinct
spatial size in it <= 5 s.  Each figure is the median of ``--repeat`` runs after one untimed
warm-up (:func:`_timing.median_time`); the machine is shared (2 cores), so the load average
is printed with them.  The U-Nets are ``tests/nets_torchvision.py``'s (transposed convs, and
``nn.Upsample`` + 1x1 conv), depth 4, base width 16, input ``(1, 1, 256, 256)``; they need
torch.  ResNet-50 is the shipped description (``cp.load_network("resnet50")``) and, when
torchvision is installed, ``torchvision.models.resnet50()`` read without a forward pass.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import sympy
from _timing import median_time

import convproof as cp


def closed_forms(model: object) -> tuple[int, int, int]:
    """The symbolic summary at ``(3, H, H)`` and the closed form of every distinct spatial
    size; returns (rows, distinct symbolic sizes, closed forms proved)."""
    H = sympy.Symbol("H", integer=True, positive=True)
    s = cp.summary(model, (3, H, H))
    sizes = {r.output_shape[1] for r in s.rows if len(r.output_shape) == 3}
    symbolic = [e for e in sizes if isinstance(e, sympy.Basic) and e.free_symbols]
    proved = sum(cp.closed_form(e, H, start=32).proved for e in symbolic)
    return len(s.rows), len(symbolic), proved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f} (2 cores, shared)")
    cases = [("resnet50 (shipped description)", lambda: cp.load_network("resnet50"))]
    try:
        import torch
        from nets_torchvision import unet, unet_upsample
    except ImportError:
        print("torch is not installed: the U-Net benchmark is skipped")
    else:
        for label, build in (("transposed convs", unet), ("nn.Upsample", unet_upsample)):
            model = build(torch, depth=4, base=16)
            sizes = cp.valid_input_sizes(model, (1, 1, 256, 256))
            t = median_time(lambda m=model: cp.valid_input_sizes(m, (1, 1, 256, 256)), args.repeat)
            print(
                f"valid_input_sizes, U-Net depth 4 ({label}): {t:.3f} s (goal <= 2 s); {sizes[0]}"
            )
        try:
            import torchvision
        except ImportError:
            print("torchvision is not installed: only the shipped ResNet-50")
        else:
            cases.append(("resnet50 (torchvision module)", torchvision.models.resnet50))
    for label, make in cases:
        model = make()
        rows, distinct, proved = closed_forms(model)
        t = median_time(lambda m=model: closed_forms(m), args.repeat)
        print(
            f"symbolic summary + closed forms, {label}: {t:.3f} s (goal <= 5 s); "
            f"{rows} rows, {proved} of {distinct} distinct sizes proved in closed form"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
