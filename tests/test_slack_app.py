"""The Slack app, driven the way Socket Mode drives it: real payload shapes
(a slash command, a block_actions click) through bolt's Socket Mode runner,
answers to the Slack fake's response URL, updates through chat.update."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_bolt.adapter.socket_mode.internals import run_bolt_app
from slack_sdk import WebClient
from slack_sdk.socket_mode.request import SocketModeRequest
from sqlalchemy import select

from bot.alert import NOT_RELEVANT_ACTION, RELEVANT_ACTION
from bot.commands import parse_hits_words
from bot.deliver import Drainer
from bot.runtime import Runtime
from bot.slackapp import build_app
from bot.verdicts import VERDICT_BLOCK
from storage.models import Feedback, Hit
from tests.fakes.clock import FakeTime
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import FakeSlack, PostedMessage
from tests.sample import rss, write_config
from tests.slack_world import fake_time_poster, polled_runtime

LT_STORY = (
    "Seimas votes to withdraw from the Convention on Cluster Munitions",
    "https://news.example.lt/ccm",
    "Lithuania will withdraw from the Convention on Cluster Munitions.",
)
PL_STORY = (
    "Poland plans to buy cluster munitions",
    "https://pl.example.com/buy",
    "The Polish ministry wants to purchase cluster munitions.",
)
MANIFEST = Path(__file__).resolve().parent.parent / "slack" / "manifest.json"


@dataclass
class App:
    rt: Runtime
    slack: FakeSlack
    time: FakeTime
    bolt: Any

    def command(self, text: str) -> dict[str, Any]:
        """Send `/normwatch TEXT` as Slack does; return the ephemeral answer."""
        before = len(self.slack.responses)
        payload = {
            "token": "verification-token-unused",
            "team_id": "T1",
            "team_domain": "campaign",
            "channel_id": "C0ALERTS01",
            "channel_name": "alerts",
            "user_id": "U0ALICE01",
            "user_name": "alice",
            "command": "/normwatch",
            "text": text,
            "api_app_id": "A0NORMWATCH",
            "is_enterprise_install": "false",
            "response_url": self.slack.response_url("cmd"),
            "trigger_id": "123.456.abc",
        }
        acked = run_bolt_app(
            self.bolt,
            SocketModeRequest(
                type="slash_commands",
                envelope_id="env-cmd",
                payload=payload,
                accepts_response_payload=True,
            ),
        )
        assert acked.status == 200
        return wait_for(lambda: self.slack.responses[before:])[0][1]

    def click(
        self,
        message: PostedMessage,
        action_id: str,
        user: str = "bob",
        value: str | None = None,
    ) -> None:
        actions = next(b for b in message.blocks if b["type"] == "actions")
        button = next(e for e in actions["elements"] if e["action_id"] == action_id)
        payload = {
            "type": "block_actions",
            "user": {
                "id": f"U0{user.upper()}01",
                "username": user,
                "name": user,
                "team_id": "T1",
            },
            "api_app_id": "A0NORMWATCH",
            "token": "verification-token-unused",
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel_id,
                "is_ephemeral": False,
            },
            "trigger_id": "123.456.def",
            "team": {"id": "T1", "domain": "campaign"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": message.channel_id, "name": "alerts"},
            "message": {
                "type": "message",
                "user": "UBOT",
                "bot_id": "B1",
                "text": message.text,
                "ts": message.ts,
                "blocks": message.blocks,
            },
            "state": {"values": {}},
            "response_url": self.slack.response_url("click"),
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": actions["block_id"],
                    "text": button["text"],
                    "value": button["value"] if value is None else value,
                    "type": "button",
                    "action_ts": "1700000100.000200",
                }
            ],
        }
        acked = run_bolt_app(
            self.bolt,
            SocketModeRequest(
                type="interactive", envelope_id="env-click", payload=payload
            ),
        )
        assert acked.status == 200


def wait_for(found: Callable[[], list[Any]], seconds: float = 10) -> list[Any]:
    """Bolt answers on a worker thread after the ack: wait for what it sends."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = found()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError("nothing arrived")


@pytest.fixture
def app(
    tmp_path: Path, db_url: str, feed_server: FeedServer, fake_slack: FakeSlack
) -> Iterator[App]:
    clock = FakeTime()
    feed_server.add("/lt.xml", rss(LT_STORY))
    feed_server.add("/pl.xml", rss(PL_STORY))
    path = write_config(
        tmp_path,
        feeds=[
            ("LT news", feed_server.url("/lt.xml"), "LT"),
            ("PL news", feed_server.url("/pl.xml"), "PL"),
        ],
        slack_url=fake_slack.url,
    )
    rt = polled_runtime(path, db_url, clock)
    poster = fake_time_poster(fake_slack, clock)
    Drainer(rt, poster, buttons=True, sleep=clock.sleep).drain()
    client = WebClient(token=fake_slack.token, base_url=fake_slack.url)
    yield App(rt, fake_slack, clock, build_app(rt, client))
    rt.close()


def lt_alert(app: App) -> PostedMessage:
    return next(m for m in app.slack.messages if "Lithuania" in (m.text or ""))


# --- the slash command ---------------------------------------------------------------


def test_hits_lt_7d_answers_ephemerally_with_the_lithuanian_hit_only(app: App) -> None:
    answer = app.command("hits LT 7d")
    assert answer["response_type"] == "ephemeral"
    text = json.dumps(answer, ensure_ascii=False)
    assert "<https://news.example.lt/ccm|Seimas votes to withdraw" in text
    assert "Leaving the Convention on Cluster Munitions" in text
    assert "LT news" in text and "Lithuania" in text
    assert "Poland plans" not in text
    assert all(len(b["text"]["text"]) <= 3000 for b in answer["blocks"])


def test_hits_outside_the_window_are_left_out(app: App) -> None:
    app.time.advance(timedelta(days=8).total_seconds())
    answer = app.command("hits LT 7d")
    assert "none" in answer["text"] and "Seimas" not in answer["text"]


def test_hits_words_come_in_any_order_and_a_stranger_is_named(app: App) -> None:
    answer = app.command("hits cluster_acquisition pl")
    assert "Poland plans" in answer["text"] and "Seimas" not in answer["text"]
    answer = app.command("hits <!channel>")
    assert "&lt;!channel&gt;" in answer["text"] and "<!channel>" not in answer["text"]
    assert "is not a state, a topic or a time" in answer["text"]


def test_parse_hits_words_understands_states_topics_durations_and_dates() -> None:
    now = FakeTime().now()
    f = parse_hits_words(
        ["lt", "ccm_withdrawal", "12h"],
        states={"LT"},
        topics={"ccm_withdrawal"},
        now=now,
    )
    assert (f.state, f.topic, f.since) == (
        "LT",
        "ccm_withdrawal",
        now - timedelta(hours=12),
    )
    f = parse_hits_words(["2026-11-01"], states=set(), topics=set(), now=now)
    assert f.since is not None and f.since.isoformat().startswith("2026-11-01T00:00")
    with pytest.raises(ValueError, match="yesterday"):
        parse_hits_words(["yesterday"], states=set(), topics=set(), now=now)


def test_a_number_without_a_unit_is_questioned_not_read_as_seconds(app: App) -> None:
    # `hits LT 7` would otherwise mean "the last 7 seconds" and answer "none".
    answer = app.command("hits LT 7")["text"]
    assert "7d" in answer and "none" not in answer
    with pytest.raises(ValueError, match="needs a unit"):
        parse_hits_words(["30"], states=set(), topics=set(), now=app.time.now())


def test_search_feeds_stats_and_help_answer(app: App) -> None:
    found = app.command("search seimas")["text"]
    assert "Seimas votes" in found and "Poland" not in found
    assert "Search for what" in app.command("search")["text"]
    feeds = app.command("feeds")["text"]
    assert "2 feeds" in feeds and "0 failing" in feeds
    stats = app.command("stats")["text"]
    assert "2 hits in the last 7 days" in stats and "Lithuania 1" in stats
    for words in ("help", "", "frobnicate"):
        assert "/normwatch hits [state] [topic] [since]" in app.command(words)["text"]


# --- the buttons -----------------------------------------------------------------------


def test_alerts_carry_the_two_buttons_with_their_hit_ids(app: App) -> None:
    message = lt_alert(app)
    [actions] = [b for b in message.blocks if b["type"] == "actions"]
    labels = [e["text"]["text"] for e in actions["elements"]]
    assert labels == ["Relevant", "Not relevant"]
    with app.rt.sessions() as s:
        hit_id = s.scalars(select(Hit.id).where(Hit.state == "LT")).one()
    assert {e["value"] for e in actions["elements"]} == {str(hit_id)}


def test_not_relevant_click_records_feedback_and_updates_the_alert(app: App) -> None:
    message = lt_alert(app)
    app.click(message, NOT_RELEVANT_ACTION, user="bob")
    [updated] = wait_for(lambda: app.slack.updates)
    assert updated.ts == message.ts and updated.channel_id == message.channel_id
    verdicts = [b for b in updated.blocks if b.get("block_id") == VERDICT_BLOCK]
    [line] = [e["text"] for b in verdicts for e in b["elements"]]
    assert "Not relevant" in line and "marked by bob" in line
    assert [b["type"] for b in updated.blocks[:2]] == ["header", "section"]
    with app.rt.sessions() as s:
        [row] = s.scalars(select(Feedback)).all()
        hit = s.get(Hit, row.hit_id)
    assert hit is not None and hit.state == "LT"
    assert (row.verdict, row.who) == ("not_relevant", "bob (U0BOB01)")
    assert row.created_at == app.time.now()

    # A change of mind replaces the line; the stats count the latest verdict.
    app.click(
        app.slack.messages[app.slack.messages.index(updated)], RELEVANT_ACTION, "bob"
    )
    latest = wait_for(lambda: app.slack.updates[1:])[0]
    lines = [b for b in latest.blocks if b.get("block_id") == VERDICT_BLOCK]
    assert len(lines) == 1 and "Relevant — marked by bob" in json.dumps(
        lines, ensure_ascii=False
    )
    assert "ccm_withdrawal: 1 / 1 (100%)" in app.command("stats")["text"]


def test_two_people_judging_an_alert_both_show_on_it(app: App) -> None:
    message = lt_alert(app)
    app.click(message, RELEVANT_ACTION, user="alice")
    [first] = wait_for(lambda: app.slack.updates)
    # bob clicks on the message as it stands after alice's click
    app.click(app.slack.messages[app.slack.messages.index(first)], NOT_RELEVANT_ACTION)
    second = wait_for(lambda: app.slack.updates[1:])[0]
    shown = json.dumps(
        [b for b in second.blocks if b.get("block_id") == VERDICT_BLOCK],
        ensure_ascii=False,
    )
    assert "Relevant — marked by alice" in shown, shown
    assert "Not relevant — marked by bob" in shown, shown
    # Each person's latest click is what shows: alice changes her mind.
    app.click(
        app.slack.messages[app.slack.messages.index(second)],
        NOT_RELEVANT_ACTION,
        "alice",
    )
    third = wait_for(lambda: app.slack.updates[2:])[0]
    shown = json.dumps(
        [b for b in third.blocks if b.get("block_id") == VERDICT_BLOCK],
        ensure_ascii=False,
    )
    assert shown.count("Not relevant — ") == 2 and ":white_check_mark:" not in shown


def test_a_click_on_an_alert_normwatch_no_longer_has_says_so(app: App) -> None:
    app.click(lt_alert(app), RELEVANT_ACTION, value="987654")  # a hit since pruned
    [(path, body)] = wait_for(lambda: app.slack.responses)
    assert path.endswith("/click") and "no longer has this alert" in body["text"]
    assert body["response_type"] == "ephemeral" and app.slack.updates == []


# --- the manifest --------------------------------------------------------------------


def test_the_app_manifest_asks_for_what_the_app_uses() -> None:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/normwatch"
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "commands"} <= scopes
