"""PyTorch's functional layers behind a NumPy signature, for the checkers' false-alarm tests.

torch is passed in (the ``torch`` fixture of ``conftest.py``), so importing this module never
needs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def numpy_function(torch: Any, name: str) -> Callable[..., np.ndarray]:
    """``torch.nn.functional.<name>`` taking and returning NumPy arrays."""
    op = getattr(torch.nn.functional, name)

    def fn(x: np.ndarray, *args: Any, **kwargs: Any) -> np.ndarray:
        args = tuple(torch.from_numpy(a) if isinstance(a, np.ndarray) else a for a in args)
        with torch.no_grad():
            return op(torch.from_numpy(x), *args, **kwargs).numpy()

    return fn
