"""The specs as network layers: adapters of :class:`~convproof.ConvSpec`,
:class:`~convproof.ConvTransposeSpec` and :class:`~convproof.PoolSpec` to the
:class:`~convproof.networks.protocol.NetworkLayer` protocol.

A network node holds the spec itself; :func:`~convproof.networks.protocol.as_layer` wraps it
in its adapter here, which gives output sizes (concrete through the spec, symbolic through the
same rules in SymPy), MACs, the receptive-field window, the exact taps read along an axis
(dilation, padding modes, transposed scatter) and the JSON forms (``"conv"``,
``"conv_transpose"``, ``"max_pool"``, ``"avg_pool"``, ``"pool"`` and the specs' own
``to_dict`` form).

Examples
--------
>>> import convproof as cp
>>> from convproof.networks.protocol import as_layer
>>> step = as_layer(cp.ConvSpec(in_channels=1, out_channels=2, kernel_size=3, stride=2)).apply(
...     (1, 9, 9), 2, "conv")
>>> step.shape, step.macs, step.receptive
((2, 4, 4), 288, ((3, 2, 0), (3, 2, 0)))
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, ClassVar

import numpy as np
import sympy

from convproof.constructions.index import map_positions
from convproof.errors import ConvProofError
from convproof.layers import sizes as _sizes
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec, spec_from_dict
from convproof.networks.protocol import NetworkLayer, Step, json_fields
from convproof.networks.values import fmt_shape, is_concrete, norm, prod

__all__: list[str] = []


def _sym_same(i: Any, k_eff: int, s: int, lower: bool) -> tuple[Any, Any]:
    """TF ``SAME`` split for a symbolic size: total ``max(0, (ceil(i/s) - 1)s + k_eff - i)``."""
    i = sympy.Integer(i) if is_concrete(i) else i
    total = sympy.Max(0, (sympy.ceiling(i / s) - 1) * s + k_eff - i)
    small = sympy.floor(total / 2)
    pair = (total - small, small) if lower else (small, total - small)
    return (norm(pair[0]), norm(pair[1]))


class _SpecLayer(NetworkLayer):
    """Adapter of one spec (``self.spec``)."""

    def __init__(self, spec: Any) -> None:
        self.spec = spec

    @property
    def kind(self) -> str:
        """``"conv"``, ``"conv_transpose"``, ``"max_pool"`` or ``"avg_pool"``."""
        return str(self.spec.layer)

    @property
    def ndim(self) -> int:
        """The spec's spatial dims."""
        return int(self.spec.ndim)

    @property
    def num_params(self) -> Any:
        """The spec's weights and bias."""
        return self.spec.num_params

    def _sizes(
        self, shape: tuple[Any, ...], name: str
    ) -> tuple[tuple[Any, ...], tuple[tuple[Any, Any], ...]]:
        """Output per-sample shape and resolved paddings (concrete or symbolic)."""
        spec = self.spec
        c, spatial = shape[0], shape[1:]
        if len(spatial) != spec.ndim:
            raise ConvProofError(
                f"{self.where(name)} expects {spec.ndim} spatial dims, got input shape "
                f"{fmt_shape(shape)}"
            )
        if all(is_concrete(v) for v in spatial):
            try:
                return tuple(spec.output_shape(shape)), spec.resolve_padding(shape)
            except ConvProofError as exc:
                raise ConvProofError(f"{self.where(name)}: {exc}") from None
        # symbolic sizes: the same formulas with SymPy floor/ceiling; no emptiness checks
        expected = getattr(spec, "in_channels", c)
        if c != expected:
            raise ConvProofError(
                f"{self.where(name)}: input_shape has {c} channels but the layer expects "
                f"{expected} (in_channels={expected})"
            )
        pads = tuple(self._symbolic_padding(axis, i) for axis, i in enumerate(spatial))
        sizes = [self._symbolic_size(axis, i, pads[axis]) for axis, i in enumerate(spatial)]
        sizes = [norm(o) if isinstance(o, sympy.Basic) else o for o in sizes]
        return (self._channels(c), *sizes), pads

    def _channels(self, c: Any) -> Any:
        return self.spec.out_channels

    def _symbolic_padding(self, axis: int, i: Any) -> tuple[Any, Any]:
        spec = self.spec
        k_eff, s = spec.effective_kernel_size[axis], spec.stride[axis]
        if isinstance(spec.padding, tuple):
            return tuple(spec.padding[axis])
        if spec.padding == "full":
            return (k_eff - 1, k_eff - 1)
        if spec.padding == "same":
            return ((k_eff - 1) // 2, k_eff - 1 - (k_eff - 1) // 2)
        return _sym_same(i, k_eff, s, spec.padding == "SAME_LOWER")

    def _symbolic_size(self, axis: int, i: Any, pads: tuple[Any, Any]) -> Any:
        spec = self.spec
        k_eff, s = spec.effective_kernel_size[axis], spec.stride[axis]
        if isinstance(spec.padding, str) and spec.padding.startswith("SAME"):
            return sympy.ceiling(sympy.Integer(i) / s if is_concrete(i) else i / s)  # TF's rule
        return (i + pads[0] + pads[1] - k_eff) // s + 1

    def apply(self, shape: tuple[Any, ...], spatial_ndim: int, name: str) -> Step:
        """Sizes from the spec; window ``(k_eff, s, p_left)`` per axis; MACs on outputs."""
        self.needs_spatial(shape, spatial_ndim, name)
        out, pads = self._sizes(shape, name)
        spec = self.spec
        windows = tuple(
            (k, s, pl) for k, s, (pl, _) in zip(spec.effective_kernel_size, spec.stride, pads)
        )
        return Step(
            out,
            macs=self._macs(shape, out),
            bias_adds=prod(out) if spec.bias else 0,
            receptive=windows,
        )

    def _macs(self, shape: tuple[Any, ...], out: tuple[Any, ...]) -> Any:
        return prod([*out, *self.spec.weight_shape[1:]])

    def trace_back(
        self, step: Step, in_shape: tuple[int, ...], axis: int, outs: set[int]
    ) -> set[int] | None:
        """Exact taps: ``o s + u d - p_left`` through the padding mode (the index rule's
        :func:`~convproof.constructions.index.map_positions`)."""
        spec = self.spec
        k, s, d = spec.kernel_size[axis], spec.stride[axis], spec.dilation[axis]
        pl, pr = spec.resolve_padding(in_shape)[axis]
        n_in = in_shape[1 + axis]
        taps = np.array([o * s + u * d - pl for o in outs for u in range(k)], dtype=np.int64)
        taps = taps[(taps >= -pl) & (taps < n_in + pr)]
        # the index rule's padding-mode map: -1 where a padded position holds zero
        sources = map_positions(taps, n_in, spec.padding_mode)
        return {int(v) for v in sources if v >= 0}

    def to_dict(self) -> dict[str, Any]:
        """The spec's ``to_dict`` with ``"type"`` the layer name."""
        d: dict[str, Any] = self.spec.to_dict()
        d["type"] = self.kind
        return d

    @classmethod
    def from_dict(cls, entry: dict[str, Any], ndim: int) -> Any:
        """A spec from its compact JSON (``"type": "conv"``, fields) or its ``to_dict`` form."""
        kind = str(entry.get("type"))
        if kind == cls.spec_type:
            spec_data = {
                k: v
                for k, v in entry.items()
                if k not in ("name", "inputs", "shared", "frozen_params")
            }
            return spec_from_dict(spec_data)
        wraps: Any = cls.wraps
        names = [f for f in wraps.__dataclass_fields__ if f != "kind" or kind == "pool"]
        kwargs = json_fields(entry, names, kind)
        if kind.endswith("_pool"):
            kwargs["kind"] = kind.split("_")[0]
        kwargs.setdefault("ndim", ndim)
        try:
            return wraps(**kwargs)
        except TypeError as exc:
            raise ConvProofError(f"{kind} description is incomplete: {exc}") from None

    spec_type: ClassVar[str] = ""


class _ConvLayer(_SpecLayer):
    wraps: ClassVar[type | None] = ConvSpec
    layer: ClassVar[str] = "conv"
    aliases: ClassVar[tuple[str, ...]] = ("ConvSpec",)
    spec_type: ClassVar[str] = "ConvSpec"


class _PoolLayer(_SpecLayer):
    wraps: ClassVar[type | None] = PoolSpec
    layer: ClassVar[str] = "pool"
    aliases: ClassVar[tuple[str, ...]] = ("max_pool", "avg_pool", "PoolSpec")
    spec_type: ClassVar[str] = "PoolSpec"

    @property
    def kind(self) -> str:
        """``"max_pool"`` or ``"avg_pool"``."""
        return f"{self.spec.kind}_pool"

    def to_dict(self) -> dict[str, Any]:
        """The spec's ``to_dict`` with ``"type"`` ``max_pool`` / ``avg_pool`` for ``kind``."""
        d: dict[str, Any] = self.spec.to_dict()
        d["type"] = f"{d.pop('kind')}_pool"
        return d

    def _channels(self, c: Any) -> Any:
        return c

    def _macs(self, shape: tuple[Any, ...], out: tuple[Any, ...]) -> Any:
        return 0

    def _symbolic_size(self, axis: int, i: Any, pads: tuple[Any, Any]) -> Any:
        if not self.spec.ceil_mode:
            return super()._symbolic_size(axis, i, pads)
        spec = self.spec
        k, d, s = spec.kernel_size[axis], spec.dilation[axis], spec.stride[axis]
        pl, pr = pads
        o = _sizes.pool_ceil_count(i, k, s, d, pl, pr)
        return sympy.Piecewise((o - 1, _sizes.ceil_drops_last(o, s, i, pl)), (o, True))


class _ConvTransposeLayer(_SpecLayer):
    wraps: ClassVar[type | None] = ConvTransposeSpec
    layer: ClassVar[str] = "conv_transpose"
    aliases: ClassVar[tuple[str, ...]] = ("ConvTransposeSpec",)
    spec_type: ClassVar[str] = "ConvTransposeSpec"

    def apply(self, shape: tuple[Any, ...], spatial_ndim: int, name: str) -> Step:
        """Zero insertion (stride ``1/s``) then a stride-1 conv with left padding
        ``k_eff - 1 - p_left``: one window ``(1 + (k_eff - 1)/s, 1/s, (k_eff - 1 - p_left)/s)``
        per axis; MACs counted on *input* positions (torchvision)."""
        step = super().apply(shape, spatial_ndim, name)
        _, pads = self._sizes(shape, name)
        windows = tuple(  # a transposed conv's paddings are always concrete
            (1 + Fraction(k - 1, s), Fraction(1, s), Fraction(k - 1 - pl, s))
            for k, s, (pl, _) in zip(self.spec.effective_kernel_size, self.spec.stride, pads)
        )
        return Step(step.shape, step.macs, step.bias_adds, step.buffers, windows)

    def _macs(self, shape: tuple[Any, ...], out: tuple[Any, ...]) -> Any:
        spec = self.spec
        return prod([spec.in_channels, *shape[1:], *spec.weight_shape[1:]])

    def _symbolic_padding(self, axis: int, i: Any) -> tuple[Any, Any]:
        spec = self.spec
        if isinstance(spec.padding, tuple) or spec.padding in ("full", "same"):
            return super()._symbolic_padding(axis, i)
        k_eff, s = spec.effective_kernel_size[axis], spec.stride[axis]
        total = max(0, spec.output_padding[axis] + k_eff - s)
        small = total // 2
        return (total - small, small) if spec.padding == "SAME_LOWER" else (small, total - small)

    def _symbolic_size(self, axis: int, i: Any, pads: tuple[Any, Any]) -> Any:
        spec = self.spec
        k, d, s = spec.kernel_size[axis], spec.dilation[axis], spec.stride[axis]
        return _sizes.transposed_out(i, k, s, d, pads[0], pads[1], spec.output_padding[axis])

    def trace_back(
        self, step: Step, in_shape: tuple[int, ...], axis: int, outs: set[int]
    ) -> set[int] | None:
        """Exact taps of the transposed scatter: input ``i`` with ``i s + u d - p_left = o``."""
        spec = self.spec
        k, s, d = spec.kernel_size[axis], spec.stride[axis], spec.dilation[axis]
        pl = spec.resolve_padding(in_shape)[axis][0]
        n_in = in_shape[1 + axis]
        found: set[int] = set()
        for o in outs:
            for u in range(k):
                num = o + pl - u * d
                if num % s == 0 and 0 <= num // s < n_in:
                    found.add(num // s)
        return found
