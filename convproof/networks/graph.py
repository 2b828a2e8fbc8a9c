"""Networks: layer stacks and simple graphs, with shapes, counts and receptive fields.

A :class:`Network` is a small directed acyclic graph of named :class:`Node` objects, each
holding one *layer*: a spec (:class:`~convproof.layers.spec.ConvSpec`,
:class:`~convproof.layers.spec.ConvTransposeSpec`, :class:`~convproof.layers.spec.PoolSpec`) or
any :class:`~convproof.networks.protocol.NetworkLayer` (the built-in kinds are in
:mod:`convproof.networks.layers`: :class:`~convproof.Activation`, :class:`~convproof.BatchNorm`,
..., and the joins :class:`~convproof.Add` and :class:`~convproof.Concat`).  Networks are
written as nested lists — plain sequences, :class:`Sequential` groups (which prefix names,
like ``nn.Sequential``), :class:`Parallel` branches joined by add or concat, and
:class:`Residual` blocks — or read from JSON (:mod:`convproof.networks.zoo`:
``network_from_dict``, ``load_network``), or imported from a PyTorch module (see
:func:`convproof.summary`).

:func:`analyze` walks the graph once, layer by layer, and gives every node's output shape,
parameter count, multiply-accumulates and receptive field (Araujo, Norris & Sim, 2019).
The input's spatial sizes may be SymPy symbols: shapes and MACs then come out as ``floor``
expressions, while receptive fields and effective strides stay numbers.

Examples
--------
>>> import convproof as cp
>>> net = cp.Network([
...     ("conv1", cp.ConvSpec(in_channels=3, out_channels=8, kernel_size=3, padding=1)),
...     ("relu1", cp.Activation("relu")),
...     ("pool1", cp.PoolSpec(kind="max", kernel_size=2)),
... ])
>>> [(n.name, n.shape, n.receptive_field) for n in cp.analyze(net, (3, 32, 32))]
[('conv1', (8, 32, 32), (3, 3)), ('relu1', (8, 32, 32), (3, 3)), ('pool1', (8, 16, 16), (4, 4))]
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sympy

from convproof.errors import ConvProofError
from convproof.networks.layers import Add, Concat
from convproof.networks.protocol import Resets, as_layer, is_layer, layer_kind, layer_to_dict
from convproof.networks.receptive import AxisRF, advance, centre, join_fields
from convproof.networks.values import is_concrete

__all__ = [
    "Network",
    "Node",
    "NodeResult",
    "Parallel",
    "Residual",
    "Sequential",
    "analyze",
]

INPUT = "input"  # the reserved name of the network input
FORMAT = "convproof.network/1"  # the JSON format (see convproof.networks.zoo)

# --------------------------------------------------------------------------------------
# graph
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """One named layer of a :class:`Network` and the names of the nodes it reads.

    Parameters
    ----------
    name : str
        Unique within the network (``"input"`` is reserved for the network input).
    layer : layer
        A spec or one of this module's layers.
    inputs : tuple of str
        Names of earlier nodes (or ``"input"``); joins read two or more.
    shared : bool
        The parameters belong to an earlier node (a module called twice); counted once.
    frozen_params : int
        How many of the node's parameters are frozen (PyTorch ``requires_grad=False``);
        they are still counted in ``params``.

    Examples
    --------
    >>> import convproof as cp
    >>> cp.Node("fc", cp.Linear(4, 2), ("input",)).inputs
    ('input',)
    """

    name: str
    layer: Any
    inputs: tuple[str, ...] = (INPUT,)
    shared: bool = False
    frozen_params: int = 0


@dataclass(frozen=True)
class Sequential:
    """A named group of layers in sequence; the name prefixes its members (``"layer1.0.conv1"``).

    Items are layers, ``(name, layer)`` pairs, or nested groups; unnamed items are named by
    their index, as in ``nn.Sequential``.

    Examples
    --------
    >>> import convproof as cp
    >>> net = cp.Network([cp.Sequential([cp.ConvSpec(in_channels=1, out_channels=1,
    ...                                               kernel_size=3)], name="features")])
    >>> net.names
    ('features.0',)
    """

    layers: Sequence[Any]
    name: str | None = None


@dataclass(frozen=True)
class Parallel:
    """Branches that read the same input and are joined by ``"add"`` or ``"concat"``.

    An empty branch is the identity.  The join node is named ``name`` (default ``"add"`` or
    ``"cat"``, as ``torch.fx`` names them); unnamed items of branch ``b`` are named
    ``"b.index"``.

    Examples
    --------
    >>> import convproof as cp
    >>> c = lambda k: cp.ConvSpec(in_channels=4, out_channels=2, kernel_size=k, padding=k // 2)
    >>> net = cp.Network([cp.Parallel([[c(1)], [c(3)], [c(5)]], join="concat")])
    >>> net.names
    ('0.0', '1.0', '2.0', 'cat')
    """

    branches: Sequence[Sequence[Any]]
    join: str = "add"
    name: str | None = None


@dataclass(frozen=True)
class Residual:
    """``body(x) + shortcut(x)``; the shortcut defaults to the identity.

    Examples
    --------
    >>> import convproof as cp
    >>> conv = cp.ConvSpec(in_channels=4, out_channels=4, kernel_size=3, padding=1)
    >>> cp.Network([cp.Residual([("conv", conv)])]).names
    ('conv', 'add')
    """

    body: Sequence[Any]
    shortcut: Sequence[Any] = ()
    name: str | None = None


class Network:
    """A network: named layers in topological order, each reading earlier nodes.

    Parameters
    ----------
    layers : sequence
        Items run in sequence: layers (named by their index), ``(name, layer)`` pairs,
        :class:`Sequential`, :class:`Parallel` and :class:`Residual` groups.
    name : str
        A label for tables.

    Notes
    -----
    Repeated names get a suffix ``@1``, ``@2``... (``torch.fx``'s convention for a module
    called twice).  The last node is the output.  Use :meth:`from_nodes` for an arbitrary
    directed acyclic graph.

    Examples
    --------
    >>> import convproof as cp
    >>> net = cp.Network([("fc1", cp.Linear(8, 4)), ("relu", cp.Activation()),
    ...                   ("fc2", cp.Linear(4, 2)), ("relu", cp.Activation())], name="mlp")
    >>> net.names
    ('fc1', 'relu', 'fc2', 'relu@1')
    >>> net.nodes[2].inputs
    ('relu',)
    """

    def __init__(self, layers: Sequence[Any], name: str = "network") -> None:
        builder = _Builder()
        builder.sequence(layers, INPUT, prefix="", path="layers")
        self._init(tuple(builder.nodes), name)

    @classmethod
    def from_nodes(
        cls, nodes: Iterable[Node], name: str = "network", inputs: Sequence[str] = (INPUT,)
    ) -> Network:
        """A network from explicit :class:`Node` objects (a general DAG).

        ``inputs`` names the network's input tensors (default one, ``"input"``); a model
        with several inputs names them ``("input", "input1", ...)`` and takes one shape
        per input.

        Examples
        --------
        >>> import convproof as cp
        >>> conv = cp.ConvSpec(in_channels=2, out_channels=2, kernel_size=1)
        >>> net = cp.Network.from_nodes([cp.Node("a", conv), cp.Node("b", conv, ("a",)),
        ...                              cp.Node("sum", cp.Add(), ("a", "b"))])
        >>> net.output
        'sum'
        """
        net = cls.__new__(cls)
        net._init(tuple(nodes), name, tuple(inputs))
        return net

    def _init(self, nodes: tuple[Node, ...], name: str, inputs: tuple[str, ...] = (INPUT,)) -> None:
        if not isinstance(name, str):
            raise ConvProofError(f"name must be a string, got name={name!r}")
        if not nodes:
            raise ConvProofError("layers must not be empty, got layers=[]")
        if (
            not inputs
            or inputs[0] != INPUT
            or len(set(inputs)) != len(inputs)
            or not all(isinstance(v, str) for v in inputs)
        ):
            raise ConvProofError(
                f"inputs must be distinct names starting with 'input', got inputs={inputs!r}"
            )
        seen = set(inputs)
        ndims = set()
        for node in nodes:
            if not isinstance(node, Node):
                raise ConvProofError(f"nodes must be Node objects, got {node!r}")
            if not isinstance(node.name, str) or node.name in seen:
                raise ConvProofError(
                    f"node names must be unique strings other than the inputs {inputs!r}, "
                    f"got name={node.name!r}"
                )
            if not is_layer(node.layer):
                raise ConvProofError(
                    f"layer of node {node.name!r} must be a spec or a convproof network layer, "
                    f"got {type(node.layer).__name__}"
                )
            for ref in node.inputs:
                if ref not in seen:
                    raise ConvProofError(
                        f"inputs of node {node.name!r} must name earlier nodes, got {ref!r}"
                    )
            multi = as_layer(node.layer).joins
            if (multi and len(node.inputs) < 2) or (not multi and len(node.inputs) != 1):
                raise ConvProofError(
                    f"node {node.name!r} ({layer_kind(node.layer)}) must read "
                    f"{'two or more inputs' if multi else 'one input'}, "
                    f"got inputs={node.inputs!r}"
                )
            n = as_layer(node.layer).ndim
            if n is not None:
                ndims.add(n)
            seen.add(node.name)
        if len(ndims) > 1:
            raise ConvProofError(
                f"layers must all have the same number of spatial dims, got ndim={sorted(ndims)}"
            )
        self.nodes: tuple[Node, ...] = nodes
        self.name = name
        #: Names of the input tensors (``("input",)`` unless the model takes several).
        self.inputs: tuple[str, ...] = inputs
        self.ndim: int | None = ndims.pop() if ndims else None

    @property
    def names(self) -> tuple[str, ...]:
        """Node names in order."""
        return tuple(n.name for n in self.nodes)

    @property
    def output(self) -> str:
        """Name of the output node (the last one)."""
        return self.nodes[-1].name

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        return f"Network(name={self.name!r}, {len(self.nodes)} layers)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Network):
            return NotImplemented
        return self.nodes == other.nodes and self.name == other.name and self.inputs == other.inputs

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        """The flat JSON form (every node with explicit ``inputs``); :func:`network_from_dict`
        reads it back.

        Examples
        --------
        >>> import convproof as cp
        >>> net = cp.Network([("fc", cp.Linear(4, 2))], name="tiny")
        >>> net.to_dict()
        {'format': 'convproof.network/1', 'name': 'tiny', 'layers': [{'name': 'fc', \
'type': 'linear', 'in_features': 4, 'out_features': 2, 'bias': True, 'inputs': ['input']}]}
        """
        layers = []
        for node in self.nodes:
            entry: dict[str, Any] = {"name": node.name, **layer_to_dict(node.layer)}
            entry["inputs"] = list(node.inputs)
            if node.shared:
                entry["shared"] = True
            if node.frozen_params:
                entry["frozen_params"] = node.frozen_params
            layers.append(entry)
        out: dict[str, Any] = {"format": FORMAT, "name": self.name}
        if self.inputs != (INPUT,):
            out["inputs"] = list(self.inputs)
        if self.ndim is not None and self.ndim != 2:
            out["ndim"] = self.ndim
        out["layers"] = layers
        return out

    def to_json(self, indent: int | None = None) -> str:
        """:meth:`to_dict` as a JSON string.

        Examples
        --------
        >>> import convproof as cp
        >>> cp.network_from_json(cp.load_network("alexnet").to_json()) == cp.load_network(
        ...     "alexnet")
        True
        """
        return json.dumps(self.to_dict(), indent=indent)


class _Builder:
    """Flattens nested layer lists into nodes (names prefixed, duplicates suffixed ``@k``)."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.counts: dict[str, int] = {}

    def _unique(self, name: str) -> str:
        k = self.counts.get(name, 0)
        self.counts[name] = k + 1
        return name if k == 0 else f"{name}@{k}"

    def add(self, name: str, layer: Any, inputs: tuple[str, ...]) -> str:
        unique = self._unique(name)
        self.nodes.append(Node(unique, layer, inputs))
        return unique

    def sequence(self, items: Any, current: str, prefix: str, path: str) -> str:
        if isinstance(items, str | bytes) or not isinstance(items, Sequence):
            raise ConvProofError(f"{path} must be a list of layers, got {items!r}")
        for index, item in enumerate(items):
            current = self.item(item, current, prefix, f"{index}", f"{path}[{index}]")
        return current

    def item(self, item: Any, current: str, prefix: str, default: str, path: str) -> str:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            name, layer = item
        else:
            name, layer = getattr(item, "name", None), item
        if isinstance(layer, Sequential):
            label = default if layer.name is None else layer.name
            return self.sequence(layer.layers, current, f"{prefix}{label}.", f"{path}.layers")
        if isinstance(layer, Residual):
            layer = Parallel([layer.body, layer.shortcut], "add", layer.name)
        if isinstance(layer, Parallel):
            if layer.join not in ("add", "concat"):
                raise ConvProofError(
                    f"{path}: join must be 'add' or 'concat', got join={layer.join!r}"
                )
            if len(layer.branches) < 2:
                raise ConvProofError(
                    f"{path}: a parallel block needs two or more branches, "
                    f"got {len(layer.branches)}"
                )
            ends = []
            for b, branch in enumerate(layer.branches):
                ends.append(self._branch(branch, current, prefix, b, f"{path}.branches[{b}]"))
            join = Add() if layer.join == "add" else Concat()
            label = layer.name or ("add" if layer.join == "add" else "cat")
            return self.add(prefix + label, join, tuple(ends))
        if not is_layer(layer) or as_layer(layer).joins:
            raise ConvProofError(
                f"{path} must be a spec, a layer, a (name, layer) pair, Sequential, Parallel or "
                f"Residual, got {layer!r}"
            )
        return self.add(prefix + (name if isinstance(name, str) else default), layer, (current,))

    def _branch(self, branch: Any, current: str, prefix: str, b: int, path: str) -> str:
        if isinstance(branch, str | bytes) or not isinstance(branch, Sequence):
            raise ConvProofError(f"{path} must be a list of layers, got {branch!r}")
        for index, item in enumerate(branch):
            current = self.item(item, current, prefix, f"{b}.{index}", f"{path}[{index}]")
        return current


# --------------------------------------------------------------------------------------
# arithmetic
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeResult:
    """What :func:`analyze` found for one node (per sample; batch excluded).

    Attributes
    ----------
    name, kind : str
    inputs : tuple of str
    shape : tuple
        Output shape per sample, ``(C, *spatial)`` or ``(features,)``.
    params, buffers, macs, bias_adds : int or sympy.Expr
        Learnable parameters (0 for a shared node), buffers (batch-norm running stats and
        ``num_batches_tracked``, as ``module.buffers()`` counts them),
        multiply-accumulates (conv, transposed conv on input positions, linear; bias
        excluded) and bias additions.
    rf : tuple of (r, S, P) per axis, or None
        Receptive field size, effective stride and effective (left) padding; ``None`` once
        spatial axes are gone or positions are not an affine function of the index.
    note : str
        Why ``rf`` is ``None`` (empty otherwise).
    """

    name: str
    kind: str
    inputs: tuple[str, ...]
    shape: tuple[Any, ...]
    params: Any
    buffers: Any
    macs: Any
    bias_adds: Any
    rf: tuple[AxisRF, ...] | None
    note: str = ""

    @property
    def receptive_field(self) -> tuple[Any, ...] | None:
        """Receptive field size ``r`` per spatial axis."""
        return None if self.rf is None else tuple(a[0] for a in self.rf)

    @property
    def effective_stride(self) -> tuple[Any, ...] | None:
        """Effective stride ``S`` per spatial axis (a Fraction after a transposed conv)."""
        return None if self.rf is None else tuple(a[1] for a in self.rf)

    @property
    def effective_padding(self) -> tuple[Any, ...] | None:
        """Effective padding ``P`` per spatial axis."""
        return None if self.rf is None else tuple(a[2] for a in self.rf)

    @property
    def centre_offset(self) -> tuple[Any, ...] | None:
        """Centre of output 0's region per axis, ``-P + (r - 1) / 2``."""
        return None if self.rf is None else tuple(centre(a) for a in self.rf)


@dataclass
class _Tensor:
    shape: tuple[Any, ...]
    rf: tuple[AxisRF, ...] | None
    note: str = ""
    spatial_ndim: int = 0


def _split_input(net: Network, input_shape: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """(batch, per-sample shape) of the input of a one-input network."""
    if len(net.inputs) > 1:
        raise ConvProofError(
            f"this analysis takes networks with one input; {net.name!r} has inputs "
            f"{', '.join(net.inputs)} (summary and analyze take one shape per input)"
        )
    return _split_one(net, input_shape)


def _split_one(net: Network, input_shape: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """(batch, per-sample shape) of a network input; spatial sizes may be SymPy symbols."""
    if isinstance(input_shape, str) or not isinstance(input_shape, Sequence):
        raise ConvProofError(
            f"input_shape must be a tuple (C, *spatial) or (N, C, *spatial), "
            f"got input_shape={input_shape!r}"
        )
    shape = tuple(input_shape)
    for v in shape:
        ok = is_concrete(v) or (isinstance(v, sympy.Expr) and v.is_integer is not False)
        if not ok:
            raise ConvProofError(
                f"input_shape must hold ints or integer SymPy expressions, "
                f"got input_shape={input_shape!r}"
            )
        if is_concrete(v) and v < 1:
            raise ConvProofError(f"input_shape must be >= 1 everywhere, got input_shape={shape!r}")
    if net.ndim is None:  # no spatial layer: the whole shape is one sample's
        if not shape:
            raise ConvProofError(f"input_shape must not be empty, got input_shape={shape!r}")
        batch, sample = (), shape
    elif len(shape) == net.ndim + 1:
        batch, sample = (), shape
    elif len(shape) == net.ndim + 2:
        batch, sample = shape[:1], shape[1:]
    else:
        raise ConvProofError(
            f"input_shape must be (C, *spatial) or (N, C, *spatial) with {net.ndim} spatial dims "
            f"(the network's ndim), got input_shape={input_shape!r}"
        )
    if not is_concrete(sample[0]):
        raise ConvProofError(
            f"input_shape must have an integer channel count, got input_shape={input_shape!r}"
        )
    return batch, sample


def _split_inputs(net: Network, input_shape: Any) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    """(batch, per-sample shape of each input): one shape per name in ``net.inputs``."""
    if len(net.inputs) == 1:
        batch, sample = _split_input(net, input_shape)
        return batch, [sample]
    n = len(net.inputs)
    if (
        isinstance(input_shape, str)
        or not isinstance(input_shape, Sequence)
        or len(input_shape) != n
        or not all(isinstance(s, Sequence) and not isinstance(s, str) for s in input_shape)
    ):
        raise ConvProofError(
            f"input_shape must be a list of {n} shapes (the network has {n} inputs), "
            f"got input_shape={input_shape!r}"
        )
    splits = [_split_one(net, s) for s in input_shape]
    batches = {b for b, _ in splits}
    if len(batches) > 1:
        raise ConvProofError(
            f"input_shape must give every input the same batch size (or none), "
            f"got input_shape={input_shape!r}"
        )
    return splits[0][0], [sample for _, sample in splits]


def analyze(
    net: Network, input_shape: Sequence[Any], *, check_alignment: bool = True
) -> list[NodeResult]:
    """Shapes, parameters, MACs and receptive fields of every node, in order.

    Parameters
    ----------
    net : Network
    input_shape : tuple
        ``(C, *spatial)`` or ``(N, C, *spatial)``; spatial sizes may be SymPy integer
        symbols (symbolic mode).  Results are per sample.  A network with several
        ``inputs`` takes a list of shapes, one per input; receptive fields are then
        positions of whichever input a path starts from.
    check_alignment : bool
        Raise when branches joined by add/concat are not aligned (different effective
        stride or centre); with ``False`` their receptive fields become ``None``.

    Returns
    -------
    list of NodeResult

    Raises
    ------
    ConvProofError
        Naming the layer when shapes do not fit, or when branches are not aligned.

    Notes
    -----
    Receptive fields follow Araujo, Norris & Sim (Distill, 2019): per axis, from the input
    ``r = 1, S = 1, P = 0``; each layer with effective kernel ``k_eff``, stride ``s`` and
    left padding ``p_l`` (TF ``SAME`` resolved from the actual input size) does
    ``r += (k_eff - 1) S``, ``P += p_l S``, ``S *= s``.  Output ``y`` sees input positions
    ``[-P + y S, -P + y S + r - 1]``.  A transposed convolution is zero insertion (stride
    ``1/s``) followed by a stride-1 convolution with left padding ``k_eff - 1 - p_l``, so
    ``S`` becomes a :class:`~fractions.Fraction` and the region is a bounding interval.

    Examples
    --------
    >>> import convproof as cp
    >>> r = cp.analyze(cp.load_network("vgg16"), (3, 224, 224))
    >>> pool5 = [n for n in r if n.name == "features.30"][0]
    >>> pool5.receptive_field, pool5.effective_stride, pool5.effective_padding
    ((212, 212), (32, 32), (90, 90))
    """
    if not isinstance(net, Network):
        raise ConvProofError(f"net must be a convproof Network, got {type(net).__name__}")
    _, samples = _split_inputs(net, input_shape)
    tensors: dict[str, _Tensor] = {}
    for input_name, sample in zip(net.inputs, samples):
        spatial_ndim = len(sample) - 1
        rf0 = tuple((1, 1, 0) for _ in range(spatial_ndim)) if spatial_ndim else None
        tensors[input_name] = _Tensor(sample, rf0, "", spatial_ndim)
    results = []
    for node in net.nodes:
        xs = [tensors[name] for name in node.inputs]
        layer = as_layer(node.layer)
        if layer.joins:
            shape = layer.join_shape([x.shape for x in xs], node.inputs, node.name)
            js = layer.join_step([x.shape for x in xs])
            if js is not None and isinstance(js.receptive, Resets):
                rf, note, nd = advance(None, "", xs[0].spatial_ndim, js.receptive)
            else:
                rf, note = join_fields(
                    node.name,
                    layer.kind,
                    node.inputs,
                    [x.rf for x in xs],
                    [x.note for x in xs],
                    check_alignment,
                )
                nd = xs[0].spatial_ndim
            y = _Tensor(shape, rf, note, nd)
            params = buffers = macs = bias_adds = 0
            if js is not None:
                params = 0 if node.shared else layer.num_params
                buffers, macs, bias_adds = js.buffers, js.macs, js.bias_adds
        else:
            x = xs[0]
            step = layer.apply(x.shape, x.spatial_ndim, node.name)
            rf, note, spatial_ndim = advance(x.rf, x.note, x.spatial_ndim, step.receptive)
            if step.macs is None and isinstance(step.receptive, Resets):
                note = step.receptive.note  # an unmodelled operation names itself
            y = _Tensor(tuple(step.shape), rf, note, spatial_ndim)
            params = 0 if node.shared else layer.num_params
            buffers, macs, bias_adds = step.buffers, step.macs, step.bias_adds
        if y.spatial_ndim == 0 and net.ndim is not None and len(y.shape) == net.ndim + 1:
            y.spatial_ndim = net.ndim  # (C, *spatial) again after a reshape: no field
        tensors[node.name] = y
        results.append(
            NodeResult(
                node.name,
                layer.kind,
                node.inputs,
                y.shape,
                params,
                buffers,
                macs,
                bias_adds,
                y.rf,
                "" if y.rf is not None else y.note,
            )
        )
    return results
