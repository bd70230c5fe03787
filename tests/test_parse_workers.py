"""Parse workers: lean processes that parse what the bot would, and that the
cycle can lose without losing a feed."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

import bot.poll
from bot.config import load_config
from bot.poll import POOL_AFTER, FeedReport
from bot.rules import Matcher
from bot.runtime import Runtime
from feeds import parseworker
from feeds.parsejob import ParseJob, outcome
from feeds.parseworker import COMMAND, ParseWorker, WorkerFailed, frame
from storage.db import make_engine, session_factory, upgrade
from storage.models import Item
from tests.fakes.farm import Catalogue
from tests.fakes.feed_server import FeedServer
from tests.sample import rss, write_config

FAULTY = Path(__file__).parent / "fakes" / "faulty_parseworker.py"
NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
PARLIAMENT = Path(__file__).parent / "data" / "parliament" / "sejm_prints.json"
FEEDS = POOL_AFTER + 24  # enough for the workers to start and get many jobs
ITEMS = 3


def farm_jobs() -> list[ParseJob]:
    """RSS, Atom, RDF and JSON Feed in nine languages, legacy charsets said in
    the XML or the header, a parliament's API, and bodies that are no feed."""
    jobs = []
    for feed in Catalogue(count=36, bad_every=0, seed="parse-workers").feeds:
        body, content_type = feed.document()
        jobs.append(
            ParseJob(
                "feed",
                body,
                {"content-type": content_type},
                f"https://farm.example/{feed.n}",
                NOW,
                feed.language,
            )
        )
    jobs.append(
        ParseJob("sejm-prints", PARLIAMENT.read_bytes(), {}, "https://s/", NOW, "pl")
    )
    for junk in (b"<html><body>Hi</body></html>", b"\xff\xfe\x00garbage"):
        jobs.append(ParseJob("feed", junk, {}, "https://junk.example/", NOW, "lt"))
    return jobs


def test_a_worker_parses_every_format_and_charset_as_the_bot_does() -> None:
    jobs = farm_jobs()
    assert {j.body[:1] for j in jobs} >= {b"<", b"{", b"["}  # XML and JSON

    async def in_worker() -> list[object]:
        worker = await ParseWorker.start()
        try:
            return [await worker.parse(job) for job in jobs]
        finally:
            await worker.close()

    expected = [outcome(job) for job in jobs]
    assert asyncio.run(in_worker()) == expected
    assert sum(isinstance(e, str) for e in expected) == 2  # the junk, as errors
    charsets = {j.headers.get("content-type", "") for j in jobs}
    assert any("windows-125" in c or "iso-8859" in c for c in charsets), charsets


def test_the_worker_imports_the_feeds_package_and_not_the_bot() -> None:
    job = farm_jobs()[0]
    # -X importtime logs every import to stderr, a lazy one in the middle of
    # parsing included; the job runs so that those count too.
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *COMMAND[1:]],
        input=frame(job),
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert done.stdout == frame(outcome(job))
    imported = set(
        re.findall(r"^import time:.*\|\s+(\S+)$", done.stderr.decode(), re.M)
    )
    assert "feeds.parse" in imported
    heavy = {"bot", "storage", "sqlalchemy", "slack_sdk", "click", "typer", "rich"}
    assert not {name.split(".")[0] for name in imported} & heavy


def test_a_worker_killed_before_its_answer_fails_the_job_clearly() -> None:
    async def killed() -> tuple[str, int | None]:
        worker = await ParseWorker.start()
        worker.kill()
        try:
            with pytest.raises(WorkerFailed) as info:
                await worker.parse(farm_jobs()[0])
        finally:
            await worker.close()
        return str(info.value), worker.process.returncode

    message, code = asyncio.run(killed())
    assert message == "killed by signal 9" and code == -9


# -- in a poll cycle -------------------------------------------------------------


def _children() -> dict[int, tuple[str, bytes]]:
    """This process's children: pid -> (state, command line)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == os.getpid():
            found[int(stat.parent.name)] = (fields[0], cmdline)
    return found


def workers_left(before: dict[int, tuple[str, bytes]]) -> list[int]:
    """Parse workers still running, and children not reaped (zombies), that
    were not there `before`."""
    return [
        pid
        for pid, (state, cmdline) in _children().items()
        if b"parseworker" in cmdline or (state == "Z" and pid not in before)
    ]


def feed_runtime(
    tmp_path: Path, feed_server: FeedServer, db_url: str, fetch: str
) -> Runtime:
    feeds = []
    for n in range(FEEDS):
        feed_server.add(f"/f{n}.xml", body_for(n, version=1))
        feeds.append((f"Feed {n}", feed_server.url(f"/f{n}.xml"), "LT"))
    path = write_config(tmp_path, feeds=feeds, extra=f"[fetch]\n{fetch}\n")
    config = load_config(path)
    engine = make_engine(db_url)
    upgrade(engine)
    rt = Runtime(config, path, engine, session_factory(engine), Matcher(config))
    bot.poll.sync_config_feeds(rt)
    return rt


def body_for(n: int, version: int) -> str:
    return rss(
        *[
            (f"Item {n}.{version}.{i}", f"https://news.example/{n}/{version}/{i}", "x")
            for i in range(ITEMS)
        ]
    )


def stored_items(rt: Runtime) -> int:
    with rt.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Item)) or 0)


def all_stored(reports: list[FeedReport]) -> bool:
    return len(reports) == FEEDS and all(
        r.status == "ok" and r.new_items == ITEMS for r in reports
    )


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize("mode", ["exit", "garbage"])
def test_a_feed_whose_worker_fails_is_parsed_and_stored_by_the_bot(
    tmp_path: Path,
    feed_server: FeedServer,
    db_url: str,
    mode: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(parseworker, "COMMAND", (sys.executable, str(FAULTY), mode))
    rt = feed_runtime(tmp_path, feed_server, db_url, "parse_workers = 2")
    before = _children()
    with caplog.at_level(logging.DEBUG, logger="normwatch.poll"):
        reports = bot.poll.poll_once(rt, force=True)
    assert all_stored(reports), [r for r in reports if r.new_items != ITEMS]
    assert stored_items(rt) == FEEDS * ITEMS
    failed = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    # Each of the two workers answered one job, then failed on its second
    # (with the third, sent behind it, also in its hands).
    why = "exited with status 3" if mode == "exit" else "answered garbage"
    lines = [
        re.match(rf"feed Feed \d+: parse worker (\d+) {why}[^;]*; the bot parses", m)
        for m in failed
    ]
    assert all(lines) and 2 <= len(lines) <= 4, failed
    assert len({line[1] for line in lines if line}) == 2, failed
    assert not workers_left(before)
    rt.engine.dispose()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_no_worker_outlives_its_cycle_even_one_stopped_early(
    tmp_path: Path,
    feed_server: FeedServer,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # One download at a time: the stop below lands while feeds still arrive.
    fetch = "parse_workers = 2\nconcurrency = 1\nper_host = 1"
    rt = feed_runtime(tmp_path, feed_server, db_url, fetch)
    before = _children()
    with caplog.at_level(logging.DEBUG, logger="normwatch.poll"):
        assert all_stored(bot.poll.poll_once(rt, force=True))
    started = [r for r in caplog.records if "parse worker" in r.getMessage()]
    assert len(started) == 2  # they did run
    assert not workers_left(before)

    # New entries everywhere; the bot is told to stop as the workers start.
    for n in range(FEEDS):
        feed_server.add(f"/f{n}.xml", body_for(n, version=2))
    start = ParseWorker.start

    async def stop_and_start(command: object = None) -> ParseWorker:
        rt.stopping.set()
        return await start()

    monkeypatch.setattr(ParseWorker, "start", stop_and_start)
    early = bot.poll.poll_once(rt, force=True)
    assert POOL_AFTER < len(early) < FEEDS
    assert not workers_left(before)

    # Nothing lost: what the early stop left is taken by the next cycle.
    rt.stopping.clear()
    monkeypatch.setattr(ParseWorker, "start", start)
    late = bot.poll.poll_once(rt, force=True)
    assert all(r.status == "ok" and r.new_items == ITEMS for r in early)
    stored_early = {r.name for r in early}
    assert {r.name for r in late if r.new_items == ITEMS} == {
        f"Feed {n}" for n in range(FEEDS)
    } - stored_early
    assert stored_items(rt) == 2 * FEEDS * ITEMS
    assert not workers_left(before)
    rt.engine.dispose()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_cancelled_cycle_leaves_no_worker_behind(
    tmp_path: Path,
    feed_server: FeedServer,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fetch = "parse_workers = 2\nconcurrency = 1\nper_host = 1"
    rt = feed_runtime(tmp_path, feed_server, db_url, fetch)
    claimed = bot.poll._claim(rt, rt.clock(), force=True)
    before = _children()
    start = ParseWorker.start
    started: list[int] = []

    async def cancelled_as_workers_start() -> None:
        cycle = asyncio.ensure_future(bot.poll._cycle(rt, claimed))

        async def start_then_cancel(command: object = None) -> ParseWorker:
            worker = await start()
            started.append(worker.pid)
            cycle.cancel()  # e.g. Ctrl-C while the workers run
            return worker

        monkeypatch.setattr(ParseWorker, "start", start_then_cancel)
        with pytest.raises(asyncio.CancelledError):
            await cycle

    asyncio.run(cancelled_as_workers_start())
    assert len(started) == 2
    assert not workers_left(before)
    rt.engine.dispose()
