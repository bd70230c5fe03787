"""Edits: an entry republished under the same guid with another title or summary.

An edit is not a new item and raises no alert; the item takes the new text
(and search finds it by the new words) and the change is kept in
`item_edits` (old and new text, when it was seen).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from feeds.entry import Entry
from storage.fulltext import index_text
from storage.models import Item, ItemEdit

_CHUNK = 200


def record_edits(
    session: Session, feed_id: int, entries: Sequence[Entry], *, now: datetime
) -> int:
    """Store the changes among entries this feed already had; return how many."""
    by_guid = {e.guid: e for e in entries}
    guids = list(by_guid)
    edits = 0
    for i in range(0, len(guids), _CHUNK):
        stored = session.execute(
            select(
                Item.id, Item.guid, Item.fingerprint, Item.title, Item.summary
            ).where(Item.feed_id == feed_id, Item.guid.in_(guids[i : i + _CHUNK]))
        ).all()
        for item_id, guid, fingerprint, title, summary in stored:
            entry = by_guid[guid]
            if entry.fingerprint == fingerprint:
                continue
            session.add(
                ItemEdit(
                    item_id=item_id,
                    old_title=title,
                    old_summary=summary,
                    new_title=entry.title,
                    new_summary=entry.summary,
                    seen_at=now,
                )
            )
            session.execute(
                update(Item)
                .where(Item.id == item_id)
                .values(
                    title=entry.title,
                    summary=entry.summary,
                    fingerprint=entry.fingerprint,
                    search_text=index_text(entry.title, entry.summary),
                )
            )
            edits += 1
    return edits
