"""Convproof's own matrix against the definition, block by block, in bounded memory.

Every monomial of a conv, transposed conv or average pool has one *block channel* and one
position along the first spatial axis; blocks (channel range x slab) partition both sides.
Equal block lists prove the block; a differing block is compared exactly; an entry outside
its block sends the layer to :func:`whole_layer`.  :func:`check_memory` is the guard.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from typing import Any

import numpy as np

from convproof.constructions.coefficients import (
    Entries,
    Table,
    canonical,
    reciprocals,
    smallest_difference,
)
from convproof.constructions.definition import (
    ChannelOffsets,
    DefSlab,
    Layout,
    block_channels,
    channel_offsets,
    definition_table,
    kind_rules,
    layout_of,
    monomial_count,
    per_channel_entries,
    slab_definition,
    window_axis_size,
)
from convproof.errors import MemoryLimitError
from convproof.proofs.reading import library_entries
from convproof.proofs.result import (
    ProofCounterexample,
    ProofResult,
    compare_entries,
    make_counterexample,
    outside_entry,
)
from convproof.settings import resolve_max_bytes

# Peak bytes per monomial of a coefficient-table proof: both sides' keys and coefficients,
# the matrix entries and the sort's scratch (VGG's first layer: 89.4 M monomials, 3.38 GB).
BYTES_PER_MONOMIAL = 40


# --------------------------------------------------------------------------------------
# streaming comparison with the library, block by block (bounded memory)
# --------------------------------------------------------------------------------------
#
# Every monomial of a conv, transposed conv or average pool has one "block channel" (the
# output channel of a convolution, the input channel of a transposed one, the channel of a
# pool) and one position along the first spatial axis of that channel's windows (output
# position for gather forms, input position for the scatter form).  Blocks are (channel
# range) x (slab of that axis); they partition both sides' monomials.  Per block both sides
# list their entries; when the two lists are equal element by element (the definition lists
# them in the order the library emits them: row, input channel, tap), the block's monomials
# are equal as multisets.  Otherwise the block is compared exactly (canonical tables) and the
# smallest difference over all blocks is the counterexample.  Entries of the library block
# that do not belong to the block send the proof to the whole-layer path.

#: Target number of entries per block: a block's arrays stay in the CPU caches.
_BLOCK_ENTRIES = 1 << 17
#: Peak bytes per block entry: the library's rows, cols and taps, the definition's three
#: columns per channel and the comparison's scratch.
_BYTES_PER_BLOCK_ENTRY = 96
#: Bytes per output row of the bias comparison (both sides' tables and their sort).
_BYTES_PER_BIAS_ROW = 80
#: Worker threads of the block comparison (NumPy releases the GIL in its loops).
_THREADS = max(1, min(2, os.cpu_count() or 1))


def _slabs(spec: Any, lay: Layout, per_channel: int) -> tuple[list[tuple[int, int]], int]:
    """Slabs along the first spatial axis and channels per block, for blocks of about
    :data:`_BLOCK_ENTRIES` entries (``per_channel``: one channel's entries, all slabs)."""
    n0 = window_axis_size(spec, lay)
    if per_channel <= _BLOCK_ENTRIES:
        return [(0, n0)], max(1, _BLOCK_ENTRIES // max(per_channel, 1))
    step = max(1, (_BLOCK_ENTRIES * n0) // per_channel)
    return [(lo, min(lo + step, n0)) for lo in range(0, n0, step)], 1


def stream_bytes(spec: Any, lay: Layout) -> int:
    """Peak bytes of a streaming proof: the largest block, the slab tables, the bias part."""
    per_channel = per_channel_entries(spec, lay)
    (lo, hi), *_ = _slabs(spec, lay, per_channel)[0]
    n0 = window_axis_size(spec, lay)
    slab = per_channel * (hi - lo) // max(n0, 1)
    channels = _slabs(spec, lay, per_channel)[1]
    block = min(slab * channels, slab * block_channels(spec, lay))
    bias = lay.nrows * _BYTES_PER_BIAS_ROW if getattr(spec, "bias", False) else 0
    return block * _BYTES_PER_BLOCK_ENTRY + slab * 64 + bias


class _Misfit(Exception):
    """A library block held an entry outside the block (use the whole-layer comparison)."""


class _Outside(Exception):
    """A library block held an entry outside the matrix (the counterexample is its arg)."""


class _Scratch:
    """Work arrays of the element-wise comparison, reused from block to block."""

    def __init__(self, dtype: Any) -> None:
        self.ints = np.empty(0, dtype=dtype)
        self.flags = np.empty(0, dtype=bool)

    def take(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if self.ints.size < n:
            self.ints = np.empty(n, dtype=self.ints.dtype)
            self.flags = np.empty(n, dtype=bool)
        return self.ints[:n], self.flags[:n]


def _same(arr: np.ndarray, base: np.ndarray, off: np.ndarray, scratch: _Scratch) -> bool:
    """``arr`` (reps x n, flat) equals ``base + off[:, None]`` element by element.

    ``base``, ``off`` and the scratch share one integer type; an ``arr`` of another type is
    compared in int64 (never cast down).
    """
    if arr.size != off.size * base.size:
        return False
    if not arr.dtype == base.dtype == off.dtype == scratch.ints.dtype:
        arr, base, off = (np.asarray(a, dtype=np.int64) for a in (arr, base, off))
        scratch = _Scratch(np.int64)
    ints, flags = scratch.take(arr.size)
    shape = (off.size, base.size)
    v = arr.reshape(shape)
    if off.any():
        v = np.subtract(v, off[:, None], out=ints.reshape(shape))
    np.equal(v, base, out=flags.reshape(shape))
    return bool(flags.all())


def _block_table(
    lay: Layout,
    rows: np.ndarray,
    cols: np.ndarray,
    taps: np.ndarray,
    divs: np.ndarray | None,
    scale: int = 1,
) -> Table:
    coef = None if divs is None else reciprocals(divs, scale)
    return canonical(Entries(rows, cols, taps, coef), lay.nrows, lay.ncols, lay.ntaps)


def _block_difference(
    spec: Any,
    lay: Layout,
    lib: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None],
    d: DefSlab,
    off: ChannelOffsets,
    c0: int,
    lo: int,
    hi: int,
    lib_scale: int = 1,
) -> tuple[tuple[int, int, int], Fraction, Fraction] | None:
    """Exact comparison of one block (canonical tables); raises :class:`_Misfit` or
    :class:`_Outside`."""
    rows, cols, taps = (np.asarray(a, dtype=np.int64).reshape(-1) for a in lib[:3])
    divs = None if lib[3] is None else np.asarray(lib[3], dtype=np.int64).reshape(-1)
    sizes = {a.size for a in (rows, cols, taps, divs) if a is not None}
    if len(sizes) > 1:
        lengths = ", ".join(
            f"{k} {a.size}"
            for k, a in zip(("rows", "cols", "taps", "divisors"), lib)
            if a is not None
        )
        raise _Outside(ProofCounterexample((), f"entries of different lengths ({lengths})", 0, 1))
    stray = outside_entry(rows, cols, taps, lay.nrows, lay.ncols, lay.ntaps)
    if stray is not None:
        raise _Outside(stray)
    # the library block's entries must lie in the block: its channels, its slab
    key, size = (cols, lay.in_shape) if kind_rules(spec).scatter else (rows, lay.out_shape)
    per, inner = math.prod(size[1:]), math.prod(size[2:])
    chan, at = np.divmod(key, per)
    inside = (chan >= c0) & (chan < c0 + off.rows.size) & (at >= lo * inner) & (at < hi * inner)
    if not bool(np.all(inside)):
        raise _Misfit
    reps = off.rows.size
    expected = _block_table(
        lay,
        (d.rows[None, :] + off.rows[:, None]).ravel(),
        (d.cols[None, :] + off.cols[:, None]).ravel(),
        (d.taps[None, :] + off.taps[:, None]).ravel(),
        None if d.divs is None else np.tile(d.divs, reps),
        d.scale,
    )
    found = _block_table(lay, rows, cols, taps, divs, lib_scale)
    return smallest_difference(expected, found)


def stream_compare(
    spec: Any,
    lay: Layout,
    progress: Callable[[int], None],
    limit: int,
    keep: list[tuple[int, int, DefSlab]] | None = None,
) -> ProofResult:
    """Compare the definition with the library's entries block by block (see above).

    ``keep``: a list that receives ``(c0, c1, slab)`` for every block found equal (the
    definition's block is ``slab`` plus :func:`channel_offsets` of channels ``c0:c1``), so a
    later check can reuse the definition's entries without rebuilding them.
    """
    from convproof.constructions import matrix as _matrix

    start = time.perf_counter()
    name = "T = the definition's coefficient table (x*w monomials)"
    method = "coefficient-table"
    plan = _matrix._plan(spec, lay.in_shape)
    lib_scale = _matrix._scale(plan)  # the numerator of the library's pool coefficients
    channels = block_channels(spec, lay)
    n0 = window_axis_size(spec, lay)
    if (
        plan.shape != (lay.nrows, lay.ncols)
        or plan.c_out != channels
        or plan.patterns[0].out_size != n0
    ):  # the library's layout differs: the whole-layer comparison names the difference
        return whole_layer(spec, lay, name, method, start, limit)
    per_channel = per_channel_entries(spec, lay)
    slabs, step = _slabs(spec, lay, per_channel)
    # int32 halves the memory traffic when every index fits (both sides, checked apart)
    small = max(lay.nrows, lay.ncols, lay.ntaps) < 2**31 - 1 and _matrix._fits_int32(plan)
    dtype = np.int32 if small else np.int64
    local = threading.local()

    def check(lo: int, hi: int, d: DefSlab, t: Any, c0: int) -> tuple[int, int, Any]:
        """One block: (definition entries, library entries, outcome), where the outcome is
        None (equal), a difference, or a :class:`_Misfit` / :class:`_Outside` exception."""
        scratch = getattr(local, "scratch", None)
        if scratch is None or scratch.ints.dtype != dtype:
            scratch = local.scratch = _Scratch(dtype)
        c1 = min(c0 + step, channels)
        off = ChannelOffsets(*(a.astype(dtype) for a in channel_offsets(spec, lay, c0, c1)))
        lib = _matrix._block_entries(plan, t, lo, c0, c1, dtype)
        n = d.rows.size * (c1 - c0)
        rows, cols, taps, divs = lib
        same = (
            _same(rows, d.rows, off.rows, scratch)
            and _same(cols, d.cols, off.cols, scratch)
            and _same(taps, d.taps, off.taps, scratch)
            and (
                (divs is None or (divs.size == rows.size and bool(np.all(divs == 1))))
                if d.divs is None
                else divs is not None
                and lib_scale == d.scale
                and _same(divs, d.divs, np.zeros(c1 - c0, dtype=np.int64), scratch)
            )
        )
        if same:
            return n, rows.size, None
        try:
            diff = _block_difference(spec, lay, lib, d, off, c0, lo, hi, lib_scale)
            return n, rows.size, diff
        except (_Misfit, _Outside) as exc:
            return n, rows.size, exc

    best: tuple[tuple[int, int, int], Fraction, Fraction] | None = None
    compared = 0
    workers = min(_THREADS, max(1, -(-channels // step)))
    pool = ThreadPoolExecutor(workers) if workers > 1 else None
    try:
        for lo, hi in slabs:
            d0 = slab_definition(spec, lay, lo, hi)
            d = DefSlab(
                d0.rows.astype(dtype),
                d0.cols.astype(dtype),
                d0.taps.astype(dtype),
                d0.divs,  # int64, as the library's divisors
                d0.scale,
            )
            t = _matrix._template(plan, lo, hi, dtype)
            starts = range(0, channels, step)
            if pool is None:
                outcomes: Any = (check(lo, hi, d, t, c0) for c0 in starts)
            else:
                outcomes = pool.map(lambda c0: check(lo, hi, d, t, c0), starts)  # noqa: B023
            # in block order, whatever the threads did
            for c0, (n, found, outcome) in zip(starts, outcomes):
                if isinstance(outcome, _Misfit):
                    if keep is not None:
                        keep.clear()  # the blocks kept so far are not the whole layer
                    return whole_layer(spec, lay, name, method, start, limit)
                if isinstance(outcome, _Outside):
                    seconds = time.perf_counter() - start
                    total = max(compared, monomial_count(spec, lay))  # the claim's size
                    return ProofResult(
                        "refuted", method, name, seconds, total, counterexample=outcome.args[0]
                    )
                if outcome is not None and (best is None or outcome[0] < best[0]):
                    best = outcome
                elif outcome is None and keep is not None:
                    keep.append((c0, min(c0 + step, channels), d0))
                compared += max(n, found)
                progress(n)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    seconds = time.perf_counter() - start
    if best is None:
        return ProofResult("proved", method, name, seconds, compared)
    (row, col, tap), e, f = best
    cx = make_counterexample(lay, row, col, tap, e, f)
    return ProofResult("refuted", method, name, seconds, compared, counterexample=cx)


def whole_layer(
    spec: Any, lay: Layout, name: str, method: str, start: float, limit: int
) -> ProofResult:
    """The whole-layer comparison (every monomial in memory at once)."""
    check_memory(spec, (lay.in_shape), limit, streaming=False)
    return compare_entries(
        name,
        definition_table(spec, lay),
        library_entries(spec, lay),
        lay,
        ncols=lay.ncols,
        ntaps=lay.ntaps,
        method=method,
        t0=start,
    )


def check_memory(
    spec: Any, input_shape: Sequence[int], max_bytes: int | None, *, streaming: bool = False
) -> int:
    """Raise :class:`MemoryLimitError` before a proof that would not fit in ``max_bytes``.

    ``streaming``: the library comparison runs block by block (its peak is one block, the
    slab tables and the bias part); otherwise every monomial is held at once.  Returns the
    limit.
    """
    limit = resolve_max_bytes(max_bytes)
    # monomials: one per (output, tap) pair of the definition (= MACs; window reads for
    # pooling), plus one bias term per output
    sample = spec.split_input_shape(input_shape)
    per_sample = (sample[1], *sample[2])
    pairs = kind_rules(spec).monomials(spec, per_sample)
    monomials = pairs + (math.prod(spec.output_shape(per_sample)) if spec.bias else 0)
    if streaming:
        need = stream_bytes(spec, layout_of(spec, input_shape))
        how = "block by block (the largest block and the bias part)"
    else:
        need = monomials * BYTES_PER_MONOMIAL
        how = "all at once"
    if need > limit:
        raise MemoryLimitError(
            f"proving this layer, which compares about {monomials:,} monomials {how},",
            need,
            limit,
            remedy="prove a smaller input (the identity is per position and per channel block)",
        )
    return limit
