"""Sets of input sizes: a list of small sizes, then residues modulo a period from some size on.

One class, :class:`SizeSet`, answers both size questions of the package: on which sizes two
layers agree (:func:`convproof.agreement`) and on which sizes a network runs
(:func:`convproof.valid_input_sizes`, whose :class:`~convproof.ValidSizes` is a
:class:`SizeSet` that also names the join breaking each residue).  Every such set is
*eventually periodic*: membership of ``n >= start`` depends on ``n % period`` only.

Examples
--------
>>> from convproof.layers.size_sets import SizeSet
>>> s = SizeSet.from_members([1, 3, 8, 12, 16], start=8, period=4)
>>> print(s), 20 in s, 21 in s, list(s.members(13))
n in {1, 3} or n >= 5, n ≡ 0 (mod 4)
(None, True, False, [1, 3, 8, 12])
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["SizeSet"]


@dataclass(frozen=True)
class SizeSet:
    """A set of positive input sizes: listed sizes below ``start``, residues from ``start`` on.

    ``n in s`` is ``n in s.below`` for ``n < start`` and ``n % s.period in s.residues`` for
    ``n >= start``.  Built in canonical form (smallest period, smallest start).

    Attributes
    ----------
    start : int
        From this size on, membership is periodic.
    period : int
    residues : frozenset of int
        Members ``n >= start`` are those with ``n % period`` in this set.
    below : frozenset of int
        Members smaller than ``start``.

    Examples
    --------
    >>> from convproof.layers.size_sets import SizeSet
    >>> odd = SizeSet.from_members(range(1, 20, 2), start=1, period=2)
    >>> 7 in odd, 8 in odd, odd.minimum, odd.smallest_outside
    (True, False, 1, 2)
    """

    start: int
    period: int
    residues: frozenset[int]
    below: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def from_members(cls, members: object, *, start: int, period: int) -> SizeSet:
        """Canonical set from the members among ``1 .. start + period - 1``.

        Sizes ``>= start`` are decided by their residue modulo ``period``, which the members in
        ``start .. start + period - 1`` give.
        """
        m = {int(n) for n in members}  # type: ignore[attr-defined]
        residues = frozenset(n % period for n in m if start <= n < start + period)
        below = frozenset(n for n in m if n < start)
        # smallest period: a divisor q of the period whose residues repeat
        for q in sorted(d for d in range(1, period + 1) if period % d == 0):
            if all(
                ((r % q) in {x % q for x in residues}) == (r in residues) for r in range(period)
            ):
                residues = frozenset(r % q for r in residues)
                period = q
                break
        # smallest start: lower it while the size below already follows the residue rule
        while start > 1 and ((start - 1) in below) == (((start - 1) % period) in residues):
            start -= 1
            below = below - {start}
        return cls(start=start, period=period, residues=residues, below=below)

    def __contains__(self, n: object) -> bool:
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
            return False
        n = int(n)
        if n < 1:
            return False
        return n in self.below if n < self.start else (n % self.period) in self.residues

    @property
    def is_empty(self) -> bool:
        """No size at all."""
        return not self.residues and not self.below

    @property
    def is_all(self) -> bool:
        """Every size ``>= 1``."""
        return self.start == 1 and len(self.residues) == self.period

    @property
    def minimum(self) -> int | None:
        """The smallest member, or None for the empty set."""
        if self.below:
            return min(self.below)
        if not self.residues:
            return None
        return next(n for n in range(self.start, self.start + self.period) if n in self)

    @property
    def smallest_outside(self) -> int | None:
        """The smallest size ``>= 1`` that is not a member, or None when every size is."""
        if self.is_all:
            return None
        return next(n for n in range(1, self.start + self.period + 1) if n not in self)

    def members(self, up_to: int) -> Iterator[int]:
        """Members ``1 .. up_to`` in increasing order."""
        return (n for n in range(1, up_to + 1) if n in self)

    def __str__(self) -> str:
        if self.is_empty:
            return "no size"
        parts = []
        if self.below:
            parts.append("n in {" + ", ".join(map(str, sorted(self.below))) + "}")
        if self.residues:
            rule = f"n >= {self.start}"
            if len(self.residues) < self.period:
                res = ", ".join(map(str, sorted(self.residues)))
                rule += f", n ≡ {res} (mod {self.period})"
            parts.append(rule)
        return " or ".join(parts)

    def canonical(self) -> SizeSet:
        """The same set with the smallest period and the smallest start
        (:meth:`from_members`)."""
        members = self.members(self.start + self.period - 1)
        return SizeSet.from_members(members, start=self.start, period=self.period)

    def torch_export_dim(self, name: str, *, max: int | None = None) -> Any:
        """A ``torch.export`` dimension whose values are exactly this set (up to ``max``).

        What is expressible: an up-set ``n >= m`` (``Dim(name, min=m, max=max)``) or one
        residue class from its smallest member ``m`` on, ``n = P k + (m - 2P)`` with
        ``k >= 2``: the derived dimension ``P * Dim(name + "_k", min=2) + (m - 2P)`` (a
        U-Net's multiples of 16: ``16 * Dim("h_k", min=2) - 16``).  The root starts at 2
        because torch.export specializes a dimension whose example value is 1.  Several
        residue classes, or sizes listed below the periodic part, have no ``torch.export``
        spelling.

        Parameters
        ----------
        name : str
            The dimension's name (a Python identifier).
        max : int, optional
            The largest size to allow (``None``: unbounded).

        Returns
        -------
        torch.export.Dim or its derived expression

        Raises
        ------
        ConvProofError
            If the set is empty, not a single residue class, or ``max`` is below its
            smallest member.

        Examples
        --------
        >>> from convproof.layers.size_sets import SizeSet
        >>> two = SizeSet(start=1, period=4, residues=frozenset({0, 1}))
        >>> two.torch_export_dim("h")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        convproof.errors.ConvProofError: sizes must be one residue class ... (mod 4)
        >>> SizeSet(start=1, period=4, residues=frozenset({0, 2})).canonical()
        SizeSet(start=1, period=2, residues=frozenset({0}), below=frozenset())
        """
        from convproof.errors import ConvProofError

        c = self.canonical()
        if c.is_empty or c.below or len(c.residues) != 1:
            raise ConvProofError(
                "sizes must be one residue class from some size on (torch.export has no "
                f"union of them), got sizes={self}"
            )
        if not name.isidentifier():
            raise ConvProofError(f"name must be a Python identifier, got name={name!r}")
        m = c.minimum
        assert m is not None
        if max is not None and max < m:
            raise ConvProofError(f"max must be at least the smallest size {m}, got max={max!r}")
        from torch.export import Dim

        p = c.period
        if p == 1:
            return Dim(name, min=m, max=max if max is not None else None)
        k_max = None if max is None else (max - (m - 2 * p)) // p
        return p * Dim(f"{name}_k", min=2, max=k_max) + (m - 2 * p)
