"""Tests for convproof.proofs.general: proofs for symbolic sizes that can fail.

Each general proof compares the index rules of :mod:`convproof.constructions.index` (what the
matrices
are built from) with the definition written in :mod:`convproof.proofs.general`; its result has
one sub-result per symbolic step and one for the numeric spot-check.  Every status
transition is tested here; the table of planted wrong rules is in
``tests/test_general_soundness.py``.

Before issue 11 both sides of the symbolic identity were built from the same inline
formula, so planting a wrong rule left the symbolic step "identical"; these tests fail on
that code (there is no ``convproof.constructions.index.tap_source`` to plant a rule in, no
sub-result per
step, no ``spot_check=False`` and no ``conditions``).
"""

from __future__ import annotations

from typing import Any

import pytest
import sympy
from sympy.concrete.delta import deltasummation

import convproof as cp
from convproof.constructions import index
from convproof.formulas.decide import floor_value
from convproof.proofs import general, general_transposed, symbolic_sizes


def _statuses(result: cp.ProofResult) -> list[str]:
    return [c.status for c in result.checks]


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_conv_identity_with_spot_check(ndim: int) -> None:
    result = cp.prove_general(kind="conv", ndim=ndim, cases=20)
    assert result.status == "proved", str(result)
    assert result.method == "symbolic-delta-summation"
    # spatial rule, group rule, spot-check
    assert _statuses(result) == ["proved", "proved", "verified"]
    assert result.checks[0].statement.startswith("symbolic: T x = the sliding-window sum")
    assert result.checks[1].statement.startswith("symbolic: each output channel reads")
    assert result.checks[2].statement.startswith("spot-check:")
    spot = result.spot_check
    assert spot is not None
    assert spot["passed"] and spot["substitution_cases"] == 20 and spot["concrete_proofs"] >= 3
    assert spot["failures"] == []
    assert "Piecewise" in result.steps[2]
    assert result.steps[4] == "matrix side = definition: identical"
    assert result.assumptions == ()  # a proof rests on no sampled case
    assert any("integer symbol" in c for c in result.conditions)
    assert any("C_out = G*C_og" in c for c in result.conditions)


def test_range_encoding_is_exact() -> None:
    """index <= upper - 1 is encoded as upper = index + 1 + slack: nothing else passes."""
    i, n, e = sympy.symbols("i n e", integer=True, nonnegative=True)
    assert symbolic_sizes.encodes_range(i + 1 + e, i, e)
    assert not symbolic_sizes.encodes_range(i + 2 + e, i, e)  # would cover i <= n - 2 only
    assert not symbolic_sizes.encodes_range(i + e, i, e)  # would allow i = n
    assert not symbolic_sizes.encodes_range(i + 1 + e, i, sympy.Symbol("z", integer=True))
    assert not symbolic_sizes.encodes_range(n, i, e)


def test_channel_step_is_symbolic_in_groups() -> None:
    """Groups are proved with symbolic G, C_out/G, C_in/G (before: prose + groups <= 2)."""
    result = cp.prove_general(kind="conv", ndim=1, spot_check=False)
    channels = result.checks[1]
    assert channels.status == "proved"
    text = "\n".join(result.steps)
    assert "C_ig*floor((C_og*g + r)/C_og)" in text  # the rule, evaluated on symbols
    assert "definition (group g owns input channels" in text and "x(C_ig*g + c)" in text
    assert channels.steps[-1] == "matrix side = definition: identical"


def test_conv_identity_2d_certificate_shows_both() -> None:
    """The general 2-D proof shown together with its numeric spot-check."""
    result = cp.prove_general(kind="conv", ndim=2, cases=30, seed=3)
    text = str(result)
    assert text.startswith("PROVED") and "symbolic-delta-summation" in text
    assert "spot-check: passed at 30 random concrete cases (seed 3, exact integers)" in text
    assert "x(a1*s1 + d1*u1 - p1, a2*s2 + d2*u2 - p2)" in text
    assert "VERIFIED: spot-check:" in text and "PROVED: symbolic:" in text
    assert "condition: zero padding" in text
    data = result.to_dict()
    assert data["spot_check"]["passed"] is True and data["spot_check"]["seed"] == 3
    assert len(data["steps"]) == len(result.steps) >= 4
    assert [c["status"] for c in data["checks"]] == ["proved", "proved", "verified"]
    assert data["conditions"] == list(result.conditions)


@pytest.mark.parametrize(
    ("kind", "statuses"),
    [
        ("conv_transpose", ["proved", "proved", "verified"]),
        ("stride", ["proved", "proved", "proved", "verified"]),
        ("output_size", ["proved", "verified"]),
    ],
)
@pytest.mark.parametrize("ndim", [1, 2])
def test_other_identities(kind: str, statuses: list[str], ndim: int) -> None:
    result = cp.prove_general(kind=kind, ndim=ndim, cases=15)
    assert result.status == "proved", str(result)
    assert _statuses(result) == statuses
    assert result.spot_check is not None and result.spot_check["passed"]
    assert result.spot_check["cases"] == 15 and result.checks[-1].scope["cases"] == 15
    assert 0 <= result.seconds < 600 and all(0 <= c.seconds < 600 for c in result.checks)
    assert not any("NOT" in step for step in result.steps)
    assert result.conditions


def test_transposed_proof_compares_scatter_rule_with_two_definitions() -> None:
    result = cp.prove_general(kind="conv_transpose", ndim=1, spot_check=False)
    scatter, adjoint = result.checks
    assert "scatter definition" in scatter.statement
    assert "forward conv's matrix transposed" in adjoint.statement
    assert "index.scatter_target" in result.steps[0]
    assert scatter.steps == adjoint.steps == ("matrix side = definition: identical",)
    assert any("op < max(s, d)" in c for c in result.conditions)


def test_all_kinds_at_once() -> None:
    result = cp.prove_general(kind="all", ndim=1, cases=10)
    assert result.status == "proved"
    assert [c.statement.split()[0] for c in result.checks] == ["T", "the", "stride", "output"]
    assert result.spot_check is not None and result.spot_check["passed"]
    assert result.conditions and result.assumptions == ()


def test_output_size_states_its_condition_and_the_empty_case() -> None:
    """Issue 11 item 6: the theorem used to state floor(...) + 1 = count with no condition,
    false for n + p_l + p_r < d(k-1) + 1 (n=1, k=5: the formula gives -3, there are 0
    windows).  Now the condition is stated and the empty case proved: count = max(0, ...)."""
    result = cp.prove_general(kind="output_size", cases=10)
    assert result.status == "proved"
    assert any("iff n + p_l + p_r >= d(k-1) + 1" in c for c in result.conditions)
    assert any("count = max(0, floor(...) + 1)" in c for c in result.conditions)
    steps = "\n".join(result.steps)
    assert "count = Sum(1, (a, 0, m)) = m + 1" in steps
    assert "case q < 0: q = -(t + 1)" in steps and "NOT" not in steps
    assert "floor((-d*(k - 1) + n + p_l + p_r - 1)/s) + 1" in result.steps[-1]
    assert "max(0, " in result.steps[-1]
    assert "else 0" in result.statement
    # the example of the issue, by hand: n=1, k=5 (s=d=1, no padding) has no window
    n, k = 1, 5
    assert (n - (k - 1) - 1) // 1 + 1 == -3
    assert sum(1 for a in range(n) if a + k - 1 <= n - 1) == 0


def test_output_size_spot_check_compares_with_max_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    """The spot-check counts windows by brute force; a formula off by one is refuted."""
    real_floor = sympy.floor
    monkeypatch.setattr(general.sympy, "floor", lambda e: real_floor(e) + 1)
    result = cp.prove_general(kind="output_size", cases=30)
    assert result.status == "refuted"
    assert result.checks[-1].status == "refuted"
    assert result.spot_check is not None and result.spot_check["failures"]


# --------------------------------------------------------------------------------------
# status transitions
# --------------------------------------------------------------------------------------


def _undecidable_but_right(a: Any, u: Any, *, stride: Any, dilation: Any, pad_before: Any) -> Any:
    """The correct rule plus ``p // (p + 1)``: 0 for every p >= 0, but SymPy leaves
    ``floor(p/(p + 1))`` unevaluated, so the symbolic step cannot show it identical."""
    return a * stride + u * dilation - pad_before + pad_before // (pad_before + 1)


def test_symbolic_not_confirmed_but_spot_check_passes_is_verified(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(index, "tap_source", _undecidable_but_right)
    result = cp.prove_general(kind="conv", ndim=1, cases=20)
    assert result.status == "verified" and bool(result) and not result.proved
    assert _statuses(result) == ["inconclusive", "proved", "verified"]
    assert result.checks[0].reason == "SymPy did not show the two sides identical"
    assert result.assumptions[0].startswith("not shown symbolically: symbolic: T x")
    assert "checked only at the 20 random concrete cases drawn" in result.assumptions
    assert result.scope["spot-check"].startswith("n <= 12")
    assert "VERIFIED" in str(result) and "assumes:" in str(result)


def test_symbolic_not_confirmed_without_spot_check_is_inconclusive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(index, "tap_source", _undecidable_but_right)
    result = cp.prove_general(kind="conv", ndim=1, spot_check=False)
    assert result.status == "inconclusive" and not result
    assert _statuses(result) == ["inconclusive", "proved"]
    assert result.spot_check is None
    assert "no spot-check" in (result.reason or "")


def test_spot_check_alone_never_proves() -> None:
    """Without the spot-check the symbolic steps decide; with it the status is the same."""
    bare = cp.prove_general(kind="stride", ndim=1, spot_check=False)
    assert bare.status == "proved" and bare.spot_check is None
    assert _statuses(bare) == ["proved", "proved", "proved"]


def test_spot_check_failure_refutes_even_when_symbolic_steps_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A planted failure of the concrete proofs the spot-check runs refutes the theorem."""

    def failing_prove(spec: Any, shape: Any, **kwargs: Any) -> cp.ProofResult:
        return cp.ProofResult("refuted", "coefficient-table", "planted")

    monkeypatch.setattr(general, "prove", failing_prove)
    monkeypatch.setattr(general_transposed, "prove", failing_prove)
    for kind in ("conv", "conv_transpose", "stride"):
        result = cp.prove_general(kind=kind, ndim=1, cases=10)
        assert result.status == "refuted", kind
        assert all(c.status == "proved" for c in result.checks[:-1]), kind
        assert result.checks[-1].status == "refuted"
        assert "concrete proof failed" in (result.checks[-1].reason or "")


def test_a_wrong_delta_summation_is_refuted_by_the_symbolic_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If delta summation returned a wrong Piecewise (one element too many), the symbolic
    step itself finds a concrete point where it differs from the definition."""

    def wrong(expr: sympy.Expr, limit: tuple) -> sympy.Expr:
        j, lo, hi = limit
        return deltasummation(expr, (j, lo, hi + 1))

    monkeypatch.setattr(symbolic_sizes, "deltasummation", wrong)
    result = cp.prove_general(kind="conv", ndim=1, spot_check=False)
    assert result.status == "refuted"
    assert result.checks[0].status == "refuted"
    assert (result.checks[0].reason or "").startswith("counterexample at ")
    assert result.checks[0].steps[-1] == "matrix side = definition: NOT identical"
    with_spot = cp.prove_general(kind="conv", ndim=1, cases=40)
    assert with_spot.status == "refuted" and with_spot.checks[-1].status == "refuted"


def test_all_takes_the_weakest_status(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index, "tap_source", _undecidable_but_right)
    monkeypatch.setattr(
        symbolic_sizes, "same_expr", lambda lhs, rhs: False
    )  # what simplify says, fast
    assert cp.prove_general(kind="all", ndim=1, cases=5).status == "verified"
    assert cp.prove_general(kind="all", ndim=1, spot_check=False).status == "inconclusive"

    def off_by_one(a: Any, u: Any, *, stride: Any, dilation: Any, pad_before: Any) -> Any:
        return a * stride + u * dilation - pad_before + 1

    monkeypatch.setattr(index, "tap_source", off_by_one)
    assert cp.prove_general(kind="all", ndim=1, spot_check=False).status == "refuted"


def test_sympy_delta_with_a_coefficient_drops_divisibility() -> None:
    """Why spot-checks exist: summing KroneckerDelta(o, 2*i) over i ignores 2 | o.

    The explicit sum for o = 1 is 0 (no integer i with 2i = 1); SymPy's closed form
    evaluates to x(1/2).  The general proofs only sum deltas whose variable has
    coefficient 1, and check every derived identity numerically.
    """
    i, o = sympy.symbols("i o", integer=True)
    x = sympy.Function("x")
    closed = deltasummation(sympy.KroneckerDelta(o, 2 * i) * x(i), (i, 0, 3))
    explicit = sum(
        (sympy.KroneckerDelta(1, 2 * k) * x(k) for k in range(4)), start=sympy.Integer(0)
    )
    assert explicit == 0
    assert closed.subs(o, 1) != explicit  # if SymPy fixes this, delete this documentation test


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        # floor((g*C + r)/C) = g when C = r + 1 + e (0 <= r < C)
        ("(g*(r + 1 + e) + r)/(r + 1 + e)", "g"),
        ("r/(r + 1 + e)", "0"),
        ("(r + 1 + e)/(r + 1 + e)", "1"),
        # not decidable from the signs: left alone
        ("(g + r)/(r + 1)", "floor((g + r)/(r + 1))"),
        ("g/(e + 1)", "floor(g/(e + 1))"),
    ],
)
def test_floor_evaluation_is_sound(arg: str, expected: str) -> None:
    names = {n: sympy.Symbol(n, integer=True, nonnegative=True) for n in ("g", "r", "e")}
    value = floor_value(sympy.sympify(arg, locals=names))
    assert value == sympy.sympify(expected, locals=names)
    # and numerically, on a grid
    for g in range(4):
        for r in range(4):
            for e in range(3):
                env = {names["g"]: g, names["r"]: r, names["e"]: e}
                exact = sympy.floor(sympy.sympify(arg, locals=names).xreplace(env))
                assert value.xreplace(env) == exact


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "pool"}, "kind must be one of"),
        ({"ndim": 4}, "ndim must be 1, 2 or 3"),
        ({"ndim": True}, "ndim must be 1, 2 or 3"),
        ({"cases": 0}, "cases must be an int >= 1"),
        ({"spot_check": "no"}, r"spot_check must be True or False, got spot_check='no'"),
    ],
)
def test_bad_input(kwargs: dict, match: str) -> None:
    with pytest.raises(cp.ConvProofError, match=match):
        cp.prove_general(**kwargs)


@pytest.mark.parametrize("ndim", [0, 4, -1, True, 2.0])
def test_prove_general_refuses_ndim_outside_one_to_three(ndim: object) -> None:
    with pytest.raises(cp.ConvProofError, match="ndim must be 1, 2 or 3"):
        cp.prove_general(kind="conv", ndim=ndim)  # type: ignore[arg-type]


def test_output_size_empty_case_step_names_the_slack() -> None:
    """The step for q < 0 states the slack of every window start a >= 0, which is negative."""
    r = cp.prove_general(kind="output_size", ndim=1, spot_check=False)
    empty = [s for c in (r, *r.checks) for s in c.steps if "NOT shown" in s or "shown" in s]
    assert any("-a*s - t - 1 < 0: shown" in s for s in empty), empty
