"""What every command does first: read the settings and, when it needs them, build the service's parts.

A bad setting or an unreachable database stops the command at once with one line naming the variable
and what it accepts, exit code 2 (Click's code for "called wrongly"), never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from calendar_service.adapters.settings import Settings
from calendar_service.core.errors import ConfigError, DatabaseUnreachable

if TYPE_CHECKING:
    from calendar_service.services import Services


class StartupRefused(click.ClickException):
    """The configuration cannot work; Click prints `Error: <message>` and exits 2."""

    exit_code = 2


@contextmanager
def refusing_bad_settings() -> Iterator[None]:
    """Turn a configuration error raised inside into a one-line exit 2."""
    try:
        yield
    except (ConfigError, DatabaseUnreachable) as exc:
        raise StartupRefused(str(exc)) from None


def load_settings(**overrides: Any) -> Settings:
    """`Settings.from_env(**overrides)` (None overrides are left out), refused in one line when bad."""
    with refusing_bad_settings():
        return Settings.from_env(**{name: value for name, value in overrides.items() if value is not None})


def open_services(settings: Settings, **parts: Any) -> Services:
    """`build_services(settings, **parts)`, refused in one line when the database cannot be used."""
    from calendar_service.services import build_services

    with refusing_bad_settings():
        return build_services(settings, **parts)
