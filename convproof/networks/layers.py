"""The built-in network layer kinds besides the specs (each one :class:`NetworkLayer`).

Element-wise: :class:`Activation`, :class:`BatchNorm`, :class:`Identity`, :class:`Dropout`;
spatial: :class:`Pad`, :class:`AdaptivePool`; reshaping: :class:`Flatten`, :class:`Linear`;
joins: :class:`Add`, :class:`Concat`.  The specs' adapters are in
:mod:`convproof.networks.spec_layers`; the protocol in :mod:`convproof.networks.protocol`.

Examples
--------
>>> import convproof as cp
>>> cp.Linear(3, 2).apply((5, 3), 0, "fc").shape
(5, 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from convproof.errors import ConvProofError
from convproof.layers.padding import padding_mode
from convproof.networks.protocol import NetworkLayer, Resets, Step, json_fields
from convproof.networks.values import (
    Pairs,
    check_bool,
    check_int,
    equal,
    fmt_shape,
    is_concrete,
    prod,
)

__all__ = [
    "Activation",
    "AdaptivePool",
    "Add",
    "BatchNorm",
    "Concat",
    "Dropout",
    "Flatten",
    "Identity",
    "Linear",
    "Pad",
]

#: Activation functions accepted by :class:`Activation` (all element-wise, no parameters).
ACTIVATIONS = (
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "selu",
    "celu",
    "gelu",
    "silu",
    "mish",
    "sigmoid",
    "tanh",
    "hardswish",
    "hardsigmoid",
    "hardtanh",
    "softplus",
    "softmax",
    "log_softmax",
)


class JoinLayer(NetworkLayer):
    """A layer reading two or more inputs; its receptive field is the aligned union of its
    inputs' (see :func:`convproof.networks.receptive.join_fields`)."""

    joins: ClassVar[bool] = True

    @staticmethod
    def require_agreement(
        shapes: Sequence[tuple[Any, ...]], inputs: Sequence[str], first_axis: int, message: str
    ) -> None:
        """Raise ``message`` (then each input's shape) unless all shapes have the same rank
        and agree from axis ``first_axis`` on."""
        first = shapes[0]
        ok = len(first) >= 1 and all(
            len(s) == len(first)
            and all(equal(a, b) for a, b in zip(s[first_axis:], first[first_axis:]))
            for s in shapes
        )
        if not ok:
            listing = ", ".join(f"{n}: {fmt_shape(s)}" for n, s in zip(inputs, shapes))
            raise ConvProofError(f"{message}, got {listing}")


@dataclass(frozen=True)
class Activation(NetworkLayer):
    """An element-wise activation (no parameters, no MACs, receptive field unchanged).

    Parameters
    ----------
    function : str
        One of ``ACTIVATIONS`` (``"relu"``, ``"relu6"``, ``"gelu"``, ...).

    Examples
    --------
    >>> import convproof as cp
    >>> cp.Activation("relu6").function
    'relu6'
    """

    function: str = "relu"
    layer: ClassVar[str] = "activation"
    aliases: ClassVar[tuple[str, ...]] = ACTIVATIONS
    aliases_label: ClassVar[str | None] = "an activation name"

    def __post_init__(self) -> None:
        if self.function not in ACTIVATIONS:
            raise ConvProofError(
                f"function must be one of {', '.join(map(repr, ACTIVATIONS))}, "
                f"got function={self.function!r}"
            )

    @property
    def kind(self) -> str:
        """The row label: the function name."""
        return self.function

    @classmethod
    def from_dict(cls, entry: dict[str, Any], ndim: int) -> Activation:
        """``{"type": "activation", "function": f}`` or ``{"type": f}``."""
        kind = entry.get("type")
        if kind == "activation":
            return cls(**json_fields(entry, ["function"], kind))
        json_fields(entry, [], str(kind))
        return cls(str(kind))


@dataclass(frozen=True)
class BatchNorm(NetworkLayer):
    """Batch normalization over ``num_features`` channels.

    Parameters: ``2 * num_features`` when ``affine`` (weight and bias, as
    ``sum(p.numel())`` counts them); the running mean, the running variance and the
    ``num_batches_tracked`` counter are *buffers* (``2 * num_features + 1``, as PyTorch's
    ``sum(b.numel() for b in module.buffers())`` counts them), reported separately.  MACs
    are 0 (torchvision counts conv and linear layers only).

    Examples
    --------
    >>> import convproof as cp
    >>> cp.BatchNorm(64).num_params, cp.BatchNorm(64).num_buffers
    (128, 129)
    """

    num_features: int
    affine: bool = True
    track_running_stats: bool = True
    layer: ClassVar[str] = "batch_norm"

    def __post_init__(self) -> None:
        check_int("num_features", self.num_features, 1)
        check_bool("affine", self.affine)
        check_bool("track_running_stats", self.track_running_stats)

    @property
    def num_params(self) -> int:
        """Learnable parameters: ``2 C`` when affine, else 0."""
        return 2 * self.num_features if self.affine else 0

    @property
    def num_buffers(self) -> int:
        """Buffer elements as PyTorch counts them: running mean and variance (``2 C``) plus
        the one-element ``num_batches_tracked`` counter; 0 without running statistics."""
        return 2 * self.num_features + 1 if self.track_running_stats else 0

    def apply(self, shape: tuple[Any, ...], spatial_ndim: int, name: str) -> Step:
        """Shape unchanged; the channel count must be ``num_features``."""
        if len(shape) < 1 or shape[0] != self.num_features:
            raise ConvProofError(
                f"{self.where(name)}: input has {shape[0]} channels but the layer expects "
                f"{self.num_features} (num_features={self.num_features})"
            )
        return Step(tuple(shape), buffers=self.num_buffers)


@dataclass(frozen=True)
class Identity(NetworkLayer):
    """The identity (a no-op; also what :class:`Dropout` is at inference).

    Examples
    --------
    >>> import convproof as cp
    >>> cp.Identity().kind
    'identity'
    """

    layer: ClassVar[str] = "identity"


@dataclass(frozen=True)
class Dropout(NetworkLayer):
    """Dropout with probability ``p`` (element-wise; no parameters or MACs).

    Examples
    --------
    >>> import convproof as cp
    >>> cp.Dropout(0.2).p
    0.2
    """

    p: float = 0.5
    layer: ClassVar[str] = "dropout"

    def __post_init__(self) -> None:
        if isinstance(self.p, bool) or not isinstance(self.p, int | float) or not 0 <= self.p <= 1:
            raise ConvProofError(f"p must be a number in [0, 1], got p={self.p!r}")


@dataclass(frozen=True, init=False)
class Pad(NetworkLayer):
    """Explicit padding, per side and per spatial axis: constant (zero by default),
    reflect, replicate or circular (``nn.ZeroPad2d``, ``nn.ConstantPad*``,
    ``nn.ReflectionPad*``, ``nn.ReplicationPad*``, ``nn.CircularPad*``, ``F.pad``).

    This is how TF ``SAME`` is spelled in PyTorch ports (``nn.ZeroPad2d((0, 1, 0, 1))``
    before a ``valid`` conv).  Negative amounts crop, as ``torch.nn.functional.pad`` does.
    A padded position reads the input position given by the padding-mode table
    (:mod:`convproof.layers.padding`, the one the conv specs use), so receptive positions
    are exact; ``reflect`` needs ``padding < n`` and ``circular`` ``padding <= n`` per side
    (PyTorch's limits), which makes them layers that are empty below a minimum size.

    Parameters
    ----------
    padding : int, tuple of int, or tuple of (before, after) pairs
        In axis order (``((top, bottom), (left, right))`` in 2-D; note that
        ``nn.ZeroPad2d`` takes ``(left, right, top, bottom)``, last axis first).
    value : float
        The constant written into the padding (receptive fields do not depend on it).
    mode : str
        A padding mode of :data:`convproof.layers.padding.PADDING_MODE_TABLE`: ``"zeros"``
        (the constant ``value``), ``"reflect"``, ``"replicate"`` or ``"circular"``.
    ndim : int, optional
        Needed when ``padding`` is an int; else inferred.

    Examples
    --------
    >>> import convproof as cp
    >>> cp.Pad(((0, 1), (0, 1))).padding
    ((0, 1), (0, 1))
    >>> cp.Pad(2, ndim=1).padding
    ((2, 2),)
    >>> cp.Pad(2, mode="reflect", ndim=1).apply((1, 2), 1, "p")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    convproof.errors.ConvProofError: layer 'p' (reflect_pad): ... must be at most 1 for input size 2
    """

    padding: Pairs
    value: float
    mode: str
    layer: ClassVar[str] = "pad"

    def __init__(
        self, padding: Any, value: float = 0, ndim: int | None = None, mode: str = "zeros"
    ) -> None:
        if isinstance(padding, bool):
            raise ConvProofError(f"padding must be an int or pairs, got padding={padding!r}")
        if isinstance(padding, int):
            n = 2 if ndim is None else check_int("ndim", ndim, 1)
            pairs: Pairs = ((padding, padding),) * n
        elif isinstance(padding, Sequence) and not isinstance(padding, str) and padding:
            out = []
            for entry in padding:
                if isinstance(entry, Sequence) and not isinstance(entry, str):
                    if len(entry) != 2:
                        raise ConvProofError(
                            f"padding pairs must be (before, after), got padding={padding!r}"
                        )
                    out.append(
                        (check_int("padding", entry[0]), check_int("padding", entry[1])),
                    )
                else:
                    p = check_int("padding", entry)
                    out.append((p, p))
            pairs = tuple(out)
            if ndim is not None and len(pairs) != ndim:
                raise ConvProofError(
                    f"padding must have one entry per spatial dimension (ndim={ndim}), "
                    f"got padding={padding!r}"
                )
        else:
            raise ConvProofError(
                f"padding must be an int, a tuple of ints or (before, after) pairs, "
                f"got padding={padding!r}"
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConvProofError(f"value must be a number, got value={value!r}")
        padding_mode(mode, "mode")
        object.__setattr__(self, "padding", pairs)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "mode", mode)

    @property
    def ndim(self) -> int:
        """Number of spatial axes."""
        return len(self.padding)

    @property
    def kind(self) -> str:
        """``"pad"``, or ``"reflect_pad"`` etc. for the other modes."""
        return "pad" if self.mode == "zeros" else f"{self.mode}_pad"

    def apply(self, shape: tuple[Any, ...], spatial_ndim: int, name: str) -> Step:
        """Each spatial size grows by ``before + after``; a window ``(1, 1, before)``."""
        self.needs_spatial(shape, spatial_ndim, name)
        sizes = []
        most = padding_mode(self.mode).max_padding
        for axis, (i, (pl, pr)) in enumerate(zip(shape[1:], self.padding)):
            limit = most(i) if is_concrete(i) else None
            if limit is not None and max(pl, pr) > limit:
                raise ConvProofError(
                    f"{self.where(name)}: {self.mode} padding {max(pl, pr)} along dim {axis} "
                    f"must be at most {limit} for input size {i}"
                )
            o = i + pl + pr
            if is_concrete(o) and o < 1:
                raise ConvProofError(
                    f"{self.where(name)}: padding {(pl, pr)} crops input size {i} along dim "
                    f"{axis} to {o}"
                )
            sizes.append(o)
        windows = tuple((1, 1, pl) for pl, _ in self.padding)
        return Step((shape[0], *sizes), receptive=windows)

    def trace_back(
        self, step: Step, in_shape: tuple[int, ...], axis: int, outs: set[int]
    ) -> set[int] | None:
        """Output ``o`` holds padded coordinate ``o - before``, read through the padding
        mode's index map (``-1``, nothing read, for a constant)."""
        import numpy as np

        pl = self.padding[axis][0]
        t = np.array(sorted(outs), dtype=np.int64) - pl
        read = padding_mode(self.mode).index(t, in_shape[1 + axis])
        return {int(v) for v in read if v >= 0}

    def to_dict(self) -> dict[str, Any]:
        """``{"type": "pad", "padding": [[before, after], ...], "value": v}`` (and ``"mode"``
        unless zeros)."""
        out = {"type": "pad", "padding": [list(p) for p in self.padding], "value": self.value}
        if self.mode != "zeros":
            out["mode"] = self.mode
        return out

    @classmethod
    def from_dict(cls, entry: dict[str, Any], ndim: int) -> Pad:
        """The JSON form of :meth:`to_dict` (``padding`` required)."""
        kwargs = json_fields(entry, ["padding", "value", "mode"], "pad")
        if "padding" not in kwargs:
            raise ConvProofError("pad description is incomplete: missing 'padding'")
        mode = kwargs.get("mode", "zeros")
        return cls(kwargs["padding"], kwargs.get("value", 0), ndim=ndim, mode=mode)


@dataclass(frozen=True)
class Flatten(NetworkLayer):
    """Flatten every per-sample axis into one feature axis (``nn.Flatten()``, ``start_dim=1``).

    The result has no spatial axes, so receptive fields end here (rows show ``None``).

    Examples
    --------
    >>> import convproof as cp
    >>> cp.Flatten().kind
    'flatten'
    """

    layer: ClassVar[str] = "flatten"

    def apply(self, shape: tuple[Any, ...], spatial_ndim: int, name: str) -> Step:
        """One axis of ``prod(shape)`` features; receptive fields end."""
        return Step((prod(shape),), receptive=Resets("no spatial axes after flatten"))


@dataclass(frozen=True)
class Linear(NetworkLayer):
    """A fully connected layer on the last axis: ``in_features * out_features (+ out)`` params.

    MACs are ``in * out`` per output row (bias excluded); bias adds ``out`` per row.

    Examples
    --------
    >>> import convproof as cp
    >>> cp.Linear(3072, 1).num_params
    3073
    """

    in_features: int
    out_features: int
    bias: bool = True
    layer: ClassVar[str] = "linear"

    def __post_init__(self) -> None:
        check_int("in_features", self.in_features, 1)
        check_int("out_features", self.out_features, 1)
        check_bool("bias", self.bias)

    @property
    def num_params(self) -> int:
        """Weights plus bias."""
        return self.in_features * self.out_features + (self.out_features if self.bias else 0)

    def apply(self, shape: tuple[Any, ...], spatial_ndim: int, name: str) -> Step:
        """``(*rows, in) -> (*rows, out)``; ``rows * in * out`` MACs; receptive fields end."""
        f = shape[-1]
        if equal(f, self.in_features) is not True:
            raise ConvProofError(
                f"{self.where(name)}: input has {f} features on its last axis but the layer "
                f"expects {self.in_features} (in_features={self.in_features}); input shape "
                f"{fmt_shape(shape)}"
            )
        rows = prod(shape[:-1])
        return Step(
            (*shape[:-1], self.out_features),
            macs=prod([rows, self.in_features, self.out_features]),
            bias_adds=prod([rows, self.out_features]) if self.bias else 0,
            receptive=Resets("a linear layer mixes all positions"),
        )


@dataclass(frozen=True, init=False)
class AdaptivePool(NetworkLayer):
    """Adaptive average (or max) pooling to a fixed ``output_size``.

    Output ``j`` of an axis of size ``i`` pools the input window
    ``[floor(j i / o), ceil((j + 1) i / o))`` (PyTorch's rule).  When ``o`` divides ``i`` every
    window has size and step ``i / o``, so the layer is a regular pooling with
    ``kernel_size = stride = i / o`` and receptive fields pass through it; ``o = 1`` is global
    pooling.  Otherwise windows differ in size and position is not an affine function of
    ``j``: receptive-field columns become ``None`` from here on.  An entry ``None`` keeps the
    input size.  Params and MACs are 0 (torchvision's convention).

    Examples
    --------
    >>> import convproof as cp
    >>> cp.AdaptivePool((1, 1)).output_size
    (1, 1)
    >>> cp.AdaptivePool(7, ndim=2).output_size
    (7, 7)
    """

    output_size: tuple[int | None, ...]
    kind_: str
    layer: ClassVar[str] = "adaptive_avg_pool"
    aliases: ClassVar[tuple[str, ...]] = ("adaptive_max_pool",)

    def __init__(self, output_size: Any, kind: str = "avg", ndim: int | None = None) -> None:
        if kind not in ("avg", "max"):
            raise ConvProofError(f"kind must be 'avg' or 'max', got kind={kind!r}")
        if isinstance(output_size, int) and not isinstance(output_size, bool):
            n = 2 if ndim is None else check_int("ndim", ndim, 1)
            sizes: tuple[int | None, ...] = (output_size,) * n
        elif isinstance(output_size, Sequence) and not isinstance(output_size, str):
            sizes = tuple(output_size)
        else:
            raise ConvProofError(
                f"output_size must be an int or a tuple of ints (or None), "
                f"got output_size={output_size!r}"
            )
        for v in sizes:
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise ConvProofError(
                    f"output_size must hold ints >= 1 (or None to keep a size), "
                    f"got output_size={output_size!r}"
                )
        if not sizes or (ndim is not None and len(sizes) != ndim):
            raise ConvProofError(
                f"output_size must have one entry per spatial dimension, "
                f"got output_size={output_size!r}"
            )
        object.__setattr__(self, "output_size", sizes)
        object.__setattr__(self, "kind_", kind)

    @property
    def ndim(self) -> int:
        """Number of spatial axes."""
        return len(self.output_size)

    @property
    def kind(self) -> str:
        """The row label: ``"adaptive_avg_pool"`` or ``"adaptive_max_pool"``."""
        return f"adaptive_{self.kind_}_pool"

    def apply(self, shape: tuple[Any, ...], spatial_ndim: int, name: str) -> Step:
        """Sizes ``output_size``; a window ``(i/o, i/o, 0)`` per axis when ``o`` divides
        ``i`` (``o = 1``: global), else receptive fields reset."""
        self.needs_spatial(shape, spatial_ndim, name)
        sizes, windows = [], []
        regular = True
        for i, o in zip(shape[1:], self.output_size):
            if o is None:
                sizes.append(i)
                windows.append((1, 1, 0))
                continue
            sizes.append(o)
            if o == 1:
                windows.append((i, i, 0))  # global pooling: one window of size i
            elif is_concrete(i) and i % o == 0:
                windows.append((i // o, i // o, 0))
            else:
                regular = False
        note = (
            f"adaptive pooling at {name!r}: output size does not divide the input size "
            f"{fmt_shape(shape[1:])}, windows are not a regular grid"
        )
        rf = tuple(windows) if regular else Resets(note, spatial=True)
        return Step((shape[0], *sizes), receptive=rf)

    def trace_back(
        self, step: Step, in_shape: tuple[int, ...], axis: int, outs: set[int]
    ) -> set[int] | None:
        """Receptive-field pictures stop before adaptive pooling (``None``)."""
        return None

    def to_dict(self) -> dict[str, Any]:
        """``{"type": "adaptive_avg_pool", "output_size": [...]}``."""
        return {"type": self.kind, "output_size": list(self.output_size)}

    @classmethod
    def from_dict(cls, entry: dict[str, Any], ndim: int) -> AdaptivePool:
        """The JSON form of :meth:`to_dict` (``output_size`` required)."""
        kind = str(entry.get("type"))
        kwargs = json_fields(entry, ["output_size"], kind)
        if "output_size" not in kwargs:
            raise ConvProofError(f"{kind} description is incomplete: missing 'output_size'")
        return cls(kwargs["output_size"], kind=kind.split("_")[1], ndim=ndim)


@dataclass(frozen=True)
class Add(JoinLayer):
    """Element-wise sum of two or more inputs of equal shape (a residual join).

    Examples
    --------
    >>> import convproof as cp
    >>> cp.Add().kind
    'add'
    """

    layer: ClassVar[str] = "add"

    def join_shape(
        self, shapes: Sequence[tuple[Any, ...]], inputs: Sequence[str], name: str
    ) -> tuple[Any, ...]:
        """The common shape; every input must have it."""
        self.require_agreement(shapes, inputs, 0, f"inputs of add {name!r} must have equal shapes")
        return tuple(shapes[0])


@dataclass(frozen=True)
class Concat(JoinLayer):
    """Concatenation of inputs along the channel axis (an Inception join).

    Examples
    --------
    >>> import convproof as cp
    >>> cp.Concat().kind
    'concat'
    """

    layer: ClassVar[str] = "concat"

    def join_shape(
        self, shapes: Sequence[tuple[Any, ...]], inputs: Sequence[str], name: str
    ) -> tuple[Any, ...]:
        """Channels summed; every other axis must agree."""
        message = f"inputs of concat {name!r} must agree in every axis but channels"
        self.require_agreement(shapes, inputs, 1, message)
        return (sum(s[0] for s in shapes), *shapes[0][1:])
