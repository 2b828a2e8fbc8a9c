"""The streaming engine of :func:`convproof.prove`: blocks of the library's entries compared
with the definition's, bounded memory, progress bars.

Independent references: monomial counts come from the loop reference (tests/reference.py)
evaluated on all-ones inputs and weights (every output sums one per (tap, input channel)
that reads a real input element); planted defects come with their counterexamples worked
out by hand from the gather rule ``Z[c, a] += X[k, a*s + u*d - p] * W[c, k, u]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import convproof as cp
import convproof.constructions.matrix as cpm
from convproof.proofs import progress as progress_module
from convproof.proofs import streaming as P

try:
    from reference import reference
except ImportError:  # pragma: no cover
    from tests.reference import reference


def _ones_count(spec: Any, shape: tuple[int, ...]) -> int:
    """(output, tap, input channel) triples reading a real input: the loop reference's sum
    with every input and weight 1 (bias off)."""
    x = np.ones((1, *shape), dtype=np.int64)
    if isinstance(spec, cp.PoolSpec):
        raise AssertionError("pools are counted by hand")
    w = np.ones(spec.weight_shape, dtype=np.int64)
    return int(reference(spec, x, w, None).sum())


def _main(result: Any) -> Any:
    (main,) = [c for c in result.checks if c.statement.startswith("T = ")]
    return main


# one case per feature: padding modes, per-side padding, stride, dilation, groups,
# transposed (with output padding), 1-D / 2-D / 3-D
CONV_CASES = [
    (cp.ConvSpec(in_channels=2, out_channels=3, kernel_size=3, padding=1), (2, 7, 6)),
    (
        cp.ConvSpec(
            in_channels=2, out_channels=2, kernel_size=3, padding=2, padding_mode="reflect"
        ),
        (2, 5, 6),
    ),
    (
        cp.ConvSpec(
            in_channels=1,
            out_channels=2,
            kernel_size=(2, 3),
            padding=((1, 0), (2, 1)),
            padding_mode="replicate",
            stride=(2, 1),
        ),
        (1, 6, 5),
    ),
    (
        cp.ConvSpec(
            in_channels=2,
            out_channels=2,
            kernel_size=3,
            padding=2,
            padding_mode="circular",
            dilation=2,
            bias=False,
        ),
        (2, 5, 5),
    ),
    (
        cp.ConvSpec(in_channels=4, out_channels=6, kernel_size=3, groups=2, stride=2, ndim=1),
        (4, 17),
    ),
    (
        cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=2, dilation=2, padding=1, ndim=3),
        (2, 4, 5, 3),
    ),
    (
        cp.ConvTransposeSpec(
            in_channels=4,
            out_channels=2,
            kernel_size=3,
            stride=2,
            padding=1,
            output_padding=1,
            groups=2,
        ),
        (4, 5, 4),
    ),
    (
        cp.ConvTransposeSpec(
            in_channels=2, out_channels=3, kernel_size=2, dilation=2, stride=3, ndim=3
        ),
        (2, 3, 2, 3),
    ),
]


@pytest.mark.parametrize("block", [5, 64, 1 << 17])
@pytest.mark.parametrize(("spec", "shape"), CONV_CASES)
def test_correct_matrix_proved_block_by_block(
    monkeypatch: pytest.MonkeyPatch, spec: Any, shape: tuple[int, ...], block: int
) -> None:
    """Tiny blocks: several slabs per channel and several channels per block both occur."""
    monkeypatch.setattr(P, "_BLOCK_ENTRIES", block)
    result = cp.prove(spec, shape, crosscheck=False)
    assert result.status == "proved", str(result)
    assert _main(result).monomials == _ones_count(spec, shape)


@pytest.mark.parametrize("block", [3, 1 << 17])
def test_average_pool_proved_with_divisors(monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    # 1-D, n=5, k=3, s=2, p=1, ceil: outputs a=0..2 read padded 2a-1 .. 2a+1: windows
    # {0,1} (divisor 3 with the pad counted), {1,2,3} (3), {3,4} (3): 7 reads per channel
    monkeypatch.setattr(P, "_BLOCK_ENTRIES", block)
    spec = cp.PoolSpec(kind="avg", kernel_size=3, stride=2, padding=1, ceil_mode=True, ndim=1)
    result = cp.prove(spec, (2, 5), crosscheck=False)
    assert result.status == "proved" and result.monomials == 2 * 7
    no_pad = cp.PoolSpec(kind="avg", kernel_size=2, padding=1, count_include_pad=False, ndim=2)
    assert cp.prove(no_pad, (1, 3, 4), crosscheck=False)


@pytest.mark.parametrize(("spec", "shape"), CONV_CASES)
def test_blocks_read_by_the_proof_make_up_matrix_entries(spec: Any, shape: tuple[int, ...]) -> None:
    """The proof reads the library's construction block by block; matrix_entries is its
    one-block case: the blocks' entries together are exactly matrix_entries' (as a multiset)."""
    plan = cpm._plan(spec, shape)
    n0 = plan.patterns[0].out_size
    parts = []
    for lo, hi in [(0, 1), (1, max(2, n0 // 2)), (max(2, n0 // 2), n0)]:
        if lo >= hi:
            continue
        t = cpm._template(plan, lo, hi, np.int32)
        for c0 in range(plan.c_out):
            parts.append(cpm._block_entries(plan, t, lo, c0, c0 + 1, np.int32)[:3])
    blocks = np.stack([np.concatenate([p[k] for p in parts]).astype(np.int64) for k in range(3)])
    whole = cp.matrix_entries(spec, shape)
    full = np.stack([whole.rows, whole.cols, whole.taps])
    assert blocks.shape == full.shape
    order_b = np.lexsort(blocks[::-1])
    order_f = np.lexsort(full[::-1])
    assert np.array_equal(blocks[:, order_b], full[:, order_f])


# --------------------------------------------------------------------------------------
# planted defects in the library's block construction
# --------------------------------------------------------------------------------------

SPEC = cp.ConvSpec(in_channels=4, out_channels=16, kernel_size=3, padding=1, bias=False)
SHAPE = (4, 32, 32)  # 16 x 32 x 32 outputs, 1024 positions per channel
P_OUT = P_IN = 1024


def _row(c: int, i: int, j: int) -> int:
    return (c * 32 + i) * 32 + j


def _tap(c: int, k: int, u: int, v: int) -> int:
    return ((c * 4 + k) * 3 + u) * 3 + v


def _col(k: int, i: int, j: int) -> int:
    return (k * 32 + i) * 32 + j


# (row, tap, col) of three entries, by hand: the first entry (output (0, 0, 0), input
# channel 0, tap (1, 1): the first tap inside the padding), one in the middle and the very
# last (output (15, 31, 31), input channel 3, tap (1, 1): taps (1, 2) and (2, *) are padding)
FIRST = (_row(0, 0, 0), _tap(0, 0, 1, 1), _col(0, 0, 0))
MIDDLE = (_row(9, 17, 5), _tap(9, 2, 0, 2), _col(2, 16, 6))
LAST = (_row(15, 31, 31), _tap(15, 3, 1, 1), _col(3, 31, 31))


def _planted(kind: str, target: tuple[int, int, int]) -> Any:
    real = cpm._block_entries

    def broken(*args: Any) -> Any:
        rows, cols, taps, divisors = real(*args)
        hit = np.flatnonzero((rows == target[0]) & (taps == target[1]))
        if hit.size == 0:
            return rows, cols, taps, divisors
        i = int(hit[0])
        assert cols[i] == target[2]  # the hand-derived column
        rows, cols, taps = rows.copy(), cols.copy(), taps.copy()
        if kind == "wrong":
            cols[i] ^= 1  # the neighbouring column, inside the matrix
        elif kind == "missing":
            keep = np.arange(rows.size) != i
            rows, cols, taps = rows[keep], cols[keep], taps[keep]
        elif kind in ("duplicate", "extra"):
            pick = np.append(np.arange(rows.size), i)
            rows, cols, taps = rows[pick], cols[pick], taps[pick]
            if kind == "extra":
                cols[-1] ^= 1  # the neighbouring column, inside the matrix
        elif kind == "moved":  # to a row of another channel: another block
            rows[i] = (rows[i] + 7 * P_OUT) % (16 * P_OUT)
        return rows, cols, taps, divisors

    return broken


EXPECTED = {  # kind -> (row, col, tap) of the smallest difference, expected, found
    "wrong": lambda r, t, c: ((r, c, t), 1, 0) if c < c ^ 1 else ((r, c ^ 1, t), 0, 1),
    "missing": lambda r, t, c: ((r, c, t), 1, 0),
    "duplicate": lambda r, t, c: ((r, c, t), 1, 2),
    "extra": lambda r, t, c: ((r, c ^ 1, t), 0, 1),
}


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("kind", ["wrong", "missing", "duplicate", "extra"])
def test_planted_defect_refuted_with_smallest_counterexample(
    monkeypatch: pytest.MonkeyPatch, kind: str, where: str, threads: int
) -> None:
    target = {"first": FIRST, "middle": MIDDLE, "last": LAST}[where]
    monkeypatch.setattr(P, "_THREADS", threads)
    monkeypatch.setattr(P, "_BLOCK_ENTRIES", 4096)  # 144 blocks
    monkeypatch.setattr(cpm, "_block_entries", _planted(kind, target))
    result = cp.prove(SPEC, SHAPE)
    assert result.status == "refuted"
    (row, col, tap), expected, found = EXPECTED[kind](*target)
    cx = result.counterexample
    assert cx.output == tuple(int(v) for v in np.unravel_index(row, (16, 32, 32)))
    assert cx.input == tuple(int(v) for v in np.unravel_index(col, SHAPE))
    assert cx.weight == tuple(int(v) for v in np.unravel_index(tap, (16, 4, 3, 3)))
    assert (cx.expected, cx.found) == (expected, found)


def test_one_wrong_entry_among_87_million_refuted(monkeypatch: pytest.MonkeyPatch) -> None:
    """VGG-16's first layer without bias (64 x 224 x 224 outputs, 3 x 9 taps: 86.7 M
    monomials), its very last entry pointing one column off."""
    spec = cp.ConvSpec(in_channels=3, out_channels=64, kernel_size=3, padding=1, bias=False)
    # the last entry: output (63, 223, 223), input channel 2, tap (1, 1) reading (223, 223)
    row = (63 * 224 + 223) * 224 + 223
    tap = ((63 * 3 + 2) * 3 + 1) * 3 + 1
    col = (2 * 224 + 223) * 224 + 223
    real = cpm._block_entries

    def broken(*args: Any) -> Any:
        rows, cols, taps, divisors = real(*args)
        if rows[-1] == row:
            assert (taps[-1], cols[-1]) == (tap, col)
            cols = cols.copy()
            cols[-1] -= 1
        return rows, cols, taps, divisors

    monkeypatch.setattr(cpm, "_block_entries", broken)
    result = cp.prove(spec, (3, 224, 224))
    assert result.status == "refuted" and result.monomials == 64 * 3 * (3 * 224 - 2) ** 2
    cx = result.counterexample  # (row, col - 1, tap) comes first: found 1, expected 0
    assert (cx.output, cx.input, cx.weight) == ((63, 223, 223), (2, 223, 222), (63, 2, 1, 1))
    assert (cx.expected, cx.found) == (0, 1)


def test_entry_moved_to_another_block_falls_back_to_the_whole_layer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An entry outside its block: the whole-layer comparison decides (and still refutes)."""
    monkeypatch.setattr(P, "_BLOCK_ENTRIES", 4096)
    monkeypatch.setattr(cpm, "_block_entries", _planted("moved", MIDDLE))
    calls = []
    whole = P.whole_layer
    monkeypatch.setattr(P, "whole_layer", lambda *a: calls.append(1) or whole(*a))
    result = cp.prove(SPEC, SHAPE)
    assert calls and result.status == "refuted"
    # the entry moves from output channel 9 to (9 + 7) mod 16 = 0: output (0, 17, 5) now
    # holds x_{2,16,6}*w_{9,2,0,2}, which the definition does not have there; (0, 17, 5)
    # comes before the hole left at (9, 17, 5)
    cx = result.counterexample
    assert cx.output == (0, 17, 5) and cx.weight == (9, 2, 0, 2)
    assert (cx.expected, cx.found) == (0, 1)


@pytest.mark.parametrize("field", [0, 1, 2])
def test_entry_outside_the_matrix_refuted(monkeypatch: pytest.MonkeyPatch, field: int) -> None:
    real = cpm._block_entries

    def stray(*args: Any) -> Any:
        arrays = [a.copy() for a in real(*args)[:3]]
        arrays[field][-1] = [16 * 1024, 4 * 1024, 16 * 4 * 9][field]  # one past the end
        return (*arrays, None)

    monkeypatch.setattr(cpm, "_block_entries", stray)
    result = cp.prove(SPEC, SHAPE)
    assert result.status == "refuted"
    assert "outside the 16384 x 4096 matrix (taps 0..575)" in result.counterexample.monomial


def test_defects_in_many_blocks_give_the_smallest(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every block's last entry dropped: the smallest difference over all blocks wins, with
    one thread or two."""
    real = cpm._block_entries

    def last_dropped(*args: Any) -> Any:
        rows, cols, taps, _ = real(*args)
        return rows[:-1], cols[:-1], taps[:-1], None

    monkeypatch.setattr(cpm, "_block_entries", last_dropped)
    monkeypatch.setattr(P, "_BLOCK_ENTRIES", 4096)
    found = set()
    for threads in (1, 2):
        monkeypatch.setattr(P, "_THREADS", threads)
        cx = cp.prove(SPEC, SHAPE).counterexample
        found.add((cx.output, cx.input, cx.weight, cx.expected, cx.found))
    # one output channel has 1024 * 4 * 9 = 36864 (position, tap) pairs > 4096, so a block is
    # one channel times a slab of 4096 * 32 // 36864 = 3 output rows.  The first block is
    # channel 0, rows 0..2; its last entry belongs to output (0, 2, 31): the last (input
    # channel, tap) inside the input is channel 3, tap (2, 1) reading (3, 31) (tap (2, 2)
    # reads column 32, padding).  Every other hole is in a later row.
    assert len(found) == 1
    ((output, inp, weight, expected, got),) = found
    assert (expected, got) == (1, 0) and output == (0, 2, 31)
    assert weight == (0, 3, 2, 1) and inp == (3, 3, 31)


@pytest.mark.parametrize("lengths", [(-1, None), (None, 5)])
def test_entry_arrays_of_different_lengths_refuted(
    monkeypatch: pytest.MonkeyPatch, lengths: tuple[int | None, int | None]
) -> None:
    real = cpm._block_entries
    cut, div = lengths

    def ragged(*args: Any) -> Any:
        rows, cols, taps, _ = real(*args)
        return rows, cols[:cut], taps, None if div is None else np.ones(div, dtype=np.int64)

    monkeypatch.setattr(cpm, "_block_entries", ragged)
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, ndim=1, bias=False)
    result = cp.prove(spec, (1, 5))
    assert result.status == "refuted"
    assert "entries of different lengths" in result.counterexample.monomial


def test_transposed_and_pool_defects_refuted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(P, "_BLOCK_ENTRIES", 16)
    real = cpm._block_entries

    def last_tap_dropped(*args: Any) -> Any:
        rows, cols, taps, divisors = real(*args)
        keep = np.ones(rows.size, dtype=bool)
        keep[(rows == rows.max()) & (cols == cols.max())] = False  # the last input's entry
        return rows[keep], cols[keep], taps[keep], None if divisors is None else divisors[keep]

    monkeypatch.setattr(cpm, "_block_entries", last_tap_dropped)
    # 1-D transposed, in 1 -> out 1, k=2, s=1, n=3: x2*w1 lands on y3, the last output
    spec = cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=2, ndim=1, bias=False)
    cx = cp.prove(spec, (1, 3)).counterexample
    assert (cx.output, cx.input, cx.weight, cx.expected, cx.found) == (
        (0, 3),
        (0, 2),
        (0, 0, 1),
        1,
        0,
    )

    def divisor_off(*args: Any) -> Any:
        rows, cols, taps, divisors = real(*args)
        divisors = divisors.copy()
        divisors[-1] += 1
        return rows, cols, taps, divisors

    monkeypatch.setattr(cpm, "_block_entries", divisor_off)
    # avg pool k=2 on (1, 4): output 1 = x2/2 + x3/2; the last entry (x3) gets 1/3
    pool = cp.PoolSpec(kind="avg", kernel_size=2, ndim=1)
    cx = cp.prove(pool, (1, 4)).counterexample
    assert (cx.output, cx.input, str(cx.expected), str(cx.found)) == ((0, 1), (0, 3), "1/2", "1/3")


# --------------------------------------------------------------------------------------
# memory and progress
# --------------------------------------------------------------------------------------


def test_streaming_estimate_is_per_block() -> None:
    """VGG-16's second layer (1.85 G monomials) fits in 4 GiB block by block; at once it
    would need 40 bytes per monomial."""
    spec = cp.ConvSpec(in_channels=64, out_channels=64, kernel_size=3, padding=1)
    monomials = 64 * 224 * 224 * (64 * 9 + 1)  # an upper bound (padding taps included)
    assert P.check_memory(spec, (64, 224, 224), 4 * 2**30, streaming=True) == 4 * 2**30
    with pytest.raises(cp.MemoryLimitError, match=r"would need about \d+\.\d GiB"):
        P.check_memory(spec, (64, 224, 224), 4 * 2**30)
    assert monomials * 40 > 4 * 2**30


def test_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    spec = cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=3, padding=1)
    assert cp.prove(spec, (2, 40, 40), progress=True)
    assert "proving" in capsys.readouterr().err
    # default: quiet when stderr is not a terminal (here it is captured)
    assert cp.prove(spec, (2, 40, 40))
    assert cp.prove(spec, (2, 40, 40), progress=False)
    assert capsys.readouterr().err == ""
    with pytest.raises(cp.ConvProofError, match="progress must be True, False or None"):
        cp.prove(spec, (2, 40, 40), progress="yes")  # type: ignore[arg-type]


def test_progress_default_is_quiet_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress_module, "_PROGRESS_MIN", 0)
    monkeypatch.setattr(progress_module, "_stderr_is_terminal", lambda: False)
    assert progress_module.progress_bar(None, 10).bar is None
    monkeypatch.setattr(progress_module, "_stderr_is_terminal", lambda: True)
    bar = progress_module.progress_bar(None, 10)
    assert bar.bar is not None
    bar.__exit__()
    assert progress_module.progress_bar(False, 10).bar is None
