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

import math
from typing import Any

import numpy as np

from convproof.constructions.backward_plan import (
    _abs_max,
    _abs_sum,
    _cast,
    _check_x_g,
    _fold_all,
    _Plan,
    _tap_index,
    _taps,
    _unfold_all,
    _work_dtype,
)
from convproof.constructions.backward_pool import pool_backward
from convproof.constructions.numeric import _check_weight_bias
from convproof.errors import ConvProofError
from convproof.layers.spec import ConvSpec, ConvTransposeSpec
from convproof.layers.window import check_spec, refuse_lp

__all__ = ["conv_backward"]

# --------------------------------------------------------------------------------------
# convolution
# --------------------------------------------------------------------------------------


def _group_sizes(spec: ConvSpec | ConvTransposeSpec) -> tuple[int, int, int]:
    """``(groups, in channels per group, out channels per group)``."""
    G = spec.groups
    return G, spec.in_channels // G, spec.out_channels // G


def _conv_grads(
    spec: ConvSpec, plan: _Plan, x: np.ndarray, w: np.ndarray, g: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    n = x.shape[0]
    G, cin_g, cout_g = _group_sizes(spec)
    if cin_g == 1:
        return _depthwise_grads(spec, plan, x, w, g)
    taps = _taps(spec)
    nt = len(taps)
    out_sp = plan.out_shape[1:]
    big_o = math.prod(out_sp)
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
    grad_input = _fold_all(buf, plan)
    # grad_weight[c, ci, u] = sum_{n, a} g[n, c, a] * Xpad[n, grp*cin_g + ci, a*s + u*d]
    xp = _unfold_all(x, plan)
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
    G, _, cout_g = _group_sizes(spec)
    nd = spec.ndim
    out_sp = plan.out_shape[1:]
    gg = g.reshape(n, G, cout_g, *out_sp)
    wk = w.reshape(G, cout_g, -1)
    bshape = (1, G, cout_g) + (1,) * nd
    buf = np.zeros((n, G, *(ax.length for ax in plan.axes)), dtype=g.dtype)
    xp = _unfold_all(x, plan)
    grad_weight = np.empty((G, cout_g, wk.shape[2]), dtype=g.dtype)
    for t, u in enumerate(_taps(spec)):
        index = _tap_index(plan, u)
        prod = gg * wk[:, :, t].reshape(bshape)
        buf[index] += prod.sum(axis=2) if cout_g > 1 else prod[:, :, 0]
        xt = xp[index]  # (N, G, *out)
        grad_weight[:, :, t] = np.einsum(
            "ngco,ngo->gc", gg.reshape(n, G, cout_g, -1), xt.reshape(n, G, -1)
        )
    return _fold_all(buf, plan), grad_weight.reshape(spec.weight_shape)


def _transpose_grads(
    spec: ConvTransposeSpec, plan: _Plan, x: np.ndarray, w: np.ndarray, g: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    n = x.shape[0]
    G, cin_g, cout_g = _group_sizes(spec)
    taps = _taps(spec)
    nt = len(taps)
    in_sp = plan.in_shape[1:]
    big_i = math.prod(in_sp)
    gp = _unfold_all(g, plan)
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
