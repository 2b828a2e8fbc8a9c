"""Hypothesis strategies for problems drawn from a spec: :func:`input_shapes` (a non-empty
output by construction), :func:`conv_problems` (:class:`ConvProblem`: spec, shape and exact
arrays) and :func:`conv_backward_problems` (:class:`BackwardProblem`, with a gradient).

Public through :mod:`convproof.testing.strategies` (``cp.strategies``); the spec strategies
are in :mod:`convproof.testing.spec_strategies`.

Examples
--------
>>> from convproof.testing.problem_strategies import VALUE_KINDS
>>> VALUE_KINDS
('integers', 'dyadic', 'wide')
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.extra import numpy as hnp

from convproof.errors import ConvProofError
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec, Spec
from convproof.testing.layout_problems import problem_arranger
from convproof.testing.spec_strategies import (
    _check_bool,
    _check_int,
    _check_optional_bool,
    _check_subset,
    _strategy_doc,
    conv_specs,
    conv_transpose_specs,
    pool_specs,
)

__all__ = [
    "LARGE_SIZES",
    "VALUE_KINDS",
    "BackwardProblem",
    "ConvProblem",
    "conv_backward_problems",
    "conv_problems",
    "input_shapes",
]

_DTYPES = ("float64", "float32", "int64", "object")

#: Value kinds :func:`conv_problems` can draw: ``"integers"`` in ``[-max_value, max_value]``;
#: ``"dyadic"``, multiples of ``2**-f`` (``f`` from 1 to 4, drawn per problem) in the same
#: range; ``"wide"``, integers in that range times ``2**e`` with ``e`` drawn per entry from
#: ``[-20, 20]`` (magnitudes spanning 2**40, so float32 accumulation loses bits).  Every
#: value is exact in float32 and float64.
VALUE_KINDS = ("integers", "dyadic", "wide")
_MAX_FRACTION_BITS = 4
_WIDE_EXPONENT = 20

#: Sizes :func:`input_shapes` draws now and then with ``large_sizes=True``: around and
#: beyond powers of two, where tiled and vectorised kernels change code path.
LARGE_SIZES = (7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129)
#: At most this many spatial elements per sample once an axis is large (about 130 x 130).
_LARGE_ELEMENTS = 130 * 130


# --------------------------------------------------------------------------------------
# input shapes and problems
# --------------------------------------------------------------------------------------


def _min_size(spec: Spec, axis: int, cap: int = 4096) -> int:
    """Smallest input size along ``axis`` with a non-empty output (sizes above it work too).

    Axes are independent, so the other axes are set to a size large enough for any bound.
    """
    spatial = [cap] * spec.ndim
    for i in range(1, cap + 1):
        spatial[axis] = i
        try:
            spec.output_spatial(tuple(spatial))
        except ConvProofError:
            continue
        return i
    raise InvalidArgument(f"no input size up to {cap} fits {spec!r} along dim {axis}")


def _check_spec(spec: Any) -> Spec:
    if not isinstance(spec, ConvSpec | ConvTransposeSpec | PoolSpec):
        raise InvalidArgument(
            f"spec must be a ConvSpec, ConvTransposeSpec or PoolSpec, got spec={spec!r}"
        )
    return spec


def input_shapes(
    spec: Spec,
    *,
    batch: bool | None = None,
    max_batch: int = 2,
    max_extra_size: int = 4,
    large_sizes: bool = False,
) -> st.SearchStrategy[tuple[int, ...]]:
    """Strategy for input shapes valid for ``spec`` (non-empty output, padding-mode limits).

    Each spatial size is drawn from ``[smallest valid, smallest valid + max_extra_size]``,
    independently per axis.

    Parameters
    ----------
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
    batch : bool or None
        ``True`` for ``(N, C, *spatial)``, ``False`` for ``(C, *spatial)``, ``None`` to draw.
    max_batch : int
        Upper bound for ``N`` (from 1).
    max_extra_size : int
        How far above the smallest valid size a spatial size may go.
    large_sizes : bool
        Now and then (about one axis in eight) draw a size from :data:`LARGE_SIZES` (7 to
        129, around powers of two) instead, as long as a sample keeps at most about
        130 x 130 spatial elements.  The small size is drawn first and the large one
        replaces it only when a flag is set, so shrinking prefers the small size and, when
        only a large one fails, ends at the smallest failing entry of :data:`LARGE_SIZES`.

    Returns
    -------
    hypothesis.strategies.SearchStrategy

    Examples
    --------
    >>> from hypothesis import find
    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=3, out_channels=1, kernel_size=(3, 5), padding=1)
    >>> find(cp.strategies.input_shapes(spec, batch=False), lambda s: s[1] > s[2])
    (3, 4, 3)
    >>> find(cp.strategies.input_shapes(spec, batch=False, large_sizes=True),
    ...      lambda s: s[2] > 10)
    (3, 1, 15)
    """
    spec = _check_spec(spec)
    fixed_batch = _check_optional_bool("batch", batch)
    n_max = _check_int("max_batch", max_batch, 1)
    extra = _check_int("max_extra_size", max_extra_size, 0)
    large = _check_bool("large_sizes", large_sizes)
    mins = tuple(_min_size(spec, a) for a in range(spec.ndim))

    @st.composite
    def build(draw: Any) -> tuple[int, ...]:
        return _draw_shape(draw, spec, mins, fixed_batch, n_max, extra, large)

    return build()


def _draw_shape(
    draw: Any,
    spec: Spec,
    mins: tuple[int, ...],
    fixed_batch: bool | None,
    n_max: int,
    extra: int,
    large: bool = False,
) -> tuple[int, ...]:
    c = spec.in_channels if isinstance(spec, ConvSpec | ConvTransposeSpec) else None
    if c is None:
        c = draw(st.integers(1, 3))
    spatial = [m + draw(st.integers(0, extra)) for m in mins]
    if large:
        for axis, m in enumerate(mins):
            if draw(st.integers(0, 3)) == 3:  # about one axis in four; shrinks to "small"
                size = max(m, draw(st.sampled_from(LARGE_SIZES)))
                others = int(np.prod(spatial)) // spatial[axis]
                if others * size <= _LARGE_ELEMENTS:
                    spatial[axis] = size
    batched = draw(st.booleans()) if fixed_batch is None else fixed_batch
    lead = (draw(st.integers(1, n_max)),) if batched else ()
    return (*lead, c, *spatial)


class ConvProblem(NamedTuple):
    """A generated problem: a spec, an input shape and the arrays (``None`` where absent)."""

    spec: Spec
    input_shape: tuple[int, ...]
    x: np.ndarray
    weight: np.ndarray | None
    bias: np.ndarray | None


@functools.lru_cache(maxsize=512)
def _int_arrays(shape: tuple[int, ...], lo: int, hi: int) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.int64, shape, elements=st.integers(lo, hi))


def _array(
    draw: Any, shape: tuple[int, ...], dtype: str, max_value: int, values: str, bits: int
) -> np.ndarray:
    """An array of ``values`` kind (see :data:`VALUE_KINDS`), exact in ``dtype``."""
    shape = tuple(shape)
    if values == "dyadic":
        scale = 2**bits
        mantissa = draw(_int_arrays(shape, -max_value * scale, max_value * scale))
        return (mantissa / scale).astype(dtype)
    arr = draw(_int_arrays(shape, -max_value, max_value))
    if values == "wide":
        exponent = draw(_int_arrays(shape, -_WIDE_EXPONENT, _WIDE_EXPONENT))
        return np.ldexp(arr.astype(np.float64), exponent).astype(dtype)
    if dtype == "object":
        out = np.empty(arr.shape, dtype=object)
        out.flat[:] = [int(v) for v in arr.flat]
        return out
    return arr.astype(dtype)


def _spec_violation(spec: Spec, name: str, value: Any) -> str | None:
    """Why ``spec`` is outside the bound ``name=value`` (``None`` when it is within)."""
    conv_like = isinstance(spec, ConvSpec | ConvTransposeSpec)
    pads = [p for pair in spec.padding for p in pair] if isinstance(spec.padding, tuple) else []
    channels = (getattr(spec, "in_channels", 1), getattr(spec, "out_channels", 1))
    checks: dict[str, Callable[[], bool]] = {
        "ndim": lambda: spec.ndim == value,
        "min_channels": lambda: not conv_like or min(channels) >= value,
        "max_channels": lambda: not conv_like or max(channels) <= value,
        "max_kernel_size": lambda: max(spec.kernel_size) <= value,
        "max_stride": lambda: max(getattr(spec, "stride", None) or (1,)) <= value,
        "max_dilation": lambda: max(spec.dilation) <= value,
        "max_padding": lambda: max(pads, default=0) <= value,
        "groups": lambda: (
            getattr(spec, "groups", None) == getattr(spec, "in_channels", None)
            if value == "depthwise"
            else value or getattr(spec, "groups", 1) == 1
        ),
        "bias": lambda: value is None or not conv_like or getattr(spec, "bias", None) == value,
        "padding_modes": lambda: spec.padding_mode in tuple(value),
        "kinds": lambda: not isinstance(spec, PoolSpec) or spec.kind in tuple(value),
        "ceil_mode": lambda: value is None or getattr(spec, "ceil_mode", value) == value,
        "count_include_pad": lambda: (
            value is None or getattr(spec, "count_include_pad", value) == value
        ),
        "output_padding": lambda: value or not any(getattr(spec, "output_padding", ())),
        "legality": lambda: spec.legality == value,
        "same_per_axis": lambda: (
            not value
            or all(len(set(getattr(spec, f))) == 1 for f in ("kernel_size", "stride", "dilation"))
        ),
    }
    if name not in checks:
        raise InvalidArgument(
            f"bound {name}={value!r} cannot be combined with specs=... (bounds that can: "
            f"{', '.join(checks)})"
        )
    return None if checks[name]() else f"{name}={value!r}"


def _spec_source(specs: Any, bounds: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A strategy from ``specs=`` (a strategy, a spec or a sequence of specs) and bounds.

    A concrete spec outside a bound is refused when the strategy is built; a strategy's
    specs are filtered by the bounds.
    """
    if isinstance(specs, st.SearchStrategy):
        for name, value in bounds.items():
            _spec_violation(ConvSpec(in_channels=1, out_channels=1, kernel_size=1), name, value)
        if not bounds:
            return specs
        return specs.filter(
            lambda s: all(_spec_violation(s, k, v) is None for k, v in bounds.items())
        )
    items = [specs] if isinstance(specs, ConvSpec | ConvTransposeSpec | PoolSpec) else specs
    try:
        items = list(items)
    except TypeError:
        raise InvalidArgument(
            f"specs must be a SearchStrategy, a spec or a sequence of specs, got specs={specs!r}"
        ) from None
    if not items:
        raise InvalidArgument(f"specs must not be empty, got specs={specs!r}")
    for item in items:
        _check_spec(item)
        for name, value in bounds.items():
            why = _spec_violation(item, name, value)
            if why is not None:
                raise InvalidArgument(f"specs holds {item!r}, outside the bound {why}")
    return st.sampled_from(items)


@_strategy_doc("argument")
def conv_problems(
    *,
    specs: Any = None,
    kind: str = "conv",
    dtype: str = "float64",
    max_value: int = 3,
    values: Sequence[str] = ("integers",),
    batch: bool | None = None,
    max_batch: int = 2,
    max_extra_size: int = 3,
    large_sizes: bool = False,
    layout: str | None = None,
    weight_layout: str | None = None,
    **bounds: Any,
) -> st.SearchStrategy[ConvProblem]:
    """Strategy for :class:`ConvProblem` tuples ``(spec, input_shape, x, weight, bias)``.

    Array entries are exactly representable in ``dtype`` and shrink towards zero; by
    default they are small integers (results then compare exactly in every dtype).

    Parameters
    ----------
    specs : SearchStrategy, spec or sequence of specs, optional
        Where specs come from; default ``conv_specs(**bounds)`` (or the strategy for
        ``kind``).  With ``specs``, the spec bounds in ``**bounds`` (``ndim``,
        ``max_channels``, ``max_kernel_size``, ``groups``, ``padding_modes``, ...) restrict
        them: a listed spec outside a bound is refused, a strategy's specs are filtered.
    kind : {"conv", "conv_transpose", "pool"}
        Which spec strategy to use when ``specs`` is not given.
    dtype : {"float64", "float32", "int64", "object"}
        Array dtype; ``"object"`` holds Python ints (exact arithmetic).
    max_value : int
        Entries (or, for ``"wide"`` values, their integer mantissas) lie in
        ``[-max_value, max_value]``.
    values : sequence of {"integers", "dyadic", "wide"}
        Value kinds, one drawn per problem (see :data:`VALUE_KINDS`); ``"dyadic"`` and
        ``"wide"`` need a float dtype.
    batch, max_batch, max_extra_size, large_sizes
        As for :func:`input_shapes`.
    layout, weight_layout : str, optional
        Draw the problems in these layouts (``"NHWC"``, ``"HWIO"``, ...; see
        :mod:`convproof.layers.layout`): ``input_shape`` and ``x`` in ``layout``,
        ``weight`` in ``weight_layout`` (a depthwise one such as ``"HWCM"`` draws
        depthwise specs only).  Default: channels-first, PyTorch's weight layouts.
    **bounds
        Passed to the spec strategy (``ndim``, ``max_channels``, ...).

    {sections}
    >>> p = find(cp.strategies.conv_problems(ndim=1, batch=False), lambda p: p.spec.bias)
    >>> p.spec.kernel_size, p.input_shape, p.x, p.weight, p.bias
    ((1,), (1, 1), array([[0.]]), array([[[0.]]]), array([0.]))
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, ndim=1)
    >>> p = find(cp.strategies.conv_problems(specs=[spec], values=["dyadic"], batch=False),
    ...          lambda p: p.x.min() < 0)
    >>> float(p.x.min())  # the smallest negative dyadic value
    -0.5
    >>> p = find(cp.strategies.conv_problems(specs=[spec], layout="NWC", batch=True),
    ...          lambda p: p.input_shape[1] > 2)
    >>> p.input_shape, p.x.shape  # (N, W, C)
    ((1, 3, 1), (1, 3, 1))
    """
    kinds: dict[str, Callable[..., st.SearchStrategy[Any]]] = {
        "conv": conv_specs,
        "conv_transpose": conv_transpose_specs,
        "pool": pool_specs,
    }
    if kind not in kinds:
        raise InvalidArgument(
            f"kind must be one of {', '.join(map(repr, kinds))}, got kind={kind!r}"
        )
    if dtype not in _DTYPES:
        raise InvalidArgument(
            f"dtype must be one of {', '.join(map(repr, _DTYPES))}, got dtype={dtype!r}"
        )
    vmax = _check_int("max_value", max_value, 0)
    value_kinds = _check_subset("values", values, VALUE_KINDS)
    if dtype in ("int64", "object") and value_kinds != ("integers",):
        raise InvalidArgument(
            f"values must be ('integers',) for dtype={dtype!r}, got values={values!r}"
        )
    fixed_batch = _check_optional_bool("batch", batch)
    bounds["batch"] = fixed_batch
    arrange = problem_arranger(layout, weight_layout, kind, specs, bounds)
    fixed_batch = bounds.pop("batch")
    n_max = _check_int("max_batch", max_batch, 1)
    extra = _check_int("max_extra_size", max_extra_size, 0)
    large = _check_bool("large_sizes", large_sizes)
    if specs is None:
        params = inspect.signature(kinds[kind]).parameters
        unknown = sorted(set(bounds) - set(params))
        if unknown:
            raise InvalidArgument(
                f"unknown bounds for kind={kind!r}: {', '.join(unknown)} (accepted: "
                f"{', '.join(params)})"
            )
        spec_strategy = kinds[kind](**bounds)
    else:
        spec_strategy = _spec_source(specs, bounds)
    min_sizes: dict[Spec, tuple[int, ...]] = {}

    @st.composite
    def build(draw: Any) -> ConvProblem:
        spec = _check_spec(draw(spec_strategy))
        if spec not in min_sizes:
            min_sizes[spec] = tuple(_min_size(spec, a) for a in range(spec.ndim))
        shape = _draw_shape(draw, spec, min_sizes[spec], fixed_batch, n_max, extra, large)
        value_kind = draw(st.sampled_from(value_kinds))
        bits = draw(st.integers(1, _MAX_FRACTION_BITS)) if value_kind == "dyadic" else 0
        x = _array(draw, shape, dtype, vmax, value_kind, bits)
        weight = bias = None
        if not isinstance(spec, PoolSpec):
            weight = _array(draw, spec.weight_shape, dtype, vmax, value_kind, bits)
            if spec.bias:
                bias = _array(draw, (spec.out_channels,), dtype, vmax, value_kind, bits)
        return arrange(ConvProblem(spec, shape, x, weight, bias))

    return build()


# --------------------------------------------------------------------------------------
# problems with a gradient (backward passes)
# --------------------------------------------------------------------------------------


class BackwardProblem(NamedTuple):
    """A :class:`ConvProblem` plus ``grad_output`` (``dL/dZ``, of the layer's output shape)."""

    spec: Spec
    input_shape: tuple[int, ...]
    x: np.ndarray
    weight: np.ndarray | None
    bias: np.ndarray | None
    grad_output: np.ndarray


@_strategy_doc("argument")
def conv_backward_problems(
    *, dtype: str = "float64", max_value: int = 3, **kwargs: Any
) -> st.SearchStrategy[BackwardProblem]:
    """Strategy for :class:`BackwardProblem`: a :func:`conv_problems` draw and a gradient.

    ``grad_output`` has the output shape ``spec.output_shape(input_shape)`` (batched when
    the input is) and entries of one of the ``values`` kinds (integers by default, like the
    other arrays), shrinking towards zero.

    Parameters
    ----------
    dtype, max_value
        As for :func:`conv_problems` (they apply to ``grad_output`` too).
    **kwargs
        Passed to :func:`conv_problems` (``kind``, ``specs``, ``batch``, bounds, ...).

    {sections}
    >>> p = find(cp.strategies.conv_backward_problems(ndim=1, batch=False),
    ...          lambda p: p.spec.stride == (2,))
    >>> p.input_shape, p.grad_output.shape == p.spec.output_shape(p.input_shape)
    ((1, 1), True)
    """
    for name in ("layout", "weight_layout"):  # grad_output is drawn from the canonical shape
        if kwargs.get(name) is not None:
            raise InvalidArgument(
                f"{name} must be None for backward problems (check_conv_backward takes "
                f"{name}=), got {name}={kwargs[name]!r}"
            )
    problems = conv_problems(dtype=dtype, max_value=max_value, **kwargs)
    vmax = _check_int("max_value", max_value, 0)
    kinds = _check_subset("values", kwargs.get("values", ("integers",)), VALUE_KINDS)

    @st.composite
    def build(draw: Any) -> BackwardProblem:
        p = draw(problems)
        kind = draw(st.sampled_from(kinds))  # the gradient's own value kind
        bits = draw(st.integers(1, _MAX_FRACTION_BITS)) if kind == "dyadic" else 0
        g = _array(draw, p.spec.output_shape(p.input_shape), dtype, vmax, kind, bits)
        return BackwardProblem(p.spec, p.input_shape, p.x, p.weight, p.bias, g)

    return build()
