"""One typed settings object, read from `TRADE_CALENDAR_*` environment variables and checked once.

Every field says how its variable is read (`Rule.parse`, text to value) and which values work
(`Rule.allows`, with `Rule.allowed` saying so in words). A bad value is refused with one line naming
the variable and what is allowed, e.g. `TRADE_CALENDAR_WEBHOOK_TIMEOUT: must be a number of seconds
above 0 and at most 300; got '-1'`, whether it came from the environment or from code.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from calendar_service.core.errors import ConfigError
from calendar_service.core.timing import parse_duration

PREFIX = "TRADE_CALENDAR_"
DEFAULT_DATA_PATH = Path("data/events.yaml")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MIN_TOKEN_LENGTH = 16
MAX_WEBHOOK_TIMEOUT = 300.0  # seconds: a delivery thread held longer than this is a stuck pool
MAX_RETENTION_DAYS = 3650
_S = "a number of seconds above 0 and at most 600"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Rule:
    """How one setting is read from text and which values it accepts."""

    parse: Callable[[str], Any]
    allows: Callable[[Any], bool]
    allowed: str  # completes "must be …"
    env: str = ""  # the variable's name when it is not TRADE_CALENDAR_<FIELD>
    secret: bool = False  # never echo the value back


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(raw)


def _words(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _optional_path(raw: str) -> Path | None:
    return Path(raw) if raw else None


def _is_duration(value: Any) -> bool:
    try:
        return isinstance(value, str) and parse_duration(value).is_positive
    except ValueError:
        return False


def _number_in(low: float, high: float, *, low_open: bool) -> Callable[[Any], bool]:
    def allows(value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return False
        return (value > low if low_open else value >= low) and value <= high

    return allows


def _upper(raw: str) -> str:
    return raw.strip().upper()


def _rule(parse: Callable[[str], Any], allows: Callable[[Any], bool], allowed: str, **extra: Any) -> Any:
    return {"rule": Rule(parse, allows, allowed, **extra)}


@dataclass(frozen=True)
class Settings:
    """Everything the service can be told; each field is `TRADE_CALENDAR_<NAME>` in the environment."""

    data_path: Path = field(
        default=DEFAULT_DATA_PATH,
        metadata=_rule(Path, lambda v: isinstance(v, Path) and str(v) not in ("", "."), "a file path"),
    )
    database_url: str = field(  # empty: a SQLite file under state_dir
        default="", metadata=_rule(str, lambda v: isinstance(v, str), "an SQLAlchemy URL or empty")
    )
    state_dir: Path = field(
        default=Path("instance"), metadata=_rule(Path, lambda v: isinstance(v, Path), "a directory path")
    )
    # Public https address used for feed links on the home page; empty: from the request.
    base_url: str = field(
        default="",
        metadata=_rule(
            str,
            lambda v: isinstance(v, str) and (not v or v.startswith(("http://", "https://"))),
            "empty or an absolute http(s):// address",
        ),
    )
    admin_tokens: tuple[str, ...] = field(
        default=(),
        repr=False,  # never printed
        metadata=_rule(
            _words,
            lambda v: all(len(token) >= MIN_TOKEN_LENGTH for token in v),
            f"comma-separated tokens of at least {MIN_TOKEN_LENGTH} characters each (generate one with "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`)",
            secret=True,
        ),
    )
    allow_private_webhooks: bool = field(
        default=False, metadata=_rule(_bool, lambda v: isinstance(v, bool), "true or false")
    )
    reload_interval: float = field(  # seconds between checks of the data file
        default=2.0,
        metadata=_rule(float, _number_in(0, 86400, low_open=True), "a number of seconds above 0"),
    )
    feed_refresh: str = field(  # REFRESH-INTERVAL / X-PUBLISHED-TTL advertised to calendar clients
        default="PT1H",
        metadata=_rule(str.strip, _is_duration, "a positive ISO 8601 duration such as PT1H or P1D"),
    )
    cancelled_retention_days: int = field(  # how long a removed event stays in feeds as CANCELLED
        default=60,
        metadata=_rule(
            int,
            _number_in(0, MAX_RETENTION_DAYS, low_open=False),
            f"a whole number of days from 0 to {MAX_RETENTION_DAYS}",
        ),
    )
    webhook_timeout: float = field(  # seconds for one delivery attempt, connect to last byte
        default=10.0,
        metadata=_rule(
            float,
            _number_in(0, MAX_WEBHOOK_TIMEOUT, low_open=True),
            f"a number of seconds above 0 and at most {MAX_WEBHOOK_TIMEOUT:g}",
        ),
    )
    # Seconds a changed data file must be left alone (or have been last written) before it is read, so
    # a file being rewritten in place is never read half-way; 0 reads every change at once.
    reload_settle: float = field(
        default=1.0,
        metadata=_rule(float, _number_in(0, 3600, low_open=False), "a number of seconds from 0 to 3600"),
    )
    # A valid edit that would remove or cancel more than this share of the live events is held: not
    # served or announced until confirmed (`trade-calendar publish --confirm`) or left unchanged for
    # `hold_window`. 1 never holds.
    hold_share: float = field(
        default=0.2,
        metadata=_rule(float, _number_in(0, 1, low_open=True), "a share above 0 and at most 1, such as 0.2"),
    )
    hold_window: float = field(  # seconds a held version must stay unchanged to be published unconfirmed
        default=600.0,
        metadata=_rule(float, _number_in(0, 30 * 86400, low_open=True), "a number of seconds above 0"),
    )
    max_body_bytes: int = field(
        default=64 * 1024,
        metadata=_rule(int, _number_in(0, 2**31, low_open=True), "a whole number of bytes above 0"),
    )
    # The largest data file loaded; a bigger one is refused before it is parsed.
    max_data_bytes: int = field(
        default=8 * 1024 * 1024,
        metadata=_rule(int, _number_in(0, 2**40, low_open=True), "a whole number of bytes above 0"),
    )
    # The one-process server (`serve`): how long a request may take to arrive, how long a kept-alive
    # connection may idle, how many connections and request threads at once.
    request_timeout: float = field(default=15.0, metadata=_rule(float, _number_in(0, 600, low_open=True), _S))
    idle_timeout: float = field(default=15.0, metadata=_rule(float, _number_in(0, 600, low_open=True), _S))
    max_connections: int = field(
        default=2000,
        metadata=_rule(int, _number_in(1, 100_000, low_open=False), "a whole number from 1 to 100000"),
    )
    server_threads: int = field(
        default=8, metadata=_rule(int, _number_in(1, 256, low_open=False), "a whole number from 1 to 256")
    )
    # Host names the service answers to (a request naming another gets 400); empty: the base URL's host,
    # else any well-formed host. Feed links and the feed cache never use a host outside this list.
    allowed_hosts: tuple[str, ...] = field(
        default=(),
        metadata=_rule(
            lambda raw: tuple(w.lower() for w in _words(raw)),
            lambda v: isinstance(v, tuple) and all(isinstance(w, str) and w and "/" not in w for w in v),
            "comma-separated host names (with :port when not the default), e.g. calendar.example.org",
        ),
    )
    # The most subscriptions kept: each is planned on every data change, so an unbounded number is an
    # unbounded cost; creating one more is refused with 409.
    max_subscriptions: int = field(
        default=10_000,
        metadata=_rule(int, _number_in(0, 10**9, low_open=True), "a whole number above 0"),
    )
    log_level: str = field(
        default="INFO",
        metadata=_rule(_upper, lambda v: v in LOG_LEVELS, "one of " + ", ".join(LOG_LEVELS)),
    )
    # prometheus_client's multiprocess directory (read by the library itself too); None: each process alone.
    prometheus_multiproc_dir: Path | None = field(
        default=None,
        metadata=_rule(
            _optional_path,
            lambda v: v is None or (isinstance(v, Path) and v.is_dir()),
            "an existing directory (create it, empty, before starting the server) or unset",
            env="PROMETHEUS_MULTIPROC_DIR",
        ),
    )

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
            rule: Rule = f.metadata["rule"]
            name = variable(f.name)
            if name in env:
                try:
                    values[f.name] = rule.parse(env[name])
                except ValueError:
                    raise _refused(name, rule, env[name]) from None
        settings = replace(cls(), **{**values, **overrides})
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse values that cannot work; say which variable to fix and what it accepts."""
        for f in fields(self):
            rule: Rule = f.metadata["rule"]
            value = getattr(self, f.name)
            if not rule.allows(value):
                raise _refused(variable(f.name), rule, value)


def variable(field_name: str) -> str:
    """The environment variable that sets `field_name`."""
    rule: Rule = next(f.metadata["rule"] for f in fields(Settings) if f.name == field_name)
    return rule.env or PREFIX + field_name.upper()


def _refused(name: str, rule: Rule, value: Any) -> ConfigError:
    shown = "" if rule.secret else f"; got {str(value)!r}"
    return ConfigError(name, f"must be {rule.allowed}{shown}")
