"""Soundness of the general proofs and the formula theorems: planted defects never pass.

Part 1 plants each wrong index rule in :mod:`convproof.constructions.index` -- the one place the
matrix
construction learns which input a tap reads -- and asserts that

* the *symbolic* step of :func:`convproof.prove_general` that states the rule is refuted
  on its own (spot-check disabled), with a concrete counterexample, and
* the matrices :mod:`convproof.constructions.matrix` builds with the planted rule are refuted by the
  concrete proof :func:`convproof.prove` (so the rule really is the one the matrices use);

and that the correct rule gives "proved" on both.  Part 2 does the same for the formula
theorems of :mod:`convproof.formulas.derived`: wrong framework formulas and wrong relationships
are refuted, never proved or verified.

Before issue 11 the general proofs built both sides from one inline formula, so every
row of the first table came back "proved" by the symbolic step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import sympy

import convproof as cp
from convproof.constructions import index
from convproof.formulas import theorems

Rule = Callable[..., Any]


def _tap(f: Callable[[Any, Any, Any, Any, Any], Any]) -> Rule:
    def rule(a: Any, u: Any, *, stride: Any, dilation: Any, pad_before: Any) -> Any:
        return f(a, u, stride, dilation, pad_before)

    return rule


def _group(f: Callable[[Any, Any, Any], Any]) -> Rule:
    def rule(c_out: Any, *, out_per_group: Any, in_per_group: Any) -> Any:
        return f(c_out, out_per_group, in_per_group)

    return rule


# layers on which each planted rule changes the matrix: stride != dilation, padding > 0,
# dilation > 1, and groups with C_out/G != C_in/G
_CONV = (
    cp.ConvSpec(
        in_channels=2, out_channels=2, kernel_size=3, stride=2, padding=1, dilation=3, bias=False
    ),
    (2, 9, 8),
)
_GROUPED = (
    cp.ConvSpec(in_channels=4, out_channels=6, kernel_size=2, groups=2, bias=False),
    (4, 4, 3),
)
_TRANSPOSED = (
    cp.ConvTransposeSpec(
        in_channels=2, out_channels=2, kernel_size=3, stride=2, padding=1, dilation=3, bias=False
    ),
    (2, 3, 4),
)

#: (planted in, name, wrong rule, general proof kind, the sub-result it breaks, layer)
WRONG_RULES: list[tuple[str, str, Rule, str, int, tuple[Any, Any]]] = [
    ("tap_source", "padding sign flipped", _tap(lambda a, u, s, d, p: a * s + u * d + p),
     "conv", 0, _CONV),
    ("tap_source", "stride and dilation swapped", _tap(lambda a, u, s, d, p: a * d + u * s - p),
     "conv", 0, _CONV),
    ("tap_source", "off by one", _tap(lambda a, u, s, d, p: a * s + u * d - p + 1),
     "conv", 0, _CONV),
    ("tap_source", "off by minus one", _tap(lambda a, u, s, d, p: a * s + u * d - p - 1),
     "conv", 0, _CONV),
    ("tap_source", "dilation dropped", _tap(lambda a, u, s, d, p: a * s + u - p),
     "conv", 0, _CONV),
    ("tap_source", "stride dropped", _tap(lambda a, u, s, d, p: a + u * d - p),
     "conv", 0, _CONV),
    ("tap_source", "kernel flipped", _tap(lambda a, u, s, d, p: a * s - u * d + p),
     "conv", 0, _CONV),
    ("tap_source", "padding sign flipped (stride proof)",
     _tap(lambda a, u, s, d, p: a * s + u * d + p), "stride", 0, _CONV),
    ("tap_source", "stride and dilation swapped (stride proof)",
     _tap(lambda a, u, s, d, p: a * d + u * s - p), "stride", 0, _CONV),
    ("tap_source", "dilation dropped (stride proof)", _tap(lambda a, u, s, d, p: a * s + u - p),
     "stride", 0, _CONV),
    ("group_input_start", "group size of the input used for the output",
     _group(lambda c, og, ig: (c // ig) * ig), "conv", 1, _GROUPED),
    ("group_input_start", "remainder instead of quotient",
     _group(lambda c, og, ig: (c % og) * ig), "conv", 1, _GROUPED),
    ("group_input_start", "output group size as the block width",
     _group(lambda c, og, ig: (c // og) * og), "conv", 1, _GROUPED),
    ("group_input_start", "every channel reads group 0", _group(lambda c, og, ig: 0 * c),
     "conv", 1, _GROUPED),
    ("group_input_start", "one block too far", _group(lambda c, og, ig: (c // og + 1) * ig),
     "conv", 1, _GROUPED),
    ("scatter_target", "padding sign flipped", _tap(lambda j, u, s, d, p: j * s + u * d + p),
     "conv_transpose", 0, _TRANSPOSED),
    ("scatter_target", "stride and dilation swapped",
     _tap(lambda j, u, s, d, p: j * d + u * s - p), "conv_transpose", 0, _TRANSPOSED),
    ("scatter_target", "off by one", _tap(lambda j, u, s, d, p: j * s + u * d - p + 1),
     "conv_transpose", 0, _TRANSPOSED),
    ("scatter_target", "dilation dropped", _tap(lambda j, u, s, d, p: j * s + u - p),
     "conv_transpose", 0, _TRANSPOSED),
    ("scatter_target", "kernel flipped (a gather read as a scatter)",
     _tap(lambda j, u, s, d, p: j * s - u * d + p), "conv_transpose", 0, _TRANSPOSED),
]  # fmt: skip


@pytest.mark.parametrize(
    ("attr", "name", "rule", "kind", "part", "layer"),
    WRONG_RULES,
    ids=[f"{row[0]}: {row[1]}" for row in WRONG_RULES],
)
def test_planted_rule_is_refuted_symbolically_and_concretely(
    monkeypatch: pytest.MonkeyPatch,
    attr: str,
    name: str,
    rule: Rule,
    kind: str,
    part: int,
    layer: tuple[Any, Any],
) -> None:
    monkeypatch.setattr(index, attr, rule)
    general = cp.prove_general(kind=kind, ndim=2, spot_check=False)
    assert general.status == "refuted", f"{name}: {general.status}"
    step = general.checks[part]
    assert step.statement.startswith("symbolic:")
    assert step.status == "refuted", f"{name}: symbolic step {step.status}"
    assert (step.reason or "").startswith("counterexample at ")
    assert step.steps[-1] == "matrix side = definition: NOT identical"
    spec, shape = layer
    concrete = cp.prove(spec, shape, crosscheck=False)
    assert concrete.status == "refuted", f"{name}: matrix_entries not refuted"
    weight = np.arange(1, math.prod(spec.weight_shape) + 1, dtype=np.int64).reshape(
        spec.weight_shape
    )
    for build in (
        lambda: {"matrix": cp.conv_matrix(spec, shape)},  # SymPy matrix
        lambda: {"matrix": cp.conv_matrix(spec, shape, weight), "weight": weight},  # CSR
    ):
        try:
            verdict = cp.prove(spec, shape, **build()).status
        except Exception:  # the planted group rule reads channels past the last column
            assert attr == "group_input_start", name
            continue
        assert verdict == "refuted", name


@pytest.mark.parametrize("kind", ["conv", "conv_transpose", "stride"])
def test_correct_rules_are_proved_symbolically_and_concretely(kind: str) -> None:
    general = cp.prove_general(kind=kind, ndim=2, spot_check=False)
    assert general.status == "proved"
    assert all(c.status == "proved" for c in general.checks)
    for spec, shape in (_CONV, _GROUPED, _TRANSPOSED):
        assert cp.prove(spec, shape, crosscheck=False).status == "proved"
        assert cp.prove(spec, shape, matrix=cp.conv_matrix(spec, shape)).status == "proved"
        weight = np.arange(1, math.prod(spec.weight_shape) + 1, dtype=np.int64).reshape(
            spec.weight_shape
        )
        numeric = cp.conv_matrix(spec, shape, weight)
        assert cp.prove(spec, shape, matrix=numeric, weight=weight).status == "proved"


# --------------------------------------------------------------------------------------
# formula theorems
# --------------------------------------------------------------------------------------

S = cp.SYMBOLS
i, k, s, d, p = (S[n] for n in ("i", "k", "s", "d", "p"))
k_eff = d * (k - 1) + 1

#: (name, wrong formula, the derived formula it claims to equal, domain)
WRONG_FORMULAS: list[tuple[str, Any, str]] = [
    ("PyTorch conv, padding counted once", sympy.floor((i + p - k_eff) / s) + 1, "symmetric"),
    ("PyTorch conv, ceil instead of floor", sympy.ceiling((i + 2 * p - k_eff) / s) + 1,
     "symmetric"),
    ("PyTorch conv, dilation dropped", sympy.floor((i + 2 * p - k) / s) + 1, "symmetric"),
    ("PyTorch conv, no + 1", sympy.floor((i + 2 * p - k_eff) / s), "symmetric"),
    ("TF SAME as floor(i/s)", sympy.floor(i / s), "SAME_UPPER"),
    ("TF SAME as ceil(i/s) + 1", sympy.ceiling(i / s) + 1, "SAME_UPPER"),
    ("TF VALID as ceil((i - k_eff)/s)", sympy.ceiling((i - k_eff) / s), "valid"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "wrong", "padding"), WRONG_FORMULAS)
def test_wrong_framework_formula_is_refuted(name: str, wrong: Any, padding: str) -> None:
    derived = cp.output_size_formula("conv", padding=padding)
    proof = cp.prove_formula_equal(derived.expr, wrong, domain=derived.domain)
    assert proof.status == "refuted", name
    assert not proof and proof.counterexample


def test_wrong_pool_ceil_formula_is_refuted() -> None:
    derived = cp.output_size_formula("pool", padding="symmetric", ceil_mode=True)
    wrong = sympy.ceiling((i + 2 * p - k_eff) / s) + 1  # never drops the last window
    proof = cp.prove_formula_equal(
        derived.expr, wrong, domain=(*derived.domain, sympy.Le(2 * p, k))
    )
    assert proof.status == "refuted" and proof.counterexample


@pytest.mark.parametrize("name", ["tf_same", "pytorch_pool_ceil"])
def test_planted_framework_formula_is_refuted(name: str, monkeypatch: Any) -> None:
    """The two theorems once "proved" by an argument: a planted wrong formula is refuted
    (by the grid, before any case split runs)."""
    wrong = {
        "tf_same": ("TF SAME (planted: floor)", sympy.floor(i / s)),
        "pytorch_pool_ceil": ("planted: no drop", sympy.ceiling((i + 2 * p - k_eff) / s) + 1),
    }[name]
    monkeypatch.setitem(theorems._FRAMEWORK, name, wrong)
    proof = theorems._framework_proof(name)  # uncached
    assert proof.status == "refuted" and proof.counterexample


@pytest.mark.parametrize(
    ("claim", "facts"),
    [
        ("ceiling(i/s) - floor(i/s)", []),  # differs whenever s does not divide i
        ("floor((i + s)/s) - floor(i/s)", []),  # = 1, not 0
        ("Max(0, i - s) - (i - s)", []),  # differs for i < s
        ("floor(op/s)", []),  # 0 only when op < s: the domain is missing
        ("floor(op/s) - 1", ["s - op - 1"]),  # with it, the value is 0, not 1
    ],
)
def test_case_split_never_proves_a_false_claim(claim: str, facts: list[str]) -> None:
    from convproof.formulas.decide import prove_by_cases

    names = {n: cp.SYMBOLS[n] for n in ("i", "s", "op")}
    expr = sympy.sympify(claim, locals=names)
    assert prove_by_cases(expr, [sympy.sympify(f, locals=names) for f in facts]) is None


def test_wrong_relationship_is_refuted() -> None:
    """Dumoulin & Visin's relationship 6 with the padding counted once: refuted."""
    derived = cp.output_size_formula("conv", padding="symmetric").expr.subs(d, 1)
    proof = cp.prove_formula_equal(
        derived, sympy.floor((i + p - k) / s) + 1, domain=[sympy.Ge(i + 2 * p, k)]
    )
    assert proof.status == "refuted"


def test_correct_formula_theorems_are_proved() -> None:
    proofs = cp.framework_formula_proofs()
    assert {name: proof.status for name, proof in proofs.items()} == dict.fromkeys(proofs, "proved")
    assert all(r.status == "proved" for r in cp.relationships())


@pytest.mark.parametrize(
    ("claim", "facts"),
    [
        ("floor((i + s)/s) - floor(i/s) - 1", []),
        ("Max(i, s) + Min(i, s) - i - s", []),
        ("floor(op/s)", ["s - op - 1"]),
        ("ceiling(i/s) - floor((i + s - 1)/s)", []),
        ("Min(i, s) - i + Max(0, i - s)", []),
    ],
)
def test_case_split_proves_true_claims(claim: str, facts: list[str]) -> None:
    """The correct counterparts of the false claims above (each checked on a grid too)."""
    from convproof.formulas.decide import prove_by_cases

    names = {n: cp.SYMBOLS[n] for n in ("i", "s", "op")}
    expr = sympy.sympify(claim, locals=names)
    fact_exprs = [sympy.sympify(f, locals=names) for f in facts]
    assert prove_by_cases(expr, fact_exprs) is not None
    for iv in range(1, 8):
        for sv in range(1, 5):
            for ov in range(0, 5):
                env = {names["i"]: iv, names["s"]: sv, names["op"]: ov}
                if all(f.xreplace(env) >= 0 for f in fact_exprs):
                    assert expr.xreplace(env) == 0


@pytest.mark.parametrize(
    ("lhs", "rhs", "domain"),
    [
        ("floor(i/10)", "0", []),  # holds on the default grid i = 1..9 only
        ("Max(i, 10)", "10", []),
        ("Min(i, 10)", "i", []),
        ("floor((i + k)/(s + 13))", "0", []),
        ("ceiling(i/(s + 9))", "1", []),
        ("floor(op/(s + 3))", "0", ["op <= 2*s + 6"]),  # grid op <= 3; false for op = s + 3
        ("Piecewise((1, i < 10), (0, True))", "1", []),
    ],
)
def test_claims_true_on_the_grid_only_are_never_proved(lhs: str, rhs: str, domain: list) -> None:
    """The grid cannot see these (they fail only beyond it): the symbolic route must not
    prove them, so they end inconclusive (or verified when an argument is given)."""
    names = {n: cp.SYMBOLS[n] for n in ("i", "k", "s", "op")}
    left, right = (sympy.sympify(x, locals=names) for x in (lhs, rhs))
    dom = [sympy.sympify(c, locals=names) for c in domain]
    proof = cp.prove_formula_equal(left, right, domain=dom)
    assert proof.status == "inconclusive" and proof.grid_points > 0, proof
    argued = cp.prove_formula_equal(left, right, domain=dom, argument="(a wrong argument)")
    assert argued.status == "verified" and not argued.proved
    assert any("grid points" in a for a in argued.assumptions)


# --------------------------------------------------------------------------------------
# the decision procedure under the case split and the group proof
# --------------------------------------------------------------------------------------

_a, _b = sympy.symbols("a b", integer=True, nonnegative=True)
_n = sympy.Symbol("n", integer=True)


@pytest.mark.parametrize(
    ("x", "facts", "expected"),
    [
        (_a, [], True),
        (_a - 1, [], False),
        (_a - _b, [], False),
        (_a - _b, [_a - _b - 1], True),  # from one fact
        (_a - _b, [_a, _b], False),  # a - b >= 0 does not follow from a, b >= 0
        (2 * _a - _b - 1, [_a - 1, _a - _b], True),  # from the sum of two facts
        (_a - 2 * _b, [_a - _b, _b], False),
        (_n, [], False),  # no sign assumption
        ((_a + 1) / (_b + 1), [], True),  # a quotient: numerator >= 0, denominator >= 1
        ((_a - 1) / (_b + 1), [], False),
        (_a / (_n + 1), [], False),  # denominator of unknown sign
    ],
)
def test_nonnegative_is_sound(x: Any, facts: list[Any], expected: bool) -> None:
    from convproof.formulas.decide import nonnegative

    assert nonnegative(x, facts) is expected


@pytest.mark.parametrize(
    ("rel", "facts", "expected"),
    [
        (sympy.Ge(_a + 1, _a, evaluate=False), [], sympy.true),
        (sympy.Ge(_a, _a + 1, evaluate=False), [], sympy.false),
        (sympy.Le(_a + 1, _a, evaluate=False), [], sympy.false),
        (sympy.Le(_a, _a + 1, evaluate=False), [], sympy.true),
        (sympy.Gt(_a + 1, _a, evaluate=False), [], sympy.true),
        (sympy.Gt(_a, _a, evaluate=False), [], sympy.false),
        (sympy.Lt(_a, _a + 1, evaluate=False), [], sympy.true),
        (sympy.Lt(_a, _a, evaluate=False), [], sympy.false),
        (sympy.Ge(_a, _b, evaluate=False), [], None),  # undecided: left unchanged
        (sympy.Le(_a, _b, evaluate=False), [], None),
        (sympy.Ge(_a, _b, evaluate=False), [_a - _b], sympy.true),
        (sympy.Lt(_a, _b, evaluate=False), [_a - _b], sympy.false),
    ],
)
def test_relation_value_is_sound(rel: Any, facts: list[Any], expected: Any) -> None:
    from convproof.formulas.decide import relation_value

    got = relation_value(rel, facts)
    assert got == (rel if expected is None else expected)


def test_decide_evaluates_only_what_the_signs_fix() -> None:
    from convproof.formulas.decide import decide

    assert decide(sympy.Max(_a, _a + 1)) == _a + 1
    assert decide(sympy.Min(_a, _a + 1)) == _a
    assert decide(sympy.Max(_a, _b)) == sympy.Max(_a, _b)
    assert decide(sympy.floor((_a * (_b + 1) + _b) / (_b + 1))) == _a
    assert decide(sympy.floor(_a / (_b + 1))) == sympy.floor(_a / (_b + 1))
    assert decide(sympy.ceiling((_a + 1) / (_a + 2))) == 1
    assert decide(sympy.ceiling(_a / (_a + 1))) != 1  # 0 at a = 0: must stay undecided
    piece = sympy.Piecewise((_a, _a >= _a + 1), (_b, True))
    assert decide(piece) == _b


def test_extrema_and_empty_cases_use_the_facts() -> None:
    from convproof.formulas.decide import _empty, decide

    assert decide(sympy.Max(_a, _b), [_a - _b]) == _a
    assert decide(sympy.Min(_a, _b), [_a - _b]) == _b
    assert decide(sympy.Max(_a, _b), [_b - _a - 1]) == _b
    assert _empty([_b - _a, _a - _b - 1])  # the two facts add up to -1: no integer point
    assert _empty([-_a - 1])
    assert not _empty([_b - _a, _a - _b])  # a = b is a point
    assert not _empty([_a - 1, _b])
