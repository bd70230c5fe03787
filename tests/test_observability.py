"""What an operator sees: `normwatch status`, the Prometheus endpoint, JSON
logs, and never the Slack token."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.request import ProxyHandler, build_opener

from click.testing import CliRunner

from bot.cli import cli
from bot.config import parse_config
from bot.logs import hide_secrets
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import FakeSlack
from tests.fleet import ROOT, wait_for
from tests.sample import config_text, rss

SIGNAL = (
    "Lithuania to withdraw from the Convention on Cluster Munitions",
    "https://news.example/ccm",
    "The Seimas voted.",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def status(config: Path, env: dict[str, str]) -> dict[str, Any]:
    result = CliRunner().invoke(
        cli, ["--config", str(config), "status", "--format", "json"], env=env
    )
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def metrics(port: int) -> dict[str, float]:
    """The endpoint's samples, as `name{labels}` -> value."""
    with build_opener(ProxyHandler({})).open(
        f"http://127.0.0.1:{port}/metrics", timeout=10
    ) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_status_and_metrics_follow_a_running_bot_through_a_slack_problem(
    tmp_path: Path, feed_server: FeedServer, fake_slack: FakeSlack, db_url: str
) -> None:
    feed_server.add("/good.xml", rss(SIGNAL))
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        config_text(
            feeds=[
                ("Good", feed_server.url("/good.xml"), "LT"),
                ("Gone", feed_server.url("/gone.xml"), "LT"),  # 404
            ],
            slack_url=fake_slack.url,
            extra=f"\n[metrics]\nport = {port}\n",
        ).replace(
            "[normwatch]\n", "[normwatch]\ntick = 1\ninterval = 1\nheartbeat = 1\n"
        )
    )
    env = {"SLACK_BOT_TOKEN": fake_slack.token, "NORMWATCH_DATABASE_URL": db_url}
    log = tmp_path / "run.log"
    args = ["--config", str(config), "--log-format", "json", "-v", "run"]
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    try:
        assert wait_for(lambda: len(fake_slack.messages) == 1, timeout=40)
        # Then the bot is thrown out of the channel just as news arrives: the
        # alert waits, and status says why.
        fake_slack.fail_channel("#alerts", "not_in_channel")
        second = ("Poland to buy cluster munitions", "https://news.example/pl", "")
        feed_server.add("/good.xml", rss(SIGNAL, second))
        assert wait_for(
            lambda: bool(status(config, env)["slack_problems"]), timeout=40
        ), log.read_text()[-2000:]
        seen = status(config, env)
        assert seen["instances_alive"] == 1
        [instance] = seen["instances"]
        assert instance["alive"] and instance["cycles"] >= 2
        assert seen["last_cycle"]["feeds"] >= 1 and seen["last_cycle"]["seconds"] >= 0
        assert seen["outbox"]["pending"] == 1 and seen["outbox"]["oldest_pending_at"]
        [problem] = seen["slack_problems"]
        assert problem["error"] == "not_in_channel"
        assert "/invite" in problem["message"]
        [failing] = seen["failing_feeds"]
        assert failing["name"] == "Gone" and "HTTP 404" in failing["last_error"]
        text = CliRunner().invoke(cli, ["--config", str(config), "status"], env=env)
        assert "scheduler:     1 instance(s) running" in text.stdout
        assert "outbox:        1 alert(s) waiting, oldest queued" in text.stdout
        assert "failing feeds: 1 of 2" in text.stdout
        assert "#alerts: not_in_channel" in text.stdout
        running = CliRunner().invoke(
            cli, ["--config", str(config), "status", "--check"], env=env
        )
        assert running.exit_code == 0

        assert wait_for(lambda: metrics(port)["normwatch_outbox_pending"] == 1, 10)
        seen_metrics = metrics(port)
        assert seen_metrics['normwatch_polls_total{status="ok"}'] >= 1
        assert seen_metrics['normwatch_polls_total{status="error"}'] >= 1
        assert seen_metrics['normwatch_errors_total{kind="fetch"}'] >= 1
        assert seen_metrics['normwatch_errors_total{kind="slack"}'] >= 1
        assert seen_metrics["normwatch_items_total"] == 2
        assert seen_metrics["normwatch_hits_total"] >= 2
        assert seen_metrics["normwatch_alerts_queued_total"] == 2
        assert seen_metrics["normwatch_alerts_sent_total"] == 1
        assert seen_metrics["normwatch_cycle_seconds_count"] >= 2
        assert seen_metrics["normwatch_fetch_seconds_count"] >= 2
        assert seen_metrics["normwatch_outbox_oldest_seconds"] >= 0
        assert seen_metrics["normwatch_instances_alive"] == 1
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    stopped = status(config, env)
    assert stopped["instances_alive"] == 0 and stopped["instances"][0]["stopped_at"]
    check = CliRunner().invoke(
        cli, ["--config", str(config), "status", "--check"], env=env
    )
    assert check.exit_code == 1 and "nothing polls the feeds now" in check.stdout
    lines = log.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert any(r["message"].startswith("slack: posted alert") for r in records)
    assert fake_slack.token not in log.read_text()


def test_the_slack_token_never_reaches_logs_or_error_messages(
    tmp_path: Path, feed_server: FeedServer, fake_slack: FakeSlack
) -> None:
    """Debug logs on, a token Slack refuses, a bad database password: the
    secrets are in the environment and nowhere in the output."""
    token = "xoxb-123456789012-secret-token-value"
    feed_server.add("/f.xml", rss(SIGNAL))
    config = tmp_path / "config.toml"
    config.write_text(
        config_text(
            feeds=[("F", feed_server.url("/f.xml"), "LT")], slack_url=fake_slack.url
        )
    )
    database = f"sqlite:///{tmp_path / 'n.db'}"
    runs = [
        # Slack answers invalid_auth for a token it does not know.
        (["-v", "run", "--once"], {"NORMWATCH_DATABASE_URL": database}),
        (
            ["-v", "--log-format", "json", "run", "--once"],
            {"NORMWATCH_DATABASE_URL": database},
        ),
        # An unreachable database whose URL carries the token as its password.
        (
            ["status"],
            {"NORMWATCH_DATABASE_URL": f"postgresql://u:{token}@127.0.0.1:9/x"},
        ),
    ]
    for args, env in runs:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "--config", str(config), *args],
            env={**os.environ, "SLACK_BOT_TOKEN": token, **env},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        output = result.stdout + result.stderr
        assert token not in output, output
        assert "Traceback" not in output
    assert any(call[0] == "chat.postMessage" for call in fake_slack.calls)


def test_secrets_are_hidden_wherever_they_appear(monkeypatch: object) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-the-environment")
    monkeypatch.setenv("NORMWATCH_WEB_SECRET", "hunter2-web")
    monkeypatch.setenv("NORMWATCH_DATABASE_URL", "postgresql://u:pg-pass-42@db/x")
    text = (
        "Authorization: Bearer xoxb-from-the-environment; web hunter2-web; "
        "db pg-pass-42; someone else's xapp-1-A0123-4567-abcdef"
    )
    hidden = hide_secrets(text)
    for secret in ("xoxb-from", "hunter2-web", "pg-pass-42", "xapp-1-A0123"):
        assert secret not in hidden
    assert hidden.count("[redacted]") == 4


def test_a_password_in_any_url_is_hidden_and_the_rest_kept() -> None:
    text = (
        "ProxyError: cannot reach http://campaign:proxy-pass-9@proxy.example:3128 "
        "(for https://slack.com/api/apps.connections.open); "
        "db postgresql://nw:p%40ss@db.example/normwatch"
    )
    hidden = hide_secrets(text)
    assert "proxy-pass-9" not in hidden and "p%40ss" not in hidden
    assert "http://campaign:[redacted]@proxy.example:3128" in hidden
    assert "postgresql://nw:[redacted]@db.example/normwatch" in hidden
    assert "https://slack.com/api/apps.connections.open" in hidden


def test_the_metrics_endpoint_is_off_unless_configured() -> None:
    from bot.config import Metrics

    config = parse_config(config_text(feeds=[]), Path("c.toml"))
    assert config.metrics == Metrics(port=0, address="127.0.0.1")
    assert re.search(r"^# port = 9464", (ROOT / "config.toml").read_text(), re.M)
