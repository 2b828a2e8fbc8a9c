"""General proofs: the conv matrix is the sliding-window sum for *symbolic* sizes.

:func:`convproof.prove` decides the identity for one concrete shape.  Here the sizes and
hyper-parameters are SymPy symbols (integer, positive / nonnegative), so one proof covers
every shape at once.  Per axis, with input length ``n``, stride ``s``, dilation ``d``,
padding before ``p`` and kernel size ``k``, the conv matrix entry is

    ``T[a, j] = sum_u w_u * KroneckerDelta(j, a*s + u*d - p)``,

and summing ``T[a, j] * x_j`` over ``j = 0 .. n-1`` by delta summation
(:func:`sympy.concrete.delta.deltasummation`) must give the definition's term
``Piecewise((x_{a*s + u*d - p}, 0 <= a*s + u*d - p <= n - 1), (0, True))`` -- the tap reads a
real input element, or zero padding.  In N-D the entry is a product of per-axis deltas and
the sum over the input box is N nested delta summations; channels and groups add a block
(Kronecker) structure on top, and the kernel and channel sums are common to both sides.

SymPy has wrong-result bugs around ``Sum`` / ``Piecewise`` / ``KroneckerDelta`` (e.g.
sympy issue 27359; ``deltasummation`` also drops the divisibility condition when the
summation variable has a coefficient, as in ``KroneckerDelta(o, i*s + c)`` summed over
``i``), so every general proof here **also** runs a numeric spot-check of the derived
identity at random concrete sizes with exact integers, and the result reports both.

Examples
--------
>>> import convproof as cp
>>> r = cp.prove_general(kind="conv", ndim=1)
>>> r.status, r.method
('proved', 'symbolic-delta-summation')
>>> r.spot_check["passed"], r.spot_check["cases"] > 0
(True, True)
"""

from __future__ import annotations

import itertools
import random
import time
from typing import Any

import numpy as np
import sympy
from sympy.concrete.delta import deltasummation

from . import _axis
from .errors import ConvProofError
from .proof import ProofResult, _definition_table, _layout, prove
from .spec import ConvSpec, ConvTransposeSpec

__all__ = ["GENERAL_KINDS", "prove_general"]

#: What :func:`prove_general` can prove.
GENERAL_KINDS = ("conv", "conv_transpose", "stride", "output_size", "all")

_POS = {"integer": True, "positive": True}
_NONNEG = {"integer": True, "nonnegative": True}


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


def _in_range(m: sympy.Expr, n: sympy.Expr) -> list[Any]:
    return [m >= 0, m <= n - 1]


def _same(lhs: sympy.Expr, rhs: sympy.Expr) -> bool:
    """Structural equality after folding nested Piecewise, else ``simplify(lhs - rhs) == 0``."""
    a, b = sympy.piecewise_fold(lhs), sympy.piecewise_fold(rhs)
    if a == b:
        return True
    return bool(sympy.simplify(sympy.piecewise_fold(a - b)) == 0)


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


# --------------------------------------------------------------------------------------
# 1. T x = sliding sum (zero padding, N-D)
# --------------------------------------------------------------------------------------


def _conv_identity(ndim: int, cases: int, seed: int) -> ProofResult:
    t0 = time.perf_counter()
    S = _axis_symbols(ndim)
    x = sympy.Function("x")
    m = [S["a"][i] * S["s"][i] + S["u"][i] * S["d"][i] - S["p"][i] for i in range(ndim)]
    deltas = sympy.Mul(*[sympy.KroneckerDelta(S["j"][i], m[i]) for i in range(ndim)])
    derived: sympy.Expr = deltas * x(*S["j"])
    steps = [
        f"matrix entry per kernel tap u: T_u[a, j] = {sympy.sstr(deltas)}",
        "(T x)[a] = sum_u w(u) sum_j T_u[a, j] x(j): finite sums, order exchanged",
    ]
    for i in reversed(range(ndim)):
        derived = deltasummation(derived, (S["j"][i], 0, S["n"][i] - 1))
    conds = [c for i in range(ndim) for c in _in_range(m[i], S["n"][i])]
    definition = sympy.Piecewise((x(*m), sympy.And(*conds)), (0, True))
    symbolic_ok = _same(derived, definition)
    steps.append(f"delta summation over j in [0, n-1]: {sympy.sstr(sympy.piecewise_fold(derived))}")
    steps.append(
        f"definition (tap inside the input, else zero padding): {sympy.sstr(definition)} -> "
        f"{'identical' if symbolic_ok else 'NOT shown identical'}"
    )
    steps.append(
        "so (T x)[a] = sum_u w(u) * definition term = Z[a]; channels and groups: "
        "T = sum_{c_out, c_in in group} E[c_out, c_in] (x) T(W[c_out, c_in - c0]) "
        "(Kronecker block structure), and both sides sum the same per-(c_out, c_in) "
        "spatial maps, so the spatial identity gives the full one (bias: b[c_out] on both)"
    )

    # numeric spot-check: the derived identity at random concrete sizes, exact integers
    rng = random.Random(seed)
    failures: list[str] = []
    done = 0
    while done < cases:
        prm = _params(rng, ndim)
        if prm is None:
            continue
        outs = [
            _axis.conv_out(
                prm["n"][i], prm["k"][i], prm["s"][i], prm["d"][i], prm["p"][i], prm["p"][i]
            )
            for i in range(ndim)
        ]
        a_val = [rng.randint(0, max(0, o - 1)) for o in outs]
        u_val = [rng.randint(0, prm["k"][i] - 1) for i in range(ndim)]
        sub: dict[Any, int] = {}
        for i in range(ndim):
            sub.update(
                {
                    S["n"][i]: prm["n"][i],
                    S["s"][i]: prm["s"][i],
                    S["d"][i]: prm["d"][i],
                    S["p"][i]: prm["p"][i],
                    S["a"][i]: a_val[i],
                    S["u"][i]: u_val[i],
                }
            )
        # the matrix side summed explicitly over the concrete box, no delta summation
        explicit = sympy.Integer(0)
        for jj in itertools.product(*(range(prm["n"][i]) for i in range(ndim))):
            if all(
                jj[i] == a_val[i] * prm["s"][i] + u_val[i] * prm["d"][i] - prm["p"][i]
                for i in range(ndim)
            ):
                explicit += x(*jj)
        lhs = derived.xreplace(sub)
        rhs = definition.xreplace(sub)
        if not (lhs == rhs == explicit):
            failures.append(f"{sub}: derived {lhs}, definition {rhs}, explicit sum {explicit}")
        done += 1
    # concrete end-to-end proofs with channels and groups (the engine of convproof.prove)
    concrete = _concrete_conv_proofs(ndim, max(3, cases // 10), rng)
    failures.extend(concrete[1])
    spot = {
        "seed": seed,
        "cases": done,
        "substitution_cases": done,
        "concrete_proofs": concrete[0],
        "passed": not failures,
        "failures": failures[:5],
    }
    return _result(
        symbolic_ok,
        spot,
        f"T x = sliding-window sum for symbolic sizes ({ndim}-D, zero padding, channels, groups)",
        steps,
        t0,
    )


def _concrete_conv_proofs(ndim: int, count: int, rng: random.Random) -> tuple[int, list[str]]:
    done, failures = 0, []
    while done < count:
        prm = _params(rng, ndim)
        if prm is None:
            continue
        groups = rng.choice([1, 2])
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


def _result(
    symbolic_ok: bool, spot: dict[str, Any], statement: str, steps: list[str], t0: float
) -> ProofResult:
    if not spot["passed"]:
        status = "refuted"
        reason = "the numeric spot-check found a case where the derived identity fails"
    elif symbolic_ok:
        status, reason = "proved", None
    else:
        status = "inconclusive"
        reason = "SymPy did not confirm the symbolic identity (the spot-check passed)"
    return ProofResult(
        status,
        "symbolic-delta-summation",
        statement,
        time.perf_counter() - t0,
        reason=reason,
        spot_check=spot,
        steps=tuple(steps),
    )


# --------------------------------------------------------------------------------------
# 2. the transposed convolution is the adjoint
# --------------------------------------------------------------------------------------


def _adjoint(ndim: int, cases: int, seed: int) -> ProofResult:
    t0 = time.perf_counter()
    S = _axis_symbols(ndim)
    N = tuple(sympy.Symbol(f"N{i + 1}" if ndim > 1 else "N", **_POS) for i in range(ndim))
    o = tuple(sympy.Symbol(f"o{i + 1}" if ndim > 1 else "o", integer=True) for i in range(ndim))
    z = sympy.Function("z")
    i_ = S["a"]  # the transposed conv's input positions
    m = [i_[q] * S["s"][q] + S["u"][q] * S["d"][q] - S["p"][q] for q in range(ndim)]
    # transposed conv, its own (scatter) definition: input i sends w(u) y(i) to o = i s + u d - p
    scatter = sympy.Mul(*[sympy.KroneckerDelta(o[q], m[q]) for q in range(ndim)])
    derived: sympy.Expr = z(*o) * scatter
    for q in reversed(range(ndim)):
        derived = deltasummation(derived, (o[q], 0, N[q] - 1))
    conds = [c for q in range(ndim) for c in _in_range(m[q], N[q])]
    forward = sympy.Piecewise((z(*m), sympy.And(*conds)), (0, True))
    symbolic_ok = _same(derived, forward)
    steps = [
        "transposed conv (scatter definition): Y[o] = sum_i sum_u w(u) y(i) "
        "[o = i*s + u*d - p], o in [0, N-1] (N = transposed output size)",
        "<z, Y> = sum_o z(o) Y[o] = sum_i sum_u w(u) y(i) sum_o z(o) "
        f"{sympy.sstr(scatter)} (finite sums exchanged)",
        f"delta summation over o: {sympy.sstr(sympy.piecewise_fold(derived))}",
        f"forward conv definition on an input of size N: {sympy.sstr(forward)} -> "
        f"{'identical' if symbolic_ok else 'NOT shown identical'}",
        "hence <z, T_transposed y> = <T_forward z, y> for all y, z: the transposed conv's "
        "matrix is T_forward^T (rows i < n of the forward conv; all of them when op < s)",
    ]
    rng = random.Random(seed)
    failures: list[str] = []
    done = 0
    while done < cases:
        prm = _params(rng, ndim)
        if prm is None:
            continue
        n_t = [rng.randint(1, 5) for _ in range(ndim)]  # transposed input sizes
        big = [
            _axis.transposed_out(
                n_t[q], prm["k"][q], prm["s"][q], prm["d"][q], prm["p"][q], prm["p"][q], 0
            )
            for q in range(ndim)
        ]
        if min(big) < 1:
            continue
        sub: dict[Any, int] = {}
        i_val = [rng.randint(0, n_t[q] - 1) for q in range(ndim)]
        u_val = [rng.randint(0, prm["k"][q] - 1) for q in range(ndim)]
        for q in range(ndim):
            sub.update(
                {
                    N[q]: big[q],
                    S["s"][q]: prm["s"][q],
                    S["d"][q]: prm["d"][q],
                    S["p"][q]: prm["p"][q],
                    i_[q]: i_val[q],
                    S["u"][q]: u_val[q],
                }
            )
        explicit = sympy.Integer(0)
        for oo in itertools.product(*(range(big[q]) for q in range(ndim))):
            if all(
                oo[q] == i_val[q] * prm["s"][q] + u_val[q] * prm["d"][q] - prm["p"][q]
                for q in range(ndim)
            ):
                explicit += z(*oo)
        lhs, rhs = derived.xreplace(sub), forward.xreplace(sub)
        if not (lhs == rhs == explicit):
            failures.append(f"{sub}: derived {lhs}, forward {rhs}, explicit {explicit}")
        done += 1
    concrete = _concrete_adjoint(ndim, max(3, cases // 10), rng)
    failures.extend(concrete[1])
    spot = {
        "seed": seed,
        "cases": done,
        "substitution_cases": done,
        "concrete_adjoint_checks": concrete[0],
        "passed": not failures,
        "failures": failures[:5],
    }
    return _result(
        symbolic_ok,
        spot,
        f"the transposed convolution is the adjoint of the forward one ({ndim}-D)",
        steps,
        t0,
    )


def _concrete_adjoint(ndim: int, count: int, rng: random.Random) -> tuple[int, list[str]]:
    """Scatter-definition table of random transposed convs = forward gather table, transposed."""
    done, failures = 0, []
    while done < count:
        groups = rng.choice([1, 2])
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
        t_lay, f_lay = _layout(t_spec, t_shape), _layout(f_spec, f_shape)
        t_tab = _definition_table(t_spec, t_lay)
        f_tab = _definition_table(f_spec, f_lay)
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


def _stride_selection(ndim: int, cases: int, seed: int) -> ProofResult:
    t0 = time.perf_counter()
    S = _axis_symbols(ndim)
    a1 = tuple(sympy.Symbol(f"b{i + 1}" if ndim > 1 else "b", **_NONNEG) for i in range(ndim))
    w = sympy.Function("w")
    k = S["k"]

    def entry(rows: tuple[Any, ...], strides: tuple[Any, ...]) -> sympy.Expr:
        body = sympy.Mul(
            *[
                sympy.KroneckerDelta(
                    S["j"][i], rows[i] * strides[i] + S["u"][i] * S["d"][i] - S["p"][i]
                )
                for i in range(ndim)
            ]
        )
        limits = [(S["u"][i], 0, k[i] - 1) for i in range(ndim)]
        return sympy.Sum(w(*S["u"]) * body, *limits)

    t_s = entry(S["a"], S["s"])
    t_1 = entry(a1, (1,) * ndim)
    selected = t_1.subs({a1[i]: S["a"][i] * S["s"][i] for i in range(ndim)})
    same_entries = selected == t_s
    # row range: rows a <= o_s - 1 of the stride-s matrix map to rows a*s <= o_1 - 1
    m_, e_, r_ = sympy.symbols("m e r", integer=True, nonnegative=True)
    # q = n + p_l + p_r - k_eff >= 0 written as q = s*m + r with 0 <= r <= s - 1, i.e. the
    # stride is s = r + 1 + e with e >= 0 (division with remainder)
    s0 = r_ + 1 + e_
    q = s0 * m_ + r_
    last_row_fits = sympy.expand(q - m_ * s0).is_nonnegative  # (o_s - 1) s = m s <= q
    steps = [
        f"stride-s entry: T_s[a, j] = {sympy.sstr(t_s)}",
        f"stride-1 entry: T_1[b, j] = {sympy.sstr(t_1)}",
        f"T_1[a*s, j] = T_s[a, j]: {'identical' if same_entries else 'NOT identical'}",
        "rows: with q = n + p_l + p_r - k_eff = s*m + r (0 <= r <= s-1), the stride-s matrix "
        "has rows a = 0..m (o_s = m + 1) and (o_s - 1)*s = m*s <= q = o_1 - 1: "
        f"{'shown' if last_row_fits else 'NOT shown'} (q - m*s = r >= 0)",
    ]
    rng = random.Random(seed)
    failures: list[str] = []
    done = 0
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
        lay_s, lay_1 = _layout(spec, shape), _layout(one, shape)
        tab_s = _definition_table(spec, lay_s)
        tab_1 = _definition_table(one, lay_1)
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
    spot = {"seed": seed, "cases": done, "passed": not failures, "failures": failures[:5]}
    return _result(
        bool(same_entries and last_row_fits),
        spot,
        f"stride s = every s-th row of the stride-1 matrix ({ndim}-D)",
        steps,
        t0,
    )


# --------------------------------------------------------------------------------------
# 4. the output-size formula counts the valid window positions
# --------------------------------------------------------------------------------------


def _output_size(cases: int, seed: int) -> ProofResult:
    t0 = time.perf_counter()
    n, k, s, d = sympy.symbols("n k s d", **_POS)
    pl, pr = sympy.symbols("p_l p_r", **_NONNEG)
    m, e, t, a = sympy.symbols("m e t a", integer=True, nonnegative=True)
    k_eff = d * (k - 1) + 1
    padded = n + pl + pr

    r = sympy.Symbol("r", integer=True, nonnegative=True)
    # division with remainder: q = padded - k_eff = s*m + r, 0 <= r <= s - 1, written with
    # s = r + 1 + e (e >= 0) so that the sign of every slack follows from the assumptions
    s_div = r + 1 + e
    q = s_div * m + r

    def slack(pos: sympy.Expr) -> sympy.Expr:
        # window pos is valid iff pos*s + k_eff - 1 <= padded - 1, i.e. slack >= 0;
        # padded - k_eff = q
        return sympy.expand(q + k_eff - 1 - (pos * s_div + k_eff - 1))

    valid_below = slack(m - t)
    invalid_above = slack(m + 1 + t)
    ok_below = valid_below.is_nonnegative
    ok_above = invalid_above.is_negative
    count = sympy.Sum(1, (a, 0, m)).doit()
    floor_ok = bool(
        sympy.expand(q - m * s_div).is_nonnegative and sympy.expand((m + 1) * s_div - q).is_positive
    )
    formula = sympy.floor((padded - k_eff) / s) + 1
    steps = [
        "window a is valid iff a >= 0 and a*s + k_eff - 1 <= n + p_l + p_r - 1, "
        "k_eff = d*(k - 1) + 1",
        "write q = n + p_l + p_r - k_eff = s*m + r with m >= 0 and 0 <= r <= s - 1, "
        "i.e. s = r + 1 + e with e >= 0",
        f"a = m - t (0 <= t <= m): slack {sympy.sstr(valid_below)} >= 0: "
        f"{'shown' if ok_below else 'NOT shown'}",
        f"a = m + 1 + t (t >= 0): slack {sympy.sstr(invalid_above)} < 0: "
        f"{'shown' if ok_above else 'NOT shown'}",
        f"valid windows a = 0..m, count = Sum(1, (a, 0, m)) = {count}",
        f"m = floor(q/s) since m*s <= q < (m+1)*s: {'shown' if floor_ok else 'NOT shown'}",
        f"output size = {sympy.sstr(formula)} (PyTorch's formula; 0 windows when q < 0)",
    ]
    symbolic_ok = bool(ok_below and ok_above and count == m + 1 and floor_ok)
    rng = random.Random(seed)
    failures = []
    for _ in range(cases):
        nn, kk, ss, dd = rng.randint(1, 30), rng.randint(1, 6), rng.randint(1, 5), rng.randint(1, 3)
        pp_l, pp_r = rng.randint(0, 6), rng.randint(0, 6)
        ke = dd * (kk - 1) + 1
        brute = sum(
            1 for aa in range(nn + pp_l + pp_r + 1) if aa * ss + ke - 1 <= nn + pp_l + pp_r - 1
        )
        want = _axis.conv_out(nn, kk, ss, dd, pp_l, pp_r)
        sym = formula.subs({n: nn, k: kk, s: ss, d: dd, pl: pp_l, pr: pp_r})
        if brute != max(0, want) or (brute > 0 and sym != brute):
            failures.append(
                f"n={nn} k={kk} s={ss} d={dd} p=({pp_l},{pp_r}): count {brute}, "
                f"formula {want}, symbolic {sym}"
            )
    spot = {"seed": seed, "cases": cases, "passed": not failures, "failures": failures[:5]}
    return _result(
        symbolic_ok,
        spot,
        "output size floor((n + p_l + p_r - d(k-1) - 1)/s) + 1 = number of valid window positions",
        steps,
        t0,
    )


# --------------------------------------------------------------------------------------
# public entry point
# --------------------------------------------------------------------------------------


def prove_general(
    kind: str = "conv", ndim: int = 2, *, cases: int = 60, seed: int = 0
) -> ProofResult:
    """Prove the conv identities for symbolic sizes, with a numeric spot-check.

    Parameters
    ----------
    kind : {"conv", "conv_transpose", "stride", "output_size", "all"}
        ===================  ======================================================
        ``"conv"``           ``T x`` equals the sliding-window sum (zero padding,
                             ``ndim`` axes, channels and groups by block structure)
        ``"conv_transpose"``  the transposed conv (its scatter definition) is the
                             adjoint of the forward conv: ``<T x, y> = <x, T^T y>``
        ``"stride"``         the stride-``s`` matrix is every ``s``-th row of the
                             stride-1 matrix
        ``"output_size"``    ``floor((n + p_l + p_r - k_eff)/s) + 1`` counts the valid
                             window positions
        ``"all"``            all four, as ``checks``
        ===================  ======================================================
    ndim : int
        Number of spatial axes (1, 2 or 3; sizes are symbols per axis).
    cases : int
        Random concrete cases in the spot-check.
    seed : int
        Seed of the spot-check (reported).

    Returns
    -------
    ProofResult
        ``method == "symbolic-delta-summation"``; ``steps`` is the derivation and
        ``spot_check`` the numeric check (``{"cases", "seed", "passed", "failures", ...}``).
        ``"proved"`` needs both; ``"inconclusive"`` when SymPy could not confirm a step
        but the spot-check passed; ``"refuted"`` when the spot-check found a failure.

    Raises
    ------
    ConvProofError
        For an unknown ``kind`` or ``ndim`` outside 1..3.

    Notes
    -----
    Only zero padding is covered symbolically (circular / reflect / replicate fold taps
    with ``Mod`` / reflections that delta summation cannot handle); the other padding
    modes are proved per shape by :func:`convproof.prove`.

    Examples
    --------
    >>> import convproof as cp
    >>> r = cp.prove_general(kind="conv", ndim=2, cases=20)
    >>> bool(r), r.spot_check["passed"], r.spot_check["substitution_cases"]
    (True, True, 20)
    >>> print(r.steps[2])                     # doctest: +ELLIPSIS
    delta summation over j in [0, n-1]: Piecewise((x(a1*s1 + d1*u1 - p1, a2*s2 + d2*u2 - p2), ...
    """
    if kind not in GENERAL_KINDS:
        raise ConvProofError(
            f"kind must be one of {', '.join(map(repr, GENERAL_KINDS))}, got kind={kind!r}"
        )
    if isinstance(ndim, bool) or not isinstance(ndim, int) or not 1 <= ndim <= 3:
        raise ConvProofError(f"ndim must be 1, 2 or 3, got ndim={ndim!r}")
    if isinstance(cases, bool) or not isinstance(cases, int) or cases < 1:
        raise ConvProofError(f"cases must be an int >= 1, got cases={cases!r}")
    if kind == "conv":
        return _conv_identity(ndim, cases, seed)
    if kind == "conv_transpose":
        return _adjoint(ndim, cases, seed)
    if kind == "stride":
        return _stride_selection(ndim, cases, seed)
    if kind == "output_size":
        return _output_size(cases, seed)
    t0 = time.perf_counter()
    parts = (
        _conv_identity(ndim, cases, seed),
        _adjoint(ndim, cases, seed),
        _stride_selection(ndim, cases, seed),
        _output_size(cases, seed),
    )
    statuses = [p.status for p in parts]
    status = (
        "refuted"
        if "refuted" in statuses
        else "inconclusive"
        if "inconclusive" in statuses
        else "proved"
    )
    spot = {
        "seed": seed,
        "cases": sum(p.spot_check["cases"] for p in parts if p.spot_check),
        "passed": all(p.spot_check and p.spot_check["passed"] for p in parts),
    }
    return ProofResult(
        status,
        "symbolic-delta-summation",
        f"conv matrix identities for symbolic sizes ({ndim}-D)",
        time.perf_counter() - t0,
        checks=parts,
        spot_check=spot,
    )
