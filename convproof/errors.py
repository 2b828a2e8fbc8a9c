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

from typing import Any

__all__ = ["ConvProofError", "MemoryLimitError", "human_bytes"]


class ConvProofError(ValueError):
    """Invalid input to convproof: the message names the parameter and the value."""


#: How to raise the limit, as the API's memory-limit messages say it.
LIMIT_HINT = (
    "pass a larger max_bytes= (or use convproof.memory_limit(...) / set_max_bytes(...); "
    "--max-bytes in the CLI)"
)


class MemoryLimitError(ConvProofError):
    """A build would need more memory than the configured limit.

    The refusal is structured: the message is formatted from the fields, so a caller (the
    CLI says ``--max-bytes``) can reword it with :meth:`with_hint` without parsing text.

    Parameters
    ----------
    what : str
        The build refused, as the subject of "would need", e.g. ``"the numeric matrix 9 x 16
        with 36 entries"``.
    estimate_bytes : int
        Its estimated peak memory.
    limit_bytes : int
        The limit in force.
    detail : str
        Said after the estimate (what the bytes are), e.g. ``" of work arrays"``.
    remedy : str
        What else avoids the refusal, after the hint: ``"use a smaller input"``.
    hint : str
        How to raise the limit (the API's wording by default).

    Examples
    --------
    >>> from convproof.errors import MemoryLimitError
    >>> e = MemoryLimitError("the numeric matrix 9 x 16", 3 * 2**20, 2**20)
    >>> print(e)  # doctest: +NORMALIZE_WHITESPACE
    the numeric matrix 9 x 16 would need about 3.0 MiB, more than max_bytes=1048576 (1.0 MiB);
    pass a larger max_bytes= (or use convproof.memory_limit(...) / set_max_bytes(...);
    --max-bytes in the CLI), or use a smaller input
    >>> e.what, e.estimate_bytes, e.limit_bytes
    ('the numeric matrix 9 x 16', 3145728, 1048576)
    >>> cli = e.with_hint("pass a larger --max-bytes", remedy="use a smaller --in")
    >>> print(cli)  # doctest: +NORMALIZE_WHITESPACE
    the numeric matrix 9 x 16 would need about 3.0 MiB, more than max_bytes=1048576 (1.0 MiB);
    pass a larger --max-bytes, or use a smaller --in
    """

    def __init__(
        self,
        what: str,
        estimate_bytes: int,
        limit_bytes: int,
        *,
        detail: str = "",
        remedy: str = "use a smaller input",
        hint: str = LIMIT_HINT,
    ) -> None:
        self.what = what
        self.estimate_bytes = int(estimate_bytes)
        self.limit_bytes = int(limit_bytes)
        self.detail = detail
        self.remedy = remedy
        self.hint = hint
        super().__init__(
            f"{what} would need about {human_bytes(self.estimate_bytes)}{detail}, more than "
            f"max_bytes={self.limit_bytes} ({human_bytes(self.limit_bytes)}); {hint}, "
            f"or {remedy}"
        )

    def with_hint(self, hint: str, *, remedy: str | None = None) -> MemoryLimitError:
        """The same refusal, saying ``hint`` (and ``remedy``, when given) instead."""
        return MemoryLimitError(
            self.what,
            self.estimate_bytes,
            self.limit_bytes,
            detail=self.detail,
            remedy=self.remedy if remedy is None else remedy,
            hint=hint,
        )

    def __reduce__(self) -> Any:  # the fields, not the message, rebuild it (pickle, copy)
        fields = (self.what, self.estimate_bytes, self.limit_bytes)
        return (_rebuild_memory_limit_error, (*fields, self.detail, self.remedy, self.hint))


def _rebuild_memory_limit_error(
    what: str, estimate_bytes: int, limit_bytes: int, detail: str, remedy: str, hint: str
) -> MemoryLimitError:
    return MemoryLimitError(
        what, estimate_bytes, limit_bytes, detail=detail, remedy=remedy, hint=hint
    )


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
