"""Fast NumPy convolution, transposed convolution and pooling: the numeric oracle.

:func:`conv` evaluates any spec kind on a NumPy array, batched ``(N, C, *spatial)`` or
unbatched ``(C, *spatial)``, in any number of spatial dimensions.  It is built straight from
the definitions with windowed views of the padded input, independently of
:func:`convproof.conv_matrix` (so the two can check each other):

=====================  ===============================================================
layer                  route
=====================  ===============================================================
convolution            pad once (``np.pad`` modes ``constant`` / ``wrap`` / ``reflect`` /
                       ``edge``), ``sliding_window_view`` strided by stride and dilation,
                       then one batched GEMM per group (im2col); a per-tap vectorized
                       multiply-add when each group has a single input channel (depthwise).
                       Stride 1 with short rows or depthwise: the "wide" route, where every
                       tap is a contiguous shifted slice of the flattened padded batch, and
                       im2col is built in cache-sized column blocks, one GEMM per block
transposed conv        the adjoint: one GEMM ``W^T x`` then a strided scatter-add per tap,
                       cropped by the padding and extended by ``output_padding`` at the end
max / avg pooling      windowed view reduced over the taps; ``-inf`` padding for max; the
                       average divisor counts explicit padding (``count_include_pad``) but
                       never the ceil-mode overhang
=====================  ===============================================================

Floating arrays keep their dtype (float32 stays float32); integer arrays stay integer for
(transposed) convolution; object arrays (``int``, ``Fraction``, SymPy expressions) are
computed exactly with Python arithmetic (slowly: small cases only).  The validated plan
(padding pairs and output sizes) is cached per ``(spec, input shape)``, and the large work
arrays (padded input, im2col blocks) are reused between calls in the same thread rather than
allocated afresh, which saves a page fault per 4 KiB page; results are always new arrays.

Examples
--------
>>> import numpy as np
>>> import convproof as cp
>>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False)
>>> x = np.arange(9.0).reshape(1, 3, 3)
>>> cp.conv(spec, x, np.ones((1, 1, 2, 2)))
array([[[ 8., 12.],
        [20., 24.]]])
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from convproof.errors import ConvProofError, MemoryLimitError
from convproof.layers.layout import call_in_layout
from convproof.layers.padding import padding_mode
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec
from convproof.layers.window import check_spec
from convproof.settings import resolve_max_bytes

__all__ = ["conv"]


@dataclass(frozen=True)
class _Tuning:
    """Tuning of the numeric routes (frozen; tests and benchmarks pass their own to
    :func:`_evaluate` instead of changing module state)."""

    wide: bool = True  # stride-1 fast path
    wide_max_row: int = 64  # longest output row for which the wide route is used
    chunk_bytes: int = 4 << 20  # size of one im2col block on the wide route
    chunk_min: int = 256  # fewest columns in a block


_TUNING = _Tuning()
#: Largest work array kept for reuse, in bytes.  At most one buffer per role (``pad``,
#: ``wide``, ``tap``, ``cols``, ``tail``) is kept per thread, so a thread holds at most
#: ``len(_ROLES) * SCRATCH_MAX`` bytes (80 MiB); :func:`clear_scratch` frees them.
SCRATCH_MAX = 16 << 20
_ROLES = ("pad", "wide", "tap", "cols", "tail")


_local = threading.local()


def _scratch(role: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised work array, reused by later calls in the same thread.

    A fresh large temporary costs one page fault per 4 KiB page on every call once the
    allocator has handed its memory back to the OS; on the benchmark machine that was over
    half the time of a small convolution (the depthwise case took 1.2 ms instead of
    0.5 ms).  Each ``role`` (one of ``_ROLES``) names one buffer, so the arrays of one call
    never overlap; they never leave this module, and buffers over ``SCRATCH_MAX`` bytes are
    not kept.  :func:`clear_scratch` frees this thread's buffers.
    """
    assert role in _ROLES, role
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > SCRATCH_MAX or dtype.hasobject:
        return np.empty(shape, dtype=dtype)
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = {}
    buf = pool.get(role)
    if buf is None or buf.nbytes < nbytes:
        buf = pool[role] = np.empty(max(nbytes, 1), dtype=np.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


def clear_scratch() -> int:
    """Free the calling thread's reusable work arrays; return how many bytes were held.

    :func:`conv` keeps at most one work array per role and thread, each at most
    ``SCRATCH_MAX`` bytes, to avoid page faults on repeated calls; a long-running
    program that is done with convolutions can release them here (a thread's arrays
    are also released when the thread ends).

    Examples
    --------
    >>> import numpy as np
    >>> import convproof as cp
    >>> from convproof.constructions.numeric import clear_scratch
    >>> spec = cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=3, padding=1, ndim=1)
    >>> _ = cp.conv(spec, np.ones((2, 8)), np.ones((2, 2, 3)))
    >>> clear_scratch() > 0, clear_scratch()
    (True, 0)
    """
    pool = getattr(_local, "pool", None) or {}
    held = sum(buf.nbytes for buf in pool.values())
    pool.clear()
    return held


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------


def _as_array(name: str, value: Any) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ConvProofError(
            f"{name} must be array-like, got {name} of type {type(value).__name__} ({exc})"
        ) from None
    if arr.dtype.kind not in "biufcO":
        raise ConvProofError(
            f"{name} must hold numbers (bool, int, float, complex or object), "
            f"got {name}.dtype={arr.dtype}"
        )
    return arr


@functools.lru_cache(maxsize=512)
def _plan_cached(spec: Any, shape: tuple[int, ...]) -> tuple[Any, tuple[int, ...]]:
    spec.output_shape(shape)  # validation: raises ConvProofError (never cached)
    spatial = shape[-spec.ndim :]
    pads = spec._resolve_spatial(spatial)
    return pads, spec._output_sizes(spatial, pads)


def _plan(spec: Any, shape: tuple[int, ...]) -> tuple[Any, tuple[int, ...]]:
    """Validate ``shape`` against the spec; return ``(padding pairs, output spatial sizes)``.

    Cached per ``(spec, shape)`` (specs are frozen and hashable) to keep small calls cheap.
    """
    try:
        return _plan_cached(spec, tuple(shape))
    except TypeError:  # an unhashable spec field: compute without the cache
        return _plan_cached.__wrapped__(spec, tuple(shape))


def _check_x(spec: Any, x: np.ndarray) -> np.ndarray:
    """Validate ``x`` against the spec; return it batched ``(N, C, *spatial)``."""
    if x.ndim not in (spec.ndim + 1, spec.ndim + 2):
        raise ConvProofError(
            f"x must have shape (C, *spatial) or (N, C, *spatial) with {spec.ndim} spatial "
            f"dims (ndim={spec.ndim}), got x.shape={x.shape}"
        )
    _plan(spec, x.shape)  # channels, sizes, padding-mode limits, non-empty output
    return x if x.ndim == spec.ndim + 2 else x[None]


def _check_weight_bias(spec: Any, weight: Any, bias: Any) -> tuple[np.ndarray, Any]:
    kind = type(spec).__name__
    if weight is None:
        raise ConvProofError(
            f"weight is required for a {kind} (shape {spec.weight_shape}), got weight=None"
        )
    w = _as_array("weight", weight)
    if w.shape != spec.weight_shape:
        raise ConvProofError(
            f"weight must have shape {spec.weight_shape} for this {kind}, "
            f"got weight.shape={w.shape}"
        )
    b = None
    if bias is not None:
        if not spec.bias:
            raise ConvProofError(
                f"bias must be None for a layer without bias (bias=False), got bias of shape "
                f"{np.shape(bias)}"
            )
        b = _as_array("bias", bias)
        if b.shape != (spec.out_channels,):
            raise ConvProofError(
                f"bias must have shape ({spec.out_channels},) (out_channels), "
                f"got bias.shape={b.shape}"
            )
    return w, b


def _result_dtype(*arrays: np.ndarray | None) -> np.dtype:
    dt = np.result_type(*[a for a in arrays if a is not None])
    if dt.kind in "biu":
        return np.dtype(np.int64)
    return dt


def _max_abs(a: np.ndarray | None) -> int:
    return 0 if a is None or a.size == 0 else int(np.max(np.abs(a.astype(object))))


def _exact_integers(
    spec: Any, xb: np.ndarray, w: np.ndarray, b: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.dtype]:
    """Integer inputs computed exactly: int64 when no output can overflow it, else Python ints.

    Every output is a sum of at most ``C_in/groups * prod(kernel_size)`` products ``x*w``
    (for the transposed convolution too), plus the bias, so
    ``max|x| * max|w| * terms + max|b| < 2**63`` rules out overflow of the accumulation.
    """
    per_group = w.shape[0] // spec.groups if spec.transposed else w.shape[1]
    terms = per_group * math.prod(spec.kernel_size)
    bound = _max_abs(xb) * _max_abs(w) * terms + _max_abs(b)
    cast: np.dtype[Any] = np.dtype(np.int64) if bound < 2**63 else np.dtype(object)
    return (
        xb.astype(cast),
        w.astype(cast),
        None if b is None else b.astype(cast),
        cast,
    )


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def _crop_negative(
    xb: np.ndarray, pads: tuple[tuple[int, int], ...]
) -> tuple[np.ndarray, tuple[tuple[int, int], ...]]:
    """Apply the negative amounts of ``pads`` (a crop) to a batched array.

    Returns the cropped input and the padding left to apply (the amounts ``>= 0``); a no-op
    without negative amounts.  Convolutions (zero padding) and pooling (``-inf`` or zeros,
    counted or not) then pad what is left as usual.
    """
    if min((min(pair) for pair in pads), default=0) >= 0:
        return xb, pads
    index = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(xb.shape[2:], pads))
    left = tuple((max(lo, 0), max(hi, 0)) for lo, hi in pads)
    return xb[(slice(None), slice(None), *index)], left


def _pad(xb: np.ndarray, pads: tuple[tuple[int, int], ...], mode: str, value: Any = 0) -> Any:
    """Pad the spatial axes of a batched array (no copy when there is nothing to pad)."""
    if not any(p for pair in pads for p in pair):
        return xb
    width = ((0, 0), (0, 0), *pads)
    if mode == "constant":
        if xb.dtype == object:
            out = np.empty(tuple(n + a + b for n, (a, b) in zip(xb.shape, width)), dtype=object)
            out.fill(value)
            out[tuple(slice(a, a + n) for n, (a, _) in zip(xb.shape, width))] = xb
            return out
        return np.pad(xb, width, mode="constant", constant_values=value)
    return np.pad(xb, width, mode=mode)  # type: ignore[call-overload]


def _windows(
    xp: np.ndarray,
    k: tuple[int, ...],
    s: tuple[int, ...],
    d: tuple[int, ...],
    out: tuple[int, ...],
) -> np.ndarray:
    """View ``(N, C, *out, *k)`` of the padded input: ``[n, c, a, u] = xp[n, c, a*s + u*d]``."""
    nd = len(k)
    k_eff = tuple(dd * (kk - 1) + 1 for kk, dd in zip(k, d))
    view = sliding_window_view(xp, k_eff, axis=tuple(range(2, 2 + nd)))
    index = (
        slice(None),
        slice(None),
        *(slice(0, (o - 1) * ss + 1, ss) for o, ss in zip(out, s)),
        *(slice(None, None, dd) for dd in d),
    )
    return view[index]


def _pad_channels_first(xb: np.ndarray, pads: tuple[tuple[int, int], ...], mode: str) -> np.ndarray:
    """The padded input laid out ``(C, N, *padded)``, contiguous, in a scratch buffer."""
    n, c = xb.shape[:2]
    nd = xb.ndim - 2
    padded = tuple(i + a + b for i, (a, b) in zip(xb.shape[2:], pads))
    buf = _scratch("pad", (c, n, *padded), xb.dtype)
    if mode == "zeros":
        # zero only the border, then copy the interior (one pass over the input)
        for a, (lo, hi) in enumerate(pads):
            lead = (slice(None),) * (2 + a)
            if lo:
                buf[(*lead, slice(0, lo))] = 0
            if hi:
                buf[(*lead, slice(padded[a] - hi, None))] = 0
        interior = tuple(slice(a, a + i) for i, (a, _) in zip(xb.shape[2:], pads))
        buf[(slice(None), slice(None), *interior)] = xb.transpose(1, 0, *range(2, 2 + nd))
        return buf
    xp = _pad(xb, pads, padding_mode(mode).numpy)
    np.copyto(buf, xp.transpose(1, 0, *range(2, 2 + nd)))
    return buf


def _conv_wide(
    spec: ConvSpec,
    xb: np.ndarray,
    w: np.ndarray,
    pads: tuple[tuple[int, int], ...],
    out_sp: tuple[int, ...],
    tuning: _Tuning,
) -> np.ndarray:
    """Stride-1 convolution on the flattened padded input ("wide" rows, cropped at the end).

    With the padded input flattened to ``flat[c, t]`` (``t`` runs over batch and padded
    positions, row-major), tap ``u`` of output position ``t`` reads ``flat[c, t + off(u)]``
    with ``off(u) = sum_a u_a d_a S_a`` (``S_a`` the padded strides).  So every tap is a
    contiguous shifted slice: im2col becomes long contiguous copies (or, with one input
    channel per group, a vectorized multiply-add per tap), and a single GEMM covers the
    whole batch.  Positions whose window leaves the padded image are computed and dropped.
    """
    nd = spec.ndim
    n, c_in = xb.shape[:2]
    g = spec.groups
    cin_g, cout_g = c_in // g, spec.out_channels // g
    xp = _pad_channels_first(xb, pads, spec.padding_mode)  # (C, N, *P)
    padded = xp.shape[2:]
    total = n * math.prod(padded)
    flat = xp.reshape(c_in, total)
    steps = [math.prod(padded[a + 1 :]) for a in range(nd)]
    max_off = sum((k - 1) * d * st for k, d, st in zip(spec.kernel_size, spec.dilation, steps))
    length = total - max_off  # every kept output position t is < length
    item = flat.itemsize
    taps = math.prod(spec.kernel_size)
    dtype = xb.dtype
    big = _scratch("wide", (spec.out_channels, total), dtype)
    if cin_g == 1:
        # one input channel per group: a multiply-add per tap on long contiguous rows
        wg = w.reshape(g, cout_g, taps)
        acc = big[:, :length].reshape(g, cout_g, length)
        buf = _scratch("tap", (g, cout_g, length), dtype)
        for t, u in enumerate(np.ndindex(*spec.kernel_size)):
            off = sum(uu * d * st for uu, d, st in zip(u, spec.dilation, steps))
            src = flat[:, None, off : off + length]
            if t == 0:
                np.multiply(src, wg[:, :, 0, None], out=acc)
            else:
                np.multiply(src, wg[:, :, t, None], out=buf)
                acc += buf
    else:
        # im2col by contiguous shifted copies, cols[c, u, t] = flat[c, t + off(u)], built in
        # column blocks of about tuning.chunk_bytes that stay in cache and feed one GEMM each
        # (one huge im2col matrix costs more in memory traffic than the GEMM saves)
        k_rows = cin_g * taps
        chunk = min(length, max(tuning.chunk_min, tuning.chunk_bytes // (c_in * taps * item)))
        tap_strides = tuple(d * st * item for d, st in zip(spec.dilation, steps))
        wg = w.reshape(g, cout_g, k_rows)
        cols = _scratch("cols", (c_in, *spec.kernel_size, chunk), dtype)
        for start in range(0, length, chunk):
            m = min(chunk, length - start)
            view = np.lib.stride_tricks.as_strided(
                flat[:, start:],
                shape=(c_in, *spec.kernel_size, m),
                strides=(flat.strides[0], *tap_strides, item),
                writeable=False,
            )
            block = cols[..., :m] if m == chunk else _scratch("tail", view.shape, dtype)
            np.copyto(block, view)
            target = big[:, start : start + m].reshape(g, cout_g, m)
            np.matmul(wg, block.reshape(g, k_rows, m), out=target)
    full = big.reshape(spec.out_channels, n, *padded)
    crop = full[(slice(None), slice(None), *(slice(0, o) for o in out_sp))]
    out = np.empty((n, spec.out_channels, *out_sp), dtype=dtype)  # never a scratch view
    np.copyto(out, crop.transpose(1, 0, *range(2, 2 + nd)))
    return out


def _conv_forward(
    spec: ConvSpec, xb: np.ndarray, w: np.ndarray, dtype: np.dtype, tuning: _Tuning
) -> np.ndarray:
    nd = spec.ndim
    n, c_in = xb.shape[:2]
    pads, out_sp = _plan(spec, xb.shape)
    g = spec.groups
    cin_g, cout_g = c_in // g, spec.out_channels // g
    xb = xb.astype(dtype, copy=False)
    w = w.astype(dtype, copy=False)
    if 0 in out_sp:  # an empty output (jax profile)
        return np.zeros((n, spec.out_channels, *out_sp), dtype=dtype)
    xb, pads = _crop_negative(xb, pads)  # negative padding (onnx, jax profiles): a crop
    # stride 1: the "wide" route pays one extra pass over the output to crop it, and wins
    # when windowed rows are short (slow strided copies) or there is one channel per group
    wide = all(s == 1 for s in spec.stride) and (cin_g == 1 or out_sp[-1] <= tuning.wide_max_row)
    if tuning.wide and wide and dtype.kind in "fc" and n > 0:
        return _conv_wide(spec, xb, w, pads, out_sp, tuning)
    xp = _pad(xb, pads, padding_mode(spec.padding_mode).numpy)
    win = _windows(xp, spec.kernel_size, spec.stride, spec.dilation, out_sp)
    taps = math.prod(spec.kernel_size)
    big_o = math.prod(out_sp)
    if cin_g == 1 and dtype.kind != "O":
        # depthwise-like: accumulate tap by tap with vectorized multiply-adds
        wg = w.reshape(g, cout_g, taps)
        out = np.zeros((n, g, cout_g, *out_sp), dtype=dtype)
        buf = _scratch("tap", out.shape, dtype)
        bshape = (1, g, cout_g) + (1,) * nd
        for t, u in enumerate(np.ndindex(*spec.kernel_size)):
            xt = win[(slice(None), slice(None), *((slice(None),) * nd), *u)]  # (N, C, *out)
            np.multiply(xt.reshape(n, g, 1, *out_sp), wg[:, :, t].reshape(bshape), out=buf)
            out += buf
        return out.reshape(n, spec.out_channels, *out_sp)
    # im2col: (N, G, Cin_g * taps, O) times (G, Cout_g, Cin_g * taps)
    perm = (0, 1, *range(2 + nd, 2 + 2 * nd), *range(2, 2 + nd))
    cols_nd = _scratch("cols", (n, c_in, *spec.kernel_size, *out_sp), dtype)
    np.copyto(cols_nd, win.transpose(perm))
    cols = cols_nd.reshape(n, g, cin_g * taps, big_o)
    wg = w.reshape(g, cout_g, cin_g * taps)
    out = np.matmul(wg, cols)  # (N, G, Cout_g, O)
    return out.reshape(n, spec.out_channels, *out_sp)


def _conv_transpose(
    spec: ConvTransposeSpec, xb: np.ndarray, w: np.ndarray, dtype: np.dtype
) -> np.ndarray:
    n, c_in = xb.shape[:2]
    spatial = xb.shape[2:]
    pads, out_sp = _plan(spec, xb.shape)
    g = spec.groups
    cin_g, cout_g = c_in // g, spec.out_channels // g
    taps = math.prod(spec.kernel_size)
    big_i = math.prod(spatial)
    xb = xb.astype(dtype, copy=False)
    w = w.astype(dtype, copy=False)
    # cols[n, g, (co, u), i] = sum_ci W[g*cin_g + ci, co, u] x[n, g*cin_g + ci, i]
    wt = w.reshape(g, cin_g, cout_g * taps).transpose(0, 2, 1)
    cols = np.matmul(wt, xb.reshape(n, g, cin_g, big_i))
    cols = cols.reshape(n, spec.out_channels, taps, *spatial)
    # scatter into the full output ``(i-1)s + d(k-1) + 1`` after ``front`` zeros (negative
    # padding before: onnx, jax profiles), long enough for the crop
    front = tuple(max(-pl, 0) for pl, _ in pads)
    full = tuple(
        f + max((i - 1) * s + d * (k - 1) + 1, pl + o)
        for i, s, d, k, (pl, _), o, f in zip(
            spatial, spec.stride, spec.dilation, spec.kernel_size, pads, out_sp, front
        )
    )
    buf = np.zeros((n, spec.out_channels, *full), dtype=dtype)
    for t, u in enumerate(np.ndindex(*spec.kernel_size)):
        index = tuple(
            slice(f + uu * d, f + uu * d + (i - 1) * s + 1, s)
            for uu, d, i, s, f in zip(u, spec.dilation, spatial, spec.stride, front)
        )
        buf[(slice(None), slice(None), *index)] += cols[:, :, t]
    crop = tuple(slice(f + pl, f + pl + o) for (pl, _), o, f in zip(pads, out_sp, front))
    return np.ascontiguousarray(buf[(slice(None), slice(None), *crop)])


def _check_memory(
    spec: Any,
    shape: tuple[int, ...],
    dtype: np.dtype,
    max_bytes: int | None,
    *,
    factor: int = 1,
    what: str = "conv",
    arrays: str = " (padded input, im2col columns, output)",
) -> None:
    """Refuse before allocating when ``factor`` times the work arrays of :func:`conv` on a
    batched input ``shape`` would exceed the limit (the backward pass passes its own)."""
    limit = resolve_max_bytes(max_bytes)
    itemsize = 64 if dtype.kind == "O" else max(8, dtype.itemsize)  # objects: boxed
    need = factor * _work_bytes(spec, tuple(shape), itemsize)
    if need > limit:
        raise MemoryLimitError(
            f"{what} on an input of shape {tuple(shape)}",
            need,
            limit,
            detail=f" of work arrays{arrays}",
            remedy="use a smaller batch or input",
        )


def _pymax(a: Any, b: Any) -> Any:
    """Max of two exact values; ``None`` marks padding; SymPy gives ``Max`` when undecided."""
    if a is None:
        return b
    if b is None:
        return a
    try:
        return a if a >= b else b
    except TypeError:
        import sympy

        return sympy.Max(a, b)


_OBJ_MAX = np.frompyfunc(_pymax, 2, 1)


def _pydiv(total: Any, count: int) -> Any:
    """Exact average ``total / count`` (``nan`` for an empty window)."""
    return total / Fraction(int(count)) if count else math.nan


_OBJ_DIV = np.frompyfunc(_pydiv, 2, 1)


def _axis_counts(i: int, k: int, s: int, d: int, lo: int, hi: int, pl: int, o: int) -> np.ndarray:
    """Per output position, how many taps land in ``[lo, hi)`` (unpadded coordinates)."""
    pos = np.arange(o)[:, None] * s + np.arange(k)[None, :] * d - pl
    return ((pos >= lo) & (pos < hi)).sum(axis=1)


def _pool(spec: PoolSpec, xb: np.ndarray) -> np.ndarray:
    nd = spec.ndim
    pads, out_sp = _plan(spec, xb.shape)
    xb, pads = _crop_negative(xb, pads)  # negative padding (jax profile): a crop
    spatial = xb.shape[2:]
    k_eff = spec.effective_kernel_size
    # ceil mode: the last window may run past the right padding (the overhang)
    ext = tuple(
        (pl, max(pr, (o - 1) * s + ke - i - pl))
        for i, (pl, pr), o, s, ke in zip(spatial, pads, out_sp, spec.stride, k_eff)
    )
    obj = xb.dtype == object
    if 0 in out_sp:  # an empty output (jax profile)
        return np.zeros((*xb.shape[:2], *out_sp), dtype=object if obj else np.float64)
    taps_axes = tuple(range(2 + nd, 2 + 2 * nd))
    if spec.kind == "max":
        if obj:
            xp = _pad(xb, ext, "constant", None)
            win = _windows(xp, spec.kernel_size, spec.stride, spec.dilation, out_sp)
            flat = win.reshape(*win.shape[: 2 + nd], -1)
            res = _OBJ_MAX.reduce(flat, axis=-1, initial=None)
            res = np.asarray(res, dtype=object)
            empty = np.array([v is None for v in res.flat], dtype=bool).reshape(res.shape)
            res[empty] = -math.inf
            return res
        x = xb if xb.dtype.kind in "fc" else xb.astype(np.float64)
        xp = _pad(x, ext, "constant", -np.inf)
        win = _windows(xp, spec.kernel_size, spec.stride, spec.dilation, out_sp)
        return np.asarray(win.max(axis=taps_axes))
    x = xb if (obj or xb.dtype.kind in "fc") else xb.astype(np.float64)
    if spec.kind == "lp":
        return _lp_pool(spec, x, ext, pads, out_sp)
    xp = _pad(x, ext, "constant", 0)
    win = _windows(xp, spec.kernel_size, spec.stride, spec.dilation, out_sp)
    total = win.sum(axis=taps_axes)
    counts = _window_counts(spec, spatial, pads, out_sp, spec.count_include_pad)
    if obj:
        return np.asarray(_OBJ_DIV(total, counts), dtype=object)
    with np.errstate(invalid="ignore", divide="ignore"):  # a window of padding only: nan
        return np.asarray(total / counts.astype(total.dtype))


def _window_counts(
    spec: PoolSpec,
    spatial: tuple[int, ...],
    pads: Any,
    out_sp: tuple[int, ...],
    include_pad: bool,
) -> np.ndarray:
    """Per output position, the taps inside the input (plus explicit padding if included)."""
    nd = spec.ndim
    counts: Any = np.ones((1,) * nd, dtype=np.int64)
    for axis, (i, k, s, d, (pl, pr), o) in enumerate(
        zip(spatial, spec.kernel_size, spec.stride, spec.dilation, pads, out_sp)
    ):
        lo, hi = (-pl, i + pr) if include_pad else (0, i)
        shape = [1] * nd
        shape[axis] = o
        counts = counts * _axis_counts(i, k, s, d, lo, hi, pl, o).reshape(shape)
    return np.asarray(counts)


def _lp_pool(
    spec: PoolSpec, x: np.ndarray, ext: Any, pads: Any, out_sp: tuple[int, ...]
) -> np.ndarray:
    """Lp pooling: ``(sum v**p) ** (1/p)``, ``v = x`` (PyTorch) or ``|x|`` (ONNX).

    PyTorch's LPPool is ``prod(k)`` times an average pool of ``x**p``, so a ceil-mode window
    overhanging the input is scaled by ``prod(k) / taps inside``.  Exact for object arrays
    when ``p = 1``; otherwise computed in floating point (object arrays become float64).
    """
    p = spec.norm_type
    assert p is not None
    if x.dtype == object and p != 1:
        x = x.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        powered = abs(x) ** p if spec.legality == "onnx" else x**p
        win = _windows(_pad(powered, ext, "constant", 0), spec.kernel_size, spec.stride,
                       spec.dilation, out_sp)  # fmt: skip
        total = win.sum(axis=tuple(range(2 + spec.ndim, 2 + 2 * spec.ndim)))
        if spec.legality == "pytorch":
            counts = _window_counts(spec, x.shape[2:], pads, out_sp, True)
            total = total * math.prod(spec.kernel_size) / _as_divisor(counts, total)
        if p == 1:
            return np.asarray(total)
        # a negative base (odd p under PyTorch) has no real root: nan, as PyTorch gives
        return np.asarray(total ** (1.0 / p))


def _as_divisor(counts: np.ndarray, like: np.ndarray) -> Any:
    """``counts`` in the arithmetic of ``like`` (``Fraction`` for object arrays)."""
    if like.dtype == object:
        return np.vectorize(Fraction, otypes=[object])(counts)
    return counts.astype(like.dtype)


# --------------------------------------------------------------------------------------
# public
# --------------------------------------------------------------------------------------


def _work_bytes(spec: Any, shape: tuple[int, ...], itemsize: int) -> int:
    """An upper bound of the work arrays of :func:`conv` for a batched input ``shape``: the
    padded input, the im2col columns (or, transposed, the per-tap products and the
    scatter buffer) and the output."""
    n, c_in, spatial = shape[0], shape[1], shape[2:]
    pads, out_sp = _plan(spec, shape)  # cached per (spec, shape): cheap on small calls
    padded = n * c_in * math.prod(i + a + b for i, (a, b) in zip(spatial, pads))
    taps = math.prod(spec.kernel_size)
    c_out = c_in if isinstance(spec, PoolSpec) else spec.out_channels
    out = n * c_out * math.prod(out_sp)
    if isinstance(spec, ConvTransposeSpec):
        full = math.prod(
            (i - 1) * s + d * (k - 1) + 1 + o
            for i, s, d, k, o in zip(spatial, spec.stride, spec.dilation, spec.kernel_size, out_sp)
        )
        work = n * c_out * taps * math.prod(spatial) + n * c_out * full
    elif isinstance(spec, PoolSpec):
        work = 2 * out  # the running max / sum and the counts
    else:
        work = n * c_in * taps * math.prod(out_sp)
    return (padded + work + out) * itemsize


def conv(
    spec: Any,
    x: Any,
    weight: Any = None,
    bias: Any = None,
    *,
    max_bytes: int | None = None,
    layout: str | None = None,
    weight_layout: str | None = None,
) -> np.ndarray:
    """Evaluate a convolution, transposed convolution or pooling layer on an array.

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
        The layer.
    x : array_like
        Input ``(C_in, *spatial)`` or ``(N, C_in, *spatial)``.
    weight : array_like, optional
        PyTorch layout: ``(C_out, C_in/groups, *kernel_size)`` for a convolution,
        ``(C_in, C_out/groups, *kernel_size)`` for a transposed convolution.  Required for
        both; must be ``None`` for pooling.
    bias : array_like, optional
        ``(C_out,)``; only for a layer with ``bias=True``.  ``None`` adds no bias.
    max_bytes : int, optional
        Refuse when the work arrays (padded input, im2col columns, output) are estimated
        above this many bytes (default :func:`convproof.get_max_bytes`); the
        estimate is made before anything is allocated.
    layout : str, optional
        Axis order of ``x`` and of the result: ``"NHWC"``, ``"NWC"``, ``"NDHWC"``,
        ``"HWC"`` (one sample), ``"channels_last"``, any order of the letters (see
        :mod:`convproof.layers.layout`).  Default: channels-first.
    weight_layout : str, optional
        Axis order of ``weight``: ``"HWIO"`` (TensorFlow, JAX), ``"HWOI"`` (TF
        transposed), ``"HWCM"`` (TF depthwise, ``groups == in_channels``), any order of
        the letters.  Default: PyTorch's layout.

    Returns
    -------
    numpy.ndarray
        ``spec.output_shape(x.shape)``, batched when ``x`` is (in ``layout``).

        ================================  =========================================
        inputs                            result dtype
        ================================  =========================================
        float32 / float64                 kept (NumPy promotion rules across arrays)
        integer (conv, transposed conv)   int64, exact; object (Python ints) when
                                          int64 could overflow
        integer (pooling)                 float64
        object (int, Fraction, SymPy)     object, exact (``Fraction`` averages)
        ================================  =========================================

    Raises
    ------
    ConvProofError
        If ``x``, ``weight`` or ``bias`` does not fit the spec (shape, channels, empty
        output, padding-mode limits), or ``weight`` is missing for a convolution.
    MemoryLimitError
        When the estimated work arrays exceed ``max_bytes``.

    Notes
    -----
    Convolution: ``Z[n, c, a] = b[c] + sum_{k in group(c)} sum_u Xp[n, k, a*s + u*d] W[c, k', u]``
    with ``Xp`` the input padded by ``spec.resolve_padding`` in ``spec.padding_mode``.
    Transposed convolution: input element ``(k, i)`` times tap ``u`` is added to output
    position ``i*s + u*d - p_before``.  Average pooling divides by the number of taps inside
    the input plus explicit padding (``count_include_pad=True``) or inside the input only;
    the ceil-mode overhang never counts.  Max pooling ignores padding; a window with no
    input element gives ``-inf``.

    Examples
    --------
    >>> import numpy as np
    >>> import convproof as cp
    >>> pool = cp.PoolSpec(kind="avg", kernel_size=2, stride=2, ceil_mode=True, ndim=1)
    >>> cp.conv(pool, np.array([[1.0, 2, 3, 4, 5]]))
    array([[1.5, 3.5, 5. ]])
    >>> t = cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=2, stride=2,
    ...                          bias=False, ndim=1)
    >>> cp.conv(t, np.array([[1, 2]]), np.array([[[1, 10]]]))
    array([[ 1, 10,  2, 20]])

    Channels-last data and TensorFlow's weight layout:

    >>> spec = cp.ConvSpec(in_channels=2, out_channels=3, kernel_size=2, bias=False)
    >>> x, w = np.ones((1, 4, 4, 2)), np.ones((2, 2, 2, 3))  # NHWC, HWIO
    >>> cp.conv(spec, x, w, layout="NHWC", weight_layout="HWIO").shape
    (1, 3, 3, 3)
    """
    if layout is not None or weight_layout is not None:
        compute = functools.partial(conv, max_bytes=max_bytes)
        x = _as_array("x", x)
        return call_in_layout(compute, spec, x, weight, bias, layout, weight_layout)
    return _evaluate(spec, x, weight, bias, tuning=_TUNING, max_bytes=max_bytes)


def _evaluate(
    spec: Any, x: Any, weight: Any, bias: Any, *, tuning: _Tuning, max_bytes: int | None = None
) -> np.ndarray:
    """:func:`conv` with an explicit :class:`_Tuning` (tests and benchmarks pass their own)."""
    check_spec(spec)
    xa = _as_array("x", x)
    xb = _check_x(spec, xa)
    batched = xa.ndim == spec.ndim + 2
    _check_memory(spec, xb.shape, xb.dtype, max_bytes)
    if spec.layer == "pool":
        if weight is not None or bias is not None:
            raise ConvProofError(
                f"weight and bias must be None for pooling, got weight of type "
                f"{type(weight).__name__}, bias of type {type(bias).__name__}"
            )
        if xb.dtype.kind == "b":
            xb = xb.astype(np.int64)
        out = _pool(spec, xb)
    else:
        w, b = _check_weight_bias(spec, weight, bias)
        dtype = _result_dtype(xb, w, b)
        if dtype.kind == "i" and xb.dtype.kind != "O":
            xb, w, b, dtype = _exact_integers(spec, xb, w, b)
        if not spec.transposed:
            out = _conv_forward(spec, xb, w, dtype, tuning)
        else:
            out = _conv_transpose(spec, xb, w, dtype)
        if b is not None:
            out += b.astype(dtype, copy=False).reshape((1, -1) + (1,) * spec.ndim)
    return out if batched else out[0]
