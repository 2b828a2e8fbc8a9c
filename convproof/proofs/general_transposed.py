"""The transposed convolution for symbolic sizes: its matrix is its scatter definition, and
the scatter definition is the adjoint (transpose) of the forward gather definition; a
random concrete spot-check backs each symbolic step (see :func:`convproof.prove_general`).
"""

from __future__ import annotations

import itertools
import random
import time
from typing import Any

import numpy as np
import sympy

from convproof.constructions import index as _index
from convproof.constructions.definition import definition_table, layout_of
from convproof.errors import ConvProofError
from convproof.layers import sizes as _axis
from convproof.layers.spec import ConvSpec, ConvTransposeSpec
from convproof.proofs.concrete import prove
from convproof.proofs.result import ProofResult
from convproof.proofs.symbolic_sizes import (
    POS,
    SYMBOL_CONDITIONS,
    Sampler,
    axis_symbols,
    combine_steps,
    compare_symbolic,
    definition_read,
    definition_write,
    delta_sum,
    gated,
    random_spec,
    spot_record,
    spot_result,
)

# --------------------------------------------------------------------------------------
# 2. the transposed convolution: its scatter definition, and the adjoint of the forward
# --------------------------------------------------------------------------------------


def prove_adjoint(ndim: int, cases: int, seed: int, spot_check: bool) -> ProofResult:
    t0 = time.perf_counter()
    S = axis_symbols(ndim)
    N = tuple(sympy.Symbol(f"N{i + 1}" if ndim > 1 else "N", **POS) for i in range(ndim))
    o = tuple(sympy.Symbol(f"o{i + 1}" if ndim > 1 else "o", integer=True) for i in range(ndim))
    y = sympy.Function("y")
    i_ = S["a"]  # the transposed conv's input positions
    s_, d_, p_, u_ = S["s"], S["d"], S["p"], S["u"]
    rule = [
        _index.scatter_target(i_[q], u_[q], stride=s_[q], dilation=d_[q], pad_before=p_[q])
        for q in range(ndim)
    ]
    # matrix side: column i of the transposed layer's matrix has tap u in row scatter(i, u)
    derived = delta_sum(y, rule, o, N)
    writes = [definition_write(i_[q], u_[q], s_[q], d_[q], p_[q]) for q in range(ndim)]
    scatter_def = gated(y, writes, N)
    reads = [definition_read(i_[q], u_[q], s_[q], d_[q], p_[q]) for q in range(ndim)]
    forward_def = gated(y, reads, N)
    scatter = sympy.Mul(*[sympy.KroneckerDelta(o[q], rule[q]) for q in range(ndim)])
    common = [
        f"matrix (index.scatter_target): column i, tap u has row {sympy.sstr(scatter)}",
        "sum_o y(o) T_t[o, i]|_u by delta summation over o in [0, N-1] (N = transposed "
        f"output size): {sympy.sstr(sympy.piecewise_fold(derived))}",
    ]
    conditions = (
        SYMBOL_CONDITIONS.replace("n, k", "N, k").replace("a >= 0", "i >= 0"),
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

    scatter_step = compare_symbolic(
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
    adjoint_step = compare_symbolic(
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
    return combine_steps(
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
            lands.append(definition_write(*(vals[key + sfx] for key in ("a", "u", "s", "d", "p"))))
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
    spot_d = spot_record(seed, done, failures, concrete_adjoint_checks=concrete[0])
    return spot_result(
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
            prm = {"k": k, "s": s, "d": d, "p": p}
            c_in, c_out = groups * rng.randint(1, 2), groups * rng.randint(1, 2)
            t_spec = random_spec(
                ConvTransposeSpec, prm, groups, c_in, c_out, output_padding=op, bias=False
            )
            t_shape = (t_spec.in_channels, *(rng.randint(1, 4) for _ in range(ndim)))
            t_out = t_spec.output_shape(t_shape)
            f_spec = random_spec(ConvSpec, prm, groups, c_out, c_in, bias=False)
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
