"""GitHub Actions workflow commands (`::error file=…,line=…,col=…::message`) for validation findings.

The runner reads these lines from a step's output and shows each message on its line of the pull
request's diff. Escaping follows the workflow-commands spec (as the actions/toolkit `command.ts` does):
in the message `%`, CR and LF; in a property value also `:` and `,`, which would otherwise end it.
"""

from __future__ import annotations

from typing import Literal


def escape_data(text: str) -> str:
    """Escape a command's message."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value (file name, title)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotation(
    severity: Literal["error", "warning", "notice"],
    message: str,
    *,
    file: str,
    line: int | None = None,
    col: int | None = None,
) -> str:
    """One annotation line; `line`/`col` are 1-based and left out when unknown."""
    props = [f"file={escape_property(file)}"]
    if line:
        props.append(f"line={line}")
    if col:
        props.append(f"col={col}")
    return f"::{severity} {','.join(props)}::{escape_data(message)}"
