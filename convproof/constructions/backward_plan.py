"""The index arithmetic the backward passes share: per-axis plans, folds and dtypes.

One sample shape's plan gives, per spatial axis, the buffer length, each tap's strided slice
(:func:`_tap_cell`: ``a*stride + u*dilation``) and the fold map (the index each buffer cell
stands for, through the padding mode); :func:`_fold_fast` scatters a buffer back onto the
tensor through it and :func:`_unfold` gathers through it.  :mod:`convproof.constructions.backward`
(convolution) and :mod:`convproof.constructions.backward_pool` (pooling) execute it;
:func:`convproof.prove_backward` proves it against the definition.

Like them, this module writes its own index arithmetic: it never calls
:mod:`convproof.constructions.matrix`, :mod:`convproof.constructions.index` or the numeric
forward pass (only its input validation and memory guard).
"""

from __future__ import annotations

import functools
import itertools
from typing import Any, NamedTuple

import numpy as np

# input validation is shared with the forward conv (the index arithmetic below is not)
from convproof.constructions.numeric import _as_array, _check_memory
from convproof.errors import ConvProofError
from convproof.layers.padding import padding_mode

__all__: list[str] = []

_SAFE = 2.0**62  # int64 accumulation is used only when every result is below this bound

#: The backward pass holds about twice the forward's work arrays: the per-tap products of
#: ``grad_output`` folded into ``grad_input`` and the unfolded input read by ``grad_weight``.
_BACKWARD_WORK_FACTOR = 2


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


def _unfold_all(arr: np.ndarray, plan: _Plan) -> np.ndarray:
    """``arr`` (batch and channel axes first) padded along every spatial axis."""
    for a, ax in enumerate(plan.axes):
        arr = _unfold(arr, 2 + a, ax.fold)
    return arr


def _fold_all(buf: np.ndarray, plan: _Plan) -> np.ndarray:
    """A gradient over the padded input folded back onto the input, along every spatial axis."""
    for a, ax in enumerate(plan.axes):
        buf = _fold_fast(buf, 2 + a, ax.fold, plan.in_shape[1 + a])
    return buf
