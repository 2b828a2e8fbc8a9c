"""``torch.fx`` tracing that records, for every node, the user source line that created it.

``fx.Tracer(record_stack_traces=True)`` captures and formats the whole Python stack at every
node (about a third of the tracing time of a model such as MaxViT, 1,600 nodes); convproof
reads only the innermost frame outside PyTorch (``module.py:123`` in its messages), so this
tracer walks the frames and keeps just that one, in the same ``File "...", line N`` text.

The second half propagates every node's output shape on PyTorch's ``meta`` device
(:func:`propagate_shapes`, with the shape shortcuts of :func:`module_result`) and names a
node's origin (:func:`origin`) for messages; :mod:`convproof.networks.torch_import` reads both.
"""

from __future__ import annotations

import functools
import re
import sys
from typing import Any

from convproof.errors import ConvProofError

__all__: list[str] = []


def _user_frame_line() -> str:
    """``File "path", line N, in name`` for the innermost frame outside PyTorch, as
    ``fx.Tracer(record_stack_traces=True)`` would end its trace: only frames from the
    outermost ``forward`` call inward count (``""`` when there is none)."""
    frame, found = sys._getframe(2), ""  # skip this function and create_node
    while frame is not None:
        code = frame.f_code
        if not found and "/torch/" not in code.co_filename.replace("\\", "/"):
            found = f'File "{code.co_filename}", line {frame.f_lineno}, in {code.co_name}'
        if found and code.co_name == "forward":
            return found
        frame = frame.f_back  # type: ignore[assignment]
    return ""


def fx_trace(module: Any) -> Any:
    """The ``torch.fx.Graph`` of ``module`` (run with ``fx.Interpreter(module, graph=...)``;
    no ``GraphModule``, whose code generation and compilation nothing here needs), each
    node's ``stack_trace`` its source line."""
    import torch
    import torch.fx as fx

    class _Tracer(fx.Tracer):
        names: dict[int, str] | None = None

        def create_node(self, *args: Any, **kwargs: Any) -> Any:
            node = super().create_node(*args, **kwargs)
            if not node.stack_trace:
                node.stack_trace = _user_frame_line()
            return node

        def name_of(self, tensor: Any) -> str | None:
            """The first name of a parameter or buffer of the root (fx's linear scans)."""
            if self.names is None:
                self.names = {}
                for name, t in (*self.root.named_parameters(), *self.root.named_buffers()):
                    self.names.setdefault(id(t), name)
            return self.names.get(id(tensor))

        def create_arg(self, a: Any) -> Any:
            # fx scans root.named_buffers() for every tensor argument; a dict instead
            name = self.name_of(a) if type(a) is torch.Tensor else None
            if name is not None:
                return self.create_node("get_attr", name, (), {})
            return super().create_arg(a)  # parameters, constants, containers, proxies

        def getattr(self, attr: str, attr_val: Any, parameter_proxy_cache: dict) -> Any:
            # fx scans root.named_parameters() on every parameter access; a dict instead
            if not isinstance(attr_val, torch.nn.Parameter) or self.proxy_buffer_attributes:
                return super().getattr(attr, attr_val, parameter_proxy_cache)
            name = self.name_of(attr_val)
            if name is None:
                return attr_val
            if name not in parameter_proxy_cache:
                parameter_proxy_cache[name] = self.create_proxy("get_attr", name, (), {})
            return parameter_proxy_cache[name]

    return _Tracer().trace(module)


@functools.cache
def _shape_preserving() -> tuple[type, ...]:
    """Module types whose output has their input's shape and dtype (element-wise maps and,
    in eval mode, dropout), matched exactly (a subclass may override ``forward``)."""
    import torch.nn as nn

    return (
        *(nn.ReLU, nn.ReLU6, nn.Hardtanh, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU),
        *(nn.SiLU, nn.Mish, nn.Sigmoid, nn.Tanh, nn.Hardswish, nn.Hardsigmoid, nn.Softplus),
        *(nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.Identity),
    )


def module_result(torch: Any, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A ``meta`` (or fake) tensor shaped as what ``module(*args)`` returns in eval mode,
    without PyTorch's meta kernels (batch norm, layer norm and linear run slow Python
    decompositions there), for element-wise modules, batch/layer/group norms whose parameters
    fit the input, and ``nn.Linear``; ``None`` for anything else, or for an input the module
    would reject (PyTorch then runs and raises its own error)."""
    if kwargs or len(args) != 1 or not isinstance(args[0], torch.Tensor):
        return None
    x, nn, kind = args[0], torch.nn, type(module)
    shape = tuple(x.shape)
    if kind in _shape_preserving():
        return x.new_empty(shape)
    ranks = {nn.BatchNorm1d: (2, 3), nn.BatchNorm2d: (4,), nn.BatchNorm3d: (5,)}
    if kind in ranks or kind is nn.GroupNorm:
        channels = module.num_channels if kind is nn.GroupNorm else module.num_features
        fits = len(shape) in ranks.get(kind, range(2, 99)) and shape[1] == channels
        return x.new_empty(shape) if fits else None
    if kind is nn.LayerNorm:
        fits = shape[len(shape) - len(module.normalized_shape) :] == module.normalized_shape
        return x.new_empty(shape) if fits else None
    if kind is nn.Linear and shape and shape[-1] == module.in_features:
        same = x.dtype == module.weight.dtype
        return x.new_empty((*shape[:-1], module.out_features)) if same else None
    return None


# --------------------------------------------------------------------------------------
# shape propagation on the meta device
# --------------------------------------------------------------------------------------


_LINE = re.compile(r'File "([^"]+)", line (\d+)')


def origin(node: Any) -> str:
    """``module.path (file.py:123)``: where a traced node comes from."""
    if node.op == "call_module":
        path = str(node.target)
    else:
        stack = node.meta.get("nn_module_stack") or {}
        path = list(stack.keys())[-1].split("@")[0] if stack else ""
        path = f"{path}: {node.name}" if path else node.name
    lines = [
        (f, n)
        for f, n in _LINE.findall(node.meta.get("stack_trace") or "")
        if "/torch/" not in f.replace("\\", "/")
    ]
    if lines:
        file, line = lines[-1]
        return f"{path} ({file.rsplit('/', 1)[-1]}:{line})"
    return path


def model_ndim(module: Any) -> int | None:
    """Spatial dims of the first conv or pooling module (``None``: none)."""
    import torch.nn as nn

    kinds = (nn.modules.conv._ConvNd, nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd)
    for mod in module.modules():
        if isinstance(mod, kinds):
            return (
                len(mod.kernel_size)
                if isinstance(mod.kernel_size, tuple)
                else int(type(mod).__name__[-2])
            )
    return None


def propagate_shapes(module: Any, graph: Any, shapes: list[tuple[int, ...]]) -> None:
    """Every node's output shape (``node.meta["convproof_shape"]``) from PyTorch's own
    propagation on the ``meta`` device (parameters swapped for meta copies, no real
    compute); PyTorch's fake tensors (``FakeTensorMode``) when an operation has no meta
    kernel."""
    import torch
    import torch.fx as fx
    from torch.nn.utils.stateless import _reparametrize_module

    class Record(fx.Interpreter):
        def run_node(self, n: Any) -> Any:
            try:
                result = super().run_node(n)
            except Exception as exc:
                if "meta" in str(exc).lower() and not fake_pass:
                    raise
                raise ConvProofError(
                    f"PyTorch's shape propagation failed at {origin(n)} for input shape "
                    f"{shape if len(shapes) > 1 else shape[0]} "
                    f"({type(exc).__name__}: {str(exc).splitlines()[0][:300]})"
                ) from None
            if isinstance(result, torch.Tensor):
                n.meta["convproof_shape"] = tuple(int(v) for v in result.shape)
            elif isinstance(result, tuple | list | dict):
                leaves = result.values() if isinstance(result, dict) else result
                n.meta["convproof_tensors"] = any(isinstance(v, torch.Tensor) for v in leaves)
            return result

        def call_module(self, target: Any, args: Any, kwargs: Any) -> Any:
            out = module_result(torch, self.fetch_attr(target), args, kwargs)
            return super().call_module(target, args, kwargs) if out is None else out

    first = next(iter(module.parameters()), None)
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    state = {
        **{
            k: torch.empty(v.shape, dtype=v.dtype, device="meta")
            for k, v in module.named_parameters(remove_duplicate=False)
        },
        **{
            k: torch.empty(v.shape, dtype=v.dtype, device="meta")
            for k, v in module.named_buffers(remove_duplicate=False)
        },
    }
    fake_pass = False
    shape = tuple(shapes)
    try:
        with torch.no_grad():
            try:
                with _reparametrize_module(module, state):
                    Record(module, graph=graph).run(
                        *(torch.empty(s, dtype=dtype, device="meta") for s in shapes)
                    )
            except ConvProofError:
                raise
            except Exception:  # an operation without a meta kernel: fake tensors instead
                from torch._subclasses.fake_tensor import FakeTensorMode

                fake_pass = True
                with FakeTensorMode(allow_non_fake_inputs=True):
                    Record(module, graph=graph).run(*(torch.empty(s, dtype=dtype) for s in shapes))
    finally:
        for m, training in modes:
            m.training = training


def meta_shape(node: Any) -> tuple[int, ...] | None:
    """The propagated shape of a node's tensor result (``None``: not a tensor)."""
    shape = node.meta.get("convproof_shape")
    return None if shape is None else tuple(shape)


def input_shapes(graph: Any, input_shape: Any) -> list[tuple[Any, ...]]:
    """One shape per input of the traced model (``input_shape`` is a list of shapes for a
    model whose ``forward`` takes several tensors)."""
    placeholders = [n.name for n in graph.nodes if n.op == "placeholder"]
    if not isinstance(input_shape, list | tuple):
        return []  # no shape (symbolic import) or a bad one, which summary reports
    given = list(input_shape)
    several = bool(given) and all(
        isinstance(s, list | tuple) and not isinstance(s, str) for s in given
    )
    shapes = [tuple(s) for s in given] if several else [tuple(given)]
    if len(shapes) != len(placeholders):
        raise ConvProofError(
            f"input_shape must give one shape per input of forward "
            f"({', '.join(placeholders)}: {len(placeholders)}), got input_shape={input_shape!r}"
        )
    return shapes
