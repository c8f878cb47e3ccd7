"""Validation findings with their place in the file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One finding: `path:line:col: severity: message`."""

    path: str
    line: int
    column: int
    severity: Severity
    message: str

    def format(self) -> str:
        """Render as compilers do, so editors and CI annotate the line."""
        return f"{self.path}:{self.line}:{self.column}: {self.severity}: {self.message}"

    @property
    def is_error(self) -> bool:
        """Whether this problem stops the file from being used."""
        return self.severity == "error"
