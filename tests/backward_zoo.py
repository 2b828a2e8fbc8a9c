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
from reference import source_index

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
        if spec.kind == "max" and _padding_only_window(spec, xa.shape, pads):
            # PyTorch 2.13 CPU returns out-of-range indices for such windows and its
            # backward then writes out of bounds (the process aborts: "double free")
            raise NotImplementedError("a max-pooling window of padding only crashes PyTorch")
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


def _padding_only_window(spec: Any, shape: tuple, pads: Any) -> bool:
    out = spec.output_shape(shape)[-spec.ndim :]
    for ax in range(spec.ndim):
        n = shape[-spec.ndim + ax]
        for a in range(out[ax]):
            taps = [
                a * spec.stride[ax] + u * spec.dilation[ax] - pads[ax][0]
                for u in range(spec.kernel_size[ax])
            ]
            if not any(0 <= q < n for q in taps):
                return True
    return False


# --------------------------------------------------------------------------------------
# the loop reference
# --------------------------------------------------------------------------------------


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
                                source_index(
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


# --------------------------------------------------------------------------------------
# hand-written NumPy backward passes (2-D, the checkers' signatures), right and wrong
# --------------------------------------------------------------------------------------


def numpy_conv_backward(
    grad_output: np.ndarray,
    x: np.ndarray,
    weight: np.ndarray,
    bias: Any = None,
    stride: Any = (1, 1),
    padding: Any = (0, 0),
    dilation: Any = (1, 1),
    groups: int = 1,
    *,
    bug: str | None = None,
) -> tuple:
    """The textbook loop: pad, then per output position scatter into the padded input."""
    n_, _, h, w_ = x.shape
    f_, cg, kh, kw = weight.shape
    (ph, pw), (sh, sw), (dh, dw) = padding, stride, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxp = np.zeros_like(xp, dtype=np.float64)
    dwt = np.zeros(weight.shape, dtype=np.float64)
    fg = f_ // groups
    oh, ow = grad_output.shape[2:]
    for n in range(n_):
        for f in range(f_):
            grp = f % groups if bug == "groups_mixed" else f // fg
            cs = slice(grp * cg, (grp + 1) * cg)
            for i in range(oh):
                for j in range(ow):
                    hs, ws = (i, j) if bug == "stride_ignored" else (i * sh, j * sw)
                    if bug == "dilation_ignored":
                        rows, cols = slice(hs, hs + kh), slice(ws, ws + kw)
                    else:
                        rows = slice(hs, hs + dh * (kh - 1) + 1, dh)
                        cols = slice(ws, ws + dw * (kw - 1) + 1, dw)
                    gv = grad_output[n, f, i, j]
                    if bug != "weight_not_summed_over_batch" or n == n_ - 1:
                        dwt[f] += gv * xp[n, cs, rows, cols]
                    if bug == "assign":
                        dxp[n, cs, rows, cols] = gv * weight[f]
                    else:
                        dxp[n, cs, rows, cols] += gv * weight[f]
    if bug == "unpad_slice":
        dx = dxp[:, :, ph:-ph, pw:-pw]
    else:
        dx = dxp[:, :, ph : ph + h, pw : pw + w_]
    db = None
    if bias is not None:
        if bug == "bias_not_over_batch":
            db = grad_output[0].sum(axis=(1, 2))
        elif bug == "bias_not_over_positions":
            db = grad_output.sum(axis=0)[:, 0, 0]
        else:
            db = grad_output.sum(axis=(0, 2, 3))
    return dx, dwt, db


def numpy_conv_transpose_backward(
    grad_output: np.ndarray,
    x: np.ndarray,
    weight: np.ndarray,
    bias: Any = None,
    stride: Any = (1, 1),
    padding: Any = (0, 0),
    output_padding: Any = (0, 0),
    groups: int = 1,
    dilation: Any = (1, 1),
    *,
    bug: str | None = None,
) -> tuple:
    """Input (k, i) landed on output i*s + u*d - p: gather g there (zero outside)."""
    n_, c_in, h, w_ = x.shape
    _, cout_g, kh, kw = weight.shape
    (ph, pw), (sh, sw), (dh, dw) = padding, stride, dilation
    oh, ow = grad_output.shape[2:]
    span_h = max((h - 1) * sh + dh * (kh - 1) + 1, ph + oh)
    span_w = max((w_ - 1) * sw + dw * (kw - 1) + 1, pw + ow)
    gp = np.zeros((n_, grad_output.shape[1], span_h, span_w))
    gp[:, :, ph : ph + oh, pw : pw + ow] = grad_output
    cin_g = c_in // groups
    dx = np.zeros(x.shape)
    gw_conv = np.zeros((groups * cout_g, cin_g, kh, kw))  # (out, in/groups) layout
    dwt = np.zeros(weight.shape)
    for n in range(n_):
        for k in range(c_in):
            grp = k // cin_g
            cs = slice(grp * cout_g, (grp + 1) * cout_g)
            for i in range(h):
                for j in range(w_):
                    win = gp[n, cs, i * sh : i * sh + dh * (kh - 1) + 1 : dh,
                             j * sw : j * sw + dw * (kw - 1) + 1 : dw]  # fmt: skip
                    dx[n, k, i, j] = np.sum(win * weight[k])
                    dwt[k] += x[n, k, i, j] * win
                    gw_conv[cs, k - grp * cin_g] += x[n, k, i, j] * win
    if bug == "weight_in_out_swapped":
        dwt = gw_conv.reshape(weight.shape)  # a reshape where a transpose was needed
    db = None if bias is None else grad_output.sum(axis=(0, 2, 3))
    return dx, dwt, db


def numpy_pool_backward(
    grad_output: np.ndarray,
    x: np.ndarray,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
    count_include_pad: bool,
    *,
    kind: str,
    bug: str | None = None,
) -> np.ndarray:
    """Per window: max pooling routes g to the first maximum; average spreads g / count."""
    n_, c_, h, w_ = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    if bug == "kernel_hw_swapped":
        kh, kw = kw, kh
    oh, ow = grad_output.shape[2:]
    big = (ph + h + ph + kh * dh + sh, pw + w_ + pw + kw * dw + sw)  # room for the overhang
    xp = np.full((n_, c_, *big), -np.inf)
    xp[:, :, ph : ph + h, pw : pw + w_] = x
    dxp = np.zeros((n_, c_, *big))
    for n in range(n_):
        for c in range(c_):
            for i in range(oh):
                for j in range(ow):
                    rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
                    cols = slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)
                    gv = grad_output[n, c, i, j]
                    win = xp[n, c, rows, cols]
                    if kind == "max":
                        if bug == "ties_to_all":
                            dxp[n, c, rows, cols] += gv * (win == win.max())
                            continue
                        r, q = np.unravel_index(int(np.argmax(win)), win.shape)
                        at = (i * sh + r * dh, j * sw + q * dw)
                        if bug == "padded_coordinates":
                            at = (at[0] + ph, at[1] + pw)  # the padded position, kept padded
                        if bug == "assign":
                            dxp[n, c, at[0], at[1]] = gv
                        else:
                            dxp[n, c, at[0], at[1]] += gv
                    else:
                        ri = np.arange(i * sh, i * sh + kh)
                        ci = np.arange(j * sw, j * sw + kw)
                        if bug == "ceil_overhang_counted":
                            lo_h, hi_h, lo_w, hi_w = 0, 10**9, 0, 10**9
                        elif count_include_pad:
                            lo_h, hi_h, lo_w, hi_w = 0, h + 2 * ph, 0, w_ + 2 * pw
                        else:
                            lo_h, hi_h, lo_w, hi_w = ph, ph + h, pw, pw + w_
                        count = ((ri >= lo_h) & (ri < hi_h)).sum() * (
                            (ci >= lo_w) & (ci < hi_w)
                        ).sum()
                        dxp[n, c, rows, cols] += gv / count
    return dxp[:, :, ph : ph + h, pw : pw + w_]


def _bound(fn: Any, **fixed: Any) -> Any:
    def call(*args: Any, **kw: Any) -> Any:
        return fn(*args, **kw, **fixed)

    call.__name__ = fn.__name__ + "".join(f"[{v}]" for v in fixed.values())
    return call


# name -> (checker kind, function, what a minimal counterexample must show)
ZOO: dict[str, tuple[str, Any, Any]] = {
    "conv: = instead of += on overlapping windows": (
        "conv",
        _bound(numpy_conv_backward, bug="assign"),
        lambda cx: cx.tensor == "grad_input",
    ),
    "conv: x[pad:-pad] is empty when pad = 0": (
        "conv",
        _bound(numpy_conv_backward, bug="unpad_slice"),
        lambda cx: cx.reason == "wrong shape" and 0 in cx.call["padding"],
    ),
    "conv: stride ignored in the scatter": (
        "conv",
        _bound(numpy_conv_backward, bug="stride_ignored"),
        lambda cx: max(cx.spec.stride) == 2,
    ),
    "conv: dilation ignored": (
        "conv",
        _bound(numpy_conv_backward, bug="dilation_ignored"),
        lambda cx: max(cx.spec.dilation) == 2,
    ),
    "conv: groups mixed": (
        "conv",
        _bound(numpy_conv_backward, bug="groups_mixed"),
        lambda cx: cx.spec.groups == 2,
    ),
    "conv: bias gradient not summed over the batch": (
        "conv",
        _bound(numpy_conv_backward, bug="bias_not_over_batch"),
        lambda cx: cx.tensor == "grad_bias" and cx.input_shape[0] == 2,
    ),
    "conv: bias gradient not summed over positions": (
        "conv",
        _bound(numpy_conv_backward, bug="bias_not_over_positions"),
        lambda cx: cx.tensor == "grad_bias",
    ),
    "conv: weight gradient not summed over the batch": (
        "conv",
        _bound(numpy_conv_backward, bug="weight_not_summed_over_batch"),
        lambda cx: cx.tensor == "grad_weight" and cx.input_shape[0] == 2,
    ),
    "conv_transpose: weight gradient with in/out swapped": (
        "conv_transpose",
        _bound(numpy_conv_transpose_backward, bug="weight_in_out_swapped"),
        lambda cx: cx.tensor == "grad_weight",
    ),
    "max_pool: = instead of += on overlapping windows": (
        "max_pool",
        _bound(numpy_pool_backward, kind="max", bug="assign"),
        # windows overlap: the effective kernel d(k-1)+1 is longer than the stride somewhere
        lambda cx: any(
            cx.spec.dilation[a] * (cx.spec.kernel_size[a] - 1) + 1 > cx.spec.stride[a]
            for a in range(2)
        ),
    ),
    "max_pool: ties routed to every maximum": (
        "max_pool",
        _bound(numpy_pool_backward, kind="max", bug="ties_to_all"),
        lambda cx: cx.tensor == "grad_input",
    ),
    "max_pool: unpadded input indexed with padded coordinates": (
        "max_pool",
        _bound(numpy_pool_backward, kind="max", bug="padded_coordinates"),
        lambda cx: max(sum(cx.spec.padding, ())) == 1,
    ),
    "avg_pool: kernel height and width swapped": (
        "avg_pool",
        _bound(numpy_pool_backward, kind="avg", bug="kernel_hw_swapped"),
        lambda cx: cx.spec.kernel_size[0] != cx.spec.kernel_size[1],
    ),
    "avg_pool: ceil-mode overhang counted in the divisor": (
        "avg_pool",
        _bound(numpy_pool_backward, kind="avg", bug="ceil_overhang_counted"),
        lambda cx: cx.spec.ceil_mode,
    ),
}

CORRECT: dict[str, tuple[str, Any]] = {
    "numpy conv backward": ("conv", numpy_conv_backward),
    "numpy conv_transpose backward": ("conv_transpose", numpy_conv_transpose_backward),
    "numpy max_pool backward": ("max_pool", _bound(numpy_pool_backward, kind="max")),
    "numpy avg_pool backward": ("avg_pool", _bound(numpy_pool_backward, kind="avg")),
}
