"""A small, known hit history for the listing, stats and web tests.

Two feeds (LRT in Lithuanian, TVP in Polish), items over three days, hits of
two rules, feedback on some, one story posted to Slack, and items that never
matched (one of them old enough to be pruned).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from feeds.entry import Entry
from storage.archive import HitRecord, insert_items, record_hits
from storage.db import make_engine, session_factory, transaction, upgrade
from storage.feedstate import FeedSpec, sync_feeds
from storage.models import Feed, Feedback, Outbox

DAY1 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)
DAY3 = DAY1 + timedelta(days=2)

LRT = FeedSpec("https://lrt.example/rss", "LRT", "news", "LT", "lt")
TVP = FeedSpec("https://tvp.example/rss", "TVP Info", "news", "PL", "pl")

# (feed, guid, title, summary, language, fetched, [(rule, topic, state)])
ITEMS = [
    (
        LRT,
        "lt-1",
        "Seimas svarsto pasitraukimą iš Konvencijos dėl kasetinių šaudmenų",
        "Lietuva gali pasitraukti iš konvencijos.",
        "lt",
        DAY1,
        [("ccm_withdrawal", "ccm_withdrawal", "LT")],
    ),
    (
        LRT,
        "lt-2",
        "Lietuva perka kasetinius šaudmenis",
        "Krašto apsaugos ministerija pirks kasetinių šaudmenų.",
        "lt",
        DAY2,
        [
            ("cluster_acquisition", "cluster_acquisition", "LT"),
            ("ccm_withdrawal", "ccm_withdrawal", "LT"),
        ],
    ),
    (
        TVP,
        "pl-1",
        "Sejm: wypowiedzenie konwencji o amunicji kasetowej",
        "Posłowie głosowali nad wypowiedzeniem.",
        "pl",
        DAY2,
        [("ccm_withdrawal", "ccm_withdrawal", "PL")],
    ),
    (
        TVP,
        "pl-2",
        "Polska kupi amunicję kasetową",
        "MON podpisało umowę.",
        "pl",
        DAY3,
        [("cluster_acquisition", "cluster_acquisition", "PL")],
    ),
    (TVP, "pl-3", "Pogoda na weekend", "Słonecznie i ciepło.", "pl", DAY3, []),
    (LRT, "lt-old", "Orai savaitgaliui", "Saulėta.", "lt", DAY1 - timedelta(400), []),
]


def build_history(db_url: str) -> sessionmaker[Session]:
    """Create the schema at `db_url` and fill it; return a session factory."""
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as s:
        sync_feeds(s, [LRT, TVP], DAY1)
    hit_ids: dict[tuple[str, str], int] = {}
    for spec, guid, title, summary, language, fetched, hits in ITEMS:
        with transaction(sessions) as s:
            feed_id = s.scalars(select(Feed.id).where(Feed.url == spec.url)).one()
            [new] = insert_items(
                s,
                feed_id,
                [
                    Entry(
                        guid=guid,
                        url=f"https://news.example/{guid}",
                        canonical_url=f"https://news.example/{guid}",
                        title=title,
                        summary=summary,
                        language=language,
                        published_at=fetched - timedelta(hours=1),
                        fingerprint=guid,
                    )
                ],
                fetched_at=fetched,
            )
            recorded = record_hits(
                s,
                new.id,
                [
                    HitRecord(rule, topic, "high", state, [{"text": "x"}], title)
                    for rule, topic, state in hits
                ],
                now=fetched,
                channels=["#alerts"],
                alertable=True,
            )
            for (rule, _, _), hit_id in zip(hits, recorded.hit_ids, strict=True):
                hit_ids[(guid, rule)] = hit_id
    with transaction(sessions) as s:
        # lt-1 was posted; the team judged three hits (lt-1 twice: latest wins).
        s.execute(
            update(Outbox)
            .where(Outbox.hit_id == hit_ids[("lt-1", "ccm_withdrawal")])
            .values(status="sent", sent_at=DAY1, slack_ts="1.1")
        )
        for key, verdict, when in [
            (("lt-1", "ccm_withdrawal"), "not_relevant", DAY1),
            (("lt-1", "ccm_withdrawal"), "relevant", DAY2),
            (("pl-1", "ccm_withdrawal"), "relevant", DAY2),
            (("lt-2", "ccm_withdrawal"), "not_relevant", DAY3),
        ]:
            s.add(
                Feedback(
                    hit_id=hit_ids[key], verdict=verdict, who="U1", created_at=when
                )
            )
    return sessions
