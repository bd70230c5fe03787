"""The real cycle, end to end: local feeds in, a local Slack fake out, both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select

from bot.cli import cli
from storage.db import normalize_url
from storage.models import Hit, Item, Outbox
from tests.fakes.feed_server import FeedServer
from tests.fakes.slack_api import FakeSlack
from tests.sample import rss, write_config

WITHDRAWAL = (
    "Seimas pritarė pasitraukimui iš Konvencijos dėl kasetinių šaudmenų",
    "https://news.example.lt/seimas-ccm?utm_source=rss",
    "Lietuvos Seimas balsavo už pasitraukimą iš konvencijos.",
)
UNRELATED = (
    "Vilniuje atidarytas naujas parkas",
    "https://news.example.lt/parkas",
    "Miesto taryba atidarė parką.",
)
PURCHASE = (
    "Poland plans to buy cluster munitions",
    "https://pl.example.com/buy",
    "The Polish ministry said it wants to purchase cluster munitions.",
)


def run_cli(args: list[str], **env: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def setup(
    tmp_path: Path, feed_server: FeedServer, fake_slack: FakeSlack, db_url: str
) -> tuple[Path, dict[str, str]]:
    feed_server.add("/lt.xml", rss(WITHDRAWAL, UNRELATED))
    feed_server.add("/pl.xml", rss(PURCHASE))
    config = write_config(
        tmp_path,
        feeds=[
            ("LT news", feed_server.url("/lt.xml"), "LT"),
            ("PL news", feed_server.url("/pl.xml"), "PL"),
        ],
        slack_url=fake_slack.url,
    )
    env = {"SLACK_BOT_TOKEN": fake_slack.token, "NORMWATCH_DATABASE_URL": db_url}
    return config, env


def count(db_url: str, model: type) -> int:
    engine = create_engine(normalize_url(db_url))
    with engine.connect() as conn:
        value = conn.execute(select(func.count()).select_from(model)).scalar_one()
    engine.dispose()
    return int(value)


def test_one_cycle_posts_one_alert_per_matching_item_and_a_second_posts_nothing(
    setup: tuple[Path, dict[str, str]], fake_slack: FakeSlack, db_url: str
) -> None:
    config, env = setup
    code, out, err = run_cli(["--config", str(config), "run", "--once"], **env)
    assert code == 0, err
    assert "2 alerts posted" in out
    assert len(fake_slack.messages) == 2
    texts = "\n".join(fake_slack.texts())
    assert "Seimas pritarė pasitraukimui" in texts
    assert "https://news.example.lt/seimas-ccm?utm_source=rss" in texts
    assert "LT news" in texts and "PL news" in texts
    assert "Lithuania" in texts and "Poland" in texts
    assert "ccm_withdrawal" in texts and "cluster_acquisition" in texts
    assert "kasetinių šaudmenų" in texts  # the matched term is named
    assert all(m.channel == "#alerts" for m in fake_slack.messages)
    assert all(m.unfurl_links is False for m in fake_slack.messages)
    assert count(db_url, Item) == 3
    assert count(db_url, Hit) == 2

    code, out, err = run_cli(["--config", str(config), "run", "--once"], **env)
    assert code == 0, err
    assert len(fake_slack.messages) == 2
    assert count(db_url, Item) == 3
    assert count(db_url, Hit) == 2
    assert count(db_url, Outbox) == 2


def test_feed_text_that_tries_to_ping_or_link_arrives_as_inert_text(
    tmp_path: Path, feed_server: FeedServer, fake_slack: FakeSlack, db_url: str
) -> None:
    hostile = (
        "<!channel> <@U123> <http://x|y> Lithuania to withdraw from the Convention on Cluster Munitions",
        "https://evil.example/a",
        "<!here> click <http://phish|here> — Lithuania will withdraw.",
    )
    feed_server.add("/f.xml", rss(hostile))
    config = write_config(
        tmp_path,
        feeds=[("Feed", feed_server.url("/f.xml"), "LT")],
        slack_url=fake_slack.url,
    )
    code, _, err = run_cli(
        ["--config", str(config), "run", "--once"],
        SLACK_BOT_TOKEN=fake_slack.token,
        NORMWATCH_DATABASE_URL=db_url,
    )
    assert code == 0, err
    [message] = fake_slack.messages
    payload = json.dumps(
        {"text": message.text, "blocks": message.blocks}, ensure_ascii=False
    )
    for live in (
        "<!channel>",
        "<@U123>",
        "<http://x|y>",
        "<!here>",
        "<http://phish|here>",
    ):
        assert live not in payload
    assert "&lt;!channel&gt;" in payload
    assert "&lt;@U123&gt;" in payload
    assert "&lt;http://x|y&gt;" in payload


def test_hits_json_lists_every_contract_field(
    setup: tuple[Path, dict[str, str]], fake_slack: FakeSlack
) -> None:
    config, env = setup
    assert run_cli(["--config", str(config), "run", "--once"], **env)[0] == 0
    code, out, err = run_cli(
        ["--config", str(config), "hits", "--format", "json"], **env
    )
    assert code == 0, err
    rows = json.loads(out)
    assert len(rows) == 2
    fields = {
        "id",
        "title",
        "url",
        "feed",
        "language",
        "state",
        "topic",
        "rule",
        "matched",
        "published_at",
        "fetched_at",
        "story",
        "alerted",
    }
    for row in rows:
        assert fields <= set(row)
        assert isinstance(row["matched"], list) and row["matched"]
        assert row["alerted"] is True
    by_rule = {r["rule"]: r for r in rows}
    assert by_rule["ccm_withdrawal"]["state"] == "LT"
    assert by_rule["ccm_withdrawal"]["feed"] == "LT news"
    assert by_rule["cluster_acquisition"]["state"] == "PL"

    code, out, _ = run_cli(
        ["--config", str(config), "hits", "--state", "pl", "--format", "json"], **env
    )
    assert [r["rule"] for r in json.loads(out)] == ["cluster_acquisition"]


def test_without_a_token_alerts_are_printed_and_stay_pending_until_slack_is_configured(
    setup: tuple[Path, dict[str, str]], fake_slack: FakeSlack, db_url: str
) -> None:
    config, env = setup
    code, out, err = run_cli(
        ["--config", str(config), "run", "--once"], NORMWATCH_DATABASE_URL=db_url
    )
    assert code == 0, err
    assert "no SLACK_BOT_TOKEN" in err
    assert out.count("ALERT [") == 2
    assert fake_slack.messages == []
    code, out, err = run_cli(["--config", str(config), "run", "--once"], **env)
    assert code == 0, err
    assert len(fake_slack.messages) == 2


def test_items_older_than_alert_max_age_record_hits_without_alerting(
    tmp_path: Path, feed_server: FeedServer, fake_slack: FakeSlack, db_url: str
) -> None:
    old = datetime.now(UTC) - timedelta(days=30)
    feed_server.add("/old.xml", rss(WITHDRAWAL, published=old))
    config = write_config(
        tmp_path,
        feeds=[("Archive", feed_server.url("/old.xml"), "LT")],
        slack_url=fake_slack.url,
    )
    env = {"SLACK_BOT_TOKEN": fake_slack.token, "NORMWATCH_DATABASE_URL": db_url}
    code, _, err = run_cli(["--config", str(config), "run", "--once"], **env)
    assert code == 0, err
    assert fake_slack.messages == []
    rows = json.loads(
        run_cli(["--config", str(config), "hits", "--format", "json"], **env)[1]
    )
    assert [(r["rule"], r["alerted"]) for r in rows] == [("ccm_withdrawal", False)]

    # with no age limit the same kind of item is alerted
    config.write_text(
        config.read_text().replace("[normwatch]\n", "[normwatch]\nalert_max_age = 0\n")
    )
    feed_server.add(
        "/old.xml",
        rss(
            WITHDRAWAL,
            (
                "Lithuania to withdraw from the Convention on Cluster Munitions",
                "https://news.example.lt/2",
                "",
            ),
            published=old,
        ),
    )
    code, _, err = run_cli(["--config", str(config), "run", "--once"], **env)
    assert code == 0, err
    assert len(fake_slack.messages) == 1
