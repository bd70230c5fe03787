"""bot.stories on both backends: which story an item joins, and what it queues."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Stories
from bot.stories import Placed, Report, file_hits, outlet_of
from feeds.canonical import canonical_url
from feeds.entry import Entry
from feeds.parse import fingerprint
from storage.archive import HitRecord, insert_items
from storage.db import make_engine, session_factory, transaction, upgrade
from storage.feedstate import FeedSpec, sync_feeds
from storage.models import Feed, Hit, Item, Outbox

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LEAD = (
    "The Seimas voted 96 to 12 on Thursday to withdraw Lithuania from the "
    "Convention on Cluster Munitions, citing the security situation in the region."
)
CCM = HitRecord("ccm_withdrawal", "ccm_withdrawal", "high", "LT", [], "")
BUY = HitRecord("cluster_acquisition", "cluster_acquisition", "medium", "LT", [], "")
OTTAWA = HitRecord("ottawa_withdrawal", "ottawa_withdrawal", "high", "LT", [], "")


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    upgrade(engine)
    factory = session_factory(engine)
    with transaction(factory) as s:
        sync_feeds(
            s,
            [
                FeedSpec(f"https://feeds.example/{n}", f"Feed {n}", "news", "LT", "en")
                for n in range(6)
            ],
            NOW,
        )
    yield factory
    engine.dispose()


class Filer:
    """Stores an entry in a feed and files its hits, as the poll cycle does."""

    def __init__(self, sessions: sessionmaker[Session], settings: Stories) -> None:
        self.sessions, self.settings, self.count = sessions, settings, 0

    def __call__(
        self,
        feed: int,
        url: str,
        title: str,
        summary: str = LEAD,
        hits: tuple[HitRecord, ...] = (CCM,),
        *,
        published: datetime = NOW,
        now: datetime = NOW,
        alertable: bool = True,
    ) -> Placed:
        self.count += 1
        entry = Entry(
            guid=f"guid-{self.count}",
            url=url,
            canonical_url=canonical_url(url),
            title=title,
            summary=summary,
            language="en",
            published_at=published,
            fingerprint=fingerprint(title, summary),
        )
        with transaction(self.sessions) as s:
            feed_id = s.scalars(
                select(Feed.id).where(Feed.name == f"Feed {feed}")
            ).one()
            [new] = insert_items(s, feed_id, [entry], fetched_at=now)
            report = Report(
                new.id,
                f"Feed {feed}",
                url,
                entry.canonical_url,
                title,
                summary,
                "en",
                published,
            )
            return file_hits(
                s,
                report,
                list(hits),
                channels=["#alerts"],
                alertable=alertable,
                settings=self.settings,
                now=now,
            )


def outbox(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    with sessions() as s:
        return [
            (kind, outlet)
            for kind, outlet in s.execute(
                select(Outbox.kind, Outbox.outlet).order_by(Outbox.id)
            )
        ]


def test_one_article_through_several_feeds_is_one_story_and_one_alert(
    sessions: sessionmaker[Session],
) -> None:
    file = Filer(sessions, Stories())
    first = file(0, "https://www.lrt.lt/a/1?utm_source=rss", "Seimas votes")
    again = file(1, "https://m.lrt.lt/a/1/amp", "Seimas votes")
    assert (first.reason, again.reason) == ("new", "url")
    assert again.story_id == first.story_id
    assert outbox(sessions) == [("alert", "")]  # same outlet: no reply


def test_near_duplicates_join_within_the_window_and_not_beyond(
    sessions: sessionmaker[Session],
) -> None:
    file = Filer(sessions, Stories(event_threads=False))
    first = file(0, "https://lrt.lt/a", "Lithuania votes to leave cluster treaty")
    wire = file(1, "https://delfi.lt/b", "Lithuanian parliament backs exit from ban")
    assert (wire.reason, wire.story_id) == ("near_duplicate", first.story_id)
    late = file(
        2,
        "https://15min.lt/c",
        "Same wire, days later",
        published=NOW + timedelta(days=4),
    )
    assert late.reason == "new" and late.story_id != first.story_id
    other = file(3, "https://bns.lt/d", "A debate", "Lawmakers argued for hours.")
    assert other.reason == "new"
    assert outbox(sessions) == [
        ("alert", ""),
        ("reply", "delfi.lt"),
        ("update", ""),
        ("alert", ""),
        ("alert", ""),
    ]


def test_event_threads_join_other_texts_of_one_state_and_topic_unless_turned_off(
    sessions: sessionmaker[Session],
) -> None:
    file = Filer(sessions, Stories())
    first = file(0, "https://lrt.lt/a", "Seimas votes", "Vote on the convention.")
    other = file(1, "https://wp.pl/b", "Litwa wycofa się", "Sejm Litwy zdecydował.")
    assert (other.reason, other.story_id) == ("event", first.story_id)
    debate = file(2, "https://bns.lt/c", "Ottawa debate", "Mines.", hits=(OTTAWA,))
    assert debate.reason == "new"  # another topic is another event
    later = file(
        3,
        "https://err.ee/d",
        "Seimas votes again",
        "A second vote.",
        now=NOW + timedelta(hours=49),
        published=NOW + timedelta(hours=49),
    )
    assert later.reason == "new"  # the thread's window has closed

    off = Filer(sessions, Stories(event_threads=False))
    off.count = 100
    alone = off(4, "https://tvpworld.com/e", "Lawmakers back the withdrawal bill", "")
    assert alone.reason == "new"


def test_replies_stop_at_the_cap_but_the_outlet_count_goes_on(
    sessions: sessionmaker[Session],
) -> None:
    file = Filer(sessions, Stories(max_replies=2))
    for n, site in enumerate(["lrt.lt", "delfi.lt", "15min.lt", "bns.lt", "wp.pl"]):
        file(n, f"https://{site}/a", f"Report {n}", f"Words {n} of a vote.")
    kinds = [kind for kind, _ in outbox(sessions)]
    assert kinds.count("alert") == 1
    assert kinds.count("reply") == 2
    assert kinds.count("update") == 1


def test_a_known_outlet_gets_a_reply_only_for_a_rule_the_story_had_not_matched(
    sessions: sessionmaker[Session],
) -> None:
    file = Filer(sessions, Stories())
    file(0, "https://lrt.lt/a", "Seimas votes")
    file(1, "https://lrt.lt/a?utm_source=x", "Seimas votes")  # same article again
    file(2, "https://lrt.lt/a#x", "Seimas votes", hits=(CCM, BUY))
    assert outbox(sessions) == [
        ("alert", ""),
        ("reply", "rule:cluster_acquisition"),
        ("update", ""),
    ]


def test_items_too_old_to_alert_join_stories_silently(
    sessions: sessionmaker[Session],
) -> None:
    file = Filer(sessions, Stories())
    old = file(0, "https://lrt.lt/a", "Seimas votes", alertable=False)
    assert outbox(sessions) == []
    fresh = file(1, "https://delfi.lt/b", "Seimas votes, wire", LEAD)
    assert fresh.story_id == old.story_id
    assert outbox(sessions) == [("alert", "")]  # the first alertable item alerts


@pytest.mark.parametrize(
    ("title", "url", "feed", "expected"),
    [
        ("Seimas votes", "https://www.lrt.lt/a", "LRT", "lrt.lt"),
        ("Seimas votes", None, "LRT", "LRT"),
        (
            "Seimas votes - LRT.lt",
            "https://news.google.com/rss/articles/CBMi?oc=5",
            "Google News LT",
            "LRT.lt",
        ),
        ("Seimas votes", "https://news.google.com/rss/articles/X", "GN", "GN"),
        (
            "Seimas votes",
            "https://www.bing.com/news/apiclick.aspx?url=https%3A%2F%2Fm.delfi.lt%2Fa",
            "Bing",
            "delfi.lt",
        ),
    ],
)
def test_the_outlet_of_an_item_is_its_publisher(
    title: str, url: str | None, feed: str, expected: str
) -> None:
    report = Report(1, feed, url, canonical_url(url), title, "", "en", NOW)
    assert outlet_of(report) == expected


def test_near_duplicate_zero_turns_text_grouping_off(
    sessions: sessionmaker[Session],
) -> None:
    file = Filer(sessions, Stories(event_threads=False, near_duplicate=0))
    first = file(0, "https://lrt.lt/a", "Lithuania votes to leave cluster treaty")
    same_text = file(1, "https://delfi.lt/b", "Lithuania votes to leave cluster treaty")
    assert same_text.reason == "new" and same_text.story_id != first.story_id


def test_alike_texts_about_another_state_are_another_story(
    sessions: sessionmaker[Session],
) -> None:
    file = Filer(sessions, Stories(event_threads=False))
    lead = (
        "Lawmakers voted on Thursday to withdraw from the convention, citing security."
    )
    lt = file(0, "https://lrt.lt/a", "Lithuania to withdraw from the ban", lead)
    pl = file(
        1,
        "https://wp.pl/b",
        "Poland to withdraw from the ban",
        lead,
        hits=(HitRecord("ccm_withdrawal", "ccm_withdrawal", "high", "PL", [], ""),),
    )
    assert pl.reason == "new" and pl.story_id != lt.story_id
    copy = file(2, "https://delfi.lt/c", "Lithuania to withdraw from the ban", lead)
    assert (copy.reason, copy.story_id) == ("near_duplicate", lt.story_id)


def test_an_article_whose_items_were_deleted_rejoins_its_story(
    sessions: sessionmaker[Session],
) -> None:
    # Stories outlive their items when an operator deletes rows by hand: the
    # story's key (the canonical URL) still says which story the article is.
    file = Filer(sessions, Stories(event_threads=False))
    first = file(0, "https://lrt.lt/a/7", "Seimas votes")
    with transaction(sessions) as s:
        s.execute(delete(Outbox))
        s.execute(delete(Hit))
        s.execute(delete(Item))
    again = file(1, "https://lrt.lt/a/7", "Seimas votes")
    assert (again.reason, again.story_id) == ("url", first.story_id)


def test_an_item_the_session_holds_sees_the_story_it_joined(
    sessions: sessionmaker[Session],
) -> None:
    """join_story writes past the ORM; a copy of the item loaded before must
    not keep showing no story (nor lose the story at the next flush)."""
    from storage.stories import join_story, new_story

    file = Filer(sessions, Stories())
    first = file(0, "https://news.example/a", "Seimas votes to leave the convention")
    with transaction(sessions) as s:
        feed_id = s.scalars(select(Feed.id).where(Feed.name == "Feed 1")).one()
        entry = Entry(
            guid="held",
            url="https://other.example/b",
            canonical_url="https://other.example/b",
            title="t",
            summary="s",
            language="en",
            published_at=NOW,
            fingerprint="f",
        )
        [new] = insert_items(s, feed_id, [entry], fetched_at=NOW)
        held = s.get(Item, new.id)
        assert held is not None and held.story_id is None
        join_story(s, new.id, first.story_id, outlet="other.example", minhash=None)
        assert held.story_id == first.story_id
        held.title = "an edit through the ORM"  # flushed with the item's row
        new_story(s, key="k", title="x", now=NOW)
    with sessions() as s:
        stored = s.get(Item, new.id)
        assert stored is not None and stored.story_id == first.story_id
