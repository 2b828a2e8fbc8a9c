"""Sign-based decisions and proofs by exhaustive case split (private).

SymPy cannot evaluate ``floor((g*C + r)/C)`` knowing only ``0 <= r < C``, nor
``Max(0, X)`` without the sign of ``X``.  Here every such fact is decided from the signs
of *expanded polynomials* in integer symbols with sign assumptions: an expanded polynomial
whose terms are all nonnegative is nonnegative (SymPy's ``is_nonnegative`` on an ``Add`` of
nonnegative terms), which is sound.  A range such as ``0 <= r <= C - 1`` is encoded by
substituting ``C = r + 1 + e`` with ``e >= 0``.

:func:`prove_by_cases` proves ``expr == 0`` for all integer values of its symbols (within
their assumptions and the given ``facts >= 0``) by splitting into cases:

* a *sign split* on an integer quantity ``X`` in which some symbol ``v`` has coefficient
  +-1: the branch ``X >= 0`` substitutes ``v`` so that ``X = t`` and the branch
  ``X <= -1`` so that ``X = -1 - t`` (``t >= 0`` fresh).  Every integer ``X`` is in exactly
  one branch and ``v`` is recovered from ``t``, so the two branches cover the domain; the
  assumption of ``v`` (e.g. ``v >= 1``) is kept as a fact;
* a *division split* of ``floor(N/D)``: ``N = q*D + r`` with ``D = r + 1 + e`` (``q`` any
  integer, ``r, e >= 0``), i.e. division with remainder, which exists for every ``D >= 1``.

A branch is closed when ``expr`` evaluates to 0 there, or when a fact becomes provably
negative (no integer point is in the branch).  Every substitution is checked mechanically
(``X`` really becomes ``t``), so the case list is exhaustive by construction.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import sympy

__all__ = ["decide", "floor_value", "nonnegative", "prove_by_cases", "relation_value"]


def nonnegative(x: Any, facts: Sequence[Any] = ()) -> bool:
    """``x >= 0`` follows from the signs: ``x`` (expanded), or ``x - F`` for a fact ``F >= 0``,
    is a polynomial whose terms are all nonnegative."""
    num, den = sympy.fraction(sympy.together(x))
    if den != 1:  # a quotient: its sign is the numerator's when the denominator is >= 1
        if not nonnegative(den - 1, facts):
            return False
        x = num
    x = sympy.expand(x)
    if x.is_nonnegative:
        return True
    if any(sympy.expand(x - f).is_nonnegative for f in facts):
        return True
    return any(sympy.expand(x - f - g).is_nonnegative for f, g in itertools.combinations(facts, 2))


def floor_value(arg: Any, facts: Sequence[Any] = ()) -> Any:
    """``floor(N/D)`` as ``q`` when ``0 <= N - q*D <= D - 1`` follows from the signs.

    Candidates ``q`` are the polynomial quotients of ``N`` by ``D`` in each symbol of ``D``.
    """
    num, den = sympy.fraction(sympy.together(arg))
    num, den = sympy.expand(num), sympy.expand(den)
    if not den.free_symbols or not nonnegative(den - 1, facts):
        return sympy.floor(arg)
    for sym in sorted(den.free_symbols, key=lambda x: x.name):
        try:
            q, _ = sympy.div(num, den, sym)
        except (sympy.PolynomialError, sympy.GeneratorsNeeded):  # pragma: no cover
            continue
        if sympy.fraction(sympy.together(q))[1] != 1:
            continue
        for cand in (q, q - 1, q + 1):
            rem = sympy.expand(num - cand * den)
            if nonnegative(rem, facts) and nonnegative(den - 1 - rem, facts):
                return sympy.expand(cand)
    return sympy.floor(arg)


def relation_value(rel: Any, facts: Sequence[Any] = ()) -> Any:
    """A comparison of integers decided by the sign of ``lhs - rhs``, else unchanged."""
    diff = sympy.expand(rel.lhs - rel.rhs)

    def ge0(x: Any) -> bool:
        return nonnegative(x, facts)

    table = {
        ">=": (ge0(diff), ge0(-diff - 1)),
        ">": (ge0(diff - 1), ge0(-diff)),
        "<=": (ge0(-diff), ge0(diff - 1)),
        "<": (ge0(-diff - 1), ge0(diff)),
    }
    if rel.rel_op not in table:
        return rel
    yes, no = table[rel.rel_op]
    if yes:
        return sympy.true
    if no:
        return sympy.false
    return rel


def _extremum_value(e: Any, facts: Sequence[Any] = ()) -> Any:
    """``Max(a, b)`` / ``Min(a, b)`` when the sign of ``a - b`` is known."""
    if len(e.args) != 2:
        return e
    a, b = e.args
    diff = sympy.expand(a - b)
    bigger = a if nonnegative(diff, facts) else b if nonnegative(-diff, facts) else None
    if bigger is None:
        return e
    smaller = b if bigger is a else a
    return bigger if isinstance(e, sympy.Max) else smaller


def decide(expr: Any, facts: Sequence[Any] = ()) -> Any:
    """Evaluate the floors, ceilings, extrema and comparisons the signs (and facts) decide.

    The symbols are integers; ``facts`` are expressions known to be ``>= 0``.
    """
    expr = expr.replace(lambda e: isinstance(e, sympy.ceiling), lambda e: -sympy.floor(-e.args[0]))
    for _ in range(8):
        new = expr.replace(
            lambda e: isinstance(e, sympy.floor), lambda e: floor_value(e.args[0], facts)
        )
        new = new.replace(
            lambda e: isinstance(e, sympy.Max | sympy.Min), lambda e: _extremum_value(e, facts)
        )
        new = new.replace(lambda e: e.is_Relational, lambda e: relation_value(e, facts))
        new = sympy.piecewise_fold(new)
        if new == expr:
            break
        expr = new
    return expr


# --------------------------------------------------------------------------------------
# proof by cases
# --------------------------------------------------------------------------------------


def _lower_bound(sym: Any) -> int | None:
    if sym.is_positive:
        return 1
    if sym.is_nonnegative:
        return 0
    return None


def _unit_symbol(
    x: Any, avoid: set[Any], last: frozenset[Any] = frozenset()
) -> tuple[Any, int] | None:
    """A symbol with coefficient +-1 in the linear part of ``x`` (symbols in ``last``, the
    divisors, then fresh symbols, are tried last)."""
    x = sympy.expand(x)
    ranked = sorted(
        x.free_symbols - avoid, key=lambda v: (v in last, v.name.startswith("_"), v.name)
    )
    for v in ranked:
        c = x.coeff(v, 1)
        if c in (1, -1) and v not in sympy.expand(x - c * v).free_symbols:
            return v, int(c)
    return None


def _undecided(expr: Any, divisions_first: bool = False) -> Iterator[tuple[str, Any]]:
    """Quantities whose sign (or quotient) would let :func:`decide` go further.

    In the order met (each floor's remainder signs, then its division), or with the
    remainder signs after every division (``divisions_first``).
    """
    later: list[tuple[str, Any]] = []
    for kind, quantity in _candidates(expr):
        if divisions_first and kind == "remainder":
            later.append((kind, quantity))
        else:
            yield kind, quantity
    yield from later


def _candidates(expr: Any) -> Iterator[tuple[str, Any]]:
    for e in sympy.preorder_traversal(expr):
        if isinstance(e, sympy.Max | sympy.Min) and len(e.args) == 2:
            yield "sign", e.args[0] - e.args[1]
        elif e.is_Relational and e.rel_op in (">=", ">", "<=", "<"):
            shift = {">=": 0, "<=": 0, ">": -1, "<": 1}[e.rel_op]
            yield "sign", e.lhs - e.rhs + shift
        elif isinstance(e, sympy.floor):
            # first the signs that would fix the quotient candidates, then a division
            num, den = sympy.fraction(sympy.together(e.args[0]))
            num, den = sympy.expand(num), sympy.expand(den)
            for sym in sorted(den.free_symbols, key=lambda x: x.name):
                try:
                    q, _ = sympy.div(num, den, sym)
                except (sympy.PolynomialError, sympy.GeneratorsNeeded):  # pragma: no cover
                    continue
                if sympy.fraction(sympy.together(q))[1] == 1:
                    rem = sympy.expand(num - q * den)
                    yield "remainder", rem
                    yield "remainder", den - 1 - rem
            yield "divide", e.args[0]


def _integer_polynomial(x: Any) -> bool:
    """A polynomial with integer coefficients in integer symbols (so integer-valued)."""
    x = sympy.expand(x)
    if not all(v.is_integer for v in x.free_symbols):
        return False
    try:
        poly = sympy.Poly(x, *sorted(x.free_symbols, key=lambda v: v.name))
    except sympy.PolynomialError:
        return False
    return all(c.is_integer for c in poly.coeffs())


class _Counter:
    def __init__(self, divisions_first: bool = False) -> None:
        self.names = (f"_t{j}" for j in itertools.count())
        self.branches = 0
        self.divisions_first = divisions_first

    def fresh(self, **assumptions: bool) -> Any:
        return sympy.Symbol(next(self.names), integer=True, **assumptions)


def _substitute(expr: Any, facts: list[Any], sym: Any, value: Any) -> tuple[Any, list[Any]]:
    new_facts = [sympy.expand(f.xreplace({sym: value})) for f in facts]
    low = _lower_bound(sym)
    if low is not None:  # the replaced symbol's own assumption becomes a fact
        new_facts.append(sympy.expand(value - low))
    return expr.xreplace({sym: value}), new_facts


def _branches(
    expr: Any, facts: list[Any], kind: str, quantity: Any, counter: _Counter
) -> list[tuple[Any, list[Any], str]] | None:
    """The exhaustive sub-cases of one split, each substitution checked mechanically."""
    if kind == "sign":
        num, den = sympy.fraction(sympy.together(quantity))
        if den != 1:  # the sign of a quotient is the numerator's (denominator >= 1)
            if not nonnegative(den - 1, facts):
                return None
            quantity = sympy.expand(num)
        if not _integer_polynomial(quantity):
            return None  # "X >= 0 or X <= -1" needs an integer X
        divisors = frozenset().union(
            *(
                sympy.fraction(sympy.together(f.args[0]))[1].free_symbols
                for f in expr.atoms(sympy.floor)
            )
        )
        found = _unit_symbol(quantity, set(), divisors)
        if found is None:
            return None
        v, c = found
        t = counter.fresh(nonnegative=True)
        rest = sympy.expand(quantity - c * v)
        out = []
        for target, label in ((t, ">= 0"), (-1 - t, "<= -1")):
            value = sympy.expand((target - rest) / c)
            assert sympy.expand(quantity.xreplace({v: value}) - target) == 0
            e2, f2 = _substitute(expr, facts, v, value)
            out.append((e2, f2, f"{sympy.sstr(quantity)} {label}"))
        return out
    num, den = sympy.fraction(sympy.together(quantity))
    num, den = sympy.expand(num), sympy.expand(den)
    if not den.free_symbols or not nonnegative(den - 1, facts):
        return None  # division with remainder needs a divisor >= 1
    if not (_integer_polynomial(num) and _integer_polynomial(den)):
        return None
    found_den = _unit_symbol(den, set())
    found_num = _unit_symbol(num, den.free_symbols)
    if found_den is None or found_num is None:
        return None
    (dv, dc), (nv, nc) = found_den, found_num
    q = counter.fresh()
    r, e = counter.fresh(nonnegative=True), counter.fresh(nonnegative=True)
    t = counter.fresh(nonnegative=True)
    # N = q*D + r, then D = r + 1 + e (0 <= r <= D - 1): division with remainder
    n_value = sympy.expand((q * den + r - (num - nc * nv)) / nc)
    assert sympy.expand(num.xreplace({nv: n_value}) - (q * den + r)) == 0
    e1, f1 = _substitute(expr, facts, nv, n_value)
    d_rest = sympy.expand(den - dc * dv)
    d_value = sympy.expand((r + 1 + e - d_rest) / dc)
    assert sympy.expand(den.xreplace({dv: d_value}) - (r + 1 + e)) == 0
    e2, f2 = _substitute(e1, f1, dv, d_value)
    label = f"{sympy.sstr(num)} = q*({sympy.sstr(den)}) + r, 0 <= r < divisor"
    # the quotient q is any integer: q = t >= 0 or q = -1 - t <= -1
    return [
        (e2.xreplace({q: t}), [sympy.expand(f.xreplace({q: t})) for f in f2], f"{label}, q >= 0"),
        (
            e2.xreplace({q: -1 - t}),
            [sympy.expand(f.xreplace({q: -1 - t})) for f in f2],
            f"{label}, q <= -1",
        ),
    ]


def _empty(facts: Sequence[Any]) -> bool:
    """Some fact, or the sum of two (one possibly doubled), is provably negative."""
    if any(nonnegative(-f - 1) for f in facts):
        return True
    for f, g in itertools.combinations(facts, 2):
        for a, b in ((1, 1), (2, 1), (1, 2)):
            if nonnegative(-(a * f + b * g) - 1):
                return True
    return False


def _prove(
    expr: Any,
    facts: list[Any],
    depth: int,
    counter: _Counter,
    limit: int,
    hints: Sequence[tuple[str, Any]] = (),
) -> tuple[bool, int]:
    counter.branches += 1
    if counter.branches > limit:
        return False, 0
    if _empty(facts):
        return True, 1  # an empty case: facts that must be >= 0 add up to a negative
    value = sympy.expand(decide(expr, facts))
    if value == 0:
        return True, 1
    if depth == 0:
        return False, 0
    for kind, quantity in (*hints, *_undecided(value, counter.divisions_first)):
        kind = "sign" if kind == "remainder" else kind
        if kind == "sign" and (nonnegative(quantity, facts) or nonnegative(-quantity - 1, facts)):
            continue  # already decided: splitting would only rename a symbol
        cases = _branches(value, facts, kind, quantity, counter)
        if cases is None:
            continue
        total = 0
        for e2, f2, _ in cases:
            ok, n = _prove(e2, f2, depth - 1, counter, limit)
            if not ok:
                return False, 0
            total += n
        return True, total
    return False, 0


def prove_by_cases(
    expr: Any,
    facts: Sequence[Any] = (),
    *,
    first: tuple[str, Any] | None = None,
    depth: int = 8,
    limit: int = 400,
) -> int | None:
    """Prove ``expr == 0`` on every integer point (symbols' assumptions, ``facts >= 0``).

    ``first`` is an optional first split, ``("sign", X)`` or ``("divide", N/D)``; the
    others are chosen from the undecided quantities.  Returns the number of closed cases,
    or ``None`` when the case split did not close (which proves nothing either way).

    Examples
    --------
    >>> import sympy
    >>> from convproof.formulas.decide import prove_by_cases
    >>> i, s = sympy.symbols("i s", integer=True, positive=True)
    >>> prove_by_cases(sympy.ceiling(i / s) - sympy.floor((i + s - 1) / s))
    2
    >>> prove_by_cases(sympy.ceiling(i / s) - sympy.floor(i / s)) is None
    True
    """
    # two strategies (which splits to try first); either one closing every case proves it
    for divisions_first in (False, True):
        counter = _Counter(divisions_first)
        start = sympy.sympify(expr)
        known = [sympy.sympify(f) for f in facts]
        # v >= 1 as v = v' + 1 with v' >= 0, so that every sign is structural
        syms = set(start.free_symbols).union(*(f.free_symbols for f in known))
        shift = {v: counter.fresh(nonnegative=True) + 1 for v in syms if v.is_positive}
        start = start.xreplace(shift)
        known = [sympy.expand(f.xreplace(shift)) for f in known]
        hints = () if first is None else ((first[0], sympy.sympify(first[1]).xreplace(shift)),)
        ok, closed = _prove(start, known, depth, counter, limit, hints)
        if ok:
            return closed
    return None
