"""Where validation collects what it finds, each finding placed at a path in the file."""

from __future__ import annotations

from dataclasses import dataclass, field

from calendar_service.core.problems import Problem, Severity
from calendar_service.core.yamlsource import Locations, PathKey


@dataclass
class Findings:
    """The problems found so far in one file, located through the YAML source positions."""

    path: str
    locations: Locations = field(default_factory=Locations)
    problems: list[Problem] = field(default_factory=list)

    def report(
        self, where: PathKey, message: str, severity: Severity = "error", *, key: bool = False
    ) -> None:
        """Record a problem at `where` (at its key rather than its value when `key`)."""
        line, col = self.locations.of(where, key=key)
        self.problems.append(Problem(self.path, line, col, severity, message))

    def warn(self, where: PathKey, message: str, *, key: bool = False) -> None:
        """Record a warning: worth a look, but it does not block publishing."""
        self.report(where, message, "warning", key=key)

    def has_errors(self) -> bool:
        """Whether any problem so far blocks publishing."""
        return any(p.is_error for p in self.problems)
