"""Tests for convproof.general: proofs for symbolic sizes, each with its numeric spot-check.

The spot-checks are themselves tested: a deliberately wrong delta summation must be caught,
and SymPy's known wrong answer for a delta whose variable has a coefficient is shown.
"""

from __future__ import annotations

import pytest
import sympy
from sympy.concrete.delta import deltasummation

import convproof as cp
from convproof import general


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_conv_identity_with_spot_check(ndim: int) -> None:
    result = cp.prove_general(kind="conv", ndim=ndim, cases=20)
    assert result.status == "proved", str(result)
    assert result.method == "symbolic-delta-summation"
    spot = result.spot_check
    assert spot is not None
    assert spot["passed"] and spot["substitution_cases"] == 20 and spot["concrete_proofs"] >= 3
    assert spot["failures"] == []
    # the derived identity is printed: the delta sum is the definition's Piecewise
    assert "-> identical" in result.steps[3]
    assert "Piecewise" in result.steps[2]


def test_conv_identity_2d_certificate_shows_both() -> None:
    """The general 2-D proof shown together with its numeric spot-check."""
    result = cp.prove_general(kind="conv", ndim=2, cases=30, seed=3)
    text = str(result)
    assert "PROVED" in text and "symbolic-delta-summation" in text
    assert "spot-check: passed at 30 random concrete cases (seed 3, exact integers)" in text
    assert "x(a1*s1 + d1*u1 - p1, a2*s2 + d2*u2 - p2)" in text
    data = result.to_dict()
    assert data["spot_check"]["passed"] is True and data["spot_check"]["seed"] == 3
    assert len(data["steps"]) == len(result.steps) >= 4


@pytest.mark.parametrize("kind", ["conv_transpose", "stride", "output_size"])
@pytest.mark.parametrize("ndim", [1, 2])
def test_other_identities(kind: str, ndim: int) -> None:
    result = cp.prove_general(kind=kind, ndim=ndim, cases=15)
    assert result.status == "proved", str(result)
    assert result.spot_check is not None and result.spot_check["passed"]
    assert not any("NOT" in step for step in result.steps)


def test_all_kinds_at_once() -> None:
    result = cp.prove_general(kind="all", ndim=1, cases=10)
    assert result and [c.statement.split()[0] for c in result.checks] == [
        "T",
        "the",
        "stride",
        "output",
    ]
    assert result.spot_check is not None and result.spot_check["passed"]


def test_output_size_steps_state_the_formula() -> None:
    result = cp.prove_general(kind="output_size", cases=10)
    assert "count = Sum(1, (a, 0, m)) = m + 1" in "\n".join(result.steps)
    assert "floor((-d*(k - 1) + n + p_l + p_r - 1)/s) + 1" in result.steps[-1]


def test_spot_check_catches_a_wrong_delta_summation(monkeypatch: pytest.MonkeyPatch) -> None:
    """If delta summation returned a wrong Piecewise (off-by-one range), the proof must fail."""

    def wrong(expr: sympy.Expr, limit: tuple) -> sympy.Expr:
        j, lo, hi = limit
        return deltasummation(expr, (j, lo, hi + 1))  # sums one element too many

    monkeypatch.setattr(general, "deltasummation", wrong)
    result = cp.prove_general(kind="conv", ndim=1, cases=40)
    assert result.status == "refuted"
    assert result.spot_check is not None and not result.spot_check["passed"]
    assert result.spot_check["failures"]
    assert "NOT shown identical" in result.steps[3]


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
    ("kwargs", "match"),
    [
        ({"kind": "pool"}, "kind must be one of"),
        ({"ndim": 4}, "ndim must be 1, 2 or 3"),
        ({"ndim": True}, "ndim must be 1, 2 or 3"),
        ({"cases": 0}, "cases must be an int >= 1"),
    ],
)
def test_bad_input(kwargs: dict, match: str) -> None:
    with pytest.raises(cp.ConvProofError, match=match):
        cp.prove_general(**kwargs)
