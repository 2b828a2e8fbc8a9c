"""Networks as JSON: reading (:func:`network_from_dict`, :func:`network_from_json`) and the
networks shipped as package data (:data:`NETWORKS`, :func:`load_network`).

Layer entries are read by their registered ``"type"`` (each
:class:`~convproof.networks.protocol.NetworkLayer` kind says how it reads and writes itself);
this module adds the structure: ``sequential``, ``residual``, ``parallel`` and the flat graph
form with explicit ``inputs`` that :meth:`~convproof.Network.to_dict` writes.

Examples
--------
>>> import convproof as cp
>>> cp.load_network("alexnet").names[:3]
('features.0', 'features.1', 'features.2')
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from convproof.errors import ConvProofError
from convproof.networks.graph import (
    FORMAT,
    INPUT,
    Network,
    Node,
    Parallel,
    Residual,
    Sequential,
    _Builder,
)
from convproof.networks.protocol import json_fields, layer_from_dict
from convproof.networks.values import check_bool, check_int

__all__ = ["NETWORKS", "load_network", "network_from_dict", "network_from_json"]

#: Names of the networks shipped as package data (``load_network(name)``).
NETWORKS = ("alexnet", "vgg16", "resnet18", "resnet50", "mobilenet_v2")

_STRUCTURE = ("sequential", "parallel", "residual")


def _layer_from_dict(entry: dict[str, Any], ndim: int) -> Any:
    return layer_from_dict(entry, ndim, _STRUCTURE)


def _items_from_json(entries: Any, ndim: int, path: str) -> list[Any]:
    if not isinstance(entries, list):
        raise ConvProofError(f"{path} must be a list of layers, got {type(entries).__name__}")
    return [_item_from_json(e, ndim, f"{path}[{i}]") for i, e in enumerate(entries)]


def _item_from_json(entry: Any, ndim: int, path: str) -> Any:
    if not isinstance(entry, dict):
        raise ConvProofError(f"{path} must be a JSON object, got {entry!r}")
    name = entry.get("name")
    if name is not None and not isinstance(name, str):
        raise ConvProofError(f"{path}.name must be a string, got name={name!r}")
    kind = entry.get("type")
    try:
        if kind == "sequential":
            json_fields(entry, ["layers"], kind)
            return Sequential(_items_from_json(entry.get("layers"), ndim, f"{path}.layers"), name)
        if kind == "residual":
            json_fields(entry, ["body", "shortcut"], kind)
            body = _items_from_json(entry.get("body"), ndim, f"{path}.body")
            shortcut = _items_from_json(entry.get("shortcut", []), ndim, f"{path}.shortcut")
            return Residual(body, shortcut, name)
        if kind == "parallel":
            json_fields(entry, ["branches", "join"], kind)
            branches = entry.get("branches")
            if not isinstance(branches, list):
                raise ConvProofError(
                    f"branches must be a list of lists of layers, got branches={branches!r}"
                )
            join = entry.get("join", "add")
            if join not in ("add", "concat"):
                raise ConvProofError(f"join must be 'add' or 'concat', got join={join!r}")
            return Parallel(
                [
                    _items_from_json(b, ndim, f"{path}.branches[{i}]")
                    for i, b in enumerate(branches)
                ],
                join,
                name,
            )
        layer = _layer_from_dict(entry, ndim)
    except ConvProofError as exc:
        msg = str(exc)
        if msg.startswith("$"):
            raise
        raise ConvProofError(f"{path}: {msg}") from None
    return (name, layer) if name is not None else layer


def network_from_dict(data: dict[str, Any]) -> Network:
    """Read a network from its JSON form.

    Schema (``"format": "convproof.network/1"``)::

        {"name": "...", "ndim": 2, "description": "...",  # optional
         "input_shape": [3, 224, 224],  # optional, informational (summary takes a shape)
         "layers": [ LAYER, ... ]}

    A ``LAYER`` is an object with ``"type"`` and an optional ``"name"``:

    - ``"conv"`` / ``"conv_transpose"``: :class:`~convproof.ConvSpec` /
      :class:`~convproof.ConvTransposeSpec` fields (``in_channels``, ``kernel_size``, ...);
      ``"max_pool"`` / ``"avg_pool"``: :class:`~convproof.PoolSpec` fields; or the
      :meth:`~convproof.ConvSpec.to_dict` form (``"type": "ConvSpec"``, ...);
    - ``"activation"`` (``function``) or an activation name (``"relu"``, ``"relu6"``, ...),
      ``"batch_norm"`` (``num_features``), ``"identity"``, ``"dropout"`` (``p``),
      ``"pad"`` (``padding`` as ``[[before, after], ...]``), ``"flatten"``,
      ``"linear"`` (``in_features``, ``out_features``, ``bias``),
      ``"adaptive_avg_pool"`` / ``"adaptive_max_pool"`` (``output_size``);
    - structure: ``"sequential"`` (``layers``; its name prefixes its members),
      ``"residual"`` (``body``, optional ``shortcut``), ``"parallel"``
      (``branches``, ``join``: ``"add"`` or ``"concat"``).

    An entry may name its ``"inputs"`` explicitly (the flat graph form that
    :meth:`Network.to_dict` writes, joins ``"add"`` / ``"concat"`` included); otherwise it
    reads the previous layer.

    Raises
    ------
    ConvProofError
        Naming the JSON path of the bad entry, e.g. ``$.layers[3].kernel_size ...``.

    Examples
    --------
    >>> import convproof as cp
    >>> net = cp.network_from_dict({"name": "tiny", "layers": [
    ...     {"name": "conv", "type": "conv", "in_channels": 1, "out_channels": 4,
    ...      "kernel_size": 3},
    ...     {"type": "relu"}]})
    >>> net.names
    ('conv', '1')
    >>> cp.network_from_dict({"layers": [{"type": "conv", "in_channels": 1,
    ...                                   "out_channels": 4, "kernel_size": 0}]})
    Traceback (most recent call last):
    ...
    convproof.errors.ConvProofError: $.layers[0]: kernel_size must be >= 1 in every \
dimension, got kernel_size=0
    """
    if not isinstance(data, dict):
        raise ConvProofError(f"network data must be a JSON object, got {type(data).__name__}")
    fmt = data.get("format", FORMAT)
    if fmt != FORMAT:
        raise ConvProofError(f"format must be {FORMAT!r}, got format={fmt!r}")
    unknown = set(data) - {
        "format",
        "name",
        "ndim",
        "input_shape",
        "inputs",
        "layers",
        "description",
    }
    if unknown:
        raise ConvProofError(
            f"unknown top-level field {sorted(unknown)[0]!r} (accepted: description, format, "
            f"input_shape, inputs, layers, name, ndim)"
        )
    name = data.get("name", "network")
    ndim = data.get("ndim", 2)
    try:
        check_int("ndim", ndim, 1)
    except ConvProofError as exc:
        raise ConvProofError(f"$.ndim: {exc}") from None
    layers = data.get("layers")
    if not isinstance(layers, list):
        raise ConvProofError(f"$.layers must be a list of layers, got {type(layers).__name__}")
    inputs = data.get("inputs", [INPUT])
    if not isinstance(inputs, list) or not all(isinstance(v, str) for v in inputs):
        raise ConvProofError(f"$.inputs must be a list of names, got inputs={inputs!r}")
    if any(isinstance(e, dict) and "inputs" in e for e in layers) or inputs != [INPUT]:
        return _graph_from_json(layers, ndim, str(name), tuple(inputs))
    items = _items_from_json(layers, ndim, "$.layers")
    builder = _Builder()
    try:
        builder.sequence(items, INPUT, prefix="", path="$.layers")
    except ConvProofError as exc:
        raise ConvProofError(str(exc)) from None
    return Network.from_nodes(builder.nodes, name=str(name))


def _graph_from_json(
    layers: list[Any], ndim: int, name: str, inputs: tuple[str, ...] = (INPUT,)
) -> Network:
    nodes = []
    previous = INPUT
    for i, entry in enumerate(layers):
        path = f"$.layers[{i}]"
        if not isinstance(entry, dict):
            raise ConvProofError(f"{path} must be a JSON object, got {entry!r}")
        node_name = entry.get("name", str(i))
        entry_inputs = entry.get("inputs", [previous])
        if not isinstance(entry_inputs, list) or not all(isinstance(x, str) for x in entry_inputs):
            raise ConvProofError(
                f"{path}.inputs must be a list of names, got inputs={entry_inputs!r}"
            )
        shared = entry.get("shared", False)
        frozen = entry.get("frozen_params", 0)
        try:
            layer = _layer_from_dict(entry, ndim)
            check_bool("shared", shared)
            check_int("frozen_params", frozen, 0)
        except ConvProofError as exc:
            raise ConvProofError(f"{path}: {exc}") from None
        nodes.append(Node(node_name, layer, tuple(entry_inputs), shared, frozen))
        previous = node_name
    try:
        return Network.from_nodes(nodes, name=name, inputs=inputs)
    except ConvProofError as exc:
        raise ConvProofError(f"$.layers: {exc}") from None


def network_from_json(text: str) -> Network:
    """Read a network from a JSON string (see :func:`network_from_dict`).

    Examples
    --------
    >>> import convproof as cp
    >>> cp.network_from_json('{"layers": [{"type": "flatten"}]}').names
    ('0',)
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConvProofError(f"text must be valid JSON: {exc}") from None
    return network_from_dict(data)


def load_network(name_or_path: str | Path) -> Network:
    """A shipped network by name (see ``NETWORKS``) or a network from a JSON file.

    The shipped descriptions follow torchvision's architectures (``alexnet``, ``vgg16``,
    ``resnet18``, ``resnet50`` (v1.5: stride on the 3x3 conv), ``mobilenet_v2``) and use
    ``torch.fx``'s node names, so their summaries match those of the PyTorch modules.

    Examples
    --------
    >>> import convproof as cp
    >>> net = cp.load_network("resnet18")
    >>> net.names[:4], len(net)
    (('conv1', 'bn1', 'relu', 'maxpool'), 69)
    """
    if isinstance(name_or_path, str) and name_or_path in NETWORKS:
        text = (
            resources.files("convproof")
            .joinpath("data", "networks", f"{name_or_path}.json")
            .read_text(encoding="utf-8")
        )
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise ConvProofError(
                f"name_or_path must be one of {', '.join(map(repr, NETWORKS))} or a JSON file, "
                f"got name_or_path={str(name_or_path)!r}"
            )
        text = path.read_text(encoding="utf-8")
    return network_from_json(text)
