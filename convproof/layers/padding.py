"""Padding modes: the one table of what a padded position holds.

Every construction that pads looks its mode up here with :func:`padding_mode`, so an
unknown mode is the same :class:`~convproof.errors.ConvProofError` everywhere, and adding
a mode touches this table (and its tests) only.  Each :class:`PaddingMode` holds:

==================  ===================================================================
``name``            the ``padding_mode`` spelling of :class:`~convproof.ConvSpec`
``numpy``           the :func:`numpy.pad` mode with the same values (numeric conv,
                    backward pass, spectrum)
``torch``           the ``torch.nn.functional.pad`` mode (``None``: PyTorch has none;
                    the oracle then refuses)
``index``           the index map of one axis: padded coordinate ``t`` (NumPy integer
                    array, negative or ``>= n`` inside the padding) -> input index read,
                    ``-1`` where the position holds zero.  Used by the index rule
                    (:func:`convproof.constructions.index.map_positions`, so the conv
                    matrix) and by the text renderings.
``max_padding``     the largest padding per side an axis of length ``n`` accepts
                    (``None``: any); checked by spec validation.
``description``     what padded cells hold, in words (reports and exports).
==================  ===================================================================

Independence, on purpose: the *definition side* — :mod:`convproof.constructions.sliding_sum`
and the definition the proofs write down (:mod:`convproof.proofs.concrete`) — never calls
``index``.  For the four built-in modes they keep their own index arithmetic, and for a
mode added to this table they read NumPy's :func:`numpy.pad` with ``numpy``, an
implementation independent of ``index``.  A proof that the conv matrix (built from
``index``) equals the definition therefore still compares two independent constructions
for every mode in the table; sharing ``index`` with the definition would make it a
tautology.  The table shares *names*, never the arithmetic, with the definition.

Examples
--------
>>> import numpy as np
>>> from convproof.layers.padding import padding_mode
>>> m = padding_mode("reflect")
>>> m.numpy, m.torch, m.max_padding(4)
('reflect', 'reflect', 3)
>>> m.index(np.arange(-2, 6), 4)
array([2, 1, 0, 1, 2, 3, 2, 1])
>>> padding_mode("symmetric")  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
convproof.errors.ConvProofError: padding_mode must be one of ..., got padding_mode='symmetric'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from convproof.errors import ConvProofError

__all__ = [
    "PADDING_MODE_TABLE",
    "PaddingMode",
    "numpy_pad_read",
    "padding_mode",
    "padding_mode_names",
]


@dataclass(frozen=True)
class PaddingMode:
    """One padding mode (see the module docstring for the fields)."""

    name: str
    numpy: str
    torch: str | None
    index: Callable[[Any, int], Any]
    max_padding: Callable[[int], int | None]
    description: str


def _zeros(t: Any, n: int) -> Any:
    import numpy as np

    t = np.asarray(t, dtype=np.int64)
    return np.where((t >= 0) & (t < n), t, -1)


def _circular(t: Any, n: int) -> Any:
    import numpy as np

    return np.mod(np.asarray(t, dtype=np.int64), n)


def _reflect(t: Any, n: int) -> Any:
    import numpy as np

    t = np.asarray(t, dtype=np.int64)
    if n == 1:
        return np.zeros_like(t)
    r = np.mod(t, 2 * (n - 1))  # period 2(n - 1), edge not repeated
    return np.where(r >= n, 2 * (n - 1) - r, r)


def _replicate(t: Any, n: int) -> Any:
    import numpy as np

    return np.clip(np.asarray(t, dtype=np.int64), 0, n - 1)


#: The padding modes by name (insertion order is the order of ``PADDING_MODES``).
PADDING_MODE_TABLE: dict[str, PaddingMode] = {
    m.name: m
    for m in (
        PaddingMode("zeros", "constant", "constant", _zeros, lambda n: None, "zero"),
        PaddingMode(
            "circular", "wrap", "circular", _circular, lambda n: n, "wrapped around (periodic)"
        ),
        PaddingMode(
            "reflect",
            "reflect",
            "reflect",
            _reflect,
            lambda n: n - 1,
            "mirrored, edge not repeated",
        ),
        PaddingMode(
            "replicate", "edge", "replicate", _replicate, lambda n: None, "the edge value repeated"
        ),
    )
}


def padding_mode_names() -> tuple[str, ...]:
    """The names of the padding modes in :data:`PADDING_MODE_TABLE`, now.

    Examples
    --------
    >>> from convproof.layers.padding import padding_mode_names
    >>> padding_mode_names()
    ('zeros', 'circular', 'reflect', 'replicate')
    """
    return tuple(PADDING_MODE_TABLE)


def padding_mode(name: Any, param: str = "padding_mode") -> PaddingMode:
    """The table entry of padding mode ``name``; an unknown name is a ``ConvProofError``.

    ``param`` is the parameter name the error message gives (the caller's spelling).

    Examples
    --------
    >>> from convproof.layers.padding import padding_mode
    >>> padding_mode("replicate").numpy
    'edge'
    """
    try:
        return PADDING_MODE_TABLE[name]
    except (KeyError, TypeError):
        names = ", ".join(map(repr, PADDING_MODE_TABLE))
        raise ConvProofError(f"{param} must be one of {names}, got {param}={name!r}") from None


def numpy_pad_read(name: str, t: int, n: int) -> int | None:
    """The input index NumPy's :func:`numpy.pad` puts at padded coordinate ``t`` (``None``: zero).

    The definition side's reading of a mode it has no arithmetic of its own for: it pads
    ``arange(n)`` with the entry's ``numpy`` mode and never calls the entry's ``index``
    map, so the two stay independent (see the module docstring).

    Examples
    --------
    >>> from convproof.layers.padding import numpy_pad_read
    >>> [numpy_pad_read("reflect", t, 4) for t in (-2, -1, 4, 5)]
    [2, 1, 2, 1]
    >>> numpy_pad_read("zeros", -1, 4) is None
    True
    """
    import numpy as np

    if 0 <= t < n:
        return t
    np_mode = padding_mode(name).numpy
    before, after = max(0, -t), max(0, t - n + 1)
    if np_mode == "constant":
        return None
    padded = np.pad(np.arange(n), (before, after), mode=np_mode)  # type: ignore[call-overload]
    return int(padded[t + before])
