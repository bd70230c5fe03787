"""The command's contract: exit status 0/1/2, one clear line on stderr, stable formats."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from click.testing import CliRunner

from bot.cli import cli
from storage.db import MIGRATIONS
from tests.sample import write_config


def invoke(args: list[str], **env: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, args, env=env)
    return result.exit_code, result.stdout, result.stderr


def test_db_upgrade_creates_the_schema_and_reports_the_revision(
    tmp_path: Path, db_url: str
) -> None:
    config = write_config(tmp_path, feeds=[])
    code, out, err = invoke(
        ["--config", str(config), "db", "upgrade"], NORMWATCH_DATABASE_URL=db_url
    )
    assert code == 0, err
    newest = max(p.name[:4] for p in MIGRATIONS.glob("versions/0*.py"))
    assert f"at revision {newest}" in out


def test_unreachable_database_exits_1_with_one_line_and_no_password(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, feeds=[])
    code, _, err = invoke(
        ["--config", str(config), "hits"],
        NORMWATCH_DATABASE_URL="postgresql://bot:s3cret@127.0.0.1:1/none",
    )
    assert code == 1
    assert "storage: cannot connect to" in err
    assert "s3cret" not in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_bad_since_value_exits_2(tmp_path: Path) -> None:
    config = write_config(tmp_path, feeds=[])
    code, _, err = invoke(
        ["--config", str(config), "hits", "--since", "last tuesday"],
        NORMWATCH_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}",
    )
    assert code == 2
    assert "--since" in err


def test_empty_history_prints_valid_json_and_csv_header(tmp_path: Path) -> None:
    config = write_config(tmp_path, feeds=[])
    env = {"NORMWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    assert (
        invoke(["--config", str(config), "hits", "--format", "json"], **env)[1].strip()
        == "[]"
    )
    out = invoke(["--config", str(config), "hits", "--format", "csv"], **env)[1]
    header = next(csv.reader(io.StringIO(out)))
    assert {
        "id",
        "title",
        "url",
        "state",
        "topic",
        "rule",
        "matched",
        "alerted",
    } <= set(header)


def test_unknown_format_is_refused_with_exit_2(tmp_path: Path) -> None:
    config = write_config(tmp_path, feeds=[])
    code, _, err = invoke(["--config", str(config), "hits", "--format", "xml"])
    assert code == 2
    assert "xml" in err


def test_the_feeds_table_speaks_words_and_the_csv_keeps_field_names(
    tmp_path: Path,
) -> None:
    config = write_config(
        tmp_path, feeds=[("Delfi", "https://delfi.example/rss", "LT")]
    )
    env = {"NORMWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "COLUMNS": "200"}
    code, table, _ = invoke(["--config", str(config), "feeds"], **env)
    assert code == 0
    heading = next(line for line in table.splitlines() if "name" in line)
    assert "last success" in heading and "failures" in heading
    assert "consecutive_failures" not in table and "Delfi" in table
    out = invoke(["--config", str(config), "feeds", "--format", "csv"], **env)[1]
    header = next(csv.reader(io.StringIO(out)))
    assert {"last_success_at", "consecutive_failures", "items_seen"} <= set(header)
