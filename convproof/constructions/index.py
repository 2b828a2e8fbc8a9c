"""Per-axis index patterns: which input element each (output position, kernel tap) reads.

Along one spatial axis, output position ``a`` and kernel tap ``u`` read the *padded*
coordinate ``t = a*s + u*d - p_before``.  The padding mode then maps ``t`` to a real input
index, or to nothing:

=============  ==================================  ===============================
mode           ``t < 0`` / ``t >= n``              NumPy ``np.pad`` name
=============  ==================================  ===============================
``zeros``      no element (index ``-1``)           ``constant``
``circular``   ``t mod n``                         ``wrap``
``reflect``    ``-t`` / ``2(n-1) - t``             ``reflect`` (edge not repeated)
``replicate``  ``0`` / ``n - 1``                   ``edge``
=============  ==================================  ===============================

The index rules live here, once: :func:`tap_source` (which padded coordinate a tap reads),
:func:`scatter_target` (where a transposed conv's input lands) and
:func:`group_input_start` (which input channels a grouped output channel reads).  They work
on NumPy integer arrays and on SymPy symbols alike: the matrices of
:mod:`convproof.constructions.matrix`
are built from them, and :func:`convproof.prove_general` states them for symbolic sizes and
proves them equal to the definition.

An :class:`AxisPattern` holds the whole ``(out_size, kernel_size)`` table for one axis,
computed with vectorized NumPy arithmetic.  Axes are independent, so the pattern of a
multi-dimensional layer is the outer (Kronecker) combination of its axes' patterns; this is
how :mod:`convproof.constructions.matrix` builds conv matrices.

A transposed convolution is described by the patterns of the *forward* convolution it is the
adjoint of: ``out_size`` is then the transposed layer's input size and ``in_size`` its
output size (see :func:`axis_patterns`).  Pooling windows follow PyTorch's rules: ceil-mode
windows may overhang the right padding, and average-pooling divisors count explicit padding
(``count_include_pad=True``) but never the overhang.

Examples
--------
>>> import convproof as cp
>>> from convproof.constructions.index import axis_patterns
>>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=1, ndim=1)
>>> (p,) = axis_patterns(spec, (1, 4))
>>> p.index
array([[-1,  0,  1],
       [ 0,  1,  2],
       [ 1,  2,  3],
       [ 2,  3, -1]])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from convproof._docfill import LAYER_INPUT, fill_doc
from convproof.errors import ConvProofError
from convproof.layers.padding import padding_mode
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec

__all__ = [
    "AxisPattern",
    "axis_pattern",
    "axis_patterns",
    "group_input_start",
    "map_positions",
    "scatter_target",
    "tap_source",
]

# --------------------------------------------------------------------------------------
# the index rules: written once, for NumPy integer arrays and SymPy symbols alike
# --------------------------------------------------------------------------------------
#
# These three functions are the only place the matrix construction learns which input a
# tap reads.  :func:`axis_pattern` and :mod:`convproof.constructions.matrix` call them (looked up at
# call time, so a test that plants a wrong rule here breaks the matrices), and
# :func:`convproof.prove_general` calls them with SymPy symbols to state what the matrix
# is, then proves that equal to the definition it writes down itself.


#: The end of the Parameters and the Returns that both index rules document (their
#: ``{rule}`` line).
_rule_doc = fill_doc(
    rule="""\
    stride, dilation, pad_before : int or sympy.Expr

    Returns
    -------
    Same kind as the arguments.
"""
)


@_rule_doc
def tap_source(a: Any, u: Any, *, stride: Any, dilation: Any, pad_before: Any) -> Any:
    """Padded coordinate read by output position ``a`` through kernel tap ``u``.

    ``a*stride + u*dilation - pad_before``: window ``a`` starts at ``a*stride`` in the
    padded input and tap ``u`` is ``u*dilation`` further; subtracting the padding before
    gives the input coordinate (negative, or ``>= n``, inside the padding).

    Parameters
    ----------
    a, u : int, numpy.ndarray of int, or sympy.Expr
        Output position(s) and kernel tap(s) (broadcast together).
    {rule}

    Examples
    --------
    >>> import numpy as np, sympy
    >>> from convproof.constructions.index import tap_source
    >>> tap_source(np.arange(3)[:, None], np.arange(2)[None, :], stride=2, dilation=3,
    ...            pad_before=1)
    array([[-1,  2],
           [ 1,  4],
           [ 3,  6]])
    >>> a, u, s, d, p = sympy.symbols("a u s d p", integer=True)
    >>> tap_source(a, u, stride=s, dilation=d, pad_before=p)
    a*s + d*u - p
    """
    return a * stride + u * dilation - pad_before


@_rule_doc
def scatter_target(j: Any, u: Any, *, stride: Any, dilation: Any, pad_before: Any) -> Any:
    """Transposed conv: the output position that input ``j`` writes through tap ``u``.

    ``j*stride + u*dilation - pad_before`` (positions outside ``[0, n_out)`` are cropped).
    A transposed conv's matrix is built from this scatter rule: its column ``j`` has tap
    ``u`` in row ``scatter_target(j, u)``; it is the transpose of the forward conv's matrix
    exactly when this rule agrees with :func:`tap_source` (proved by
    :func:`convproof.prove_general` with ``kind="conv_transpose"``).

    Parameters
    ----------
    j, u : int, numpy.ndarray of int, or sympy.Expr
        Input position(s) of the transposed layer and kernel tap(s).
    {rule}

    Examples
    --------
    >>> import numpy as np
    >>> from convproof.constructions.index import scatter_target
    >>> scatter_target(np.arange(3)[:, None], np.arange(3)[None, :], stride=2, dilation=1,
    ...                pad_before=1)
    array([[-1,  0,  1],
           [ 1,  2,  3],
           [ 3,  4,  5]])
    """
    return j * stride + u * dilation - pad_before


def group_input_start(c_out: Any, *, out_per_group: Any, in_per_group: Any) -> Any:
    """First input channel read by output channel ``c_out`` of a grouped convolution.

    Output channel ``c_out`` is in group ``c_out // out_per_group`` and reads that group's
    ``in_per_group`` input channels, starting at ``(c_out // out_per_group) * in_per_group``
    (``//`` is ``floor`` of the quotient for SymPy expressions).  For a transposed conv the
    same rule holds in the forward orientation (its input channels play ``c_out``).

    Parameters
    ----------
    c_out : int, numpy.ndarray of int, or sympy.Expr
    out_per_group, in_per_group : int or sympy.Expr
        ``C_out / groups`` and ``C_in / groups``.

    Returns
    -------
    Same kind as ``c_out``.

    Examples
    --------
    >>> import numpy as np
    >>> from convproof.constructions.index import group_input_start
    >>> group_input_start(np.arange(6), out_per_group=2, in_per_group=3)
    array([0, 0, 3, 3, 6, 6])
    """
    return (c_out // out_per_group) * in_per_group


def map_positions(positions: np.ndarray, size: int, mode: str = "zeros") -> np.ndarray:
    """Map padded coordinates to input indices along an axis of length ``size``.

    Parameters
    ----------
    positions : numpy.ndarray of int
        Padded coordinates ``t`` (any shape).
    size : int
        Input length ``n`` along the axis.
    mode : str
        Padding mode, a name in :data:`convproof.layers.padding.PADDING_MODE_TABLE` (whose
        ``index`` map this applies): ``reflect`` and ``circular`` are periodic
        (``2(n - 1)`` and ``n``), ``replicate`` clamps, ``zeros`` reads nothing outside.

    Returns
    -------
    numpy.ndarray of int64
        Same shape; the input index read, or ``-1`` where zero padding supplies the value.

    Raises
    ------
    ConvProofError
        If ``mode`` is not a padding mode or ``size < 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from convproof.constructions.index import map_positions
    >>> t = np.arange(-2, 6)
    >>> for mode in ("zeros", "circular", "reflect", "replicate"):
    ...     print(f"{mode:9}", map_positions(t, 4, mode))
    zeros     [-1 -1  0  1  2  3 -1 -1]
    circular  [2 3 0 1 2 3 0 1]
    reflect   [2 1 0 1 2 3 2 1]
    replicate [0 0 0 1 2 3 3 3]
    """
    rule = padding_mode(mode, "mode").index
    if size < 1:
        raise ConvProofError(f"size must be >= 1, got size={size!r}")
    return np.asarray(rule(np.asarray(positions, dtype=np.int64), size), dtype=np.int64)


@dataclass(frozen=True, eq=False)
class AxisPattern:
    """The index table of one spatial axis.

    Attributes
    ----------
    out_size, in_size : int
        Number of output positions ``o`` and input elements ``n`` on this axis (for a
        transposed conv: the forward conv's, see :func:`axis_patterns`).
    kernel_size, stride, dilation : int
    padding : (int, int)
        ``(before, after)``.
    mode : str
        Padding mode.
    position : numpy.ndarray, shape (o, k)
        Padded coordinate ``a*s + u*d - p_before`` read by output ``a`` and tap ``u``.
    index : numpy.ndarray, shape (o, k)
        The input index read there, or ``-1`` (zero padding, or outside the padded extent).
    divisor : numpy.ndarray of shape (o,), or None
        Average and Lp pooling only: this axis' factor of the divisor (window elements
        counted by ``count_include_pad``; Lp pooling has no padding); the window's divisor
        is the product over axes (Lp pooling: its coefficient is ``prod(kernel_size)`` over
        it, :func:`convproof.layers.window.lp_scale`).
    """

    out_size: int
    in_size: int
    kernel_size: int
    stride: int
    dilation: int
    padding: tuple[int, int]
    mode: str
    position: np.ndarray
    index: np.ndarray
    divisor: np.ndarray | None = None

    @property
    def valid(self) -> np.ndarray:
        """Boolean ``(o, k)`` mask: the tap reads a real input element."""
        return self.index >= 0

    def selection(self, tap: int) -> np.ndarray:
        """Dense ``(o, n)`` 0/1 matrix ``S(u)`` with ``S[a, index[a, u]] = 1``.

        The conv matrix is ``sum_t W[:, :, t] ⊗ S_0(t_0) ⊗ ... ⊗ S_{D-1}(t_{D-1})``.

        Examples
        --------
        >>> import convproof as cp
        >>> from convproof.constructions.index import axis_patterns
        >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, stride=2, ndim=1)
        >>> axis_patterns(spec, (1, 4))[0].selection(1)
        array([[0, 1, 0, 0],
               [0, 0, 0, 1]])
        """
        if not 0 <= tap < self.kernel_size:
            raise ConvProofError(f"tap must be in [0, {self.kernel_size}), got tap={tap!r}")
        out = np.zeros((self.out_size, self.in_size), dtype=np.int64)
        col = self.index[:, tap]
        rows = np.flatnonzero(col >= 0)
        out[rows, col[rows]] = 1
        return out

    def distinct_counts(self) -> np.ndarray:
        """Per output position, the number of *distinct* input indices read (folds merged).

        Examples
        --------
        >>> import convproof as cp
        >>> from convproof.constructions.index import axis_patterns
        >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=1,
        ...                    padding_mode="reflect", ndim=1)
        >>> axis_patterns(spec, (1, 3))[0].distinct_counts()
        array([2, 3, 2])
        """
        idx = np.sort(self.index, axis=1)
        new = np.ones(idx.shape, dtype=bool)
        new[:, 1:] = idx[:, 1:] != idx[:, :-1]
        return np.count_nonzero(new & (idx >= 0), axis=1)


def axis_pattern(
    out_size: int,
    in_size: int,
    kernel_size: int,
    stride: int = 1,
    dilation: int = 1,
    padding: tuple[int, int] = (0, 0),
    mode: str = "zeros",
    *,
    transposed: bool = False,
) -> AxisPattern:
    """The index table of one axis: tap ``u`` of output ``a`` reads ``a*s + u*d - p_before``.

    Parameters
    ----------
    out_size, in_size, kernel_size : int
        ``o``, ``n`` and ``k`` (all >= 1).
    stride, dilation : int
    padding : (int, int)
        ``(before, after)``; coordinates outside ``[-before, n + after)`` never read
        (a ceil-mode pooling overhang).
    mode : {"zeros", "circular", "reflect", "replicate"}
    transposed : bool, default False
        The axis of a transposed conv in forward orientation: ``out_size`` is the
        transposed layer's input size, ``in_size`` its output size, and ``position[j, u]``
        comes from the scatter rule :func:`scatter_target` (where input ``j`` writes)
        instead of the gather rule :func:`tap_source` (where output ``a`` reads).

    Returns
    -------
    AxisPattern

    Raises
    ------
    ConvProofError
        For sizes < 1 or an unknown mode.

    Examples
    --------
    >>> from convproof.constructions.index import axis_pattern
    >>> axis_pattern(3, 3, 3, padding=(1, 1), mode="circular").index
    array([[2, 0, 1],
           [0, 1, 2],
           [1, 2, 0]])
    """
    if out_size < 0:  # 0: an empty output (the jax legality profile admits it)
        raise ConvProofError(f"out_size must be >= 0, got out_size={out_size!r}")
    for name, v in (("in_size", in_size), ("kernel_size", kernel_size)):
        if v < 1:
            raise ConvProofError(f"{name} must be >= 1, got {name}={v!r}")
    pl, pr = padding
    a = np.arange(out_size, dtype=np.int64)[:, None]
    u = np.arange(kernel_size, dtype=np.int64)[None, :]
    rule = scatter_target if transposed else tap_source
    position = np.asarray(rule(a, u, stride=stride, dilation=dilation, pad_before=pl))
    index = map_positions(position, in_size, mode)
    index = np.where((position >= -pl) & (position < in_size + pr), index, -1)
    return AxisPattern(
        out_size=out_size,
        in_size=in_size,
        kernel_size=kernel_size,
        stride=stride,
        dilation=dilation,
        padding=(pl, pr),
        mode=mode,
        position=position,
        index=index,
    )


@fill_doc(layer_input=LAYER_INPUT)
def axis_patterns(
    spec: ConvSpec | ConvTransposeSpec | PoolSpec, input_shape: Sequence[int]
) -> tuple[AxisPattern, ...]:
    """The per-axis index patterns of a layer for one input shape.

    ==========================  ====================================  ======================
    spec                        ``out_size`` / ``in_size``            ``mode``
    ==========================  ====================================  ======================
    :class:`ConvSpec`           output / input sizes                  ``spec.padding_mode``
    :class:`ConvTransposeSpec`  transposed **input** / **output**     ``zeros``
                                (the forward conv it is adjoint to)
    :class:`PoolSpec`           output / input sizes                  ``zeros`` (skipped);
                                                                      ``divisor`` for avg
    ==========================  ====================================  ======================

    Parameters
    ----------
    {layer_input}

    Returns
    -------
    tuple of AxisPattern
        One per spatial axis.

    Raises
    ------
    ConvProofError
        If the input shape does not fit the layer.

    Examples
    --------
    >>> import convproof as cp
    >>> from convproof.constructions.index import axis_patterns
    >>> pool = cp.PoolSpec(kind="avg", kernel_size=2, ceil_mode=True, ndim=1)
    >>> (p,) = axis_patterns(pool, (1, 5))
    >>> p.index, p.divisor
    (array([[ 0,  1],
           [ 2,  3],
           [ 4, -1]]), array([2, 2, 1]))
    >>> t = cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=3, stride=2,
    ...                          padding=1, output_padding=1, ndim=1)
    >>> (q,) = axis_patterns(t, (1, 2))
    >>> q.out_size, q.in_size, q.index.tolist()
    (2, 4, [[-1, 0, 1], [1, 2, 3]])
    """
    out_shape = spec.output_shape(input_shape)
    pads = spec.resolve_padding(input_shape)
    spatial_in = tuple(input_shape[-spec.ndim :])
    spatial_out = tuple(out_shape[-spec.ndim :])
    mode = spec.padding_mode
    if spec.transposed:
        spatial_in, spatial_out = spatial_out, spatial_in
    patterns = []
    for ax in range(spec.ndim):
        p = axis_pattern(
            spatial_out[ax],
            spatial_in[ax],
            spec.kernel_size[ax],
            spec.stride[ax],
            spec.dilation[ax],
            pads[ax],
            mode,
            transposed=spec.transposed,
        )
        # average and (linear) Lp pooling divide; Lp pools have no padding, so their
        # divisor is the taps inside the input (PyTorch's avg_pool of padding 0)
        if isinstance(spec, PoolSpec) and spec.kind in ("avg", "lp"):  # narrows the type
            pl, pr = pads[ax]
            if spec.count_include_pad:
                counted = (p.position >= -pl) & (p.position < spatial_in[ax] + pr)
            else:
                counted = p.index >= 0
            p = AxisPattern(**{**p.__dict__, "divisor": np.count_nonzero(counted, axis=1)})
        patterns.append(p)
    return tuple(patterns)
