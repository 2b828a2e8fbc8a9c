"""The padding-mode table: one entry per mode, every construction reads it.

A new mode (NumPy's ``"symmetric"``: mirrored with the edge repeated) is planted in the table
only, and spec validation, numeric conv, sliding sums, the conv matrix, the nnz count, the
backward pass, the proofs and the strategies must all pick it up and agree with an expected
value computed here independently (``np.pad`` + a valid cross-correlation written below).
An unknown mode is a ConvProofError in every construction, never a KeyError or a silent
fallback.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import sympy
from hypothesis import given, settings

import convproof as cp
from convproof.layers import padding as padding_table
from convproof.layers.padding import PaddingMode, numpy_pad_read, padding_mode

# hand-worked index maps on an axis of length 4, positions -3..6 (SEMANTICS.md: PyTorch modes)
HAND = {
    "zeros": [-1, -1, -1, 0, 1, 2, 3, -1, -1, -1],
    "circular": [1, 2, 3, 0, 1, 2, 3, 0, 1, 2],
    "reflect": [3, 2, 1, 0, 1, 2, 3, 2, 1, 0],
    "replicate": [0, 0, 0, 0, 1, 2, 3, 3, 3, 3],
}


@pytest.mark.parametrize("name", sorted(HAND))
def test_table_index_maps_match_hand_tables(name: str) -> None:
    got = padding_mode(name).index(np.arange(-3, 7), 4)
    assert got.tolist() == HAND[name]
    reads = [numpy_pad_read(name, t, 4) for t in range(-3, 7)]
    assert [-1 if r is None else r for r in reads] == HAND[name]


def test_table_names_numpy_and_torch_modes() -> None:
    assert cp.PADDING_MODES == ("zeros", "circular", "reflect", "replicate")
    assert {m: padding_mode(m).numpy for m in cp.PADDING_MODES} == {
        "zeros": "constant",
        "circular": "wrap",
        "reflect": "reflect",
        "replicate": "edge",
    }
    assert padding_mode("zeros").torch == "constant"
    assert padding_mode("replicate").torch == "replicate"
    assert [padding_mode(m).max_padding(5) for m in cp.PADDING_MODES] == [None, 5, 4, None]


# --------------------------------------------------------------------------------------
# a planted mode: "symmetric"
# --------------------------------------------------------------------------------------


def _symmetric_index(t: Any, n: int) -> Any:
    # written here, not taken from the table: period 2n, edge repeated
    r = np.mod(np.asarray(t, dtype=np.int64), 2 * n)
    return np.where(r < n, r, 2 * n - 1 - r)


SYMMETRIC = PaddingMode(
    "symmetric", "symmetric", None, _symmetric_index, lambda n: n, "mirrored, edge repeated"
)


@pytest.fixture
def symmetric(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    table = dict(padding_table.PADDING_MODE_TABLE, symmetric=SYMMETRIC)
    monkeypatch.setattr(padding_table, "PADDING_MODE_TABLE", table)
    yield


def _expected(spec: cp.ConvSpec, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """np.pad in NumPy's mode, then a valid cross-correlation by loops (independent)."""
    pads = spec.resolve_padding(x.shape)
    xp = np.pad(x, ((0, 0), *pads), mode="symmetric")
    out_shape = spec.output_shape(x.shape)
    g = spec.groups
    cin_g, cout_g = spec.in_channels // g, spec.out_channels // g
    z = np.zeros(out_shape)
    for co in range(out_shape[0]):
        grp = co // cout_g
        for pos in np.ndindex(*out_shape[1:]):
            acc = b[co]
            for ci in range(cin_g):
                for tap in np.ndindex(*spec.kernel_size):
                    src = tuple(
                        p * s + u * d for p, s, u, d in zip(pos, spec.stride, tap, spec.dilation)
                    )
                    acc += w[(co, ci, *tap)] * xp[(grp * cin_g + ci, *src)]
            z[(co, *pos)] = acc
    return z


def _flat(a: Any) -> list[Any]:
    return list(np.array(a.tolist(), dtype=object).ravel())


CASES = [
    # (spec kwargs, input shape): 1-D and 2-D, groups, stride, dilation, per-side padding
    (dict(in_channels=2, out_channels=2, kernel_size=3, padding=3, ndim=1), (2, 4)),
    (
        dict(
            in_channels=2, out_channels=4, kernel_size=(2, 3), stride=(2, 1), dilation=(1, 2),
            padding=((2, 1), (3, 0)), groups=2,
        ),
        (2, 3, 4),
    ),
]  # fmt: skip


@pytest.mark.parametrize(("kwargs", "shape"), CASES)
def test_planted_mode_reaches_every_construction(
    symmetric: None, kwargs: dict[str, Any], shape: tuple[int, ...]
) -> None:
    spec = cp.ConvSpec(**kwargs, padding_mode="symmetric", bias=True)
    rng = np.random.default_rng(0)
    x = rng.integers(-3, 4, shape).astype(float)
    w = rng.integers(-3, 4, spec.weight_shape).astype(float)
    b = rng.integers(-3, 4, spec.out_channels).astype(float)
    z = _expected(spec, x, w, b)
    # the symmetric and reflect maps differ at these paddings: a reflect fallback would fail
    reflect = cp.ConvSpec(**kwargs, padding_mode="reflect", bias=True)
    assert not np.array_equal(cp.conv(reflect, x, w, b), z)

    np.testing.assert_allclose(cp.conv(spec, x, w, b), z)
    t = cp.conv_matrix(spec, shape, w)
    np.testing.assert_allclose(t @ x.ravel() + cp.bias_vector(spec, shape, b), z.ravel())
    assert cp.nnz(spec, shape) == sum(1 for e in cp.conv_matrix(spec, shape) if e != 0)

    xs, ws, bs = cp.layer_symbols(spec, shape)
    assert ws is not None and bs is not None
    values = {
        **dict(zip(_flat(xs), x.ravel())),
        **dict(zip(_flat(ws), w.ravel())),
        **dict(zip(_flat(bs), b.ravel())),
    }
    s = cp.sliding_sum(spec, shape)
    got = np.array([float(sympy.sympify(e).xreplace(values)) for e in _flat(s)])
    np.testing.assert_allclose(got, z.ravel())

    # backward: dL/dx is T^T g (the matrix just checked against the expected forward)
    g = rng.integers(-3, 4, z.shape).astype(float)
    gx, gw, gb = cp.conv_backward(spec, x, w, g, b)
    np.testing.assert_allclose(gx.ravel(), t.T @ g.ravel())
    assert gb is not None
    zero_b = np.zeros_like(b)
    for j in np.ndindex(*w.shape):  # dL/dw_j = <layer(x; e_j), g>, the layer being linear in w
        e = np.zeros_like(w)
        e[j] = 1.0
        assert gw[j] == pytest.approx(float((_expected(spec, x, e, zero_b) * g).sum()))
    np.testing.assert_allclose(gb, g.reshape(g.shape[0], -1).sum(axis=1))

    result = cp.prove(spec, shape)
    assert result.status == "proved", result


def test_planted_mode_validation_and_strategies(symmetric: None) -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=4, ndim=1,
                       padding_mode="symmetric")  # fmt: skip
    assert spec.output_shape((1, 4)) == (1, 10)
    with pytest.raises(cp.ConvProofError, match=r"padding_mode='symmetric' needs padding <= 3"):
        spec.output_shape((1, 3))

    from convproof.testing import strategies

    @settings(max_examples=10)
    @given(strategies.conv_specs(padding_modes=("symmetric",), ndim=1))
    def drawn(s: cp.ConvSpec) -> None:
        assert s.padding_mode == "symmetric"

    drawn()


def test_unknown_mode_is_an_error_everywhere() -> None:
    with pytest.raises(cp.ConvProofError, match=r"padding_mode must be one of .*'symmetric'"):
        cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding_mode="symmetric")
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=1, ndim=1,
                       padding_mode="reflect")  # fmt: skip
    object.__setattr__(spec, "padding_mode", "bogus")  # a spec that bypassed validation
    x, w = np.ones((1, 4)), np.ones((1, 1, 3))
    match = r"(padding_mode|mode) must be one of .*got (padding_mode|mode)='bogus'"
    from convproof.constructions.index import map_positions

    calls = [
        lambda: cp.conv(spec, x, w),
        lambda: cp.conv_matrix(spec, (1, 4), w),
        lambda: cp.nnz(spec, (1, 4)),
        lambda: cp.sliding_sum(spec, (1, 4)),
        lambda: cp.conv_backward(spec, x, w, np.ones((1, 4))),
        lambda: cp.prove(spec, (1, 4)),
        lambda: map_positions(np.arange(-1, 5), 4, "bogus"),
    ]
    for call in calls:
        with pytest.raises(cp.ConvProofError, match=match):
            call()
