"""Proofs that two size formulas are equal: :func:`prove_formula_equal` and its result.

SymPy simplification first (with two small, stated lemmas about integer division), then an
exhaustive case split on signs and residues (division with remainder, each case decided
symbolically by :mod:`convproof.formulas.decide`).  Where neither finishes, a written
argument plus an exact check on a grid is only ``"verified"`` (with the grid in ``scope``
and what it rests on in ``assumptions``), never ``"proved"``.

Examples
--------
>>> import convproof as cp
>>> f = cp.output_size_formula("pool", padding="symmetric")
>>> g = cp.output_size_formula("conv", padding="symmetric")
>>> cp.prove_formula_equal(f.expr, g.expr).status
'proved'
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy
from sympy import Symbol, ceiling, floor

from convproof.errors import ConvProofError
from convproof.formulas.decide import prove_by_cases
from convproof.formulas.derived import _compile

__all__ = ["FormulaProof", "prove_formula_equal"]

# --------------------------------------------------------------------------------------
# proofs
# --------------------------------------------------------------------------------------

_DEFAULT_RANGES: dict[str, range] = {
    "i": range(1, 10),
    "i_t": range(1, 7),
    "k": range(1, 5),
    "s": range(1, 5),
    "d": range(1, 3),
    "p": range(0, 4),
    "p_l": range(0, 4),
    "p_r": range(0, 4),
    "op": range(0, 4),
    "n": range(0, 4),
    "m": range(0, 4),
    "q": range(0, 4),
    "a": range(0, 4),
}


@dataclass(frozen=True)
class FormulaProof:
    """The result of :func:`prove_formula_equal`: truthy iff proved or verified.

    Attributes
    ----------
    status : {"proved", "verified", "refuted", "inconclusive"}
        ``"proved"``: a symbolic proof for every integer point of the domain.
        ``"verified"``: only a written argument (not machine-checked) plus the exact grid
        (``assumptions`` and ``scope`` say which).  ``"refuted"``: ``counterexample``.
        ``"inconclusive"``: only the grid agreed and there is no argument.
    method : str
        ``"sympy"`` (the difference simplifies to 0), ``"sympy with lemmas"`` (after the
        listed lemmas), ``"sympy, case split"`` (an exhaustive case split on signs and
        residues, each case decided symbolically; ``cases`` closed cases),
        ``"argument + exhaustive grid"`` (status ``"verified"``), ``"grid only"`` (status
        ``"inconclusive"``), or ``"grid"`` for a refutation.
    lhs, rhs : sympy.Expr
        After substituting the conditions.
    conditions : tuple of str
        The theorem's conditions: the caller's text, the domain, and the symbols' signs.
    lemmas : tuple of str
        The lemmas the symbolic proof used.
    argument : str or None
    grid_points : int
        Points checked exactly (all agreed unless refuted).
    counterexample : dict or None
        Symbol values where the two sides differ (refuted only).
    cases : int
        Cases closed by the case split (``"sympy, case split"`` only).
    scope : dict
        What was covered: ``"domain"`` (symbolic) or the ``"grid"`` ranges checked.
    assumptions : tuple of str
        What a ``"verified"`` result rests on.

    Examples
    --------
    >>> import convproof as cp, sympy
    >>> i, s = cp.SYMBOLS["i"], cp.SYMBOLS["s"]
    >>> proof = cp.prove_formula_equal(sympy.floor((i + s) / s), sympy.floor(i / s) + 1)
    >>> bool(proof), proof.method, proof.grid_points
    (True, 'sympy', 36)
    """

    status: str
    method: str
    lhs: Any
    rhs: Any
    conditions: tuple[str, ...] = ()
    lemmas: tuple[str, ...] = ()
    argument: str | None = None
    grid_points: int = 0
    counterexample: dict[str, int] | None = None
    cases: int = 0
    scope: dict[str, Any] = field(default_factory=dict)
    assumptions: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.status in ("proved", "verified")

    @property
    def proved(self) -> bool:
        """``True`` iff the status is ``"proved"`` (``bool`` also accepts verified)."""
        return self.status == "proved"


_LEMMA_CEIL = "ceiling(a/b) = floor((a + b - 1)/b) for integers a and b > 0"
_LEMMA_SHIFT = "floor(x + n) = floor(x) + n for integer n (SymPy applies it)"


def _rewrite_ceilings(expr: Any, used: list[str]) -> Any:
    def rule(arg: Any) -> Any:
        num, den = sympy.fraction(sympy.together(arg))
        if num.is_integer and den.is_integer and den.is_positive:
            if _LEMMA_CEIL not in used:
                used.append(_LEMMA_CEIL)
            return floor((num + den - 1) / den)
        return ceiling(arg)

    return expr.replace(lambda e: isinstance(e, ceiling), lambda e: rule(e.args[0]))


def _normalize(expr: Any, facts: Mapping[Any, Any], used: list[str]) -> Any:
    """Expand, rewrite integer ceilings, apply facts; repeat until stable."""
    simplified = False
    for _ in range(6):
        before = expr
        expr = _rewrite_ceilings(expr, used)
        expr = sympy.expand(expr)
        for known, value in facts.items():
            if expr.has(known):
                expr = expr.subs(known, value)
        if expr == 0:
            return expr
        if expr == before:  # expansion stalled: simplify once (slow), then give up
            if simplified:
                break
            expr = sympy.expand(sympy.simplify(expr))
            simplified = True
    return expr


def _grid_ranges(
    syms: Sequence[Symbol], grid: Mapping[str, Iterable[int]] | None
) -> dict[str, str]:
    """The grid's range per symbol, as text (for ``scope``)."""
    out = {}
    for sym in syms:
        given = (grid or {}).get(sym.name)
        if given is None:
            given = _DEFAULT_RANGES.get(sym.name, range(0, 4) if sym.is_nonnegative else None)
        values = list(given or ())
        out[sym.name] = f"{min(values)}..{max(values)}" if values else "none"
    return out


def _domain_facts(dom: Sequence[Any]) -> list[Any] | None:
    """Domain relationals as expressions that must be ``>= 0`` (None if one is not one)."""
    facts: list[Any] = []
    for c in dom:
        if not getattr(c, "is_Relational", False):
            return None
        lhs, rhs = c.lhs, c.rhs
        if c.rel_op == ">=":
            facts.append(lhs - rhs)
        elif c.rel_op == ">":
            facts.append(lhs - rhs - 1)
        elif c.rel_op == "<=":
            facts.append(rhs - lhs)
        elif c.rel_op == "<":
            facts.append(rhs - lhs - 1)
        elif c.rel_op == "==":
            facts.extend((lhs - rhs, rhs - lhs))
        else:
            return None
    return facts


def _sign_conditions(syms: Sequence[Symbol]) -> tuple[str, ...]:
    """``"i, k, s integers >= 1"``-style statements of the symbols' assumptions."""
    groups: dict[str, list[str]] = {}
    for sym in syms:
        kind = ">= 1" if sym.is_positive else ">= 0" if sym.is_nonnegative else "any"
        groups.setdefault(kind, []).append(sym.name)
    return tuple(
        f"{', '.join(names)} integer{'s' if len(names) > 1 else ''}"
        + ("" if kind == "any" else f" {kind}")
        for kind, names in groups.items()
    )


_LEMMA_CASES = (
    "division with remainder (N = q*D + r, 0 <= r <= D - 1, for D >= 1) and the sign "
    "trichotomy of integers, each case decided from the signs of expanded polynomials"
)


def _grid(
    syms: Sequence[Symbol], grid: Mapping[str, Iterable[int]] | None
) -> Iterable[dict[Symbol, int]]:
    ranges = []
    for sym in syms:
        given = (grid or {}).get(sym.name)
        if given is None:
            given = _DEFAULT_RANGES.get(sym.name, range(0, 4) if sym.is_nonnegative else None)
        if given is None:
            raise ConvProofError(f"grid must give a range for symbol {sym.name}, got grid={grid!r}")
        ranges.append(list(given))
    for combo in itertools.product(*ranges):
        yield dict(zip(syms, combo))


def prove_formula_equal(
    lhs: Any,
    rhs: Any,
    *,
    substitutions: Mapping[Any, Any] | None = None,
    domain: Sequence[Any] = (),
    facts: Mapping[Any, Any] | None = None,
    argument: str | None = None,
    grid: Mapping[str, Iterable[int]] | None = None,
    conditions: Sequence[str] = (),
) -> FormulaProof:
    """Prove two integer formulas equal: SymPy first, else a stated argument plus a grid.

    Steps: (1) apply ``substitutions`` (the conditions, e.g. ``{s: 1, k: 2*n + 1}``);
    (2) check every point of an exact grid where ``domain`` holds — any difference refutes;
    (3) simplify ``lhs - rhs`` with SymPy after rewriting ``ceiling(a/b)`` of integers as
    ``floor((a + b - 1)/b)`` and substituting ``facts`` (known values such as
    ``floor(op/s) = 0`` when ``0 <= op < s``; each fact is itself proved from the domain
    by a case split, else it is only assumed): 0 proves it; (4) otherwise an exhaustive case
    split on signs and residues (``N = q*D + r`` with ``0 <= r < D``; ``X >= 0`` or
    ``X <= -1``), each case decided from the signs of expanded polynomials, proves it
    (method ``"sympy, case split"``); (5) otherwise a written ``argument`` plus the grid
    gives ``"verified"`` (its ``assumptions`` say so), and without one ``"inconclusive"``.

    Parameters
    ----------
    lhs, rhs : sympy.Expr
        Integer-valued formulas in integer symbols.
    substitutions : dict, optional
        Symbol -> expression, applied first (the conditions of the claim).
    domain : sequence of sympy relationals
        Where the claim is made (grid points outside are skipped).
    facts : dict, optional
        Sub-expression -> value, used by the symbolic step; also checked on the grid.
    argument : str, optional
        A human proof, reported when SymPy cannot finish (the result is then only
        ``"verified"``: the argument is not machine-checked).
    grid : dict, optional
        Symbol name -> iterable of ints, overriding the small default ranges.
    conditions : sequence of str
        Text of the conditions, for reports.

    Returns
    -------
    FormulaProof

    Examples
    --------
    >>> import convproof as cp
    >>> S = cp.SYMBOLS
    >>> i, k, s = S["i"], S["k"], S["s"]
    >>> import sympy
    >>> r = cp.prove_formula_equal(sympy.ceiling((i - k + 1) / s),
    ...                            sympy.floor((i - k) / s) + 1, domain=[i >= k])
    >>> r.status, r.method
    ('proved', 'sympy with lemmas')
    >>> r.lemmas
    ('ceiling(a/b) = floor((a + b - 1)/b) for integers a and b > 0',)
    >>> bad = cp.prove_formula_equal(sympy.floor(i / s), sympy.ceiling(i / s))
    >>> bad.status, bad.counterexample
    ('refuted', {'i': 1, 's': 2})

    A case split proves what simplification cannot (``i = q*s + r``, ``0 <= r < s``):

    >>> cases = cp.prove_formula_equal(sympy.ceiling(i / s), -sympy.floor(-i / s))
    >>> cases.status, cases.method, cases.cases
    ('proved', 'sympy, case split', 1)

    A true claim beyond both (``i(i+1)`` is even) rests on its argument: only verified.

    >>> even = cp.prove_formula_equal(2 * sympy.floor(i * (i + 1) / 2), i * (i + 1),
    ...                               argument="one of i, i + 1 is even")
    >>> even.status, bool(even), even.proved, even.scope
    ('verified', True, False, {'grid': {'i': '1..9'}, 'points': 9})
    >>> for assumption in even.assumptions:
    ...     print(assumption)
    the written argument (not machine-checked)
    checked exactly at the 9 grid points of the domain only
    """
    subs = dict(substitutions or {})
    facts_d = dict(facts or {})
    lhs_s = sympy.sympify(lhs).subs(subs, simultaneous=True)
    rhs_s = sympy.sympify(rhs).subs(subs, simultaneous=True)
    dom = [sympy.sympify(c).subs(subs, simultaneous=True) for c in domain]
    dom = [c for c in dom if c is not sympy.true]
    if any(c is sympy.false for c in dom):
        raise ConvProofError(f"domain is empty after the substitutions, got domain={domain!r}")
    syms: set[Symbol] = set(lhs_s.free_symbols) | set(rhs_s.free_symbols)
    for c in dom:
        syms |= c.free_symbols
    for known, value in facts_d.items():
        syms |= sympy.sympify(known).free_symbols | sympy.sympify(value).free_symbols
    ordered = sorted(syms, key=lambda x: x.name)
    f_l, f_r = _compile(lhs_s), _compile(rhs_s)
    f_dom = [_compile(c) for c in dom]
    f_facts = [(_compile(sympy.sympify(a)), _compile(sympy.sympify(b))) for a, b in facts_d.items()]
    points = 0
    # the theorem's conditions: the caller's text, the domain, and the symbols' signs
    stated = tuple(conditions) + tuple(sympy.sstr(c) for c in dom)
    signs = _sign_conditions(ordered)
    common: dict[str, Any] = dict(lhs=lhs_s, rhs=rhs_s, conditions=stated + signs)
    for env in _grid(ordered, grid):
        if not all(f(env) for f in f_dom):
            continue
        points += 1
        bad_fact = any(a(env) != b(env) for a, b in f_facts)
        if bad_fact or f_l(env) != f_r(env):
            return FormulaProof(
                "refuted",
                "grid",
                grid_points=points,
                counterexample={x.name: v for x, v in env.items()},
                **common,
            )
    used: list[str] = []
    difference = _normalize(lhs_s - rhs_s, facts_d, used)
    facts_dom = _domain_facts(dom)
    # every fact used is itself proved from the domain (a case split), else only assumed
    unproved = [
        f"{a} = {b}"
        for a, b in facts_d.items()
        if facts_dom is None or prove_by_cases(sympy.sympify(a) - b, facts_dom) is None
    ]
    lemmas = tuple(used) + tuple(
        f"{a} = {b}" + ("" if f"{a} = {b}" in unproved else " (proved from the domain by cases)")
        for a, b in facts_d.items()
    )
    symbolic_scope = {"domain": "every integer point (symbols' signs and the domain)"}
    if difference == 0 and not unproved:
        method = "sympy with lemmas" if lemmas else "sympy"
        return FormulaProof(
            "proved", method, lemmas=lemmas, grid_points=points, scope=symbolic_scope, **common
        )
    if facts_dom is not None:
        cases = prove_by_cases(lhs_s - rhs_s, facts_dom)
        if cases is not None:
            return FormulaProof(
                "proved",
                "sympy, case split",
                lemmas=(_LEMMA_CASES,),
                grid_points=points,
                cases=cases,
                scope=symbolic_scope,
                **common,
            )
    grid_scope = {"grid": _grid_ranges(ordered, grid), "points": points}
    if difference == 0:  # symbolic, but resting on facts that were only checked on the grid
        return FormulaProof(
            "verified",
            "sympy with lemmas",
            lemmas=lemmas,
            grid_points=points,
            scope=grid_scope,
            assumptions=tuple(
                f"lemma {text}: checked at the {points} grid points only" for text in unproved
            ),
            **common,
        )
    if argument:
        return FormulaProof(
            "verified",
            "argument + exhaustive grid",
            argument=argument,
            grid_points=points,
            scope=grid_scope,
            assumptions=(
                "the written argument (not machine-checked)",
                f"checked exactly at the {points} grid points of the domain only",
            ),
            **common,
        )
    return FormulaProof("inconclusive", "grid only", grid_points=points, scope=grid_scope, **common)
