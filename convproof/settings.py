"""The one memory limit of every construction that can exhaust memory.

``conv_matrix``, ``sliding_sum``, ``prove`` (and everything built on them: network proofs,
figures, exports, the CLI) estimate their peak memory before they start and refuse with a
:class:`~convproof.errors.MemoryLimitError` that names the estimate when it is above the
limit.  The limit is one setting: pass ``max_bytes=`` to a call, change it for a block of
code with :func:`memory_limit`, or for the session with :func:`set_max_bytes`; the CLI takes
``--max-bytes`` (``8GiB``, ``500MB``, plain bytes).  The setting is a context variable, so
threads and asyncio tasks that change it do not see each other's value.

Examples
--------
>>> import convproof as cp
>>> cp.get_max_bytes() == cp.DEFAULT_MAX_BYTES
True
>>> with cp.memory_limit(2**20):
...     cp.get_max_bytes()
1048576
>>> cp.resolve_max_bytes(None) == cp.DEFAULT_MAX_BYTES
True
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from convproof.errors import ConvProofError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "get_max_bytes",
    "memory_limit",
    "resolve_max_bytes",
    "set_max_bytes",
]

#: The default limit: 8 GiB, a third of a 24 GB machine.
DEFAULT_MAX_BYTES: int = 8 * 2**30

_LIMIT: contextvars.ContextVar[int] = contextvars.ContextVar(
    "convproof_max_bytes", default=DEFAULT_MAX_BYTES
)


def _validated(value: Any) -> int:
    # NumPy integers count as integers (a limit computed with NumPy); bools do not
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer) or value < 1:
        raise ConvProofError(f"max_bytes must be a positive integer, got max_bytes={value!r}")
    return int(value)


def get_max_bytes() -> int:
    """Return the memory limit (bytes) in force here.

    Returns
    -------
    int
        The value set by the innermost :func:`memory_limit` or the last
        :func:`set_max_bytes`, else :data:`DEFAULT_MAX_BYTES`.

    Examples
    --------
    >>> import convproof as cp
    >>> cp.get_max_bytes() >= 2**30
    True
    """
    return _LIMIT.get()


def set_max_bytes(value: int) -> int:
    """Set the memory limit for the rest of this context; return the previous limit.

    Parameters
    ----------
    value : int
        Bytes, at least 1.

    Returns
    -------
    int
        The limit before the call (to restore it later).

    Raises
    ------
    ConvProofError
        If ``value`` is not a positive integer.

    Examples
    --------
    >>> import convproof as cp
    >>> old = cp.set_max_bytes(2**32)
    >>> cp.get_max_bytes()
    4294967296
    >>> _ = cp.set_max_bytes(old)
    """
    previous = _LIMIT.get()
    _LIMIT.set(_validated(value))
    return previous


@contextmanager
def memory_limit(value: int) -> Iterator[int]:
    """Use ``value`` as the memory limit inside a ``with`` block.

    Parameters
    ----------
    value : int
        Bytes, at least 1.

    Yields
    ------
    int
        ``value``.

    Examples
    --------
    >>> import convproof as cp
    >>> spec = cp.ConvSpec(in_channels=64, out_channels=64, kernel_size=3, padding=1)
    >>> with cp.memory_limit(10**6):
    ...     cp.conv_matrix(spec, (64, 56, 56))
    Traceback (most recent call last):
    ...
    convproof.errors.MemoryLimitError: the symbolic matrix ... more than max_bytes=1000000 ...
    """
    token = _LIMIT.set(_validated(value))
    try:
        yield value
    finally:
        _LIMIT.reset(token)


def resolve_max_bytes(value: Any = None) -> int:
    """The limit a call uses: its own ``max_bytes=`` when given, else :func:`get_max_bytes`.

    Parameters
    ----------
    value : int or None
        A call's ``max_bytes=`` argument.

    Returns
    -------
    int

    Raises
    ------
    ConvProofError
        If ``value`` is given and is not a positive integer.

    Examples
    --------
    >>> import convproof as cp
    >>> cp.resolve_max_bytes(1000)
    1000
    """
    return _LIMIT.get() if value is None else _validated(value)
