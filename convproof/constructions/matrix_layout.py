"""Conv matrices in a data layout other than channels-first: reordering rows and columns.

:func:`convproof.conv_matrix` with ``layout=`` builds the channels-first matrix and reorders
it with :func:`reordered`; :func:`from_layout` undoes that for a matrix claimed in a layout
(:func:`convproof.prove` with ``layout=``).  The orders come from
:func:`convproof.layers.layout.matrix_orders`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse
import sympy

from convproof.errors import ConvProofError
from convproof.layers.layout import matrix_orders

__all__: list[str] = []


def reordered(T: Any, rows: np.ndarray, cols: Any = None) -> Any:
    """``T[rows][:, cols]`` for a SciPy, NumPy or SymPy matrix (canonical CSR kept)."""
    if isinstance(T, sympy.MatrixBase):
        return T.extract(rows.tolist(), list(range(T.cols)) if cols is None else cols.tolist())
    if not scipy.sparse.issparse(T):
        return T[rows] if cols is None else T[rows][:, cols]
    out = scipy.sparse.csr_array(T)[rows]  # a row gather
    if cols is not None:  # entry (r, c) moves to column inverse(cols)[c]: renumber, re-sort
        out.indices = np.argsort(cols).astype(out.indices.dtype)[out.indices]
        out.has_sorted_indices = False
        out.sort_indices()
    return out


def from_layout(
    spec: Any, input_shape: Sequence[int], layout: Any, matrix: Any, bias_vector: Any = None
) -> tuple[tuple[int, ...], Any, Any]:
    """A matrix (and bias vector) acting on samples flattened in ``layout``, reordered to act
    on channels-first ones: returns the canonical per-sample input shape, the matrix and the
    bias vector (``None`` stays ``None``).  Inverse of conv_matrix's ``layout=``.

    Examples
    --------
    >>> import numpy as np
    >>> import convproof as cp
    >>> from convproof.constructions.matrix_layout import from_layout
    >>> spec = cp.ConvSpec(in_channels=2, out_channels=1, kernel_size=2, bias=False, ndim=1)
    >>> w = np.array([[[1, 2], [3, 4]]])
    >>> T = cp.conv_matrix(spec, (3, 2), w, layout="WC")
    >>> shape, back, _ = from_layout(spec, (3, 2), "WC", T)
    >>> shape, (back != cp.conv_matrix(spec, shape, w)).nnz
    ((2, 3), 0)
    """
    shape, rows, cols = matrix_orders(spec, input_shape, layout)
    if matrix is not None:
        if tuple(getattr(matrix, "shape", ())) != (len(rows), len(cols)):
            raise ConvProofError(
                f"matrix must have shape ({len(rows)}, {len(cols)}) (outputs x inputs of one "
                f"sample), got matrix with shape {getattr(matrix, 'shape', None)}"
            )
        matrix = reordered(matrix, np.argsort(rows), np.argsort(cols))
    if bias_vector is not None:
        if not isinstance(bias_vector, sympy.MatrixBase):
            bias_vector = np.asarray(bias_vector)
        if len(bias_vector) != len(rows):
            raise ConvProofError(
                f"bias_vector must have {len(rows)} entries, got {len(bias_vector)}"
            )
        bias_vector = reordered(bias_vector, np.argsort(rows))
    return shape, matrix, bias_vector
