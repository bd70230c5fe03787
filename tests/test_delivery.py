"""Delivery from the outbox to the Slack fake: once, in order, and never dropped."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.alert import RenderedAlert
from bot.config import load_config
from bot.deliver import Drainer
from bot.poll import poll_once, sync_config_feeds
from bot.rules import Matcher
from bot.runtime import Runtime
from bot.slack import SlackPoster
from storage.db import make_engine, session_factory, upgrade
from storage.models import Outbox
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import FakeSlack
from tests.sample import rss, write_config

ITEMS = [
    (title, f"https://news.example/{n}", "Seimas vote.")
    for n, title in enumerate(
        [
            "Lithuania will withdraw from the Convention on Cluster Munitions, part 0",
            "Vilnius confirms: Lithuania to leave cluster munitions treaty, part 1",
            "Why Lithuania withdraws from the cluster munition ban, part 2",
        ]
    )
]
# Three alerts, not one thread: these tests are about the outbox's order.
SEPARATE = "[stories]\nevent_threads = false\n"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def rt(
    tmp_path: Path, db_url: str, feed_server: FeedServer, fake_slack: FakeSlack
) -> Iterator[Runtime]:
    feed_server.add("/f.xml", rss(*ITEMS))
    path = write_config(
        tmp_path,
        feeds=[("Feed", feed_server.url("/f.xml"), "LT")],
        slack_url=fake_slack.url,
        extra=SEPARATE,
    )
    engine = make_engine(db_url)
    upgrade(engine)
    config = load_config(path)
    runtime = Runtime(
        config, path, engine, session_factory(engine), Matcher(config), clock=Clock()
    )
    sync_config_feeds(runtime)
    poll_once(runtime)
    yield runtime
    engine.dispose()


def drainer(rt: Runtime, fake_slack: FakeSlack, token: str | None = None) -> Drainer:
    poster = SlackPoster(
        token or fake_slack.token, api_url=fake_slack.url, min_interval=0
    )
    return Drainer(rt, poster)


def statuses(rt: Runtime) -> list[str]:
    with rt.sessions() as s:
        return list(s.scalars(select(Outbox.status).order_by(Outbox.id)))


def test_alerts_are_posted_in_order_and_marked_sent_with_their_ts(
    rt: Runtime, fake_slack: FakeSlack
) -> None:
    report = drainer(rt, fake_slack).drain()
    assert report.sent == 3
    titles = [m.text for m in fake_slack.messages]
    assert [t.split("part ")[-1][:1] for t in titles] == ["0", "1", "2"]
    with rt.sessions() as s:
        rows = list(s.scalars(select(Outbox).order_by(Outbox.id)))
    assert [r.slack_ts for r in rows] == [m.ts for m in fake_slack.messages]
    assert drainer(rt, fake_slack).drain().sent == 0


def test_rate_limit_holds_the_channel_for_retry_after_then_delivers_in_order(
    rt: Runtime, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next(
        "chat.postMessage", error="ratelimited", status=429, retry_after=30
    )
    d = drainer(rt, fake_slack)
    report = d.drain()
    assert (report.sent, report.deferred) == (0, 1)
    assert "rate limited" in report.errors[0]
    assert statuses(rt) == ["pending"] * 3
    rt.clock.now += timedelta(seconds=10)  # type: ignore[attr-defined]
    # inside Slack's window nothing goes, not even the alerts behind it
    assert d.drain().sent == 0
    assert drainer(rt, fake_slack).drain().sent == 0  # a fresh process too
    rt.clock.now += timedelta(seconds=31)  # type: ignore[attr-defined]
    assert d.drain().sent == 3
    assert statuses(rt) == ["sent"] * 3
    assert [m.text.split("part ")[-1][:1] for m in fake_slack.messages] == [
        "0",
        "1",
        "2",
    ]


def test_a_message_slack_refuses_goes_as_plain_text(
    rt: Runtime, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("chat.postMessage", error="invalid_blocks", status=200)
    assert drainer(rt, fake_slack).drain().sent == 3
    first = fake_slack.messages[0]
    assert first.blocks == [] and "part 0" in first.text
    assert all(m.blocks for m in fake_slack.messages[1:])


def test_two_drainers_never_post_the_same_alert(
    rt: Runtime, fake_slack: FakeSlack
) -> None:
    import threading

    drainers = [drainer(rt, fake_slack) for _ in range(3)]
    threads = [threading.Thread(target=d.drain) for d in drainers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(m.text.split("part ")[-1][:1] for m in fake_slack.messages) == [
        "0",
        "1",
        "2",
    ]
    assert statuses(rt) == ["sent"] * 3


def test_permanent_error_keeps_alerts_pending_and_is_logged_once(
    rt: Runtime, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    fake_slack.fail_channel("#alerts", "channel_not_found")
    d = drainer(rt, fake_slack)
    with caplog.at_level(logging.WARNING, logger="normwatch.deliver"):
        for _ in range(3):
            d.drain()
            rt.clock.now += timedelta(hours=2)  # type: ignore[attr-defined]
    warnings = [
        r.getMessage() for r in caplog.records if "channel_not_found" in r.getMessage()
    ]
    assert len(warnings) == 1 and "check [slack] channel" in warnings[0]
    assert statuses(rt) == ["pending"] * 3
    fake_slack.clear_failures()
    d.drain()
    assert statuses(rt) == ["sent"] * 3


def test_slack_down_delays_alerts_and_loses_none(
    rt: Runtime, fake_slack: FakeSlack
) -> None:
    fake_slack.set_down(True)
    d = drainer(rt, fake_slack)
    assert d.drain().sent == 0
    assert statuses(rt) == ["pending"] * 3
    fake_slack.set_down(False)
    rt.clock.now += timedelta(hours=1)  # type: ignore[attr-defined]
    assert d.drain().sent == 3


def test_wrong_token_is_reported_and_nothing_is_lost(
    rt: Runtime, fake_slack: FakeSlack
) -> None:
    report = drainer(rt, fake_slack, token="xoxb-wrong").drain()
    assert report.sent == 0 and "invalid_auth" in report.errors[0]
    assert "xoxb-wrong" not in " ".join(report.errors)
    assert statuses(rt) == ["pending"] * 3


def test_posts_to_one_channel_are_paced(fake_slack: FakeSlack) -> None:
    slept: list[float] = []
    ticks = iter([0.0, 0.2, 1.0])  # first post; second post arrives 0.2 s later
    poster = SlackPoster(
        fake_slack.token,
        api_url=fake_slack.url,
        clock=lambda: next(ticks),
        sleep=slept.append,
    )
    alert = RenderedAlert(text="hello", blocks=[])
    assert poster.post("#alerts", alert).ok
    assert poster.post("#alerts", alert).ok
    assert slept == [pytest.approx(0.8)]
