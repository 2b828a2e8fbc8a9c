"""Public Hypothesis strategies for convolution layers and problems.

=============================  ===========================================================
strategy                       draws
=============================  ===========================================================
:func:`conv_specs`             :class:`~convproof.ConvSpec`
:func:`conv_transpose_specs`   :class:`~convproof.ConvTransposeSpec`
:func:`pool_specs`             :class:`~convproof.PoolSpec`
:func:`input_shapes`           input shapes valid for a given spec (non-empty output)
:func:`conv_problems`          :class:`ConvProblem`: a spec, an input shape and arrays
=============================  ===========================================================

Every spec is valid by construction (PyTorch's legality rules: ``groups`` divides both
channel counts, ``output_padding < stride or < dilation``, pooling padding at most half the
kernel, no dilation for average pooling, PyTorch ``"same"`` only with stride 1), and every
input shape is drawn *from* the spec, so the output is non-empty and padding-mode limits
hold (``reflect`` padding < input size, ``circular`` padding <= input size) without
filtering.  Per-axis values are drawn independently.  Everything shrinks towards the
minimal case: one channel, kernel 1, stride 1, dilation 1, no padding, zero padding mode,
no bias, the smallest input.

Bounds are keyword-only and checked when the strategy is built (a bad bound raises
:class:`hypothesis.errors.InvalidArgument`, as ``hypothesis.extra.numpy`` does).  The
strategies are registered for ``st.from_type`` through the ``"hypothesis"`` entry point.

Examples
--------
>>> from hypothesis import find
>>> import convproof as cp
>>> find(cp.strategies.conv_specs(), lambda spec: spec.stride == (1, 2))
ConvSpec(in_channels=1, out_channels=1, kernel_size=(1, 1), stride=(1, 2), padding=((0, 0), (0, 0)), dilation=(1, 1), groups=1, bias=False, padding_mode='zeros', ndim=2)
"""  # noqa: E501

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
from convproof.layers.padding import padding_mode_names
from convproof.layers.spec import PADDING_MODES, ConvSpec, ConvTransposeSpec, PoolSpec, Spec

__all__ = [
    "CONV_PADDING_FORMS",
    "LARGE_SIZES",
    "POOL_PADDING_FORMS",
    "TRANSPOSE_PADDING_FORMS",
    "VALUE_KINDS",
    "BackwardProblem",
    "ConvProblem",
    "conv_backward_problems",
    "conv_problems",
    "conv_specs",
    "conv_transpose_specs",
    "input_shapes",
    "pool_specs",
]

#: Padding forms :func:`conv_specs` can draw (the first ones shrink best).
CONV_PADDING_FORMS = (
    "int",
    "per_dim",
    "pairs",
    "valid",
    "same",
    "full",
    "SAME_UPPER",
    "SAME_LOWER",
)
#: Padding forms :func:`conv_transpose_specs` can draw.
TRANSPOSE_PADDING_FORMS = ("int", "per_dim", "pairs", "valid", "SAME_UPPER", "SAME_LOWER")
#: Padding forms :func:`pool_specs` can draw.
POOL_PADDING_FORMS = ("int", "per_dim", "pairs", "valid", "SAME_UPPER", "SAME_LOWER")

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
# argument validation (when the strategy is built)
# --------------------------------------------------------------------------------------


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidArgument(f"{name} must be an integer, got {name}={value!r}")
    if value < minimum:
        raise InvalidArgument(f"{name} must be >= {minimum}, got {name}={value!r}")
    return int(value)


def _check_subset(name: str, value: Any, allowed: Sequence[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    try:
        items = tuple(value)
    except TypeError:
        raise InvalidArgument(
            f"{name} must be a sequence of {', '.join(map(repr, allowed))}, got {name}={value!r}"
        ) from None
    if not items or any(v not in allowed for v in items):
        raise InvalidArgument(
            f"{name} must be a non-empty sequence of {', '.join(map(repr, allowed))}, "
            f"got {name}={value!r}"
        )
    return tuple(dict.fromkeys(items))


def _check_optional_bool(name: str, value: Any) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise InvalidArgument(f"{name} must be True, False or None (either), got {name}={value!r}")
    return value


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgument(f"{name} must be True or False, got {name}={value!r}")
    return value


def _check_common(
    ndim: Any, max_kernel_size: Any, max_stride: Any, max_dilation: Any, max_padding: Any
) -> tuple[int, int, int, int, int]:
    return (
        _check_int("ndim", ndim, 1),
        _check_int("max_kernel_size", max_kernel_size, 1),
        _check_int("max_stride", max_stride, 1),
        _check_int("max_dilation", max_dilation, 1),
        _check_int("max_padding", max_padding, 0),
    )


def _check_channels(min_channels: Any, max_channels: Any) -> tuple[int, int]:
    lo = _check_int("min_channels", min_channels, 1)
    hi = _check_int("max_channels", max_channels, 1)
    if hi < lo:
        raise InvalidArgument(
            f"max_channels must be >= min_channels, got max_channels={max_channels!r} "
            f"with min_channels={min_channels!r}"
        )
    return lo, hi


# --------------------------------------------------------------------------------------
# shared draws
# --------------------------------------------------------------------------------------


def _per_axis(draw: Any, ndim: int, lo: int, hi: int, same: bool = False) -> tuple[int, ...]:
    if same:
        return (draw(st.integers(lo, hi)),) * ndim
    return tuple(draw(st.integers(lo, hi)) for _ in range(ndim))


def _draw_channels(draw: Any, lo: int, hi: int, allow_groups: bool) -> tuple[int, int, int]:
    """``(in_channels, out_channels, groups)`` with groups dividing both, within bounds."""
    feasible = [1]
    if allow_groups:
        feasible += [g for g in range(2, hi + 1) if g * -(-lo // g) <= hi]
    g = draw(st.sampled_from(feasible))
    m_lo, m_hi = -(-lo // g), hi // g
    c_in = g * draw(st.integers(m_lo, m_hi))
    c_out = g * draw(st.integers(m_lo, m_hi))
    return c_in, c_out, g


def _draw_padding(
    draw: Any,
    forms: tuple[str, ...],
    ndim: int,
    max_padding: int,
    limits: tuple[int, ...],
    same: bool = False,
) -> Any:
    """A padding argument of one of ``forms``; explicit amounts at most ``limits`` per axis.

    ``same``: one value (or one pair) for every axis (``limits`` are then equal).
    """
    form = draw(st.sampled_from(forms))
    if form == "int":
        return draw(st.integers(0, min(max_padding, *limits)))
    if form == "per_dim":
        if same:
            return (draw(st.integers(0, min(max_padding, *limits))),) * ndim
        return tuple(draw(st.integers(0, min(max_padding, lim))) for lim in limits)
    if form == "pairs":
        pairs = tuple(
            (
                draw(st.integers(0, min(max_padding, lim))),
                draw(st.integers(0, min(max_padding, lim))),
            )
            for lim in (limits[:1] if same else limits)
        )
        return pairs * ndim if same else pairs
    return form


# --------------------------------------------------------------------------------------
# spec strategies
# --------------------------------------------------------------------------------------


def conv_specs(
    *,
    ndim: int = 2,
    min_channels: int = 1,
    max_channels: int = 4,
    max_kernel_size: int = 3,
    max_stride: int = 2,
    max_dilation: int = 2,
    max_padding: int = 2,
    paddings: Sequence[str] = CONV_PADDING_FORMS,
    padding_modes: Sequence[str] = PADDING_MODES,
    groups: bool = True,
    bias: bool | None = None,
    same_per_axis: bool = False,
) -> st.SearchStrategy[ConvSpec]:
    """Strategy for valid :class:`~convproof.ConvSpec` objects.

    Parameters
    ----------
    ndim : int
        Number of spatial dimensions.
    min_channels, max_channels : int
        Bounds for ``in_channels`` and ``out_channels``.
    max_kernel_size, max_stride, max_dilation : int
        Upper bounds per axis (each axis drawn independently from 1).
    max_padding : int
        Upper bound for explicit padding amounts.
    paddings : sequence of str
        Padding forms to draw from: ``"int"`` (one int), ``"per_dim"`` (an int per axis),
        ``"pairs"`` (``(before, after)`` per axis), ``"valid"``, ``"same"`` (forces stride 1),
        ``"full"``, ``"SAME_UPPER"``, ``"SAME_LOWER"``.
    padding_modes : sequence of str
        Subset of ``"zeros"``, ``"circular"``, ``"reflect"``, ``"replicate"``.
    groups : bool
        Whether ``groups > 1`` may be drawn.
    bias : bool or None
        Fix ``bias``, or ``None`` to draw it.
    same_per_axis : bool
        One value for every axis: kernel size, stride, dilation and padding are drawn once
        and repeated (what code taking one scalar of each handles).

    Returns
    -------
    hypothesis.strategies.SearchStrategy
        Shrinks to ``kernel_size=1, stride=1, padding=0, one channel, no bias``.

    Raises
    ------
    hypothesis.errors.InvalidArgument
        For a bad bound, when the strategy is built.

    Examples
    --------
    >>> from hypothesis import find
    >>> import convproof as cp
    >>> spec = find(cp.strategies.conv_specs(ndim=1, paddings=["SAME_UPPER"]), lambda s: s.bias)
    >>> spec.padding, spec.kernel_size, spec.bias
    ('SAME_UPPER', (1,), True)
    """
    nd, k_max, s_max, d_max, p_max = _check_common(
        ndim, max_kernel_size, max_stride, max_dilation, max_padding
    )
    c_lo, c_hi = _check_channels(min_channels, max_channels)
    forms = _check_subset("paddings", paddings, CONV_PADDING_FORMS)
    modes = _check_subset("padding_modes", padding_modes, padding_mode_names())
    allow_groups = _check_bool("groups", groups)
    fixed_bias = _check_optional_bool("bias", bias)
    same = _check_bool("same_per_axis", same_per_axis)

    @st.composite
    def build(draw: Any) -> ConvSpec:
        c_in, c_out, g = _draw_channels(draw, c_lo, c_hi, allow_groups)
        kernel = _per_axis(draw, nd, 1, k_max, same)
        padding = _draw_padding(draw, forms, nd, p_max, (p_max,) * nd, same)
        stride = _per_axis(draw, nd, 1, s_max, same)  # drawn always: every form shrinks evenly
        if padding == "same":
            stride = (1,) * nd  # PyTorch's "same" needs stride 1
        dilation = _per_axis(draw, nd, 1, d_max, same)
        mode = draw(st.sampled_from(modes))
        has_bias = draw(st.booleans()) if fixed_bias is None else fixed_bias
        return ConvSpec(
            in_channels=c_in, out_channels=c_out, kernel_size=kernel, stride=stride,
            padding=padding, dilation=dilation, groups=g, bias=has_bias,
            padding_mode=mode, ndim=nd,
        )  # fmt: skip

    return build()


def conv_transpose_specs(
    *,
    ndim: int = 2,
    min_channels: int = 1,
    max_channels: int = 4,
    max_kernel_size: int = 3,
    max_stride: int = 2,
    max_dilation: int = 2,
    max_padding: int = 2,
    paddings: Sequence[str] = TRANSPOSE_PADDING_FORMS,
    output_padding: bool = True,
    groups: bool = True,
    bias: bool | None = None,
    same_per_axis: bool = False,
) -> st.SearchStrategy[ConvTransposeSpec]:
    """Strategy for valid :class:`~convproof.ConvTransposeSpec` objects.

    Parameters
    ----------
    ndim, min_channels, max_channels, max_kernel_size, max_stride, max_dilation, max_padding
        As for :func:`conv_specs`.
    paddings : sequence of str
        Subset of ``"int"``, ``"per_dim"``, ``"pairs"``, ``"valid"``, ``"SAME_UPPER"``,
        ``"SAME_LOWER"``.
    output_padding : bool
        Whether a non-zero ``output_padding`` (below ``max(stride, dilation)``) may be drawn.
    groups : bool
    bias : bool or None
    same_per_axis : bool
        One value for every axis (kernel size, stride, dilation, padding, output padding).

    Returns
    -------
    hypothesis.strategies.SearchStrategy

    Raises
    ------
    hypothesis.errors.InvalidArgument
        For a bad bound, when the strategy is built.

    Examples
    --------
    >>> from hypothesis import find
    >>> import convproof as cp
    >>> find(cp.strategies.conv_transpose_specs(ndim=1), lambda s: s.output_padding == (1,))
    ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=(1,), stride=(1,), padding=((0, 0),), output_padding=(1,), dilation=(2,), groups=1, bias=False, ndim=1)
    """  # noqa: E501
    nd, k_max, s_max, d_max, p_max = _check_common(
        ndim, max_kernel_size, max_stride, max_dilation, max_padding
    )
    c_lo, c_hi = _check_channels(min_channels, max_channels)
    forms = _check_subset("paddings", paddings, TRANSPOSE_PADDING_FORMS)
    allow_op = _check_bool("output_padding", output_padding)
    allow_groups = _check_bool("groups", groups)
    fixed_bias = _check_optional_bool("bias", bias)
    same = _check_bool("same_per_axis", same_per_axis)

    @st.composite
    def build(draw: Any) -> ConvTransposeSpec:
        c_in, c_out, g = _draw_channels(draw, c_lo, c_hi, allow_groups)
        kernel = _per_axis(draw, nd, 1, k_max, same)
        padding = _draw_padding(draw, forms, nd, p_max, (p_max,) * nd, same)
        stride = _per_axis(draw, nd, 1, s_max, same)
        dilation = _per_axis(draw, nd, 1, d_max, same)
        if allow_op and same:
            op = (draw(st.integers(0, max(stride[0], dilation[0]) - 1)),) * nd
        elif allow_op:
            op = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
        else:
            op = (0,) * nd
        has_bias = draw(st.booleans()) if fixed_bias is None else fixed_bias
        return ConvTransposeSpec(
            in_channels=c_in, out_channels=c_out, kernel_size=kernel, stride=stride,
            padding=padding, output_padding=op, dilation=dilation, groups=g, bias=has_bias,
            ndim=nd,
        )  # fmt: skip

    return build()


def pool_specs(
    *,
    ndim: int = 2,
    kinds: Sequence[str] = ("max", "avg"),
    max_kernel_size: int = 3,
    max_stride: int = 2,
    max_dilation: int = 2,
    max_padding: int = 2,
    paddings: Sequence[str] = POOL_PADDING_FORMS,
    ceil_mode: bool | None = None,
    count_include_pad: bool | None = None,
    stride_none: bool = True,
    same_per_axis: bool = False,
) -> st.SearchStrategy[PoolSpec]:
    """Strategy for valid :class:`~convproof.PoolSpec` objects.

    Explicit padding is at most ``kernel_size // 2`` per axis (PyTorch's rule); average
    pooling always has dilation 1 (PyTorch's ``AvgPool`` has none).

    Parameters
    ----------
    ndim, max_kernel_size, max_stride, max_dilation, max_padding
        As for :func:`conv_specs`.
    kinds : sequence of {"max", "avg"}
    paddings : sequence of str
        Subset of ``"int"``, ``"per_dim"``, ``"pairs"``, ``"valid"``, ``"SAME_UPPER"``,
        ``"SAME_LOWER"``.
    ceil_mode, count_include_pad : bool or None
        Fix the flag, or ``None`` to draw it.
    stride_none : bool
        Whether ``stride=None`` (stride = kernel size) may be drawn.
    same_per_axis : bool
        One value for every axis (kernel size, stride, dilation, padding).

    Returns
    -------
    hypothesis.strategies.SearchStrategy

    Raises
    ------
    hypothesis.errors.InvalidArgument
        For a bad bound, when the strategy is built.

    Examples
    --------
    >>> from hypothesis import find
    >>> import convproof as cp
    >>> find(cp.strategies.pool_specs(ndim=1, kinds=["avg"]), lambda s: s.ceil_mode)
    PoolSpec(kind='avg', kernel_size=(1,), stride=(1,), padding=((0, 0),), dilation=(1,), ceil_mode=True, count_include_pad=False, ndim=1)
    """  # noqa: E501
    nd, k_max, s_max, d_max, p_max = _check_common(
        ndim, max_kernel_size, max_stride, max_dilation, max_padding
    )
    kind_set = _check_subset("kinds", kinds, ("max", "avg"))
    forms = _check_subset("paddings", paddings, POOL_PADDING_FORMS)
    fixed_ceil = _check_optional_bool("ceil_mode", ceil_mode)
    fixed_cip = _check_optional_bool("count_include_pad", count_include_pad)
    allow_none = _check_bool("stride_none", stride_none)
    same = _check_bool("same_per_axis", same_per_axis)

    @st.composite
    def build(draw: Any) -> PoolSpec:
        kind = draw(st.sampled_from(kind_set))
        kernel = _per_axis(draw, nd, 1, k_max, same)
        use_none = allow_none and draw(st.booleans())
        stride = None if use_none else _per_axis(draw, nd, 1, s_max, same)
        padding = _draw_padding(draw, forms, nd, p_max, tuple(k // 2 for k in kernel), same)
        dilation = _per_axis(draw, nd, 1, d_max, same)  # drawn for both kinds: shrinks evenly
        if kind == "avg":
            dilation = (1,) * nd
        ceil = draw(st.booleans()) if fixed_ceil is None else fixed_ceil
        cip = draw(st.booleans()) if fixed_cip is None else fixed_cip
        return PoolSpec(
            kind=kind, kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
            ceil_mode=ceil, count_include_pad=cip, ndim=nd,
        )  # fmt: skip

    return build()


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
        "groups": lambda: value or getattr(spec, "groups", 1) == 1,
        "bias": lambda: value is None or not conv_like or getattr(spec, "bias", None) == value,
        "padding_modes": lambda: spec.padding_mode in tuple(value),
        "kinds": lambda: not isinstance(spec, PoolSpec) or spec.kind in tuple(value),
        "ceil_mode": lambda: value is None or getattr(spec, "ceil_mode", value) == value,
        "count_include_pad": lambda: (
            value is None or getattr(spec, "count_include_pad", value) == value
        ),
        "output_padding": lambda: value or not any(getattr(spec, "output_padding", ())),
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
    **bounds
        Passed to the spec strategy (``ndim``, ``max_channels``, ...).

    Returns
    -------
    hypothesis.strategies.SearchStrategy

    Raises
    ------
    hypothesis.errors.InvalidArgument
        For a bad argument, when the strategy is built.

    Examples
    --------
    >>> from hypothesis import find
    >>> import convproof as cp
    >>> p = find(cp.strategies.conv_problems(ndim=1, batch=False), lambda p: p.spec.bias)
    >>> p.spec.kernel_size, p.input_shape, p.x, p.weight, p.bias
    ((1,), (1, 1), array([[0.]]), array([[[0.]]]), array([0.]))
    >>> spec = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, ndim=1)
    >>> p = find(cp.strategies.conv_problems(specs=[spec], values=["dyadic"], batch=False),
    ...          lambda p: p.x.min() < 0)
    >>> float(p.x.min())  # the smallest negative dyadic value
    -0.5
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
        return ConvProblem(spec, shape, x, weight, bias)

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

    Returns
    -------
    hypothesis.strategies.SearchStrategy

    Raises
    ------
    hypothesis.errors.InvalidArgument
        For a bad argument, when the strategy is built.

    Examples
    --------
    >>> from hypothesis import find
    >>> import convproof as cp
    >>> p = find(cp.strategies.conv_backward_problems(ndim=1, batch=False),
    ...          lambda p: p.spec.stride == (2,))
    >>> p.input_shape, p.grad_output.shape == p.spec.output_shape(p.input_shape)
    ((1, 1), True)
    """
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
