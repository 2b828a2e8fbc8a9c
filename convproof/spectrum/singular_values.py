"""Singular values of a conv layer's operator: all of them exactly (FFT of the polyphase
circulant) for block-circulant circular layers, the top ``k`` by ARPACK on the matrix-free
operator otherwise, a dense SVD for small layers.

Examples
--------
>>> import numpy as np
>>> import convproof as cp
>>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=1,
...                    padding_mode="circular", bias=False)
>>> w = np.array([[[[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]]])   # the discrete Laplacian
>>> cp.singular_values(spec, (1, 4, 4), w)[:3]
array([8., 6., 6.])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from convproof.errors import ConvProofError
from convproof.layers.spec import ConvSpec, ConvTransposeSpec
from convproof.spectrum.linear_map import (
    _Axis,
    _check,
    _exact_circulant,
    _forward_of,
    _Operator,
    _symbols,
)

__all__ = ["singular_values"]


_DENSE_MAX = 1 << 22  # largest matrix (entries) for which k=None falls back to a dense SVD


def _svals_circulant(w: np.ndarray, spec: ConvSpec, axes: Sequence[_Axis]) -> np.ndarray:
    M, _ = _symbols(w, spec, axes)
    sv = np.linalg.svd(M, compute_uv=False).ravel()
    sv = sv * math.sqrt(math.prod(a.m for a in axes))
    return np.sort(sv)[::-1]


def _top_svds(op: _Operator, k: int, tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    from scipy.sparse.linalg import svds

    v0 = np.random.default_rng(0).standard_normal(min(op.n_in, op.n_out))
    _, s, vt = svds(op.linear_operator(), k=k, tol=tol, v0=v0, which="LM")
    order = np.argsort(s)[::-1]
    return s[order], vt[order]


def singular_values(
    spec: ConvSpec | ConvTransposeSpec,
    input_shape: Sequence[int],
    weight: Any,
    *,
    k: int | None = None,
) -> np.ndarray:
    """Singular values of a convolution layer's operator, in descending order.

    Parameters
    ----------
    spec : ConvSpec or ConvTransposeSpec
        Any padding mode, stride, dilation, groups, 1-3 spatial dims (bias is ignored: the
        operator is the linear part).  A transposed conv (``output_padding < stride``) is
        the adjoint of the conv with the same arguments: same singular values.
    input_shape : tuple of int
        One sample, ``(C_in, *spatial)``.
    weight : array_like
        ``spec.weight_shape``, real.
    k : int, optional
        How many (the largest ``k``).  ``None``: all of them, which needs a block-circulant
        layer (below) or a matrix of at most 4 Mi entries (then a dense SVD of
        :func:`convproof.conv_matrix`).

    Returns
    -------
    numpy.ndarray
        ``min(C_out prod(o), C_in prod(n))`` values (or ``k``), descending.

        ======================================  ==========================================
        layer                                   route
        ======================================  ==========================================
        circular, block-circulant (Notes)       FFT: SVD of the per-frequency matrices
        anything else, ``k`` given              ARPACK (``scipy.sparse.linalg.svds``) on the
                                                matrix-free operator: ``conv`` and its
                                                adjoint (transposed conv + folded padding)
        anything else, ``k=None``, small        dense SVD of ``conv_matrix``
        ======================================  ==========================================

    Raises
    ------
    ConvProofError
        Bad spec, shape or weight; ``k`` out of range; ``k=None`` for a large layer that is
        not block-circulant.

    Notes
    -----
    *When a circular layer is block-circulant.*  Per axis, with input size ``n``, left
    padding ``p``, stride ``s``, dilation ``d`` and output size ``o``, circular padding
    gives ``Z[a] = sum_u W[u] X[(a s + u d - p) mod n]``.  Let ``g = gcd(s, n)`` and
    ``N = n / g``.  The rows ``a s mod n`` (``0 <= a < o``) run through the multiples of
    ``g`` modulo ``n`` with period ``N`` (``s / g`` is invertible modulo ``N``), so when
    ``N`` divides ``o`` the layer is, up to a permutation of rows, ``m = o / N`` stacked
    copies of the map ``B: X -> (g b + t_u)``-indexed sums, ``b`` in ``Z_N``; then
    ``T^T T = m B^T B`` and the singular values are ``sqrt(m)`` times those of ``B``.
    Otherwise (``N`` does not divide ``o``) the rows are an uneven selection and the FFT
    does not apply: the general route is used.  Axes multiply (the index sets are
    products).

    *Polyphase split (stride).*  Write the taps' offsets ``t_u = u d - p = g q_u + r_u``
    with ``0 <= r_u < g``, and the input in its ``g`` polyphase components
    ``X_r[b] = X[g b + r]`` (``b`` in ``Z_N``).  Then ``(g a + t_u) mod n = g ((a + q_u)
    mod N) + r_u``, so ``B X = sum_r C_r X_r`` where ``C_r`` is the circulant on ``Z_N``
    with the taps ``{u : r_u = r}`` at shifts ``q_u``: ``B = [C_0 ... C_{g-1}]``.  The
    unitary DFT on ``Z_N`` diagonalises every ``C_r`` at once (Sedghi, Gupta & Long, ICLR
    2019, for ``g = 1``): at frequency ``f``, ``B`` acts as the ``C_out x (C_in g)`` matrix
    ``M(f)[c, (k, r)] = sum_{u : r_u = r} W[c, k, u] exp(2 pi i f q_u / N)``.  So the
    singular values of ``B`` are those of all ``M(f)``, ``f`` in ``Z_N^ndim`` (``g`` and
    ``N`` per axis; ``G = prod g`` phases); there are ``prod(N) min(C_out, C_in G) =
    min(C_out prod(o) / m, C_in prod(n))`` of them.  Groups make ``M(f)`` block diagonal
    (one block per group).  Computed with ``exp(-2 pi i ...)`` (the conjugate frequency
    ``-f``, same singular values).

    Examples
    --------
    >>> import numpy as np
    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, stride=2,
    ...                    padding_mode="circular", bias=False, ndim=1)
    >>> cp.singular_values(spec, (1, 4), np.array([[[3.0, 4.0]]]))   # two disjoint pairs
    array([5., 5.])
    >>> zeros = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, stride=2,
    ...                     bias=False, ndim=1)
    >>> cp.singular_values(zeros, (1, 4), np.array([[[3.0, 4.0]]]), k=1)
    array([5.])
    """
    if isinstance(spec, ConvTransposeSpec):
        return singular_values(*_forward_of(spec, input_shape), weight, k=k)
    shape, w = _check(spec, input_shape, weight)
    out = spec.output_shape(shape)
    total = min(math.prod(out), math.prod(shape))
    if k is not None:
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= total:
            raise ConvProofError(f"k must be an int in [1, {total}], got k={k!r}")
        k = int(k)
    axes = _exact_circulant(spec, shape)
    if axes is not None:
        sv = _svals_circulant(w, spec, axes)
        return sv if k is None else sv[:k]
    if k is None or k >= total - 1 or math.prod(out) * math.prod(shape) <= 4096:
        if math.prod(out) * math.prod(shape) > _DENSE_MAX:
            raise ConvProofError(
                f"k must be given for this layer (padding_mode={spec.padding_mode!r} is not "
                f"block-circulant here, and its {math.prod(out)} x {math.prod(shape)} matrix is "
                f"too large for a dense SVD), got k={k!r}"
            )
        from convproof.constructions.matrix import conv_matrix

        dense = conv_matrix(spec, shape, w).toarray()
        sv = np.linalg.svd(dense, compute_uv=False)
        return sv if k is None else sv[:k]
    s, _ = _top_svds(_Operator(spec, shape, w), k)
    return s
