"""Delivery against a Slack fake that rate limits, fails and goes down like Slack.

Time is a FakeTime shared by the drainer, the poster and the fake: waits
move it forward, so "two minutes of 503" takes no real two minutes.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.deliver import Drainer
from bot.runtime import Runtime
from bot.slack import SlackPoster, WebhookPoster
from storage.models import Outbox
from storage.outbox import channel_problems
from tests.fakes.clock import FakeTime
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import FakeSlack, PostedMessage
from tests.sample import rss, write_config
from tests.slack_world import polled_runtime


def story(n: int) -> tuple[str, str, str]:
    return (
        f"Lithuania will withdraw from the Convention on Cluster Munitions, part {n:02d}",
        f"https://news.example/{n:02d}",
        "Seimas vote.",
    )


# These tests are about delivery, one alert per item: no story grouping
# (the items are near-identical and share state and topic on purpose).
UNGROUPED = "[stories]\nevent_threads = false\nnear_duplicate = 0\n"


@dataclass
class World:
    rt: Runtime
    time: FakeTime
    slack: FakeSlack

    def drainer(self, *, paced: bool = True, **kwargs: object) -> Drainer:
        poster = SlackPoster(
            self.slack.token,
            api_url=self.slack.url,
            min_interval=1.0 if paced else 0.0,
            clock=self.time.monotonic,
            sleep=self.time.sleep,
        )
        return Drainer(self.rt, poster, sleep=self.time.sleep, **kwargs)  # type: ignore[arg-type]

    def outbox(self) -> list[Outbox]:
        with self.rt.sessions() as s:
            return list(s.scalars(select(Outbox).order_by(Outbox.id)))

    def run_ticks(
        self, drainer: Drainer, *, seconds: float = 5, limit: int = 400
    ) -> int:
        """Drain every `seconds` (the scheduler's tick) until the outbox is empty."""
        for tick in range(limit):
            drainer.drain()
            if all(r.status == "sent" for r in self.outbox()):
                return tick
            self.time.advance(seconds)
        raise AssertionError("the outbox never emptied")


@pytest.fixture
def make_world(
    tmp_path: Path, db_url: str, feed_server: FeedServer
) -> Iterator[object]:
    made: list[tuple[FakeSlack, Runtime]] = []

    def make(
        items: list[tuple[str, str, str]], *, extra: str = "", burst: int | None = 3
    ) -> World:
        time = FakeTime()
        slack = FakeSlack(burst=burst, clock=time.monotonic).start()
        feed_server.add("/f.xml", rss(*items))
        path = write_config(
            tmp_path,
            feeds=[("Feed", feed_server.url("/f.xml"), "LT")],
            slack_url=slack.url,
            extra=UNGROUPED + extra,
        )
        rt = polled_runtime(path, db_url, time)
        made.append((slack, rt))
        return World(rt, time, slack)

    yield make
    for slack, rt in made:
        slack.stop()
        rt.close()


def part(message: PostedMessage) -> str:
    return re.findall(r"part (\d\d)", message.text or "")[0]


def digest_parts(message: PostedMessage) -> list[str]:
    text = json.dumps(message.blocks, ensure_ascii=False)
    return re.findall(r"part (\d\d)", text)


# --- 40 alerts at once -------------------------------------------------------------


def test_forty_alerts_due_at_once_go_as_one_digest_each_linked_in_order(
    make_world: object,
) -> None:
    world: World = make_world([story(n) for n in range(40)])  # type: ignore[operator]
    report = world.drainer().drain()
    assert (report.sent, report.digests) == (40, 1)
    [digest] = world.slack.messages
    assert digest_parts(digest) == [f"{n:02d}" for n in range(40)]
    links = re.findall(r"<(https://news\.example/\d\d)\|", json.dumps(digest.blocks))
    assert links == [f"https://news.example/{n:02d}" for n in range(40)]
    assert "40 new alerts" in digest.text
    rows = world.outbox()
    assert {r.status for r in rows} == {"sent"}
    assert {r.slack_ts for r in rows} == {digest.ts}
    assert world.drainer().drain().sent == 0  # nothing goes twice


def test_forty_alerts_one_by_one_respect_the_rate_limit_and_retry_after(
    make_world: object,
) -> None:
    # Digests off, and a poster that does not pace itself: the fake lets three
    # through, then answers 429 with Retry-After, which the drain must honour.
    world: World = make_world(  # type: ignore[operator]
        [story(n) for n in range(40)], extra="[slack.digest]\nburst = 0\n"
    )
    world.run_ticks(world.drainer(paced=False))
    messages = world.slack.messages
    assert [part(m) for m in messages] == [f"{n:02d}" for n in range(40)]
    assert world.slack.rate_limited > 0
    assert world.slack.early_calls == []  # never called again before Retry-After
    assert [r.slack_ts for r in world.outbox()] == [m.ts for m in messages]


def test_a_paced_drain_stays_under_one_message_a_second_and_meets_no_429(
    make_world: object,
) -> None:
    world: World = make_world(  # type: ignore[operator]
        [story(n) for n in range(40)], extra="[slack.digest]\nburst = 0\n"
    )
    world.run_ticks(world.drainer())
    assert len(world.slack.messages) == 40
    assert world.slack.rate_limited == 0
    assert world.time.monotonic() >= 39  # 40 posts take at least 39 seconds


# --- outages ------------------------------------------------------------------------


def test_two_minutes_of_503_lose_nothing_and_double_nothing(
    make_world: object, caplog: pytest.LogCaptureFixture
) -> None:
    world: World = make_world([story(n) for n in range(5)])  # type: ignore[operator]
    world.slack.down_for(120)
    drainer = world.drainer()
    with caplog.at_level(logging.WARNING, logger="normwatch.deliver"):
        ticks = world.run_ticks(drainer)
    assert world.time.monotonic() >= 120 and ticks > 3
    assert [part(m) for m in world.slack.messages] == ["00", "01", "02", "03", "04"]
    assert [r.slack_ts for r in world.outbox()] == [m.ts for m in world.slack.messages]
    failures = [
        c for c, _ in world.slack.calls if c == "chat.postMessage"
    ]  # backoff, not a hammering: far fewer calls than 5-second ticks
    assert len(failures) < 5 + 120 / 5
    outages = [r for r in caplog.records if "service_unavailable" in r.getMessage()]
    assert len(outages) == 1


def test_an_outage_survives_a_restart_without_doubling(make_world: object) -> None:
    world: World = make_world([story(n) for n in range(4)])  # type: ignore[operator]
    world.slack.down_for(120)
    world.drainer().drain()
    world.time.advance(60)
    world.drainer().drain()  # a second process (or a restart) mid-outage
    world.time.advance(120)
    world.run_ticks(world.drainer())
    assert [part(m) for m in world.slack.messages] == ["00", "01", "02", "03"]


def test_a_timeout_is_retried_with_backoff_and_the_alert_goes_once(
    make_world: object,
) -> None:
    world: World = make_world([story(n) for n in range(2)])  # type: ignore[operator]
    world.slack.hang_next("chat.postMessage", seconds=1.5)
    poster = SlackPoster(
        world.slack.token,
        api_url=world.slack.url,
        timeout=1,
        clock=world.time.monotonic,
        sleep=world.time.sleep,
    )
    drainer = Drainer(world.rt, poster, sleep=world.time.sleep)
    report = drainer.drain()
    assert report.sent == 0 and "cannot reach Slack" in report.errors[0]
    world.run_ticks(drainer)
    assert [part(m) for m in world.slack.messages] == ["00", "01"]


@pytest.mark.parametrize(
    ("error", "words"),
    [
        ("channel_not_found", "check [slack] channel"),
        ("not_in_channel", "/invite @normwatch"),
        ("invalid_auth", "SLACK_BOT_TOKEN"),
        ("account_inactive", "reinstall the app"),
    ],
)
def test_permanent_errors_are_reported_once_stored_for_status_and_alerts_wait(
    make_world: object, caplog: pytest.LogCaptureFixture, error: str, words: str
) -> None:
    world: World = make_world([story(n) for n in range(3)])  # type: ignore[operator]
    world.slack.fail_channel("#alerts", error)
    with caplog.at_level(logging.WARNING, logger="normwatch.deliver"):
        for _ in range(5):
            world.drainer().drain()  # fresh drainers too: a restart stays quiet
            world.time.advance(600)
    said = [r.getMessage() for r in caplog.records if error in r.getMessage()]
    assert len(said) == 1 and words in said[0]
    assert {r.status for r in world.outbox()} == {"pending"}
    with world.rt.sessions() as s:
        [problem] = channel_problems(s)
    assert (problem.channel, problem.error) == ("#alerts", error)
    assert words in problem.message and problem.since == world.time.start
    world.slack.clear_failures()
    world.run_ticks(world.drainer())
    assert [part(m) for m in world.slack.messages] == ["00", "01", "02"]
    with world.rt.sessions() as s:
        assert channel_problems(s) == []


# --- routing and webhooks ---------------------------------------------------------


ROUTES = """
[[slack.routes]]
channel = "#cmc-urgent"
severity = ["high"]
also_default = true

[[slack.routes]]
channel = "#poland"
state = ["PL"]
"""


def test_routes_send_alerts_to_their_channels_and_the_rest_to_the_default(
    make_world: object,
) -> None:
    world: World = make_world(  # type: ignore[operator]
        [
            story(0),
            ("Poland plans to buy cluster munitions", "https://pl.example/1", ""),
        ],
        extra=ROUTES.replace("[[slack.routes]]", "[[slack.routes]]", 2),
    )
    world.run_ticks(world.drainer())
    where = sorted((m.channel, (m.text or "")[:20]) for m in world.slack.messages)
    assert where == [
        ("#alerts", "Lithuania: Leaving t"),
        ("#cmc-urgent", "Lithuania: Leaving t"),
        ("#poland", "Poland: Buying, maki"),
    ]


def test_incoming_webhook_mode_posts_alerts_without_buttons_or_ts(
    make_world: object,
) -> None:
    world: World = make_world([story(n) for n in range(2)])  # type: ignore[operator]
    poster = WebhookPoster(
        world.slack.webhook_url("#alerts"),
        clock=world.time.monotonic,
        sleep=world.time.sleep,
    )
    drainer = Drainer(world.rt, poster, buttons=True, sleep=world.time.sleep)
    world.run_ticks(drainer)
    messages = world.slack.messages
    assert [part(m) for m in messages] == ["00", "01"]
    assert all(b["type"] != "actions" for m in messages for b in m.blocks)
    assert all(m.unfurl_links is False for m in messages)
    assert {r.status for r in world.outbox()} == {"sent"}


# --- hostile feed text ------------------------------------------------------------

HOSTILE = [
    "<!channel> <@U123> <#C0123> <https://evil.example|click> &amp;lt;",
    "\u202eLithuania\u202c \u05dc\u05d9\u05d8\u05d0 \u0644\u064a\u062a\u0648\u0627\u0646\u064a\u0627 \u2067rtl\u2069",
    "zero\u200bwidth\u2060joiner\ufeff <!here\u200b> <\u200b@U999>",
    "@channel @here #general www.evil.example",
    "emoji 💣🇱🇹👨‍👩‍👧 *bold* _it_ ~strike~ `code` ```block```",
    "x" * 20_000,
]
OUR_LINK = re.compile(r"<(https://[^|<>\s]+)\|[^<>]*>")


def hostile_items() -> list[tuple[str, str, str]]:
    base = "Lithuania will withdraw from the Convention on Cluster Munitions"
    return [
        (f"{text} {base}", f"https://news.example/h{n}", f"{text} {base}. {text}")
        for n, text in enumerate(HOSTILE)
    ]


def test_hostile_titles_and_summaries_arrive_inert_and_within_limits(
    make_world: object,
) -> None:
    world: World = make_world(hostile_items())  # type: ignore[operator]
    world.run_ticks(world.drainer())
    messages = world.slack.messages
    assert len(messages) == len(HOSTILE)  # the fake enforces Block Kit's limits
    for message in messages:
        assert len(message.blocks) <= 50
        texts = [message.text or ""]
        for block in message.blocks:
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= 150
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= 3000
                texts.append(block["text"]["text"])
            texts += [e["text"] for e in block.get("elements", []) if "text" in e]
        # Slack would turn a bare @channel in a non-verbatim mrkdwn object into
        # a live mention.
        for obj in re.findall(
            r'\{"type": "mrkdwn"[^{}]*\}', json.dumps(message.blocks)
        ):
            assert '"verbatim": true' in obj, obj
        for text in texts:
            # Every <…> is one of our own links: the article, or its translation.
            inert = OUR_LINK.sub("", text)
            assert "<" not in inert and ">" not in inert, inert[:200]
            for url in OUR_LINK.findall(text):
                assert url.startswith(
                    ("https://news.example/h", "https://translate.google.com/")
                )
            assert not re.search(r"&(?!amp;|lt;|gt;)", inert)
            for invisible in "\u202e\u202c\u2067\u2069\u2060\ufeff":
                assert invisible not in text
        everything = json.dumps(message.blocks, ensure_ascii=False) + (
            message.text or ""
        )
        for live in (
            "<!channel>",
            "<!here",
            "<@U123>",
            "<@U999>",
            "<#C0123>",
            "|click>",
        ):
            assert live not in everything.replace("\u200b", "")
    texts = "\n".join(world.slack.texts())
    assert "&amp;lt;" in texts or "&amp;amp;lt;" in texts  # shown as typed, not decoded
    # (the feed reader drops zero-width joiners, so the family is three people)
    assert "💣🇱🇹👨" in texts and "\u05dc\u05d9\u05d8\u05d0" in texts
    assert "…" in texts  # the 20,000 characters were cut, with an ellipsis


def test_a_rate_limited_webhook_waits_for_retry_after_and_loses_nothing(
    make_world: object,
) -> None:
    world: World = make_world(  # type: ignore[operator]
        [story(n) for n in range(8)], extra="[slack.digest]\nburst = 0\n"
    )
    poster = WebhookPoster(
        world.slack.webhook_url("#alerts"),
        min_interval=0,  # unpaced, so the fake's limit is reached
        clock=world.time.monotonic,
        sleep=world.time.sleep,
    )
    world.run_ticks(Drainer(world.rt, poster, sleep=world.time.sleep))
    assert [part(m) for m in world.slack.messages] == [f"{n:02d}" for n in range(8)]
    assert world.slack.rate_limited > 0 and world.slack.early_calls == []
