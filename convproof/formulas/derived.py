"""Shape and count formulas as SymPy expressions, *derived* from the definition, with proofs.

Nothing here is typed in from a reference.  The output-size formula of a convolution is
derived by counting window positions: with symbols ``i, k, s, d`` (positive integers) and
``p_l, p_r`` (non-negative integers), window ``a`` reads padded positions
``a*s .. a*s + k_eff - 1``, so it is valid iff ``a >= 0`` and
``a*s + k_eff - 1 <= i + p_l + p_r - 1``.  Solving for ``a`` (the coefficient ``s`` is
positive) and counting the integers ``0 .. floor(bound)`` with :func:`sympy.summation` gives
``floor((i + p_l + p_r - k_eff)/s) + 1``.  The transposed conv is derived by counting the
positions its scatter reaches, pooling's ``ceil_mode`` by counting windows that start
inside the input or the left padding, and parameter / MAC counts by summing ``1`` over the
weight entries and over the (output position, tap) pairs.

The framework formulas (PyTorch's docs, TF's ``SAME`` / ``VALID``) and each of Dumoulin &
Visin's relationships 1-15 (arXiv:1603.07285) are then *proved* equal to the derived ones
by :func:`prove_formula_equal`: SymPy simplification first (with two small, stated lemmas
about integer division), then an exhaustive case split on signs and residues (division with
remainder, each case decided symbolically).  Where neither finishes, a written argument plus
an exact check on a grid is only ``"verified"`` (with the grid in ``scope`` and what it rests
on in ``assumptions``), never ``"proved"``.  Every result says which method it used.

Examples
--------
>>> import convproof as cp
>>> f = cp.output_size_formula("conv")
>>> f.expr
floor((-d*k + d + i + p_l + p_r - 1)/s) + 1
>>> f.value(i=7, k=3, s=3, d=1, p_l=0, p_r=0)
2
>>> r = cp.relationship(14)
>>> r.status, r.method
('proved', 'sympy with lemmas')
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import sympy
from sympy import Eq, Symbol, ceiling, floor, summation

from convproof.errors import ConvProofError
from convproof.formulas.decide import prove_by_cases

__all__ = [
    "SYMBOLS",
    "Formula",
    "FormulaProof",
    "Relationship",
    "framework_formula",
    "framework_formula_proofs",
    "macs_formula",
    "output_size_formula",
    "params_formula",
    "prove_formula_equal",
    "relationship",
    "relationships",
]

# --------------------------------------------------------------------------------------
# symbols
# --------------------------------------------------------------------------------------


_F = Any


def _cache(fn: _F) -> _F:
    """``functools.cache`` that lets unhashable (bad) arguments reach the validation."""
    cached = functools.cache(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            hash((args, tuple(kwargs.items())))
        except TypeError:
            return fn(*args, **kwargs)
        return cached(*args, **kwargs)

    return wrapper


def _pos(name: str) -> Symbol:
    return Symbol(name, integer=True, positive=True)


def _nonneg(name: str) -> Symbol:
    return Symbol(name, integer=True, nonnegative=True)


i, k, s, d = _pos("i"), _pos("k"), _pos("s"), _pos("d")
p_l, p_r, p, op = _nonneg("p_l"), _nonneg("p_r"), _nonneg("p"), _nonneg("op")
_n, _m, _q, _a = _nonneg("n"), _nonneg("m"), _nonneg("q"), _nonneg("a")
_i_t = _pos("i_t")  # the transposed conv's input size (D&V's i')

#: The symbols of the size formulas, by name (integer, with positivity assumptions):
#: ``i, k, s, d`` positive; ``p_l, p_r, p, op`` non-negative.
SYMBOLS: Mapping[str, Symbol] = {
    "i": i,
    "k": k,
    "s": s,
    "d": d,
    "p_l": p_l,
    "p_r": p_r,
    "p": p,
    "op": op,
}

k_eff = d * (k - 1) + 1

# --------------------------------------------------------------------------------------
# exact evaluation (Fractions, never floats)
# --------------------------------------------------------------------------------------

_Value = Fraction | bool
_Env = Mapping[Symbol, int]


def _compile(expr: Any) -> Callable[[_Env], Any]:
    """Compile a SymPy expression into an exact evaluator over ints / Fractions."""
    if isinstance(expr, bool) or expr in (sympy.true, sympy.false):
        value = bool(expr)
        return lambda env: value
    if expr.is_Symbol:
        return lambda env: env[expr]
    if expr.is_Integer:
        value_z = int(expr)
        return lambda env: value_z
    if expr.is_Rational:
        value_q = Fraction(int(expr.p), int(expr.q))
        return lambda env: value_q
    if isinstance(expr, sympy.Piecewise):
        pieces = [(_compile(e), _compile(c)) for e, c in expr.args]

        def piecewise(env: _Env) -> Any:
            for value_f, cond_f in pieces:
                if cond_f(env):
                    return value_f(env)
            raise ConvProofError(f"no branch of {expr} applies at {dict(env)}")

        return piecewise
    args = [_compile(a) for a in expr.args]
    # ints stay ints (fast); a negative power makes a Fraction; never a float
    if expr.is_Add:
        return lambda env: sum(f(env) for f in args)
    if expr.is_Mul:
        return lambda env: math.prod(f(env) for f in args)
    if expr.is_Pow:
        base, exponent = args[0], expr.args[1]
        if not exponent.is_Integer:
            raise ConvProofError(f"cannot evaluate a non-integer power exactly, got {expr}")
        e = int(exponent)
        if e >= 0:
            return lambda env: base(env) ** e
        return lambda env: Fraction(1) / (base(env) ** -e)
    simple: dict[type, Callable[..., Any]] = {
        floor: math.floor,
        ceiling: math.ceil,
        sympy.Max: max,
        sympy.Min: min,
        sympy.Mod: lambda x, y: x % y,
        sympy.Abs: abs,
        sympy.Ge: lambda x, y: x >= y,
        sympy.Gt: lambda x, y: x > y,
        sympy.Le: lambda x, y: x <= y,
        sympy.Lt: lambda x, y: x < y,
        sympy.Eq: lambda x, y: x == y,
        sympy.Ne: lambda x, y: x != y,
        sympy.And: lambda *xs: all(xs),
        sympy.Or: lambda *xs: any(xs),
        sympy.Not: lambda x: not x,
    }
    for cls, fn in simple.items():
        if isinstance(expr, cls):
            return _apply(fn, args)
    raise ConvProofError(f"cannot evaluate {type(expr).__name__} exactly: {expr}")


def _apply(fn: Callable[..., Any], args: list[Callable[[_Env], Any]]) -> Callable[[_Env], Any]:
    def apply(env: _Env) -> Any:
        return fn(*(f(env) for f in args))

    return apply


def _as_int(value: Any) -> Any:
    if isinstance(value, Fraction) and value.denominator == 1:
        return int(value)
    return value


# --------------------------------------------------------------------------------------
# Formula
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Formula:
    """A derived formula: the SymPy expression, where it holds, and how it was derived.

    Attributes
    ----------
    name : str
    expr : sympy.Expr
    domain : tuple of sympy relationals
        Conditions under which ``expr`` is the answer (e.g. a non-empty output).
    derivation : tuple of str
        The derivation steps, in words and formulas.

    Examples
    --------
    >>> import convproof as cp
    >>> f = cp.output_size_formula("conv_transpose")
    >>> f.expr
    d*(k - 1) + op - p_l - p_r + s*(i - 1) + 1
    >>> f.value(i=8, k=3, s=2, d=1, p_l=1, p_r=1, op=1)
    16
    """

    name: str
    expr: Any
    domain: tuple[Any, ...] = ()
    derivation: tuple[str, ...] = ()

    @property
    def free_symbols(self) -> tuple[Symbol, ...]:
        """The formula's symbols (expression and domain), sorted by name.

        Examples
        --------
        >>> import convproof as cp
        >>> cp.output_size_formula("conv", padding="valid").free_symbols
        (d, i, k, s)
        """
        syms = set(self.expr.free_symbols)
        for cond in self.domain:
            syms |= cond.free_symbols
        return tuple(sorted(syms, key=lambda x: x.name))

    def value(self, **values: int) -> Any:
        """The exact value for integer symbol values (by name); checks the domain.

        Examples
        --------
        >>> import convproof as cp
        >>> cp.output_size_formula("conv", padding="SAME_UPPER").value(i=224, k=7, s=2, d=1)
        112
        """
        env = _env(self.free_symbols, values)
        for cond in self.domain:
            if not _compile(cond)(env):
                raise ConvProofError(
                    f"values {values!r} are outside the formula's domain: {cond} is false"
                )
        return _as_int(_compile(self.expr)(env))

    def __str__(self) -> str:
        where = f"  for {', '.join(map(str, self.domain))}" if self.domain else ""
        return f"{self.name}: {self.expr}{where}"


def _env(syms: Iterable[Symbol], values: Mapping[str, int]) -> dict[Symbol, int]:
    env = {}
    for sym in syms:
        if sym.name not in values:
            raise ConvProofError(
                f"values must give every symbol ({', '.join(x.name for x in syms)}), "
                f"got values={dict(values)!r}"
            )
        v = values[sym.name]
        if isinstance(v, bool) or not isinstance(v, int):
            raise ConvProofError(f"{sym.name} must be an integer, got {sym.name}={v!r}")
        env[sym] = v
    return env


# --------------------------------------------------------------------------------------
# derivations
# --------------------------------------------------------------------------------------


def _count_positions(index: Symbol, last_read: Any, limit: Any) -> tuple[Any, Any, str]:
    """Count ``index >= 0`` with ``last_read(index) <= limit`` (``last_read`` increasing)."""
    coefficient = sympy.diff(last_read, index)
    if not coefficient.is_positive:  # pragma: no cover - all callers have s > 0
        raise ConvProofError(f"cannot orient the inequality: coefficient {coefficient}")
    (bound,) = sympy.solve(Eq(last_read, limit), index)
    count = summation(1, (index, 0, floor(bound)))
    step = (
        f"{last_read} <= {limit}  <=>  {index} <= {bound} (coefficient {coefficient} > 0); "
        f"Sum(1, ({index}, 0, floor({bound}))) = {count}"
    )
    return bound, count, step


def _derive_conv(pl: Any, pr: Any) -> tuple[Any, Any, list[str]]:
    a = _nonneg("a")
    bound, count, step = _count_positions(a, a * s + k_eff - 1, i + pl + pr - 1)
    steps = [
        "window a reads padded positions a*s .. a*s + k_eff - 1, k_eff = d*(k - 1) + 1",
        "valid iff a >= 0 and a*s + k_eff - 1 <= i + p_l + p_r - 1 (last padded position)",
        step,
    ]
    return bound, count, steps


def _derive_transposed() -> tuple[Any, list[str]]:
    j, u, y = _nonneg("j"), _nonneg("u"), _nonneg("y")
    reach = j * s + u * d
    # reach is increasing in j and u (coefficients s, d > 0): extremes at the corners
    assert sympy.diff(reach, j).is_positive and sympy.diff(reach, u).is_positive
    last = reach.subs({j: i - 1, u: k - 1})
    full = summation(1, (y, 0, last))
    expr = full - p_l - p_r + op
    steps = [
        "input j (0..i-1) scatters through tap u (0..k-1) to full-output position j*s + u*d",
        f"increasing in j and u, so positions run from 0 to {last}",
        f"full length Sum(1, (y, 0, {last})) = {full}",
        f"crop p_l at the start and p_r at the end, add output_padding op at the end: {expr}",
    ]
    return expr, steps


def _derive_pool_ceil() -> tuple[Any, list[str]]:
    a = _nonneg("a")
    overhang = a * s + k_eff - 1
    bound_a, _, step_a = _count_positions(a, overhang, i + p_l + p_r - 1 + s - 1)
    bound_b, _, step_b = _count_positions(a, a * s, i + p_l - 1)
    expr = floor(sympy.Min(bound_a, bound_b)) + 1
    steps = [
        "ceil mode: window a may overhang the padded end by at most s - 1 positions, "
        "and must start inside the input or the left padding (a*s <= i + p_l - 1)",
        step_a,
        step_b,
        f"both hold for 0 <= a <= floor(min of the bounds): count {expr}",
    ]
    return expr, steps


_LAYERS = ("conv", "conv_transpose", "pool")
_PADDINGS = {
    "conv": ("explicit", "symmetric", "valid", "same", "full", "SAME_UPPER", "SAME_LOWER"),
    "conv_transpose": ("explicit", "symmetric"),
    "pool": ("explicit", "symmetric", "valid", "SAME_UPPER", "SAME_LOWER"),
}


def _same_total() -> Any:
    return sympy.Max(0, (ceiling(i / s) - 1) * s + k_eff - i)


@_cache
def output_size_formula(
    layer: str = "conv", *, padding: str = "explicit", ceil_mode: bool = False
) -> Formula:
    """The output size along one axis, derived by counting, as a :class:`Formula`.

    Parameters
    ----------
    layer : {"conv", "conv_transpose", "pool"}
    padding : str, default "explicit"
        ``"explicit"`` (``p_l``, ``p_r``), ``"symmetric"`` (``p`` both sides), or a padding
        name the layer accepts: ``"valid"``, ``"same"`` (PyTorch, conv), ``"full"`` (conv),
        ``"SAME_UPPER"`` / ``"SAME_LOWER"`` (TF ``SAME``; conv and pool).
    ceil_mode : bool, default False
        Pooling only: PyTorch's ``ceil_mode`` (windows may overhang the end, but must start
        inside the input or the left padding).

    Returns
    -------
    Formula
        ``.expr`` in :data:`SYMBOLS`, ``.domain`` (non-empty output; for ``ceil_mode``
        also ``p_r <= k_eff``, which PyTorch's ``p <= k/2`` implies), ``.derivation``.

    Examples
    --------
    >>> import convproof as cp
    >>> cp.output_size_formula("conv", padding="symmetric").expr
    floor((-d*k + d + i + 2*p - 1)/s) + 1
    >>> cp.output_size_formula("conv", padding="full").value(i=5, k=3, s=1, d=1)
    7
    >>> cp.output_size_formula("pool", ceil_mode=True).value(
    ...     i=5, k=2, s=2, d=1, p_l=1, p_r=1)
    3
    """
    if layer not in _LAYERS:
        raise ConvProofError(
            f"layer must be one of {', '.join(map(repr, _LAYERS))}, got layer={layer!r}"
        )
    if padding not in _PADDINGS[layer]:
        raise ConvProofError(
            f"padding must be one of {', '.join(map(repr, _PADDINGS[layer]))} for "
            f"layer={layer!r}, got padding={padding!r}"
        )
    if not isinstance(ceil_mode, bool) or (ceil_mode and layer != "pool"):
        raise ConvProofError(
            f"ceil_mode must be False, or True for layer='pool', got ceil_mode={ceil_mode!r}"
        )
    name = f"{layer} output size ({padding} padding{', ceil_mode' if ceil_mode else ''})"
    if layer == "conv_transpose":
        expr, steps = _derive_transposed()
        if padding == "symmetric":
            expr = expr.subs({p_l: p, p_r: p})
            steps.append("symmetric padding: p_l = p_r = p")
        return Formula(name, expr, (sympy.Ge(expr, 1),), tuple(steps))
    if ceil_mode:
        expr, steps = _derive_pool_ceil()
        domain: tuple[Any, ...] = (sympy.Ge(i + p_l + p_r + s - 1, k_eff), sympy.Le(p_r, k_eff))
    else:
        _, expr, steps = _derive_conv(p_l, p_r)
        domain = (sympy.Ge(i + p_l + p_r, k_eff),)
    pads: dict[Symbol, Any]
    if padding == "explicit":
        pads = {}
    elif padding == "symmetric":
        pads = {p_l: p, p_r: p}
    elif padding == "valid":
        pads = {p_l: 0, p_r: 0}
    elif padding == "full":
        pads = {p_l: k_eff - 1, p_r: k_eff - 1}
    elif padding == "same":
        total = d * (k - 1)
        pads = {p_l: floor(total / 2), p_r: total - floor(total / 2)}
        domain = (*domain, Eq(s, 1))
    else:
        total = _same_total()
        half = floor(total / 2)
        pads = {p_l: half, p_r: total - half} if padding == "SAME_UPPER" else {}
        if padding == "SAME_LOWER":
            pads = {p_l: total - half, p_r: half}
    if pads:
        expr = expr.subs(pads, simultaneous=True)
        domain = tuple(c.subs(pads, simultaneous=True) for c in domain)
        domain = tuple(c for c in domain if c is not sympy.true)
        steps.append(f"{padding} padding: " + ", ".join(f"{a} = {b}" for a, b in pads.items()))
    return Formula(name, expr, domain, tuple(steps))


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


# --------------------------------------------------------------------------------------
# framework formulas
# --------------------------------------------------------------------------------------

_FRAMEWORK: dict[str, tuple[str, Any]] = {
    "pytorch_conv": (
        "PyTorch Conv docs: floor((i + 2p - d(k-1) - 1)/s) + 1",
        floor((i + 2 * p - d * (k - 1) - 1) / s) + 1,
    ),
    "pytorch_conv_transpose": (
        "PyTorch ConvTranspose docs: (i-1)s - 2p + d(k-1) + op + 1",
        (i - 1) * s - 2 * p + d * (k - 1) + op + 1,
    ),
    "pytorch_pool_ceil": (
        "PyTorch MaxPool docs with ceil_mode: ceil((i + 2p - d(k-1) - 1)/s) + 1, minus 1 "
        "when the last window would start in the right padding",
        sympy.Piecewise(
            (
                ceiling((i + 2 * p - d * (k - 1) - 1) / s),
                ceiling((i + 2 * p - d * (k - 1) - 1) / s) * s >= i + p,
            ),
            (ceiling((i + 2 * p - d * (k - 1) - 1) / s) + 1, True),
        ),
    ),
    "tf_same": ("TensorFlow 'SAME': ceil(i/s)", ceiling(i / s)),
    "tf_valid": ("TensorFlow 'VALID': ceil((i - k_eff + 1)/s)", ceiling((i - k_eff + 1) / s)),
}


def framework_formula(name: str) -> Formula:
    """A framework's documented output-size formula, as written there (one axis).

    Parameters
    ----------
    name : {"pytorch_conv", "pytorch_conv_transpose", "pytorch_pool_ceil", "tf_same", \
"tf_valid"}

    Returns
    -------
    Formula

    Examples
    --------
    >>> import convproof as cp
    >>> cp.framework_formula("tf_same").expr
    ceiling(i/s)
    """
    if name not in _FRAMEWORK:
        raise ConvProofError(
            f"name must be one of {', '.join(map(repr, _FRAMEWORK))}, got name={name!r}"
        )
    text, expr = _FRAMEWORK[name]
    return Formula(name, expr, (), (text,))


_ARG_SAME = (
    "Let c = ceil(i/s), so (c-1)s < i <= cs, and T = max(0, (c-1)s + k_eff - i).  If T > 0 "
    "the output is floor(((c-1)s)/s) + 1 = c.  If T = 0 then (c-1)s <= i - k_eff <= cs - 1 "
    "(k_eff >= 1), so floor((i - k_eff)/s) = c - 1 and the output is c again."
)
_ARG_POOL_CEIL = (
    "Let A = i + p_l + p_r - k_eff + s - 1 and B = i + p_l - 1 (B >= 0).  PyTorch computes "
    "o = floor(A/s) + 1 and subtracts 1 once when (o-1)s >= i + p_l, i.e. when "
    "floor(A/s) > floor(B/s) (as (o-1)s <= A).  Subtracting once suffices because "
    "A - s <= B iff p_r <= k_eff, so floor(A/s) - 1 <= floor(B/s).  Hence o = "
    "floor(min(A, B)/s) + 1, the derived count."
)
_ARG_TRANSPOSED_INVERSE = "floor(((i-1)s + op)/s) = i - 1 + floor(op/s) = i - 1 because 0 <= op < s"


def framework_formula_proofs() -> dict[str, FormulaProof]:
    """Proofs that each framework formula equals the derived one (one axis).

    ======================  ========================================================
    key                     claim
    ======================  ========================================================
    pytorch_conv            derived conv size, ``p_l = p_r = p``
    pytorch_conv_transpose  derived transposed size, ``p_l = p_r = p``
    pytorch_conv_transpose  the derived transposed size inverts the forward size when
    _inverts_conv           ``op = (i + p_l + p_r - k_eff) mod s``
    pytorch_pool_ceil       derived ceil-mode count (PyTorch's ``p <= k/2``;
                            proved by a case split)
    pool_floor_is_conv      pooling without ceil mode = the conv formula
    tf_same                 conv with ``SAME_UPPER`` / ``SAME_LOWER`` padding
                            (proved by a case split; both splits must be proved)
    tf_valid                conv with no padding
    ======================  ========================================================

    Returns
    -------
    dict of str to FormulaProof

    Examples
    --------
    >>> import convproof as cp
    >>> proofs = cp.framework_formula_proofs()
    >>> proofs["tf_valid"].status, proofs["tf_valid"].method
    ('proved', 'sympy with lemmas')
    >>> proofs["tf_same"].status, proofs["tf_same"].method
    ('proved', 'sympy, case split')
    >>> ceil = proofs["pytorch_pool_ceil"]
    >>> ceil.status, ceil.method, ceil.cases
    ('proved', 'sympy, case split', 6)
    """
    # a new dict every call (the proofs themselves are cached and frozen): a caller that
    # edits or empties its dict changes nobody else's
    return {name: _framework_proof(name) for name in _FRAMEWORK_PROOFS}


_FRAMEWORK_PROOFS = (
    "pytorch_conv",
    "pytorch_conv_transpose",
    "pytorch_conv_transpose_inverts_conv",
    "pytorch_pool_ceil",
    "pool_floor_is_conv",
    "tf_same",
    "tf_valid",
)


@_cache
def _framework_proof(name: str) -> FormulaProof:
    """One entry of :func:`framework_formula_proofs` (cached: a frozen value)."""
    conv = output_size_formula("conv", padding="symmetric")
    if name == "pytorch_conv":
        return prove_formula_equal(
            conv.expr, framework_formula("pytorch_conv").expr, domain=conv.domain
        )
    if name == "pytorch_conv_transpose":
        tr = output_size_formula("conv_transpose", padding="symmetric")
        return prove_formula_equal(
            tr.expr, framework_formula("pytorch_conv_transpose").expr, domain=tr.domain
        )
    if name == "pytorch_conv_transpose_inverts_conv":
        # the transposed conv maps the forward output size back: forward(i) = q + 1 with
        # i + p_l + p_r - k_eff = q s + op, 0 <= op < s
        fwd = output_size_formula("conv")
        i_of = _q * s + op + k_eff - p_l - p_r
        back = output_size_formula("conv_transpose").expr.subs(i, fwd.expr.subs(i, i_of))
        return prove_formula_equal(
            back,
            i_of,
            domain=[sympy.Lt(op, s), sympy.Ge(i_of, 1)],
            facts={floor(op / s): 0},
            argument=_ARG_TRANSPOSED_INVERSE,
            conditions=("i + p_l + p_r - k_eff = q*s + op, 0 <= op < s",),
        )
    if name == "pytorch_pool_ceil":
        ceil_f = output_size_formula("pool", padding="symmetric", ceil_mode=True)
        return prove_formula_equal(
            ceil_f.expr,
            framework_formula("pytorch_pool_ceil").expr,
            domain=(*ceil_f.domain, sympy.Le(2 * p, k)),
            argument=_ARG_POOL_CEIL,
            conditions=("p <= k/2 (PyTorch)",),
        )
    if name == "pool_floor_is_conv":
        pool = output_size_formula("pool", padding="symmetric")
        return prove_formula_equal(pool.expr, conv.expr, domain=conv.domain)
    if name == "tf_same":
        # both ways of splitting the total padding; the weaker result is reported
        weakness = ("proved", "verified", "inconclusive", "refuted")
        same_proofs = [
            prove_formula_equal(
                same.expr, framework_formula("tf_same").expr, domain=same.domain, argument=_ARG_SAME
            )
            for same in (
                output_size_formula("conv", padding=n) for n in ("SAME_UPPER", "SAME_LOWER")
            )
        ]
        return max(same_proofs, key=lambda pr: weakness.index(pr.status))
    valid = output_size_formula("conv", padding="valid")
    return prove_formula_equal(valid.expr, framework_formula("tf_valid").expr, domain=valid.domain)


# --------------------------------------------------------------------------------------
# Dumoulin & Visin's relationships
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Relationship:
    """One of Dumoulin & Visin's relationships 1-15, with its proof(s).

    Truthy iff every claim is proved or verified (``status`` says which).

    Attributes
    ----------
    number : int
    title : str
    conditions : str
        As stated in the paper.
    formula : sympy.Expr
        The stated output size (``o`` or ``o'``), with ``i_t`` for the transposed conv's
        input size ``i'`` where it appears.
    claims : tuple of (str, FormulaProof)
        What was proved: equality with the derived formula, and for relationships 8-14
        also the equivalent direct convolution and the inversion of the forward size.

    Examples
    --------
    >>> import convproof as cp
    >>> r = cp.relationship(6)
    >>> r.title, r.conditions, r.formula
    ('zero padding, non-unit strides', 'any i, k, p, s', floor((i - k + 2*p)/s) + 1)
    >>> [(text, proof.status) for text, proof in r.claims]
    [('stated o equals the derived count of window positions', 'proved')]
    """

    number: int
    title: str
    conditions: str
    formula: Any
    claims: tuple[tuple[str, FormulaProof], ...] = field(default=())

    @property
    def status(self) -> str:
        """The weakest claim's status: ``"refuted"`` if one is, else ``"inconclusive"`` if
        one is, else ``"verified"`` if one is, else ``"proved"``.

        Examples
        --------
        >>> import convproof as cp
        >>> cp.relationship(12).status
        'proved'
        """
        statuses = {proof.status for _, proof in self.claims}
        for status in ("refuted", "inconclusive", "verified"):
            if status in statuses:
                return status
        return "proved" if statuses else "inconclusive"

    @property
    def method(self) -> str:
        """The weakest method used by the claims (``sympy`` < ``sympy with lemmas`` < ...).

        Examples
        --------
        >>> import convproof as cp
        >>> cp.relationship(1).method, cp.relationship(14).method
        ('sympy', 'sympy with lemmas')
        """
        order = [
            "sympy",
            "sympy with lemmas",
            "sympy, case split",
            "argument + exhaustive grid",
            "grid only",
            "grid",
        ]
        return max((proof.method for _, proof in self.claims), key=order.index)

    def __bool__(self) -> bool:
        return self.status in ("proved", "verified")


def _conv(i_: Any, k_: Any, s_: Any, p_: Any, d_: Any = 1, extra_end: Any = 0) -> Any:
    """The derived conv size with substitutions (symmetric ``p_`` plus ``extra_end``)."""
    f = output_size_formula("conv")
    return f.expr.subs(
        {i: i_, k: k_, s: s_, d: d_, p_l: p_, p_r: p_ + extra_end}, simultaneous=True
    )


def _transposed(i_: Any, k_: Any, s_: Any, p_: Any, op_: Any = 0) -> Any:
    f = output_size_formula("conv_transpose")
    return f.expr.subs({i: i_, k: k_, s: s_, d: 1, p_l: p_, p_r: p_, op: op_}, simultaneous=True)


def _forward_claims(stated: Any, subs: Mapping[Any, Any], conditions: str) -> tuple[Any, ...]:
    derived = _conv(i, k, s, p, d)
    proof = prove_formula_equal(
        derived,
        stated,
        substitutions=subs,
        domain=[sympy.Ge(i + 2 * p, k_eff)],
        conditions=(conditions,),
    )
    return (("stated o equals the derived count of window positions", proof),)


def _transposed_claims(
    number: int,
    stated: Any,
    subs: Mapping[Any, Any],
    p_prime: Any,
    a: Any,
    forward_input: Any,
    conditions: str,
    facts: Mapping[Any, Any] | None = None,
    extra_domain: Sequence[Any] = (),
) -> tuple[Any, ...]:
    """Claims of relationships 8-14 (``i_t`` = i' = the forward output size)."""
    s_val = sympy.sympify(subs.get(s, s))
    p_val = sympy.sympify(subs.get(p, p))
    k_val = sympy.sympify(subs.get(k, k))
    stated_s = sympy.sympify(stated).subs(subs, simultaneous=True)
    dom = [sympy.Ge(stated_s, 1)]
    # (a) the transposed conv (k, s, p, op = a) on input i' has the stated size
    a_claim = prove_formula_equal(
        _transposed(_i_t, k_val, s_val, p_val, a),
        stated_s,
        domain=dom,
        conditions=(conditions,),
    )
    # (b) the equivalent direct conv: stretched input i' + (i'-1)(s-1), stride 1,
    # padding p' each side plus a at the end, kernel k
    stretched = _i_t + (_i_t - 1) * (s_val - 1)
    b_claim = prove_formula_equal(
        _conv(stretched, k_val, 1, p_prime, 1, a),
        stated_s,
        domain=dom,
        conditions=(conditions,),
    )
    # (c) it undoes the forward conv's shape: with i' = forward output, o' = i
    fwd = _conv(forward_input, k_val, s_val, p_val)
    c_claim = prove_formula_equal(
        stated_s.subs(_i_t, fwd),
        forward_input,
        domain=[
            sympy.Ge(forward_input + 2 * p_val, k_val),
            sympy.Ge(forward_input, 1),
            *extra_domain,
        ],
        facts=facts,
        conditions=(conditions,),
    )
    return (
        (f"o' = the derived transposed-conv size (k, s, p, output_padding {a})", a_claim),
        (
            f"o' = the derived conv size on the stretched input, stride 1, p' = {p_prime}"
            + (f" plus {a} at the end" if a != 0 else ""),
            b_claim,
        ),
        ("with i' = the forward output size, o' = the forward input size i", c_claim),
    )


_REL_TEXT: dict[int, tuple[str, str]] = {
    1: ("no zero padding, unit strides", "s = 1, p = 0"),
    2: ("zero padding, unit strides", "s = 1"),
    3: ("half (same) padding", "k = 2n + 1, s = 1, p = floor(k/2) = n"),
    4: ("full padding", "p = k - 1, s = 1"),
    5: ("no zero padding, non-unit strides", "p = 0"),
    6: ("zero padding, non-unit strides", "any i, k, p, s"),
    7: ("pooling", "any i, k, s (no padding)"),
    8: ("transposed: no zero padding, unit strides", "s = 1, p = 0; k' = k, s' = s, p' = k - 1"),
    9: ("transposed: zero padding, unit strides", "s = 1; k' = k, s' = s, p' = k - p - 1"),
    10: ("transposed: half padding", "k = 2n + 1, s = 1, p = n; k' = k, s' = s, p' = p"),
    11: ("transposed: full padding", "s = 1, p = k - 1; k' = k, s' = s, p' = 0"),
    12: (
        "transposed: no zero padding, non-unit strides",
        "p = 0, i - k a multiple of s (i = k + m s); stretched input, k' = k, s' = 1, p' = k - 1",
    ),
    13: (
        "transposed: zero padding, non-unit strides",
        "i + 2p - k a multiple of s (i = m s + k - 2p); stretched input, k' = k, s' = 1, "
        "p' = k - p - 1",
    ),
    14: (
        "transposed: zero padding, non-unit strides, any input size",
        "a = (i + 2p - k) mod s (i = q s + a + k - 2p, 0 <= a < s); stretched input, "
        "k' = k, s' = 1, p' = k - p - 1, a zeros added at the end",
    ),
    15: ("dilated convolution", "any i, k, p, s and dilation d"),
}


@_cache
def relationship(number: int) -> Relationship:
    """Dumoulin & Visin's relationship ``number`` (1-15), proved against the derivation.

    Relationships 1-7 and 15 state a forward output size ``o`` under conditions; each is
    proved equal to the derived count (:func:`output_size_formula`) under them.
    Relationships 8-14 state the transposed convolution's output size ``o'`` (``i_t`` is
    its input size ``i'``); three claims are proved: ``o'`` equals the derived transposed
    conv size, it equals the derived size of the paper's equivalent direct convolution
    (stretched input, stride 1, ``p'``), and with ``i'`` the forward output size ``o'``
    gives back the forward input size ``i``.

    Parameters
    ----------
    number : int
        1 to 15.

    Returns
    -------
    Relationship

    Examples
    --------
    >>> import convproof as cp
    >>> r = cp.relationship(3)
    >>> r.formula, r.status, r.method
    (i, 'proved', 'sympy')
    >>> cp.relationship(13).formula
    k - 2*p + s*(i_t - 1)
    """
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 15:
        raise ConvProofError(f"number must be an integer from 1 to 15, got number={number!r}")
    title, cond = _REL_TEXT[number]
    one = {d: 1}
    stated: Any
    claims: tuple[Any, ...]
    if number <= 7 or number == 15:
        table: dict[int, tuple[Any, dict[Any, Any]]] = {
            1: ((i - k) + 1, {s: 1, p: 0, **one}),
            2: ((i - k) + 2 * p + 1, {s: 1, **one}),
            3: (i, {k: 2 * _n + 1, s: 1, p: floor((2 * _n + 1) / 2), **one}),
            4: (i + (k - 1), {p: k - 1, s: 1, **one}),
            5: (floor((i - k) / s) + 1, {p: 0, **one}),
            6: (floor((i + 2 * p - k) / s) + 1, one),
            7: (floor((i - k) / s) + 1, {p: 0, **one}),
            15: (floor((i + 2 * p - k - (k - 1) * (d - 1)) / s) + 1, {}),
        }
        stated, subs = table[number]
        claims = _forward_claims(stated, subs, cond)
        if number == 7:
            pool = output_size_formula("pool", padding="symmetric").expr
            claims += (
                (
                    "pooling's derived size (no ceil mode) equals the stated o",
                    prove_formula_equal(
                        pool,
                        stated,
                        substitutions=subs,
                        domain=[sympy.Ge(i, k)],
                        conditions=(cond,),
                    ),
                ),
            )
        return Relationship(number, title, cond, stated, claims)
    it = _i_t
    if number == 8:
        stated = it + (k - 1)
        claims = _transposed_claims(8, stated, {s: 1, p: 0}, k - 1, 0, i, cond)
    elif number == 9:
        stated = it + (k - 1) - 2 * p
        claims = _transposed_claims(9, stated, {s: 1}, k - p - 1, 0, i, cond)
    elif number == 10:
        stated = it + (k - 1) - 2 * p
        subs = {k: 2 * _n + 1, s: 1, p: _n}
        claims = _transposed_claims(10, stated, subs, _n, 0, i, cond)
        stated = it
    elif number == 11:
        stated = it + (k - 1) - 2 * p
        claims = _transposed_claims(11, stated, {s: 1, p: k - 1}, 0, 0, i, cond)
        stated = it - (k - 1)
    elif number == 12:
        stated = s * (it - 1) + k
        claims = _transposed_claims(12, stated, {p: 0}, k - 1, 0, k + _m * s, cond)
    elif number == 13:
        stated = s * (it - 1) + k - 2 * p
        claims = _transposed_claims(13, stated, {}, k - p - 1, 0, _m * s + k - 2 * p, cond)
    else:
        stated = s * (it - 1) + _a + k - 2 * p
        # i = q s + a + k - 2p with 0 <= a < s: floor(a/s) = 0
        claims = _transposed_claims(
            14,
            stated,
            {},
            k - p - 1,
            _a,
            _q * s + _a + k - 2 * p,
            cond,
            facts={floor(_a / s): 0},
            extra_domain=[sympy.Lt(_a, s)],
        )
    return Relationship(number, title, cond, stated, claims)


def relationships() -> tuple[Relationship, ...]:
    """All fifteen of Dumoulin & Visin's relationships, proved.

    Examples
    --------
    >>> import convproof as cp
    >>> all(cp.relationships())
    True
    """
    return tuple(relationship(n) for n in range(1, 16))


# --------------------------------------------------------------------------------------
# parameter and MAC counts
# --------------------------------------------------------------------------------------


def _axis_symbols(prefix: str, ndim: int) -> list[Symbol]:
    return [_pos(f"{prefix}_{j + 1}") for j in range(ndim)]


def _check_count_args(layer: str, ndim: Any) -> int:
    if layer not in _LAYERS:
        raise ConvProofError(
            f"layer must be one of {', '.join(map(repr, _LAYERS))}, got layer={layer!r}"
        )
    if isinstance(ndim, bool) or not isinstance(ndim, int) or ndim < 1:
        raise ConvProofError(f"ndim must be an integer >= 1, got ndim={ndim!r}")
    return ndim


def _count(extents: Sequence[Any]) -> Any:
    """Sum 1 over a box of indices ``0 <= x_j < extent_j`` (each summed with SymPy)."""
    term: Any = sympy.Integer(1)
    for j, extent in enumerate(extents):
        term = summation(term, (_nonneg(f"x{j}"), 0, extent - 1))
    return term


@_cache
def params_formula(layer: str = "conv", ndim: int = 2, *, bias: bool = True) -> Formula:
    """Number of parameters as a SymPy expression, derived by counting weight entries.

    Symbols: ``C_in``, ``C_out``, ``g`` (groups; ``C_in/g`` and ``C_out/g`` are integers),
    and ``k_1 .. k_ndim``.

    Parameters
    ----------
    layer : {"conv", "conv_transpose", "pool"}
    ndim : int
    bias : bool

    Returns
    -------
    Formula
        ``.expr`` is, for conv, ``C_out (C_in/g) prod(k) (+ C_out)``; transposed:
        ``C_in (C_out/g) prod(k) (+ C_out)``; pooling: ``0``.  ``.value(**sizes)``
        evaluates it exactly.

    Examples
    --------
    >>> import convproof as cp
    >>> f = cp.params_formula("conv", 2)
    >>> f.expr
    C_in*C_out*k_1*k_2/g + C_out
    >>> f.value(C_in=3, C_out=5, g=1, k_1=3, k_2=3)
    140
    """
    ndim = _check_count_args(layer, ndim)
    if not isinstance(bias, bool):
        raise ConvProofError(f"bias must be True or False, got bias={bias!r}")
    name = f"{layer} parameters ({ndim}-D, {'with' if bias else 'no'} bias)"
    if layer == "pool":
        return Formula(name, sympy.Integer(0), (), ("pooling has no weights and no bias",))
    c_in, c_out, g = _pos("C_in"), _pos("C_out"), _pos("g")
    ks = _axis_symbols("k", ndim)
    if layer == "conv":  # weight (C_out, C_in/g, *k)
        shape = [c_out, c_in / g, *ks]
    else:  # weight (C_in, C_out/g, *k)
        shape = [c_in, c_out / g, *ks]
    weights = _count(shape)
    expr = sympy.expand(weights + (_count([c_out]) if bias else 0))
    steps = [f"weight entries: Sum of 1 over the box {tuple(shape)} = {weights}"]
    if bias:
        steps.append(f"bias entries: Sum of 1 over ({c_out},) = {c_out}")
    domain = (Eq(sympy.Mod(c_in, g), 0), Eq(sympy.Mod(c_out, g), 0))
    return Formula(name, expr, domain, tuple(steps))


@_cache
def macs_formula(layer: str = "conv", ndim: int = 2, *, expand_output: bool = False) -> Formula:
    """Multiply-accumulates per sample as a SymPy expression, derived by counting.

    Convolution: one MAC per (output channel, output position, input channel of the
    group, tap), in symbols ``C_out, o_1.., C_in, g, k_1..``; transposed conv: one per
    (input channel, **input** position, output channel of the group, tap), in
    ``C_in, i_1.., C_out, g, k_1..``; pooling: ``0``.  Bias adds are not counted.

    Parameters
    ----------
    layer : {"conv", "conv_transpose", "pool"}
    ndim : int
    expand_output : bool, default False
        Conv only: replace each ``o_j`` by the derived output-size formula in per-axis
        symbols ``i_j, k_j, s_j, d_j, p_l_j, p_r_j``.

    Returns
    -------
    Formula

    Examples
    --------
    >>> import convproof as cp
    >>> cp.macs_formula("conv", 2).expr
    C_in*C_out*k_1*k_2*o_1*o_2/g
    >>> cp.macs_formula("conv_transpose", 1).expr
    C_in*C_out*i_1*k_1/g
    >>> cp.macs_formula("conv", 2, expand_output=True).value(
    ...     C_in=3, C_out=1, g=1, i_1=32, i_2=32, k_1=5, k_2=5, s_1=1, s_2=1, d_1=1, d_2=1,
    ...     p_l_1=0, p_r_1=0, p_l_2=0, p_r_2=0)
    58800
    """
    ndim = _check_count_args(layer, ndim)
    if not isinstance(expand_output, bool):
        raise ConvProofError(
            f"expand_output must be True or False, got expand_output={expand_output!r}"
        )
    name = f"{layer} MACs ({ndim}-D, bias excluded)"
    if layer == "pool":
        return Formula(name, sympy.Integer(0), (), ("pooling multiplies nothing",))
    c_in, c_out, g = _pos("C_in"), _pos("C_out"), _pos("g")
    ks = _axis_symbols("k", ndim)
    domain = (Eq(sympy.Mod(c_in, g), 0), Eq(sympy.Mod(c_out, g), 0))
    if layer == "conv_transpose":
        box = [c_in, *_axis_symbols("i", ndim), c_out / g, *ks]
        expr = sympy.expand(_count(box))
        step = "one MAC per (input channel, input position, output channel of the group, tap)"
        return Formula(name, expr, domain, (f"{step}: Sum of 1 over {tuple(box)} = {expr}",))
    outs = _axis_symbols("o", ndim)
    box = [c_out, *outs, c_in / g, *ks]
    expr = sympy.expand(_count(box))
    steps = [
        "one MAC per (output channel, output position, input channel of the group, tap): "
        f"Sum of 1 over {tuple(box)} = {expr}"
    ]
    if expand_output:
        size = output_size_formula("conv").expr
        for j, o_j in enumerate(outs):
            per_axis = {
                sym: (_pos if sym.is_positive else _nonneg)(f"{sym.name}_{j + 1}")
                for sym in (i, k, s, d, p_l, p_r)
            }
            expr = expr.subs(o_j, size.subs(per_axis, simultaneous=True))
        steps.append("o_j replaced by the derived output size along axis j")
    return Formula(name, expr, domain, tuple(steps))
