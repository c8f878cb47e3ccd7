"""A `CalendarDiff` as a terminal table, as JSON, and as Markdown a reviewer pastes into a pull request."""

from __future__ import annotations

from typing import Any

from calendar_service.core.calendar import Event
from calendar_service.core.diff import (
    CalendarDiff,
    EventChange,
    FieldChange,
    field_lines,
    shift_text,
    when_text,
)


def summary_text(diff: CalendarDiff) -> str:
    """'2 added, 1 removed, 3 changed (1 moved, 1 re-statused, 2 re-sourced)'."""
    counts = diff.counts()
    text = f"{counts['added']} added, {counts['removed']} removed, {counts['changed']} changed"
    detail = [
        f"{counts[key]} {label}"
        for key, label in (("moved", "moved"), ("restatused", "re-statused"), ("resourced", "re-sourced"))
        if counts[key]
    ]
    if diff.calendar:
        detail.append(f"{len(diff.calendar)} calendar field(s)")
    return text + (f" ({', '.join(detail)})" if detail else "")


def _move_lines(change: EventChange) -> list[str]:
    move = change.moved
    if move is None:
        return []
    shift = f" ({shift_text(move.shift)})" if move.shift else ""
    lines = [f"{move.old} → {move.new}{shift}"] if move.old != move.new else []
    if move.old_deadline != move.new_deadline:
        lines.append(f"deadline {move.old_deadline} → {move.new_deadline}")
    return lines or ["same local time, new instant (zone rules)"]


def _change_rows(change: EventChange) -> list[tuple[str, str]]:
    """(label, text) rows for one changed event, in the order a reviewer reads them."""
    rows = [("moved", line) for line in _move_lines(change)]
    if change.status is not None:
        rows.append(("status", f"{change.status.old} → {change.status.new}"))
    if change.sources is not None:
        rows += [("sources", f"+ {t}") for t in change.sources.added]
        rows += [("sources", f"- {t}") for t in change.sources.removed]
        if not (change.sources.added or change.sources.removed):
            rows.append(("sources", "reordered"))
    for field in change.fields:
        rows += [(field.field, line) for line in field_lines(field)]
    return rows


def render_table(diff: CalendarDiff, old_label: str, new_label: str) -> str:
    """Plain text for a terminal: one line per added or removed event, indented details per change."""
    if diff.is_empty:
        return f"No changes between {old_label} and {new_label}.\n"
    out = [f"--- {old_label}", f"+++ {new_label}"]
    width = max((len(e.id) for e in (*diff.added, *diff.removed)), default=0)
    for kind, events in (("added", diff.added), ("removed", diff.removed)):
        for event in events:
            when = f"{when_text(event)}  [{event.status.value}]"
            out.append(f"{kind:<8} {event.id:<{width}}  {when}  {event.title}")
    for change in diff.changed:
        out.append(f"changed  {change.id}  {change.title}")
        for label, text in _change_rows(change):
            out.append(f"    {label + ':':<12} {text}")
    for field in diff.calendar:
        for line in field_lines(field):
            out.append(f"{field.field}: {line}")
    out.append(summary_text(diff))
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell: pipes escaped, no line breaks."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _lines_cell(field: FieldChange) -> str:
    return "<br>".join(_cell(line) for line in field_lines(field))


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text else _cell(text)


def render_markdown(diff: CalendarDiff, old_label: str, new_label: str) -> str:
    """GitHub-flavoured Markdown: a summary line and one table per kind of change."""
    title = f"### Calendar changes: {_cell(old_label)} → {_cell(new_label)}"
    if diff.is_empty:
        return f"{title}\n\nNo changes.\n"
    out = [title, "", f"**{summary_text(diff)}**"]

    def table(heading: str, columns: list[str], rows: list[list[str]]) -> None:
        if not rows:
            return
        out.extend(["", f"#### {heading}", "", "| " + " | ".join(columns) + " |"])
        out.append("|" + "|".join("---" for _ in columns) + "|")
        out.extend("| " + " | ".join(row) + " |" for row in rows)

    def event_row(event: Event) -> list[str]:
        return [_code(event.id), _cell(event.title), _cell(when_text(event)), event.status.value]

    table("Added", ["id", "title", "when", "status"], [event_row(e) for e in diff.added])
    table("Removed", ["id", "title", "when", "status"], [event_row(e) for e in diff.removed])
    moved = [c for c in diff.changed if c.moved]
    table(
        "Moved",
        ["id", "title", "was", "now", "shift"],
        [
            [
                _code(c.id),
                _cell(c.title),
                _cell(c.moved.old if c.moved.old != c.moved.new else f"deadline {c.moved.old_deadline}"),
                _cell(c.moved.new if c.moved.old != c.moved.new else f"deadline {c.moved.new_deadline}"),
                shift_text(c.moved.shift) if c.moved.shift else "",
            ]
            for c in moved
            if c.moved is not None
        ],
    )
    table(
        "Status changed",
        ["id", "title", "was", "now"],
        [
            [_code(c.id), _cell(c.title), str(c.status.old), str(c.status.new)]
            for c in diff.changed
            if c.status is not None
        ],
    )
    table(
        "Sources changed",
        ["id", "added", "removed"],
        [
            [
                _code(c.id),
                "<br>".join(_cell(t) for t in c.sources.added),
                "<br>".join(_cell(t) for t in c.sources.removed),
            ]
            for c in diff.changed
            if c.sources is not None
        ],
    )
    table(
        "Other changes",
        ["id", "field", "change"],
        [[_code(c.id), f.field, _lines_cell(f)] for c in diff.changed for f in c.fields]
        + [["(calendar)", f.field, _lines_cell(f)] for f in diff.calendar],
    )
    return "\n".join(out) + "\n"


def diff_to_json(diff: CalendarDiff, old_label: str, new_label: str) -> dict[str, Any]:
    """The diff as JSON-ready data; times are the event's own local times, as in the table."""

    def event(e: Event) -> dict[str, Any]:
        return {"id": e.id, "title": e.title, "when": when_text(e), "status": e.status.value, "line": e.line}

    def change(c: EventChange) -> dict[str, Any]:
        out: dict[str, Any] = {"id": c.id, "title": c.title, "line": c.line}
        if c.moved is not None:
            out["moved"] = {
                "old": c.moved.old,
                "new": c.moved.new,
                "shift_seconds": int(c.moved.shift.total_seconds()) if c.moved.shift else None,
            }
            if c.moved.old_deadline != c.moved.new_deadline:
                out["moved"]["old_deadline"] = c.moved.old_deadline
                out["moved"]["new_deadline"] = c.moved.new_deadline
        if c.status is not None:
            out["status"] = {"old": c.status.old, "new": c.status.new}
        if c.sources is not None:
            out["sources"] = {"added": list(c.sources.added), "removed": list(c.sources.removed)}
        if c.fields:
            out["fields"] = {f.field: {"old": f.old, "new": f.new} for f in c.fields}
        return out

    return {
        "old": old_label,
        "new": new_label,
        "summary": diff.counts(),
        "added": [event(e) for e in diff.added],
        "removed": [event(e) for e in diff.removed],
        "changed": [change(c) for c in diff.changed],
        "calendar": {f.field: {"old": f.old, "new": f.new} for f in diff.calendar},
    }
