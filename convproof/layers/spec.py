"""Layer specifications: frozen, validated value objects.

A spec says *what a layer is* — kernel, stride, padding, dilation, channels, groups — and
nothing about the input: one spec serves many input shapes (as
``scipy.linalg.convolution_matrix(a, n)`` takes ``n`` separately).  Three kinds share one
shape vocabulary:

================================  =========================================================
:class:`ConvSpec`                 ``torch.nn.Conv{1,2,3}d`` (plus per-side and named paddings)
:class:`ConvTransposeSpec`        ``torch.nn.ConvTranspose{1,2,3}d`` (plus per-side paddings)
:class:`PoolSpec`                 ``torch.nn.MaxPool*`` / ``AvgPool*`` (``kind="max" | "avg"``)
================================  =========================================================

Constructors accept PyTorch's spellings (an int broadcast to every spatial dimension, or a
tuple of length ``ndim``) and store tuples only, so specs are hashable and compare equal
when they describe the same layer.  ``padding`` is stored as ``((before, after), ...)``
pairs, or as a padding *name* when the amount depends on the input size
(``"same"``, ``"full"``, ``"SAME_UPPER"``, ``"SAME_LOWER"``; see :meth:`resolve_padding`).
PyTorch's legality rules are the default; every violation raises
:class:`~convproof.errors.ConvProofError` naming the parameter and the value.

Examples
--------
>>> import convproof as cp
>>> spec = cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3, padding="same")
>>> spec.output_shape((3, 25, 25))
(5, 25, 25)
>>> spec.num_params, spec.weight_shape
(140, (5, 3, 3, 3))
>>> spec.resolve_padding((3, 25, 25))
((1, 1), (1, 1))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal

from convproof.errors import ConvProofError
from convproof.layers import sizes as _axis
from convproof.layers.legality import allows, check_legality, refusal
from convproof.layers.padding import padding_mode as _padding_mode
from convproof.layers.padding import padding_mode_names
from convproof.layers.window import (
    PADDING_NAMES,
    PaddingArg,
    Pairs,
    _bool,
    _check_lp,
    _check_pool_padding,
    _Conv,
    _fmt,
    _infer_ndim,
    _ints,
    _is_seq,
    _norm_type,
    _padding,
    _positive,
    _spec_repr,
    _Windowed,
    is_linear_lp,
)

__all__ = [
    "PADDING_MODES",
    "PADDING_NAMES",
    "ConvSpec",
    "ConvTransposeSpec",
    "PoolSpec",
    "Spec",
    "spec_from_dict",
]

_POOL_NAMES = ("valid", "SAME_UPPER", "SAME_LOWER")  # padding names of transposed conv, pool
#: Accepted ``padding_mode`` values (PyTorch's names; the table is :mod:`.padding`).
PADDING_MODES = padding_mode_names()

# --------------------------------------------------------------------------------------
# ConvSpec
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, init=False)
class ConvSpec(_Conv):
    """A convolution layer (``torch.nn.Conv{1,2,3}d`` semantics; cross-correlation).

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts; both divisible by ``groups``.
    kernel_size, stride, dilation : int or tuple of int
        An int applies to every spatial dimension; a tuple has one entry per dimension.
    padding : int, tuple, tuple of pairs, or str
        An int (both sides of every dimension), a tuple of ints (both sides, per dimension),
        a tuple of ``(before, after)`` pairs, or a name: ``"valid"``, ``"same"`` (PyTorch,
        stride 1 only), ``"full"``, ``"SAME_UPPER"`` (= TF/JAX ``"SAME"``), ``"SAME_LOWER"``.
    dilation : int or tuple of int
        Spacing between kernel taps.
    groups : int
        Blocked connections; ``groups == in_channels`` is a depthwise convolution.
    bias : bool
        Whether the layer adds a learnable bias per output channel.
    padding_mode : {"zeros", "circular", "reflect", "replicate"}
        How padded values are made (PyTorch names; see Notes).
    ndim : int, optional
        Number of spatial dimensions; inferred from a tuple argument, else 2.

    Notes
    -----
    Output element ``Z[c, a]`` (``a`` a multi-index) is
    ``b[c] + sum_{k in group(c)} sum_u X[k, a*s + u*d - p_before] * W[c, k - k0, u]``.
    ``reflect`` = NumPy ``reflect`` (edge not repeated) and needs padding < input size;
    ``replicate`` = NumPy ``edge``; ``circular`` = NumPy ``wrap`` and needs
    padding <= input size.

    Examples
    --------
    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=3, out_channels=1, kernel_size=5)
    >>> spec.output_shape((3, 32, 32)), spec.num_params
    ((1, 28, 28), 76)
    >>> spec.macs((3, 32, 32))
    58800
    """

    layer: ClassVar[str] = "conv"

    in_channels: int
    out_channels: int
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: Pairs | str
    dilation: tuple[int, ...]
    groups: int
    bias: bool
    padding_mode: str
    ndim: int
    legality: str = field(default="pytorch", repr=False)
    __repr__ = _spec_repr

    def __init__(
        self,
        *,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: PaddingArg = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        ndim: int | None = None,
        legality: str = "pytorch",
    ) -> None:
        n = _infer_ndim(
            "ConvSpec",
            ndim,
            kernel_size=kernel_size,
            stride=stride,
            dilation=dilation,
            padding=padding if _is_seq(padding) else None,
        )
        self._set_conv_fields(
            n, in_channels, out_channels, kernel_size, stride, dilation, padding, PADDING_NAMES,
            legality, negative_rule="negative_padding",
        )  # fmt: skip
        object.__setattr__(self, "groups", _positive("groups", groups))
        object.__setattr__(self, "bias", _bool("bias", bias))
        object.__setattr__(self, "padding_mode", _padding_mode(padding_mode).name)
        self.__post_init__()

    def __post_init__(self) -> None:
        self._check_groups()
        if self.padding == "same" and any(s != 1 for s in self.stride):
            raise ConvProofError(
                f"padding='same' (PyTorch) needs stride 1 in every dimension, got "
                f"stride={_fmt(self.stride)}; use padding='SAME_UPPER' (TF/JAX 'SAME', output "
                f"ceil(i/s)) or explicit padding"
            )
        negative = isinstance(self.padding, tuple) and min(min(p) for p in self.padding) < 0
        if negative and self.padding_mode != "zeros":
            raise ConvProofError(
                f"negative padding (a crop) needs padding_mode='zeros', got "
                f"padding_mode={self.padding_mode!r} with padding={self.padding}"
            )

    # -- derived ------------------------------------------------------------------------
    def one_axis(self, axis: int, padding: PaddingArg) -> ConvSpec:
        """The 1-D, single-channel layer of axis ``axis`` with ``padding`` (validated).

        Examples
        --------
        >>> import convproof as cp
        >>> one = cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=(3, 5)).one_axis(1, 2)
        >>> one.kernel_size, one.padding, one.in_channels
        ((5,), ((2, 2),), 1)
        """
        return ConvSpec(
            in_channels=1, out_channels=1, bias=False, padding_mode=self.padding_mode,
            **self._axis_common(axis, padding),
        )  # fmt: skip

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """PyTorch weight layout ``(C_out, C_in / groups, *kernel_size)``.

        Examples
        --------
        >>> import convproof as cp
        >>> cp.ConvSpec(in_channels=4, out_channels=6, kernel_size=(3, 1), groups=2
        ...             ).weight_shape
        (6, 2, 3, 1)
        """
        return (self.out_channels, self.in_channels // self.groups, *self.kernel_size)

    def macs(self, input_shape: Sequence[int]) -> int:
        """Multiply-accumulates per sample, bias excluded: ``C_out prod(o) (C_in/g) prod(k)``.

        This is torchvision's "GFLOPS" column and fvcore's "flop"; FLOPs are about twice it.

        Examples
        --------
        >>> import convproof as cp
        >>> cp.ConvSpec(in_channels=3, out_channels=64, kernel_size=3, padding=1
        ...             ).macs((3, 224, 224))
        86704128
        """
        out = self.output_shape(input_shape)
        return math.prod(out[-self.ndim - 1 :]) * math.prod(self.weight_shape[1:])

    # -- kind-specific hooks ------------------------------------------------------------
    def _resolve_named(self, name: str, spatial: tuple[int, ...]) -> Pairs:
        k_eff = self.effective_kernel_size
        if name == "full":
            return tuple((e - 1, e - 1) for e in k_eff)
        if name == "same":
            return tuple(_axis.split_total(e - 1, True) for e in k_eff)
        return tuple(
            _axis.split_total(_axis.same_total(i, k, s, d), name == "SAME_UPPER")
            for i, k, s, d in zip(spatial, self.kernel_size, self.stride, self.dilation)
        )

    def _check_padding(self, pads: Pairs, spatial: tuple[int, ...]) -> None:
        mode = _padding_mode(self.padding_mode)
        for axis, ((pl, pr), i) in enumerate(zip(pads, spatial)):
            limit = mode.max_padding(i)
            if limit is not None and max(pl, pr) > limit:
                raise ConvProofError(
                    f"padding_mode={mode.name!r} needs padding <= {limit} for input size {i}, "
                    f"got padding {(pl, pr)} along dim {axis}"
                )

    def _output_sizes(self, spatial: tuple[int, ...], pads: Pairs) -> tuple[int, ...]:
        out = []
        for axis, (i, k, s, d, (pl, pr)) in enumerate(
            zip(spatial, self.kernel_size, self.stride, self.dilation, pads)
        ):
            o = _axis.conv_out(i, k, s, d, pl, pr)
            out.append(self._axis_size(axis, i, (pl, pr), o, "convolution output"))
        return tuple(out)


# --------------------------------------------------------------------------------------
# ConvTransposeSpec
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, init=False)
class ConvTransposeSpec(_Conv):
    """A transposed convolution (``torch.nn.ConvTranspose{1,2,3}d`` semantics).

    The transposed layer is the adjoint of the forward convolution with the same
    ``kernel_size``, ``stride``, ``padding`` and ``dilation``: its matrix is ``T.T``.

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts; both divisible by ``groups``.
    kernel_size, stride, dilation : int or tuple of int
        As for :class:`ConvSpec`.
    padding : int, tuple, tuple of pairs, or str
        Implicit cropping ``d(k-1) - p`` of the full output: an int, a tuple of ints, a tuple
        of ``(before, after)`` pairs (below 0 under ``legality="onnx"`` or ``"jax"``: that
        many zeros added around the full output, as ONNX ``ConvTranspose``), ``"valid"``
        (0), or ``"SAME_UPPER"`` / ``"SAME_LOWER"`` (ONNX ``auto_pad``: total padding
        ``max(0, s(i-1) + op + k_eff - i*s)``, odd extra at the end / start).  The output is
        ``i*s`` when ``k_eff + op >= s``; otherwise the padding is 0 (it cannot be negative)
        and the output ``(i-1)s + k_eff + op`` is smaller: in general
        ``o = min(i*s, (i-1)s + k_eff + op)``.
    output_padding : int or tuple of int
        Extra size added at the **end** of each output dimension; must be smaller than the
        stride or the dilation (PyTorch's rule).
    groups : int
    bias : bool
    ndim : int, optional

    Notes
    -----
    ``o = (i - 1)s - p_before - p_after + d(k - 1) + op + 1``.  The weight has PyTorch's
    transposed layout ``(C_in, C_out / groups, *kernel_size)``.

    Examples
    --------
    >>> import convproof as cp
    >>> t = cp.ConvTransposeSpec(in_channels=5, out_channels=3, kernel_size=3, stride=2,
    ...                          padding=1, output_padding=1)
    >>> t.output_shape((5, 8, 8)), t.weight_shape
    ((3, 16, 16), (5, 3, 3, 3))

    ``SAME_UPPER`` gives ``i*s`` only when the kernel (plus ``output_padding``) covers the
    stride: kernel 1, stride 2 on 6 inputs gives ``min(12, 5*2 + 1) = 11``.

    >>> same = dict(in_channels=1, out_channels=1, stride=2, padding="SAME_UPPER", ndim=1)
    >>> cp.ConvTransposeSpec(kernel_size=3, **same).output_shape((1, 6))
    (1, 12)
    >>> cp.ConvTransposeSpec(kernel_size=1, **same).output_shape((1, 6))
    (1, 11)
    """

    layer: ClassVar[str] = "conv_transpose"
    transposed: ClassVar[bool] = True
    #: Transposed convolutions pad with zeros only (as PyTorch); ConvSpec has the field.
    padding_mode: ClassVar[str] = "zeros"

    in_channels: int
    out_channels: int
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: Pairs | str
    output_padding: tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int
    bias: bool
    ndim: int
    legality: str = field(default="pytorch", repr=False)
    __repr__ = _spec_repr

    def __init__(
        self,
        *,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: PaddingArg = 0,
        output_padding: int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        bias: bool = True,
        ndim: int | None = None,
        legality: str = "pytorch",
    ) -> None:
        n = _infer_ndim(
            "ConvTransposeSpec",
            ndim,
            kernel_size=kernel_size,
            stride=stride,
            dilation=dilation,
            output_padding=output_padding,
            padding=padding if _is_seq(padding) else None,
        )
        self._set_conv_fields(
            n, in_channels, out_channels, kernel_size, stride, dilation, padding, _POOL_NAMES,
            legality, negative_rule="transposed_negative_padding",
        )  # fmt: skip
        setattr_ = object.__setattr__
        setattr_(self, "output_padding", _ints("output_padding", output_padding, n, 0))
        setattr_(self, "groups", _positive("groups", groups))
        setattr_(self, "bias", _bool("bias", bias))
        self.__post_init__()

    def __post_init__(self) -> None:
        self._check_groups()
        got = (
            f"got output_padding={_fmt(self.output_padding)} with stride={_fmt(self.stride)}, "
            f"dilation={_fmt(self.dilation)}"
        )
        for op, s, d in zip(self.output_padding, self.stride, self.dilation):
            if not (op < s or op < d):
                raise ConvProofError(
                    f"output_padding must be smaller than either stride or dilation in every "
                    f"dimension, {got}"
                )
            if op >= s and not allows("output_padding_at_least_stride", self.legality):
                raise refusal(
                    "output_padding_at_least_stride",
                    self.legality,
                    f"output_padding must be smaller than stride in every dimension, {got}",
                )

    def one_axis(self, axis: int, padding: PaddingArg) -> ConvTransposeSpec:
        """The 1-D, single-channel layer of axis ``axis`` with ``padding`` (validated)."""
        return ConvTransposeSpec(
            in_channels=1, out_channels=1, output_padding=self.output_padding[axis],
            **self._axis_common(axis, padding),
        )  # fmt: skip

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """PyTorch transposed layout ``(C_in, C_out / groups, *kernel_size)``.

        Examples
        --------
        >>> import convproof as cp
        >>> cp.ConvTransposeSpec(in_channels=4, out_channels=6, kernel_size=3, groups=2
        ...                      ).weight_shape
        (4, 3, 3, 3)
        """
        return (self.in_channels, self.out_channels // self.groups, *self.kernel_size)

    def macs(self, input_shape: Sequence[int]) -> int:
        """Multiply-accumulates per sample counted on **input** positions, bias excluded.

        ``C_in prod(i) (C_out/g) prod(k)`` — every input element is multiplied by every
        tap of its group's kernels once.  Tools that count output positions (torchinfo,
        thop) over-count by about ``prod(s)``.

        Examples
        --------
        >>> import convproof as cp
        >>> cp.ConvTransposeSpec(in_channels=4, out_channels=2, kernel_size=3, stride=2
        ...                      ).macs((4, 5, 5))
        1800
        """
        self.output_shape(input_shape)  # validates
        _, c, spatial = self.split_input_shape(input_shape)
        return c * math.prod(spatial) * math.prod(self.weight_shape[1:])

    def _resolve_named(self, name: str, spatial: tuple[int, ...]) -> Pairs:
        pads = []
        for i, k, s, d, op in zip(
            spatial, self.kernel_size, self.stride, self.dilation, self.output_padding
        ):
            total = max(0, s * (i - 1) + op + _axis.effective_kernel(k, d) - i * s)
            pads.append(_axis.split_total(total, name == "SAME_UPPER"))
        return tuple(pads)

    def _output_sizes(self, spatial: tuple[int, ...], pads: Pairs) -> tuple[int, ...]:
        out = []
        for axis, (i, k, s, d, (pl, pr), op) in enumerate(
            zip(spatial, self.kernel_size, self.stride, self.dilation, pads, self.output_padding)
        ):
            o = _axis.transposed_out(i, k, s, d, pl, pr, op)
            if o < 1:
                raise ConvProofError(
                    f"transposed convolution output would be empty: size {o} along dim {axis} "
                    f"(input {i}, stride {s}, padding {(pl, pr)}, kernel_size {k}, "
                    f"dilation {d}, output_padding {op})"
                )
            out.append(o)
        return tuple(out)


# --------------------------------------------------------------------------------------
# PoolSpec
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, init=False)
class PoolSpec(_Windowed):
    """A max, average or Lp pooling layer (``torch.nn.MaxPool*`` / ``AvgPool*`` / ``LPPool*``).

    Parameters
    ----------
    kind : {"max", "avg", "lp"}
        ``"lp"``: power-average pooling, ``(sum over the window of v**p) ** (1/p)``; the
        legality profile decides ``v`` and the window (see Notes).
    kernel_size : int or tuple of int
    stride : int, tuple of int, or None
        ``None`` (the default) means ``stride = kernel_size``.
    padding : int, tuple, tuple of pairs, or str
        Explicit padding must be at most ``kernel_size // 2`` per side (PyTorch's rule, on the
        raw kernel even with dilation).  ``"valid"``, ``"SAME_UPPER"`` and ``"SAME_LOWER"``
        (TF's pooling ``SAME``; pair it with ``count_include_pad=False`` for TF's averages).
    dilation : int or tuple of int
        Max pooling only: PyTorch's average pooling has no dilation, so ``kind="avg"``
        needs ``dilation=1``.
    ceil_mode : bool
        Round the output size up; a window that would start in the right padding is dropped.
    count_include_pad : bool
        Average pooling only: whether explicit padding counts in the divisor (the ceil-mode
        overhang never does).
    ndim : int, optional
    norm_type : int or float, optional
        ``p`` of Lp pooling (``kind="lp"`` only, required there): a finite number > 0.
    legality : {"pytorch", "onnx", "jax", "tensorflow"}
        Whose rules the layer follows (:mod:`convproof.layers.legality`): ``"onnx"`` and
        ``"jax"`` admit padding above half the kernel and dilated averages, ``"jax"`` also
        padding >= the kernel (windows of padding only: ``-inf`` for max, 0 or ``nan`` for
        averages), empty outputs and negative padding (a crop of the input, as
        ``jax.lax.reduce_window``; not with ``ceil_mode``, which JAX does not have).

    Notes
    -----
    Lp pooling follows the profile.  ``legality="pytorch"`` is ``torch.nn.LPPool{1,2,3}d``:
    ``v = x`` (so an odd ``p`` sums signed powers and a negative sum has no real root:
    ``nan``), no padding and no dilation; PyTorch computes it as ``prod(kernel_size)`` times
    an average pool of ``x**p``, so a ceil-mode window overhanging the input is scaled by
    ``prod(kernel_size) / (taps inside)``.  ``legality="onnx"`` is ONNX ``LpPool``:
    ``v = |x|``, with pads (zeros), dilations and ceil mode, and no scaling.  JAX and
    TensorFlow have no Lp pooling layer, so ``kind="lp"`` is refused under their profiles.
    Only ``p = 1`` under ``"pytorch"`` is linear (``prod(kernel_size) / taps inside`` times
    the window sum): it has a matrix, sliding sum, proofs and a backward pass, as average
    pooling has; the other Lp pools are refused there.

    Examples
    --------
    >>> import convproof as cp
    >>> cp.PoolSpec(kind="avg", kernel_size=2, stride=2, ceil_mode=True, ndim=1
    ...             ).output_shape((1, 5))
    (1, 3)
    >>> lp = cp.PoolSpec(kind="lp", norm_type=2, kernel_size=2, ndim=1)
    >>> cp.conv(lp, [[3.0, 4.0, -6.0, 8.0]])
    array([[ 5., 10.]])
    >>> cp.PoolSpec(kind="max", kernel_size=2, stride=2, padding=1, ceil_mode=True, ndim=1
    ...             ).output_shape((1, 5))
    (1, 3)
    """

    layer: ClassVar[str] = "pool"
    #: Pooling pads with zeros only (ignored by max pooling); ConvSpec has the field.
    padding_mode: ClassVar[str] = "zeros"

    kind: Literal["max", "avg", "lp"]
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: Pairs | str
    dilation: tuple[int, ...]
    ceil_mode: bool
    count_include_pad: bool
    ndim: int
    legality: str = field(default="pytorch", repr=False)
    norm_type: int | float | None = field(default=None, repr=False)
    __repr__ = _spec_repr

    def __init__(
        self,
        *,
        kind: str,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] | None = None,
        padding: PaddingArg = 0,
        dilation: int | Sequence[int] = 1,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        ndim: int | None = None,
        legality: str = "pytorch",
        norm_type: float | None = None,
    ) -> None:
        if kind not in ("max", "avg", "lp"):
            raise ConvProofError(f"kind must be 'max', 'avg' or 'lp', got kind={kind!r}")
        n = _infer_ndim(
            "PoolSpec",
            ndim,
            kernel_size=kernel_size,
            stride=stride,
            dilation=dilation,
            padding=padding if _is_seq(padding) else None,
        )
        setattr_ = object.__setattr__
        setattr_(self, "legality", check_legality(legality))
        setattr_(self, "kind", kind)
        setattr_(self, "ndim", n)
        k = _ints("kernel_size", kernel_size, n, 1)
        setattr_(self, "kernel_size", k)
        setattr_(self, "stride", k if stride is None else _ints("stride", stride, n, 1))
        setattr_(self, "dilation", _ints("dilation", dilation, n, 1))
        negative_rule = "pool_negative_padding"
        setattr_(self, "padding", _padding(padding, n, _POOL_NAMES, self.legality, negative_rule))
        setattr_(self, "ceil_mode", _bool("ceil_mode", ceil_mode))
        setattr_(self, "count_include_pad", _bool("count_include_pad", count_include_pad))
        setattr_(self, "norm_type", _norm_type(kind, norm_type))
        self.__post_init__()

    def __post_init__(self) -> None:
        if self.kind == "lp":
            _check_lp(self)
        if (
            self.kind == "avg"
            and any(d != 1 for d in self.dilation)
            and not allows("avg_pool_dilation", self.legality)
        ):
            raise refusal(
                "avg_pool_dilation",
                self.legality,
                f"dilation must be 1 for average pooling (PyTorch's AvgPool has no dilation), "
                f"got dilation={_fmt(self.dilation)}",
            )
        _check_pool_padding(self)

    def one_axis(self, axis: int, padding: PaddingArg) -> PoolSpec:
        """The 1-D layer of axis ``axis`` with ``padding`` (validated)."""
        return PoolSpec(
            kind=self.kind, ceil_mode=self.ceil_mode, count_include_pad=self.count_include_pad,
            norm_type=self.norm_type,
            **self._axis_common(axis, padding),
        )  # fmt: skip

    @property
    def weight_shape(self) -> None:
        """Pooling has no weights: ``None``.

        Examples
        --------
        >>> import convproof as cp
        >>> cp.PoolSpec(kind="max", kernel_size=2).weight_shape is None
        True
        """
        return None

    @property
    def bias_shape(self) -> None:
        """Pooling has no bias: ``None``.

        Examples
        --------
        >>> import convproof as cp
        >>> cp.PoolSpec(kind="max", kernel_size=2).bias_shape is None
        True
        """
        return None

    @property
    def kind_name(self) -> str:
        """``"max_pool"``, ``"avg_pool"`` or ``"lp_pool"``."""
        return f"{self.kind}_pool"

    @property
    def is_linear(self) -> bool:
        """Average pooling is linear in its input, and so is Lp pooling with ``norm_type=1``
        under ``legality="pytorch"`` (``prod(kernel_size) / taps inside`` times the window
        sum); max pooling and every other Lp pool are not.

        Examples
        --------
        >>> import convproof as cp
        >>> cp.PoolSpec(kind="lp", norm_type=1, kernel_size=2).is_linear
        True
        >>> cp.PoolSpec(kind="lp", norm_type=2, kernel_size=2).is_linear
        False
        """
        return self.kind == "avg" or is_linear_lp(self)

    @property
    def bias(self) -> bool:
        """Pooling has no bias: ``False``.

        Examples
        --------
        >>> import convproof as cp
        >>> cp.PoolSpec(kind="avg", kernel_size=2).bias
        False
        """
        return False

    @property
    def num_params(self) -> int:
        """Pooling has no parameters: ``0``.

        Examples
        --------
        >>> import convproof as cp
        >>> cp.PoolSpec(kind="avg", kernel_size=2).num_params
        0
        """
        return 0

    def macs(self, input_shape: Sequence[int]) -> int:
        """Multiply-accumulates per sample: ``0`` (torchvision counts none for pooling).

        The input elements the windows read are counted by :meth:`window_reads`.

        Examples
        --------
        >>> import convproof as cp
        >>> cp.PoolSpec(kind="max", kernel_size=2).macs((3, 8, 8))
        0
        """
        self.output_shape(input_shape)
        return 0

    def window_reads(self, input_shape: Sequence[int]) -> int:
        """Input elements read by all windows per sample (the comparisons / additions).

        Counts the ``(output, tap)`` pairs whose tap lands on a real input element: taps on
        padding (``-inf`` for max pooling, zeros for average pooling) and on the ceil-mode
        overhang read no input and are not counted.  Per axis the count is
        ``sum over outputs a of #{u : 0 <= a*s + u*d - p_before < i}``; axes are
        independent, so the total is ``C`` times the product over axes.  Without padding or
        overhang this is ``C prod(o) prod(k)``.

        Examples
        --------
        >>> import convproof as cp
        >>> cp.PoolSpec(kind="max", kernel_size=2).window_reads((3, 4, 4))
        48

        Ceil mode on 5 inputs, kernel 2: windows ``[0, 1]``, ``[2, 3]`` and ``[4]`` (its
        second tap overhangs the input), so 5 reads, not 6:

        >>> cp.PoolSpec(kind="avg", kernel_size=2, ceil_mode=True, ndim=1).window_reads((1, 5))
        5
        """
        _, c, spatial = self.split_input_shape(input_shape)
        out = self.output_shape(input_shape)[-self.ndim :]
        pads = self.resolve_padding(input_shape)
        total = c
        for i, o, k, s, d, (pl, _) in zip(
            spatial, out, self.kernel_size, self.stride, self.dilation, pads
        ):
            total *= sum(1 for a in range(o) for u in range(k) if 0 <= a * s + u * d - pl < i)
        return total

    def _out_channels(self, c_in: int) -> int:
        return c_in

    def _resolve_named(self, name: str, spatial: tuple[int, ...]) -> Pairs:
        return tuple(
            _axis.split_total(_axis.same_total(i, k, s, d), name == "SAME_UPPER")
            for i, k, s, d in zip(spatial, self.kernel_size, self.stride, self.dilation)
        )

    @property
    def input_at_least_kernel(self) -> bool:
        """Whether every input size must be ``>= kernel_size`` (padding not counted).

        PyTorch's 3-D average and Lp pooling kernels refuse smaller inputs; other profiles
        and kinds only need a non-empty output.

        Examples
        --------
        >>> import convproof as cp
        >>> cp.PoolSpec(kind="avg", kernel_size=2, ndim=3).input_at_least_kernel
        True
        >>> cp.PoolSpec(kind="avg", kernel_size=2, ndim=3, legality="onnx").input_at_least_kernel
        False
        """
        return self.kind in ("avg", "lp") and self.ndim == 3 and self.legality == "pytorch"

    def _output_sizes(self, spatial: tuple[int, ...], pads: Pairs) -> tuple[int, ...]:
        if self.input_at_least_kernel:
            for axis, (i, k) in enumerate(zip(spatial, self.kernel_size)):
                if i < k:
                    raise ConvProofError(
                        f"3-D {'average' if self.kind == 'avg' else 'Lp'} pooling needs every "
                        f"input size >= kernel_size "
                        f"(PyTorch's AvgPool3d rule, padding not counted), got input size {i} "
                        f"along dim {axis} with kernel_size={_fmt(self.kernel_size)}"
                    )
        out = []
        for axis, (i, k, s, d, (pl, pr)) in enumerate(
            zip(spatial, self.kernel_size, self.stride, self.dilation, pads)
        ):
            o = _axis.pool_out(i, k, s, d, pl, pr, self.ceil_mode)
            out.append(self._axis_size(axis, i, (pl, pr), o, "pooling output"))
        return tuple(out)


Spec = ConvSpec | ConvTransposeSpec | PoolSpec

_KINDS: dict[str, type] = {c.__name__: c for c in (ConvSpec, ConvTransposeSpec, PoolSpec)}


def spec_from_dict(data: dict[str, Any]) -> Spec:
    """Build a spec from :meth:`to_dict` output (or any dict naming ``"type"`` and fields).

    Lists become tuples; unknown keys and types raise :class:`ConvProofError`.

    Examples
    --------
    >>> import convproof as cp
    >>> cp.spec_from_dict({"type": "ConvSpec", "in_channels": 3, "out_channels": 8,
    ...                    "kernel_size": 3, "padding": [[1, 1], [1, 1]]}).padding
    ((1, 1), (1, 1))
    """
    if not isinstance(data, dict):
        raise ConvProofError(f"spec data must be a dict, got {type(data).__name__}")
    kind = data.get("type")
    if kind not in _KINDS:
        raise ConvProofError(
            f"type must be one of {', '.join(map(repr, _KINDS))}, got type={kind!r}"
        )
    cls = _KINDS[kind]
    allowed = {f.name for f in fields(cls)}

    def tup(v: Any) -> Any:
        return tuple(tup(x) for x in v) if isinstance(v, list) else v

    kwargs = {}
    for key, value in data.items():
        if key == "type":
            continue
        if key not in allowed:
            raise ConvProofError(
                f"unknown field for {kind}: {key!r} (accepted: {', '.join(sorted(allowed))})"
            )
        kwargs[key] = tup(value)
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a missing required argument
        raise ConvProofError(f"{kind} description is incomplete: {exc}") from None
