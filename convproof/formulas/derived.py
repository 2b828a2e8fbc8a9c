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
(:mod:`convproof.formulas.theorems`) by :func:`~convproof.formulas.equality.prove_formula_equal`
(:mod:`convproof.formulas.equality`): SymPy simplification first (with two small, stated lemmas
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
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy
from sympy import Eq, Symbol, ceiling, floor, summation

from convproof.errors import ConvProofError

__all__ = [
    "SYMBOLS",
    "Formula",
    "macs_formula",
    "output_size_formula",
    "params_formula",
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
