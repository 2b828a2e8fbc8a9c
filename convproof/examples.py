"""Compatibility alias: the deliberately faulty convolutions live in
:mod:`convproof.testing.faulty_convs` (``convproof check --fn convproof.examples:flipped_conv``
keeps working).
"""

from convproof.testing.faulty_convs import *  # noqa: F403
from convproof.testing.faulty_convs import __all__  # noqa: F401
