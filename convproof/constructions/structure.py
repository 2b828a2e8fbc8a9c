"""The conv matrix's shape without building it: closed-form non-zero counts and block structure.

:func:`nnz` counts the structural non-zeros of :func:`~convproof.constructions.matrix.conv_matrix`
per axis in closed form (arithmetic progressions; a padding mode added to the table without a
closed form is counted from its index table), and :func:`matrix_structure` names the block
levels (dense / block-diagonal channels, Toeplitz / circulant / general spatial levels).

Examples
--------
>>> import convproof as cp
>>> cp.nnz(cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2), (1, 3, 3))
16
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from convproof._docfill import fill_doc
from convproof.constructions.index import AxisPattern
from convproof.constructions.matrix import AnySpec, _plan

__all__ = ["BlockLevel", "MatrixStructure", "matrix_structure", "nnz"]


class BlockLevel(NamedTuple):
    """One level of the conv matrix's block structure.

    Attributes
    ----------
    name : str
        ``"channels"`` or ``"axis <k>"``.
    grid : (int, int)
        Number of block rows and block columns at this level.
    block_shape : (int, int)
        Shape of one block.
    kind : str
        Channels: ``"dense"``, ``"block-diagonal"`` (groups) or ``"diagonal"`` (pooling).
        Spatial axes: ``"circulant"``, ``"toeplitz"`` (block ``(a, j)`` depends only on
        ``j - a``) or ``"general"`` (e.g. strided, reflect or replicate padding).
    """

    name: str
    grid: tuple[int, int]
    block_shape: tuple[int, int]
    kind: str


class MatrixStructure(NamedTuple):
    """The block levels of a conv matrix, outermost (channels) first."""

    shape: tuple[int, int]
    levels: tuple[BlockLevel, ...]

    @property
    def toeplitz(self) -> bool:
        """Every spatial level is Toeplitz (or circulant): multi-level block Toeplitz."""
        return all(lv.kind in ("toeplitz", "circulant") for lv in self.levels[1:])

    @property
    def circulant(self) -> bool:
        """Every spatial level is circulant: multi-level block circulant."""
        return all(lv.kind == "circulant" for lv in self.levels[1:])


# --------------------------------------------------------------------------------------
# closed-form non-zero count and block structure
# --------------------------------------------------------------------------------------


def _axis_nnz(p: AxisPattern) -> int:
    """Distinct (output, input) pairs on one axis, in closed form where the mode allows."""
    o, n, k, s, d = p.out_size, p.in_size, p.kernel_size, p.stride, p.dilation
    pl = p.padding[0]
    if p.mode == "zeros":
        # per tap u: outputs a with 0 <= a*s + u*d - pl <= n - 1
        c = np.arange(k, dtype=np.int64) * d - pl
        lo = np.maximum(0, -np.floor_divide(c, s))  # ceil(-c / s)
        hi = np.minimum(o - 1, np.floor_divide(n - 1 - c, s))
        return int(np.maximum(0, hi - lo + 1).sum())
    if p.mode == "circular":
        # u*d mod n takes min(k, n / gcd(d, n)) distinct values, for every output
        return o * min(k, n // math.gcd(d, n))
    if p.mode == "replicate":
        if n == 1:
            return o
        base = np.arange(o, dtype=np.int64) * s - pl
        top = base + (k - 1) * d
        inside = np.maximum(
            0,
            np.minimum(k - 1, np.floor_divide(n - 1 - base, d))
            - np.maximum(0, -np.floor_divide(base, d))
            + 1,
        )
        below = base < 0
        hits0 = below & (np.mod(-base, d) == 0) & (-base <= (k - 1) * d)
        above = top > n - 1
        gap = n - 1 - base
        hits_end = (gap >= 0) & (np.mod(gap, d) == 0) & (gap <= (k - 1) * d)
        return int((inside + (below & ~hits0) + (above & ~hits_end)).sum())
    if p.mode != "reflect":
        # a mode added to the padding table has no closed form here: count the index table
        return int(p.distinct_counts().sum())
    # reflect: the window's taps base + u*d split into three arithmetic progressions of
    # step d (in range, reflected at 0, reflected at n - 1); count their union per output
    # by inclusion-exclusion
    if n == 1:
        return o
    base = np.arange(o, dtype=np.int64) * s - pl
    top = base + (k - 1) * d
    sets = [
        (np.maximum(base, 0), np.minimum(top, n - 1), np.mod(base, d)),
        (np.maximum(1, -top), -base, np.mod(-base, d)),
        (2 * (n - 1) - top, np.minimum(n - 2, 2 * (n - 1) - base), np.mod(2 * (n - 1) - base, d)),
    ]
    total = sum(_ap_count(*sets[i], d) for i in range(3))
    for i, j in ((0, 1), (0, 2), (1, 2)):
        total = total - _ap_meet(sets[i], sets[j], d)
    lo = np.maximum(np.maximum(sets[0][0], sets[1][0]), sets[2][0])
    hi = np.minimum(np.minimum(sets[0][1], sets[1][1]), sets[2][1])
    same = (sets[0][2] == sets[1][2]) & (sets[0][2] == sets[2][2])
    total = total + np.where(same, _ap_count(lo, hi, sets[0][2], d), 0)
    return int(total.sum())


def _ap_count(lo: np.ndarray, hi: np.ndarray, r: np.ndarray, d: int) -> np.ndarray:
    """How many ``v`` in ``[lo, hi]`` have ``v ≡ r (mod d)`` (elementwise)."""
    count = np.floor_divide(hi - r, d) - np.floor_divide(lo - 1 - r, d)
    return np.where(hi >= lo, count, 0)


def _ap_meet(
    a: tuple[np.ndarray, np.ndarray, np.ndarray],
    b: tuple[np.ndarray, np.ndarray, np.ndarray],
    d: int,
) -> np.ndarray:
    """Size of the intersection of two progressions of step ``d``."""
    lo, hi = np.maximum(a[0], b[0]), np.minimum(a[1], b[1])
    return np.where(a[2] == b[2], _ap_count(lo, hi, a[2], d), 0)


#: The Parameters both public functions document (their ``{layer}`` line).
_layer_doc = fill_doc(
    layer="""\
    spec : ConvSpec, ConvTransposeSpec or average PoolSpec
    input_shape : tuple of int
"""
)


@_layer_doc
def nnz(spec: AnySpec, input_shape: Sequence[int]) -> int:
    """Number of structural non-zeros of :func:`conv_matrix`, without building it.

    Axes and channels are independent, so the count is a product:
    ``C_out · (C_in / groups) · ∏_axes nnz_axis`` (``C · ∏ nnz_axis`` for pooling; channel
    roles swapped for a transposed conv), where ``nnz_axis`` counts distinct
    (output, input) index pairs on one axis.  Zero, circular and replicate padding use
    closed forms (``circular``: ``o · min(k, n / gcd(d, n))``); for replicate and reflect
    padding a window's taps form arithmetic progressions of step ``d`` (in range, clamped
    or reflected at each edge) whose union is counted per output by inclusion-exclusion.

    Parameters
    ----------
    {layer}

    Returns
    -------
    int

    Raises
    ------
    ConvProofError
        For max pooling or an input that does not fit.

    Examples
    --------
    The seed: 3x3 input, 2x2 kernel → 16 non-zeros; Dumoulin & Visin's 4x16 matrix → 36.

    >>> import convproof as cp
    >>> cp.nnz(cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2), (1, 3, 3))
    16
    >>> cp.nnz(cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3), (1, 4, 4))
    36
    """
    plan = _plan(spec, input_shape)
    return plan.c_out * plan.c_group * math.prod(_axis_nnz(p) for p in plan.patterns)


def _axis_kind(p: AxisPattern) -> str:
    """Toeplitz / circulant test of one axis' tap-set matrix (which taps reach (a, j)).

    For average pooling all taps share one coefficient, so the key is ``1/divisor`` instead.
    """
    o, n, k = p.out_size, p.in_size, p.kernel_size
    key: np.ndarray = np.zeros((o, n), dtype=object if k > 62 else np.int64)
    a, u = np.nonzero(p.valid)
    bits = [1 << int(v) for v in u] if k > 62 else (np.int64(1) << u.astype(np.int64))
    np.add.at(key, (a, p.index[a, u]), bits)
    if p.divisor is not None:  # pooling: every tap has the same coefficient 1/divisor
        key = np.where(key != 0, p.divisor[:, None], 0)
    key = key[None]
    if o == n and np.array_equal(key, np.roll(key, (1, 1), axis=(1, 2))):
        return "circulant"
    if np.array_equal(key[:, 1:, 1:], key[:, :-1, :-1]):
        return "toeplitz"
    return "general"


@_layer_doc
def matrix_structure(spec: AnySpec, input_shape: Sequence[int]) -> MatrixStructure:
    """The block structure of :func:`conv_matrix`: channel blocks, then one level per axis.

    At the channel level the matrix is a ``C_out x C_in`` grid of blocks.  Each block is an
    ``o_0 x n_0`` grid of blocks, each of those an ``o_1 x n_1`` grid, and so on.  A spatial
    level is *Toeplitz* when block ``(a, j)`` depends only on ``j - a`` (stride 1 with zero
    padding), *circulant* when it depends only on ``(j - a) mod n`` (stride 1, circular
    padding, output size = input size).  Judged from the tap sets, i.e. for generic weights.

    Parameters
    ----------
    {layer}

    Returns
    -------
    MatrixStructure
        ``.levels`` (a tuple of :class:`BlockLevel`), plus ``.toeplitz`` and ``.circulant``
        for the whole spatial hierarchy.

    Examples
    --------
    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3, padding=1)
    >>> s = cp.matrix_structure(spec, (3, 8, 8))
    >>> [(lv.name, lv.grid, lv.kind) for lv in s.levels]
    [('channels', (5, 3), 'dense'), ('axis 0', (8, 8), 'toeplitz'), ('axis 1', (8, 8), 'toeplitz')]
    >>> s.toeplitz, s.circulant
    (True, False)
    >>> circ = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=1,
    ...                    padding_mode="circular")
    >>> cp.matrix_structure(circ, (1, 8, 8)).circulant
    True
    """
    plan = _plan(spec, input_shape)
    c_in = plan.c_group * plan.groups
    if plan.pool:
        kind = "diagonal"
    elif plan.groups == 1:
        kind = "dense"
    else:
        kind = "block-diagonal"
    outs = [p.out_size for p in plan.patterns]
    ins = [p.in_size for p in plan.patterns]
    grid, block = (plan.c_out, c_in), (plan.n_out, plan.n_in)
    levels = [(("channels", grid, block, kind))]
    for ax, p in enumerate(plan.patterns):
        grid = (outs[ax], ins[ax])
        block = (math.prod(outs[ax + 1 :]), math.prod(ins[ax + 1 :]))
        levels.append((f"axis {ax}", grid, block, _axis_kind(p)))
    if plan.transposed:
        levels = [(nm, (g[1], g[0]), (b[1], b[0]), k) for nm, g, b, k in levels]
    return MatrixStructure(plan.shape, tuple(BlockLevel(*lv) for lv in levels))
