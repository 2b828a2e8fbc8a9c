"""Benchmark the backward passes: speed, checker rate, gradient proofs, time to a failure.

Run ``python benchmarks/bench_backward.py`` (options: ``--repeat``, ``--threads``,
``--check-examples``, ``--skip-vgg``).  It reports:

1. :func:`convproof.conv_backward` (grad_input and grad_weight) against PyTorch autograd's
   backward (``torch.autograd.grad`` of a retained graph: the backward alone) on
   ``bench_numeric.py``'s six-shape suite in float64, per case and the median ratio (goal:
   <= 2);
2. problems per second that :func:`convproof.check_conv_backward` runs on a correct NumPy
   backward (``conv_backward`` itself; goal: >= 50);
3. :func:`convproof.prove_backward` on VGG-16's first layer (3 -> 64, 3x3, padding 1,
   224 x 224) in a child process: wall time and peak memory (goal: <= 30 s);
4. time to a failure on the same buggy backward (``=`` instead of ``+=``,
   :func:`convproof.testing.faulty_convs.assign_conv_backward`) for ``check_conv_backward`` and for
   ``torch.autograd.gradcheck`` (finite differences), and whether each names a wrong entry.

The machine's load average is printed with the figures (the build machine is shared).
The test suite does not run this script.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import convproof as cp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import pin_blas_threads
from bench_numeric import CASES, _median_times


def run_backward_suite(repeat: int = 7, threads: int | None = None, verbose: bool = True) -> list:
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(threads or os.cpu_count() or 1)
    rng = np.random.default_rng(0)
    rows = []
    for name, shape, c_out, k, p, d, g in CASES:
        spec = cp.ConvSpec(in_channels=shape[1], out_channels=c_out, kernel_size=k, padding=p,
                           dilation=d, groups=g, bias=False)  # fmt: skip
        x = rng.standard_normal(shape)
        w = rng.standard_normal(spec.weight_shape)
        grad = rng.standard_normal(spec.output_shape(shape))
        xt = torch.from_numpy(x).requires_grad_()
        wt = torch.from_numpy(w).requires_grad_()
        gt = torch.from_numpy(grad)
        y = F.conv2d(xt, wt, padding=p, dilation=d, groups=g)
        want = torch.autograd.grad(y, (xt, wt), gt, retain_graph=True)
        got = cp.conv_backward(spec, x, w, grad)
        for a, b in zip(got[:2], want):
            if not np.allclose(a, b.numpy(), rtol=1e-9, atol=1e-9):
                raise AssertionError(f"{name}: conv_backward and PyTorch autograd disagree")

        def run_torch(y: Any = y, xt: Any = xt, wt: Any = wt, gt: Any = gt) -> Any:
            return torch.autograd.grad(y, (xt, wt), gt, retain_graph=True)

        def run_ours(spec: Any = spec, x: Any = x, w: Any = w, grad: Any = grad) -> Any:
            return cp.conv_backward(spec, x, w, grad)

        t_ours, t_torch = _median_times([run_ours, run_torch], repeat)
        row = {"case": name, "ours_ms": 1e3 * t_ours, "torch_ms": 1e3 * t_torch,
               "ratio": t_ours / t_torch}  # fmt: skip
        rows.append(row)
        if verbose:
            ours_ms, torch_ms, ratio = row["ours_ms"], row["torch_ms"], row["ratio"]
            print(f"float64  {name:28s} conv_backward {ours_ms:9.3f} ms   "
                  f"torch backward {torch_ms:9.3f} ms   ratio {ratio:6.2f}")  # fmt: skip
    if verbose:
        med = statistics.median(r["ratio"] for r in rows)
        print(f"median ratio conv_backward / torch autograd backward over {len(rows)}: {med:.2f}")
    return rows


def run_check_rate(max_examples: int = 300, verbose: bool = True) -> float:
    """Problems per second of ``check_conv_backward`` on a correct NumPy backward."""

    def fn(grad_output: Any, x: Any, weight: Any, bias: Any = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Any:  # fmt: skip
        spec = cp.ConvSpec(in_channels=x.shape[1], out_channels=weight.shape[0],
                           kernel_size=weight.shape[2:], stride=stride, padding=padding,
                           dilation=dilation, groups=groups, bias=bias is not None)  # fmt: skip
        return cp.conv_backward(spec, x, weight, grad_output, bias)

    result = cp.check_conv_backward(fn, max_examples=max_examples, seed=0)
    rate = result.examples_run / result.seconds
    if verbose:
        print(f"check_conv_backward: {result.examples_run} problems in {result.seconds:.2f} s "
              f"= {rate:.0f} problems/s (passed={result.passed})")  # fmt: skip
    return rate


_VGG_CHILD = """
import json, resource, time
import convproof as cp
spec = cp.ConvSpec(in_channels=3, out_channels=64, kernel_size=3, padding=1)
t0 = time.perf_counter()
r = cp.prove_backward(spec, (3, 224, 224))
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "peak_bytes": peak, "status": r.status,
                  "checks": [[c.statement, c.status, c.monomials, c.seconds] for c in r.checks]}))
"""


def run_vgg(verbose: bool = True) -> dict:
    out = subprocess.run([sys.executable, "-c", _VGG_CHILD], capture_output=True, text=True,
                         check=True)  # fmt: skip
    data = json.loads(out.stdout.strip().splitlines()[-1])
    if verbose:
        print(f"prove_backward VGG-16 conv1 (3->64, 3x3, p1, 224x224): {data['seconds']:.1f} s, "
              f"peak {data['peak_bytes'] / 2**30:.2f} GiB, status {data['status']}")  # fmt: skip
        for stmt, status, mono, sec in data["checks"]:
            print(f"    {status:12s} {stmt} ({mono:,} monomials, {sec:.1f} s)")
    return data


def run_time_to_failure(verbose: bool = True) -> dict:
    """The same buggy backward (``=`` for ``+=``) under our checker and under gradcheck."""
    import torch
    import torch.nn.functional as F

    from convproof.testing.faulty_convs import assign_conv_backward

    t0 = time.perf_counter()
    result = cp.check_conv_backward(assign_conv_backward, seed=0)
    ours = time.perf_counter() - t0
    cx = result.counterexample
    named = cx is not None and cx.index is not None

    class Buggy(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any, w: Any) -> Any:
            ctx.save_for_backward(x, w)
            return F.conv2d(x, w, padding=1)

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:
            x, w = ctx.saved_tensors
            gi, gw, _ = assign_conv_backward(g.numpy(), x.numpy(), w.numpy(), padding=1)
            return torch.from_numpy(gi), torch.from_numpy(gw)

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 2, 6, 6, dtype=torch.float64, generator=gen, requires_grad=True)
    w = torch.randn(3, 2, 3, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    t0 = time.perf_counter()
    message = ""
    try:
        ok = torch.autograd.gradcheck(Buggy.apply, (x, w))
    except Exception as exc:  # GradcheckError
        ok, message = False, str(exc)
    theirs = time.perf_counter() - t0
    first = message.splitlines()[0] if message else ""
    data = {
        "convproof_seconds": ours,
        "convproof_failed": not result.passed,
        "convproof_names_index": named,
        "convproof_entry": None if cx is None else f"{cx.tensor}{list(cx.index or ())}",
        "gradcheck_seconds": theirs,
        "gradcheck_failed": not ok,
        "gradcheck_first_line": first,
        "gradcheck_message_lines": len(message.splitlines()),
    }
    if verbose:
        print(f"time to failure, '=' for '+=' backward: check_conv_backward {ours:.2f} s "
              f"(names {data['convproof_entry']}, on a {cx.input_shape if cx else None} input); "
              f"gradcheck {theirs:.2f} s on a (1, 2, 6, 6) input (failed={not ok}): "
              f"'{first}' then {data['gradcheck_message_lines'] - 1} lines of both Jacobians, "
              f"no entry named")  # fmt: skip
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--check-examples", type=int, default=300)
    parser.add_argument("--skip-vgg", action="store_true")
    args = parser.parse_args()
    threads = str(args.threads or os.cpu_count() or 1)
    pin_blas_threads(threads)
    print(f"numpy {np.__version__}, threads={threads}, load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")  # fmt: skip
    run_backward_suite(args.repeat, args.threads)
    run_check_rate(args.check_examples)
    run_time_to_failure()
    if not args.skip_vgg:
        run_vgg()
    print(f"peak memory of this process: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")  # fmt: skip


if __name__ == "__main__":
    main()
