"""PyTorch's resampling and padding modules and functions as exact convproof layers.

:func:`module_layer` reads ``nn.Upsample`` (and ``UpsamplingNearest2d`` /
``UpsamplingBilinear2d``), ``nn.PixelShuffle`` / ``nn.PixelUnshuffle`` and
``nn.ReflectionPad*`` / ``nn.ReplicationPad*`` / ``nn.CircularPad*``; :func:`function_layer`
reads ``F.interpolate``, ``F.pad`` and ``F.pixel_shuffle`` / ``F.pixel_unshuffle`` from a
traced node.  Both return ``None`` for a variant convproof does not model (``mode="area"``,
``antialias=True``, ``recompute_scale_factor=True``, a padding of the channel axis), which
the import then treats as any unmodelled operation.  torch is imported lazily, only here.
"""

from __future__ import annotations

from typing import Any

from convproof.networks.layers import Pad
from convproof.networks.resampling import MODES, Interpolate, PixelShuffle, PixelUnshuffle

__all__ = ["function_layer", "module_layer"]

_PAD_MODES = {"constant": "zeros", "reflect": "reflect", "replicate": "replicate"}
_PAD_MODES["circular"] = "circular"


def _interpolate(
    size: Any, scale: Any, mode: Any, align: Any, recompute: Any, antialias: Any = False
) -> Interpolate | None:
    if mode not in MODES or recompute or antialias:
        return None
    if any(hasattr(v, "op") for v in (size if isinstance(size, list | tuple) else [size])):
        return None  # a traced size: the caller passes the recorded one instead
    return Interpolate(size=size, scale_factor=scale, mode=mode, align_corners=bool(align))


def _pad(flat: Any, spatial: int | None, mode: str, value: Any) -> Pad | None:
    """``(left, right)`` of the last axis first, as PyTorch lists them -> a :class:`Pad`."""
    flat = list(flat)
    if len(flat) % 2 or mode not in _PAD_MODES or not all(isinstance(v, int) for v in flat):
        return None
    pairs = [tuple(flat[i : i + 2]) for i in range(0, len(flat), 2)][::-1]
    if spatial is not None:
        if len(pairs) > spatial:
            return None  # pads the channel (or batch) axis
        pairs = [(0, 0)] * (spatial - len(pairs)) + pairs
    return Pad(tuple(pairs), float(value or 0), mode=_PAD_MODES[mode])


def module_layer(mod: Any) -> Any:
    """The exact layer of a resampling or padding module (``None``: not one modelled)."""
    import torch.nn as nn

    if isinstance(mod, nn.Upsample):
        return _interpolate(
            mod.size, mod.scale_factor, mod.mode, mod.align_corners, mod.recompute_scale_factor
        )
    if isinstance(mod, nn.PixelShuffle):
        return PixelShuffle(mod.upscale_factor)
    if isinstance(mod, nn.PixelUnshuffle):
        return PixelUnshuffle(mod.downscale_factor)
    padding = nn.modules.padding
    for kind, mode in (
        ("_ReflectionPadNd", "reflect"),
        ("_ReplicationPadNd", "replicate"),
        ("_CircularPadNd", "circular"),
    ):
        base = getattr(padding, kind, None)
        if base is not None and isinstance(mod, base):
            return _pad(mod.padding, None, mode, 0)
    return None


def _arg(node: Any, index: int, name: str, default: Any = None) -> Any:
    args = list(node.args)
    return args[index] if len(args) > index else node.kwargs.get(name, default)


def function_layer(node: Any, out: tuple[int, ...] | None, spatial: int | None) -> Any:
    """The exact layer of a traced ``F.interpolate`` / ``F.pad`` / ``F.pixel_(un)shuffle``
    call (``None``: not one modelled).  ``out`` is the recorded per-sample output shape
    (``None`` without shape propagation), used when ``size`` is itself traced (``size =
    x.shape[-2:]``); ``spatial`` is the input's number of spatial axes."""
    name = getattr(node.target, "__name__", str(node.target))
    if node.op == "call_method" and name == "pixel_shuffle":
        name = ""  # no such tensor method
    if name == "interpolate" or name == "upsample":
        size = _arg(node, 1, "size")
        layer = _interpolate(
            size,
            _arg(node, 2, "scale_factor"),
            _arg(node, 3, "mode", "nearest"),
            _arg(node, 4, "align_corners"),
            _arg(node, 5, "recompute_scale_factor"),
            _arg(node, 6, "antialias", False),
        )
        traced = size is not None and any(
            hasattr(v, "op") for v in (size if isinstance(size, list | tuple) else [size])
        )
        if layer is None and traced and out is not None:
            mode, align = _arg(node, 3, "mode", "nearest"), _arg(node, 4, "align_corners")
            layer = _interpolate(tuple(out[1:]), None, mode, align, None)
        return layer
    if name == "pad":
        return _pad(
            _arg(node, 1, "pad"),
            spatial,
            _arg(node, 2, "mode", "constant"),
            _arg(node, 3, "value", 0),
        )
    if name == "pixel_shuffle":
        return PixelShuffle(_arg(node, 1, "upscale_factor"))
    if name == "pixel_unshuffle":
        return PixelUnshuffle(_arg(node, 1, "downscale_factor"))
    return None
