"""Several instances on one PostgreSQL share the work without doubling it;
on SQLite a second instance is refused."""

from __future__ import annotations

import itertools
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, select

from storage.db import normalize_url
from storage.models import Hit, Instance, Item, Outbox
from tests.fakes.farm import Catalogue, FarmProcess
from tests.fakes.slack_api import FakeSlack
from tests.fleet import (
    FARM_URL,
    ROOT,
    Fleet,
    Zygote,
    expected_alerts,
    farm_config,
    posted,
    wait_for,
)
from tests.sample import rss, write_config

pytestmark = pytest.mark.slow

INTERVAL = 6  # seconds between two polls of a feed
# The farm records arrival times, the bot its own clock: allow that much skew.
CLOCK_SLACK = 0.3


@pytest.fixture
def farm() -> Iterator[FarmProcess]:
    # Every feed good (a bad one would back off and skew the counts); about a
    # tenth of the entries are alerts, so Slack's 1 message/s is not the limit.
    catalogue = Catalogue(count=300, hosts=4, bad_every=0, signal_share=0.12)
    with FarmProcess(catalogue) as running:
        yield running


def rows(db_url: str, query: object) -> list[object]:
    engine = create_engine(normalize_url(db_url))
    try:
        with engine.connect() as conn:
            return list(conn.execute(query))  # type: ignore[call-overload]
    finally:
        engine.dispose()


def fetch_times(farm: FarmProcess) -> dict[str, list[float]]:
    """When each feed of the farm has been fetched so far, in order."""
    times: dict[str, list[float]] = {f.path: [] for f in farm.catalogue.feeds}
    for request in farm.requests:
        times.setdefault(urlsplit(request.path).path, []).append(request.at)
    return {path: sorted(at) for path, at in times.items()}


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_three_instances_poll_each_feed_once_per_interval_and_post_each_alert_once(
    tmp_path: Path, farm: FarmProcess, fake_slack: FakeSlack, db_url: str
) -> None:
    config = farm_config(tmp_path, farm, slack_url=fake_slack.url, interval=INTERVAL)
    fleet = Fleet(
        config,
        {"NORMWATCH_DATABASE_URL": db_url, "SLACK_BOT_TOKEN": fake_slack.token},
        tmp_path / "logs",
    )
    # Feeds whose new entries may alert (the sample rules speak LT and PL).
    alerting = [f.n for f in farm.catalogue.feeds if f.language in ("lt", "pl")]
    try:
        for slot in range(3):
            fleet.start(slot)
        # Four intervals of news: every interval, a new entry on 15 feeds.
        for round_ in range(4):
            time.sleep(INTERVAL)
            for n in alerting[round_ * 15 : (round_ + 1) * 15]:
                farm.bump(n)
        expected = expected_alerts(config, farm)
        assert len(expected) >= 15, "the farm should make alerts due"
        delivered = wait_for(lambda: expected <= set(posted(fake_slack)), timeout=60)
        # On a loaded machine a cycle can run late: give every feed time for
        # its third poll, which the interval check below needs.
        wait_for(lambda: min(map(len, fetch_times(farm).values())) >= 3, timeout=60)
        codes = fleet.stop_all()
    finally:
        fleet.kill_all()
    logs = fleet.all_logs()
    assert delivered, f"{len(expected - set(posted(fake_slack)))} alerts never arrived"
    assert codes == {0: 0, 1: 0, 2: 0}, logs[-3000:]
    assert "Traceback" not in logs

    # Every alert posted exactly once (alone or in a burst digest), and
    # nothing else posted.
    counts = posted(fake_slack)
    assert {url: n for url, n in counts.items() if n > 1} == {}
    assert set(counts) == expected
    assert all(FARM_URL.search(text) for text in fake_slack.texts())
    statuses = [r.status for r in rows(db_url, select(Outbox))]  # type: ignore[attr-defined]
    assert statuses == ["sent"] * len(expected)

    # Each feed fetched once per interval: never twice within one interval
    # (two instances taking the same feed), and again and again (several cycles).
    times = fetch_times(farm)
    for feed in farm.catalogue.feeds:
        fetched = times[feed.path]
        gaps = [b - a for a, b in itertools.pairwise(fetched)]
        assert all(gap >= INTERVAL - CLOCK_SLACK for gap in gaps), (feed.path, gaps)
        assert len(fetched) >= 3, (feed.path, len(fetched))

    # The work was shared (whoever ticks first takes what is due, so not
    # evenly), and every instance stopped cleanly.
    instances = rows(db_url, select(Instance))
    assert len(instances) == 3
    assert sum(i.cycles >= 1 for i in instances) >= 2  # type: ignore[attr-defined]
    assert all(i.stopped_at for i in instances)  # type: ignore[attr-defined]


def test_a_second_instance_on_one_sqlite_file_is_refused(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    config = write_config(tmp_path, feeds=[], slack_url=fake_slack.url)
    env = {
        **os.environ,
        "NORMWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'normwatch.db'}",
    }
    command = [sys.executable, "-m", "bot", "--config", str(config), "run"]
    first = subprocess.Popen(
        command, env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    try:
        assert first.stderr is not None
        assert "normwatch starting" in first.stderr.readline()  # it holds the lock
        second = subprocess.run(
            command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        once = subprocess.run(
            [*command, "--once"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        first.terminate()
        first.wait(timeout=30)
    for refused in (second, once):
        assert refused.returncode == 1
        [line] = refused.stderr.strip().splitlines()
        assert f"another normwatch (pid {first.pid}) is already running" in line
        assert "move to PostgreSQL to run several instances" in line
    # Once the first has gone, the lock goes with it, whatever the way it went.
    third = subprocess.run(
        [*command, "--once"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert third.returncode == 0, third.stderr


# PostgreSQL only: SQLite runs one instance (a second is refused, test_service).
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_instances_starting_together_migrate_and_register_feeds_once(
    tmp_path: Path, fake_slack: FakeSlack, db_url: str, feed_server: object
) -> None:
    from tests.fakes.feed_server import FeedServer

    assert isinstance(feed_server, FeedServer)
    feed_server.add("/f.xml", rss(("Nothing to see", "https://news.example/1", "")))
    config = write_config(
        tmp_path,
        feeds=[("F", feed_server.url("/f.xml"), "LT")],
        slack_url=fake_slack.url,
    )
    env = {**os.environ, "NORMWATCH_DATABASE_URL": db_url}
    command = [sys.executable, "-m", "bot", "--config", str(config), "run", "--once"]
    runs = [
        subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    results = [(p.wait(timeout=90), p.stderr.read() if p.stderr else "") for p in runs]
    assert [code for code, _ in results] == [0] * 4, results


KILLS = 50


@pytest.mark.timeout(240)
@pytest.mark.parametrize(
    ("db_url", "slots"),
    # Three instances sharing PostgreSQL; SQLite's one bot, killed and
    # started again fifty times.
    [("postgresql", 3), ("sqlite", 1)],
    indirect=["db_url"],
)
def test_random_sigkills_during_cycles_lose_no_alert(
    tmp_path: Path, fake_slack: FakeSlack, db_url: str, slots: int
) -> None:
    """50 SIGKILLs at random moments of polls and drains, each victim started
    again at once. Afterwards every alert has arrived; an alert posted twice
    must be one whose first post Slack accepted while its process was killed
    before storing the `ts` (the window no database can close), which shows
    as an alert never logged as posted twice."""
    rng = random.Random(8)
    catalogue = Catalogue(count=40, hosts=2, bad_every=0, signal_share=0.5)
    alerting = [f.n for f in catalogue.feeds if f.language in ("lt", "pl")]
    with FarmProcess(catalogue) as farm:
        config = farm_config(tmp_path, farm, slack_url=fake_slack.url, interval=2)
        zygote = Zygote()
        fleet = Fleet(
            config,
            {"NORMWATCH_DATABASE_URL": db_url, "SLACK_BOT_TOKEN": fake_slack.token},
            tmp_path / "logs",
            zygote,
        )
        # A victim dies at a random moment of its working life: 0.2 to 2 s
        # after it has started (migrating and loading the config come first).
        dies_at: dict[int, float] = {}
        kills = 0
        try:
            for slot in range(slots):
                fleet.start(slot)
            while kills < KILLS:
                time.sleep(0.05)
                for slot in range(slots):
                    if slot not in dies_at:
                        if fleet.running_since_start(slot, "normwatch starting"):
                            dies_at[slot] = time.monotonic() + rng.uniform(0.2, 2.0)
                        continue
                    if time.monotonic() < dies_at[slot] or kills >= KILLS:
                        continue
                    fleet.kill(slot)
                    kills += 1
                    if kills % 3 == 0:
                        farm.bump(rng.choice(alerting))  # news keeps arriving
                    fleet.start(slot)
                    del dies_at[slot]
            expected = expected_alerts(config, farm)
            delivered = wait_for(
                lambda: expected <= set(posted(fake_slack)), timeout=90
            )
            # Stop only processes that are up (a SIGTERM while starting is no
            # clean stop, and no test of one).
            assert wait_for(
                lambda: all(
                    fleet.running_since_start(s, "normwatch starting")
                    for s in range(slots)
                ),
                timeout=30,
            )
            time.sleep(1)
            codes = fleet.stop_all()
        finally:
            fleet.kill_all()
            zygote.close()
    logs = fleet.all_logs()
    missing = expected - set(posted(fake_slack))
    assert delivered, f"{len(missing)} of {len(expected)} alerts lost"
    assert set(codes.values()) == {0}, logs[-3000:]
    assert sum(fleet.starts.values()) == KILLS + slots

    counts = posted(fake_slack)
    assert set(counts) == expected
    doubled = {url for url, n in counts.items() if n > 1}
    outbox = {
        url: outbox_id
        for outbox_id, url in rows(
            db_url,
            select(Outbox.id, Item.url)
            .join(Hit, Hit.id == Outbox.hit_id)
            .join(Item, Item.id == Hit.item_id),
        )
    }
    # Logged once Slack's answer is stored: alone, or in a digest.
    logged = Counter(int(n) for n in re.findall(r"slack: posted alert (\d+) ", logs))
    for ids in re.findall(r"slack: posted a digest of \d+ alerts \(([\d, ]+)\)", logs):
        logged.update(int(n) for n in ids.split(", "))
    # Marked sent at most once each: a second post came only from a lost `ts`.
    outside_window = [url for url in doubled if logged[outbox[url]] > 1]
    # The posts whose `ts` was lost: the first message of each alert posted
    # twice (a digest caught in the window is one post, its alerts many).
    first: dict[str, int] = {}
    for index, text in enumerate(fake_slack.texts()):
        for link in FARM_URL.findall(text):
            first.setdefault(link, index)
    lost = {first[url] for url in doubled}
    report = (
        f"kill test ({db_url.split(':')[0]}): {KILLS} SIGKILLs, {len(expected)} "
        f"alerts; {len(lost)} posts killed between Slack's answer and storing "
        f"it, so {len(doubled)} alerts posted twice; {len(outside_window)} "
        "duplicates outside that window"
    )
    print(report)
    assert outside_window == [], report
