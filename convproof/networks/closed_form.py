"""Closed forms of symbolic sizes, proved for every integer size (not checked on a grid).

A network's output size for a symbolic input size ``H`` is a nest of floors (ResNet-50:
``floor(floor(floor(floor(floor(H/2 - 1/2)/2)/2)/2)/2) + 1``).  :func:`closed_form` finds a
period ``P`` with ``f(H + P) = f(H) + c`` **symbolically** (each ``floor(x + q)`` with a rational
constant ``q`` is rewritten as ``floor(x + q - floor(q)) + floor(q)``, an identity for every
real ``x``, until both sides are the same expression plus a number), fits
``c * ceiling((H + a) / P) + k`` or ``c * floor((H + a) / P) + k`` to the ``P`` values
``f(start), ..., f(start + P - 1)``, checks the same recurrence symbolically for the fitted
form, and concludes by induction on ``H`` that the two are equal for every integer
``H >= start``.  The two sides are independent constructions: the network's composed layer
formulas and the fitted one-line form.

Examples
--------
>>> import sympy
>>> from convproof.networks.closed_form import closed_form
>>> H = sympy.Symbol("H", integer=True, positive=True)
>>> c = closed_form(sympy.floor((sympy.floor((H - 1) / 2) + 1 - 1) / 2) + 1, H)
>>> c.expr, c.period, c.proved
(ceiling(H/4), 4, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import sympy

from convproof.errors import ConvProofError

__all__ = ["ClosedForm", "closed_form"]


@dataclass(frozen=True)
class ClosedForm:
    """A closed form of ``original`` in ``symbol``, equal to it for every integer
    ``symbol >= start`` (``proved``; ``how`` says by what)."""

    original: Any
    expr: Any
    symbol: Any
    start: int
    period: int
    step: Any
    proved: bool
    how: str


def _canon(e: Any) -> Any:
    """Move the integer part of every floor/ceiling's rational constant outside it."""

    def fix(x: Any) -> Any:
        arg = sympy.expand(x.args[0])
        const, _ = arg.as_coeff_Add()
        if not const.is_Rational:
            return x
        m = sympy.floor(const)
        if m == 0:
            return x
        return type(x)(arg - m) + m

    prev = None
    e = sympy.expand(e)
    while prev != e:
        prev = e
        e = sympy.expand(e.replace(lambda x: isinstance(x, sympy.floor | sympy.ceiling), fix))
    return e


def _period(e: Any, symbol: Any) -> int:
    p = 1
    for node in e.atoms(sympy.floor, sympy.ceiling):
        arg = sympy.expand(node.args[0])
        dens = [sympy.fraction(t.as_coeff_Mul()[0])[1] for t in sympy.Add.make_args(arg)]
        p *= math.lcm(*[int(d) for d in dens]) if dens else 1
    return p


def _step(e: Any, symbol: Any, period: int) -> Any:
    """``e(symbol + period) - e(symbol)`` when it is a number (symbolically), else ``None``."""
    d = _canon(e.subs(symbol, symbol + period)) - _canon(e)
    d = sympy.simplify(d)
    return d if d.is_number else None


def closed_form(expr: Any, symbol: Any, start: int = 1) -> ClosedForm:
    """A one-line closed form of a nested floor/ceiling size, proved for every integer
    ``symbol >= start`` (see the module docstring for the proof).

    Raises
    ------
    ConvProofError
        When no period with a constant step is found (not a quasi-linear size) or no
        ``c * ceiling/floor((H + a)/P) + k`` fits.

    Examples
    --------
    >>> import convproof as cp, sympy
    >>> H = sympy.Symbol("H", integer=True, positive=True)
    >>> s = cp.summary(cp.load_network("resnet50"), (3, H, H))
    >>> cp.closed_form(s["layer4.2.relu@2"].output_shape[1], H).expr
    ceiling(H/32)
    """
    e = sympy.sympify(expr)
    if not isinstance(start, int) or isinstance(start, bool):
        raise ConvProofError(f"start must be an int, got start={start!r}")
    if symbol not in e.free_symbols:
        return ClosedForm(e, e, symbol, start, 1, 0, True, "constant")
    period = _period(e, symbol)
    if period > 10**6:
        raise ConvProofError(f"expr must have a period up to 10**6, got period {period}")
    step = _step(e, symbol, period)
    if step is None:
        raise ConvProofError(
            f"expr must satisfy f({symbol} + P) = f({symbol}) + c for P = {period}, got {expr}"
        )
    base = [int(e.subs(symbol, n)) for n in range(start, start + period)]
    fits = []
    for a in range(period):
        for order, kind in enumerate((sympy.ceiling, sympy.floor)):
            g0 = step * kind((symbol + a) / period)
            k = base[0] - int(g0.subs(symbol, start))
            cand = g0 + k
            values = [int(cand.subs(symbol, n)) for n in range(start, start + period)]
            if values == base:
                fits.append(((a != 0) + (k != 0), order, a, cand))
    for _, _, _, cand in sorted(fits, key=lambda f: f[:3]):
        if _step(cand, symbol, period) == step:
            how = (
                f"f({symbol} + {period}) = f({symbol}) + {step} symbolically for both, "
                f"equal for {symbol} = {start}..{start + period - 1}; induction"
            )
            return ClosedForm(e, cand, symbol, start, period, step, True, how)
    raise ConvProofError(f"no c * ceiling/floor((H + a)/P) + k fits {expr}")
