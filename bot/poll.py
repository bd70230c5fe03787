"""One poll cycle: fetch due feeds, store new items, match them, queue alerts.

Per feed, in one transaction: the new items are stored, then matched, then
their hits and outbox rows are written, and the feed's validators and next
due time are updated. A crash anywhere rolls the feed back whole, and the
next cycle fetches it again, so nothing is half-stored or lost.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from bot import __version__
from bot.rules import RuleHit
from bot.runtime import Runtime
from feeds.entry import FetchResult, FetchTarget
from feeds.fetch import fetch_all, user_agent
from feeds.parse import ParseError, parse_feed
from storage.archive import HitRecord, has_items, insert_items, record_hits
from storage.db import transaction
from storage.feedstate import FeedSpec, claim_due, record_fetch, release, sync_feeds

log = logging.getLogger("normwatch.poll")


@dataclass(frozen=True)
class FeedReport:
    """How one feed went in a cycle; printed as one line by `run --once`."""

    name: str
    url: str
    status: str  # ok | not_modified | error
    new_items: int = 0
    hits: int = 0
    alerts: int = 0
    error: str | None = None
    warning: str | None = None
    elapsed: float = 0.0


@dataclass(frozen=True)
class _Claimed:
    id: int
    name: str
    url: str
    state: str | None
    language: str
    etag: str | None
    last_modified: str | None
    interval: timedelta


def sync_config_feeds(rt: Runtime) -> None:
    specs = [
        FeedSpec(f.url, f.name, f.kind, f.state, f.language) for f in rt.config.feeds
    ]
    with transaction(rt.sessions) as session:
        sync_feeds(session, specs, rt.clock())


def _claim(rt: Runtime, now: datetime, *, force: bool) -> list[_Claimed]:
    intervals = {
        f.url: timedelta(seconds=f.interval or rt.config.normwatch.interval)
        for f in rt.config.feeds
    }
    with transaction(rt.sessions) as session:
        # `force` (run --once) polls every feed now: cron sets the pace.
        feeds = claim_due(
            session, intervals, now=now, owner=rt.owner, due_only=not force
        )
        return [
            _Claimed(
                f.id,
                f.name,
                f.url,
                f.state,
                f.language,
                f.etag,
                f.last_modified,
                intervals[f.url],
            )
            for f in feeds
        ]


def _hit_record(hit: RuleHit) -> HitRecord:
    return HitRecord(
        rule=hit.rule,
        topic=hit.topic,
        severity=hit.severity,
        state=hit.state,
        matched=[m.as_dict() for m in hit.matched],
        snippet=hit.snippet,
    )


def _record_outcome(
    rt: Runtime,
    feed: _Claimed,
    result: FetchResult,
    now: datetime,
    *,
    error: str | None,
) -> None:
    """A fetch that stored no items: remember how it went and when to come back."""
    with transaction(rt.sessions) as session:
        record_fetch(
            session,
            feed.id,
            now=now,
            interval=feed.interval,
            http_status=result.http_status,
            etag=result.etag or feed.etag,
            last_modified=result.last_modified or feed.last_modified,
            error=error,
            retry_after=result.retry_after,
        )


def _store(
    rt: Runtime, feed: _Claimed, result: FetchResult, now: datetime
) -> FeedReport:
    """Parse, store, match and queue one feed's fetch result."""
    failed = FeedReport(feed.name, feed.url, "error", elapsed=result.elapsed)
    if result.status == "not_modified":
        _record_outcome(rt, feed, result, now, error=None)
        return replace(failed, status="not_modified")
    if result.status == "error":
        error = f"fetch: {result.error}"
        _record_outcome(rt, feed, result, now, error=error)
        return replace(failed, error=error)
    try:
        parsed = parse_feed(
            result.body,
            headers=result.headers,
            url=result.final_url or feed.url,
            fetched_at=now,
            default_language=feed.language,
        )
    except ParseError as exc:
        _record_outcome(rt, feed, result, now, error=f"parse: {exc}")
        return replace(failed, error=f"parse: {exc}")
    max_age = rt.config.normwatch.alert_max_age
    oldest_alertable = now - timedelta(seconds=max_age) if max_age else None
    hits = alerts = 0
    with transaction(rt.sessions) as session:
        # A new feed's undated entries are its backlog as often as its news:
        # record their hits, alert none of them.
        first_fetch = not has_items(session, feed.id)
        new = insert_items(session, feed.id, parsed.entries, fetched_at=now)
        for item in new:
            matches = rt.matcher.match(
                title=item.entry.title,
                summary=item.entry.summary,
                feed_state=feed.state,
            )
            if not matches:
                continue
            alertable = (
                oldest_alertable is None or item.entry.published_at >= oldest_alertable
            ) and (item.entry.dated or not first_fetch)
            stored = record_hits(
                session,
                item.id,
                [_hit_record(m) for m in matches],
                now=now,
                channel=rt.config.slack.channel,
                alertable=alertable,
            )
            hits += len(stored.hit_ids)
            alerts += stored.queued
        # Same transaction: validators advance only together with the items.
        record_fetch(
            session,
            feed.id,
            now=now,
            interval=feed.interval,
            http_status=result.http_status,
            etag=result.etag,
            last_modified=result.last_modified,
        )
    return FeedReport(
        feed.name,
        feed.url,
        "ok",
        new_items=len(new),
        hits=hits,
        alerts=alerts,
        warning=parsed.warning,
        elapsed=result.elapsed,
    )


def poll_once(rt: Runtime, *, force: bool = False) -> list[FeedReport]:
    """Fetch the feeds that are due (all of them with `force`) and process each."""
    now = rt.clock()
    claimed = _claim(rt, now, force=force)
    if not claimed:
        return []
    agent = user_agent(__version__, rt.config.normwatch.contact)
    targets = [FetchTarget(f.url, f.etag, f.last_modified) for f in claimed]
    results = asyncio.run(fetch_all(targets, agent=agent))
    reports: list[FeedReport] = []
    done: set[int] = set()
    try:
        for feed, result in zip(claimed, results, strict=True):
            if rt.stopping.is_set():
                break
            report = _store_safely(rt, feed, result)
            done.add(feed.id)
            _log(report)
            reports.append(report)
    finally:
        left = [f.id for f in claimed if f.id not in done]
        if left:  # stopped early: let the next run (or instance) take them now
            with transaction(rt.sessions) as session:
                release(session, left, owner=rt.owner)
    return reports


def _store_safely(rt: Runtime, feed: _Claimed, result: FetchResult) -> FeedReport:
    """`_store`, except that a failure is this feed's error, not the cycle's."""
    try:
        return _store(rt, feed, result, rt.clock())
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:300]
        error = f"storage: {type(exc).__name__}: {reason}"
    except Exception as exc:  # a bug or a feed we did not foresee; keep polling
        log.exception("feed %s: unexpected error", feed.name)
        error = f"internal: {type(exc).__name__}: {exc}"[:300]
    # The store rolled back; the feed backs off like any failing feed.
    _record_outcome(rt, feed, result, rt.clock(), error=error)
    return FeedReport(feed.name, feed.url, "error", error=error, elapsed=result.elapsed)


def _log(report: FeedReport) -> None:
    if report.status == "error":
        log.warning("feed %s (%s): %s", report.name, report.url, report.error)
    elif report.status == "not_modified":
        log.info("feed %s: not modified (%.2fs)", report.name, report.elapsed)
    else:
        if report.warning:
            log.warning("feed %s: %s", report.name, report.warning)
        log.info(
            "feed %s: %d new items, %d hits, %d alerts queued (%.2fs)",
            report.name,
            report.new_items,
            report.hits,
            report.alerts,
            report.elapsed,
        )
