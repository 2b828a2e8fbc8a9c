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
    """The user's function (behind the checker's boundary) called in other layouts.

    ``roles`` name the positional arrays (``"data"``, ``"weight"``, anything else passed as
    it is) and ``returns`` the result (one role, or a tuple of roles for a tuple)."""

    def __init__(
        self, fn: Callable[..., Any], data: Any, weight: Any, roles: tuple[str, ...],
        returns: Any,
    ) -> None:  # fmt: skip
        self.fn, self.lays = fn, {"data": data, "weight": weight}
        self.roles, self.returns = roles, returns
        self.raw: Any = None  # the last result as the function returned it

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        laid = [
            _relaid(self.lays[role].from_canonical(a), a)
            if self.lays.get(role) is not None and isinstance(a, np.ndarray)
            else a
            for role, a in zip(self.roles, args)
        ]
        out = self.raw = self.fn(*laid, *args[len(laid) :], **kwargs)
        if isinstance(self.returns, tuple):
            if not isinstance(out, tuple | list) or len(out) != len(self.returns):
                return out  # the checker reports it
            return tuple(self._back(role, v) for role, v in zip(self.returns, out))
        return self._back(self.returns, out)

    def _back(self, role: str, out: Any) -> Any:
        """``out`` (in ``role``'s layout) in canonical order; as it is when it cannot be."""
        lay = self.lays.get(role)
        if lay is None or out is None:
            return out
        try:
            return lay.to_canonical(np.asarray(out))
        except Exception:  # wrong rank or shape, not an array: the checker reports it
            return out


def _index_in(from_canonical: Callable[[np.ndarray], np.ndarray], shape: Any, index: Any) -> Any:
    """``index`` of a canonical array of ``shape``, in the array's other layout."""
    flat = from_canonical(np.arange(int(np.prod(shape))).reshape(shape))
    where = np.argwhere(flat == np.ravel_multi_index(index, shape))[0]
    return tuple(int(v) for v in where)


def _raw_got(cx: Counterexample, raw: Any) -> Any:
    """The failing result as the function returned it (its part for a backward tensor)."""
    if cx.got is None:
        return None
    tensor = getattr(cx, "tensor", None)
    if tensor is not None and isinstance(raw, tuple | list) and len(raw) == 3:
        raw = raw[("grad_input", "grad_weight", "grad_bias").index(tensor)]
    try:
        return np.asarray(raw)
    except Exception:  # pragma: no cover - the runner already read it as an array
        return cx.got


def _in_user_layout(cx: Counterexample, data: Any, weight: Any, raw: Any) -> Counterexample:
    """The counterexample with its arrays, shapes and index in the user's layouts (``raw``:
    what the function returned)."""

    def back(a: Any, lay: Any = data) -> Any:
        if lay is None or not isinstance(a, np.ndarray) or a.ndim != len(lay.text):
            return a
        try:
            return np.ascontiguousarray(lay.from_canonical(a))
        except Exception:  # a wrong-shaped result, left as it came back
            return a

    tensor = getattr(cx, "tensor", None)  # a backward counterexample: which gradient
    lay = {"grad_weight": weight, "grad_bias": None}.get(tensor or "", data)
    index = cx.index
    if index is not None and lay is not None and cx.expected is not None:
        index = _index_in(lay.from_canonical, np.shape(cx.expected), index)
    changes: dict[str, Any] = {
        "input_shape": data.shape(cx.input_shape), "x": back(cx.x),
        "weight": back(cx.weight, weight), "expected": back(cx.expected, lay),
        "got": _raw_got(cx, raw), "bound": back(cx.bound, lay), "index": index,
    }  # fmt: skip
    if tensor is not None:
        changes["grad_output"] = back(getattr(cx, "grad_output", None))
        feeds = list(getattr(cx, "feeds", []))
        if feeds:  # the definition's terms keep convproof's indices
            changes["feeds"] = [*feeds, "(these indices channels-first, PyTorch weight layout)"]
    return dataclasses.replace(cx, **changes)


_FORWARD = (("data", "weight", "bias"), "data")
#: positional roles and results of the backward checkers' calls, by layer kind
_BACKWARD = {
    "pool": (("data", "data"), "data"),
    "conv": (("data", "data", "weight", "bias"), ("data", "weight", "bias")),
}


def layout_evaluate(
    kind: str, ndim: Any, specs: Any, bounds: dict[str, Any], layout: Any, weight_layout: Any,
    base: Callable[..., Any] = _evaluate, backward: bool = False,
) -> tuple[Any, Callable[..., Any]]:  # fmt: skip
    """The ``ndim`` and the comparison a checker runs for ``layout`` / ``weight_layout``.

    Checks the layouts and returns ``(ndim, evaluate)``: ``ndim`` is the layouts' when the
    checker got none (and no specs), ``evaluate`` the runner's comparison with the call in
    the layouts (the runner's own when both are ``None``).  A depthwise weight layout sets
    ``bounds["groups"] = "depthwise"``, an explicit layout ``bounds["batch"]`` (in place).
    """
    if layout is None and weight_layout is None:
        return ndim, base
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
        roles, returns = _BACKWARD["pool" if kind == "pool" else "conv"] if backward else _FORWARD
        call = _InLayout(fn, data, weight, roles, returns)
        cx = base(call, problem, rtol, atol, **kw)
        return None if cx is None else _in_user_layout(cx, data, weight, call.raw)

    return ndim, evaluate
