"""What the proofs for symbolic sizes share: the layer definitions written as SymPy terms
(read, write, group channel), delta summation, and the comparison of two symbolic sides that
searches a concrete counterexample when SymPy cannot show them identical.

The definitions here are written from the definition of each layer, never from the index
rules of :mod:`convproof.constructions.index` that they are compared with: they are
independent of it on purpose (see :mod:`convproof.proofs.general`).

Examples
--------
>>> import sympy
>>> from convproof.proofs.symbolic_sizes import definition_read
>>> a, u, s, d, p = sympy.symbols("a u s d p", integer=True)
>>> definition_read(a, u, s, d, p)
a*s + d*u - p
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import sympy
from sympy.concrete.delta import deltasummation

from convproof.layers import sizes as _axis
from convproof.proofs.result import ProofResult

METHOD = "symbolic-delta-summation"
POS = {"integer": True, "positive": True}
NONNEG = {"integer": True, "nonnegative": True}
#: Samples tried when a symbolic step is not identical, looking for a concrete difference.
SEARCH = 300

SYMBOL_CONDITIONS = (
    "every size is an integer symbol: n, k, s, d >= 1; p >= 0; a >= 0; 0 <= u <= k - 1"
)


# --------------------------------------------------------------------------------------
# the definitions, written here from the definition of each layer (never from the
# index rules of convproof.constructions.index, which they are compared with)
# --------------------------------------------------------------------------------------


def definition_read(a: Any, u: Any, s: Any, d: Any, p: Any) -> Any:
    """Convolution: the input coordinate that tap ``u`` of window ``a`` multiplies.

    The windows slide over the *padded* input in steps of the stride, so window ``a``
    starts at padded coordinate ``a*s``; its taps are ``d`` apart (dilation); padded
    coordinate ``c`` is input coordinate ``c - p`` (``p`` elements of padding before).
    """
    window_start = a * s
    padded = window_start + u * d
    return padded - p


def definition_write(j: Any, u: Any, s: Any, d: Any, p: Any) -> Any:
    """Transposed convolution (scatter form): where input ``j`` lands through tap ``u``.

    Input ``j`` is placed at slot ``j*s`` of the uncropped output (the inputs are ``s``
    apart), its kernel copy spreads with dilation ``d``, and the output is cropped by
    ``p`` elements at the start.
    """
    slot = j * s
    full = slot + u * d
    return full - p


def definition_group_channel(g: Any, c: Any, c_in_per_group: Any) -> Any:
    """Grouped convolution: local input channel ``c`` of group ``g``.

    The input channels are split into consecutive blocks of ``C_in / groups``; group ``g``
    owns block ``g``, whose channel ``c`` is input channel ``g*(C_in/groups) + c``.
    """
    first = g * c_in_per_group
    return first + c


def gated(f: Any, positions: Sequence[Any], sizes: Sequence[Any]) -> sympy.Expr:
    """``f(*positions)`` if every position is inside ``[0, size - 1]``, else 0 (padding)."""
    inside = [c for m, n in zip(positions, sizes) for c in (m >= 0, m <= n - 1)]
    return sympy.Piecewise((f(*positions), sympy.And(*inside)), (0, True))


def delta_sum(
    f: Any, positions: Sequence[Any], js: Sequence[sympy.Symbol], sizes: Sequence[Any]
) -> sympy.Expr:
    """``sum_{j in box} prod_i KroneckerDelta(j_i, positions_i) * f(j)`` by delta summation."""
    expr: sympy.Expr = sympy.Mul(*[sympy.KroneckerDelta(j, m) for j, m in zip(js, positions)])
    expr = expr * f(*js)
    for i in reversed(range(len(js))):
        expr = deltasummation(expr, (js[i], 0, sizes[i] - 1))
    return expr


# --------------------------------------------------------------------------------------
# symbolic comparison: identical, refuted at a concrete point, or undecided
# --------------------------------------------------------------------------------------


def same_expr(lhs: sympy.Expr, rhs: sympy.Expr) -> bool:
    """Structural equality after folding nested Piecewise, else ``simplify(lhs - rhs) == 0``."""
    a, b = sympy.piecewise_fold(lhs), sympy.piecewise_fold(rhs)
    if a == b:
        return True
    return bool(sympy.simplify(sympy.piecewise_fold(a - b)) == 0)


Sampler = Callable[[random.Random], "dict[Any, int] | None"]


def compare_symbolic(
    name: str,
    statement: str,
    derived: sympy.Expr,
    definition: sympy.Expr,
    sample: Sampler,
    seed: int,
    steps: list[str],
    conditions: tuple[str, ...],
    t0: float,
) -> ProofResult:
    """One symbolic step as a sub-result: identical (proved), a concrete difference
    (refuted), or neither (inconclusive)."""
    counterexample = None
    identical = sympy.piecewise_fold(derived) == sympy.piecewise_fold(definition)
    if not identical:
        # a concrete difference first (cheap); SymPy's simplify only when none is found
        rng = random.Random(seed)
        for _ in range(SEARCH):
            point = sample(rng)
            if point is None:
                continue
            lhs, rhs = derived.xreplace(point), definition.xreplace(point)
            if lhs != rhs:
                where = ", ".join(f"{k}={v}" for k, v in sorted(point.items(), key=str))
                counterexample = (
                    f"counterexample at {where}: the matrix side gives {lhs}, the definition {rhs}"
                )
                break
        if counterexample is None:
            identical = same_expr(derived, definition)
    verdict = "identical" if identical else "NOT identical"
    steps = [*steps, f"matrix side = definition: {verdict}"]
    if identical:
        status, reason = "proved", None
    elif counterexample is not None:
        status, reason = "refuted", counterexample
    else:
        status, reason = "inconclusive", "SymPy did not show the two sides identical"
    return ProofResult(
        status,
        METHOD,
        f"symbolic: {statement}",
        time.perf_counter() - t0,
        reason=reason,
        steps=tuple(steps),
        scope={"sizes": f"symbolic ({name})"},
        conditions=conditions,
    )


def encodes_range(upper: Any, index: Any, slack: Any) -> bool:
    """``upper == index + 1 + slack`` with ``slack >= 0`` says exactly ``index <= upper - 1``.

    Every substitution that encodes a range (division with remainder, a channel or group
    index) is checked with this, so a proof cannot silently cover a smaller domain.
    """
    return bool(sympy.expand(upper - 1 - index) == slack and slack.is_nonnegative)


def spot_record(seed: int, done: int, failures: list[str], **counts: int) -> dict[str, Any]:
    """What a spot-check ran: its seed, substitution cases, concrete checks and failures."""
    return {
        "seed": seed,
        "cases": done,
        "substitution_cases": done,
        **counts,
        "passed": not failures,
        "failures": failures[:5],
    }


def spot_result(statement: str, spot: dict[str, Any], ranges: str, t0: float) -> ProofResult:
    """The numeric spot-check as a sub-result: verified on its cases, or refuted."""
    passed = spot["passed"]
    return ProofResult(
        "verified" if passed else "refuted",
        "numeric-spot-check",
        f"spot-check: {statement}",
        time.perf_counter() - t0,
        reason=None if passed else "; ".join(spot["failures"][:2]),
        spot_check=spot,
        scope={"cases": spot["cases"], "seed": spot["seed"], "ranges": ranges},
        assumptions=(f"checked only at the {spot['cases']} random concrete cases drawn",),
    )


def combine_steps(
    statement: str,
    symbolic: Sequence[ProofResult],
    spot: ProofResult | None,
    steps: Sequence[str],
    conditions: tuple[str, ...],
    scope: dict[str, Any],
    t0: float,
) -> ProofResult:
    """The verdict: proved iff every symbolic step is; the spot-check alone only verifies."""
    # the sub-results keep their verdict line; the derivation is this result's steps
    # (conditions and scope: on this result)
    symbolic = [
        dataclasses.replace(p, steps=p.steps[-1:], conditions=(), scope={}) for p in symbolic
    ]
    parts = (*symbolic, *(() if spot is None else (spot,)))
    refuted = [p for p in parts if p.status == "refuted"]
    assumptions: tuple[str, ...] = ()
    scope = dict(scope)
    if refuted:
        status, reason = "refuted", f"{refuted[0].statement}: {refuted[0].reason}"
    elif all(p.status == "proved" for p in symbolic):
        status, reason = "proved", None
    elif spot is not None:
        open_steps = [p.statement for p in symbolic if p.status != "proved"]
        status = "verified"
        reason = "SymPy did not confirm every symbolic step; the spot-check passed"
        assumptions = (
            f"not shown symbolically: {'; '.join(open_steps)}",
            *spot.assumptions,
        )
        scope["spot-check"] = spot.scope["ranges"]
    else:
        status = "inconclusive"
        reason = "SymPy did not confirm every symbolic step and no spot-check was run"
    return ProofResult(
        status,
        METHOD,
        statement,
        time.perf_counter() - t0,
        reason=reason,
        checks=parts,
        spot_check=None if spot is None else spot.spot_check,
        steps=tuple(steps),
        scope=scope,
        assumptions=assumptions,
        conditions=conditions,
    )


# --------------------------------------------------------------------------------------
# symbols and random concrete sizes
# --------------------------------------------------------------------------------------


def axis_symbols(ndim: int) -> dict[str, tuple[sympy.Symbol, ...]]:
    def many(name: str, **assumptions: bool) -> tuple[sympy.Symbol, ...]:
        if ndim == 1:
            return (sympy.Symbol(name, **assumptions),)
        return tuple(sympy.Symbol(f"{name}{i + 1}", **assumptions) for i in range(ndim))

    return {
        "n": many("n", **POS),
        "s": many("s", **POS),
        "d": many("d", **POS),
        "k": many("k", **POS),
        "p": many("p", **NONNEG),
        "a": many("a", **NONNEG),
        "u": many("u", **NONNEG),
        "j": many("j", integer=True),
    }


def random_spec(
    cls: Any, prm: dict[str, Any], groups: int, in_channels: int, out_channels: int, **extra: Any
) -> Any:
    """A concrete layer of class ``cls`` with the per-axis sizes ``prm`` (``k, s, d, p``)."""
    return cls(
        in_channels=in_channels,
        out_channels=out_channels,
        kernel_size=tuple(prm["k"]),
        stride=tuple(prm["s"]),
        dilation=tuple(prm["d"]),
        padding=tuple(prm["p"]),
        groups=groups,
        **extra,
    )


def random_params(
    rng: random.Random, ndim: int, *, min_out: int = 1
) -> dict[str, list[int]] | None:
    """Random concrete per-axis sizes with at least ``min_out`` window positions."""
    out: dict[str, list[int]] = {key: [] for key in "nsdkp"}
    for _ in range(ndim):
        k, d, s = rng.randint(1, 4), rng.randint(1, 3), rng.randint(1, 3)
        p = rng.randint(0, 4)
        n = rng.randint(1, 12)
        if _axis.conv_out(n, k, s, d, p, p) < min_out:
            return None
        for key, v in zip("nsdkp", (n, s, d, k, p)):
            out[key].append(v)
    return out


RANGES = "n <= 12, k <= 4, s <= 3, d <= 3, p <= 4 per axis; groups <= 3, channels per group <= 2"


def conv_point(S: dict[str, tuple[sympy.Symbol, ...]], ndim: int) -> Sampler:
    """Random concrete sizes and a real (row, tap) of the conv matrix: ``a < o``, ``u < k``."""

    def sample(rng: random.Random) -> dict[Any, int] | None:
        prm = random_params(rng, ndim)
        if prm is None:
            return None
        point: dict[Any, int] = {}
        for i in range(ndim):
            o = _axis.conv_out(
                prm["n"][i], prm["k"][i], prm["s"][i], prm["d"][i], prm["p"][i], prm["p"][i]
            )
            point.update(
                {
                    S["n"][i]: prm["n"][i],
                    S["s"][i]: prm["s"][i],
                    S["d"][i]: prm["d"][i],
                    S["p"][i]: prm["p"][i],
                    S["k"][i]: prm["k"][i],
                    S["a"][i]: rng.randint(0, o - 1),
                    S["u"][i]: rng.randint(0, prm["k"][i] - 1),
                }
            )
        return point

    return sample
