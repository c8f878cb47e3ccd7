"""Compiled templates kept for every app the test process builds.

Each Flask app has its own Jinja environment, which compiles a template the first time it renders
it: ~25 ms of CPU for a page's templates, paid again by each of the hundreds of apps the suite builds.
The compiled code is a function of the template's source alone, and Jinja checks a checksum of the
source before using a kept compilation, so sharing it shares no state between apps or tests. (A
served process builds one app: there the per-app compilation is already paid once.)
"""

from __future__ import annotations

import threading

import flask
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket


class SharedBytecode(BytecodeCache):
    """Jinja bytecode kept in memory, by template name and file, for every environment in the process."""

    def __init__(self) -> None:
        self._kept: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: Bucket) -> None:
        with self._lock:
            code = self._kept.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)  # ignored by Jinja if the source's checksum differs

    def dump_bytecode(self, bucket: Bucket) -> None:
        code = bucket.bytecode_to_string()
        with self._lock:
            self._kept[bucket.key] = code


def share_compiled_templates() -> None:
    """Have every Flask app made from now on in this process use one `SharedBytecode`."""
    flask.Flask.jinja_options = {**flask.Flask.jinja_options, "bytecode_cache": SharedBytecode()}
