"""The ``convproof net`` subcommand, and loading a network by name, JSON file, or
``package.module:callable`` returning a PyTorch module."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from convproof.errors import ConvProofError
from convproof.presentation.parse import parse_ints, parse_shape

__all__: list[str] = []


def _net_input(source: str) -> Any:
    """The ``input_shape`` recorded in a network description, if any."""
    import json
    from importlib import resources

    from convproof.networks.zoo import NETWORKS

    if source in NETWORKS:
        text = resources.files("convproof").joinpath("data", "networks", f"{source}.json")
        data = json.loads(text.read_text(encoding="utf-8"))
    else:
        data = json.loads(Path(source).read_text(encoding="utf-8"))
    return data.get("input_shape") if isinstance(data, dict) else None


def load_model(text: str, name: str) -> Any:
    """``package.module:callable`` (or ``file.py:callable``) -> the ``nn.Module`` or Network
    it names or returns when called without arguments; imported with importlib and getattr
    only, never evaluated.  ``name`` is the option, for messages."""
    from convproof.networks.graph import Network
    from convproof.networks.torch_import import is_torch_module
    from convproof.presentation.parse import resolve_callable

    model = resolve_callable(text, name)
    if not (is_torch_module(model) or isinstance(model, Network)):
        try:
            model = model()
        except Exception as exc:  # the user's constructor: report, never a traceback
            message = " ".join(str(exc).split())[:300]
            raise ConvProofError(
                f"{name} {text!r} could not be called without arguments: "
                f"{type(exc).__name__}: {message}"
            ) from None
    if not (is_torch_module(model) or isinstance(model, Network)):
        raise ConvProofError(
            f"{name} must name a torch.nn.Module or a function returning one, "
            f"got {type(model).__name__} from {name}={text!r}"
        )
    return model


def _load_net(source: str) -> tuple[Any, Any]:
    """A network name, JSON file or ``module:callable``: the network (or PyTorch module)
    and its recorded input shape (or None)."""
    import json

    from convproof.networks.zoo import NETWORKS, load_network

    if source not in NETWORKS and not Path(source).is_file() and ":" in source:
        return load_model(source, "network"), None
    if source not in NETWORKS and not Path(source).is_file():
        looks_like_file = source.endswith(".json") or "/" in source
        raise ConvProofError(
            (
                f"no such network file {source!r}"
                if looks_like_file
                else f"unknown network {source!r}"
            )
            + f": give a JSON file, package.module:callable (a PyTorch model) or one of "
            f"{', '.join(NETWORKS)}"
        )
    try:
        net = load_network(source)
        recorded = _net_input(source)
    except json.JSONDecodeError as exc:
        raise ConvProofError(
            f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}"
        ) from None
    except UnicodeDecodeError:
        raise ConvProofError(f"{source} is not a text (JSON) file") from None
    return net, recorded


def _network_input(given: str | list[str] | None, recorded: Any, source: str) -> Any:
    """The input shape: ``--in`` if given (repeated: one per input of the model), else the
    one the description records."""
    if isinstance(given, str):
        given = [given]
    if given:
        shapes = [parse_shape(g) for g in given]
        return shapes[0] if len(shapes) == 1 else shapes
    if recorded is not None:
        if recorded and all(isinstance(v, list) for v in recorded):
            return [tuple(v) for v in recorded]
        return tuple(recorded)
    raise ConvProofError(
        f"--in is required: {source} records no input_shape (give e.g. --in 3x224x224)"
    )


def _cmd_net(args: argparse.Namespace) -> int:
    from convproof.networks.summary import summary

    source = args.network
    net, recorded = _load_net(source)
    shape = _network_input(args.input, recorded, source)
    check = {"warn": None, "error": True, "off": False}[args.check_alignment]
    depth = None if args.depth is None else parse_ints(args.depth, "--depth", 1)
    if depth is not None and not isinstance(depth, int):
        raise ConvProofError(f"--depth must be one integer >= 1, got --depth={args.depth!r}")
    result = summary(net, shape, check_alignment=check, depth=depth)
    if args.json:
        print(result.to_json())
    elif args.markdown:
        print(result.to_markdown(exact=args.exact))
    else:
        print(result.to_text(exact=args.exact))
    return 0
