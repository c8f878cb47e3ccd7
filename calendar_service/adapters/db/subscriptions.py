"""The `subscriptions` table and its queries (SQLite and PostgreSQL alike).

The signing secret is stored in clear: the service needs it to sign every delivery. It leaves this module
only inside a `Subscription`, whose repr hides it. A rotated-out secret lives in `previous_secrets` until
its grace period ends (a table of its own, so `create_all` adds it to a database made before rotation).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine, RowMapping

from calendar_service.adapters.db import as_utc, ledger, metadata
from calendar_service.core.errors import (
    SubscriptionChanged,
    SubscriptionDisabled,
    SubscriptionLimit,
    SubscriptionNotFound,
)
from calendar_service.core.subscriptions import PAUSED, Subscription

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("url", Text, nullable=False),
    Column("filter", JSON, nullable=False),
    Column("lead_times", JSON, nullable=False),
    Column("format", String(16), nullable=False),
    Column("digest", Boolean, nullable=True),  # nullable: added later, a missing value reads as False
    Column("secret", Text, nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("disabled_reason", Text, nullable=True),
    Column("failure_count", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Raised by every write (nullable: added later, a missing value reads as 0). The API's ETag, a
    # conditional PATCH's guard, and what delivery compares just before sending.
    Column("version", Integer, nullable=True),
)

previous_secrets = Table(
    "previous_secrets",
    metadata,
    Column(
        "subscription_id", String(64), ForeignKey("subscriptions.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("secret", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)


def _select() -> Any:
    """Subscriptions with their previous secret (if any) beside them."""
    return select(
        subscriptions,
        previous_secrets.c.secret.label("previous_secret"),
        previous_secrets.c.expires_at.label("previous_secret_expires_at"),
    ).select_from(subscriptions.outerjoin(previous_secrets))


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError(f"an aware datetime is needed, got naive {moment.isoformat()}")
    return moment.astimezone(dt.UTC)


def _maybe_utc(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else as_utc(value)


def subscription_from_row(row: RowMapping) -> Subscription:
    """Turn a table row into the record."""
    return Subscription(
        id=row["id"],
        url=row["url"],
        filter={str(k): tuple(v) for k, v in (row["filter"] or {}).items()},
        lead_times=tuple(row["lead_times"]),
        format=row["format"],
        digest=bool(row["digest"]),
        secret=row["secret"],
        enabled=bool(row["enabled"]),
        disabled_reason=row["disabled_reason"],
        failure_count=int(row["failure_count"]),
        created_at=as_utc(row["created_at"]),
        updated_at=as_utc(row["updated_at"]),
        previous_secret=row.get("previous_secret"),
        previous_secret_expires_at=_maybe_utc(row.get("previous_secret_expires_at")),
        version=int(row.get("version") or 0),
    )


def _values(sub: Subscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "url": sub.url,
        "filter": {k: list(v) for k, v in sub.filter.items()},
        "lead_times": list(sub.lead_times),
        "format": sub.format,
        "digest": sub.digest,
        "secret": sub.secret,
        "enabled": sub.enabled,
        "disabled_reason": sub.disabled_reason,
        "failure_count": sub.failure_count,
        "created_at": _utc(sub.created_at),
        "updated_at": _utc(sub.updated_at),
    }


# Every UPDATE of a subscription carries this, so any write moves its version on.
def _bumped() -> dict[str, Any]:
    return {"version": func.coalesce(subscriptions.c.version, 0) + 1}


def create_subscription(engine: Engine, sub: Subscription, *, limit: int | None = None) -> Subscription:
    """Insert a new subscription at version 1 (IntegrityError if the id exists).

    With `limit`, only while there are fewer than that (SubscriptionLimit otherwise). The count and
    the insert are one statement, so the transaction is as short as a plain insert (SQLite lets one
    writer in at a time) and two creations at the cap cannot both pass; PostgreSQL, where they
    could, takes a transaction lock first.
    """
    values = {**_values(sub), "version": 1}
    with engine.begin() as conn:
        if limit is None:
            conn.execute(insert(subscriptions).values(**values))
            return replace(sub, version=1)
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(_CREATE_LOCK)))
        count = select(func.count()).select_from(subscriptions).scalar_subquery()
        row = select(*(literal(value, subscriptions.c[name].type) for name, value in values.items()))
        statement = insert(subscriptions).from_select(list(values), row.where(count < limit))
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT ... SELECT.
        if conn.execute(statement.returning(subscriptions.c.id)).first() is None:
            raise SubscriptionLimit(limit)
    return replace(sub, version=1)


_CREATE_LOCK = 0x7C_A1_5B_5C  # the advisory lock that orders creations at the cap (PostgreSQL)


def _get(conn: Connection, subscription_id: str, *, lock: bool = False) -> Subscription:
    query = _select().where(subscriptions.c.id == subscription_id)
    if lock:
        # PostgreSQL row lock (of the subscription, not the outer-joined side); SQLite's write
        # transaction serialises anyway.
        query = query.with_for_update(of=subscriptions)
    row = conn.execute(query).mappings().first()
    if row is None:
        raise SubscriptionNotFound(subscription_id)
    return subscription_from_row(row)


def get_subscription(engine: Engine, subscription_id: str) -> Subscription:
    """The subscription with this id, or SubscriptionNotFound."""
    with engine.connect() as conn:
        return _get(conn, subscription_id)


Position = tuple[dt.datetime, str]  # (created_at, id): where a page of the list ends


def list_subscriptions(
    engine: Engine, *, enabled_only: bool = False, limit: int | None = None, after: Position | None = None
) -> list[Subscription]:
    """Subscriptions oldest first (only enabled ones if asked): all, or `limit` of them past `after`.

    Paging by position rather than offset: a subscription created or deleted meanwhile neither
    repeats nor skips another on the next page.
    """
    query = _select().order_by(subscriptions.c.created_at, subscriptions.c.id)
    if enabled_only:
        query = query.where(subscriptions.c.enabled.is_(True))
    if after is not None:
        created, last_id = _utc(after[0]), after[1]
        query = query.where(
            (subscriptions.c.created_at > created)
            | ((subscriptions.c.created_at == created) & (subscriptions.c.id > last_id))
        )
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [subscription_from_row(row) for row in conn.execute(query).mappings()]


def versions(engine: Engine, subscription_ids: Collection[str]) -> dict[str, int]:
    """The current version of each of these subscriptions that still exists (one small query)."""
    query = select(subscriptions.c.id, func.coalesce(subscriptions.c.version, 0)).where(
        subscriptions.c.id.in_(list(subscription_ids))
    )
    with engine.connect() as conn:
        return {row[0]: int(row[1]) for row in conn.execute(query)}


def subscriptions_by_id(engine: Engine, subscription_ids: Collection[str]) -> dict[str, Subscription]:
    """These subscriptions as they are now, by id (the ones that no longer exist left out)."""
    query = _select().where(subscriptions.c.id.in_(list(subscription_ids)))
    with engine.connect() as conn:
        return {row["id"]: subscription_from_row(row) for row in conn.execute(query).mappings()}


def count_subscriptions(engine: Engine) -> int:
    """How many subscriptions there are."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(subscriptions)).scalar() or 0)


def count_disabled(engine: Engine) -> int:
    """How many subscriptions are disabled (paused by their owner or by failing deliveries)."""
    query = select(func.count()).select_from(subscriptions).where(subscriptions.c.enabled.is_(False))
    with engine.connect() as conn:
        return int(conn.execute(query).scalar() or 0)


def update_subscription(engine: Engine, sub: Subscription) -> Subscription:
    """Store every field of `sub` over the row with its id (SubscriptionNotFound if it is gone)."""
    values = _values(sub)
    del values["id"], values["created_at"], values["secret"]
    with engine.begin() as conn:
        result = conn.execute(
            update(subscriptions).where(subscriptions.c.id == sub.id).values(**values, **_bumped())
        )
        if result.rowcount == 0:
            raise SubscriptionNotFound(sub.id)
        return _get(conn, sub.id)


def patch_subscription(
    engine: Engine,
    subscription_id: str,
    fields: Mapping[str, Any],
    *,
    now: dt.datetime,
    if_match: Collection[int] | None = None,
) -> Subscription:
    """Write only `fields` (from `core.subscriptions.patch_fields`) in one UPDATE; return the result.

    Columns not named keep whatever another writer stored meanwhile, so two PATCHes of different
    fields both land. `enabled` pauses or resumes: the reason and the failure count change only when
    the state does, decided by the row's value at the write, not at an earlier read. With `if_match`
    the write happens only while the version is one of those (SubscriptionChanged otherwise).
    """
    values: dict[str, Any] = {"updated_at": _utc(now), **_bumped()}
    for name, value in fields.items():
        if name == "filter":
            value = {k: list(v) for k, v in value.items()}
        elif name == "lead_times":
            value = list(value)
        values[name] = value
    if "enabled" in fields:
        was = subscriptions.c.enabled
        if fields["enabled"]:
            values["disabled_reason"] = case((was.is_(True), subscriptions.c.disabled_reason), else_=None)
            values["failure_count"] = case((was.is_(True), subscriptions.c.failure_count), else_=0)
        else:
            reason = case((was.is_(True), PAUSED), else_=subscriptions.c.disabled_reason)
            values["disabled_reason"] = reason
    statement = update(subscriptions).where(subscriptions.c.id == subscription_id)
    if if_match is not None:
        statement = statement.where(func.coalesce(subscriptions.c.version, 0).in_(list(if_match)))
    with engine.begin() as conn:
        if conn.execute(statement.values(**values)).rowcount == 0:
            current = _get(conn, subscription_id)  # SubscriptionNotFound when it is gone
            raise SubscriptionChanged(subscription_id, current.etag)
        return _get(conn, subscription_id)


def delete_subscription(
    engine: Engine, subscription_id: str, *, now: dt.datetime, if_match: Collection[int] | None = None
) -> None:
    """Remove a subscription and cancel the reminders it was still owed (SubscriptionNotFound if none).

    With `if_match`, only while its version is one of those (SubscriptionChanged otherwise).
    """
    statement = delete(subscriptions).where(subscriptions.c.id == subscription_id)
    if if_match is not None:
        statement = statement.where(func.coalesce(subscriptions.c.version, 0).in_(list(if_match)))
    with engine.begin() as conn:
        # The subscription row first: it takes the row lock the guard above is checked under.
        result = conn.execute(statement)
        if result.rowcount == 0:
            current = _get(conn, subscription_id)  # SubscriptionNotFound when it is gone
            raise SubscriptionChanged(subscription_id, current.etag)
        conn.execute(delete(previous_secrets).where(previous_secrets.c.subscription_id == subscription_id))
        ledger.cancel_pending(conn, now=now, reason="subscription removed", subscription_id=subscription_id)


def _set(engine: Engine, subscription_id: str, values: Mapping[str, Any]) -> Subscription:
    with engine.begin() as conn:
        result = conn.execute(
            update(subscriptions).where(subscriptions.c.id == subscription_id).values(**values, **_bumped())
        )
        if result.rowcount == 0:
            raise SubscriptionNotFound(subscription_id)
        return _get(conn, subscription_id)


def disable_subscription(
    engine: Engine, subscription_id: str, reason: str, *, now: dt.datetime
) -> Subscription:
    """Stop deliveries to an endpoint and keep `reason` for its owner to read."""
    return _set(
        engine, subscription_id, {"enabled": False, "disabled_reason": reason, "updated_at": _utc(now)}
    )


def rotate_secret(
    engine: Engine, subscription_id: str, secret: str, *, now: dt.datetime, grace: dt.timedelta
) -> Subscription:
    """Make `secret` the signing secret; the one it replaces keeps signing for `grace` (none if zero).

    Only an enabled subscription rotates (SubscriptionDisabled otherwise). One previous secret is kept:
    rotating again within a grace period drops the older one. Expired previous secrets are purged here.
    """
    with engine.begin() as conn:
        before = _get(conn, subscription_id, lock=True)
        if not before.enabled:
            raise SubscriptionDisabled(subscription_id, "rotate its secret", before.disabled_reason)
        conn.execute(
            delete(previous_secrets).where(
                (previous_secrets.c.subscription_id == subscription_id)
                | (previous_secrets.c.expires_at <= _utc(now))
            )
        )
        conn.execute(
            update(subscriptions)
            .where(subscriptions.c.id == subscription_id)
            .values(secret=secret, updated_at=_utc(now), **_bumped())
        )
        if grace > dt.timedelta(0):
            conn.execute(
                insert(previous_secrets).values(
                    subscription_id=subscription_id, secret=before.secret, expires_at=_utc(now + grace)
                )
            )
        return _get(conn, subscription_id)


def enable_subscription(
    engine: Engine, subscription_id: str, *, now: dt.datetime
) -> tuple[Subscription, str | None]:
    """Re-enable an endpoint and clear its failures; returns it with the reason it had been disabled."""
    with engine.begin() as conn:
        before = _get(conn, subscription_id, lock=True)
        conn.execute(
            update(subscriptions)
            .where(subscriptions.c.id == subscription_id)
            .values(enabled=True, disabled_reason=None, failure_count=0, updated_at=_utc(now), **_bumped())
        )
        return _get(conn, subscription_id), before.disabled_reason


def record_failure(
    engine: Engine,
    subscription_id: str,
    *,
    now: dt.datetime,
    disable_after: int | None = None,
    reason: str | None = None,
) -> Subscription:
    """Count one more failed delivery in a row; at `disable_after` failures, disable with `reason`.

    The increment is one UPDATE (`failure_count + 1`), so concurrent workers do not lose counts.
    """
    with engine.begin() as conn:
        result = conn.execute(
            update(subscriptions)
            .where(subscriptions.c.id == subscription_id)
            .values(failure_count=subscriptions.c.failure_count + 1, updated_at=_utc(now), **_bumped())
        )
        if result.rowcount == 0:
            raise SubscriptionNotFound(subscription_id)
        if disable_after is not None:
            conn.execute(
                update(subscriptions)
                .where(
                    subscriptions.c.id == subscription_id,
                    subscriptions.c.enabled.is_(True),
                    subscriptions.c.failure_count >= disable_after,
                )
                .values(
                    enabled=False,
                    disabled_reason=reason or f"disabled after {disable_after} failed deliveries in a row",
                    **_bumped(),
                )
            )
        return _get(conn, subscription_id)


def reset_failures(engine: Engine, subscription_id: str, *, now: dt.datetime) -> Subscription:
    """Zero the failure count after a successful delivery (no write when it is already zero)."""
    with engine.begin() as conn:
        conn.execute(
            update(subscriptions)
            .where(subscriptions.c.id == subscription_id, subscriptions.c.failure_count != 0)
            .values(failure_count=0, updated_at=_utc(now), **_bumped())
        )
        return _get(conn, subscription_id)


@dataclass(frozen=True, slots=True)
class PlanningInput:
    """What of a subscription decides its reminders, as stored: compared as text, decoded when needed."""

    id: str
    enabled: bool
    filter_text: str
    lead_times_text: str
    updated_at: dt.datetime

    @property
    def key(self) -> tuple[bool, str, str]:
        """Equal for two reads exactly when planning would owe the same reminders."""
        return (self.enabled, self.filter_text, self.lead_times_text)

    @property
    def filter(self) -> dict[str, tuple[str, ...]]:
        """The stored filter."""
        return {str(k): tuple(v) for k, v in (json.loads(self.filter_text) or {}).items()}

    @property
    def lead_times(self) -> tuple[str, ...]:
        """The stored lead times."""
        return tuple(json.loads(self.lead_times_text))


def planning_inputs(
    engine: Engine, ids: Sequence[str] | None = None, *, changed_since: dt.datetime | None = None
) -> dict[str, PlanningInput]:
    """The planning inputs of every subscription, of `ids`, or of those written at or after
    `changed_since`, by id: five short columns, no secret.

    The JSON columns come back as their text and are only decoded for a subscription whose text changed.
    """
    query = select(
        subscriptions.c.id,
        subscriptions.c.enabled,
        cast(subscriptions.c.filter, Text).label("filter_text"),
        cast(subscriptions.c.lead_times, Text).label("lead_times_text"),
        subscriptions.c.updated_at,
    )
    if changed_since is not None:
        query = query.where(subscriptions.c.updated_at >= _utc(changed_since))
    found: dict[str, PlanningInput] = {}
    with engine.connect() as conn:
        chunks = [None] if ids is None else [ids[i : i + 1000] for i in range(0, len(ids), 1000)]
        for chunk in chunks:
            where = query if chunk is None else query.where(subscriptions.c.id.in_(chunk))
            for row in conn.execute(where):
                found[row.id] = PlanningInput(
                    row.id, bool(row.enabled), row.filter_text, row.lead_times_text, as_utc(row.updated_at)
                )
    return found
