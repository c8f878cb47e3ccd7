"""Reading a served feed as text: one VEVENT, one property; editing the data file in place."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.paths import replace_file


def vevent(body: str, uid: str) -> str:
    """The VEVENT block of `uid` in an unfolded feed."""
    unfolded = body.replace("\r\n ", "")
    for block in re.findall(r"BEGIN:VEVENT\r\n.*?END:VEVENT", unfolded, flags=re.S):
        if re.search(rf"^UID:{re.escape(uid)}(@[^\r]*)?\r$", block, flags=re.M):
            return str(block)
    raise AssertionError(f"no VEVENT {uid}")


def prop(block: str, name: str) -> str:
    """The first value of property `name` in a block."""
    match = re.search(rf"^{name}[;:](.*)$", block, flags=re.M)
    assert match, f"no {name} in {block}"
    return match.group(1).strip()


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first `old` in the file at `path` with `new` (it must be there), the file whole."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    replace_file(path, text.replace(old, new, 1))
