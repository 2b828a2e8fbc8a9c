"""The definition of every layer, written out on its own: which input (and kernel) element
each output reads.

This module is **deliberately independent** of the constructions it is used to check
(:mod:`~convproof.constructions.index`, :mod:`~convproof.constructions.matrix`,
:mod:`~convproof.constructions.sliding_sum`, :mod:`~convproof.constructions.numeric`,
:mod:`~convproof.constructions.backward` with its pooling and plan modules): it imports none
of them (an import-linter contract in ``pyproject.toml``, run by the test suite, keeps it so)
and repeats its own index arithmetic straight from the definition, so that a proof compares
two constructions that share no code.  The independence of every proof rests on this.  Do not
"simplify" it by calling the index rule or the matrices; a near-copy of their arithmetic here
is on purpose.

The forms, per spec kind (one dispatch, :data:`_KINDS`):

- convolution, gather:
  ``Z[c, a] = sum_{k in group(c)} sum_u X[k, src(a*s + u*d - p)] W[c, k - k0, u]``,
  ``src`` the padding mode's per-axis read (:func:`_source`);
- transposed convolution, scatter: input ``X[k, i]`` lands on output ``i*s + u*d - p``;
- pooling, gather: the window ``a*s + u*d - p`` (average: divided by its divisor; linear
  Lp pooling, ``norm_type=1`` under PyTorch's rules: times ``prod(k) / taps inside``).

Examples
--------
>>> import convproof as cp
>>> from convproof.constructions.definition import definition_entries
>>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, ndim=1, bias=False)
>>> e = definition_entries(spec, (1, 3))   # y[a] = x[a] w[0] + x[a+1] w[1]
>>> sorted(zip(e.rows.tolist(), e.cols.tolist(), e.taps.tolist()))
[(0, 0, 0), (0, 1, 1), (1, 1, 0), (1, 2, 1)]
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np

from convproof.constructions.coefficients import (
    Entries,
    Table,
    canonical,
    canonical_keys,
    key_fits,
    reciprocals,
)
from convproof.errors import ConvProofError
from convproof.layers.padding import numpy_pad_read
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec
from convproof.layers.window import refuse_lp

# --------------------------------------------------------------------------------------
# layer geometry (from the spec only; the index arithmetic below is this module's own)
# --------------------------------------------------------------------------------------


class Layout(NamedTuple):
    """Shapes of one sample: rows are ``(C_out, *out)``, columns ``(C_in, *in)``."""

    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    weight_shape: tuple[int, ...] | None
    pads: tuple[tuple[int, int], ...]

    @property
    def nrows(self) -> int:
        return math.prod(self.out_shape)

    @property
    def ncols(self) -> int:
        return math.prod(self.in_shape)

    @property
    def ntaps(self) -> int:
        return 0 if self.weight_shape is None else math.prod(self.weight_shape)


def layout_of(spec: Any, input_shape: Sequence[int]) -> Layout:
    """The shapes of one sample of ``input_shape`` through ``spec`` (errors name the input)."""
    kind_rules(spec)  # a ConvSpec, ConvTransposeSpec or PoolSpec, else an error
    _, c, spatial = spec.split_input_shape(input_shape)
    sample = (c, *spatial)
    out = spec.output_shape(sample)
    return Layout(sample, tuple(out), spec.weight_shape, spec.resolve_padding(sample))


def _source(q: np.ndarray, n: int, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Input index read at padded positions ``q`` on an axis of length ``n``, and validity.

    Independent on purpose: the padding modes are written out here again, from their
    definition, rather than taken from the constructions' tables
    (:mod:`convproof.constructions.index`, :mod:`convproof.constructions.numeric`), so a
    wrong entry there is refuted by a proof instead of copied into both sides.  A new mode
    in the padding table (:mod:`convproof.layers.padding`) is read through ``np.pad``, never
    through the table's index map.
    """
    if mode == "zeros":
        valid = (q >= 0) & (q < n)
        return np.where(valid, q, 0), valid
    ok = np.ones(q.shape, dtype=bool)
    if mode == "circular":
        return np.mod(q, n), ok
    if mode == "replicate":
        return np.clip(q, 0, n - 1), ok
    if mode == "reflect":  # edge not repeated; padding < n, so one reflection is enough
        r = np.where(q < 0, -q, q)
        return np.where(r > n - 1, 2 * (n - 1) - r, r), ok
    # a mode added to the padding table: NumPy's np.pad, never the table's index map (the
    # matrix's), so the definition stays independent; an unknown mode is an error there
    flat = [numpy_pad_read(mode, int(t), n) for t in q.ravel()]
    valid = np.array([v is not None for v in flat], dtype=bool).reshape(q.shape)
    return np.array([v or 0 for v in flat], dtype=np.int64).reshape(q.shape), valid


def flat_grid(per_axis: list[np.ndarray], sizes: Sequence[int]) -> np.ndarray:
    """Flat C-order index of the outer product of per-axis index arrays."""
    flat = np.zeros((1,) * len(per_axis), dtype=np.int64)
    for ax, idx in enumerate(per_axis):
        shape = [1] * len(per_axis)
        shape[ax] = idx.size
        flat = flat * sizes[ax] + idx.reshape(shape)
    return flat.reshape(-1)


def all_valid(per_axis: list[np.ndarray]) -> np.ndarray:
    ok = np.ones((1,) * len(per_axis), dtype=bool)
    for ax, v in enumerate(per_axis):
        shape = [1] * len(per_axis)
        shape[ax] = v.size
        ok = ok & v.reshape(shape)
    return ok.reshape(-1)


def _gather_positions(
    spec: Any, lay: Layout, u: tuple[int, ...], mode: str
) -> tuple[np.ndarray, np.ndarray]:
    """Output positions (flat) whose tap ``u`` reads a real input element, and that element."""
    idx, val = [], []
    for ax in range(spec.ndim):
        a = np.arange(lay.out_shape[1 + ax], dtype=np.int64)
        q = a * spec.stride[ax] + u[ax] * spec.dilation[ax] - lay.pads[ax][0]
        i, ok = _source(q, lay.in_shape[1 + ax], mode)
        idx.append(i)
        val.append(ok)
    ok = all_valid(val)
    pos = np.flatnonzero(ok)
    inflat = flat_grid(idx, lay.in_shape[1:])[pos]
    return pos, inflat


class Chunk(NamedTuple):
    """Entries ``row = row_a[:, None] + row_b``, ``col = col_a[:, None] + col_b``, ``tap = tap_a``.

    ``*_a`` run over channels, ``*_b`` over spatial positions; ``div_b`` is the
    pooling divisor per position (``None`` otherwise) and ``scale`` the constant numerator
    of the window coefficients (``scale / div_b``: ``prod(k)`` for linear Lp pooling).
    """

    row_a: np.ndarray
    row_b: np.ndarray
    col_a: np.ndarray
    col_b: np.ndarray
    tap_a: np.ndarray
    div_b: np.ndarray | None = None
    scale: int = 1

    @property
    def size(self) -> int:
        return int(self.row_a.size * self.row_b.size)


class _Geometry(NamedTuple):
    """Channels per group (in, out), positions per channel (out, in), kernel taps."""

    cg_in: int
    cg_out: int
    p_out: int
    p_in: int
    ktaps: int


def _geometry(spec: ConvSpec | ConvTransposeSpec, lay: Layout) -> _Geometry:
    return _Geometry(
        spec.in_channels // spec.groups,
        spec.out_channels // spec.groups,
        math.prod(lay.out_shape[1:]),
        math.prod(lay.in_shape[1:]),
        math.prod(spec.kernel_size),
    )


def _conv_chunks(spec: ConvSpec, lay: Layout) -> list[Chunk]:
    """``Z[c, a] = sum_{k in group(c)} sum_u X[k, src(a*s + u*d - p)] * W[c, k - k0, u]``."""
    cg_in, cg_out, p_out, p_in, ktaps = _geometry(spec, lay)
    c = np.arange(spec.out_channels, dtype=np.int64)
    group = c // cg_out
    chunks = []
    for uflat, u in enumerate(itertools.product(*(range(k) for k in spec.kernel_size))):
        pos, inflat = _gather_positions(spec, lay, u, spec.padding_mode)
        for kl in range(cg_in):
            chunks.append(
                Chunk(
                    c * p_out,
                    pos,
                    (group * cg_in + kl) * p_in,
                    inflat,
                    (c * cg_in + kl) * ktaps + uflat,
                )
            )
    return chunks


def _transpose_chunks(spec: ConvTransposeSpec, lay: Layout) -> list[Chunk]:
    """Scatter form: ``X[k, i]`` adds ``X[k, i] * W[k, c - c0, u]`` to ``Y[c, i*s + u*d - p]``.

    Output padding only lengthens the output (its extra positions receive what lands there).
    """
    cg_in, cg_out, p_out, p_in, ktaps = _geometry(spec, lay)
    k = np.arange(spec.in_channels, dtype=np.int64)
    group = k // cg_in
    chunks = []
    for uflat, u in enumerate(itertools.product(*(range(kk) for kk in spec.kernel_size))):
        idx, val = [], []
        for ax in range(spec.ndim):
            i = np.arange(lay.in_shape[1 + ax], dtype=np.int64)
            q = i * spec.stride[ax] + u[ax] * spec.dilation[ax] - lay.pads[ax][0]
            ok = (q >= 0) & (q < lay.out_shape[1 + ax])
            idx.append(np.where(ok, q, 0))
            val.append(ok)
        src = np.flatnonzero(all_valid(val))  # flat input positions that land inside
        dst = flat_grid(idx, lay.out_shape[1:])[src]
        for cl in range(cg_out):
            chunks.append(
                Chunk(
                    (group * cg_out + cl) * p_out,
                    dst,
                    k * p_in,
                    src,
                    (k * cg_out + cl) * ktaps + uflat,
                )
            )
    return chunks


def pool_scale(spec: PoolSpec) -> int:
    """The window coefficients' numerator: ``prod(kernel_size)`` for Lp pooling, else 1.

    PyTorch's ``lp_pool`` is ``(prod(k) * avg_pool(x**p, k, s, padding=0, ceil_mode))``
    ``** (1/p)`` (signed); for ``p = 1`` (the only Lp pool :func:`kind_rules` admits) each
    window is ``prod(k)`` times its average over the taps inside the input.
    """
    return math.prod(spec.kernel_size) if spec.kind == "lp" else 1


def pool_divisors(spec: PoolSpec, lay: Layout) -> np.ndarray:
    """Pooling divisor per flat output position (PyTorch's rules).

    Average pooling counts the taps inside the input, plus the explicit padding when
    ``count_include_pad``; Lp pooling (no padding) the taps inside the input.
    """
    counts = []
    for ax in range(spec.ndim):
        a = np.arange(lay.out_shape[1 + ax], dtype=np.int64)[:, None]
        u = np.arange(spec.kernel_size[ax], dtype=np.int64)[None, :]
        q = a * spec.stride[ax] + u * spec.dilation[ax] - lay.pads[ax][0]
        n = lay.in_shape[1 + ax]
        if spec.kind == "lp":  # an average pool of padding 0: the overhang is not counted
            inside = (q >= 0) & (q < n)
        elif spec.count_include_pad:  # explicit padding counts, the ceil-mode overhang not
            inside = (q >= -lay.pads[ax][0]) & (q < n + lay.pads[ax][1])
        else:
            inside = (q >= 0) & (q < n)
        counts.append(inside.sum(axis=1))
    div = np.ones((1,) * spec.ndim, dtype=np.int64)
    for ax, cnt in enumerate(counts):
        shape = [1] * spec.ndim
        shape[ax] = cnt.size
        div = div * cnt.reshape(shape)
    return div.reshape(-1)


def _pool_chunks(spec: PoolSpec, lay: Layout) -> list[Chunk]:
    """``Z[c, a] = (1/divisor(a)) sum_u X[c, a*s + u*d - p]`` over taps inside the input."""
    channels = lay.in_shape[0]
    p_out, p_in = math.prod(lay.out_shape[1:]), math.prod(lay.in_shape[1:])
    c = np.arange(channels, dtype=np.int64)
    div = pool_divisors(spec, lay) if spec.kind != "max" else None
    scale = pool_scale(spec)
    no_tap = np.full(channels, -1, dtype=np.int64)
    chunks = []
    for u in itertools.product(*(range(k) for k in spec.kernel_size)):
        pos, inflat = _gather_positions(spec, lay, u, "zeros")
        chunks.append(
            Chunk(
                c * p_out, pos, c * p_in, inflat, no_tap,
                None if div is None else div[pos], scale,
            )
        )  # fmt: skip
    return chunks


def definition_chunks(spec: Any, lay: Layout) -> list[Chunk]:
    """The definition's monomials, chunk by chunk (the kind's gather or scatter form)."""
    return kind_rules(spec).chunks(spec, lay)


def materialize(chunks: list[Chunk]) -> Entries:
    total = sum(ch.size for ch in chunks)
    rows = np.empty(total, dtype=np.int64)
    cols = np.empty(total, dtype=np.int64)
    taps = np.empty(total, dtype=np.int64)
    divs = None if not chunks or chunks[0].div_b is None else np.empty(total, dtype=np.int64)
    off = 0
    for ch in chunks:
        n = ch.size
        shape = (ch.row_a.size, ch.row_b.size)
        np.add(ch.row_a[:, None], ch.row_b[None, :], out=rows[off : off + n].reshape(shape))
        np.add(ch.col_a[:, None], ch.col_b[None, :], out=cols[off : off + n].reshape(shape))
        taps[off : off + n].reshape(shape)[...] = ch.tap_a[:, None]
        if divs is not None and ch.div_b is not None:
            divs[off : off + n].reshape(shape)[...] = ch.div_b[None, :]
        off += n
    coef = None if divs is None else reciprocals(divs, chunks[0].scale)
    return Entries(rows, cols, taps, coef)


def definition_entries(spec: Any, input_shape: Sequence[int]) -> Entries:
    """The definition's monomials, unsorted (for proofs and checkers; the public view is
    :func:`convproof.coefficient_table`)."""
    lay = layout_of(spec, input_shape)
    return materialize(definition_chunks(spec, lay))


def definition_table(spec: Any, lay: Layout) -> Table:
    """The definition's canonical table, keys written straight from the chunks (fast path)."""
    chunks = definition_chunks(spec, lay)
    divided = isinstance(spec, PoolSpec) and spec.kind != "max"
    if divided or not key_fits(lay.nrows, lay.ncols, lay.ntaps):
        return canonical(materialize(chunks), lay.nrows, lay.ncols, lay.ntaps)
    m2 = lay.ntaps + 1
    m1 = lay.ncols * m2
    if isinstance(spec, ConvSpec):
        # row-major fill (output channel, position, input channel, tap): for each output the
        # taps come in increasing (column, tap) order whenever no padding mode folds taps,
        # so the keys are born sorted (checked below; otherwise they are sorted)
        ordered = _chunk_slots(chunks, spec)
        p_out = math.prod(lay.out_shape[1:])
        valid = np.zeros((p_out, len(ordered)), dtype=bool)
        base = np.zeros((p_out, len(ordered)), dtype=np.int64)
        for slot, ch in enumerate(ordered):
            valid[ch.row_b, slot] = True
            base[ch.row_b, slot] = ch.row_b * m1 + ch.col_b * m2
        per = int(valid.sum())
        keys = np.empty(lay.out_shape[0] * per, dtype=np.int64)
        offsets = np.stack([ch.row_a * m1 + ch.col_a * m2 + ch.tap_a + 1 for ch in ordered], 1)
        shift = offsets - offsets[:1]  # per output channel, the same for every slot?
        if bool(np.all(shift == shift[:, :1])):
            first = (base + offsets[0])[valid]  # output channel 0, compressed
            for c in range(lay.out_shape[0]):
                np.add(first, shift[c, 0], out=keys[c * per : (c + 1) * per])
        else:  # pragma: no cover - every conv layout has a channel-independent slot offset
            block = np.empty_like(base)
            for c in range(lay.out_shape[0]):
                np.add(base, offsets[c], out=block)
                keys[c * per : (c + 1) * per] = block[valid]
        del base
        return canonical_keys(keys, None, lay.ncols, lay.ntaps)
    keys = np.empty(sum(ch.size for ch in chunks), dtype=np.int64)
    off = 0
    for ch in chunks:
        n = ch.size
        a = ch.row_a * m1 + ch.col_a * m2 + ch.tap_a + 1
        b = ch.row_b * m1 + ch.col_b * m2
        np.add(a[:, None], b[None, :], out=keys[off : off + n].reshape(a.size, b.size))
        off += n
    # one (row, col, tap) per (output, tap) in the definition, so no duplicates arise
    return canonical_keys(keys, None, lay.ncols, lay.ntaps)


def _chunk_slots(chunks: list[Chunk], spec: ConvSpec) -> list[Chunk]:
    """Conv chunks in (input channel, tap) order; :func:`_conv_chunks` emits (tap, channel)."""
    cg_in = spec.in_channels // spec.groups
    ktaps = math.prod(spec.kernel_size)
    return [chunks[u * cg_in + kl] for kl in range(cg_in) for u in range(ktaps)]


class DefSlab(NamedTuple):
    """The definition's entries of block channel 0 at one slab (add the channel offsets);
    coefficients ``scale / divs`` (pooling) or 1."""

    rows: np.ndarray
    cols: np.ndarray
    taps: np.ndarray
    divs: np.ndarray | None
    scale: int = 1


def _axis_tables(
    spec: Any, lay: Layout, lo: int, hi: int, transposed: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Flat index and validity per (window position, tap) of the slab ``lo <= a_0 < hi``.

    Gather form: window position = output position ``a``, index = the input element read at
    ``a*s + u*d - p`` (padding mode applied).  Scatter form (transposed): window position =
    input position ``i``, index = the output position ``i*s + u*d - p`` it lands on.
    """
    nd = spec.ndim
    here = lay.in_shape[1:] if transposed else lay.out_shape[1:]
    there = lay.out_shape[1:] if transposed else lay.in_shape[1:]
    mode = spec.padding_mode
    flat = np.zeros((1,) * (2 * nd), dtype=np.int64)
    ok = np.ones((1,) * (2 * nd), dtype=bool)
    for ax in range(nd):
        a = np.arange(lo, hi) if ax == 0 else np.arange(here[ax])
        u = np.arange(spec.kernel_size[ax])
        q = a[:, None] * spec.stride[ax] + u[None, :] * spec.dilation[ax] - lay.pads[ax][0]
        if transposed:
            v = (q >= 0) & (q < there[ax])
            i = np.where(v, q, 0)
        else:
            i, v = _source(q, there[ax], mode)
        shape = [1] * (2 * nd)
        shape[ax], shape[nd + ax] = a.size, u.size
        flat = flat * there[ax] + i.reshape(shape)  # C order over the target axes
        ok = ok & v.reshape(shape)
    npos = (hi - lo) * math.prod(here[1:])
    ktaps = math.prod(spec.kernel_size)
    full = (hi - lo, *here[1:], *spec.kernel_size)
    flat = np.broadcast_to(flat, full).reshape(npos, ktaps)
    ok = np.broadcast_to(ok, full).reshape(npos, ktaps)
    return flat, ok


def _group_slab(spec: Any, lay: Layout, lo: int, hi: int, scatter: bool) -> DefSlab:
    """Gather: output ``a`` reads input ``(k, flat[a, u])``; scatter (transposed): input
    ``(k0, i)`` lands on output ``(channel k, position flat[i, u])``."""
    flat, ok = _axis_tables(spec, lay, lo, hi, scatter)
    npos, ktaps = ok.shape
    g = _geometry(spec, lay)
    per = g.cg_out if scatter else g.cg_in
    pos, k, u = np.nonzero(np.broadcast_to(ok[:, None, :], (npos, per, ktaps)))
    taps = k * ktaps + u
    if scatter:
        inner = math.prod(lay.in_shape[2:])
        return DefSlab(k * g.p_out + flat[pos, u], pos + lo * inner, taps, None)
    inner = math.prod(lay.out_shape[2:])
    return DefSlab(pos + lo * inner, k * g.p_in + flat[pos, u], taps, None)


def _conv_slab(spec: ConvSpec, lay: Layout, lo: int, hi: int) -> DefSlab:
    return _group_slab(spec, lay, lo, hi, False)


def _transpose_slab(spec: ConvTransposeSpec, lay: Layout, lo: int, hi: int) -> DefSlab:
    return _group_slab(spec, lay, lo, hi, True)


def _pool_slab(spec: PoolSpec, lay: Layout, lo: int, hi: int) -> DefSlab:
    flat, ok = _axis_tables(spec, lay, lo, hi, False)
    pos, u = np.nonzero(ok)
    rows = pos + lo * math.prod(lay.out_shape[2:])
    divs = pool_divisors(spec, lay)[rows] if spec.kind != "max" else None
    taps = np.full(pos.size, -1, dtype=np.int64)
    return DefSlab(rows, flat[pos, u], taps, divs, pool_scale(spec))


def slab_definition(spec: Any, lay: Layout, lo: int, hi: int) -> DefSlab:
    """The definition's entries of block channel 0 at the slab, in (row, channel, tap) order."""
    return kind_rules(spec).slab(spec, lay, lo, hi)


class ChannelOffsets(NamedTuple):
    """Per block channel, what its entries add to block channel 0's rows, cols and taps."""

    rows: np.ndarray
    cols: np.ndarray
    taps: np.ndarray


def _conv_offsets(spec: ConvSpec, lay: Layout, c: np.ndarray) -> ChannelOffsets:
    """Output channel ``c`` reads input channels ``(c // C_out/g) * C_in/g + ...``."""
    cg_in, cg_out, p_out, p_in, ktaps = _geometry(spec, lay)
    return ChannelOffsets(c * p_out, (c // cg_out) * cg_in * p_in, c * cg_in * ktaps)


def _transpose_offsets(spec: ConvTransposeSpec, lay: Layout, c: np.ndarray) -> ChannelOffsets:
    """Input channel ``c`` writes output channels ``(c // C_in/g) * C_out/g + ...``."""
    cg_in, cg_out, p_out, p_in, ktaps = _geometry(spec, lay)
    return ChannelOffsets((c // cg_in) * cg_out * p_out, c * p_in, c * cg_out * ktaps)


def _pool_offsets(spec: PoolSpec, lay: Layout, c: np.ndarray) -> ChannelOffsets:
    p_out, p_in = math.prod(lay.out_shape[1:]), math.prod(lay.in_shape[1:])
    return ChannelOffsets(c * p_out, c * p_in, np.zeros_like(c))


def channel_offsets(spec: Any, lay: Layout, c0: int, c1: int) -> ChannelOffsets:
    """Row, column and tap offsets of block channels ``c0..c1-1`` (the definition's channel
    arithmetic, groups included)."""
    return kind_rules(spec).offsets(spec, lay, np.arange(c0, c1, dtype=np.int64))


def block_channels(spec: Any, lay: Layout) -> int:
    """How many block channels the layer has (each owns a disjoint set of monomials)."""
    return kind_rules(spec).block_channels(spec, lay)


def window_axis_size(spec: Any, lay: Layout) -> int:
    """Length of the first spatial axis the windows run over (output; input if scattered)."""
    return (lay.in_shape if kind_rules(spec).scatter else lay.out_shape)[1]


def per_channel_entries(spec: Any, lay: Layout) -> int:
    """Upper bound of one block channel's entries (every window position x every tap)."""
    rules = kind_rules(spec)
    positions = math.prod((lay.in_shape if rules.scatter else lay.out_shape)[1:])
    return positions * rules.channels_per_window(spec) * math.prod(spec.kernel_size)


# --------------------------------------------------------------------------------------
# bias
# --------------------------------------------------------------------------------------


def bias_definition(spec: Any, lay: Layout) -> Entries:
    n = lay.nrows
    if not getattr(spec, "bias", False):
        z = np.zeros(0, dtype=np.int64)
        return Entries(z, z, z, None)
    rows = np.arange(n, dtype=np.int64)
    return Entries(rows, rows // math.prod(lay.out_shape[1:]), np.full(n, -1), None)


def monomial_count(spec: Any, lay: Layout) -> int:
    """Monomials of the definition's ``x*w`` (or ``x``) part: one per (output, tap) pair."""
    return int(kind_rules(spec).monomials(spec, lay.in_shape))


def definition_values(
    defn: Entries,
    lay: Layout,
    x: np.ndarray,
    w: np.ndarray | None,
    b: np.ndarray | None,
    kind: str,
) -> np.ndarray:
    """The definition evaluated exactly at one sample (object array of Fractions)."""
    xs = np.asarray(x, dtype=object).reshape(-1)
    if kind == "max":
        out = np.full(lay.nrows, -math.inf, dtype=object)
        for r, c in zip(defn.rows.tolist(), defn.cols.tolist()):
            if out[r] == -math.inf or xs[c] > out[r]:
                out[r] = xs[c]
        return out
    terms = xs[defn.cols]
    if defn.coef is not None:
        terms = terms * defn.coef
    if w is not None:
        terms = terms * np.asarray(w, dtype=object).reshape(-1)[defn.taps]
    out = np.zeros(lay.nrows, dtype=object)
    np.add.at(out, defn.rows, terms)
    if b is not None:
        out += np.repeat(np.asarray(b, dtype=object), math.prod(lay.out_shape[1:]))
    return np.array([*(Fraction(v) if v != -math.inf else v for v in out), None], object)[:-1]


# --------------------------------------------------------------------------------------
# per-kind rules: the one dispatch on the spec's kind
# --------------------------------------------------------------------------------------


class KindRules(NamedTuple):
    """What the definition does differently per layer kind.

    Attributes
    ----------
    chunks, slab, offsets :
        The whole layer's monomials, one slab of block channel 0, and the offsets of the other
        block channels.
    scatter : bool
        Windows run over input positions (the transposed convolution's scatter form) rather
        than output positions.
    block_channels :
        The channels that partition the monomials (output channels of a convolution, input
        channels of a transposed one, the channels of a pool).
    channels_per_window :
        Channels one window position pairs with (the group's input channels of a convolution,
        its output channels when transposed, one for pooling).
    monomials :
        ``x*w`` (or ``x``) monomials of one sample, from the spec's own count.
    """

    chunks: Callable[[Any, Layout], list[Chunk]]
    slab: Callable[[Any, Layout, int, int], DefSlab]
    offsets: Callable[[Any, Layout, np.ndarray], ChannelOffsets]
    scatter: bool
    block_channels: Callable[[Any, Layout], int]
    channels_per_window: Callable[[Any], int]
    monomials: Callable[[Any, tuple[int, ...]], int]


def _group_inputs(spec: Any) -> int:
    return int(spec.in_channels // spec.groups)


def _group_outputs(spec: Any) -> int:
    return int(spec.out_channels // spec.groups)


def _macs(spec: Any, shape: tuple[int, ...]) -> int:
    return int(spec.macs(shape))


_KINDS: dict[type, KindRules] = {
    # kind: chunks, slab, offsets, scatter, block channels, channels per window, monomials
    ConvSpec: KindRules(
        _conv_chunks, _conv_slab, _conv_offsets, False,
        lambda spec, lay: spec.out_channels, _group_inputs, _macs,
    ),
    ConvTransposeSpec: KindRules(
        _transpose_chunks, _transpose_slab, _transpose_offsets, True,
        lambda spec, lay: spec.in_channels, _group_outputs, _macs,
    ),
    PoolSpec: KindRules(
        _pool_chunks, _pool_slab, _pool_offsets, False,
        lambda spec, lay: lay.in_shape[0], lambda spec: 1,
        lambda spec, shape: spec.window_reads(shape),
    ),
}  # fmt: skip


def kind_rules(spec: Any) -> KindRules:
    """The rules of ``spec``'s kind (a ConvSpec, ConvTransposeSpec or PoolSpec; of the Lp
    pools only the linear one, ``norm_type=1`` under ``legality="pytorch"``)."""
    refuse_lp(spec, "the definition (coefficient tables and proofs)")
    for kind, rules in _KINDS.items():
        if isinstance(spec, kind):
            return rules
    raise ConvProofError(
        f"spec must be a ConvSpec, ConvTransposeSpec or PoolSpec, got spec={spec!r}"
    )
