"""Property-test a user's backward pass against convproof's exact gradients.

The checkers draw problems with a gradient
(:func:`convproof.testing.strategies.conv_backward_problems`),
call the user's backward function with PyTorch-style arguments (NumPy arrays in and out),
compare every gradient with :func:`convproof.conv_backward` / :func:`convproof.pool_backward`,
and let Hypothesis shrink a failure to a minimal problem.  The counterexample names the first
wrong entry (which gradient, which index, expected vs got) and the output positions and
taps that feed it, so the bug can be found by hand.  They run on the machinery of
:mod:`convproof.testing.check` (same results, bounds and seeds).

======================================  ==========================================================
checker                                 user function is called as
======================================  ==========================================================
:func:`check_conv_backward`             ``fn(grad_output, x, weight, bias, stride=, padding=,
                                        dilation=, groups=)`` -> ``(grad_input, grad_weight,
                                        grad_bias)``; or a pair ``(input_fn, weight_fn)`` with
                                        the signatures of ``torch.nn.grad.conv2d_input`` /
                                        ``conv2d_weight``
:func:`check_conv_transpose_backward`   ``fn(grad_output, x, weight, bias, stride=, padding=,
                                        output_padding=, groups=, dilation=)``
:func:`check_pool_backward`             ``fn(grad_output, x, kernel_size=, stride=, padding=,
                                        dilation=, ceil_mode=, count_include_pad=)`` ->
                                        ``grad_input``
======================================  ==========================================================

``bias`` is ``None`` when the layer has none (then ``grad_bias`` must be ``None`` too);
tuples are per spatial axis as in :func:`convproof.check_conv`.

Examples
--------
>>> import numpy as np
>>> import convproof as cp
>>> def bias_not_summed_over_batch(grad_output, x, weight, bias=None, stride=1, padding=0,
...                                dilation=1, groups=1):
...     spec = cp.ConvSpec(in_channels=x.shape[1], out_channels=weight.shape[0],
...                        kernel_size=weight.shape[2:], stride=stride, padding=padding,
...                        dilation=dilation, groups=groups, bias=bias is not None)
...     gi, gw, gb = cp.conv_backward(spec, x, weight, grad_output, bias)
...     if bias is not None:
...         gb = grad_output[0].sum(axis=(1, 2))   # only the first sample: wrong
...     return gi, gw, gb
>>> result = cp.check_conv_backward(bias_not_summed_over_batch, max_examples=100, seed=0)
>>> cx = result.counterexample
>>> bool(result), cx.tensor, cx.index, cx.input_shape
(False, 'grad_bias', (0,), (2, 1, 1, 1))
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

from convproof.constructions.backward import conv_backward, pool_backward
from convproof.constructions.definition import definition_entries
from convproof.errors import ConvProofError
from convproof.layers.spec import PoolSpec
from convproof.testing.calling import (
    LAYOUTS,
    _Boundary,
    _call_args,
    _call_kwargs,
    _laid_out,
    _probe_problem,
    _SignatureError,
)
from convproof.testing.layout_check import layout_evaluate
from convproof.testing.reports import CheckResult, Counterexample, _plain, _user_error
from convproof.testing.runner import (
    _PRECISION,
    _assert_doc,
    _asserted,
    _gamma,
    _layer_checker,
    _run,
)
from convproof.testing.strategies import (
    VALUE_KINDS,
    BackwardProblem,
    ConvProblem,
    conv_backward_problems,
)

__all__ = [
    "BackwardCounterexample",
    "assert_backward_matches",
    "check_conv_backward",
    "check_conv_transpose_backward",
    "check_pool_backward",
]

_FEEDS_SHOWN = 6


@dataclass
class BackwardCounterexample(Counterexample):
    """A shrunk problem on which a backward pass is wrong.

    Besides the fields of :class:`~convproof.Counterexample` (``expected`` / ``got`` are
    the wrong gradient tensor; ``index`` its first wrong entry):

    Attributes
    ----------
    grad_output : numpy.ndarray
        The upstream gradient the function received.
    tensor : str
        ``"grad_input"``, ``"grad_weight"`` or ``"grad_bias"``.
    feeds : list of str
        The definition's terms of the wrong entry: the output positions of
        ``grad_output`` (and weight taps, or input cells) that feed it.
    """

    grad_output: np.ndarray | None = None
    tensor: str = "grad_input"
    feeds: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        w = "weight, bias, " if self.weight is not None else ""
        lines = self._head(f"{self.reason}, {self.tensor}", f"grad_output, x, {w}")
        if self.reason == "wrong shape":
            got_shape = None if self.got is None else np.shape(self.got)
            exp_shape = None if self.expected is None else np.shape(self.expected)
            lines.append(f"  {self.tensor} shape = expected {exp_shape}, got {got_shape}")
        elif self.reason != "raised":
            lines.append(
                f"  {self.tensor}[{', '.join(map(str, self.index or ()))}]: expected "
                f"{self.expected_value!r}, got {self.got_value!r}"
            )
            if self.feeds:
                lines.append("  fed by      = " + "; ".join(self.feeds))
        for name, arr in (("x", self.x), ("weight", self.weight), ("bias", self.bias)):
            if arr is not None:
                lines.append(f"  {name} = " + np.array2string(arr, prefix=f"  {name} = "))
        if self.grad_output is not None:
            lines.append(
                "  grad_output = " + np.array2string(self.grad_output, prefix="  grad_output = ")
            )
        if self.expected is not None:
            pre = f"  expected {self.tensor} = "
            lines.append(pre + np.array2string(np.asarray(self.expected), prefix=pre))
        if self.got is not None:
            pre = f"  got {self.tensor} = "
            lines.append(pre + np.array2string(np.asarray(self.got), prefix=pre))
        return "\n".join(lines)

    @property
    def expected_value(self) -> Any:
        if self.index is None or self.expected is None:
            return None
        return _scalar(np.asarray(self.expected)[self.index])

    @property
    def got_value(self) -> Any:
        if self.index is None or self.got is None:
            return None
        return _scalar(np.asarray(self.got)[self.index])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the fields of :meth:`Counterexample.to_dict` and ours)."""
        out = super().to_dict()
        out.update(
            {
                "tensor": self.tensor,
                "feeds": list(self.feeds),
                "grad_output": _plain(self.grad_output),
            }
        )
        return out


def _scalar(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


# --------------------------------------------------------------------------------------
# the definition's terms of one gradient entry (for the message)
# --------------------------------------------------------------------------------------


def _fmt(idx: tuple[int, ...]) -> str:
    return "[" + ", ".join(map(str, idx)) + "]"


def _feeds(problem: BackwardProblem, tensor: str, index: tuple[int, ...]) -> list[str]:
    """``grad_output`` positions and taps whose products make up the entry ``index``."""
    spec = problem.spec
    batched = len(problem.input_shape) == spec.ndim + 2
    sample = problem.input_shape[1:] if batched else problem.input_shape
    out_shape = tuple(spec.output_shape(sample))
    ent = definition_entries(spec, sample)
    lead = index[:1] if batched and tensor == "grad_input" else ()
    local = index[1:] if lead else index
    terms: list[str] = []
    if tensor == "grad_input":
        col = int(np.ravel_multi_index(local, sample))
        hit = np.flatnonzero(ent.cols == col)
        for h in hit:
            out = tuple(int(v) for v in np.unravel_index(int(ent.rows[h]), out_shape))
            text = f"grad_output{_fmt(lead + out)}"
            if ent.taps[h] >= 0 and spec.weight_shape is not None:
                w_at = tuple(int(v) for v in np.unravel_index(int(ent.taps[h]), spec.weight_shape))
                text += f" * weight{_fmt(w_at)}"
            elif ent.coef is not None:
                text += f" * {ent.coef[h]}"
            terms.append(text)
        if isinstance(spec, PoolSpec) and spec.kind == "max":
            terms = [t + " (if this cell is the window's maximum)" for t in terms]
    elif tensor == "grad_weight":
        tap = int(np.ravel_multi_index(index, spec.weight_shape or ()))
        samples = range(problem.input_shape[0]) if batched else [None]
        for h in np.flatnonzero(ent.taps == tap):
            out = tuple(int(v) for v in np.unravel_index(int(ent.rows[h]), out_shape))
            cell = tuple(int(v) for v in np.unravel_index(int(ent.cols[h]), sample))
            for n in samples:
                pre = () if n is None else (n,)
                terms.append(f"grad_output{_fmt(pre + out)} * x{_fmt(pre + cell)}")
    else:
        terms.append(f"every grad_output[..., {index[0]}, ...] (summed over batch and positions)")
    if not terms:
        return ["nothing: the definition says this entry is 0 (no output reads it)"]
    more = len(terms) - _FEEDS_SHOWN
    return terms[:_FEEDS_SHOWN] + ([f"(+{more} more)"] if more > 0 else [])


# --------------------------------------------------------------------------------------
# calling the user's function
# --------------------------------------------------------------------------------------


def _to_numpy(v: Any) -> Any:
    if v is None:
        return None
    if hasattr(v, "detach"):  # a torch tensor slipped through
        v = v.detach().cpu().numpy()
    return np.asarray(v)


def _call(fn: Any, problem: BackwardProblem, layout: str = "C") -> tuple[Any, dict[str, Any]]:
    spec = problem.spec
    base = ConvProblem(*problem[:5])
    args, kw = _call_args(base, layout), _call_kwargs(base, False)
    laid = _laid_out(problem.grad_output.copy(), layout)
    g = problem.grad_output.copy() if laid is None else laid
    if isinstance(spec, PoolSpec) and spec.kind != "lp":  # Lp: lp_pool's own keywords
        kw = dict(kw)
        kw.setdefault("dilation", spec.dilation)
        kw.setdefault("count_include_pad", spec.count_include_pad)
        kw = {k: kw[k] for k in _POOL_ORDER}
        return fn(g, *args, **kw), kw
    if isinstance(fn, _Pair):
        return fn(g, problem, kw), kw
    return fn(g, *args, **kw), kw


_POOL_ORDER = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "count_include_pad")


class _Pair:
    """``(input_fn, weight_fn)`` with ``torch.nn.grad.conv2d_input`` / ``conv2d_weight``
    signatures, called as one backward (``grad_bias`` is not part of the pair)."""

    _convproof_boundary = True  # each function has its own boundary (signature, PyTorch)

    def __init__(self, input_fn: Callable[..., Any], weight_fn: Callable[..., Any]) -> None:
        self.input_fn, self.weight_fn = _Boundary(input_fn), _Boundary(weight_fn)

    def set_probing(self, probing: bool) -> None:
        self.input_fn.set_probing(probing)
        self.weight_fn.set_probing(probing)

    def __call__(self, g: np.ndarray, problem: BackwardProblem, kw: dict[str, Any]) -> tuple:
        x, w = problem.x.copy(), problem.weight.copy()  # type: ignore[union-attr]
        rest = (kw["stride"], kw["padding"], kw["dilation"], kw["groups"])
        gi = self.input_fn(tuple(x.shape), w, g, *rest)
        gw = self.weight_fn(x, tuple(w.shape), g.copy(), *rest)
        return gi, gw, _NOT_CHECKED


_NOT_CHECKED = object()


def _allowed(problem: BackwardProblem, dtype: str) -> tuple[np.ndarray | None, ...]:
    """Per gradient tensor, the stated deviation: ``(gamma_n(u) + gamma_n(u64)) * sum|terms|``.

    Every gradient entry is a sum of ``n`` products (``g*w``, ``x*g``) or of ``g`` values;
    ``sum|terms|`` and ``n`` come from the reference run on absolute values and on ones.
    ``u`` is the unit roundoff of the problem's dtype (``2**-53`` for float64), so a pass
    that computes in lower precision, or rounds, exceeds it.
    """
    spec = problem.spec
    u, u64 = 2.0 ** -_PRECISION.get(dtype, 53), 2.0**-53

    def f64(a: Any) -> Any:
        return None if a is None else np.abs(np.asarray(a, dtype=np.float64))

    x, w, b, g = f64(problem.x), f64(problem.weight), f64(problem.bias), f64(problem.grad_output)
    total: tuple[Any, ...]
    terms: tuple[Any, ...]
    if isinstance(spec, PoolSpec):
        route = np.asarray(problem.x, dtype=np.float64)  # max pooling routes by x itself
        total = (pool_backward(spec, route, g),)
        terms = (pool_backward(spec, route, np.ones_like(g)),)
        if spec.kind == "avg":  # sum |g|/divisor: at most prod(k) terms, plus the divisions
            terms = (np.full_like(total[0], math.prod(spec.kernel_size) + 2),)
    else:
        ones_b = None if b is None else np.ones_like(b)
        total = conv_backward(spec, x, w, g, b)
        terms = conv_backward(spec, np.ones_like(x), np.ones_like(w), np.ones_like(g), ones_b)
    return tuple(
        None
        if t is None or n is None
        else (_gamma(abs(n), u) + _gamma(abs(n), u64)) * t * (1 + 1e-9)
        for t, n in zip(total, terms)
    )


def _evaluate(
    fn: Any,
    problem: BackwardProblem,
    rtol: float,
    atol: float,
    *,
    layout: str = "C",
    dtype: str = "float64",
    **_: Any,
) -> Any:
    spec = problem.spec
    if isinstance(spec, PoolSpec):
        expected: tuple = (pool_backward(spec, problem.x, problem.grad_output),)
        names: tuple[str, ...] = ("grad_input",)
    else:
        expected = conv_backward(spec, problem.x, problem.weight, problem.grad_output, problem.bias)
        names = ("grad_input", "grad_weight", "grad_bias")

    def fail(reason: str, tensor: str, exp: Any, got: Any, index: Any = None,
             error: str | None = None, kw: Any = None,
             bound: Any = None) -> BackwardCounterexample:  # fmt: skip
        feeds = [] if index is None else _feeds(problem, tensor, index)
        return BackwardCounterexample(
            spec=spec, input_shape=problem.input_shape, x=problem.x, weight=problem.weight,
            bias=problem.bias, call=kw or {}, expected=exp, got=got, index=index,
            reason=reason, error=error, grad_output=problem.grad_output, tensor=tensor,
            feeds=feeds, layout=layout, bound=bound,
        )  # fmt: skip

    try:
        raw, kw = _call(fn, problem, layout)
    except _SignatureError:
        raise
    except Exception as exc:
        line = _user_error(exc)
        return fail("raised", "grad_input", expected[0], None, error=line, kw=_call_kwargs(
            ConvProblem(*problem[:5]), False))  # fmt: skip
    if isinstance(spec, PoolSpec):
        got_all: tuple = (raw,)
    else:
        try:
            got_all = tuple(raw)
        except TypeError:
            got_all = ()
        if len(got_all) != 3:
            return fail("raised", "grad_input", expected[0], None, kw=kw,
                        error="fn must return (grad_input, grad_weight, grad_bias)")  # fmt: skip
    allowed = _allowed(problem, dtype)
    for name, exp, got, limit in zip(names, expected, got_all, allowed):
        if got is _NOT_CHECKED:
            continue
        if exp is None:
            if got is not None:
                return fail("wrong shape", name, None, _to_numpy(got), kw=kw)
            continue
        try:
            g = _to_numpy(got)
        except Exception as exc:  # pragma: no cover - exotic return values
            return fail("raised", name, exp, None, error=f"{name} is not an array: {exc}", kw=kw)
        if g is None or g.shape != exp.shape:
            return fail("wrong shape", name, exp, g, kw=kw)
        try:
            got64, exp64 = g.astype(np.float64), np.asarray(exp, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            return fail("raised", name, exp, g, error=f"{name} is not numeric: {exc}", kw=kw)
        slack = np.nan_to_num(
            (0.0 if limit is None else limit) + atol + rtol * np.abs(exp64), nan=0.0
        )
        with np.errstate(invalid="ignore"):
            close = (np.abs(got64 - exp64) <= slack) | (np.isnan(got64) & np.isnan(exp64))
            close |= got64 == exp64  # equal infinities
        if not close.all():
            index = tuple(int(v) for v in np.argwhere(~close)[0])
            return fail("values differ", name, exp, g, index=index, kw=kw, bound=slack)
    return None


# --------------------------------------------------------------------------------------
# public checkers
# --------------------------------------------------------------------------------------

_PROBLEM_KEYS = ("dtype", "max_value", "max_batch", "max_extra_size")


@dataclass
class _BackwardPlan:
    """What :func:`~convproof.testing.runner._run` needs: problems in C order, no features."""

    strategy: Any
    dtype: str
    scalar_args: bool = False
    enabled: set[str] = field(default_factory=set)
    probe: Any = None


def _problems(
    kind: str, ndim: int, defaults: dict[str, Any], bounds: dict[str, Any]
) -> _BackwardPlan:
    merged = {**defaults, **bounds}
    layouts = merged.pop("layouts", LAYOUTS)
    problem_kw = {k: merged.pop(k) for k in _PROBLEM_KEYS if k in merged}
    dtype = str(problem_kw.get("dtype", "float64"))
    # the forward checkers' data variety: integers, exact halves to sixteenths, wide values
    merged.setdefault("values", VALUE_KINDS if dtype in ("float64", "float32") else ("integers",))
    merged.setdefault("large_sizes", True)
    batch = merged.pop("batch", True)
    problems = conv_backward_problems(kind=kind, ndim=ndim, batch=batch, **problem_kw, **merged)
    items = (layouts,) if isinstance(layouts, str) else tuple(layouts)
    if not items or any(v not in LAYOUTS for v in items):
        raise ConvProofError(
            f"layouts must be a non-empty sequence of {', '.join(map(repr, LAYOUTS))}, "
            f"got layouts={layouts!r}"
        )
    small = _probe_problem(kind, ndim, dtype, next(iter(merged.get("kinds", ("max",)))))
    out_shape = small.spec.output_shape(small.input_shape)
    probe = BackwardProblem(*small, grad_output=np.ones(out_shape, dtype=small.x.dtype))
    return _BackwardPlan(st.tuples(problems, st.sampled_from(items)), dtype, probe=probe)


def _as_fn(fn: Any) -> Any:
    if isinstance(fn, tuple | list):
        if len(fn) != 2 or not all(callable(f) for f in fn):
            raise ConvProofError(
                f"fn must be callable or a pair (input_fn, weight_fn) of callables, got fn={fn!r}"
            )
        return _Pair(fn[0], fn[1])
    if not callable(fn):
        raise ConvProofError(f"fn must be callable, got fn={fn!r}")
    return fn


def _layouts(
    kind: str, ndim: int | None, bounds: dict[str, Any], layout: Any, weight_layout: Any, f: Any
) -> tuple[int, Callable[..., Any]]:
    """``ndim`` (the layout's, else 2) and the comparison with the call in the layouts."""
    if isinstance(f, _Pair) and (layout is not None or weight_layout is not None):
        raise ConvProofError(
            f"layout and weight_layout need one backward function, not a pair, got "
            f"layout={layout!r}, weight_layout={weight_layout!r}"
        )
    nd, evaluate = layout_evaluate(kind, ndim, None, bounds, layout, weight_layout, _evaluate,
                                   backward=True)  # fmt: skip
    return (2 if nd is None else nd), evaluate


def check_conv_backward(
    fn: Any,
    *,
    ndim: int | None = None,
    max_examples: int = 100,
    seed: int | None = None,
    derandomize: bool = False,
    rtol: float = 0.0,
    atol: float = 0.0,
    progress: bool | None = None,
    layout: str | None = None,
    weight_layout: str | None = None,
    **bounds: Any,
) -> CheckResult:
    """Property-test a convolution backward pass against :func:`convproof.conv_backward`.

    Parameters
    ----------
    fn : callable or pair of callables
        ``fn(grad_output, x, weight, bias, stride=..., padding=..., dilation=...,
        groups=...)`` returning ``(grad_input, grad_weight, grad_bias)`` as NumPy arrays
        (``grad_bias`` ``None`` when ``bias`` is ``None``); with ``padding_modes`` in the
        bounds it also receives ``padding_mode=...`` for non-zero modes.  Or a pair
        ``(input_fn, weight_fn)`` called like ``torch.nn.grad.conv2d_input(input_size,
        weight, grad_output, stride, padding, dilation, groups)`` and
        ``conv2d_weight(input, weight_size, grad_output, stride, padding, dilation, groups)``
        (``grad_bias`` is then not checked).  PyTorch functions are accepted as they are
        (``torch.nn.grad.conv2d_input``, or code that computes with tensors): arrays are
        passed as tensors and results converted back, as for :func:`convproof.check_conv`.
    ndim, max_examples, seed, derandomize, rtol, atol, progress, **bounds
        As for :func:`convproof.check_conv` (same defaults: symmetric integer padding,
        zero padding mode; arrays of small integers, so float64 results are exact).
    layout, weight_layout : str, optional
        As for :func:`convproof.check_conv`: ``grad_output``, ``x`` and ``grad_input`` in
        ``layout`` (``"NHWC"``, ...), ``weight`` and ``grad_weight`` in ``weight_layout``
        (``"HWIO"``, ...); not with a pair of functions.  ``check_pool_backward`` takes
        ``layout``.

    Returns
    -------
    CheckResult
        ``layer="conv_backward"``; ``.counterexample`` is a :class:`BackwardCounterexample`.

    Raises
    ------
    ConvProofError
        For a bad argument, or a function that cannot take the checker's call (its
        signature is checked on every call, and once before the run).

    Examples
    --------
    >>> import convproof as cp
    >>> def good(grad_output, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    ...     spec = cp.ConvSpec(in_channels=x.shape[1], out_channels=weight.shape[0],
    ...                        kernel_size=weight.shape[2:], stride=stride, padding=padding,
    ...                        dilation=dilation, groups=groups, bias=bias is not None)
    ...     return cp.conv_backward(spec, x, weight, grad_output, bias)
    >>> bool(cp.check_conv_backward(good, max_examples=20))
    True
    """
    f = _as_fn(fn)
    defaults: dict[str, Any] = {"paddings": ("int", "per_dim"), "padding_modes": ("zeros",)}
    if isinstance(f, _Pair):
        defaults["bias"] = False
    nd, evaluate = _layouts("conv", ndim, bounds, layout, weight_layout, f)
    problems = _problems("conv", nd, defaults, bounds)
    return _run(f, "conv_backward", problems, max_examples, seed, derandomize, rtol, atol,
                _evaluate=evaluate, progress=progress)  # fmt: skip


def check_conv_transpose_backward(
    fn: Callable[..., Any],
    *,
    ndim: int | None = None,
    max_examples: int = 100,
    seed: int | None = None,
    derandomize: bool = False,
    rtol: float = 0.0,
    atol: float = 0.0,
    progress: bool | None = None,
    layout: str | None = None,
    weight_layout: str | None = None,
    **bounds: Any,
) -> CheckResult:
    """Property-test a transposed-convolution backward pass.

    ``fn(grad_output, x, weight, bias, stride=..., padding=..., output_padding=...,
    groups=..., dilation=...)`` returns ``(grad_input, grad_weight, grad_bias)``; the weight
    is in PyTorch's transposed layout ``(C_in, C_out/groups, *k)``.  Other parameters as for
    :func:`check_conv_backward`.

    Returns
    -------
    CheckResult

    Examples
    --------
    >>> import numpy as np
    >>> import convproof as cp
    >>> def swapped(grad_output, x, weight, bias=None, stride=1, padding=0,
    ...             output_padding=0, groups=1, dilation=1):
    ...     spec = cp.ConvTransposeSpec(
    ...         in_channels=x.shape[1], out_channels=weight.shape[1] * groups,
    ...         kernel_size=weight.shape[2:], stride=stride, padding=padding,
    ...         output_padding=output_padding, groups=groups, dilation=dilation,
    ...         bias=bias is not None)
    ...     gi, gw, gb = cp.conv_backward(spec, x, weight, grad_output, bias)
    ...     return gi, gw[:, ::-1], gb      # output channels of the weight grad reversed
    >>> r = cp.check_conv_transpose_backward(swapped, max_examples=100, seed=0)
    >>> bool(r), r.counterexample.tensor
    (False, 'grad_weight')
    """
    f = _as_fn(fn)
    defaults = {"paddings": ("int", "per_dim")}
    nd, evaluate = _layouts("conv_transpose", ndim, bounds, layout, weight_layout, f)
    problems = _problems("conv_transpose", nd, defaults, bounds)
    return _run(f, "conv_transpose_backward", problems, max_examples, seed, derandomize, rtol,
                atol, _evaluate=evaluate, progress=progress)  # fmt: skip


def check_pool_backward(
    fn: Callable[..., Any],
    *,
    kind: str = "max",
    ndim: int | None = None,
    max_examples: int = 100,
    seed: int | None = None,
    derandomize: bool = False,
    rtol: float = 0.0,
    atol: float = 0.0,
    progress: bool | None = None,
    layout: str | None = None,
    **bounds: Any,
) -> CheckResult:
    """Property-test a max-, average- or linear Lp-pooling backward pass.

    ``fn(grad_output, x, kernel_size=..., stride=..., padding=..., dilation=...,
    ceil_mode=..., count_include_pad=...)`` returns ``grad_input`` (both keywords are
    always passed; average pooling always gets ``dilation=(1, ...)``); ``kind="lp"``:
    ``fn(grad_output, x, norm_type=1, kernel_size=..., stride=..., ceil_mode=...)``, PyTorch's
    ``lp_pool`` with ``p = 1`` (the one linear Lp pool, whose gradient is
    ``prod(kernel_size) / taps inside`` times ``grad_output`` on each window).  Max pooling is
    compared with PyTorch's tie rule (the first maximum in the window wins, see
    :func:`convproof.max_pool_indices`); the generated inputs are small integers, so ties
    are frequent.  Other parameters as for :func:`check_conv_backward`.

    Returns
    -------
    CheckResult

    Examples
    --------
    >>> import numpy as np
    >>> import convproof as cp
    >>> def good(grad_output, x, kernel_size, stride, padding, dilation, ceil_mode,
    ...          count_include_pad):
    ...     spec = cp.PoolSpec(kind="avg", kernel_size=kernel_size, stride=stride,
    ...                        padding=padding, ceil_mode=ceil_mode,
    ...                        count_include_pad=count_include_pad)
    ...     return cp.pool_backward(spec, x, grad_output)
    >>> bool(cp.check_pool_backward(good, kind="avg", max_examples=20))
    True
    """
    if kind not in ("max", "avg", "lp"):
        raise ConvProofError(f"kind must be 'max', 'avg' or 'lp', got kind={kind!r}")
    f = _as_fn(fn)
    defaults: dict[str, Any] = {"paddings": ("int", "per_dim"), "kinds": (kind,)}
    if kind == "lp":  # the one Lp pool with a linear backward pass: p = 1 under PyTorch
        defaults["norm_types"] = (1,)
        norms, profile = bounds.get("norm_types", (1,)), bounds.get("legality", "pytorch")
        if any(n != 1 for n in norms) or profile != "pytorch":
            raise ConvProofError(
                f"kind='lp' checks PyTorch's linear Lp pool only (norm_types=(1,), legality="
                f"'pytorch'), got norm_types={norms!r}, legality={profile!r}"
            )
    nd, evaluate = _layouts("pool", ndim, bounds, layout, None, f)
    problems = _problems("pool", nd, defaults, bounds)
    return _run(f, f"{kind}_pool_backward", problems, max_examples, seed, derandomize, rtol,
                atol, _evaluate=evaluate, progress=progress)  # fmt: skip


@_assert_doc
def assert_backward_matches(fn: Any, *, layer: str = "conv", **kwargs: Any) -> CheckResult:
    """Run the ``layer``'s backward checker; raise ``AssertionError`` with the counterexample.

    Parameters
    ----------
    fn : callable (or a pair, for ``layer="conv"``)
    layer : {"conv", "conv_transpose", "max_pool", "avg_pool"}
    {asserts}

    Examples
    --------
    >>> import convproof as cp
    >>> def zero_grads(grad_output, x, weight, bias=None, **kw):
    ...     return 0 * x, 0 * weight, None if bias is None else 0 * bias
    >>> cp.assert_backward_matches(zero_grads, max_examples=20, seed=0)
    Traceback (most recent call last):
    ...
    AssertionError: conv_backward check FAILED: ...
    """
    checker = _layer_checker(
        layer, check_conv_backward, check_conv_transpose_backward, check_pool_backward
    )
    return _asserted(checker(fn, **kwargs))
