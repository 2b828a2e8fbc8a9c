"""Property-test a user's convolution code against convproof's numeric reference.

:func:`check_conv` draws valid convolution problems with :mod:`convproof.testing.strategies`,
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
spatial axis (one int with ``scalar_args=True``); ``padding`` is a tuple of per-axis ints
(symmetric, the default) or, when the bounds allow asymmetric or named paddings, a tuple of
``(before, after)`` pairs.  Inputs are batched ``(N, C, *spatial)``.

What the data exposes
---------------------
* **Values**: per problem, small integers, dyadic fractions (multiples of ``2**-f``, so a
  function that rounds to integers is caught) or wide magnitudes (integers times ``2**e``,
  ``|e| <= 20``, so float32 accumulation of float64 data loses bits and is caught); see
  :data:`convproof.testing.strategies.VALUE_KINDS`.  Every value is exact in float32 and float64.
* **Comparison** (exact where the arithmetic is exact, a stated bound otherwise): every
  product and partial sum of an output is a multiple of ``2**q``, ``q`` the finest binary
  exponent of the data.  When ``S = sum |x*w| (+ |b|) < 2**(q + p)`` (``p`` = 53 for
  float64, 24 for float32) every partial sum is exact in any order and the function must
  return the exact value.  Otherwise ``|got - exact| <= gamma_n * S`` with
  ``gamma_n = n*u / (1 - n*u)``, ``u = 2**-p`` and ``n`` the terms of that output: the
  standard forward error bound of a dot product summed in any order (with or without
  FMA).  The float64 reference obeys the same bound, so the allowed deviation from it is
  the sum of both.  Average pooling: ``gamma_(k+2) * mean|x|`` per side, ``k`` the kernel
  elements (a sum, then a division or a multiplication by the rounded reciprocal); max
  pooling: exact.  ``rtol``/``atol`` add slack on top (FFT or Winograd algorithms need it).
  The allowed deviation at the failing output is in the counterexample.
* **Layouts**: the arrays are passed C-contiguous, Fortran-ordered or as a non-contiguous
  strided view (every other element of a larger buffer); the counterexample says which.
* **Sizes**: now and then a spatial size from 7 to 129 around powers of two (see
  :func:`convproof.testing.strategies.input_shapes`), where tiled kernels change code path;
  shrinking still prefers small sizes.

A passing run that never exercised a feature its bounds enabled (``groups > 1``, a padding
mode, dilation, stride, a batch of more than one, ...) warns with
:class:`UnexercisedWarning` and lists them in :attr:`CheckResult.unexercised`.

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

import inspect
import math
import os
import sys
import sysconfig
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from convproof.constructions.numeric import conv
from convproof.errors import ConvProofError
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec
from convproof.testing.strategies import VALUE_KINDS, ConvProblem, conv_problems

__all__ = [
    "LAYOUTS",
    "CheckResult",
    "Counterexample",
    "UnexercisedWarning",
    "assert_conv_matches",
    "check_conv",
    "check_conv_transpose",
    "check_pool",
]


#: Memory layouts the arrays are passed in: C-contiguous, Fortran-ordered, or a
#: non-contiguous view (every other element of a buffer twice as long on the last axis).
LAYOUTS = ("C", "F", "strided")
_LAYOUT_TEXT = {
    "C": "C-contiguous arrays",
    "F": "Fortran-ordered x and weight",
    "strided": "non-contiguous strided views (every other element of a larger buffer)",
}


class UnexercisedWarning(UserWarning):
    """A check passed without exercising a feature its bounds enabled (see ``.unexercised``)."""


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------


def _library_dirs() -> tuple[str, ...]:
    """Where code that is not the user's lives: this package, the standard library, and
    installed packages (NumPy, PyTorch, ...)."""
    paths = sysconfig.get_paths()
    dirs = {os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}  # the package
    dirs.update(os.path.abspath(paths[k]) for k in ("stdlib", "purelib", "platlib") if k in paths)
    return tuple(d + os.sep for d in dirs)


def _user_error(exc: BaseException, frames: int = 3) -> str:
    """The exception, then where the user's own code raised it: file, line and source.

    Frames inside convproof, the standard library and installed packages are left out; the
    innermost ``frames`` of the user's own are shown, innermost last.
    """
    line = traceback.format_exception_only(type(exc), exc)[-1].strip()
    library = _library_dirs()
    own = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not os.path.abspath(f.filename).startswith(library)
    ]
    where = [
        f"at {f.filename}:{f.lineno} in {f.name}" + (f": {f.line.strip()}" if f.line else "")
        for f in own[-frames:]
    ]
    return "\n".join([line, *where])


def _plain(value: Any) -> Any:
    """JSON-ready version of arrays and tuples."""
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)


@dataclass
class Counterexample:
    """A (shrunk) problem on which the user's function disagreed with the reference.

    Attributes
    ----------
    spec, input_shape, x, weight, bias
        The problem (see :class:`~convproof.testing.strategies.ConvProblem`).
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
    layout : str
        How ``x`` and ``weight`` were passed: ``"C"`` (C-contiguous), ``"F"``
        (Fortran-ordered) or ``"strided"`` (non-contiguous view); see :data:`LAYOUTS`.
    bound : numpy.ndarray or None
        The allowed deviation from ``expected`` per output (``0`` where the arithmetic is
        exact; see the module docstring).
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
    layout: str = "C"
    bound: np.ndarray | None = None

    @property
    def bound_value(self) -> float | None:
        """The allowed deviation at :attr:`index` (``None`` without an index)."""
        if self.index is None or self.bound is None:
            return None
        return float(self.bound[self.index])

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
            first, *where = (self.error or "").splitlines()
            lines.append(f"  raised      = {first}")
            lines.extend(f"                {w}" for w in where)
        elif self.reason == "wrong shape":
            got_shape = None if self.got is None else self.got.shape
            lines.append(f"  shape       = expected {self.expected.shape}, got {got_shape}")
        else:
            lines.append(
                f"  at index {self.index}: expected {self.expected_value!r}, got {self.got_value!r}"
            )
            bound = self.bound_value
            lines.append(
                "  allowed     = "
                + ("exact (every partial sum is exact)" if bound == 0 else f"|diff| <= {bound!r}")
            )
        lines.append(
            f"  layout      = {self.layout!r} ({_LAYOUT_TEXT.get(self.layout, self.layout)})"
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
            "layout": self.layout,
            "bound_value": self.bound_value,
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
        Examples tried: problems the function was called on (generation and shrinking).
    counterexample : Counterexample or None
        The shrunk failing problem.
    seconds : float
    layer : str
        ``"conv"``, ``"conv_transpose"`` or ``"pool"``.
    note : str or None
        Why the run failed without a counterexample (e.g. a nondeterministic function).
    unexercised : tuple of str
        Features the bounds enabled that no problem exercised (e.g. ``"groups > 1"``); a
        passing run with any warns with :class:`UnexercisedWarning`.
    comparison : str
        How results were compared (exact where the arithmetic is exact, else the stated
        bound).
    failures : int
        Examples tried that failed (while shrinking, every smaller problem that still
        fails counts); 0 when the check passed.
    """

    passed: bool
    examples_run: int
    counterexample: Counterexample | None
    seconds: float
    layer: str = "conv"
    note: str | None = field(default=None)
    unexercised: tuple[str, ...] = ()
    comparison: str = ""
    failures: int = 0

    def __bool__(self) -> bool:
        return self.passed

    def headline(self, seconds: bool = True) -> str:
        """The first line of the report: the verdict and the counts, named.

        Examples
        --------
        >>> CheckResult(False, 203, None, 0.5, "conv", failures=12).headline(seconds=False)
        'conv check FAILED: 12 of 203 examples tried failed (shrinking included)'
        >>> CheckResult(True, 30, None, 0.5, "conv").headline()
        'conv check passed: 30 examples tried, no failure, in 0.50 s'
        """
        if self.passed:
            head = f"{self.layer} check passed: {_examples(self.examples_run)} tried, no failure"
        else:
            head = (
                f"{self.layer} check FAILED: {self.failures} of "
                f"{_examples(self.examples_run)} tried failed"
            )
            if self.failures > 1:
                head += " (shrinking included)"
        return head + (f", in {self.seconds:.2f} s" if seconds else "")

    def __str__(self) -> str:
        head = self.headline()
        if self.note:
            head += f" ({self.note})"
        if self.passed and self.unexercised:
            head += f"; never exercised: {', '.join(self.unexercised)}"
        if self.counterexample is None:
            return head
        return head + "\n" + str(self.counterexample)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``passed``, ``examples_run``, ``seconds``, ``counterexample``)."""
        return {
            "layer": self.layer,
            "passed": self.passed,
            "examples_run": self.examples_run,
            "failures": self.failures,
            "seconds": self.seconds,
            "note": self.note,
            "unexercised": list(self.unexercised),
            "comparison": self.comparison,
            "counterexample": (
                None if self.counterexample is None else self.counterexample.to_dict()
            ),
        }


def _examples(n: int) -> str:
    return f"{n} example{'' if n == 1 else 's'}"


# --------------------------------------------------------------------------------------
# the call boundary: the signature, and PyTorch callables
# --------------------------------------------------------------------------------------


class _SignatureError(ConvProofError):
    """The user's function cannot be called the way the checker calls it (not a result)."""


def _is_torch_callable(fn: Any) -> bool:
    """Whether ``fn`` is a PyTorch function or module (defined in ``torch``; never imports it)."""
    if "torch" not in sys.modules:
        return False
    for obj in (fn, type(fn)):
        module = getattr(obj, "__module__", None)
        if isinstance(module, str) and (module == "torch" or module.startswith("torch.")):
            return True
    return False


def _is_torch_value(v: Any) -> bool:
    module = type(v).__module__
    return module == "torch" or module.startswith("torch.")


def _to_torch(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """NumPy arrays as torch tensors (sharing memory; the checkers pass fresh copies)."""
    import torch

    return tuple(torch.from_numpy(a) if isinstance(a, np.ndarray) else a for a in args)


def _from_torch(out: Any) -> Any:
    """Torch tensors in a result (alone, or in a tuple or list) as NumPy arrays."""
    if isinstance(out, tuple | list):
        return type(out)(_from_torch(v) for v in out)
    if _is_torch_value(out) and hasattr(out, "detach"):
        return out.detach().cpu().numpy()
    return out


def _signature(fn: Any) -> inspect.Signature | None:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):  # builtins (PyTorch's C functions) have none
        return None


def _call_text(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    def text(a: Any) -> str:
        if isinstance(a, np.ndarray):
            return f"<array {tuple(a.shape)}>"
        return repr(a)

    return f"fn({', '.join([*map(text, args), *(f'{k}={v!r}' for k, v in kwargs.items())])})"


class _Boundary:
    """The user's function as the checkers call it.

    Every call is first bound to ``fn``'s signature: a call it cannot take is a
    :class:`_SignatureError`, never a counterexample.  A PyTorch callable gets torch
    tensors: ``fn`` defined in ``torch`` at once; any other after its NumPy call raised a
    ``TypeError`` or ``AttributeError`` and the same call with tensors worked (decided once,
    by the call before the run).  Torch results become NumPy arrays.
    """

    _convproof_boundary = True

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.signature = _signature(fn)
        self.torch: bool | None = True if _is_torch_callable(fn) else None
        self.probing = False

    def set_probing(self, probing: bool) -> None:
        self.probing = probing
        if not probing and self.torch is None:
            self.torch = False  # NumPy or PyTorch is decided by the call before the run

    def _refuse(self, args: tuple[Any, ...], kwargs: dict[str, Any], exc: BaseException) -> Any:
        name = getattr(self.fn, "__name__", None) or type(self.fn).__name__
        sig = ""
        if self.signature is not None:  # parameters and defaults, without annotations
            empty = inspect.Parameter.empty
            plain = [p.replace(annotation=empty) for p in self.signature.parameters.values()]
            sig = str(self.signature.replace(parameters=plain, return_annotation=empty))
        raise _SignatureError(
            f"fn must accept the checker's call {_call_text(args, kwargs)}, got fn={name}{sig} "
            f"({type(exc).__name__}: {exc})"
        ) from None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.signature is not None:
            try:
                self.signature.bind(*args, **kwargs)
            except TypeError as exc:
                self._refuse(args, kwargs, exc)
        if self.torch:
            try:
                return _from_torch(self.fn(*_to_torch(args), **kwargs))
            except TypeError as exc:
                if self.probing and exc.__traceback__ and exc.__traceback__.tb_next is None:
                    self._refuse(args, kwargs, exc)  # refused at the call itself
                raise
        try:
            out = self.fn(*args, **kwargs)
        except (TypeError, AttributeError) as exc:
            if self.torch is False or "torch" not in sys.modules:
                raise  # torch not imported: the function cannot be a PyTorch one
            try:
                out = self.fn(*_to_torch(args), **kwargs)
            except Exception:
                raise exc from None
            self.torch = True
            return _from_torch(out)
        self.torch = False
        return _from_torch(out)


def _probe_problem(
    kind: str, ndim: int, dtype: str, pool_kind: str = "max", spec: Any = None
) -> ConvProblem:
    """A small problem, all ones: ``spec`` (a layer the user listed) on the smallest input
    its kernel fits, else a 1-tap layer of ``kind`` on a 1x1x2x..x2 input."""
    dt = np.dtype(dtype)
    if spec is None:
        kernel = (1,) * ndim
        if kind == "conv":
            spec = ConvSpec(in_channels=1, out_channels=1, kernel_size=kernel, ndim=ndim)
        elif kind == "conv_transpose":
            spec = ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=kernel, ndim=ndim)
        else:
            spec = PoolSpec(kind=pool_kind, kernel_size=kernel, ndim=ndim)
        sizes: tuple[int, ...] = (2,) * ndim
    else:
        sizes = tuple(d * (k - 1) + 1 for k, d in zip(spec.kernel_size, spec.dilation))
    channels = 1 if isinstance(spec, PoolSpec) else spec.in_channels
    shape = (1, channels, *sizes)
    x = np.ones(shape, dtype=dt)
    if isinstance(spec, PoolSpec):
        return ConvProblem(spec, shape, x, None, None)
    bias = np.ones(spec.out_channels, dtype=dt) if spec.bias else None
    return ConvProblem(spec, shape, x, np.ones(spec.weight_shape, dtype=dt), bias)


# --------------------------------------------------------------------------------------
# calling and comparing
# --------------------------------------------------------------------------------------


_COMPARISON = (
    "exact where every partial sum is exact (sum|x*w| + |b| < 2**(q+p), q the finest binary "
    "exponent of the data, p = 53 for float64, 24 for float32); otherwise |got - exact| <= "
    "gamma_n * sum|x*w| (+|b|), gamma_n = n*u/(1-n*u), u = 2**-p, n terms per output, plus "
    "the float64 reference's own bound; average pooling gamma_(k+2) * mean|x| per side; "
    "max pooling exact"
)
_PRECISION = {"float32": 24, "float64": 53, "int64": 53, "object": 53}


def _scalar(value: Any) -> Any:
    """One int for a per-axis tuple whose entries are all equal (else the value itself)."""
    if isinstance(value, tuple) and value and all(v == value[0] for v in value):
        return value[0]
    return value


def _padding_arg(spec: Any, input_shape: tuple[int, ...], scalar_args: bool = False) -> Any:
    if scalar_args and spec.padding in ("valid", "same"):
        return spec.padding
    pads = spec.resolve_padding(input_shape)
    if all(a == b for a, b in pads) and not isinstance(spec.padding, str):
        per_axis = tuple(a for a, _ in pads)
        return _scalar(per_axis) if scalar_args else per_axis
    return pads


def _call_kwargs(problem: ConvProblem, scalar_args: bool) -> dict[str, Any]:
    spec = problem.spec
    pad = _padding_arg(spec, problem.input_shape, scalar_args)
    if isinstance(spec, ConvSpec):
        kw: dict[str, Any] = {
            "stride": spec.stride,
            "padding": pad,
            "dilation": spec.dilation,
            "groups": spec.groups,
        }
        if spec.padding_mode != "zeros":
            kw["padding_mode"] = spec.padding_mode
    elif isinstance(spec, ConvTransposeSpec):
        kw = {
            "stride": spec.stride,
            "padding": pad,
            "output_padding": spec.output_padding,
            "groups": spec.groups,
            "dilation": spec.dilation,
        }
    else:
        kw = {"kernel_size": spec.kernel_size, "stride": spec.stride, "padding": pad}
        if spec.kind == "max":
            kw["dilation"] = spec.dilation
            kw["ceil_mode"] = spec.ceil_mode
        else:
            kw["ceil_mode"] = spec.ceil_mode
            kw["count_include_pad"] = spec.count_include_pad
    if scalar_args:
        kw = {k: v if k == "padding" else _scalar(v) for k, v in kw.items()}
    return kw


def _laid_out(a: np.ndarray | None, layout: str) -> np.ndarray | None:
    """A fresh copy of ``a`` in ``layout`` (the function may not change the problem)."""
    if a is None:
        return None
    if layout == "F":
        return np.asfortranarray(a.copy())
    if layout == "strided":
        base = np.zeros((*a.shape[:-1], 2 * a.shape[-1]), dtype=a.dtype)
        base[..., ::2] = a
        return base[..., ::2]
    return a.copy()


def _call_args(problem: ConvProblem, layout: str = "C") -> tuple[Any, ...]:
    if isinstance(problem.spec, PoolSpec):
        return (_laid_out(problem.x, layout),)
    return (
        _laid_out(problem.x, layout),
        _laid_out(problem.weight, layout),
        _laid_out(problem.bias, layout),
    )


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
    if merged.get("max_dilation", 2) >= 2 and (kind != "pool" or "max" in kinds):
        out.add("dilation > 1")
    explicit = {"int", "per_dim", "pairs"} & set(forms)
    if explicit and merged.get("max_padding", 2) >= 1:
        if kind != "pool" or merged.get("max_kernel_size", 3) >= 2:
            out.add("padding > 0")
    if set(forms) - explicit - {"valid"} and merged.get("max_kernel_size", 3) >= 2:
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
        self.probe = _probe_problem(kind, probe_ndim, self.dtype, pool_kind, first)
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


_COMMON_PARAMETERS = """
    max_examples : int
        Problems to generate (shrinking a failure runs more).
    seed : int, optional
        Seed for reproducible runs; ``derandomize=True`` derives it from the test instead.
    rtol, atol : float
        Slack added to the stated bound (default 0: exact where the arithmetic is exact,
        ``gamma_n * sum|x*w|`` otherwise; see the module docstring).  FFT or Winograd
        algorithms, whose error is not bounded by ``gamma_n``, need some.
    specs : spec, sequence of specs or SearchStrategy, optional
        Draw specs from these instead of generating them; spec bounds in ``**bounds``
        (``max_kernel_size``, ``groups``, ...) then restrict them (a listed spec outside a
        bound is refused).  Problem bounds (``dtype``, ``max_value``, ``values``,
        ``batch``, ``max_extra_size``, ``large_sizes``) apply either way.
    scalar_args : bool
        One value for every axis: specs have equal per-axis kernel size, stride,
        dilation and padding, and the function receives each as one int (``padding`` as
        an int or ``"valid"`` / ``"same"``), as most real code expects.
    layouts : sequence of {"C", "F", "strided"}
        Memory layouts ``x`` and ``weight`` are passed in (see :data:`LAYOUTS`).
    progress : bool, optional
        Show a progress bar over the examples (``tqdm``, on stderr).  Default: only when
        stderr is a terminal.
"""


def _plan(
    kind: str, ndim: Any, defaults: dict[str, Any], bounds: dict[str, Any], specs: Any,
    scalar_args: Any, layouts: Any,
) -> _Plan:  # fmt: skip
    return _Plan(kind, ndim, defaults, bounds, specs, scalar_args, layouts)


def check_conv(
    fn: Callable[..., Any],
    *,
    ndim: int | None = None,
    max_examples: int = 100,
    seed: int | None = None,
    derandomize: bool = False,
    rtol: float = 0.0,
    atol: float = 0.0,
    specs: Any = None,
    scalar_args: bool = False,
    layouts: Any = LAYOUTS,
    progress: bool | None = None,
    **bounds: Any,
) -> CheckResult:
    """Property-test a convolution with PyTorch's functional signature against convproof.

    Parameters
    ----------
    fn : callable
        ``fn(x, weight, bias, stride=..., padding=..., dilation=..., groups=...)`` taking and
        returning NumPy arrays (``bias`` may be ``None``).  With ``padding_modes`` in the
        bounds it also receives ``padding_mode=...`` for non-zero modes.  A PyTorch
        function such as ``torch.nn.functional.conv2d`` itself, or code that computes with
        tensors, is accepted as it is: it gets torch tensors (when it is defined in
        ``torch``, or when its NumPy call raised a ``TypeError``/``AttributeError`` that the
        same call with tensors does not) and tensor results are converted back.
    ndim : int, optional
        Spatial dimensions of the generated problems (default 2; with ``specs``, theirs).
    {common}
    **bounds
        Passed to :func:`convproof.testing.strategies.conv_specs` and
        :func:`~convproof.testing.strategies.conv_problems` (``max_channels``, ``max_kernel_size``,
        ``groups``, ``paddings``, ``padding_modes``, ``dtype``, ``batch``, ``values``,
        ``large_sizes``, ...).  Defaults: ``paddings=("int", "per_dim")`` (symmetric,
        what PyTorch accepts), ``padding_modes=("zeros",)``, ``batch=True``,
        ``values=("integers", "dyadic", "wide")`` for float dtypes and
        ``large_sizes=True``.

    Returns
    -------
    CheckResult
        Truthy iff every problem matched; otherwise ``.counterexample`` holds the shrunk
        problem, the first output outside the allowed deviation, expected and got values
        (or the exception / wrong shape) and the layout the arrays were passed in.

    Raises
    ------
    ConvProofError
        For a bad argument (``hypothesis.errors.InvalidArgument`` for a bad bound), or a
        ``fn`` that cannot take the checker's call: every call is bound to ``fn``'s
        signature, and one call on a small problem is made before the run (for functions
        without a signature, such as PyTorch's builtins), so a wrong signature is reported
        as such, never as a counterexample.

    Warns
    -----
    UnexercisedWarning
        When the check passed but never exercised a feature its bounds enabled.

    Examples
    --------
    >>> import convproof as cp
    >>> def good(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    ...     spec = cp.ConvSpec(in_channels=x.shape[1], out_channels=weight.shape[0],
    ...                        kernel_size=weight.shape[2:], stride=stride, padding=padding,
    ...                        dilation=dilation, groups=groups, bias=bias is not None)
    ...     return cp.conv(spec, x, weight, bias)
    >>> result = cp.check_conv(good, max_examples=50, seed=0)
    >>> bool(result), result.counterexample, result.unexercised
    (True, None, ())

    A convolution that rounds its output to integers is caught on dyadic data:

    >>> def rounded(x, weight, bias=None, **kw):
    ...     return np.round(good(x, weight, bias, **kw))
    >>> cx = cp.check_conv(rounded, seed=0).counterexample
    >>> cx.expected_value, cx.got_value, cx.bound_value
    (0.25, 0.0, 0.0)
    """
    defaults = {"paddings": ("int", "per_dim"), "padding_modes": ("zeros",)}
    plan = _plan("conv", ndim, defaults, bounds, specs, scalar_args, layouts)
    return _warn_unexercised(_run(fn, "conv", plan, max_examples, seed, derandomize, rtol, atol,
                                  progress=progress))  # fmt: skip


def check_conv_transpose(
    fn: Callable[..., Any],
    *,
    ndim: int | None = None,
    max_examples: int = 100,
    seed: int | None = None,
    derandomize: bool = False,
    rtol: float = 0.0,
    atol: float = 0.0,
    specs: Any = None,
    scalar_args: bool = False,
    layouts: Any = LAYOUTS,
    progress: bool | None = None,
    **bounds: Any,
) -> CheckResult:
    """Property-test a transposed convolution (``F.conv_transpose2d`` signature).

    ``fn(x, weight, bias, stride=..., padding=..., output_padding=..., groups=...,
    dilation=...)`` with the weight in PyTorch's transposed layout
    ``(C_in, C_out/groups, *k)``.  Other parameters as for :func:`check_conv` (bounds go
    to :func:`convproof.testing.strategies.conv_transpose_specs`).

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
    >>> bool(cp.check_conv_transpose(good, max_examples=50, seed=0))
    True
    """
    defaults = {"paddings": ("int", "per_dim")}
    plan = _plan("conv_transpose", ndim, defaults, bounds, specs, scalar_args, layouts)
    return _warn_unexercised(
        _run(fn, "conv_transpose", plan, max_examples, seed, derandomize, rtol, atol,
             progress=progress)
    )  # fmt: skip


def check_pool(
    fn: Callable[..., Any],
    *,
    kind: str = "max",
    ndim: int | None = None,
    max_examples: int = 100,
    seed: int | None = None,
    derandomize: bool = False,
    rtol: float = 0.0,
    atol: float = 0.0,
    specs: Any = None,
    scalar_args: bool = False,
    layouts: Any = LAYOUTS,
    progress: bool | None = None,
    **bounds: Any,
) -> CheckResult:
    """Property-test max or average pooling (``F.max_pool2d`` / ``F.avg_pool2d`` signature).

    ``kind="max"``: ``fn(x, kernel_size=..., stride=..., padding=..., dilation=...,
    ceil_mode=...)``; ``kind="avg"``: ``fn(x, kernel_size=..., stride=..., padding=...,
    ceil_mode=..., count_include_pad=...)``.  Other parameters as for :func:`check_conv`
    (bounds go to :func:`convproof.testing.strategies.pool_specs`; ``stride`` is always passed as a
    tuple, or one int with ``scalar_args=True``).

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
    plan = _plan("pool", ndim, defaults, bounds, specs, scalar_args, layouts)
    return _warn_unexercised(_run(fn, "pool", plan, max_examples, seed, derandomize, rtol, atol,
                                  progress=progress))  # fmt: skip


for _checker in (check_conv, check_conv_transpose, check_pool):
    if _checker.__doc__:  # absent under python -OO
        _checker.__doc__ = _checker.__doc__.replace("    {common}\n", _COMMON_PARAMETERS[1:])


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
    checkers: dict[str, Callable[..., CheckResult]] = {
        "conv": check_conv,
        "conv_transpose": check_conv_transpose,
        "max_pool": lambda f, **kw: check_pool(f, kind="max", **kw),
        "avg_pool": lambda f, **kw: check_pool(f, kind="avg", **kw),
    }
    if layer not in checkers:
        raise ConvProofError(
            f"layer must be one of 'conv', 'conv_transpose', 'max_pool', 'avg_pool', "
            f"got layer={layer!r}"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnexercisedWarning)
        result = checkers[layer](fn, **kwargs)
    _warn_unexercised(result)
    if not result:
        raise AssertionError(str(result))
    return result
