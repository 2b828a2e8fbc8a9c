"""Exact values of network arithmetic: ints, Fractions (after a transposed conv) and SymPy
expressions (symbolic input sizes), and the checks of layer arguments.

Examples
--------
>>> from fractions import Fraction
>>> from convproof.networks.values import norm, equal
>>> norm(Fraction(4, 2)), equal(Fraction(1, 2), Fraction(2, 4))
(2, True)
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import Any

import sympy

from convproof.errors import ConvProofError

Number = Any  # int | Fraction | sympy.Expr
Pairs = tuple[tuple[int, int], ...]


def check_int(name: str, value: Any, minimum: int | None = None) -> int:
    """``value`` if it is an int (``>= minimum``), else a :class:`ConvProofError` naming it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConvProofError(f"{name} must be an integer, got {name}={value!r}")
    if minimum is not None and value < minimum:
        raise ConvProofError(f"{name} must be >= {minimum}, got {name}={value!r}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """``value`` if it is a bool, else a :class:`ConvProofError` naming it."""
    if not isinstance(value, bool):
        raise ConvProofError(f"{name} must be True or False, got {name}={value!r}")
    return value


def is_concrete(x: Any) -> bool:
    """Whether ``x`` is a plain int (not a bool, not symbolic)."""
    return isinstance(x, int) and not isinstance(x, bool)


def norm(x: Any) -> Any:
    """Fraction/int/SymPy number -> int when integral, Fraction when rational, else Expr."""
    if isinstance(x, Fraction):
        return x.numerator if x.denominator == 1 else x
    if isinstance(x, sympy.Basic):
        if x.is_Integer:
            return int(x)
        if x.is_Rational:
            return Fraction(int(x.p), int(x.q))
        return x
    return x


def sym(x: Any) -> Any:
    """A Fraction as a SymPy Rational; anything else unchanged."""
    return sympy.Rational(x.numerator, x.denominator) if isinstance(x, Fraction) else x


def equal(a: Any, b: Any) -> bool | None:
    """Exact equality; ``None`` when SymPy cannot decide."""
    if isinstance(a, int | Fraction) and isinstance(b, int | Fraction):
        return a == b
    if a == b:
        return True
    diff = sympy.simplify(sym(a) - sym(b))
    if diff == 0:
        return True
    if diff.is_number:
        return False
    return None


def prod(values: Iterable[Any]) -> Any:
    """The product, expanded and normalised when symbolic."""
    out: Any = 1
    for v in values:
        out = out * v
    return norm(sympy.expand(out)) if isinstance(out, sympy.Basic) else out


def fmt_shape(shape: tuple[Any, ...]) -> str:
    """``(3, H, W)``: a shape for messages."""
    return "(" + ", ".join(str(v) for v in shape) + ")"
