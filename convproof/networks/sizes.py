"""``valid_input_sizes(model, input_shape)``: per spatial axis, every input size for which each
layer is non-empty and each join (add, concat: U-Net skip connections) lines up.

Why the answer is "a minimum plus residues modulo a period" (and exact, not sampled): along
one axis every modelled layer maps its input size ``n`` to an output size ``f(n)`` with
``f(n + s) = f(n) + 1`` for a stride-``s`` window (conv, pool, floor or ceil mode, TF SAME),
``f(n + 1) = f(n) + s`` for a stride-``s`` transposed conv, ``f(n + 1) = f(n) + 1`` for a pad or
an element-wise layer, and a constant for an adaptive pool; every such ``f`` is
non-decreasing (PyTorch's ceil-mode rule, which drops a last window starting in the right
padding, keeps ``f(n + s) = f(n) + 1``).  With ``S_v`` the effective stride of node ``v``
(a Fraction after transposed convs) and ``P`` the lcm of the numerators of all ``S_v``,
induction over the nodes gives ``size_v(n + P) = size_v(n) + P / S_v`` for every integer
``n``.  Hence a join of branches with equal ``S`` agrees at ``n + P`` iff it agrees at ``n``
(periodic), and
"every layer non-empty" holds on an up-set ``n >= minimum`` (monotone).  So the valid sizes
are ``{n >= minimum : n mod P in residues}``, with ``residues`` found by evaluating the
residue once (the sizes come from the layers' own output-size rule,
:mod:`convproof.layers.sizes`, the rule tested against PyTorch).  Joins of
branches with different effective strides are refused (at most finitely many sizes line up).

Examples
--------
>>> import convproof as cp
>>> down = cp.PoolSpec(kind="max", kernel_size=2, ndim=1)
>>> up = cp.ConvTransposeSpec(in_channels=1, out_channels=1, kernel_size=2, stride=2, ndim=1)
>>> net = cp.Network([cp.Residual([("down", down), ("up", up)])])
>>> (sizes,) = cp.valid_input_sizes(net, (1, 8))
>>> print(sizes), 10 in sizes
n >= 2, n ≡ 0 (mod 2)
(None, True)
>>> sizes.explain(11)
"size 11: join 'add' does not line up (11 % 2 = 1)"
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from convproof.errors import ConvProofError
from convproof.layers.size_sets import SizeSet
from convproof.networks.graph import INPUT, Network, _split_input
from convproof.networks.protocol import IDENTITY, Resets, as_layer

__all__ = ["ValidSizes", "export_dynamic_shapes", "valid_input_sizes"]


@dataclass(frozen=True)
class ValidSizes(SizeSet):
    """The input sizes ``n >= start`` with ``n % period in residues`` (one spatial axis): a
    :class:`~convproof.SizeSet` (no listed sizes below ``start``) that also names, per
    residue outside the set, the first join (or divisibility condition) that breaks.

    Attributes
    ----------
    start : int
        The smallest size for which every layer is non-empty.
    period : int
        ``P``: the lcm of the numerators of every node's effective stride (not reduced, so
        that ``breaks`` is keyed by it; :meth:`~convproof.SizeSet.canonical` reduces it).
    residues : frozenset of int
        Residues modulo ``period`` for which every join lines up.
    breaks : dict
        Residue -> why it breaks: ``"join 'cat' does not line up"``.

    Examples
    --------
    >>> from convproof.networks.sizes import ValidSizes
    >>> why = "join 'cat' does not line up"
    >>> s = ValidSizes(start=1, period=4, residues=frozenset({0}), breaks={1: why, 3: why})
    >>> 8 in s, 9 in s, s.explain(9), s.sizes(13)
    (True, False, "size 9: join 'cat' does not line up (9 % 4 = 1)", [4, 8, 12])
    """

    breaks: dict[int, str] = field(default_factory=dict, compare=False, repr=False)

    def explain(self, n: int) -> str:
        """Why ``n`` is (not) a valid size."""
        if n < self.start:
            return f"size {n}: some layer is empty below {self.start}"
        r = n % self.period
        if r in self.residues:
            return f"size {n}: valid"
        return f"size {n}: {self.breaks[r]} ({n} % {self.period} = {r})"

    def sizes(self, stop: int) -> list[int]:
        """The valid sizes below ``stop``."""
        return list(self.members(stop - 1))


@dataclass
class _Walk:
    """One concrete pass along one axis at input size ``n``."""

    empty: str | None = None  # the first layer that is empty (or does not fit)
    join: str | None = None  # why the first join (or divisibility) that breaks does
    period: int = 1  # lcm of the numerators of every node's effective stride
    smallest: Any = None  # the smallest size along the axis that depends on the input


def _walk(net: Network, sample: tuple[Any, ...], axis: int, n: int) -> _Walk:
    """Sizes along ``axis`` for input size ``n`` (the other axes as given), with the
    effective stride ``S`` of every node (``None``: constant along the axis)."""
    from convproof.networks.layers import AdaptivePool

    shape = list(sample)
    shape[1 + axis] = n
    result = _Walk()
    tensors: dict[str, tuple[tuple[Any, ...], Fraction | None, int]] = {
        INPUT: (tuple(shape), Fraction(1), len(sample) - 1)
    }
    for node in net.nodes:
        layer = as_layer(node.layer)
        xs = [tensors[i] for i in node.inputs]
        if layer.joins:
            if layer.join_step([x[0] for x in xs]) is not None:
                raise ConvProofError(
                    f"valid_input_sizes cannot follow {layer.where(node.name)} (not modelled)"
                )
            first = xs[0]
            live = [x for x in xs if x[1] is not None and x[2] > 0]
            strides = {x[1] for x in live}
            if len(strides) > 1:
                raise ConvProofError(
                    f"valid_input_sizes: the branches joined at {node.name!r} have different "
                    f"effective strides {sorted(map(str, strides))}: at most finitely many "
                    f"sizes line up"
                )
            if first[2] and len({x[0][1 + axis] for x in xs}) > 1 and result.join is None:
                result.join = f"join {node.name!r} does not line up"
            lined = []  # the join's own shape rule (channels), this axis set to the first's
            for x in xs:
                s = list(x[0])
                if first[2]:
                    s[1 + axis] = first[0][1 + axis]
                lined.append(tuple(s))
            out = tuple(layer.join_shape(lined, node.inputs, node.name))
            tensors[node.name] = (out, first[1], first[2])
            continue
        x_shape, S, nd = xs[0]
        misfit = getattr(layer, "misfit", None)  # a size condition on the residue
        size_step: Any = getattr(layer, "size_step", None)  # resampling: sizes scale
        if misfit is not None and nd and S is not None:
            why = misfit(x_shape[1 + axis])
            if why is not None:
                result.join = result.join or f"{layer.where(node.name)} {why}"
                shape_fit = list(x_shape)
                step_r = int(size_step(axis, nd))
                shape_fit[1 + axis] -= x_shape[1 + axis] % step_r
                x_shape = tuple(shape_fit)  # follow on as if it fitted: sizes stay monotone
        try:
            step = layer.apply(x_shape, nd, node.name)
        except ConvProofError:
            result.empty = node.name
            return result
        if step.macs is None:
            raise ConvProofError(
                f"valid_input_sizes cannot follow {layer.where(node.name)} (not modelled)"
            )
        rf = step.receptive
        S_out: Fraction | None
        if isinstance(layer, AdaptivePool):
            S_out, nd_out = None, nd  # a fixed output size along every axis
        elif size_step is not None and nd:
            q = size_step(axis, nd)
            S_out, nd_out = (None if q is None or S is None else S * q), nd
        elif rf == IDENTITY:
            S_out, nd_out = S, nd
        elif isinstance(rf, Resets):
            if nd and S is not None:
                raise ConvProofError(
                    f"valid_input_sizes cannot follow {layer.where(node.name)}: {rf.note}, "
                    f"of a size that depends on the input (only networks whose spatial axes "
                    f"end in an adaptive pool or reach the output are handled)"
                )
            S_out, nd_out = None, 0
        else:
            S_out = None if S is None else S * Fraction(rf[axis][1])
            nd_out = nd
        if S_out is not None:
            result.period = math.lcm(result.period, S_out.numerator)
            if nd_out:
                size = step.shape[1 + axis]
                result.smallest = size if result.smallest is None else min(result.smallest, size)
        tensors[node.name] = (tuple(step.shape), S_out, nd_out)
    return result


def valid_input_sizes(model: Any, input_shape: Sequence[Any]) -> tuple[ValidSizes, ...]:
    """Per spatial axis, the exact set of input sizes for which every layer is non-empty and
    every join lines up, as a :class:`ValidSizes` (minimum, period, residues).

    Parameters
    ----------
    model : Network or torch.nn.Module
        Conv, transposed conv, pooling, pads, element-wise layers, adds and concats (the
        layers whose output sizes follow a window rule; see the module docstring).
    input_shape : tuple
        ``(C, *spatial)`` or ``(N, C, *spatial)``: the other axes are held at these sizes
        while one axis varies.

    Returns
    -------
    tuple of ValidSizes
        One per spatial axis; ``explain(n)`` names the first join that breaks for ``n``.

    Raises
    ------
    ConvProofError
        Operations convproof does not model, or joins of branches with different effective
        strides.

    Examples
    --------
    >>> import convproof as cp
    >>> sizes = cp.valid_input_sizes(cp.load_network("resnet18"), (3, 224, 224))
    >>> sizes[0].minimum, sizes[0].period, len(sizes[0].residues)
    (1, 32, 32)
    """
    from convproof.networks.torch_import import as_network

    net = as_network(model)
    _, sample = _split_input(net, input_shape)
    spatial = len(sample) - 1
    if spatial == 0:
        raise ConvProofError(f"input_shape must have spatial axes, got input_shape={input_shape!r}")
    out = []
    for axis in range(spatial):
        minimum = 1
        walk = _walk(net, tuple(sample), axis, minimum)
        while walk.empty is not None:  # sizes only grow with n: an up-set
            minimum += 1
            if minimum > 10**4:
                raise ConvProofError(
                    f"valid_input_sizes: along spatial axis {axis}, {walk.empty!r} does not "
                    f"fit for any size up to 10**4"
                )
            walk = _walk(net, tuple(sample), axis, minimum)
        period = walk.period
        residues, breaks = [], {}
        for n in range(minimum, minimum + period):
            w = walk if n == minimum else _walk(net, tuple(sample), axis, n)
            if w.join is None:
                residues.append(n % period)
            else:
                breaks[n % period] = w.join
        out.append(
            ValidSizes(start=minimum, period=period, residues=frozenset(residues), breaks=breaks)
        )
    return tuple(out)


def export_dynamic_shapes(
    model: Any,
    input_shape: Sequence[Any],
    *,
    max: int | None = None,
) -> tuple[dict[int, Any], ...]:
    """``dynamic_shapes`` for ``torch.export.export(model, (x,), dynamic_shapes=...)``: every
    spatial axis of ``x`` constrained to exactly its :func:`valid_input_sizes`.

    Each axis's set must be one residue class (see
    :meth:`~convproof.SizeSet.torch_export_dim`: ``Dim(min=m)`` or
    ``P * Dim(min=2) + (m - 2P)``); batch and channels stay static.  torch.export
    specializes any size equal to 1 (broadcasting), so the dimension starts at the smallest
    valid size for which every size along the axis (of every layer whose size depends on
    it) is at least 2: ResNet-18's valid sizes start at 1, its exportable ones at 33, where
    the last stage is 2 wide.  Smaller valid sizes need a separate export.

    Parameters
    ----------
    model : torch.nn.Module or Network
    input_shape : tuple
        ``(N, C, *spatial)`` or ``(C, *spatial)`` (as for :func:`valid_input_sizes`).
    max : int, optional
        The largest spatial size to allow.

    Returns
    -------
    tuple of dict
        ``({2: dim_h, 3: dim_w},)``: one entry, for the single tensor input.

    Raises
    ------
    ConvProofError
        As :func:`valid_input_sizes`, or when an axis's valid sizes are not one residue
        class (a net with a stride-2 and a stride-3 path joined needs two).

    Examples
    --------
    A U-Net with four 2x2 poolings (needs torch; ``tests/test_network_resampling.py``):

    >>> shapes = cp.export_dynamic_shapes(unet, (1, 1, 256, 256))  # doctest: +SKIP
    >>> shapes  # doctest: +SKIP
    ({2: 16*h_k - 16, 3: 16*w_k - 16},)
    >>> torch.export.export(unet, (x,), dynamic_shapes=shapes)  # doctest: +SKIP

    A join of branches with different strides has no valid-size set to export:

    >>> import convproof as cp
    >>> pool = cp.PoolSpec(kind="max", kernel_size=2, ndim=1)
    >>> net = cp.Network([cp.Residual([("pool", pool)])])
    >>> cp.export_dynamic_shapes(net, (1, 8))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    convproof.errors.ConvProofError: ... at 'add' have different effective strides ['1', '2']...
    """
    from convproof.networks.torch_import import as_network

    net = as_network(model)
    sizes = valid_input_sizes(net, input_shape)
    _, sample = _split_input(net, input_shape)
    exportable = []
    for axis, valid in enumerate(sizes):
        n = valid.start if valid.start > 1 else 2  # torch.export specializes a size 1
        while (_walk(net, tuple(sample), axis, n).smallest or 2) < 2:
            n += 1
        exportable.append(SizeSet(start=n, period=valid.period, residues=valid.residues))
    names = ("d", "h", "w") if len(sizes) <= 3 else tuple(f"x{i}" for i in range(len(sizes)))
    names = names[len(names) - len(sizes) :]
    return ({2 + a: s.torch_export_dim(names[a], max=max) for a, s in enumerate(exportable)},)
