#!/usr/bin/env python3
"""The README's two commands, needing nothing but Python 3.11+: `python3 dev.py serve|test`.

Each creates `.venv` on first use (and again when pyproject.toml changes), installs the project into
it, and then runs the service or the whole check suite (ruff, mypy, pytest). Standard library only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed"
POSTGRES_ENV = "TRADE_CALENDAR_TEST_POSTGRES_URL"  # CI's server; unset, the suite runs its own cluster
# Debian packages some tests drive for real (skipped with a reason when missing): the browser test and
# the edge-cache test. Installed with apt when we may; browsers are never downloaded.
SYSTEM_PACKAGES = {"chromium": Path("/usr/bin/chromium"), "nginx": Path("/usr/sbin/nginx")}


def say(message: str) -> None:
    """Progress on stderr, so `serve` output stays clean."""
    print(f"dev.py: {message}", file=sys.stderr, flush=True)


def run(*args: str | Path, check: bool = True) -> int:
    """Run a command from the project root; stop with its exit code when it fails and `check`."""
    code = subprocess.call([str(a) for a in args], cwd=ROOT)
    if check and code != 0:
        raise SystemExit(code)
    return code


def ensure_venv(extras: str) -> None:
    """Create .venv and install the project (with `extras`) unless that is already done."""
    if sys.version_info < (3, 11):  # noqa: UP036 - the point is to say so on an older Python
        raise SystemExit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    version = str((ROOT / "pyproject.toml").stat().st_mtime_ns)
    if STAMP.exists():
        done_extras, _, done_version = STAMP.read_text().partition(":")
        if done_version == version and extras in ("", done_extras):
            return
    if not (BIN / "python").exists():
        say(f"creating {VENV.name} with {sys.executable}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    say("installing the project and its dependencies (first run only)")
    run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    target = f".[{extras}]" if extras else "."
    run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", target)
    STAMP.write_text(f"{extras}:{version}")


def ensure_system_packages() -> None:
    """Install the Debian packages tests use when we may (root with apt); otherwise say what will skip."""
    missing = [name for name, path in SYSTEM_PACKAGES.items() if not path.exists()]
    if not missing:
        return
    # No recommends: nginx and chromium are what the tests drive, not the dozens of packages Debian suggests.
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing]
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        say(
            f"{' and '.join(missing)} not installed: the tests that drive them will be skipped "
            f"(install with `sudo {' '.join(install)}`)"
        )
        return
    say(f"installing Debian's {' and '.join(missing)} for the tests that drive them")
    error = apt(install)
    if error is not None:
        error = apt(["apt-get", "update", "-qq"]) or apt(install)  # a stale package list is the usual cause
    if error is not None:
        say(f"could not install {' '.join(missing)}: the tests that need them will be skipped.\n{error}")


def apt(command: list[str]) -> str | None:
    """Run an apt-get command quietly; None when it worked, else what it said (its last lines)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`{' '.join(command)}` failed: {exc}"
    if done.returncode == 0:
        return None
    said = (done.stderr.strip() or done.stdout.strip() or "(no output)").splitlines()[-15:]
    return f"`{' '.join(command)}` exited {done.returncode}:\n" + "\n".join(f"  {line}" for line in said)


def serve(args: list[str]) -> None:
    """Start the whole service on the bundled data (SQLite, one process)."""
    ensure_venv("")
    command = [str(BIN / "trade-calendar"), "serve", *args]
    os.chdir(ROOT)
    os.execv(command[0], command)


def test(args: list[str]) -> None:
    """Lint, type-check and run the whole test suite."""
    ensure_venv("dev")
    ensure_system_packages()
    run(BIN / "ruff", "check", "calendar_service", "tests", "bench", "dev.py")
    run(BIN / "mypy")
    if not os.environ.get(POSTGRES_ENV):
        say(
            f"{POSTGRES_ENV} is not set: the PostgreSQL tests start a throwaway cluster of their own "
            "(tests/support/pgcluster.py), or skip saying why; the end of the run says which"
        )
    run(BIN / "python", "-m", "pytest", *args)


def main() -> None:
    """Dispatch `serve` or `test`; extra arguments go to `trade-calendar serve` or pytest."""
    commands = {"serve": serve, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        raise SystemExit("usage: python3 dev.py serve [--host H --port P] | test [pytest args]")
    commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
