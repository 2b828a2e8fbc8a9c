"""General proofs: the conv matrix is the sliding-window sum for *symbolic* sizes.

:func:`convproof.prove` decides the identity for one concrete shape.  Here the sizes and
hyper-parameters are SymPy symbols (integer, positive / nonnegative), so one proof covers
every shape at once.  Each proof compares two independent constructions:

=================  ==========================================  ==============================
side               built from                                  e.g. (one axis)
=================  ==========================================  ==============================
the matrix         the index rules of :mod:`convproof.constructions.index`   ``T_u[a, j] =
KroneckerDelta(
                   that :mod:`convproof.constructions.matrix` builds every   j, tap_source(a, u))``
                   conv matrix from, called with symbols
the definition     this module's own code, written from the    window ``a`` starts at ``a*s``
                   definition of the layer                     of the padded input, tap ``u``
                                                               is ``u*d`` further, minus ``p``
=================  ==========================================  ==============================

Summing ``T_u[a, j] * x_j`` over ``j = 0 .. n-1`` by delta summation
(:func:`sympy.concrete.delta.deltasummation`) must give the definition's term
``Piecewise((x_{a*s + u*d - p}, 0 <= a*s + u*d - p <= n - 1), (0, True))``.  A wrong rule in
:mod:`convproof.constructions.index` (padding sign, stride and dilation swapped, an off-by-one, a
dropped
dilation, a wrong group or scatter rule) makes this *symbolic* step fail, and the matrices
built from it fail :func:`convproof.prove` too; ``tests/test_general_soundness.py`` plants
each of them.

Every result lists its sub-results in ``checks``: one per symbolic step (``"proved"`` when
SymPy shows the two sides identical, ``"refuted"`` when they differ at a concrete point of
the domain, else ``"inconclusive"``) and the numeric spot-check (``"verified"`` or
``"refuted"``).  The verdict is ``"proved"`` only when every symbolic step is; a spot-check
alone gives at most ``"verified"`` (with the cases checked in ``assumptions``).  SymPy has
wrong-result bugs around ``Sum`` / ``Piecewise`` / ``KroneckerDelta`` (e.g. sympy issue
27359; ``deltasummation`` drops the divisibility condition when the summation variable has
a coefficient), so the spot-check runs by default and a failure refutes.

Examples
--------
>>> import convproof as cp
>>> r = cp.prove_general(kind="conv", ndim=1)
>>> r.status, r.method
('proved', 'symbolic-delta-summation')
>>> [(c.statement.split(":")[0], c.status) for c in r.checks]
[('symbolic', 'proved'), ('symbolic', 'proved'), ('spot-check', 'verified')]
"""

from __future__ import annotations

import dataclasses
import itertools
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy
from sympy.concrete.delta import deltasummation

from convproof.constructions import index as _index
from convproof.constructions.definition import definition_table, layout_of
from convproof.errors import ConvProofError
from convproof.formulas.decide import decide, floor_value
from convproof.layers import sizes as _axis
from convproof.layers.spec import ConvSpec, ConvTransposeSpec
from convproof.proofs.concrete import prove
from convproof.proofs.result import ProofResult

__all__ = ["GENERAL_KINDS", "prove_general"]

#: What :func:`prove_general` can prove.
GENERAL_KINDS = ("conv", "conv_transpose", "stride", "output_size", "all")

_METHOD = "symbolic-delta-summation"
_POS = {"integer": True, "positive": True}
_NONNEG = {"integer": True, "nonnegative": True}
#: Samples tried when a symbolic step is not identical, looking for a concrete difference.
_SEARCH = 300

_SYMBOL_CONDITIONS = (
    "every size is an integer symbol: n, k, s, d >= 1; p >= 0; a >= 0; 0 <= u <= k - 1"
)


# --------------------------------------------------------------------------------------
# the definitions, written here from the definition of each layer (never from the
# index rules of convproof.constructions.index, which they are compared with)
# --------------------------------------------------------------------------------------


def _definition_read(a: Any, u: Any, s: Any, d: Any, p: Any) -> Any:
    """Convolution: the input coordinate that tap ``u`` of window ``a`` multiplies.

    The windows slide over the *padded* input in steps of the stride, so window ``a``
    starts at padded coordinate ``a*s``; its taps are ``d`` apart (dilation); padded
    coordinate ``c`` is input coordinate ``c - p`` (``p`` elements of padding before).
    """
    window_start = a * s
    padded = window_start + u * d
    return padded - p


def _definition_write(j: Any, u: Any, s: Any, d: Any, p: Any) -> Any:
    """Transposed convolution (scatter form): where input ``j`` lands through tap ``u``.

    Input ``j`` is placed at slot ``j*s`` of the uncropped output (the inputs are ``s``
    apart), its kernel copy spreads with dilation ``d``, and the output is cropped by
    ``p`` elements at the start.
    """
    slot = j * s
    full = slot + u * d
    return full - p


def _definition_group_channel(g: Any, c: Any, c_in_per_group: Any) -> Any:
    """Grouped convolution: local input channel ``c`` of group ``g``.

    The input channels are split into consecutive blocks of ``C_in / groups``; group ``g``
    owns block ``g``, whose channel ``c`` is input channel ``g*(C_in/groups) + c``.
    """
    first = g * c_in_per_group
    return first + c


def _gated(f: Any, positions: Sequence[Any], sizes: Sequence[Any]) -> sympy.Expr:
    """``f(*positions)`` if every position is inside ``[0, size - 1]``, else 0 (padding)."""
    inside = [c for m, n in zip(positions, sizes) for c in (m >= 0, m <= n - 1)]
    return sympy.Piecewise((f(*positions), sympy.And(*inside)), (0, True))


def _delta_sum(
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


def _same(lhs: sympy.Expr, rhs: sympy.Expr) -> bool:
    """Structural equality after folding nested Piecewise, else ``simplify(lhs - rhs) == 0``."""
    a, b = sympy.piecewise_fold(lhs), sympy.piecewise_fold(rhs)
    if a == b:
        return True
    return bool(sympy.simplify(sympy.piecewise_fold(a - b)) == 0)


Sampler = Callable[[random.Random], "dict[Any, int] | None"]


def _compare(
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
        for _ in range(_SEARCH):
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
            identical = _same(derived, definition)
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
        _METHOD,
        f"symbolic: {statement}",
        time.perf_counter() - t0,
        reason=reason,
        steps=tuple(steps),
        scope={"sizes": f"symbolic ({name})"},
        conditions=conditions,
    )


def _encodes_range(upper: Any, index: Any, slack: Any) -> bool:
    """``upper == index + 1 + slack`` with ``slack >= 0`` says exactly ``index <= upper - 1``.

    Every substitution that encodes a range (division with remainder, a channel or group
    index) is checked with this, so a proof cannot silently cover a smaller domain.
    """
    return bool(sympy.expand(upper - 1 - index) == slack and slack.is_nonnegative)


def _spot_result(statement: str, spot: dict[str, Any], ranges: str, t0: float) -> ProofResult:
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


def _combine(
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
        _METHOD,
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


def _axis_symbols(ndim: int) -> dict[str, tuple[sympy.Symbol, ...]]:
    def many(name: str, **assumptions: bool) -> tuple[sympy.Symbol, ...]:
        if ndim == 1:
            return (sympy.Symbol(name, **assumptions),)
        return tuple(sympy.Symbol(f"{name}{i + 1}", **assumptions) for i in range(ndim))

    return {
        "n": many("n", **_POS),
        "s": many("s", **_POS),
        "d": many("d", **_POS),
        "k": many("k", **_POS),
        "p": many("p", **_NONNEG),
        "a": many("a", **_NONNEG),
        "u": many("u", **_NONNEG),
        "j": many("j", integer=True),
    }


def _params(rng: random.Random, ndim: int, *, min_out: int = 1) -> dict[str, list[int]] | None:
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


_RANGES = "n <= 12, k <= 4, s <= 3, d <= 3, p <= 4 per axis; groups <= 3, channels per group <= 2"


def _conv_point(S: dict[str, tuple[sympy.Symbol, ...]], ndim: int) -> Sampler:
    """Random concrete sizes and a real (row, tap) of the conv matrix: ``a < o``, ``u < k``."""

    def sample(rng: random.Random) -> dict[Any, int] | None:
        prm = _params(rng, ndim)
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


# --------------------------------------------------------------------------------------
# 1. T x = sliding sum (zero padding, N-D, channels and groups)
# --------------------------------------------------------------------------------------


def _spatial_step(ndim: int, seed: int) -> tuple[ProofResult, sympy.Expr, sympy.Expr]:
    t0 = time.perf_counter()
    S = _axis_symbols(ndim)
    x = sympy.Function("x")
    rule = [
        _index.tap_source(
            S["a"][i], S["u"][i], stride=S["s"][i], dilation=S["d"][i], pad_before=S["p"][i]
        )
        for i in range(ndim)
    ]
    derived = _delta_sum(x, rule, S["j"], S["n"])
    reads = [
        _definition_read(S["a"][i], S["u"][i], S["s"][i], S["d"][i], S["p"][i]) for i in range(ndim)
    ]
    definition = _gated(x, reads, S["n"])
    deltas = sympy.Mul(*[sympy.KroneckerDelta(S["j"][i], rule[i]) for i in range(ndim)])
    steps = [
        f"matrix entry per kernel tap u (index.tap_source): T_u[a, j] = {sympy.sstr(deltas)}",
        "(T x)[a] = sum_u w(u) sum_j T_u[a, j] x(j): finite sums, order exchanged",
        f"delta summation over j in [0, n-1]: {sympy.sstr(sympy.piecewise_fold(derived))}",
        f"definition (window a starts at a*s of the padded input, tap u is u*d further, "
        f"minus the padding; outside the input: zero padding): {sympy.sstr(definition)}",
    ]
    conditions = (_SYMBOL_CONDITIONS, "zero padding")
    sub = _compare(
        f"{ndim}-D",
        f"T x = the sliding-window sum per kernel tap ({ndim}-D, zero padding)",
        derived,
        definition,
        _conv_point(S, ndim),
        seed,
        steps,
        conditions,
        t0,
    )
    return sub, derived, definition


def _channel_step(seed: int) -> ProofResult:
    """Groups: output channel ``c_out = g*C_og + r`` reads input channels ``g*C_ig + c``."""
    t0 = time.perf_counter()
    G, c_og, c_ig = sympy.symbols("G C_og C_ig", **_POS)
    g, r, c = sympy.symbols("g r c", **_NONNEG)
    e, f, h = sympy.symbols("e f h", **_NONNEG)
    cc = sympy.Symbol("c_in", integer=True)
    x = sympy.Function("x")
    c_out = g * c_og + r
    start = _index.group_input_start(c_out, out_per_group=c_og, in_per_group=c_ig)
    derived = _delta_sum(x, [start + c], [cc], [G * c_ig])
    definition = x(_definition_group_channel(g, c, c_ig))
    # division with remainder and the ranges, written so that signs decide everything:
    # 0 <= r <= C_og - 1, 0 <= c <= C_ig - 1, 0 <= g <= G - 1
    ranges = {c_og: r + 1 + e, c_ig: c + 1 + f, G: g + 1 + h}
    encoded = all(
        _encodes_range(ranges[up], index, slack)
        for up, index, slack in ((c_og, r, e), (c_ig, c, f), (G, g, h))
    )
    decided = decide(derived.xreplace(ranges))
    steps = [
        "output channel c_out = g*C_og + r (0 <= g <= G-1, 0 <= r <= C_og-1: division with "
        "remainder, so every row block is one (g, r)); its channel block reads input "
        "channels start + c, c = 0..C_ig-1, with weight W[c_out, c, u]",
        f"start (index.group_input_start) = {sympy.sstr(start)}",
        f"delta summation over the G*C_ig input channels: {sympy.sstr(derived)}",
        "with C_og = r + 1 + e, C_ig = c + 1 + f, G = g + 1 + h (e, f, h >= 0): "
        f"{sympy.sstr(decided)}",
        "definition (group g owns input channels g*C_ig .. g*C_ig + C_ig - 1): "
        f"{sympy.sstr(definition)}",
    ]

    def sample(rng: random.Random) -> dict[Any, int]:
        gv, og, ig = rng.randint(1, 4), rng.randint(1, 4), rng.randint(1, 4)
        gg, rr = divmod(rng.randint(0, gv * og - 1), og)
        return {G: gv, c_og: og, c_ig: ig, g: gg, r: rr, c: rng.randint(0, ig - 1)}

    sub = _compare(
        "channels",
        "each output channel reads its group's input channels (symbolic groups G, "
        "C_out = G*C_og, C_in = G*C_ig)",
        decided,
        definition.xreplace(ranges),
        lambda rng: {
            **(pt := sample(rng)),
            e: pt[c_og] - pt[r] - 1,
            f: pt[c_ig] - pt[c] - 1,
            h: pt[G] - pt[g] - 1,
        },
        seed,
        steps,
        ("G, C_og, C_ig >= 1 integers; C_out = G*C_og, C_in = G*C_ig",),
        t0,
    )
    if not encoded and sub.status == "proved":  # pragma: no cover - internal guard
        sub = dataclasses.replace(
            sub, status="inconclusive", reason="the ranges were not encoded exactly"
        )
    return sub


def _conv_identity(ndim: int, cases: int, seed: int, spot_check: bool) -> ProofResult:
    t0 = time.perf_counter()
    S = _axis_symbols(ndim)
    x = sympy.Function("x")
    spatial, derived, definition = _spatial_step(ndim, seed)
    channels = _channel_step(seed)
    steps = [
        *spatial.steps,
        *channels.steps,
        "so (T x)[c_out, a] = sum_{c, u} W[c_out, c, u] * x(group's channel c, tap u's "
        "position) = Z[c_out, a] (Kronecker structure: channel and axis deltas multiply; "
        "bias: b[c_out] on both sides)",
    ]
    spot = None
    if spot_check:
        rng = random.Random(seed)
        failures: list[str] = []
        done = 0
        sampler = _conv_point(S, ndim)
        while done < cases:
            point = sampler(rng)
            if point is None:
                continue
            nn = [point[S["n"][i]] for i in range(ndim)]
            reads = [_definition_read(*(point[S[key][i]] for key in "ausdp")) for i in range(ndim)]
            # the matrix side summed explicitly over the concrete box, no delta summation
            explicit = sympy.Integer(0)
            for jj in itertools.product(*(range(v) for v in nn)):
                if all(jj[i] == reads[i] for i in range(ndim)):
                    explicit += x(*jj)
            lhs, rhs = derived.xreplace(point), definition.xreplace(point)
            if not (lhs == rhs == explicit):
                failures.append(f"{point}: derived {lhs}, definition {rhs}, explicit {explicit}")
            done += 1
        concrete = _concrete_conv_proofs(ndim, max(3, cases // 10), rng)
        failures.extend(concrete[1])
        spot_d = {
            "seed": seed,
            "cases": done,
            "substitution_cases": done,
            "concrete_proofs": concrete[0],
            "passed": not failures,
            "failures": failures[:5],
        }
        spot = _spot_result(
            "the derived identity at random concrete sizes, and convproof.prove on random "
            "layers with channels and groups",
            spot_d,
            _RANGES,
            t0,
        )
    return _combine(
        f"T x = sliding-window sum for symbolic sizes ({ndim}-D, zero padding, channels, groups)",
        (spatial, channels),
        spot,
        steps,
        (*spatial.conditions, *channels.conditions),
        {
            "sizes": "symbolic",
            "axes": ndim,
            "padding": "zeros (other modes: convproof.prove)",
            "matrix side": "the index rules the matrices are built from (tap_source, "
            "group_input_start); their assembly into CSR arrays: convproof.prove, per shape",
        },
        t0,
    )


def _concrete_conv_proofs(ndim: int, count: int, rng: random.Random) -> tuple[int, list[str]]:
    done, failures = 0, []
    while done < count:
        prm = _params(rng, ndim)
        if prm is None:
            continue
        groups = rng.randint(1, 3)
        spec = ConvSpec(
            in_channels=groups * rng.randint(1, 2),
            out_channels=groups * rng.randint(1, 2),
            kernel_size=tuple(prm["k"]),
            stride=tuple(prm["s"]),
            dilation=tuple(prm["d"]),
            padding=tuple(prm["p"]),
            groups=groups,
        )
        shape = (spec.in_channels, *prm["n"])
        result = prove(spec, shape, crosscheck=False)
        if not result:
            failures.append(f"concrete proof failed for {spec} on {shape}: {result.counterexample}")
        done += 1
    return done, failures


# --------------------------------------------------------------------------------------
# 2. the transposed convolution: its scatter definition, and the adjoint of the forward
# --------------------------------------------------------------------------------------


def _adjoint(ndim: int, cases: int, seed: int, spot_check: bool) -> ProofResult:
    t0 = time.perf_counter()
    S = _axis_symbols(ndim)
    N = tuple(sympy.Symbol(f"N{i + 1}" if ndim > 1 else "N", **_POS) for i in range(ndim))
    o = tuple(sympy.Symbol(f"o{i + 1}" if ndim > 1 else "o", integer=True) for i in range(ndim))
    y = sympy.Function("y")
    i_ = S["a"]  # the transposed conv's input positions
    s_, d_, p_, u_ = S["s"], S["d"], S["p"], S["u"]
    rule = [
        _index.scatter_target(i_[q], u_[q], stride=s_[q], dilation=d_[q], pad_before=p_[q])
        for q in range(ndim)
    ]
    # matrix side: column i of the transposed layer's matrix has tap u in row scatter(i, u)
    derived = _delta_sum(y, rule, o, N)
    writes = [_definition_write(i_[q], u_[q], s_[q], d_[q], p_[q]) for q in range(ndim)]
    scatter_def = _gated(y, writes, N)
    reads = [_definition_read(i_[q], u_[q], s_[q], d_[q], p_[q]) for q in range(ndim)]
    forward_def = _gated(y, reads, N)
    scatter = sympy.Mul(*[sympy.KroneckerDelta(o[q], rule[q]) for q in range(ndim)])
    common = [
        f"matrix (index.scatter_target): column i, tap u has row {sympy.sstr(scatter)}",
        "sum_o y(o) T_t[o, i]|_u by delta summation over o in [0, N-1] (N = transposed "
        f"output size): {sympy.sstr(sympy.piecewise_fold(derived))}",
    ]
    conditions = (
        _SYMBOL_CONDITIONS.replace("n, k", "N, k").replace("a >= 0", "i >= 0"),
        "N = (n - 1)s - p_l - p_r + d(k - 1) + op + 1 >= 1 for a transposed input of size n; "
        "0 <= op < max(s, d) (PyTorch); the identity holds entrywise for every N",
    )

    def sample(rng: random.Random) -> dict[Any, int] | None:
        point: dict[Any, int] = {}
        for q in range(ndim):
            k, s, d = rng.randint(1, 4), rng.randint(1, 3), rng.randint(1, 3)
            p, op, n_t = rng.randint(0, 3), rng.randint(0, max(s, d) - 1), rng.randint(1, 5)
            big = _axis.transposed_out(n_t, k, s, d, p, p, op)
            if big < 1:
                return None
            point.update(
                {
                    N[q]: big,
                    s_[q]: s,
                    d_[q]: d,
                    p_[q]: p,
                    S["k"][q]: k,
                    i_[q]: rng.randint(0, n_t - 1),
                    u_[q]: rng.randint(0, k - 1),
                }
            )
        return point

    scatter_step = _compare(
        f"{ndim}-D",
        f"the transposed conv's matrix = its scatter definition ({ndim}-D)",
        derived,
        scatter_def,
        sample,
        seed,
        [
            *common,
            "definition (input i lands at slot i*s of the uncropped output, tap u is u*d "
            f"further, cropped by p at the start; outside [0, N-1]: cropped): "
            f"{sympy.sstr(scatter_def)}",
        ],
        conditions,
        t0,
    )
    adjoint_step = _compare(
        f"{ndim}-D",
        f"the transposed conv's matrix = the forward conv's matrix transposed ({ndim}-D)",
        derived,
        forward_def,
        sample,
        seed,
        [
            *common,
            "<T_t y_in, y> = sum_i y_in(i) sum_u w(u) (that sum); the forward conv on an "
            "input of size N, by its definition, has in row i, tap u: "
            f"{sympy.sstr(forward_def)}",
        ],
        conditions,
        t0,
    )
    steps = [
        *scatter_step.steps,
        adjoint_step.steps[-2],
        adjoint_step.steps[-1],
        "hence <z, T_transposed y> = <T_forward z, y> for all y, z: the transposed conv's "
        "matrix is T_forward^T (rows i < n of the forward conv; all of them when op < s); "
        "channels: the same group rule in the forward orientation (kind='conv')",
    ]
    spot = None
    if spot_check:
        spot = _adjoint_spot(ndim, cases, seed, derived, scatter_def, forward_def, sample, t0)
    return _combine(
        f"the transposed convolution is the adjoint of the forward one ({ndim}-D)",
        (scatter_step, adjoint_step),
        spot,
        steps,
        conditions,
        {"sizes": "symbolic", "axes": ndim, "padding": "zeros"},
        t0,
    )


def _adjoint_spot(
    ndim: int,
    cases: int,
    seed: int,
    derived: sympy.Expr,
    scatter_def: sympy.Expr,
    forward_def: sympy.Expr,
    sample: Sampler,
    t0: float,
) -> ProofResult:
    rng = random.Random(seed)
    failures: list[str] = []
    done = 0
    y = sympy.Function("y")
    while done < cases:
        point = sample(rng)
        if point is None:
            continue
        vals = {str(k): v for k, v in point.items()}
        big, lands = [], []
        for q in range(ndim):
            sfx = "" if ndim == 1 else str(q + 1)
            big.append(vals["N" + sfx])
            lands.append(_definition_write(*(vals[key + sfx] for key in ("a", "u", "s", "d", "p"))))
        explicit = sympy.Integer(0)
        for oo in itertools.product(*(range(v) for v in big)):
            if all(oo[q] == lands[q] for q in range(ndim)):
                explicit += y(*oo)
        lhs, mid, rhs = (e.xreplace(point) for e in (derived, scatter_def, forward_def))
        if not (lhs == mid == rhs == explicit):
            failures.append(f"{point}: derived {lhs}, scatter {mid}, forward {rhs}")
        done += 1
    concrete = _concrete_adjoint(ndim, max(3, cases // 10), rng)
    failures.extend(concrete[1])
    spot_d = {
        "seed": seed,
        "cases": done,
        "substitution_cases": done,
        "concrete_adjoint_checks": concrete[0],
        "passed": not failures,
        "failures": failures[:5],
    }
    return _spot_result(
        "the derived identity at random concrete sizes; random transposed layers proved by "
        "convproof.prove and their definition tables compared with the forward ones",
        spot_d,
        "k <= 3, s <= 3, d <= 2, p <= 2, op < max(s, d), transposed input <= 4 per axis; "
        "groups <= 3",
        t0,
    )


def _concrete_adjoint(ndim: int, count: int, rng: random.Random) -> tuple[int, list[str]]:
    """Random transposed convs: convproof.prove (its matrix from the scatter rule against the
    scatter definition) and the scatter-definition table = forward gather table, transposed."""
    done, failures = 0, []
    while done < count:
        groups = rng.randint(1, 3)
        k = tuple(rng.randint(1, 3) for _ in range(ndim))
        s = tuple(rng.randint(1, 3) for _ in range(ndim))
        d = tuple(rng.randint(1, 2) for _ in range(ndim))
        p = tuple(rng.randint(0, 2) for _ in range(ndim))
        op = tuple(rng.randint(0, max(si, di) - 1) for si, di in zip(s, d))
        try:
            t_spec = ConvTransposeSpec(
                in_channels=groups * rng.randint(1, 2),
                out_channels=groups * rng.randint(1, 2),
                kernel_size=k,
                stride=s,
                dilation=d,
                padding=p,
                output_padding=op,
                groups=groups,
                bias=False,
            )
            t_shape = (t_spec.in_channels, *(rng.randint(1, 4) for _ in range(ndim)))
            t_out = t_spec.output_shape(t_shape)
            f_spec = ConvSpec(
                in_channels=t_spec.out_channels,
                out_channels=t_spec.in_channels,
                kernel_size=k,
                stride=s,
                dilation=d,
                padding=p,
                groups=groups,
                bias=False,
            )
            f_shape = t_out
            f_spec.output_shape(f_shape)
        except ConvProofError:
            continue
        result = prove(t_spec, t_shape, crosscheck=False)
        if not result:
            failures.append(
                f"concrete proof failed for {t_spec} on {t_shape}: {result.counterexample}"
            )
        t_lay, f_lay = layout_of(t_spec, t_shape), layout_of(f_spec, f_shape)
        t_tab = definition_table(t_spec, t_lay)
        f_tab = definition_table(f_spec, f_lay)
        # forward rows are (C_in_t, *forward out); keep those inside the transposed input
        keep = {
            r
            for r in range(f_lay.nrows)
            if all(v < n for v, n in zip(np.unravel_index(r, f_lay.out_shape), t_shape))
        }
        t_set = {t_tab.decode(e) for e in range(t_tab.size)}
        f_set = set()
        for e in range(f_tab.size):
            r, c, tap = f_tab.decode(e)
            if r in keep:
                idx = np.unravel_index(r, f_lay.out_shape)
                r_t = int(np.ravel_multi_index(idx, t_shape))
                f_set.add((c, r_t, tap))
        if t_set != f_set:
            failures.append(f"adjoint fails for {t_spec} on {t_shape}")
        done += 1
    return done, failures


# --------------------------------------------------------------------------------------
# 3. stride = row selection of the stride-1 matrix
# --------------------------------------------------------------------------------------


def _stride_selection(ndim: int, cases: int, seed: int, spot_check: bool) -> ProofResult:
    t0 = time.perf_counter()
    S = _axis_symbols(ndim)
    x = sympy.Function("x")
    a, u, s, d, p = S["a"], S["u"], S["s"], S["d"], S["p"]
    # matrix side: both matrices from the one index rule
    rule_s = [
        _index.tap_source(a[i], u[i], stride=s[i], dilation=d[i], pad_before=p[i])
        for i in range(ndim)
    ]
    rule_1 = [
        _index.tap_source(a[i] * s[i], u[i], stride=1, dilation=d[i], pad_before=p[i])
        for i in range(ndim)
    ]
    t_s = _delta_sum(x, rule_s, S["j"], S["n"])
    t_1 = _delta_sum(x, rule_1, S["j"], S["n"])
    # definition: the stride-s layer is the stride-1 layer's output at every s-th position,
    # and the stride-1 layer reads (by its definition) b + u*d - p for output b = a*s
    definition = _gated(
        x, [_definition_read(a[i] * s[i], u[i], 1, d[i], p[i]) for i in range(ndim)], S["n"]
    )
    conditions = (
        _SYMBOL_CONDITIONS,
        "zero padding; n + p_l + p_r >= d(k - 1) + 1 (at least one window) for the row count",
    )
    sample = _conv_point(S, ndim)
    step_s = _compare(
        f"{ndim}-D",
        f"row a of the stride-s matrix = the definition's stride-1 output a*s ({ndim}-D)",
        t_s,
        definition,
        sample,
        seed,
        [
            f"stride-s matrix (index.tap_source), summed with x: {sympy.sstr(t_s)}",
            "definition: stride s keeps every s-th output of the stride-1 layer, whose "
            f"output b = a*s reads b + u*d - p: {sympy.sstr(definition)}",
        ],
        conditions,
        t0,
    )
    step_1 = _compare(
        f"{ndim}-D",
        f"row a*s of the stride-1 matrix = the definition's stride-1 output a*s ({ndim}-D)",
        t_1,
        definition,
        sample,
        seed,
        [f"stride-1 matrix row a*s (index.tap_source), summed with x: {sympy.sstr(t_1)}"],
        conditions,
        t0,
    )
    # row range: rows a <= o_s - 1 of the stride-s matrix map to rows a*s <= o_1 - 1
    m_, e_, r_ = sympy.symbols("m e r", integer=True, nonnegative=True)
    # q = n + p_l + p_r - k_eff >= 0 written as q = s*m + r with 0 <= r <= s - 1, i.e. the
    # stride is s = r + 1 + e with e >= 0 (division with remainder)
    s0 = r_ + 1 + e_
    q = s0 * m_ + r_
    # (o_s - 1) s = m s <= q
    last_row_fits = _encodes_range(s0, r_, e_) and bool(sympy.expand(q - m_ * s0).is_nonnegative)
    rows = ProofResult(
        "proved" if last_row_fits else "inconclusive",
        _METHOD,
        "symbolic: the stride-s matrix's rows are rows 0, s, ..., (o_s - 1)s of the stride-1 "
        "matrix, all inside it",
        time.perf_counter() - t0,
        steps=(
            "rows: with q = n + p_l + p_r - k_eff = s*m + r (0 <= r <= s-1), the stride-s "
            "matrix has rows a = 0..m (o_s = m + 1) and (o_s - 1)*s = m*s <= q = o_1 - 1: "
            f"{'shown' if last_row_fits else 'NOT shown'} (q - m*s = r >= 0)",
        ),
        conditions=conditions[1:],
    )
    steps = [*step_s.steps, *step_1.steps, *rows.steps]
    spot = None
    if spot_check:
        spot = _stride_spot(ndim, cases, seed, t0)
    return _combine(
        f"stride s = every s-th row of the stride-1 matrix ({ndim}-D)",
        (step_s, step_1, rows),
        spot,
        steps,
        conditions,
        {"sizes": "symbolic", "axes": ndim, "padding": "zeros"},
        t0,
    )


def _stride_spot(ndim: int, cases: int, seed: int, t0: float) -> ProofResult:
    rng = random.Random(seed)
    failures: list[str] = []
    done = 0
    proved = 0
    while done < cases:
        prm = _params(rng, ndim)
        if prm is None or all(v == 1 for v in prm["s"]):
            continue
        spec = ConvSpec(
            in_channels=1,
            out_channels=rng.randint(1, 2),
            kernel_size=tuple(prm["k"]),
            stride=tuple(prm["s"]),
            dilation=tuple(prm["d"]),
            padding=tuple(prm["p"]),
            bias=False,
        )
        one = ConvSpec(
            in_channels=1,
            out_channels=spec.out_channels,
            kernel_size=spec.kernel_size,
            stride=1,
            dilation=spec.dilation,
            padding=spec.padding,
            bias=False,
        )
        shape = (1, *prm["n"])
        if proved < max(3, cases // 10):
            result = prove(spec, shape, crosscheck=False)
            proved += 1
            if not result:
                failures.append(f"concrete proof failed for {spec} on {shape}")
        lay_s, lay_1 = layout_of(spec, shape), layout_of(one, shape)
        tab_s = definition_table(spec, lay_s)
        tab_1 = definition_table(one, lay_1)
        want = {tab_s.decode(e) for e in range(tab_s.size)}
        got = set()
        for e in range(tab_1.size):
            r, c, tap = tab_1.decode(e)
            idx = np.unravel_index(r, lay_1.out_shape)
            sel: list[int] = [int(idx[0])]
            ok = True
            for i in range(ndim):
                v = int(idx[1 + i])
                if v % prm["s"][i] or v // prm["s"][i] >= lay_s.out_shape[1 + i]:
                    ok = False
                    break
                sel.append(v // prm["s"][i])
            if ok:
                got.add((int(np.ravel_multi_index(sel, lay_s.out_shape)), c, tap))
        if want != got:
            failures.append(f"row selection fails for {spec} on {shape}")
        done += 1
    spot_d = {
        "seed": seed,
        "cases": done,
        "concrete_proofs": proved,
        "passed": not failures,
        "failures": failures[:5],
    }
    return _spot_result(
        "definition tables of random strided layers = rows of the stride-1 tables; "
        "convproof.prove on some of them",
        spot_d,
        _RANGES,
        t0,
    )


# --------------------------------------------------------------------------------------
# 4. the output-size formula counts the valid window positions
# --------------------------------------------------------------------------------------


def _output_size(cases: int, seed: int, spot_check: bool) -> ProofResult:
    t0 = time.perf_counter()
    n, k, s, d = sympy.symbols("n k s d", **_POS)
    pl, pr = sympy.symbols("p_l p_r", **_NONNEG)
    m, e, t, a = sympy.symbols("m e t a", integer=True, nonnegative=True)
    k_eff = d * (k - 1) + 1
    padded = n + pl + pr

    r = sympy.Symbol("r", integer=True, nonnegative=True)
    # case q >= 0: division with remainder q = padded - k_eff = s*m + r, 0 <= r <= s - 1,
    # written with s = r + 1 + e (e >= 0) so that the sign of every slack follows from the
    # assumptions
    s_div = r + 1 + e
    q = s_div * m + r

    def slack(pos: sympy.Expr) -> sympy.Expr:
        # window pos is valid iff pos*s + k_eff - 1 <= padded - 1, i.e. slack >= 0;
        # padded - k_eff = q
        return sympy.expand(q + k_eff - 1 - (pos * s_div + k_eff - 1))

    valid_below = slack(m - t)
    invalid_above = slack(m + 1 + t)
    ok_below = bool(valid_below.is_nonnegative)
    ok_above = bool(invalid_above.is_negative)
    count = sympy.Sum(1, (a, 0, m)).doit()
    # m = floor(q/s): 0 <= q - m*s <= s - 1 (convproof.formulas.decide.floor_value checks exactly
    # that)
    floor_ok = _encodes_range(s_div, r, e) and sympy.expand(floor_value(q / s_div) - m) == 0
    formula = sympy.floor((padded - k_eff) / s) + 1
    # case q < 0: q = -(t + 1); no window fits and the formula is <= 0
    q_neg = -(t + 1)
    none_fit = bool(sympy.expand(q_neg - a * s).is_negative)  # slack of every a >= 0
    formula_nonpos = bool((q_neg / s).is_negative)  # floor(x) <= -1 for x < 0
    steps = [
        "window a is valid iff a >= 0 and a*s + k_eff - 1 <= n + p_l + p_r - 1, "
        "k_eff = d*(k - 1) + 1; let q = n + p_l + p_r - k_eff",
        "case q >= 0: write q = s*m + r with m >= 0 and 0 <= r <= s - 1, "
        "i.e. s = r + 1 + e with e >= 0",
        f"a = m - t (0 <= t <= m): slack {sympy.sstr(valid_below)} >= 0: "
        f"{'shown' if ok_below else 'NOT shown'}",
        f"a = m + 1 + t (t >= 0): slack {sympy.sstr(invalid_above)} < 0: "
        f"{'shown' if ok_above else 'NOT shown'}",
        f"valid windows a = 0..m, count = Sum(1, (a, 0, m)) = {count}",
        f"m = floor(q/s) since m*s <= q < (m+1)*s: {'shown' if floor_ok else 'NOT shown'}",
        "case q < 0: q = -(t + 1) with t >= 0; every a >= 0 has slack q - a*s = "
        f"{sympy.sstr(sympy.expand(q_neg - a * s))} < 0: {'shown' if none_fit else 'NOT shown'}"
        f", so count = 0; q/s < 0: {'shown' if formula_nonpos else 'NOT shown'}, so "
        "floor(q/s) + 1 <= 0",
        f"output size = {sympy.sstr(formula)} when q >= 0 (PyTorch's formula); in general "
        f"count = max(0, {sympy.sstr(formula)})",
    ]
    part = ProofResult(
        "proved"
        if ok_below and ok_above and count == m + 1 and floor_ok and none_fit and formula_nonpos
        else "inconclusive",
        _METHOD,
        "symbolic: window count by cases q >= 0 and q < 0",
        time.perf_counter() - t0,
        steps=tuple(steps),
    )
    conditions = (
        "n, k, s, d integers >= 1; p_l, p_r integers >= 0",
        "floor((n + p_l + p_r - d(k-1) - 1)/s) + 1 counts the windows iff "
        "n + p_l + p_r >= d(k-1) + 1",
        "otherwise 0 windows and floor(...) + 1 <= 0: count = max(0, floor(...) + 1)",
    )
    spot = None
    if spot_check:
        rng = random.Random(seed)
        failures = []
        for _ in range(cases):
            nn, kk, ss = rng.randint(1, 30), rng.randint(1, 6), rng.randint(1, 5)
            dd, pp_l, pp_r = rng.randint(1, 3), rng.randint(0, 6), rng.randint(0, 6)
            ke = dd * (kk - 1) + 1
            total = nn + pp_l + pp_r
            brute = sum(1 for aa in range(total + 1) if aa * ss + ke - 1 <= total - 1)
            sym = int(formula.subs({n: nn, k: kk, s: ss, d: dd, pl: pp_l, pr: pp_r}))
            if brute != max(0, sym) or (total >= ke) != (sym >= 1):
                failures.append(
                    f"n={nn} k={kk} s={ss} d={dd} p=({pp_l},{pp_r}): count {brute}, formula {sym}"
                )
        spot_d = {"seed": seed, "cases": cases, "passed": not failures, "failures": failures[:5]}
        spot = _spot_result(
            "brute-force window counts = max(0, formula)",
            spot_d,
            "n <= 30, k <= 6, s <= 5, d <= 3, p_l, p_r <= 6",
            t0,
        )
    return _combine(
        "output size floor((n + p_l + p_r - d(k-1) - 1)/s) + 1 = number of valid window "
        "positions when n + p_l + p_r >= d(k-1) + 1, else 0 (count = max(0, formula))",
        (part,),
        spot,
        steps,
        conditions,
        {"sizes": "symbolic", "axes": 1},
        t0,
    )


# --------------------------------------------------------------------------------------
# public entry point
# --------------------------------------------------------------------------------------


def prove_general(
    kind: str = "conv",
    ndim: int = 2,
    *,
    cases: int = 60,
    seed: int = 0,
    spot_check: bool = True,
) -> ProofResult:
    """Prove the conv identities for symbolic sizes, with a numeric spot-check.

    Parameters
    ----------
    kind : {"conv", "conv_transpose", "stride", "output_size", "all"}
        ===================  ======================================================
        ``"conv"``           ``T x`` equals the sliding-window sum (zero padding,
                             ``ndim`` axes; channels and groups with symbolic
                             ``G``, ``C_out/G``, ``C_in/G``)
        ``"conv_transpose"``  the transposed conv's matrix equals its scatter
                             definition and the forward conv's matrix transposed
        ``"stride"``         the stride-``s`` matrix is every ``s``-th row of the
                             stride-1 matrix
        ``"output_size"``    ``floor((n + p_l + p_r - k_eff)/s) + 1`` counts the valid
                             window positions when ``n + p_l + p_r >= k_eff`` (else
                             there are none: ``max(0, ...)``)
        ``"all"``            all four, as ``checks``
        ===================  ======================================================
    ndim : int
        Number of spatial axes (1, 2 or 3; sizes are symbols per axis).
    cases : int
        Random concrete cases in the spot-check.
    seed : int
        Seed of the spot-check and of the counterexample search (reported).
    spot_check : bool, default True
        Run the numeric spot-check.  Without it the verdict rests on the symbolic steps
        alone (``"proved"``, ``"refuted"`` or ``"inconclusive"``).

    Returns
    -------
    ProofResult
        ``method == "symbolic-delta-summation"``; ``steps`` is the derivation,
        ``conditions`` what the theorem assumes, and ``checks`` the sub-results: one per
        symbolic step (statement ``"symbolic: ..."``) and the spot-check (``"spot-check:
        ..."``, whose dict is also ``spot_check``).

        ================  ============================================================
        status            when
        ================  ============================================================
        ``proved``        every symbolic step shows the matrix side identical to the
                          definition (and the spot-check, if run, passed)
        ``verified``      a symbolic step was not confirmed by SymPy but the spot-check
                          passed (``assumptions`` and ``scope`` say what was checked)
        ``refuted``       a symbolic step differs from the definition at a concrete
                          point of the domain, or the spot-check failed
        ``inconclusive``  not confirmed and no spot-check
        ================  ============================================================

    Raises
    ------
    ConvProofError
        For an unknown ``kind``, ``ndim`` outside 1..3 or ``cases < 1``.

    Notes
    -----
    The matrix side comes from :func:`convproof.constructions.index.tap_source`,
    :func:`~convproof.constructions.index.scatter_target` and
    :func:`~convproof.constructions.index.group_input_start` -- the rules the matrices of
    :mod:`convproof.constructions.matrix` are built from -- evaluated on symbols; the definition
    side
    is written in this module.  Only zero padding is covered symbolically (circular /
    reflect / replicate fold taps with ``Mod`` / reflections that delta summation cannot
    handle); the other padding modes are proved per shape by :func:`convproof.prove`.

    Examples
    --------
    >>> import convproof as cp
    >>> r = cp.prove_general(kind="conv", ndim=2, cases=20)
    >>> bool(r), r.spot_check["passed"], r.spot_check["substitution_cases"]
    (True, True, 20)
    >>> print(r.steps[2])                     # doctest: +ELLIPSIS
    delta summation over j in [0, n-1]: Piecewise((x(a1*s1 + d1*u1 - p1, a2*s2 + d2*u2 - p2), ...
    >>> sizes = cp.prove_general(kind="output_size", spot_check=False)
    >>> sizes.status, sizes.spot_check
    ('proved', None)
    >>> for condition in sizes.conditions:
    ...     print(condition)
    n, k, s, d integers >= 1; p_l, p_r integers >= 0
    floor((n + p_l + p_r - d(k-1) - 1)/s) + 1 counts the windows iff n + p_l + p_r >= d(k-1) + 1
    otherwise 0 windows and floor(...) + 1 <= 0: count = max(0, floor(...) + 1)
    """
    if kind not in GENERAL_KINDS:
        raise ConvProofError(
            f"kind must be one of {', '.join(map(repr, GENERAL_KINDS))}, got kind={kind!r}"
        )
    if isinstance(ndim, bool) or not isinstance(ndim, int) or not 1 <= ndim <= 3:
        raise ConvProofError(f"ndim must be 1, 2 or 3, got ndim={ndim!r}")
    if isinstance(cases, bool) or not isinstance(cases, int) or cases < 1:
        raise ConvProofError(f"cases must be an int >= 1, got cases={cases!r}")
    if not isinstance(spot_check, bool):
        raise ConvProofError(f"spot_check must be True or False, got spot_check={spot_check!r}")
    if kind == "conv":
        return _conv_identity(ndim, cases, seed, spot_check)
    if kind == "conv_transpose":
        return _adjoint(ndim, cases, seed, spot_check)
    if kind == "stride":
        return _stride_selection(ndim, cases, seed, spot_check)
    if kind == "output_size":
        return _output_size(cases, seed, spot_check)
    t0 = time.perf_counter()
    parts = (
        _conv_identity(ndim, cases, seed, spot_check),
        _adjoint(ndim, cases, seed, spot_check),
        _stride_selection(ndim, cases, seed, spot_check),
        _output_size(cases, seed, spot_check),
    )
    statuses = [p.status for p in parts]
    status = next(
        (st for st in ("refuted", "inconclusive", "verified") if st in statuses), "proved"
    )
    spot = None
    if spot_check:
        spot = {
            "seed": seed,
            "cases": sum(p.spot_check["cases"] for p in parts if p.spot_check),
            "passed": all(p.spot_check and p.spot_check["passed"] for p in parts),
        }
    return ProofResult(
        status,
        _METHOD,
        f"conv matrix identities for symbolic sizes ({ndim}-D)",
        time.perf_counter() - t0,
        checks=parts,
        spot_check=spot,
        assumptions=tuple(a for p in parts for a in p.assumptions),
        conditions=tuple(dict.fromkeys(c for p in parts for c in p.conditions)),
        scope={"sizes": "symbolic", "axes": ndim},
    )
