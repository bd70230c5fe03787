"""How `normwatch run` chooses its Slack side from the environment."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.alert import RenderedAlert
from bot.deliver import Drainer
from bot.runtime import Runtime
from bot.service import attach_app, connect_app, make_drainer
from bot.slack import SlackPoster, WebhookPoster
from tests.fakes.clock import FakeTime
from tests.fakes.slack_api import FakeSlack
from tests.sample import write_config
from tests.slack_world import polled_runtime

ROUTED = '[[slack.routes]]\nchannel = "#urgent"\nseverity = ["high"]\n'


@pytest.fixture
def rt(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[Runtime]:
    path = write_config(tmp_path, feeds=[], slack_url=fake_slack.url, extra=ROUTED)
    runtime = polled_runtime(path, f"sqlite:///{tmp_path / 'n.db'}", FakeTime())
    yield runtime
    runtime.close()


class Hit:
    rule, topic, state, severity = "r", "ccm_withdrawal", "LT", "high"


def test_without_an_app_token_there_is_no_app_and_no_buttons(rt: Runtime) -> None:
    assert connect_app(rt) is None
    drainer = make_drainer(rt)
    assert drainer.buttons is False


def test_an_app_token_without_a_bot_token_is_explained(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-secret")
    with caplog.at_level(logging.WARNING):
        assert connect_app(rt) is None
    assert (
        "SLACK_BOT_TOKEN is not" in caplog.text and "xapp-1-secret" not in caplog.text
    )


def test_an_app_slack_refuses_is_reported_and_alerts_still_go(
    rt: Runtime,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.token)
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-not-what-slack-knows")
    with caplog.at_level(logging.ERROR, logger="normwatch.run"):
        assert connect_app(rt) is None
    [line] = [r.getMessage() for r in caplog.records if r.name == "normwatch.run"]
    assert "check SLACK_APP_TOKEN" in line and "Alerts still go out" in line
    assert "xapp-1-not-what-slack-knows" not in caplog.text
    assert "apps.connections.open" in [c for c, _ in fake_slack.calls]
    drainer = make_drainer(rt)
    assert isinstance(drainer.poster, SlackPoster) and drainer.buttons is True
    assert rt.alert_channels([Hit()]) == ["#urgent"]


def test_a_webhook_alone_means_webhook_mode_one_channel_and_no_buttons(
    rt: Runtime, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", fake_slack.webhook_url())
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-x")
    drainer: Drainer = make_drainer(rt)
    assert isinstance(drainer.poster, WebhookPoster)
    assert drainer.style().buttons is False
    assert rt.alert_channels([Hit()]) == ["#alerts"]  # routing needs the app


def test_the_webhook_address_stays_out_of_a_verbose_log(
    fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    # The incoming-webhook URL is the secret itself; `normwatch run --verbose`
    # logs at DEBUG, where slack-sdk would print every request's URL.
    url = fake_slack.webhook_url("#alerts")
    poster = WebhookPoster(url, min_interval=0)
    with caplog.at_level(logging.DEBUG):
        assert poster.post("#alerts", RenderedAlert(text="hello", blocks=[])).ok
    assert [m.text for m in fake_slack.messages] == ["hello"]
    assert "/services/T1/B1" not in caplog.text


def test_alerts_carry_buttons_only_when_the_app_is_connected_to_take_clicks(
    rt: Runtime, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A refused app token: a button nobody receives would only show Slack's
    # "this app did not respond" to whoever clicks it.
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.token)
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-not-what-slack-knows")
    drainer = make_drainer(rt)
    assert attach_app(rt, drainer) is None
    assert drainer.buttons is False and drainer.style().buttons is False

    connected = object()
    monkeypatch.setattr("bot.service.connect_app", lambda rt: connected)
    assert attach_app(rt, drainer) is connected
    assert drainer.style().buttons is True
