"""The ``convproof net`` subcommand, and loading a network description by name or file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from convproof.errors import ConvProofError
from convproof.presentation.parse import parse_shape

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


def _load_net(source: str) -> tuple[Any, Any]:
    """A network name or JSON file: the network and its recorded input shape (or None)."""
    import json

    from convproof.networks.zoo import NETWORKS, load_network

    if source not in NETWORKS and not Path(source).is_file():
        looks_like_file = source.endswith(".json") or "/" in source
        raise ConvProofError(
            (
                f"no such network file {source!r}"
                if looks_like_file
                else f"unknown network {source!r}"
            )
            + f": give a JSON file or one of {', '.join(NETWORKS)}"
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


def _network_input(given: str | None, recorded: Any, source: str) -> Any:
    """The input shape: ``--in`` if given, else the one the description records."""
    if given is not None:
        return parse_shape(given)
    if recorded is not None:
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
    result = summary(net, shape, check_alignment=check)
    if args.json:
        print(result.to_json())
    elif args.markdown:
        print(result.to_markdown())
    else:
        print(result.to_text())
    return 0
