"""Time the curators' per-commit commands against the generic tools, side by side on the real data file.

    .venv/bin/python bench/bench_curate.py [--runs 11] [--data data/events.yaml]

Each command runs as a fresh subprocess (start-up and imports included: that is what a pre-commit hook
or a CI step pays), the commands interleaved round by round so a busy machine slows all of them alike.
Prints the median wall time of each and its ratio to `check-jsonschema` with the committed schema; the
goal is `validate` and `diff` each at most 0.5x. `diff` compares two git revisions of the data file:
the file's newest commit and the latest older one that the current format accepts, else a throw-away
repository holding the file and a copy with a few events moved and re-statused (printed either way).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """The executable `name` from this interpreter's environment, else from PATH."""
    local = BIN / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is not installed — pip install -e '.[dev]' brings it")
    return found


def git(*args: str, cwd: Path) -> str:
    """Run git and return its output."""
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def revisions(data: Path, scratch: Path) -> tuple[Path, str, str, str]:
    """(file, old rev, new rev, how chosen) for `diff --git OLD --git NEW FILE`."""
    repo = Path(git("rev-parse", "--show-toplevel", cwd=data.parent).strip())
    commits = git("log", "--format=%H", "-n", "20", "--", str(data), cwd=repo).split()
    relative = data.relative_to(repo).as_posix()
    # The newest commit, against the latest older one the current format still accepts (diff refuses
    # to compare across a format change: one side would not validate).
    for older in commits[1:]:
        copy = scratch / f"{older}.yaml"
        copy.write_text(git("show", f"{older}:{relative}", cwd=repo), encoding="utf-8")
        check = subprocess.run([tool("trade-calendar"), "validate", "-q", str(copy)], capture_output=True)
        if check.returncode == 0:
            return data, older, commits[0], f"commits {older[:8]}..{commits[0][:8]} of the file"
    # No such pair: a scratch repository with the file, then a copy edited as a curator would.
    (scratch / "data").mkdir()
    target = scratch / "data" / "events.yaml"
    shutil.copy(data, target)
    git("init", "-q", cwd=scratch)
    git("add", ".", cwd=scratch)
    ident = ["-c", "user.name=bench", "-c", "user.email=bench@example.org"]
    git(*ident, "commit", "-q", "-m", "old", cwd=scratch)
    text = target.read_text(encoding="utf-8")
    text = text.replace("status: scheduled", "status: held", 3).replace(
        "    date: 2026-", "    date: 2027-", 3
    )
    target.write_text(text, encoding="utf-8")
    git(*ident, "commit", "-q", "-am", "new", cwd=scratch)
    return target, "HEAD~1", "HEAD", "a scratch copy with 3 events re-statused and 3 moved a year"


def main() -> None:
    """Run every command --runs times, interleaved, and print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "events.yaml")
    args = parser.parse_args()
    data = args.data.resolve()
    schema = data.parent / "events.schema.json"

    with tempfile.TemporaryDirectory() as tmp:
        target, old, new, how = revisions(data, Path(tmp))
        commands = {
            "python -c pass (start-up floor)": [sys.executable, "-c", "pass"],
            "trade-calendar validate": [tool("trade-calendar"), "validate", "-q", str(data)],
            "trade-calendar diff (2 revisions)": [
                tool("trade-calendar"),
                "diff",
                "--git",
                old,
                "--git",
                new,
                str(target),
            ],
            "check-jsonschema": [tool("check-jsonschema"), "--schemafile", str(schema), str(data)],
            "yamllint": [tool("yamllint"), "-d", "relaxed", str(data)],
        }
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for name, command in commands.items():  # once untimed: byte-code caches, and check it runs
            done = subprocess.run(command, capture_output=True, env=env, check=False)
            if done.returncode not in (0, 1):
                raise SystemExit(f"{name} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
        for _ in range(args.runs):
            for name, command in commands.items():
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                subprocess.run(command, capture_output=True, env=env, check=False)
                times[name].append(time.perf_counter() - start)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)

    wall = {name: statistics.median(values) for name, values in times.items()}
    used = {name: statistics.median(values) for name, values in cpu.items()}
    size = data.stat().st_size
    print(f"data: {data} ({size / 1000:.0f} kB); diff: {how}")
    print(f"{args.runs} runs each, interleaved; medians per fresh process (ratio to check-jsonschema):")
    print(f"  {'command':<36} {'wall ms':>8} {'ratio':>6}   {'CPU ms':>8} {'ratio':>6}")
    for name in commands:
        goal = "   goal <= 0.50x wall" if name.startswith("trade-calendar") else ""
        print(
            f"  {name:<36} {wall[name] * 1000:8.1f} {wall[name] / wall['check-jsonschema']:5.2f}x"
            f"   {used[name] * 1000:8.1f} {used[name] / used['check-jsonschema']:5.2f}x{goal}"
        )


if __name__ == "__main__":
    main()
