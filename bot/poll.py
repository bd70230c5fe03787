"""One poll cycle: fetch due feeds, store new items, match them, queue alerts.

Fetches run concurrently and each result is processed as soon as it is in,
so parsing overlaps the network wait. Per feed, in one transaction: the new
items are stored, then matched, then their hits and outbox rows are written,
and the feed's validators and next due time are updated. A crash anywhere
rolls the feed back whole, and the next cycle fetches it again, so nothing is
half-stored or lost. Unchanged feeds (304, or the same body as last time)
cost no parsing, and their bookkeeping is written in one batch.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from bot import __version__
from bot.config import Config
from bot.rules import RuleHit
from bot.runtime import Runtime
from bot.stories import Report, file_hits
from feeds import parsejob
from feeds.entry import Entry, FetchResult, FetchTarget, ParsedFeed
from feeds.fetch import FetchLimits, fetch_stream, user_agent
from feeds.parse import ParseError, parse_feed
from feeds.parsejob import ParseJob
from feeds.parseworker import ParseWorker, WorkerFailed
from storage.archive import (
    HitRecord,
    NewItem,
    feeds_with_items,
    store_entries,
)
from storage.db import transaction
from storage.edits import record_edits
from storage.feedstate import (
    FeedSpec,
    Unchanged,
    claim_due,
    preload,
    record_fetch,
    record_unchanged,
    release,
    sync_feeds,
)

log = logging.getLogger("normwatch.poll")

# Parsing is pure, CPU-bound Python. With `[fetch] parse_workers`, changed
# feeds past this many in one cycle are parsed in worker processes, so the
# event loop (downloads) and the store thread keep the interpreter; for a few
# feeds a worker would cost more to start (~0.3 s of CPU) than it saves.
POOL_AFTER = 16
# Jobs handed to one parse worker at a time (see _Parsing._pump).
IN_FLIGHT = 2
# Feeds stored per transaction: one commit (one fsync) for many feeds.
BATCH = 64


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
    body_hash: str | None
    interval: timedelta
    format: str = "feed"
    items_seen: int = 0
    kind: str = "news"
    tracking: tuple[str, ...] = ()  # [stories] tracking_params


def fetch_limits(config: Config) -> FetchLimits:
    f = config.fetch
    return FetchLimits(
        concurrency=f.concurrency,
        per_host=f.per_host,
        connect_timeout=f.connect_timeout,
        read_timeout=f.read_timeout,
        deadline=f.deadline,
        max_body=f.max_body,
    )


def sync_config_feeds(rt: Runtime) -> None:
    specs = [
        FeedSpec(f.url, f.name, f.kind, f.state, f.language) for f in rt.config.feeds
    ]
    for attempt in range(3):
        try:
            with transaction(rt.sessions) as session:
                sync_feeds(session, specs, rt.clock())
            return
        except IntegrityError:
            # Another instance starting at the same moment added the same new
            # feeds first; the next try finds them and only updates.
            if attempt == 2:
                raise


def _claim(rt: Runtime, now: datetime, *, force: bool) -> list[_Claimed]:
    intervals = {
        f.url: timedelta(seconds=f.interval or rt.config.normwatch.interval)
        for f in rt.config.feeds
    }
    formats = {f.url: f.format for f in rt.config.feeds}
    with transaction(rt.sessions) as session:
        # `force` (run --once) polls every healthy feed now: cron sets the pace.
        feeds = claim_due(
            session,
            intervals,
            now=now,
            owner=rt.owner,
            due_only=not force,
            dead_after=rt.dead_after,
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
                f.body_hash,
                intervals[f.url],
                formats[f.url],
                f.items_seen,
                f.kind,
                tuple(rt.config.stories.tracking_params),
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


def _report(item_id: int, feed: str, entry: Entry) -> Report:
    return Report(
        item_id=item_id,
        feed=feed,
        url=entry.url,
        canonical_url=entry.canonical_url,
        title=entry.title,
        summary=entry.summary,
        language=entry.language,
        published_at=entry.published_at,
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
        _write_outcome(session, feed, result, now, error=error)


def _write_outcome(
    session: Session,
    feed: _Claimed,
    result: FetchResult,
    now: datetime,
    *,
    error: str | None,
) -> None:
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
        moved_to=result.moved_to,
    )


def _unchanged(feed: _Claimed, result: FetchResult) -> bool:
    if result.status == "not_modified":
        return True
    # No validators from the server: the same bytes as last time need no parse.
    return result.status == "ok" and feed.body_hash == _digest(result.body)


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _job(feed: _Claimed, result: FetchResult, now: datetime) -> ParseJob:
    return ParseJob(
        feed.format,
        result.body,
        result.headers,
        result.final_url or feed.url,
        now,
        feed.language,
        feed.tracking,
    )


def _parse(feed: _Claimed, result: FetchResult, now: datetime) -> ParsedFeed | str:
    """Parse here (the store thread); a failure comes back as its error line."""
    try:
        return parsejob.run(_job(feed, result, now), parse=parse_feed)
    except ParseError as exc:
        return f"parse: {exc}"
    except Exception as exc:  # a bug or a feed we did not foresee; keep polling
        log.exception("feed %s: unexpected error", feed.name)
        return f"internal: {type(exc).__name__}: {exc}"[:300]


# A fetched feed on its way to storage: its parsed entries, an error line
# ("fetch: …", "parse: …") or None when the store thread is to parse it.
_Ready = tuple[_Claimed, FetchResult, ParsedFeed | str | None]
_Parsed = tuple[_Claimed, FetchResult, ParsedFeed | str]
# A changed feed waiting for a parse worker, with the cycle's time.
_Unparsed = tuple[_Claimed, FetchResult, datetime]


def _store_batch(rt: Runtime, batch: list[_Ready]) -> list[FeedReport]:
    """Parse what is unparsed, then store the batch in one transaction.

    One commit for many feeds: each feed is still all or nothing (validators
    advance only with its items). If anything fails, the batch is rolled back
    and stored feed by feed, so only the culprit's error is recorded."""
    now = rt.clock()
    ready: list[_Parsed] = [
        (feed, result, _parse(feed, result, now) if parsed is None else parsed)
        for feed, result, parsed in batch
    ]
    try:
        return _store_all(rt, ready, now)
    except Exception as exc:
        if len(ready) > 1:
            return [report for one in ready for report in _store_batch(rt, [one])]
        feed, result, _ = ready[0]
        error = _failure(feed, exc)
    # The store rolled back; the feed backs off like any failing feed.
    _record_outcome(rt, feed, result, rt.clock(), error=error)
    return [
        FeedReport(feed.name, feed.url, "error", error=error, elapsed=result.elapsed)
    ]


def _failure(feed: _Claimed, exc: Exception) -> str:
    if isinstance(exc, SQLAlchemyError):
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:300]
        return f"storage: {type(exc).__name__}: {reason}"
    log.error("feed %s: unexpected error", feed.name, exc_info=exc)
    return f"internal: {type(exc).__name__}: {exc}"[:300]


def _store_all(rt: Runtime, ready: list[_Parsed], now: datetime) -> list[FeedReport]:
    reports: list[FeedReport] = []
    with transaction(rt.sessions) as session:
        # One query each for the batch: the feeds' rows (kept referenced, so
        # the bookkeeping below finds them in the session) and which of the
        # never-polled feeds already have items.
        loaded = preload(session, [feed.id for feed, _, _ in ready])
        fresh = [f.id for f, _, parsed in ready if f.items_seen == 0]
        stocked = feeds_with_items(session, fresh) if fresh else set()
        empty = set(fresh) - stocked
        # Every feed's new entries, and its edited ones, in a few statements,
        # not two per feed.
        stored = store_entries(
            session,
            {f.id: p.entries for f, _, p in ready if not isinstance(p, str)},
            fetched_at=now,
            empty=empty,
        )
        done: list[tuple[_Claimed, FetchResult, str | None, int]] = []
        for feed, result, parsed in ready:
            if isinstance(parsed, str):
                reports.append(
                    FeedReport(
                        feed.name,
                        feed.url,
                        "error",
                        error=parsed,
                        elapsed=result.elapsed,
                    )
                )
                done.append((feed, result, parsed, 0))
                continue
            first_fetch = feed.id in empty
            # Entries seen before may come back edited: kept, never alerted again.
            record_edits(session, stored.changed[feed.id], now=now)
            report = _store(
                session, rt, feed, result, parsed, stored.new[feed.id], now, first_fetch
            )
            reports.append(report)
            done.append((feed, result, None, report.new_items))
        # Same transaction: validators advance only together with the items.
        for feed, result, error, new_items in done:
            if error is not None:
                _write_outcome(session, feed, result, now, error=error)
                continue
            record_fetch(
                session,
                feed.id,
                now=now,
                interval=feed.interval,
                http_status=result.http_status,
                etag=result.etag,
                last_modified=result.last_modified,
                new_items=new_items,
                body_hash=_digest(result.body),
                moved_to=result.moved_to,
            )
        session.flush()  # while `loaded` still holds every row
        del loaded
    return reports


def _store(
    session: Session,
    rt: Runtime,
    feed: _Claimed,
    result: FetchResult,
    parsed: ParsedFeed,
    new: list[NewItem],
    now: datetime,
    first_fetch: bool,
) -> FeedReport:
    """Match and queue one feed's newly stored entries, in the caller's transaction.

    first_fetch: a new feed's undated entries are its backlog as often as its
    news: record their hits, alert none of them."""
    max_age = rt.config.normwatch.alert_max_age
    oldest_alertable = now - timedelta(seconds=max_age) if max_age else None
    hits = alerts = 0
    matcher = rt.matcher  # one rule set for the whole feed, even if a reload lands
    for item in new:
        matches = matcher.match(
            title=item.entry.title,
            summary=item.entry.summary,
            feed_state=feed.state,
            # A parliament's documents are about its own state, named or not.
            implied_state=feed.kind == "parliament",
        )
        if not matches:
            continue
        alertable = (
            oldest_alertable is None or item.entry.published_at >= oldest_alertable
        ) and (item.entry.dated or not first_fetch)
        stored = file_hits(
            session,
            _report(item.id, feed.name, item.entry),
            [_hit_record(m) for m in matches],
            now=now,
            channels=rt.alert_channels(matches),
            alertable=alertable,
            settings=rt.config.stories,
        ).recorded
        hits += len(stored.hit_ids)
        alerts += stored.queued
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


async def _cycle(rt: Runtime, claimed: list[_Claimed]) -> list[FeedReport]:
    # Storing runs on one worker thread, so the event loop keeps every other
    # download moving (and within its deadline) meanwhile; one thread also
    # keeps SQLite writes in a single line.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="store") as worker:
        return await _cycle_with(rt, claimed, worker)


class _Parsing:
    """Where the cycle's changed feeds are parsed: the store thread, or, when
    workers are configured, lean worker processes (feeds.parseworker) for all
    but the first few, started once a cycle has enough work to pay for them.

    Two jobs in flight per worker, all fed from one queue. A feed a worker
    fails on (it died, or answered garbage) goes to the store thread, which
    parses it instead; so do the feeds still queued when the last worker is
    gone. Every worker is stopped and reaped by `finish`."""

    def __init__(self, queue: asyncio.Queue[_Ready | None], workers: int) -> None:
        self.queue = queue
        self.workers = workers
        self.changed = 0
        self.jobs: asyncio.Queue[_Unparsed | None] | None = None
        self.pumps: list[asyncio.Task[None]] = []
        self.live = 0  # pumps whose worker still answers

    def add(self, feed: _Claimed, result: FetchResult, now: datetime) -> None:
        self.changed += 1
        if self.jobs is None and self.workers and self.changed > POOL_AFTER:
            self.jobs = asyncio.Queue()
            self.live = self.workers
            self.pumps = [
                asyncio.ensure_future(self._pump(self.jobs))
                for _ in range(self.workers)
            ]
        if self.jobs is None or not self.live:
            self.queue.put_nowait((feed, result, None))
            return
        self.jobs.put_nowait((feed, result, now))

    async def _pump(self, jobs: asyncio.Queue[_Unparsed | None]) -> None:
        """One worker process's life: jobs from the queue until None comes."""
        worker: ParseWorker | None = None
        healthy = False
        sent: deque[_Unparsed] = deque()  # in the worker's hands, oldest first
        more = True
        try:
            worker = await ParseWorker.start()
            log.debug("parse worker %d started", worker.pid)
            while more or sent:
                try:
                    # A second job waits in the pipe, so the worker goes on to
                    # it at once instead of waiting for the event loop, which
                    # shares the interpreter with the store thread, to read
                    # the answer and send the next.
                    while (
                        more and len(sent) < IN_FLIGHT and not (sent and jobs.empty())
                    ):
                        job = await jobs.get()
                        if job is None:
                            more = False
                            break
                        sent.append(job)
                        worker.send(_job(*job))
                    if not sent:
                        break
                    parsed = await worker.receive()
                except Exception as exc:  # WorkerFailed, or a bug on our side
                    self._fail(worker, sent, exc)
                    return
                feed, result, _ = sent.popleft()
                self.queue.put_nowait((feed, result, parsed))
            healthy = True
        except OSError as exc:
            log.error("parse worker could not start (%s); the bot parses instead", exc)
        finally:
            self.live -= 1
            if not self.live:  # nobody left to take them: the store thread does
                while not jobs.empty():
                    if (left := jobs.get_nowait()) is not None:
                        feed, result, _ = left
                        self.queue.put_nowait((feed, result, None))
            if worker is not None:
                # Cancelled or failed: no waiting for it to see the end of stdin.
                await worker.close(kill=not healthy)

    def _fail(
        self, worker: ParseWorker, sent: deque[_Unparsed], exc: Exception
    ) -> None:
        """The worker's jobs go to the store thread, each feed named in the log."""
        for feed, result, _ in sent:
            log.error(
                "feed %s: parse worker %d %s; the bot parses the feed itself",
                feed.name,
                worker.pid,
                exc,
                exc_info=not isinstance(exc, WorkerFailed),
            )
            self.queue.put_nowait((feed, result, None))
        sent.clear()

    def stop(self) -> None:
        """The cycle is cancelled: kill the workers now (`finish` reaps them)."""
        for pump in self.pumps:
            pump.cancel()

    async def finish(self) -> None:
        if self.jobs is None:
            return
        for _ in self.pumps:
            self.jobs.put_nowait(None)  # after every job: each pump ends its own
        for outcome in await asyncio.gather(*self.pumps, return_exceptions=True):
            if isinstance(outcome, Exception):
                log.error("parse worker: unexpected error", exc_info=outcome)


async def _store_queue(
    rt: Runtime,
    queue: asyncio.Queue[_Ready | None],
    worker: ThreadPoolExecutor,
    reports: list[FeedReport],
) -> None:
    """Store what has arrived, a batch at a time, until None comes."""
    loop = asyncio.get_running_loop()
    while True:
        batch = [await queue.get()]
        while not queue.empty() and len(batch) < BATCH:
            batch.append(queue.get_nowait())
        ready = [item for item in batch if item is not None]
        if ready:
            reports.extend(await loop.run_in_executor(worker, _store_batch, rt, ready))
        if len(ready) < len(batch):
            return


async def _cycle_with(
    rt: Runtime, claimed: list[_Claimed], worker: ThreadPoolExecutor
) -> list[FeedReport]:
    by_url = {f.url: f for f in claimed}
    agent = user_agent(__version__, rt.config.normwatch.contact)
    targets = [FetchTarget(f.url, f.etag, f.last_modified) for f in claimed]
    reports: list[FeedReport] = []
    unchanged: list[tuple[_Claimed, FetchResult]] = []
    queue: asyncio.Queue[_Ready | None] = asyncio.Queue()
    storing = asyncio.ensure_future(_store_queue(rt, queue, worker, reports))
    parsing = _Parsing(queue, rt.config.fetch.parse_workers)
    try:
        async for result in fetch_stream(
            targets, agent=agent, limits=fetch_limits(rt.config)
        ):
            if rt.stopping.is_set():
                break
            feed = by_url.pop(result.url)
            if _unchanged(feed, result):
                unchanged.append((feed, result))
                reports.append(
                    FeedReport(
                        feed.name, feed.url, "not_modified", elapsed=result.elapsed
                    )
                )
            elif result.status == "error":
                queue.put_nowait((feed, result, f"fetch: {result.error}"))
            else:
                parsing.add(feed, result, rt.clock())
    except asyncio.CancelledError:
        parsing.stop()
        raise
    finally:
        await parsing.finish()
        queue.put_nowait(None)
        await storing
    if unchanged:
        now = rt.clock()
        with transaction(rt.sessions) as session:
            record_unchanged(
                session,
                [
                    Unchanged(
                        feed.id,
                        feed.interval,
                        result.http_status,
                        # A 304 may leave the validators out: keep ours.
                        result.etag or feed.etag,
                        result.last_modified or feed.last_modified,
                        result.moved_to,
                    )
                    for feed, result in unchanged
                ],
                now=now,
            )
    if by_url:  # stopped early: let the next run (or instance) take them now
        with transaction(rt.sessions) as session:
            release(session, [f.id for f in by_url.values()], owner=rt.owner)
    return reports


def poll_once(rt: Runtime, *, force: bool = False) -> list[FeedReport]:
    """Fetch the feeds that are due (every healthy one with `force`) and process each."""
    claimed = _claim(rt, rt.clock(), force=force)
    if not claimed:
        return []
    reports = asyncio.run(_cycle(rt, claimed))
    for report in reports:
        _log(report)
    return reports


def _log(report: FeedReport) -> None:
    if report.status == "error":
        log.warning("feed %s (%s): %s", report.name, report.url, report.error)
    elif report.status == "not_modified":
        log.debug("feed %s: not modified (%.2fs)", report.name, report.elapsed)
    else:
        if report.warning:
            # A charset declared in the XML instead of the header is common and
            # harmless; the rest of the recoveries are worth a warning.
            benign = "CharacterEncodingOverride" in report.warning
            log.log(
                logging.DEBUG if benign else logging.WARNING,
                "feed %s: %s",
                report.name,
                report.warning,
            )
        log.info(
            "feed %s: %d new items, %d hits, %d alerts queued (%.2fs)",
            report.name,
            report.new_items,
            report.hits,
            report.alerts,
            report.elapsed,
        )
