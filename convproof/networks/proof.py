"""Prove every layer of a network: each conv, transposed conv and pool at its input shape.

:func:`prove_network` walks a convproof :class:`~convproof.networks.graph.Network` (or a PyTorch
module, traced with ``torch.fx``), works out each layer's input shape
(:func:`~convproof.networks.graph.analyze`) and runs :func:`~convproof.prove` on every
:class:`~convproof.ConvSpec`, :class:`~convproof.ConvTransposeSpec` and
:class:`~convproof.PoolSpec` layer: convproof's conv matrix against the definition, exactly,
block by block (bounded memory).  Other layers (activations, batch norm, linear, adaptive
pooling ...) are listed as not part of the claim.  One progress bar covers all layers.

Examples
--------
>>> import convproof as cp
>>> net = cp.Network([("conv", cp.ConvSpec(in_channels=3, out_channels=8, kernel_size=3,
...                                         padding=1)),
...                   ("relu", cp.Activation()),
...                   ("pool", cp.PoolSpec(kind="avg", kernel_size=2))], name="tiny")
>>> result = cp.prove_network(net, (3, 16, 16))
>>> bool(result), result.status, [layer.name for layer in result.layers]
(True, 'proved', ['conv', 'pool'])
>>> print(result.layers[0].line(seconds=False))
PROVED  conv  conv 3x16x16 -> 8x16x16  52,832 monomials
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from convproof.errors import ConvProofError
from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec
from convproof.networks.graph import INPUT, _split_input, analyze
from convproof.networks.protocol import layer_kind
from convproof.proofs.concrete import (
    _SHARED_TICK,
    ProofResult,
    _layout,
    _monomials,
    _progress_bar,
    prove,
)

__all__ = ["LayerProof", "NetworkProof", "prove_network"]

_PROVABLE = (ConvSpec, ConvTransposeSpec, PoolSpec)


def _shape_text(shape: Sequence[int]) -> str:
    return "x".join(map(str, shape))


@dataclass(frozen=True)
class LayerProof:
    """The proof of one layer of a network.

    Attributes
    ----------
    name, kind : str
        The node's name and kind (``"conv"``, ``"conv_transpose"``, ``"avg_pool"`` ...).
    input_shape, output_shape : tuple of int
        Per sample, ``(C, *spatial)``.
    result : ProofResult
        The layer's proof (:func:`convproof.prove` with convproof's own matrix).
    """

    name: str
    kind: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    result: ProofResult

    def line(self, *, seconds: bool = True) -> str:
        """One certificate line: status, name, kind, shapes, monomials (and seconds)."""
        r = self.result
        text = (
            f"{r.status.upper()}  {self.name}  {self.kind} {_shape_text(self.input_shape)} -> "
            f"{_shape_text(self.output_shape)}  {r.monomials:,} monomials"
        )
        if seconds:
            text += f"  {r.seconds:.2f} s"
        if r.counterexample is not None:
            text += f"  ({r.counterexample})"
        elif r.status == "inconclusive" and r.reason:
            text += f"  ({r.reason})"
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the layer's full proof under ``"result"``)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
            "result": self.result.to_dict(),
        }


@dataclass(frozen=True)
class NetworkProof:
    """The proofs of every conv, transposed conv and pool layer of a network.

    Truthy iff every layer's proof is (proved or verified, and at least one layer was
    proved).

    Attributes
    ----------
    name : str
    input_shape : tuple of int
        As given (with or without a batch axis; the proofs are per sample).
    layers : tuple of LayerProof
        In network order.
    skipped : tuple of (str, str)
        ``(name, kind)`` of the layers that are not part of the claim (no conv matrix).
    seconds : float
        Wall time of all proofs.
    """

    name: str
    input_shape: tuple[int, ...]
    layers: tuple[LayerProof, ...]
    skipped: tuple[tuple[str, str], ...]
    seconds: float

    @property
    def status(self) -> str:
        """``"refuted"`` if a layer is, else ``"inconclusive"`` if a layer is (or nothing was
        proved), else ``"verified"`` if a layer is, else ``"proved"``."""
        statuses = {layer.result.status for layer in self.layers}
        for status in ("refuted", "inconclusive", "verified"):
            if status in statuses:
                return status
        return "proved" if self.layers else "inconclusive"

    def __bool__(self) -> bool:
        return self.status in ("proved", "verified")

    @property
    def monomials(self) -> int:
        """Monomials compared over all layers."""
        return sum(layer.result.monomials for layer in self.layers)

    @property
    def rate(self) -> float:
        """Monomials compared per second of wall time."""
        return self.monomials / self.seconds if self.seconds > 0 else 0.0

    def lines(self, *, seconds: bool = True) -> list[str]:
        """One certificate line per layer, then the total."""
        out = [layer.line(seconds=seconds) for layer in self.layers]
        total = (
            f"{self.status.upper()}: {len(self.layers)} layers of {self.name} at input "
            f"{_shape_text(self.input_shape)}, {self.monomials:,} monomials"
        )
        if seconds:
            total += f" in {self.seconds:.1f} s ({self.rate / 1e6:.0f} M monomials/s)"
        if self.skipped:
            kinds = sorted({kind for _, kind in self.skipped})
            total += f"; {len(self.skipped)} layers not part of the claim ({', '.join(kinds)})"
        return [*out, total]

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: status, totals and every layer's proof."""
        return {
            "name": self.name,
            "status": self.status,
            "input_shape": list(self.input_shape),
            "monomials": self.monomials,
            "seconds": self.seconds,
            "layers": [layer.to_dict() for layer in self.layers],
            "skipped": [{"name": n, "kind": k} for n, k in self.skipped],
        }


def prove_network(
    model: Any,
    input_shape: Sequence[int],
    *,
    progress: bool | None = None,
    max_bytes: int | None = None,
) -> NetworkProof:
    """Prove every conv, transposed conv and pool layer of a network at its input shape.

    Parameters
    ----------
    model : Network or torch.nn.Module
        A convproof network (e.g. :func:`~convproof.load_network`) or a PyTorch module
        (traced with ``torch.fx``, no forward pass).
    input_shape : tuple of int
        ``(C, *spatial)`` or ``(N, C, *spatial)``; every proof is per sample.
    progress : bool, optional
        One ``tqdm`` bar (stderr) over all layers' monomials.  Default: only when stderr is a
        terminal and the layers have more than 20 million monomials in total.
    max_bytes : int, optional
        Passed to :func:`~convproof.prove` for every layer.

    Returns
    -------
    NetworkProof
        One :class:`LayerProof` per layer proved; ``str()`` prints one certificate line
        per layer.

    Raises
    ------
    ConvProofError
        For a model that is neither, an input shape that does not fit, or a layer whose
        proof would exceed ``max_bytes`` (:class:`~convproof.errors.MemoryLimitError`).

    Examples
    --------
    >>> import convproof as cp
    >>> result = cp.prove_network(cp.load_network("alexnet"), (3, 64, 64))
    >>> result.status, len(result.layers), result.skipped[:2]
    ('proved', 8, (('features.1', 'relu'), ('features.4', 'relu')))
    """
    from convproof.networks.torch_import import as_network

    net = as_network(model)
    _, sample = _split_input(net, input_shape)
    if not all(isinstance(v, int) for v in sample):
        raise ConvProofError(
            f"input_shape must hold integers (a proof is for concrete sizes), "
            f"got input_shape={tuple(input_shape)!r}"
        )
    shapes: dict[str, tuple[int, ...]] = {INPUT: tuple(sample)}
    for node_result in analyze(net, sample, check_alignment=False):
        shapes[node_result.name] = tuple(node_result.shape)
    todo: list[tuple[Any, tuple[int, ...]]] = []
    skipped: list[tuple[str, str]] = []
    for node in net.nodes:
        if isinstance(node.layer, _PROVABLE):
            todo.append((node, shapes[node.inputs[0]]))
        else:
            skipped.append((node.name, layer_kind(node.layer)))
    total = sum(_monomials(node.layer, _layout(node.layer, shape)) for node, shape in todo)
    t0 = time.perf_counter()
    layers = []
    with _progress_bar(progress, total, desc=f"proving {net.name}") as tick:
        done = [0]

        def counted(n: int) -> None:
            done[0] += n
            tick(n)

        token = _SHARED_TICK.set(counted)
        try:
            for node, shape in todo:
                before = done[0]
                result = prove(node.layer, shape, max_bytes=max_bytes, crosscheck=False)
                # layers compared at once (max pooling) tick when done
                counted(
                    max(0, _monomials(node.layer, _layout(node.layer, shape)) - (done[0] - before))
                )
                layers.append(
                    LayerProof(node.name, layer_kind(node.layer), shape, shapes[node.name], result)
                )
        finally:
            _SHARED_TICK.reset(token)
    return NetworkProof(
        net.name, tuple(input_shape), tuple(layers), tuple(skipped), time.perf_counter() - t0
    )
