"""Lint, format and type checks run as part of the test suite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)


@pytest.mark.parametrize(
    "command",
    [("ruff", "check", "."), ("ruff", "format", "--check", ".")],
    ids=["ruff-check", "ruff-format"],
)
def test_ruff(command: tuple[str, ...]) -> None:
    assert shutil.which("ruff"), "ruff is a test dependency: pip install -e '.[test]'"
    result = _run(*command)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy() -> None:
    result = _run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lint-imports")
    assert exe, "import-linter is a test dependency: pip install -e '.[test]'"
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [exe, "--config", str(root / "pyproject.toml")],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def test_import_contracts() -> None:
    """The layering of pyproject.toml's import-linter contracts holds."""
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "planted"),
    [
        ("layers/spec.py", "import convproof.presentation.cli"),  # upward import
        ("constructions/sliding_sum.py", "from convproof.constructions import index"),
        ("constructions/backward.py", "import convproof.constructions.matrix"),
        ("constructions/definition.py", "from convproof.constructions import index"),
        ("constructions/definition.py", "import convproof.constructions.numeric"),
    ],
)
def test_import_contracts_catch_planted_violations(
    tmp_path: Path, module: str, planted: str
) -> None:
    """The contracts are not vacuous: each planted import breaks one."""
    shutil.copytree(ROOT / "convproof", tmp_path / "convproof")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "convproof" / module
    target.write_text(target.read_text() + f"\n{planted}  # planted\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0 and ", 0 broken" not in result.stdout, result.stdout
