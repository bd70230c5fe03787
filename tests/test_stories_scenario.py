"""One event, many outlets: one alert and a thread, end to end on both databases.

The real poll cycle reads local feeds, the real drainer posts to the Slack
fake; only the clock and Slack's pacing are the test's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from bot.config import load_config
from bot.deliver import Drainer
from bot.poll import poll_once, sync_config_feeds
from bot.rules import Matcher
from bot.runtime import Runtime
from bot.slack import SlackPoster
from bot.verdicts import VERDICT_BLOCK
from feeds.canonical import site_of
from storage.db import make_engine, session_factory, transaction, upgrade
from storage.feedback import record_feedback
from storage.models import Hit, Item, ItemEdit, Outbox, Story
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import FakeSlack, PostedMessage
from tests.sample import config_text, rss

OTTAWA = """
[groups.treaty_ottawa]
en = ["ottawa convention", "ottawa treaty", "mine ban treaty"]
lt = ["otavos konvencij*"]

[[rules]]
id = "ottawa_withdrawal"
topic = "ottawa_withdrawal"
severity = "high"
all = ["treaty_ottawa", "withdraw", "state"]
none = ["exclude"]
"""

# The wire report most Lithuanian outlets carried, nearly word for word.
WIRE = (
    "Seimas ketvirtadienį 96 balsais prieš 12 nusprendė, kad Lietuva pasitrauks "
    "iš Konvencijos dėl kasetinių šaudmenų; sprendimas įsigalios praėjus šešiems "
    "mėnesiams po pranešimo Jungtinėms Tautoms."
)
TITLE_LT = "Seimas pritarė pasitraukimui iš Konvencijos dėl kasetinių šaudmenų"
EN_LEAD = (
    "Lithuania's parliament voted on Thursday to withdraw from the Convention on "
    "Cluster Munitions, citing the security situation in the region."
)
LRT = "https://www.lrt.lt/naujienos/lietuvoje/2/2412345/seimas-pritare-pasitraukimui"
DELFI = "https://www.delfi.lt/news/daily/lithuania/seimas-pritare-120045678"
MIN15 = "https://www.15min.lt/naujiena/aktualu/lietuva/seimas-kasetiniai-56-2212345"
WP = "https://wiadomosci.wp.pl/litwa-wycofa-sie-z-konwencji-6981234567890a"


def bing(url: str) -> str:
    return (
        "https://www.bing.com/news/apiclick.aspx?ref=FexRss&aid=&tid=x1&url="
        + quote(url, safe="")
        + "&c=42&mkt=en-us"
    )


@dataclass(frozen=True)
class Source:
    path: str
    name: str
    language: str
    items: tuple[tuple[str, str, str], ...]  # (title, link, description)


# 8 outlets (lrt.lt, delfi.lt, 15min.lt, lrytas.lt, bns.lt, wp.pl,
# tvpworld.com, reuters.com), 13 entries in 3 languages on the first poll,
# and one republished edit on the second: 14 entries.
SOURCES = [
    Source("/lrt.xml", "LRT", "lt", ((TITLE_LT, LRT + "?utm_source=rss", WIRE),)),
    Source(
        "/lrt-top.xml",
        "LRT top stories",
        "lt",
        ((TITLE_LT, LRT + "?utm_source=top&utm_medium=rss#comments", WIRE),),
    ),
    Source(
        "/lrt-en.xml",
        "LRT English",
        "en",
        (
            (
                "Lithuania to leave cluster munitions convention",
                "https://www.lrt.lt/en/news-in-english/19/2412400/lithuania-to-leave",
                EN_LEAD,
            ),
        ),
    ),
    Source(
        "/delfi.xml",
        "Delfi",
        "lt",
        ((TITLE_LT, DELFI + "?fbclid=IwAR0x", WIRE.replace("ketvirtadienį", "vakar")),),
    ),
    Source(
        "/15min.xml",
        "15min",
        "lt",
        (
            (
                "Lietuva pasitraukia iš kasetinių šaudmenų konvencijos",
                MIN15 + "/amp",
                "Seimas balsavo: Lietuva pasitraukia iš konvencijos dėl kasetinių "
                "šaudmenų, sako Seimo pirmininkas.",
            ),
        ),
    ),
    Source(
        "/lrytas.xml",
        "Lrytas",
        "lt",
        (
            (  # a reworded headline over the wire text
                "Lietuva traukiasi: parlamentas balsavo prieš kasetinius šaudmenis",
                "https://www.lrytas.lt/lietuvosdiena/aktualijos/2026/11/27/news/seimas-123",
                WIRE,
            ),
        ),
    ),
    Source(
        "/bns.xml",
        "BNS",
        "en",
        (
            (
                "Seimas votes to withdraw Lithuania from cluster munition ban",
                "https://www.bns.lt/topic/1912/news/71234567/?ref=rss",
                "Lawmakers backed leaving the convention after a heated debate.",
            ),
        ),
    ),
    Source(
        "/wp.xml",
        "WP",
        "pl",
        (
            (
                "Litwa wycofa się z konwencji o amunicji kasetowej",
                WP + "?utm_campaign=rss",
                "Litewski Sejm zdecydował o wypowiedzeniu konwencji.",
            ),
        ),
    ),
    Source(
        "/tvp.xml",
        "TVP World",
        "en",
        (
            (
                "Lithuania leaving cluster munitions treaty",
                "https://tvpworld.com/81234567/lithuania-leaving-treaty",
                "Vilnius says the convention no longer fits the region's security.",
            ),
        ),
    ),
    Source(
        "/reuters.xml",
        "Reuters",
        "en",
        (
            (
                "Lithuanian lawmakers vote to withdraw from cluster bomb treaty",
                "https://www.reuters.com/world/europe/lithuania-cluster-2026-11-27/",
                "Lithuania will withdraw from the Convention on Cluster Munitions.",
            ),
        ),
    ),
    Source(
        "/bing.xml",
        "Bing News LT",
        "en",
        (  # a news search links through Bing's redirect
            (TITLE_LT, bing(DELFI + "?utm_source=bing"), WIRE),
            (
                "Lietuva pasitraukia iš kasetinių šaudmenų konvencijos",
                bing(MIN15.replace("www.", "m.")),
                "Seimas balsavo.",
            ),
            (
                "Litwa wycofa się z konwencji o amunicji kasetowej",
                bing(WP + "?outputType=amp"),
                "Litewski Sejm zdecydował.",
            ),
        ),
    ),
]
OUTLETS = [
    "lrt.lt",
    "delfi.lt",
    "15min.lt",
    "lrytas.lt",
    "bns.lt",
    "wiadomosci.wp.pl",
    "tvpworld.com",
    "reuters.com",
]


def outlet(message: PostedMessage) -> str | None:
    """The publisher of the article a message links to."""
    links = [w for w in (message.text or "").split() if w.startswith("https://")]
    return site_of(links[-1]) if links else None


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def feeds_toml(server: FeedServer, sources: list[Source]) -> str:
    return "\n".join(
        f'[[feeds]]\nname = "{s.name}"\nurl = "{server.url(s.path)}"\n'
        f'language = "{s.language}"\nstate = "LT"\n'
        for s in sources
    )


def runtime(path: Path, db_url: str) -> Runtime:
    engine = make_engine(db_url)
    upgrade(engine)
    config = load_config(path)
    rt = Runtime(
        config, path, engine, session_factory(engine), Matcher(config), clock=Clock()
    )
    sync_config_feeds(rt)
    return rt


def drain(rt: Runtime, fake_slack: FakeSlack) -> None:
    poster = SlackPoster(fake_slack.token, api_url=fake_slack.url, min_interval=0)
    Drainer(rt, poster).drain()


def start(
    tmp_path: Path,
    db_url: str,
    feed_server: FeedServer,
    fake_slack: FakeSlack,
    sources: list[Source],
) -> Runtime:
    """Serve the sources and start a runtime on a config that polls them."""
    for source in sources:
        feed_server.add(source.path, rss(*source.items))
    path = tmp_path / "config.toml"
    path.write_text(
        config_text(feeds=[], slack_url=fake_slack.url, extra=OTTAWA)
        + feeds_toml(feed_server, sources),
        encoding="utf-8",
    )
    return runtime(path, db_url)


@pytest.fixture
def scenario(
    tmp_path: Path, db_url: str, feed_server: FeedServer, fake_slack: FakeSlack
) -> Iterator[Runtime]:
    rt = start(tmp_path, db_url, feed_server, fake_slack, SOURCES)
    yield rt
    rt.engine.dispose()


def top_level(fake_slack: FakeSlack) -> list[PostedMessage]:
    return [m for m in fake_slack.messages if m.thread_ts is None]


def test_one_event_from_eight_outlets_is_one_alert_with_one_reply_per_outlet(
    scenario: Runtime, fake_slack: FakeSlack, feed_server: FeedServer
) -> None:
    rt = scenario
    reports = poll_once(rt)
    assert sum(r.new_items for r in reports) == 13
    drain(rt, fake_slack)

    [alert] = top_level(fake_slack)
    replies = [m for m in fake_slack.messages if m.thread_ts is not None]
    assert all(r.thread_ts == alert.ts for r in replies)
    assert all(r.channel == alert.channel_id for r in replies)
    # One reply per outlet other than the alert's own, each naming its outlet.
    # Each message is one outlet's: the alert's and the replies' are all different.
    assert sorted(outlet(m) for m in [alert, *replies]) == sorted(OUTLETS)
    assert all((r.text or "").startswith("Also reported by ") for r in replies)
    # The alert now counts the outlets.
    assert fake_slack.updates and "8 outlets" in (fake_slack.updates[-1].text or "")
    assert "8 outlets" in (top_level(fake_slack)[0].text or "")

    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Story)) == 1
        assert s.scalar(select(func.count(func.distinct(Item.language)))) == 3

    # Delfi republishes its entry with a corrected headline: stored, not alerted.
    delfi = SOURCES[3]
    title, link, summary = delfi.items[0]
    feed_server.add(
        delfi.path,
        rss(
            (
                "Seimas: Lietuva pasitrauks iš konvencijos dėl kasetinių šaudmenų",
                link,
                summary,
            )
        ),
    )
    before = len(fake_slack.messages), len(fake_slack.updates)
    reports = poll_once(rt, force=True)
    drain(rt, fake_slack)
    assert sum(r.new_items for r in reports) == 0
    assert (len(fake_slack.messages), len(fake_slack.updates)) == before
    with rt.sessions() as s:
        [edit] = s.scalars(select(ItemEdit)).all()
        assert edit.old_title == title
        assert edit.new_title.startswith("Seimas: Lietuva pasitrauks")
        assert s.scalar(select(func.count()).select_from(Item)) == 13
        kinds = s.scalars(select(Outbox.kind)).all()
    assert sorted(kinds) == ["alert"] + ["reply"] * 7 + ["update"]


def test_two_different_events_in_one_state_on_one_day_are_two_alerts(
    tmp_path: Path, db_url: str, feed_server: FeedServer, fake_slack: FakeSlack
) -> None:
    vote = (
        "Seimas votes to withdraw Lithuania from the Convention on Cluster Munitions",
        "https://www.lrt.lt/en/news-in-english/19/1/vote",
        "The vote passed 96 to 12 on Thursday.",
    )
    vote_elsewhere = (
        "Lithuania to leave cluster munitions convention",
        "https://www.reuters.com/world/europe/lithuania-ccm/",
        "Lawmakers approved the withdrawal.",
    )
    debate = (
        "Seimas debates leaving the Ottawa mine ban treaty",
        "https://www.lrt.lt/en/news-in-english/19/2/debate",
        "Lithuanian lawmakers debated whether to withdraw from the Ottawa Convention.",
    )
    debate_elsewhere = (
        "Lithuania weighs withdrawal from Ottawa treaty",
        "https://www.reuters.com/world/europe/lithuania-ottawa/",
        "A first reading in the Seimas.",
    )
    sources = [
        Source("/lrt.xml", "LRT English", "en", (vote, debate)),
        Source("/reuters.xml", "Reuters", "en", (vote_elsewhere, debate_elsewhere)),
    ]
    rt = start(tmp_path, db_url, feed_server, fake_slack, sources)
    try:
        poll_once(rt)
        drain(rt, fake_slack)
    finally:
        rt.engine.dispose()
    alerts = top_level(fake_slack)
    assert len(alerts) == 2
    by_topic = {
        "cluster": next(a for a in alerts if "Cluster Munitions" in (a.text or "")),
        "ottawa": next(a for a in alerts if "Mine Ban" in (a.text or "")),
    }
    replies = [m for m in fake_slack.messages if m.thread_ts is not None]
    assert len(replies) == 2
    for reply in replies:
        parent = next(a for a in alerts if a.ts == reply.thread_ts)
        if "Ottawa" in (reply.text or ""):
            assert parent is by_topic["ottawa"]
        else:
            assert parent is by_topic["cluster"]


def test_follow_ups_wait_for_their_alert_and_survive_a_restart(
    scenario: Runtime, fake_slack: FakeSlack
) -> None:
    rt = scenario
    poll_once(rt)
    # Slack refuses the alert: nothing of its thread may go out before it.
    fake_slack.fail_next("chat.postMessage", error="internal_error", status=500)
    drain(rt, fake_slack)
    assert fake_slack.messages == []
    with rt.sessions() as s:
        assert set(s.scalars(select(Outbox.status))) == {"pending"}

    # A new process (nothing kept in memory) finds the thread in the outbox.
    rt.clock.now += timedelta(minutes=5)  # type: ignore[attr-defined]
    drain(rt, fake_slack)
    [alert] = top_level(fake_slack)
    assert fake_slack.messages[0] == alert
    replies = fake_slack.messages[1:]
    assert len(replies) == 7 and all(r.thread_ts == alert.ts for r in replies)


def test_follow_ups_of_an_alert_slack_refused_for_good_are_kept_as_failed(
    scenario: Runtime, fake_slack: FakeSlack
) -> None:
    rt = scenario
    poll_once(rt)
    with transaction(rt.sessions) as s:
        alert = s.scalars(select(Outbox).where(Outbox.kind == "alert")).one()
        alert.status = "failed"
    drain(rt, fake_slack)
    assert fake_slack.messages == []
    with rt.sessions() as s:
        rows = s.execute(select(Outbox.kind, Outbox.status, Outbox.last_error)).all()
    assert {(kind, status) for kind, status, _ in rows} == {
        ("alert", "failed"),
        ("reply", "failed"),
        ("update", "failed"),
    }
    assert all(
        "could not be delivered" in (e or "") for k, _, e in rows if k != "alert"
    )


def test_the_outlet_count_update_keeps_the_teams_verdicts(
    scenario: Runtime, fake_slack: FakeSlack
) -> None:
    rt = scenario
    poll_once(rt)
    # A campaigner judged the alert before its outlet count was updated.
    with transaction(rt.sessions) as s:
        alert = s.scalars(select(Outbox).where(Outbox.kind == "alert")).one()
        hit_ids = list(s.scalars(select(Hit.id).where(Hit.story_id == alert.story_id)))
        assert record_feedback(
            s, hit_ids, verdict="relevant", who="Alice (U1)", now=rt.clock()
        )
    drain(rt, fake_slack)

    assert fake_slack.updates
    last = fake_slack.updates[-1]
    lines = [b for b in last.blocks if b.get("block_id") == VERDICT_BLOCK]
    assert len(lines) == 1
    assert "Relevant" in str(lines[0]) and "marked by Alice" in str(lines[0])
    assert "8 outlets" in (last.text or "")
