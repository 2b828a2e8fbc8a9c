"""Import a PyTorch ``nn.Module`` as a convproof :class:`~convproof.networks.graph.Network`.

The module is traced with ``torch.fx.symbolic_trace`` (torch is imported lazily, only here),
so residual ``out + identity`` and ``torch.cat`` become join nodes.  Leaf modules map to
specs and layers; node names are the module paths (``"layer1.0.conv1"``; a module called
twice gets ``"@1"``, as in ``torch.fx``'s ``nn_module_stack``), and functions are named after
the innermost module that calls them (``"layer1.0.add"``).  Nothing is run: no forward pass.
"""

from __future__ import annotations

import operator
import re
from typing import Any

from convproof.errors import ConvProofError
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec
from convproof.networks.graph import INPUT, Network, Node
from convproof.networks.layers import (
    ACTIVATIONS,
    Activation,
    AdaptivePool,
    Add,
    BatchNorm,
    Concat,
    Dropout,
    Flatten,
    Identity,
    Linear,
    Pad,
)

__all__ = ["is_torch_module", "network_from_torch"]

_ACT_MODULES = {
    "ReLU": "relu",
    "ReLU6": "relu6",
    "LeakyReLU": "leaky_relu",
    "ELU": "elu",
    "SELU": "selu",
    "CELU": "celu",
    "GELU": "gelu",
    "SiLU": "silu",
    "Mish": "mish",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Hardswish": "hardswish",
    "Hardsigmoid": "hardsigmoid",
    "Hardtanh": "hardtanh",
    "Softplus": "softplus",
    "Softmax": "softmax",
    "LogSoftmax": "log_softmax",
}
_IDENTITY_METHODS = {"contiguous", "clone", "detach"}


def is_torch_module(obj: Any) -> bool:
    """Whether ``obj`` is a ``torch.nn.Module`` (without importing torch when it is absent).

    Examples
    --------
    >>> from convproof.networks.torch_import import is_torch_module
    >>> is_torch_module(object())
    False
    """
    for cls in type(obj).__mro__:
        if cls.__module__ == "torch.nn.modules.module" and cls.__name__ == "Module":
            return True
    return False


def _module_layer(mod: Any, path: str) -> Any:
    """One leaf module -> a convproof layer."""
    import torch.nn as nn

    name = type(mod).__name__
    if isinstance(mod, nn.modules.conv._ConvTransposeNd):
        return ConvTransposeSpec(
            in_channels=mod.in_channels,
            out_channels=mod.out_channels,
            kernel_size=tuple(mod.kernel_size),
            stride=tuple(mod.stride),
            padding=tuple(int(p) for p in mod.padding),
            output_padding=tuple(mod.output_padding),
            dilation=tuple(mod.dilation),
            groups=mod.groups,
            bias=mod.bias is not None,
        )
    if isinstance(mod, nn.modules.conv._ConvNd):
        return ConvSpec(
            in_channels=mod.in_channels,
            out_channels=mod.out_channels,
            kernel_size=tuple(mod.kernel_size),
            stride=tuple(mod.stride),
            padding=mod.padding if isinstance(mod.padding, str) else tuple(mod.padding),
            dilation=tuple(mod.dilation),
            groups=mod.groups,
            bias=mod.bias is not None,
            padding_mode=mod.padding_mode,
            ndim=len(mod.kernel_size),
        )
    pools = {
        nn.MaxPool1d: 1,
        nn.MaxPool2d: 2,
        nn.MaxPool3d: 3,
        nn.AvgPool1d: 1,
        nn.AvgPool2d: 2,
        nn.AvgPool3d: 3,
    }
    if type(mod) in pools:
        kind = "max" if name.startswith("Max") else "avg"
        extra: dict[str, Any] = {}
        if kind == "max":
            extra["dilation"] = mod.dilation
        else:
            extra["count_include_pad"] = mod.count_include_pad
        return PoolSpec(
            kind=kind,
            kernel_size=mod.kernel_size,
            stride=mod.stride if mod.stride not in (None, ()) else None,
            padding=mod.padding,
            ceil_mode=mod.ceil_mode,
            ndim=pools[type(mod)],
            **extra,
        )
    adaptive = {
        nn.AdaptiveAvgPool1d: (1, "avg"),
        nn.AdaptiveAvgPool2d: (2, "avg"),
        nn.AdaptiveAvgPool3d: (3, "avg"),
        nn.AdaptiveMaxPool1d: (1, "max"),
        nn.AdaptiveMaxPool2d: (2, "max"),
        nn.AdaptiveMaxPool3d: (3, "max"),
    }
    if type(mod) in adaptive:
        ndim, kind = adaptive[type(mod)]
        return AdaptivePool(mod.output_size, kind=kind, ndim=ndim)
    if isinstance(mod, nn.modules.batchnorm._BatchNorm):
        return BatchNorm(mod.num_features, mod.affine, mod.track_running_stats)
    if name in _ACT_MODULES:
        return Activation(_ACT_MODULES[name])
    if isinstance(mod, nn.modules.dropout._DropoutNd):
        return Dropout(float(mod.p))
    if isinstance(mod, nn.Identity):
        return Identity()
    if isinstance(mod, nn.Flatten):
        if mod.start_dim != 1 or mod.end_dim != -1:
            raise ConvProofError(
                f"module {path!r}: only Flatten(start_dim=1, end_dim=-1) is supported, got "
                f"start_dim={mod.start_dim}, end_dim={mod.end_dim}"
            )
        return Flatten()
    if isinstance(mod, nn.Linear):
        return Linear(mod.in_features, mod.out_features, mod.bias is not None)
    if isinstance(mod, nn.modules.padding._ConstantPadNd):
        # torch lists (left, right) of the LAST axis first
        flat = list(mod.padding)
        pairs = [tuple(flat[i : i + 2]) for i in range(0, len(flat), 2)][::-1]
        return Pad(tuple(pairs), float(mod.value))
    raise ConvProofError(
        f"module {path!r} of type {name} is not supported (supported: Conv*/ConvTranspose*, "
        f"Max/AvgPool*, AdaptiveAvg/MaxPool*, BatchNorm*, Linear, Flatten, Dropout*, Identity, "
        f"ZeroPad*/ConstantPad*, activations {', '.join(sorted(_ACT_MODULES))})"
    )


def _function_layer(node: Any) -> tuple[Any, list[Any]]:
    """A ``call_function`` / ``call_method`` node -> (layer, tensor arguments)."""
    import torch
    import torch.nn.functional as F

    target = node.target
    args = list(node.args)
    kwargs = dict(node.kwargs)
    what = f"{node.op} {node.name!r} ({getattr(target, '__name__', target)})"

    def tensor_args(values: list[Any]) -> list[Any]:
        return [v for v in values if hasattr(v, "op")]

    if node.op == "call_method":
        method = target
        if method in ("add", "add_"):
            return Add(), tensor_args(args)
        if method in ("relu", "relu_", "sigmoid", "tanh"):
            return Activation(method.rstrip("_")), args[:1]
        if method in _IDENTITY_METHODS:
            return Identity(), args[:1]
        if method == "flatten":
            start = args[1] if len(args) > 1 else kwargs.get("start_dim", 0)
            if start == 1 and kwargs.get("end_dim", -1) == -1 and len(args) <= 2:
                return Flatten(), args[:1]
        if method in ("view", "reshape"):
            shape = args[1:]
            if len(shape) == 1 and isinstance(shape[0], tuple | list):
                shape = list(shape[0])
            if len(shape) == 2 and shape[1] == -1:
                return Flatten(), args[:1]
        raise ConvProofError(f"{what} is not supported (only flattening views, adds, relu)")
    if target in (operator.add, operator.iadd, torch.add):
        if len(tensor_args(args)) < 2 or kwargs:
            raise ConvProofError(f"{what}: only the sum of two tensors is supported")
        return Add(), tensor_args(args)
    if target is torch.cat:
        tensors = args[0] if args else kwargs.get("tensors")
        dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
        if dim != 1:
            raise ConvProofError(
                f"{what}: only concatenation along the channel axis (dim=1) is supported, "
                f"got dim={dim!r}"
            )
        if not isinstance(tensors, list | tuple):
            raise ConvProofError(f"{what}: expected a list of tensors, got {tensors!r}")
        return Concat(), list(tensors)
    if target is torch.flatten:
        start = args[1] if len(args) > 1 else kwargs.get("start_dim", 0)
        end = args[2] if len(args) > 2 else kwargs.get("end_dim", -1)
        if start != 1 or end != -1:
            raise ConvProofError(
                f"{what}: only torch.flatten(x, 1) is supported, got start_dim={start!r}, "
                f"end_dim={end!r}"
            )
        return Flatten(), args[:1]
    name = getattr(target, "__name__", "")
    if target in (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d) or (
        name.startswith("adaptive_avg_pool")
    ):
        size = args[1] if len(args) > 1 else kwargs["output_size"]
        ndim = int(name[-2])
        return AdaptivePool(size, kind="avg", ndim=ndim), args[:1]
    if name.startswith("adaptive_max_pool"):
        size = args[1] if len(args) > 1 else kwargs["output_size"]
        return AdaptivePool(size, kind="max", ndim=int(name[-2])), args[:1]
    if name in ACTIVATIONS or name.rstrip("_") in ACTIVATIONS:
        return Activation(name.rstrip("_")), args[:1]
    if name == "dropout":
        p = args[1] if len(args) > 1 else kwargs.get("p", 0.5)
        return Dropout(float(p)), args[:1]
    raise ConvProofError(
        f"{what} is not supported (supported functions: add, torch.cat(dim=1), "
        f"torch.flatten(x, 1), adaptive pooling, activations, dropout)"
    )


_SUFFIX = re.compile(r"_\d+$")


def network_from_torch(module: Any, name: str | None = None) -> Network:
    """A :class:`~convproof.networks.graph.Network` traced from a PyTorch module (no forward pass).

    Used by :func:`convproof.summary` for ``nn.Module`` models; ``tests/test_network_torch.py``
    exercises it (the torch-free doctest suite cannot).
    """
    try:
        import torch.fx as fx
    except ImportError:  # pragma: no cover - callers check is_torch_module first
        raise ConvProofError("model is a torch module but torch cannot be imported") from None
    try:
        graph = fx.symbolic_trace(module).graph
    except Exception as exc:  # fx raises many kinds; report them as bad input
        raise ConvProofError(
            f"model could not be traced with torch.fx.symbolic_trace "
            f"({type(exc).__name__}: {exc}); data-dependent control flow is not supported"
        ) from None
    modules = dict(module.named_modules())
    names: dict[Any, str] = {}
    used: dict[str, int] = {}
    seen_modules: set[str] = set()
    nodes: list[Node] = []
    passthrough: dict[Any, Any] = {}

    def ref(arg: Any) -> str:
        while arg in passthrough:
            arg = passthrough[arg]
        if arg not in names:
            raise ConvProofError(
                f"node {getattr(arg, 'name', arg)!r} does not produce a tensor convproof follows"
            )
        return names[arg]

    def unique(label: str) -> str:
        k = used.get(label, 0)
        used[label] = k + 1
        return label if k == 0 else f"{label}@{k}"

    for node in graph.nodes:
        if node.op == "placeholder":
            if names:
                raise ConvProofError("model must take exactly one tensor input")
            names[node] = INPUT
            continue
        if node.op == "output":
            continue
        if node.op == "get_attr":
            raise ConvProofError(
                f"model uses a parameter or buffer directly ({node.target!r}); only modules "
                f"and the supported functions are followed"
            )
        if node.op == "call_method" and node.target in ("size", "dim"):
            continue  # integer results (x.size(0) in views)
        shared = False
        if node.op == "call_module":
            path = str(node.target)
            layer = _module_layer(modules[path], path)
            inputs = [node.args[0]]
            shared = path in seen_modules and getattr(layer, "num_params", 0) > 0
            seen_modules.add(path)
            label = unique(path)
        else:
            layer, inputs = _function_layer(node)
            stack = node.meta.get("nn_module_stack") or {}
            owner = list(stack.keys())[-1] if stack else ""
            owner = owner.split("@")[0]
            base = _SUFFIX.sub("", node.name)
            label = unique(f"{owner}.{base}" if owner else base)
        if isinstance(layer, Identity) and node.op == "call_method":
            passthrough[node] = inputs[0]
            continue
        nodes.append(Node(label, layer, tuple(ref(a) for a in inputs), shared))
        names[node] = label
    return Network.from_nodes(nodes, name=name or type(module).__name__)


def as_network(model: Any) -> Network:
    """A convproof :class:`~convproof.networks.graph.Network` for ``model`` (a network or a
    ``torch.nn.Module``, read without running it); anything else is a ConvProofError."""
    if is_torch_module(model):
        return network_from_torch(model)
    if isinstance(model, Network):
        return model
    raise ConvProofError(
        f"model must be a convproof Network or a torch.nn.Module, got {type(model).__name__}"
    )
