"""The README and the pages in docs/ are executed: their ```python blocks run as doctests
(``--doctest-glob``), their ```console blocks run here, command by command, and must print
exactly what the page shows.  The README's "Development" block is what ``.ci/run`` runs.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]


def _console_examples(page: Path = README) -> list[tuple[str, str, int]]:
    """``(command, expected output, exit code)`` for every ``$ convproof ...`` line."""
    examples: list[tuple[str, str, int]] = []
    for block in re.findall(r"```console\n(.*?)```", page.read_text(), flags=re.S):
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


def _all_console_examples() -> list[Any]:
    return [
        pytest.param(command, expected, code, id=f"{page.name}: {command}")
        for page in PAGES
        for command, expected, code in _console_examples(page)
    ]


def _finish(lines: list[str]) -> tuple[str, str, int]:
    command, output = lines[0], lines[1:]
    code = 0
    match = re.search(r"\s+#\s*exit (\d+)$", command)
    if match:
        command, code = command[: match.start()], int(match.group(1))
    return command, "\n".join(output).rstrip(), code


def test_readme_has_console_examples() -> None:
    assert _console_examples(), "README.md should show the convproof command in use"


@pytest.mark.parametrize(("command", "expected", "code"), _all_console_examples())
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


# --------------------------------------------------------------------------------------
# the README's shape: for users first, development last, .ci/run in step
# --------------------------------------------------------------------------------------


def _sections(text: str) -> list[str]:
    return re.findall(r"^## (.+)$", text, flags=re.M)


def _development_block(text: str) -> list[str]:
    """The commands of the first ```bash block under the "## Development" heading."""
    section = text.split("\n## Development\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S)
    assert block, "the Development section needs a ```bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_starts_with_the_quick_start_and_ends_with_development() -> None:
    sections = _sections(README.read_text())
    assert sections[0] == "Quick start"
    assert sections[-1] == "Development"
    quick = README.read_text().split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    assert "pytest" not in quick and "[test]" not in quick  # no test tools to start
    assert "--index-url https://download.pytorch.org/whl/cpu" in quick
    assert "```console\n$ convproof " in quick and "```python\n>>> " in quick


def test_development_block_sets_up_and_runs_the_tests() -> None:
    commands = _development_block(README.read_text())
    assert len(commands) == 2
    assert commands[0].startswith("pip install") and "[test]" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_exactly_the_development_block() -> None:
    bash = shutil.which("bash")
    assert bash, "bash is needed to read .ci/run's command list"
    result = subprocess.run(
        [bash, str(ROOT / ".ci" / "run")],
        capture_output=True,
        text=True,
        env={**os.environ, "CI_RUN_LIST": "1"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == _development_block(README.read_text())


def test_every_docs_page_is_linked_from_the_readme() -> None:
    text = README.read_text()
    assert DOCS, "docs/ holds the deep material"
    for page in DOCS:
        assert f"(docs/{page.name})" in text, f"README.md does not link docs/{page.name}"
        assert "[Back to the README](../README.md)" in page.read_text()


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_project_jargon(page: Path) -> None:
    """Words only the project's own history explains ("the seed's matrix") are not used."""
    text = re.sub(r"seed\s*=|--seed|seed [0-9]|seed:|seed\)|seeds? for", "", page.read_text())
    assert not re.search(r"\bseeds?'?s?\b", text, flags=re.I), page.name
