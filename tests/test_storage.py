"""Storage on both backends: migrations, idempotent inserts, one alert per story."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from feeds.entry import Entry
from storage.archive import HitRecord, Recorded, insert_items, record_hits
from storage.db import (
    MIGRATIONS,
    StorageError,
    check_connection,
    current_revision,
    make_engine,
    session_factory,
    transaction,
    upgrade,
)
from storage.feedstate import (
    FeedSpec,
    Unchanged,
    backoff,
    claim_due,
    record_fetch,
    record_unchanged,
    sync_feeds,
)
from storage.models import Feed, Hit, Item, Outbox
from storage.outbox import claim_next, due, mark_failed, mark_sent

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def entry(guid: str, url: str | None = None, title: str = "t") -> Entry:
    return Entry(
        guid=guid,
        url=url,
        canonical_url=url,
        title=title,
        summary="s",
        language="lt",
        published_at=NOW,
        fingerprint="f" + guid,
    )


HIT = HitRecord("r1", "ccm_withdrawal", "high", "LT", [{"text": "x"}], "snippet")


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def feed_id(sessions: sessionmaker[Session]) -> int:
    with transaction(sessions) as s:
        sync_feeds(s, [FeedSpec("https://a.example/rss", "A", "news", "LT", "lt")], NOW)
    with sessions() as s:
        return s.scalars(select(Feed.id)).one()


def test_migrations_create_every_table_and_reach_head(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    upgrade(engine)  # a second upgrade is a no-op
    tables = set(inspect(engine).get_table_names())
    assert {
        "feeds",
        "items",
        "stories",
        "hits",
        "outbox",
        "feedback",
        "channel_problems",
        "digests",
        "instances",
        "item_edits",
        "alembic_version",
    } <= tables
    newest = max(p.name[:4] for p in MIGRATIONS.glob("versions/0*.py"))
    assert current_revision(engine) == newest
    engine.dispose()


def test_repeated_insert_stores_each_item_once_and_returns_only_new(
    sessions: sessionmaker[Session], feed_id: int
) -> None:
    with transaction(sessions) as s:
        first = insert_items(
            s, feed_id, [entry("a"), entry("b"), entry("a")], fetched_at=NOW
        )
    assert sorted(n.entry.guid for n in first) == ["a", "b"]
    with transaction(sessions) as s:
        again = insert_items(
            s, feed_id, [entry("a"), entry("b"), entry("c")], fetched_at=NOW
        )
    assert [n.entry.guid for n in again] == ["c"]


def test_hits_are_recorded_once_with_one_outbox_row_per_story(
    sessions: sessionmaker[Session], feed_id: int
) -> None:
    with transaction(sessions) as s:
        items = insert_items(
            s,
            feed_id,
            [entry("a", "https://x.example/1"), entry("b", "https://x.example/1")],
            fetched_at=NOW,
        )
        for item in items:
            record_hits(s, item.id, [HIT], now=NOW, channels=["#c"], alertable=True)
        # the same hit again changes nothing
        assert record_hits(
            s, items[0].id, [HIT], now=NOW, channels=["#c"], alertable=True
        ) == Recorded([], queued=False)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Hit)) == 2
        # two items with one canonical URL are one story: one alert
        assert s.scalar(select(func.count()).select_from(Outbox)) == 1


def test_old_items_record_hits_without_alerts(
    sessions: sessionmaker[Session], feed_id: int
) -> None:
    with transaction(sessions) as s:
        [item] = insert_items(s, feed_id, [entry("old")], fetched_at=NOW)
        recorded = record_hits(
            s, item.id, [HIT], now=NOW, channels=["#c"], alertable=False
        )
        assert recorded.hit_ids and not recorded.queued
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Outbox)) == 0
        assert s.scalars(select(Hit.alertable)).one() is False


def test_failed_delivery_keeps_the_alert_pending_until_sent(
    sessions: sessionmaker[Session], feed_id: int
) -> None:
    with transaction(sessions) as s:
        [item] = insert_items(
            s, feed_id, [entry("a", "https://x.example/1")], fetched_at=NOW
        )
        record_hits(s, item.id, [HIT], now=NOW, channels=["#c"], alertable=True)
    with transaction(sessions) as s:
        [alert] = due(s, now=NOW)
        assert alert.hits[0].matched == ["x"] and alert.feed == "A"
        mark_failed(
            s, alert.outbox_id, now=NOW, error="slack: down", wait=timedelta(minutes=1)
        )
    with transaction(sessions) as s:
        assert due(s, now=NOW) == []
        [again] = due(s, now=NOW + timedelta(minutes=2))
        mark_sent(s, again.outbox_id, now=NOW, slack_channel="C1", ts="1.2")
    with sessions() as s:
        row = s.scalars(select(Outbox)).one()
        assert (row.status, row.attempts, row.slack_ts) == ("sent", 2, "1.2")
        assert due(s, now=NOW + timedelta(days=1)) == []


def test_claimed_feeds_are_skipped_by_another_owner_until_the_lease_ends(
    sessions: sessionmaker[Session], feed_id: int
) -> None:
    urls = ["https://a.example/rss"]
    with transaction(sessions) as s:
        assert [f.id for f in claim_due(s, urls, now=NOW, owner="one")] == [feed_id]
    with transaction(sessions) as s:
        assert claim_due(s, urls, now=NOW, owner="two") == []
    with transaction(sessions) as s:
        assert len(claim_due(s, urls, now=NOW + timedelta(minutes=6), owner="two")) == 1


def test_failures_back_off_exponentially_up_to_a_cap_and_success_resets(
    sessions: sessionmaker[Session], feed_id: int
) -> None:
    interval = timedelta(minutes=10)
    assert backoff(1, interval) == interval
    assert backoff(3, interval) == interval * 4
    assert backoff(50, interval) == timedelta(hours=6)
    with transaction(sessions) as s:
        for _ in range(3):
            record_fetch(
                s,
                feed_id,
                now=NOW,
                interval=interval,
                http_status=500,
                error="HTTP 500",
            )
    with sessions() as s:
        feed = s.get_one(Feed, feed_id)
        assert feed.consecutive_failures == 3 and feed.last_error == "HTTP 500"
        assert NOW + interval * 4 <= feed.next_due_at <= NOW + interval * 4.1
    with transaction(sessions) as s:
        record_fetch(
            s, feed_id, now=NOW, interval=interval, http_status=200, etag='"v1"'
        )
    with sessions() as s:
        feed = s.get_one(Feed, feed_id)
        assert (feed.consecutive_failures, feed.last_error, feed.etag) == (
            0,
            None,
            '"v1"',
        )


def test_unchanged_feeds_recorded_in_bulk_end_up_as_one_by_one(
    sessions: sessionmaker[Session], feed_id: int
) -> None:
    interval = timedelta(minutes=10)
    with transaction(sessions) as s:
        claim_due(s, ["https://a.example/rss"], now=NOW, owner="one")
        for _ in range(2):
            record_fetch(
                s, feed_id, now=NOW, interval=interval, http_status=500, error="x"
            )
    later = NOW + timedelta(hours=1)
    with transaction(sessions) as s:
        record_unchanged(
            s,
            [Unchanged(feed_id, interval, 304, '"v2"', None, "https://b.example/rss")],
            now=later,
        )
    with sessions() as s:
        feed = s.get_one(Feed, feed_id)
        assert (feed.consecutive_failures, feed.last_error, feed.failing_since) == (
            0,
            None,
            None,
        )
        assert (feed.last_status, feed.etag, feed.moved_to) == (
            304,
            '"v2"',
            "https://b.example/rss",
        )
        assert feed.last_success_at == feed.last_fetched_at == later
        assert (feed.lease_owner, feed.lease_until) == (None, None)
        assert later + interval <= feed.next_due_at <= later + interval * 1.1


def test_retry_after_longer_than_backoff_is_honoured(
    sessions: sessionmaker[Session], feed_id: int
) -> None:
    with transaction(sessions) as s:
        record_fetch(
            s,
            feed_id,
            now=NOW,
            interval=timedelta(minutes=1),
            http_status=429,
            error="HTTP 429",
            retry_after=3600,
        )
    with sessions() as s:
        assert s.get_one(Feed, feed_id).next_due_at >= NOW + timedelta(hours=1)


def test_unreachable_database_is_one_clear_line() -> None:
    engine = make_engine("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(StorageError) as info:
        check_connection(engine)
    assert str(info.value).startswith(
        "storage: cannot connect to postgresql+psycopg://nobody@127.0.0.1:1/none"
    )
    assert "\n" not in str(info.value)


def test_unsupported_database_url_is_refused() -> None:
    with pytest.raises(StorageError, match="only sqlite"):
        make_engine("mysql://root@localhost/x")


def test_an_alert_is_reserved_by_exactly_one_claimer_until_its_lease_ends(
    sessions: sessionmaker[Session], feed_id: int
) -> None:
    with transaction(sessions) as s:
        [item] = insert_items(
            s, feed_id, [entry("a", "https://x.example/1")], fetched_at=NOW
        )
        record_hits(s, item.id, [HIT], now=NOW, channels=["#c"], alertable=True)
    lease = timedelta(minutes=2)
    with transaction(sessions) as s:
        first = claim_next(s, now=NOW, lease=lease)
    with transaction(sessions) as s:
        second = claim_next(s, now=NOW, lease=lease)
    assert first is not None and second is None
    with transaction(sessions) as s:
        again = claim_next(s, now=NOW + lease, lease=lease)  # the holder died
    assert again is not None and again.outbox_id == first.outbox_id


def test_a_waiting_alert_holds_its_channel_queue_in_order(
    sessions: sessionmaker[Session], feed_id: int
) -> None:
    with transaction(sessions) as s:
        items = insert_items(
            s,
            feed_id,
            [entry(g, f"https://x.example/{g}") for g in "abc"],
            fetched_at=NOW,
        )
        for item in items:
            record_hits(s, item.id, [HIT], now=NOW, channels=["#c"], alertable=True)
        other = insert_items(
            s, feed_id, [entry("z", "https://x.example/z")], fetched_at=NOW
        )
        record_hits(s, other[0].id, [HIT], now=NOW, channels=["#other"], alertable=True)
    with transaction(sessions) as s:
        head = claim_next(s, now=NOW, lease=timedelta(minutes=2))
        assert head is not None and head.title == "t" and head.channel == "#c"
        mark_failed(
            s,
            head.outbox_id,
            now=NOW,
            error="slack: rate limited",
            wait=timedelta(minutes=5),
        )
    with transaction(sessions) as s:
        # #c waits behind its head; #other is free to go
        nxt = claim_next(s, now=NOW + timedelta(minutes=1), lease=timedelta(minutes=2))
        assert nxt is not None and nxt.channel == "#other"
        assert (
            claim_next(s, now=NOW + timedelta(minutes=1), lease=timedelta(minutes=2))
            is None
        )
    with transaction(sessions) as s:
        assert (
            claim_next(
                s, now=NOW + timedelta(minutes=6), lease=timedelta(minutes=2)
            ).outbox_id
            == head.outbox_id
        )  # type: ignore[union-attr]


def test_migrations_produce_exactly_the_models_schema(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from storage.fulltext import is_search_object
    from storage.models import Base

    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "include_name": lambda name, type_, parents: not is_search_object(name),
            },
        )
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def _sqlite_memory_used() -> int:
    """Bytes SQLite itself holds in this process (its own allocator counter)."""
    import _sqlite3
    import ctypes

    # Through the module itself: the SQLite it uses, wherever that came from.
    library = ctypes.CDLL(_sqlite3.__file__)
    library.sqlite3_memory_used.restype = ctypes.c_int64
    return int(library.sqlite3_memory_used())


def test_sqlite_memory_stays_bounded_across_insert_batches_of_every_size(
    tmp_path: Path,
) -> None:
    """Each row count of a multi-row INSERT is a statement of its own; a large
    statement cache once kept 128 of them, 40 MB, for the bot's lifetime."""
    engine = make_engine(f"sqlite:///{tmp_path / 'n.db'}")
    upgrade(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as s:
        sync_feeds(s, [FeedSpec("https://f.example/rss", "F", "news", "LT", "lt")], NOW)
        feed = s.scalars(select(Feed.id)).one()

    def store(sizes: range) -> int:
        for size in sizes:
            with transaction(sessions) as s:
                entries = [entry(f"{size}-{n}", title="w " * 40) for n in range(size)]
                insert_items(s, feed, entries, fetched_at=NOW)
        return _sqlite_memory_used()

    few = store(range(100, 132))  # as many batch sizes as the cache holds
    if few == 0:  # a build whose counter is off (SQLITE_DEFAULT_MEMSTATUS=0)
        pytest.skip("this SQLite does not count its memory")
    many = store(range(132, 260))  # four times as many
    engine.dispose()
    # Statements ~1.7x the rows hold ~1.7x as much; with a cache of 128 this
    # measured 5.1x (7.9 MB -> 40.8 MB), with 32 1.8x.
    assert many < few * 2.5, (few, many)


def test_stored_entries_that_come_back_with_other_text_are_told_apart(
    sessions: sessionmaker[Session], feed_id: int
) -> None:
    from storage.archive import store_entries
    from storage.edits import record_edits
    from storage.models import ItemEdit

    with transaction(sessions) as s:
        sync_feeds(s, [FeedSpec("https://b.example/rss", "B", "news", "LV", "lv")], NOW)
        other = s.scalars(select(Feed.id).where(Feed.name == "B")).one()
        first = store_entries(
            s,
            {feed_id: [entry("a"), entry("b")], other: [entry("a")]},
            fetched_at=NOW,
        )
    assert first.changed == {feed_id: [], other: []}
    edited = replace(entry("b", title="corrected"), fingerprint="f-b-2")
    with transaction(sessions) as s:
        again = store_entries(
            s,
            {feed_id: [entry("a"), edited, entry("c")], other: [entry("a")]},
            fetched_at=NOW,
        )
        assert [n.entry.guid for n in again.new[feed_id]] == ["c"]
        assert again.new[other] == [] and again.changed[other] == []
        [change] = again.changed[feed_id]
        assert change.entry is edited
        assert record_edits(s, again.changed[feed_id], now=NOW) == 1
    with sessions() as s:
        item = s.get(Item, change.id)
        assert item is not None and item.title == "corrected" and item.guid == "b"
        [edit] = s.scalars(select(ItemEdit)).all()
        assert (edit.old_title, edit.new_title) == ("t", "corrected")
