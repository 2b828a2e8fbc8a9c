"""One exception family for every user error.

Every error that user input can cause is a :class:`ConvProofError`, which is also a
:class:`ValueError`, so ``except ValueError`` keeps working for callers that do not know
convproof.  Messages follow one template: ``<name> must <constraint>, got <name>=<value!r>``;
for derived constraints they show the numbers involved.

Examples
--------
>>> import convproof as cp
>>> try:
...     cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3, stride=(2, 0))
... except cp.ConvProofError as e:
...     print(e)
stride must be >= 1 in every dimension, got stride=(2, 0)
>>> issubclass(cp.ConvProofError, ValueError)
True
"""

from __future__ import annotations

__all__ = ["ConvProofError", "MemoryLimitError", "human_bytes"]


class ConvProofError(ValueError):
    """Invalid input to convproof: the message names the parameter and the value."""


class MemoryLimitError(ConvProofError):
    """A build would need more memory than the configured limit (the message says how much)."""


def human_bytes(nbytes: float) -> str:
    """A byte count in IEC units, as memory-limit messages print it.

    Examples
    --------
    >>> from convproof.errors import human_bytes
    >>> human_bytes(512), human_bytes(3 * 2**30)
    ('512 B', '3.0 GiB')
    """
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if nbytes < 1024 or unit == "TiB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    raise AssertionError  # pragma: no cover
