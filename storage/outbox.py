"""The outbox: alerts Slack still owes the team.

A row leaves `pending` only when Slack accepted the message (its `ts` is
stored with it). Failures keep the row pending with a later attempt time, so
an outage delays alerts and never drops them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, func, or_, select, update
from sqlalchemy.orm import Session

from storage.dialect import insert_ignore
from storage.instances import dead_owners
from storage.models import ChannelProblem, Feed, Hit, Item, Outbox

MAX_RETRY_WAIT = timedelta(hours=1)


@dataclass(frozen=True)
class AlertHit:
    rule: str
    topic: str
    severity: str
    state: str | None
    matched: list[str]
    snippet: str
    hit_id: int = 0  # what the feedback buttons refer to


@dataclass(frozen=True)
class PendingAlert:
    """Everything needed to render one alert, read in one query."""

    outbox_id: int
    channel: str
    attempts: int
    title: str
    url: str | None
    feed: str
    language: str | None
    published_at: datetime | None
    hits: list[AlertHit]
    kind: str = "alert"  # alert | reply | update (storage.followups)


def _load(session: Session, query: Select[Outbox, Item, Feed]) -> list[PendingAlert]:
    alerts: list[PendingAlert] = []
    for outbox, item, feed in session.execute(query).all():
        hits = session.scalars(
            select(Hit).where(Hit.item_id == item.id).order_by(Hit.id)
        ).all()
        alerts.append(
            PendingAlert(
                outbox_id=outbox.id,
                channel=outbox.channel,
                attempts=outbox.attempts,
                title=item.title,
                url=item.url,
                feed=feed.name,
                language=item.language,
                published_at=item.published_at,
                hits=[
                    AlertHit(
                        h.rule,
                        h.topic,
                        h.severity,
                        h.state,
                        list(dict.fromkeys(str(m.get("text", "")) for m in h.matched)),
                        h.snippet,
                        h.id,
                    )
                    for h in hits
                ],
                kind=outbox.kind,
            )
        )
    return alerts


def _with_item() -> Select[Outbox, Item, Feed]:
    return (
        select(Outbox, Item, Feed)
        .join(Hit, Hit.id == Outbox.hit_id)
        .join(Item, Item.id == Hit.item_id)
        .join(Feed, Feed.id == Item.feed_id)
    )


def alert_by_id(session: Session, outbox_id: int) -> PendingAlert | None:
    """One outbox row as a renderable alert, whatever its status."""
    found = _load(session, _with_item().where(Outbox.id == outbox_id))
    return found[0] if found else None


def due(session: Session, *, now: datetime, limit: int = 50) -> list[PendingAlert]:
    """Pending alerts whose next attempt has come, oldest first (read only)."""
    query = _with_item().where(
        Outbox.status == "pending", Outbox.next_attempt_at <= now
    )
    return _load(session, query.order_by(Outbox.id).limit(limit))


def _ready(now: datetime, dead_after: timedelta | None) -> ColumnElement[bool]:
    """Due, or reserved by an instance that has stopped beating (storage.instances)."""
    due = Outbox.next_attempt_at <= now
    if dead_after is None:
        return due
    return or_(due, Outbox.lease_owner.in_(dead_owners(now=now, timeout=dead_after)))


def _reserve(
    session: Session,
    outbox_id: int,
    *,
    now: datetime,
    lease: timedelta,
    owner: str | None = None,
    dead_after: timedelta | None = None,
) -> bool:
    """A conditional UPDATE: True for exactly one process per due alert."""
    taken = session.execute(
        update(Outbox)
        .where(
            Outbox.id == outbox_id,
            Outbox.status == "pending",
            _ready(now, dead_after),
        )
        .values(next_attempt_at=now + lease, lease_owner=owner)
    )
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


def claim_next(
    session: Session,
    *,
    now: datetime,
    lease: timedelta,
    skip: Iterable[str] = (),
    owner: str | None = None,
    dead_after: timedelta | None = None,
) -> PendingAlert | None:
    """Reserve the next alert to post, oldest first within each channel.

    Only the oldest pending alert of a channel may go, so a channel that is
    rate limited or broken holds its queue in order. The reservation (a lease
    in `next_attempt_at`, held by `owner`) is a conditional UPDATE: of
    several processes, exactly one gets each alert, on SQLite and PostgreSQL
    alike; on PostgreSQL the candidates are first locked with `FOR UPDATE
    SKIP LOCKED`, so instances never queue behind each other's claims. The
    lease ends when it runs out or, with `dead_after`, as soon as its owner
    has stopped beating.
    """
    heads = (
        select(func.min(Outbox.id))
        .where(Outbox.status == "pending")
        .group_by(Outbox.channel)
        .scalar_subquery()
    )
    query = select(Outbox.id).where(Outbox.id.in_(heads), _ready(now, dead_after))
    skipped = list(skip)
    if skipped:
        query = query.where(Outbox.channel.not_in(skipped))
    query = query.order_by(Outbox.id).limit(20)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Outbox)
    for outbox_id in session.scalars(query).all():
        if _reserve(
            session,
            outbox_id,
            now=now,
            lease=lease,
            owner=owner,
            dead_after=dead_after,
        ):
            return alert_by_id(session, outbox_id)
    return None


def due_counts(
    session: Session,
    *,
    now: datetime,
    skip: Iterable[str] = (),
    dead_after: timedelta | None = None,
) -> dict[str, int]:
    """How many alerts each channel has waiting whose time has come (a dead
    instance's reservations included, with `dead_after`: a digest it never
    finished goes out again as a digest)."""
    query = (
        select(Outbox.channel, func.count())
        .where(
            Outbox.status == "pending",
            _ready(now, dead_after),
            Outbox.kind == "alert",  # follow-ups are never part of a digest
        )
        .group_by(Outbox.channel)
    )
    skipped = list(skip)
    if skipped:
        query = query.where(Outbox.channel.not_in(skipped))
    return {channel: int(n) for channel, n in session.execute(query).all()}


def claim_batch(
    session: Session,
    channel: str,
    *,
    now: datetime,
    lease: timedelta,
    limit: int,
    owner: str | None = None,
    dead_after: timedelta | None = None,
) -> list[PendingAlert]:
    """Reserve up to `limit` of a channel's alerts, oldest first, for one digest.

    Only an unbroken run from the head of the queue is taken: an alert that
    is not due (or reserved by another process) ends the run, so a digest
    never overtakes an alert still waiting its turn.
    """
    rows = session.execute(
        select(Outbox.id, Outbox.next_attempt_at, Outbox.lease_owner, Outbox.kind)
        .where(Outbox.status == "pending", Outbox.channel == channel)
        .order_by(Outbox.id)
        .limit(limit)
    ).all()
    dead: set[str] = set()
    if dead_after is not None:
        dead = set(session.scalars(dead_owners(now=now, timeout=dead_after)))
    taken: list[int] = []
    for outbox_id, next_attempt_at, lease_owner, kind in rows:
        ready = next_attempt_at <= now or lease_owner in dead
        # A follow-up ends the run too: it goes to its thread, not a digest.
        if (
            kind != "alert"
            or not ready
            or not _reserve(
                session,
                outbox_id,
                now=now,
                lease=lease,
                owner=owner,
                dead_after=dead_after,
            )
        ):
            break
        taken.append(outbox_id)
    if not taken:
        return []
    return _load(session, _with_item().where(Outbox.id.in_(taken)).order_by(Outbox.id))


def mark_sent(
    session: Session,
    outbox_id: int,
    *,
    now: datetime,
    slack_channel: str | None,
    ts: str | None,
) -> None:
    """Slack took it. `ts` is None only from an incoming webhook, which gives none."""
    row = session.get(Outbox, outbox_id)
    if row is not None:
        row.status, row.sent_at, row.slack_channel, row.slack_ts = (
            "sent",
            now,
            slack_channel,
            ts,
        )
        row.attempts += 1
        row.last_error = None


def mark_undeliverable(
    session: Session, outbox_id: int, *, now: datetime, error: str
) -> None:
    """Slack refuses this message itself (not the channel); keep it, stop retrying."""
    row = session.get(Outbox, outbox_id)
    if row is not None:
        row.status, row.attempts, row.last_error = (
            "failed",
            row.attempts + 1,
            error[:2000],
        )


def mark_failed(
    session: Session, outbox_id: int, *, now: datetime, error: str, wait: timedelta
) -> None:
    """Keep the alert pending and try again after `wait`."""
    row = session.get(Outbox, outbox_id)
    if row is not None:
        row.attempts += 1
        row.last_error = error[:2000]
        row.next_attempt_at = now + min(wait, MAX_RETRY_WAIT)


@dataclass(frozen=True)
class ChannelTrouble:
    """A Slack error on a channel that waits for a person (for `normwatch status`)."""

    channel: str
    error: str
    message: str
    since: datetime
    last_seen_at: datetime


def record_problem(
    session: Session, channel: str, *, error: str, message: str, now: datetime
) -> bool:
    """Note a permanent error on `channel`; True when it is new (to be reported)."""
    row = session.get(ChannelProblem, channel)
    if row is not None and row.error == error:
        row.last_seen_at = now
        return False
    if row is None:
        # Another process may note the same problem at the same moment.
        inserted = session.scalars(
            insert_ignore(
                session, ChannelProblem, conflict=["channel"], returning=["channel"]
            ),
            {
                "channel": channel,
                "error": error,
                "message": message[:2000],
                "since": now,
                "last_seen_at": now,
            },
        )
        return inserted.first() is not None
    else:
        row.error, row.message, row.since, row.last_seen_at = (
            error,
            message[:2000],
            now,
            now,
        )
    return True


def clear_problem(session: Session, channel: str) -> bool:
    """The channel works again; True when it had a problem on record."""
    row = session.get(ChannelProblem, channel)
    if row is None:
        return False
    session.delete(row)
    return True


def channel_problems(session: Session) -> list[ChannelTrouble]:
    """Every channel whose alerts wait for a person to fix something, oldest first."""
    rows = session.scalars(select(ChannelProblem).order_by(ChannelProblem.since))
    return [
        ChannelTrouble(r.channel, r.error, r.message, r.since, r.last_seen_at)
        for r in rows
    ]


def release(session: Session, outbox_ids: list[int], *, now: datetime) -> None:
    """Give reserved alerts back (a digest that had no room for them)."""
    if outbox_ids:
        session.execute(
            update(Outbox)
            .where(Outbox.id.in_(outbox_ids), Outbox.status == "pending")
            .values(next_attempt_at=now)
        )
