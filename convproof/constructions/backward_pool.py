"""Backward passes of pooling: exact gradients, PyTorch's max-pool indices and unpooling.

:func:`pool_backward` scatters ``g / divisor`` into every window (average pooling: padding
and the ceil-mode overhang dropped; linear Lp pooling, ``norm_type=1`` under PyTorch's
rules: ``g * prod(k) / divisor``) or adds ``g`` at each window's maximum (max pooling);
:func:`max_pool_indices` and :func:`max_unpool` are PyTorch's ``return_indices=True`` and
``MaxUnpool``.  The index arithmetic is :mod:`convproof.constructions.backward_plan`'s (the
same plan as the convolution's backward pass, never the matrices or the index rule).

Examples
--------
>>> import numpy as np
>>> import convproof as cp
>>> pool = cp.PoolSpec(kind="max", kernel_size=2, ndim=1)
>>> cp.pool_backward(pool, np.array([[1, 3, 2, 0]]), np.array([[10, 20]]))
array([[ 0, 10, 20,  0]])
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from convproof.constructions.backward_plan import (
    _abs_sum,
    _cast,
    _check_x_g,
    _fold_all,
    _get_plan,
    _Plan,
    _tap_index,
    _taps,
    _unfold_all,
    _work_dtype,
)
from convproof.constructions.numeric import _as_array
from convproof.errors import ConvProofError
from convproof.layers.spec import PoolSpec
from convproof.layers.window import check_spec, lp_scale, refuse_lp

__all__ = ["max_pool_indices", "max_unpool", "pool_backward"]


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
        counted[max(pl, 0) : pl + n] = 1  # a negative pl (a crop): real from cell 0
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
    return _unfold_all(xb, plan), _taps(spec)


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
    ceil-mode overhang never counts).  Linear Lp pooling (``norm_type=1``, PyTorch):
    ``g[a] * prod(k) / divisor(a)``, the divisor the taps inside the input.  Max: ``g[a]``
    is added to the input cell :func:`max_pool_indices` names (PyTorch's tie rule: the
    first maximum in the window, the last NaN); overlapping windows accumulate.

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
    scale = lp_scale(spec)  # linear Lp pooling: prod(k) / divisor per window
    if gb.dtype.kind in "fc":
        gd = (gb * scale if scale != 1 else gb) / div.astype(gb.dtype)
    else:
        go = _cast(gb, np.dtype(object)) * scale
        gd = np.asarray(_OBJ_DIV(go, np.broadcast_to(div, go.shape)), dtype=object)
    buf = np.zeros((n, c, *(ax.length for ax in plan.axes)), dtype=gd.dtype)
    for u in _taps(spec):
        buf[_tap_index(plan, u)] += gd
    out = np.ascontiguousarray(_fold_all(buf, plan))
    return out if batched else out[0]
