"""The check of the object users receive (``conv_matrix``'s CSR) inside ``prove``.

``prove`` compares the CSR that ``conv_matrix`` returns with the definition exactly, reusing
the definition's blocks of the streaming proof: stored entry by stored entry when the CSR
lists them in the definition's order, else as canonical CSR arrays, else by the exact entry
comparison.  Every planted defect in the CSR (``matrix_entries`` intact) is refuted on every
path, and every correct CSR (in any order, split into repeated entries, with explicit
zeros) is proved.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.sparse
from test_soundness import _SPECS

import convproof as cp
from convproof.constructions import matrix as _matrix
from convproof.proofs import claimed_matrix

_LAYERS: dict[str, tuple[Any, tuple[int, ...]]] = {
    "seed": (cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3, padding="same"), (3, 7, 7)),
    "strided-per-side": (
        cp.ConvSpec(
            in_channels=2, out_channels=3, kernel_size=3, stride=2, padding=((1, 0), (0, 2))
        ),
        (2, 7, 6),
    ),
    "dilated-1d": (
        cp.ConvSpec(in_channels=1, out_channels=2, kernel_size=3, dilation=2, ndim=1),
        (1, 9),
    ),
    "groups": (
        cp.ConvSpec(in_channels=4, out_channels=6, kernel_size=2, groups=2, padding=1),
        (4, 4, 3),
    ),
    "depthwise-3d": (
        cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=2, groups=2, ndim=3),
        (2, 3, 3, 3),
    ),
    "reflect": (
        cp.ConvSpec(
            in_channels=2, out_channels=2, kernel_size=3, padding=2, padding_mode="reflect"
        ),
        (2, 4, 5),
    ),
    "avgpool": (
        cp.PoolSpec(kind="avg", kernel_size=3, stride=2, padding=1, count_include_pad=False),
        (2, 6, 5),
    ),
    "avgpool-include-pad": (
        cp.PoolSpec(kind="avg", kernel_size=3, stride=1, padding=1, count_include_pad=True),
        (1, 4, 4),
    ),
    # PyTorch's linear Lp pool: coefficients prod(k) / taps inside (the ceil-mode overhang)
    "lp1-ceil-1d": (
        cp.PoolSpec(kind="lp", norm_type=1, kernel_size=2, stride=2, ceil_mode=True, ndim=1),
        (2, 9),
    ),
    "lp1-ceil-2d": (
        cp.PoolSpec(kind="lp", norm_type=1, kernel_size=(2, 3), stride=2, ceil_mode=True),
        (1, 5, 6),
    ),
    # windows of padding only: output rows with no entries at both ends of each channel
    "padding-only-windows": (
        cp.ConvSpec(in_channels=1, out_channels=2, kernel_size=2, padding=3, ndim=1),
        (1, 3),
    ),
    # one channel's entries exceed a streaming block: several slabs per channel
    "many-slabs": (
        cp.ConvSpec(in_channels=1, out_channels=2, kernel_size=5, padding=2),
        (1, 73, 73),
    ),
}

# the soundness table's layers: circular and replicate padding, the transposed conv, ceil mode
_LAYERS.update(
    {f"{name}-soundness": _SPECS[name] for name in ("circular", "replicate", "transposed")}
)
_LAYERS["avgpool-ceil-1d"] = _SPECS["avgpool-ceil"]

#: Layers whose CSR lists the definition's entries in its own order (no folded taps, the
#: gather form): the entry-by-entry comparison decides them alone.
_IN_ORDER = [
    "seed",
    "strided-per-side",
    "dilated-1d",
    "groups",
    "depthwise-3d",
    "avgpool",
    "avgpool-include-pad",
    "avgpool-ceil-1d",
    "lp1-ceil-1d",
    "lp1-ceil-2d",
    "padding-only-windows",
    "many-slabs",
]


def _object_checks(result: cp.ProofResult) -> list[cp.ProofResult]:
    return [c for c in result.checks if c.method == "object-exact"]


def _patched(
    monkeypatch: pytest.MonkeyPatch, change: Callable[[scipy.sparse.csr_array], Any]
) -> None:
    """``conv_matrix`` of numeric requests returns ``change(real CSR)``."""
    real = _matrix.conv_matrix

    def planted(spec: Any, input_shape: Any, weight: Any = None, **kw: Any) -> Any:
        m = real(spec, input_shape, weight, **kw)
        if weight is None and kw.get("dtype") is None:
            return m  # the symbolic matrix (SymPy cross-checks) stays intact
        return change(scipy.sparse.csr_array(m, copy=True))

    monkeypatch.setattr(_matrix, "conv_matrix", planted)


@pytest.mark.parametrize("layer", list(_LAYERS))
def test_correct_csr_is_proved(layer: str) -> None:
    spec, shape = _LAYERS[layer]
    r = cp.prove(spec, shape, crosscheck=False)
    assert r.status == "proved", str(r)
    (obj,) = _object_checks(r)
    assert obj.status == "proved" and obj.monomials > 0
    assert "conv_matrix (scipy.sparse)" in r.scope


@pytest.mark.parametrize("layer", _IN_ORDER)
def test_in_order_csr_needs_no_sort(layer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The common layers are decided entry by entry, never by the slower comparisons."""

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the slower comparison ran")

    monkeypatch.setattr(claimed_matrix, "prove_numeric", forbidden)
    monkeypatch.setattr(claimed_matrix, "_definition_csr", forbidden)
    spec, shape = _LAYERS[layer]
    r = cp.prove(spec, shape, crosscheck=False)
    assert r.status == "proved" and [c.status for c in _object_checks(r)] == ["proved"]


@pytest.mark.parametrize("layer", ["reflect", "transposed-soundness"])
def test_sorted_comparison_decides_folded_and_scatter_layers(
    layer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Folded taps and the transposed conv's order: canonical CSR arrays, no Fractions."""

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the exact entry comparison ran")

    monkeypatch.setattr(claimed_matrix, "prove_numeric", forbidden)
    spec, shape = _LAYERS[layer]
    assert cp.prove(spec, shape, crosscheck=False).status == "proved"


def _bump_value(m: Any) -> Any:
    m.data[m.data.size // 2] += 1
    return m


def _next_float(m: Any) -> Any:
    """One entry one unit in the last place away (pooling's rounding must be exact)."""
    m.data = m.data.astype(np.float64)
    j = m.data.size // 2
    m.data[j] = np.nextafter(m.data[j], np.inf)
    return m


def _move_column(m: Any) -> Any:
    """The last entry of the first non-empty row reads the next column instead."""
    r = int(np.flatnonzero(np.diff(m.indptr))[0])
    j = int(m.indptr[r + 1]) - 1
    m.indices[j] = (m.indices[j] + 1) % m.shape[1]
    return m


def _move_to_next_row(m: Any) -> Any:
    """The first entry of a row is stored in the row before (row pointers shifted)."""
    counts = np.diff(m.indptr)
    r = int(np.flatnonzero(counts[1:])[0]) + 1
    m.indptr[r] += 1
    return m


def _drop_last(m: Any) -> Any:
    n = m.indptr[-1] - 1
    return scipy.sparse.csr_array(
        (m.data[:n], m.indices[:n], np.minimum(m.indptr, n)), shape=m.shape
    )


def _first_zero(m: Any) -> tuple[int, int]:
    """The first (row, column) of the first row with a zero (a structural non-entry)."""
    for r in range(m.shape[0]):
        stored = set(m.indices[m.indptr[r] : m.indptr[r + 1]].tolist())
        free = [c for c in range(m.shape[1]) if c not in stored]
        if free:
            return r, free[0]
    raise AssertionError("no zero entry")


def _with_entry(m: Any, value: Any) -> Any:
    coo = m.tocoo()
    r, c = _first_zero(m)
    data = np.append(coo.data, np.asarray(value, dtype=coo.data.dtype))
    return scipy.sparse.csr_array(
        (data, (np.append(coo.row, r), np.append(coo.col, c))), shape=m.shape
    )


def _extra_entry(m: Any) -> Any:
    """A non-zero entry where the definition has none."""
    return _with_entry(m, 3)


def _float32(m: Any) -> Any:
    """Values rounded to float32 (31-bit integer weights do not fit 24 bits)."""
    m.data = m.data.astype(np.float32)
    return m


def _negate_one(m: Any) -> Any:
    m.data[0] = -m.data[0]
    return m


_DEFECTS: dict[str, Callable[[Any], Any]] = {
    "value +1": _bump_value,
    "value next float": _next_float,
    "column moved": _move_column,
    "entry in the wrong row": _move_to_next_row,
    "last entry dropped": _drop_last,
    "extra entry": _extra_entry,
    "sign flipped": _negate_one,
}


@pytest.mark.parametrize(
    ("layer", "defect"),
    [
        (layer, defect)
        for layer in (
            "seed",
            "reflect",
            "transposed-soundness",
            "avgpool",
            "lp1-ceil-2d",
            "many-slabs",
        )
        for defect in _DEFECTS
        if not (layer == "many-slabs" and defect == "value next float")  # slow exact floats
    ],
)
def test_planted_csr_defect_is_refuted(
    layer: str, defect: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, shape = _LAYERS[layer]
    _patched(monkeypatch, _DEFECTS[defect])
    r = cp.prove(spec, shape, crosscheck=False)
    (obj,) = _object_checks(r)
    if defect == "value next float" and not isinstance(spec, cp.PoolSpec):
        # float entries within 1e-12 of the exact integers: not proved, said inconclusive
        assert obj.status == r.status == "inconclusive", str(r)
        assert obj.method == "object-exact" and "relative tolerance" in obj.reason
        return
    assert obj.status == "refuted" and r.status == "refuted", str(r)
    assert r.counterexample is not None


@pytest.mark.parametrize("layer", ["lp1-ceil-1d", "lp1-ceil-2d"])
def test_lp_csr_without_its_scale_is_refuted(layer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The linear Lp pool's CSR with the prod(k) numerator dropped is the average pool's: the
    object check must compare against scale / divisor, not 1 / divisor (it once did)."""
    spec, shape = _LAYERS[layer]
    scale = math.prod(spec.kernel_size)

    def unscaled(m: Any) -> Any:
        m.data = m.data / scale
        return m

    _patched(monkeypatch, unscaled)
    r = cp.prove(spec, shape, crosscheck=False)
    (obj,) = _object_checks(r)
    assert obj.status == "refuted" and r.status == "refuted", str(r)


def _into_empty_row_after(m: Any) -> Any:
    """The last entry before an empty row is stored in that row (row pointer moved back)."""
    counts = np.diff(m.indptr)
    r = int(np.flatnonzero((counts[:-1] > 0) & (counts[1:] == 0))[0])
    m.indptr[r + 1] -= 1
    return m


@pytest.mark.parametrize(
    "defect", [_into_empty_row_after, _move_to_next_row, _bump_value, _drop_last]
)
def test_defects_next_to_empty_rows_are_refuted(
    defect: Callable[[Any], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows the definition leaves empty (windows of padding only) may not receive entries."""
    spec, shape = _LAYERS["padding-only-windows"]
    _patched(monkeypatch, defect)
    r = cp.prove(spec, shape, crosscheck=False)
    assert r.status == "refuted" and _object_checks(r)[0].status == "refuted", str(r)


def test_float32_values_are_not_proved(monkeypatch: pytest.MonkeyPatch) -> None:
    """31-bit integer weights rounded to float32 differ from the exact values."""
    spec, shape = _LAYERS["seed"]
    _patched(monkeypatch, _float32)
    r = cp.prove(spec, shape, crosscheck=False)
    assert r.status != "proved" and _object_checks(r)[0].status != "proved"


def test_counterexample_is_the_smallest_difference(monkeypatch: pytest.MonkeyPatch) -> None:
    """The last stored entry changed: the counterexample names the last output."""

    def last_plus_one(m: Any) -> Any:
        m.data[-1] += 1
        return m

    spec = cp.ConvSpec(in_channels=1, out_channels=2, kernel_size=3)
    _patched(monkeypatch, last_plus_one)
    r = cp.prove(spec, (1, 5, 5), crosscheck=False)
    assert r.status == "refuted" and r.counterexample is not None
    assert r.counterexample.output == (1, 2, 2)  # output channel 1, last of the 3x3 outputs


def _reversed_rows(m: Any) -> Any:
    """Each row's entries stored in reverse order (not canonical, the same matrix)."""
    m = m.tocsr(copy=True)
    for r in range(m.shape[0]):
        a, b = m.indptr[r], m.indptr[r + 1]
        m.indices[a:b] = m.indices[a:b][::-1].copy()
        m.data[a:b] = m.data[a:b][::-1].copy()
    return m


def _split_entry(m: Any) -> Any:
    """One entry stored twice, as two parts that sum to it (the same matrix)."""
    coo = m.tocoo()
    part = coo.data[:1] / 2 if coo.data.dtype.kind == "f" else coo.data[:1] - 1
    data = np.concatenate([coo.data[:1] - part, part, coo.data[1:]])
    rows = np.concatenate([coo.row[:1], coo.row[:1], coo.row[1:]])
    cols = np.concatenate([coo.col[:1], coo.col[:1], coo.col[1:]])
    return scipy.sparse.csr_array((data, (rows, cols)), shape=m.shape)  # keeps duplicates


def _explicit_zero(m: Any) -> Any:
    return _with_entry(m, 0)


def _as_float64(m: Any) -> Any:
    m.data = m.data.astype(np.float64)  # exact: 31-bit integers
    return m


_SAME_MATRIX: dict[str, Callable[[Any], Any]] = {
    "rows reversed": _reversed_rows,
    "entry split in two": _split_entry,
    "explicit zero": _explicit_zero,
    "float64 values": _as_float64,
}


@pytest.mark.parametrize(
    ("layer", "change"),
    [
        (layer, change)
        for layer in ("seed", "reflect", "transposed-soundness", "avgpool")
        for change in _SAME_MATRIX
        if not (layer == "avgpool" and change == "float64 values")  # float64 already
    ],
)
def test_same_matrix_in_another_form_is_proved(
    layer: str, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, shape = _LAYERS[layer]
    _patched(monkeypatch, _SAME_MATRIX[change])
    r = cp.prove(spec, shape, crosscheck=False)
    assert r.status == "proved", str(r)
    assert [c.status for c in _object_checks(r)] == ["proved"]


def test_blocks_kept_before_a_misfit_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    """A block that sends the proof to the whole-layer comparison empties the kept blocks
    (they would be only part of the definition)."""
    from convproof.constructions.definition import layout_of
    from convproof.proofs import streaming

    def misfit_at_channel_1(spec: Any, lay: Any, lib: Any, d: Any, off: Any, c0: int, *a: Any):
        if c0 == 1:
            raise streaming._Misfit
        return None  # block equal

    monkeypatch.setattr(streaming, "_same", lambda *args: False)
    monkeypatch.setattr(streaming, "_block_difference", misfit_at_channel_1)
    spec, shape = _LAYERS["many-slabs"]
    kept: list[Any] = [("not", "a", "block")]
    r = streaming.stream_compare(spec, layout_of(spec, shape), lambda n: None, 2**40, kept)
    assert r.status == "proved" and kept == []


@pytest.mark.parametrize("defect", ["other channel", "doubled", "foreign symbol"])
def test_library_bias_vector_defects_are_refuted(
    defect: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The symbolic bias vector is read entry by entry (one b symbol needs no expansion):
    a wrong symbol, a coefficient or a symbol that is not a bias is refuted."""
    import sympy

    real = _matrix.bias_vector

    def planted(spec: Any, input_shape: Any, b: Any = None) -> Any:
        vec = real(spec, input_shape, b)
        if b is not None:
            return vec
        vec = sympy.Matrix(vec)
        first, last = vec[0], vec[len(vec) - 1]
        vec[1] = {"other channel": last, "doubled": 2 * first, "foreign symbol": sympy.Symbol("q")}[
            defect
        ]
        return vec

    monkeypatch.setattr(_matrix, "bias_vector", planted)
    spec = cp.ConvSpec(in_channels=1, out_channels=2, kernel_size=2, ndim=1)
    r = cp.prove(spec, (1, 4), crosscheck=False)
    assert r.status == "refuted", str(r)
    assert r.counterexample is not None and r.counterexample.output == (0, 1)
