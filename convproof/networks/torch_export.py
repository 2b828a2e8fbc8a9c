"""``network_to_json(model, input_shape)``: a PyTorch model as a convproof network description.

The model is imported as :func:`convproof.summary` imports it (``torch.fx`` trace, shapes
from PyTorch's meta-device propagation, no forward pass) and written in the
``convproof.network/1`` JSON format that :func:`~convproof.load_network`,
:func:`~convproof.network_from_json` and ``convproof net FILE.json`` read, with the
``input_shape`` it was imported for.  The description needs no PyTorch to read.

Operations convproof does not model (their MACs are unknown; their output shape is the one
PyTorch recorded for this input shape only) have no faithful description: by default they
are an error naming the module path and source line; ``allow_opaque=True`` writes them as
``"opaque"`` layers valid for this input shape only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from convproof.errors import ConvProofError
from convproof.networks.graph import Network
from convproof.networks.torch_import import is_torch_module, network_from_torch
from convproof.networks.traced import Opaque, OpaqueJoin

__all__ = ["network_to_json"]


def network_to_json(
    model: Any,
    input_shape: Sequence[Any],
    *,
    name: str | None = None,
    allow_opaque: bool = False,
    indent: int | None = 2,
) -> str:
    """The network description (JSON text) of a PyTorch module for ``input_shape``.

    Parameters
    ----------
    model : torch.nn.Module or Network
        A module (traced; no forward pass) or a convproof network.
    input_shape : tuple or list of tuples
        ``(C, *spatial)`` or ``(N, C, *spatial)`` with integer sizes (one shape per input
        for a model taking several tensors); recorded as the description's
        ``input_shape``.
    name : str, optional
        The description's ``name`` (default: the module's class name).
    allow_opaque : bool
        Write operations convproof does not model as ``"opaque"`` layers (recorded
        shapes, MACs unknown, valid for this input shape only) instead of raising.
    indent : int or None
        JSON indentation.

    Returns
    -------
    str
        JSON that :func:`~convproof.network_from_json` reads; ``summary`` of the result
        equals ``summary`` of the model (params, MACs, shapes, receptive fields).

    Raises
    ------
    ConvProofError
        ``model`` is neither a module nor a network, the shape is not concrete, or (unless
        ``allow_opaque``) the model holds an operation the format cannot express: the
        message names its module path and source line.

    Examples
    --------
    >>> import convproof as cp, json
    >>> text = cp.network_to_json(cp.load_network("alexnet"), (3, 224, 224), indent=None)
    >>> json.loads(text)["input_shape"]
    [3, 224, 224]
    >>> cp.summary(cp.network_from_json(text), (3, 224, 224)).total_macs
    714188480
    """
    if not isinstance(allow_opaque, bool):
        raise ConvProofError(f"allow_opaque must be a bool, got allow_opaque={allow_opaque!r}")
    shapes = _shapes(input_shape)
    if is_torch_module(model):
        net = network_from_torch(model, name=name, input_shape=input_shape)
    elif isinstance(model, Network):
        net = model if name is None else Network.from_nodes(model.nodes, name, model.inputs)
    else:
        raise ConvProofError(
            f"model must be a torch.nn.Module or a convproof Network, got {type(model).__name__}"
        )
    if not allow_opaque:
        for node in net.nodes:
            if isinstance(node.layer, Opaque | OpaqueJoin):
                raise ConvProofError(
                    f"model holds {node.layer.op} at {node.layer.origin}, which the network "
                    f"description format cannot express (convproof does not model it); "
                    f"allow_opaque=True writes it with the shape recorded for this input shape"
                )
    data = net.to_dict()
    recorded: Any = list(shapes[0]) if len(shapes) == 1 else [list(s) for s in shapes]
    data = {**{k: v for k, v in data.items() if k != "layers"}, "input_shape": recorded}
    data["layers"] = net.to_dict()["layers"]
    return json.dumps(data, indent=indent)


def _shapes(input_shape: Any) -> list[tuple[int, ...]]:
    """The input shape(s), checked to be concrete."""
    given = list(input_shape) if isinstance(input_shape, list | tuple) else None
    if not given:
        raise ConvProofError(
            f"input_shape must be a tuple of ints (or a list of them), "
            f"got input_shape={input_shape!r}"
        )
    shapes = given if all(isinstance(s, list | tuple) for s in given) else [given]
    for s in shapes:
        if not s or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in s):
            raise ConvProofError(
                f"input_shape must hold positive ints (a description records concrete "
                f"sizes), got input_shape={input_shape!r}"
            )
    return [tuple(s) for s in shapes]
