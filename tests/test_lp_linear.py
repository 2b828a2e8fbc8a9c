"""The linear Lp pool (``kind="lp", norm_type=1, legality="pytorch"``): matrices, sums, proofs.

PyTorch computes ``lp_pool`` as ``sign(s) * relu(|s|) ** (1/p)`` with
``s = avg_pool(x**p, k, stride, 0, ceil_mode) * prod(k)``, so for ``p = 1`` each window is
``prod(k) / (taps inside the input)`` times its sum: the plain window sum, except a
ceil-mode window overhanging the input, which is scaled up.  Observed with torch 2.13 (CPU)
for ``lp_pool1d/2d/3d`` and ``nn.LPPool1d/2d/3d``, ceil mode on and off (the hand tables of
:func:`test_what_pytorch_computes`).

Expected values come from real PyTorch, hand-worked tables and the loop below (written from
that definition), never from convproof.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convproof as cp
from convproof.constructions import definition as _definition
from convproof.constructions import matrix as _matrix
from convproof.constructions import sliding_sum as _sliding_sum

#: the ``torch`` fixture only hands over the module: nothing to reset between examples
_WITH_TORCH = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


def _lp1(**kw: Any) -> cp.PoolSpec:
    return cp.PoolSpec(kind="lp", norm_type=1, **kw)


def _loop_matrix(spec: cp.PoolSpec, shape: tuple[int, ...]) -> list[dict[int, Fraction]]:
    """Per output row, ``{input column: coefficient}`` by the definition, one window at a
    time: ``prod(k) / (taps inside)`` on every tap inside the input (no padding)."""
    c_in, spatial = shape[0], shape[1:]
    out = spec.output_shape(shape)[1:]
    rows: list[dict[int, Fraction]] = []
    for c in range(c_in):
        for a in itertools.product(*(range(o) for o in out)):
            inside = []
            for u in itertools.product(*(range(k) for k in spec.kernel_size)):
                pos = [a[i] * spec.stride[i] + u[i] for i in range(spec.ndim)]
                if all(q < n for q, n in zip(pos, spatial)):
                    inside.append(np.ravel_multi_index((c, *pos), shape))
            coef = Fraction(math.prod(spec.kernel_size), len(inside))
            rows.append({int(col): coef for col in inside})
    return rows


def _loop_values(spec: cp.PoolSpec, x: np.ndarray) -> np.ndarray:
    """The loop's matrix applied to one sample (float64)."""
    table = _loop_matrix(spec, x.shape)
    flat = x.reshape(-1)
    return np.array([sum(float(v) * flat[col] for col, v in row.items()) for row in table])


@st.composite
def _problems(draw: Any, ndim: int | None = None) -> tuple[cp.PoolSpec, tuple[int, ...]]:
    nd = draw(st.integers(1, 3)) if ndim is None else ndim
    spec = draw(cp.strategies.pool_specs(ndim=nd, kinds=("lp",), norm_types=(1,)))
    spatial = tuple(draw(st.integers(k, k + 5)) for k in spec.kernel_size)
    return spec, (draw(st.integers(1, 3)), *spatial)


def _torch_lp(
    torch: Any, spec: cp.PoolSpec, x: Any, module: bool = False, grad: bool = False
) -> Any:
    """PyTorch's ``nn.LPPool{n}d`` (``module``) or ``F.lp_pool{n}d`` at ``norm_type=1``; a
    NumPy array, or the tensor itself when ``grad``."""
    nd = spec.ndim
    k, s = spec.kernel_size, spec.stride
    if nd == 1:  # the 1-D pools multiply by kernel_size itself: an int (a tuple fails)
        k, s = k[0], s[0]
    if module:
        layer = getattr(torch.nn, f"LPPool{nd}d")(1, k, s, ceil_mode=spec.ceil_mode)
        y = layer(x if grad else torch.tensor(x))
    else:
        fn = getattr(torch.nn.functional, f"lp_pool{nd}d")
        y = fn(x if grad else torch.tensor(x), 1, k, s, spec.ceil_mode)
    return y if grad else y.numpy()


# --------------------------------------------------------------------------------------
# what PyTorch computes (observed), and the spec's linearity
# --------------------------------------------------------------------------------------


@pytest.mark.torch
def test_what_pytorch_computes(torch) -> None:
    F = torch.nn.functional
    x1 = torch.arange(1.0, 6.0).reshape(1, 1, 5)
    # k=2, s=2, ceil: windows [1,2], [3,4], [5 | overhang]: the last is 5 * 2/1
    assert F.lp_pool1d(x1, 1, 2, 2, ceil_mode=True).flatten().tolist() == [3, 7, 10]
    assert F.lp_pool1d(-x1, 1, 2, 2, ceil_mode=True).flatten().tolist() == [-3, -7, -10]
    assert F.lp_pool1d(x1, 1, 2, 2, ceil_mode=False).flatten().tolist() == [3, 7]
    x6 = torch.arange(1.0, 7.0).reshape(1, 1, 6)  # k=3, s=2: last window [5, 6 | .]: 11 * 3/2
    assert F.lp_pool1d(x6, 1, 3, 2, ceil_mode=True).flatten().tolist() == [6, 12, 16.5]
    x2 = torch.arange(1.0, 26.0).reshape(1, 1, 5, 5)
    want2 = [[16, 24, 30], [56, 64, 70], [86, 94, 100]]  # e.g. 30 = (5 + 10) * 4/2
    assert F.lp_pool2d(x2, 1, 2, 2, ceil_mode=True)[0, 0].tolist() == want2
    assert torch.nn.LPPool2d(1, 2, 2, ceil_mode=True)(x2)[0, 0].tolist() == want2
    # 3-D, all ones: every window, clipped or not, is prod(k) = 8
    x3 = torch.ones(1, 1, 5, 5, 5)
    assert F.lp_pool3d(x3, 1, 2, 2, ceil_mode=True).flatten().tolist() == [8.0] * 27
    assert torch.nn.LPPool3d(1, 2, 2, ceil_mode=True)(x3).flatten().tolist() == [8.0] * 27
    x3[0, 0, 4, 4, 4] = 5  # the corner window holds one element: 5 * 8/1
    assert F.lp_pool3d(x3, 1, 2, 2, ceil_mode=True)[0, 0, 2, 2, 2].item() == 40


def test_linearity_of_the_spec() -> None:
    assert _lp1(kernel_size=2).is_linear
    assert not cp.PoolSpec(kind="lp", norm_type=2, kernel_size=2).is_linear
    assert not _lp1(kernel_size=2, legality="onnx").is_linear
    assert not cp.PoolSpec(kind="lp", norm_type=1.5, kernel_size=2).is_linear


# --------------------------------------------------------------------------------------
# matrices against PyTorch and the loop
# --------------------------------------------------------------------------------------


@pytest.mark.torch
@_WITH_TORCH
@given(_problems(), st.integers(1, 2))
def test_matrix_equals_torch_and_the_loop(torch, problem: Any, batch: int) -> None:
    spec, shape = problem
    x = np.random.default_rng(sum(shape)).standard_normal((batch, *shape))
    m = cp.conv_matrix(spec, shape, dtype=np.float64)
    got = np.stack([m @ xi.ravel() for xi in x])
    for module in (False, True):
        want = _torch_lp(torch, spec, x, module)
        np.testing.assert_allclose(got, want.reshape(batch, -1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[0], _loop_values(spec, x[0]), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cp.conv(spec, x).reshape(batch, -1), got, rtol=1e-12, atol=1e-12)


@given(_problems())
def test_exact_matrix_sum_and_table_equal_the_loop(problem: Any) -> None:
    spec, shape = problem
    shape = (1, *shape[1:])  # symbolic: one channel keeps it fast
    loop = _loop_matrix(spec, shape)
    sym = cp.conv_matrix(spec, shape)
    found = [
        {int(c): Fraction(int(v.p), int(v.q)) for (r2, c), v in sym.todok().items() if r2 == r}
        for r in range(sym.shape[0])
    ]
    assert found == loop
    table = cp.coefficient_table(spec, shape)  # the independent definition's public view
    assert table == {(r, c, -1): v for r, row in enumerate(loop) for c, v in row.items()}
    x = cp.layer_symbols(spec, shape).X
    xs = list(x.reshape(len(x))) if hasattr(x, "reshape") else list(x)
    z = cp.sliding_sum(spec, shape)
    for r, expr in enumerate(z.reshape(len(z))):
        want = sum(sympy.Rational(v.numerator, v.denominator) * xs[c] for c, v in loop[r].items())
        assert sympy.expand(expr - want) == 0


def test_table_fractions_by_hand() -> None:
    # 2-D k=(2, 3), s=2 on 3x4, ceil: windows overhang on both axes; prod(k) = 6
    spec = _lp1(kernel_size=(2, 3), stride=2, ceil_mode=True)
    m = cp.conv_matrix(spec, (1, 3, 4))
    assert m.shape == (4, 12)
    dense = [[Fraction(int(v.p), int(v.q)) for v in m.row(r)] for r in range(4)]
    # output (1, 1): rows 2 only, cols 2..3: 2 taps inside, 6/2 = 3 each
    assert dense[3] == [0] * 10 + [3, 3]
    # output (0, 1): rows 0..1, cols 2..3: 4 taps inside, 6/4 = 3/2 each
    assert dense[1] == [0, 0, Fraction(3, 2), Fraction(3, 2), 0, 0, Fraction(3, 2),
                        Fraction(3, 2), 0, 0, 0, 0]  # fmt: skip
    # output (0, 0): a full window, coefficient 1
    assert dense[0] == [1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0]


@pytest.mark.torch
@pytest.mark.parametrize("layout", ["NHWC", "HWC"])
def test_channels_last_matrix(torch, layout: str, rng) -> None:
    spec = _lp1(kernel_size=(2, 3), stride=(2, 2), ceil_mode=True)
    x = rng.standard_normal((2, 5, 7))  # (C, H, W)
    shape = (1, 5, 7, 2) if layout == "NHWC" else (5, 7, 2)
    m = cp.conv_matrix(spec, shape, dtype=np.float64, layout=layout)
    got = m @ np.moveaxis(x, 0, -1).ravel()
    want = np.moveaxis(_torch_lp(torch, spec, x[None])[0], 0, -1).ravel()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_structure_is_the_average_pools(rng) -> None:
    # without overhang the matrix is prod(k) times the average pool's: the same structure
    lp = _lp1(kernel_size=(2, 3), stride=(1, 2))
    avg = cp.PoolSpec(kind="avg", kernel_size=(2, 3), stride=(1, 2))
    a, b = cp.matrix_structure(lp, (2, 6, 9)), cp.matrix_structure(avg, (2, 6, 9))
    assert a.levels == b.levels
    m_lp = cp.conv_matrix(lp, (2, 6, 9), dtype=np.float64)
    d = m_lp - 6 * cp.conv_matrix(avg, (2, 6, 9), dtype=np.float64)
    assert abs(d).max() < 1e-14


def test_unevaluated_sum_names_the_scale() -> None:
    expr = cp.sliding_sum_unevaluated(_lp1(kernel_size=(2, 3)), symbolic=True).expr
    k0, k1 = sympy.symbols("k_0 k_1", integer=True, positive=True)
    assert expr.has(k0) and expr.has(sympy.Symbol("N_{a}", integer=True, positive=True))
    assert sympy.simplify(expr / (k0 * k1)).has(sympy.Sum)


# --------------------------------------------------------------------------------------
# proofs, and planted defects refuted
# --------------------------------------------------------------------------------------


@given(_problems())
def test_prove(problem: Any) -> None:
    spec, shape = problem
    r = cp.prove(spec, shape)
    assert r.status == "proved", r
    out = spec.output_shape(shape)
    assert r.scope["per sample"] == f"input {shape} -> output {out}"


def test_prove_states_scope_and_covers_the_overhang() -> None:
    spec = _lp1(kernel_size=2, stride=3, ceil_mode=True, ndim=3)
    r = cp.prove(spec, (2, 4, 5, 7))
    assert r.status == "proved" and r.method == "coefficient-table"
    assert r.scope["per sample"] == "input (2, 4, 5, 7) -> output (2, 2, 2, 3)"
    assert "sliding_sum and the symbolic conv_matrix" in r.scope["SymPy objects"]
    assert "norm_type=1, legality='pytorch'" in str(r)


def _sum_matrix(spec: cp.PoolSpec, shape: tuple[int, ...], scale: Any) -> Any:
    """The loop's pattern with every inside tap given ``scale(prod(k), inside)``."""
    rows = _loop_matrix(spec, shape)
    m = np.zeros((len(rows), math.prod(shape)))
    k = math.prod(spec.kernel_size)
    for r, row in enumerate(rows):
        for c in row:
            m[r, c] = scale(k, len(row), spec.kernel_size)
    return m


@pytest.mark.parametrize(
    "defect",
    [
        lambda k, inside, ks: 1.0,  # a plain sum pool: the ceil-mode scaling dropped
        lambda k, inside, ks: 1.0 / inside,  # the average pool: prod(k) dropped
        lambda k, inside, ks: ks[0] / inside,  # k[0] instead of prod(k)
    ],
)
def test_planted_matrices_refuted(defect: Any) -> None:
    spec = _lp1(kernel_size=(2, 3), stride=2, ceil_mode=True)
    shape = (2, 5, 6)
    good = _sum_matrix(spec, shape, lambda k, inside, ks: k / inside)
    assert cp.prove(spec, shape, matrix=good).status == "proved"
    bad = cp.prove(spec, shape, matrix=_sum_matrix(spec, shape, defect))
    assert bad.status == "refuted" and bad.counterexample is not None


@pytest.mark.parametrize(
    ("module", "name"),
    [(_matrix, "_scale"), (_definition, "pool_scale"), (_sliding_sum, "lp_scale")],
)
def test_planted_scale_refuted(monkeypatch, module: Any, name: str) -> None:
    # the library's numerator (matrix, sliding sum) and the definition's are written apart
    # and compared: dropping prod(k) on either side is refuted
    spec = _lp1(kernel_size=2, ceil_mode=True, ndim=2)
    assert cp.prove(spec, (2, 5, 5)).status == "proved"
    monkeypatch.setattr(module, name, lambda _: 1)
    r = cp.prove(spec, (2, 5, 5))
    assert r.status == "refuted"
    assert "the definition says" in str(r.counterexample)


@pytest.mark.torch
def test_prove_function_and_check_pool(torch) -> None:
    F = torch.nn.functional
    spec = _lp1(kernel_size=(2, 3), stride=(2, 2), ceil_mode=True)

    def lp(x: Any, **kw: Any) -> Any:
        t = torch.as_tensor(np.asarray(x, dtype=np.float64))
        return F.lp_pool2d(t, 1, (2, 3), (2, 2), ceil_mode=True).numpy()

    def k0(x: Any, **kw: Any) -> Any:  # scaled by k[0] instead of prod(k)
        return lp(x) * 2 / 6

    good = cp.prove_function(lp, spec, (2, 5, 6))
    assert good.status == "verified" and good.assumptions
    assert cp.prove_function(k0, spec, (2, 5, 6)).status == "refuted"

    def pool(x: Any, norm_type: Any, kernel_size: Any, stride: Any, ceil_mode: Any) -> Any:
        t = torch.as_tensor(x)
        return F.lp_pool2d(t, norm_type, kernel_size, stride, ceil_mode=ceil_mode).numpy()

    def plain_sum(x: Any, norm_type: Any, kernel_size: Any, stride: Any, ceil_mode: Any) -> Any:
        t = torch.as_tensor(x)  # the ceil-mode window's prod(k)/inside scaling dropped
        return F.avg_pool2d(t, kernel_size, stride, 0, ceil_mode, divisor_override=1).numpy()

    def first_axis(x: Any, norm_type: Any, kernel_size: Any, stride: Any, ceil_mode: Any) -> Any:
        t = torch.as_tensor(x)  # k[0] times the average instead of prod(k)
        avg = F.avg_pool2d(t, kernel_size, stride, 0, ceil_mode)
        return (avg * kernel_size[0]).numpy()

    kw: dict[str, Any] = dict(kind="lp", ndim=2, norm_types=(1,), max_examples=40, seed=0,
                              rtol=1e-9, atol=1e-9)  # fmt: skip
    assert cp.check_pool(pool, **kw)
    assert not cp.check_pool(plain_sum, **{**kw, "ceil_mode": True})
    assert not cp.check_pool(first_axis, **kw)


# --------------------------------------------------------------------------------------
# backward
# --------------------------------------------------------------------------------------


@pytest.mark.torch
@_WITH_TORCH
@given(_problems())
def test_backward_equals_torch_autograd(torch, problem: Any) -> None:
    spec, shape = problem
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal((1, *shape))
    g = rng.standard_normal((1, *spec.output_shape(shape)))
    xt = torch.tensor(x, requires_grad=True)
    y = _torch_lp(torch, spec, xt, module=True, grad=True)
    y.backward(torch.tensor(g))
    want = xt.grad.numpy()
    np.testing.assert_allclose(cp.pool_backward(spec, x, g), want, rtol=1e-12, atol=1e-12)
    gi, gw, gb = cp.conv_backward(spec, x, None, g)
    np.testing.assert_allclose(gi, want, rtol=1e-12, atol=1e-12)
    assert gw is None and gb is None


def test_backward_exact_by_hand_and_proved() -> None:
    spec = _lp1(kernel_size=2, ceil_mode=True, ndim=1)
    g = np.array([[1, 2, 3]])
    # the adjoint of rows [1 1 0 0 0], [0 0 1 1 0], [0 0 0 0 2]
    assert cp.pool_backward(spec, np.zeros((1, 5)), g).tolist() == [[1, 1, 2, 2, 6]]
    assert cp.prove_backward(spec, (2, 5)).status == "proved"
    assert cp.prove_backward(_lp1(kernel_size=(2, 3), stride=2, ceil_mode=True),
                             (2, 5, 6)).status == "proved"  # fmt: skip


# --------------------------------------------------------------------------------------
# the other Lp pools stay refused
# --------------------------------------------------------------------------------------

_CALLS = [
    lambda s: cp.conv_matrix(s, (1, 4)),
    lambda s: cp.prove(s, (1, 4)),
    lambda s: cp.sliding_sum(s, (1, 4)),
    lambda s: cp.sliding_sum_unevaluated(s),
    lambda s: cp.coefficient_table(s, (1, 4)),
    lambda s: cp.matrix_structure(s, (1, 4)),
    lambda s: cp.pool_backward(s, np.ones((1, 4)), np.ones((1, 2))),
    lambda s: cp.conv_backward(s, np.ones((1, 4)), None, np.ones((1, 2))),
    lambda s: cp.prove_backward(s, (1, 4)),
]


@pytest.mark.parametrize("call", _CALLS)
@pytest.mark.parametrize(
    ("kw", "why"),
    [
        (dict(norm_type=2), r"x\*\*2 and its root are not linear"),
        (dict(norm_type=1.5), r"x\*\*1.5 and its root are not linear"),
        (dict(norm_type=1, legality="onnx"), r"legality='onnx' sums \|x\|\*\*p"),
    ],
)
def test_non_linear_lp_refused(call: Any, kw: dict[str, Any], why: str) -> None:
    spec = cp.PoolSpec(kind="lp", kernel_size=2, ndim=1, **kw)
    with pytest.raises(cp.ConvProofError, match=r"does not support Lp pooling \(kind='lp'\)") as e:
        call(spec)
    assert "only norm_type=1 under legality='pytorch'" in str(e.value)
    assert e.match(why)


def test_port_of_the_linear_one_equals_its_matrix() -> None:
    """port (pure NumPy parts, ONNX's AveragePool of x times prod(k)) and the matrix agree:
    the ONNX call itself runs in tests/test_port*.py; here the matrix is the reference."""
    spec = _lp1(kernel_size=2, ndim=1, ceil_mode=True)
    p = cp.port(spec, to="onnx")
    assert p.function in ("onnx.LpPool", "onnx.AveragePool"), p.function
    m = cp.conv_matrix(spec, (1, 5), dtype=np.float64)
    assert m.toarray().tolist() == [[1, 1, 0, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 0, 2]]
