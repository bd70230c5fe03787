"""The archive: every item ever fetched, stored once; hits, stories and outbox rows.

Inserts are idempotent (`ON CONFLICT DO NOTHING … RETURNING`): a repeated poll
returns no new rows, so nothing downstream happens twice.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from feeds.entry import Entry
from storage.db import flushed_connection
from storage.dialect import insert_ignore
from storage.fulltext import index_text
from storage.models import Hit, Item, Outbox, Story

# Rows per statement: far below SQLite's limit of 32,766 bound parameters.
_CHUNK = 200


@dataclass(frozen=True)
class NewItem:
    id: int
    entry: Entry


@dataclass(frozen=True)
class Changed:
    """A stored item whose entry came back with another title or summary."""

    id: int
    entry: Entry


@dataclass(frozen=True)
class Stored:
    """What one `store_entries` call did, per feed id."""

    new: dict[int, list[NewItem]]
    changed: dict[int, list[Changed]]


@dataclass(frozen=True)
class HitRecord:
    """What the matcher found, in storable form."""

    rule: str
    topic: str
    severity: str
    state: str | None
    matched: list[dict[str, Any]]
    snippet: str


@dataclass(frozen=True)
class Recorded:
    hit_ids: list[int]  # the hits that were new
    queued: bool  # whether this call queued the story's alert


def insert_items(
    session: Session, feed_id: int, entries: Sequence[Entry], *, fetched_at: datetime
) -> list[NewItem]:
    """Store entries not seen before for this feed; return only the new ones."""
    return store_entries(session, {feed_id: entries}, fetched_at=fetched_at).new[
        feed_id
    ]


def store_entries(
    session: Session,
    entries: Mapping[int, Sequence[Entry]],
    *,
    fetched_at: datetime,
    empty: Collection[int] = (),
) -> Stored:
    """Insert the entries not seen before, and tell the stored ones whose text
    changed (their fingerprint differs) from the rest, for many feeds at once.

    empty: feeds known to have no stored item yet, whose ids need no lookup."""
    unique: dict[tuple[int, str], Entry] = {}
    for feed_id, feed_entries in entries.items():
        for entry in feed_entries:  # a feed may repeat a guid within one document
            unique.setdefault((feed_id, entry.guid), entry)
    # Most of a feed is already stored: ask which ids are new before inserting,
    # and with their fingerprints which stored ones changed (one lookup per
    # 200 entries of the batch, not a query per feed for the edits). Both IN
    # lists use the (feed_id, guid) index; a guid of one feed that another
    # feed also has is filtered out below.
    lookup = [key for key in unique if key[0] not in empty]
    known: set[tuple[int, str]] = set()
    changed: dict[int, list[Changed]] = {feed_id: [] for feed_id in entries}
    for i in range(0, len(lookup), _CHUNK):
        chunk = lookup[i : i + _CHUNK]
        found = session.execute(
            select(Item.feed_id, Item.guid, Item.id, Item.fingerprint).where(
                Item.feed_id.in_({feed_id for feed_id, _ in chunk}),
                Item.guid.in_({guid for _, guid in chunk}),
            )
        )
        for feed_id, guid, item_id, fingerprint in found:
            current = unique.get((feed_id, guid))
            if current is None:  # a guid of another feed in this chunk
                continue
            known.add((feed_id, guid))
            if current.fingerprint != fingerprint:
                changed[feed_id].append(Changed(item_id, current))
    rows = [
        {
            "feed_id": feed_id,
            "guid": e.guid,
            "url": e.url,
            "canonical_url": e.canonical_url,
            "title": e.title,
            "summary": e.summary,
            "language": e.language,
            "published_at": e.published_at,
            "fetched_at": fetched_at,
            "fingerprint": e.fingerprint,
            # Given here, so the column default need not dig it out per row.
            "search_text": index_text(e.title, e.summary),
        }
        for (feed_id, _), e in unique.items()
        if (feed_id, e.guid) not in known
    ]
    new: dict[int, list[NewItem]] = {feed_id: [] for feed_id in entries}
    if not rows:
        return Stored(new, changed)
    # One statement, compiled once and cached; SQLAlchemy sends the rows as
    # multi-row INSERT … ON CONFLICT DO NOTHING RETURNING batches ("insert
    # many values"): only rows really inserted come back (another instance may
    # race us), on SQLite and PostgreSQL alike.
    stmt = insert_ignore(
        session, Item, conflict=["feed_id", "guid"], returning=["id", "feed_id", "guid"]
    )
    for row_id, feed_id, guid in session.connection().execute(stmt, rows):
        new[feed_id].append(NewItem(row_id, unique[(feed_id, guid)]))
    return Stored(new, changed)


def feeds_with_items(session: Session, feed_ids: Sequence[int]) -> set[int]:
    """Which of these feeds have at least one stored item."""
    found: set[int] = set()
    for i in range(0, len(feed_ids), _CHUNK):
        chunk = feed_ids[i : i + _CHUNK]
        found.update(
            session.scalars(
                select(Item.feed_id).where(Item.feed_id.in_(chunk)).distinct()
            )
        )
    return found


def story_for(session: Session, item_id: int, *, now: datetime) -> int:
    """The story of an item: shared by items with the same canonical URL."""
    item = session.get(Item, item_id)
    if item is None:
        raise LookupError(f"item {item_id} does not exist")
    if item.story_id is not None:
        return item.story_id
    key = item.canonical_url or f"item:{item.id}"
    session.execute(
        insert_ignore(session, Story, conflict=["key"]),
        {"key": key, "title": item.title, "first_seen_at": now},
    )
    story_id = session.scalar(select(Story.id).where(Story.key == key))
    assert story_id is not None
    item.story_id = story_id
    return story_id


def record_hits(
    session: Session,
    item_id: int,
    hits: Sequence[HitRecord],
    *,
    now: datetime,
    channels: Sequence[str],
    alertable: bool,
    story_id: int | None = None,
) -> Recorded:
    """Store hits and, when alertable, the story's outbox row for each channel,
    in the caller's transaction. `story_id` is the story `bot.stories` chose;
    without it, the item's own canonical URL decides."""
    if not hits:
        return Recorded([], queued=False)
    if story_id is None:
        story_id = story_for(session, item_id, now=now)
    stmt = insert_ignore(session, Hit, conflict=["item_id", "rule"], returning=["id"])
    connection = flushed_connection(session)
    new_ids: list[int] = []
    for hit in hits:
        row = {
            "item_id": item_id,
            "story_id": story_id,
            "rule": hit.rule,
            "topic": hit.topic,
            "severity": hit.severity,
            "state": hit.state,
            "matched": hit.matched,
            "snippet": hit.snippet,
            "created_at": now,
            "alertable": alertable,
        }
        new_ids.extend(connection.execute(stmt, row).scalars())
    queued = False
    if alertable and new_ids:
        outbox = insert_ignore(
            session,
            Outbox,
            conflict=["story_id", "channel", "kind", "outlet"],
            returning=["id"],
        )
        for channel in channels:
            queued |= bool(
                connection.execute(
                    outbox,
                    {
                        "story_id": story_id,
                        "hit_id": new_ids[0],
                        "channel": channel,
                        "kind": "alert",
                        "outlet": "",
                        "status": "pending",
                        "attempts": 0,
                        "created_at": now,
                        "next_attempt_at": now,
                    },
                ).all()
            )
    return Recorded(new_ids, queued=queued)
