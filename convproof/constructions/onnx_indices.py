"""ONNX ``MaxPool``'s second output: the argmax of every window as a flat index of the input.

PyTorch's ``return_indices=True`` (:func:`convproof.max_pool_indices`) indexes the spatial
plane of each ``(sample, channel)``; ONNX's ``Indices`` output indexes the *whole* input
tensor ``(N, C, *spatial)`` as if flattened, row-major (``storage_order=0``, the default)
or with the spatial axes column-major (``storage_order=1``).  Both pick the same tap (the
first maximum in row-major window order); only the numbering differs.

Examples
--------
>>> import numpy as np
>>> import convproof as cp
>>> pool = cp.PoolSpec(kind="max", kernel_size=2, ndim=1, legality="onnx")
>>> x = np.array([[[1.0, 3, 2, 0]], [[5, 4, 0, 9]]])   # N=2, C=1, W=4
>>> cp.max_pool_indices(pool, x)                       # per plane (PyTorch)
array([[[1, 2]],
<BLANKLINE>
       [[0, 3]]])
>>> cp.onnx_max_pool_indices(pool, x)                  # over the whole tensor (ONNX)
array([[[1, 2]],
<BLANKLINE>
       [[4, 7]]])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from convproof.constructions.backward_pool import max_pool_indices
from convproof.errors import ConvProofError
from convproof.layers.spec import PoolSpec

__all__ = ["onnx_max_pool_indices"]


def onnx_max_pool_indices(spec: PoolSpec, x: Any, storage_order: int = 0) -> np.ndarray:
    """The ``Indices`` output of ONNX ``MaxPool`` for input ``x``.

    Parameters
    ----------
    spec : PoolSpec
        ``kind="max"`` (any legality profile).
    x : array_like
        ``(N, C, *spatial)`` (ONNX tensors are batched) or ``(C, *spatial)`` (then ``N = 1``).
    storage_order : {0, 1}
        ``0``: row-major; ``1``: the spatial axes column-major (the first spatial axis
        varies fastest), as ONNX's attribute of that name.

    Returns
    -------
    numpy.ndarray of int64
        The output shape; entry ``(n, c, a)`` is ``(n*C + c) * prod(spatial) + j`` where
        ``j`` numbers the window's maximum inside its plane in ``storage_order``.  A
        window of padding only (possible with dilation) gets ``-1``.

    Raises
    ------
    ConvProofError
        If ``spec`` is not max pooling, ``x`` does not fit it, or ``storage_order`` is not
        0 or 1.
    """
    if storage_order not in (0, 1) or isinstance(storage_order, bool):
        raise ConvProofError(f"storage_order must be 0 or 1, got storage_order={storage_order!r}")
    plane = max_pool_indices(spec, x)  # validates spec and x; row-major per plane, -1 empty
    xa = np.asarray(x)
    spatial = xa.shape[-spec.ndim :]
    c = xa.shape[-spec.ndim - 1]
    if storage_order == 1:
        pos = np.unravel_index(np.maximum(plane, 0), spatial)
        strides = np.cumprod((1, *spatial[:-1]))
        inner = sum(p * st for p, st in zip(pos, strides))
    else:
        inner = plane
    batched = plane if plane.ndim == spec.ndim + 2 else plane[None]
    n = batched.shape[0]
    offset = (np.arange(n)[:, None] * c + np.arange(c)[None, :]) * math.prod(spatial)
    flat = np.asarray(inner).reshape(batched.shape) + offset.reshape(n, c, *(1,) * spec.ndim)
    out = np.where(batched < 0, -1, flat).astype(np.int64)
    return out if plane.ndim == spec.ndim + 2 else out[0]
