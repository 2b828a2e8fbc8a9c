"""Safe parsing of user text (command-line values): shapes, int tuples, paddings, callables.

Nothing here calls ``eval``, ``ast.literal_eval`` or ``sympy.sympify`` on user text: every
value is matched against a small grammar (decimal integers, separators, parentheses and
identifiers) and converted by hand, so a malformed value becomes a one-line
:class:`~convproof.errors.ConvProofError` naming the option and quoting the text.

================  ===================================  ==================================
function          accepts                              returns
================  ===================================  ==================================
parse_shape       ``3x32x32``, ``3,32,32``, ``(3, 32)``  ``(3, 32, 32)``
parse_ints        ``3``, ``3,5``, ``3x5``, ``(3, 5)``    ``3`` or ``(3, 5)``
parse_padding     ``1``, ``1,2``, ``(1,2),(0,1)``,       ``1``, ``(1, 2)``,
                  ``same``, ``SAME_UPPER``               ``((1, 2), (0, 1))``, ``"same"``
parse_index       ``0,0,0`` (non-negative)               ``(0, 0, 0)``
resolve_callable  ``package.module:function``,           the function object
                  ``path/to/file.py:function``
================  ===================================  ==================================

Examples
--------
>>> from convproof.presentation.parse import parse_shape, parse_padding
>>> parse_shape("3x32x32")
(3, 32, 32)
>>> parse_padding("(1,2),(0,1)")
((1, 2), (0, 1))
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from convproof.errors import ConvProofError

__all__ = [
    "parse_bytes",
    "parse_index",
    "parse_ints",
    "parse_padding",
    "parse_shape",
    "resolve_callable",
]

_INT = re.compile(r"[+-]?\d+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_MAX_INT = 10**12  # far beyond any layer; keeps absurd inputs from reaching the arithmetic


_BYTES = re.compile(r"(\d+)\s*([KMGT]?)(i?B)?", re.IGNORECASE)


def parse_bytes(text: str, name: str = "--max-bytes") -> int:
    """Parse a byte count: ``1000000``, ``512M``, ``16G``, ``2GiB`` (binary units: G = 2**30).

    Examples
    --------
    >>> parse_bytes("1000"), parse_bytes("512M"), parse_bytes("16G"), parse_bytes("2GiB")
    (1000, 536870912, 17179869184, 2147483648)
    >>> parse_bytes("lots")
    Traceback (most recent call last):
    ...
    convproof.errors.ConvProofError: --max-bytes must be a byte count like 1000000, 512M or
    16G, got --max-bytes='lots'
    """
    match = _BYTES.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise _fail(name, "be a byte count like 1000000, 512M or 16G", text)
    unit = match.group(2).upper()
    return int(match.group(1)) * 1024 ** " KMGT".index(unit or " ")


def _fail(name: str, constraint: str, text: Any) -> ConvProofError:
    return ConvProofError(f"{name} must {constraint}, got {name}={text!r}")


def _tokens(text: str, name: str, constraint: str) -> list[str]:
    """Split into integers, parentheses/brackets and commas; anything else is an error."""
    pos, out = 0, []
    while pos < len(text):
        ch = text[pos]
        if ch.isspace():
            pos += 1
            continue
        if ch in "()[],":
            out.append({"[": "(", "]": ")"}.get(ch, ch))
            pos += 1
            continue
        m = _INT.match(text, pos)
        if m is None:
            raise _fail(name, constraint, text)
        out.append(m.group())
        pos = m.end()
    return out


def _nested(text: str, name: str, constraint: str) -> Any:
    """Parse ``1``, ``1,2``, ``(1,2),(0,1)`` or ``((1,2),(0,1))`` into ints/tuples."""
    toks = _tokens(text, name, constraint)
    if not toks:
        raise _fail(name, constraint, text)
    pos = 0

    def item() -> Any:
        nonlocal pos
        if pos >= len(toks):
            raise _fail(name, constraint, text)
        tok = toks[pos]
        if tok == "(":
            pos += 1
            items = seq(")")
            if pos >= len(toks) or toks[pos] != ")":
                raise _fail(name, constraint, text)
            pos += 1
            return tuple(items)
        if tok in "),":
            raise _fail(name, constraint, text)
        pos += 1
        value = int(tok)
        if abs(value) > _MAX_INT:
            raise _fail(name, f"be at most {_MAX_INT} in size", text)
        return value

    def seq(end: str | None) -> list[Any]:
        nonlocal pos
        items = [item()]
        while pos < len(toks) and toks[pos] == ",":
            pos += 1
            if pos < len(toks) and toks[pos] == end:  # trailing comma "(1,)"
                break
            items.append(item())
        return items

    items = seq(None)
    if pos != len(toks):
        raise _fail(name, constraint, text)
    if len(items) == 1 and not (toks[0] == "(" and isinstance(items[0], int)):
        return items[0]
    return tuple(items)


def _flat_ints(text: str, name: str, constraint: str) -> tuple[int, ...]:
    """``3x32x32`` / ``3,32,32`` / ``3 32 32`` / ``(3, 32, 32)`` -> a flat tuple of ints."""
    if not isinstance(text, str):
        raise _fail(name, constraint, text)
    body = text.strip()
    if body[:1] in "([" and body[-1:] in ")]":
        body = body[1:-1]
    parts = re.split(r"\s*[x×*,]\s*|\s+", body.strip())
    if not parts or any(_INT.fullmatch(p) is None for p in parts):
        raise _fail(name, constraint, text)
    values = tuple(int(p) for p in parts)
    if any(abs(v) > _MAX_INT for v in values):
        raise _fail(name, f"be at most {_MAX_INT} in size", text)
    return values


def parse_shape(text: str, name: str = "--in") -> tuple[int, ...]:
    """Parse an input shape such as ``3x32x32``, ``3,32,32`` or ``(1, 3, 32, 32)``.

    Parameters
    ----------
    text : str
        Sizes separated by ``x``, ``×``, ``*``, commas or spaces, optionally in parentheses.
    name : str
        The option name used in error messages.

    Returns
    -------
    tuple of int
        Every size ``>= 1`` (channels first: ``(C, *spatial)`` or ``(N, C, *spatial)``).

    Raises
    ------
    ConvProofError
        For anything but at least two positive integers.

    Examples
    --------
    >>> parse_shape("3x32x32"), parse_shape("1, 3, 8, 8"), parse_shape("(2, 10)")
    ((3, 32, 32), (1, 3, 8, 8), (2, 10))
    >>> parse_shape("3x-2x2")
    Traceback (most recent call last):
    ...
    convproof.errors.ConvProofError: --in must be sizes >= 1 (like 3x32x32), got --in='3x-2x2'
    """
    constraint = "be a shape like 3x32x32 or 3,32,32 (channels first)"
    values = _flat_ints(text, name, constraint)
    if len(values) < 2:
        raise _fail(name, "have a channel and at least one spatial size (like 3x32x32)", text)
    if any(v < 1 for v in values):
        raise _fail(name, "be sizes >= 1 (like 3x32x32)", text)
    return values


def parse_ints(text: str, name: str, minimum: int | None = None) -> int | tuple[int, ...]:
    """Parse one integer or a tuple of integers (``3``, ``3,5``, ``3x5``, ``(3, 5)``).

    Parameters
    ----------
    text : str
    name : str
        The option name used in error messages.
    minimum : int, optional
        Smallest accepted entry.

    Returns
    -------
    int or tuple of int
        An int for a single number (broadcast later to every dimension), else a tuple.

    Raises
    ------
    ConvProofError
        For malformed text or an entry below ``minimum``.

    Examples
    --------
    >>> parse_ints("3", "--kernel"), parse_ints("3,5", "--kernel"), parse_ints("(2, 1)", "-s")
    (3, (3, 5), (2, 1))
    >>> parse_ints("0", "--stride", minimum=1)
    Traceback (most recent call last):
    ...
    convproof.errors.ConvProofError: --stride must be >= 1 in every dimension, got --stride='0'
    """
    values = _flat_ints(text, name, "be an integer or integers like 3 or 3,5")
    if minimum is not None and any(v < minimum for v in values):
        raise _fail(name, f"be >= {minimum} in every dimension", text)
    stripped = text.strip()
    if len(values) == 1 and not stripped.startswith(("(", "[")):
        return values[0]
    return values


#: Padding names accepted by the command line (spelled as the specs spell them).
_PADDING_NAMES = ("valid", "same", "full", "SAME_UPPER", "SAME_LOWER", "VALID", "SAME", "FULL")


def parse_padding(
    text: str, name: str = "--padding", negative: bool = False
) -> int | str | tuple[Any, ...]:
    """Parse a padding: an int, per-dimension ints, ``(before, after)`` pairs, or a name.

    Parameters
    ----------
    text : str
        ``1`` (every side), ``1,2`` (per dimension), ``(1,2),(0,1)`` (per dimension,
        before/after), or one of ``valid``, ``same``, ``full``, ``SAME_UPPER``,
        ``SAME_LOWER`` (also TF's ``VALID``/``SAME``).  Names are case-sensitive because
        PyTorch's ``same`` and TF's ``SAME`` differ.
    name : str
        The option name used in error messages.
    negative : bool
        Accept amounts below 0 (crops), which the spec then admits or refuses under its
        legality profile.

    Returns
    -------
    int, str or tuple
        What :class:`~convproof.layers.spec.ConvSpec` accepts as ``padding``.

    Raises
    ------
    ConvProofError
        For malformed text, negative amounts or unknown names.

    Examples
    --------
    >>> parse_padding("1"), parse_padding("1,2"), parse_padding("same")
    (1, (1, 2), 'same')
    >>> parse_padding("(1,2),(0,1)"), parse_padding("-1", negative=True)
    (((1, 2), (0, 1)), -1)
    >>> parse_padding("sane")
    Traceback (most recent call last):
    ...
    convproof.errors.ConvProofError: --padding must be an int, ints like 1,2, pairs like
    (1,2),(0,1) or one of valid, same, full, SAME_UPPER, SAME_LOWER, VALID, SAME, FULL,
    got --padding='sane'
    """
    constraint = "be an int, ints like 1,2, pairs like (1,2),(0,1) or one of " + ", ".join(
        _PADDING_NAMES
    )
    if not isinstance(text, str):
        raise _fail(name, constraint, text)
    stripped = text.strip()
    if _NAME.fullmatch(stripped):
        if stripped not in _PADDING_NAMES:
            raise _fail(name, constraint, text)
        return stripped
    value = _nested(stripped, name, constraint)

    def check(v: Any, depth: int) -> None:
        if isinstance(v, int):
            if v < 0 and not negative:
                raise _fail(name, "be >= 0 on every side", text)
            return
        if depth >= 2 or (depth == 1 and len(v) != 2):
            raise _fail(name, constraint, text)
        for x in v:
            check(x, depth + 1)

    check(value, 0)
    return value


def parse_index(text: str, name: str = "--at") -> tuple[int, ...]:
    """Parse an element index such as ``0,0,0`` (non-negative integers).

    Examples
    --------
    >>> parse_index("0,1,2"), parse_index("(4, 2)")
    ((0, 1, 2), (4, 2))
    >>> parse_index("0,a")
    Traceback (most recent call last):
    ...
    convproof.errors.ConvProofError: --at must be non-negative integers like 0,0,0, got --at='0,a'
    """
    constraint = "be non-negative integers like 0,0,0"
    values = _flat_ints(text, name, constraint)
    if any(v < 0 for v in values):
        raise _fail(name, constraint, text)
    return values


def resolve_callable(text: str, name: str = "function") -> Callable[..., Any]:
    """Import ``module:function`` (or ``path/to/file.py:function``) without evaluating code.

    The module part is a dotted module name, imported with :func:`importlib.import_module`
    (the current directory is searched first, as ``python -m`` does), or a path to a
    ``.py`` file.  The function part is a dotted attribute path (``Class.method`` works).

    Parameters
    ----------
    text : str
    name : str
        Used in error messages.

    Returns
    -------
    callable

    Raises
    ------
    ConvProofError
        If the text is malformed, the module cannot be imported (the module's own error is
        summarized on one line), the attribute is missing, or it is not callable.

    Examples
    --------
    >>> resolve_callable("math:hypot")(3, 4)
    5.0
    >>> resolve_callable("math:nope")
    Traceback (most recent call last):
    ...
    convproof.errors.ConvProofError: module 'math' has no attribute 'nope' (function='math:nope')
    """
    if not isinstance(text, str) or text.count(":") != 1:
        raise _fail(name, "look like module:function or path/to/file.py:function", text)
    module_part, attr_part = (p.strip() for p in text.split(":"))
    if not _DOTTED.fullmatch(attr_part):
        raise _fail(name, "name a function after the colon, like module:function", text)
    module = _import_module(module_part, name, text)
    obj: Any = module
    for attr in attr_part.split("."):
        if not hasattr(obj, attr):
            raise ConvProofError(
                f"module {module_part!r} has no attribute {attr_part!r} ({name}={text!r})"
            )
        obj = getattr(obj, attr)
    if not callable(obj):
        raise ConvProofError(
            f"{attr_part!r} in module {module_part!r} is not callable "
            f"(it is a {type(obj).__name__}), got {name}={text!r}"
        )
    return obj


def _one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def _import_module(module_part: str, name: str, text: str) -> Any:
    if module_part.endswith(".py") or os.sep in module_part or "/" in module_part:
        path = Path(module_part)
        if not path.is_file():
            raise ConvProofError(f"no such Python file {module_part!r} ({name}={text!r})")
        stem = re.sub(r"\W", "_", path.stem)
        mod_name = f"_convproof_user_{stem}"
        loader_spec = importlib.util.spec_from_file_location(mod_name, path)
        if loader_spec is None or loader_spec.loader is None:  # pragma: no cover
            raise ConvProofError(f"cannot load {module_part!r} ({name}={text!r})")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[mod_name] = module
        try:
            loader_spec.loader.exec_module(module)
        except Exception as exc:  # the user's module failed while importing
            sys.modules.pop(mod_name, None)
            raise ConvProofError(
                f"importing {module_part!r} failed: {_one_line(exc)} ({name}={text!r})"
            ) from None
        return module
    if not _DOTTED.fullmatch(module_part):
        raise _fail(name, "start with a module name, like package.module:function", text)
    cwd = os.getcwd()
    added = cwd not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(module_part)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_part
        raise ConvProofError(
            f"cannot import module {module_part!r}: no module named {missing!r} ({name}={text!r})"
        ) from None
    except Exception as exc:  # the user's module failed while importing
        raise ConvProofError(
            f"importing module {module_part!r} failed: {_one_line(exc)} ({name}={text!r})"
        ) from None
    finally:
        if added and cwd in sys.path:
            sys.path.remove(cwd)
