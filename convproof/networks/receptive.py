"""Receptive fields, computed in one place: the recursion of Araujo, Norris & Sim (2019) that
:func:`~convproof.analyze` and :func:`~convproof.summary` report, the alignment of joined
branches, the region one output sees, and the exact input positions one output reads
(:func:`receptive_field`, which the pictures of :mod:`convproof.presentation.render` draw).

Per spatial axis a field is ``(r, S, P)``: size, effective stride, effective (left) padding;
from the input ``(1, 1, 0)``.  A layer with window ``(k_eff, s, p_left)`` does
``r += (k_eff - 1) S``, ``P += p_left S``, ``S *= s``; output ``y`` then sees input positions
``[-P + y S, -P + y S + r - 1]``.  Each layer gives its window through the
:class:`~convproof.networks.protocol.NetworkLayer` protocol.

Examples
--------
>>> from convproof.networks.receptive import step, region
>>> rf = step(step(((1, 1, 0),), [(3, 1, 1)]), [(2, 2, 0)])
>>> start, stop, centre = region(rf, (3,))
>>> rf, start, stop, str(centre[0])
(((4, 2, 1),), (5,), (8,), '13/2')
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import sympy

from convproof.errors import ConvProofError
from convproof.networks.protocol import IDENTITY, Resets, as_layer, is_layer
from convproof.networks.values import Number, equal, norm, sym

__all__ = ["receptive_field"]

AxisRF = tuple[Number, Number, Number]  # (r, S, P)


def step(rf: tuple[AxisRF, ...] | None, windows: Sequence[tuple[Any, Any, Any]]) -> Any:
    """Araujo et al.: per axis ``r += (k_eff - 1) S; P += p_l S; S *= s``."""
    if rf is None:
        return None
    out = []
    for (r, S, P), (k_eff, s, pl) in zip(rf, windows):
        if any(isinstance(v, sympy.Basic) for v in (r, S, P, k_eff, s, pl)):
            r, S, P, k_eff, s, pl = (sym(v) for v in (r, S, P, k_eff, s, pl))
        out.append((norm(r + (k_eff - 1) * S), norm(S * s), norm(P + pl * S)))
    return tuple(out)


def advance(
    rf: tuple[AxisRF, ...] | None, note: str, spatial_ndim: int, effect: Any
) -> tuple[tuple[AxisRF, ...] | None, str, int]:
    """``(rf, note, spatial_ndim)`` after a layer whose receptive-field effect is ``effect``
    (:data:`~convproof.networks.protocol.IDENTITY`, a
    :class:`~convproof.networks.protocol.Resets` or one window per axis)."""
    if effect == IDENTITY:
        return rf, note, spatial_ndim
    if isinstance(effect, Resets):
        if effect.spatial:
            return None, note or effect.note, spatial_ndim
        return None, effect.note, 0
    return step(rf, effect), note, spatial_ndim


def centre(a: AxisRF) -> Any:
    """``-P + (r - 1) / 2``: the centre of output 0's region."""
    r, _, p = a
    if isinstance(r, int | Fraction) and isinstance(p, int | Fraction):
        return norm((Fraction(r) - 1) / 2 - Fraction(p))
    return norm((sym(r) - 1) / 2 - sym(p))


def join_fields(
    name: str,
    kind: str,
    inputs: Sequence[str],
    rfs: Sequence[tuple[AxisRF, ...] | None],
    notes: Sequence[str],
    check_alignment: bool,
) -> tuple[tuple[AxisRF, ...] | None, str]:
    """``(rf, note)`` of a join of branches: the largest field when every branch has the
    same effective stride and centre per axis; else ``None`` (or an error when
    ``check_alignment``)."""
    if any(rf is None for rf in rfs):
        given = [n for n in notes if n]
        return None, given[0] if given else ""
    fields: list[tuple[AxisRF, ...]] = [rf for rf in rfs if rf is not None]
    out = []
    for axis in range(len(fields[0])):
        per = [rf[axis] for rf in fields]
        strides = [a[1] for a in per]
        centres = [centre(a) for a in per]
        verdicts = [equal(v, strides[0]) for v in strides]
        verdicts += [equal(c, centres[0]) for c in centres]
        if None in verdicts and False not in verdicts:
            if check_alignment:
                raise ConvProofError(
                    f"whether the branches joined by {kind} {name!r} are aligned depends on "
                    f"the symbolic input size (centres {', '.join(map(str, centres))}); give a "
                    f"concrete input_shape or pass check_alignment=False"
                )
            return None, f"alignment at {name!r} depends on the input size"
        if False in verdicts:
            detail = "; ".join(
                f"{n}: stride {a[1]}, centre {c} (r={a[0]}, P={a[2]})"
                for n, a, c in zip(inputs, per, centres)
            )
            if check_alignment:
                raise ConvProofError(
                    f"branches joined by {kind} {name!r} are not aligned along spatial "
                    f"axis {axis}: every path needs the same effective stride and the same "
                    f"centre -P + (r-1)/2 (Araujo et al. 2019); got {detail}"
                )
            return None, (
                f"branches joined at {name!r} are not aligned along spatial axis {axis} ({detail})"
            )
        best = per[0]
        for a in per[1:]:
            if isinstance(a[0], int | Fraction) and isinstance(best[0], int | Fraction):
                if a[0] > best[0]:
                    best = a
                continue
            bigger = equal(sympy.Max(sym(a[0]), sym(best[0])), sym(a[0]))
            if bigger and not equal(a[0], best[0]):
                best = a
        out.append(best)
    return tuple(out), ""


def region(rf: tuple[AxisRF, ...], index: Sequence[int]) -> tuple[tuple[Any, ...], ...]:
    """``(start, stop, centre)`` per axis of the region output ``index`` sees: ``start =
    -P + y S``, ``stop = start + r - 1`` (inclusive), ``centre = start + (r - 1)/2``."""
    start, stop, mid = [], [], []
    for y, (r, S, P) in zip(index, rf):
        lo = norm(-P + y * S)
        start.append(lo)
        stop.append(norm(lo + r - 1))
        mid.append(norm(lo + Fraction(r - 1, 2) if isinstance(r, int) else lo + (r - 1) / 2))
    return tuple(start), tuple(stop), tuple(mid)


# -- exact positions ------------------------------------------------------------------------


def _named_layers(layers: Any) -> list[tuple[str, Any]]:
    """``(name, layer)`` in order: a network's chain of nodes, else ``layer <i>``."""
    if is_layer(layers):
        return [("layer 0", layers)]
    if hasattr(layers, "nodes"):
        out, previous = [], "input"
        for node in layers.nodes:
            if tuple(node.inputs) != (previous,):
                raise ConvProofError(
                    f"receptive-field pictures need a chain of layers, but node {node.name!r} "
                    f"reads {tuple(node.inputs)}; use cp.summary(...).receptive_region for graphs"
                )
            previous = node.name
            out.append((node.name, node.layer))
        return out
    try:
        items = list(layers)
    except TypeError:
        raise ConvProofError(
            f"layers must be a spec, a sequence of specs or a Network, got {layers!r}"
        ) from None
    for item in items:
        if not is_layer(item) or as_layer(item).joins:
            raise ConvProofError(
                f"layers must be specs (ConvSpec, ConvTransposeSpec, PoolSpec), network layers "
                f"or a Network, got {item!r}"
            )
    return [(f"layer {i}", item) for i, item in enumerate(items)]


def trace(
    layers: Any, input_shape: Sequence[int], at: Sequence[int]
) -> tuple[tuple[tuple[int, ...], ...], str, Any]:
    """``(positions per axis, name, layer)``: what :func:`receptive_field` returns, and the
    last layer traced that moves positions (the one ``at`` indexes the output of)."""
    named = _named_layers(layers)
    if not named:
        raise ConvProofError("layers must contain at least one layer, got an empty sequence")
    shape = tuple(input_shape)
    ndim = as_layer(named[0][1]).ndim
    if ndim is not None and len(shape) == ndim + 2:
        shape = shape[1:]  # (N, C, *spatial): one sample
    ndim = len(shape) - 1
    walked = []  # (layer, step, input shape)
    for name, obj in named:
        layer = as_layer(obj)
        step = layer.apply(shape, ndim, name)
        if isinstance(step.receptive, Resets) or layer.trace_back(step, shape, 0, set()) is None:
            break  # positions stop being traceable here (flatten, linear, adaptive pool)
        walked.append((name, obj, layer, step, shape))
        shape = tuple(step.shape)
    moving = [w for w in walked if w[3].receptive != IDENTITY]
    if not moving:
        raise ConvProofError(
            "layers must contain at least one layer that moves positions (a spec, a pad, ...)"
        )
    out_sp = shape[1:]
    at_t = tuple(at)
    if len(at_t) != ndim or any(not 0 <= a < n for a, n in zip(at_t, out_sp)):
        raise ConvProofError(
            f"at must be a spatial position inside the output {tuple(out_sp)}, got at={at_t!r}"
        )
    sets: list[set[int]] = [{a} for a in at_t]
    for _, _, layer, st, shp_in in reversed(walked):
        sets = [layer.trace_back(st, shp_in, ax, sets[ax]) or set() for ax in range(ndim)]
    last_name, last, _, _, _ = moving[-1]
    return tuple(tuple(sorted(s)) for s in sets), last_name, last


def receptive_field(
    layers: Any, input_shape: Sequence[int], at: Sequence[int]
) -> tuple[tuple[int, ...], ...]:
    """The input positions (per spatial axis) that one output position depends on.

    Traced backwards exactly through every layer's taps (dilation gaps, padding modes and
    strides included); axes are independent, so the region is the product of the per-axis
    sets.

    Parameters
    ----------
    layers : spec, sequence of layers, or a chain-shaped :class:`~convproof.Network`
        Applied in order to ``input_shape``.  Element-wise layers pass positions through;
        the walk stops at the first layer after which positions are not traceable (flatten,
        linear, adaptive pool).
    input_shape : tuple of int
        ``(C, *spatial)`` of the first layer's input.
    at : tuple of int
        Spatial output position of the last layer traced (no channel).

    Returns
    -------
    tuple of tuple of int
        Per spatial axis, the sorted input indices.

    Examples
    --------
    Two 3x3 convs (no padding): output 0 sees inputs 0..4 per axis (receptive field 5).

    >>> import convproof as cp
    >>> from convproof.networks.receptive import receptive_field
    >>> c = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3)
    >>> receptive_field([c, c], (1, 8, 8), (0, 0))
    ((0, 1, 2, 3, 4), (0, 1, 2, 3, 4))
    >>> d = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=2, dilation=3, ndim=1)
    >>> receptive_field(d, (1, 8), (1,))
    ((1, 4),)
    """
    return trace(layers, input_shape, at)[0]
