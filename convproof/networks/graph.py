"""Networks: layer stacks and simple graphs, with shapes, counts and receptive fields.

A :class:`Network` is a small directed acyclic graph of named :class:`Node` objects, each
holding one *layer*: a spec (:class:`~convproof.layers.spec.ConvSpec`,
:class:`~convproof.layers.spec.ConvTransposeSpec`, :class:`~convproof.layers.spec.PoolSpec`) or one
of the
layers defined here (:class:`Activation`, :class:`BatchNorm`, :class:`Identity`,
:class:`Dropout`, :class:`Pad`, :class:`Flatten`, :class:`Linear`, :class:`AdaptivePool`,
and the joins :class:`Add` and :class:`Concat`).  Networks are written as nested lists —
plain sequences, :class:`Sequential` groups (which prefix names, like ``nn.Sequential``),
:class:`Parallel` branches joined by add or concat, and :class:`Residual` blocks — or read
from JSON (:func:`network_from_dict`, :func:`load_network`), or imported from a PyTorch
module (see :func:`convproof.summary`).

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
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import sympy

from convproof.errors import ConvProofError
from convproof.layers import sizes as _axis
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec, Spec, spec_from_dict

__all__ = [
    "NETWORKS",
    "Activation",
    "AdaptivePool",
    "Add",
    "BatchNorm",
    "Concat",
    "Dropout",
    "Flatten",
    "Identity",
    "Linear",
    "Network",
    "Node",
    "NodeResult",
    "Pad",
    "Parallel",
    "Residual",
    "Sequential",
    "analyze",
    "load_network",
    "network_from_dict",
    "network_from_json",
]

#: Names of the networks shipped as package data (``load_network(name)``).
NETWORKS = ("alexnet", "vgg16", "resnet18", "resnet50", "mobilenet_v2")

#: Activation functions accepted by :class:`Activation` (all element-wise, no parameters).
ACTIVATIONS = (
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "selu",
    "celu",
    "gelu",
    "silu",
    "mish",
    "sigmoid",
    "tanh",
    "hardswish",
    "hardsigmoid",
    "hardtanh",
    "softplus",
    "softmax",
    "log_softmax",
)

INPUT = "input"  # the reserved name of the network input

Number = Any  # int | Fraction | sympy.Expr
Pairs = tuple[tuple[int, int], ...]


def _int(name: str, value: Any, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConvProofError(f"{name} must be an integer, got {name}={value!r}")
    if minimum is not None and value < minimum:
        raise ConvProofError(f"{name} must be >= {minimum}, got {name}={value!r}")
    return value


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConvProofError(f"{name} must be True or False, got {name}={value!r}")
    return value


# --------------------------------------------------------------------------------------
# layers (besides the specs)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Activation:
    """An element-wise activation (no parameters, no MACs, receptive field unchanged).

    Parameters
    ----------
    function : str
        One of ``ACTIVATIONS`` (``"relu"``, ``"relu6"``, ``"gelu"``, ...).

    Examples
    --------
    >>> import convproof as cp
    >>> cp.Activation("relu6").function
    'relu6'
    """

    function: str = "relu"
    layer: ClassVar[str] = "activation"

    def __post_init__(self) -> None:
        if self.function not in ACTIVATIONS:
            raise ConvProofError(
                f"function must be one of {', '.join(map(repr, ACTIVATIONS))}, "
                f"got function={self.function!r}"
            )

    @property
    def kind(self) -> str:
        """The row label: the function name."""
        return self.function


@dataclass(frozen=True)
class BatchNorm:
    """Batch normalization over ``num_features`` channels.

    Parameters: ``2 * num_features`` when ``affine`` (weight and bias, as
    ``sum(p.numel())`` counts them); the running mean, the running variance and the
    ``num_batches_tracked`` counter are *buffers* (``2 * num_features + 1``, as PyTorch's
    ``sum(b.numel() for b in module.buffers())`` counts them), reported separately.  MACs
    are 0 (torchvision counts conv and linear layers only).

    Examples
    --------
    >>> import convproof as cp
    >>> cp.BatchNorm(64).num_params, cp.BatchNorm(64).num_buffers
    (128, 129)
    """

    num_features: int
    affine: bool = True
    track_running_stats: bool = True
    layer: ClassVar[str] = "batch_norm"

    def __post_init__(self) -> None:
        _int("num_features", self.num_features, 1)
        _bool("affine", self.affine)
        _bool("track_running_stats", self.track_running_stats)

    @property
    def num_params(self) -> int:
        """Learnable parameters: ``2 C`` when affine, else 0."""
        return 2 * self.num_features if self.affine else 0

    @property
    def num_buffers(self) -> int:
        """Buffer elements as PyTorch counts them: running mean and variance (``2 C``) plus
        the one-element ``num_batches_tracked`` counter; 0 without running statistics."""
        return 2 * self.num_features + 1 if self.track_running_stats else 0

    @property
    def kind(self) -> str:
        """The row label."""
        return "batch_norm"


@dataclass(frozen=True)
class Identity:
    """The identity (a no-op; also what :class:`Dropout` is at inference).

    Examples
    --------
    >>> import convproof as cp
    >>> cp.Identity().kind
    'identity'
    """

    layer: ClassVar[str] = "identity"

    @property
    def kind(self) -> str:
        """The row label."""
        return "identity"


@dataclass(frozen=True)
class Dropout:
    """Dropout with probability ``p`` (element-wise; no parameters or MACs).

    Examples
    --------
    >>> import convproof as cp
    >>> cp.Dropout(0.2).p
    0.2
    """

    p: float = 0.5
    layer: ClassVar[str] = "dropout"

    def __post_init__(self) -> None:
        if isinstance(self.p, bool) or not isinstance(self.p, int | float) or not 0 <= self.p <= 1:
            raise ConvProofError(f"p must be a number in [0, 1], got p={self.p!r}")

    @property
    def kind(self) -> str:
        """The row label."""
        return "dropout"


@dataclass(frozen=True, init=False)
class Pad:
    """Explicit constant (zero by default) padding, per side and per spatial axis.

    This is how TF ``SAME`` is spelled in PyTorch ports (``nn.ZeroPad2d((0, 1, 0, 1))``
    before a ``valid`` conv).  Negative amounts crop, as ``torch.nn.functional.pad`` does.

    Parameters
    ----------
    padding : int, tuple of int, or tuple of (before, after) pairs
        In axis order (``((top, bottom), (left, right))`` in 2-D; note that
        ``nn.ZeroPad2d`` takes ``(left, right, top, bottom)``, last axis first).
    value : float
        The constant written into the padding (receptive fields do not depend on it).
    ndim : int, optional
        Needed when ``padding`` is an int; else inferred.

    Examples
    --------
    >>> import convproof as cp
    >>> cp.Pad(((0, 1), (0, 1))).padding
    ((0, 1), (0, 1))
    >>> cp.Pad(2, ndim=1).padding
    ((2, 2),)
    """

    padding: Pairs
    value: float
    layer: ClassVar[str] = "pad"

    def __init__(self, padding: Any, value: float = 0, ndim: int | None = None) -> None:
        if isinstance(padding, bool):
            raise ConvProofError(f"padding must be an int or pairs, got padding={padding!r}")
        if isinstance(padding, int):
            n = 2 if ndim is None else _int("ndim", ndim, 1)
            pairs: Pairs = ((padding, padding),) * n
        elif isinstance(padding, Sequence) and not isinstance(padding, str) and padding:
            out = []
            for entry in padding:
                if isinstance(entry, Sequence) and not isinstance(entry, str):
                    if len(entry) != 2:
                        raise ConvProofError(
                            f"padding pairs must be (before, after), got padding={padding!r}"
                        )
                    out.append(
                        (_int("padding", entry[0]), _int("padding", entry[1])),
                    )
                else:
                    p = _int("padding", entry)
                    out.append((p, p))
            pairs = tuple(out)
            if ndim is not None and len(pairs) != ndim:
                raise ConvProofError(
                    f"padding must have one entry per spatial dimension (ndim={ndim}), "
                    f"got padding={padding!r}"
                )
        else:
            raise ConvProofError(
                f"padding must be an int, a tuple of ints or (before, after) pairs, "
                f"got padding={padding!r}"
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConvProofError(f"value must be a number, got value={value!r}")
        object.__setattr__(self, "padding", pairs)
        object.__setattr__(self, "value", value)

    @property
    def ndim(self) -> int:
        """Number of spatial axes."""
        return len(self.padding)

    @property
    def kind(self) -> str:
        """The row label."""
        return "pad"


@dataclass(frozen=True)
class Flatten:
    """Flatten every per-sample axis into one feature axis (``nn.Flatten()``, ``start_dim=1``).

    The result has no spatial axes, so receptive fields end here (rows show ``None``).

    Examples
    --------
    >>> import convproof as cp
    >>> cp.Flatten().kind
    'flatten'
    """

    layer: ClassVar[str] = "flatten"

    @property
    def kind(self) -> str:
        """The row label."""
        return "flatten"


@dataclass(frozen=True)
class Linear:
    """A fully connected layer on the last axis: ``in_features * out_features (+ out)`` params.

    MACs are ``in * out`` per output row (bias excluded); bias adds ``out`` per row.

    Examples
    --------
    >>> import convproof as cp
    >>> cp.Linear(3072, 1).num_params
    3073
    """

    in_features: int
    out_features: int
    bias: bool = True
    layer: ClassVar[str] = "linear"

    def __post_init__(self) -> None:
        _int("in_features", self.in_features, 1)
        _int("out_features", self.out_features, 1)
        _bool("bias", self.bias)

    @property
    def num_params(self) -> int:
        """Weights plus bias."""
        return self.in_features * self.out_features + (self.out_features if self.bias else 0)

    @property
    def kind(self) -> str:
        """The row label."""
        return "linear"


@dataclass(frozen=True, init=False)
class AdaptivePool:
    """Adaptive average (or max) pooling to a fixed ``output_size``.

    Output ``j`` of an axis of size ``i`` pools the input window
    ``[floor(j i / o), ceil((j + 1) i / o))`` (PyTorch's rule).  When ``o`` divides ``i`` every
    window has size and step ``i / o``, so the layer is a regular pooling with
    ``kernel_size = stride = i / o`` and receptive fields pass through it; ``o = 1`` is global
    pooling.  Otherwise windows differ in size and position is not an affine function of
    ``j``: receptive-field columns become ``None`` from here on.  An entry ``None`` keeps the
    input size.  Params and MACs are 0 (torchvision's convention).

    Examples
    --------
    >>> import convproof as cp
    >>> cp.AdaptivePool((1, 1)).output_size
    (1, 1)
    >>> cp.AdaptivePool(7, ndim=2).output_size
    (7, 7)
    """

    output_size: tuple[int | None, ...]
    kind_: str
    layer: ClassVar[str] = "adaptive_pool"

    def __init__(self, output_size: Any, kind: str = "avg", ndim: int | None = None) -> None:
        if kind not in ("avg", "max"):
            raise ConvProofError(f"kind must be 'avg' or 'max', got kind={kind!r}")
        if isinstance(output_size, int) and not isinstance(output_size, bool):
            n = 2 if ndim is None else _int("ndim", ndim, 1)
            sizes: tuple[int | None, ...] = (output_size,) * n
        elif isinstance(output_size, Sequence) and not isinstance(output_size, str):
            sizes = tuple(output_size)
        else:
            raise ConvProofError(
                f"output_size must be an int or a tuple of ints (or None), "
                f"got output_size={output_size!r}"
            )
        for v in sizes:
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise ConvProofError(
                    f"output_size must hold ints >= 1 (or None to keep a size), "
                    f"got output_size={output_size!r}"
                )
        if not sizes or (ndim is not None and len(sizes) != ndim):
            raise ConvProofError(
                f"output_size must have one entry per spatial dimension, "
                f"got output_size={output_size!r}"
            )
        object.__setattr__(self, "output_size", sizes)
        object.__setattr__(self, "kind_", kind)

    @property
    def ndim(self) -> int:
        """Number of spatial axes."""
        return len(self.output_size)

    @property
    def kind(self) -> str:
        """The row label: ``"adaptive_avg_pool"`` or ``"adaptive_max_pool"``."""
        return f"adaptive_{self.kind_}_pool"


@dataclass(frozen=True)
class Add:
    """Element-wise sum of two or more inputs of equal shape (a residual join).

    Examples
    --------
    >>> import convproof as cp
    >>> cp.Add().kind
    'add'
    """

    layer: ClassVar[str] = "add"

    @property
    def kind(self) -> str:
        """The row label."""
        return "add"


@dataclass(frozen=True)
class Concat:
    """Concatenation of inputs along the channel axis (an Inception join).

    Examples
    --------
    >>> import convproof as cp
    >>> cp.Concat().kind
    'concat'
    """

    layer: ClassVar[str] = "concat"

    @property
    def kind(self) -> str:
        """The row label."""
        return "concat"


Layer = (
    ConvSpec
    | ConvTransposeSpec
    | PoolSpec
    | Activation
    | BatchNorm
    | Identity
    | Dropout
    | Pad
    | Flatten
    | Linear
    | AdaptivePool
    | Add
    | Concat
)
_LAYER_TYPES = (
    ConvSpec,
    ConvTransposeSpec,
    PoolSpec,
    Activation,
    BatchNorm,
    Identity,
    Dropout,
    Pad,
    Flatten,
    Linear,
    AdaptivePool,
    Add,
    Concat,
)


def layer_kind(layer: Layer) -> str:
    """The short label of a layer: ``"conv"``, ``"max_pool"``, ``"relu"``, ``"add"``, ...

    Examples
    --------
    >>> import convproof as cp
    >>> from convproof.networks.graph import layer_kind
    >>> layer_kind(cp.PoolSpec(kind="max", kernel_size=2)), layer_kind(cp.Activation("gelu"))
    ('max_pool', 'gelu')
    """
    if isinstance(layer, PoolSpec):
        return f"{layer.kind}_pool"
    if isinstance(layer, ConvSpec | ConvTransposeSpec):
        return layer.layer
    return str(layer.kind)


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
    def from_nodes(cls, nodes: Iterable[Node], name: str = "network") -> Network:
        """A network from explicit :class:`Node` objects (a general DAG).

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
        net._init(tuple(nodes), name)
        return net

    def _init(self, nodes: tuple[Node, ...], name: str) -> None:
        if not isinstance(name, str):
            raise ConvProofError(f"name must be a string, got name={name!r}")
        if not nodes:
            raise ConvProofError("layers must not be empty, got layers=[]")
        seen = {INPUT}
        ndims = set()
        for node in nodes:
            if not isinstance(node, Node):
                raise ConvProofError(f"nodes must be Node objects, got {node!r}")
            if not isinstance(node.name, str) or node.name in seen:
                raise ConvProofError(
                    f"node names must be unique strings other than 'input', got name={node.name!r}"
                )
            if not isinstance(node.layer, _LAYER_TYPES):
                raise ConvProofError(
                    f"layer of node {node.name!r} must be a spec or a convproof network layer, "
                    f"got {type(node.layer).__name__}"
                )
            for ref in node.inputs:
                if ref not in seen:
                    raise ConvProofError(
                        f"inputs of node {node.name!r} must name earlier nodes, got {ref!r}"
                    )
            multi = isinstance(node.layer, Add | Concat)
            if (multi and len(node.inputs) < 2) or (not multi and len(node.inputs) != 1):
                raise ConvProofError(
                    f"node {node.name!r} ({layer_kind(node.layer)}) must read "
                    f"{'two or more inputs' if multi else 'one input'}, "
                    f"got inputs={node.inputs!r}"
                )
            n = getattr(node.layer, "ndim", None)
            if n is not None:
                ndims.add(n)
            seen.add(node.name)
        if len(ndims) > 1:
            raise ConvProofError(
                f"layers must all have the same number of spatial dims, got ndim={sorted(ndims)}"
            )
        self.nodes: tuple[Node, ...] = nodes
        self.name = name
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
        return self.nodes == other.nodes and self.name == other.name

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
            entry: dict[str, Any] = {"name": node.name, **_layer_to_dict(node.layer)}
            entry["inputs"] = list(node.inputs)
            if node.shared:
                entry["shared"] = True
            layers.append(entry)
        out: dict[str, Any] = {"format": FORMAT, "name": self.name}
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


FORMAT = "convproof.network/1"


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
        if not isinstance(layer, _LAYER_TYPES) or isinstance(layer, Add | Concat):
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
# JSON
# --------------------------------------------------------------------------------------

_SPEC_COMPACT = {"conv": ConvSpec, "conv_transpose": ConvTransposeSpec}
_POOL_TYPES = {"max_pool": "max", "avg_pool": "avg"}


def _layer_to_dict(layer: Any) -> dict[str, Any]:
    if isinstance(layer, ConvSpec | ConvTransposeSpec):
        d = layer.to_dict()
        d["type"] = layer.layer
        return d
    if isinstance(layer, PoolSpec):
        d = layer.to_dict()
        d["type"] = f"{d.pop('kind')}_pool"
        return d
    if isinstance(layer, Activation):
        return {"type": "activation", "function": layer.function}
    if isinstance(layer, BatchNorm):
        return {
            "type": "batch_norm",
            "num_features": layer.num_features,
            "affine": layer.affine,
            "track_running_stats": layer.track_running_stats,
        }
    if isinstance(layer, Dropout):
        return {"type": "dropout", "p": layer.p}
    if isinstance(layer, Pad):
        return {"type": "pad", "padding": [list(p) for p in layer.padding], "value": layer.value}
    if isinstance(layer, Linear):
        return {
            "type": "linear",
            "in_features": layer.in_features,
            "out_features": layer.out_features,
            "bias": layer.bias,
        }
    if isinstance(layer, AdaptivePool):
        return {"type": layer.kind, "output_size": list(layer.output_size)}
    return {"type": layer.kind}  # identity, flatten, add, concat


def _tup(v: Any) -> Any:
    return tuple(_tup(x) for x in v) if isinstance(v, list) else v


def _fields(entry: dict[str, Any], allowed: Sequence[str], what: str) -> dict[str, Any]:
    extra = set(entry) - set(allowed) - {"type", "name", "inputs", "shared"}
    if extra:
        raise ConvProofError(
            f"unknown field {sorted(extra)[0]!r} for a {what} layer "
            f"(accepted: {', '.join(sorted(allowed))})"
        )
    return {k: _tup(entry[k]) for k in allowed if k in entry}


def _layer_from_dict(entry: dict[str, Any], ndim: int) -> Any:
    """One JSON layer entry (without structure) -> a layer object."""
    kind = entry.get("type")
    if kind in ("ConvSpec", "ConvTransposeSpec", "PoolSpec"):
        spec_data = {k: v for k, v in entry.items() if k not in ("name", "inputs", "shared")}
        return spec_from_dict(spec_data)
    if kind in _SPEC_COMPACT:
        cls = _SPEC_COMPACT[kind]
        names = [f for f in cls.__dataclass_fields__]  # type: ignore[attr-defined]
        kwargs = _fields(entry, names, kind)
        kwargs.setdefault("ndim", ndim)
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise ConvProofError(f"{kind} description is incomplete: {exc}") from None
    if kind in _POOL_TYPES or kind == "pool":
        names = [f for f in PoolSpec.__dataclass_fields__ if f != "kind"]
        if kind == "pool":
            names.append("kind")
        kwargs = _fields(entry, names, kind)
        if kind != "pool":
            kwargs["kind"] = _POOL_TYPES[kind]
        kwargs.setdefault("ndim", ndim)
        try:
            return PoolSpec(**kwargs)
        except TypeError as exc:
            raise ConvProofError(f"{kind} description is incomplete: {exc}") from None
    if kind == "activation":
        kwargs = _fields(entry, ["function"], kind)
        return Activation(**kwargs)
    if kind in ACTIVATIONS:
        _fields(entry, [], kind)
        return Activation(kind)
    simple: dict[str, tuple[type, list[str]]] = {
        "batch_norm": (BatchNorm, ["num_features", "affine", "track_running_stats"]),
        "dropout": (Dropout, ["p"]),
        "linear": (Linear, ["in_features", "out_features", "bias"]),
        "identity": (Identity, []),
        "flatten": (Flatten, []),
        "add": (Add, []),
        "concat": (Concat, []),
    }
    if kind in simple:
        cls, names = simple[kind]
        try:
            return cls(**_fields(entry, names, kind))
        except TypeError as exc:
            raise ConvProofError(f"{kind} description is incomplete: {exc}") from None
    if kind == "pad":
        kwargs = _fields(entry, ["padding", "value"], kind)
        if "padding" not in kwargs:
            raise ConvProofError("pad description is incomplete: missing 'padding'")
        return Pad(kwargs["padding"], kwargs.get("value", 0), ndim=ndim)
    if kind in ("adaptive_avg_pool", "adaptive_max_pool"):
        kwargs = _fields(entry, ["output_size"], kind)
        if "output_size" not in kwargs:
            raise ConvProofError(f"{kind} description is incomplete: missing 'output_size'")
        return AdaptivePool(kwargs["output_size"], kind=kind.split("_")[1], ndim=ndim)
    accepted = sorted(
        [
            *_SPEC_COMPACT,
            *_POOL_TYPES,
            "pool",
            "activation",
            *simple,
            "pad",
            "adaptive_avg_pool",
            "adaptive_max_pool",
            "sequential",
            "parallel",
            "residual",
            "ConvSpec",
            "ConvTransposeSpec",
            "PoolSpec",
        ]
    )
    raise ConvProofError(
        f"type must be one of {', '.join(map(repr, accepted))} or an activation name, "
        f"got type={kind!r}"
    )


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
            _fields(entry, ["layers"], kind)
            return Sequential(_items_from_json(entry.get("layers"), ndim, f"{path}.layers"), name)
        if kind == "residual":
            _fields(entry, ["body", "shortcut"], kind)
            body = _items_from_json(entry.get("body"), ndim, f"{path}.body")
            shortcut = _items_from_json(entry.get("shortcut", []), ndim, f"{path}.shortcut")
            return Residual(body, shortcut, name)
        if kind == "parallel":
            _fields(entry, ["branches", "join"], kind)
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
    unknown = set(data) - {"format", "name", "ndim", "input_shape", "layers", "description"}
    if unknown:
        raise ConvProofError(
            f"unknown top-level field {sorted(unknown)[0]!r} (accepted: description, format, "
            f"input_shape, layers, name, ndim)"
        )
    name = data.get("name", "network")
    ndim = data.get("ndim", 2)
    try:
        _int("ndim", ndim, 1)
    except ConvProofError as exc:
        raise ConvProofError(f"$.ndim: {exc}") from None
    layers = data.get("layers")
    if not isinstance(layers, list):
        raise ConvProofError(f"$.layers must be a list of layers, got {type(layers).__name__}")
    if any(isinstance(e, dict) and "inputs" in e for e in layers):
        return _graph_from_json(layers, ndim, str(name))
    items = _items_from_json(layers, ndim, "$.layers")
    builder = _Builder()
    try:
        builder.sequence(items, INPUT, prefix="", path="$.layers")
    except ConvProofError as exc:
        raise ConvProofError(str(exc)) from None
    return Network.from_nodes(builder.nodes, name=str(name))


def _graph_from_json(layers: list[Any], ndim: int, name: str) -> Network:
    nodes = []
    previous = INPUT
    for i, entry in enumerate(layers):
        path = f"$.layers[{i}]"
        if not isinstance(entry, dict):
            raise ConvProofError(f"{path} must be a JSON object, got {entry!r}")
        node_name = entry.get("name", str(i))
        inputs = entry.get("inputs", [previous])
        if not isinstance(inputs, list) or not all(isinstance(x, str) for x in inputs):
            raise ConvProofError(f"{path}.inputs must be a list of names, got inputs={inputs!r}")
        shared = entry.get("shared", False)
        try:
            layer = _layer_from_dict(entry, ndim)
            _bool("shared", shared)
        except ConvProofError as exc:
            raise ConvProofError(f"{path}: {exc}") from None
        nodes.append(Node(node_name, layer, tuple(inputs), shared))
        previous = node_name
    try:
        return Network.from_nodes(nodes, name=name)
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


# --------------------------------------------------------------------------------------
# arithmetic
# --------------------------------------------------------------------------------------

AxisRF = tuple[Number, Number, Number]  # (r, S, P)


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
        return None if self.rf is None else tuple(_centre(a) for a in self.rf)


@dataclass
class _Tensor:
    shape: tuple[Any, ...]
    rf: tuple[AxisRF, ...] | None
    note: str = ""
    spatial_ndim: int = 0


def _is_concrete(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _norm(x: Any) -> Any:
    """Fraction/int/SymPy number -> int when integral, Fraction when rational, else Expr."""
    if isinstance(x, Fraction):
        return x.numerator if x.denominator == 1 else x
    if isinstance(x, sympy.Basic):
        if x.is_Integer:
            return int(x)
        if x.is_Rational:
            return Fraction(int(x.p), int(x.q))
        return x
    return x


def _sym(x: Any) -> Any:
    return sympy.Rational(x.numerator, x.denominator) if isinstance(x, Fraction) else x


def _centre(a: AxisRF) -> Any:
    """``-P + (r - 1) / 2``: the centre of output 0's region."""
    r, _, p = a
    if isinstance(r, int | Fraction) and isinstance(p, int | Fraction):
        return _norm((Fraction(r) - 1) / 2 - Fraction(p))
    return _norm((_sym(r) - 1) / 2 - _sym(p))


def _equal(a: Any, b: Any) -> bool | None:
    """Exact equality; ``None`` when SymPy cannot decide."""
    if isinstance(a, int | Fraction) and isinstance(b, int | Fraction):
        return a == b
    if a == b:
        return True
    diff = sympy.simplify(_sym(a) - _sym(b))
    if diff == 0:
        return True
    if diff.is_number:
        return False
    return None


def _fmt_shape(shape: tuple[Any, ...]) -> str:
    return "(" + ", ".join(str(v) for v in shape) + ")"


def _step(rf: tuple[AxisRF, ...] | None, windows: Sequence[tuple[Any, Any, Any]]) -> Any:
    """Araujo et al.: per axis ``r += (k_eff - 1) S; P += p_l S; S *= s``."""
    if rf is None:
        return None
    out = []
    for (r, S, P), (k_eff, s, pl) in zip(rf, windows):
        if any(isinstance(v, sympy.Basic) for v in (r, S, P, k_eff, s, pl)):
            r, S, P, k_eff, s, pl = (_sym(v) for v in (r, S, P, k_eff, s, pl))
            out.append((_norm(r + (k_eff - 1) * S), _norm(S * s), _norm(P + pl * S)))
        else:
            out.append((_norm(r + (k_eff - 1) * S), _norm(S * s), _norm(P + pl * S)))
    return tuple(out)


def _sym_same(i: Any, k_eff: int, s: int, lower: bool) -> tuple[Any, Any]:
    """TF ``SAME`` split for a symbolic size: total ``max(0, (ceil(i/s) - 1)s + k_eff - i)``."""
    i = sympy.Integer(i) if _is_concrete(i) else i
    total = sympy.Max(0, (sympy.ceiling(i / s) - 1) * s + k_eff - i)
    small = sympy.floor(total / 2)
    pair = (total - small, small) if lower else (small, total - small)
    return (_norm(pair[0]), _norm(pair[1]))


def _window_layer(
    node: Node, spec: Spec, x: _Tensor
) -> tuple[tuple[Any, ...], Pairs | tuple[tuple[Any, Any], ...]]:
    """Output per-sample shape and resolved paddings of a spec layer (concrete or symbolic)."""
    c, spatial = x.shape[0], x.shape[1:]
    if len(spatial) != spec.ndim:
        raise ConvProofError(
            f"layer {node.name!r} ({layer_kind(spec)}) expects {spec.ndim} spatial dims, "
            f"got input shape {_fmt_shape(x.shape)}"
        )
    if all(_is_concrete(v) for v in spatial):
        try:
            out = spec.output_shape(x.shape)
            pads = spec.resolve_padding(x.shape)
        except ConvProofError as exc:
            raise ConvProofError(f"layer {node.name!r} ({layer_kind(spec)}): {exc}") from None
        return tuple(out), pads
    # symbolic sizes: the same formulas with SymPy floor/ceiling; no emptiness checks
    expected = getattr(spec, "in_channels", c)
    if c != expected:
        raise ConvProofError(
            f"layer {node.name!r} ({layer_kind(spec)}): input_shape has {c} channels but the "
            f"layer expects {expected} (in_channels={expected})"
        )
    k_effs = spec.effective_kernel_size
    pads_list: list[tuple[Any, Any]] = []
    for axis, i in enumerate(spatial):
        k_eff, s = k_effs[axis], spec.stride[axis]
        if isinstance(spec.padding, tuple):
            pads_list.append(spec.padding[axis])
        elif spec.padding == "full":
            pads_list.append((k_eff - 1, k_eff - 1))
        elif spec.padding == "same":
            pads_list.append(((k_eff - 1) // 2, k_eff - 1 - (k_eff - 1) // 2))
        elif isinstance(spec, ConvTransposeSpec):
            total = max(0, spec.output_padding[axis] + k_eff - s)
            small = total // 2
            lower = spec.padding == "SAME_LOWER"
            pads_list.append((total - small, small) if lower else (small, total - small))
        else:
            pads_list.append(_sym_same(i, k_eff, s, spec.padding == "SAME_LOWER"))
    sizes = []
    for axis, (i, (pl, pr)) in enumerate(zip(spatial, pads_list)):
        k, d, s = spec.kernel_size[axis], spec.dilation[axis], spec.stride[axis]
        if isinstance(spec, ConvTransposeSpec):
            o = _axis.transposed_out(i, k, s, d, pl, pr, spec.output_padding[axis])
        elif (
            isinstance(spec.padding, str)
            and spec.padding.startswith("SAME")
            and not (isinstance(spec, PoolSpec) and spec.ceil_mode)
        ):
            o = sympy.ceiling(sympy.Integer(i) / s if _is_concrete(i) else i / s)  # TF's rule
        elif isinstance(spec, PoolSpec) and spec.ceil_mode:
            o = _axis.pool_ceil_count(i, k, s, d, pl, pr)
            o = sympy.Piecewise((o - 1, _axis.ceil_drops_last(o, s, i, pl)), (o, True))
        else:
            o = _axis.conv_out(i, k, s, d, pl, pr)
        sizes.append(_norm(o) if isinstance(o, sympy.Basic) else o)
    channels = c if isinstance(spec, PoolSpec) else spec.out_channels
    return (channels, *sizes), tuple(pads_list)


def _prod(values: Iterable[Any]) -> Any:
    out: Any = 1
    for v in values:
        out = out * v
    return _norm(sympy.expand(out)) if isinstance(out, sympy.Basic) else out


def _apply(node: Node, xs: list[_Tensor]) -> tuple[_Tensor, Any, Any, Any, Any]:
    """One node: (output tensor, params, buffers, macs, bias_adds)."""
    layer = node.layer
    x = xs[0]
    kind = layer_kind(layer)
    where = f"layer {node.name!r} ({kind})"
    params = 0 if node.shared else getattr(layer, "num_params", 0)
    zero = (x, params, 0, 0, 0)

    def needs_spatial() -> None:
        if x.spatial_ndim == 0 or len(x.shape) < 2:
            raise ConvProofError(
                f"{where} needs a (C, *spatial) input, got input shape {_fmt_shape(x.shape)}"
            )

    if isinstance(layer, ConvSpec | ConvTransposeSpec | PoolSpec):
        needs_spatial()
        out, pads = _window_layer(node, layer, x)
        spatial_in = x.shape[1:]
        k_effs = layer.effective_kernel_size
        if isinstance(layer, ConvTransposeSpec):
            # zero-insertion (stride 1/s) then a stride-1 conv with left padding k_eff-1-p_l
            inv = [(1, Fraction(1, s), 0) for s in layer.stride]
            rf = _step(x.rf, inv)
            rf = _step(rf, [(k, 1, k - 1 - pl) for k, (pl, _) in zip(k_effs, pads)])
            macs = _prod([layer.in_channels, *spatial_in, *layer.weight_shape[1:]])
        else:
            rf = _step(x.rf, [(k, s, pl) for k, s, (pl, _) in zip(k_effs, layer.stride, pads)])
            if isinstance(layer, PoolSpec):
                macs = 0
            else:
                macs = _prod([*out, *layer.weight_shape[1:]])
        bias_adds = _prod(out) if layer.bias else 0
        return _Tensor(out, rf, x.note, x.spatial_ndim), params, 0, macs, bias_adds
    if isinstance(layer, Activation | Identity | Dropout):
        return zero
    if isinstance(layer, BatchNorm):
        if len(x.shape) < 1 or x.shape[0] != layer.num_features:
            raise ConvProofError(
                f"{where}: input has {x.shape[0]} channels but the layer expects "
                f"{layer.num_features} (num_features={layer.num_features})"
            )
        return x, params, layer.num_buffers, 0, 0
    if isinstance(layer, Pad):
        needs_spatial()
        if layer.ndim != x.spatial_ndim:
            raise ConvProofError(
                f"{where} expects {layer.ndim} spatial dims, got input shape {_fmt_shape(x.shape)}"
            )
        sizes = []
        for axis, (i, (pl, pr)) in enumerate(zip(x.shape[1:], layer.padding)):
            o = i + pl + pr
            if _is_concrete(o) and o < 1:
                raise ConvProofError(
                    f"{where}: padding {(pl, pr)} crops input size {i} along dim {axis} to {o}"
                )
            sizes.append(o)
        rf = _step(x.rf, [(1, 1, pl) for pl, _ in layer.padding])
        return _Tensor((x.shape[0], *sizes), rf, x.note, x.spatial_ndim), params, 0, 0, 0
    if isinstance(layer, Flatten):
        note = "no spatial axes after flatten"
        return _Tensor((_prod(x.shape),), None, note, 0), 0, 0, 0, 0
    if isinstance(layer, Linear):
        f = x.shape[-1]
        if _equal(f, layer.in_features) is not True:
            raise ConvProofError(
                f"{where}: input has {f} features on its last axis but the layer expects "
                f"{layer.in_features} (in_features={layer.in_features}); input shape "
                f"{_fmt_shape(x.shape)}"
            )
        rows = _prod(x.shape[:-1])
        out = (*x.shape[:-1], layer.out_features)
        macs = _prod([rows, layer.in_features, layer.out_features])
        bias_adds = _prod([rows, layer.out_features]) if layer.bias else 0
        note = "a linear layer mixes all positions"
        return _Tensor(out, None, note, 0), params, 0, macs, bias_adds
    if isinstance(layer, AdaptivePool):
        needs_spatial()
        if layer.ndim != x.spatial_ndim:
            raise ConvProofError(
                f"{where} expects {layer.ndim} spatial dims, got input shape {_fmt_shape(x.shape)}"
            )
        sizes, windows = [], []
        regular = x.rf is not None
        for i, o in zip(x.shape[1:], layer.output_size):
            if o is None:
                sizes.append(i)
                windows.append((1, 1, 0))
                continue
            sizes.append(o)
            if o == 1:
                windows.append((i, i, 0))  # global pooling: one window of size i
            elif _is_concrete(i) and i % o == 0:
                windows.append((i // o, i // o, 0))
            else:
                regular = False
        if regular:
            return (
                _Tensor((x.shape[0], *sizes), _step(x.rf, windows), x.note, x.spatial_ndim),
                0,
                0,
                0,
                0,
            )
        note = x.note or (
            f"adaptive pooling at {node.name!r}: output size does not divide the input size "
            f"{_fmt_shape(x.shape[1:])}, windows are not a regular grid"
        )
        return _Tensor((x.shape[0], *sizes), None, note, x.spatial_ndim), 0, 0, 0, 0
    raise AssertionError(f"unhandled layer {layer!r}")  # pragma: no cover


def _join(node: Node, xs: list[_Tensor], check_alignment: bool) -> _Tensor:
    layer = node.layer
    kind = layer_kind(layer)
    first = xs[0]
    shapes = [x.shape for x in xs]
    if isinstance(layer, Add):
        ok = all(
            len(s) == len(first.shape) and all(_equal(a, b) for a, b in zip(s, first.shape))
            for s in shapes
        )
        if not ok:
            raise ConvProofError(
                f"inputs of add {node.name!r} must have equal shapes, got "
                f"{', '.join(f'{n}: {_fmt_shape(s)}' for n, s in zip(node.inputs, shapes))}"
            )
        shape = first.shape
    else:
        ok = all(
            len(s) == len(first.shape) and all(_equal(a, b) for a, b in zip(s[1:], first.shape[1:]))
            for s in shapes
        )
        if not ok or len(first.shape) < 1:
            raise ConvProofError(
                f"inputs of concat {node.name!r} must agree in every axis but channels, got "
                f"{', '.join(f'{n}: {_fmt_shape(s)}' for n, s in zip(node.inputs, shapes))}"
            )
        shape = (sum(s[0] for s in shapes), *first.shape[1:])
    rfs = [x.rf for x in xs]
    if any(rf is None for rf in rfs):
        notes = [x.note for x in xs if x.note]
        return _Tensor(shape, None, notes[0] if notes else "", first.spatial_ndim)
    assert all(rf is not None for rf in rfs)
    ndim = len(rfs[0])  # type: ignore[arg-type]
    out = []
    for axis in range(ndim):
        per = [rf[axis] for rf in rfs]  # type: ignore[index]
        strides = [a[1] for a in per]
        centres = [_centre(a) for a in per]
        verdicts = [_equal(v, strides[0]) for v in strides]
        verdicts += [_equal(c, centres[0]) for c in centres]
        if None in verdicts and False not in verdicts:
            if check_alignment:
                raise ConvProofError(
                    f"whether the branches joined by {kind} {node.name!r} are aligned depends on "
                    f"the symbolic input size (centres {', '.join(map(str, centres))}); give a "
                    f"concrete input_shape or pass check_alignment=False"
                )
            note = f"alignment at {node.name!r} depends on the input size"
            return _Tensor(shape, None, note, first.spatial_ndim)
        if False in verdicts:
            if check_alignment:
                detail = "; ".join(
                    f"{n}: stride {a[1]}, centre {c} (r={a[0]}, P={a[2]})"
                    for n, a, c in zip(node.inputs, per, centres)
                )
                raise ConvProofError(
                    f"branches joined by {kind} {node.name!r} are not aligned along spatial "
                    f"axis {axis}: every path needs the same effective stride and the same "
                    f"centre -P + (r-1)/2 (Araujo et al. 2019); got {detail}"
                )
            note = f"branches joined at {node.name!r} are not aligned"
            return _Tensor(shape, None, note, first.spatial_ndim)
        best = per[0]
        for a in per[1:]:
            bigger = _equal(sympy.Max(_sym(a[0]), _sym(best[0])), _sym(a[0]))
            if bigger and not _equal(a[0], best[0]):
                best = a
        out.append(best)
    return _Tensor(shape, tuple(out), "", first.spatial_ndim)


def _split_input(net: Network, input_shape: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """(batch, per-sample shape) of a network input; spatial sizes may be SymPy symbols."""
    if isinstance(input_shape, str) or not isinstance(input_shape, Sequence):
        raise ConvProofError(
            f"input_shape must be a tuple (C, *spatial) or (N, C, *spatial), "
            f"got input_shape={input_shape!r}"
        )
    shape = tuple(input_shape)
    for v in shape:
        ok = _is_concrete(v) or (isinstance(v, sympy.Expr) and v.is_integer is not False)
        if not ok:
            raise ConvProofError(
                f"input_shape must hold ints or integer SymPy expressions, "
                f"got input_shape={input_shape!r}"
            )
        if _is_concrete(v) and v < 1:
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
    if not _is_concrete(sample[0]):
        raise ConvProofError(
            f"input_shape must have an integer channel count, got input_shape={input_shape!r}"
        )
    return batch, sample


def analyze(
    net: Network, input_shape: Sequence[Any], *, check_alignment: bool = True
) -> list[NodeResult]:
    """Shapes, parameters, MACs and receptive fields of every node, in order.

    Parameters
    ----------
    net : Network
    input_shape : tuple
        ``(C, *spatial)`` or ``(N, C, *spatial)``; spatial sizes may be SymPy integer
        symbols (symbolic mode).  Results are per sample.
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
    _, sample = _split_input(net, input_shape)
    spatial_ndim = len(sample) - 1
    rf0 = tuple((1, 1, 0) for _ in range(spatial_ndim)) if spatial_ndim else None
    tensors: dict[str, _Tensor] = {INPUT: _Tensor(sample, rf0, "", spatial_ndim)}
    results = []
    for node in net.nodes:
        xs = [tensors[name] for name in node.inputs]
        if isinstance(node.layer, Add | Concat):
            y = _join(node, xs, check_alignment)
            params = buffers = macs = bias_adds = 0
        else:
            y, params, buffers, macs, bias_adds = _apply(node, xs)
        tensors[node.name] = y
        results.append(
            NodeResult(
                node.name,
                layer_kind(node.layer),
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
