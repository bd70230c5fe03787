"""Searching the history: hits, or the whole item archive (what the rules missed).

Both take plain filter values and a Session, and return plain rows, so the
command line, the web view and Slack's slash command share them. The query
language is `storage.fulltext`'s: words, `prefix*`, `"a phrase"`, `a OR b`,
`-word`; case and accents never matter.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from storage.fulltext import SearchSyntaxError, newest_matches, parse_query
from storage.history import HitFilter, HitRow, list_hits
from storage.models import Feed, Hit, Item

__all__ = [
    "HitFilter",
    "HitRow",
    "ItemFilter",
    "ItemRow",
    "SearchSyntaxError",
    "list_items",
    "search_hits",
    "search_items",
]

EXTRACT_CHARS = 240


def search_hits(
    session: Session, text: str, filters: HitFilter | None = None
) -> list[HitRow]:
    """Hits whose item's title or summary match `text`, newest first."""
    return list_hits(session, replace(filters or HitFilter(), search=text))


@dataclass(frozen=True)
class ItemFilter:
    feed: str | None = None  # the feed's name, any case
    language: str | None = None
    state: str | None = None  # the feed's state
    since: datetime | None = None  # when the item was fetched
    until: datetime | None = None
    matched: bool | None = None  # True: only items with hits; False: only without
    search: str | None = None
    oldest_first: bool = False
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class ItemRow:
    """One archived item; field names are a public contract (JSON output)."""

    id: int
    title: str
    url: str | None
    feed: str
    feed_state: str | None
    language: str | None
    published_at: datetime | None
    fetched_at: datetime
    extract: str
    rules: list[str] = field(default_factory=list)  # rules that matched it


def list_items(session: Session, filters: ItemFilter) -> list[ItemRow]:
    """Archived items (matched or not) passing the filters, newest stored
    first (item ids grow as items are stored)."""
    query = (
        select(Item, Feed.name, Feed.state)
        .join(Feed, Feed.id == Item.feed_id)
        .limit(filters.limit)
        .offset(filters.offset)
    )
    if filters.feed:
        query = query.where(func.lower(Feed.name) == filters.feed.lower())
    if filters.language:
        query = query.where(Item.language == filters.language.lower())
    if filters.state:
        query = query.where(Feed.state == filters.state.upper())
    if filters.since:
        query = query.where(Item.fetched_at >= filters.since)
    if filters.until:
        query = query.where(Item.fetched_at < filters.until)
    if filters.matched is not None:
        has_hits = exists().where(Hit.item_id == Item.id).correlate(Item)
        query = query.where(has_hits if filters.matched else ~has_hits)
    newest = not filters.oldest_first
    if filters.search:
        dialect = session.get_bind().dialect.name
        query = newest_matches(
            query, dialect, parse_query(filters.search), newest=newest
        )
    else:
        query = query.order_by(Item.id.desc() if newest else Item.id.asc())
    page = session.execute(query).all()
    rules: dict[int, list[str]] = {}
    if page:
        for item_id, rule in session.execute(
            select(Hit.item_id, Hit.rule)
            .where(Hit.item_id.in_([item.id for item, _, _ in page]))
            .order_by(Hit.rule)
        ):
            rules.setdefault(item_id, []).append(rule)
    return [
        ItemRow(
            id=item.id,
            title=item.title,
            url=item.url,
            feed=feed_name,
            feed_state=feed_state,
            language=item.language,
            published_at=item.published_at,
            fetched_at=item.fetched_at,
            extract=_extract(item.summary),
            rules=rules.get(item.id, []),
        )
        for item, feed_name, feed_state in page
    ]


def search_items(
    session: Session, text: str, filters: ItemFilter | None = None
) -> list[ItemRow]:
    """Every archived item (matched or not) whose title or summary match `text`."""
    return list_items(session, replace(filters or ItemFilter(), search=text))


def _extract(summary: str) -> str:
    if len(summary) <= EXTRACT_CHARS:
        return summary
    return summary[:EXTRACT_CHARS].rsplit(" ", 1)[0] + " …"
