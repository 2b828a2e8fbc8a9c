"""A zoo of deliberately wrong convolutions: check_conv must catch each with a small example.

The "user" implementations below are written from scratch in plain NumPy (tap loops, and the
widely copied ``as_strided`` im2col), not on convproof, the way a user's own kernel would be.
Each takes a ``bug`` switch; with ``bug=None`` they are correct and must pass.  ``ZOO`` lists
the planted defects; ``tests/test_check_soundness.py`` runs each with the checkers' default
settings (one test id per defect) and checks the counterexample is minimal.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from torch_functions import numpy_function

import convproof as cp

# --------------------------------------------------------------------------------------
# a user's 2-D convolution, transposed convolution and pooling (NumPy, from scratch)
# --------------------------------------------------------------------------------------
# independent on purpose: each is written from scratch as a user's own kernel would be, so
# their signatures and loops repeat; they share no code with each other or with convproof.


def user_conv2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
    padding_mode: str = "zeros",
    *,
    bug: str | None = None,
) -> np.ndarray:
    n, _, h, w = x.shape
    c_out, c_g, kh, kw = weight.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    if bug == "float32_accumulation":
        x, weight = x.astype(np.float32), weight.astype(np.float32)
    if bug == "stride_one_axis":
        sw = sh
    if bug == "dilation_ignored":
        dh = dw = 1
    if bug == "flipped_kernel":
        weight = weight[:, :, ::-1, ::-1]
    if bug == "channel_order":
        x = x[:, ::-1]
    mode = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
            "circular": "wrap"}[padding_mode]  # fmt: skip
    if bug == "reflect_as_symmetric" and mode == "reflect":
        mode = "symmetric"  # NumPy's "symmetric" repeats the edge: no PyTorch mode does
    if bug == "pad_one_side":
        xp = np.pad(x, ((0, 0), (0, 0), (2 * ph, 0), (2 * pw, 0)))
    else:
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), mode=mode)
    span_h, span_w = h + 2 * ph - dh * (kh - 1) - 1, w + 2 * pw - dw * (kw - 1) - 1
    if bug == "ceil_not_floor":
        ho, wo = -(-span_h // sh) + 1, -(-span_w // sw) + 1
        xp = np.pad(xp, ((0, 0), (0, 0), (0, sh), (0, sw)))
    else:
        ho, wo = span_h // sh + 1, span_w // sw + 1
    g = 1 if bug == "groups_ignored" else groups
    out = np.zeros((n, c_out, ho, wo), dtype=x.dtype if bug == "float32_accumulation" else None)
    per_out = c_out // g
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i * dh : i * dh + sh * (ho - 1) + 1 : sh,
                       j * dw : j * dw + sw * (wo - 1) + 1 : sw]  # fmt: skip
            for grp in range(g):
                outs = slice(grp * per_out, (grp + 1) * per_out)
                src = grp % 2 if bug == "groups_over_2" else grp  # right for groups <= 2
                ins = slice(src * c_g, (src + 1) * c_g)
                part = np.einsum("oc,nchw->nohw", weight[outs, :, i, j], patch[:, ins])
                if bug == "tail_beyond_8" and j == kw - 1:
                    part[..., 8:] = 0  # the remainder loop after a tile of 8 skips a tap
                out[:, outs] += part
    if bias is not None and bug != "bias_missing":
        out += (2 if bug == "bias_doubled" else 1) * bias[None, :, None, None]
    if bug == "rounds_output":
        out = np.round(out)
    return out


def user_im2col_conv2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
    *,
    bug: str | None = None,
) -> np.ndarray:
    """The widely copied ``as_strided`` im2col conv, with strides computed from the shape.

    The recipe assumes a C-contiguous buffer.  The buggy variant trusts its input (and
    ``np.pad``, which keeps a Fortran-ordered input Fortran-ordered) to be one, so a
    Fortran-ordered or strided input is read wrong; the correct one copies to C order.
    """
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    if bug != "fortran_order":
        x = np.ascontiguousarray(x)
    n, c, h, w = x.shape
    c_out, c_g, kh, kw = weight.shape
    ho, wo = (h - dh * (kh - 1) - 1) // sh + 1, (w - dw * (kw - 1) - 1) // sw + 1
    item = x.itemsize
    s_n, s_c, s_h, s_w = c * h * w * item, h * w * item, w * item, item  # C order assumed
    cols = np.lib.stride_tricks.as_strided(
        x, shape=(n, c, kh, kw, ho, wo),
        strides=(s_n, s_c, s_h * dh, s_w * dw, s_h * sh, s_w * sw), writeable=False,
    )  # fmt: skip
    per_out = c_out // groups
    out = np.empty((n, c_out, ho, wo))
    for grp in range(groups):
        outs = slice(grp * per_out, (grp + 1) * per_out)
        ins = slice(grp * c_g, (grp + 1) * c_g)
        out[:, outs] = np.einsum("ockl,ncklhw->nohw", weight[outs], cols[:, ins])
    if bias is not None:
        out += bias[None, :, None, None]
    return out


def user_conv_transpose2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    output_padding: tuple[int, int] = (0, 0),
    groups: int = 1,
    dilation: tuple[int, int] = (1, 1),
    *,
    bug: str | None = None,
) -> np.ndarray:
    n, c, h, w = x.shape
    _, c_out_g, kh, kw = weight.shape
    (sh, sw), (ph, pw), (oh, ow), (dh, dw) = stride, padding, output_padding, dilation
    c_g = c // groups
    full_h = (h - 1) * sh + dh * (kh - 1) + 1 + oh
    full_w = (w - 1) * sw + dw * (kw - 1) + 1 + ow
    buf = np.zeros((n, c_out_g * groups, full_h, full_w))
    for i in range(kh):
        for j in range(kw):
            for grp in range(groups):
                ins = slice(grp * c_g, (grp + 1) * c_g)
                outs = slice(grp * c_out_g, (grp + 1) * c_out_g)
                buf[:, outs, i * dh : i * dh + (h - 1) * sh + 1 : sh,
                    j * dw : j * dw + (w - 1) * sw + 1 : sw] += np.einsum(
                    "co,nchw->nohw", weight[ins, :, i, j], x[:, ins])  # fmt: skip
    ho = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oh + 1
    wo = (w - 1) * sw - 2 * pw + dw * (kw - 1) + ow + 1
    if bug == "output_padding_at_start":
        buf = np.pad(buf[:, :, : full_h - oh, : full_w - ow], ((0, 0), (0, 0), (oh, 0), (ow, 0)))
    if bug == "crop_start_only":
        ph, pw = 2 * ph, 2 * pw
        buf = np.pad(buf, ((0, 0), (0, 0), (0, ph), (0, pw)))
    out = buf[:, :, ph : ph + ho, pw : pw + wo]
    if bias is not None:
        out = out + bias[None, :, None, None]
    if bug == "rounds_output":
        out = np.round(out)
    if bug == "float32_output":
        out = out.astype(np.float32)
    return out


def _pool_windows(
    x: np.ndarray, k: Any, s: Any, p: Any, d: Any, ceil_mode: bool, fill: float,
    *, drop_rule: bool = True,
) -> tuple[list[list[np.ndarray]], list[int], list[list[int]]]:  # fmt: skip
    """Output sizes and, per axis, the input positions each output window reads."""
    sizes, positions = [], []
    for axis in range(2):
        i = x.shape[2 + axis]
        span = i + 2 * p[axis] - d[axis] * (k[axis] - 1) - 1
        o = (-(-span // s[axis]) if ceil_mode else span // s[axis]) + 1
        if ceil_mode and drop_rule and (o - 1) * s[axis] >= i + p[axis]:
            o -= 1
        sizes.append(o)
        positions.append([[a * s[axis] + u * d[axis] - p[axis] for u in range(k[axis])]
                          for a in range(o)])  # fmt: skip
    return [], sizes, positions


def user_max_pool2d(
    x: np.ndarray, kernel_size: Any, stride: Any = None, padding: Any = (0, 0),
    dilation: Any = (1, 1), ceil_mode: bool = False, *, bug: str | None = None,
) -> np.ndarray:  # fmt: skip
    stride = kernel_size if stride is None else stride
    if bug == "ceil_mode_ignored":
        ceil_mode = False
    if bug == "ravel_k_order":  # memory order, which is C order only for C arrays
        x = x.ravel(order="K").reshape(x.shape)
    _, (ho, wo), (rows, cols) = _pool_windows(
        x, kernel_size, stride, padding, dilation, ceil_mode, -np.inf,
        drop_rule=bug != "ceil_without_drop_rule",
    )  # fmt: skip
    n, c, h, w = x.shape
    out = np.empty((n, c, ho, wo))
    for a in range(ho):
        for b in range(wo):
            vals = [x[:, :, r, q] for r in rows[a] for q in cols[b] if 0 <= r < h and 0 <= q < w]
            if bug == "max_pads_with_zero" and len(vals) < len(rows[a]) * len(cols[b]):
                vals.append(np.zeros((n, c)))
            out[:, :, a, b] = np.max(vals, axis=0) if vals else -np.inf
    return out


def user_avg_pool2d(
    x: np.ndarray, kernel_size: Any, stride: Any = None, padding: Any = (0, 0),
    ceil_mode: bool = False, count_include_pad: bool = True, *, bug: str | None = None,
) -> np.ndarray:  # fmt: skip
    stride = kernel_size if stride is None else stride
    _, (ho, wo), (rows, cols) = _pool_windows(
        x, kernel_size, stride, padding, (1, 1), ceil_mode, 0.0
    )
    n, c, h, w = x.shape
    ph, pw = padding
    if bug == "count_include_pad_inverted":
        count_include_pad = not count_include_pad
    if bug == "sum_in_float32":
        x = x.astype(np.float32)
    out = np.empty((n, c, ho, wo))
    for a in range(ho):
        for b in range(wo):
            real = [(r, q) for r in rows[a] for q in cols[b] if 0 <= r < h and 0 <= q < w]
            total = sum((x[:, :, r, q] for r, q in real), np.zeros((n, c), dtype=x.dtype))
            if bug == "divisor_always_kernel":
                divisor = math.prod(kernel_size)
            elif count_include_pad:
                limit_r = [r for r in rows[a] if -ph <= r < h + ph]
                limit_c = [q for q in cols[b] if -pw <= q < w + pw]
                if bug == "overhang_counted":
                    limit_r, limit_c = rows[a], cols[b]
                divisor = len(limit_r) * len(limit_c)
            else:
                divisor = len(real)
            out[:, :, a, b] = total / divisor
    if bug == "rounds_output":
        out = np.round(out)
    return out


# --------------------------------------------------------------------------------------
# the zoo
# --------------------------------------------------------------------------------------


def _conv_bug(bug: str) -> Callable[..., Any]:
    return functools.partial(user_conv2d, bug=bug)


def _small(spec: Any, shape: tuple[int, ...], *, channels: int = 2, size: int = 4) -> None:
    """Minimality: few channels, tiny kernel and input (a shrunk, readable example)."""
    assert shape[0] == 1, shape  # batch of one
    assert max(shape[1:2]) <= channels, shape
    assert max(shape[2:]) <= size, shape
    assert max(spec.kernel_size) <= 3, spec
    if hasattr(spec, "out_channels"):
        assert spec.out_channels <= channels, spec


# name, checker kwargs, function, extra minimality check on (spec, counterexample)
ZOO: list[tuple[str, dict[str, Any], Callable[..., Any], Callable[[Any, Any], bool]]] = [
    ("pad_one_side", {}, _conv_bug("pad_one_side"),
     lambda s, cx: s.kernel_size == (1, 1) and max(s.padding) == (1, 1)),
    ("flipped_kernel", {}, _conv_bug("flipped_kernel"),
     lambda s, cx: sorted(s.kernel_size) == [1, 2] and s.in_channels == 1),
    ("stride_one_axis", {}, _conv_bug("stride_one_axis"),
     lambda s, cx: s.stride[0] != s.stride[1] and s.kernel_size == (1, 1)),
    ("dilation_ignored", {}, _conv_bug("dilation_ignored"),
     lambda s, cx: max(s.dilation) == 2 and max(s.kernel_size) == 2),
    ("groups_ignored", {}, _conv_bug("groups_ignored"),
     lambda s, cx: s.groups == 2 and s.kernel_size == (1, 1)),
    ("channel_order", {}, _conv_bug("channel_order"),
     lambda s, cx: s.in_channels == 2 and s.kernel_size == (1, 1)),
    ("bias_missing", {}, _conv_bug("bias_missing"),
     lambda s, cx: s.bias and s.kernel_size == (1, 1) and cx.input_shape == (1, 1, 1, 1)),
    ("bias_doubled", {}, _conv_bug("bias_doubled"),
     lambda s, cx: s.bias and s.kernel_size == (1, 1) and cx.input_shape == (1, 1, 1, 1)),
    ("ceil_not_floor", {}, _conv_bug("ceil_not_floor"),
     lambda s, cx: cx.reason == "wrong shape" and max(s.stride) == 2),
    ("transposed_output_padding_at_start", {"layer": "conv_transpose"},
     functools.partial(user_conv_transpose2d, bug="output_padding_at_start"),
     lambda s, cx: max(s.output_padding) == 1),
    ("transposed_crop_start_only", {"layer": "conv_transpose"},
     functools.partial(user_conv_transpose2d, bug="crop_start_only"),
     lambda s, cx: max(max(p) for p in s.padding) == 1),
    ("max_pool_pads_with_zero", {"layer": "max_pool"},
     functools.partial(user_max_pool2d, bug="max_pads_with_zero"),
     lambda s, cx: max(max(p) for p in s.padding) == 1),
    ("max_pool_ceil_without_drop_rule", {"layer": "max_pool"},
     functools.partial(user_max_pool2d, bug="ceil_without_drop_rule"),
     lambda s, cx: s.ceil_mode),
    ("avg_pool_divisor_always_kernel", {"layer": "avg_pool"},
     functools.partial(user_avg_pool2d, bug="divisor_always_kernel"),
     lambda s, cx: max(s.kernel_size) == 2),
    ("avg_pool_overhang_counted", {"layer": "avg_pool"},
     functools.partial(user_avg_pool2d, bug="overhang_counted"),
     lambda s, cx: s.ceil_mode and s.count_include_pad),
    # issue 11: rounding and precision, layouts, sizes past the defaults, groups > 2, modes
    ("rounds_output", {}, _conv_bug("rounds_output"),
     lambda s, cx: s.kernel_size == (1, 1) and cx.input_shape == (1, 1, 1, 1)
     and cx.expected_value % 1 != 0 and cx.bound_value == 0),
    ("float32_accumulation", {}, _conv_bug("float32_accumulation"),
     # float32 loses the low bits: wide magnitudes, or a tiny term beside 1 (1 + 2**-24)
     lambda s, cx: abs(cx.got_value - cx.expected_value) > cx.bound_value
     and cx.x.size * cx.weight.size <= 64),
    ("im2col_fortran_order", {}, functools.partial(user_im2col_conv2d, bug="fortran_order"),
     lambda s, cx: cx.layout in ("F", "strided") and max(s.kernel_size) <= 2),
    ("tail_beyond_width_8", {}, _conv_bug("tail_beyond_8"),
     lambda s, cx: cx.index[-1] == 8 and cx.got.shape[-1] <= 10 and s.kernel_size == (1, 1)),
    ("groups_over_2", {}, _conv_bug("groups_over_2"),
     lambda s, cx: s.groups == 3 and s.kernel_size == (1, 1)),
    ("reflect_as_symmetric", {"padding_modes": ["zeros", "reflect"]},
     _conv_bug("reflect_as_symmetric"),
     lambda s, cx: s.padding_mode == "reflect" and max(max(p) for p in s.padding) == 1),
    ("transposed_rounds_output", {"layer": "conv_transpose"},
     functools.partial(user_conv_transpose2d, bug="rounds_output"),
     lambda s, cx: cx.expected_value % 1 != 0),
    ("transposed_float32_output", {"layer": "conv_transpose"},
     functools.partial(user_conv_transpose2d, bug="float32_output"),
     lambda s, cx: cx.got.dtype == np.float32),
    ("max_pool_ceil_mode_ignored", {"layer": "max_pool"},
     functools.partial(user_max_pool2d, bug="ceil_mode_ignored"),
     lambda s, cx: s.ceil_mode),
    ("max_pool_ravel_k_order", {"layer": "max_pool"},
     functools.partial(user_max_pool2d, bug="ravel_k_order"),
     lambda s, cx: cx.layout == "F"),
    ("avg_pool_count_include_pad_inverted", {"layer": "avg_pool"},
     functools.partial(user_avg_pool2d, bug="count_include_pad_inverted"),
     lambda s, cx: max(max(p) for p in s.padding) == 1),
    ("avg_pool_rounds_output", {"layer": "avg_pool"},
     functools.partial(user_avg_pool2d, bug="rounds_output"),
     lambda s, cx: cx.expected_value % 1 != 0),
    ("avg_pool_sum_in_float32", {"layer": "avg_pool"},
     functools.partial(user_avg_pool2d, bug="sum_in_float32"),
     lambda s, cx: abs(cx.got_value - cx.expected_value) > cx.bound_value),
]  # fmt: skip

_CHECKERS = {
    "conv": cp.check_conv,
    "conv_transpose": cp.check_conv_transpose,
    "max_pool": functools.partial(cp.check_pool, kind="max"),
    "avg_pool": functools.partial(cp.check_pool, kind="avg"),
}


def _check(layer: str, fn: Callable[..., Any], **kwargs: Any) -> cp.CheckResult:
    return _CHECKERS[layer](fn, max_examples=300, derandomize=True, **kwargs)


def test_zoo_has_at_least_twenty_members() -> None:
    # each member is run by tests/test_check_soundness.py (one test id per defect)
    assert len(ZOO) >= 20
    assert len({z[0] for z in ZOO}) == len(ZOO)


@pytest.mark.parametrize(
    ("layer", "fn"),
    [("conv", user_conv2d), ("conv_transpose", user_conv_transpose2d),
     ("max_pool", user_max_pool2d), ("avg_pool", user_avg_pool2d)],
)  # fmt: skip
def test_correct_user_implementations_pass(layer: str, fn: Callable[..., Any]) -> None:
    result = _check(layer, fn)
    assert result, str(result)
    assert result.counterexample is None
    assert result.examples_run > 50


@pytest.mark.torch
@pytest.mark.parametrize(
    ("layer", "name", "ndim"),
    [("conv", "conv1d", 1), ("conv", "conv2d", 2), ("conv", "conv3d", 3),
     ("conv_transpose", "conv_transpose2d", 2), ("conv_transpose", "conv_transpose1d", 1),
     ("max_pool", "max_pool2d", 2), ("avg_pool", "avg_pool2d", 2),
     ("max_pool", "max_pool1d", 1)],
)  # fmt: skip
def test_torch_functional_passes(torch: Any, layer: str, name: str, ndim: int) -> None:
    result = _CHECKERS[layer](numpy_function(torch, name), ndim=ndim, max_examples=100,
                              derandomize=True)  # fmt: skip
    assert result, str(result)
