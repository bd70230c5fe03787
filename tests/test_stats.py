"""Stats: counts per grouping, precision from the team's feedback, local days,
and the terminal chart."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import cli
from bot.trends import chart
from storage.history import HitFilter
from storage.stats import DayCount, count_hits, hits_per_day_by_state
from tests.history_data import build_history
from tests.sample import write_config


@pytest.fixture
def history(db_url: str) -> sessionmaker[Session]:
    return build_history(db_url)


def counts(
    sessions: sessionmaker[Session], by: str, **kwargs: object
) -> dict[str, tuple[int, int, int, float | None]]:
    tz = kwargs.pop("tz", None)
    with sessions() as s:
        return {
            c.key: (c.hits, c.relevant, c.not_relevant, c.precision)
            for c in count_hits(s, HitFilter(**kwargs), by=by, tz=tz)  # type: ignore[arg-type]
        }


def test_per_rule_precision_comes_from_each_hits_latest_verdict(
    history: sessionmaker[Session],
) -> None:
    # lt-1 was first marked not relevant, then relevant: the latest counts.
    assert counts(history, "rule") == {
        "ccm_withdrawal": (3, 2, 1, pytest.approx(2 / 3)),
        "cluster_acquisition": (2, 0, 0, None),
    }


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("state", {"LT": 3, "PL": 2}),
        ("topic", {"ccm_withdrawal": 3, "cluster_acquisition": 2}),
        ("feed", {"LRT": 3, "TVP Info": 2}),
        ("language", {"lt": 3, "pl": 2}),
        ("day", {"2026-11-20": 1, "2026-11-21": 3, "2026-11-22": 1}),
        ("week", {"2026-11-16": 5}),
    ],
)
def test_counts_per_grouping(
    history: sessionmaker[Session], by: str, expected: dict[str, int]
) -> None:
    assert {k: v[0] for k, v in counts(history, by).items()} == expected


def test_days_are_the_teams_days_not_utc(history: sessionmaker[Session]) -> None:
    # 09:00 UTC is 23:00 the evening before in Honolulu.
    honolulu = ZoneInfo("Pacific/Honolulu")
    assert {k: v[0] for k, v in counts(history, "day", tz=honolulu).items()} == {
        "2026-11-19": 1,
        "2026-11-20": 3,
        "2026-11-21": 1,
    }


def test_filters_narrow_the_counts(history: sessionmaker[Session]) -> None:
    assert {k: v[0] for k, v in counts(history, "rule", state="PL").items()} == {
        "ccm_withdrawal": 1,
        "cluster_acquisition": 1,
    }
    assert {
        k: v[0] for k, v in counts(history, "state", search="kasetin*").items()
    } == {"LT": 3}


def test_hits_per_day_by_state(history: sessionmaker[Session]) -> None:
    with history() as s:
        days = hits_per_day_by_state(s, HitFilter())
    assert [(d.day.isoformat(), d.state, d.hits) for d in days] == [
        ("2026-11-20", "LT", 1),
        ("2026-11-21", "LT", 2),
        ("2026-11-21", "PL", 1),
        ("2026-11-22", "PL", 1),
    ]


def test_chart_has_a_line_per_day_gaps_included_and_bars_to_scale() -> None:
    lines = chart(
        [
            DayCount(date(2026, 11, 1), "LT", 4),
            DayCount(date(2026, 11, 1), "PL", 4),
            DayCount(date(2026, 11, 3), "PL", 2),
        ]
    )
    legend, *days = [line.plain for line in lines]
    assert "LT" in legend and "PL" in legend
    assert [d.split()[0] for d in days] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert days[0].count("█") == 50 and days[0].endswith(" 8")
    assert days[1].count("█") == 0 and days[1].endswith(" 0")
    assert days[2].count("█") == 12  # 2/8 of the widest bar, rounded


def test_stats_command_prints_table_chart_json_and_csv(
    tmp_path: Path, history: sessionmaker[Session], db_url: str
) -> None:
    config = write_config(tmp_path, feeds=[])

    def run(*args: str) -> str:
        result = CliRunner().invoke(
            cli,
            ["--config", str(config), "stats", *args],
            env={"NORMWATCH_DATABASE_URL": db_url, "COLUMNS": "200"},
        )
        assert result.exit_code == 0, result.stderr
        return result.stdout

    table = run("--by", "state")
    assert "5 hits in 2 groups" in table
    assert "2026-11-21 " in table and "hits per day, by state" in table
    rows = json.loads(run("--by", "rule", "--format", "json"))
    assert rows[0] == {
        "rule": "ccm_withdrawal",
        "hits": 3,
        "judged": 3,
        "relevant": 2,
        "not_relevant": 1,
        "precision": 0.667,
    }
    [header, *body] = list(
        csv.reader(io.StringIO(run("--by", "week", "--format", "csv")))
    )
    assert header == ["week", "hits", "judged", "relevant", "not_relevant", "precision"]
    assert body == [["2026-11-16", "5", "3", "2", "1", "0.667"]]
