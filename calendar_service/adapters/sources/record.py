"""`--record DIR`: keep every answer read, so a first run on a connected machine yields test fixtures.

Each answer is two files named by a hash of its URL: `<key>.body` (the bytes as read, inflated) and
`<key>.json` (URL, status, headers); `index.jsonl` lists them in the order read. A replay server
(tests/sources/replay.py) serves such a folder back.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from pathlib import Path

# Headers worth replaying; cookies and the like are never written down.
KEPT_HEADERS = ("Content-Type", "ETag", "Last-Modified", "Location", "Content-Language")


class Recorder:
    """Write each response under `folder`; safe to call from several coroutines and threads."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def save(self, url: str, status: int, headers: Mapping[str, str], body: bytes) -> Path:
        """Record one answer; return the path of its body."""
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:20]
        kept = {name: headers[name] for name in KEPT_HEADERS if name in headers}
        meta = {"url": url, "status": status, "headers": kept, "body": f"{key}.body"}
        body_path = self.folder / f"{key}.body"
        with self._lock:
            body_path.write_bytes(body)
            (self.folder / f"{key}.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
            with (self.folder / "index.jsonl").open("a", encoding="utf-8") as index:
                index.write(json.dumps(meta) + "\n")
        return body_path
