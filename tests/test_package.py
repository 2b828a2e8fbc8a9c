"""The package surface: every public name resolves, and importing stays light."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import convproof as cp

INIT = Path(cp.__file__)


def test_every_public_name_resolves() -> None:
    missing = [name for name in cp.__all__ if getattr(cp, name, None) is None]
    assert missing == []
    assert set(cp._LAZY) <= set(cp.__all__)


def test_no_public_name_is_also_a_submodule_name() -> None:
    # importing convproof.<name> would rebind cp.<name> to the module (the import system sets
    # the attribute), silently replacing a lazily exported function or class
    submodules = {m.name for m in pkgutil.iter_modules([str(INIT.parent)])}
    assert set(cp._LAZY) & submodules == set()


def test_type_checking_imports_match_the_lazy_table() -> None:
    # mypy sees the TYPE_CHECKING imports, users get the lazy table: they must name the same
    tree = ast.parse(INIT.read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.dump(n))
    seen: set[tuple[str, str]] = set()
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names:
            if alias.name == "*":  # a star import brings the module's __all__
                module = importlib.import_module(node.module)
                seen.update((node.module, name) for name in module.__all__)
            elif alias.name != "strategies":  # the public submodule
                seen.add((node.module, alias.name))
    assert seen == {(f"convproof.{module}", name) for name, module in cp._LAZY.items()}


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        cp.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_import_does_not_load_heavy_dependencies() -> None:
    code = (
        "import sys, convproof as cp; "
        "cp.ConvSpec(in_channels=3, out_channels=5, kernel_size=3).output_shape((3, 8, 8)); "
        "print(sorted(m for m in ('sympy', 'scipy', 'hypothesis', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
