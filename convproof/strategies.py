"""Compatibility alias of :mod:`convproof.testing.strategies` (the public Hypothesis strategies).

``import convproof.strategies`` and ``cp.strategies`` keep working; new code may use either path.
"""

from convproof.testing.strategies import *  # noqa: F403
from convproof.testing.strategies import __all__  # noqa: F401
