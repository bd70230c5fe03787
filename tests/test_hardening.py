"""Bad input and bad luck: each is one feed's clear error, never a lost alert or a crash."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select
from sqlalchemy.exc import OperationalError

import bot.poll
from bot.cli import cli, main
from bot.config import ConfigError, parse_config, parse_duration
from feeds.entry import FetchTarget
from feeds.fetch import MAX_RETRY_AFTER, fetch_one, retry_after
from storage.db import normalize_url
from storage.models import Feed, Item
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import FakeSlack
from tests.sample import config_text, rss, write_config

SIGNAL = (
    "Lithuania to withdraw from the Convention on Cluster Munitions",
    "https://news.example/ccm",
    "The Seimas voted.",
)


def run_once(config: Path, **env: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli, ["--config", str(config), "run", "--once"], env=env
    )
    return result.exit_code, result.stdout, result.stderr


def rows(db_url: str, query: object) -> list[object]:
    engine = create_engine(normalize_url(db_url))
    with engine.connect() as conn:
        out = list(conn.execute(query))  # type: ignore[call-overload]
    engine.dispose()
    return out


def test_one_feed_failing_inside_the_cycle_does_not_stop_the_others(
    tmp_path: Path,
    feed_server: FeedServer,
    fake_slack: FakeSlack,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feed_server.add("/bad.xml", rss(SIGNAL))
    feed_server.add("/good.xml", rss(SIGNAL))
    config = write_config(
        tmp_path,
        feeds=[
            ("Bad", feed_server.url("/bad.xml"), "LT"),
            ("Good", feed_server.url("/good.xml"), "LT"),
        ],
        slack_url=fake_slack.url,
    )
    real = bot.poll.parse_feed

    def flaky(body: bytes, **kwargs: object) -> object:
        if "bad" in str(kwargs.get("url")):
            raise RuntimeError("surprise")
        return real(body, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.poll, "parse_feed", flaky)
    code, out, err = run_once(
        config, SLACK_BOT_TOKEN=fake_slack.token, NORMWATCH_DATABASE_URL=db_url
    )
    assert code == 0, err
    assert "internal: RuntimeError: surprise" in out
    assert len(fake_slack.messages) == 1
    feeds = {f.name: f for f in rows(db_url, select(Feed))}  # type: ignore[attr-defined]
    assert feeds["Bad"].consecutive_failures == 1 and feeds["Bad"].lease_owner is None
    assert feeds["Good"].consecutive_failures == 0 and feeds["Good"].lease_owner is None


def test_a_storage_failure_of_one_feed_rolls_back_only_that_feed(
    tmp_path: Path,
    feed_server: FeedServer,
    fake_slack: FakeSlack,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Feeds are stored a batch per transaction: a failure rolls the batch back,
    # and then only the culprit may stay unstored, with its error.
    for name in ("bad", "good", "other"):
        feed_server.add(
            f"/{name}.xml",
            rss(SIGNAL, (f"{name} news", f"https://{name}.example/1", "")),
        )
    config = write_config(
        tmp_path,
        feeds=[
            (name.title(), feed_server.url(f"/{name}.xml"), "LT")
            for name in ("bad", "good", "other")
        ],
        slack_url=fake_slack.url,
    )
    real = bot.poll._store

    def failing(session: object, rt: object, feed: object, *args: object) -> object:
        if feed.name == "Bad":  # type: ignore[attr-defined]
            raise OperationalError("INSERT INTO items", {}, Exception("disk I/O error"))
        return real(session, rt, feed, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.poll, "_store", failing)
    code, out, err = run_once(
        config, SLACK_BOT_TOKEN=fake_slack.token, NORMWATCH_DATABASE_URL=db_url
    )
    assert code == 0, err
    assert "storage: OperationalError: disk I/O error" in out
    feeds = {f.name: f for f in rows(db_url, select(Feed))}  # type: ignore[attr-defined]
    items = rows(db_url, select(Item.feed_id))
    per_feed = {
        name: sum(1 for (i,) in items if i == f.id) for name, f in feeds.items()
    }  # type: ignore[attr-defined]
    assert per_feed == {"Bad": 0, "Good": 2, "Other": 2}
    assert feeds["Bad"].consecutive_failures == 1  # type: ignore[attr-defined]
    assert feeds["Good"].consecutive_failures == 0  # type: ignore[attr-defined]
    assert len(fake_slack.messages) == 1  # the story, once, from the feeds that stored


def test_oversized_validators_long_guids_and_nul_bytes_are_stored_safely(
    tmp_path: Path, feed_server: FeedServer, fake_slack: FakeSlack, db_url: str
) -> None:
    long_guid = "urn:x:" + "g" * 3000
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>T</title>'
        f"<item><title>Lithuania will withdraw from the Convention on Cluster Munitions &#0;</title>"
        f"<pubDate>{format_datetime(datetime.now(UTC), usegmt=True)}</pubDate>"
        f"<guid>{long_guid}</guid><link>https://news.example/{'é' * 1500}?q={'ü' * 500}</link></item>"
        "</channel></rss>"
    ).replace("&#0;", "\x00")
    feed_server.add(
        "/f.xml",
        body.encode(),
        headers={"ETag": '"' + "e" * 2000 + '"', "Last-Modified": "x" * 500},
    )
    config = write_config(
        tmp_path,
        feeds=[("F", feed_server.url("/f.xml"), "LT")],
        slack_url=fake_slack.url,
    )
    code, out, err = run_once(
        config, SLACK_BOT_TOKEN=fake_slack.token, NORMWATCH_DATABASE_URL=db_url
    )
    assert code == 0, err
    assert "error" not in out.split("cycle done")[0].lower(), out
    [item] = rows(db_url, select(Item))
    assert item.guid.startswith("sha256:")  # type: ignore[attr-defined]
    assert "\x00" not in item.title  # type: ignore[attr-defined]
    [feed] = rows(db_url, select(Feed))
    assert feed.etag is None and feed.last_modified is None  # type: ignore[attr-defined]
    assert len(fake_slack.messages) == 1


def test_a_new_feeds_undated_backlog_is_recorded_but_not_alerted(
    tmp_path: Path, feed_server: FeedServer, fake_slack: FakeSlack, db_url: str
) -> None:
    undated = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        "<item><title>Lithuania to withdraw from the Convention on Cluster Munitions</title>"
        "<link>https://news.example/old</link></item></channel></rss>"
    )
    feed_server.add("/f.xml", undated)
    config = write_config(
        tmp_path,
        feeds=[("F", feed_server.url("/f.xml"), "LT")],
        slack_url=fake_slack.url,
    )
    env = {"SLACK_BOT_TOKEN": fake_slack.token, "NORMWATCH_DATABASE_URL": db_url}
    assert run_once(config, **env)[0] == 0
    assert fake_slack.messages == []
    # once the feed is known, a new undated entry is news and is alerted
    feed_server.add(
        "/f.xml",
        undated.replace(
            "</channel>",
            (
                "<item><title>Poland to withdraw from the Convention on Cluster Munitions</title>"
                "<link>https://news.example/new</link></item></channel>"
            ),
        ),
    )
    assert run_once(config, **env)[0] == 0
    assert len(fake_slack.messages) == 1 and "Poland" in fake_slack.messages[0].text


def test_a_fetch_that_trickles_forever_is_cut_at_its_deadline() -> None:
    async def trickle() -> AsyncIterator[bytes]:
        while True:
            await asyncio.sleep(0.05)
            yield b"<"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=trickle())

    async def go() -> object:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await fetch_one(
                client, FetchTarget("http://slow.example/f"), deadline=0.5
            )

    result = asyncio.run(go())
    assert result.status == "error"  # type: ignore[attr-defined]
    assert "no complete answer within" in result.error  # type: ignore[attr-defined]


@pytest.mark.parametrize("header", ["1000000000000", "Fri, 01 Jan 9999 00:00:00 GMT"])
def test_absurd_retry_after_is_capped(header: str) -> None:
    assert retry_after(header) == MAX_RETRY_AFTER


def test_durations_beyond_ten_years_are_refused() -> None:
    with pytest.raises(ValueError, match="ten years"):
        parse_duration("99999999d")


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda t: t + '\n[slack]\nchannel = ""\n', "slack.channel"),
        (
            lambda t: t.replace(
                "[normwatch]\n", '[normwatch]\ncontact = "Jūratė <j@x.lt>"\n'
            ),
            "normwatch.contact",
        ),
        (
            lambda t: t.replace(
                "[normwatch]\n", '[normwatch]\ninterval = "99999999d"\n'
            ),
            "normwatch.interval",
        ),
    ],
)
def test_config_values_that_would_break_a_cycle_are_refused(
    change: object, key: str
) -> None:
    text = change(config_text(feeds=[]))  # type: ignore[operator]
    with pytest.raises(ConfigError) as info:
        parse_config(text, Path("c.toml"))
    assert any(p.key == key for p in info.value.problems), info.value


def test_feed_text_is_not_rich_markup_and_csv_cells_are_not_formulas(
    tmp_path: Path, feed_server: FeedServer, db_url: str
) -> None:
    title = '=HYPERLINK("x") [/] [link=http://evil]Lithuania[/link] to withdraw from the Convention on Cluster Munitions'
    feed_server.add("/f.xml", rss((title, "https://news.example/x", "")))
    config = write_config(tmp_path, feeds=[("F", feed_server.url("/f.xml"), "LT")])
    env = {"NORMWATCH_DATABASE_URL": db_url}
    assert run_once(config, **env)[0] == 0
    table = CliRunner().invoke(cli, ["--config", str(config), "hits"], env=env)
    assert table.exit_code == 0, table.stderr
    assert "[/]" in table.stdout
    out = (
        CliRunner()
        .invoke(cli, ["--config", str(config), "hits", "--format", "csv"], env=env)
        .stdout
    )
    assert "'=HYPERLINK" in out
    data = json.loads(
        CliRunner()
        .invoke(cli, ["--config", str(config), "hits", "--format", "json"], env=env)
        .stdout
    )
    assert data[0]["title"].startswith("=HYPERLINK")  # JSON stays exact


def test_an_unexpected_failure_is_one_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, feeds=[])
    monkeypatch.setenv("NORMWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")

    def boom(*_: object, **__: object) -> object:
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr("bot.history.list_hits", boom)
    with pytest.raises(SystemExit) as info:
        main(["--config", str(config), "hits"])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert (
        err.strip().splitlines()[-1]
        == "normwatch: RuntimeError: disk on fire (run with -v for details)"
    )
    assert "Traceback" not in err
