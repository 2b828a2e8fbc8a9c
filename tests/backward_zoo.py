"""Backward passes for the tests: PyTorch's autograd, a loop reference, and a zoo of bugs.

* :func:`torch_backward` runs the layer in PyTorch (float64) with ``requires_grad`` and
  returns the autograd gradients (an implementation convproof did not write).
* :func:`loop_backward` is the tests' own reference, one output element at a time straight
  from the definition (every tap of every output adds ``g * w`` to the input cell it reads
  and ``g * x`` to the weight tap): slow, obviously correct, exact on object arrays.
* ``ZOO`` holds deliberately wrong backward passes with the user signatures the checkers
  call (bugs seen in widely copied NumPy code and in framework issues); ``CORRECT`` holds
  right ones written the same way.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Any

import numpy as np

import convproof as cp

_TORCH_PAD_MODES = {"reflect": "reflect", "replicate": "replicate", "circular": "circular"}


def _flat_pad(pads: Any) -> list[int]:
    out: list[int] = []
    for before, after in reversed(pads):
        out += [before, after]
    return out


# --------------------------------------------------------------------------------------
# PyTorch autograd
# --------------------------------------------------------------------------------------


def torch_backward(spec: Any, x: Any, weight: Any, bias: Any, grad_output: Any) -> tuple:
    """``(grad_input, grad_weight, grad_bias)`` from ``torch.autograd`` (float64).

    Raises ``NotImplementedError`` for layers PyTorch cannot express (asymmetric pooling
    padding, a named pooling padding beyond ``kernel_size // 2``).
    """
    import torch
    import torch.nn.functional as F

    xa = np.asarray(x, dtype=np.float64)
    batched = xa.ndim == spec.ndim + 2
    n = spec.ndim
    pads = spec.resolve_padding(xa.shape)
    t = torch.tensor(xa if batched else xa[None], requires_grad=True)
    g = torch.tensor(np.asarray(grad_output, dtype=np.float64))
    g = g if batched else g[None]
    w = b = None
    if isinstance(spec, cp.PoolSpec):
        if any(pl != pr for pl, pr in pads) or any(
            pl > k // 2 for (pl, _), k in zip(pads, spec.kernel_size)
        ):
            raise NotImplementedError(f"PyTorch pooling cannot pad {pads}")
        sym = tuple(pl for pl, _ in pads)
        if spec.kind == "max":
            fn = getattr(F, f"max_pool{n}d")
            y = fn(t, spec.kernel_size, spec.stride, sym, spec.dilation, spec.ceil_mode)
        else:
            fn = getattr(F, f"avg_pool{n}d")
            y = fn(t, spec.kernel_size, spec.stride, sym, spec.ceil_mode, spec.count_include_pad)
    else:
        w = torch.tensor(np.asarray(weight, dtype=np.float64), requires_grad=True)
        if bias is not None:
            b = torch.tensor(np.asarray(bias, dtype=np.float64), requires_grad=True)
        if isinstance(spec, cp.ConvSpec):
            mode = _TORCH_PAD_MODES.get(spec.padding_mode, "constant")
            tp = F.pad(t, _flat_pad(pads), mode=mode) if any(sum(pads, ())) else t
            y = getattr(F, f"conv{n}d")(tp, w, b, spec.stride, 0, spec.dilation, spec.groups)
        else:
            fn = getattr(F, f"conv_transpose{n}d")
            y = fn(t, w, b, spec.stride, 0, spec.output_padding, spec.groups, spec.dilation)
            crop = tuple(slice(pl, y.shape[2 + ax] - pr) for ax, (pl, pr) in enumerate(pads))
            y = y[(slice(None), slice(None), *crop)]
    y.backward(g)
    gi = t.grad.numpy()
    gw = None if w is None else w.grad.numpy()
    gb = None if b is None else b.grad.numpy()
    return (gi if batched else gi[0]), gw, gb


# --------------------------------------------------------------------------------------
# the loop reference
# --------------------------------------------------------------------------------------


def _src(pos: int, n: int, mode: str) -> int | None:
    if 0 <= pos < n:
        return pos
    if mode == "zeros":
        return None
    if mode == "circular":
        return pos % n
    if mode == "replicate":
        return 0 if pos < 0 else n - 1
    return -pos if pos < 0 else 2 * (n - 1) - pos  # reflect


def _zeros_like(a: np.ndarray, *others: Any) -> np.ndarray:
    kinds = {np.asarray(v).dtype.kind for v in (a, *others) if v is not None}
    return np.zeros(a.shape, dtype=object if "O" in kinds else np.float64)


def loop_backward(spec: Any, x: Any, weight: Any, bias: Any, grad_output: Any) -> tuple:
    """The definition, one (output, tap) pair at a time (batched or not)."""
    x, g = np.asarray(x), np.asarray(grad_output)
    batched = x.ndim == spec.ndim + 2
    xb, gbt = (x, g) if batched else (x[None], g[None])
    pads = spec.resolve_padding(xb.shape)
    gi = _zeros_like(xb, weight, g)
    w = None if weight is None else np.asarray(weight)
    gw = None if w is None else _zeros_like(w, x, g)
    taps = list(itertools.product(*(range(k) for k in spec.kernel_size)))
    for n in range(xb.shape[0]):
        if isinstance(spec, cp.ConvSpec):
            cin_g, cout_g = spec.in_channels // spec.groups, spec.out_channels // spec.groups
            for co in range(spec.out_channels):
                for a in itertools.product(*(range(o) for o in gbt.shape[2:])):
                    gv = gbt[(n, co, *a)]
                    for ci in range(cin_g):
                        k = (co // cout_g) * cin_g + ci
                        for u in taps:
                            idx = [
                                _src(
                                    a[ax] * spec.stride[ax]
                                    + u[ax] * spec.dilation[ax]
                                    - pads[ax][0],
                                    xb.shape[2 + ax],
                                    spec.padding_mode,
                                )
                                for ax in range(spec.ndim)
                            ]
                            if None in idx:
                                continue
                            gi[(n, k, *idx)] += gv * w[(co, ci, *u)]  # type: ignore[index]
                            gw[(co, ci, *u)] += gv * xb[(n, k, *idx)]  # type: ignore[index]
        elif isinstance(spec, cp.ConvTransposeSpec):
            cin_g, cout_g = spec.in_channels // spec.groups, spec.out_channels // spec.groups
            for k in range(spec.in_channels):
                for i in itertools.product(*(range(v) for v in xb.shape[2:])):
                    for cl in range(cout_g):
                        c = (k // cin_g) * cout_g + cl
                        for u in taps:
                            q = tuple(
                                i[ax] * spec.stride[ax] + u[ax] * spec.dilation[ax] - pads[ax][0]
                                for ax in range(spec.ndim)
                            )
                            if not all(0 <= q[ax] < gbt.shape[2 + ax] for ax in range(spec.ndim)):
                                continue
                            gv = gbt[(n, c, *q)]
                            gi[(n, k, *i)] += gv * w[(k, cl, *u)]  # type: ignore[index]
                            gw[(k, cl, *u)] += gv * xb[(n, k, *i)]  # type: ignore[index]
        else:
            for c in range(xb.shape[1]):
                for a in itertools.product(*(range(o) for o in gbt.shape[2:])):
                    cells = []
                    counted = 1
                    for ax in range(spec.ndim):
                        pos = [
                            a[ax] * spec.stride[ax] + u * spec.dilation[ax] - pads[ax][0]
                            for u in range(spec.kernel_size[ax])
                        ]
                        cells.append([p for p in pos if 0 <= p < xb.shape[2 + ax]])
                        lo, hi = 0, xb.shape[2 + ax]
                        if spec.count_include_pad:
                            lo, hi = -pads[ax][0], hi + pads[ax][1]
                        counted *= sum(lo <= p < hi for p in pos)
                    window = list(itertools.product(*cells))
                    gv = gbt[(n, c, *a)]
                    if spec.kind == "avg":
                        share = gv / Fraction(counted) if gi.dtype == object else gv / counted
                        for cell in window:
                            gi[(n, c, *cell)] += share
                    else:  # first maximum in window order wins (PyTorch), the last NaN
                        best, at = None, None
                        for cell in window:
                            v = xb[(n, c, *cell)]
                            if at is None or v > best or (isinstance(v, float) and v != v):
                                best, at = v, cell
                        if at is not None:
                            gi[(n, c, *at)] += gv
    gb = None
    if bias is not None:
        gb = _zeros_like(np.asarray(bias), g)
        for co in range(spec.out_channels):
            gb[co] = sum(gbt[:, co].reshape(-1).tolist(), start=gb[co] * 0)
    return (gi if batched else gi[0]), gw, gb
