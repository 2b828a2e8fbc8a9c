"""Property-test a user's convolution code against convproof's numeric reference.

:func:`check_conv` draws valid convolution problems with :mod:`convproof.strategies`,
calls the user's function with PyTorch's functional signature (NumPy arrays in and out),
compares with :func:`convproof.conv`, and lets Hypothesis shrink any failure to a minimal
counterexample.  The result is a :class:`CheckResult` (truthy iff nothing failed); a
failure is a result, not an exception.  :func:`assert_conv_matches` raises an
``AssertionError`` with the readable counterexample instead, for use inside tests.

=============================  ===============================================================
checker                        user function is called as
=============================  ===============================================================
:func:`check_conv`             ``fn(x, weight, bias, stride=, padding=, dilation=, groups=)``
:func:`check_conv_transpose`   ``fn(x, weight, bias, stride=, padding=, output_padding=,
                               groups=, dilation=)``
:func:`check_pool` (max)       ``fn(x, kernel_size=, stride=, padding=, dilation=,
                               ceil_mode=)``
:func:`check_pool` (avg)       ``fn(x, kernel_size=, stride=, padding=, ceil_mode=,
                               count_include_pad=)``
=============================  ===============================================================

``stride``, ``dilation``, ``kernel_size`` and ``output_padding`` are tuples with one int per
spatial axis; ``padding`` is a tuple of per-axis ints (symmetric, the default) or, when the
bounds allow asymmetric or named paddings, a tuple of ``(before, after)`` pairs.  Inputs are
batched ``(N, C, *spatial)`` with small integer entries (exact in float64).

Examples
--------
>>> import numpy as np
>>> import convproof as cp
>>> def my_conv(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
...     spec = cp.ConvSpec(in_channels=x.shape[1], out_channels=weight.shape[0],
...                        kernel_size=weight.shape[2:], stride=stride, padding=padding,
...                        dilation=dilation, groups=groups, bias=bias is not None)
...     return cp.conv(spec, x, weight[:, :, ::-1, ::-1], bias)  # flips the kernel: wrong
>>> result = cp.check_conv(my_conv, max_examples=50, seed=0)
>>> bool(result), result.counterexample.spec.kernel_size
(False, (1, 2))
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed

from .errors import ConvProofError
from .numeric import conv
from .spec import ConvSpec, ConvTransposeSpec
from .strategies import ConvProblem, conv_problems

__all__ = [
    "CheckResult",
    "Counterexample",
    "assert_conv_matches",
    "check_conv",
    "check_conv_transpose",
    "check_pool",
]


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """JSON-ready version of arrays and tuples."""
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)


@dataclass
class Counterexample:
    """A (shrunk) problem on which the user's function disagreed with the reference.

    Attributes
    ----------
    spec, input_shape, x, weight, bias
        The problem (see :class:`~convproof.strategies.ConvProblem`).
    call : dict
        The keyword arguments the function received besides the arrays.
    expected : numpy.ndarray
        convproof's result.
    got : numpy.ndarray or None
        The function's result (``None`` if it raised).
    index : tuple of int or None
        First output index where the values differ (``None`` for a shape mismatch or error).
    reason : str
        ``"values differ"``, ``"wrong shape"`` or ``"raised"``.
    error : str or None
        The exception (type and message) when the function raised.
    """

    spec: Any
    input_shape: tuple[int, ...]
    x: np.ndarray
    weight: np.ndarray | None
    bias: np.ndarray | None
    call: dict[str, Any]
    expected: np.ndarray
    got: np.ndarray | None
    index: tuple[int, ...] | None
    reason: str
    error: str | None = None

    @property
    def expected_value(self) -> Any:
        """The reference value at :attr:`index` (``None`` without an index)."""
        return None if self.index is None else self.expected[self.index].item()

    @property
    def got_value(self) -> Any:
        """The function's value at :attr:`index` (``None`` without an index)."""
        if self.index is None or self.got is None:
            return None
        return self.got[self.index].item()

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.call.items())
        lines = [
            f"counterexample ({self.reason}):",
            f"  spec        = {self.spec!r}",
            f"  input_shape = {self.input_shape}",
            f"  call        = fn(x, {'weight, bias, ' if self.weight is not None else ''}{args})",
        ]
        if self.reason == "raised":
            lines.append(f"  raised      = {self.error}")
        elif self.reason == "wrong shape":
            got_shape = None if self.got is None else self.got.shape
            lines.append(f"  shape       = expected {self.expected.shape}, got {got_shape}")
        else:
            lines.append(
                f"  at index {self.index}: expected {self.expected_value!r}, got {self.got_value!r}"
            )
        lines.append("  x = " + np.array2string(self.x, prefix="  x = "))
        if self.weight is not None:
            lines.append("  weight = " + np.array2string(self.weight, prefix="  weight = "))
        if self.bias is not None:
            lines.append("  bias = " + np.array2string(self.bias, prefix="  bias = "))
        lines.append("  expected = " + np.array2string(self.expected, prefix="  expected = "))
        if self.got is not None:
            lines.append("  got = " + np.array2string(self.got, prefix="  got = "))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the counterexample."""
        return {
            "spec": self.spec.to_dict(),
            "input_shape": list(self.input_shape),
            "call": _plain(self.call),
            "reason": self.reason,
            "index": None if self.index is None else list(self.index),
            "expected_value": _plain(self.expected_value),
            "got_value": _plain(self.got_value),
            "error": self.error,
            "x": _plain(self.x),
            "weight": _plain(self.weight),
            "bias": _plain(self.bias),
            "expected": _plain(self.expected),
            "got": _plain(self.got),
        }


@dataclass
class CheckResult:
    """Outcome of a property check: truthy iff every generated problem matched.

    Attributes
    ----------
    passed : bool
    examples_run : int
        Problems evaluated (generation and shrinking).
    counterexample : Counterexample or None
        The shrunk failing problem.
    seconds : float
    layer : str
        ``"conv"``, ``"conv_transpose"`` or ``"pool"``.
    """

    passed: bool
    examples_run: int
    counterexample: Counterexample | None
    seconds: float
    layer: str = "conv"
    note: str | None = field(default=None)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        head = (
            f"{self.layer} check {'passed' if self.passed else 'FAILED'}: "
            f"{self.examples_run} problems in {self.seconds:.2f} s"
        )
        if self.note:
            head += f" ({self.note})"
        if self.counterexample is None:
            return head
        return head + "\n" + str(self.counterexample)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``passed``, ``examples_run``, ``seconds``, ``counterexample``)."""
        return {
            "layer": self.layer,
            "passed": self.passed,
            "examples_run": self.examples_run,
            "seconds": self.seconds,
            "note": self.note,
            "counterexample": (
                None if self.counterexample is None else self.counterexample.to_dict()
            ),
        }


# --------------------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------------------


class _Failed(Exception):
    """Raised inside the property to mark a failure; carries the counterexample."""

    def __init__(self, counterexample: Counterexample) -> None:
        super().__init__(counterexample.reason)
        self.counterexample = counterexample


def _padding_arg(spec: Any, input_shape: tuple[int, ...]) -> Any:
    pads = spec.resolve_padding(input_shape)
    if all(a == b for a, b in pads) and not isinstance(spec.padding, str):
        return tuple(a for a, _ in pads)
    return pads


def _call_args(problem: ConvProblem) -> tuple[tuple[Any, ...], dict[str, Any]]:
    spec = problem.spec
    pad = _padding_arg(spec, problem.input_shape)
    if isinstance(spec, ConvSpec):
        kw: dict[str, Any] = {
            "stride": spec.stride,
            "padding": pad,
            "dilation": spec.dilation,
            "groups": spec.groups,
        }
        if spec.padding_mode != "zeros":
            kw["padding_mode"] = spec.padding_mode
        return (problem.x.copy(), problem.weight.copy(), _copy(problem.bias)), kw  # type: ignore[union-attr]
    if isinstance(spec, ConvTransposeSpec):
        kw = {
            "stride": spec.stride,
            "padding": pad,
            "output_padding": spec.output_padding,
            "groups": spec.groups,
            "dilation": spec.dilation,
        }
        return (problem.x.copy(), problem.weight.copy(), _copy(problem.bias)), kw  # type: ignore[union-attr]
    kw = {"kernel_size": spec.kernel_size, "stride": spec.stride, "padding": pad}
    if spec.kind == "max":
        kw["dilation"] = spec.dilation
        kw["ceil_mode"] = spec.ceil_mode
    else:
        kw["ceil_mode"] = spec.ceil_mode
        kw["count_include_pad"] = spec.count_include_pad
    return (problem.x.copy(),), kw


def _copy(a: np.ndarray | None) -> np.ndarray | None:
    return None if a is None else a.copy()


def _evaluate(
    fn: Callable[..., Any], problem: ConvProblem, rtol: float, atol: float
) -> Counterexample | None:
    spec = problem.spec
    expected = np.asarray(conv(spec, problem.x, problem.weight, problem.bias))
    args, kw = _call_args(problem)

    def fail(reason: str, got: Any, index: Any = None, error: str | None = None) -> Any:
        return Counterexample(
            spec=spec, input_shape=problem.input_shape, x=problem.x, weight=problem.weight,
            bias=problem.bias, call=kw, expected=expected, got=got, index=index,
            reason=reason, error=error,
        )  # fmt: skip

    try:
        raw = fn(*args, **kw)
        if hasattr(raw, "detach"):  # a torch tensor slipped through
            raw = raw.detach().cpu().numpy()
        got = np.asarray(raw)
    except Exception as exc:
        line = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return fail("raised", None, error=line)
    if got.shape != expected.shape:
        return fail("wrong shape", got)
    try:
        close = np.isclose(got.astype(np.float64), expected.astype(np.float64),
                           rtol=rtol, atol=atol, equal_nan=True)  # fmt: skip
    except (TypeError, ValueError) as exc:
        return fail("raised", got, error=f"output is not numeric: {exc}")
    if not close.all():
        index = tuple(int(v) for v in np.argwhere(~close)[0])
        return fail("values differ", got, index=index)
    return None


def _run(
    fn: Callable[..., Any],
    layer: str,
    problems: Any,
    max_examples: int,
    seed: int | None,
    derandomize: bool,
    rtol: float,
    atol: float,
    _evaluate: Callable[..., Counterexample | None] = _evaluate,  # another comparison
) -> CheckResult:
    if not callable(fn):
        raise ConvProofError(f"fn must be callable, got fn={fn!r}")
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1:
        raise ConvProofError(f"max_examples must be an int >= 1, got max_examples={max_examples!r}")
    count = [0]

    def prop(problem: ConvProblem) -> None:
        count[0] += 1
        cx = _evaluate(fn, problem, rtol, atol)
        if cx is not None:
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
    )(given(problems)(prop))
    if seed is not None:
        test = hypothesis_seed(seed)(test)
    start = time.perf_counter()
    counterexample, note = None, None
    try:
        test()
    except _Failed as failure:
        counterexample = failure.counterexample
    except Exception as exc:  # Flaky (nondeterministic fn) and the like
        note = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return CheckResult(False, count[0], None, time.perf_counter() - start, layer, note)
    return CheckResult(
        counterexample is None, count[0], counterexample, time.perf_counter() - start, layer, note
    )


def _bounds(defaults: dict[str, Any], bounds: dict[str, Any]) -> dict[str, Any]:
    out = dict(defaults)
    out.update(bounds)
    return out


_PROBLEM_KEYS = ("dtype", "max_value", "max_batch", "max_extra_size")


def _problems(kind: str, ndim: int, defaults: dict[str, Any], bounds: dict[str, Any]) -> Any:
    merged = _bounds(defaults, bounds)
    problem_kw = {k: merged.pop(k) for k in _PROBLEM_KEYS if k in merged}
    batch = merged.pop("batch", True)
    return conv_problems(kind=kind, ndim=ndim, batch=batch, **problem_kw, **merged)


def check_conv(
    fn: Callable[..., Any],
    *,
    ndim: int = 2,
    max_examples: int = 100,
    seed: int | None = None,
    derandomize: bool = False,
    rtol: float = 1e-6,
    atol: float = 1e-6,
    **bounds: Any,
) -> CheckResult:
    """Property-test a convolution with PyTorch's functional signature against convproof.

    Parameters
    ----------
    fn : callable
        ``fn(x, weight, bias, stride=..., padding=..., dilation=..., groups=...)`` taking and
        returning NumPy arrays, like ``torch.nn.functional.conv2d`` (``bias`` may be
        ``None``).  With ``padding_modes`` in the bounds it also receives
        ``padding_mode=...`` for non-zero modes.
    ndim : int
        Spatial dimensions of the generated problems.
    max_examples : int
        Problems to generate (shrinking a failure runs more).
    seed : int, optional
        Seed for reproducible runs; ``derandomize=True`` derives it from the test instead.
    rtol, atol : float
        Tolerances of the comparison (entries are small integers, so results are exact in
        float64 and in float32 up to rounding).
    **bounds
        Passed to :func:`convproof.strategies.conv_specs` and
        :func:`~convproof.strategies.conv_problems` (``max_channels``, ``max_kernel_size``,
        ``groups``, ``paddings``, ``padding_modes``, ``dtype``, ``batch``, ...).  Defaults:
        ``paddings=("int", "per_dim")`` (symmetric, what PyTorch accepts) and
        ``padding_modes=("zeros",)``.

    Returns
    -------
    CheckResult
        Truthy iff every problem matched; otherwise ``.counterexample`` holds the shrunk
        problem, the first differing output index, expected and got values (or the
        exception / wrong shape).

    Raises
    ------
    ConvProofError
        For a bad argument (``hypothesis.errors.InvalidArgument`` for a bad bound).

    Examples
    --------
    >>> import convproof as cp
    >>> def good(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    ...     spec = cp.ConvSpec(in_channels=x.shape[1], out_channels=weight.shape[0],
    ...                        kernel_size=weight.shape[2:], stride=stride, padding=padding,
    ...                        dilation=dilation, groups=groups, bias=bias is not None)
    ...     return cp.conv(spec, x, weight, bias)
    >>> result = cp.check_conv(good, max_examples=20)
    >>> bool(result), result.counterexample
    (True, None)
    """
    defaults = {"paddings": ("int", "per_dim"), "padding_modes": ("zeros",)}
    problems = _problems("conv", ndim, defaults, bounds)
    return _run(fn, "conv", problems, max_examples, seed, derandomize, rtol, atol)


def check_conv_transpose(
    fn: Callable[..., Any],
    *,
    ndim: int = 2,
    max_examples: int = 100,
    seed: int | None = None,
    derandomize: bool = False,
    rtol: float = 1e-6,
    atol: float = 1e-6,
    **bounds: Any,
) -> CheckResult:
    """Property-test a transposed convolution (``F.conv_transpose2d`` signature).

    ``fn(x, weight, bias, stride=..., padding=..., output_padding=..., groups=...,
    dilation=...)`` with the weight in PyTorch's transposed layout
    ``(C_in, C_out/groups, *k)``.  Other parameters as for :func:`check_conv` (bounds go
    to :func:`convproof.strategies.conv_transpose_specs`).

    Returns
    -------
    CheckResult

    Examples
    --------
    >>> import convproof as cp
    >>> def good(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
    ...          dilation=1):
    ...     spec = cp.ConvTransposeSpec(
    ...         in_channels=x.shape[1], out_channels=weight.shape[1] * groups,
    ...         kernel_size=weight.shape[2:], stride=stride, padding=padding,
    ...         output_padding=output_padding, groups=groups, dilation=dilation,
    ...         bias=bias is not None)
    ...     return cp.conv(spec, x, weight, bias)
    >>> bool(cp.check_conv_transpose(good, max_examples=20))
    True
    """
    defaults = {"paddings": ("int", "per_dim")}
    problems = _problems("conv_transpose", ndim, defaults, bounds)
    return _run(fn, "conv_transpose", problems, max_examples, seed, derandomize, rtol, atol)


def check_pool(
    fn: Callable[..., Any],
    *,
    kind: str = "max",
    ndim: int = 2,
    max_examples: int = 100,
    seed: int | None = None,
    derandomize: bool = False,
    rtol: float = 1e-6,
    atol: float = 1e-6,
    **bounds: Any,
) -> CheckResult:
    """Property-test max or average pooling (``F.max_pool2d`` / ``F.avg_pool2d`` signature).

    ``kind="max"``: ``fn(x, kernel_size=..., stride=..., padding=..., dilation=...,
    ceil_mode=...)``; ``kind="avg"``: ``fn(x, kernel_size=..., stride=..., padding=...,
    ceil_mode=..., count_include_pad=...)``.  Other parameters as for :func:`check_conv`
    (bounds go to :func:`convproof.strategies.pool_specs`; ``stride`` is always passed as a
    tuple).

    Returns
    -------
    CheckResult

    Examples
    --------
    >>> import numpy as np
    >>> import convproof as cp
    >>> def no_ceil(x, kernel_size, stride, padding, ceil_mode, count_include_pad):
    ...     spec = cp.PoolSpec(kind="avg", kernel_size=kernel_size, stride=stride,
    ...                        padding=padding, ceil_mode=False,  # ignores ceil_mode: wrong
    ...                        count_include_pad=count_include_pad)
    ...     return cp.conv(spec, x)
    >>> result = cp.check_pool(no_ceil, kind="avg", max_examples=100, seed=1)
    >>> bool(result), result.counterexample.reason
    (False, 'raised')
    """
    if kind not in ("max", "avg"):
        raise ConvProofError(f"kind must be 'max' or 'avg', got kind={kind!r}")
    defaults = {"paddings": ("int", "per_dim"), "kinds": (kind,)}
    problems = _problems("pool", ndim, defaults, bounds)
    return _run(fn, "pool", problems, max_examples, seed, derandomize, rtol, atol)


def assert_conv_matches(
    fn: Callable[..., Any], *, layer: str = "conv", **kwargs: Any
) -> CheckResult:
    """Like :func:`check_conv` (or the ``layer``'s checker) but raise ``AssertionError``.

    Parameters
    ----------
    fn : callable
    layer : {"conv", "conv_transpose", "max_pool", "avg_pool"}
        Which checker to run.
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

    Examples
    --------
    >>> import convproof as cp
    >>> def bias_twice(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    ...     spec = cp.ConvSpec(in_channels=x.shape[1], out_channels=weight.shape[0],
    ...                        kernel_size=weight.shape[2:], stride=stride, padding=padding,
    ...                        dilation=dilation, groups=groups, bias=bias is not None)
    ...     out = cp.conv(spec, x, weight, bias)
    ...     return out if bias is None else out + bias[:, None, None]
    >>> cp.assert_conv_matches(bias_twice, max_examples=50, seed=0)
    Traceback (most recent call last):
    ...
    AssertionError: conv check FAILED: ...
    """
    if layer == "conv":
        result = check_conv(fn, **kwargs)
    elif layer == "conv_transpose":
        result = check_conv_transpose(fn, **kwargs)
    elif layer in ("max_pool", "avg_pool"):
        result = check_pool(fn, kind=layer.split("_")[0], **kwargs)
    else:
        raise ConvProofError(
            f"layer must be one of 'conv', 'conv_transpose', 'max_pool', 'avg_pool', "
            f"got layer={layer!r}"
        )
    if not result:
        raise AssertionError(str(result))
    return result
