"""``cp.port(spec, to="tensorflow")``: the layer as ``tf.nn`` calls, with its transforms.

=========================  ===========================================================
layer                      TensorFlow call and transforms
=========================  ===========================================================
conv                       ``tf.nn.convolution`` (NHWC / HWIO); ``padding="SAME"`` for
                           ``SAME_UPPER``, ``"VALID"`` after an explicit ``np.pad`` for
                           every other padding (TF's conv names no other; a negative
                           amount is a crop, sliced after the pad); stride > 1
                           with dilation > 1 (refused by TF) runs the kernel with its
                           zeros written in
transposed conv            ``tf.nn.conv_transpose`` with ``padding="VALID"`` and the full
                           output size; groups as a block-diagonal kernel and dilation as
                           zeros in the kernel (TF's CPU kernels have neither); the
                           padding is a crop and ``output_padding`` zeros at the end
max / average pooling      ``tf.nn.pool``; explicit padding as an ``np.pad`` with ``-inf``
                           (max) or zeros (averages that count it); ``SAME_UPPER``
                           averages are TF's ``SAME`` (which excludes the padding); dilation
                           with stride > 1, or a stride above the window (both refused by
                           TF), runs at stride 1 and keeps every s-th output
Lp pooling                 ``tf.nn.pool`` average of ``v**p`` (zeros pre-padded, counted)
                           times ``prod(kernel_size)``, then the ``p``-th root
=========================  ===========================================================

Ceil-mode max/average pooling, and averages that exclude an explicit or ``SAME_LOWER``
padding, are pre-padded by :mod:`convproof.frameworks.port_pools` (a mask channel gives the
divisor).  The steps are the printed snippet's lines, as for the other targets.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from convproof.frameworks.agreement import agreement
from convproof.frameworks.port import (
    Pairs,
    Port,
    Spec,
    _constant_pads,
    _helpers_source,
    _lp_ceil_steps,
    _lp_input_steps,
    _lp_output_steps,
    _pre_pad_steps,
    _refuse,
    _with_padding,
)
from convproof.frameworks.port_pools import needs_pre_pad, pool_pre_pad_steps
from convproof.layers import sizes as _axis
from convproof.layers.spec import ConvTransposeSpec, PoolSpec

__all__: list[str] = []


def _dilate_steps(n: int, d: tuple[int, ...]) -> list[str]:
    """Write a (*k, a, b) kernel's zeros in: the dilated kernel as an undilated one."""
    return [
        f"z = np.zeros(tuple((e - 1) * f + 1 for e, f in zip(w.shape[:{n}], {d})) "
        f"+ w.shape[{n}:], w.dtype)",
        f"z[tuple(slice(None, None, f) for f in {d})] = w",
        "w = z",
    ]


def _block_diagonal_steps(rows: int, cols: int, g: int) -> list[str]:
    """A grouped ``(rows, cols / g, *k)`` weight as the dense ``(rows, cols, *k)`` one."""
    a, b = rows // g, cols // g
    return [
        f"z = np.zeros(({rows}, {cols}) + w.shape[2:], w.dtype)",
        f"for g in range({g}): z[g * {a}:(g + 1) * {a}, g * {b}:(g + 1) * {b}] = "
        f"w[g * {a}:(g + 1) * {a}]",
        "w = z",
    ]


def tensorflow_port(spec: Spec, input_shape: Sequence[int] | None, t0: float) -> Port:
    """The body of ``port(spec, to="tensorflow")`` (arguments already checked)."""
    to = "tensorflow"
    n = spec.ndim
    k, s, d = spec.kernel_size, spec.stride, spec.dilation
    mode = spec.padding_mode
    const = _constant_pads(spec)
    target: Spec = spec
    pre_pad: Pairs | str | None = None
    native = "VALID"
    input_steps: list[str] = []
    weight_steps: list[str] = []
    output_steps: list[str] = [f"y = np.transpose(y, {(0, n + 1, *range(1, n + 1))})"]
    params: dict[str, Any] = {}
    both = max(s) > 1 and max(d) > 1
    if isinstance(spec, PoolSpec):
        # tf.nn.pool refuses stride > 1 with dilation > 1, and stride > window
        both = both or any(ss > kk for ss, kk in zip(s, k))
        lp = spec.kind == "lp"  # the average of v**p (padding counted) times prod(k)
        avg = spec.kind == "avg" or lp
        native_same = (
            const is None and spec.padding == "SAME_UPPER" and not both and max(d) == 1
        )  # tf.nn.pool: "SAME" is not implemented with dilation
        pool_pre = needs_pre_pad(spec, to, const, native_same)
        if spec.ceil_mode and not (lp and const is not None) and not pool_pre:
            raise _refuse(spec, to, "ceil_mode pooling has no tf.nn.pool form (size-dependent)")
        counted = spec.count_include_pad or lp
        fill = "0" if avg else "-np.inf"
        pool_out_steps: list[str] = []
        if pool_pre:  # -inf / zeros written in, ceil mode's overhang too, a mask channel
            steps, pool_out_steps, pre_pad, target = pool_pre_pad_steps(spec, const, input_shape)
            input_steps += steps
        elif spec.ceil_mode:
            pre_pad = "per input"  # Lp: the explicit padding and ceil mode's end zeros
        elif const is not None and any(map(any, const)):
            pre_pad = const  # max: -inf; averages counting it: zeros
        elif native_same and not (avg and counted):
            native = "SAME"  # TF's SAME: max ignores the padding, averages exclude it
        elif const is None:
            pre_pad = "per input"
        if lp:
            input_steps += _lp_input_steps(spec)
        if spec.ceil_mode and not pool_pre:
            assert const is not None
            input_steps += _lp_ceil_steps(spec, const)
        elif pre_pad is not None and not pool_pre:
            input_steps += _pre_pad_steps(pre_pad, spec, "zeros", fill)
        params = dict(
            window_shape=list(k), pooling_type="AVG" if avg else "MAX",
            strides=[1] * n if both else list(s), padding=native, dilations=list(d),
        )  # fmt: skip
        if both:
            output_steps.append("y = y[:, :, " + ", ".join(f"::{e}" for e in s) + "]")
        if lp:
            output_steps += _lp_output_steps(spec, math.prod(k), ceil_pads=True)
        output_steps += pool_out_steps
        function = "tf.nn.pool"
    elif isinstance(spec, ConvTransposeSpec):
        assert const is not None  # transposed paddings never depend on the input size
        g, cin, cout = spec.groups, spec.in_channels, spec.out_channels
        if g > 1:
            weight_steps += _block_diagonal_steps(cin, cout, g)
        weight_steps.append(f"w = np.transpose(w, {(*range(2, n + 2), 1, 0)})")
        if max(d) > 1:
            weight_steps += _dilate_steps(n, d)
        keff = tuple(_axis.effective_kernel(kk, dd) for kk, dd in zip(k, d))
        params = dict(
            output_shape=(
                f"[x.shape[0]] + [(x.shape[1 + j] - 1) * {s}[j] + {keff}[j] for j in "
                f"range({n})] + [{cout}]"
            ),
            strides=list(s),
            padding="VALID",
        )
        op = spec.output_padding
        if any(op):
            output_steps.append(f"y = np.pad(y, {[(0, 0), (0, 0), *((0, e) for e in op)]!r})")
        if any(map(any, const)):
            crop = ", ".join(f"{pl}:y.shape[{j + 2}] - {pr}" for j, (pl, pr) in enumerate(const))
            output_steps.append(f"y = y[:, :, {crop}]")
        function = "tf.nn.conv_transpose"
    else:
        if mode != "zeros" or (const is not None and any(map(any, const))):
            if const is None and input_shape is not None:
                pre_pad = spec.resolve_padding(input_shape)
                target = _with_padding(spec, pre_pad)
            else:
                pre_pad = "per input" if const is None else const
        elif const is None and spec.padding == "SAME_UPPER":
            native = "SAME"
        elif const is None:  # SAME_LOWER with zeros: TF names only the upper form
            if input_shape is not None:
                pre_pad = spec.resolve_padding(input_shape)
                target = _with_padding(spec, pre_pad)
            else:
                pre_pad = "per input"
        if pre_pad is not None:  # negative amounts: a crop (slicing) first
            input_steps += _pre_pad_steps(pre_pad, spec, mode)
        if spec.groups > 1 and n != 2:  # TF's CPU kernels group in 2-D only
            weight_steps += _block_diagonal_steps(spec.out_channels, spec.in_channels, spec.groups)
        weight_steps.append(f"w = np.transpose(w, {(*range(2, n + 2), 1, 0)})")
        if both:
            weight_steps += _dilate_steps(n, d)
        params = dict(strides=list(s), padding=native, dilations=[1] * n if both else list(d))
        function = "tf.nn.convolution"
    input_steps.append(f"x = np.transpose(x, {(0, *range(2, n + 2), 1)})")
    return Port(
        source=spec,
        to=to,
        function=function,
        params=params,
        pre_pad=pre_pad,
        target=target,
        agrees_for=agreement(spec, target),
        code=_render(spec, function, params, (input_steps, weight_steps, output_steps)),
        input_steps=tuple(input_steps),
        weight_steps=tuple(weight_steps),
        output_steps=tuple(output_steps),
        seconds=time.perf_counter() - t0,
    )


def _render(spec: Spec, fn: str, params: dict[str, Any], steps: tuple[list[str], ...]) -> str:
    """The snippet: the input, weight and output ``steps`` around one ``tf.nn`` call."""
    input_steps, weight_steps, output_steps = steps
    pool = isinstance(spec, PoolSpec)
    lines = ["import numpy as np", "import tensorflow as tf"]
    lines += _helpers_source(input_steps)
    sig = "x" if pool else "x, weight, bias=None"
    lines += ["", "", f"def layer({sig}):", f'    """{spec!r}: (N, C, *spatial) in and out."""']
    lines += [f"    {step}" for step in input_steps]
    args = "tf.constant(x)"
    if not pool:
        lines.append("    w = weight")
        lines += [f"    {step}" for step in weight_steps]
        args += ", tf.constant(w)"
    kw = ", ".join(
        f"{key}={v}" if key == "output_shape" else f"{key}={v!r}" for key, v in params.items()
    )
    lines.append(f"    y = {fn}({args}, {kw}).numpy()")
    lines += [f"    {step}" for step in output_steps]
    if not pool:
        lines += [
            "    if bias is not None:",
            f"        y = y + np.asarray(bias).reshape((-1,) + (1,) * {spec.ndim})",
        ]
    lines.append("    return y")
    return "\n".join(lines) + "\n"
