"""Import a PyTorch ``nn.Module`` as a convproof :class:`~convproof.networks.graph.Network`.

The module is traced with ``torch.fx.symbolic_trace`` (torch is imported lazily, only here),
so residual ``out + identity`` and ``torch.cat`` become join nodes.  Leaf modules map to
specs and layers; node names are the module paths (``"layer1.0.conv1"``; a module called
twice gets ``"@1"``, as in ``torch.fx``'s ``nn_module_stack``), and functions are named after
the innermost module that calls them (``"layer1.0.add"``).  Nothing is run: no forward pass.
"""

from __future__ import annotations

import dataclasses
import operator
import re
from typing import Any

from convproof.errors import ConvProofError
from convproof.frameworks.torch_modules import module_spec
from convproof.layers.spec import PoolSpec
from convproof.networks import torch_resampling
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
from convproof.networks.torch_trace import (
    fx_trace,
    input_shapes,
    meta_shape,
    model_ndim,
    origin,
    propagate_shapes,
)
from convproof.networks.traced import (
    ChannelSelect,
    Elementwise,
    Multiply,
    Normalization,
    Opaque,
    OpaqueJoin,
    Rearrange,
    SpatialMean,
)
from convproof.networks.values import prod

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
    spec = module_spec(mod, strict=False)  # conv, transposed conv, pooling: shapes only
    if spec is not None:
        return spec
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
    norms = {
        nn.LayerNorm: "layer_norm",
        nn.GroupNorm: "group_norm",
        nn.LocalResponseNorm: "local_response_norm",
    }
    norm = norms.get(type(mod))
    if norm is None and isinstance(mod, nn.modules.instancenorm._InstanceNorm):
        norm = "instance_norm"
    if norm is not None:
        return Normalization(
            norm,
            sum(p.numel() for p in mod.parameters()),
            sum(b.numel() for b in mod.buffers()),
            norm != "local_response_norm",
        )
    if isinstance(mod, nn.PReLU):
        return Elementwise("prelu", mod.weight.numel())
    resampled = torch_resampling.module_layer(mod)
    if resampled is not None:
        return resampled
    raise ConvProofError(
        f"module {path!r} of type {name} is not supported (supported: Conv*/ConvTranspose*, "
        f"Max/Avg/LPPool*, AdaptiveAvg/MaxPool*, BatchNorm*, Linear, Flatten, Dropout*, Identity, "
        f"ZeroPad*/ConstantPad*/ReflectionPad*/ReplicationPad*/CircularPad*, Upsample, "
        f"PixelShuffle, PixelUnshuffle, activations {', '.join(sorted(_ACT_MODULES))})"
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
_ELEMENTWISE = {
    operator.add: "add",
    operator.iadd: "add",
    operator.sub: "sub",
    operator.mul: "mul",
    operator.imul: "mul",
    operator.truediv: "div",
    "add": "add",
    "add_": "add",
    "mul": "mul",
    "mul_": "mul",
    "sub": "sub",
    "div": "div",
}
_REARRANGE = {
    "view",
    "reshape",
    "flatten",
    "permute",
    "transpose",
    "contiguous",
    "squeeze",
    "unsqueeze",
    "expand",
}


def _pool_function(node: Any) -> Any:
    """``F.max_pool*d`` / ``F.avg_pool*d`` -> a PoolSpec (``None``: not one)."""
    import torch.nn.functional as F

    names = {}
    for n in (1, 2, 3):
        names[getattr(F, f"max_pool{n}d")] = ("max", n)
        names[getattr(F, f"avg_pool{n}d")] = ("avg", n)
        for kind in ("max", "avg"):
            fn = getattr(torch_ops(), f"{kind}_pool{n}d", None)
            if fn is not None:
                names[fn] = (kind, n)
    if node.target not in names:
        return None
    kind, ndim = names[node.target]
    order = (
        ["input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"]
        if kind == "max"
        else [
            "input",
            "kernel_size",
            "stride",
            "padding",
            "ceil_mode",
            "count_include_pad",
            "divisor_override",
        ]
    )
    bound = dict(zip(order, node.args))
    bound.update(node.kwargs)
    if bound.get("return_indices") or bound.get("divisor_override") is not None:
        raise ConvProofError(f"{node.name}: return_indices / divisor_override are not modelled")
    extra: dict[str, Any] = {}
    if kind == "max":
        extra["dilation"] = bound.get("dilation", 1)
    else:
        extra["count_include_pad"] = bound.get("count_include_pad", True)
    stride = bound.get("stride")
    return PoolSpec(
        kind=kind,
        kernel_size=bound["kernel_size"],
        stride=stride if stride not in (None, (), []) else None,
        padding=bound.get("padding", 0),
        ceil_mode=bool(bound.get("ceil_mode", False)),
        ndim=ndim,
        **extra,
    )


def _channel_select(node: Any, ins: tuple[int, ...], out: tuple[int, ...]) -> Any:
    """``chunk(k, 1)[i]`` / ``split(n, 1)[i]`` of the input -> a ChannelSelect (else ``None``)."""
    if node.target is not operator.getitem or len(ins) != len(out) or ins[1:] != out[1:]:
        return None
    src, index = node.args[0], node.args[1]
    if not hasattr(src, "op") or not isinstance(index, int):
        return None
    method = src.target if src.op == "call_method" else getattr(src.target, "__name__", "")
    dim = src.args[2] if len(src.args) > 2 else src.kwargs.get("dim", 0)
    if method not in ("chunk", "split") or dim not in (1, -len(ins) - 1):
        return None
    count = src.args[1] if len(src.args) > 1 else None
    if method == "chunk" and isinstance(count, int) and ins[0] % count == 0:
        size = ins[0] // count
    elif method == "split" and isinstance(count, int):
        size = count
    else:
        return None
    if size != out[0] or (index + 1) * size > ins[0]:
        return None
    return ChannelSelect(index * size, size)


def torch_ops() -> Any:
    """``torch`` (its ``max_pool2d`` etc. are what ``F.max_pool2d`` may resolve to)."""
    import torch

    return torch


class _Importer:
    """One pass over a traced graph; with propagated shapes, unknown operations become
    :class:`~convproof.networks.traced.Opaque` nodes instead of errors."""

    def __init__(self, module: Any, batch: int | None) -> None:
        self.module = module
        self.modules = dict(module.named_modules())
        self.params = dict(module.named_parameters(remove_duplicate=False))
        self.by_id = {id(p): p for p in module.parameters()}
        self.batch = batch  # None: no propagated shapes
        self.names: dict[Any, str] = {}
        self.used: dict[str, int] = {}
        self.seen_modules: set[str] = set()
        self.counted: set[int] = set()
        self.nodes: list[Node] = []
        self.passthrough: dict[Any, Any] = {}
        self.depends: dict[Any, bool] = {}
        self.const_params: dict[Any, set[int]] = {}
        self.tensor_parents: dict[Any, list[Any]] = {}
        self.inputs: list[str] = []
        self.last_frozen = 0  # frozen (requires_grad=False) among the last layer_params

    # -- helpers ----------------------------------------------------------------------------
    def unique(self, label: str) -> str:
        k = self.used.get(label, 0)
        self.used[label] = k + 1
        return label if k == 0 else f"{label}@{k}"

    def resolve(self, arg: Any) -> Any:
        while arg in self.passthrough:
            arg = self.passthrough[arg]
        return arg

    def ref(self, arg: Any) -> str:
        arg = self.resolve(arg)
        if arg not in self.names:
            raise ConvProofError(
                f"node {getattr(arg, 'name', arg)!r} does not produce a tensor convproof follows"
            )
        return self.names[arg]

    def sample(self, node: Any) -> tuple[int, ...] | None:
        shape = meta_shape(node)
        if shape is None or self.batch is None:
            return None
        if not shape or shape[0] != self.batch:
            raise ConvProofError(
                f"{origin(node)} changes the batch axis (output shape {shape} for batch "
                f"{self.batch}); convproof follows per-sample tensors"
            )
        return shape[1:]

    def module_params(self, path: str) -> set[int]:
        """Ids of the parameters of module ``path`` (with its children)."""
        return {id(p) for p in self.modules[path].parameters()}

    def arg_nodes(self, node: Any) -> list[Any]:
        out: list[Any] = []

        def walk(v: Any) -> None:
            if hasattr(v, "op"):
                out.append(v)
            elif isinstance(v, list | tuple):
                for x in v:
                    walk(x)
            elif isinstance(v, dict):
                for x in v.values():
                    walk(x)

        walk(list(node.args))
        walk(dict(node.kwargs))
        return out

    def layer_params(self, node: Any) -> int:
        """Parameters owned by a call_module node or read through constants, counted once."""
        ids: set[int] = set()
        if node.op == "call_module":
            ids |= self.module_params(str(node.target))
        for a in self.arg_nodes(node):
            ids |= self.const_params.get(a, set())
        fresh = ids - self.counted
        self.counted |= fresh
        self.last_frozen = sum(
            self.by_id[i].numel()
            for i in fresh
            if i in self.by_id and not self.by_id[i].requires_grad
        )
        return sum(self.by_id[i].numel() for i in fresh if i in self.by_id)

    # -- the pass ---------------------------------------------------------------------------
    def run(self, graph: Any) -> list[Node]:
        for node in graph.nodes:
            try:
                self.visit(node)
            except ConvProofError as exc:
                where = origin(node)
                if where in str(exc):
                    raise
                raise ConvProofError(f"{exc} (at {where})") from None
        return self.nodes

    def visit(self, node: Any) -> None:
        if node.op == "placeholder":  # inputs "input", "input1", ...
            label = f"{INPUT}{len(self.inputs) or ''}"
            self.inputs.append(label)
            self.names[node] = label
            self.depends[node] = True
            return
        if node.op == "output":
            return
        args = self.arg_nodes(node)
        self.depends[node] = any(self.depends.get(a, False) for a in args)
        if node.op == "get_attr":
            obj = self.params.get(str(node.target))
            self.const_params[node] = {id(obj)} if obj is not None else set()
            if self.batch is None:
                raise ConvProofError(
                    f"model uses a parameter or buffer directly ({node.target!r}); give a "
                    f"concrete input shape so that PyTorch's shape propagation can follow it"
                )
            return
        if not self.depends[node]:  # computed from constants only
            self.const_params[node] = set().union(*(self.const_params.get(a, set()) for a in args))
            return
        if node.op == "call_method" and node.target in ("size", "dim"):
            return  # integer results (x.size(0) in views)
        propagated = self.batch is not None
        shape = meta_shape(node) if propagated else None
        if propagated and (shape is None or not shape or shape[0] != self.batch):
            # sizes, tuples of chunks: not tensors; consumers read their tensor parents
            parents: list[Any] = []
            data = shape is not None or node.meta.get("convproof_tensors", False)
            for a in args if data else ():  # sizes and shapes are not data
                for t in self.tensor_parents.get(a, [a]):
                    if self.depends.get(t) and t not in parents and t in self.names:
                        parents.append(t)
            self.tensor_parents[node] = parents
            self.const_params[node] = set().union(*(self.const_params.get(a, set()) for a in args))
            if node.op == "call_module":  # a module returning a tuple: its readers count it
                self.const_params[node] |= self.module_params(str(node.target))
            return
        self.emit(node, args, propagated)

    def tensor_inputs(self, args: list[Any]) -> list[Any]:
        out: list[Any] = []
        for a in args:
            for t in self.tensor_parents.get(a, [a]):
                t = self.resolve(t)
                if self.depends.get(t) and t in self.names and t not in out:
                    out.append(t)
        return out

    def emit(self, node: Any, args: list[Any], propagated: bool) -> None:
        shared = False
        if node.op == "call_module":
            path = str(node.target)
            label_base = path
            shared = path in self.seen_modules and bool(self.module_params(path))
            self.seen_modules.add(path)
        else:
            stack = node.meta.get("nn_module_stack") or {}
            owner = list(stack.keys())[-1] if stack else ""
            owner = owner.split("@")[0]
            base = _SUFFIX.sub("", node.name)
            label_base = f"{owner}.{base}" if owner else base
        inputs = self.tensor_inputs(args)
        consts = set().union(*(self.const_params.get(a, set()) for a in args))
        if not inputs:  # reads the input's size only (class_token.expand(n, -1, -1))
            self.const_params[node] = consts
            if node.op == "call_module":
                self.const_params[node] |= self.module_params(str(node.target))
            return
        try:
            layer, tensors = self.exact(node, inputs, bool(consts - self.counted), propagated)
        except ConvProofError:
            if not propagated:
                raise
            layer, tensors = None, inputs
        if layer is None:
            layer = self.opaque(node, inputs)
            tensors = inputs
        elif isinstance(layer, Identity) and node.op != "call_module":
            self.passthrough[node] = tensors[0]
            return
        params = self.layer_params(node)
        if params and getattr(layer, "num_params", 0) != params and not shared:
            if isinstance(layer, Elementwise):
                layer = Elementwise(layer.op, params)
            elif isinstance(layer, Opaque | OpaqueJoin):
                layer = dataclasses.replace(layer, params=params)
            else:
                raise ConvProofError(
                    f"{origin(node)}: convproof counts {getattr(layer, 'num_params', 0)} "
                    f"parameters, PyTorch {params}"
                )
        label = self.unique(label_base)
        frozen = self.last_frozen if params else 0
        self.nodes.append(Node(label, layer, tuple(self.ref(a) for a in tensors), shared, frozen))
        self.names[node] = label

    def opaque(self, node: Any, inputs: list[Any]) -> Any:
        out = self.sample(node)
        if out is None:
            raise ConvProofError(f"{origin(node)} produces no tensor convproof can follow")
        if node.op == "call_module":
            op = type(self.modules[str(node.target)]).__name__
        else:
            op = f"{node.op} {getattr(node.target, '__name__', node.target)}"
        if len(inputs) == 1:
            ins = self.sample(self.resolve(inputs[0]))
            assert ins is not None
            return Opaque(op, origin(node), ins, out)
        first = self.sample(self.resolve(inputs[0]))
        keeps = first is not None and len(first) == len(out)
        return OpaqueJoin(op, origin(node), out, keeps_rank=keeps)

    def exact(
        self, node: Any, inputs: list[Any], has_consts: bool, propagated: bool
    ) -> tuple[Any, list[Any]]:
        """The exact convproof layer of a node and its tensor inputs (``None``: opaque)."""
        target = node.target
        if node.op == "call_module":
            if len(inputs) != 1:
                return None, inputs
            return _module_layer(self.modules[str(target)], str(target)), inputs
        out = self.sample(node) if propagated else None
        ins: list[tuple[int, ...]] = []
        for a in inputs if propagated else ():
            shape = self.sample(self.resolve(a))
            assert shape is not None  # a followed tensor
            ins.append(shape)
        op = _ELEMENTWISE.get(target)
        if op is not None and len(inputs) == 1 and (not propagated or out == ins[0]):
            return Elementwise(op), inputs  # with scalars or parameters (x * layer_scale)
        if op == "mul" and len(inputs) >= 2:
            return Multiply(), inputs
        import torch

        if target is torch.cat and len(inputs) == 1 and not has_consts:
            tensors = node.args[0] if node.args else node.kwargs.get("tensors")
            if isinstance(tensors, list | tuple) and len(tensors) == 1:
                return Identity(), inputs
        pool = _pool_function(node) if node.op == "call_function" else None
        if pool is not None:
            return pool, inputs[:1]
        if (node.op == "call_method" and target == "mean") or target is torch.mean:
            dims = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
            keep = node.args[2] if len(node.args) > 2 else node.kwargs.get("keepdim", False)
            if propagated and ins and isinstance(dims, list | tuple):
                nd = len(ins[0])
                want = set(range(2, nd + 1))
                got = {d % (nd + 1) for d in dims}
                if got == want and nd >= 2:
                    return SpatialMean(bool(keep)), inputs
        if ins and len(inputs) == 1 and not has_consts and out is not None:
            name = target if node.op == "call_method" else getattr(target, "__name__", "")
            if name in _REARRANGE and name != "expand":
                if len(out) == 1 and out[0] == prod(ins[0]):
                    return Flatten(), inputs
                if prod(out) == prod(ins[0]):
                    return (Identity() if out == ins[0] else Rearrange(out, name)), inputs
        if ins and len(inputs) == 1 and out is not None:
            select = _channel_select(node, ins[0], out)
            if select is not None:
                return select, inputs
        name = getattr(target, "__name__", "")
        if name == "stochastic_depth" and "torchvision" in getattr(target, "__module__", ""):
            return Elementwise("stochastic_depth"), inputs  # x * Bernoulli mask / (1 - p)
        spatial = len(ins[0]) - 1 if ins else None
        resampled = torch_resampling.function_layer(node, out, spatial)
        if resampled is not None and len(inputs) == 1:
            return resampled, inputs
        if has_consts:
            return None, inputs
        return _function_layer(node)


def network_from_torch(module: Any, name: str | None = None, input_shape: Any = None) -> Network:
    """A :class:`~convproof.networks.graph.Network` traced from a PyTorch module (no forward pass).

    With a concrete ``input_shape`` (``(C, *spatial)`` or ``(N, C, *spatial)``), PyTorch's
    shape propagation on fake tensors (no real compute) gives every node's shape, so any
    operation convproof does not model becomes an
    :class:`~convproof.networks.traced.Opaque` node (recorded shape, parameters counted,
    MACs unknown) instead of an error.  Without it (symbolic sizes), only the modelled
    operations are accepted.

    Used by :func:`convproof.summary` for ``nn.Module`` models; ``tests/test_network_torch.py``
    exercises it (the torch-free doctest suite cannot).
    """
    try:
        import torch.fx  # noqa: F401
    except ImportError:  # pragma: no cover - callers check is_torch_module first
        raise ConvProofError("model is a torch module but torch cannot be imported") from None
    try:
        graph = fx_trace(module)
    except Exception as exc:  # fx raises many kinds; report them as bad input
        raise ConvProofError(
            f"model could not be traced with torch.fx.symbolic_trace "
            f"({type(exc).__name__}: {exc}); data-dependent control flow is not supported"
        ) from None
    batch = None
    shapes = input_shapes(graph, input_shape)
    if shapes and all(
        s and all(isinstance(v, int) and not isinstance(v, bool) for v in s) for s in shapes
    ):
        ndim = model_ndim(module)
        full = [s if ndim is not None and len(s) == ndim + 2 else (2, *s) for s in shapes]
        if len({s[0] for s in full}) > 1:
            raise ConvProofError(
                f"input_shape must give every input the same batch size, got "
                f"input_shape={input_shape!r}"
            )
        batch = full[0][0]
        propagate_shapes(module, graph, full)
    importer = _Importer(module, batch)
    nodes = importer.run(graph)
    return Network.from_nodes(
        nodes, name=name or type(module).__name__, inputs=tuple(importer.inputs)
    )


def as_network(model: Any, input_shape: Any = None) -> Network:
    """A convproof :class:`~convproof.networks.graph.Network` for ``model`` (a network or a
    ``torch.nn.Module``, read without running it); anything else is a ConvProofError."""
    if is_torch_module(model):
        return network_from_torch(model, input_shape=input_shape)
    if isinstance(model, Network):
        return model
    raise ConvProofError(
        f"model must be a convproof Network or a torch.nn.Module, got {type(model).__name__}"
    )
