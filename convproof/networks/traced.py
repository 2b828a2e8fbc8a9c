"""Layer kinds that the PyTorch import produces for operations beyond the specs.

* exact: :class:`Elementwise` (``x * 2``, ``x + bias_parameter``: shape unchanged, MACs 0),
  :class:`Multiply` (``a * b`` of two traced tensors, broadcasting: squeeze-excitation gates),
  :class:`Rearrange` (``view``/``reshape``/``permute``/``transpose`` to a recorded per-sample
  shape; MACs 0, positions rearranged), :class:`SpatialMean` (``x.mean((2, 3))``);
* :class:`Opaque` / :class:`OpaqueJoin`: an operation convproof does not model.  Its output
  shape comes from PyTorch's own shape propagation (fake/meta tensors, no real compute) for the
  one input shape it was recorded with; its parameters are counted from the module; its MACs
  are **unknown** (``Step.macs is None``) and the receptive field ends there, with a note that
  names the operation, the module path and the source line.

Examples
--------
>>> from convproof.networks.traced import Opaque
>>> op = Opaque("LayerNorm", "encoder.ln (model.py:12)", (4, 8), (4, 8), 16)
>>> step = op.apply((4, 8), 0, "encoder.ln")
>>> step.shape, step.macs
((4, 8), None)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from convproof.errors import ConvProofError
from convproof.networks.layers import JoinLayer
from convproof.networks.protocol import NetworkLayer, Resets, Step
from convproof.networks.values import fmt_shape, is_concrete, prod

__all__ = [
    "ChannelSelect",
    "Elementwise",
    "Multiply",
    "Opaque",
    "OpaqueJoin",
    "Rearrange",
    "SpatialMean",
]


def _same(shape: tuple[Any, ...], recorded: tuple[Any, ...], where: str) -> None:
    if tuple(shape) != tuple(recorded):
        raise ConvProofError(
            f"{where} was recorded for input shape {fmt_shape(recorded)}, got input shape "
            f"{fmt_shape(shape)}; import the model again for this input shape"
        )


class _NamedOp:
    """Layers recorded as an operation ``op`` reading ``params`` parameters: the row label
    is ``op``, the parameter count ``params`` (counted by PyTorch)."""

    op: str
    params: int

    @property
    def kind(self) -> str:
        """The operation (``"mul"``, ``"layer_norm"``, ...)."""
        return self.op

    @property
    def num_params(self) -> int:
        """Parameters the operation reads (a layer scale, affine parameters, ...)."""
        return self.params


class _UnmodelledOp(_NamedOp):
    @property
    def kind(self) -> str:
        """``"?<op>"``: the question mark says the MACs are unknown."""
        return f"?{self.op}"


@dataclass(frozen=True)
class Elementwise(_NamedOp, NetworkLayer):
    """An element-wise operation (``op``) with constants or its own parameters (``params``).

    Examples
    --------
    >>> from convproof.networks.traced import Elementwise
    >>> Elementwise("mul", 96).apply((96, 7, 7), 2, "scale").shape
    (96, 7, 7)
    """

    op: str = "mul"
    params: int = 0
    layer: ClassVar[str] = "elementwise"


@dataclass(frozen=True)
class Multiply(JoinLayer):
    """The element-wise product of two or more traced tensors, broadcasting (MACs 0, like add).

    Examples
    --------
    >>> from convproof.networks.traced import Multiply
    >>> Multiply().join_shape([(8, 5, 5), (8, 1, 1)], ["x", "gate"], "mul")
    (8, 5, 5)
    """

    layer: ClassVar[str] = "multiply"

    def join_shape(
        self, shapes: Sequence[tuple[Any, ...]], inputs: Sequence[str], name: str
    ) -> tuple[Any, ...]:
        """The broadcast shape; an error naming the inputs when they do not broadcast."""
        rank = max(len(s) for s in shapes)
        out = []
        for axis in range(rank):
            sizes = {s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0}
            sizes.discard(1)
            if len(sizes) > 1:
                detail = ", ".join(f"{n}: {fmt_shape(s)}" for n, s in zip(inputs, shapes))
                raise ConvProofError(f"inputs of mul {name!r} do not broadcast: {detail}")
            out.append(sizes.pop() if sizes else 1)
        return tuple(out)

    def join_step(self, shapes: Sequence[tuple[Any, ...]]) -> Step | None:
        """Equal shapes: an aligned join (``None``); a broadcast input (a squeeze-excitation
        gate of spatial size 1) reads every position, so the receptive field ends."""
        if all(tuple(s) == tuple(shapes[0]) for s in shapes):
            return None
        out = self.join_shape(shapes, [f"input {i}" for i in range(len(shapes))], "mul")
        note = "product with a broadcast input, which reads every position"
        return Step(out, receptive=Resets(note, spatial=all(len(s) == len(out) for s in shapes)))


@dataclass(frozen=True)
class Rearrange(NetworkLayer):
    """A reshape or permutation to a recorded per-sample ``shape`` (same element count).

    Examples
    --------
    >>> from convproof.networks.traced import Rearrange
    >>> Rearrange((49, 768), "flatten(2).transpose").apply((768, 7, 7), 2, "x").shape
    (49, 768)
    """

    shape: tuple[int, ...] = ()
    op: str = "reshape"
    layer: ClassVar[str] = "rearrange"

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(self.shape))

    @property
    def kind(self) -> str:
        """The operation (``"reshape"``, ``"permute"``, ...)."""
        return self.op

    def apply(self, shape: tuple[Any, ...], spatial_ndim: int, name: str) -> Step:
        """``self.shape``; an error when the element count differs."""
        if is_concrete(prod(shape)) and prod(shape) != prod(self.shape):
            raise ConvProofError(
                f"{self.where(name)} cannot rearrange {fmt_shape(shape)} into "
                f"{fmt_shape(self.shape)}"
            )
        if tuple(shape) == self.shape:
            return Step(tuple(shape))
        keeps = len(shape) == len(self.shape)
        return Step(self.shape, receptive=Resets(f"positions rearranged by {self.op}", keeps))


@dataclass(frozen=True)
class ChannelSelect(NetworkLayer):
    """Channels ``start .. start + channels - 1`` of the input (``x.chunk(2, dim=1)[0]``,
    ``x[:, a:b]``): spatial positions unchanged, MACs 0.

    Examples
    --------
    >>> from convproof.networks.traced import ChannelSelect
    >>> ChannelSelect(0, 58).apply((116, 28, 28), 2, "x").shape
    (58, 28, 28)
    """

    start: int = 0
    channels: int = 1
    layer: ClassVar[str] = "channel_select"

    @property
    def kind(self) -> str:
        """``"channels"``."""
        return "channels"

    def apply(self, shape: tuple[Any, ...], spatial_ndim: int, name: str) -> Step:
        """``(channels, *spatial)``; an error when the range is outside the input."""
        if not shape or (is_concrete(shape[0]) and self.start + self.channels > shape[0]):
            raise ConvProofError(
                f"{self.where(name)} selects channels {self.start}..."
                f"{self.start + self.channels - 1} of input shape {fmt_shape(shape)}"
            )
        return Step((self.channels, *shape[1:]))


@dataclass(frozen=True)
class SpatialMean(NetworkLayer):
    """The mean over every spatial axis (``x.mean((2, 3))``, ``keepdim`` or not).

    Examples
    --------
    >>> from convproof.networks.traced import SpatialMean
    >>> SpatialMean(keepdim=False).apply((1280, 7, 7), 2, "mean").shape
    (1280,)
    """

    keepdim: bool = False
    layer: ClassVar[str] = "spatial_mean"

    def apply(self, shape: tuple[Any, ...], spatial_ndim: int, name: str) -> Step:
        """``(C,)`` or ``(C, 1, ...)``; the receptive field ends (every position is read)."""
        if len(shape) < 2:
            raise ConvProofError(
                f"{self.where(name)} needs a (C, *spatial) input, got input shape "
                f"{fmt_shape(shape)}"
            )
        if self.keepdim:
            return Step(
                (shape[0],) + (1,) * (len(shape) - 1),
                receptive=Resets("global mean over the spatial axes", spatial=True),
            )
        return Step((shape[0],), receptive=Resets("global mean over the spatial axes"))


@dataclass(frozen=True)
class Normalization(_NamedOp, NetworkLayer):
    """LayerNorm, GroupNorm, InstanceNorm, LocalResponseNorm: shape unchanged, MACs 0 (as
    batch norm: normalisation is not counted), ``params`` and ``buffers`` from the module.
    ``mixes_positions``: statistics over spatial positions (group/instance norm, a layer
    norm whose last axis is spatial), so an output reads every position and the receptive
    field ends; local response norm mixes channels only.

    Examples
    --------
    >>> from convproof.networks.traced import Normalization
    >>> Normalization("group_norm", 64, 0, True).apply((32, 8, 8), 2, "gn").shape
    (32, 8, 8)
    """

    op: str = "layer_norm"
    params: int = 0
    buffers: int = 0
    mixes_positions: bool = True
    layer: ClassVar[str] = "normalization"

    def apply(self, shape: tuple[Any, ...], spatial_ndim: int, name: str) -> Step:
        """Shape unchanged; MACs 0; receptive field ends when positions are mixed."""
        if self.mixes_positions and spatial_ndim:
            note = f"{self.op} statistics over spatial positions"
            return Step(tuple(shape), buffers=self.buffers, receptive=Resets(note, True))
        return Step(tuple(shape), buffers=self.buffers)


@dataclass(frozen=True)
class Opaque(_UnmodelledOp, NetworkLayer):
    """An operation convproof does not model: recorded shapes, counted params, MACs unknown.

    Attributes
    ----------
    op : str
        What it is (``"LayerNorm"``, ``"call_function getitem"``).
    origin : str
        Module path and source line.
    in_shape, out_shape : tuple
        Per-sample shapes from PyTorch's shape propagation (first tensor input, output).
    params : int
    """

    op: str = ""
    origin: str = ""
    in_shape: tuple[int, ...] = ()
    out_shape: tuple[int, ...] = ()
    params: int = 0
    layer: ClassVar[str] = "opaque"

    def __post_init__(self) -> None:
        object.__setattr__(self, "in_shape", tuple(self.in_shape))
        object.__setattr__(self, "out_shape", tuple(self.out_shape))

    @property
    def note(self) -> str:
        """Why MACs and receptive field are unknown, and where the operation is."""
        return f"{self.op} is not modelled (at {self.origin}): MACs unknown, shape from PyTorch"

    def apply(self, shape: tuple[Any, ...], spatial_ndim: int, name: str) -> Step:
        """The recorded output shape, ``macs=None`` (unknown), the receptive field ends."""
        _same(shape, self.in_shape, self.where(name))
        keeps = len(self.in_shape) == len(self.out_shape)
        return Step(self.out_shape, macs=None, bias_adds=None, receptive=Resets(self.note, keeps))


@dataclass(frozen=True)
class OpaqueJoin(_UnmodelledOp, JoinLayer):
    """:class:`Opaque` reading two or more traced tensors."""

    op: str = ""
    origin: str = ""
    out_shape: tuple[int, ...] = ()
    params: int = 0
    keeps_rank: bool = False
    layer: ClassVar[str] = "opaque_join"

    def __post_init__(self) -> None:
        object.__setattr__(self, "out_shape", tuple(self.out_shape))

    def join_shape(
        self, shapes: Sequence[tuple[Any, ...]], inputs: Sequence[str], name: str
    ) -> tuple[Any, ...]:
        """The recorded output shape."""
        return self.out_shape

    def join_step(self, shapes: Sequence[tuple[Any, ...]]) -> Step:
        """MACs unknown; the receptive field ends."""
        note = f"{self.op} is not modelled (at {self.origin}): MACs unknown, shape from PyTorch"
        return Step(
            self.out_shape, macs=None, bias_adds=None, receptive=Resets(note, self.keeps_rank)
        )
