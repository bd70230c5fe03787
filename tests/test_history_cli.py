"""`normwatch hits` and `normwatch search`: every filter, paging, order, CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import cli
from tests.history_data import build_history
from tests.sample import write_config


@pytest.fixture
def run(tmp_path: Path, db_url: str) -> Any:
    build_history(db_url).kw["bind"].dispose()
    config = write_config(tmp_path, feeds=[])

    def invoke(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(
            cli,
            ["--config", str(config), *args],
            env={"NORMWATCH_DATABASE_URL": db_url},
        )
        return result.exit_code, result.stdout, result.stderr

    return invoke


def hits_json(run: Any, *args: str) -> list[dict[str, Any]]:
    code, out, err = run("hits", "--format", "json", *args)
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def keys(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["url"].rsplit("/", 1)[1], r["rule"]) for r in rows]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            [],
            {
                ("pl-2", "cluster_acquisition"),
                ("pl-1", "ccm_withdrawal"),
                ("lt-2", "ccm_withdrawal"),
                ("lt-2", "cluster_acquisition"),
                ("lt-1", "ccm_withdrawal"),
            },
        ),
        (
            ["--state", "lt"],
            {
                ("lt-2", "ccm_withdrawal"),
                ("lt-2", "cluster_acquisition"),
                ("lt-1", "ccm_withdrawal"),
            },
        ),
        (
            ["--topic", "cluster_acquisition", "--state", "PL"],
            {("pl-2", "cluster_acquisition")},
        ),
        (
            ["--rule", "ccm_withdrawal", "--feed", "tvp info"],
            {("pl-1", "ccm_withdrawal")},
        ),
        (
            ["--lang", "pl"],
            {("pl-1", "ccm_withdrawal"), ("pl-2", "cluster_acquisition")},
        ),
        (["--until", "2026-11-20"], {("lt-1", "ccm_withdrawal")}),
        (
            ["--since", "2026-11-21", "--until", "2026-11-21"],
            {
                ("pl-1", "ccm_withdrawal"),
                ("lt-2", "ccm_withdrawal"),
                ("lt-2", "cluster_acquisition"),
            },
        ),
        (
            ["--verdict", "relevant"],
            {("lt-1", "ccm_withdrawal"), ("pl-1", "ccm_withdrawal")},
        ),
        (["--verdict", "not_relevant"], {("lt-2", "ccm_withdrawal")}),
        (
            ["--verdict", "none"],
            {("lt-2", "cluster_acquisition"), ("pl-2", "cluster_acquisition")},
        ),
        (["--alerted"], {("lt-1", "ccm_withdrawal")}),
        (
            ["--not-alerted", "--state", "PL"],
            {("pl-1", "ccm_withdrawal"), ("pl-2", "cluster_acquisition")},
        ),
        (
            ["--search", "KASETIN*"],
            {
                ("lt-1", "ccm_withdrawal"),
                ("lt-2", "ccm_withdrawal"),
                ("lt-2", "cluster_acquisition"),
            },
        ),
        (
            ["--search", '"amunicje kasetowa" OR wypowiedzenie'],
            {("pl-1", "ccm_withdrawal"), ("pl-2", "cluster_acquisition")},
        ),
    ],
)
def test_each_filter_lists_exactly_its_hits(
    run: Any, args: list[str], expected: set[tuple[str, str]]
) -> None:
    assert set(keys(hits_json(run, *args))) == expected


def test_newest_first_by_default_and_oldest_on_request(run: Any) -> None:
    newest = hits_json(run)
    found = [r["found_at"] for r in newest]
    assert found == sorted(found, reverse=True)
    assert keys(hits_json(run, "--oldest")) == list(reversed(keys(newest)))


def test_pages_split_the_list_without_gaps_or_repeats(run: Any) -> None:
    everything = keys(hits_json(run))
    pages = [keys(hits_json(run, "--limit", "2", "--page", str(p))) for p in (1, 2, 3)]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [k for page in pages for k in page] == everything
    assert hits_json(run, "--limit", "2", "--page", "4") == []


def test_table_says_when_another_page_may_follow(run: Any) -> None:
    code, _, err = run("hits", "--limit", "2")
    assert code == 0
    assert "--page 2" in err
    code, _out, err = run("hits", "--limit", "10")
    assert "--page" not in err


def test_csv_is_one_row_per_hit_utf8_with_optional_bom(run: Any) -> None:
    code, out, _ = run("hits", "--format", "csv", "--bom", "--state", "LT")
    assert code == 0
    assert out.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(out.removeprefix("\ufeff"))))
    assert len(rows) == 3
    assert {r["title"] for r in rows} >= {"Lietuva perka kasetinius šaudmenis"}
    assert {r["verdict"] for r in rows} == {"relevant", "not_relevant", ""}
    code, plain, _ = run("hits", "--format", "csv")
    assert not plain.startswith("\ufeff")


def test_search_command_finds_hits_or_every_item(run: Any) -> None:
    code, out, err = run("search", "pogoda", "--format", "json")
    assert code == 0, err
    assert json.loads(out) == []  # the weather is no hit
    code, out, err = run("search", "pogoda", "--all-items", "--format", "json")
    assert code == 0, err
    [item] = json.loads(out)
    assert item["title"] == "Pogoda na weekend"
    assert item["rules"] == []
    assert item["feed"] == "TVP Info"


def test_archive_search_finds_what_the_rules_missed(run: Any) -> None:
    code, out, err = run(
        "search",
        "pogoda OR orai OR lietuva",
        "--all-items",
        "--unmatched",
        "--format",
        "json",
    )
    assert code == 0, err
    assert sorted(r["title"] for r in json.loads(out)) == [
        "Orai savaitgaliui",
        "Pogoda na weekend",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "--", "-coal"], "at least one word"),
        (["hits", "--search", "k*"], "at least 2 letters"),
        (["search", "x", "--all-items", "--topic", "t"], "--topic applies to hits"),
        (["search", "x", "--unmatched"], "need --all-items"),
        (["hits", "--until", "soon"], "--until"),
    ],
)
def test_bad_search_input_exits_2_with_one_line(
    run: Any, args: list[str], message: str
) -> None:
    code, _, err = run(*args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err
