"""The conv matrix: a layer as a sparse (doubly-block Toeplitz) matrix ``T``.

With row-major unrolling of the output ``(C_out, *out)`` into rows and of one input sample
``(C_in, *in)`` into columns, every layer that is linear in its input satisfies

    ``vec(Z) = T @ vec(X) + bias_vector``.

``T`` is built from the per-axis index patterns of :mod:`convproof.constructions.index`, never from the
sliding-window sum (:mod:`convproof.constructions.sliding_sum`), so proving the two equal checks one
construction against another.  Axes are independent, hence (Kronecker structure)

    ``T = sum_t W[:, :, t] ⊗ S_0(t_0) ⊗ ... ⊗ S_{D-1}(t_{D-1})``

where ``t`` runs over the kernel taps, ``W[:, :, t]`` is the ``C_out x C_in`` channel block
(block-diagonal for ``groups > 1``) and ``S_ax(u)`` is the 0/1 selection matrix of axis
``ax`` (:meth:`convproof.constructions.index.AxisPattern.selection`).  The construction realizes this sum
with vectorized index arithmetic and writes the CSR arrays directly.

==========================  ==============================================================
layer                       matrix
==========================  ==============================================================
:class:`ConvSpec`           ``(C_out·∏out, C_in·∏in)``; padding modes fold taps onto real
                            columns (the entry is then a sum of taps)
:class:`ConvTransposeSpec`  ``T.T`` of the forward conv with the same kernel, stride,
                            padding, dilation and groups (channel roles swapped)
avg :class:`PoolSpec`       constant, entries ``1/divisor`` (exact ``Rational`` symbolically)
lp :class:`PoolSpec`        ``norm_type=1``, PyTorch: constant, ``prod(k)/divisor`` (taps inside)
max :class:`PoolSpec`       none (not linear): :class:`~convproof.errors.ConvProofError`
==========================  ==============================================================

Examples
--------
The seed's 3x3 input and 2x2 kernel give a 4x9 matrix:

>>> import convproof as cp
>>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False)
>>> cp.conv_matrix(spec, (1, 3, 3))
Matrix([
[w_{0,0,0,0}, w_{0,0,0,1},           0, w_{0,0,1,0}, w_{0,0,1,1},           0,           0,           0,           0],
[          0, w_{0,0,0,0}, w_{0,0,0,1},           0, w_{0,0,1,0}, w_{0,0,1,1},           0,           0,           0],
[          0,           0,           0, w_{0,0,0,0}, w_{0,0,0,1},           0, w_{0,0,1,0}, w_{0,0,1,1},           0],
[          0,           0,           0,           0, w_{0,0,0,0}, w_{0,0,0,1},           0, w_{0,0,1,0}, w_{0,0,1,1}]])
"""  # noqa: E501

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse
import sympy

from convproof.constructions import index as _index
from convproof.constructions.index import AxisPattern, axis_patterns
from convproof.constructions.matrix_layout import reordered
from convproof.constructions.sliding_sum import _grids
from convproof.errors import ConvProofError, MemoryLimitError
from convproof.layers.layout import matrix_orders, parse_weight_layout
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec
from convproof.layers.window import check_spec, lp_scale, refuse_lp
from convproof.settings import resolve_max_bytes

__all__ = [
    "MatrixEntries",
    "bias_vector",
    "conv_matrix",
    "estimate_bytes",
    "matrix_entries",
]


AnySpec = ConvSpec | ConvTransposeSpec | PoolSpec

# rough per-entry costs, used to refuse builds before allocating
_SYMBOLIC_ENTRY_BYTES = 400
_ENTRY_ARRAYS_BYTES = 4 * 8


class MatrixEntries(NamedTuple):
    """The conv matrix as a list of contributions, before duplicates are summed.

    One entry per (output element, contributing kernel tap).  A padding mode that folds
    several taps onto the same input element gives several entries with the same
    ``(row, col)``.  All arrays are ``int64`` and of equal length.

    Attributes
    ----------
    rows, cols : numpy.ndarray
        Matrix coordinates (row-major unrolling of ``(C_out, *out)`` and ``(C_in, *in)``).
    taps : numpy.ndarray
        Flat C-order index into the weight array of shape ``spec.weight_shape`` (``-1`` for
        average pooling, whose entries are constants).
    divisors : numpy.ndarray
        The entry's coefficient is ``scale / divisor`` times the tap: ``1`` for
        convolutions, the window's exact divisor for average and Lp pooling.
    shape : (int, int)
        The matrix shape.
    scale : int
        The coefficients' numerator: ``prod(kernel_size)`` for linear Lp pooling
        (``norm_type=1`` under ``legality="pytorch"``), else 1.
    """

    rows: np.ndarray
    cols: np.ndarray
    taps: np.ndarray
    divisors: np.ndarray
    shape: tuple[int, int]
    scale: int = 1


# --------------------------------------------------------------------------------------
# plan: channel layout + per-axis patterns (cheap, no allocation proportional to nnz)
# --------------------------------------------------------------------------------------


class _Plan(NamedTuple):
    spec: AnySpec
    patterns: tuple[AxisPattern, ...]
    c_out: int  # forward-orientation output channels (rows of the forward matrix)
    c_group: int  # forward input channels per group
    groups: int
    n_out: int  # prod of forward output spatial sizes
    n_in: int  # prod of forward input spatial sizes
    n_taps: int  # prod kernel_size
    entries: int  # number of (row, tap) contributions
    transposed: bool
    pool: bool

    @property
    def shape(self) -> tuple[int, int]:
        rows = self.c_out * self.n_out
        cols = self.c_group * self.groups * self.n_in
        return (cols, rows) if self.transposed else (rows, cols)

    @property
    def fold(self) -> bool:
        return any(p.mode != "zeros" for p in self.patterns)


def _per_sample(spec: AnySpec, input_shape: Sequence[int]) -> tuple[int, ...]:
    _, c, spatial = spec.split_input_shape(input_shape)
    return (c, *spatial)


def _plan(spec: Any, input_shape: Sequence[int]) -> _Plan:
    check_spec(spec)
    refuse_lp(spec, "conv_matrix")
    if not spec.is_linear:
        raise ConvProofError(
            "max pooling is not linear and has no matrix, got spec.kind='max'; use "
            "sliding_sum for its Max expressions or an average PoolSpec"
        )
    shape = _per_sample(spec, input_shape)
    patterns = axis_patterns(spec, shape)
    if spec.layer == "conv":
        c_out, c_group, groups = spec.out_channels, spec.in_channels // spec.groups, spec.groups
    elif spec.transposed:
        c_out, c_group, groups = spec.in_channels, spec.out_channels // spec.groups, spec.groups
    else:
        c_out, c_group, groups = shape[0], 1, shape[0]
        for ax, p in enumerate(patterns):
            if p.divisor is not None and not p.divisor.all():
                a = int(np.flatnonzero(p.divisor == 0)[0])
                raise ConvProofError(
                    f"average pooling window {a} along dim {ax} holds no input element "
                    f"(kernel_size={spec.kernel_size}, dilation={spec.dilation}, "
                    f"padding={p.padding}, count_include_pad=False): its average 0/0 has no "
                    f"matrix entry; use count_include_pad=True or a smaller dilation"
                )
    per_axis = [int(np.count_nonzero(p.valid)) for p in patterns]
    return _Plan(
        spec=spec,
        patterns=patterns,
        c_out=c_out,
        c_group=c_group,
        groups=groups,
        n_out=math.prod(p.out_size for p in patterns),
        n_in=math.prod(p.in_size for p in patterns),
        n_taps=math.prod(p.kernel_size for p in patterns),
        entries=c_out * c_group * math.prod(per_axis),
        transposed=spec.transposed,
        pool=spec.layer == "pool",
    )


def _index_dtype(plan: _Plan) -> type[np.signedinteger[Any]]:
    big = max(plan.entries, *plan.shape)
    return np.int32 if big < 2**31 else np.int64


def _estimate(plan: _Plan, what: str, itemsize: int = 8) -> int:
    spatial = plan.n_out * plan.n_taps * 17  # flat positions + mask on the (O, K) grid
    if what == "symbolic":
        return spatial + plan.entries * _SYMBOLIC_ENTRY_BYTES
    if what == "entries":
        return spatial + plan.entries * _ENTRY_ARRAYS_BYTES * (2 if plan.transposed else 1)
    idx = np.dtype(_index_dtype(plan)).itemsize
    final = plan.entries * (itemsize + idx) + (plan.shape[0] + 1) * idx
    if plan.fold or plan.transposed:
        final *= 2  # sum_duplicates / transposition copy
    return spatial + final


def _check_memory(plan: _Plan, what: str, max_bytes: int | None, itemsize: int = 8) -> None:
    limit = resolve_max_bytes(max_bytes)
    need = _estimate(plan, what, itemsize)
    if need > limit:
        rows, cols = plan.shape
        label = "entry arrays of the" if what == "entries" else what
        raise MemoryLimitError(
            f"the {label} matrix {rows} x {cols} with {plan.entries:,} entries", need, limit
        )


def estimate_bytes(
    spec: AnySpec, input_shape: Sequence[int], *, symbolic: bool = False, itemsize: int = 8
) -> int:
    """Estimated peak bytes of :func:`conv_matrix` for this layer and input (no allocation).

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or average PoolSpec
    input_shape : tuple of int
    symbolic : bool
        Estimate the SymPy matrix (``weight=None``) instead of the numeric CSR array.
    itemsize : int
        Bytes per stored value of the numeric matrix (8 for float64).

    Returns
    -------
    int

    Examples
    --------
    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=16, out_channels=32, kernel_size=3, padding=1)
    >>> round(cp.estimate_bytes(spec, (16, 64, 64)) / 2**20)
    213
    """
    return _estimate(
        _plan(spec, input_shape), "symbolic" if symbolic else "numeric", itemsize=itemsize
    )


# --------------------------------------------------------------------------------------
# construction from the index patterns
# --------------------------------------------------------------------------------------


class _Template(NamedTuple):
    """Entries of one forward output channel, in CSR order ``(a, c, tap)``."""

    row_counts: np.ndarray  # (O,) entries per spatial row, all channels of the group
    cols: np.ndarray  # (Cg*L,) column within the group's input channels
    taps: np.ndarray  # (Cg*L,) index into W[oc].ravel() (length Cg*K)
    spatial_rows: np.ndarray  # (Cg*L,) spatial row of each entry


def _spatial(patterns: tuple[AxisPattern, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kronecker (outer) combination of the axes: counts per row, flat cols and taps."""
    nd = len(patterns)
    outs = [p.out_size for p in patterns]
    ins = [p.in_size for p in patterns]
    ks = [p.kernel_size for p in patterns]
    strides = [math.prod(ins[ax + 1 :]) for ax in range(nd)]
    flat: np.ndarray = np.zeros([1] * (2 * nd), dtype=np.int64)
    valid: np.ndarray = np.ones([1] * (2 * nd), dtype=bool)
    for ax, p in enumerate(patterns):
        view = [1] * (2 * nd)
        view[ax], view[nd + ax] = outs[ax], ks[ax]
        idx = p.index.reshape(view)
        flat = flat + idx * strides[ax]
        valid = valid & (idx >= 0)
    n_out, n_taps = math.prod(outs), math.prod(ks)
    flat = np.broadcast_to(flat, (*outs, *ks)).reshape(n_out, n_taps)
    valid = np.broadcast_to(valid, (*outs, *ks)).reshape(n_out, n_taps)
    rows, taps = np.nonzero(valid)
    counts = np.count_nonzero(valid, axis=1)
    return counts, flat[rows, taps], taps


def _fits_int32(plan: _Plan) -> bool:
    """Every row, column and tap index of the matrix fits in int32."""
    rows, cols = plan.shape
    return max(rows, cols, plan.c_out * plan.c_group * plan.n_taps) < 2**31 - 1


def _template(plan: _Plan, lo: int = 0, hi: int | None = None, dtype: Any = np.int64) -> _Template:
    """The template of forward output positions ``lo <= a_0 < hi`` along axis 0 (a slab).

    ``spatial_rows`` stay local to the slab (add ``lo * prod(out[1:])`` for the flat row).
    ``dtype``: the type of ``cols``, ``taps`` and ``spatial_rows`` (int32 when
    :func:`_fits_int32`).
    """
    if dtype != np.int64:
        t = _template(plan, lo, hi)
        return t._replace(
            cols=t.cols.astype(dtype),
            taps=t.taps.astype(dtype),
            spatial_rows=t.spatial_rows.astype(dtype),
        )
    patterns = plan.patterns
    if lo != 0 or (hi is not None and hi != patterns[0].out_size):
        p0 = patterns[0]
        top = p0.out_size if hi is None else hi
        sliced = dataclasses.replace(
            p0,
            out_size=top - lo,
            position=p0.position[lo:top],
            index=p0.index[lo:top],
            divisor=None if p0.divisor is None else p0.divisor[lo:top],
        )
        patterns = (sliced, *patterns[1:])
    counts, cols, taps = _spatial(patterns)
    n_out = math.prod(p.out_size for p in patterns)
    cg = plan.c_group
    srows = np.repeat(np.arange(n_out), counts)
    if cg == 1:
        return _Template(counts, cols, taps, srows)
    ptr = np.zeros(n_out + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    local = np.arange(len(cols)) - ptr[srows]
    chan = np.arange(cg)[:, None]
    pos = (ptr[srows] * cg + local)[None, :] + chan * counts[srows][None, :]
    size = cg * len(cols)
    t_cols = np.empty(size, dtype=np.int64)
    t_taps = np.empty(size, dtype=np.int64)
    t_rows = np.empty(size, dtype=np.int64)
    t_cols[pos] = chan * plan.n_in + cols[None, :]
    t_taps[pos] = chan * plan.n_taps + taps[None, :]
    t_rows[pos] = srows[None, :]
    return _Template(counts * cg, t_cols, t_taps, t_rows)


def _scale(plan: _Plan) -> int:
    """The numerator of every pool coefficient (``prod(k)`` for linear Lp pooling, else 1)."""
    return lp_scale(plan.spec)


def _divisors(plan: _Plan) -> np.ndarray:
    """Per spatial output row, the average-pooling divisor (product of the axes' factors)."""
    div = np.ones(1, dtype=np.int64)
    for p in plan.patterns:
        assert p.divisor is not None
        div = np.multiply.outer(div, p.divisor).ravel()
    return div


def _group_offsets(plan: _Plan) -> np.ndarray:
    """Per output channel, the first column of its group's input channels (the group rule)."""
    start = _index.group_input_start(
        np.arange(plan.c_out, dtype=np.int64),
        out_per_group=plan.c_out // plan.groups,
        in_per_group=plan.c_group,
    )
    return np.asarray(start, dtype=np.int64) * plan.n_in


def matrix_entries(
    spec: AnySpec, input_shape: Sequence[int], *, max_bytes: int | None = None
) -> MatrixEntries:
    """The conv matrix's contributions ``(row, col, tap)``, before duplicates are summed.

    This is the construction :func:`conv_matrix` sums up: per-axis index patterns combined
    by Kronecker structure, never the sliding-window sum.  Entry ``e`` says that matrix
    element ``(rows[e], cols[e])`` receives ``W.flat[taps[e]] / divisors[e]``.

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or average PoolSpec
    input_shape : tuple of int
        ``(C, *spatial)`` or ``(N, C, *spatial)``; the matrix acts on one sample.
    max_bytes : int, optional
        Refuse builds estimated above this many bytes (default: :func:`convproof.get_max_bytes`).

    Returns
    -------
    MatrixEntries
        For a transposed convolution the entries of the transposed layer's matrix (the
        forward matrix's entries with rows and columns swapped, sorted by row).

    Raises
    ------
    ConvProofError
        For max pooling (not linear) or an input shape that does not fit.
    MemoryLimitError
        If the arrays would exceed the memory limit.

    Examples
    --------
    Reflect padding folds taps 0 and 2 of the first output onto input 1:

    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=1,
    ...                    padding_mode="reflect", ndim=1)
    >>> e = cp.matrix_entries(spec, (1, 3))
    >>> e.rows.tolist(), e.cols.tolist(), e.taps.tolist()
    ([0, 0, 0, 1, 1, 1, 2, 2, 2], [1, 0, 1, 0, 1, 2, 1, 2, 1], [0, 1, 2, 0, 1, 2, 0, 1, 2])
    >>> e.shape
    (3, 3)
    """
    plan = _plan(spec, input_shape)
    _check_memory(plan, "entries", max_bytes)
    return _entries(plan)


def _entries(plan: _Plan) -> MatrixEntries:
    rows, cols, taps, divisors = _block_entries(plan, _template(plan), 0, 0, plan.c_out)
    if divisors is None:
        divisors = np.ones(len(cols), dtype=np.int64)
    if plan.transposed:  # the block is in the transposed orientation: sort by its rows
        order = np.argsort(rows, kind="stable")
        rows, cols = rows[order], cols[order]
        taps, divisors = taps[order], divisors[order]
    return MatrixEntries(rows, cols, taps, divisors, plan.shape, _scale(plan))


def _block_entries(
    plan: _Plan, t: _Template, lo: int, c0: int, c1: int, dtype: Any = np.int64
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Entries ``(rows, cols, taps, divisors)`` of forward output channels ``c0 <= c < c1``
    at the slab of template ``t`` (forward output positions from ``lo`` along axis 0).

    :func:`matrix_entries` is the one block of all channels and positions; proofs
    (:func:`convproof.prove`) read the same construction block by block, so that memory
    stays bounded.  Rows and columns are swapped for a transposed convolution (the block
    is then not sorted by row).  ``divisors`` is ``None`` when every divisor is 1.  ``dtype``:
    the index type of the arrays (int32 when :func:`_fits_int32`; the template ``t`` must
    have been built with the same).
    """
    reps = c1 - c0
    inner = plan.n_out // max(plan.patterns[0].out_size, 1)  # 0 rows: an empty output
    first = np.arange(c0, c1, dtype=np.int64)[:, None] * plan.n_out + lo * inner
    rows = np.add(t.spatial_rows[None, :], first.astype(dtype)).ravel()
    cols = np.add(t.cols[None, :], _group_offsets(plan)[c0:c1, None].astype(dtype)).ravel()
    divisors = None
    if plan.pool:
        taps = np.full(len(cols), -1, dtype=dtype)
        divisors = np.tile(_divisors(plan)[lo * inner + t.spatial_rows], reps)
    else:
        base = np.arange(c0, c1, dtype=np.int64) * (plan.c_group * plan.n_taps)
        taps = np.add(t.taps[None, :], base[:, None].astype(dtype)).ravel()
    if plan.transposed:
        rows, cols = cols, rows
    return rows, cols, taps, divisors


#: Matrices with more entries than this show a progress bar by default (on a terminal).
_PROGRESS_ENTRIES = 20_000_000


class _Steps:
    """A ``tqdm`` bar over the numeric build's steps (or nothing when not shown)."""

    def __init__(self, progress: bool | None, entries: int, steps: int) -> None:
        if progress is not None and not isinstance(progress, bool):
            raise ConvProofError(f"progress must be True, False or None, got progress={progress!r}")
        self.bar: Any = None
        import sys

        if progress is None:
            try:
                terminal = bool(sys.stderr.isatty())
            except (AttributeError, ValueError):  # closed or replaced stderr
                terminal = False
            progress = entries > _PROGRESS_ENTRIES and terminal
        if not progress:
            return
        from tqdm import tqdm

        self.bar = tqdm(
            total=steps, desc="conv_matrix", unit="step", file=sys.stderr, leave=False,
            dynamic_ncols=True,
        )  # fmt: skip

    def step(self, name: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(name, refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _numeric(
    plan: _Plan, weight: Any, dtype: Any, progress: bool | None = None
) -> scipy.sparse.csr_array:
    steps = _Steps(progress, plan.entries, 5 + plan.fold + plan.transposed)
    try:
        t = _template(plan)
        steps.step("index pattern")
        reps = plan.c_out
        idx = _index_dtype(plan)
        if plan.pool:
            div = _divisors(plan)[t.spatial_rows]
            one = np.full(1, _scale(plan), dtype=dtype)
            data = np.tile(one / div.astype(dtype), reps)
        else:
            w2 = weight.reshape(reps, plan.c_group * plan.n_taps)
            data = np.take(w2, t.taps, axis=1).ravel()
        steps.step("values")
        t_cols = t.cols.astype(idx)
        offsets = _group_offsets(plan)
        if not offsets.any():  # one group: every output channel reads every input channel
            indices = np.tile(t_cols, reps)
        else:
            indices = np.add(t_cols[None, :], offsets.astype(idx)[:, None]).ravel()
        steps.step("column indices")
        indptr = np.zeros(reps * plan.n_out + 1, dtype=idx)
        np.cumsum(np.tile(t.row_counts.astype(idx), reps), out=indptr[1:])
        steps.step("row pointers")
        del t
        rows, cols = plan.shape
        shape = (cols, rows) if plan.transposed else (rows, cols)
        m = scipy.sparse.csr_array((data, indices, indptr), shape=shape, copy=False)
        steps.step("CSR")
        if plan.fold:
            m.sum_duplicates()
            steps.step("folded taps summed")
        if plan.transposed:
            m = m.T.tocsr()
            steps.step("transposed")
        return m
    finally:
        steps.close()


def _sparse_matrix(rows: int, cols: int, entries: dict[tuple[int, int], Any]) -> Any:
    """A SymPy ``SparseMatrix`` from a dict of non-zero SymPy entries (no sympify pass)."""
    try:
        from sympy.polys.domains import EXRAW
        from sympy.polys.matrices import DomainMatrix
        from sympy.polys.matrices.sdm import SDM

        dod: dict[int, dict[int, Any]] = {}
        for (r, c), v in entries.items():
            dod.setdefault(r, {})[c] = v
        rep = DomainMatrix.from_rep(SDM(dod, (rows, cols), EXRAW))
        return sympy.SparseMatrix._fromrep(rep)
    except (ImportError, AttributeError, TypeError):  # pragma: no cover - other SymPy versions
        return sympy.SparseMatrix(rows, cols, entries)


def _symbolic(plan: _Plan, spec: AnySpec, input_shape: Sequence[int]) -> Any:
    e = _entries(plan)
    rows, cols = e.rows.tolist(), e.cols.tolist()
    if plan.pool:
        cache: dict[int, Any] = {}
        values = [cache.setdefault(d, sympy.Rational(e.scale, d)) for d in e.divisors.tolist()]
    else:
        _, w, _ = _grids(spec, input_shape)
        assert w is not None
        flat = w.ravel().tolist()
        values = [flat[t] for t in e.taps.tolist()]
    if not plan.fold:
        entries = dict(zip(zip(rows, cols), values))
    else:
        groups: dict[tuple[int, int], list[Any]] = {}
        for key, v in zip(zip(rows, cols), values):
            groups.setdefault(key, []).append(v)
        entries = {k: (v[0] if len(v) == 1 else sympy.Add(*v)) for k, v in groups.items()}
    return _sparse_matrix(*e.shape, entries)


def conv_matrix(
    spec: AnySpec,
    input_shape: Sequence[int],
    weight: Any = None,
    *,
    dtype: Any = None,
    max_bytes: int | None = None,
    progress: bool | None = None,
    layout: str | None = None,
    weight_layout: str | None = None,
) -> Any:
    """The layer's matrix ``T`` with ``vec(Z) = T @ vec(X) + bias_vector``.

    Rows unroll one output sample ``(C_out, *out)`` and columns one input sample
    ``(C_in, *in)``, both row-major (C order).  Cross-correlation, PyTorch weight layouts.

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or average PoolSpec
    input_shape : tuple of int
        ``(C_in, *spatial)``, or ``(N, C_in, *spatial)`` of which only the per-sample shape
        is used (the matrix acts on one sample; apply it to each ``x[n].ravel()``).
    weight : array_like, optional
        Numeric weights of shape ``spec.weight_shape``.  ``None`` gives the symbolic matrix
        in the weight symbols of :func:`~convproof.constructions.sliding_sum.layer_symbols`.
        Pooling has
        no weight.
    dtype : numpy dtype, optional
        Value type of the numeric matrix (default: the weight's dtype).  For average
        pooling, passing ``dtype`` selects the numeric matrix (e.g. ``np.float64``).
    max_bytes : int, optional
        Refuse builds estimated above this many bytes (default: :func:`convproof.get_max_bytes`).
    progress : bool, optional
        Show a progress bar (``tqdm`` on stderr) over the numeric build's steps (values,
        column indices, row pointers, assembly).  Default: only on a terminal and for
        matrices of more than 20 M entries (about 2 s).
    layout : str, optional
        Data layout (``"NHWC"``, ``"HWC"``, ``"NWC"``, ``"channels_last"``, ...; see
        :mod:`convproof.layers.layout`): ``input_shape`` is in it, and the matrix acts on
        one sample flattened row-major in it, giving the output flattened in it.  Its rows
        and columns are those of the channels-first matrix, permuted.
    weight_layout : str, optional
        Layout of ``weight`` (``"HWIO"``, ``"HWOI"``, ``"HWCM"``, ...).  The symbolic
        matrix (``weight=None``) keeps the symbols' PyTorch indices.

    Returns
    -------
    scipy.sparse.csr_array or sympy.SparseMatrix
        ==============================  ======================  ==========================
        spec                            shape                   entries
        ==============================  ======================  ==========================
        :class:`ConvSpec`               ``(C_out·∏o, C_in·∏i)``  taps (sums when folded)
        :class:`ConvTransposeSpec`      ``(C_out·∏o, C_in·∏i)``  ``T.T`` of the forward conv
        avg :class:`PoolSpec`           ``(C·∏o, C·∏i)``          ``1/divisor``
        lp :class:`PoolSpec`, ``p=1``   ``(C·∏o, C·∏i)``          ``∏k/divisor``
        ==============================  ======================  ==========================

        Numeric matrices are canonical CSR (sorted indices, duplicates summed) whose
        structural non-zeros are exactly :func:`nnz` (explicit zeros of zero weights kept).

    Raises
    ------
    ConvProofError
        For max pooling, a weight of the wrong shape or type, an input that does not fit,
        or an average-pooling window with nothing to count (``count_include_pad=False``
        with a dilation that skips every input element: 0/0).
    MemoryLimitError
        When the estimated size exceeds ``max_bytes``.

    Notes
    -----
    Zero padding removes columns (taps that read padding have no entry).  ``circular``,
    ``reflect`` and ``replicate`` padding fold those taps onto the real input columns they
    read, so entries can be sums of taps.  ``output_padding`` of a transposed conv adds
    output rows at the end that no input reaches (bias only) when it exceeds the padding
    after.

    Examples
    --------
    Dumoulin & Visin's 4x4 input and 3x3 kernel:

    >>> import numpy as np
    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, bias=False)
    >>> w = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    >>> T = cp.conv_matrix(spec, (1, 4, 4), w)
    >>> T.shape, T.nnz
    ((4, 16), 36)
    >>> T.toarray()[0]
    array([1., 2., 3., 0., 4., 5., 6., 0., 7., 8., 9., 0., 0., 0., 0., 0.])
    >>> x = np.arange(16.0).reshape(1, 4, 4)
    >>> np.allclose(T @ x.ravel(), cp.conv(spec, x, w).ravel())
    True

    Average pooling with a ceil-mode window gets its exact divisor:

    >>> pool = cp.PoolSpec(kind="avg", kernel_size=2, ceil_mode=True, ndim=1)
    >>> cp.conv_matrix(pool, (1, 3))
    Matrix([
    [1/2, 1/2, 0],
    [  0,   0, 1]])

    So does PyTorch's Lp pooling with ``norm_type=1`` (the only linear one; other Lp pools
    are refused): ``prod(kernel_size)`` times the average of the taps inside:

    >>> lp = cp.PoolSpec(kind="lp", norm_type=1, kernel_size=2, ceil_mode=True, ndim=1)
    >>> cp.conv_matrix(lp, (1, 3))
    Matrix([
    [1, 1, 0],
    [0, 0, 2]])

    Channels-last (rows and columns ordered as ``(H, W, C)`` flattened):

    >>> spec = cp.ConvSpec(in_channels=2, out_channels=1, kernel_size=2, bias=False, ndim=1)
    >>> cp.conv_matrix(spec, (3, 2), np.array([[[1, 2], [3, 4]]]), layout="WC").toarray()
    array([[1, 3, 2, 4, 0, 0],
           [0, 0, 1, 3, 2, 4]])
    """
    if layout is not None or weight_layout is not None:
        shape, rows, cols = matrix_orders(spec, input_shape, layout)
        if weight_layout is not None:
            lay = parse_weight_layout(weight_layout, spec)
            weight = None if weight is None else lay.to_canonical(weight)
        T = conv_matrix(spec, shape, weight, dtype=dtype, max_bytes=max_bytes, progress=progress)
        return reordered(T, rows, cols)
    plan = _plan(spec, input_shape)
    if plan.pool:
        if weight is not None:
            raise ConvProofError(
                f"pooling has no weight, got weight={_short(weight)}; pass dtype=np.float64 "
                f"for the numeric matrix"
            )
        if dtype is None:
            _check_memory(plan, "symbolic", max_bytes)
            return _symbolic(plan, spec, input_shape)
        dt = np.dtype(dtype)
        if dt.kind not in "fc":
            raise ConvProofError(
                f"dtype must be a floating or complex dtype for average pooling, "
                f"got dtype={dtype!r}"
            )
        _check_memory(plan, "numeric", max_bytes, dt.itemsize)
        return _numeric(plan, None, dt, progress)
    if weight is None:
        _check_memory(plan, "symbolic", max_bytes)
        return _symbolic(plan, spec, input_shape)
    w = np.asarray(weight)
    if w.dtype.kind not in "biufc":
        raise ConvProofError(
            f"weight must be a numeric array (for exact or symbolic entries use weight=None "
            f"and substitute), got weight of dtype {w.dtype}"
        )
    if w.shape != tuple(spec.weight_shape or ()):
        raise ConvProofError(
            f"weight must have shape spec.weight_shape={spec.weight_shape}, "
            f"got weight of shape {w.shape}"
        )
    if dtype is not None:
        w = w.astype(dtype, copy=False)
    elif w.dtype.kind in "biu":
        # exact integers: folded taps (reflect, replicate, circular) add weights, which
        # would wrap around in int8/int16/int32; int64 holds any sum of them
        w = w.astype(np.int64)
    _check_memory(plan, "numeric", max_bytes, w.dtype.itemsize)
    return _numeric(plan, np.ascontiguousarray(w), w.dtype, progress)


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"<array of shape {value.shape}>"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def bias_vector(
    spec: AnySpec, input_shape: Sequence[int], bias: Any = None, *, layout: str | None = None
) -> Any:
    """The bias term of ``vec(Z) = T @ vec(X) + bias_vector`` for one sample.

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
    input_shape : tuple of int
        ``(C, *spatial)`` or ``(N, C, *spatial)`` (per-sample shape used).
    bias : array_like, optional
        ``(C_out,)`` numeric bias.  ``None``: the symbolic column of ``b_{o}`` symbols (zeros
        when the layer has no bias).
    layout : str, optional
        Data layout of ``input_shape`` and of the output's unrolling, as for
        :func:`conv_matrix`.

    Returns
    -------
    numpy.ndarray or sympy.Matrix
        Length ``C_out·∏out``: ``bias[o]`` repeated over the output positions of channel
        ``o`` (row-major unrolling).

    Raises
    ------
    ConvProofError
        If ``bias`` is given for a layer without bias or has the wrong shape.

    Examples
    --------
    >>> import numpy as np
    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=2, kernel_size=2, ndim=1)
    >>> cp.bias_vector(spec, (1, 3), np.array([1.0, -1.0]))
    array([ 1.,  1., -1., -1.])
    >>> cp.bias_vector(spec, (1, 3)).T
    Matrix([[b_{0}, b_{0}, b_{1}, b_{1}]])
    """
    if layout is not None:
        shape, rows, _ = matrix_orders(spec, input_shape, layout)
        return reordered(bias_vector(spec, shape, bias), rows)
    check_spec(spec)
    shape = _per_sample(spec, input_shape)
    out = spec.output_shape(shape)
    c_out, per_channel = out[0], math.prod(out[1:])
    if bias is None:
        _, _, b = _grids(spec, shape)
        if b is None:
            return sympy.zeros(c_out * per_channel, 1)
        return sympy.Matrix([b[o] for o in range(c_out) for _ in range(per_channel)])
    if not spec.bias:
        raise ConvProofError(f"bias must be None for a layer without bias, got bias={_short(bias)}")
    arr = np.asarray(bias)
    if arr.shape != (c_out,):
        raise ConvProofError(f"bias must have shape ({c_out},), got bias of shape {arr.shape}")
    return np.repeat(arr, per_channel)
