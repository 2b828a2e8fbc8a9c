"""Per-row extras of a :class:`~convproof.Summary`: each layer's own window, and ``depth=``
folding of nested modules.

* :func:`own_window`: the kernel size, stride, padding and dilation of a conv, transposed
  conv or pooling layer itself (not the cumulative receptive field), padding resolved for
  the layer's actual input size;
* :func:`fold_rows`: rows below ``depth`` (a module path ``a.b.c`` is at depth 3) merged into
  their ancestor module's row, as ``torchinfo.summary(depth=...)`` shows them: parameters,
  frozen parameters, buffers, MACs, bias adds and FLOPs summed, output shape and receptive
  field of the module's last row.

Examples
--------
>>> import convproof as cp
>>> from convproof.networks.folding import own_window
>>> own_window(cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3, padding=((0, 1),),
...                        ndim=1), (1, 8))
((3,), (1,), ((0, 1),), (1,))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import sympy

from convproof.layers.spec import ConvSpec, ConvTransposeSpec, PoolSpec
from convproof.networks.values import is_concrete

__all__: list[str] = []

Window = tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]


def own_window(layer: Any, in_shape: tuple[Any, ...] | None) -> Window | None:
    """``(kernel_size, stride, padding, dilation)`` of a spec layer, per axis; ``None`` for
    other layers.

    ``padding`` per axis is an int when both sides agree, a ``(before, after)`` pair when they
    differ, or the padding name (``"same"``, ``"SAME_UPPER"``) when the input size is symbolic
    and the amount depends on it.  For a transposed convolution it is PyTorch's ``padding``
    (the amount cropped from the full output).

    Examples
    --------
    >>> import convproof as cp
    >>> from convproof.networks.folding import own_window
    >>> own_window(cp.PoolSpec(kind="max", kernel_size=3, stride=2, padding=1), (8, 9, 9))
    ((3, 3), (2, 2), (1, 1), (1, 1))
    >>> own_window(cp.Linear(4, 2), (4,)) is None
    True
    """
    if not isinstance(layer, ConvSpec | ConvTransposeSpec | PoolSpec):
        return None
    if isinstance(layer.padding, tuple):
        pairs: Sequence[Any] = layer.padding
    elif in_shape is not None and all(is_concrete(v) for v in in_shape):
        pairs = layer.resolve_padding(in_shape)
    else:
        pairs = [layer.padding] * layer.ndim
    padding = tuple(
        p[0] if isinstance(p, tuple) and p[0] == p[1] else tuple(p) if isinstance(p, tuple) else p
        for p in pairs
    )
    return tuple(layer.kernel_size), tuple(layer.stride), padding, tuple(layer.dilation)


def _total(values: Sequence[Any]) -> Any:
    """The sum, ``None`` when any value is unknown."""
    if any(v is None for v in values):
        return None
    total: Any = sum(values)
    if isinstance(total, sympy.Basic):
        total = sympy.expand(total)
        return int(total) if total.is_Integer else total
    return total


def _group_key(name: str, depth: int) -> str | None:
    parts = name.split(".")
    return ".".join(parts[:depth]) if len(parts) > depth else None


def fold_rows(rows: Sequence[Any], depth: int, kinds: Mapping[str, str] | None = None) -> list[Any]:
    """Rows with names deeper than ``depth`` merged into one row per ancestor module.

    Consecutive rows that share the first ``depth`` parts of their name become one row
    named by that prefix (``kind`` the module's class name from ``kinds`` when given, else
    ``"group"``); a module whose rows reappear later (called again) gets ``@1``, ``@2``...

    Examples
    --------
    >>> import convproof as cp
    >>> from convproof.networks.folding import fold_rows
    >>> s = cp.summary(cp.load_network("resnet18"), (3, 224, 224))
    >>> folded = fold_rows(s.rows, 1)
    >>> [(r.name, r.kind, r.output_shape) for r in folded][4:6]
    [('layer1', 'group', (64, 56, 56)), ('layer2', 'group', (128, 28, 28))]
    >>> sum(r.params for r in folded) == s.total_params
    True
    """
    groups: list[tuple[str | None, list[Any]]] = []
    for row in rows:
        key = _group_key(row.name, depth)
        if key is not None and groups and groups[-1][0] == key:
            groups[-1][1].append(row)
        else:
            groups.append((key, [row]))
    used = {row.name for row in rows if _group_key(row.name, depth) is None}
    out = []
    for key, members in groups:
        if key is None:
            out.append(members[0])
            continue
        name, k = key, 0
        while name in used:
            k += 1
            name = f"{key}@{k}"
        used.add(name)
        last = members[-1]
        unknown = sum(1 for r in members if r.macs is None)
        note = f"MACs unknown in {unknown} of its {len(members)} layers" if unknown else last.note
        out.append(
            dataclasses.replace(
                last,
                name=name,
                kind=(kinds or {}).get(key, "group"),
                params=_total([r.params for r in members]),
                buffers=_total([r.buffers for r in members]),
                macs=_total([r.macs for r in members]),
                bias_adds=_total([r.bias_adds for r in members]),
                flops=_total([r.flops for r in members]),
                frozen_params=_total([r.frozen_params for r in members]),
                kernel_size=None,
                stride=None,
                padding=None,
                dilation=None,
                note=note,
            )
        )
    return out
