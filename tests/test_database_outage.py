"""PostgreSQL restarted under a running bot: it says so, waits, carries on,
and loses nothing. On a private server (tests/pgcluster.py), never the
shared one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from storage.db import normalize_url
from storage.models import Item, Outbox
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import FakeSlack
from tests.fleet import ROOT, wait_for
from tests.pgcluster import ClusterUnavailable, PrivateCluster
from tests.sample import config_text, rss

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

BEFORE = [
    (
        "Lithuania to withdraw from the Convention on Cluster Munitions",
        "https://news.example/1",
        "",
    ),
]
DURING = [
    ("Poland to buy cluster munitions", "https://news.example/2", ""),
    (
        "Poland to withdraw from the Convention on Cluster Munitions",
        "https://news.example/3",
        "",
    ),
]


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    try:
        private = PrivateCluster().start()
    except (ClusterUnavailable, OSError, subprocess.TimeoutExpired) as exc:
        message = f"cannot start a private PostgreSQL server: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield private
    finally:
        private.destroy()


def count(url: str, query: object) -> int:
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(query).scalar_one())  # type: ignore[call-overload]
    finally:
        engine.dispose()


def test_a_postgresql_restart_during_a_run_loses_nothing(
    tmp_path: Path,
    cluster: PrivateCluster,
    feed_server: FeedServer,
    fake_slack: FakeSlack,
) -> None:
    feed_server.add("/f.xml", rss(*BEFORE))
    feed_server.add("/g.xml", rss(("Nothing here", "https://news.example/0", "")))
    config = tmp_path / "config.toml"
    config.write_text(
        config_text(
            feeds=[
                ("F", feed_server.url("/f.xml"), "LT"),
                ("G", feed_server.url("/g.xml"), "PL"),
            ],
            slack_url=fake_slack.url,
        ).replace(
            "[normwatch]\n", "[normwatch]\ntick = 1\ninterval = 1\nheartbeat = 1\n"
        )
    )
    log = tmp_path / "run.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        env={
            **os.environ,
            "NORMWATCH_DATABASE_URL": cluster.url,
            "SLACK_BOT_TOKEN": fake_slack.token,
        },
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    try:
        assert wait_for(lambda: len(fake_slack.messages) == 1, timeout=60), (
            log.read_text()[-3000:]
        )
        # A crash of the server (connections cut), news meanwhile, and the
        # server back a few seconds later.
        cluster.stop("immediate")
        feed_server.add("/f.xml", rss(*BEFORE, DURING[0]))
        feed_server.add("/g.xml", rss(DURING[1]))
        assert wait_for(lambda: "database error" in log.read_text(), timeout=30)
        time.sleep(3)
        cluster.start()
        assert wait_for(lambda: len(fake_slack.messages) == 3, timeout=90), (
            log.read_text()[-3000:]
        )
        time.sleep(2)  # a duplicate would show up now
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    text = log.read_text()
    assert "Traceback" not in text
    assert "database error, retrying with backoff (nothing is lost)" in text
    assert "database reachable again after" in text
    links = Counter(
        link
        for message in fake_slack.messages
        for link in ("news.example/1", "news.example/2", "news.example/3")
        if link in (message.text or "")
    )
    assert links == {"news.example/1": 1, "news.example/2": 1, "news.example/3": 1}
    assert count(cluster.url, select(func.count()).select_from(Item)) == 4
    assert count(cluster.url, select(func.count()).select_from(Outbox)) == 3
