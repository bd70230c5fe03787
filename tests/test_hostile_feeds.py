"""Hostile feeds: bombs, external entities, deep nesting, endless bodies, huge
attributes. Each is bounded in memory and time, reads no file and no URL,
and ends as one feed's clear error; the other feeds carry on.

The bounds are loose on purpose (seconds of CPU, tens of megabytes, where a
hostile body is refused in milliseconds): they catch the minute-long,
gigabyte-hungry behaviour, not the machine's mood.
"""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from click.testing import CliRunner

import feeds.parse
from bot.cli import cli
from feeds.entry import FetchTarget
from feeds.fetch import FetchLimits, fetch_one
from feeds.parse import ParseError, parse_feed
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import FakeSlack
from tests.sample import rss, write_config

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CPU_SECONDS = 5.0
MEGABYTES = 80
T = TypeVar("T")

SIGNAL = (
    "Lithuania to withdraw from the Convention on Cluster Munitions",
    "https://news.example/ccm",
    "The Seimas voted.",
)


def bounded(run: Callable[[], T], *, megabytes: float = MEGABYTES) -> T:
    """run(), checking it stayed within CPU_SECONDS of CPU and `megabytes` of
    Python allocations at its peak."""
    tracemalloc.start()
    started = time.process_time()
    try:
        return run()
    finally:
        cpu = time.process_time() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert cpu < CPU_SECONDS, f"took {cpu:.1f} s of CPU"
        assert peak < megabytes * 2**20, f"peaked at {peak / 2**20:.0f} MB"


def parse(body: bytes) -> object:
    return parse_feed(
        body,
        headers={"content-type": "application/rss+xml"},
        url="https://hostile.example/feed",
        fetched_at=NOW,
        default_language="en",
    )


def document(doctype: str = "", title: str = "t", extra: str = "") -> bytes:
    return (
        f'<?xml version="1.0"?>{doctype}<rss version="2.0"><channel><title>x</title>'
        f"<item><title>{title}</title><link>https://news.example/1</link>{extra}"
        "</item></channel></rss>"
    ).encode()


def billion_laughs() -> bytes:
    # Each entity holds ten of the one before: ten levels make 10^9 "lol"s.
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    return document(f"<!DOCTYPE rss [{''.join(levels)}]>", title="&lol9;")


def billion_laughs_one_per_line() -> bytes:
    # feedparser drops unsafe entities itself, but only one per line: the
    # fast path's refusal of DOCTYPEs must not be the only line of defence.
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    return document("<!DOCTYPE rss [\n" + "\n".join(levels) + "\n]>", title="&lol9;")


def quadratic_blowup() -> bytes:
    # One 50,000-character entity used 50,000 times: 2.5 GB of text.
    return document(
        f'<!DOCTYPE rss [<!ENTITY a "{"A" * 50_000}">]>', title="&a;" * 50_000
    )


@pytest.fixture(params=[True, False], ids=["fast path", "feedparser only"])
def reader(request: pytest.FixtureRequest) -> Iterator[None]:
    """Both readers must refuse: the fast path hands anything odd to feedparser."""
    saved = feeds.parse.FAST_PATH
    feeds.parse.FAST_PATH = request.param
    yield
    feeds.parse.FAST_PATH = saved


@pytest.mark.usefixtures("reader")
@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (billion_laughs, "built from other entities (an XML bomb)"),
        (billion_laughs_one_per_line, "built from other entities (an XML bomb)"),
        (quadratic_blowup, "of 50000 characters (quadratic blowup)"),
    ],
    ids=["billion laughs", "billion laughs, one per line", "quadratic blowup"],
)
def test_entity_bombs_are_refused_before_any_expansion(
    make: Callable[[], bytes], reason: str
) -> None:
    body = make()
    with pytest.raises(ParseError) as info:
        bounded(lambda: parse(body), megabytes=10 + len(body) * 8 / 2**20)
    assert str(info.value).startswith("refused: the DOCTYPE declares an entity")
    assert reason in str(info.value)


@pytest.mark.usefixtures("reader")
def test_an_external_entity_reads_no_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    body = document(
        f'<!DOCTYPE rss [<!ENTITY x SYSTEM "{secret.as_uri()}">]>', title="t &x;"
    )
    with pytest.raises(ParseError) as info:
        bounded(lambda: parse(body))
    assert "external entity &x; (it would read a file or a URL)" in str(info.value)
    assert "TOP-SECRET-MARKER" not in str(info.value)


@pytest.mark.usefixtures("reader")
def test_dtds_and_parameter_entities_are_never_fetched(
    feed_server: FeedServer,
) -> None:
    feed_server.add("/evil.dtd", '<!ENTITY x "fetched">', content_type="text/plain")
    dtd = feed_server.url("/evil.dtd")
    # A DOCTYPE naming an external DTD is common and harmless: it is ignored.
    parsed = bounded(lambda: parse(document(f'<!DOCTYPE rss SYSTEM "{dtd}">')))
    assert [e.title for e in parsed.entries] == ["t"]  # type: ignore[attr-defined]
    with pytest.raises(ParseError, match=r"parameter entity \(%p;\)"):
        parse(document(f'<!DOCTYPE rss [<!ENTITY % p SYSTEM "{dtd}"> %p;]>'))
    with pytest.raises(ParseError, match="external entity"):
        parse(document(f'<!DOCTYPE rss [<!ENTITY x SYSTEM "{dtd}">]>', title="&x;"))
    assert feed_server.count("/evil.dtd") == 0


@pytest.mark.usefixtures("reader")
@pytest.mark.parametrize(
    "body",
    [
        document(
            extra="<description>"
            + "<b>" * 200_000
            + "</b>" * 200_000
            + "</description>"
        ),
        document(extra="<x>" * 200_000 + "</x>" * 200_000),
        # Broken as well as deep: what only feedparser's loose parser would read.
        document(extra="&nbsp;" + "<x>" * 200_000),
    ],
    ids=["inside a description", "inside an item", "broken XML"],
)
def test_deeply_nested_markup_is_refused_quickly(body: bytes) -> None:
    with pytest.raises(
        ParseError,
        match=r"^refused: (elements nested more than 256 deep|malformed XML with \d+ tags is too large)",
    ):
        bounded(lambda: parse(body))


@pytest.mark.usefixtures("reader")
def test_huge_attribute_values_and_attribute_floods_stay_bounded() -> None:
    huge = document(extra=f'<enclosure url="{"A" * 8_000_000}" type="audio/mpeg"/>')
    many = document(extra="<x " + " ".join(f'a{i}="v"' for i in range(100_000)) + "/>")
    for body in (huge, many):
        with pytest.raises(ParseError, match=r"^refused: a tag longer than 256 KB"):
            bounded(lambda b=body: parse(b), megabytes=4)  # type: ignore[misc]
    # Long but sane: a 200 KB attribute is read (and not used).
    long = document(extra=f'<enclosure url="{"A" * 200_000}" type="audio/mpeg"/>')
    parsed = bounded(lambda: parse(long), megabytes=20)
    assert [e.title for e in parsed.entries] == ["t"]  # type: ignore[attr-defined]


def test_a_body_that_never_ends_is_cut_at_the_size_cap() -> None:
    async def endless() -> AsyncIterator[bytes]:
        yield b'<?xml version="1.0"?><rss version="2.0"><channel>'
        while True:
            yield b"<item><title>more</title></item>" * 1000

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    async def go() -> object:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await fetch_one(
                client,
                FetchTarget("http://endless.example/f"),
                limits=FetchLimits(max_body=1 << 20),
            )

    result = bounded(lambda: asyncio.run(go()), megabytes=16)
    assert result.status == "error"  # type: ignore[attr-defined]
    assert result.error.startswith("body larger than 1 MB")  # type: ignore[attr-defined]


def test_hostile_feeds_are_feed_errors_and_the_good_feed_still_alerts(
    tmp_path: Path, feed_server: FeedServer, fake_slack: FakeSlack, db_url: str
) -> None:
    hostile = {
        "laughs": billion_laughs(),
        "blowup": quadratic_blowup(),
        "xxe": document(
            '<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>', title="&x;"
        ),
        "nested": document(extra="<x>" * 100_000 + "</x>" * 100_000),
    }
    for name, body in hostile.items():
        feed_server.add(f"/{name}.xml", body)
    feed_server.add("/good.xml", rss(SIGNAL))
    feeds = [(name, feed_server.url(f"/{name}.xml"), "LT") for name in hostile]
    config = write_config(
        tmp_path,
        feeds=[*feeds, ("good", feed_server.url("/good.xml"), "LT")],
        slack_url=fake_slack.url,
    )
    env = {"SLACK_BOT_TOKEN": fake_slack.token, "NORMWATCH_DATABASE_URL": db_url}
    result = CliRunner().invoke(
        cli, ["--config", str(config), "run", "--once"], env=env
    )
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert len(fake_slack.messages) == 1 and "Lithuania" in fake_slack.messages[0].text
    listing = CliRunner().invoke(
        cli, ["--config", str(config), "feeds", "--format", "json"], env=env
    )
    health = {row["name"]: row for row in json.loads(listing.stdout)}
    assert health["good"]["status"] == "ok"
    for name in hostile:
        assert health[name]["status"] == "failing"
        assert health[name]["last_error"].startswith("parse: refused: "), health[name]
    assert "root:" not in listing.stdout  # nothing of /etc/passwd
