"""Docstring sections written once and filled into several numpydoc docstrings.

A docstring that shares a section holds a line ``{name}`` (indented four spaces, as the
sections of a top-level function are); :func:`fill_doc` replaces that line with the shared
text when the module loads.  Under ``python -OO`` docstrings are absent and nothing is filled.

Examples
--------
>>> from convproof._docfill import fill_doc
>>> @fill_doc(size="    n : int\\n        The size.\\n")
... def f(n):
...     '''Twice ``n``.
...
...     Parameters
...     ----------
...     {size}
...     '''
>>> print(f.__doc__)  # doctest: +NORMALIZE_WHITESPACE
Twice ``n``.
<BLANKLINE>
    Parameters
    ----------
    n : int
        The size.
<BLANKLINE>
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__: list[str] = []

#: The Parameters of a function of any layer and one input shape (fill a ``{layer_input}`` line).
LAYER_INPUT = """\
    spec : ConvSpec, ConvTransposeSpec or PoolSpec
    input_shape : tuple of int
        ``(C, *spatial)`` or ``(N, C, *spatial)`` (the batch axis is ignored).
"""

_F = TypeVar("_F", bound=Callable[..., Any])


def fill_doc(**sections: str) -> Callable[[_F], _F]:
    """Decorator: replace each ``    {name}`` line of the docstring by ``sections[name]``.

    Each section is complete lines (ending in a newline), indented as the docstring is.  A
    placeholder the docstring does not hold is a mistake in this package and raises
    ``ValueError`` when the module loads.
    """

    def fill(fn: _F) -> _F:
        doc = fn.__doc__
        if doc:  # absent under python -OO
            for name, text in sections.items():
                line = "    {" + name + "}\n"
                if line not in doc:
                    raise ValueError(f"{fn.__qualname__}'s docstring has no {{{name}}} line")
                doc = doc.replace(line, text)
            fn.__doc__ = doc
        return fn

    return fill
