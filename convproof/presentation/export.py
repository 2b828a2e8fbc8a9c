"""Exports of conv matrices: Matrix Market, ``.npz``, dense arrays, LaTeX and ``torch.sparse``.

Every export follows the conventions of :func:`convproof.constructions.matrix.conv_matrix`, which
:func:`matrix_conventions` states in words (they go into the Matrix Market comment and the
LaTeX header):

* rows unroll one output sample ``(C_out, *out)``, columns one input sample ``(C_in, *in)``,
  both row-major (C order), so ``vec(Z) = T @ vec(X) + bias_vector``;
* cross-correlation (no kernel flip), PyTorch weight layouts;
* the resolved per-side padding and the padding mode (zero padding removes columns, the
  other modes fold taps onto real columns).

Examples
--------
>>> import io
>>> import numpy as np
>>> import convproof as cp
>>> from convproof.presentation.export import to_mtx
>>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False)
>>> T = cp.conv_matrix(spec, (1, 3, 3), np.ones((1, 1, 2, 2)))
>>> buf = io.BytesIO()
>>> to_mtx(T, buf, spec=spec, input_shape=(1, 3, 3))
>>> print(buf.getvalue().decode().splitlines()[0])
%%MatrixMarket matrix coordinate real general
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.io
import scipy.sparse
import sympy

from convproof.constructions.matrix import conv_matrix
from convproof.errors import ConvProofError
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec

__all__ = [
    "DENSE_MAX_ELEMENTS",
    "matrix_conventions",
    "to_dense",
    "to_latex",
    "to_mtx",
    "to_npz",
    "to_torch_sparse",
]

#: Largest number of matrix elements :func:`to_dense` materializes unless told otherwise.
DENSE_MAX_ELEMENTS = 10_000_000

AnySpec = ConvSpec | ConvTransposeSpec | PoolSpec


def _is_symbolic(matrix: Any) -> bool:
    return isinstance(matrix, sympy.MatrixBase)


def _numeric(matrix: Any, what: str) -> Any:
    if _is_symbolic(matrix):
        raise ConvProofError(
            f"matrix must be numeric for {what}, got a SymPy matrix; build it with a weight "
            f"(conv_matrix(spec, shape, weight)) or substitute numbers first"
        )
    if not scipy.sparse.issparse(matrix):
        raise ConvProofError(
            f"matrix must be a scipy.sparse array for {what}, got {type(matrix).__name__}"
        )
    return matrix


def matrix_conventions(spec: AnySpec, input_shape: Sequence[int]) -> list[str]:
    """The conventions of ``conv_matrix(spec, input_shape)``, one sentence per line.

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
    input_shape : tuple of int
        The input the matrix is built for, ``(C_in, *spatial)`` or ``(N, C_in, *spatial)``
        (the matrix maps one sample either way).

    Returns
    -------
    list of str

    Examples
    --------
    >>> import convproof as cp
    >>> from convproof.presentation.export import matrix_conventions
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False)
    >>> for line in matrix_conventions(spec, (1, 3, 3)):
    ...     print(line)
    layer: ConvSpec(in_channels=1, out_channels=1, kernel_size=(2, 2), stride=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1), groups=1, bias=False, padding_mode='zeros', ndim=2)
    matrix shape (4, 9): rows = output (1, 2, 2) and columns = input (1, 3, 3), both unrolled row-major (C order), one sample
    vec(Z) = T vec(X) + bias_vector (the bias is not part of T)
    cross-correlation (no kernel flip): Z[o, a] = b[o] + sum_{c, u} X[c, a*s + u*d - p_before] W[o, c, u], weight layout (C_out, C_in/groups, *kernel_size)
    padding per axis (before, after): ((0, 0), (0, 0)); padding_mode 'zeros': padded taps have no entry
    """  # noqa: E501
    if not isinstance(spec, ConvSpec | ConvTransposeSpec | PoolSpec):
        raise ConvProofError(
            f"spec must be a ConvSpec, ConvTransposeSpec or PoolSpec, got spec={spec!r}"
        )
    _, c, spatial = spec.split_input_shape(input_shape)
    out = spec.output_shape((c, *spatial))
    pads = spec.resolve_padding((c, *spatial))
    rows, cols = math.prod(out), c * math.prod(spatial)
    lines = [
        f"layer: {spec!r}",
        f"matrix shape ({rows}, {cols}): rows = output {out} and columns = input "
        f"{(c, *spatial)}, both unrolled row-major (C order), one sample",
        "vec(Z) = T vec(X) + bias_vector (the bias is not part of T)",
    ]
    if isinstance(spec, ConvSpec):
        lines.append(
            "cross-correlation (no kernel flip): Z[o, a] = b[o] + sum_{c, u} "
            "X[c, a*s + u*d - p_before] W[o, c, u], weight layout (C_out, C_in/groups, "
            "*kernel_size)"
        )
        mode = spec.padding_mode
        effect = (
            "padded taps have no entry"
            if mode == "zeros"
            else "padded taps fold onto the input element they copy (entries may be sums)"
        )
        lines.append(f"padding per axis (before, after): {pads}; padding_mode {mode!r}: {effect}")
    elif isinstance(spec, ConvTransposeSpec):
        lines.append(
            "transposed convolution: T is the transpose of the forward cross-correlation "
            "matrix with the same kernel, stride, padding, dilation and groups; weight layout "
            "(C_in, C_out/groups, *kernel_size)"
        )
        lines.append(
            f"padding per axis (before, after): {pads} (cropped from the full output); "
            f"output_padding {spec.output_padding} adds output positions at the end"
        )
    else:
        lines.append(
            f"{spec.kind} pooling per channel; entries 1/divisor, divisor counting "
            f"{'explicit padding' if spec.count_include_pad else 'real elements only'} "
            f"(never the ceil-mode overhang)"
        )
        lines.append(f"padding per axis (before, after): {pads}; padded taps have no entry")
    return lines


def to_mtx(
    matrix: Any,
    target: Any,
    *,
    spec: AnySpec | None = None,
    input_shape: Sequence[int] | None = None,
    comment: str = "",
) -> None:
    """Write a numeric conv matrix in Matrix Market format (``scipy.io.mmwrite``).

    Parameters
    ----------
    matrix : scipy.sparse array
    target : str, path or binary file
    spec, input_shape : optional
        When both are given, :func:`matrix_conventions` goes into the file's comment.
    comment : str
        Extra comment text.

    Raises
    ------
    ConvProofError
        For a symbolic or non-sparse matrix.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> import scipy.io
    >>> import convproof as cp
    >>> from convproof.presentation.export import to_mtx
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False, ndim=1)
    >>> T = cp.conv_matrix(spec, (1, 3), np.array([[[1.0, 2.0]]]))
    >>> buf = io.BytesIO()
    >>> to_mtx(T, buf)
    >>> _ = buf.seek(0)
    >>> scipy.io.mmread(buf).toarray()
    array([[1., 2., 0.],
           [0., 1., 2.]])
    """
    m = _numeric(matrix, "Matrix Market export")
    lines = []
    if spec is not None and input_shape is not None:
        lines += matrix_conventions(spec, input_shape)
    if comment:
        lines.append(comment)
    scipy.io.mmwrite(target, scipy.sparse.coo_array(m), comment="\n".join(lines))


def to_npz(matrix: Any, target: Any) -> None:
    """Save a numeric conv matrix with ``scipy.sparse.save_npz`` (compressed CSR).

    Load it back with ``scipy.sparse.load_npz``.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> import scipy.sparse
    >>> import convproof as cp
    >>> from convproof.presentation.export import to_npz
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, ndim=1)
    >>> T = cp.conv_matrix(spec, (1, 3), np.array([[[1.0, 2.0]]]))
    >>> buf = io.BytesIO()
    >>> to_npz(T, buf)
    >>> _ = buf.seek(0)
    >>> (scipy.sparse.load_npz(buf) != T).nnz
    0
    """
    m = _numeric(matrix, "npz export")
    scipy.sparse.save_npz(target, scipy.sparse.csr_array(m), compressed=True)


def to_dense(matrix: Any, *, max_elements: int | None = None) -> Any:
    """A dense copy of a conv matrix, refusing large ones.

    Parameters
    ----------
    matrix : scipy.sparse array or SymPy matrix
    max_elements : int, optional
        Refuse matrices with more elements (default :data:`DENSE_MAX_ELEMENTS`).

    Returns
    -------
    numpy.ndarray or sympy.Matrix
        A NumPy array for a numeric matrix, a dense SymPy ``Matrix`` for a symbolic one.

    Raises
    ------
    ConvProofError
        If the matrix has more than ``max_elements`` elements.

    Examples
    --------
    >>> import convproof as cp
    >>> from convproof.presentation.export import to_dense
    >>> pool = cp.PoolSpec(kind="avg", kernel_size=2, ndim=1)
    >>> to_dense(cp.conv_matrix(pool, (1, 4)))
    Matrix([
    [1/2, 1/2,   0,   0],
    [  0,   0, 1/2, 1/2]])
    """
    limit = DENSE_MAX_ELEMENTS if max_elements is None else max_elements
    rows, cols = matrix.shape
    if rows * cols > limit:
        raise ConvProofError(
            f"max_elements must be at least the matrix size {rows} x {cols} = {rows * cols:,} "
            f"for a dense copy, got max_elements={limit!r}"
        )
    if _is_symbolic(matrix):
        return sympy.Matrix(matrix)
    return _numeric(matrix, "a dense copy").toarray()


def to_latex(
    spec: AnySpec,
    input_shape: Sequence[int],
    matrix: Any = None,
    *,
    max_size: int = 64,
    conventions: bool = True,
) -> str:
    """LaTeX ``bmatrix`` of the symbolic conv matrix, with its conventions as comments.

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or average PoolSpec
    input_shape : tuple of int
    matrix : SymPy matrix or scipy.sparse array, optional
        The matrix to print (default: ``conv_matrix(spec, input_shape)``, symbolic).
        Numeric entries are printed with 6 significant digits.
    max_size : int
        Refuse matrices with more rows or columns than this (LaTeX is for small cases).
    conventions : bool
        Start with ``%`` comment lines from :func:`matrix_conventions`.

    Returns
    -------
    str

    Raises
    ------
    ConvProofError
        If the matrix is larger than ``max_size`` in either dimension.

    Examples
    --------
    >>> import convproof as cp
    >>> from convproof.presentation.export import to_latex
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False, ndim=1)
    >>> print(to_latex(spec, (1, 3), conventions=False))
    \\begin{bmatrix}
    w_{0,0,0} & w_{0,0,1} & 0 \\\\
    0 & w_{0,0,0} & w_{0,0,1}
    \\end{bmatrix}
    """
    m = conv_matrix(spec, input_shape) if matrix is None else matrix
    rows, cols = m.shape
    if max(rows, cols) > max_size:
        raise ConvProofError(
            f"max_size must be at least {max(rows, cols)} for a {rows} x {cols} matrix, "
            f"got max_size={max_size!r}"
        )
    if scipy.sparse.issparse(m):
        dense: Any = _numeric(m, "LaTeX").toarray()
        cell = [[format(v, ".6g") if v else "0" for v in row] for row in dense]
    else:
        cell = [[sympy.latex(m[r, c]) for c in range(cols)] for r in range(rows)]
    body = " \\\\\n".join(" & ".join(row) for row in cell)
    text = f"\\begin{{bmatrix}}\n{body}\n\\end{{bmatrix}}"
    if conventions:
        header = "\n".join(f"% {line}" for line in matrix_conventions(spec, input_shape))
        text = f"{header}\n{text}"
    return text


def to_torch_sparse(matrix: Any, *, layout: str = "coo") -> Any:
    """A ``torch.sparse`` tensor (float64 stays float64) of a numeric conv matrix.

    PyTorch is imported only here; ``ImportError`` if it is not installed.

    Parameters
    ----------
    matrix : scipy.sparse array
    layout : {"coo", "csr"}
        ``"coo"`` (default, coalesced) or ``"csr"`` (PyTorch's beta notice about sparse CSR
        support is silenced here).

    Returns
    -------
    torch.Tensor
        ``torch.sparse_csr`` or ``torch.sparse_coo`` layout, same shape and values.

    Raises
    ------
    ConvProofError
        For a symbolic matrix or an unknown layout.

    Examples
    --------
    >>> import numpy as np
    >>> import convproof as cp
    >>> from convproof.presentation.export import to_torch_sparse
    >>> import pytest; torch = pytest.importorskip("torch")
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, ndim=1)
    >>> T = cp.conv_matrix(spec, (1, 3), np.array([[[1.0, 2.0]]]))
    >>> to_torch_sparse(T).to_dense()
    tensor([[1., 2., 0.],
            [0., 1., 2.]], dtype=torch.float64)
    """
    if layout not in ("csr", "coo"):
        raise ConvProofError(f"layout must be 'csr' or 'coo', got layout={layout!r}")
    m = _numeric(matrix, "torch.sparse export")
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "to_torch_sparse needs PyTorch: pip install torch --index-url "
            "https://download.pytorch.org/whl/cpu (a CPU-only build; a plain pip install "
            "torch downloads a CUDA build of several GB)"
        ) from exc
    if layout == "csr":
        c = scipy.sparse.csr_array(m)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta", UserWarning)
            return torch.sparse_csr_tensor(
                torch.from_numpy(c.indptr.astype(np.int64)),
                torch.from_numpy(c.indices.astype(np.int64)),
                torch.from_numpy(np.ascontiguousarray(c.data)),
                size=c.shape,
                check_invariants=True,
            )
    coo = scipy.sparse.coo_array(m)
    idx = np.vstack([coo.row, coo.col]).astype(np.int64)
    return torch.sparse_coo_tensor(
        torch.from_numpy(idx),
        torch.from_numpy(np.ascontiguousarray(coo.data)),
        size=coo.shape,
        check_invariants=True,
    ).coalesce()
