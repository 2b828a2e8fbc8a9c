"""The checkers' ``layout=`` and ``weight_layout=``: user code in other layouts.

A check draws and compares channels-first problems as always; only the call changes: the
user's function receives ``x`` in ``layout`` and ``weight`` in ``weight_layout`` (each
in the memory layout the run chose: C-contiguous, Fortran-ordered or strided), and its
result is read in ``layout``.  A counterexample is reported in the user's layouts
(``x``, ``weight``, ``expected``, ``got``, ``index``, ``input_shape``).  The layouts are
read by :mod:`convproof.layers.layout`.

Examples
--------
>>> import numpy as np
>>> from convproof.testing.layout_check import _relaid
>>> a = np.zeros((2, 3), order="F")
>>> _relaid(np.ones((3, 2)), a).flags.f_contiguous
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from convproof.errors import ConvProofError
from convproof.layers.layout import parse_layout, parse_weight_layout
from convproof.testing.calling import _laid_out
from convproof.testing.layout_problems import layout_bounds
from convproof.testing.reports import Counterexample
from convproof.testing.runner import _evaluate

__all__: list[str] = []

_ALIASES = ("channels_first", "channels_last")


def _relaid(a: np.ndarray, like: Any) -> np.ndarray:
    """A fresh copy of ``a`` in the memory layout of ``like`` (C, Fortran or strided)."""
    if not isinstance(like, np.ndarray) or like.flags.c_contiguous:
        return np.ascontiguousarray(a)
    if like.flags.f_contiguous:
        return np.asfortranarray(a)
    out = _laid_out(np.ascontiguousarray(a), "strided")
    assert out is not None
    return out


class _InLayout:
    """The user's function (behind the checker's boundary) called in other layouts."""

    def __init__(self, fn: Callable[..., Any], data: Any, weight: Any) -> None:
        self.fn, self.data, self.weight = fn, data, weight

    def __call__(self, x: Any, *rest: Any, **kwargs: Any) -> Any:
        args = list(rest)
        if args and args[0] is not None and self.weight is not None:
            args[0] = _relaid(self.weight.from_canonical(args[0]), args[0])
        out = self.fn(_relaid(self.data.from_canonical(x), x), *args, **kwargs)
        try:
            arr = np.asarray(out)
        except Exception:  # not an array: the runner reports it
            return out
        return self.data.to_canonical(arr) if arr.ndim == len(self.data.text) else out


def _in_user_layout(cx: Counterexample, data: Any, weight: Any) -> Counterexample:
    """The counterexample with its arrays, shape and index in the user's layouts."""

    def back(a: Any) -> Any:
        if not isinstance(a, np.ndarray) or a.ndim != len(data.text):
            return a
        return np.ascontiguousarray(data.from_canonical(a))

    index = cx.index
    if index is not None:
        index = tuple(index[a] for a in data.from_canonical_axes)
    w = cx.weight
    if w is not None and weight is not None:
        w = np.ascontiguousarray(weight.from_canonical(w))
    return dataclasses.replace(
        cx, input_shape=data.shape(cx.input_shape), x=back(cx.x), weight=w,
        expected=back(cx.expected), got=back(cx.got), bound=back(cx.bound), index=index,
    )  # fmt: skip


def layout_evaluate(
    kind: str, ndim: Any, specs: Any, bounds: dict[str, Any], layout: Any, weight_layout: Any
) -> tuple[Any, Callable[..., Counterexample | None]]:
    """The ``ndim`` and the comparison a checker runs for ``layout`` / ``weight_layout``.

    Checks the layouts and returns ``(ndim, evaluate)``: ``ndim`` is the layouts' when the
    checker got none (and no specs), ``evaluate`` the runner's comparison with the call in
    the layouts (the runner's own when both are ``None``).  A depthwise weight layout sets
    ``bounds["groups"] = "depthwise"``, an explicit layout ``bounds["batch"]`` (in place).
    """
    if layout is None and weight_layout is None:
        return ndim, _evaluate
    if isinstance(layout, str) and "N" not in layout and layout not in _ALIASES:
        raise ConvProofError(
            f"layout must have the batch axis N (the checkers pass batched inputs), "
            f"got layout={layout!r}"
        )
    probe = dict(bounds) if ndim is None else {**bounds, "ndim": ndim}
    lay_ndim = layout_bounds(layout, weight_layout, kind, specs, probe)
    for key in ("groups", "batch"):  # a depthwise weight layout; a layout with(out) N
        if key in probe:
            bounds[key] = probe[key]
    if ndim is None and specs is None:
        ndim = lay_ndim

    def evaluate(fn: Any, problem: Any, rtol: float, atol: float, **kw: Any) -> Any:
        spec = problem.spec
        data = parse_layout(layout, spec.ndim, batched=len(problem.input_shape) == spec.ndim + 2)
        weight = None if weight_layout is None else parse_weight_layout(weight_layout, spec)
        cx = _evaluate(_InLayout(fn, data, weight), problem, rtol, atol, **kw)
        return None if cx is None else _in_user_layout(cx, data, weight)

    return ndim, evaluate
