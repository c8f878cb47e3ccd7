"""The `.expected` file beside each data case: the exit code it demands and the lines it must print."""

from __future__ import annotations

from pathlib import Path


def expectations(case: Path) -> tuple[int | None, list[str]]:
    """The exit code the case demands (None: decided by severity) and its expected lines."""
    lines = case.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    code = None
    if lines and lines[0].startswith("exit:"):
        code = int(lines.pop(0).removeprefix("exit:"))
    return code, [line for line in lines if line.strip()]
