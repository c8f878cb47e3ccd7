"""Reading an event file safely, and saying why checking one failed when it was not the file's fault.

Both the server and `validate` read through `read_event_file`: only a regular file, at most
`max_bytes` of it (whatever sits at the path — a FIFO, a device, a file growing while it is read —
costs bounded time and memory), and `describe_failure` turns an exception that is not a validation
finding into the sentence both show instead of a traceback.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from stat import S_ISREG

from calendar_service.adapters.settings import Settings
from calendar_service.core.errors import StoreUnreadable

DEFAULT_MAX_DATA_BYTES: int = Settings.max_data_bytes  # TRADE_CALENDAR_MAX_DATA_BYTES

_NOT_REGULAR = "not a regular file (a directory, FIFO or device) — the event file must be a plain file"
Fingerprint = tuple[int, int, int]  # (mtime_ns, size, inode): cheap to compare on every check


def read_event_file(path: str | Path, max_bytes: int = DEFAULT_MAX_DATA_BYTES) -> tuple[bytes, Fingerprint]:
    """The bytes of the regular file at `path` and its fingerprint; StoreUnreadable otherwise.

    O_NONBLOCK: a FIFO put in the file's place must not hang the reader waiting for a writer.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as handle:
            stat = os.fstat(fd)
            if not S_ISREG(stat.st_mode):
                raise StoreUnreadable(str(path), _NOT_REGULAR)
            if stat.st_size > max_bytes:
                raise StoreUnreadable(str(path), _too_large(f"{stat.st_size:,}", max_bytes))
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        if isinstance(exc, StoreUnreadable):
            raise
        raise StoreUnreadable(str(path), exc.strerror or str(exc)) from exc
    if len(raw) > max_bytes:  # it grew after the stat
        raise StoreUnreadable(str(path), _too_large("more", max_bytes))
    return raw, (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def _too_large(size: str, limit: int) -> str:
    return (
        f"the file has {size} bytes, more than the limit of {limit:,} — split it or remove old events, "
        "or raise TRADE_CALENDAR_MAX_DATA_BYTES"
    )


def describe_failure(exc: BaseException) -> str:
    """What went wrong while checking a file, for an exception that is not a finding about it."""
    if isinstance(exc, MemoryError):
        return "checking the file ran out of memory"
    if isinstance(exc, RecursionError):
        return "checking the file ran out of stack (something is nested or chained too deeply)"
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"checking the file failed unexpectedly ({type(exc).__name__}: {first}) — please report this"


_gc_pauses = 0  # parses under way that paused the collector (reloads may overlap: see `live`)
_gc_was_enabled = False  # whether the first of them found it enabled
_gc_lock = threading.Lock()


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a file is parsed, then restore it.

    Parsing builds tens of thousands of small acyclic objects that reference counting frees anyway;
    the collector's passes over them cost about a tenth of a `validate` or `diff` run (bench_curate),
    and 3.5x the parse itself in a server holding a large calendar (issue 21). Counted, so two
    overlapping parses in two threads restore it once, when the last one ends.
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def _libc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
        return trim
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to give back this way
        return None


_malloc_trim = _libc_trim()


def release_freed_memory() -> None:
    """Give the C heap's free pages back to the system after a version was replaced (glibc only).

    What a parse frees lies between the objects the new version keeps, so glibc would hold those
    pages for good: the process would keep a reload's peak as its size.
    """
    if _malloc_trim is not None:
        _malloc_trim(0)
