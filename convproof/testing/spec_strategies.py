"""Hypothesis strategies for layer specs: :func:`conv_specs`, :func:`conv_transpose_specs`
and :func:`pool_specs`, each valid by construction, with the bound checks they share.

Public through :mod:`convproof.testing.strategies` (``cp.strategies``); the problems drawn
from a spec (input shapes, arrays) are in :mod:`convproof.testing.problem_strategies`.

Examples
--------
>>> from convproof.testing.spec_strategies import CONV_PADDING_FORMS
>>> CONV_PADDING_FORMS[:3]
('int', 'per_dim', 'pairs')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from convproof._docfill import fill_doc
from convproof.errors import ConvProofError
from convproof.layers.legality import allows, check_legality
from convproof.layers.padding import padding_mode_names
from convproof.layers.spec import PADDING_MODES, ConvSpec, ConvTransposeSpec, PoolSpec

__all__ = [
    "CONV_PADDING_FORMS",
    "POOL_PADDING_FORMS",
    "TRANSPOSE_PADDING_FORMS",
    "conv_specs",
    "conv_transpose_specs",
    "pool_specs",
]

_F = TypeVar("_F", bound=Callable[..., Any])

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


# --------------------------------------------------------------------------------------
# argument validation (when the strategy is built)
# --------------------------------------------------------------------------------------


#: The Returns, Raises and Examples headings every strategy's docstring shares: the docstring
#: holds a ``{sections}`` line, which :func:`_strategy_doc` fills in when the module loads.
_SECTIONS = """\
    Returns
    -------
    hypothesis.strategies.SearchStrategy{returns}

    Raises
    ------
    hypothesis.errors.InvalidArgument
        For a bad {bad}, when the strategy is built.

    Examples
    --------
    >>> from hypothesis import find
    >>> import convproof as cp
"""


def _strategy_doc(bad: str = "bound", returns: str = "") -> Callable[[_F], _F]:
    """Fill the ``{sections}`` line of a strategy's docstring (``bad``: what a bad argument is
    called; ``returns``: a line on the returned strategy)."""
    return fill_doc(
        sections=_SECTIONS.format(bad=bad, returns=f"\n        {returns}" if returns else "")
    )


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


def _draw_channels(draw: Any, lo: int, hi: int, allow_groups: Any) -> tuple[int, int, int]:
    """``(in_channels, out_channels, groups)`` with groups dividing both, within bounds
    (``allow_groups="depthwise"``: ``groups == in_channels``)."""
    feasible = [1]
    if allow_groups:
        feasible += [g for g in range(2, hi + 1) if g * -(-lo // g) <= hi]
    if allow_groups == "depthwise":
        feasible = [g for g in feasible if g >= lo]
    g = draw(st.sampled_from(feasible))
    m_lo, m_hi = -(-lo // g), hi // g
    c_in = g if allow_groups == "depthwise" else g * draw(st.integers(m_lo, m_hi))
    c_out = g * draw(st.integers(m_lo, m_hi))
    return c_in, c_out, g


def _draw_padding(
    draw: Any,
    forms: tuple[str, ...],
    ndim: int,
    max_padding: int,
    limits: tuple[int, ...],
    same: bool = False,
    low: int = 0,
) -> Any:
    """A padding argument of one of ``forms``; explicit amounts at most ``limits`` per axis.

    ``same``: one value (or one pair) for every axis (``limits`` are then equal).  ``low``:
    the smallest amount (negative: a crop, where the legality profile allows it); amounts
    shrink towards 0.
    """

    def amount(lim: int) -> int:
        hi = min(max_padding, lim)
        if low >= 0:
            return draw(st.integers(0, hi))
        return draw(st.integers(0, hi) | st.integers(low, -1))

    form = draw(st.sampled_from(forms))
    if form == "int":
        return amount(min(limits))
    if form == "per_dim":
        if same:
            return (amount(min(limits)),) * ndim
        return tuple(amount(lim) for lim in limits)
    if form == "pairs":
        pairs = tuple((amount(lim), amount(lim)) for lim in (limits[:1] if same else limits))
        return pairs * ndim if same else pairs
    return form


def _check_legality(value: Any) -> str:
    try:
        return check_legality(value)
    except ConvProofError as exc:  # a bad strategy argument: Hypothesis's error type
        raise InvalidArgument(str(exc)) from None


def _negative(padding: Any) -> bool:
    """Whether a drawn padding argument has a negative amount."""
    if isinstance(padding, str):
        return False
    return min(np.ravel(padding)) < 0


# --------------------------------------------------------------------------------------
# spec strategies
# --------------------------------------------------------------------------------------


@_strategy_doc(returns="Shrinks to ``kernel_size=1, stride=1, padding=0, one channel, no bias``.")
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
    groups: bool | str = True,
    bias: bool | None = None,
    same_per_axis: bool = False,
    legality: str = "pytorch",
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
    groups : bool or "depthwise"
        Whether ``groups > 1`` may be drawn; ``"depthwise"``: always ``groups ==
        in_channels`` (``out_channels`` a multiple of it, as in a depthwise weight layout
        such as ``"HWCM"``).
    bias : bool or None
        Fix ``bias``, or ``None`` to draw it.
    same_per_axis : bool
        One value for every axis: kernel size, stride, dilation and padding are drawn once
        and repeated (what code taking one scalar of each handles).
    legality : {"pytorch", "onnx", "jax", "tensorflow"}
        The specs' legality profile, and what they may use: under ``"onnx"`` and ``"jax"``
        explicit padding amounts down to ``-max_padding`` (a crop; such a spec gets
        ``padding_mode="zeros"``).

    {sections}
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
    allow_groups = groups if groups == "depthwise" else _check_bool("groups", groups)
    fixed_bias = _check_optional_bool("bias", bias)
    same = _check_bool("same_per_axis", same_per_axis)
    profile = _check_legality(legality)
    low = -p_max if allows("negative_padding", profile) and "zeros" in modes else 0

    @st.composite
    def build(draw: Any) -> ConvSpec:
        c_in, c_out, g = _draw_channels(draw, c_lo, c_hi, allow_groups)
        kernel = _per_axis(draw, nd, 1, k_max, same)
        padding = _draw_padding(draw, forms, nd, p_max, (p_max,) * nd, same, low)
        stride = _per_axis(draw, nd, 1, s_max, same)  # drawn always: every form shrinks evenly
        if padding == "same":
            stride = (1,) * nd  # PyTorch's "same" needs stride 1
        dilation = _per_axis(draw, nd, 1, d_max, same)
        mode = draw(st.sampled_from(modes))
        if _negative(padding):
            mode = "zeros"  # a crop pads nothing
        has_bias = draw(st.booleans()) if fixed_bias is None else fixed_bias
        return ConvSpec(
            in_channels=c_in, out_channels=c_out, kernel_size=kernel, stride=stride,
            padding=padding, dilation=dilation, groups=g, bias=has_bias,
            padding_mode=mode, ndim=nd, legality=profile,
        )  # fmt: skip

    return build()


@_strategy_doc()
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
    legality: str = "pytorch",
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
        Whether a non-zero ``output_padding`` (below ``max(stride, dilation)``, or below
        ``stride`` under ``legality="onnx"``) may be drawn.
    groups : bool
    bias : bool or None
    same_per_axis : bool
        One value for every axis (kernel size, stride, dilation, padding, output padding).
    legality : {"pytorch", "onnx", "jax", "tensorflow"}
        The specs' legality profile: under ``"onnx"`` and ``"jax"`` explicit padding
        amounts down to ``-max_padding`` (zeros added around the full output).

    {sections}
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
    profile = _check_legality(legality)
    big_op = allows("output_padding_at_least_stride", profile)
    low = -p_max if allows("transposed_negative_padding", profile) else 0

    def op_limit(s: int, d: int) -> int:
        return max(s, d) - 1 if big_op else s - 1

    @st.composite
    def build(draw: Any) -> ConvTransposeSpec:
        c_in, c_out, g = _draw_channels(draw, c_lo, c_hi, allow_groups)
        kernel = _per_axis(draw, nd, 1, k_max, same)
        padding = _draw_padding(draw, forms, nd, p_max, (p_max,) * nd, same, low)
        stride = _per_axis(draw, nd, 1, s_max, same)
        dilation = _per_axis(draw, nd, 1, d_max, same)
        if allow_op and same:
            op = (draw(st.integers(0, op_limit(stride[0], dilation[0]))),) * nd
        elif allow_op:
            op = tuple(draw(st.integers(0, op_limit(s, d))) for s, d in zip(stride, dilation))
        else:
            op = (0,) * nd
        has_bias = draw(st.booleans()) if fixed_bias is None else fixed_bias
        return ConvTransposeSpec(
            in_channels=c_in, out_channels=c_out, kernel_size=kernel, stride=stride,
            padding=padding, output_padding=op, dilation=dilation, groups=g, bias=has_bias,
            ndim=nd, legality=profile,
        )  # fmt: skip

    return build()


@_strategy_doc()
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
    legality: str = "pytorch",
    norm_types: Sequence[float] = (1, 2, 3),
) -> st.SearchStrategy[PoolSpec]:
    """Strategy for valid :class:`~convproof.PoolSpec` objects.

    Under ``legality="pytorch"`` explicit padding is at most ``kernel_size // 2`` per axis
    and average pooling has dilation 1 (PyTorch's ``AvgPool`` has none); ``"onnx"`` draws
    padding up to ``kernel_size - 1`` and dilated averages, ``"jax"`` any padding from
    ``-max_padding`` (a crop; then ``ceil_mode=False``) up to ``max_padding`` (windows of
    padding only) and dilated averages.

    Parameters
    ----------
    ndim, max_kernel_size, max_stride, max_dilation, max_padding
        As for :func:`conv_specs`.
    kinds : sequence of {"max", "avg", "lp"}
        ``"lp"`` (Lp pooling) only under ``"pytorch"`` (then with padding 0 and dilation 1,
        as ``LPPool``) or ``"onnx"``.
    paddings : sequence of str
        Subset of ``"int"``, ``"per_dim"``, ``"pairs"``, ``"valid"``, ``"SAME_UPPER"``,
        ``"SAME_LOWER"``.
    ceil_mode, count_include_pad : bool or None
        Fix the flag, or ``None`` to draw it.
    stride_none : bool
        Whether ``stride=None`` (stride = kernel size) may be drawn.
    same_per_axis : bool
        One value for every axis (kernel size, stride, dilation, padding).
    legality : {"pytorch", "onnx", "jax", "tensorflow"}
        The specs' legality profile (see above).
    norm_types : sequence of float
        The ``norm_type`` values Lp pooling draws from (shrinking to the first).

    {sections}
    >>> find(cp.strategies.pool_specs(ndim=1, kinds=["avg"]), lambda s: s.ceil_mode)
    PoolSpec(kind='avg', kernel_size=(1,), stride=(1,), padding=((0, 0),), dilation=(1,), ceil_mode=True, count_include_pad=False, ndim=1)
    """  # noqa: E501
    nd, k_max, s_max, d_max, p_max = _check_common(
        ndim, max_kernel_size, max_stride, max_dilation, max_padding
    )
    kind_set = _check_subset("kinds", kinds, ("max", "avg", "lp"))
    forms = _check_subset("paddings", paddings, POOL_PADDING_FORMS)
    fixed_ceil = _check_optional_bool("ceil_mode", ceil_mode)
    fixed_cip = _check_optional_bool("count_include_pad", count_include_pad)
    allow_none = _check_bool("stride_none", stride_none)
    same = _check_bool("same_per_axis", same_per_axis)
    profile = _check_legality(legality)
    if "lp" in kind_set and profile in ("jax", "tensorflow"):
        raise InvalidArgument(
            f"kinds may hold 'lp' only under legality='pytorch' or 'onnx', got legality={profile!r}"
        )
    norms = tuple(norm_types)
    if not norms or any(isinstance(v, bool) or not (0 < float(v) < np.inf) for v in norms):
        raise InvalidArgument(
            f"norm_types must hold finite numbers > 0, got norm_types={norm_types!r}"
        )

    # negative padding (a crop) where the profile allows it, never with ceil mode
    low = -p_max if allows("pool_negative_padding", profile) and fixed_ceil is not True else 0

    def pad_limit(k: int) -> int:
        if allows("pool_padding_at_least_kernel", profile):
            return p_max
        return k - 1 if allows("pool_padding_over_half_kernel", profile) else k // 2

    @st.composite
    def build(draw: Any) -> PoolSpec:
        kind = draw(st.sampled_from(kind_set))
        kernel = _per_axis(draw, nd, 1, k_max, same)
        use_none = allow_none and draw(st.booleans())
        stride = None if use_none else _per_axis(draw, nd, 1, s_max, same)
        padding = _draw_padding(draw, forms, nd, p_max, tuple(map(pad_limit, kernel)), same, low)
        dilation = _per_axis(draw, nd, 1, d_max, same)  # drawn for both kinds: shrinks evenly
        if kind == "avg" and not allows("avg_pool_dilation", profile):
            dilation = (1,) * nd
        norm = draw(st.sampled_from(norms)) if kind == "lp" else None
        if kind == "lp" and profile == "pytorch":  # LPPool: no padding, no dilation
            padding, dilation = 0, (1,) * nd
        ceil = draw(st.booleans()) if fixed_ceil is None else fixed_ceil
        ceil = ceil and not _negative(padding)  # no framework defines a crop in ceil mode
        cip = draw(st.booleans()) if fixed_cip is None else fixed_cip
        return PoolSpec(
            kind=kind, kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
            ceil_mode=ceil, count_include_pad=cip, ndim=nd, legality=profile, norm_type=norm,
        )  # fmt: skip

    return build()
