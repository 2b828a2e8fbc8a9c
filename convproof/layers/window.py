"""What the three spec kinds share: argument normalizers and the window geometry base class.

Private to :mod:`convproof.layers` (the public classes live in :mod:`convproof.layers.spec`):
the normalizers turn PyTorch's spellings into tuples with messages that quote the user's
value, and :class:`_Windowed` holds the behaviour every sliding-window layer shares
(padding resolution, output shapes from :mod:`convproof.layers.sizes`, the per-kind
questions other stages ask: :attr:`~_Windowed.kind_name`, :attr:`~_Windowed.transposed`,
:attr:`~_Windowed.is_linear`) plus :func:`check_spec`.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Sequence
from dataclasses import fields
from typing import Any, ClassVar

from convproof.errors import ConvProofError
from convproof.layers import sizes as _axis
from convproof.layers.legality import allows, check_legality, not_allowed, refusal

__all__: list[str] = []

Pairs = tuple[tuple[int, int], ...]
PaddingArg = int | str | Sequence[int] | Sequence[Sequence[int]]

#: Accepted padding names (``"VALID"``, ``"SAME"`` and ``"FULL"`` are accepted as TF spellings).
PADDING_NAMES = ("valid", "same", "full", "SAME_UPPER", "SAME_LOWER")
_NAME_ALIASES = {"VALID": "valid", "SAME": "SAME_UPPER", "FULL": "full"}


# --------------------------------------------------------------------------------------
# normalizers: user spellings -> tuples (messages quote the user's value)
# --------------------------------------------------------------------------------------


def _int(name: str, value: Any) -> int:
    """An integer (NumPy integers welcome, ``bool`` and floats refused)."""
    if isinstance(value, bool):
        raise ConvProofError(f"{name} must be an integer, got {name}={value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ConvProofError(f"{name} must be an integer, got {name}={value!r}") from None


def _is_seq(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str)


#: The most spatial dims a spec accepts (frameworks stop at 3; a bound keeps a hostile
#: ``ndim=10**9`` from exhausting memory while broadcasting ints to tuples).
MAX_NDIM = 16


def _infer_ndim(cls: str, ndim: Any, **candidates: Any) -> int:
    """``ndim`` as given, else the length of the first tuple argument, else 2."""
    if ndim is not None:
        n = _int("ndim", ndim)
        if not 1 <= n <= MAX_NDIM:
            raise ConvProofError(f"ndim must be between 1 and {MAX_NDIM}, got ndim={ndim!r}")
        return n
    for name, value in candidates.items():
        if _is_seq(value) and len(value) > 0:
            if len(value) > MAX_NDIM:
                raise ConvProofError(
                    f"{name} must have at most {MAX_NDIM} entries (one per spatial dim), "
                    f"got {name} with {len(value)} entries"
                )
            return len(value)
    return 2


def _ints(name: str, value: Any, ndim: int, minimum: int) -> tuple[int, ...]:
    """Broadcast an int to ``ndim`` or check a tuple's length; every entry ``>= minimum``."""
    if _is_seq(value):
        if len(value) != ndim:
            raise ConvProofError(
                f"{name} must be an int or a tuple of {ndim} ints (ndim={ndim}), "
                f"got {name}={value!r}"
            )
        out = tuple(_int(name, v) for v in value)
    elif isinstance(value, str) or value is None:
        raise ConvProofError(
            f"{name} must be an int or a tuple of {ndim} ints, got {name}={value!r}"
        )
    else:
        out = (_int(name, value),) * ndim
    if any(v < minimum for v in out):
        raise ConvProofError(
            f"{name} must be >= {minimum} in every dimension, got {name}={value!r}"
        )
    return out


def _padding(
    value: Any,
    ndim: int,
    names: tuple[str, ...],
    legality: str = "pytorch",
    rule: str = "negative_padding",
) -> Pairs | str:
    """Normalize a padding argument to ``((before, after), ...)`` pairs or a padding name.

    Negative amounts are refused unless ``legality`` names a profile whose answer to
    ``rule`` (the kind's negative-padding rule in :mod:`convproof.layers.legality`) is yes.
    """
    if isinstance(value, str):
        name = _NAME_ALIASES.get(value, value)
        if name not in names:
            raise ConvProofError(
                f"padding must be an int, a tuple, (before, after) pairs or one of "
                f"{', '.join(repr(n) for n in names)}, got padding={value!r}"
            )
        if name == "valid":
            return ((0, 0),) * ndim
        return name
    if _is_seq(value):
        if len(value) != ndim:
            raise ConvProofError(
                f"padding must have one entry per spatial dimension (ndim={ndim}), "
                f"got padding={value!r}"
            )
        pairs = []
        for entry in value:
            if _is_seq(entry):
                if len(entry) != 2:
                    raise ConvProofError(
                        f"padding pairs must be (before, after), got padding={value!r}"
                    )
                pairs.append((_int("padding", entry[0]), _int("padding", entry[1])))
            else:
                p = _int("padding", entry)
                pairs.append((p, p))
        out: Pairs = tuple(pairs)
    else:
        if value is None:
            raise ConvProofError(
                f"padding must be an int, a tuple or a name, got padding={value!r}"
            )
        p = _int("padding", value)
        out = ((p, p),) * ndim
    if any(v < 0 for pair in out for v in pair) and not allows(rule, legality):
        raise refusal(
            rule, legality, f"padding must be >= 0 in every dimension, got padding={value!r}"
        )
    return out


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConvProofError(f"{name} must be True or False, got {name}={value!r}")
    return value


def _positive(name: str, value: Any) -> int:
    v = _int(name, value)
    if v < 1:
        raise ConvProofError(f"{name} must be >= 1, got {name}={value!r}")
    return v


def _fmt(t: tuple[int, ...]) -> str:
    return str(t[0]) if len(set(t)) == 1 else str(t)


def _norm_type(kind: str, value: Any) -> int | float | None:
    """``norm_type`` checked: a finite number > 0 for ``kind="lp"``, ``None`` otherwise."""
    if kind != "lp":
        if value is not None:
            raise ConvProofError(
                f"norm_type is for kind='lp' only, got norm_type={value!r} with kind={kind!r}"
            )
        return None
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok or not (0 < value < math.inf):
        raise ConvProofError(
            f"norm_type must be a finite number > 0 for kind='lp', got norm_type={value!r}"
        )
    return int(value) if float(value).is_integer() else float(value)  # plain, hashable


def _check_lp(self: Any) -> None:
    """Lp pooling's profile rules (PoolSpec, ``kind=\"lp\"``)."""
    if self.legality in ("jax", "tensorflow"):
        raise ConvProofError(
            f"kind='lp' needs legality='pytorch' or 'onnx' (JAX and TensorFlow have no Lp "
            f"pooling layer), got legality={self.legality!r}"
        )
    if self.legality == "pytorch":
        if self.padding != ((0, 0),) * self.ndim:
            raise ConvProofError(
                f"padding must be 0 for Lp pooling under legality='pytorch' (LPPool has "
                f"no padding; legality='onnx' has pads), got padding={self.padding!r}"
            )
        if any(d != 1 for d in self.dilation):
            raise ConvProofError(
                f"dilation must be 1 for Lp pooling under legality='pytorch' (LPPool has "
                f"no dilation; legality='onnx' has dilations), got "
                f"dilation={_fmt(self.dilation)}"
            )


def _check_pool_padding(self: Any) -> None:
    """Pooling padding against the profile: above half the kernel, at least the kernel.

    Negative pooling padding (a crop, ``legality="jax"``) is refused with ``ceil_mode``: no
    framework defines the pair (JAX has no ceil mode, onnxruntime no negative pool pads).
    """
    if isinstance(self.padding, tuple):
        if self.ceil_mode and min(min(pair) for pair in self.padding) < 0:
            raise ConvProofError(
                f"negative pooling padding (a crop) needs ceil_mode=False (no framework "
                f"defines the pair), got ceil_mode=True with padding={self.padding}"
            )
        got = f"got padding={self.padding} with kernel_size={_fmt(self.kernel_size)}"
        for k, (pl, pr) in zip(self.kernel_size, self.padding):
            if max(pl, pr) > k // 2 and not allows("pool_padding_over_half_kernel", self.legality):
                raise refusal(
                    "pool_padding_over_half_kernel",
                    self.legality,
                    f"padding must be at most half the kernel size (kernel_size // 2) in "
                    f"every dimension, {got}",
                )
            if max(pl, pr) >= k and not allows("pool_padding_at_least_kernel", self.legality):
                raise refusal(
                    "pool_padding_at_least_kernel",
                    self.legality,
                    f"padding must be smaller than the kernel size in every dimension, {got}",
                )


# --------------------------------------------------------------------------------------
# shared behaviour
# --------------------------------------------------------------------------------------


def _spec_repr(spec: Any) -> str:
    """The dataclass repr, plus the later fields (``legality``, ...) when not at their default."""
    shown = [f for f in fields(spec) if f.repr or getattr(spec, f.name) != f.default]
    body = ", ".join(f"{f.name}={getattr(spec, f.name)!r}" for f in shown)
    return f"{type(spec).__name__}({body})"


class _Windowed:
    """Behaviour shared by the three spec kinds (a sliding window over ``ndim`` axes)."""

    layer: ClassVar[str]
    #: Whether the layer scatters its input (a transposed convolution) rather than gathers.
    transposed: ClassVar[bool] = False
    ndim: int
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: Pairs | str
    legality: str

    # -- per-kind questions (one place instead of isinstance chains) --------------------
    @property
    def kind_name(self) -> str:
        """``"conv"``, ``"conv_transpose"``, ``"max_pool"`` or ``"avg_pool"``.

        Examples
        --------
        >>> import convproof as cp
        >>> cp.PoolSpec(kind="max", kernel_size=2).kind_name
        'max_pool'
        """
        return self.layer

    @property
    def is_linear(self) -> bool:
        """Whether the layer is linear in its input (every kind but max pooling).

        Examples
        --------
        >>> import convproof as cp
        >>> cp.PoolSpec(kind="avg", kernel_size=2).is_linear
        True
        """
        return True

    def _set_conv_fields(
        self,
        n: int,
        in_channels: Any,
        out_channels: Any,
        kernel_size: Any,
        stride: Any,
        dilation: Any,
        padding: Any,
        names: tuple[str, ...],
        legality: Any,
        negative_rule: str,
    ) -> None:
        """Validate and store the fields both convolution kinds share (frozen dataclass).

        ``negative_rule``: the legality rule deciding negative padding for the kind.
        """
        setattr_ = object.__setattr__
        setattr_(self, "legality", check_legality(legality))
        setattr_(self, "ndim", n)
        setattr_(self, "in_channels", _positive("in_channels", in_channels))
        setattr_(self, "out_channels", _positive("out_channels", out_channels))
        setattr_(self, "kernel_size", _ints("kernel_size", kernel_size, n, 1))
        setattr_(self, "stride", _ints("stride", stride, n, 1))
        setattr_(self, "dilation", _ints("dilation", dilation, n, 1))
        setattr_(self, "padding", _padding(padding, n, names, self.legality, negative_rule))

    def _axis_common(self, axis: int, padding: Any) -> dict[str, Any]:
        """Window arguments of one axis, for the kinds' ``one_axis``."""
        return dict(
            kernel_size=self.kernel_size[axis],
            stride=self.stride[axis],
            dilation=self.dilation[axis],
            padding=padding,
            ndim=1,
            legality=self.legality,
        )

    # -- derived ------------------------------------------------------------------------
    @property
    def effective_kernel_size(self) -> tuple[int, ...]:
        """Span of the dilated kernel per axis, ``d(k - 1) + 1``.

        Examples
        --------
        >>> import convproof as cp
        >>> cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, dilation=(1, 2)
        ...             ).effective_kernel_size
        (3, 5)
        """
        return tuple(_axis.effective_kernel(k, d) for k, d in zip(self.kernel_size, self.dilation))

    def _expected_channels(self) -> int | None:
        return None

    def split_input_shape(
        self, input_shape: Sequence[int]
    ) -> tuple[tuple[int, ...], int, tuple[int, ...]]:
        """Split an input shape into ``(batch, channels, spatial)``, validating it.

        ``input_shape`` is ``(C, *spatial)`` or ``(N, C, *spatial)``; ``batch`` is ``()`` or
        ``(N,)``.

        Examples
        --------
        >>> import convproof as cp
        >>> cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3).split_input_shape(
        ...     (8, 3, 32, 32))
        ((8,), 3, (32, 32))
        """
        if not _is_seq(input_shape) and not hasattr(input_shape, "__len__"):
            raise ConvProofError(
                f"input_shape must be a tuple (C, *spatial) or (N, C, *spatial), "
                f"got input_shape={input_shape!r}"
            )
        shape = tuple(input_shape)
        if len(shape) not in (self.ndim + 1, self.ndim + 2):
            raise ConvProofError(
                f"input_shape must be (C, *spatial) or (N, C, *spatial) with {self.ndim} spatial "
                f"dims (ndim={self.ndim}), got input_shape={input_shape!r}"
            )
        dims = tuple(_int("input_shape", v) for v in shape)
        batch, c, spatial = dims[: -self.ndim - 1], dims[-self.ndim - 1], dims[-self.ndim :]
        if any(n < 0 for n in batch):
            raise ConvProofError(f"batch size must be >= 0, got input_shape={input_shape!r}")
        if c < 1:
            raise ConvProofError(f"channels must be >= 1, got input_shape={input_shape!r}")
        if any(v < 1 for v in spatial):
            raise ConvProofError(
                f"spatial sizes must be >= 1 in every dimension, got input_shape={input_shape!r}"
            )
        expected = self._expected_channels()
        if expected is not None and c != expected:
            raise ConvProofError(
                f"input_shape has {c} channels but the layer expects {expected} "
                f"(in_channels={expected}), got input_shape={input_shape!r}"
            )
        return batch, c, spatial

    def _resolve_named(self, name: str, spatial: tuple[int, ...]) -> Pairs:
        raise NotImplementedError  # pragma: no cover - every kind overrides

    def _check_padding(self, pads: Pairs, spatial: tuple[int, ...]) -> None:
        """Kind-specific limits on resolved padding (padding modes)."""

    def resolve_padding(self, input_shape: Sequence[int]) -> Pairs:
        """Per-side padding ``((before, after), ...)`` for an input of this shape.

        =================  ===========================================================
        ``padding``        resolved per axis
        =================  ===========================================================
        int / tuple        as given, the same on both sides
        pairs              as given
        ``"valid"``        ``(0, 0)``
        ``"full"``         ``(k_eff - 1, k_eff - 1)``
        ``"same"``         PyTorch: total ``d(k - 1)``, odd extra at the **end**
        ``"SAME_UPPER"``   TF/JAX ``SAME``: total ``max(0, (ceil(i/s) - 1)s + k_eff - i)``,
                           odd extra at the **end**
        ``"SAME_LOWER"``   the same total, odd extra at the **start**
        =================  ===========================================================

        Parameters
        ----------
        input_shape : tuple of int
            ``(C, *spatial)`` or ``(N, C, *spatial)``.

        Returns
        -------
        tuple of (int, int)
            One ``(before, after)`` pair per spatial dimension.

        Raises
        ------
        ConvProofError
            If the input shape is invalid for this layer, or the padding breaks a padding
            mode's limit (``reflect`` needs padding < input size, ``circular`` <= input size).

        Examples
        --------
        >>> import convproof as cp
        >>> spec = cp.ConvSpec(in_channels=3, out_channels=8, kernel_size=7, stride=2,
        ...                    padding="SAME_UPPER")
        >>> spec.resolve_padding((3, 224, 224))
        ((2, 3), (2, 3))
        """
        _, _, spatial = self.split_input_shape(input_shape)
        return self._resolve_spatial(spatial)

    def _resolve_spatial(self, spatial: tuple[int, ...]) -> Pairs:
        pads = (
            self._resolve_named(self.padding, spatial)
            if isinstance(self.padding, str)
            else self.padding
        )
        self._check_padding(pads, spatial)
        return pads

    def output_spatial(self, spatial: Sequence[int]) -> tuple[int, ...]:
        """Output spatial sizes for these input spatial sizes (no channel or batch axes).

        Examples
        --------
        >>> import convproof as cp
        >>> cp.PoolSpec(kind="max", kernel_size=1, stride=2, ceil_mode=True, ndim=1
        ...             ).output_spatial((32,))
        (16,)
        """
        spatial_t = tuple(spatial)
        c = self._expected_channels() or 1
        self.split_input_shape((c, *spatial_t))
        pads = self._resolve_spatial(spatial_t)
        return self._output_sizes(spatial_t, pads)

    def _output_sizes(self, spatial: tuple[int, ...], pads: Pairs) -> tuple[int, ...]:
        raise NotImplementedError  # pragma: no cover

    def _out_channels(self, c_in: int) -> int:
        raise NotImplementedError  # pragma: no cover

    def output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        """Output shape for an input shape: same rank, channels replaced.

        Parameters
        ----------
        input_shape : tuple of int
            ``(C, *spatial)`` or ``(N, C, *spatial)``.

        Returns
        -------
        tuple of int
            ``(C_out, *out)`` or ``(N, C_out, *out)``.

        Raises
        ------
        ConvProofError
            If the input shape does not fit the layer or the output would be empty.

        Examples
        --------
        >>> import convproof as cp
        >>> cp.ConvSpec(in_channels=3, out_channels=1, kernel_size=5, stride=2
        ...             ).output_shape((1, 3, 32, 32))
        (1, 1, 14, 14)
        """
        batch, c, spatial = self.split_input_shape(input_shape)
        pads = self._resolve_spatial(spatial)
        return (*batch, self._out_channels(c), *self._output_sizes(spatial, pads))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``{"type": ..., **fields}``) that :func:`spec_from_dict` reads.

        Examples
        --------
        >>> import convproof as cp
        >>> d = cp.PoolSpec(kind="avg", kernel_size=2).to_dict()
        >>> d["type"], d["kernel_size"]
        ('PoolSpec', [2, 2])
        >>> cp.spec_from_dict(d) == cp.PoolSpec(kind="avg", kernel_size=2)
        True
        """

        def plain(v: Any) -> Any:
            return [plain(x) for x in v] if isinstance(v, tuple) else v

        out: dict[str, Any] = {"type": type(self).__name__}
        for f in fields(self):  # type: ignore[arg-type]
            if f.repr or getattr(self, f.name) != f.default:  # the defaults are implied
                out[f.name] = plain(getattr(self, f.name))
        return out

    def _axis_size(self, axis: int, i: int, pads: tuple[int, int], o: int, what: str) -> int:
        """Output size ``o`` of one axis, 0 for an empty output where the profile allows it."""
        if o >= 1:
            return o
        k, d = self.kernel_size[axis], self.dilation[axis]
        if allows("empty_output", self.legality):
            if i + pads[0] + pads[1] >= 0:
                return 0
            raise ConvProofError(
                f"padding must not crop more than the input, got padding {pads} along dim "
                f"{axis} for input size {i}"
            )
        raise ConvProofError(
            f"{what} would be empty: input size {i} along dim {axis} with padding {pads} "
            f"is smaller than the effective kernel {_axis.effective_kernel(k, d)} "
            f"(kernel_size={k}, dilation={d}), output size {o}; "
            f"{not_allowed('empty_output', self.legality)}"
        )


class _Conv(_Windowed):
    """What both convolution kinds add: channels, groups, a bias."""

    in_channels: int
    out_channels: int
    groups: int
    bias: bool

    @property
    def weight_shape(self) -> tuple[int, ...]:  # pragma: no cover - each kind defines it
        raise NotImplementedError

    @property
    def bias_shape(self) -> tuple[int, ...] | None:
        """``(C_out,)`` when the layer has a bias, else ``None``.

        Examples
        --------
        >>> import convproof as cp
        >>> cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3).bias_shape
        (5,)
        >>> cp.ConvTransposeSpec(in_channels=4, out_channels=6, kernel_size=3).bias_shape
        (6,)
        >>> cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3, bias=False).bias_shape
        """
        return (self.out_channels,) if self.bias else None

    @property
    def num_params(self) -> int:
        """Weights plus bias: ``prod(weight_shape) + C_out``.

        Examples
        --------
        >>> import convproof as cp
        >>> cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3).num_params
        140
        >>> cp.ConvTransposeSpec(in_channels=4, out_channels=6, kernel_size=3, groups=2
        ...                      ).num_params
        114
        """
        return math.prod(self.weight_shape) + (self.out_channels if self.bias else 0)

    def _check_groups(self) -> None:
        """Both channel counts divisible by ``groups`` (each kind's ``__post_init__``)."""
        for name in ("in_channels", "out_channels"):
            if getattr(self, name) % self.groups:
                raise ConvProofError(
                    f"{name} must be divisible by groups, got {name}={getattr(self, name)} "
                    f"with groups={self.groups}"
                )

    def _expected_channels(self) -> int:
        return self.in_channels

    def _out_channels(self, c_in: int) -> int:
        return self.out_channels


def is_linear_lp(spec: Any) -> bool:
    """Whether ``spec`` is the one linear Lp pool: ``norm_type=1`` under ``legality="pytorch"``.

    PyTorch computes ``lp_pool`` as ``prod(kernel_size)`` times an average pool of ``x**p``
    (padding 0), then ``sign(s) * relu(|s|) ** (1/p)``; for ``p = 1`` that is
    ``prod(kernel_size) / (taps inside the input)`` times the window sum: linear.  ONNX's
    ``LpPool`` sums ``|x|**p`` (not linear for any ``p``), and ``p != 1`` is a power.

    Examples
    --------
    >>> import convproof as cp
    >>> from convproof.layers.window import is_linear_lp
    >>> is_linear_lp(cp.PoolSpec(kind="lp", norm_type=1, kernel_size=2))
    True
    >>> is_linear_lp(cp.PoolSpec(kind="lp", norm_type=1, kernel_size=2, legality="onnx"))
    False
    """
    return (
        getattr(spec, "kind", None) == "lp"
        and spec.norm_type == 1
        and getattr(spec, "legality", "pytorch") == "pytorch"
    )


def lp_scale(spec: Any) -> int:
    """The constant numerator of a pool's window coefficients: ``prod(kernel_size)`` for
    the linear Lp pool (:func:`is_linear_lp`), ``1`` for every other layer.

    A window's coefficient is ``lp_scale / divisor``, the divisor being the taps inside
    the input for the Lp pool (the ceil-mode overhang excluded), as for an average pool
    with padding 0.  The library's constructions (index rule, matrices, backward) read it
    here; :mod:`convproof.constructions.definition` writes its own.

    Examples
    --------
    >>> import convproof as cp
    >>> from convproof.layers.window import lp_scale
    >>> lp_scale(cp.PoolSpec(kind="lp", norm_type=1, kernel_size=(2, 3)))
    6
    >>> lp_scale(cp.PoolSpec(kind="avg", kernel_size=(2, 3)))
    1
    """
    return math.prod(spec.kernel_size) if is_linear_lp(spec) else 1


def refuse_lp(spec: Any, what: str) -> None:
    """A ConvProofError when ``spec`` is an Lp pool that ``what`` cannot build.

    Lp pooling is evaluated by :func:`convproof.conv`, ported by :func:`convproof.port` and
    tested by the checkers.  The constructions built on coefficient tables (matrices,
    sliding sums, proofs, backward passes) build the one linear Lp pool, ``norm_type=1``
    under ``legality="pytorch"`` (:func:`is_linear_lp`), and refuse every other with this
    message.

    Examples
    --------
    >>> import convproof as cp
    >>> from convproof.layers.window import refuse_lp
    >>> refuse_lp(cp.PoolSpec(kind="lp", norm_type=1, kernel_size=2), "conv_matrix")
    >>> refuse_lp(cp.PoolSpec(kind="lp", norm_type=2, kernel_size=2), "conv_matrix")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    convproof.errors.ConvProofError: conv_matrix does not support Lp pooling (kind='lp') ...
    """
    if getattr(spec, "kind", None) != "lp" or is_linear_lp(spec):
        return
    why = (
        f"legality={spec.legality!r} sums |x|**p, which is not linear"
        if spec.legality != "pytorch"
        else f"x**{spec.norm_type!r} and its root are not linear"
    )
    raise ConvProofError(
        f"{what} does not support Lp pooling (kind='lp') with norm_type={spec.norm_type!r} "
        f"under legality={spec.legality!r}: {why}; only norm_type=1 under legality='pytorch' "
        f"(PyTorch's LPPool: prod(kernel_size) / taps inside times the window sum) is linear "
        f"and built; conv() evaluates every Lp pool, port() ports it and check_pool tests it"
    )


def check_spec(spec: Any, name: str = "spec") -> Any:
    """``spec`` itself if it is a ConvSpec, ConvTransposeSpec or PoolSpec, else a ConvProofError.

    Examples
    --------
    >>> from convproof.layers.window import check_spec
    >>> check_spec("conv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    convproof.errors.ConvProofError: spec must be a ConvSpec, ..., got spec='conv'
    """
    if not isinstance(spec, _Windowed):
        raise ConvProofError(
            f"{name} must be a ConvSpec, ConvTransposeSpec or PoolSpec, got {name}={spec!r}"
        )
    return spec
