"""The machinery shared by every checker: the float64 reference and the allowed deviation,
the features a run exercised, and one Hypothesis run (draw, call, compare, shrink, report).

The public checkers (:mod:`convproof.testing.check`, :mod:`convproof.testing.check_backward`)
build a plan (what to draw and how to call) and hand it to :func:`_run`, which returns a
:class:`~convproof.testing.reports.CheckResult`.

Examples
--------
>>> import numpy as np
>>> from convproof.testing.runner import _quantum
>>> _quantum(np.array([0.75, 2.0]))  # every entry is a multiple of 2**-2
-2
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from convproof._docfill import fill_doc
from convproof.constructions.numeric import conv
from convproof.errors import ConvProofError
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec
from convproof.testing.calling import (
    LAYOUTS,
    _Boundary,
    _call_args,
    _call_kwargs,
    _probe_problem,
    _SignatureError,
)
from convproof.testing.reports import (
    CheckResult,
    Counterexample,
    UnexercisedWarning,
    _user_error,
)
from convproof.testing.strategies import VALUE_KINDS, ConvProblem, conv_problems

__all__: list[str] = []


# --------------------------------------------------------------------------------------
# comparing with the reference
# --------------------------------------------------------------------------------------


_COMPARISON = (
    "exact where every partial sum is exact (sum|x*w| + |b| < 2**(q+p), q the finest binary "
    "exponent of the data, p = 53 for float64, 24 for float32); otherwise |got - exact| <= "
    "gamma_n * sum|x*w| (+|b|), gamma_n = n*u/(1-n*u), u = 2**-p, n terms per output, plus "
    "the float64 reference's own bound; average pooling gamma_(k+2) * mean|x| per side; "
    "max pooling exact"
)
_PRECISION = {"float32": 24, "float64": 53, "int64": 53, "object": 53}


def _quantum(a: np.ndarray | None) -> int | None:
    """The largest ``q`` with every entry of ``a`` a multiple of ``2**q`` (``None``: all 0)."""
    if a is None:
        return None
    values = np.abs(a[a != 0])
    if not values.size:
        return None
    mantissa, exponent = np.frexp(values)
    digits = (mantissa * 2.0**53).astype(np.int64)  # exact: 53-bit integer mantissas
    lowest = digits & -digits
    zeros = np.frexp(lowest.astype(np.float64))[1] - 1
    return int((exponent - 53 + zeros).min())


def _gamma(n: Any, u: float) -> Any:
    return n * u / (1 - n * u)


def _reference(problem: ConvProblem, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """The float64 reference and the allowed deviation from it per output."""
    spec = problem.spec

    def f64(a: Any) -> Any:
        return None if a is None else np.asarray(a, dtype=np.float64)

    x, w, b = f64(problem.x), f64(problem.weight), f64(problem.bias)
    expected = np.asarray(conv(spec, x, w, b), dtype=np.float64)
    u64, u_fn = 2.0**-53, 2.0 ** -_PRECISION[dtype]
    if isinstance(spec, PoolSpec):
        if spec.kind == "max":
            return expected, np.zeros_like(expected)
        if spec.kind == "lp":
            return expected, _lp_bound(spec, x, expected, u_fn)
        mean_abs = np.asarray(conv(spec, np.abs(x)), dtype=np.float64) * (1 + 1e-9)
        n = math.prod(spec.kernel_size) + 2
        return expected, (_gamma(n, u_fn) + _gamma(n, u64)) * mean_abs
    absb = None if b is None else np.abs(b)
    total = np.asarray(conv(spec, np.abs(x), np.abs(w), absb), dtype=np.float64) * (1 + 1e-9)
    ones_b = None if b is None else np.ones_like(b)
    terms = np.asarray(conv(spec, np.ones_like(x), np.ones_like(w), ones_b), dtype=np.float64)
    qx, qw, qb = _quantum(x), _quantum(w), _quantum(b)
    quanta = [q for q in ((None if qx is None or qw is None else qx + qw), qb) if q is not None]
    if not quanta:  # every term is zero: exact
        return expected, np.zeros_like(expected)
    q = min(quanta)
    bound = np.zeros_like(expected)
    for p, u in ((_PRECISION[dtype], u_fn), (53, u64)):
        inexact = total >= 2.0 ** (q + p)
        bound += np.where(inexact, _gamma(terms, u) * total, 0.0)
    return expected, bound


def _lp_bound(spec: PoolSpec, x: np.ndarray, expected: np.ndarray, u_fn: float) -> np.ndarray:
    """Allowed deviation of Lp pooling ``y = S ** (1/p)``: the sum ``S`` of ``n`` powers is
    off by at most ``e = gamma(n + 4) * sum |x|**p`` (in the function's and in float64's
    precision), and ``y`` by how far ``t ** (1/p)`` moves over ``[|S| - e, |S| + e]``, plus
    the root's own rounding."""
    p = float(spec.norm_type or 1)
    n = math.prod(spec.kernel_size) + 4
    with np.errstate(invalid="ignore", over="ignore"):
        mass = np.asarray(conv(spec, np.abs(x)), dtype=np.float64) ** p  # sum |x|**p, scaled
        e = (_gamma(n, u_fn) + _gamma(n, 2.0**-53)) * mass
        a = np.abs(expected) ** p
        moved = (a + e) ** (1 / p) - np.maximum(a - e, 0.0) ** (1 / p)
        return np.asarray(moved + 4 * u_fn * np.abs(expected))


def _evaluate(
    fn: Callable[..., Any],
    problem: ConvProblem,
    rtol: float,
    atol: float,
    *,
    layout: str = "C",
    scalar_args: bool = False,
    dtype: str = "float64",
) -> Counterexample | None:
    spec = problem.spec
    expected, bound = _reference(problem, dtype)
    with np.errstate(invalid="ignore"):  # -inf from an all-padding max-pool window
        bound = np.nan_to_num(bound + atol + rtol * np.abs(expected), nan=0.0)
    args, kw = _call_args(problem, layout), _call_kwargs(problem, scalar_args)

    def fail(reason: str, got: Any, index: Any = None, error: str | None = None) -> Any:
        return Counterexample(
            spec=spec, input_shape=problem.input_shape, x=problem.x, weight=problem.weight,
            bias=problem.bias, call=kw, expected=expected, got=got, index=index,
            reason=reason, error=error, layout=layout, bound=bound,
        )  # fmt: skip

    try:
        raw = fn(*args, **kw)
        if hasattr(raw, "detach"):  # a torch tensor slipped through
            raw = raw.detach().cpu().numpy()
        got = np.asarray(raw)
    except _SignatureError:
        raise
    except Exception as exc:
        return fail("raised", None, error=_user_error(exc))
    if got.shape != expected.shape:
        return fail("wrong shape", got)
    try:
        got64 = got.astype(np.float64)
        with np.errstate(invalid="ignore"):  # inf - inf; NaN is never within
            within = (got64 == expected) | (np.abs(got64 - expected) <= bound)
            within |= np.isnan(got64) & np.isnan(expected)  # both undefined (0/0, root of < 0)
    except (TypeError, ValueError) as exc:
        return fail("raised", got, error=f"output is not numeric: {exc}")
    if not within.all():
        index = tuple(int(v) for v in np.argwhere(~within)[0])
        return fail("values differ", got, index=index)
    return None


# --------------------------------------------------------------------------------------
# features a run exercised
# --------------------------------------------------------------------------------------


def _spec_features(spec: Any) -> set[str]:
    """Features of a spec alone (explicit padding only; named paddings need a shape)."""
    out = set()
    if max(spec.stride) > 1:
        out.add("stride > 1")
    if max(spec.dilation) > 1:
        out.add("dilation > 1")
    if isinstance(spec.padding, tuple) and any(p for pair in spec.padding for p in pair):
        out.add("padding > 0")
    if isinstance(spec, ConvSpec | ConvTransposeSpec):
        if spec.groups > 1:
            out.add("groups > 1")
        if spec.bias:
            out.add("bias")
    if isinstance(spec, ConvSpec):
        out.add(f"padding_mode={spec.padding_mode!r}")
    if isinstance(spec, ConvTransposeSpec) and any(spec.output_padding):
        out.add("output_padding > 0")
    if isinstance(spec, PoolSpec):
        if spec.ceil_mode:
            out.add("ceil_mode=True")
        if spec.kind == "avg":
            out.add(f"count_include_pad={spec.count_include_pad}")
    return out


def _features(problem: ConvProblem) -> set[str]:
    spec, shape = problem.spec, problem.input_shape
    out = _spec_features(spec)
    if any(a or b for a, b in spec.resolve_padding(shape)):
        out.add("padding > 0")
    if len(shape) == spec.ndim + 2 and shape[0] > 1:
        out.add("batch > 1")
    return out


def _enabled(kind: str, merged: dict[str, Any], specs: Any) -> set[str]:
    """Features the bounds (or the listed specs) make possible."""
    out = set()
    if merged.get("batch", True) is not False and merged.get("max_batch", 2) >= 2:
        out.add("batch > 1")
    if specs is not None:
        if isinstance(specs, ConvSpec | ConvTransposeSpec | PoolSpec):
            specs = [specs]
        if isinstance(specs, list | tuple):
            for spec in specs:
                out |= _spec_features(spec)
        return out
    forms = tuple(merged.get("paddings", ()))
    kinds = tuple(merged.get("kinds", ("max", "avg")))
    if merged.get("max_stride", 2) >= 2 and forms != ("same",):
        out.add("stride > 1")
    profile = merged.get("legality", "pytorch")
    dilated = kind != "pool" or "max" in kinds or profile in ("onnx", "jax")
    if merged.get("max_dilation", 2) >= 2 and dilated:
        out.add("dilation > 1")
    explicit = {"int", "per_dim", "pairs"} & set(forms)
    unpadded = kind == "pool" and kinds == ("lp",) and profile == "pytorch"  # LPPool
    if explicit and merged.get("max_padding", 2) >= 1 and not unpadded:
        if kind != "pool" or merged.get("max_kernel_size", 3) >= 2:
            out.add("padding > 0")
    named = set(forms) - explicit - {"valid"}
    if named and merged.get("max_kernel_size", 3) >= 2 and not unpadded:
        out.add("padding > 0")  # "same", "full", "SAME_UPPER", "SAME_LOWER"
    if kind != "pool":
        if merged.get("groups", True) and merged.get("max_channels", 4) >= 2:
            out.add("groups > 1")
        if merged.get("bias") is not False:
            out.add("bias")
    if kind == "conv":
        out |= {f"padding_mode={m!r}" for m in merged.get("padding_modes", ("zeros",))}
    if kind == "conv_transpose" and merged.get("output_padding", True):
        if merged.get("max_stride", 2) >= 2 or merged.get("max_dilation", 2) >= 2:
            out.add("output_padding > 0")
    if kind == "pool":
        if merged.get("ceil_mode") is None:
            out.add("ceil_mode=True")
        if "avg" in kinds and merged.get("count_include_pad") is None:
            out |= {"count_include_pad=True", "count_include_pad=False"}
    return out


# --------------------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------------------


class _Failed(Exception):
    """Raised inside the property to mark a failure; carries the counterexample."""

    def __init__(self, counterexample: Counterexample) -> None:
        super().__init__(counterexample.reason)
        self.counterexample = counterexample


class _Plan:
    """What to draw and how to call: built once per check from its arguments."""

    def __init__(
        self,
        kind: str,
        ndim: int | None,
        defaults: dict[str, Any],
        bounds: dict[str, Any],
        specs: Any,
        scalar_args: bool,
        layouts: Any,
    ) -> None:
        if not isinstance(scalar_args, bool):
            raise ConvProofError(
                f"scalar_args must be True or False, got scalar_args={scalar_args!r}"
            )
        items = (layouts,) if isinstance(layouts, str) else tuple(layouts)
        if not items or any(v not in LAYOUTS for v in items):
            raise ConvProofError(
                f"layouts must be a non-empty sequence of {', '.join(map(repr, LAYOUTS))}, "
                f"got layouts={layouts!r}"
            )
        merged = dict(defaults)
        if specs is not None:
            merged.pop("paddings", None)
            merged.pop("padding_modes", None)
        merged.update(bounds)
        if ndim is not None:
            merged["ndim"] = ndim
        elif specs is None:
            merged["ndim"] = 2
        self.dtype = merged.get("dtype", "float64")
        merged.setdefault(
            "values", VALUE_KINDS if self.dtype in ("float64", "float32") else ("integers",)
        )
        merged.setdefault("large_sizes", True)
        merged.setdefault("batch", True)
        if scalar_args:
            allowed = {"int", "per_dim", "valid", "same"}
            forms = merged.get("paddings", ())
            if specs is None and not set(forms) <= allowed:
                raise ConvProofError(
                    "paddings must be a subset of 'int', 'per_dim', 'valid', 'same' with "
                    f"scalar_args=True, got paddings={forms!r}"
                )
            merged["same_per_axis"] = True
            for spec in _listed(specs):
                if not _scalar_padding(spec):
                    raise ConvProofError(
                        "specs must have one symmetric padding for every axis with "
                        f"scalar_args=True, got {spec!r}"
                    )
        self.enabled = _enabled(kind, merged, specs)
        self.scalar_args = scalar_args
        listed = _listed(specs)
        probe_ndim = merged.get("ndim") or (listed[0].ndim if listed else 2)
        pool_kind = next(iter(merged["kinds"])) if kind == "pool" else "max"
        first = listed[0] if listed else None
        profile = merged.get("legality", "pytorch")
        self.probe = _probe_problem(kind, probe_ndim, self.dtype, pool_kind, first, profile)
        problems = conv_problems(kind=kind, specs=specs, **merged)
        self.strategy = st.tuples(problems, st.sampled_from(items))


def _scalar_padding(spec: Any) -> bool:
    """Whether one int (or ``"valid"`` / ``"same"``) expresses ``spec``'s padding."""
    if isinstance(spec.padding, str):
        return spec.padding in ("valid", "same")
    return len({p for pair in spec.padding for p in pair}) == 1


def _listed(specs: Any) -> list[Any]:
    if isinstance(specs, ConvSpec | ConvTransposeSpec | PoolSpec):
        return [specs]
    return list(specs) if isinstance(specs, list | tuple) else []


class _Draws(Protocol):
    """What :func:`_run` reads of a plan (:class:`_Plan`, or the backward checkers' own)."""

    strategy: Any
    dtype: str
    scalar_args: bool
    enabled: set[str]
    probe: Any  # one small problem, called once before the run (signature, PyTorch)


class _CheckProgress:
    """A ``tqdm`` bar over the examples on stderr (``progress``: True, False, or None = only
    on a terminal); past ``max_examples`` it is Hypothesis shrinking a failure."""

    def __init__(self, progress: bool | None, total: int, layer: str) -> None:
        if progress is not None and not isinstance(progress, bool):
            raise ConvProofError(f"progress must be True, False or None, got progress={progress!r}")
        self.bar: Any = None
        self.total = total
        if not (progress or (progress is None and _stderr_is_terminal())):
            return
        from tqdm import tqdm

        self.bar = tqdm(
            total=total, desc=f"{layer} check", unit="example", file=sys.stderr, leave=False,
            dynamic_ncols=True,
        )  # fmt: skip

    def tick(self, n: int) -> None:
        if self.bar is None:
            return
        if n == self.total + 1:
            self.bar.set_description("shrinking")
        if n <= self.total:
            self.bar.update(1)
        else:
            self.bar.set_postfix_str(f"{n} examples tried", refresh=False)
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _stderr_is_terminal() -> bool:
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # closed or replaced stderr
        return False


def _run(
    fn: Callable[..., Any],
    layer: str,
    plan: _Draws,
    max_examples: int,
    seed: int | None,
    derandomize: bool,
    rtol: float,
    atol: float,
    _evaluate: Callable[..., Counterexample | None] = _evaluate,  # another comparison
    progress: bool | None = None,
) -> CheckResult:
    if not callable(fn):
        raise ConvProofError(f"fn must be callable, got fn={fn!r}")
    boundary: Any = fn if getattr(fn, "_convproof_boundary", False) else _Boundary(fn)
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1:
        raise ConvProofError(f"max_examples must be an int >= 1, got max_examples={max_examples!r}")
    for name, value in (("rtol", rtol), ("atol", atol)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise ConvProofError(f"{name} must be a number >= 0, got {name}={value!r}")
    # one call before the run: a signature that cannot take the checker's call is an
    # error here, not a counterexample; it also tells a PyTorch function (tensors) apart
    boundary.set_probing(True)
    try:
        _evaluate(boundary, plan.probe, rtol, atol, scalar_args=plan.scalar_args,
                  dtype=plan.dtype)  # fmt: skip
    except _SignatureError as exc:  # the public type, raised here
        raise ConvProofError(str(exc)) from None
    finally:
        boundary.set_probing(False)
    count, failures = [0], [0]
    seen: set[str] = set()
    bar = _CheckProgress(progress, max_examples, layer)

    def prop(drawn: tuple[ConvProblem, str]) -> None:
        problem, layout = drawn
        count[0] += 1
        bar.tick(count[0])
        seen.update(_features(problem))
        cx = _evaluate(boundary, problem, rtol, atol, layout=layout,
                       scalar_args=plan.scalar_args, dtype=plan.dtype)  # fmt: skip
        if cx is not None:
            failures[0] += 1
            raise _Failed(cx)

    test = settings(
        max_examples=max_examples,
        database=None,
        derandomize=derandomize,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        print_blob=False,
        verbosity=Verbosity.quiet,
    )(given(plan.strategy)(prop))
    if seed is not None:
        test = hypothesis_seed(seed)(test)
    start = time.perf_counter()
    counterexample, note = None, None
    try:
        test()
    except _Failed as failure:
        counterexample = failure.counterexample
    except _SignatureError as exc:  # a call the function cannot take (e.g. padding_mode=)
        raise ConvProofError(str(exc)) from None
    except ConvProofError:
        raise
    except Exception as exc:  # Flaky (nondeterministic fn) and the like
        note = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return CheckResult(
            False, count[0], None, time.perf_counter() - start, layer, note,
            comparison=_COMPARISON, failures=failures[0],
        )  # fmt: skip
    finally:
        bar.close()
    unexercised = tuple(sorted(plan.enabled - seen))
    return CheckResult(
        counterexample is None, count[0], counterexample, time.perf_counter() - start, layer,
        note, unexercised, _COMPARISON, failures[0],
    )  # fmt: skip


def _layer_checker(
    layer: str,
    conv: Callable[..., CheckResult],
    conv_transpose: Callable[..., CheckResult],
    pool: Callable[..., CheckResult],
) -> Callable[..., CheckResult]:
    """The checker an ``assert_*_matches`` runs for ``layer`` (``pool`` takes ``kind=``)."""
    checkers: dict[str, Callable[..., CheckResult]] = {
        "conv": conv,
        "conv_transpose": conv_transpose,
        "max_pool": lambda f, **kw: pool(f, kind="max", **kw),
        "avg_pool": lambda f, **kw: pool(f, kind="avg", **kw),
    }
    if layer not in checkers:
        raise ConvProofError(
            f"layer must be one of {', '.join(map(repr, checkers))}, got layer={layer!r}"
        )
    return checkers[layer]


def _asserted(result: CheckResult) -> CheckResult:
    """``result`` when it passed; an ``AssertionError`` with its counterexample otherwise."""
    if not result:
        raise AssertionError(str(result))
    return result


#: The end of the Parameters and the Returns and Raises sections both ``assert_*_matches``
#: document; their docstrings hold an ``{asserts}`` line, filled in by :func:`_assert_doc`.
_ASSERT_SECTIONS = """\
    **kwargs
        Passed to the checker.

    Returns
    -------
    CheckResult
        When the check passed.

    Raises
    ------
    AssertionError
        With the readable counterexample when it failed.
"""


#: Fills the ``{asserts}`` line of an ``assert_*_matches`` docstring.
_assert_doc = fill_doc(asserts=_ASSERT_SECTIONS)


def _warn_unexercised(result: CheckResult, stacklevel: int = 3) -> CheckResult:
    """Warn (at the public caller) when a passing run left an enabled feature unexercised."""
    if result.passed and result.unexercised:
        warnings.warn(
            f"{result.layer} check passed without exercising {', '.join(result.unexercised)} "
            f"in {result.examples_run} problems: raise max_examples, or narrow the bounds",
            UnexercisedWarning,
            stacklevel=stacklevel,
        )
    return result
