"""Receptive fields: which input positions one output position depends on.

The code below was moved verbatim from ``render.py`` (it belongs to the networks stage's
receptive-field work, issue 12, and is kept apart so that work can replace it in one place).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convproof.errors import ConvProofError
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec

__all__ = ["receptive_field"]

AnySpec = ConvSpec | ConvTransposeSpec | PoolSpec


def _source(pos: int, n: int, mode: str) -> int | None:
    """Input index read at padded coordinate ``pos`` on an axis of length ``n``."""
    if 0 <= pos < n:
        return pos
    if mode == "zeros":
        return None
    if mode == "circular":
        return pos % n
    if mode == "replicate":
        return 0 if pos < 0 else n - 1
    # reflect (edge not repeated); the spec guarantees padding < n
    return -pos if pos < 0 else 2 * (n - 1) - pos


_ELEMENTWISE = ("Activation", "BatchNorm", "Identity", "Dropout")
_SPATIAL_END = ("Flatten", "Linear", "AdaptivePool")


def _network_specs(net: Any) -> list[tuple[str, AnySpec]]:
    """The window layers (name, spec) of a chain-shaped :class:`~convproof.Network`, in order.

    Element-wise layers (activations, batch norm, dropout, identity) do not move receptive
    fields and are skipped; the walk stops at the first flatten / linear / adaptive pool.
    """
    out: list[tuple[str, AnySpec]] = []
    previous = "input"
    for node in net.nodes:
        layer = node.layer
        kind = type(layer).__name__
        if tuple(node.inputs) != (previous,):
            raise ConvProofError(
                f"receptive-field pictures need a chain of layers, but node {node.name!r} "
                f"reads {tuple(node.inputs)}; use cp.summary(...).receptive_region for graphs"
            )
        previous = node.name
        if isinstance(layer, ConvSpec | ConvTransposeSpec | PoolSpec):
            out.append((node.name, layer))
        elif kind in _SPATIAL_END:
            break
        elif kind not in _ELEMENTWISE:
            raise ConvProofError(
                f"receptive-field pictures cannot pass layer {node.name!r} ({kind}); "
                f"use cp.summary(...).receptive_region"
            )
    return out


def _named_layers(layers: Any) -> list[tuple[str, AnySpec]]:
    """``(name, spec)`` per window layer: a network's node names, else ``layer <i>``."""
    if isinstance(layers, ConvSpec | ConvTransposeSpec | PoolSpec):
        return [("layer 0", layers)]
    if hasattr(layers, "nodes"):
        out = _network_specs(layers)
    else:
        out = []
        try:
            for item in layers:
                if not isinstance(item, ConvSpec | ConvTransposeSpec | PoolSpec):
                    raise ConvProofError(
                        f"layers must be specs (ConvSpec, ConvTransposeSpec, PoolSpec) or a "
                        f"Network, got {item!r}"
                    )
                out.append((f"layer {len(out)}", item))
        except TypeError:
            raise ConvProofError(
                f"layers must be a spec, a sequence of specs or a Network, got {layers!r}"
            ) from None
    if not out:
        raise ConvProofError("layers must contain at least one layer, got an empty sequence")
    return out


def _layers(layers: Any) -> list[AnySpec]:
    return [spec for _, spec in _named_layers(layers)]


def _axis_sources(
    spec: AnySpec, ax: int, n_in: int, pads: tuple[int, int], n_out: int, outs: set[int]
) -> set[int]:
    """Input indices along one axis that the given outputs depend on."""
    k, s, d = spec.kernel_size[ax], spec.stride[ax], spec.dilation[ax]
    pl, pr = pads
    found: set[int] = set()
    if isinstance(spec, ConvTransposeSpec):
        for o in outs:
            for u in range(k):
                num = o + pl - u * d
                if num % s == 0 and 0 <= num // s < n_in:
                    found.add(num // s)
        return found
    mode = spec.padding_mode if isinstance(spec, ConvSpec) else "zeros"
    for o in outs:
        for u in range(k):
            t = o * s + u * d - pl
            if -pl <= t < n_in + pr:
                src = _source(t, n_in, mode)
                if src is not None:
                    found.add(src)
    return found


def receptive_field(
    layers: Any, input_shape: Sequence[int], at: Sequence[int]
) -> tuple[tuple[int, ...], ...]:
    """The input positions (per spatial axis) that one output position depends on.

    Traced backwards exactly through every layer's taps (dilation gaps, padding and strides
    included); axes are independent, so the region is the product of the per-axis sets.

    Parameters
    ----------
    layers : spec, sequence of specs, or a chain-shaped :class:`~convproof.Network`
        Applied in order to ``input_shape``.  In a network, element-wise layers are skipped
        and the walk stops at the first flatten / linear / adaptive pool.
    input_shape : tuple of int
        ``(C, *spatial)`` of the first layer's input.
    at : tuple of int
        Spatial output position of the last layer (no channel).

    Returns
    -------
    tuple of tuple of int
        Per spatial axis, the sorted input indices.

    Examples
    --------
    Two 3x3 convs (no padding): output 0 sees inputs 0..4 per axis (receptive field 5).

    >>> import convproof as cp
    >>> c = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3)
    >>> receptive_field([c, c], (1, 8, 8), (0, 0))
    ((0, 1, 2, 3, 4), (0, 1, 2, 3, 4))
    >>> d = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, dilation=3, ndim=1)
    >>> receptive_field(d, (1, 8), (1,))
    ((1, 4),)
    """
    specs = _layers(layers)
    shapes = [tuple(input_shape)]
    for spec in specs:
        try:
            shapes.append(tuple(spec.output_shape(shapes[-1])))
        except ConvProofError as exc:
            raise ConvProofError(f"layer {len(shapes) - 1}: {exc}") from None
    ndim = specs[0].ndim
    if any(sp.ndim != ndim for sp in specs):
        raise ConvProofError("layers must all have the same number of spatial dims")
    out_sp = shapes[-1][-ndim:]
    at_t = tuple(at)
    if len(at_t) != ndim or any(not 0 <= a < n for a, n in zip(at_t, out_sp)):
        raise ConvProofError(
            f"at must be a spatial position inside the output {tuple(out_sp)}, got at={at_t!r}"
        )
    sets = [{a} for a in at_t]
    for spec, shp_in, shp_out in zip(reversed(specs), reversed(shapes[:-1]), reversed(shapes[1:])):
        pads = spec.resolve_padding(shp_in)
        sets = [
            _axis_sources(spec, ax, shp_in[-ndim + ax], pads[ax], shp_out[-ndim + ax], sets[ax])
            for ax in range(ndim)
        ]
    return tuple(tuple(sorted(s)) for s in sets)
