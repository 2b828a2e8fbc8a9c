"""Layer symbols and sliding-window sums, written straight from the definition.

Every output element of a layer is an explicit SymPy expression in the input symbols
``x_{c,i,j}``, the weight symbols ``w_{o,c,u,v}`` and the bias symbols ``b_{o}``:

* convolution (cross-correlation, PyTorch layouts)::

      Z[o, a] = b[o] + sum_{c in group(o)} sum_u X[c, a*s + u*d - p_before] * W[o, c - c0, u]

  where an input coordinate outside ``[0, n)`` reads the padding value: nothing for
  ``zeros``, the wrapped / reflected / replicated element for the other padding modes;
* transposed convolution (gather form of the scatter definition)::

      Y[o, a] = b[o] + sum_{c in group(o)} sum_u sum_{j : j*s + u*d - p_before = a}
                                                           X[c, j] * W[c, o - o0, u]

* average pooling: the window sum of the real elements divided by the exact divisor
  (``count_include_pad`` counts explicit padding but never the ceil-mode overhang);
* max pooling: ``Max`` of the window's real elements (``-oo`` padding never wins).

This module does its own index arithmetic (it does **not** use
:mod:`convproof.constructions.index`), so
that comparing :func:`sliding_sum` with :func:`convproof.constructions.matrix.conv_matrix` (which
is built
from the index patterns) checks one construction against another.

Examples
--------
>>> import convproof as cp
>>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False, ndim=1)
>>> cp.sliding_sum(spec, (1, 3))
[[w_{0,0,0}*x_{0,0} + w_{0,0,1}*x_{0,1}, w_{0,0,0}*x_{0,1} + w_{0,0,1}*x_{0,2}]]
"""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import math
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np
import sympy

from convproof.errors import ConvProofError, MemoryLimitError
from convproof.layers.padding import numpy_pad_read
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec
from convproof.layers.window import lp_scale, refuse_lp
from convproof.settings import resolve_max_bytes

__all__ = [
    "LayerSymbols",
    "SlidingSumEstimate",
    "UnevaluatedSum",
    "layer_symbols",
    "sliding_sum",
    "sliding_sum_estimate",
    "sliding_sum_unevaluated",
]

#: Peak memory per product term of a convolution's or an average pool's sums (a two-symbol
#: ``Mul`` and its argument tuple, one slot of the ``Add``): 123-149 B measured
#: (tracemalloc peak and RSS) on 87k-2.4M-term layers, with margin.
_BYTES_PER_TERM = 192
#: Per window element of a max pool (SymPy's ``Max`` keeps an argument set and runs its
#: comparisons through SymPy's caches): 625 B kept measured, more while building.
_BYTES_PER_MAX_TERM = 1024
#: Per input / weight / bias symbol (the ``Symbol`` and its name).
_BYTES_PER_SYMBOL = 400
#: Work per product term of a convolution: 0.6-1.4 microseconds measured (one core of a
#: shared machine); SymPy's evaluating constructors take an average pool's window sums
#: (20-40 us per term) and a max pool's ``Max`` (1.5-3 ms per window element).
_SECONDS_PER_TERM = 1.5e-6
_SECONDS_PER_AVG_TERM = 40e-6
_SECONDS_PER_MAX_TERM = 3e-3

AnySpec = ConvSpec | ConvTransposeSpec | PoolSpec


class LayerSymbols(NamedTuple):
    """The SymPy symbols of one layer applied to one input shape.

    Attributes
    ----------
    X : sympy.ImmutableDenseNDimArray
        Input ``(C_in, *spatial)``, entries ``x_{c,i,j}``.
    W : sympy.ImmutableDenseNDimArray or None
        Weight ``spec.weight_shape``, entries ``w_{o,c,u,v}`` (``None`` for pooling).
    b : sympy.ImmutableDenseNDimArray or None
        Bias ``(C_out,)``, entries ``b_{o}`` (``None`` without bias).
    """

    X: sympy.ImmutableDenseNDimArray
    W: sympy.ImmutableDenseNDimArray | None
    b: sympy.ImmutableDenseNDimArray | None


@functools.lru_cache(maxsize=64)
def _symbol_grid(prefix: str, shape: tuple[int, ...]) -> np.ndarray:
    """Object array of symbols ``prefix_{i,j,...}`` (cached: the same objects every call)."""
    grid = np.empty(shape, dtype=object)
    for idx in itertools.product(*(range(n) for n in shape)):
        grid[idx] = sympy.Symbol(f"{prefix}_{{{','.join(map(str, idx))}}}")
    grid.setflags(write=False)
    return grid


def _sympy_array(grid: np.ndarray) -> sympy.ImmutableDenseNDimArray:
    return sympy.ImmutableDenseNDimArray(grid.ravel().tolist(), grid.shape)


def _per_sample(spec: AnySpec, input_shape: Sequence[int]) -> tuple[int, ...]:
    """``(C, *spatial)`` of one sample (validated by the spec)."""
    if not isinstance(spec, ConvSpec | ConvTransposeSpec | PoolSpec):
        raise ConvProofError(
            f"spec must be a ConvSpec, ConvTransposeSpec or PoolSpec, got spec={spec!r}"
        )
    refuse_lp(spec, "sliding_sum")
    _, c, spatial = spec.split_input_shape(input_shape)
    spec.output_shape((c, *spatial))
    return (c, *spatial)


def _grids(
    spec: AnySpec, input_shape: Sequence[int]
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Object arrays ``(X, W, b)`` (private: the symbols' single source)."""
    shape = _per_sample(spec, input_shape)
    x = _symbol_grid("x", shape)
    w = None if spec.weight_shape is None else _symbol_grid("w", tuple(spec.weight_shape))
    b = _symbol_grid("b", (spec.out_channels,)) if spec.bias else None  # type: ignore[union-attr]
    return x, w, b


def layer_symbols(spec: AnySpec, input_shape: Sequence[int]) -> LayerSymbols:
    """The input, weight and bias symbols of a layer, as SymPy arrays.

    The same :class:`sympy.Symbol` objects appear in :func:`sliding_sum` and in
    :func:`convproof.constructions.matrix.conv_matrix` with ``weight=None``, so results can be
    substituted
    into and compared directly.  Names follow the array indices: ``x_{c,i,j}``,
    ``w_{o,c,u,v}`` (PyTorch weight layout, ``w_{c_in,o,u,v}`` for a transposed conv) and
    ``b_{o}``.

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
    input_shape : tuple of int
        ``(C, *spatial)`` or ``(N, C, *spatial)``; the symbols describe one sample.

    Returns
    -------
    LayerSymbols
        ``(X, W, b)``; ``W`` is ``None`` for pooling and ``b`` is ``None`` without bias.

    Raises
    ------
    ConvProofError
        If the input shape does not fit the layer.

    Examples
    --------
    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=2, out_channels=1, kernel_size=2)
    >>> X, W, b = cp.layer_symbols(spec, (2, 3, 3))
    >>> X.shape, W.shape, b.shape
    ((2, 3, 3), (1, 2, 2, 2), (1,))
    >>> X[1, 0, 2], W[0, 1, 1, 0], b[0]
    (x_{1,0,2}, w_{0,1,1,0}, b_{0})
    """
    x, w, b = _grids(spec, input_shape)
    return LayerSymbols(
        _sympy_array(x),
        None if w is None else _sympy_array(w),
        None if b is None else _sympy_array(b),
    )


# --------------------------------------------------------------------------------------
# the definition, evaluated
# --------------------------------------------------------------------------------------


def _read(t: int, n: int, mode: str) -> int | None:
    """Input index at padded coordinate ``t`` on an axis of length ``n`` (``None``: zero)."""
    if 0 <= t < n:
        return t
    if mode == "zeros":
        return None
    if mode == "circular":
        return t % n
    if mode == "replicate":
        return 0 if t < 0 else n - 1
    if mode == "reflect":  # NumPy "reflect", edge not repeated; padding < n, so one bounce
        return -t if t < 0 else 2 * (n - 1) - t
    # a mode added to the padding table: NumPy's np.pad, never the table's index map (the
    # index rule's), so the definition stays independent; an unknown mode is an error
    return numpy_pad_read(mode, t, n)


def _no_tick() -> None:
    return None


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while building (restored afterwards).

    A build allocates millions of small objects (products, argument tuples) and no cycles;
    with the collector on, its generation-2 passes rescan everything built so far and cost
    more than the build itself (a 2.4-million-term layer: 5.5 s instead of 1.7 s).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _axis_reads(spec: ConvSpec | ConvTransposeSpec, shape: tuple[int, ...]) -> list[np.ndarray]:
    """Per spatial axis, the input index that output ``a`` reads at kernel tap ``u``.

    A table of shape ``(out_ax, k_ax)``; ``-1`` where nothing is read: a zero-padding
    coordinate of a convolution, or no input ``j`` with ``j*s + u*d - p_before = a`` of a
    transposed convolution.  Every entry is computed by the scalar rule of the definition.
    """
    pads = spec.resolve_padding(shape)
    out = spec.output_shape(shape)[1:]
    n = shape[1:]
    tables = []
    for ax in range(spec.ndim):
        s, d, p = spec.stride[ax], spec.dilation[ax], pads[ax][0]
        table = np.empty((out[ax], spec.kernel_size[ax]), dtype=np.int64)
        for a in range(out[ax]):
            for u in range(spec.kernel_size[ax]):
                if isinstance(spec, ConvSpec):
                    t = _read(a * s + u * d - p, n[ax], spec.padding_mode)
                else:  # gather: input j with j*s + u*d - p_before = a
                    q, r = divmod(a + p - u * d, s)
                    t = q if r == 0 and 0 <= q < n[ax] else None
                table[a, u] = -1 if t is None else t
        tables.append(table)
    return tables


def _tap_table(reads: list[np.ndarray], n: tuple[int, ...]) -> np.ndarray:
    """Row-major spatial input offset read by every output position (rows, in output order)
    at every kernel tap (columns, row-major taps); ``-1`` where some axis reads nothing."""
    dims = len(reads)
    offset: Any = np.zeros((1,) * (2 * dims), dtype=np.int64)
    valid: Any = np.ones((1,) * (2 * dims), dtype=bool)
    step = 1
    for ax in reversed(range(dims)):
        view = [1] * (2 * dims)
        view[ax], view[dims + ax] = reads[ax].shape
        table = reads[ax].reshape(view)
        offset = offset + table * step
        valid = valid & (table >= 0)
        step *= n[ax]
    positions = math.prod(r.shape[0] for r in reads)
    taps = math.prod(r.shape[1] for r in reads)  # explicit: positions may be 0 (jax profile)
    return np.where(valid, offset, -1).reshape(positions, taps)


@functools.lru_cache(maxsize=64)
def _name_rank(prefix: str, shape: tuple[int, ...]) -> np.ndarray:
    """Rank of every symbol of ``_symbol_grid(prefix, shape)`` (row-major) in SymPy's
    canonical order.  All grid symbols carry the same assumptions, so ``Basic.compare``
    orders them by name alone (the tests check this against ``sympy.Add``)."""
    names = [s.name for s in _symbol_grid(prefix, shape).ravel()]
    rank = np.empty(len(names), dtype=np.int64)
    rank[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
    rank.setflags(write=False)
    return rank


def _weighted_sums(
    spec: ConvSpec | ConvTransposeSpec,
    shape: tuple[int, ...],
    weight_of: Any,
    tick: Any,
) -> sympy.ImmutableDenseNDimArray:
    """``b[o] + sum x * w`` for every output, the SymPy objects built in canonical form.

    ``weight_of(o)`` gives, for output channel ``o``, its group ``g`` and the row-major
    index into ``W`` of each product term ``(cc, u)`` (input channel ``g*C_in/g + cc`` of the
    group, kernel tap ``u``).  The result equals ``sympy.Add(*terms)`` of
    ``sympy.Mul(x, w)`` terms exactly (same ``args``, so ``==`` and printing agree): every
    product is ``Mul._from_args`` of its two symbols in SymPy's order and every sum is
    ``Add._from_args`` of its terms in SymPy's order, computed once per output channel
    instead of by comparing expressions per sum.  Within one output every term has its own
    weight symbol, so the order of the weights decides the order of the terms.
    """
    x, w, b = _grids(spec, shape)
    assert w is not None
    out = spec.output_shape(shape)
    n = shape[1:]
    cin_g = spec.in_channels // spec.groups
    table = _tap_table(_axis_reads(spec, shape), n)  # (positions, taps)
    size = math.prod(n)
    xs = x.ravel().tolist()
    ws = w.ravel().tolist()
    w_rank = _name_rank("w", w.shape)
    mul, add = sympy.Mul._from_args, sympy.Add._from_args
    # SymPy's canonical order, asked once: the two factors of a product (names "w_..." and
    # "x_..." compare the same way for every pair), and the bias against a product
    w_first = sympy.Basic.compare(ws[0], xs[0]) < 0
    sample = mul((ws[0], xs[0]) if w_first else (xs[0], ws[0]), True)
    bias_first = b is not None and sympy.Basic.compare(b[0], sample) < 0
    reads: dict[int, np.ndarray] = {}
    values: list[Any] = []
    for o in range(spec.out_channels):
        g, w_index = weight_of(o)
        if g not in reads:
            channels = (g * cin_g + np.arange(cin_g)) * size
            flat = np.where(table[:, None, :] >= 0, channels[None, :, None] + table[:, None, :], -1)
            reads = {g: flat.reshape(table.shape[0], cin_g * table.shape[1])}  # one group
        order = np.argsort(w_rank[w_index], kind="stable")
        w_sorted = [ws[k] for k in w_index[order].tolist()]
        bias = () if b is None else (b[o],)
        for row in reads[g][:, order].tolist():
            if w_first:
                terms = [mul((wk, xs[i]), True) for wk, i in zip(w_sorted, row) if i >= 0]
            else:  # pragma: no cover - the symbol names make w_... sort first
                terms = [mul((xs[i], wk), True) for wk, i in zip(w_sorted, row) if i >= 0]
            values.append(add((*bias, *terms) if bias_first else (*terms, *bias), True))
        tick()  # one output channel done
    return sympy.ImmutableDenseNDimArray(values, out)


def _conv_sum(
    spec: ConvSpec, shape: tuple[int, ...], tick: Any = _no_tick
) -> sympy.ImmutableDenseNDimArray:
    cout_g = spec.out_channels // spec.groups
    taps = (spec.in_channels // spec.groups) * math.prod(spec.kernel_size)

    def weight_of(o: int) -> tuple[int, np.ndarray]:
        # W[o, cc, u], row-major
        return o // cout_g, o * taps + np.arange(taps)

    return _weighted_sums(spec, shape, weight_of, tick)


def _conv_transpose_sum(
    spec: ConvTransposeSpec, shape: tuple[int, ...], tick: Any = _no_tick
) -> sympy.ImmutableDenseNDimArray:
    cin_g = spec.in_channels // spec.groups
    cout_g = spec.out_channels // spec.groups
    k = math.prod(spec.kernel_size)

    def weight_of(o: int) -> tuple[int, np.ndarray]:
        # W[c, oo, u] with c = g*cin_g + cc, row-major
        g, oo = divmod(o, cout_g)
        c = g * cin_g + np.arange(cin_g)
        return g, ((c[:, None] * cout_g + oo) * k + np.arange(k)[None, :]).ravel()

    return _weighted_sums(spec, shape, weight_of, tick)


def _pool_sum(
    spec: PoolSpec, shape: tuple[int, ...], tick: Any = _no_tick
) -> sympy.ImmutableDenseNDimArray:
    x, _, _ = _grids(spec, shape)
    pads = spec.resolve_padding(shape)
    out = spec.output_shape(shape)
    n = shape[1:]
    taps = list(itertools.product(*(range(k) for k in spec.kernel_size)))
    scale = lp_scale(spec)
    values: list[Any] = []
    for c in range(shape[0]):
        for a in itertools.product(*(range(m) for m in out[1:])):
            real, extent = [], 0
            for u in taps:
                t = [
                    a[ax] * spec.stride[ax] + u[ax] * spec.dilation[ax] - pads[ax][0]
                    for ax in range(spec.ndim)
                ]
                if all(-pads[ax][0] <= t[ax] < n[ax] + pads[ax][1] for ax in range(spec.ndim)):
                    extent += 1
                if all(0 <= t[ax] < n[ax] for ax in range(spec.ndim)):
                    real.append(x[(c, *t)])
            if spec.kind == "max":
                values.append(sympy.Max(*real) if real else sympy.S.NegativeInfinity)
            else:  # Lp (norm_type=1, no padding: extent = taps inside) scales by prod(k)
                divisor = extent if spec.count_include_pad else len(real)
                if divisor == 0:
                    values.append(sympy.S.NaN)
                else:
                    values.append(sympy.Add(*real) * sympy.Rational(scale, divisor))
        tick()  # one channel done
    return sympy.ImmutableDenseNDimArray(values, out)


class SlidingSumEstimate(NamedTuple):
    """What :func:`sliding_sum` would build, estimated without building it.

    Attributes
    ----------
    terms : int
        Product terms (an upper bound: taps on zero padding are dropped when built), plus
        one bias term per output when the layer has a bias.
    symbols : int
        Input, weight and bias symbols.
    bytes : int
        Estimated peak memory.
    seconds : float
        Rough single-core time (about 700,000 convolution terms per second; SymPy's
        ``Add`` and ``Max`` make pooling much slower per term).
    """

    terms: int
    symbols: int
    bytes: int
    seconds: float


def sliding_sum_estimate(spec: AnySpec, input_shape: Sequence[int]) -> SlidingSumEstimate:
    """Size, memory and time of :func:`sliding_sum` for one sample, before building it.

    Refuses non-linear Lp pooling (as :func:`sliding_sum` does).

    Examples
    --------
    A 64-channel 3x3 layer on 224x224 would build about 1.85 billion terms:

    >>> import convproof as cp
    >>> from convproof.constructions.sliding_sum import sliding_sum_estimate
    >>> spec = cp.ConvSpec(in_channels=64, out_channels=64, kernel_size=3, padding=1)
    >>> e = sliding_sum_estimate(spec, (64, 224, 224))
    >>> f"{e.terms:,}", e.bytes > 2**38
    ('1,852,899,328', True)
    """
    shape = _per_sample(spec, input_shape)
    out = spec.output_shape(shape)
    n_out = math.prod(out)
    if isinstance(spec, PoolSpec):
        terms = n_out * math.prod(spec.kernel_size)
        symbols = math.prod(shape)
    else:
        terms = spec.macs(shape) + (n_out if spec.bias else 0)
        assert spec.weight_shape is not None
        symbols = math.prod(shape) + math.prod(spec.weight_shape) + spec.out_channels
    per_term, seconds = _BYTES_PER_TERM, _SECONDS_PER_TERM
    if isinstance(spec, PoolSpec):
        if spec.kind == "max":
            per_term, seconds = _BYTES_PER_MAX_TERM, _SECONDS_PER_MAX_TERM
        else:
            seconds = _SECONDS_PER_AVG_TERM
    need = terms * per_term + symbols * _BYTES_PER_SYMBOL
    return SlidingSumEstimate(terms, symbols, need, terms * seconds)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


def _check_sliding_sum(
    spec: AnySpec, input_shape: Sequence[int], max_bytes: Any
) -> SlidingSumEstimate:
    limit = resolve_max_bytes(max_bytes)
    est = sliding_sum_estimate(spec, input_shape)
    if est.bytes > limit:
        raise MemoryLimitError(
            f"sliding_sum, building about {est.terms:,} SymPy terms in roughly "
            f"{_duration(est.seconds)},",
            est.bytes,
            limit,
            remedy="use a smaller input (every position has the same form), or see one "
            "element with convproof.presentation.render.element_sum",
        )
    return est


def _stderr_is_terminal() -> bool:
    import sys

    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # pragma: no cover - closed or replaced stream
        return False


class _Progress:
    """A ``tqdm`` bar over the estimated terms, ticked once per output channel (or nothing:
    when not shown, or when tqdm is not installed)."""

    def __init__(self, show: bool, total: int, channels: int) -> None:
        self.bar: Any = None
        self.step = total / max(channels, 1)
        if not show:
            return
        try:
            from tqdm import tqdm
        except ImportError:  # pragma: no cover - tqdm is optional here
            return
        import sys

        self.bar = tqdm(
            total=total,
            desc="sliding_sum",
            unit="term",
            unit_scale=True,
            file=sys.stderr,
            leave=False,
            dynamic_ncols=True,
        )

    def __enter__(self) -> Any:
        if self.bar is None:
            return lambda: None
        return lambda: self.bar.update(self.step)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


def sliding_sum(
    spec: AnySpec,
    input_shape: Sequence[int],
    *,
    max_bytes: int | None = None,
    progress: bool | None = None,
) -> sympy.ImmutableDenseNDimArray:
    """Every output element of a layer as a SymPy expression, from the definition.

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
    input_shape : tuple of int
        ``(C_in, *spatial)`` or ``(N, C_in, *spatial)``; the result describes one sample.
    max_bytes : int, optional
        Refuse (before building) when the estimated memory (:func:`sliding_sum_estimate`:
        about 192 bytes per product term of a convolution) is larger; default
        :func:`convproof.get_max_bytes` (the one memory limit of :mod:`convproof.settings`).
    progress : bool, optional
        Show a progress bar (``tqdm`` on stderr, ticked per output channel) while building.
        Default: only when stderr is a terminal and the estimate is over 2 seconds.

    Returns
    -------
    sympy.ImmutableDenseNDimArray
        Shape ``(C_out, *out)``, in the symbols of :func:`layer_symbols`; the bias is included
        when ``spec.bias``.

        ==========================  ===================================================
        spec                        entry
        ==========================  ===================================================
        :class:`ConvSpec`           ``b[o] + sum X[c, a*s + u*d - p] * W[o, c, u]``
        :class:`ConvTransposeSpec`  ``b[o] + sum`` over ``(c, j, u)`` with
                                    ``j*s + u*d - p = a`` of ``X[c, j] * W[c, o, u]``
        avg :class:`PoolSpec`       window sum of real elements ``/ divisor`` (Rational)
        lp :class:`PoolSpec`        ``norm_type=1`` (PyTorch): window sum of real elements
                                    ``* prod(k) / (real elements)``
        max :class:`PoolSpec`       ``Max`` of the window's real elements
        ==========================  ===================================================

        Lp pooling with another ``norm_type``, or under ``legality="onnx"``, is not linear
        and is refused.

    Raises
    ------
    ConvProofError
        If the input shape does not fit the layer.
    MemoryLimitError
        If the estimate exceeds ``max_bytes`` (the message gives the estimate and how to
        raise the limit).

    Notes
    -----
    Zero padding drops the term; ``circular`` / ``reflect`` / ``replicate`` padding reads the
    wrapped / reflected (edge not repeated) / clamped input element instead, so the same
    input symbol may appear with several weights.  An average-pooling window without any
    element to count (only possible with dilation) gives ``nan``.

    A convolution's sums are written in SymPy's canonical form directly (products and sums
    built from their ordered arguments), so they are the very objects ``sympy.Add(*terms)``
    would give, equal argument by argument and printed the same, only much faster.

    Examples
    --------
    The seed's 3x3 input and 2x2 kernel (one channel, no bias):

    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, bias=False)
    >>> z = cp.sliding_sum(spec, (1, 3, 3))
    >>> z.shape
    (1, 2, 2)
    >>> z[0, 1, 0]
    w_{0,0,0,0}*x_{0,1,0} + w_{0,0,0,1}*x_{0,1,1} + w_{0,0,1,0}*x_{0,2,0} + w_{0,0,1,1}*x_{0,2,1}

    Average pooling keeps exact divisors:

    >>> pool = cp.PoolSpec(kind="avg", kernel_size=2, ceil_mode=True, ndim=1)
    >>> cp.sliding_sum(pool, (1, 3))
    [[x_{0,0}/2 + x_{0,1}/2, x_{0,2}]]

    Large layers are refused before any work, with the estimate:

    >>> big = cp.ConvSpec(in_channels=16, out_channels=16, kernel_size=3, padding=1)
    >>> cp.sliding_sum(big, (16, 32, 32), max_bytes=2**28)
    Traceback (most recent call last):
    ...
    convproof.errors.MemoryLimitError: sliding_sum, building about 2,375,680 SymPy terms in
    roughly 4 s, would need about 442.1 MiB, more than max_bytes=268435456 (256.0 MiB); ...
    """
    if progress is not None and not isinstance(progress, bool):
        raise ConvProofError(f"progress must be True, False or None, got progress={progress!r}")
    est = _check_sliding_sum(spec, input_shape, max_bytes)
    shape = _per_sample(spec, input_shape)
    show = progress if progress is not None else (est.seconds >= 2 and _stderr_is_terminal())
    channels = spec.out_channels if spec.weight_shape else shape[0]
    with _Progress(show, est.terms, channels) as tick, _gc_paused():
        if isinstance(spec, ConvSpec):
            return _conv_sum(spec, shape, tick)
        if isinstance(spec, ConvTransposeSpec):
            return _conv_transpose_sum(spec, shape, tick)
        return _pool_sum(spec, shape, tick)
    raise ConvProofError(
        f"spec must be a ConvSpec, ConvTransposeSpec or PoolSpec, got spec={spec!r}"
    )


# --------------------------------------------------------------------------------------
# the definition, unevaluated
# --------------------------------------------------------------------------------------


class UnevaluatedSum(NamedTuple):
    """One generic output element as an unevaluated SymPy ``Sum``.

    Attributes
    ----------
    expr : sympy.Expr
        The output element.
    output_index : tuple of sympy.Symbol
        The free output indices ``(o, a_0, ..., a_{D-1})``.
    parameters : dict
        Names of the layer parameters used as symbols (``{}`` when they are numbers).
    """

    expr: sympy.Expr
    output_index: tuple[sympy.Symbol, ...]
    parameters: dict[str, sympy.Symbol]


def sliding_sum_unevaluated(spec: AnySpec, *, symbolic: bool = False) -> UnevaluatedSum:
    """The definition of one output element as an unevaluated SymPy ``Sum``.

    ``X``, ``W`` and ``b`` are :class:`sympy.IndexedBase` objects; the output index
    ``(o, a_0, ...)`` is free.  ``X`` at a coordinate outside ``[0, n)`` stands for the
    padding value (``0`` for ``zeros``; the wrapped / reflected / replicated element for the
    other padding modes).  With ``symbolic=True`` the kernel size, stride, dilation, padding
    before and channels per group become integer symbols (``k_0``, ``s_0``, ``d_0``,
    ``p_0``, ``C_g``), for proofs about general sizes.

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
        Average pooling divides by ``N_{a}``, the window's divisor (see :func:`sliding_sum`);
        linear Lp pooling (``norm_type=1``, PyTorch) is ``prod(k)`` times that (``N_{a}``
        the taps inside); max pooling and the other Lp pools have no sum form.
    symbolic : bool

    Returns
    -------
    UnevaluatedSum

    Notes
    -----
    The transposed convolution is written in gather form with a ``KroneckerDelta`` selecting
    ``j*s + u*d - p = a``.  Expand it term by term for concrete sizes: SymPy's
    ``Sum.doit`` solves the delta over the rationals (it would read ``X[c, 1/2]``).

    Raises
    ------
    ConvProofError
        For max pooling, or a named padding (its amount depends on the input size) unless
        ``symbolic=True``.

    Examples
    --------
    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3, padding=1)
    >>> cp.sliding_sum_unevaluated(spec).expr
    b[o] + Sum(W[o, c, u_0, u_1]*X[c, a_0 + u_0 - 1, a_1 + u_1 - 1], (c, 0, 2), (u_0, 0, 2),
    (u_1, 0, 2))
    >>> cp.sliding_sum_unevaluated(spec, symbolic=True).expr
    b[o] + Sum(W[o, c, u_0, u_1]*X[c, a_0*s_0 + d_0*u_0 - p_0, a_1*s_1 + d_1*u_1 - p_1],
    (c, 0, C_g - 1), (u_0, 0, k_0 - 1), (u_1, 0, k_1 - 1))
    """
    if isinstance(spec, PoolSpec) and spec.kind == "max":
        raise ConvProofError("spec must be linear for a Sum form; max pooling is a Max, not a Sum")
    refuse_lp(spec, "sliding_sum_unevaluated")
    if isinstance(spec.padding, str) and not symbolic:
        raise ConvProofError(
            f"padding={spec.padding!r} depends on the input size; pass symbolic=True "
            f"or resolve it first with spec.resolve_padding(input_shape)"
        )
    nd = spec.ndim
    intp = {"integer": True, "positive": True}
    params: dict[str, sympy.Symbol] = {}
    if symbolic:
        ks = [sympy.Symbol(f"k_{i}", **intp) for i in range(nd)]
        ss = [sympy.Symbol(f"s_{i}", **intp) for i in range(nd)]
        ds = [sympy.Symbol(f"d_{i}", **intp) for i in range(nd)]
        ps = [sympy.Symbol(f"p_{i}", integer=True, nonnegative=True) for i in range(nd)]
        cg: Any = sympy.Symbol("C_g", **intp)
        for group in (ks, ss, ds, ps):
            params.update({str(sym): sym for sym in group})
        params["C_g"] = cg
    else:
        assert not isinstance(spec.padding, str)
        ks = [sympy.Integer(v) for v in spec.kernel_size]
        ss = [sympy.Integer(v) for v in spec.stride]
        ds = [sympy.Integer(v) for v in spec.dilation]
        ps = [sympy.Integer(pl) for pl, _ in spec.padding]
        cg = None
    o = sympy.Symbol("o", integer=True, nonnegative=True)
    a = [sympy.Symbol(f"a_{i}", integer=True, nonnegative=True) for i in range(nd)]
    u = [sympy.Symbol(f"u_{i}", integer=True, nonnegative=True) for i in range(nd)]
    c = sympy.Symbol("c", integer=True, nonnegative=True)
    X, W, B = sympy.IndexedBase("X"), sympy.IndexedBase("W"), sympy.IndexedBase("b")
    limits_u = [(u[i], 0, ks[i] - 1) for i in range(nd)]
    if isinstance(spec, PoolSpec):
        coords = [a[i] * ss[i] + u[i] * ds[i] - ps[i] for i in range(nd)]
        divisor = sympy.Symbol("N_{a}", integer=True, positive=True)
        expr: Any = sympy.Sum(X[(o, *coords)], *limits_u) / divisor
        if spec.kind == "lp":  # linear Lp pooling: prod(k) times the window's average
            expr = sympy.Mul(*ks) * expr
        return UnevaluatedSum(expr, (o, *a), params)
    if cg is None:
        cg = sympy.Integer(spec.in_channels // spec.groups)
    if isinstance(spec, ConvSpec):
        coords = [a[i] * ss[i] + u[i] * ds[i] - ps[i] for i in range(nd)]
        groups = spec.groups
        cout_g = spec.out_channels // groups
        c_in = c if groups == 1 else sympy.floor(o / cout_g) * cg + c
        body = X[(c_in, *coords)] * W[(o, c, *u)]
        expr = sympy.Sum(body, (c, 0, cg - 1), *limits_u)
    else:
        j = [sympy.Symbol(f"j_{i}", integer=True, nonnegative=True) for i in range(nd)]
        n = [sympy.Symbol(f"n_{i}", integer=True, positive=True) for i in range(nd)]
        params.update({str(sym): sym for sym in n})
        cout_g = spec.out_channels // spec.groups
        g = sympy.floor(o / cout_g)
        body = X[(g * cg + c, *j)] * W[(g * cg + c, o - g * cout_g, *u)]
        for i in range(nd):
            body = body * sympy.KroneckerDelta(j[i] * ss[i] + u[i] * ds[i] - ps[i], a[i])
        limits_j = [(j[i], 0, n[i] - 1) for i in range(nd)]
        expr = sympy.Sum(body, (c, 0, cg - 1), *limits_j, *limits_u)
    if spec.bias:
        expr = expr + B[o]
    return UnevaluatedSum(expr, (o, *a), params)
