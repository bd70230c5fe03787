"""Reading the hit history: the listing behind `normwatch hits`, the web view
and Slack's `/normwatch search`, and the archive streams behind backtests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, exists, func, select
from sqlalchemy.orm import Session

from storage.fulltext import parse_query, search_condition
from storage.models import Feed, Feedback, Hit, Item, Outbox

VERDICTS = ("relevant", "not_relevant")
NO_VERDICT = "none"  # a verdict filter for hits nobody has judged yet


@dataclass(frozen=True)
class HitFilter:
    """What to list; every field left at its default lets everything through."""

    state: str | None = None
    topic: str | None = None
    rule: str | None = None
    feed: str | None = None  # the feed's name, any case
    language: str | None = None
    since: datetime | None = None  # when the hit was found
    until: datetime | None = None
    verdict: str | None = None  # relevant | not_relevant | none (latest feedback)
    alerted: bool | None = None  # posted to Slack or not
    search: str | None = None  # full-text query (storage.fulltext)
    oldest_first: bool = False
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class HitRow:
    """One hit as listings show it; field names are a public contract (JSON output)."""

    id: int
    title: str
    url: str | None
    feed: str
    language: str | None
    state: str | None
    topic: str
    rule: str
    severity: str
    matched: list[str]
    snippet: str
    published_at: datetime | None
    fetched_at: datetime
    story: int
    alerted: bool
    verdict: str | None = None
    found_at: datetime | None = None


def alerted_clause() -> ColumnElement[bool]:
    """The hit's story was posted to Slack."""
    return (
        exists()
        .where(Outbox.story_id == Hit.story_id, Outbox.status == "sent")
        .correlate(Hit)
    )


def _latest_verdicts() -> Subquery:
    # The verdict recorded last for each hit (feedback is only ever added).
    # A GROUP BY, joined once, costs one pass over the small feedback table
    # and gives the planner honest row estimates, unlike a lookup per hit or
    # a window function's rank filter.
    last = (
        select(Feedback.hit_id, func.max(Feedback.id).label("feedback_id"))
        .group_by(Feedback.hit_id)
        .subquery("last_feedback")
    )
    return (
        select(last.c.hit_id, Feedback.verdict)
        .join(Feedback, Feedback.id == last.c.feedback_id)
        .subquery("latest_verdict")
    )


# Each hit's most recent verdict (no row when nobody judged it): join with
# `select_hits(..., verdicts=True)` and read LATEST_VERDICT.c.verdict.
LATEST_VERDICT = _latest_verdicts()


def hit_conditions(filters: HitFilter, *, dialect: str) -> list[ColumnElement[bool]]:
    """WHERE conditions for `filters` (see `select_hits` for the joins)."""
    conditions: list[ColumnElement[bool]] = []
    if filters.state:
        conditions.append(Hit.state == filters.state.upper())
    if filters.topic:
        conditions.append(Hit.topic == filters.topic)
    if filters.rule:
        conditions.append(Hit.rule == filters.rule)
    if filters.feed:
        conditions.append(func.lower(Feed.name) == filters.feed.lower())
    if filters.language:
        conditions.append(Item.language == filters.language.lower())
    if filters.since:
        conditions.append(Hit.created_at >= filters.since)
    if filters.until:
        conditions.append(Hit.created_at < filters.until)
    if filters.verdict == NO_VERDICT:
        conditions.append(LATEST_VERDICT.c.verdict.is_(None))
    elif filters.verdict:
        conditions.append(LATEST_VERDICT.c.verdict == filters.verdict)
    if filters.alerted is not None:
        clause = alerted_clause()
        conditions.append(clause if filters.alerted else ~clause)
    if filters.search:
        conditions.append(search_condition(dialect, parse_query(filters.search)))
    return conditions


def _order(when: Any, key: Any, *, newest: bool) -> tuple[Any, Any]:
    return (when.desc(), key.desc()) if newest else (when.asc(), key.asc())


def select_hits(
    filters: HitFilter,
    *columns: Any,
    dialect: str,
    items: bool = False,
    feeds: bool = False,
    verdicts: bool = False,
) -> Select[Any]:
    """SELECT `columns` FROM hits passing `filters`, joined only to what the
    columns (`items`, `feeds`, `verdicts`) and the filters need: counting
    20,000 hits should not read a million items."""
    feeds = feeds or bool(filters.feed)
    items = items or feeds or bool(filters.language or filters.search)
    query = select(*columns).select_from(Hit)
    if items:
        query = query.join(Item, Item.id == Hit.item_id)
    if feeds:
        query = query.join(Feed, Feed.id == Item.feed_id)
    if verdicts or filters.verdict:
        query = query.outerjoin(LATEST_VERDICT, LATEST_VERDICT.c.hit_id == Hit.id)
    return query.where(*hit_conditions(filters, dialect=dialect))


def list_hits(session: Session, filters: HitFilter) -> list[HitRow]:
    """Hits matching the filters, newest first (or oldest first), one page."""
    dialect = session.get_bind().dialect.name
    newest = not filters.oldest_first
    # The page is chosen from hits (and only the joins the filters need);
    # its hundred rows are then joined to their items, feeds and verdicts,
    # so a deep page never drags every earlier row through those joins.
    page = (
        select_hits(filters, Hit.id, Hit.created_at, dialect=dialect)
        .order_by(*_order(Hit.created_at, Hit.id, newest=newest))
        .limit(filters.limit)
        .offset(filters.offset)
        .subquery("page")
    )
    query = (
        select(
            Hit,
            Item,
            Feed.name,
            alerted_clause().label("alerted"),
            LATEST_VERDICT.c.verdict,
        )
        .join(page, page.c.id == Hit.id)
        .join(Item, Item.id == Hit.item_id)
        .join(Feed, Feed.id == Item.feed_id)
        .outerjoin(LATEST_VERDICT, LATEST_VERDICT.c.hit_id == Hit.id)
        .order_by(*_order(page.c.created_at, page.c.id, newest=newest))
    )
    return [
        HitRow(
            id=hit.id,
            title=item.title,
            url=item.url,
            feed=feed_name,
            language=item.language,
            state=hit.state,
            topic=hit.topic,
            rule=hit.rule,
            severity=hit.severity,
            matched=list(dict.fromkeys(str(m.get("text", "")) for m in hit.matched)),
            snippet=hit.snippet,
            published_at=item.published_at,
            fetched_at=item.fetched_at,
            story=hit.story_id,
            alerted=bool(was_alerted),
            verdict=verdict,
            found_at=hit.created_at,
        )
        for hit, item, feed_name, was_alerted, verdict in session.execute(query).all()
    ]


@dataclass(frozen=True)
class ArchivedItem:
    """An item as the rules see it, for backtests."""

    id: int
    title: str
    summary: str
    url: str | None
    feed: str
    feed_state: str | None
    language: str | None
    published_at: datetime | None
    feed_kind: str = "news"


def archived_items(
    session: Session, *, since: datetime | None = None, batch: int = 2000
) -> Iterator[ArchivedItem]:
    """Every stored item (not only hits), oldest first, streamed in batches."""
    query = select(Item, Feed.name, Feed.state, Feed.kind).join(
        Feed, Feed.id == Item.feed_id
    )
    if since is not None:
        query = query.where(Item.fetched_at >= since)
    last_id = 0
    while True:
        page = session.execute(
            query.where(Item.id > last_id).order_by(Item.id).limit(batch)
        ).all()
        if not page:
            return
        for item, feed_name, feed_state, feed_kind in page:
            yield ArchivedItem(
                item.id,
                item.title,
                item.summary,
                item.url,
                feed_name,
                feed_state,
                item.language,
                item.published_at,
                feed_kind,
            )
        last_id = page[-1][0].id
        session.expunge_all()  # keep memory flat over a large archive


def stored_hits(
    session: Session, *, since: datetime | None = None
) -> dict[int, set[str]]:
    """Rule ids recorded per item id."""
    query = select(Hit.item_id, Hit.rule).join(Item, Item.id == Hit.item_id)
    if since is not None:
        query = query.where(Item.fetched_at >= since)
    out: dict[int, set[str]] = {}
    for item_id, rule in session.execute(query):
        out.setdefault(item_id, set()).add(rule)
    return out
