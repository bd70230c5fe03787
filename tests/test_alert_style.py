"""What the team's config adds to an alert: translation link, mentions, buttons."""

from __future__ import annotations

import json
from dataclasses import replace

from bot.alert import (
    NOT_RELEVANT_ACTION,
    RELEVANT_ACTION,
    AlertStyle,
    RenderedAlert,
    render_alert,
)
from bot.config import DEFAULT_TRANSLATE_URL
from bot.digest import DaySummary, TopStory, render_burst, render_daily
from tests.test_alert import ALERT, HIT, STATES

STYLE = AlertStyle(
    translate_url=DEFAULT_TRANSLATE_URL, mentions={"high": "<!here>"}, buttons=True
)


def render(alert=ALERT, style: AlertStyle = STYLE) -> RenderedAlert:  # type: ignore[no-untyped-def]
    return render_alert(alert, states=STATES, style=style)


def meta(rendered: RenderedAlert) -> str:
    return str(rendered.blocks[1]["text"]["text"]).splitlines()[-1]


def test_non_english_items_get_a_machine_translation_link_to_the_article() -> None:
    line = meta(render())
    assert (
        "<https://translate.google.com/translate?sl=auto&tl=en&u="
        "https%3A%2F%2Fnews.example.lt%2Fseimas-ccm|machine translation>" in line
    )


def test_english_items_and_items_without_a_link_get_none() -> None:
    assert "translation" not in meta(render(replace(ALERT, language="en")))
    assert "translation" not in meta(render(replace(ALERT, language="en-GB")))
    assert "translation" not in meta(render(replace(ALERT, url=None)))
    assert "translation" not in meta(render(style=AlertStyle()))


def test_the_translation_service_is_configurable() -> None:
    style = AlertStyle(translate_url="https://www.deepl.com/translator#auto/en/{url}")
    assert "<https://www.deepl.com/translator#auto/en/https%3A%2F%2Fnews" in meta(
        render(style=style)
    )


def test_a_configured_mention_goes_first_for_its_severity_only() -> None:
    rendered = render()
    assert rendered.blocks[1]["text"]["text"].startswith("<!here> *<https://")
    assert rendered.text.startswith("<!here> ")
    quiet = render(replace(ALERT, hits=[replace(HIT, severity="medium")]))
    assert "<!here>" not in json.dumps(quiet.blocks) + quiet.text


def test_buttons_carry_the_hit_ids_and_only_when_the_app_is_connected() -> None:
    alert = replace(
        ALERT, hits=[replace(HIT, hit_id=7), replace(HIT, rule="b", hit_id=9)]
    )
    [actions] = [b for b in render(alert).blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == [
        RELEVANT_ACTION,
        NOT_RELEVANT_ACTION,
    ]
    assert {e["value"] for e in actions["elements"]} == {"7,9"}
    plain = render(alert, AlertStyle())
    assert all(b["type"] != "actions" for b in plain.blocks)


def test_a_burst_digest_holds_what_fits_and_says_how_many() -> None:
    alerts = [
        replace(
            ALERT,
            outbox_id=n,
            title=f"title {n} " + "&" * 200,
            url=f"https://x.example/{n}",
        )
        for n in range(80)
    ]
    rendered, used = render_burst(alerts)
    assert 10 < used <= 50
    assert len(rendered.blocks) <= 50
    assert all(
        len(b["text"]["text"]) <= 3000
        for b in rendered.blocks
        if b["type"] == "section"
    )
    assert f"{used} new alerts" in rendered.blocks[0]["text"]["text"]
    assert sum(len(json.dumps(b)) for b in rendered.blocks) < 13_000


def test_the_daily_digest_escapes_story_titles() -> None:
    summary = DaySummary(
        day="2026-11-27",
        hits=1,
        by_state={"LT": 1},
        by_topic={"ccm_withdrawal": 1},
        top=[
            TopStory("<!channel> news", "https://a.example/", "LT", "ccm_withdrawal", 3)
        ],
    )
    text = json.dumps(render_daily(summary, states=STATES).blocks)
    assert (
        "<!channel>" not in text and "&lt;!channel&gt;" in text and "3 outlets" in text
    )


# --- Slack's automatic parsing ---------------------------------------------------
# A mrkdwn text object without `verbatim: true` lets Slack turn plain "@channel",
# "@here", "#general" and bare URLs into live mentions and links; feed text must
# never get that treatment.

BARE_MENTIONS = "@channel @here @everyone #general see www.evil.example"


def mrkdwn_objects(node: object) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            found.append(node)
        for value in node.values():
            found += mrkdwn_objects(value)
    elif isinstance(node, list):
        for item in node:
            found += mrkdwn_objects(item)
    return found


def assert_not_auto_parsed(blocks: list[dict[str, object]]) -> None:
    carrying = [o for o in mrkdwn_objects(blocks) if "@channel" in str(o["text"])]
    assert carrying, "the feed text should be in the message"
    for obj in carrying:
        assert obj.get("verbatim") is True, obj


def test_bare_mentions_in_an_alert_are_not_parsed_by_slack() -> None:
    hostile = replace(
        ALERT,
        title=f"{BARE_MENTIONS} title",
        hits=[replace(HIT, snippet=f"{BARE_MENTIONS} snippet", matched=["@channel"])],
    )
    assert_not_auto_parsed(render(hostile).blocks)
    # The team's own mention still works: verbatim keeps <!here> markup live.
    assert "<!here>" in json.dumps(render(hostile).blocks)


def test_bare_mentions_in_digests_are_not_parsed_by_slack() -> None:
    hostile = replace(ALERT, title=BARE_MENTIONS)
    burst, _ = render_burst([hostile] * 12)
    assert_not_auto_parsed(burst.blocks)
    summary = DaySummary(
        day="2026-11-27",
        hits=1,
        by_state={"LT": 1},
        by_topic={"ccm_withdrawal": 1},
        top=[TopStory(BARE_MENTIONS, None, "LT", "ccm_withdrawal", 1)],
    )
    assert_not_auto_parsed(render_daily(summary, states=STATES).blocks)
