"""The ``convproof`` command.

Exit codes: 0 success, 1 a proof or check failed, 2 bad input (one-line error, no traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convproof",
        description="Exact, checkable convolution arithmetic.",
    )
    parser.add_argument("--version", action="version", version=f"convproof {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    Examples
    --------
    >>> main(["--version"])
    convproof 0.1.0
    0
    """
    parser = _parser()
    try:
        parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad input, 0 for --help/--version
        return int(exc.code or 0)
    parser.print_help(sys.stdout)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
