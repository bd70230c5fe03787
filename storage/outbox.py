"""The outbox: alerts Slack still owes the team.

A row leaves `pending` only when Slack accepted the message (its `ts` is
stored with it). Failures keep the row pending with a later attempt time, so
an outage delays alerts and never drops them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Feed, Hit, Item, Outbox

MAX_RETRY_WAIT = timedelta(hours=1)


@dataclass(frozen=True)
class AlertHit:
    rule: str
    topic: str
    severity: str
    state: str | None
    matched: list[str]
    snippet: str


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


def due(session: Session, *, now: datetime, limit: int = 50) -> list[PendingAlert]:
    """Pending alerts whose next attempt has come, oldest first."""
    query = (
        select(Outbox, Item, Feed)
        .join(Hit, Hit.id == Outbox.hit_id)
        .join(Item, Item.id == Hit.item_id)
        .join(Feed, Feed.id == Item.feed_id)
        .where(Outbox.status == "pending", Outbox.next_attempt_at <= now)
        .order_by(Outbox.created_at, Outbox.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Outbox, skip_locked=True)
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
                    )
                    for h in hits
                ],
            )
        )
    return alerts


def mark_sent(
    session: Session, outbox_id: int, *, now: datetime, slack_channel: str, ts: str
) -> None:
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


def mark_failed(
    session: Session, outbox_id: int, *, now: datetime, error: str, wait: timedelta
) -> None:
    """Keep the alert pending and try again after `wait`."""
    row = session.get(Outbox, outbox_id)
    if row is not None:
        row.attempts += 1
        row.last_error = error[:2000]
        row.next_attempt_at = now + min(wait, MAX_RETRY_WAIT)


def retry_wait(attempts: int) -> timedelta:
    return min(timedelta(seconds=30 * 2**attempts), MAX_RETRY_WAIT)


def depth(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.status == "pending")
        )
        or 0
    )
