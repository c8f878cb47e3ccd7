"""The `actions:` list: each action's shape, and the links between actions and the events that name them.

An event's `action:` must name an action under `actions:` (an error: feeds and pages would link to
nothing), and an action no event names is reported as a warning (it publishes nothing, so it is most
likely a leftover or a misspelt id).
"""

from __future__ import annotations

import difflib
from typing import Any

from calendar_service.core import model
from calendar_service.core.validation.findings import Findings
from calendar_service.core.validation.structure import check_model


def check_actions(found: Findings, data: dict[str, Any]) -> list[tuple[int, model.Action]]:
    """(index, model) of every entry under `actions:` that fits the model; the others are reported."""
    raw = data.get("actions")
    if raw is None:
        return []
    if not isinstance(raw, list):
        found.report(("actions",), "`actions:` must be a list; start each action with `- id: ...`")
        return []
    out: list[tuple[int, model.Action]] = []
    first: dict[str, int] = {}
    for index, item in enumerate(raw):
        parsed = check_model(found, model.Action, item, ("actions", index))
        if parsed is None:
            continue
        if parsed.id in first:
            line = found.locations.of(("actions", first[parsed.id], "id"))[0]
            found.report(
                ("actions", index, "id"),
                f"duplicate action id {parsed.id!r} (first at line {line}) — merge the two or rename one",
            )
            continue
        first[parsed.id] = index
        out.append((index, parsed))
    return out


def raw_action_ids(data: dict[str, Any]) -> set[str]:
    """The text ids of every entry under `actions:`, valid or not (so one typo does not cascade)."""
    raw = data.get("actions")
    if not isinstance(raw, list):
        return set()
    return {item["id"] for item in raw if isinstance(item, dict) and isinstance(item.get("id"), str)}


def check_action_references(
    found: Findings,
    actions: list[tuple[int, model.Action]],
    events: list[tuple[int, model.Event]],
    known: set[str],
) -> None:
    """Every `action:` names a known action; every action is named by at least one event."""
    used: set[str] = set()
    for index, event in events:
        if event.action is None:
            continue
        used.add(event.action)
        if event.action not in known:
            close = difflib.get_close_matches(event.action, sorted(known), n=1)
            hint = f"did you mean {close[0]!r}? Otherwise add" if close else "add"
            found.report(
                ("events", index, "action"),
                f"no action with id {event.action!r} under `actions:` — {hint} it there (id, title, sources)",
            )
    for index, action in actions:
        if action.id not in used:
            found.warn(
                ("actions", index, "id"),
                f"no event names action {action.id!r} — set `action: {action.id}` on its events, or "
                "remove it",
            )
