"""The `feeds` table: which feeds exist, when each is due, how its last fetch went."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from storage.instances import dead_owners
from storage.models import Feed

MAX_BACKOFF = timedelta(hours=6)


@dataclass(frozen=True)
class FeedSpec:
    """A feed as the config describes it."""

    url: str
    name: str
    kind: str
    state: str | None
    language: str


def sync_feeds(session: Session, specs: Iterable[FeedSpec], now: datetime) -> None:
    """Make the table agree with the config; machine state (etag, due time) is kept."""
    existing = {f.url: f for f in session.scalars(select(Feed))}
    for spec in specs:
        feed = existing.get(spec.url)
        if feed is None:
            session.add(
                Feed(
                    url=spec.url,
                    name=spec.name,
                    kind=spec.kind,
                    state=spec.state,
                    language=spec.language,
                    consecutive_failures=0,
                    items_seen=0,
                    failure_reported=False,
                    next_due_at=now,
                )
            )
        else:
            feed.name, feed.kind, feed.state, feed.language = (
                spec.name,
                spec.kind,
                spec.state,
                spec.language,
            )


def claim_due(
    session: Session,
    urls: Iterable[str],
    *,
    now: datetime,
    owner: str,
    lease: timedelta = timedelta(minutes=5),
    limit: int | None = 2000,
    due_only: bool = True,
    dead_after: timedelta | None = None,
) -> list[Feed]:
    """Due feeds among `urls`, leased to `owner` so another instance skips them.

    A lease is free once it ends, when `owner` itself holds it (an earlier
    cycle of ours that failed half-way; our cycles never overlap), or, with
    `dead_after`, when its holder has stopped beating for that long (see
    storage.instances). On PostgreSQL the rows are taken with `FOR UPDATE
    SKIP LOCKED`: instances claiming at the same moment never wait for each
    other nor take the same feed.

    With `due_only=False` healthy feeds are taken whatever their due time
    (`run --once`: cron sets the pace); failing feeds still wait out their
    backoff and any Retry-After.
    """
    wanted = list(urls)
    if not wanted:
        return []
    free = [
        Feed.lease_until.is_(None),
        Feed.lease_until < now,
        Feed.lease_owner == owner,
    ]
    if dead_after is not None:
        free.append(Feed.lease_owner.in_(dead_owners(now=now, timeout=dead_after)))
    query = (
        select(Feed)
        .where(Feed.url.in_(wanted))
        .where(or_(*free))
        .order_by(Feed.next_due_at)
        .limit(limit)
    )
    due = or_(Feed.next_due_at.is_(None), Feed.next_due_at <= now)
    query = query.where(due if due_only else or_(due, Feed.consecutive_failures == 0))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Feed)
    feeds = list(session.scalars(query))
    for feed in feeds:
        feed.lease_owner, feed.lease_until = owner, now + lease
    return feeds


def preload(session: Session, feed_ids: list[int]) -> list[Feed]:
    """Load many feeds into the session in a few queries (for a batch of updates).

    Keep the list while updating: the session holds its objects weakly, so
    unreferenced ones would be loaded again, one query each."""
    loaded: list[Feed] = []
    for i in range(0, len(feed_ids), 500):
        chunk = feed_ids[i : i + 500]
        loaded += session.scalars(select(Feed).where(Feed.id.in_(chunk))).all()
    return loaded


def backoff(failures: int, interval: timedelta) -> timedelta:
    """Doubling wait after each consecutive failure, capped; never gives up."""
    factor: int = 2 ** min(max(failures - 1, 0), 30)
    return min(interval * factor, max(MAX_BACKOFF, interval))


def record_fetch(
    session: Session,
    feed_id: int,
    *,
    now: datetime,
    interval: timedelta,
    http_status: int | None,
    etag: str | None = None,
    last_modified: str | None = None,
    error: str | None = None,
    retry_after: float | None = None,
    new_items: int = 0,
    body_hash: str | None = None,
    moved_to: str | None = None,
    rng: random.Random | None = None,
) -> None:
    """Store the outcome of a fetch and when the feed is due next; release its lease."""
    feed = session.get(Feed, feed_id)
    if feed is None:
        return
    if error is None:
        values = _success(
            now=now,
            interval=interval,
            http_status=http_status,
            etag=etag,
            last_modified=last_modified,
            body_hash=body_hash,
            moved_to=moved_to,
            rng=rng,
        )
        for name, value in values.items():
            setattr(feed, name, value)
        feed.items_seen += new_items
        return
    for name, value in _fetched(now, http_status, moved_to).items():
        setattr(feed, name, value)
    feed.consecutive_failures += 1
    feed.last_error = error[:2000]
    feed.failing_since = feed.failing_since or now
    wait = backoff(feed.consecutive_failures, interval)
    if retry_after:
        wait = max(wait, timedelta(seconds=retry_after))
    feed.next_due_at = now + wait + timedelta(seconds=_jitter(interval, rng))


def _fetched(
    now: datetime, http_status: int | None, moved_to: str | None
) -> dict[str, Any]:
    """The columns every fetch sets, whatever its outcome; the lease ends."""
    values: dict[str, Any] = {
        "last_fetched_at": now,
        "last_status": http_status,
        "lease_owner": None,
        "lease_until": None,
    }
    if moved_to is not None:
        values["moved_to"] = moved_to[:2048]
    return values


def _jitter(interval: timedelta, rng: random.Random | None) -> float:
    return interval.total_seconds() * 0.1 * (rng or random).random()


def _success(
    *,
    now: datetime,
    interval: timedelta,
    http_status: int | None,
    etag: str | None,
    last_modified: str | None,
    body_hash: str | None,
    moved_to: str | None,
    rng: random.Random | None = None,
) -> dict[str, Any]:
    """The columns a successful fetch sets (all but items_seen)."""
    values: dict[str, Any] = {
        **_fetched(now, http_status, moved_to),
        "consecutive_failures": 0,
        "last_error": None,
        "last_success_at": now,
        "failing_since": None,
        "next_due_at": now + interval + timedelta(seconds=_jitter(interval, rng)),
    }
    if body_hash is not None:
        values["body_hash"] = body_hash
    if etag is not None or last_modified is not None:
        # Validators that do not fit their column are junk: do without them.
        values["etag"] = etag if etag and len(etag) <= 512 else None
        values["last_modified"] = (
            last_modified if last_modified and len(last_modified) <= 128 else None
        )
    return values


@dataclass(frozen=True)
class Unchanged:
    """A fetch that found the feed as it was (304, or the same body)."""

    feed_id: int
    interval: timedelta
    http_status: int | None
    etag: str | None
    last_modified: str | None
    moved_to: str | None = None


def record_unchanged(
    session: Session, fetches: Sequence[Unchanged], *, now: datetime
) -> None:
    """`record_fetch` for many unchanged feeds at once: one UPDATE by primary
    key sent as an executemany, without loading a row (most of a steady
    cycle's bookkeeping)."""
    rows = [
        {
            "id": f.feed_id,
            **_success(
                now=now,
                interval=f.interval,
                http_status=f.http_status,
                etag=f.etag,
                last_modified=f.last_modified,
                body_hash=None,
                moved_to=f.moved_to,
            ),
        }
        for f in fetches
    ]
    # Rows with the same columns go in one executemany each.
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    for group in groups.values():
        session.execute(update(Feed), group)


def release(session: Session, feed_ids: list[int], *, owner: str) -> None:
    """Give back leases this owner took and did not use."""
    session.execute(
        update(Feed)
        .where(Feed.id.in_(feed_ids), Feed.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )


@dataclass(frozen=True)
class FeedHealth:
    """One feed as `normwatch feeds` shows it; field names are the JSON contract."""

    name: str
    url: str
    state: str | None
    language: str
    kind: str
    status: str  # ok | failing | new
    last_status: int | None
    last_fetched_at: datetime | None
    last_success_at: datetime | None
    consecutive_failures: int
    failing_since: datetime | None
    items_seen: int
    last_error: str | None
    next_due_at: datetime | None
    moved_to: str | None


def feed_health(
    session: Session, urls: Iterable[str] | None = None
) -> list[FeedHealth]:
    query = select(Feed).order_by(Feed.name)
    if urls is not None:
        query = query.where(Feed.url.in_(list(urls)))
    return [
        FeedHealth(
            name=f.name,
            url=f.url,
            state=f.state,
            language=f.language,
            kind=f.kind,
            status="failing"
            if f.consecutive_failures
            else ("ok" if f.last_success_at else "new"),
            last_status=f.last_status,
            last_fetched_at=f.last_fetched_at,
            last_success_at=f.last_success_at,
            consecutive_failures=f.consecutive_failures,
            failing_since=f.failing_since,
            items_seen=f.items_seen,
            last_error=f.last_error,
            next_due_at=f.next_due_at,
            moved_to=f.moved_to,
        )
        for f in session.scalars(query)
    ]


def take_health_news(
    session: Session, urls: Iterable[str], *, now: datetime, failing_for: timedelta
) -> tuple[list[Feed], list[Feed]]:
    """Feeds failing for longer than `failing_for` not yet reported, and reported
    feeds that recovered; each is marked, so it is told once (per instance race:
    a conditional UPDATE decides who tells)."""
    wanted = list(urls)
    newly_failing: list[Feed] = []
    recovered: list[Feed] = []
    candidates = session.scalars(
        select(Feed).where(
            Feed.url.in_(wanted),
            or_(
                (Feed.failure_reported.is_(False))
                & (Feed.failing_since <= now - failing_for),
                (Feed.failure_reported.is_(True)) & (Feed.failing_since.is_(None)),
            ),
        )
    ).all()
    for feed in candidates:
        telling_failure = not feed.failure_reported
        taken = session.execute(
            update(Feed)
            .where(Feed.id == feed.id, Feed.failure_reported.is_(not telling_failure))
            .values(failure_reported=telling_failure)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            (newly_failing if telling_failure else recovered).append(feed)
    return newly_failing, recovered
