"""The one protocol of network layers: a new layer kind is one subclass of :class:`NetworkLayer`.

A layer kind says, in one class, everything the rest of the package asks of it:

===========================  ===========================================================
``layer`` (class attribute)  its JSON ``"type"``; a subclass that sets it is registered, so
                             :func:`~convproof.network_from_dict` reads it back
``aliases``                  other JSON types read as this class
``kind``                     the row label (``"relu"``, ``"max_pool"``; default ``layer``)
``ndim``                     spatial axes it requires (``None``: any)
``num_params``               learnable parameters (default 0)
``apply(shape, ...)``        a :class:`Step`: the output shape (per sample, ints or SymPy),
                             MACs, bias additions, buffers and the receptive-field effect —
                             :data:`IDENTITY` (element-wise; the default), :class:`Resets`
                             (positions mixed or spatial axes gone), or one window
                             ``(k_eff, s, p_left)`` per spatial axis
``trace_back(...)``          the exact input positions read along one axis (receptive-field
                             pictures); derived from the window by default
``to_dict`` / ``from_dict``  JSON; derived from the dataclass fields by default
``joins``                    reads two or more inputs (``join_shape`` then replaces ``apply``)
===========================  ===========================================================

The three specs (:class:`~convproof.ConvSpec`, ...) stay plain specs inside a network;
:func:`as_layer` gives their adapters (:mod:`convproof.networks.spec_layers`).  Everything in
:mod:`convproof.networks` (the graph, analysis, summaries, JSON, receptive fields) asks a
layer through this protocol, never by its class.

Examples
--------
A channel-wise layer with no parameters is a dataclass with a ``layer`` name:

>>> import convproof as cp
>>> from dataclasses import dataclass
>>> from convproof.networks.protocol import NetworkLayer
>>> @dataclass(frozen=True)
... class ChannelShuffle(NetworkLayer):
...     groups: int = 2
...     layer = "doc_channel_shuffle"
>>> net = cp.Network([("conv", cp.ConvSpec(in_channels=2, out_channels=4, kernel_size=3)),
...                   ("shuffle", ChannelShuffle())])
>>> cp.summary(net, (2, 8, 8))["shuffle"].receptive_field
(3, 3)
>>> cp.network_from_json(net.to_json()) == net
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from convproof.errors import ConvProofError
from convproof.networks.values import Number, fmt_shape

__all__ = ["IDENTITY", "NetworkLayer", "Resets", "Step", "as_layer", "is_layer", "layer_kind"]

#: The receptive-field effect of an element-wise layer: nothing moves.
IDENTITY = "identity"

Window = tuple[Number, Number, Number]  # (k_eff, s, p_left) on one axis


@dataclass(frozen=True)
class Resets:
    """The receptive-field effect of a layer after which positions are not an affine
    function of the input index (``note`` says why); ``spatial`` tells whether spatial axes
    remain (an irregular adaptive pool) or are gone (flatten, linear)."""

    note: str
    spatial: bool = False


@dataclass(frozen=True)
class Step:
    """What a layer does to one sample (see :meth:`NetworkLayer.apply`).

    Attributes
    ----------
    shape : tuple
        Output shape per sample (ints or SymPy expressions).
    macs, bias_adds, buffers : int or sympy.Expr
        ``macs`` and ``bias_adds`` are ``None`` when unknown (an operation convproof does
        not model, :class:`~convproof.networks.traced.Opaque`); totals then leave it out and
        say so.
    receptive : str, Resets or tuple of (k_eff, s, p_left)
        :data:`IDENTITY`, a :class:`Resets`, or one window per spatial axis.
    """

    shape: tuple[Any, ...]
    macs: Any = 0
    bias_adds: Any = 0
    buffers: Any = 0
    receptive: Any = IDENTITY


#: JSON type -> layer class; filled by subclassing (see :meth:`NetworkLayer.__init_subclass__`).
_REGISTRY: dict[str, type[NetworkLayer]] = {}
#: spec class -> adapter class (:mod:`convproof.networks.spec_layers`).
_ADAPTERS: dict[type, type[NetworkLayer]] = {}


class NetworkLayer:
    """Base class of network layer kinds (see the module docstring for the protocol)."""

    layer: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    #: Label for ``aliases`` in messages (``"an activation name"``); ``None`` lists them.
    aliases_label: ClassVar[str | None] = None
    joins: ClassVar[bool] = False
    #: The class whose instances this adapter wraps (spec adapters only).
    wraps: ClassVar[type | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.wraps is not None and "wraps" in cls.__dict__:
            _ADAPTERS[cls.wraps] = cls
        if "layer" in cls.__dict__ and cls.layer:
            for name in (cls.layer, *cls.aliases):
                old = _REGISTRY.get(name)
                if old is not None and old.__qualname__ != cls.__qualname__:
                    raise ConvProofError(
                        f"layer must be a new JSON type, got layer={name!r} (already "
                        f"{old.__module__}.{old.__qualname__})"
                    )
                _REGISTRY[name] = cls

    # -- identity ---------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """The row label (default: the JSON type)."""
        return self.layer

    @property
    def ndim(self) -> int | None:
        """Spatial axes this layer requires (``None``: any)."""
        return None

    @property
    def num_params(self) -> Any:
        """Learnable parameters (default 0)."""
        return 0

    def where(self, name: str) -> str:
        """``layer 'conv1' (conv)``: how messages name a node holding this layer."""
        return f"layer {name!r} ({self.kind})"

    def needs_spatial(self, shape: tuple[Any, ...], spatial_ndim: int, name: str) -> None:
        """Raise unless the input is ``(C, *spatial)`` with this layer's ``ndim`` axes."""
        if spatial_ndim == 0 or len(shape) < 2:
            raise ConvProofError(
                f"{self.where(name)} needs a (C, *spatial) input, got input shape "
                f"{fmt_shape(shape)}"
            )
        if self.ndim is not None and self.ndim != spatial_ndim:
            raise ConvProofError(
                f"{self.where(name)} expects {self.ndim} spatial dims, got input shape "
                f"{fmt_shape(shape)}"
            )

    # -- arithmetic -------------------------------------------------------------------------
    def apply(self, shape: tuple[Any, ...], spatial_ndim: int, name: str) -> Step:
        """Output shape, counts and receptive-field effect for one sample of ``shape``.

        ``spatial_ndim`` is the number of trailing spatial axes of ``shape`` (0 once they
        are gone); ``name`` is the node's, for messages.  The default is an element-wise
        layer: shape unchanged, no MACs, receptive field unchanged.
        """
        return Step(tuple(shape))

    def join_shape(
        self, shapes: Sequence[tuple[Any, ...]], inputs: Sequence[str], name: str
    ) -> tuple[Any, ...]:
        """The output shape of a join (``joins = True``) reading ``shapes``."""
        raise NotImplementedError  # pragma: no cover - only joins are asked

    def join_step(self, shapes: Sequence[tuple[Any, ...]]) -> Step | None:
        """For a join reading ``shapes``: a :class:`Step` whose counts replace the defaults
        (MACs 0) and whose receptive effect, unless :data:`IDENTITY`, replaces the aligned
        union of the inputs' fields; ``None`` keeps both."""
        return None

    def trace_back(
        self, step: Step, in_shape: tuple[int, ...], axis: int, outs: set[int]
    ) -> set[int] | None:
        """Input indices along spatial ``axis`` read by output indices ``outs``; ``None``
        when the receptive-field walk stops here.  Default: from ``step.receptive``."""
        rf = step.receptive
        if rf == IDENTITY:
            return set(outs)
        if isinstance(rf, Resets):
            return None
        k, s, p = rf[axis]
        if not all(isinstance(v, int) for v in (k, s, p)):
            return None
        n = in_shape[1 + axis]
        return {t for o in outs for t in range(o * s - p, o * s - p + k) if 0 <= t < n}

    # -- JSON -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """``{"type": layer, field: value, ...}`` from the dataclass fields."""
        out: dict[str, Any] = {"type": self.layer}
        if dataclasses.is_dataclass(self):
            for f in dataclasses.fields(self):
                out[f.name] = _jsonable(getattr(self, f.name))
        return out

    @classmethod
    def from_dict(cls, entry: dict[str, Any], ndim: int) -> Any:
        """A layer from its JSON entry (``ndim``: the network's spatial dims)."""
        names: list[str] = []
        if dataclasses.is_dataclass(cls):
            names = [f.name for f in dataclasses.fields(cls)]
        kind = entry.get("type")
        try:
            return cls(**json_fields(entry, names, str(kind)))
        except TypeError as exc:
            raise ConvProofError(f"{kind} description is incomplete: {exc}") from None


def _jsonable(v: Any) -> Any:
    return [_jsonable(x) for x in v] if isinstance(v, tuple | list) else v


def _tup(v: Any) -> Any:
    return tuple(_tup(x) for x in v) if isinstance(v, list) else v


def json_fields(entry: dict[str, Any], allowed: Sequence[str], what: str) -> dict[str, Any]:
    """The ``allowed`` fields of a JSON entry (lists as tuples); unknown fields are errors."""
    extra = set(entry) - set(allowed) - {"type", "name", "inputs", "shared", "frozen_params"}
    if extra:
        raise ConvProofError(
            f"unknown field {sorted(extra)[0]!r} for a {what} layer "
            f"(accepted: {', '.join(sorted(allowed))})"
        )
    return {k: _tup(entry[k]) for k in allowed if k in entry}


def _load_adapters() -> None:
    import convproof.networks.layers
    import convproof.networks.resampling
    import convproof.networks.spec_layers  # noqa: F401


def as_layer(obj: Any) -> NetworkLayer:
    """``obj`` seen through the protocol: itself, or the adapter of a spec.

    Raises
    ------
    ConvProofError
        If ``obj`` is neither a :class:`NetworkLayer` nor a spec.

    Examples
    --------
    >>> import convproof as cp
    >>> from convproof.networks.protocol import as_layer
    >>> as_layer(cp.PoolSpec(kind="max", kernel_size=2)).kind
    'max_pool'
    """
    if isinstance(obj, NetworkLayer):
        return obj
    adapter = _ADAPTERS.get(type(obj))
    if adapter is None:
        _load_adapters()
        adapter = _ADAPTERS.get(type(obj))
    if adapter is None:
        raise ConvProofError(
            f"layer must be a spec or a convproof network layer, got {type(obj).__name__}"
        )
    return adapter(obj)  # type: ignore[call-arg]


def is_layer(obj: Any) -> bool:
    """Whether ``obj`` can be a node's layer (a :class:`NetworkLayer` or a spec)."""
    if isinstance(obj, NetworkLayer):
        return True
    _load_adapters()
    return type(obj) in _ADAPTERS


def layer_kind(layer: Any) -> str:
    """The short label of a layer: ``"conv"``, ``"max_pool"``, ``"relu"``, ``"add"``, ...

    Examples
    --------
    >>> import convproof as cp
    >>> from convproof.networks.protocol import layer_kind
    >>> layer_kind(cp.PoolSpec(kind="max", kernel_size=2)), layer_kind(cp.Activation("gelu"))
    ('max_pool', 'gelu')
    """
    return as_layer(layer).kind


def layer_from_dict(entry: dict[str, Any], ndim: int, structure: Sequence[str] = ()) -> Any:
    """One JSON layer entry (no structure) -> a layer, by its registered ``"type"``."""
    _load_adapters()
    kind = entry.get("type")
    cls = _REGISTRY.get(kind) if isinstance(kind, str) else None
    if cls is not None:
        return cls.from_dict(entry, ndim)
    listed, labels = set(structure), []
    for c in set(_REGISTRY.values()):
        listed.add(c.layer)
        if c.aliases_label is None:
            listed.update(c.aliases)
        else:
            labels.append(c.aliases_label)
    suffix = "".join(f" or {label}" for label in sorted(labels))
    raise ConvProofError(
        f"type must be one of {', '.join(map(repr, sorted(listed)))}{suffix}, got type={kind!r}"
    )


def layer_to_dict(layer: Any) -> dict[str, Any]:
    """The JSON entry of a layer (without name and inputs)."""
    return as_layer(layer).to_dict()
