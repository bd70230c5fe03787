"""Routing alerts to channels by rule, topic, state and severity."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import ConfigError, Slack, mention_markup, parse_config
from bot.routing import alert_channels


@dataclass(frozen=True)
class H:
    rule: str = "r1"
    topic: str = "ccm_withdrawal"
    state: str | None = "LT"
    severity: str = "medium"


def slack(routes: list[dict[str, object]]) -> Slack:
    return Slack.model_validate({"channel": "#main", "routes": routes})


def test_no_routes_means_the_default_channel() -> None:
    assert alert_channels([H()], slack([])) == ["#main"]


def test_a_matching_route_takes_the_alert_from_the_default() -> None:
    s = slack([{"channel": "#lt", "state": ["LT"]}])
    assert alert_channels([H()], s) == ["#lt"]
    assert alert_channels([H(state="PL")], s) == ["#main"]


def test_every_condition_of_a_route_must_hold() -> None:
    s = slack(
        [{"channel": "#urgent", "severity": ["high"], "topic": ["ccm_withdrawal"]}]
    )
    assert alert_channels([H(severity="high")], s) == ["#urgent"]
    assert alert_channels([H(severity="high", topic="mine_use")], s) == ["#main"]


def test_also_default_and_several_routes_give_several_channels_once_each() -> None:
    s = slack(
        [
            {"channel": "#urgent", "severity": ["high"], "also_default": True},
            {"channel": "#lt", "state": ["LT"]},
            {"channel": "#lt", "rule": ["r1"]},
        ]
    )
    assert alert_channels([H(severity="high")], s) == ["#main", "#urgent", "#lt"]


def test_any_hit_of_the_alert_can_match() -> None:
    s = slack([{"channel": "#mines", "topic": ["mine_use"]}])
    assert alert_channels([H(), H(topic="mine_use")], s) == ["#mines"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[slack.routes]]\nchannel = "#x"\n', "at least one of rule, topic, state"),
        ('[[slack.routes]]\nchannel = "#x"\nstate = ["ZZ"]\n', "'ZZ' is not a state"),
        ('[[slack.routes]]\nchannel = "#x"\nrule = ["nope"]\n', "'nope' is not the id"),
        ('[[slack.routes]]\nchannel = "#x"\nseverity = ["urgent"]\n', "severity"),
        ('[slack]\nmentions = { high = "here" }\n', "is not a mention"),
        ('[slack]\nmentions = { critical = "@here" }\n', "critical"),
        ('[slack]\ntranslate_url = "https://t.example/"\n', "containing {url}"),
        ('[slack.digest]\ndaily_at = "25:00"\n', "is not a time of day"),
        ("[slack.digest]\nburst = -1\n", "burst"),
    ],
)
def test_bad_slack_settings_are_named_with_their_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, Path("c.toml"))
    assert message in str(caught.value) and "line " in str(caught.value)


def test_mentions_become_slack_markup() -> None:
    assert mention_markup("@here") == "<!here>"
    assert mention_markup("@channel") == "<!channel>"
    assert mention_markup("@U0123ABCD") == "<@U0123ABCD>"
    assert mention_markup("@S0123ABCD") == "<!subteam^S0123ABCD>"
