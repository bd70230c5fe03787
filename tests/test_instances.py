"""Instances share the work through the database: heartbeats free a dead
instance's feeds and alerts at once, and simultaneous claims never overlap."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from feeds.entry import Entry
from storage.archive import HitRecord, insert_items, record_hits
from storage.db import make_engine, session_factory, transaction, upgrade
from storage.feedstate import FeedSpec, claim_due, sync_feeds
from storage.instances import (
    Cycle,
    beat,
    list_instances,
    mark_stopped,
    record_cycle,
)
from storage.outbox import claim_batch, claim_next, due_counts

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
TIMEOUT = timedelta(seconds=30)
URLS = [f"https://f{n}.example/rss" for n in range(40)]


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    upgrade(engine)
    with transaction(session_factory(engine)) as s:
        sync_feeds(s, [FeedSpec(u, u, "news", "LT", "lt") for u in URLS], NOW)
    yield session_factory(engine)
    engine.dispose()


def alive(sessions: sessionmaker[Session], owner: str, at: datetime) -> None:
    with transaction(sessions) as s:
        beat(s, owner, now=at, host="h", pid=1, version="t")


def queue_alerts(sessions: sessionmaker[Session], n: int = 1) -> None:
    with transaction(sessions) as s:
        feed_id = claim_due(s, URLS[:1], now=NOW, owner="setup")[0].id
        entries = [
            Entry(
                guid=f"g{i}",
                url=f"https://x.example/{i}",
                canonical_url=f"https://x.example/{i}",
                title="t",
                summary="s",
                language="lt",
                published_at=NOW,
                fingerprint=f"f{i}",
            )
            for i in range(n)
        ]
        hit = HitRecord("r", "t", "high", "LT", [{"text": "x"}], "s")
        for item in insert_items(s, feed_id, entries, fetched_at=NOW):
            record_hits(s, item.id, [hit], now=NOW, channels=["#c"], alertable=True)


def test_a_dead_instances_feeds_are_free_once_its_heartbeat_is_stale(
    sessions: sessionmaker[Session],
) -> None:
    alive(sessions, "a", NOW)
    alive(sessions, "b", NOW)
    with transaction(sessions) as s:
        assert len(claim_due(s, URLS, now=NOW, owner="a", dead_after=TIMEOUT)) == 40
    later = NOW + timedelta(seconds=20)
    alive(sessions, "a", later)
    alive(sessions, "b", later)
    with transaction(sessions) as s:  # a still beats: its leases hold
        assert claim_due(s, URLS, now=later, owner="b", dead_after=TIMEOUT) == []
    much_later = NOW + timedelta(seconds=55)  # a is silent for 35 s: dead
    alive(sessions, "b", much_later)
    with transaction(sessions) as s:
        taken = claim_due(s, URLS, now=much_later, owner="b", dead_after=TIMEOUT)
    assert len(taken) == 40  # well before the 5-minute lease ends


def test_a_cleanly_stopped_instance_frees_its_feeds_at_once(
    sessions: sessionmaker[Session],
) -> None:
    alive(sessions, "a", NOW)
    with transaction(sessions) as s:
        claim_due(s, URLS, now=NOW, owner="a", dead_after=TIMEOUT)
    with transaction(sessions) as s:
        assert claim_due(s, URLS, now=NOW, owner="b", dead_after=TIMEOUT) == []
        mark_stopped(s, "a", now=NOW)
    with transaction(sessions) as s:
        assert len(claim_due(s, URLS, now=NOW, owner="b", dead_after=TIMEOUT)) == 40


def test_an_owner_that_never_beat_keeps_its_leases_for_their_full_length(
    sessions: sessionmaker[Session],
) -> None:
    # `run --once` does not beat: only the lease's end frees its feeds.
    with transaction(sessions) as s:
        claim_due(s, URLS, now=NOW, owner="cron")
    soon = NOW + timedelta(minutes=4)
    with transaction(sessions) as s:
        assert claim_due(s, URLS, now=soon, owner="b", dead_after=TIMEOUT) == []


def test_an_instance_takes_back_its_own_leftover_leases(
    sessions: sessionmaker[Session],
) -> None:
    # A cycle that died half-way (the database went away) left leases behind;
    # the same instance's next cycle must not wait five minutes for them.
    with transaction(sessions) as s:
        claim_due(s, URLS, now=NOW, owner="a")
    with transaction(sessions) as s:
        assert len(claim_due(s, URLS, now=NOW, owner="a")) == 40


def test_an_alert_held_by_a_dead_instance_is_taken_over_before_its_lease_ends(
    sessions: sessionmaker[Session],
) -> None:
    queue_alerts(sessions)
    alive(sessions, "a", NOW)
    lease = timedelta(minutes=2)
    with transaction(sessions) as s:
        first = claim_next(s, now=NOW, lease=lease, owner="a", dead_after=TIMEOUT)
    assert first is not None
    later = NOW + timedelta(seconds=10)
    with transaction(sessions) as s:
        assert (
            claim_next(s, now=later, lease=lease, owner="b", dead_after=TIMEOUT) is None
        )
    dead = NOW + timedelta(seconds=45)
    with transaction(sessions) as s:
        again = claim_next(s, now=dead, lease=lease, owner="b", dead_after=TIMEOUT)
    assert again is not None and again.outbox_id == first.outbox_id


# PostgreSQL only: SQLite runs one instance (a second is refused, test_service).
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_simultaneous_claims_split_the_feeds_without_overlap(
    sessions: sessionmaker[Session], db_url: str
) -> None:
    results: dict[str, list[int]] = {}
    start = threading.Barrier(8)

    def claim(owner: str) -> None:
        start.wait()
        with transaction(sessions) as s:
            results[owner] = [
                f.id for f in claim_due(s, URLS, now=NOW, owner=owner, limit=5)
            ]

    threads = [threading.Thread(target=claim, args=(f"o{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [feed for taken in results.values() for feed in taken]
    assert len(every) == len(set(every)) == 40


def test_cycles_are_recorded_per_instance_and_listed_with_liveness(
    sessions: sessionmaker[Session],
) -> None:
    alive(sessions, "a", NOW)
    alive(sessions, "b", NOW - timedelta(minutes=5))
    with transaction(sessions) as s:
        record_cycle(s, "a", Cycle(NOW, 2.5, feeds=40, errors=3))
        record_cycle(s, "a", Cycle(NOW, 1.5, feeds=40, errors=1))
    with sessions() as s:
        [a, b] = list_instances(s, now=NOW, timeout=TIMEOUT)
    assert (a.id, a.alive, a.cycles, a.last_cycle_seconds, a.last_cycle_errors) == (
        "a",
        True,
        2,
        1.5,
        1,
    )
    assert (b.id, b.alive, b.cycles, b.last_cycle_at) == ("b", False, 0, None)


def test_a_dead_instances_digest_reservation_is_due_again_as_a_whole(
    sessions: sessionmaker[Session],
) -> None:
    # It went out as one digest; if its instance died before storing Slack's
    # answer, it must go again as one digest, not as twelve messages.
    queue_alerts(sessions, 12)
    alive(sessions, "a", NOW)
    lease = timedelta(minutes=2)
    with transaction(sessions) as s:
        taken = claim_batch(
            s, "#c", now=NOW, lease=lease, limit=50, owner="a", dead_after=TIMEOUT
        )
    assert len(taken) == 12
    soon, dead = NOW + timedelta(seconds=10), NOW + timedelta(seconds=45)
    with transaction(sessions) as s:
        assert due_counts(s, now=soon, dead_after=TIMEOUT) == {}
        assert due_counts(s, now=dead, dead_after=TIMEOUT) == {"#c": 12}
        again = claim_batch(
            s, "#c", now=dead, lease=lease, limit=50, owner="b", dead_after=TIMEOUT
        )
    assert [a.outbox_id for a in again] == [a.outbox_id for a in taken]
