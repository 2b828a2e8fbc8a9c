"""Layer symbols and sliding sums: hand examples, exact random spot checks, the Sum form."""

from __future__ import annotations

import ast
import inspect
import itertools
from typing import Any

import numpy as np
import pytest
import sympy

import convproof as cp
import convproof.constructions.sliding_sum as cps

try:
    from reference import reference
    from testsupport import load_benchmark, padded_1d
except ImportError:  # pragma: no cover
    from tests.reference import reference
    from tests.testsupport import load_benchmark, padded_1d

try:
    from test_matrix import _specs
except ImportError:  # pragma: no cover
    from tests.test_matrix import _specs


def _sym(name: str) -> sympy.Symbol:
    return sympy.Symbol(name)


def _flat(arr: Any) -> list[Any]:
    return list(sympy.flatten(arr.tolist())) if arr is not None else []


# --------------------------------------------------------------------------------------
# symbols
# --------------------------------------------------------------------------------------


def test_layer_symbols_names_shapes_and_identity() -> None:
    spec = cp.ConvSpec(in_channels=2, out_channels=4, kernel_size=(1, 2), groups=2)
    X, W, b = cp.layer_symbols(spec, (3, 2, 2, 3))  # batched shape: one sample's symbols
    assert X.shape == (2, 2, 3)
    assert W is not None and W.shape == (4, 1, 1, 2)
    assert b is not None and b.shape == (4,)
    assert X[1, 0, 2] == _sym("x_{1,0,2}")
    assert W[3, 0, 0, 1] == _sym("w_{3,0,0,1}")
    assert b[2] == _sym("b_{2}")
    again = cp.layer_symbols(spec, (2, 2, 3))
    assert again.X[1, 0, 2] is X[1, 0, 2]
    assert len(set(_flat(X) + _flat(W) + _flat(b))) == 12 + 8 + 4


def test_layer_symbols_pool_and_no_bias() -> None:
    X, W, b = cp.layer_symbols(cp.PoolSpec(kind="avg", kernel_size=2), (3, 4, 4))
    assert X.shape == (3, 4, 4) and W is None and b is None
    spec = cp.ConvTransposeSpec(in_channels=2, out_channels=3, kernel_size=2, bias=False)
    X, W, b = cp.layer_symbols(spec, (2, 3, 3))
    assert W is not None and W.shape == (2, 3, 2, 2) and b is None


def test_symbolic_module_does_not_use_index_patterns() -> None:
    """The sliding sum must be an independent construction from the matrix's index patterns."""
    tree = ast.parse(inspect.getsource(cps))
    imported = {
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    } | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert not any("index" in m or "matrix" in m for m in imported), imported


# --------------------------------------------------------------------------------------
# hand examples
# --------------------------------------------------------------------------------------


def test_seed_channels_collapse_to_one_map_plus_one_bias() -> None:
    # seed: a 3-channel 3x3 kernel gives one feature map: a sum over channels, plus one bias
    spec = cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3, padding="same")
    X, W, b = cp.layer_symbols(spec, (3, 5, 5))
    z = cp.sliding_sum(spec, (3, 5, 5))
    assert z.shape == (5, 5, 5)
    assert W is not None and b is not None
    centre = b[4] + sum(
        X[c, 1 + u - 1, 2 + v - 1] * W[4, c, u, v]
        for c in range(3)
        for u in range(3)
        for v in range(3)
    )
    assert sympy.expand(z[4, 1, 2] - centre) == 0
    corner = b[0] + sum(
        X[c, u, v] * W[0, c, u + 1, v + 1] for c in range(3) for u in range(2) for v in range(2)
    )
    assert sympy.expand(z[0, 0, 0] - corner) == 0
    assert len(z[0, 0, 0].args) == 3 * 4 + 1


_W = [sympy.Symbol(f"w_{{0,0,{u}}}") for u in range(3)]
_X = [sympy.Symbol(f"x_{{0,{i}}}") for i in range(3)]


@pytest.mark.parametrize(
    "mode, expected",
    [
        # padded input [p, x0, x1, x2, q]; output 0 reads p, x0, x1 with taps w0, w1, w2
        ("zeros", _W[1] * _X[0] + _W[2] * _X[1]),
        ("circular", _W[0] * _X[2] + _W[1] * _X[0] + _W[2] * _X[1]),
        ("reflect", _W[0] * _X[1] + _W[1] * _X[0] + _W[2] * _X[1]),
        ("replicate", _W[0] * _X[0] + _W[1] * _X[0] + _W[2] * _X[1]),
    ],
)
def test_padding_modes_first_output(mode: str, expected: Any) -> None:
    spec = padded_1d(mode)
    z = cp.sliding_sum(spec, (1, 3))
    assert sympy.expand(z[0, 0] - expected) == 0


def test_transposed_conv_scatter_by_hand() -> None:
    spec = cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=3, stride=2, ndim=1)
    z = cp.sliding_sum(spec, (1, 2))
    x0, x1 = _sym("x_{0,0}"), _sym("x_{0,1}")
    w0, w1, w2 = (_sym(f"w_{{0,0,{u}}}") for u in range(3))
    b = _sym("b_{0}")
    expected = [b + w0 * x0, b + w1 * x0, b + w2 * x0 + w0 * x1, b + w1 * x1, b + w2 * x1]
    assert [sympy.expand(a - e) for a, e in zip(_flat(z), expected)] == [0] * 5


def test_max_pool_ignores_padding() -> None:
    pool = cp.PoolSpec(kind="max", kernel_size=2, padding=1, ndim=1)
    z = cp.sliding_sum(pool, (1, 3))
    x0, x1, x2 = (_sym(f"x_{{0,{i}}}") for i in range(3))
    assert _flat(z) == [x0, sympy.Max(x1, x2)]


def test_avg_pool_exact_divisors() -> None:
    # SEMANTICS.md: [1,2,3,4,5], k=2, s=2, ceil -> [3/2, 7/2, 5]
    pool = cp.PoolSpec(kind="avg", kernel_size=2, ceil_mode=True, ndim=1)
    z = cp.sliding_sum(pool, (1, 5))
    X, _, _ = cp.layer_symbols(pool, (1, 5))
    values = {X[0, i]: sympy.Integer(i + 1) for i in range(5)}
    assert [v.xreplace(values) for v in _flat(z)] == [
        sympy.Rational(3, 2),
        sympy.Rational(7, 2),
        sympy.Integer(5),
    ]


# --------------------------------------------------------------------------------------
# exact spot checks against the loop reference at random rationals
# --------------------------------------------------------------------------------------


def _rationals(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    num = rng.integers(-20, 21, shape)
    den = rng.integers(1, 8, shape)
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        out[idx] = sympy.Rational(int(num[idx]), int(den[idx]))
    return out


def _random_max_pool(seed: int, count: int) -> list[tuple[Any, tuple[int, ...]]]:
    specs = []
    for spec, shape in _specs("avg_pool", seed, count):
        kw = {k: getattr(spec, k) for k in ("kernel_size", "stride", "padding", "dilation")}
        specs.append((cp.PoolSpec(kind="max", ceil_mode=spec.ceil_mode, **kw), shape))
    return specs


@pytest.mark.parametrize("kind", ["conv", "conv_transpose", "avg_pool", "max_pool"])
def test_sliding_sum_at_random_rationals_equals_reference(kind: str) -> None:
    rng = np.random.default_rng(7)
    problems = _random_max_pool(31, 40) if kind == "max_pool" else _specs(kind, 30, 40)
    checked = 0
    for spec, shape in problems:
        X, W, b = cp.layer_symbols(spec, shape)
        x = _rationals(rng, shape)
        w = None if W is None else _rationals(rng, W.shape)
        bb = None if b is None else _rationals(rng, b.shape)
        try:
            expected = reference(spec, x, w, bb)
        except ZeroDivisionError:
            continue  # an average window with nothing to count
        values = dict(zip(_flat(X), x.ravel()))
        if w is not None:
            values.update(zip(_flat(W), w.ravel()))
        if bb is not None:
            values.update(zip(_flat(b), bb.ravel()))
        got = [v.xreplace(values) for v in _flat(cp.sliding_sum(spec, shape))]
        want = [sympy.sympify(v) for v in expected.ravel()]
        assert got == want, (spec, shape)
        checked += 1
    assert checked >= 30


# --------------------------------------------------------------------------------------
# the same SymPy objects as the plain evaluated construction (canonical args, printing)
# --------------------------------------------------------------------------------------


def _symbolic_reference(spec: Any, shape: tuple[int, ...]) -> list[Any]:
    """The loop reference run on the layer's symbols: every sum built by SymPy's evaluating
    ``+`` and ``*`` (so in SymPy's canonical form), one term at a time."""
    X, W, b = cp.layer_symbols(spec, shape)

    def grid(arr: Any) -> Any:
        return None if arr is None else np.array(arr.tolist(), dtype=object)

    expected = reference(spec, grid(X), grid(W), grid(b))
    return [sympy.sympify(v) for v in expected.ravel()]


def _assert_same_objects(got: list[Any], want: list[Any], context: Any) -> None:
    assert len(got) == len(want), context
    for g, w in zip(got, want):
        # Basic.__eq__ compares args in order, recursively: == is structural equality
        assert g == w and g.args == w.args, (context, g, w)
        assert type(g) is type(w) and g.is_commutative == w.is_commutative, (context, g, w)
        assert hash(g) == hash(w) and sympy.srepr(g) == sympy.srepr(w), (context, g, w)
    assert [str(g) for g in got] == [str(w) for w in want], context


@pytest.mark.parametrize("kind", ["conv", "conv_transpose", "avg_pool"])
def test_sliding_sum_is_the_evaluated_construction_on_random_specs(kind: str) -> None:
    # the fast build writes SymPy's canonical order itself: it must give the very objects
    # (args, order, printing) that SymPy's own Add/Mul give for the same sums
    for spec, shape in _specs(kind, 50, 40):
        _assert_same_objects(
            _flat(cp.sliding_sum(spec, shape)), _symbolic_reference(spec, shape), (spec, shape)
        )


@pytest.mark.parametrize(
    "spec, shape",
    [
        # the seed layer on a small input
        (cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3, padding="same"), (3, 5, 5)),
        # circular padding: the kernel reads one input twice, with two different weights
        (
            cp.ConvSpec(
                in_channels=1, out_channels=2, kernel_size=5, padding=2, padding_mode="circular"
            ),
            (1, 3, 2),
        ),
        # outputs reading only zero padding: 0 without bias, b alone with it
        (
            cp.ConvSpec(
                in_channels=1, out_channels=1, kernel_size=1, padding=1, bias=False, ndim=1
            ),
            (1, 2),
        ),
        (cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=1, padding=1, ndim=1), (1, 2)),
        # a single product and no bias: a Mul, not an Add
        (cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=1, bias=False, ndim=1), (1, 3)),
        # more than ten channels / taps: multi-digit indices sort as strings, not numbers
        (
            cp.ConvSpec(in_channels=11, out_channels=2, kernel_size=(1, 11), ndim=2),
            (11, 1, 12),
        ),
        (
            cp.ConvTransposeSpec(
                in_channels=12, out_channels=12, kernel_size=3, stride=2, groups=3, ndim=1
            ),
            (12, 6),
        ),
        (
            cp.ConvSpec(
                in_channels=4,
                out_channels=6,
                kernel_size=3,
                padding=1,
                padding_mode="reflect",
                groups=2,
                dilation=(1, 2, 1),
                ndim=3,
            ),
            (4, 3, 3, 3),
        ),
    ],
)
def test_sliding_sum_is_the_evaluated_construction_by_hand(spec: Any, shape: Any) -> None:
    _assert_same_objects(_flat(cp.sliding_sum(spec, shape)), _symbolic_reference(spec, shape), spec)


def test_sliding_sum_leaves_the_garbage_collector_as_it_was() -> None:
    import gc

    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, ndim=1)
    assert gc.isenabled()
    cp.sliding_sum(spec, (1, 3))
    assert gc.isenabled()
    gc.disable()
    try:
        cp.sliding_sum(spec, (1, 3))
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(cp.ConvProofError):
        cp.sliding_sum(spec, (2, 3))
    assert gc.isenabled()


# --------------------------------------------------------------------------------------
# the unevaluated Sum form
# --------------------------------------------------------------------------------------


def _expand_sums(e: Any) -> Any:
    """Expand every ``Sum`` with numeric bounds term by term (no ``deltasummation``: SymPy
    solves a ``KroneckerDelta`` over the rationals and would read ``X[c, 1/2]``)."""

    def expand(s: sympy.Sum) -> Any:
        ranges = [range(int(lo), int(hi) + 1) for _, lo, hi in s.limits]
        names = [v for v, _, _ in s.limits]
        return sympy.Add(
            *(
                s.function.xreplace(dict(zip(names, map(sympy.Integer, p))))
                for p in itertools.product(*ranges)
            )
        )

    return e.replace(lambda t: isinstance(t, sympy.Sum), expand)


def _evaluate_unevaluated(spec: Any, shape: tuple[int, ...]) -> list[Any]:
    """``doit`` the Sum at every output index, then read X/W/b from the layer's symbols."""
    u = cp.sliding_sum_unevaluated(spec)
    X, W, b = cp.layer_symbols(spec, shape)
    out = spec.output_shape(shape)
    n = shape[1:]
    sizes = {u.parameters[f"n_{i}"]: n[i] for i in range(spec.ndim)} if u.parameters else {}

    def read(e: sympy.Indexed) -> Any:
        name, idx = str(e.base), [int(i) for i in e.indices]
        if name == "X":
            if not all(0 <= i < m for i, m in zip(idx[1:], n)):
                return 0  # zero padding
            return X[tuple(idx)]
        return (W if name == "W" else b)[tuple(idx)]  # type: ignore[index]

    values = []
    for index in itertools.product(*(range(m) for m in out)):
        e = u.expr.xreplace(dict(zip(u.output_index, map(sympy.Integer, index))))
        e = _expand_sums(e.xreplace(sizes))
        values.append(e.replace(lambda t: isinstance(t, sympy.Indexed), read))
    return values


@pytest.mark.parametrize(
    "spec, shape",
    [
        (
            cp.ConvSpec(
                in_channels=2, out_channels=1, kernel_size=2, stride=2, padding=1, dilation=(1, 2)
            ),
            (2, 4, 5),
        ),
        (
            cp.ConvSpec(in_channels=4, out_channels=2, kernel_size=3, padding=((0, 2),), groups=2),
            (4, 4),
        ),
        (
            cp.ConvTransposeSpec(
                in_channels=2,
                out_channels=2,
                kernel_size=3,
                stride=2,
                padding=1,
                output_padding=1,
                groups=2,
                ndim=1,
            ),
            (2, 3),
        ),
    ],
)
def test_unevaluated_sum_doit_equals_sliding_sum(spec: Any, shape: tuple[int, ...]) -> None:
    got = _evaluate_unevaluated(spec, shape)
    want = _flat(cp.sliding_sum(spec, shape))
    assert [sympy.expand(a - b) for a, b in zip(got, want)] == [0] * len(want)


def test_unevaluated_symbolic_parameters_substitute_to_numeric() -> None:
    spec = cp.ConvSpec(
        in_channels=3,
        out_channels=2,
        kernel_size=(3, 2),
        stride=(1, 2),
        padding=((1, 1), (0, 0)),
        dilation=(2, 1),
    )
    general = cp.sliding_sum_unevaluated(spec, symbolic=True)
    p = general.parameters
    values = {
        p["C_g"]: 3,
        p["k_0"]: 3,
        p["k_1"]: 2,
        p["s_0"]: 1,
        p["s_1"]: 2,
        p["d_0"]: 2,
        p["d_1"]: 1,
        p["p_0"]: 1,
        p["p_1"]: 0,
    }
    assert general.expr.subs(values) == cp.sliding_sum_unevaluated(spec).expr


def test_unevaluated_avg_pool_and_errors() -> None:
    avg = cp.sliding_sum_unevaluated(cp.PoolSpec(kind="avg", kernel_size=2, ndim=1))
    assert avg.expr.has(sympy.Symbol("N_{a}", integer=True, positive=True))
    assert isinstance(avg.expr.args[1] if avg.expr.args else None, sympy.Sum) or avg.expr.has(
        sympy.Sum
    )
    with pytest.raises(cp.ConvProofError, match="max pooling is a Max"):
        cp.sliding_sum_unevaluated(cp.PoolSpec(kind="max", kernel_size=2))
    same = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding="same")
    with pytest.raises(cp.ConvProofError, match="padding='same' depends on the input size"):
        cp.sliding_sum_unevaluated(same)
    assert cp.sliding_sum_unevaluated(same, symbolic=True).expr.has(sympy.Sum)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: cp.sliding_sum("conv", (1, 3, 3)), "spec must be a ConvSpec"),
        (
            lambda: cp.sliding_sum(
                cp.ConvSpec(in_channels=2, out_channels=1, kernel_size=3), (1, 5, 5)
            ),
            "input_shape has 1 channels",
        ),
        (
            lambda: cp.layer_symbols(
                cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3), (1, 2, 2)
            ),
            "would be empty",
        ),
    ],
)
def test_bad_input(call: Any, match: str) -> None:
    with pytest.raises(cp.ConvProofError, match=match):
        call()


# -- guard: estimate first, refuse with the estimate (issue 16) ------------------------------


def _count_terms(z) -> int:
    """Product terms of the built expressions (bias symbols counted as terms)."""
    import sympy

    total = 0
    for expr in sympy.flatten(z.tolist()):
        expr = sympy.expand(expr)
        total += len(expr.args) if isinstance(expr, sympy.Add) else int(expr != 0)
    return total


@pytest.mark.parametrize(
    ("spec", "shape", "terms"),
    [
        # no padding: C_out * prod(out) * C_in/g * prod(k), plus one bias per output
        (cp.ConvSpec(in_channels=2, out_channels=3, kernel_size=2), (2, 3, 3), 3 * 4 * 2 * 4 + 12),
        (
            cp.ConvSpec(in_channels=4, out_channels=2, kernel_size=3, groups=2, bias=False, ndim=1),
            (4, 5),
            2 * 3 * 2 * 3,
        ),
        # transposed: counted on input positions, C_in * prod(in) * C_out/g * prod(k)
        (
            cp.ConvTransposeSpec(
                in_channels=1, out_channels=2, kernel_size=3, stride=2, bias=False, ndim=1
            ),
            (1, 4),
            1 * 4 * 2 * 3,
        ),
        (cp.PoolSpec(kind="avg", kernel_size=2), (3, 4, 4), 3 * 4 * 4),
    ],
)
def test_sliding_sum_estimate_counts_terms(spec, shape, terms) -> None:
    est = cp.sliding_sum_estimate(spec, shape)
    assert est.terms == terms
    assert _count_terms(cp.sliding_sum(spec, shape)) == terms  # exact without padding
    # at least the memory measured per term (tracemalloc peak / RSS: up to 149 B for products)
    assert est.bytes >= 150 * terms and est.seconds > 0


def test_sliding_sum_estimate_is_an_upper_bound_with_padding() -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=1, bias=False)
    est = cp.sliding_sum_estimate(spec, (1, 4, 4))
    assert est.terms == 16 * 9
    # corners read 4 taps, edges 6, inside 9: 4*4 + 8*6 + 4*9 = 100 terms built
    assert _count_terms(cp.sliding_sum(spec, (1, 4, 4))) == 100


def test_sliding_sum_refuses_large_layers_with_the_estimate() -> None:
    # the layer: 64 channels at 224x224, refused before any work (default limit)
    big = cp.ConvSpec(in_channels=64, out_channels=64, kernel_size=3, padding=1)
    with pytest.raises(
        cp.MemoryLimitError, match=f"about {64 * 64 * 224 * 224 * 9 + 64 * 224 * 224:,} SymPy terms"
    ) as info:
        cp.sliding_sum(big, (1, 64, 224, 224))
    message = str(info.value)
    assert "pass a larger max_bytes=" in message and "--max-bytes in the CLI" in message
    assert "max_bytes=8589934592 (8.0 GiB)" in message and " min," in message
    # the limit is the estimate: one byte less refuses, the estimate itself builds
    small = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2)
    est = cp.sliding_sum_estimate(small, (1, 3, 3))
    with pytest.raises(cp.MemoryLimitError, match="max_bytes="):
        cp.sliding_sum(small, (1, 3, 3), max_bytes=est.bytes - 1)
    assert cp.sliding_sum(small, (1, 3, 3), max_bytes=est.bytes).shape == (1, 2, 2)


@pytest.mark.parametrize("bad", [-1, 0, 1.5, "1G", True])
def test_sliding_sum_bad_max_bytes(bad) -> None:
    spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2)
    with pytest.raises(cp.ConvProofError, match="max_bytes must be a positive integer"):
        cp.sliding_sum(spec, (1, 3, 3), max_bytes=bad)


def test_sliding_sum_progress_bar(capsys) -> None:
    pytest.importorskip("tqdm", reason="the progress bar is drawn by tqdm")
    spec = cp.ConvSpec(in_channels=2, out_channels=3, kernel_size=2, padding=1)
    quiet = cp.sliding_sum(spec, (2, 4, 4), progress=False)
    assert capsys.readouterr().err == ""
    assert cp.sliding_sum(spec, (2, 4, 4)) == quiet  # default: stderr is not a terminal here
    assert capsys.readouterr().err == ""
    shown = cp.sliding_sum(spec, (2, 4, 4), progress=True)
    err = capsys.readouterr().err
    assert "sliding_sum" in err and "term" in err
    assert shown == quiet  # the bar changes nothing
    with pytest.raises(cp.ConvProofError, match="progress must be True, False or None"):
        cp.sliding_sum(spec, (2, 4, 4), progress="yes")


# -- benchmark smoke test (the benchmark itself is not run by the tests) ---------------------


def test_benchmark_smoke() -> None:
    bench = load_benchmark("bench_sliding_sum")
    r = bench.bench_case(2, 3, 4, repeat=1, peer_repeat=1)
    assert r["equal"] and r["terms"] == 3 * 16 * 2 * 9 + 3 * 16
    # the peer is the definition: the seed's centre output by hand
    layer = cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3, padding="same")
    X, W, b = cp.layer_symbols(layer, (3, 5, 5))
    assert W is not None and b is not None
    centre = b[4] + sum(
        X[c, 1 + u - 1, 2 + v - 1] * W[4, c, u, v]
        for c in range(3)
        for u in range(3)
        for v in range(3)
    )
    assert bench.plain_loop(layer, (3, 5, 5))[4 * 25 + 1 * 5 + 2] == centre
