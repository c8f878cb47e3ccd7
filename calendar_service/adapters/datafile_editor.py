"""Edit the events file as a curator would: keep every comment, quote and line, change only the entry.

ruamel.yaml's round-trip mode (a maintained YAML 1.2 library that keeps comments, key order, quoting
and flow style) loads the file and renders the one entry that changes; that entry's lines are spliced
into the original text (an appended entry goes after the last event), so every other byte stays as
written and `git diff` shows the lines the edit touches and nothing else, even where ruamel would
re-spell a form it does not keep (by default it writes `[{title: X}]` as `[title: X]`; told not to).

Every edit is validated before it is written (the file must stay valid: an edit that would break it
is refused with the validator's first message), written to a temporary file and renamed over the old
one, and refused if the file changed on disk since it was read (another curator's edit is not lost).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from calendar_service.core.errors import EventNotFound, StoreInvalid, StoreUnreadable
from calendar_service.core.validation import validate_bytes

_DATE_KEYS = frozenset({"date", "end_date", "changed"})


def _yaml() -> Any:
    from ruamel.yaml import YAML  # loaded by the curation commands only

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long line
    yaml.brace_single_entry_mapping_in_flow_sequence = True  # keep `[{title: X}]` as written
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def roundtrip(raw: bytes) -> bytes:
    """Load and dump `raw` unchanged: the identity the editor relies on."""
    yaml = _yaml()
    out = io.StringIO()
    yaml.dump(yaml.load(raw.decode("utf-8-sig")), out)
    return out.getvalue().encode("utf-8")


def _plain(value: Any) -> Any:
    """JSON-ish proposal data as YAML values: ISO date strings under date keys become dates."""
    if isinstance(value, dict):
        return {k: (_as_date(v) if k in _DATE_KEYS else _plain(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _as_date(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    return value


def edit_file(path: Path, change: Callable[[Any], int | None], today: dt.date) -> bytes:
    """Apply `change` to the loaded document (it returns the index of the event it edited, or None
    when it appended one), splice that event's lines into the file, validate, and replace the file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise StoreUnreadable(str(path), exc.strerror or str(exc)) from None
    text = raw.decode("utf-8-sig")
    yaml = _yaml()
    document = yaml.load(text)
    events = document["events"]
    lines = text.splitlines(keepends=True)
    ends = _event_ends(document, len(lines))
    index = change(document)
    if index is None:  # appended: after the last event (or after `events:` when there is none)
        start = end = ends[-1] if ends else document.lc.key("events")[0] + 1
        index = len(events) - 1
    else:
        start, end = events.lc.item(index)[0], ends[index]
    block = _render(yaml, events[index])
    if lines and not lines[-1].endswith("\n") and end >= len(lines):
        lines[-1] += "\n"
    new = "".join([*lines[:start], block, *lines[end:]]).encode("utf-8")
    outcome = validate_bytes(new, str(path), today=today)
    if outcome.errors:
        raise StoreInvalid(str(path), outcome.errors)
    if path.read_bytes() != raw:
        raise StoreUnreadable(str(path), "the file changed while it was being edited; run the command again")
    _replace(path, new)
    return new


def _event_ends(document: Any, total: int) -> list[int]:
    """The line (0-based, exclusive) where each event's text ends: the next event, the next top-level
    key after `events:`, or the end of the file. Blank lines and comments before the next event stay
    with the next one."""
    events = document["events"]
    starts = [events.lc.item(i)[0] for i in range(len(events))]
    keys = list(document.keys())
    after = [document.lc.key(k)[0] for k in keys[keys.index("events") + 1 :]]
    limit = min(after) if after else total
    return [*starts[1:], limit][: len(starts)]


def _render(yaml: Any, event: Any) -> str:
    """One event as the lines of an item under `events:` (indented as the events file is)."""
    out = io.StringIO()
    yaml.dump({"events": [event]}, out)
    rendered = out.getvalue().split("\n", 1)[1]
    return rendered if rendered.endswith("\n") else rendered + "\n"


def _replace(path: Path, new: bytes) -> None:
    """Write `new` to a temporary file beside `path` and rename it over `path` (atomic)."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(new)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def append_event(path: Path, entry: dict[str, Any], today: dt.date) -> bytes:
    """Append `entry` to `events:`."""

    def change(document: Any) -> None:
        document["events"].append(_plain(entry))
        return None

    return edit_file(path, change, today)


def _find(document: Any, event_id: str) -> tuple[int, Any]:
    for index, item in enumerate(document.get("events") or []):
        if isinstance(item, dict) and item.get("id") == event_id:
            return index, item
    raise EventNotFound(event_id)


def set_verified(path: Path, event_id: str, day: dt.date) -> bytes:
    """Set the event's `verified:` to `day` (added before `sources:` when it has none)."""

    def change(document: Any) -> int:
        index, event = _find(document, event_id)
        if "verified" in event:
            event["verified"] = day
        else:
            keys = list(event.keys())
            position = keys.index("sources") if "sources" in keys else len(keys)
            event.insert(position, "verified", day)
        return index

    return edit_file(path, change, day)


def move_event(
    path: Path, event_id: str, new_date: str, source: dict[str, Any], note: str, today: dt.date
) -> bytes:
    """Move a whole-day event to `new_date`, recording the old date in `history:` with its source."""

    def change(document: Any) -> int:
        index, event = _find(document, event_id)
        was = event.get("date")
        record = {
            "changed": today,
            "kind": "rescheduled",
            "was": {"date": was},
            "note": note,
            "source": source,
        }
        event["date"] = _as_date(new_date)
        history = event.get("history")
        if history is None:
            keys = list(event.keys())
            position = keys.index("sources") if "sources" in keys else len(keys)
            event.insert(position, "history", [_plain(record)])
        else:
            history.append(_plain(record))
        return index

    return edit_file(path, change, today)
