"""Mutation testing of one convproof module with cosmic-ray, on a seeded sample of mutants.

Each mutant changes one operator or constant of the module (cosmic-ray's ``core``
operators: binary and comparison operators, unary operators, number constants, boolean
operators, ``break``/``continue``, exception handlers, ...).  The module's tests run against
every sampled mutant; a mutant is *killed* when they fail, *survives* when they pass.  The
goal of issue 11 is >= 90 % of the non-equivalent mutants killed; survivors are listed (with
their diff) so each can be killed by a new test or argued equivalent.

The repository is copied to a temporary directory first (cosmic-ray mutates files on disk),
so the working tree is never touched and other work can go on meanwhile.

Usage::

    pip install cosmic-ray   # into the project's virtual environment
    nice -n 10 python benchmarks/mutation.py convproof/check.py \\
        --tests "python -m pytest -x -q -p no:cacheprovider tests/test_check.py \\
                 tests/test_check_soundness.py" \\
        --sample 40 --seed 0 [--operators core/ReplaceComparisonOperator core/NumberReplacer]
        [--timeout 900] [--json report.json] [--keep]

``--sample N`` runs N mutants drawn with ``random.Random(seed)`` from all of the module's
mutants (all of them when omitted); ``--operators`` keeps only operators whose name starts
with one of the given prefixes.  The same script runs on ``convproof/proof.py``,
``convproof/general.py`` or ``convproof/formulas.py`` with their own test command.  The
summary prints killed / survived / incompetent (mutants that do not even import or time
out count as killed only when the tests failed) and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _copy_repository(target: Path) -> None:
    """Tracked and untracked (not ignored) files of the repository, as they are on disk."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _config(module: str, tests: str, timeout: float) -> str:
    def quote(text: str) -> str:
        return json.dumps(text)  # a TOML basic string is a JSON string

    return (
        "[cosmic-ray]\n"
        f"module-path = {quote(module)}\n"
        f"timeout = {float(timeout)}\n"
        "excluded-modules = []\n"
        f"test-command = {quote(tests)}\n\n"
        "[cosmic-ray.distributor]\n"
        'name = "local"\n'
    )


def _sample(session: Path, size: int | None, seed: int, prefixes: list[str]) -> int:
    """Keep ``size`` seeded random mutants (of the given operator prefixes) in the session."""
    with sqlite3.connect(session) as db:
        rows = db.execute("SELECT job_id, operator_name FROM mutation_specs").fetchall()
        jobs = sorted(job for job, op in rows if not prefixes or op.startswith(tuple(prefixes)))
        keep = set(
            jobs if size is None or size >= len(jobs) else random.Random(seed).sample(jobs, size)
        )
        drop = [(job,) for job, _ in rows if job not in keep]
        db.executemany("DELETE FROM mutation_specs WHERE job_id = ?", drop)
        db.executemany("DELETE FROM work_items WHERE job_id = ?", drop)
        print(
            f"{len(rows)} mutants in all, {len(jobs)} of the chosen operators, {len(keep)} sampled"
        )
        return len(keep)


def _results(session: Path) -> list[dict[str, object]]:
    with sqlite3.connect(session) as db:
        rows = db.execute(
            "SELECT m.operator_name, m.occurrence, m.start_pos_row, m.definition_name, "
            "r.worker_outcome, r.test_outcome, r.diff FROM mutation_specs m "
            "JOIN work_results r ON m.job_id = r.job_id ORDER BY m.start_pos_row"
        ).fetchall()
    keys = ("operator", "occurrence", "line", "definition", "worker", "test", "diff")
    return [dict(zip(keys, row)) for row in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", help="the file to mutate, e.g. convproof/check.py")
    parser.add_argument("--tests", required=True, help="the test command (run in the copy)")
    parser.add_argument("--sample", type=int, default=None, help="mutants to run (default all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--operators", nargs="*", default=[], help="operator name prefixes")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per mutant")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy")
    args = parser.parse_args()
    if shutil.which("cosmic-ray") is None:
        parser.error("cosmic-ray is not installed (pip install cosmic-ray)")
    work = Path(tempfile.mkdtemp(prefix="convproof-mutation-"))
    try:
        _copy_repository(work)
        if not (work / args.module).is_file():
            parser.error(f"module must be a file of the repository, got module={args.module!r}")
        (work / "mutation.toml").write_text(_config(args.module, args.tests, args.timeout))
        env = {**os.environ, "PYTHONPATH": str(work), "PYTHONDONTWRITEBYTECODE": "1"}
        run = {"cwd": work, "env": env, "check": True}
        subprocess.run(["cosmic-ray", "init", "mutation.toml", "session.sqlite"], **run)  # type: ignore[call-overload]
        count = _sample(work / "session.sqlite", args.sample, args.seed, args.operators)
        baseline = subprocess.run(args.tests, shell=True, cwd=work, env=env, capture_output=True)
        if baseline.returncode != 0:
            print(baseline.stdout.decode()[-3000:])
            print("the tests fail on the unmutated module: fix them first")
            return 1
        start = time.perf_counter()
        subprocess.run(["cosmic-ray", "exec", "mutation.toml", "session.sqlite"], **run)  # type: ignore[call-overload]
        seconds = time.perf_counter() - start
        results = _results(work / "session.sqlite")
        killed = [r for r in results if r["test"] == "TestOutcome.KILLED" or r["test"] == "KILLED"]
        survived = [r for r in results if r["test"] in ("TestOutcome.SURVIVED", "SURVIVED")]
        other = [r for r in results if r not in killed and r not in survived]
        print(
            f"\n{args.module}: {count} mutants in {seconds:.0f} s: {len(killed)} killed, "
            f"{len(survived)} survived, {len(other)} incompetent or not run"
        )
        for r in survived:
            print(f"\nSURVIVED line {r['line']} in {r['definition']}: {r['operator']} "
                  f"(occurrence {r['occurrence']})\n{r['diff']}")  # fmt: skip
        for r in other:
            print(f"\n{r['worker']} / {r['test']} line {r['line']}: {r['operator']}")
        if args.json is not None:
            args.json.write_text(json.dumps(results, indent=1, default=str))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
