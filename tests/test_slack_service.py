"""How `normwatch run` chooses its Slack side from the environment."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.alert import RenderedAlert
from bot.applink import AppLink
from bot.deliver import Drainer
from bot.runtime import Runtime
from bot.service import attach_app, make_drainer
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
    drainer = make_drainer(rt)
    link = attach_app(rt, drainer)
    assert link.handler is None and link.retry_at is None
    assert drainer.buttons is False


def test_an_app_token_without_a_bot_token_is_explained(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-secret")
    with caplog.at_level(logging.WARNING):
        link = AppLink(rt)
        link.connect()
    assert link.handler is None and link.retry_at is None
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
        link = AppLink(rt)
        link.connect()
    assert link.handler is None
    assert link.retry_at is None  # a refused token needs the operator, not retries
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
    assert attach_app(rt, drainer).handler is None
    assert drainer.buttons is False and drainer.style().buttons is False

    connected = Handler()
    monkeypatch.setattr("bot.applink._start", lambda rt, token, app: connected)
    assert attach_app(rt, drainer).handler is connected
    assert drainer.style().buttons is True


class Handler:
    """Stands in for slack-bolt's SocketModeHandler once connected."""

    closed = False

    def close(self) -> None:
        self.closed = True


def test_an_app_that_cannot_reach_slack_is_retried_with_growing_waits(
    rt: Runtime,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Slack (or the network) is down when the bot starts: the app's slash
    # command and buttons must come back by themselves, not at the next restart.
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.token)
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-x")
    now = [1000.0]
    fake_slack.set_down()
    drainer = make_drainer(rt)
    link = AppLink(
        rt, on_change=lambda up: setattr(drainer, "buttons", up), clock=lambda: now[0]
    )
    with caplog.at_level(logging.ERROR, logger="normwatch.run"):
        link.connect()
    assert link.handler is None and drainer.buttons is False
    assert link.retry_at == 1030.0
    assert "trying again in 30 s" in caplog.text and "xapp-1-x" not in caplog.text
    asked = len(fake_slack.calls)
    assert asked

    link.retry_if_due()  # not yet due: Slack is not asked again
    assert len(fake_slack.calls) == asked
    now[0] = 1030.0
    link.retry_if_due()  # still down: the wait doubles
    assert len(fake_slack.calls) > asked and link.retry_at == 1090.0

    # Slack is back: the next try connects and alerts carry buttons again.
    connected = Handler()
    link.start = lambda rt, token, app: connected
    now[0] = 1090.0
    with caplog.at_level(logging.INFO, logger="normwatch.run"):
        link.retry_if_due()
    assert link.handler is connected and link.retry_at is None
    assert drainer.buttons is True
    assert "connected to Slack after 2 failed attempts" in caplog.text
    link.retry_if_due()  # connected: nothing more to do
    link.close()
    assert connected.closed


def test_retry_waits_are_capped_at_half_an_hour(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-x")

    def unreachable(rt: Runtime, token: str, app: str) -> Handler:
        raise ConnectionRefusedError(111, "Connection refused")

    now = [0.0]
    link = AppLink(rt, start=unreachable, clock=lambda: now[0])
    waits = []
    for _ in range(10):
        link.connect()
        assert link.retry_at is not None
        waits.append(link.retry_at - now[0])
    assert waits[:4] == [30, 60, 120, 240] and max(waits) == 1800 == waits[-1]


def test_a_bot_token_slack_refuses_is_not_retried(
    rt: Runtime, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-not-what-slack-knows")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-x")
    link = AppLink(rt)
    link.connect()
    assert "auth.test" in [c for c, _ in fake_slack.calls]
    assert link.handler is None and link.retry_at is None


def test_failed_connects_leave_no_threads_behind(
    rt: Runtime, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # slack-sdk's Socket Mode client starts its threads as it is created; a
    # bot retrying through a long outage must not pile them up.
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.token)
    # The fake knows one token: as the app token too, the 500s below are
    # what apps.connections.open answers.
    monkeypatch.setenv("SLACK_APP_TOKEN", fake_slack.token)
    fake_slack.fail_next("apps.connections.open", "internal_error", status=500, times=4)
    before = threading.active_count()
    link = AppLink(rt)
    for _ in range(4):
        link.connect()
        assert link.handler is None and link.retry_at is not None
    assert [c for c, _ in fake_slack.calls].count("apps.connections.open") == 4
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= before


def test_shutdown_waits_for_a_connect_in_progress_and_stops_retries(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-x")
    connecting, proceed = threading.Event(), threading.Event()
    connected = Handler()

    def slow_start(rt: Runtime, token: str, app: str) -> Handler:
        connecting.set()
        proceed.wait(5)
        return connected

    link = AppLink(rt, start=slow_start)
    retry = threading.Thread(target=link.connect)
    retry.start()
    assert connecting.wait(5)
    closing = threading.Thread(target=link.close)
    closing.start()
    closing.join(0.2)
    assert closing.is_alive()  # close waits for the attempt in progress
    proceed.set()
    closing.join(5)
    retry.join(5)
    assert connected.closed and link.handler is None
    link.connect()  # after close: no new attempt
    assert link.handler is None
