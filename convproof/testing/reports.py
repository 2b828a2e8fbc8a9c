"""What a check returns: :class:`CheckResult` (truthy iff nothing failed) and the shrunk
:class:`Counterexample`, with their text and JSON forms, and :class:`UnexercisedWarning`.

The checkers that fill them in are in :mod:`convproof.testing.check` (forward) and
:mod:`convproof.testing.check_backward`.

Examples
--------
>>> import convproof as cp
>>> from convproof.testing.reports import CheckResult
>>> cp.CheckResult is CheckResult
True
"""

from __future__ import annotations

import os
import sysconfig
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convproof.testing.calling import _LAYOUT_TEXT

__all__ = ["CheckResult", "Counterexample", "UnexercisedWarning"]


class UnexercisedWarning(UserWarning):
    """A check passed without exercising a feature its bounds enabled (see ``.unexercised``)."""


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

    def _head(self, title: str, arrays: str) -> list[str]:
        """The first lines of the text: what failed, the layer, the input and the call
        (``fn(<arrays>, <keyword arguments>)``), then what was raised if it raised."""
        args = ", ".join(f"{k}={v!r}" for k, v in self.call.items())
        lines = [
            f"counterexample ({title}):",
            f"  spec        = {self.spec!r}",
            f"  input_shape = {self.input_shape}",
            f"  call        = fn({arrays}{args})",
        ]
        if self.reason == "raised":
            first, *where = (self.error or "").splitlines()
            lines.append(f"  raised      = {first}")
            lines.extend(f"                {w}" for w in where)
        return lines

    def __str__(self) -> str:
        lines = self._head(self.reason, f"x, {'weight, bias, ' if self.weight is not None else ''}")
        if self.reason == "wrong shape":
            got_shape = None if self.got is None else self.got.shape
            lines.append(f"  shape       = expected {self.expected.shape}, got {got_shape}")
        elif self.reason != "raised":
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
