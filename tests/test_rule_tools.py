"""The team's rule tools: `rules test`, `backtest` and hot reload."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import load_config
from bot.reload import ConfigWatcher
from bot.rules import Matcher
from bot.runtime import Runtime
from storage.db import make_engine, session_factory
from tests.fakes.feed_server import FeedServer
from tests.sample import config_text, rss, write_config


def invoke(args: list[str], **env: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, args, env=env)
    return result.exit_code, result.stdout, result.stderr


def test_rules_test_shows_matches_terms_state_and_what_other_rules_miss(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, feeds=[])
    code, out, err = invoke(
        [
            "--config",
            str(config),
            "rules",
            "test",
            "--lang",
            "lt",
            "Seimas pritarė pasitraukimui iš Konvencijos dėl kasetinių šaudmenų",
        ]
    )
    assert code == 0, err
    assert "MATCH ccm_withdrawal" in out
    assert "state LT" in out
    assert "'pasitraukimui' = 'pasitrauk*'" in out
    assert "no    cluster_acquisition · missing acquire_use" in out


def test_rules_test_json_reports_near_misses(tmp_path: Path) -> None:
    config = write_config(tmp_path, feeds=[])
    code, out, _ = invoke(
        [
            "--config",
            str(config),
            "rules",
            "test",
            "--format",
            "json",
            "--state",
            "pl",
            "The government wants to buy new server cluster hardware",
        ]
    )
    assert code == 0
    data = json.loads(out)
    by_rule = {r["rule"]: r for r in data["rules"]}
    assert not by_rule["cluster_acquisition"]["matched"]
    # the feed's state attributes a hit; it does not stand in for naming a state
    assert by_rule["cluster_acquisition"]["missing"] == ["cluster", "state"]
    assert by_rule["cluster_acquisition"]["excluded_by"] == ["exclude"]


def test_rules_test_refuses_an_unknown_language_or_state(tmp_path: Path) -> None:
    config = write_config(tmp_path, feeds=[])
    assert (
        invoke(["--config", str(config), "rules", "test", "--lang", "xx", "t"])[0] == 2
    )
    assert (
        invoke(["--config", str(config), "rules", "test", "--state", "DE", "t"])[0] == 2
    )


ITEMS = [
    (
        "Lithuania to withdraw from the Convention on Cluster Munitions",
        "https://n.example/1",
        "",
    ),
    ("Poland to buy cluster munitions", "https://n.example/2", ""),
    (
        "Poland considers new cluster bomb stocks",
        "https://n.example/3",
        "Warsaw reviews them.",
    ),
    ("Weather in Vilnius", "https://n.example/4", "Sunny."),
]


def test_backtest_lists_hits_a_new_config_adds_and_removes_without_alerting(
    tmp_path: Path, feed_server: FeedServer, db_url: str
) -> None:
    feed_server.add("/f.xml", rss(*ITEMS))
    config = write_config(tmp_path, feeds=[("F", feed_server.url("/f.xml"), None)])
    env = {"NORMWATCH_DATABASE_URL": db_url}
    assert invoke(["--config", str(config), "run", "--once"], **env)[0] == 0
    new = tmp_path / "new.toml"
    # the new rules drop "buy*" but learn "stockpil*" as acquisition vocabulary
    new.write_text(
        config_text(feeds=[]).replace(
            'en = ["buy*", "purchas*", "stockpil*"]', 'en = ["stockpil*", "stocks"]'
        )
    )
    code, out, err = invoke(
        ["--config", str(config), "backtest", "--config", str(new), "--format", "json"],
        **env,
    )
    assert code == 0, err
    changes = {(c["change"], c["rule"], c["title"]) for c in json.loads(out)}
    assert changes == {
        ("removed", "cluster_acquisition", "Poland to buy cluster munitions"),
        ("added", "cluster_acquisition", "Poland considers new cluster bomb stocks"),
    }
    assert "4 items checked against the current rules: 1 hits added, 1 removed" in err


def test_backtest_without_a_new_config_compares_with_the_recorded_hits(
    tmp_path: Path, feed_server: FeedServer, db_url: str
) -> None:
    feed_server.add("/f.xml", rss(*ITEMS))
    config = write_config(tmp_path, feeds=[("F", feed_server.url("/f.xml"), None)])
    env = {"NORMWATCH_DATABASE_URL": db_url}
    assert invoke(["--config", str(config), "run", "--once"], **env)[0] == 0
    code, out, _ = invoke(["--config", str(config), "backtest"], **env)
    assert code == 0
    assert "4 items checked against the hits on record: 0 hits added, 0 removed" in out
    config.write_text(config.read_text().replace('"withdraw*", ', ""))
    code, out, _ = invoke(
        ["--config", str(config), "backtest", "--format", "csv"], **env
    )
    assert "removed,1,ccm_withdrawal" in out.replace("\r", "")


def test_an_edited_config_is_reloaded_and_a_broken_edit_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_config(tmp_path, feeds=[])
    config = load_config(path)
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    rt = Runtime(config, path, engine, session_factory(engine), Matcher(config))
    changes: list[object] = []
    told: list[str] = []
    watcher = ConfigWatcher(rt, on_change=changes.append, notify=told.append)
    assert watcher.check() is False  # unchanged

    signal = "Poland plans to acquire cluster munitions"
    assert rt.matcher.match(title=signal, summary="") == []
    path.write_text(path.read_text().replace('"buy*",', '"buy*", "acquir*",'))
    assert watcher.check() is True
    assert [h.rule for h in rt.matcher.match(title=signal, summary="")] == [
        "cluster_acquisition"
    ]
    assert len(changes) == 1

    with caplog.at_level(logging.ERROR, logger="normwatch.reload"):
        path.write_text(
            path.read_text().replace('severity = "high"', 'severity = "urgent"')
        )
        assert watcher.check() is False
    assert "edit refused" in caplog.text and "rules[0].severity" in caplog.text
    assert told and "rules[0].severity" in told[0]
    # the previous rules keep running
    assert [h.rule for h in rt.matcher.match(title=signal, summary="")] == [
        "cluster_acquisition"
    ]
    engine.dispose()
    _ = datetime.now(UTC)
