"""``python -m convproof``: the same as the ``convproof`` console script."""

from __future__ import annotations

import sys

from convproof.presentation.cli import main

if __name__ == "__main__":  # pragma: no branch
    sys.exit(main())
