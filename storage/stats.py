"""Counting the hit history: hits per state, topic, rule, feed, language, day
or week, with the precision the team's feedback gives each group.

Precision is relevant / (relevant + not relevant) over the hits someone
judged, using each hit's latest verdict; None while nobody judged any.
Days and weeks are the team's (a time zone), not UTC.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import QueryableAttribute, Session, aliased

from storage.history import LATEST_VERDICT, HitFilter, select_hits
from storage.models import Feed, Hit, Item

GROUPINGS = ("state", "topic", "rule", "feed", "language", "day", "week")


def _of_item(by: str, dialect: str) -> ColumnElement[Any]:
    """The hit's feed name or language.

    PostgreSQL joins (a hash join over the hits' items). SQLite looks it up
    per hit: for a GROUP BY over the join it would walk every item of every
    feed through the feed index (8 s on a million items, 0.1 s this way),
    while PostgreSQL runs such lookups as a slower subplan (1 s).
    """
    if dialect == "postgresql":
        return (Feed.name if by == "feed" else Item.language).expression
    item, feed = aliased(Item), aliased(Feed)
    return (
        select(feed.name if by == "feed" else item.language)
        .select_from(item)
        .join(feed, feed.id == item.feed_id)
        .where(item.id == Hit.item_id)
        .correlate(Hit)
        .scalar_subquery()
    )


def _key(by: str, dialect: str) -> ColumnElement[Any]:
    simple: dict[str, QueryableAttribute[Any]] = {
        "state": Hit.state,
        "topic": Hit.topic,
        "rule": Hit.rule,
    }
    if by in simple:
        return simple[by].expression
    return _of_item(by, dialect)


@dataclass(frozen=True)
class GroupCount:
    """One row of `normwatch stats`; field names are a public contract."""

    key: str  # the state, topic, … ; a day or a week's Monday as YYYY-MM-DD
    hits: int
    relevant: int
    not_relevant: int

    @property
    def judged(self) -> int:
        return self.relevant + self.not_relevant

    @property
    def precision(self) -> float | None:
        return self.relevant / self.judged if self.judged else None


@dataclass(frozen=True)
class DayCount:
    day: date
    state: str  # "" when the hit has no state
    hits: int


def _judged_hits(
    session: Session, filters: HitFilter, key: ColumnElement[Any], *, by: str = ""
) -> Select[Any]:
    """Each filtered hit's `key` beside its latest verdict."""
    dialect = session.get_bind().dialect.name
    joined = dialect == "postgresql"  # see _of_item
    return select_hits(
        filters,
        key.label("key"),
        LATEST_VERDICT.c.verdict,
        dialect=dialect,
        items=joined and by == "language",
        feeds=joined and by == "feed",
        verdicts=True,
    )


def count_hits(
    session: Session, filters: HitFilter, *, by: str, tz: ZoneInfo | None = None
) -> list[GroupCount]:
    """Hits passing `filters`, counted per `by` (one of GROUPINGS).

    Categories come largest first; days and weeks in calendar order.
    `limit` and `offset` of the filter do not apply: every hit counts.
    """
    if by not in GROUPINGS:
        raise ValueError(
            f"cannot group by {by!r}; choose one of {', '.join(GROUPINGS)}"
        )
    if by in ("day", "week"):
        return _count_by_period(session, filters, weekly=by == "week", tz=tz)
    dialect = session.get_bind().dialect.name
    rows = _judged_hits(session, filters, _key(by, dialect), by=by).subquery()
    query = (
        select(
            rows.c.key,
            func.count(),
            func.count().filter(rows.c.verdict == "relevant"),
            func.count().filter(rows.c.verdict == "not_relevant"),
        )
        .group_by(rows.c.key)
        .order_by(func.count().desc(), rows.c.key)
    )
    return [
        GroupCount(key or "", hits, relevant, not_relevant)
        for key, hits, relevant, not_relevant in session.execute(query)
    ]


def _local_day(moment: datetime, tz: ZoneInfo | None) -> date:
    return (moment.astimezone(tz) if tz else moment).date()


def _count_by_period(
    session: Session, filters: HitFilter, *, weekly: bool, tz: ZoneInfo | None
) -> list[GroupCount]:
    # Bucketing in Python keeps days in the team's time zone on both backends;
    # it reads two small columns per hit, which stays well under a second for
    # tens of thousands of hits.
    hits: Counter[date] = Counter()
    verdicts: Counter[tuple[date, str]] = Counter()
    for created_at, verdict in session.execute(
        _judged_hits(session, filters, Hit.created_at.expression)
    ):
        day = _local_day(created_at, tz)
        if weekly:
            day -= timedelta(days=day.weekday())
        hits[day] += 1
        if verdict:
            verdicts[(day, verdict)] += 1
    return [
        GroupCount(
            day.isoformat(),
            hits[day],
            verdicts[(day, "relevant")],
            verdicts[(day, "not_relevant")],
        )
        for day in sorted(hits)
    ]


def hits_per_day_by_state(
    session: Session, filters: HitFilter, *, tz: ZoneInfo | None = None
) -> list[DayCount]:
    """Hits per (local) day and state, for charts; days without hits are absent."""
    query = select_hits(
        filters, Hit.created_at, Hit.state, dialect=session.get_bind().dialect.name
    )
    counts: Counter[tuple[date, str]] = Counter(
        (_local_day(created_at, tz), state or "")
        for created_at, state in session.execute(query)
    )
    return [DayCount(day, state, n) for (day, state), n in sorted(counts.items())]


def days_between(counts: Iterable[DayCount]) -> list[date]:
    """Every day from the first to the last in `counts`, gaps included."""
    days = sorted({c.day for c in counts})
    if not days:
        return []
    return [days[0] + timedelta(days=i) for i in range((days[-1] - days[0]).days + 1)]
