"""Run the test suite N times in a row while other processes keep every core busy; print what failed.

    .venv/bin/python bench/stress_suite.py --runs 10            # the whole suite, ten times
    .venv/bin/python bench/stress_suite.py --runs 3 -- tests/worker -q

The promise it checks (issue 7): the suite passes ten runs in a row under a second process loading both
cores. The hogs are plain busy loops at the suite's own priority, one per core unless `--hogs` says
otherwise; they are started before the first run and stopped after the last (also on Ctrl-C). Each run
is bounded by `--run-timeout`. Prints one line per run (exit code, seconds, pytest's summary, the
failed tests, and where the output of a failed run was kept) and a total; exits 1 if any run failed.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOG = "while True: pass"
FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.M)


def start_hogs(count: int) -> list[subprocess.Popen[bytes]]:
    """`count` busy-loop processes."""
    return [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(count)]


def stop_hogs(hogs: list[subprocess.Popen[bytes]]) -> None:
    """Stop the hogs started by `start_hogs` (and only those)."""
    for hog in hogs:
        hog.kill()
    for hog in hogs:
        hog.wait(timeout=10)


def run_suite(pytest_args: list[str], timeout: float, output: Path) -> tuple[int, float, str, list[str]]:
    """One pytest run, its output written to `output`: exit code, seconds, summary line, failed test ids."""
    started = time.monotonic()
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rfE", *pytest_args]
    with output.open("w", encoding="utf-8") as out:
        # A session of its own: stopping the run reaches the servers and clusters the tests started.
        run = subprocess.Popen(
            command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            code = run.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = -1
        finally:
            if run.poll() is None:
                interrupt(run)
    seconds = time.monotonic() - started
    text = output.read_text(encoding="utf-8", errors="replace")
    lines = [line for line in text.splitlines() if line.strip()]
    summary = f"timed out after {timeout:.0f} s" if code == -1 else (lines[-1].strip("= ") if lines else "")
    return code, seconds, summary, sorted(set(FAILED.findall(text)))


def interrupt(run: subprocess.Popen[bytes]) -> None:
    """Ctrl-C to a pytest run's session (its fixtures tear down), then SIGKILL if it lingers."""
    os.killpg(run.pid, signal.SIGINT)
    try:
        run.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=10)


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # the `finally` blocks stop the run and the hogs


def main() -> None:
    """Parse the options, start the hogs, run the suite N times, report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="runs in a row (default 10)")
    cores = os.cpu_count() or 2
    parser.add_argument("--hogs", type=int, default=cores, help="busy processes (default: 1 per core)")
    parser.add_argument("--run-timeout", type=float, default=1800, help="seconds one run may take")
    parser.add_argument("pytest_args", nargs="*", help="after --: arguments for pytest (default: the suite)")
    options = parser.parse_args()
    # Started in the background, a process ignores SIGINT; stop cleanly on it and on SIGTERM all the same.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    print(
        f"{options.runs} run(s) of pytest {' '.join(options.pytest_args) or '(whole suite)'} "
        f"with {options.hogs} busy process(es) on {os.cpu_count()} core(s)",
        flush=True,
    )
    logs = Path(tempfile.mkdtemp(prefix="stress-suite-"))
    hogs = start_hogs(options.hogs)
    results: list[tuple[int, float, list[str]]] = []
    try:
        for number in range(1, options.runs + 1):
            output = logs / f"run-{number}.log"
            code, seconds, summary, failed = run_suite(options.pytest_args, options.run_timeout, output)
            results.append((code, seconds, failed))
            print(f"run {number}: exit {code} in {seconds:.0f} s — {summary}", flush=True)
            for test in failed:
                print(f"    failed: {test}", flush=True)
            if code == 0:
                output.unlink()
            else:
                print(f"    output: {output}", flush=True)
    except KeyboardInterrupt:
        print(f"interrupted after {len(results)} complete run(s)", flush=True)
        raise SystemExit(130) from None
    finally:
        stop_hogs(hogs)
    passed = sum(1 for code, _, _ in results if code == 0)
    times = sorted(seconds for _, seconds, _ in results)
    median = times[len(times) // 2] if times else 0.0
    print(f"{passed} of {len(results)} run(s) passed under load; median {median:.0f} s per run")
    raise SystemExit(0 if passed == len(results) else 1)


if __name__ == "__main__":
    main()
