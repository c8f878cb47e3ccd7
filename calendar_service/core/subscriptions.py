"""Webhook subscriptions: the record, and the request models that validate what a client sends.

Pure: the URL's address check is handed in as `check_url` (the adapters pass
`webhooks.AddressPolicy(allow_private).check_url`), the time as an argument. Filter values go through the
feed's own parser (`filters.convert_value`): the same names, the same vocabulary, never today's data.
Validate with `parse_input` / `parse_patch`; they collect every problem before anything is stored, so
a bad request creates nothing.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

from calendar_service.core.errors import FilterError, SubscriptionInvalid
from calendar_service.core.filters import FILTER_PARAMETERS, EventFilter, convert_value, parse_filter
from calendar_service.core.messages import Format
from calendar_service.core.reminders.leadtime import LeadTime
from calendar_service.core.timing import parse_duration, utc_text

DEFAULT_LEAD_TIMES = ("P7D", "P1D", "PT1H")
SUBSCRIPTION_FILTERS = FILTER_PARAMETERS  # the feed's filters, all of them
MAX_LEAD_TIMES = 10
MAX_URL_LENGTH = 2048
ID_PREFIX = "sub_"

CheckURL = Callable[[str], object]


@dataclass(frozen=True)
class Subscription:
    """One registered webhook endpoint; `secret` signs its deliveries and is never shown by repr."""

    id: str
    url: str
    filter: Mapping[str, tuple[str, ...]]
    secret: str = field(repr=False)
    created_at: dt.datetime
    updated_at: dt.datetime
    lead_times: tuple[str, ...] = DEFAULT_LEAD_TIMES
    format: Format = "standard"
    digest: bool = False  # one message per due minute (or data edit) instead of one per reminder
    enabled: bool = True
    disabled_reason: str | None = None
    failure_count: int = 0
    # After a rotation, the secret it replaced keeps signing (beside the new one) until this instant.
    previous_secret: str | None = field(default=None, repr=False)
    previous_secret_expires_at: dt.datetime | None = None
    version: int = 0  # raised by every write; the API's ETag, and what delivery compares at send time

    @property
    def etag(self) -> str:
        """The strong entity tag of this version (RFC 9110 §8.8.3)."""
        return f'"v{self.version}"'

    def secret_in_grace(self, now: dt.datetime) -> str | None:
        """The replaced secret while its grace period lasts at `now`, else None."""
        expires = self.previous_secret_expires_at
        if self.previous_secret is None or expires is None or now >= expires:
            return None
        return self.previous_secret

    def event_filter(self) -> EventFilter:
        """The stored filter parsed (FilterError if the vocabulary has since dropped a value)."""
        return parse_filter(self.filter)

    def to_public_dict(self) -> dict[str, Any]:
        """The JSON the API shows: everything but the secret."""
        return {
            "id": self.id,
            "url": self.url,
            "filter": {name: list(values) for name, values in self.filter.items()},
            "lead_times": list(self.lead_times),
            "format": self.format,
            "digest": self.digest,
            "enabled": self.enabled,
            "disabled_reason": self.disabled_reason,
            "failure_count": self.failure_count,
            "previous_secret_expires_at": (
                None if self.previous_secret_expires_at is None else utc_text(self.previous_secret_expires_at)
            ),
            "created_at": utc_text(self.created_at),
            "updated_at": utc_text(self.updated_at),
        }


def new_subscription_id() -> str:
    """An opaque, unguessable id such as `sub_Xr3...`."""
    return ID_PREFIX + secrets.token_urlsafe(12)


# --- request models -----------------------------------------------------------------------------------


def _as_list(value: Any) -> Any:
    """Accept `"US"`, `"US,CN"` or `["US", "CN"]` for a filter parameter, as query strings do."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return value
    # Split "US,CN" items too: each value is then checked (and named by its index) on its own. Anything
    # but text is passed through untouched, for the item validator to refuse by its index.
    return [
        part.strip() if isinstance(part, str) else part
        for item in value
        for part in (item.split(",") if isinstance(item, str) else [item])
        if not isinstance(part, str) or part.strip()
    ]


def _lead_time(text: str) -> str:
    # Stored in its one spelling: `PT24H` and `P1D` are one instant before a deadline (one reminder id).
    try:
        return LeadTime.parse(text).text
    except ValueError as exc:
        raise ValueError(str(exc)) from None


def _filter_value(name: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        try:
            return str(convert_value(name, value))
        except FilterError as exc:
            raise ValueError(exc.hint) from None

    return check


def _values(name: str) -> Any:
    # strict: a number or a boolean is refused as such, never turned into the text "1" or "False".
    return Annotated[
        list[Annotated[str, Field(min_length=1, strict=True), AfterValidator(_filter_value(name))]],
        BeforeValidator(_as_list),
        Field(max_length=50),
    ]


class FilterInput(BaseModel):
    """Which events a subscription hears about: the feed's parameters, checked against the vocabulary.

    A value no event has today is accepted (data changes; a subscription must outlive it).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    country: _values("country") = []  # type: ignore[valid-type]
    kind: _values("kind") = []  # type: ignore[valid-type]
    tag: _values("tag") = []  # type: ignore[valid-type]
    importance: _values("importance") = []  # type: ignore[valid-type]
    status: _values("status") = []  # type: ignore[valid-type]
    authority: _values("authority") = []  # type: ignore[valid-type]
    hs: _values("hs") = []  # type: ignore[valid-type]
    action: _values("action") = []  # type: ignore[valid-type]

    def to_query(self) -> dict[str, tuple[str, ...]]:
        """The canonical stored form: only set parameters, values de-duplicated and sorted."""
        out: dict[str, tuple[str, ...]] = {}
        for name in SUBSCRIPTION_FILTERS:
            values: list[str] = getattr(self, name)
            if values:
                out[name] = tuple(sorted(set(values)))
        return out


LeadTimes = Annotated[
    list[Annotated[str, AfterValidator(_lead_time), Field(json_schema_extra={"format": "duration"})]],
    Field(min_length=1, max_length=MAX_LEAD_TIMES),
]


def _check_url(value: str, info: ValidationInfo) -> str:
    value = value.strip()
    # RFC 3986 has no place for spaces or control characters (PostgreSQL cannot even store a NUL).
    if any(char <= " " or char == "\x7f" for char in value):
        raise ValueError("must not contain spaces or control characters; percent-encode them (%20)")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host name")
    check: CheckURL | None = (info.context or {}).get("check_url")
    if check is None:
        raise ValueError("no address policy was given to check the URL against")  # fail closed
    try:
        check(value)
    except ValueError as exc:  # UnsafeWebhookURL is a ValueError
        raise ValueError(str(exc)) from None
    return value


class _Common(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    @field_validator("lead_times", check_fields=False)
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("lead times must be distinct")
        return value


class SubscriptionInput(_Common):
    """The body of `POST /api/v1/subscriptions`."""

    url: Annotated[str, Field(min_length=1, max_length=MAX_URL_LENGTH), AfterValidator(_check_url)]
    filter: FilterInput = FilterInput()
    lead_times: LeadTimes = list(DEFAULT_LEAD_TIMES)
    format: Format = "standard"
    digest: bool = False


def _patch_schema(schema: dict[str, Any]) -> None:
    # parse_patch wants at least one field and refuses nulls; a field left out stays as it is.
    schema["minProperties"] = 1
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


class SubscriptionPatch(_Common):
    """The body of `PATCH /api/v1/subscriptions/{id}`: any subset of the fields; `enabled` pauses/resumes."""

    model_config = ConfigDict(json_schema_extra=_patch_schema)

    url: (
        Annotated[str, Field(min_length=1, max_length=MAX_URL_LENGTH), AfterValidator(_check_url)]
        | SkipJsonSchema[None]
    ) = None
    filter: FilterInput | SkipJsonSchema[None] = None
    lead_times: LeadTimes | SkipJsonSchema[None] = None
    format: Format | SkipJsonSchema[None] = None
    digest: bool | SkipJsonSchema[None] = None
    enabled: bool | SkipJsonSchema[None] = None


# --- validation entry points --------------------------------------------------------------------------


def field_name(loc: Iterable[int | str]) -> str:
    """Render a pydantic location as a JSON path: `("lead_times", 1)` → `lead_times[1]`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def _errors(exc: ValidationError, *, optional_fields: bool = False) -> list[dict[str, str]]:
    found = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = error["loc"]
        if optional_fields and len(loc) > 1:
            # A PATCH field is `X | None`: pydantic names the union member (`FilterInput`) after the field
            # and reports the None member too; nulls are refused on their own, so keep X's complaint only.
            if error["type"] == "none_required":
                continue
            loc = (loc[0], *loc[2:])
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field; remove it"
        found.append({"field": field_name(loc), "message": message})
    return found


def parse_input(data: object, *, check_url: CheckURL) -> SubscriptionInput:
    """Validate a creation body; SubscriptionInvalid lists every bad field."""
    if not isinstance(data, dict):
        raise SubscriptionInvalid([{"field": "body", "message": "must be a JSON object"}])
    try:
        return SubscriptionInput.model_validate(data, context={"check_url": check_url})
    except ValidationError as exc:
        raise SubscriptionInvalid(_errors(exc)) from None


def parse_patch(data: object, *, check_url: CheckURL) -> SubscriptionPatch:
    """Validate a PATCH body (explicit nulls are refused: a field is either changed or left out)."""
    if not isinstance(data, dict):
        raise SubscriptionInvalid([{"field": "body", "message": "must be a JSON object"}])
    nulls = [
        {"field": str(k), "message": "may not be null; leave it out"} for k, v in data.items() if v is None
    ]
    try:
        patch = SubscriptionPatch.model_validate(data, context={"check_url": check_url})
    except ValidationError as exc:
        raise SubscriptionInvalid(nulls + _errors(exc, optional_fields=True)) from None
    if nulls:
        raise SubscriptionInvalid(nulls)
    if not patch.model_fields_set:
        raise SubscriptionInvalid([{"field": "body", "message": "names no field to change"}])
    return patch


def new_subscription(
    request: SubscriptionInput, *, secret: str, now: dt.datetime, id: str | None = None
) -> Subscription:
    """Build the record for a validated creation request."""
    return Subscription(
        id=id or new_subscription_id(),
        url=request.url,
        filter=request.filter.to_query(),
        lead_times=tuple(request.lead_times),
        format=request.format,
        digest=request.digest,
        secret=secret,
        created_at=now,
        updated_at=now,
    )


# How long a rotated-out secret keeps signing: none at all (it leaked and must stop now) up to a month
# for a receiver that deploys slowly; a day by default.
GRACE_DEFAULT = "PT24H"
GRACE_MAX = dt.timedelta(days=30)
GRACE_RANGE = "PT0S..P30D"


class RotationInput(BaseModel):
    """The body of `POST /api/v1/subscriptions/{id}/rotate-secret` (optional; `{}` keeps the default)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    grace: Annotated[str, Field(min_length=1, max_length=32, strict=True)] = Field(
        default=GRACE_DEFAULT,
        description=f"How long the old secret keeps signing beside the new one, an ISO 8601 duration in "
        f"{GRACE_RANGE}",
    )

    @field_validator("grace")
    @classmethod
    def _in_range(cls, value: str) -> str:
        parse_grace(value)
        return value


def parse_grace(text: str) -> dt.timedelta:
    """A grace period as a timedelta; ValueError names the value and `GRACE_RANGE`."""
    if text.upper() in ("PT0S", "P0D", "PT0M", "PT0H"):
        return dt.timedelta(0)  # parse_duration has no seconds; zero is the one we need
    duration = parse_duration(text)
    outside = f"{text!r} is outside the allowed range {GRACE_RANGE}"
    # Compare the parts first: a timedelta of a billion days overflows instead of comparing.
    if not 0 <= duration.days <= GRACE_MAX.days or not 0 <= duration.seconds <= GRACE_MAX.total_seconds():
        raise ValueError(outside)
    delta = duration.as_timedelta()
    if delta > GRACE_MAX:
        raise ValueError(outside)
    return delta


def parse_rotation(data: object) -> dt.timedelta:
    """Validate a rotation body (None or `{}` for the default); SubscriptionInvalid names the field."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SubscriptionInvalid([{"field": "body", "message": "must be a JSON object"}])
    try:
        return parse_grace(RotationInput.model_validate(data).grace)
    except ValidationError as exc:
        raise SubscriptionInvalid(_errors(exc)) from None


PAUSED = "paused by its owner"


def patch_fields(patch: SubscriptionPatch) -> dict[str, Any]:
    """The record's fields a validated PATCH sets, and only those (`enabled` among them if sent).

    The store writes just these, so two PATCHes of different fields both land.
    """
    sent = patch.model_fields_set
    fields: dict[str, Any] = {}
    if "url" in sent and patch.url is not None:
        fields["url"] = patch.url
    if "filter" in sent and patch.filter is not None:
        fields["filter"] = patch.filter.to_query()
    if "lead_times" in sent and patch.lead_times is not None:
        fields["lead_times"] = tuple(patch.lead_times)
    if "format" in sent and patch.format is not None:
        fields["format"] = patch.format
    if "digest" in sent and patch.digest is not None:
        fields["digest"] = patch.digest
    if "enabled" in sent and patch.enabled is not None:
        fields["enabled"] = patch.enabled
    return fields


def apply_patch(subscription: Subscription, patch: SubscriptionPatch, *, now: dt.datetime) -> Subscription:
    """The record with the patch applied (only the fields the client sent)."""
    changes = patch_fields(patch)
    enabled = changes.pop("enabled", subscription.enabled)
    if enabled != subscription.enabled:
        changes["enabled"] = enabled
        changes["disabled_reason"] = None if enabled else PAUSED
        if enabled:
            changes["failure_count"] = 0
    return replace(subscription, **changes, updated_at=now)
