"""Problems drawn in a data or weight layout (``conv_problems(layout=..., weight_layout=...)``).

The strategies draw every problem channels-first with PyTorch's weight layouts; this module
rearranges a drawn problem into the layouts asked for, with
:mod:`convproof.layers.layout` (the one place that reads a layout string), and adjusts the
bounds: the layout's spatial axes give ``ndim`` and a depthwise weight layout (``"HWCM"``)
asks for depthwise specs.

Examples
--------
>>> import numpy as np
>>> import convproof as cp
>>> from convproof.testing.strategies import ConvProblem
>>> from convproof.testing.layout_problems import problem_arranger
>>> spec = cp.ConvSpec(in_channels=2, out_channels=1, kernel_size=1, bias=False, ndim=1)
>>> arrange = problem_arranger("NWC", "WIO", "conv", [spec], {"batch": None})
>>> p = arrange(ConvProblem(spec, (1, 2, 3), np.arange(6).reshape(1, 2, 3),
...                         np.ones((1, 2, 1)), None))
>>> p.input_shape, p.x.tolist(), p.weight.shape
((1, 3, 2), [[[0, 3], [1, 4], [2, 5]]], (1, 2, 1))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis.errors import InvalidArgument

from convproof.errors import ConvProofError
from convproof.layers.layout import parse_layout, parse_weight_layout
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec

__all__: list[str] = []


def _probe_spec(kind: str, ndim: int) -> Any:
    """A one-channel 1-tap layer of ``kind``: enough to validate a weight layout's letters."""
    if kind == "conv_transpose":
        return ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=1, ndim=ndim)
    return ConvSpec(in_channels=1, out_channels=1, kernel_size=1, ndim=ndim)


def layout_bounds(
    layout: Any, weight_layout: Any, kind: str, specs: Any, bounds: dict[str, Any]
) -> int | None:
    """Check the layouts against ``kind`` and the bounds, and adjust ``bounds`` in place:
    an explicit layout's spatial axes set ``ndim`` (unless specs are listed), a depthwise
    weight layout sets ``groups="depthwise"``.  Returns the layouts' ``ndim`` (``None``
    when neither fixes it).  Raises :class:`ConvProofError`."""
    ndim = bounds.get("ndim")
    lay_ndim = None
    if layout is not None:
        data = parse_layout(layout, ndim, batched=True)
        lay_ndim = data.ndim if layout not in ("channels_first", "channels_last") else None
        if lay_ndim is not None:  # an explicit layout decides batched or not
            batch = bounds.get("batch")
            if batch is not None and batch != data.batched:
                raise ConvProofError(
                    f"batch must be {data.batched} (or None) for layout={layout!r}, "
                    f"got batch={batch!r}"
                )
            bounds["batch"] = data.batched
    if weight_layout is not None:
        if kind == "pool":
            raise ConvProofError(
                f"weight_layout must be None for pooling (no weight), "
                f"got weight_layout={weight_layout!r}"
            )
        if not isinstance(weight_layout, str):
            parse_weight_layout(weight_layout, _probe_spec(kind, lay_ndim or ndim or 2))
        w_ndim = len(weight_layout) - 2
        if w_ndim not in (1, 2, 3) or (lay_ndim or ndim or w_ndim) != w_ndim:
            want = lay_ndim or ndim
            raise ConvProofError(
                f"weight_layout must have {want} spatial axes (as the layout / ndim), got "
                f"weight_layout={weight_layout!r}"
                if want
                else f"weight_layout must have 1, 2 or 3 spatial axes, got "
                f"weight_layout={weight_layout!r}"
            )
        if parse_weight_layout(weight_layout, _probe_spec(kind, w_ndim)).depthwise:
            if bounds.get("groups", "depthwise") not in (True, "depthwise"):
                raise ConvProofError(
                    f"weight_layout {weight_layout!r} is depthwise: it needs groups, got "
                    f"groups={bounds['groups']!r}"
                )
            bounds["groups"] = "depthwise"
        lay_ndim = w_ndim
    listed = [specs] if isinstance(specs, ConvSpec | ConvTransposeSpec | PoolSpec) else specs
    for spec in listed if isinstance(listed, list | tuple) else ():
        if lay_ndim is not None and getattr(spec, "ndim", lay_ndim) != lay_ndim:
            raise ConvProofError(
                f"specs must have ndim={lay_ndim} for layout={layout!r}, "
                f"weight_layout={weight_layout!r}, got {spec!r}"
            )
    if lay_ndim is not None and specs is None:
        bounds.setdefault("ndim", lay_ndim)
    return lay_ndim


def problem_arranger(
    layout: Any, weight_layout: Any, kind: str, specs: Any, bounds: dict[str, Any]
) -> Callable[[Any], Any]:
    """A function rearranging a channels-first problem into ``layout`` / ``weight_layout``
    (the identity when both are ``None``); adjusts ``bounds`` as :func:`layout_bounds`
    (its ``"batch"`` entry is the strategy's ``batch`` argument: pop it after the call).
    Raises ``InvalidArgument`` (the strategies' error) for bad layouts."""
    if layout is None and weight_layout is None:
        return lambda problem: problem
    try:
        layout_bounds(layout, weight_layout, kind, specs, bounds)
    except ConvProofError as exc:
        raise InvalidArgument(str(exc)) from None

    def arrange(problem: Any) -> Any:
        spec = problem.spec
        if isinstance(spec, PoolSpec) and weight_layout is not None:
            raise InvalidArgument(f"weight_layout must be None for pooling, got {spec!r}")
        lay = parse_layout(layout, spec.ndim, batched=len(problem.input_shape) == spec.ndim + 2)
        x = np.ascontiguousarray(lay.from_canonical(problem.x))
        weight = problem.weight
        if weight is not None and weight_layout is not None:
            weight = np.ascontiguousarray(
                parse_weight_layout(weight_layout, spec).from_canonical(weight)
            )
        return type(problem)(spec, x.shape, x, weight, *problem[4:])

    return arrange
