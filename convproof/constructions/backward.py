"""Backward passes: exact gradients of convolution, transposed convolution and pooling.

:func:`conv_backward` returns ``(grad_input, grad_weight, grad_bias)`` for a
:class:`~convproof.ConvSpec` or :class:`~convproof.ConvTransposeSpec` (and
``(grad_input, None, None)`` for a :class:`~convproof.PoolSpec`) given the upstream gradient
``grad_output`` (``dL/dZ``).  :func:`pool_backward` is the pooling form;
:func:`max_pool_indices` and :func:`max_unpool` are PyTorch's ``return_indices=True`` and
``MaxUnpool``.

=====================  ==============================================================
layer                  construction (the *scatter* form of the definition)
=====================  ==============================================================
convolution            ``grad_input``: ``W^T g`` per group (one GEMM), each tap's
                       column scattered (``+=``) into a buffer over the *padded* input
                       at the tap's strided slice, then the buffer folded back onto the
                       input through the padding map (the index array
                       ``np.pad(arange(i), p, mode)``: a padded cell adds into the input
                       cell it copies, so reflect / replicate / circular taps land on the
                       cells they read).  ``grad_weight``: the padded input (gathered
                       through the same map) correlated with ``g`` (one GEMM).
                       ``grad_bias``: ``g`` summed over batch and positions
transposed conv        the adjoint of its scatter: ``g`` padded by ``p`` (and cropped or
                       extended by ``output_padding``) and *gathered* at every tap's
                       strided slice (a strided convolution of ``g``)
average pooling        ``g / divisor`` scattered into every window, padding and the
                       ceil-mode overhang dropped
max pooling            ``g`` added (``+=``) at the index of each window's maximum
=====================  ==============================================================

This module writes its own index arithmetic (per-axis slices and padding maps); it never
calls :mod:`convproof.constructions.matrix`, :mod:`convproof.constructions.index` or the numeric
forward pass, so
:func:`convproof.prove_backward` compares two independent constructions.

Exactness: integer arrays are accumulated in ``int64`` when a bound on every result
(``sum |g| * max(|w| * taps, |x|)``) shows it cannot overflow, otherwise in Python ints
(object arrays); object arrays (``int``, ``Fraction``) stay exact.  Average pooling of
integers returns ``Fraction`` objects (the divisor).

Examples
--------
>>> import numpy as np
>>> import convproof as cp
>>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, ndim=1)
>>> gi, gw, gb = cp.conv_backward(spec, np.array([[1, 2, 3]]), np.array([[[10, 1]]]),
...                               np.array([[1, 1]]), bias=np.array([0]))
>>> gi, gw, gb
(array([[10, 11,  1]]), array([[[3, 5]]]), array([2]))
"""

from __future__ import annotations

import functools
import itertools
import math
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np

# input validation is shared with the forward conv (the index arithmetic below is not)
from convproof.constructions.numeric import _as_array, _check_memory, _check_weight_bias
from convproof.errors import ConvProofError
from convproof.layers.padding import padding_mode
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec
from convproof.layers.window import check_spec, refuse_lp

__all__ = ["conv_backward", "max_pool_indices", "max_unpool", "pool_backward"]

_SAFE = 2.0**62  # int64 accumulation is used only when every result is below this bound


# --------------------------------------------------------------------------------------
# the per-axis plan: buffer length, each tap's strided slice, the fold map
# --------------------------------------------------------------------------------------


class _Axis(NamedTuple):
    """One spatial axis of the backward construction.

    ``length`` is the buffer length (padded input for convolution and pooling, padded
    output for the transposed convolution); tap ``u`` touches ``buffer[taps[u]]`` (a strided
    slice, one entry per position of the *other* side); ``fold[q]`` is the index that
    buffer cell ``q`` stands for (``-1``: none, a zero pad or a cropped cell).
    """

    length: int
    taps: tuple[slice, ...]
    fold: np.ndarray


class _Plan(NamedTuple):
    in_shape: tuple[int, ...]  # one sample (C, *spatial)
    out_shape: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]
    axes: tuple[_Axis, ...]


def _tap_cell(a: Any, u: Any, *, stride: Any, dilation: Any) -> Any:
    """The buffer cell that position ``a`` meets through tap ``u``: ``a*stride + u*dilation``.

    Convolution and pooling: output ``a`` reads padded-input cell ``a*s + u*d``; transposed
    convolution: input ``a`` lands on padded-output cell ``a*s + u*d``.  This is backward's
    one index rule (with :func:`_cell_index`); it works on ints, NumPy arrays and SymPy
    symbols, so :func:`convproof.prove_backward_general` states it for symbolic sizes.
    """
    return a * stride + u * dilation


def _cell_index(q: Any, *, pad_before: Any) -> Any:
    """The tensor index that buffer cell ``q`` stands for: ``q - pad_before`` (zero padding;
    a result outside the tensor is a padding cell)."""
    return q - pad_before


def _tap_slice(u: int, count: int, stride: int, dilation: int) -> slice:
    """The buffer cells tap ``u`` meets for positions ``0 .. count - 1``, as a slice."""
    first = _tap_cell(0, u, stride=stride, dilation=dilation)
    last = _tap_cell(count - 1, u, stride=stride, dilation=dilation)
    step = _tap_cell(1, u, stride=stride, dilation=dilation) - first
    return slice(first, last + 1, step)


def _zero_fold(n: int, pad_before: int, length: int) -> np.ndarray:
    """For each of ``length`` buffer cells the index it stands for, ``-1`` for padding."""
    src = _cell_index(np.arange(length, dtype=np.int64), pad_before=pad_before)
    return np.where((src >= 0) & (src < n), src, -1)


def _fold_map(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """``np.pad(arange(n), (before, after), mode)``; ``-1`` for zero padding."""
    idx = np.arange(n, dtype=np.int64)
    if mode == "zeros":
        return np.pad(idx, (before, after), mode="constant", constant_values=-1)
    return np.pad(idx, (before, after), mode=padding_mode(mode).numpy)  # type: ignore[call-overload]


@functools.lru_cache(maxsize=256)
def _plan(spec: Any, sample: tuple[int, ...]) -> _Plan:
    """The backward plan of one sample shape ``(C, *spatial)`` (validated, cached)."""
    out = tuple(spec.output_shape(sample))
    pads = spec.resolve_padding(sample)
    axes = []
    for ax in range(spec.ndim):
        i, o = sample[1 + ax], out[1 + ax]
        k, s, d = spec.kernel_size[ax], spec.stride[ax], spec.dilation[ax]
        pl, pr = pads[ax]
        if spec.transposed:
            # input i lands on padded output i*s + u*d; the buffer covers every landing
            length = max((i - 1) * s + d * (k - 1) + 1, pl + o)
            taps = tuple(_tap_slice(u, i, s, d) for u in range(k))
            fold = _zero_fold(o, pl, length)
        else:
            # output a, tap u reads padded input a*s + u*d (ceil mode may run past pr)
            length = max(i + pl + pr, (o - 1) * s + d * (k - 1) + 1)
            taps = tuple(_tap_slice(u, o, s, d) for u in range(k))
            mode = spec.padding_mode
            fold = _zero_fold(i, pl, length)
            if mode != "zeros":
                fold = _fold_map(i, pl, pr, mode)
        fold.setflags(write=False)  # cached: shared by every later call, so read-only
        axes.append(_Axis(length, taps, fold))
    return _Plan(tuple(sample), out, pads, tuple(axes))


def _get_plan(spec: Any, sample: tuple[int, ...]) -> _Plan:
    try:
        return _plan(spec, tuple(sample))
    except TypeError:  # pragma: no cover - unhashable spec field
        return _plan.__wrapped__(spec, tuple(sample))


def _tap_index(plan: _Plan, u: tuple[int, ...]) -> tuple[slice, ...]:
    return (slice(None), slice(None), *(ax.taps[uu] for ax, uu in zip(plan.axes, u)))


def _taps(spec: Any) -> list[tuple[int, ...]]:
    return list(itertools.product(*(range(k) for k in spec.kernel_size)))


# --------------------------------------------------------------------------------------
# fold (scatter-add through the padding map) and unfold (gather through it)
# --------------------------------------------------------------------------------------


def _fold(buf: np.ndarray, axis: int, fold: np.ndarray, n: int) -> np.ndarray:
    """``out[..., fold[q], ...] += buf[..., q, ...]`` along ``axis`` (``fold[q] >= 0``)."""
    shape = list(buf.shape)
    shape[axis] = n
    out = np.zeros(shape, dtype=buf.dtype)
    lead: tuple[Any, ...] = (slice(None),) * axis
    for q in np.flatnonzero(fold >= 0):
        out[(*lead, int(fold[q]))] += buf[(*lead, int(q))]
    return out


def _fold_fast(buf: np.ndarray, axis: int, fold: np.ndarray, n: int) -> np.ndarray:
    """:func:`_fold`, with the identity run (the unpadded interior) copied as one slab."""
    starts = np.flatnonzero(fold == 0)
    lead: tuple[Any, ...] = (slice(None),) * axis
    for s0 in starts:
        if s0 + n <= fold.size and np.array_equal(fold[s0 : s0 + n], np.arange(n)):
            out = np.array(buf[(*lead, slice(int(s0), int(s0) + n))], copy=True)
            rest = fold.copy()
            rest[s0 : s0 + n] = -1
            for q in np.flatnonzero(rest >= 0):
                out[(*lead, int(rest[q]))] += buf[(*lead, int(q))]
            return out
    return _fold(buf, axis, fold, n)  # pragma: no cover - every map has its interior run


def _unfold(arr: np.ndarray, axis: int, fold: np.ndarray) -> np.ndarray:
    """``out[..., q, ...] = arr[..., fold[q], ...]`` (``0`` where ``fold[q] < 0``)."""
    out = np.take(arr, np.maximum(fold, 0), axis=axis)
    holes = np.flatnonzero(fold < 0)
    if holes.size:
        out[(slice(None),) * axis + (holes,)] = 0
    return out


# --------------------------------------------------------------------------------------
# validation and dtypes
# --------------------------------------------------------------------------------------


def _check_x_g(
    spec: Any, x: Any, grad_output: Any, max_bytes: int | None = None
) -> tuple[np.ndarray, np.ndarray, bool, _Plan]:
    """Validate ``x`` and ``grad_output`` (and the memory the gradients need); return them
    batched, the batched flag and the plan."""
    xa = _as_array("x", x)
    ga = _as_array("grad_output", grad_output)
    if xa.ndim not in (spec.ndim + 1, spec.ndim + 2):
        raise ConvProofError(
            f"x must have shape (C, *spatial) or (N, C, *spatial) with {spec.ndim} spatial "
            f"dims (ndim={spec.ndim}), got x.shape={xa.shape}"
        )
    expected = tuple(spec.output_shape(xa.shape))
    if tuple(ga.shape) != expected:
        raise ConvProofError(
            f"grad_output must have the layer's output shape {expected} for x.shape="
            f"{xa.shape}, got grad_output.shape={ga.shape}"
        )
    batched = xa.ndim == spec.ndim + 2
    shape = xa.shape if batched else (1, *xa.shape)
    _check_memory(
        spec, shape, xa.dtype, max_bytes, factor=_BACKWARD_WORK_FACTOR,
        what="the backward pass", arrays="",
    )  # fmt: skip
    plan = _get_plan(spec, tuple(xa.shape[-spec.ndim - 1 :]))
    if not batched:
        xa, ga = xa[None], ga[None]
    return xa, ga, batched, plan


def _abs_max(a: np.ndarray) -> float:
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a.astype(np.float64))))


def _abs_sum(a: np.ndarray) -> float:
    return float(np.sum(np.abs(a.astype(np.float64)))) if a.size else 0.0


def _work_dtype(arrays: list[np.ndarray], bound: Any) -> np.dtype:
    """The accumulation dtype: floats kept, integers int64 when ``bound()`` is safe, else object."""
    dt = np.result_type(*arrays)
    if dt.kind == "f" and all(a.dtype.kind in "biu" for a in arrays):
        return np.dtype(object)  # uint64 with int64 promotes to float64: stay exact instead
    if dt.kind == "b":
        dt = np.dtype(np.int64)
    if dt.kind in "iu":
        return np.dtype(np.int64) if bound() < _SAFE else np.dtype(object)
    return dt


def _cast(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype.kind == "O" and a.dtype.kind != "O":
        out = np.empty(a.shape, dtype=object)
        out.flat[:] = [int(v) if a.dtype.kind in "biu" else v for v in a.flat]
        return out
    return a.astype(dtype, copy=False)


# --------------------------------------------------------------------------------------
# convolution
# --------------------------------------------------------------------------------------


def _conv_grads(
    spec: ConvSpec, plan: _Plan, x: np.ndarray, w: np.ndarray, g: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    n = x.shape[0]
    G = spec.groups
    cin_g, cout_g = spec.in_channels // G, spec.out_channels // G
    taps = _taps(spec)
    nt = len(taps)
    out_sp = plan.out_shape[1:]
    big_o = math.prod(out_sp)
    if cin_g == 1:
        return _depthwise_grads(spec, plan, x, w, g)
    # g as (group, out channel, batch * position): one GEMM per gradient covers the batch
    g2 = np.ascontiguousarray(
        g.reshape(n, G, cout_g, big_o).transpose(1, 2, 0, 3).reshape(G, cout_g, n * big_o)
    )
    # grad_input: cols[grp, (ci, u), (n, a)] = sum_co W[grp*cout_g + co, ci, u] g[n, c, a]
    wt = w.reshape(G, cout_g, cin_g * nt).transpose(0, 2, 1)
    cols = np.matmul(wt, g2).reshape(spec.in_channels, nt, n, *out_sp)
    buf = np.zeros((n, spec.in_channels, *(ax.length for ax in plan.axes)), dtype=g.dtype)
    for t, u in enumerate(taps):
        buf[_tap_index(plan, u)] += cols[:, t].swapaxes(0, 1)
    for a, ax in enumerate(plan.axes):
        buf = _fold_fast(buf, 2 + a, ax.fold, plan.in_shape[1 + a])
    grad_input = buf
    # grad_weight[c, ci, u] = sum_{n, a} g[n, c, a] * Xpad[n, grp*cin_g + ci, a*s + u*d]
    xp = x
    for a, ax in enumerate(plan.axes):
        xp = _unfold(xp, 2 + a, ax.fold)
    win = np.empty((spec.in_channels, nt, n, *out_sp), dtype=g.dtype)
    for t, u in enumerate(taps):
        win[:, t] = xp[_tap_index(plan, u)].swapaxes(0, 1)
    win2 = win.reshape(G, cin_g * nt, n * big_o).transpose(0, 2, 1)
    grad_weight = np.matmul(g2, win2).reshape(spec.weight_shape)
    return grad_input, grad_weight


def _depthwise_grads(
    spec: ConvSpec, plan: _Plan, x: np.ndarray, w: np.ndarray, g: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One input channel per group: per-tap multiply-adds instead of tiny GEMMs."""
    n = x.shape[0]
    G, nd = spec.groups, spec.ndim
    cout_g = spec.out_channels // G
    out_sp = plan.out_shape[1:]
    gg = g.reshape(n, G, cout_g, *out_sp)
    wk = w.reshape(G, cout_g, -1)
    bshape = (1, G, cout_g) + (1,) * nd
    buf = np.zeros((n, G, *(ax.length for ax in plan.axes)), dtype=g.dtype)
    xp = x
    for a, ax in enumerate(plan.axes):
        xp = _unfold(xp, 2 + a, ax.fold)
    grad_weight = np.empty((G, cout_g, wk.shape[2]), dtype=g.dtype)
    for t, u in enumerate(_taps(spec)):
        index = _tap_index(plan, u)
        prod = gg * wk[:, :, t].reshape(bshape)
        buf[index] += prod.sum(axis=2) if cout_g > 1 else prod[:, :, 0]
        xt = xp[index]  # (N, G, *out)
        grad_weight[:, :, t] = np.einsum(
            "ngco,ngo->gc", gg.reshape(n, G, cout_g, -1), xt.reshape(n, G, -1)
        )
    for a, ax in enumerate(plan.axes):
        buf = _fold_fast(buf, 2 + a, ax.fold, plan.in_shape[1 + a])
    return buf, grad_weight.reshape(spec.weight_shape)


def _transpose_grads(
    spec: ConvTransposeSpec, plan: _Plan, x: np.ndarray, w: np.ndarray, g: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    n = x.shape[0]
    G = spec.groups
    cin_g, cout_g = spec.in_channels // G, spec.out_channels // G
    taps = _taps(spec)
    nt = len(taps)
    in_sp = plan.in_shape[1:]
    big_i = math.prod(in_sp)
    gp = g
    for a, ax in enumerate(plan.axes):
        gp = _unfold(gp, 2 + a, ax.fold)
    # gathered[n, c, u, i] = g[n, c, i*s + u*d - p] (the tap's strided slice of padded g)
    gat = np.empty((n, spec.out_channels, nt, *in_sp), dtype=g.dtype)
    for t, u in enumerate(taps):
        gat[:, :, t] = gp[_tap_index(plan, u)]
    gat = gat.reshape(n, G, cout_g * nt, big_i)
    # grad_input[n, k, i] = sum_{cl, u} W[k, cl, u] gathered[n, grp*cout_g + cl, u, i]
    wg = w.reshape(G, cin_g, cout_g * nt)
    grad_input = np.matmul(wg, gat).reshape(n, spec.in_channels, *in_sp)
    # grad_weight[k, cl, u] = sum_{n, i} X[n, k, i] gathered[n, grp*cout_g + cl, u, i]
    xg = x.reshape(n, G, cin_g, big_i).transpose(1, 2, 0, 3).reshape(G, cin_g, n * big_i)
    gt = gat.transpose(1, 0, 3, 2).reshape(G, n * big_i, cout_g * nt)
    grad_weight = np.matmul(xg, gt).reshape(spec.weight_shape)
    return grad_input, grad_weight


#: The backward pass holds about twice the forward's work arrays: the per-tap products of
#: ``grad_output`` folded into ``grad_input`` and the unfolded input read by ``grad_weight``.
_BACKWARD_WORK_FACTOR = 2


def conv_backward(
    spec: Any,
    x: Any,
    weight: Any,
    grad_output: Any,
    bias: Any = None,
    *,
    max_bytes: int | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Gradients of a layer's output with respect to its input, weight and bias.

    For ``Z = layer(x, weight, bias)`` and an upstream gradient ``g = dL/dZ``, returns
    ``(dL/dx, dL/dweight, dL/dbias)`` exactly as ``torch.autograd`` defines them.

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
        The layer (every feature: groups, stride, dilation, per-side and named padding,
        padding modes, ``output_padding``, 1/2/3-D).  For pooling see :func:`pool_backward`.
    x : array_like
        The layer's input, ``(C_in, *spatial)`` or batched ``(N, C_in, *spatial)``.
    weight : array_like
        PyTorch layout (``(C_out, C_in/groups, *k)``, transposed ``(C_in, C_out/groups, *k)``);
        ``None`` for pooling.
    grad_output : array_like
        ``dL/dZ``, of the layer's output shape ``spec.output_shape(x.shape)``.
    bias : array_like, optional
        Only decides whether ``grad_bias`` is returned (its value never matters).
    max_bytes : int, optional
        Refuse (before allocating) when the estimated work arrays are larger; default
        :func:`convproof.get_max_bytes`.

    Returns
    -------
    grad_input : numpy.ndarray
        ``x``'s shape.
    grad_weight : numpy.ndarray or None
        ``weight``'s shape (``None`` for pooling).
    grad_bias : numpy.ndarray or None
        ``(C_out,)``, ``g`` summed over batch and positions; ``None`` without ``bias``.

        ===========================  ============================================
        inputs                       result dtype
        ===========================  ============================================
        float32 / float64            kept (NumPy promotion across x, weight, g)
        integer                      int64 when no result can overflow it, else
                                     object (Python ints); exact either way
        object (int, Fraction)       object, exact
        ===========================  ============================================

    Raises
    ------
    ConvProofError
        If an array does not fit the spec (shape, channels, ``grad_output`` not of the
        output shape, a missing weight, a bias for a layer without one).

    Notes
    -----
    With ``Xp`` the input padded by ``spec.resolve_padding`` in ``spec.padding_mode`` and
    ``src_a(q)`` the input cell padded cell ``q`` copies (``None`` for a zero pad):

    * ``grad_input[n, k, src(a*s + u*d)] += sum_{c in group(k)} g[n, c, a] W[c, k', u]``
      (the transpose ``T^T g`` of the conv matrix),
    * ``grad_weight[c, k', u] = sum_{n, a} g[n, c, a] Xp[n, k, a*s + u*d]``,
    * ``grad_bias[c] = sum_{n, a} g[n, c, a]``.

    Transposed convolution: input ``(k, i)`` times tap ``u`` lands on output
    ``i*s + u*d - p_before``, so ``grad_input[n, k, i] = sum_{c, u} W[k, c', u] g[n, c, i*s
    + u*d - p_before]`` over landings inside the output, and
    ``grad_weight[k, c', u] = sum_{n, i} x[n, k, i] g[n, c, i*s + u*d - p_before]``.

    Examples
    --------
    A padded cell of a ``replicate`` convolution copies the edge cell, so its gradient
    folds back onto that cell:

    >>> import numpy as np
    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=1,
    ...                    padding_mode="replicate", bias=False, ndim=1)
    >>> gi, gw, gb = cp.conv_backward(spec, np.array([[1, 2]]), np.array([[[1, 1, 1]]]),
    ...                               np.array([[1, 0]]))
    >>> gi, gw, gb
    (array([[2, 1]]), array([[[1, 1, 2]]]), None)

    The transposed convolution's input gradient is a strided convolution of ``g``:

    >>> t = cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=2, stride=2,
    ...                          bias=False, ndim=1)
    >>> cp.conv_backward(t, np.array([[1, 2]]), np.array([[[1, 10]]]),
    ...                  np.array([[1, 2, 3, 4]]))[:2]
    (array([[21, 43]]), array([[[ 7, 10]]]))
    """
    check_spec(spec)
    refuse_lp(spec, "conv_backward")
    if spec.layer == "pool":
        if weight is not None or bias is not None:
            raise ConvProofError(
                f"weight and bias must be None for pooling, got weight of type "
                f"{type(weight).__name__}, bias of type {type(bias).__name__}"
            )
        return pool_backward(spec, x, grad_output, max_bytes=max_bytes), None, None
    xb, gb, batched, plan = _check_x_g(spec, x, grad_output, max_bytes)
    w, b = _check_weight_bias(spec, weight, bias)
    taps = math.prod(spec.kernel_size)

    def bound() -> float:
        return _abs_sum(gb) * max(_abs_max(w) * taps, _abs_max(xb), 1.0)

    dtype = _work_dtype([xb, w, gb], bound)
    xw, ww, gw_ = _cast(xb, dtype), _cast(w, dtype), _cast(gb, dtype)
    if xb.shape[0] == 0:
        grad_input = np.zeros(xb.shape, dtype=dtype)
        grad_weight = np.zeros(spec.weight_shape, dtype=dtype)
    elif not spec.transposed:
        grad_input, grad_weight = _conv_grads(spec, plan, xw, ww, gw_)
    else:
        grad_input, grad_weight = _transpose_grads(spec, plan, xw, ww, gw_)
    grad_bias = None
    if b is not None:
        axes = (0, *range(2, 2 + spec.ndim))
        grad_bias = np.asarray(gw_.sum(axis=axes)) if gw_.size else np.zeros(0, dtype)
        grad_bias = grad_bias.reshape(spec.out_channels).astype(dtype, copy=False)
    grad_input = np.ascontiguousarray(grad_input)
    return (grad_input if batched else grad_input[0]), np.ascontiguousarray(grad_weight), grad_bias


# --------------------------------------------------------------------------------------
# pooling
# --------------------------------------------------------------------------------------


def _divisors(spec: PoolSpec, plan: _Plan) -> np.ndarray:
    """Average-pooling divisor per output position, ``(*out)`` (int64).

    A tap counts when its buffer cell is a real input cell, or (``count_include_pad``) an
    explicit padding cell; the ceil-mode overhang beyond the right padding never counts.
    """
    div = np.ones((1,) * spec.ndim, dtype=np.int64)
    for a, ax in enumerate(plan.axes):
        pl, pr = plan.pads[a]
        n = plan.in_shape[1 + a]
        counted = np.zeros(ax.length, dtype=np.int64)
        counted[: pl + n + pr] = 1 if spec.count_include_pad else 0
        counted[pl : pl + n] = 1
        per = np.sum([counted[sl] for sl in ax.taps], axis=0)
        shape = [1] * spec.ndim
        shape[a] = per.size
        div = div * np.asarray(per).reshape(shape)
    return div


def _exact_div(total: Any, count: Any) -> Any:
    return total / Fraction(int(count)) if count else 0


_OBJ_DIV = np.frompyfunc(_exact_div, 2, 1)


def _window_values(
    spec: PoolSpec, plan: _Plan, xb: np.ndarray
) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """The input gathered into the buffer (zeros on padding) and the taps in window order."""
    xp = xb
    for a, ax in enumerate(plan.axes):
        xp = _unfold(xp, 2 + a, ax.fold)
    return xp, _taps(spec)


def max_pool_indices(spec: PoolSpec, x: Any) -> np.ndarray:
    """The flat index of each window's maximum, as PyTorch's ``return_indices=True`` gives.

    Parameters
    ----------
    spec : PoolSpec
        ``kind="max"``.
    x : array_like
        ``(C, *spatial)`` or ``(N, C, *spatial)``; numbers that compare (floats, ints,
        ``Fraction``).

    Returns
    -------
    numpy.ndarray of int64
        The output shape; each entry is the row-major index into the *unpadded* spatial
        input of its channel (``np.unravel_index(idx, spatial)`` recovers the position).

    Raises
    ------
    ConvProofError
        If ``spec`` is not max pooling or ``x`` does not fit it.

    Notes
    -----
    Tie rule (PyTorch's, found by experiment with PyTorch 2.13 CPU and matched by the
    tests): taps are visited in row-major window order; the first tap inside the input
    starts the maximum (even ``-inf``), and a later tap replaces it iff its value is
    *strictly* greater or is NaN.  So among equal maxima the **first** in the window wins,
    and among NaNs the **last** NaN wins.  Padding cells are never chosen; a window of
    padding only (possible with dilation) gets ``-1`` (PyTorch returns an index outside
    the input there, and its backward passes nothing back for it, as
    :func:`pool_backward` does).

    Examples
    --------
    >>> import numpy as np
    >>> import convproof as cp
    >>> pool = cp.PoolSpec(kind="max", kernel_size=3, stride=1, ndim=1)
    >>> cp.max_pool_indices(pool, np.array([[1.0, 3, 3, 1, 3]]))
    array([[1, 1, 2]])
    """
    check_spec(spec)
    if spec.kind_name != "max_pool":
        raise ConvProofError(f"spec must be a max-pooling PoolSpec, got spec={spec!r}")
    xa = _as_array("x", x)
    if xa.ndim not in (spec.ndim + 1, spec.ndim + 2):
        raise ConvProofError(
            f"x must have shape (C, *spatial) or (N, C, *spatial) with {spec.ndim} spatial "
            f"dims (ndim={spec.ndim}), got x.shape={xa.shape}"
        )
    batched = xa.ndim == spec.ndim + 2
    xb = xa if batched else xa[None]
    if xb.dtype.kind == "b":
        xb = xb.astype(np.int64)
    plan = _get_plan(spec, tuple(xb.shape[1:]))
    idx = _max_indices(spec, plan, xb)
    return idx if batched else idx[0]


def _max_indices(spec: PoolSpec, plan: _Plan, xb: np.ndarray) -> np.ndarray:
    n, c = xb.shape[:2]
    out_sp = plan.out_shape[1:]
    in_sp = plan.in_shape[1:]
    xp, taps = _window_values(spec, plan, xb)
    # flat input index of every buffer cell (-1 on padding), per axis then combined
    flat_cell = np.zeros((1,) * spec.ndim, dtype=np.int64)
    inside = np.ones((1,) * spec.ndim, dtype=bool)
    for a, ax in enumerate(plan.axes):
        shape = [1] * spec.ndim
        shape[a] = ax.length
        flat_cell = flat_cell * in_sp[a] + ax.fold.reshape(shape)
        inside = inside & (ax.fold >= 0).reshape(shape)
    obj = xb.dtype == object
    best = np.zeros((n, c, *out_sp), dtype=xb.dtype)
    have = np.zeros((n, c, *out_sp), dtype=bool)
    idx = np.full((n, c, *out_sp), -1, dtype=np.int64)
    for u in taps:
        sl = _tap_index(plan, u)[2:]
        vals = xp[(slice(None), slice(None), *sl)]
        valid = inside[sl]
        if obj:
            gt = np.array([bool(v > b) for v, b in zip(vals.flat, best.flat)], dtype=bool)
            greater = gt.reshape(vals.shape)
            nan = np.zeros(vals.shape, dtype=bool)
        else:
            with np.errstate(invalid="ignore"):
                greater = vals > best
            nan = np.isnan(vals) if vals.dtype.kind in "fc" else np.zeros(vals.shape, bool)
        upd = valid & (~have | greater | nan)
        best = np.where(upd, vals, best)
        idx = np.where(upd, flat_cell[sl], idx)
        have |= valid
    return idx


def max_unpool(spec: PoolSpec, x: Any, indices: Any, output_size: Any = None) -> np.ndarray:
    """PyTorch's ``MaxUnpool``: place each value at its index, zeros elsewhere.

    Parameters
    ----------
    spec : PoolSpec
        The max pooling that produced ``indices`` (kernel, stride, padding).
    x : array_like
        Pooled values ``(C, *o)`` or ``(N, C, *o)``.
    indices : array_like of int
        Same shape; flat per-channel indices into the unpooled spatial input (as from
        :func:`max_pool_indices`).
    output_size : tuple of int, optional
        Spatial size of the result (a full shape is accepted too, as PyTorch does).
        Default: ``(o - 1) * s - p_before - p_after + k`` per axis (PyTorch's default).

    Returns
    -------
    numpy.ndarray
        ``(C, *output_size)`` or batched; an index written twice keeps the last value in
        row-major order of ``x`` (PyTorch CPU's order).

    Raises
    ------
    ConvProofError
        For a bad shape or an index outside the output.

    Examples
    --------
    >>> import numpy as np
    >>> import convproof as cp
    >>> pool = cp.PoolSpec(kind="max", kernel_size=2, ndim=1)
    >>> cp.max_unpool(pool, np.array([[7.0, 8.0]]), np.array([[1, 3]]))
    array([[0., 7., 0., 8.]])
    """
    check_spec(spec)
    if spec.kind_name != "max_pool":
        raise ConvProofError(f"spec must be a max-pooling PoolSpec, got spec={spec!r}")
    xa = _as_array("x", x)
    ia = np.asarray(indices)
    if xa.ndim not in (spec.ndim + 1, spec.ndim + 2):
        raise ConvProofError(
            f"x must have shape (C, *spatial) or (N, C, *spatial) with {spec.ndim} spatial "
            f"dims (ndim={spec.ndim}), got x.shape={xa.shape}"
        )
    if ia.shape != xa.shape or ia.dtype.kind not in "iu":
        raise ConvProofError(
            f"indices must be integers of x's shape {xa.shape}, got indices.shape={ia.shape} "
            f"(dtype {ia.dtype})"
        )
    if output_size is None:
        if isinstance(spec.padding, str) and spec.padding != "valid":
            raise ConvProofError(
                f"output_size must be given with a named padding (it depends on the input "
                f"size), got output_size=None with padding={spec.padding!r}"
            )
        pads = spec.padding if isinstance(spec.padding, tuple) else ((0, 0),) * spec.ndim
        size = tuple(
            (o - 1) * s - pl - pr + k
            for o, s, (pl, pr), k in zip(
                xa.shape[-spec.ndim :], spec.stride, pads, spec.kernel_size
            )
        )
    else:
        size = tuple(int(v) for v in output_size)[-spec.ndim :]
        if len(size) != spec.ndim or any(v < 1 for v in size):
            raise ConvProofError(
                f"output_size must give {spec.ndim} positive spatial sizes, "
                f"got output_size={output_size!r}"
            )
    batched = xa.ndim == spec.ndim + 2
    xb = xa if batched else xa[None]
    ib = ia if batched else ia[None]
    n, c = xb.shape[:2]
    per = math.prod(size)
    if ib.size and (int(ib.min()) < 0 or int(ib.max()) >= per):
        raise ConvProofError(
            f"indices must lie in [0, {per}) for output_size={size}, got indices in "
            f"[{int(ib.min())}, {int(ib.max())}]"
        )
    out = np.zeros((n * c, per), dtype=xb.dtype)
    rows = np.repeat(np.arange(n * c), ib[0, 0].size if ib.size else 0)
    out[rows, ib.reshape(-1)] = xb.reshape(-1)
    out = out.reshape(n, c, *size)
    return out if batched else out[0]


def pool_backward(
    spec: PoolSpec, x: Any, grad_output: Any, *, max_bytes: int | None = None
) -> np.ndarray:
    """``dL/dx`` of max or average pooling, given ``grad_output = dL/dZ``.

    Parameters
    ----------
    spec : PoolSpec
    x : array_like
        The pooling input ``(C, *spatial)`` or ``(N, C, *spatial)`` (max pooling reads its
        values to find each window's maximum; average pooling only its shape).
    grad_output : array_like
        Of the output shape ``spec.output_shape(x.shape)``.
    max_bytes : int, optional
        Refuse (before allocating) when the estimated work arrays are larger; default
        :func:`convproof.get_max_bytes`.

    Returns
    -------
    numpy.ndarray
        ``x``'s shape.  Average pooling: float dtypes kept; integers and objects give exact
        ``Fraction`` objects.  Max pooling: ``grad_output``'s dtype (integers exact).

    Raises
    ------
    ConvProofError
        If the arrays do not fit the spec.

    Notes
    -----
    Average: every tap of window ``a`` inside the input receives ``g[a] / divisor(a)``
    (divisor: taps inside the input, plus explicit padding when ``count_include_pad``; the
    ceil-mode overhang never counts).  Max: ``g[a]`` is added to the input cell
    :func:`max_pool_indices` names (PyTorch's tie rule: the first maximum in the window,
    the last NaN); overlapping windows accumulate.

    Examples
    --------
    >>> import numpy as np
    >>> import convproof as cp
    >>> avg = cp.PoolSpec(kind="avg", kernel_size=2, stride=2, ceil_mode=True, ndim=1)
    >>> cp.pool_backward(avg, np.zeros((1, 5)), np.array([[2, 4, 6]]))
    array([[Fraction(1, 1), Fraction(1, 1), Fraction(2, 1), Fraction(2, 1),
            Fraction(6, 1)]], dtype=object)
    >>> mx = cp.PoolSpec(kind="max", kernel_size=2, stride=1, ndim=1)
    >>> cp.pool_backward(mx, np.array([[1.0, 5, 2]]), np.array([[1.0, 10.0]]))
    array([[ 0., 11.,  0.]])
    """
    check_spec(spec)
    refuse_lp(spec, "pool_backward")
    if spec.layer != "pool":
        raise ConvProofError(f"spec must be a PoolSpec, got spec={spec!r}")
    xb, gb, batched, plan = _check_x_g(spec, x, grad_output, max_bytes)
    if xb.dtype.kind == "b":
        xb = xb.astype(np.int64)
    n, c = xb.shape[:2]
    in_sp = plan.in_shape[1:]
    if spec.kind == "max":
        dtype = _work_dtype([gb], lambda: _abs_sum(gb))
        g = _cast(gb, dtype)
        idx = _max_indices(spec, plan, xb) if n else np.zeros(gb.shape, np.int64)
        per = math.prod(in_sp)
        flat = idx.reshape(n * c, -1) + (np.arange(n * c) * per)[:, None]
        keep = idx.reshape(n * c, -1) >= 0  # a window of padding only passes nothing back
        gi = np.zeros(n * c * per, dtype=dtype)
        np.add.at(gi, flat[keep], g.reshape(n * c, -1)[keep])
        out = gi.reshape(n, c, *in_sp)
        return out if batched else out[0]
    div = _divisors(spec, plan)
    if gb.dtype.kind in "fc":
        gd = gb / div.astype(gb.dtype)
    else:
        go = _cast(gb, np.dtype(object))
        gd = np.asarray(_OBJ_DIV(go, np.broadcast_to(div, go.shape)), dtype=object)
    buf = np.zeros((n, c, *(ax.length for ax in plan.axes)), dtype=gd.dtype)
    for u in _taps(spec):
        buf[_tap_index(plan, u)] += gd
    for a, ax in enumerate(plan.axes):
        buf = _fold_fast(buf, 2 + a, ax.fold, in_sp[a])
    out = np.ascontiguousarray(buf)
    return out if batched else out[0]
