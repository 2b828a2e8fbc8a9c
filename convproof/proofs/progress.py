"""Progress bars of long proofs (on a terminal only; a network proof shares one bar).

Examples
--------
>>> from convproof.proofs.progress import progress_bar
>>> with progress_bar(False, 10) as tick:   # progress=False: no bar
...     tick(10)
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

from convproof.errors import ConvProofError

#: Progress bars appear (on a terminal) above this many monomials.
_PROGRESS_MIN = 20_000_000


#: Set by a network proof: the tick of its one progress bar (layers then add no bar).
SHARED_TICK: contextvars.ContextVar[Callable[[int], None] | None] = contextvars.ContextVar(
    "convproof_progress_tick", default=None
)


class progress_bar:
    """A ``tqdm`` bar over monomials on stderr (``progress``: True, False, or None = only on
    a terminal and for large proofs); the context value is a callable ``tick(n)``.  Inside a
    network proof the network's bar is ticked instead."""

    def __init__(self, progress: bool | None, total: int, desc: str = "proving") -> None:
        if progress is not None and not isinstance(progress, bool):
            raise ConvProofError(f"progress must be True, False or None, got progress={progress!r}")
        self.bar: Any = None
        self.shared = SHARED_TICK.get()
        if self.shared is not None or not (
            progress or (progress is None and total >= _PROGRESS_MIN and _stderr_is_terminal())
        ):
            return
        import sys

        from tqdm import tqdm

        self.bar = tqdm(
            total=total,
            desc=desc,
            unit="mono",
            unit_scale=True,
            file=sys.stderr,
            leave=False,
            dynamic_ncols=True,
        )

    def __enter__(self) -> Callable[[int], None]:
        if self.shared is not None:
            return self.shared
        if self.bar is None:
            return _no_tick
        update: Callable[[int], None] = self.bar.update
        return update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


def _no_tick(n: int) -> None:
    return None


def _stderr_is_terminal() -> bool:
    import sys

    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # closed or replaced stderr
        return False
