"""`normwatch run` as a real process: it polls on its own, posts, and stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import FakeSlack
from tests.sample import rss, write_config

ITEM = (
    "Lithuania to withdraw from the Convention on Cluster Munitions",
    "https://news.example/ccm",
    "The Seimas voted.",
)


def wait_for(condition: object, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_run_polls_posts_and_stops_cleanly_on_sigterm(
    tmp_path: Path, feed_server: FeedServer, fake_slack: FakeSlack, db_url: str
) -> None:
    feed_server.add("/f.xml", rss(ITEM))
    config = write_config(
        tmp_path,
        feeds=[("Feed", feed_server.url("/f.xml"), "LT")],
        slack_url=fake_slack.url,
    )
    config.write_text(
        config.read_text().replace("[normwatch]\n", '[normwatch]\ntick = "1s"\n')
    )
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": fake_slack.token,
        "NORMWATCH_DATABASE_URL": db_url,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(lambda: len(fake_slack.messages) == 1), "no alert arrived"
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "normwatch starting: 1 feeds" in err
    assert "slack: posted alert" in err
    assert "received SIGTERM" in err and "normwatch stopped" in err
    assert "Traceback" not in err
    assert fake_slack.token not in err
    assert len(fake_slack.messages) == 1


def test_editing_the_config_while_running_takes_effect_without_a_restart(
    tmp_path: Path, feed_server: FeedServer, fake_slack: FakeSlack, db_url: str
) -> None:
    feed_server.add("/f.xml", rss(ITEM))
    feed_server.add(
        "/g.xml",
        rss(("Poland to buy cluster munitions", "https://news.example/pl", "")),
    )
    config = write_config(
        tmp_path,
        feeds=[("Feed", feed_server.url("/f.xml"), "LT")],
        slack_url=fake_slack.url,
    )
    config.write_text(
        config.read_text().replace("[normwatch]\n", '[normwatch]\ntick = "1s"\n')
    )
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": fake_slack.token,
        "NORMWATCH_DATABASE_URL": db_url,
    }
    log = tmp_path / "run.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    try:
        assert wait_for(lambda: len(fake_slack.messages) == 1), (
            "first alert never arrived"
        )
        # a broken edit is refused and the bot keeps going
        text = config.read_text()
        config.write_text(text.replace('severity = "high"', 'severity = "urgent"'))
        assert wait_for(lambda: "edit refused" in log.read_text()), (
            "broken edit not noticed"
        )
        # a good edit adds a feed; its alert arrives without a restart
        config.write_text(
            text
            + f'\n[[feeds]]\nname = "PL feed"\nurl = "{feed_server.url("/g.xml")}"\nlanguage = "pl"\n'
        )
        assert wait_for(
            lambda: any("Poland" in m.text for m in fake_slack.messages), timeout=40
        ), "reloaded feed never alerted"
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    err = log.read_text()
    assert process.returncode == 0, err
    assert "config: edit refused" in err and "rules[0].severity" in err
    assert "config reloaded: 2 feeds" in err
    # the refused edit was reported in Slack too (no ops channel: the alert channel)
    assert any(
        "edit refused" in m.text and "rules[0].severity" in m.text
        for m in fake_slack.messages
    )
