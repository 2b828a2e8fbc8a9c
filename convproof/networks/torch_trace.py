"""``torch.fx`` tracing that records, for every node, the user source line that created it.

``fx.Tracer(record_stack_traces=True)`` captures and formats the whole Python stack at every
node (about a third of the tracing time of a model such as MaxViT, 1,600 nodes); convproof
reads only the innermost frame outside PyTorch (``module.py:123`` in its messages), so this
tracer walks the frames and keeps just that one, in the same ``File "...", line N`` text.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

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
