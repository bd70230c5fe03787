"""Feeds: polite concurrency, conditional requests, unchanged bodies, redirects, health."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

import bot.poll
from bot.cli import cli
from bot.config import load_config
from bot.health import report_health
from bot.rules import Matcher
from bot.runtime import Runtime
from bot.slack import SlackPoster
from feeds.entry import FetchTarget
from feeds.fetch import FetchLimits, fetch_stream
from storage.db import make_engine, session_factory, upgrade
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import FakeSlack
from tests.sample import rss, write_config

ITEM = ("Vilnius weather", "https://news.example/w", "Sunny.")


def invoke(args: list[str], **env: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, args, env=env)
    return result.exit_code, result.stdout, result.stderr


def feeds_json(config: Path, db_url: str) -> dict[str, dict[str, object]]:
    code, out, err = invoke(
        ["--config", str(config), "feeds", "--format", "json"],
        NORMWATCH_DATABASE_URL=db_url,
    )
    assert code == 0, err
    return {row["name"]: row for row in json.loads(out)}


def test_per_host_and_global_limits_hold_while_hosts_run_in_parallel() -> None:
    in_flight: dict[str, int] = {}
    peak: dict[str, int] = {}
    total_peak = [0]

    async def handler(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        in_flight[host] = in_flight.get(host, 0) + 1
        peak[host] = max(peak.get(host, 0), in_flight[host])
        total_peak[0] = max(total_peak[0], sum(in_flight.values()))
        await asyncio.sleep(0.02)
        in_flight[host] -= 1
        return httpx.Response(200, content=rss(ITEM).encode())

    targets = [
        FetchTarget(f"http://host{h}.example/f{i}") for h in range(4) for i in range(6)
    ]

    async def go() -> list[object]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            limits = FetchLimits(concurrency=6, per_host=2)
            return [
                r
                async for r in fetch_stream(
                    targets, agent="t", limits=limits, client=client
                )
            ]

    results = asyncio.run(go())
    assert len(results) == 24
    assert max(peak.values()) == 2  # polite to each host
    assert total_peak[0] == 6  # and the hosts ran side by side up to the global limit


def test_second_cycle_is_conditional_and_parses_nothing_unchanged(
    tmp_path: Path,
    feed_server: FeedServer,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feed_server.add("/etag.xml", rss(ITEM), etag='"v1"')
    feed_server.add(
        "/modified.xml", rss(ITEM), last_modified="Wed, 25 Nov 2026 10:00:00 GMT"
    )
    feed_server.add("/plain.xml", rss(ITEM))  # no validators at all
    config = write_config(
        tmp_path,
        feeds=[
            (n, feed_server.url(f"/{n}.xml"), "LT")
            for n in ("etag", "modified", "plain")
        ],
    )
    env = {"NORMWATCH_DATABASE_URL": db_url}
    assert invoke(["--config", str(config), "run", "--once"], **env)[0] == 0
    parsed: list[str] = []
    real = bot.poll.parse_feed

    def counting(body: bytes, **kwargs: object) -> object:
        parsed.append(str(kwargs.get("url")))
        return real(body, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.poll, "parse_feed", counting)
    code, out, err = invoke(["--config", str(config), "run", "--once"], **env)
    assert code == 0, err
    assert parsed == []  # 304s and an identical body: no parsing
    assert out.count("not_modified") == 3
    second = feed_server.requests[-3:]
    by_path = {r.path: r.headers for r in second}
    assert by_path["/etag.xml"]["if-none-match"] == '"v1"'
    assert (
        by_path["/modified.xml"]["if-modified-since"] == "Wed, 25 Nov 2026 10:00:00 GMT"
    )
    assert "if-none-match" not in by_path["/plain.xml"]
    # a changed body is parsed again
    feed_server.add(
        "/plain.xml", rss(ITEM, ("Riga news", "https://news.example/r", ""))
    )
    invoke(["--config", str(config), "run", "--once"], **env)
    assert len(parsed) == 1 and "plain" in parsed[0]


def test_permanent_redirect_is_recorded_for_the_operator(
    tmp_path: Path, feed_server: FeedServer, db_url: str
) -> None:
    feed_server.add("/new.xml", rss(ITEM))
    feed_server.add_redirect("/old.xml", "/new.xml", status=301)
    feed_server.add("/tmp-target.xml", rss(ITEM))
    feed_server.add_redirect("/tmp.xml", "/tmp-target.xml", status=302)
    config = write_config(
        tmp_path,
        feeds=[
            ("Old", feed_server.url("/old.xml"), "LT"),
            ("Tmp", feed_server.url("/tmp.xml"), "LT"),
        ],
    )
    env = {"NORMWATCH_DATABASE_URL": db_url}
    assert invoke(["--config", str(config), "run", "--once"], **env)[0] == 0
    health = feeds_json(config, db_url)
    assert health["Old"]["moved_to"] == feed_server.url("/new.xml")
    assert health["Tmp"]["moved_to"] is None
    code, _, err = invoke(["--config", str(config), "feeds"], **env)
    assert (
        code == 0 and f"Old moved permanently to {feed_server.url('/new.xml')}" in err
    )


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda s: s.add("/f.xml", "gone", status=404), "fetch: HTTP 404"),
        (
            lambda s: s.add(
                "/f.xml", "<html><body>Hello</body></html>", content_type="text/html"
            ),
            "parse: not a feed",
        ),
        (
            lambda s: s.add(
                "/f.xml",
                b"\x00\xff\xfe garbage \x89PNG",
                content_type="application/octet-stream",
            ),
            "parse:",
        ),
        (
            lambda s: s.add(
                "/f.xml", "busy", status=503, headers={"Retry-After": "120"}
            ),
            "fetch: HTTP 503",
        ),
    ],
)
def test_each_bad_feed_has_a_clear_error_in_feeds(
    tmp_path: Path, feed_server: FeedServer, db_url: str, setup: object, expected: str
) -> None:
    setup(feed_server)  # type: ignore[operator]
    config = write_config(tmp_path, feeds=[("Bad", feed_server.url("/f.xml"), "LT")])
    assert (
        invoke(
            ["--config", str(config), "run", "--once"], NORMWATCH_DATABASE_URL=db_url
        )[0]
        == 0
    )
    row = feeds_json(config, db_url)["Bad"]
    assert row["status"] == "failing" and row["consecutive_failures"] == 1
    assert str(row["last_error"]).startswith(expected), row["last_error"]


def test_feeds_check_describes_a_source_before_it_is_added(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    feed_server.add(
        "/f.xml", rss(ITEM, ("Seimas news", "https://news.example/s", "")), etag='"x"'
    )
    config = write_config(tmp_path, feeds=[])
    code, out, err = invoke(
        ["--config", str(config), "feeds", "check", feed_server.url("/f.xml")]
    )
    assert code == 0, err
    assert "entries:      2 (0 without a date)" in out
    assert "validators:   etag" in out
    assert "Seimas news" in out
    feed_server.add("/page", "<html><body>x</body></html>", content_type="text/html")
    code, _, err = invoke(
        ["--config", str(config), "feeds", "check", feed_server.url("/page")]
    )
    assert code == 1 and "parse: not a feed" in err


def test_a_feed_failing_for_hours_is_reported_once_and_its_recovery_once(
    tmp_path: Path, feed_server: FeedServer, fake_slack: FakeSlack, db_url: str
) -> None:
    feed_server.add("/f.xml", "down", status=500)
    path = write_config(
        tmp_path,
        feeds=[("Flaky", feed_server.url("/f.xml"), "LT")],
        slack_url=fake_slack.url,
    )
    config = load_config(path)
    engine = make_engine(db_url)
    upgrade(engine)
    now = [datetime.now(UTC)]
    rt = Runtime(
        config,
        path,
        engine,
        session_factory(engine),
        Matcher(config),
        clock=lambda: now[0],
    )
    poster = SlackPoster(fake_slack.token, api_url=fake_slack.url, min_interval=0)
    bot.poll.sync_config_feeds(rt)
    bot.poll.poll_once(rt, force=True)
    assert report_health(rt, poster) == 0  # failing, but not for long yet
    now[0] += timedelta(hours=7)
    bot.poll.poll_once(rt)
    assert report_health(rt, poster) == 1
    assert report_health(rt, poster) == 0  # never twice
    assert (
        "Flaky" in fake_slack.messages[0].text
        and "HTTP 500" in fake_slack.messages[0].text
    )
    feed_server.add("/f.xml", rss(ITEM))
    now[0] += timedelta(hours=7)
    bot.poll.poll_once(rt)
    assert report_health(rt, poster) == 1
    assert "working again" in fake_slack.messages[1].text
    engine.dispose()


def test_a_parliament_api_feed_is_read_with_its_format(
    tmp_path: Path, feed_server: FeedServer, db_url: str
) -> None:
    sample = Path(__file__).parent / "data" / "parliament" / "sejm_prints.json"
    feed_server.add("/prints", sample.read_bytes(), content_type="application/json")
    config = write_config(
        tmp_path, feeds=[("Sejm prints", feed_server.url("/prints"), "PL")]
    )
    config.write_text(
        config.read_text().replace(
            'state = "PL"\n',
            'state = "PL"\nkind = "parliament"\nformat = "sejm-prints"\n',
        )
    )
    env = {"NORMWATCH_DATABASE_URL": db_url}
    code, _, err = invoke(["--config", str(config), "run", "--once"], **env)
    assert code == 0, err
    row = feeds_json(config, db_url)["Sejm prints"]
    assert row["status"] == "ok" and int(row["items_seen"]) >= 2  # type: ignore[call-overload]
    assert row["kind"] == "parliament"


def test_an_unknown_feed_format_is_a_config_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, feeds=[("X", "https://x.example/f", "PL")])
    config.write_text(
        config.read_text().replace(
            'state = "PL"\n', 'state = "PL"\nformat = "sejm-printz"\n'
        )
    )
    code, _, err = invoke(["--config", str(config), "check-config"])
    assert code == 2 and "feeds[0].format" in err and "sejm-prints" in err
