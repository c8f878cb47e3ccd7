"""Confirming a version of the data file for publication: the use case behind `trade-calendar publish`.

The server holds a valid edit that would remove or cancel many events (`core.guard`) until a curator
confirms it. The curator's command runs in its own process: it reads the file as the server does,
validates it, and records the content's hash in the database, where every server process looks.
"""

from __future__ import annotations

import getpass
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from calendar_service.adapters.datafile_reader import read_event_file
from calendar_service.adapters.db import confirmations
from calendar_service.core.datafile import parse_calendar

if TYPE_CHECKING:
    from calendar_service.services import Services


@dataclass(frozen=True)
class FileVersion:
    """The data file's content as the server would see it, and whether it is confirmed."""

    path: str
    version: str  # the calendar's content version (what /healthz calls data_version)
    digest: str  # sha256 of the bytes: what a confirmation names
    events: int
    confirmed: bool


def file_version(services: Services) -> FileVersion:
    """Read and validate the data file (StoreUnreadable, StoreInvalid) and say whether it is confirmed."""
    settings = services.settings
    raw, _ = read_event_file(settings.data_path, settings.max_data_bytes)
    calendar = parse_calendar(raw, str(settings.data_path), today=services.clock.now().date()).calendar
    digest = hashlib.sha256(raw).hexdigest()
    confirmed = confirmations.is_confirmed(services.engine, digest)
    return FileVersion(str(settings.data_path), calendar.version, digest, len(calendar), confirmed)


def confirm_file(services: Services) -> FileVersion:
    """Validate the data file and record its content as confirmed: servers publish it whatever it removes."""
    found = file_version(services)
    if not found.confirmed:
        confirmations.confirm(services.engine, found.digest, now=services.clock.now(), by=_who())
    return found


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a container: the record still says when
        return "unknown"
