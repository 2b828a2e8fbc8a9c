"""The README is executed: its ```python blocks run as doctests (``--doctest-glob``), its
```console blocks run here, command by command, and must print exactly what the README shows.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _console_examples() -> list[tuple[str, str, int]]:
    """``(command, expected output, exit code)`` for every ``$ convproof ...`` line."""
    examples: list[tuple[str, str, int]] = []
    for block in re.findall(r"```console\n(.*?)```", README.read_text(), flags=re.S):
        current: list[str] | None = None
        for line in block.splitlines():
            if line.startswith("$ "):
                if current is not None:
                    examples.append(_finish(current))
                current = [line[2:]]
            elif current is not None:
                current.append(line)
        if current is not None:
            examples.append(_finish(current))
    return examples


def _finish(lines: list[str]) -> tuple[str, str, int]:
    command, output = lines[0], lines[1:]
    code = 0
    match = re.search(r"\s+#\s*exit (\d+)$", command)
    if match:
        command, code = command[: match.start()], int(match.group(1))
    return command, "\n".join(output).rstrip(), code


def test_readme_has_console_examples() -> None:
    assert _console_examples(), "README.md should show the convproof command in use"


@pytest.mark.parametrize(("command", "expected", "code"), _console_examples())
def test_readme_console_example(command: str, expected: str, code: int, tmp_path: Path) -> None:
    argv = shlex.split(command)
    assert argv[0] == "convproof", f"README console examples run convproof, got {command!r}"
    exe = shutil.which("convproof")
    prefix = [exe] if exe else [sys.executable, "-m", "convproof"]
    env = {**os.environ, "COLUMNS": "100"}
    result = subprocess.run(
        prefix + argv[1:], capture_output=True, text=True, cwd=tmp_path, env=env, check=False
    )
    assert result.returncode == code, result.stderr
    got = "\n".join(line.rstrip() for line in result.stdout.rstrip().splitlines())
    want = "\n".join(line.rstrip() for line in expected.splitlines())
    assert got == want
