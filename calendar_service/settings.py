"""One typed settings object, read from `TRADE_CALENDAR_*` environment variables and checked once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError

PREFIX = "TRADE_CALENDAR_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Settings:
    """Everything the service can be told; each field is `TRADE_CALENDAR_<NAME>` in the environment."""

    data_path: Path = Path("data/events.yaml")
    database_url: str = ""  # empty: a SQLite file under state_dir
    state_dir: Path = Path("instance")
    base_url: str = ""  # public https address, used for feed links on the home page; empty: from the request
    admin_tokens: tuple[str, ...] = field(default=(), repr=False)  # never printed: repr hides it
    allow_private_webhooks: bool = False
    reload_interval: float = 2.0  # seconds between checks of the data file
    feed_refresh: str = "PT1H"  # REFRESH-INTERVAL / X-PUBLISHED-TTL advertised to calendar clients
    cancelled_retention_days: int = 60  # how long a removed event stays in feeds as CANCELLED
    webhook_timeout: float = 10.0  # seconds for one delivery attempt, connect to last byte
    max_body_bytes: int = 64 * 1024
    max_data_bytes: int = 8 * 1024 * 1024  # a larger event file is refused, so checking it stays bounded
    log_level: str = "INFO"

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the embedded SQLite default."""
        return self.database_url or f"sqlite:///{(self.state_dir / 'trade-calendar.sqlite3').as_posix()}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then the environment, then explicit overrides; ConfigError on a bad value."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = PREFIX + f.name.upper()
            if name in env:
                values[f.name] = _convert(name, f.type, env[name])
        settings = replace(cls(), **values)
        settings = replace(settings, **overrides)
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse values that cannot work; say which variable to fix."""
        if any(not token or len(token) < 16 for token in self.admin_tokens):
            raise ConfigError(
                PREFIX + "ADMIN_TOKENS",
                "every admin token must be at least 16 characters (generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)",
            )
        if self.reload_interval <= 0:
            raise ConfigError(PREFIX + "RELOAD_INTERVAL", "must be a positive number of seconds")
        if self.max_data_bytes <= 0:
            raise ConfigError(PREFIX + "MAX_DATA_BYTES", "must be a positive number of bytes")
        if self.max_body_bytes <= 0:
            raise ConfigError(PREFIX + "MAX_BODY_BYTES", "must be a positive number of bytes")


def _convert(name: str, kind: Any, raw: str) -> Any:
    kind = str(kind)
    try:
        if kind == "bool":
            lowered = raw.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "Path":
            return Path(raw)
        if kind.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        return raw
    except ValueError:
        raise ConfigError(
            name, f"{'true or false' if kind == 'bool' else kind} expected, got an invalid value"
        ) from None
