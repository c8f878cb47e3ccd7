"""The watch list (`data/watch.yaml`): how the service re-reads sources and which official feeds it reads.

    settings:            how politely and how often (all optional)
      sources_every: P1D   re-fetch every event's source URLs this often
      per_host: 2          at most this many requests to one host at once
      min_delay: 1.0       seconds between two requests to one host
      timeout: 20          seconds for one request, body included
      max_bytes: 5000000   a larger answer is not read (a failure in the queue)
      dead_after_days: 3   a source failing (DNS, refused, …) this long is reported dead
    federal_register:    Federal Register API searches, by agency slug
      - id: ustr
        agencies: [trade-representative-office-of-united-states]
        types: [RULE, PRORULE, NOTICE, PRESDOCU]
        every: PT6H
    feeds:               RSS 2.0 / Atom 1.0 feeds
      - id: cbp-csms
        url: https://…
        every: PT6H

Validated like the events file: every problem is reported as `path:line:col: error: …` and a list
with errors is not used (the caller keeps the last good one). Pure: parsing and checking only.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator

from calendar_service.core import timing
from calendar_service.core.errors import WatchInvalid
from calendar_service.core.model import SLUG, _Strict
from calendar_service.core.problems import Problem
from calendar_service.core.validation.findings import Findings
from calendar_service.core.validation.structure import _report_pydantic_error
from calendar_service.core.yamlsource import PathKey, parse_yaml

# Federal Register agency slugs of the trade agencies, as the API spells them in
# `conditions[agencies][]` (https://www.federalregister.gov/developers/documentation/api/v1, "agencies").
TRADE_AGENCIES: dict[str, str] = {
    "trade-representative-office-of-united-states": "Office of the United States Trade Representative",
    "international-trade-administration": "International Trade Administration (Commerce)",
    "industry-and-security-bureau": "Bureau of Industry and Security (Commerce)",
    "commerce-department": "Department of Commerce",
    "u-s-customs-and-border-protection": "U.S. Customs and Border Protection",
    "executive-office-of-the-president": "Executive Office of the President (proclamations, orders)",
    "international-trade-commission": "U.S. International Trade Commission",
    "treasury-department": "Department of the Treasury",
    "foreign-assets-control-office": "Office of Foreign Assets Control",
}
# The API's document type codes (`conditions[type][]`): rule, proposed rule, notice, presidential document.
DocumentType = Literal["RULE", "PRORULE", "NOTICE", "PRESDOCU"]
DOCUMENT_TYPES: tuple[DocumentType, ...] = ("RULE", "PRORULE", "NOTICE", "PRESDOCU")
MIN_INTERVAL = dt.timedelta(minutes=5)


def _interval(value: str) -> str:
    """A positive ISO 8601 duration of at least five minutes (an interval a polite client keeps)."""
    try:
        parsed = timing.parse_duration(value)
    except ValueError as exc:
        raise ValueError(f"{exc} — write e.g. PT6H or P1D") from None
    length = dt.timedelta(days=parsed.days, seconds=parsed.seconds)
    if length <= dt.timedelta(0):
        raise ValueError(f"{value!r} is not a positive interval — write e.g. PT6H or P1D")
    if length < MIN_INTERVAL:
        raise ValueError(f"{value!r} is shorter than five minutes — sources are re-read at most that often")
    return value


def _http_url(value: str) -> str:
    """An absolute http(s) URL with a dotted host (the events file's rule for source URLs)."""
    if not re.match(r"^https?://[^\s/?#]+\.[^\s/?#]+[^\s]*$", value):
        raise ValueError(f"{value!r} is not an http(s) URL — write it as https://host/path")
    return value


def interval(text: str) -> dt.timedelta:
    """The length of a validated interval text such as `PT6H`."""
    parsed = timing.parse_duration(text)
    return dt.timedelta(days=parsed.days, seconds=parsed.seconds)


class WatchSettings(_Strict):
    """How politely and how often the sources are read."""

    sources_every: str = "P1D"
    per_host: int = Field(2, ge=1, le=16)
    min_delay: float = Field(1.0, ge=0, le=600)
    timeout: float = Field(20.0, gt=0, le=300)
    max_bytes: int = Field(5_000_000, ge=1024, le=50_000_000)
    dead_after_days: int = Field(3, ge=1, le=365)

    _every = field_validator("sources_every")(lambda cls, v: _interval(v))


class FederalRegisterWatch(_Strict):
    """A Federal Register API search: documents of these agencies (and types) published since `since`."""

    id: str = Field(pattern=SLUG, max_length=60)
    agencies: list[str] = Field(min_length=1)
    types: list[DocumentType] = Field(default_factory=lambda: list(DOCUMENT_TYPES))
    term: str | None = Field(None, max_length=200, description="Full-text search term, e.g. Section 232")
    since: dt.date | None = Field(None, description="Oldest publication date read (default: 30 days ago)")
    every: str = "P1D"
    action: str | None = Field(None, pattern=SLUG, description="Action a proposal belongs to by default")
    countries: list[str] = Field(default_factory=lambda: ["US"])
    base_url: str = Field("https://www.federalregister.gov/api/v1", description="The API's root")

    _every = field_validator("every")(lambda cls, v: _interval(v))
    _base = field_validator("base_url")(lambda cls, v: _http_url(v))

    @field_validator("agencies")
    @classmethod
    def _agencies(cls, value: list[str]) -> list[str]:
        for slug in value:
            if slug not in TRADE_AGENCIES:
                close = difflib.get_close_matches(slug, TRADE_AGENCIES, n=1)
                hint = (
                    f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(TRADE_AGENCIES))}"
                )
                raise ValueError(f"unknown Federal Register agency slug {slug!r} — {hint}")
        return value


class FeedWatch(_Strict):
    """An RSS 2.0 or Atom 1.0 feed whose new items become proposals."""

    id: str = Field(pattern=SLUG, max_length=60)
    url: str
    publisher: str | None = None
    every: str = "PT6H"
    action: str | None = Field(None, pattern=SLUG)
    countries: list[str] = Field(default_factory=lambda: ["US"])
    max_items: int = Field(200, ge=1, le=5000, description="Items read from the top of the feed")

    _every = field_validator("every")(lambda cls, v: _interval(v))
    _url = field_validator("url")(lambda cls, v: _http_url(v))


class WatchList(_Strict):
    """The whole `watch.yaml`."""

    settings: WatchSettings = Field(default_factory=WatchSettings)
    federal_register: list[FederalRegisterWatch] = Field(default_factory=list)
    feeds: list[FeedWatch] = Field(default_factory=list)

    def watches(self) -> list[FederalRegisterWatch | FeedWatch]:
        """Every watch, Federal Register searches first."""
        return [*self.federal_register, *self.feeds]


@dataclass(frozen=True)
class _Section:
    key: str
    model: type[_Strict]


_SECTIONS = (
    _Section("settings", WatchSettings),
    _Section("federal_register", FederalRegisterWatch),
    _Section("feeds", FeedWatch),
)


def parse_watch(raw: bytes, path: str) -> WatchList:
    """The watch list in `raw`; WatchInvalid listing every problem as `path:line:col` otherwise."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WatchInvalid(path, [Problem(path, 1, 1, "error", f"not UTF-8 ({exc.reason})")]) from None
    parsed = parse_yaml(text, path)
    found = Findings(path, parsed.locations, list(parsed.problems))
    data = parsed.data if parsed.data is not None else {}
    if not isinstance(data, dict):
        found.report((), "the watch file must be a mapping with `settings:`, `federal_register:`, `feeds:`")
        raise WatchInvalid(path, found.problems)
    known = [section.key for section in _SECTIONS]
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
            found.report((key,), f"unknown top-level key {key!r} — {hint}", key=True)
    values: dict[str, Any] = {}
    seen_ids: dict[str, PathKey] = {}
    for section in _SECTIONS:
        value = data.get(section.key)
        if value is None:
            continue
        if section.key == "settings":
            values["settings"] = _check(found, section.model, value, ("settings",))
            continue
        if not isinstance(value, list):
            found.report((section.key,), f"`{section.key}:` must be a list; start each entry with `- id: …`")
            continue
        checked = []
        for index, item in enumerate(value):
            entry = _check(found, section.model, item, (section.key, index))
            if entry is None:
                continue
            at: PathKey = (section.key, index, "id")
            first = seen_ids.setdefault(entry.id, at)
            if first != at:
                line = found.locations.of(first)[0]
                found.report(at, f"duplicate watch id {entry.id!r} (first at line {line}) — ids must differ")
            checked.append(entry)
        values[section.key] = checked
    if found.has_errors():
        raise WatchInvalid(path, found.problems)
    return WatchList.model_validate({k: v for k, v in values.items() if v is not None})


def _check(found: Findings, cls: type[_Strict], value: Any, at: PathKey) -> Any:
    """`value` as a `cls`, or None with every error reported where it stands."""
    try:
        return cls.model_validate(value)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            if error["type"] == "extra_forbidden":
                name = str(error["loc"][-1])
                fields = sorted(cls.model_fields)
                close = difflib.get_close_matches(name, fields, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known fields: {', '.join(fields)}"
                found.report((*at, *error["loc"]), f"unknown field {name!r} — {hint}", key=True)
            else:
                _report_pydantic_error(found, error, at)
        return None
