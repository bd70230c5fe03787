"""The daily digest: once a day at the configured local time, counts and top stories."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.daily import due_day, send_daily_digest
from bot.runtime import Runtime
from bot.slack import SlackPoster
from tests.fakes.clock import FakeTime
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import FakeSlack
from tests.sample import rss, write_config
from tests.slack_world import fake_time_poster, polled_runtime

# 07:30 in Vilnius (UTC+2 in November): half an hour before the digest.
START = datetime(2026, 11, 27, 5, 30, tzinfo=UTC)


@pytest.fixture
def world(
    tmp_path: Path, db_url: str, feed_server: FeedServer, fake_slack: FakeSlack
) -> Iterator[tuple[Runtime, FakeTime, SlackPoster]]:
    clock = FakeTime(START)
    feed_server.add(
        "/lt.xml",
        rss(
            (
                "Seimas votes to withdraw from the Convention on Cluster Munitions",
                "https://news.example.lt/ccm",
                "Lithuania will withdraw from the Convention on Cluster Munitions.",
            ),
            published=START,
        ),
    )
    feed_server.add(
        "/lt2.xml",
        rss(
            (
                "Lithuania to leave the Convention on Cluster Munitions",
                "https://news.example.lt/ccm",  # the same story, a second outlet
                "",
            ),
            published=START,
        ),
    )
    feed_server.add(
        "/pl.xml",
        rss(
            ("Poland plans to buy cluster munitions", "https://pl.example.com/buy", ""),
            published=START,
        ),
    )
    path = write_config(
        tmp_path,
        feeds=[
            ("LT news", feed_server.url("/lt.xml"), "LT"),
            ("LT radio", feed_server.url("/lt2.xml"), "LT"),
            ("PL news", feed_server.url("/pl.xml"), "PL"),
        ],
        slack_url=fake_slack.url,
        extra='[slack.digest]\ndaily_at = "08:00"\nchannel = "#digest"\n',
    )
    rt = polled_runtime(path, db_url, clock)
    poster = fake_time_poster(fake_slack, clock)
    yield rt, clock, poster
    rt.close()


def test_due_day_is_the_local_day_once_its_time_has_come() -> None:
    assert due_day("08:00", START, "Europe/Vilnius") is None
    day, moment = due_day("08:00", START + timedelta(hours=1), "Europe/Vilnius") or (
        "",
        None,
    )
    assert day == "2026-11-27" and moment == datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    assert due_day("", START, "UTC") is None


def test_a_daily_time_skipped_by_the_spring_clock_change_is_never_early() -> None:
    # 28 March 2027 in Vilnius: 03:00 EET jumps to 04:00 EEST (01:00 UTC), so
    # 03:30 does not exist that day; it is taken as 04:30 EEST (01:30 UTC).
    zone = "Europe/Vilnius"
    jump = datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    for minutes in (0, 10, 29):
        now = jump + timedelta(minutes=minutes)
        assert due_day("03:30", now, zone) is None, now
    day, moment = due_day("03:30", jump + timedelta(minutes=30), zone) or ("", None)
    assert moment is not None and day == "2027-03-28"
    assert moment.astimezone(UTC) == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    # The window a digest covers never reaches past the moment it is sent.
    for minutes in range(0, 24 * 60, 7):
        now = jump - timedelta(hours=12) + timedelta(minutes=minutes)
        due = due_day("03:30", now, zone)
        assert due is None or due[1] <= now, (now, due)


def test_the_daily_digest_keeps_its_local_time_across_the_autumn_change() -> None:
    # 31 October 2027 in Vilnius: 04:00 EEST goes back to 03:00 EET.
    zone = "Europe/Vilnius"
    before = due_day("08:00", datetime(2027, 10, 30, 5, 0, tzinfo=UTC), zone)
    after = due_day("08:00", datetime(2027, 10, 31, 6, 0, tzinfo=UTC), zone)
    assert before is not None and before[1] == datetime(2027, 10, 30, 5, tzinfo=UTC)
    assert after is not None and after[1] == datetime(2027, 10, 31, 6, tzinfo=UTC)
    assert due_day("08:00", datetime(2027, 10, 31, 5, 59, tzinfo=UTC), zone) is None


def test_the_daily_digest_goes_once_at_its_time_with_counts_and_top_stories(
    world: tuple[Runtime, FakeTime, SlackPoster], fake_slack: FakeSlack
) -> None:
    rt, clock, poster = world
    assert send_daily_digest(rt, poster) is False  # 07:30: not yet
    clock.advance(3600)
    assert send_daily_digest(rt, poster) is True
    assert send_daily_digest(rt, poster) is False  # once a day
    [digest] = fake_slack.messages
    assert digest.channel == "#digest"
    text = json.dumps(digest.blocks, ensure_ascii=False)
    assert "daily digest · 2026-11-27" in text
    assert "*3 hits*" in text
    assert "Lithuania 2" in text and "Poland 1" in text
    assert "Leaving the Convention on Cluster Munitions 2" in text
    # the story two outlets carried comes first
    first, second = text.index("news.example.lt/ccm"), text.index("pl.example.com/buy")
    assert first < second and "2 outlets" in text

    clock.advance(86400)  # the next day: nothing new
    assert send_daily_digest(rt, poster) is True
    assert "No alerts in the last 24 hours" in fake_slack.texts()[1]


def test_a_failed_daily_digest_is_retried_and_still_goes_once(
    world: tuple[Runtime, FakeTime, SlackPoster], fake_slack: FakeSlack
) -> None:
    rt, clock, poster = world
    clock.advance(3600)
    fake_slack.set_down(True)
    assert send_daily_digest(rt, poster) is False
    fake_slack.set_down(False)
    assert send_daily_digest(rt, poster) is False  # waits its retry time
    clock.advance(600)
    assert send_daily_digest(rt, poster) is True
    assert send_daily_digest(rt, poster) is False
    assert len(fake_slack.messages) == 1
