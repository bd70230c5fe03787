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

from storage.archive import Changed
from storage.fulltext import index_text
from storage.models import Item, ItemEdit

_CHUNK = 200


def record_edits(session: Session, changed: Sequence[Changed], *, now: datetime) -> int:
    """Keep each changed item's old and new text and give it the new; return
    how many. `changed` comes from `storage.archive.store_entries`, which
    found them by their fingerprints."""
    by_id = {c.id: c.entry for c in changed}
    ids = list(by_id)
    edits = 0  # an item pruned meanwhile has nothing left to edit
    for i in range(0, len(ids), _CHUNK):
        stored = session.execute(
            select(Item.id, Item.title, Item.summary).where(
                Item.id.in_(ids[i : i + _CHUNK])
            )
        ).all()
        for item_id, title, summary in stored:
            entry = by_id[item_id]
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
