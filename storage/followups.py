"""Follow-ups in the outbox: thread replies under a story's alert, and its update.

A story's alert is an outbox row of kind `alert`. A later item of the story
adds, for every channel that has the alert, a `reply` row (one per outlet,
at most `max_replies` per alert) and puts the alert's one `update` row back
to pending, so the alert is edited to count the outlets. Both point at the
alert (`parent_id`): they are posted only once the alert has its Slack `ts`,
and being rows, not memory, they survive a restart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage.dialect import insert_ignore
from storage.models import Hit, Item, Outbox

_KEY = ["story_id", "channel", "kind", "outlet"]


@dataclass(frozen=True)
class Queued:
    replies: int
    updates: int


def queue_followups(
    session: Session,
    *,
    story_id: int,
    hit_id: int,
    reply_key: str | None,
    now: datetime,
    max_replies: int,
    own_hits: Sequence[int] = (),
) -> Queued:
    """Queue a reply (unless `reply_key` is None) and the alert update on every
    channel where the story has an alert (other than alerts of `own_hits`,
    which this item itself raised)."""
    replies = updates = 0
    alerts = session.execute(
        select(Outbox.id, Outbox.channel, Outbox.hit_id).where(
            Outbox.story_id == story_id, Outbox.kind == "alert"
        )
    ).all()
    for alert_id, channel, alert_hit in alerts:
        if alert_hit in own_hits:
            continue
        pending = {"status": "pending", "attempts": 0, "created_at": now}
        if reply_key is not None and _replies(session, alert_id) < max_replies:
            replies += len(
                session.scalars(
                    insert_ignore(session, Outbox, conflict=_KEY, returning=["id"]),
                    {
                        **pending,
                        "story_id": story_id,
                        "hit_id": hit_id,
                        "channel": channel,
                        "kind": "reply",
                        "outlet": reply_key[:255],
                        "parent_id": alert_id,
                        "next_attempt_at": now,
                    },
                ).all()
            )
        if reply_key is None:
            continue
        # One update row per alert, set pending again whenever the count may change.
        session.execute(
            insert_ignore(session, Outbox, conflict=_KEY),
            {
                **pending,
                "story_id": story_id,
                "hit_id": alert_hit,
                "channel": channel,
                "kind": "update",
                "outlet": "",
                "parent_id": alert_id,
                "next_attempt_at": now,
            },
        )
        updates += session.execute(
            update(Outbox)
            .where(
                Outbox.parent_id == alert_id,
                Outbox.kind == "update",
                Outbox.status != "pending",
            )
            .values(status="pending", next_attempt_at=now, last_error=None)
        ).rowcount  # type: ignore[attr-defined]
    return Queued(replies, updates)


def _replies(session: Session, alert_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Outbox)
            .where(Outbox.parent_id == alert_id, Outbox.kind == "reply")
        )
        or 0
    )


@dataclass(frozen=True)
class Thread:
    """Where a follow-up goes and what its story holds."""

    parent_id: int
    parent_status: str
    slack_channel: str | None
    slack_ts: str | None
    story_id: int
    item_id: int
    outlets: int  # distinct outlets in the story so far
    replies: int  # replies queued under the alert
    in_digest: bool  # the alert went out inside a digest with others


def thread_of(session: Session, outbox_id: int) -> Thread | None:
    row = session.get(Outbox, outbox_id)
    if row is None or row.parent_id is None:
        return None
    parent = session.get(Outbox, row.parent_id)
    if parent is None:
        return None
    item_id = session.scalar(select(Hit.item_id).where(Hit.id == row.hit_id))
    assert item_id is not None
    outlets = session.scalar(
        select(func.count(func.distinct(func.lower(Item.outlet)))).where(
            Item.story_id == row.story_id, Item.outlet.is_not(None)
        )
    )
    return Thread(
        parent_id=parent.id,
        parent_status=parent.status,
        slack_channel=parent.slack_channel,
        slack_ts=parent.slack_ts,
        story_id=row.story_id,
        item_id=item_id,
        outlets=outlets or 0,
        replies=_replies(session, parent.id),
        in_digest=parent.slack_ts is not None
        and (
            session.scalar(
                select(func.count())
                .select_from(Outbox)
                .where(
                    Outbox.slack_ts == parent.slack_ts,
                    Outbox.slack_channel == parent.slack_channel,
                    Outbox.kind == "alert",
                )
            )
            or 0
        )
        > 1,
    )
