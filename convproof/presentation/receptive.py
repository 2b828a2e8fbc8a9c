"""Receptive fields for the pictures: which input positions one output position depends on.

The analysis lives in :mod:`convproof.networks.receptive` (one place for receptive fields);
this is the public name ``cp.render.receptive_field``, imported when called so that the
presentation modules load without SymPy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["receptive_field"]


def receptive_field(
    layers: Any, input_shape: Sequence[int], at: Sequence[int]
) -> tuple[tuple[int, ...], ...]:
    """The input positions (per spatial axis) that one output position depends on.

    Computed by :func:`convproof.networks.receptive.receptive_field` (see there; imported
    when called, so that this module loads without SymPy).

    Examples
    --------
    >>> import convproof as cp
    >>> c = cp.ConvSpec(in_channels=1, out_channels=1, kernel_size=3)
    >>> receptive_field([c, c], (1, 8, 8), (0, 0))
    ((0, 1, 2, 3, 4), (0, 1, 2, 3, 4))
    """
    from convproof.networks.receptive import receptive_field as compute

    return compute(layers, input_shape, at)
