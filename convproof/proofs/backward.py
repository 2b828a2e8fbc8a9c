"""Proofs of backward passes: ``grad_input = T^T g``, ``grad_weight``, ``grad_bias``, exactly.

For a layer ``Z = T(W) X + b`` every gradient is a polynomial: ``grad_input`` is bilinear in
``(g, W)``, ``grad_weight`` bilinear in ``(g, X)``, ``grad_bias`` linear in ``g``.  Each has
the *same* monomials as the forward map, relabelled: the forward table says output ``r``
contains ``c * X[i] * W[t]``; then ``grad_input[i]`` must contain exactly ``c * g[r] * W[t]``
(that is ``T^T g``), ``grad_weight[t]`` exactly ``c * g[r] * X[i]``, and ``grad_bias[o]``
exactly the ``g[r]`` of output channel ``o``.  :func:`prove_backward` compares canonical
coefficient tables of both sides with :mod:`convproof.constructions.coefficients`:

==================  ==========================================================================
side                built from
==================  ==========================================================================
definition          :func:`convproof.constructions.definition.definition_entries` (the forward definition,
                    gather form, padding modes mapped per axis), relabelled
backward (plan)     :mod:`convproof.constructions.backward`'s own per-axis construction *executed on basis
                    vectors*: each tap's strided slice, the fold (scatter-add through the
                    padding map) and the unfold (gather) run on identity matrices, combined
                    across axes and channel blocks.  Any size (VGG's first layer: 87 M
                    monomials per gradient)
backward (run)      small layers: the backward function itself run on SymPy symbols and its
                    outputs expanded: this proves the executed code (GEMMs, reshapes), or a
                    user's ``fn``
==================  ==========================================================================

For layers too large for the symbolic run, the executed code is additionally compared with
the definition on random integers (exact), which is a check, not a proof; the result's
``reason`` says so.  :func:`adjoint_check` needs no reference at all: it checks
``<forward(x), g> = <x, backward(g)>`` for any pair of linear functions.

Examples
--------
>>> import convproof as cp
>>> spec = cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=3, padding=1,
...                    padding_mode="reflect", groups=2, ndim=1)
>>> r = cp.prove_backward(spec, (2, 5))
>>> r.status, [c.statement for c in r.checks][:3]
('proved', ['grad_input = T^T g (plan)', 'grad_weight = (dZ/dW)^T g (plan)', 'grad_bias = sum of g (plan)'])
"""  # noqa: E501

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from fractions import Fraction
from typing import Any

import numpy as np
import sympy

from convproof.constructions import backward_plan as _bp
from convproof.constructions.backward import conv_backward
from convproof.constructions.backward_pool import _divisors, pool_backward
from convproof.constructions.coefficients import (
    Entries,
    canonical,
    canonical_keys,
    key_fits,
    smallest_difference,
)
from convproof.constructions.definition import (
    Layout,
    definition_chunks,
    definition_entries,
    definition_table,
    layout_of,
)
from convproof.errors import ConvProofError
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec
from convproof.layers.window import lp_scale
from convproof.proofs.reading import parse_outputs
from convproof.proofs.result import ProofCounterexample, ProofResult, combine, layer_sizes

__all__ = ["adjoint_check", "prove_backward"]

#: Up to this many forward monomials (per sample) the backward is also run on SymPy symbols.
_SYMBOLIC_LIMIT = 3_000


# --------------------------------------------------------------------------------------
# the backward plan, executed on basis vectors (per axis)
# --------------------------------------------------------------------------------------


def _nonzeros(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r, c = np.nonzero(m)
    return r.astype(np.int64), c.astype(np.int64), m[r, c].astype(np.int64)


def _axis_maps(plan: Any, ax: int, u: int, side: str, sizes: tuple[int, int]) -> tuple:
    """``(out_pos, in_pos, coef)`` of one axis and tap, from the executed plan pieces.

    ``side="scatter"``: tap ``u`` scatters output ``a`` into buffer cell ``taps[u][a]``,
    then :func:`convproof.constructions.backward_plan._fold_fast` adds cell ``q`` into its
    input cell; both run on identity matrices.  ``side="gather"``:
    :func:`convproof.constructions.backward_plan._unfold` builds the buffer from the input,
    then tap ``u`` reads ``buffer[taps[u]]``.
    """
    axis = plan.axes[ax]
    n_in, n_out = sizes
    if side == "transpose":  # buffer over the padded *output*, read per input position
        unf = _bp._unfold(np.eye(n_out, dtype=np.int64), 0, axis.fold)  # (length, n_out)
        read = unf[axis.taps[u]]  # (n_in, n_out): input i reads output positions
        i, a, coef = _nonzeros(read)
        return a, i, coef
    select = np.zeros((n_out, axis.length), dtype=np.int64)
    select[np.arange(n_out), np.arange(axis.length)[axis.taps[u]]] = 1
    if side == "scatter":
        folded = _bp._fold_fast(select.T.copy(), 0, axis.fold, n_in)  # (n_in, n_out)
        i, a, coef = _nonzeros(folded)
        return a, i, coef
    unf = _bp._unfold(np.eye(n_in, dtype=np.int64), 0, axis.fold)  # (length, n_in)
    a, i, coef = _nonzeros(select @ unf)
    return a, i, coef


def _combine_axes(parts: list[tuple], out_sp: tuple, in_sp: tuple) -> tuple:
    """Cartesian product of per-axis entries: flat out position, flat in position, coef."""
    pos = np.zeros(1, dtype=np.int64)
    inp = np.zeros(1, dtype=np.int64)
    coef = np.ones(1, dtype=np.int64)
    for (a, i, c), o, n in zip(parts, out_sp, in_sp):
        pos = (pos[:, None] * o + a[None, :]).reshape(-1)
        inp = (inp[:, None] * n + i[None, :]).reshape(-1)
        coef = (coef[:, None] * c[None, :]).reshape(-1)
    return pos, inp, coef


def _plan_table(spec: Any, lay: Layout, side: str) -> Any:
    """The backward plan's monomials in forward orientation ``(g row, x col, w tap)``."""
    plan = _bp._get_plan(spec, lay.in_shape)
    in_sp, out_sp = lay.in_shape[1:], lay.out_shape[1:]
    p_in, p_out = math.prod(in_sp), math.prod(out_sp)
    taps_sp = list(itertools.product(*(range(k) for k in spec.kernel_size)))
    nts = len(taps_sp)
    if isinstance(spec, ConvTransposeSpec):
        side = "transpose"
    chunks = []
    div = _divisors(spec, plan).reshape(-1) if isinstance(spec, PoolSpec) else None
    scale = lp_scale(spec)  # linear Lp pooling: prod(k) / divisor
    for uflat, u in enumerate(taps_sp):
        parts = [
            _axis_maps(plan, ax, u[ax], side, (in_sp[ax], out_sp[ax])) for ax in range(spec.ndim)
        ]
        pos, inp, coef = _combine_axes(parts, out_sp, in_sp)
        if isinstance(spec, PoolSpec):
            c = np.arange(lay.in_shape[0], dtype=np.int64)
            r_a, c_a, t_a = c * p_out, c * p_in, np.full(c.size, -1, dtype=np.int64)
        else:
            g = spec.groups
            cin_g, cout_g = spec.in_channels // g, spec.out_channels // g
            if isinstance(spec, ConvSpec):
                co, kl = np.divmod(np.arange(spec.out_channels * cin_g, dtype=np.int64), cin_g)
                k = (co // cout_g) * cin_g + kl
                tap = (co * cin_g + kl) * nts + uflat
            else:
                k, cl = np.divmod(np.arange(spec.in_channels * cout_g, dtype=np.int64), cout_g)
                co = (k // cin_g) * cout_g + cl
                tap = (k * cout_g + cl) * nts + uflat
            r_a, c_a, t_a = co * p_out, k * p_in, tap
        chunks.append((r_a, c_a, t_a, pos, inp, coef))
    plain = div is None and all(bool(np.all(ch[5] == 1)) for ch in chunks)
    if plain and key_fits(lay.nrows, lay.ncols, lay.ntaps):
        # keys written straight from the chunks, then sorted in place (the fast path)
        m2 = lay.ntaps + 1
        m1 = lay.ncols * m2
        keys = np.empty(sum(ch[0].size * ch[3].size for ch in chunks), dtype=np.int64)
        off = 0
        for r_a, c_a, t_a, pos, inp, _ in chunks:
            n = r_a.size * pos.size
            a = r_a * m1 + c_a * m2 + t_a + 1
            b = pos * m1 + inp * m2
            np.add(a[:, None], b[None, :], out=keys[off : off + n].reshape(a.size, b.size))
            off += n
        return canonical_keys(keys, None, lay.ncols, lay.ntaps)
    rows = np.concatenate([(ch[0][:, None] + ch[3][None, :]).reshape(-1) for ch in chunks])
    cols = np.concatenate([(ch[1][:, None] + ch[4][None, :]).reshape(-1) for ch in chunks])
    taps = np.concatenate([np.repeat(ch[2], ch[3].size) for ch in chunks])
    coef_i = np.concatenate([np.tile(ch[5], ch[0].size) for ch in chunks])
    coef_all: np.ndarray = coef_i
    if div is not None:
        d = div[rows % p_out]
        coef_all = np.array(
            [*(Fraction(int(c) * scale, int(v)) for c, v in zip(coef_i, d)), None], dtype=object
        )[:-1]
    return canonical(Entries(rows, cols, taps, coef_all), lay.nrows, lay.ncols, lay.ntaps)


def _plan_bias_table(spec: Any, lay: Layout) -> Any:
    """``grad_bias`` as the backward sums it: every output of channel ``o`` once."""
    p_out = math.prod(lay.out_shape[1:])
    rows = np.arange(lay.nrows, dtype=np.int64)
    ent = Entries(rows, rows // p_out, np.full(rows.size, -1, dtype=np.int64), None)
    return canonical(ent, lay.nrows, lay.out_shape[0], 0)


# --------------------------------------------------------------------------------------
# the definition, relabelled
# --------------------------------------------------------------------------------------


def _definition(spec: Any, lay: Layout, nb: int = 1) -> Entries:
    """Forward definition entries; ``nb`` samples as a block-diagonal batch."""
    d = definition_entries(spec, lay.in_shape)
    if nb == 1:
        return d
    reps = np.arange(nb, dtype=np.int64)[:, None]
    coef = None if d.coef is None else np.tile(d.coef, nb)
    return Entries(
        (d.rows[None, :] + reps * lay.nrows).reshape(-1),
        (d.cols[None, :] + reps * lay.ncols).reshape(-1),
        np.tile(d.taps, nb),
        coef,
    )


def _bias_definition(lay: Layout, nb: int = 1) -> Entries:
    p_out = math.prod(lay.out_shape[1:])
    rows = np.arange(nb * lay.nrows, dtype=np.int64)
    return Entries(rows, (rows % lay.nrows) // p_out, np.full(rows.size, -1, np.int64), None)


# --------------------------------------------------------------------------------------
# counterexamples named by gradient entry
# --------------------------------------------------------------------------------------


def _unravel(flat: int, shape: Sequence[int]) -> tuple[int, ...]:
    return tuple(int(v) for v in np.unravel_index(int(flat), tuple(shape)))


def _name(sym: str, idx: tuple[int, ...]) -> str:
    return f"{sym}_{{{','.join(map(str, idx))}}}"


def _gradient_cx(
    which: str, lay: Layout, nb: int, row: int, col: int, tap: int, e: Any, f: Any
) -> ProofCounterexample:
    """Name the differing monomial from the gradient's side (forward key ``row, col, tap``)."""
    batch = nb > 1
    out_shape = ((nb,) if batch else ()) + lay.out_shape
    in_shape = ((nb,) if batch else ()) + lay.in_shape
    g = _name("g", _unravel(row, out_shape))
    if which == "grad_bias":
        entry = (col,)
        mono = g
        return ProofCounterexample(entry, mono, e, f, None, None)
    x_idx = _unravel(col, in_shape)
    if which == "grad_input":
        w_idx = None if tap < 0 or lay.weight_shape is None else _unravel(tap, lay.weight_shape)
        mono = g if w_idx is None else f"{g}*{_name('w', w_idx)}"
        return ProofCounterexample(x_idx, mono, e, f, None, w_idx)
    w_idx = _unravel(tap, lay.weight_shape or ())
    return ProofCounterexample(w_idx, f"{g}*{_name('x', x_idx)}", e, f, x_idx, w_idx)


def _compare_tables(
    which: str, statement: str, method: str, expected: Any, found: Any, lay: Layout, nb: int
) -> ProofResult:
    t0 = time.perf_counter()
    diff = smallest_difference(expected, found)
    seconds = time.perf_counter() - t0
    if diff is None:
        return ProofResult("proved", method, statement, seconds, expected.size)
    (row, col, tap), e, f = diff
    cx = _gradient_cx(which, lay, nb, row, col, tap, e, f)
    return ProofResult(
        "refuted", method, statement, seconds, max(expected.size, found.size), counterexample=cx
    )


# --------------------------------------------------------------------------------------
# running a backward function on symbols
# --------------------------------------------------------------------------------------


def _symbols(prefix: str, shape: tuple[int, ...]) -> np.ndarray:

    flat = [
        sympy.Symbol(_name(prefix, idx)) for idx in itertools.product(*(range(n) for n in shape))
    ]
    return np.array([*flat, None], dtype=object)[:-1].reshape(shape)


def _symbolic_run(
    fn: Callable[..., Any], spec: Any, lay: Layout, nb: int, batched: bool
) -> tuple[list[tuple[str, Any]], str | None]:
    """Run ``fn`` on SymPy symbols; return the gradients' forward-oriented tables."""
    in_shape = ((nb,) if batched else ()) + lay.in_shape
    out_shape = ((nb,) if batched else ()) + lay.out_shape
    xs, gs = _symbols("x", in_shape), _symbols("g", out_shape)
    ws = None if lay.weight_shape is None else _symbols("w", lay.weight_shape)
    bs = _symbols("b", (lay.out_shape[0],)) if getattr(spec, "bias", False) else None
    try:
        res = fn(gs, xs, ws, bs)
    except Exception as exc:  # the function cannot compute with symbols
        return [], f"{type(exc).__name__}: {exc}"
    if isinstance(spec, PoolSpec):
        res = (res, None, None)
    grads = [None if v is None else np.asarray(v, dtype=object) for v in res]
    xmap = {s: i for i, s in enumerate(xs.reshape(-1))}
    gmap = {s: i for i, s in enumerate(gs.reshape(-1))}
    wmap = {} if ws is None else {s: i for i, s in enumerate(ws.reshape(-1))}
    nrows, ncols = nb * lay.nrows, nb * lay.ncols
    out = []
    # per gradient: its index in the result, name, shape wanted (and its text), the symbol
    # maps it is read with, which parsed columns are (row, col, tap), columns and taps
    reads = [(0, "grad_input", in_shape, f", expected {in_shape}", (gmap, wmap), (1, 0, 2))]
    if lay.weight_shape is not None:
        reads.append((1, "grad_weight", lay.weight_shape, "", (xmap, gmap), (2, 1, 0)))
    if bs is not None:
        reads.append((2, "grad_bias", (lay.out_shape[0],), "", (gmap, {}), (1, 0, 2)))
    for index, name, shape, wanted, maps, order in reads:
        grad = grads[index]
        if grad is None or grad.shape != shape:
            return [], f"{name} has shape {None if grad is None else grad.shape}{wanted}"
        ent, _, unknown = parse_outputs(list(grad.reshape(-1)), *maps, {})
        if unknown is not None:
            return [], f"{name}[{unknown[0]}] has the unexpected term {unknown[1]}"
        parts = (ent.rows, ent.cols, ent.taps)
        rows, cols, taps = (parts[i] for i in order)
        columns, ntaps = (lay.out_shape[0], 0) if index == 2 else (ncols, lay.ntaps)
        out.append((name, canonical(Entries(rows, cols, taps, ent.coef), nrows, columns, ntaps)))
    return out, None


def _library_fn(spec: Any) -> Callable[..., Any]:
    if isinstance(spec, PoolSpec):
        return lambda g, x, w, b: pool_backward(spec, x, g)
    return lambda g, x, w, b: conv_backward(spec, x, w, g, b)


def _random_execution(spec: Any, lay: Layout, nb: int) -> ProofResult:
    """The executed ``conv_backward`` on random integers vs the definition, exactly.

    The definition is evaluated chunk by chunk from :mod:`convproof.constructions.definition`'s own
    construction (one chunk per kernel tap and channel offset), without materializing its
    monomials.  Every value is an integer below ``2**53``, so float64 sums are exact.
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    chunks = definition_chunks(spec, lay)
    x = rng.integers(-9, 10, (nb, *lay.in_shape)).astype(np.float64)
    g = rng.integers(-9, 10, (nb, *lay.out_shape)).astype(np.float64)
    if isinstance(spec, PoolSpec):  # average pooling: g a multiple of every divisor (exact)
        divs = {int(v) for ch in chunks if ch.div_b is not None for v in np.unique(ch.div_b)}
        g *= math.lcm(*divs) if divs else 1
    w = None if lay.weight_shape is None else rng.integers(-9, 10, lay.weight_shape) * 1.0
    b = np.zeros(lay.out_shape[0]) if getattr(spec, "bias", False) else None
    gi, gw, gb = conv_backward(spec, x, w, g, b)
    want_i = np.zeros((nb, lay.ncols))
    want_w = np.zeros(max(lay.ntaps, 1))
    gflat, xflat = g.reshape(nb, -1), x.reshape(nb, -1)
    wflat = np.ones(1) if w is None else w.reshape(-1)
    for ch in chunks:
        taps = np.maximum(ch.tap_a, 0)
        for n in range(nb):
            gv = gflat[n][ch.row_a[:, None] + ch.row_b[None, :]]  # (A, B)
            if ch.div_b is not None:
                gv = gv * ch.scale / ch.div_b[None, :]
            for v in np.unique(ch.col_a):  # inputs of one channel: one weighted row sum
                sel = ch.col_a == v
                vec = wflat[taps[sel]] @ gv[sel]
                want_i[n] += np.bincount(v + ch.col_b, vec, minlength=lay.ncols)
            if w is not None:
                xv = xflat[n][ch.col_a[:, None] + ch.col_b[None, :]]
                np.add.at(want_w, taps, np.einsum("ab,ab->a", gv, xv))
    checks = [("grad_input", want_i.reshape(-1), np.asarray(gi, dtype=np.float64).reshape(-1))]
    if w is not None:
        checks.append(("grad_weight", want_w, np.asarray(gw, dtype=np.float64).reshape(-1)))
    if b is not None:
        want_b = g.reshape(nb, lay.out_shape[0], -1).sum(axis=(0, 2))
        checks.append(("grad_bias", want_b, np.asarray(gb, dtype=np.float64).reshape(-1)))
    stmt = "conv_backward as executed = the definition at random integers (exact)"
    for which, want, got in checks:
        bad = np.flatnonzero(want != got)
        if bad.size:
            cx = ProofCounterexample(
                (int(bad[0]),), f"{which} at random integers", want[bad[0]], got[bad[0]]
            )
            return ProofResult(
                "refuted", "random-integers", stmt, time.perf_counter() - t0, counterexample=cx
            )
    return ProofResult(
        "verified",
        "random-integers",
        stmt,
        time.perf_counter() - t0,
        reason="equal at one random integer point: a check of the executed code, not a proof",
        assumptions=(
            "the executed code (channel-block GEMMs, reshapes) computes the index plan proved "
            "above: compared with the definition exactly at one random integer point",
        ),
    )


def prove_backward(
    spec: Any,
    input_shape: Sequence[int],
    *,
    fn: Callable[..., Any] | None = None,
    symbolic: bool | None = None,
    x: Any = None,
) -> ProofResult:
    """Prove a layer's backward pass: ``grad_input = T^T g``, ``grad_weight``, ``grad_bias``.

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
        Average pooling proves ``grad_input`` only; max pooling is not linear: without
        ``x`` it returns ``"inconclusive"`` (check it with
        :func:`convproof.check_pool_backward`), with ``x`` its routing for that input.
    input_shape : tuple of int
        ``(C, *spatial)`` or ``(N, C, *spatial)``.  The plan proof is per sample; the
        symbolic run uses the whole batch (so sums over the batch are proved too).
    fn : callable, optional
        A backward function to prove instead of convproof's ``conv_backward``:
        ``fn(grad_output, x, weight, bias)`` returning ``(grad_input, grad_weight,
        grad_bias)`` (``fn(grad_output, x, None, None)`` returning ``grad_input`` for
        pooling).  It is run once on object arrays of SymPy symbols (pure NumPy code that
        does not force a float dtype works); its outputs must be polynomials.
    symbolic : bool, optional
        Run the backward on symbols.  Default: for a user ``fn`` always, for convproof's
        own backward when the layer has at most 3000 monomials per sample.
    x : array_like, optional
        Max pooling only: one input sample ``(C, *spatial)``.  For a fixed ``x`` the
        backward is linear in ``g``; the proof then shows it routes every ``g`` to its
        window's first maximum (PyTorch's tie rule), for this ``x`` only.

    Returns
    -------
    ProofResult
        ``checks`` holds one result per gradient and side.  A counterexample names the
        gradient entry (``output``: the index into ``grad_input`` / ``grad_weight`` /
        ``grad_bias``), the monomial (``g_{...}*w_{...}``), the definition's coefficient and
        the one found.

    Raises
    ------
    ConvProofError
        For an invalid spec or shape.

    Notes
    -----
    The plan side executes :mod:`convproof.constructions.backward`'s per-axis pieces (tap slices,
    fold,
    unfold) on identity matrices, so it covers the index arithmetic of the numeric code;
    its channel-block GEMMs and reshapes are covered by the symbolic run on small layers
    and, on large ones, by a comparison at random integers (a check: stated in ``reason``).

    Examples
    --------
    >>> import numpy as np
    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, stride=2,
    ...                    bias=False, ndim=1)
    >>> def forgot_stride(g, x, w, b):   # scatters every output at stride 1
    ...     gi = np.zeros(x.shape, dtype=object)
    ...     for a in range(g.shape[-1]):
    ...         for u in range(w.shape[-1]):
    ...             gi[0, a + u] += g[0, a] * w[0, 0, u]
    ...     return gi, cp.conv_backward(spec, x, w, g)[1], None
    >>> r = cp.prove_backward(spec, (1, 4), fn=forgot_stride)
    >>> r.status
    'refuted'
    >>> print(r.counterexample)
    output [0, 1]: coefficient of g_{0,1}*w_{0,0,0} is 1, the definition says 0
    """
    t0 = time.perf_counter()
    lay = layout_of(spec, input_shape)
    batch, _, _ = spec.split_input_shape(input_shape)
    batched = len(batch) == 1
    nb = max(1, batch[0]) if batched else 1
    sizes = layer_sizes(spec, lay)
    sizes.pop("matrix", None)
    if isinstance(spec, PoolSpec) and spec.kind == "max":
        if x is None:
            return ProofResult(
                "inconclusive",
                "none",
                "max pooling backward",
                time.perf_counter() - t0,
                sizes=sizes,
                reason=(
                    "max pooling is not linear: its gradient routes g to the input that wins "
                    "each window, which depends on x; pass x= to prove the routing for that "
                    "input, or use check_pool_backward"
                ),
            )
        return _max_pool_routing(spec, lay, x, fn, sizes, t0)
    if fn is not None and not callable(fn):
        raise ConvProofError(f"fn must be callable, got fn={fn!r}")
    has_w = lay.weight_shape is not None
    has_b = bool(getattr(spec, "bias", False))
    names = ["grad_input"] + (["grad_weight"] if has_w else []) + (["grad_bias"] if has_b else [])
    stmts = {
        "grad_input": "grad_input = T^T g",
        "grad_weight": "grad_weight = (dZ/dW)^T g",
        "grad_bias": "grad_bias = sum of g",
    }
    checks: list[ProofResult] = []
    reason = None
    if fn is None:  # convproof's backward: the plan, for any size
        expected = definition_table(spec, lay)
        for which in names:
            if which == "grad_bias":
                exp_b = canonical(_bias_definition(lay), lay.nrows, lay.out_shape[0], 0)
                found = _plan_bias_table(spec, lay)
                checks.append(
                    _compare_tables(which, stmts[which] + " (plan)", "coefficient-table",
                                    exp_b, found, lay, 1)
                )  # fmt: skip
                continue
            side = "scatter" if which == "grad_input" else "gather"
            found = _plan_table(spec, lay, side)
            checks.append(
                _compare_tables(which, stmts[which] + " (plan)", "coefficient-table",
                                expected, found, lay, 1)
            )  # fmt: skip
        del expected
    # (output, tap) pairs bound the monomials; padding taps read nothing, so count the real
    # ones when that is cheap
    monomials = (
        spec.window_reads(lay.in_shape) if isinstance(spec, PoolSpec) else spec.macs(lay.in_shape)
    )
    if _SYMBOLIC_LIMIT < monomials <= 100 * _SYMBOLIC_LIMIT:
        monomials = int(definition_entries(spec, lay.in_shape).rows.size)
    run = symbolic if symbolic is not None else (fn is not None or monomials <= _SYMBOLIC_LIMIT)
    if run:
        runner = fn if fn is not None else _library_fn(spec)
        tables, why = _symbolic_run(runner, spec, lay, nb, batched)
        if why is not None:
            checks.append(
                ProofResult("inconclusive" if fn is not None else "refuted", "symbolic-run",
                            "the backward function computes on SymPy symbols", reason=why)
            )  # fmt: skip
        else:
            defn = _definition(spec, lay, nb)
            exp_t = canonical(defn, nb * lay.nrows, nb * lay.ncols, lay.ntaps)
            for which, tab in tables:
                if which == "grad_bias":
                    exp = canonical(_bias_definition(lay, nb), nb * lay.nrows, lay.out_shape[0], 0)
                else:
                    exp = exp_t
                checks.append(
                    _compare_tables(which, stmts[which] + " (symbolic run)", "symbolic-run",
                                    exp, tab, lay, nb)
                )  # fmt: skip
    elif fn is None:
        checks.append(_random_execution(spec, lay, min(nb, 2)))
        reason = (
            "the index plan is proved; the executed code (channel-block GEMMs, reshapes) was "
            "only compared with the definition at random integers (a check, not a proof: the "
            "layer is too large for the symbolic run), hence verified, not proved"
        )
    if batched:
        sizes["batch"] = nb
    statement = ", ".join(stmts[w] for w in names)
    method = "coefficient-table" if fn is None else "symbolic-run"
    result = combine(statement, checks, sizes, t0, method=method)
    result = replace(
        result,
        scope={
            "per sample": f"input {lay.in_shape} -> output {lay.out_shape}",
            "batch": nb,
            "code": "the index plan (all g)"
            + (", and fn run on SymPy symbols" if fn is not None else "")
            + ("" if reason is None else ", the executed code at a random integer point"),
        },
    )
    if reason is not None and result.status == "verified":
        result = replace(result, reason=reason)
    return result


def _max_pool_routing(
    spec: PoolSpec, lay: Layout, x: Any, fn: Any, sizes: dict[str, Any], t0: float
) -> ProofResult:
    """For a fixed ``x`` max pooling's backward is linear in ``g``: prove its table.

    Definition: the windows of
    :func:`convproof.constructions.definition.definition_entries` (taps in window order),
    each routed to its first maximum among real input cells (PyTorch's rule; NaN inputs are
    refused).  Found: the backward run on SymPy symbols for ``g``.
    """
    xa = np.asarray(x)
    if tuple(xa.shape) != lay.in_shape:
        raise ConvProofError(
            f"x must have the shape of one sample {lay.in_shape}, got x.shape={xa.shape}"
        )
    if xa.dtype.kind in "fc" and bool(np.any(np.isnan(xa))):
        raise ConvProofError("x must not hold NaN for a routing proof, got NaN in x")
    d = definition_entries(spec, lay.in_shape)  # one entry per (window, real tap), tap order
    vals = xa.reshape(-1)[d.cols]
    order = np.lexsort((np.arange(d.rows.size), d.rows))  # by window, then tap order
    rows, cols, vals = d.rows[order], d.cols[order], vals[order]
    winner: dict[int, tuple[Any, int]] = {}
    for r, c, v in zip(rows.tolist(), cols.tolist(), vals.tolist()):
        if r not in winner or v > winner[r][0]:
            winner[r] = (v, c)
    wr = np.array(sorted(winner), dtype=np.int64)
    wc = np.array([winner[r][1] for r in wr.tolist()], dtype=np.int64)
    expected = canonical(Entries(wr, wc, np.full(wr.size, -1), None), lay.nrows, lay.ncols, 0)
    runner = fn if fn is not None else _library_fn(spec)
    gs = _symbols("g", lay.out_shape)
    try:
        gi = np.asarray(runner(gs, xa, None, None), dtype=object)
    except Exception as exc:
        return ProofResult("inconclusive", "symbolic-run", "max pooling routing", sizes=sizes,
                           reason=f"the backward cannot run on symbols: {exc}")  # fmt: skip
    gmap = {sym: i for i, sym in enumerate(gs.reshape(-1))}
    ent, _, unknown = parse_outputs(list(gi.reshape(-1)), gmap, {}, {})
    found = canonical(Entries(ent.cols, ent.rows, ent.taps, ent.coef), lay.nrows, lay.ncols, 0)
    stmt = "grad_input routes each g to its window's first maximum (for this x)"
    res = _compare_tables("grad_input", stmt, "symbolic-run", expected, found, lay, 1)
    if unknown is not None:
        why = f"grad_input[{unknown[0]}] has the unexpected term {unknown[1]}"
        res = ProofResult("refuted", "symbolic-run", stmt, reason=why)
    sizes["x"] = "given (the proof is for this input only)"
    return combine(stmt, [res], sizes, t0, method="symbolic-run")


# --------------------------------------------------------------------------------------
# the adjoint identity (reference-free)
# --------------------------------------------------------------------------------------


def _ints(a: Any) -> list[Any]:
    arr = np.asarray(a)
    if hasattr(a, "detach"):
        arr = np.asarray(a.detach().cpu().numpy())
    out = []
    for v in arr.reshape(-1).tolist():
        if isinstance(v, float):
            out.append(Fraction(v))
        else:
            out.append(v)
    return out


def _dot(a: list[Any], b: list[Any]) -> Any:
    return sum((p * q for p, q in zip(a, b)), start=0)


def adjoint_check(
    fn_forward: Callable[[np.ndarray], Any],
    fn_backward: Callable[[np.ndarray], Any],
    input_shape: Sequence[int],
    *,
    output_shape: Sequence[int] | None = None,
    trials: int = 8,
    seed: int = 0,
    max_value: int = 9,
    basis: bool | None = None,
    max_calls: int = 4_000,
) -> ProofResult:
    """Check ``<forward(x), g> = <x, backward(g)>`` exactly: the adjoint identity.

    Needs no reference, so it works for any linear layer (one convproof does not model, a
    custom CUDA kernel wrapped to NumPy, ...): ``fn_backward`` must be the transpose of
    ``fn_forward``.  Inner products are computed with Python integers (floats are read
    exactly as ``Fraction``), so nothing is rounded on convproof's side.

    Parameters
    ----------
    fn_forward : callable
        ``x -> y``, linear in ``x`` (bind the weights with a closure).
    fn_backward : callable
        ``g -> grad_x``, of ``x``'s shape.
    input_shape : tuple of int
    output_shape : tuple of int, optional
        Default: the shape of ``fn_forward(zeros)``.
    trials : int
        Random integer pairs ``(x, g)`` (entries in ``[-max_value, max_value]``).
    seed : int
    max_value : int
    basis : bool, optional
        Also compare on every basis vector: ``forward(e_j)[r] == backward(e_r)[j]`` for
        all ``j, r``, i.e. the two matrices are transposes.  This is a proof for linear
        functions (linearity is the stated assumption, checked on the random trials).
        Default: when ``inputs + outputs <= max_calls``.
    max_calls : int

    Returns
    -------
    ProofResult
        ``"verified"`` (method ``"adjoint-basis"``) when the basis comparison ran and held:
        exact, but it rests on both functions being linear (stated in ``.assumptions``);
        ``"inconclusive"`` (method ``"adjoint-random"``) when only random trials ran and all
        held (passing trials are evidence, not a proof); ``"refuted"`` with the first
        failing pair: the counterexample's ``output`` is ``(trial,)`` or the matrix entry
        ``(r, j)``, ``expected`` is ``<forward(x), g>`` and ``found`` ``<x, backward(g)>``.

    Raises
    ------
    ConvProofError
        For a non-callable function or a shape mismatch.

    Examples
    --------
    >>> import numpy as np
    >>> import convproof as cp
    >>> w = np.array([1, 2, 3])
    >>> fwd = lambda x: np.correlate(x, w, mode="valid")
    >>> good = lambda g: np.convolve(g, w, mode="full")
    >>> cp.adjoint_check(fwd, good, (6,)).status
    'verified'
    >>> bad = lambda g: np.correlate(np.pad(g, 2), w, mode="valid")  # forgot to flip
    >>> r = cp.adjoint_check(fwd, bad, (6,))
    >>> r.status, r.counterexample.output
    ('refuted', (0,))
    """
    t0 = time.perf_counter()
    for name, f in (("fn_forward", fn_forward), ("fn_backward", fn_backward)):
        if not callable(f):
            raise ConvProofError(f"{name} must be callable, got {name}={f!r}")
    in_shape = tuple(int(v) for v in input_shape)
    if output_shape is None:
        out_shape = tuple(np.shape(fn_forward(np.zeros(in_shape, dtype=np.int64))))
    else:
        out_shape = tuple(int(v) for v in output_shape)
    n_in, n_out = math.prod(in_shape), math.prod(out_shape)
    rng = np.random.default_rng(seed)
    sizes = {"input": in_shape, "output": out_shape, "trials": trials}
    stmt = "<forward(x), g> = <x, backward(g)> (the adjoint identity)"

    def call(f: Callable[..., Any], arg: np.ndarray, shape: tuple, name: str) -> list[Any]:
        res = f(arg)
        if tuple(np.shape(res)) != shape:
            raise ConvProofError(
                f"{name} must return an array of shape {shape}, got shape {np.shape(res)}"
            )
        return _ints(res)

    for t in range(trials):
        x = rng.integers(-max_value, max_value + 1, in_shape)
        g = rng.integers(-max_value, max_value + 1, out_shape)
        lhs = _dot(call(fn_forward, x, out_shape, "fn_forward"), g.reshape(-1).tolist())
        rhs = _dot(x.reshape(-1).tolist(), call(fn_backward, g, in_shape, "fn_backward"))
        if lhs != rhs:
            cx = ProofCounterexample((t,), "<forward(x), g> vs <x, backward(g)>", lhs, rhs)
            return ProofResult(
                "refuted", "adjoint-random", stmt, time.perf_counter() - t0, sizes=sizes,
                counterexample=cx, reason=f"trial {t} (seed {seed}): the inner products differ",
            )  # fmt: skip
    if basis is None:
        basis = n_in + n_out <= max_calls
    if not basis:
        return ProofResult(
            "inconclusive", "adjoint-random", stmt, time.perf_counter() - t0, sizes=sizes,
            reason=f"{trials} random integer trials passed (evidence, not a proof; basis "
            f"comparison skipped: {n_in} + {n_out} calls > max_calls={max_calls})",
        )  # fmt: skip
    fwd = np.array(
        [
            call(fn_forward, e.reshape(in_shape), out_shape, "fn_forward")
            for e in np.eye(n_in, dtype=np.int64)
        ],
        dtype=object,
    ).reshape(n_in, n_out)
    bwd = np.array(
        [
            call(fn_backward, e.reshape(out_shape), in_shape, "fn_backward")
            for e in np.eye(n_out, dtype=np.int64)
        ],
        dtype=object,
    ).reshape(n_out, n_in)
    diff = np.argwhere(fwd.T != bwd)
    seconds = time.perf_counter() - t0
    sizes["calls"] = n_in + n_out
    if diff.size:
        r, j = (int(v) for v in diff[0])
        cx = ProofCounterexample(
            (r, j), f"forward(e_{j})[{r}] vs backward(e_{r})[{j}]", fwd[j, r], bwd[r, j]
        )
        return ProofResult(
            "refuted", "adjoint-basis", stmt, seconds, n_in * n_out, sizes, cx,
            reason="the backward matrix is not the transpose of the forward matrix",
        )  # fmt: skip
    return ProofResult(
        "verified", "adjoint-basis", stmt, seconds, n_in * n_out, sizes,
        reason="every basis pair agrees, so backward = forward^T as matrices",
        scope={"pairs": f"all {n_in} x {n_out} basis pairs, exact"},
        assumptions=(
            f"fn_forward and fn_backward are linear (black boxes read on basis vectors; "
            f"linearity tested by {trials} random integer pairs, seed {seed})",
        ),
    )  # fmt: skip
