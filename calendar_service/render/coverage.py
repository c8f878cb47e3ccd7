"""A `Coverage` as a terminal table, as JSON, and as Markdown (for a README or a pull request)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from calendar_service.core.coverage import Coverage, CoverageRow
from calendar_service.core.diff import when_text
from calendar_service.core.timing import utc_text

NONE = "—"
_HEADERS = ("", "events", "next dated step", "status", "last verified", "unconfirmed")


def coverage_table(coverage: Coverage) -> str:
    """Two aligned plain-text tables, actions then authorities, each with a line counting the gaps."""
    parts = [f"Coverage as of {utc_text(coverage.now)}", ""]
    for heading, rows in (("By action", coverage.actions), ("By authority", coverage.authorities)):
        cells = [_cells(row) for row in rows]
        header = (heading, *_HEADERS[1:])
        widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]
        parts.extend(_aligned(line, widths) for line in [header, *cells])
        parts.append(_gaps_line(rows))
        parts.append("")
    return "\n".join(parts)


def _aligned(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(text.ljust(width) for text, width in zip(cells, widths, strict=True)).rstrip()


def coverage_markdown(coverage: Coverage) -> str:
    """The same two tables in GitHub Markdown, the next step's id in code so it can be searched."""
    parts = [f"Coverage as of {utc_text(coverage.now)}.", ""]
    for heading, rows in (("By action", coverage.actions), ("By authority", coverage.authorities)):
        parts.append(f"#### {heading}")
        parts.append("")
        parts.append("| " + " | ".join((heading.split()[-1], *_HEADERS[1:])) + " |")
        parts.append("|" + "---|" * len(_HEADERS))
        parts.extend("| " + " | ".join(_cells(row, markdown=True)) + " |" for row in rows)
        parts.append("")
        parts.append(_gaps_line(rows))
        parts.append("")
    return "\n".join(parts)


def coverage_to_dict(coverage: Coverage) -> dict[str, Any]:
    """JSON-ready: `now`, and for actions and authorities each row with its next step (or null)."""
    return {
        "now": utc_text(coverage.now),
        "actions": [_row_dict(row) for row in coverage.actions],
        "authorities": [_row_dict(row) for row in coverage.authorities],
    }


def _row_dict(row: CoverageRow) -> dict[str, Any]:
    step = row.next_step
    return {
        "key": row.key,
        "title": row.title,
        "events": row.events,
        "next_step": None
        if step is None
        else {
            "id": step.event.id,
            "title": step.event.title,
            "when": when_text(step.event),
            "at": utc_text(step.at),
            "status": step.event.status.value,
            "precision": step.event.precision.value,
            "verified": step.event.verified.isoformat() if step.event.verified else None,
        },
        "last_verified": row.last_verified.isoformat() if row.last_verified else None,
        "unconfirmed": row.unconfirmed,
    }


def _cells(row: CoverageRow, *, markdown: bool = False) -> tuple[str, ...]:
    step = row.next_step
    if step is None:
        when, status = NONE, NONE
    else:
        event_id = f"`{step.event.id}`" if markdown else step.event.id
        when = f"{when_text(step.event)} {event_id}"
        status = step.event.status.value
        if step.event.precision.value in ("approximate", "tba"):
            status += f" ({step.event.precision.value})"
    return (
        row.key,
        str(row.events),
        when,
        status,
        row.last_verified.isoformat() if row.last_verified else NONE,
        str(row.unconfirmed) if row.unconfirmed else "",
    )


def _gaps_line(rows: Sequence[CoverageRow]) -> str:
    empty = [row.key for row in rows if row.next_step is None]
    unconfirmed = sum(row.unconfirmed for row in rows)
    text = f"{len(rows) - len(empty)} of {len(rows)} with a dated next step"
    if unconfirmed:
        text += f"; {unconfirmed} past event(s) whose outcome no source confirms"
    return text + "."
