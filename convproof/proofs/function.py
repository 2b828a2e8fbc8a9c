"""Proving a conv *function* (:func:`prove_function`): symbolic probes when it accepts SymPy
symbols, exact numeric probes on basis inputs otherwise, with random bilinearity trials that
test the assumptions a numeric probe makes.

See :func:`prove_function` for examples.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from fractions import Fraction
from typing import Any

import numpy as np

from convproof.constructions.coefficients import Entries, Table, concat
from convproof.constructions.definition import (
    Layout,
    bias_definition,
    definition_entries,
    definition_table,
    definition_values,
    layout_of,
)
from convproof.errors import ConvProofError
from convproof.layers.spec import PoolSpec
from convproof.proofs.reading import flat_symbols, parse_outputs, symbol_maps, to_fraction
from convproof.proofs.result import (
    ProofCounterexample,
    ProofResult,
    combine,
    compare_entries,
    index_text,
    layer_sizes,
    unravel,
)

__all__ = ["prove_function"]

# --------------------------------------------------------------------------------------
# user functions
# --------------------------------------------------------------------------------------

#: Random calls with which :func:`prove_function` tests the assumptions of a numeric probe.
_TRIALS = 12
_MAP_NAMES = {"max": "max-pooling", "linear": "bilinear"}


def _call(
    fn: Callable[..., Any], spec: Any, x: Any, w: Any, b: Any, expected: tuple[int, ...]
) -> np.ndarray:
    """``fn``'s result as an array of the expected shape (else :class:`ConvProofError`)."""
    out = fn(x) if isinstance(spec, PoolSpec) else fn(x, w, b)
    if hasattr(out, "detach") and hasattr(out, "numpy"):  # a torch tensor
        out = out.detach().cpu().numpy()
    arr = np.asarray(out)
    if tuple(arr.shape) != tuple(expected):
        raise ConvProofError(
            f"fn must return an array of shape {tuple(expected)} for an input of shape "
            f"{tuple(np.shape(x))}, got shape {tuple(arr.shape)}"
        )
    return arr


def _objects(values: list[Any], shape: Sequence[int]) -> np.ndarray:
    return np.array([*values, None], dtype=object)[:-1].reshape(tuple(shape))


def _sample_symbols(xsyms: list[Any], n: int) -> list[Any]:
    """Input symbols of sample ``n`` of a batch (sample 0 keeps ``layer_symbols``' names)."""
    import sympy

    if n == 0:
        return xsyms
    return [sympy.Symbol(f"{s.name}^({n})", **s.assumptions0) for s in xsyms]


def _symbolic_probe(
    fn: Callable[..., Any], spec: Any, lay: Layout, batch: int | None
) -> list[tuple[Entries, Entries, tuple[int, Any] | None]] | None:
    """Call ``fn`` once on the layer's SymPy symbols, every sample of the batch its own.

    Returns one parsed table per sample, or ``None`` if ``fn`` cannot compute with symbols.
    """
    from convproof.constructions.sliding_sum import layer_symbols

    syms = layer_symbols(spec, lay.in_shape)
    xflat = flat_symbols(syms.X)
    samples = [_sample_symbols(xflat, n) for n in range(batch or 1)]
    xs = [_objects(v, lay.in_shape) for v in samples]
    x = np.stack(xs) if batch is not None else xs[0]
    w = None if syms.W is None else _objects(flat_symbols(syms.W), syms.W.shape)
    has_bias = getattr(spec, "bias", False)
    b = _objects(flat_symbols(syms.b), syms.b.shape) if has_bias and syms.b is not None else None
    expected_shape = ((batch,) if batch is not None else ()) + lay.out_shape
    try:
        out = fn(x) if isinstance(spec, PoolSpec) else fn(x, w, b)
    except Exception:
        return None
    out = np.asarray(out)
    if out.dtype != object:
        return None
    if tuple(out.shape) != expected_shape:
        raise ConvProofError(
            f"fn must return an array of shape {expected_shape}, got shape {tuple(out.shape)}"
        )
    _, wmap, bmap = symbol_maps(spec, lay)
    per_sample = out.reshape(len(samples), -1)
    return [
        parse_outputs(list(per_sample[n]), {s: i for i, s in enumerate(v)}, wmap, bmap)
        for n, v in enumerate(samples)
    ]


def _read_number(v: Any, *, snap: bool = False) -> Fraction:
    """An exact number; ``snap``: a float that rounds from a fraction with a small
    denominator (``1/6`` from ``0.16666666666666666``) is read as that fraction."""
    if isinstance(v, float | np.floating):
        if not math.isfinite(float(v)):
            raise ConvProofError(f"fn must return finite numbers here, got {v!r}")
        f = Fraction(float(v))
        if snap:
            small = f.limit_denominator(2**20)
            return small if float(small) == float(v) else f
        return f
    frac = to_fraction(v)
    if frac is None:
        raise ConvProofError(f"fn must return numbers, got {v!r}")
    return frac


def _read_all(values: np.ndarray) -> np.ndarray:
    snapped = (_read_number(v, snap=True) for v in values.ravel())
    return np.array([*snapped, None], dtype=object)[:-1]


def _basis_probe(
    fn: Callable[..., Any], spec: Any, lay: Layout, batch: int | None, max_calls: int
) -> tuple[Entries, list[Entries], int]:
    """Unit impulses in x and w (and b): the coefficient table of a bilinear/affine fn.

    Returns the ``x*w`` table (read from impulses batched along the batch axis when ``fn``
    is batched), the bias table of every sample of a batch of the user's size, and the
    number of calls.
    """
    n_in = lay.ncols
    ntaps = max(lay.ntaps, 1)
    has_bias = bool(getattr(spec, "bias", False))
    calls = ntaps * (1 if batch is not None else n_in) + (lay.out_shape[0] if has_bias else 0)
    if calls > max_calls:
        raise ConvProofError(
            f"max_calls must be at least the {calls} calls this basis probe needs (one per "
            f"kernel tap{'' if batch is not None else ' and input element'}), got "
            f"max_calls={max_calls}; use a smaller input_shape"
        )
    rows_l: list[np.ndarray] = []
    cols_l: list[np.ndarray] = []
    taps_l: list[np.ndarray] = []
    vals_l: list[np.ndarray] = []
    zero_b = np.zeros(lay.out_shape[0], dtype=np.int64) if has_bias else None
    for t in range(ntaps):
        w = None
        if lay.weight_shape is not None:
            w = np.zeros(lay.ntaps, dtype=np.int64)
            w[t] = 1
            w = w.reshape(lay.weight_shape)
        if batch is not None:
            x = np.eye(n_in, dtype=np.int64).reshape((n_in, *lay.in_shape))
            out = _call(fn, spec, x, w, zero_b, (n_in, *lay.out_shape)).reshape(n_in, lay.nrows)
        else:
            outs = []
            for j in range(n_in):
                x = np.zeros(n_in, dtype=np.int64)
                x[j] = 1
                outs.append(
                    _call(fn, spec, x.reshape(lay.in_shape), w, zero_b, lay.out_shape).reshape(-1)
                )
            out = np.stack(outs)
        js, rs = np.nonzero(out)
        rows_l.append(rs)
        cols_l.append(js)
        taps_l.append(np.full(rs.size, t if lay.weight_shape is not None else -1))
        vals_l.append(_read_all(out[js, rs]))
    weights = Entries(
        concat(rows_l),
        concat(cols_l),
        concat(taps_l),
        np.concatenate([*vals_l, np.zeros(0, object)]),
    )
    samples = batch or 1
    brow: list[list[int]] = [[] for _ in range(samples)]
    bcol: list[list[int]] = [[] for _ in range(samples)]
    bval: list[list[Fraction]] = [[] for _ in range(samples)]
    if zero_b is not None:
        x0 = np.zeros(((batch,) if batch is not None else ()) + lay.in_shape, dtype=np.int64)
        w0 = np.zeros(lay.weight_shape or (), dtype=np.int64)
        shape = ((batch,) if batch is not None else ()) + lay.out_shape
        for c in range(lay.out_shape[0]):
            e = np.zeros(lay.out_shape[0], dtype=np.int64)
            e[c] = 1
            bout = _call(fn, spec, x0, w0, e, shape).reshape(samples, -1)
            for n in range(samples):
                for r in np.flatnonzero(bout[n]):
                    brow[n].append(int(r))
                    bcol[n].append(c)
                    bval[n].append(_read_number(bout[n, r], snap=True))
    biases = [
        Entries(
            np.asarray(brow[n], np.int64),
            np.asarray(bcol[n], np.int64),
            np.full(len(brow[n]), -1, dtype=np.int64),
            np.array([*bval[n], None], dtype=object)[:-1],
        )
        for n in range(samples)
    ]
    return weights, biases, calls


def _window_probe(
    fn: Callable[..., Any], spec: Any, lay: Layout, batch: int | None, max_calls: int
) -> tuple[Entries, int, tuple[int, int, Any] | None]:
    """Max pooling: ``x = e_j`` (zeros elsewhere) gives 1 exactly at the windows holding j.

    Returns the window entries, the number of calls and the first output that is neither
    0, 1 nor ``-inf`` (``(row, col, value)``), which no max over inputs can give.
    """
    n_in = lay.ncols
    calls = 1 if batch is not None else n_in
    if calls > max_calls:
        raise ConvProofError(
            f"max_calls must be at least the {calls} calls this window probe needs (one per "
            f"input element), got max_calls={max_calls}; use a smaller input_shape"
        )
    if batch is not None:
        x = np.eye(n_in).reshape((n_in, *lay.in_shape))
        out = _call(fn, spec, x, None, None, (n_in, *lay.out_shape)).reshape(n_in, lay.nrows)
    else:
        rows = []
        for j in range(n_in):
            x = np.zeros(n_in)
            x[j] = 1
            rows.append(_call(fn, spec, x.reshape(lay.in_shape), None, None, lay.out_shape))
        out = np.stack([r.reshape(-1) for r in rows])
    out = np.asarray(out, dtype=np.float64)
    odd = ~((out == 0) | (out == 1) | (out == -np.inf))
    bad = None
    if bool(odd.any()):
        js, rs = np.nonzero(odd)
        k = int(np.lexsort((js, rs))[0])
        bad = (int(rs[k]), int(js[k]), float(out[js[k], rs[k]]))
    js, rs = np.nonzero(out == 1)
    entries = Entries(rs.astype(np.int64), js.astype(np.int64), np.full(rs.size, -1), None)
    return entries, calls, bad


def _abs(a: np.ndarray | None) -> np.ndarray | None:
    return None if a is None else np.abs(a)


def _trial_inputs(
    rng: np.random.Generator, kind: int, shape: tuple[int, ...], distinct: bool
) -> np.ndarray:
    """Trial data: mixed signs, all negative, all positive, wide magnitudes, float64."""
    size = math.prod(shape)
    if distinct:  # max pooling: distinct values, so the maximum is unique
        vals = rng.permutation(size).astype(np.int64) - (size if kind % 3 == 1 else size // 2)
        if kind % 3 == 2:
            vals = vals + size
        return vals.reshape(shape)
    if kind % 4 == 0:
        return rng.integers(-9, 10, shape)
    if kind % 4 == 1:
        return -rng.integers(1, 10, shape)
    if kind % 4 == 2:
        return rng.integers(1, 10, shape)
    return rng.integers(-9, 10, shape) * (2 ** rng.integers(0, 20, shape))


def _random_checks(
    fn: Callable[..., Any],
    spec: Any,
    lay: Layout,
    batch: int | None,
    defn: Entries,
    trials: int,
    seed: int,
) -> ProofResult:
    """``trials`` calls on random data (the user's batch size), compared exactly."""
    rng = np.random.default_rng(seed)
    kind = "max" if isinstance(spec, PoolSpec) and spec.kind == "max" else "linear"
    has_bias = bool(getattr(spec, "bias", False))
    samples = batch or 1
    shape = ((batch,) if batch is not None else ()) + lay.out_shape
    stmt = (
        f"{trials} calls on random inputs (seed {seed}) match the definition exactly (float "
        f"results: within (terms + 2) * 2**-52 * sum |terms|)"
    )
    for trial in range(trials):
        x = np.stack(
            [_trial_inputs(rng, trial, lay.in_shape, kind == "max") for _ in range(samples)]
        )
        if kind != "max" and trial % 5 == 4:
            x = x / 2  # float64, exactly representable halves
        w = None if lay.weight_shape is None else rng.integers(-9, 10, lay.weight_shape)
        b = rng.integers(-9, 10, lay.out_shape[0]) if has_bias else None
        got = _call(fn, spec, x if batch is not None else x[0], w, b, shape).reshape(samples, -1)
        for n in range(samples):
            want = definition_values(defn, lay, x[n], w, b, kind)
            size = None
            for row in range(lay.nrows):
                g = got[n, row]
                is_float = isinstance(g, float | np.floating)
                g = -math.inf if float(g) == -math.inf else _read_number(g)
                if g != want[row] and is_float and kind != "max" and want[row] != -math.inf:
                    if size is None:  # sum of |terms| per output, and the number of terms
                        size = definition_values(defn, lay, np.abs(x[n]), _abs(w), _abs(b), kind)
                        counts = np.bincount(defn.rows, minlength=lay.nrows) + 2
                    # float arithmetic: within the forward error bound of a sum of n terms
                    if abs(g - want[row]) <= Fraction(int(counts[row]), 2**52) * size[row]:
                        continue
                if g != want[row]:
                    where = f"sample {n}, " if batch is not None else ""
                    cx = ProofCounterexample(
                        unravel(row, lay.out_shape),
                        f"(random input, trial {trial}, {where}seed {seed})",
                        want[row],
                        g,
                    )
                    return ProofResult(
                        "refuted",
                        "random-exact",
                        stmt,
                        counterexample=cx,
                        reason=(
                            f"fn differs from the definition on random data ({where}trial "
                            f"{trial}): it is not the {_MAP_NAMES[kind]} map its probes read"
                        ),
                    )
    return ProofResult("proved", "random-exact", stmt, monomials=0)


def _weight_check(
    prefix: str, defn: Table, found: Entries, lay: Layout, method: str
) -> ProofResult:
    """A function's x*w coefficients against the definition's table."""
    return compare_entries(
        prefix + "x*w coefficients", defn, found, lay, ncols=lay.ncols, ntaps=lay.ntaps,
        method=method,
    )  # fmt: skip


def _bias_check(prefix: str, spec: Any, found: Entries, lay: Layout, method: str) -> ProofResult:
    """A function's bias coefficients against ``b[c_out]`` once per output."""
    return compare_entries(
        prefix + "bias coefficients", bias_definition(spec, lay), found, lay,
        ncols=lay.out_shape[0], ntaps=0, method=method, bias=True,
    )  # fmt: skip


def prove_function(
    fn: Callable[..., Any],
    spec: Any,
    input_shape: Sequence[int],
    *,
    max_calls: int = 10_000,
    trials: int = _TRIALS,
    seed: int = 0,
) -> ProofResult:
    """Check a user's conv function against the definition, exactly; minimal counterexample.

    ``fn`` is called as ``fn(x, weight, bias)`` for convolutions (``bias`` is ``None`` when
    the spec has none) and ``fn(x)`` for pooling, with NumPy arrays in PyTorch layouts; bind
    stride, padding and the rest with a ``lambda`` or :func:`functools.partial`.  ``x`` has
    the rank of ``input_shape``: batched ``(N, C, *spatial)`` or not.  A batched
    ``input_shape`` is checked for every one of its ``N`` samples.

    Ways to read ``fn``, tried in order:

    ``"symbolic-probe"``  (status ``"proved"``)
        ``fn`` is called once on object arrays of SymPy symbols, each sample of the batch
        with its own input symbols (works for pure-NumPy code that does not force a float
        dtype).  Its outputs *are* polynomials, so equal coefficient tables prove ``fn``
        equals the definition for all inputs on that code path; ``trials`` random numeric
        calls (integers, then exact halves in float64) check that ``fn``'s numeric path
        computes the same.
    ``"basis-probe"``  (status ``"verified"``)
        Unit impulses ``x = e_j``, ``weight = e_t`` (``bias = 0``), then ``bias = e_c``.
        This reads ``fn`` completely *if* ``fn`` is bilinear in ``(x, weight)`` and affine
        in ``bias`` (every convolution is) and treats the samples of a batch alike.  Those
        are assumptions: they are tested by ``trials`` random calls with the user's batch
        size (mixed signs, all negative, all positive, wide magnitudes, halves) compared
        exactly, and stated in ``.assumptions``.
    ``"window-probe"``  (max pooling; status ``"verified"``)
        ``x = e_j`` (zeros elsewhere) gives 1 exactly at the outputs whose window holds
        input ``j``: the window sets are compared with the definition's, then ``trials``
        random inputs with distinct values check that each output is its window's maximum.

    Parameters
    ----------
    fn : callable
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
    input_shape : tuple of int
        Keep it small: the table has ``inputs * taps`` entries.
    max_calls : int
        Refuse probes that would need more calls than this.
    trials : int
        Random calls that test the probe's assumptions (and the numeric path).
    seed : int
        Seed of the random calls (reported).

    Returns
    -------
    ProofResult
        ``counterexample`` is the smallest output (then monomial) where ``fn`` differs.
        ``scope`` says which samples and inputs were covered, ``assumptions`` what a
        ``"verified"`` result rests on.

    Raises
    ------
    ConvProofError
        If ``fn`` returns the wrong shape or non-numbers, or the probe is too large.

    Examples
    --------
    >>> import numpy as np, convproof as cp
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, bias=False, ndim=1)
    >>> def mine(x, w, b):          # np.convolve flips the kernel: a true convolution
    ...     return np.convolve(x[0], w[0, 0], mode="valid")[None]
    >>> r = cp.prove_function(mine, spec, (1, 5))
    >>> r.status, r.method
    ('refuted', 'symbolic-probe')
    >>> print(r.counterexample)
    output [0, 0]: coefficient of x_{0,0}*w_{0,0,0} is 0, the definition says 1
    >>> def fixed(x, w, b):
    ...     return np.correlate(x[0], w[0, 0], mode="valid")[None]
    >>> cp.prove_function(fixed, spec, (1, 5)).status
    'proved'

    A function that only works on floats is read by impulses, and the verdict says what
    it rests on:

    >>> def floats(x, w, b):
    ...     return np.correlate(np.asarray(x, float)[0], np.asarray(w, float)[0, 0])[None]
    >>> r = cp.prove_function(floats, spec, (1, 5))
    >>> r.status, r.method
    ('verified', 'basis-probe')
    >>> print(r.assumptions[0])
    fn is bilinear in (x, weight) and affine in bias (read from 15 unit-impulse calls)
    """
    t0 = time.perf_counter()
    if not callable(fn):
        raise ConvProofError(f"fn must be callable, got fn={fn!r}")
    for name, value, low in (("max_calls", max_calls, 1), ("trials", trials, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConvProofError(f"{name} must be an int >= {low}, got {name}={value!r}")
    lay = layout_of(spec, input_shape)
    batch_dims, _, _ = spec.split_input_shape(input_shape)
    batch = int(batch_dims[0]) if len(batch_dims) == 1 else None
    sizes = layer_sizes(spec, lay)
    if batch is not None:
        sizes["batch"] = batch
    is_max = isinstance(spec, PoolSpec) and spec.kind == "max"
    entries = definition_entries(spec, lay.in_shape)
    scope: dict[str, Any] = {
        "samples": "every sample of the batch" if batch is not None else "one unbatched input",
        "per sample": f"input {lay.in_shape} -> output {lay.out_shape}",
    }
    assumptions: list[str] = []
    statement = (
        "fn(x) = the definition"
        if isinstance(spec, PoolSpec)
        else ("fn(x, weight, bias) = the definition")
    )
    checks: list[ProofResult] = []
    has_bias = bool(getattr(spec, "bias", False))

    probe = None if is_max else _symbolic_probe(fn, spec, lay, batch)
    if probe is not None:
        method, calls = "symbolic-probe", 1
        defn = definition_table(spec, lay)
        for n, (weights, biases, unknown) in enumerate(probe):
            prefix = f"sample {n}: " if batch is not None else ""
            checks.append(_weight_check(prefix, defn, weights, lay, method))
            if has_bias or biases.rows.size:
                checks.append(_bias_check(prefix, spec, biases, lay, method))
            if unknown is not None:
                r, term = unknown
                cx = ProofCounterexample(unravel(r, lay.out_shape), str(term), Fraction(0), term)
                checks.append(
                    ProofResult("refuted", method, prefix + "no other terms", counterexample=cx)
                )
        scope["inputs"] = "all (a polynomial identity on SymPy object arrays)"
        scope["numeric path"] = f"{trials} random calls compared exactly"
    elif is_max:
        windows, calls, odd = _window_probe(fn, spec, lay, batch, max_calls)
        method = "window-probe"
        ref = Entries(entries.rows, entries.cols, np.full(entries.rows.size, -1), None)
        res = compare_entries(
            "window sets (x = e_j gives 1 where j is in the window)",
            ref,
            windows,
            lay,
            ncols=lay.ncols,
            ntaps=0,
            method=method,
        )
        if odd is not None:
            r, c, v = odd
            cx = ProofCounterexample(
                unravel(r, lay.out_shape), f"x = e_{{{index_text(unravel(c, lay.in_shape))}}}", 1, v
            )
            res = replace(
                res,
                status="refuted",
                counterexample=cx,
                reason=f"a max over inputs of a unit impulse is 0, 1 or -inf, got {v!r}",
            )
        checks.append(res)
        assumptions.append(
            f"fn(x)[o] is the maximum of x over a fixed set of inputs (sets read from "
            f"{lay.ncols} unit impulses)"
        )
        scope["inputs"] = f"{lay.ncols} unit impulses and {trials} random inputs"
    else:
        weights, bias_tables, calls = _basis_probe(fn, spec, lay, batch, max_calls)
        method = "basis-probe"
        checks.append(_weight_check("", definition_table(spec, lay), weights, lay, method))
        for n, biases in enumerate(bias_tables):
            if has_bias or biases.rows.size:
                prefix = f"sample {n}: " if batch is not None else ""
                checks.append(_bias_check(prefix, spec, biases, lay, method))
        assumptions.append(
            f"fn is bilinear in (x, weight) and affine in bias (read from {calls} "
            f"unit-impulse calls)"
        )
        assumptions.append(
            "a float coefficient is the nearest float to a fraction with denominator "
            "<= 2**20 when it rounds from one (1/6 read from 0.16666666666666666)"
        )
        if batch is not None:
            assumptions.append(
                f"fn treats every sample alike (impulses went in a batch of {lay.ncols})"
            )
        scope["inputs"] = f"unit impulses and {trials} random inputs"
    sizes["calls"] = calls
    if all(checks):
        sizes["random calls"] = trials
        checks.append(_random_checks(fn, spec, lay, batch, entries, trials, seed))
        if assumptions:
            assumptions.append(f"tested by {trials} random calls (seed {seed}), all exact")
    result = combine(statement, checks, sizes, t0, method=method)
    status = result.status
    if status == "proved" and assumptions:
        status = "verified"
    return replace(result, status=status, scope=scope, assumptions=tuple(assumptions))
