"""Retention: unmatched items go after [history] keep_unmatched; hits, their
items and feedback stay; the running bot prunes on its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import cli
from bot.config import ConfigError, load_config
from bot.runtime import Runtime
from bot.service import prune_old_items
from storage.fulltext import SQLITE_INTEGRITY_CHECK
from storage.models import Feedback, Hit, Item
from storage.retention import prune_unmatched
from storage.search import search_items
from tests.history_data import DAY3, build_history
from tests.sample import write_config
from tests.test_service import wait_for


@pytest.fixture
def history(db_url: str) -> sessionmaker[Session]:
    return build_history(db_url)


def guids(sessions: sessionmaker[Session]) -> set[str]:
    with sessions() as s:
        return set(s.scalars(select(Item.guid)))


def totals(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(Hit)) or 0,
            s.scalar(select(func.count()).select_from(Feedback)) or 0,
        )


def test_only_unmatched_items_older_than_the_cutoff_go(
    history: sessionmaker[Session],
) -> None:
    before = totals(history)
    assert prune_unmatched(history, cutoff=DAY3 - timedelta(days=180)) == 1
    assert "lt-old" not in guids(history)
    assert "pl-3" in guids(history)
    # Everything newer than the cutoff, hit or not, stays; then only hits stay.
    assert prune_unmatched(history, cutoff=DAY3 + timedelta(days=1)) == 1
    assert guids(history) == {"lt-1", "lt-2", "pl-1", "pl-2"}
    assert totals(history) == before == (5, 4)
    with history() as s:  # the search index forgot them too
        assert search_items(s, "pogoda OR orai") == []
        assert len(search_items(s, "kasetin*")) == 2
        if s.get_bind().dialect.name == "sqlite":
            # FTS5 raises if its index and `items` disagree in any row.
            s.execute(text(SQLITE_INTEGRITY_CHECK))


def test_pruning_goes_in_batches_until_done_or_stopped(
    history: sessionmaker[Session],
) -> None:
    cutoff = DAY3 + timedelta(days=1)
    assert prune_unmatched(history, cutoff=cutoff, batch=1, stop=lambda: True) == 0
    assert prune_unmatched(history, cutoff=cutoff, batch=1) == 2
    assert prune_unmatched(history, cutoff=cutoff, batch=1) == 0


def test_the_service_job_uses_keep_unmatched_and_zero_turns_it_off(
    tmp_path: Path,
    history: sessionmaker[Session],
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NORMWATCH_DATABASE_URL", db_url)
    for keep, expected in [("0", 0), ('"180d"', 1), ('"1d"', 1)]:
        config = write_config(
            tmp_path, feeds=[], extra=f"[history]\nkeep_unmatched = {keep}\n"
        )
        rt = Runtime.open(load_config(config), config)
        rt.clock = lambda: DAY3 + timedelta(days=2)
        try:
            assert prune_old_items(rt) == expected
        finally:
            rt.close()
    assert guids(history) == {"lt-1", "lt-2", "pl-1", "pl-2"}


def test_prune_command_counts_then_deletes(
    tmp_path: Path, history: sessionmaker[Session], db_url: str
) -> None:
    config = write_config(tmp_path, feeds=[])

    def run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(
            cli,
            ["--config", str(config), "prune", *args],
            env={"NORMWATCH_DATABASE_URL": db_url},
        )
        return result.exit_code, result.stdout, result.stderr

    code, out, _ = run("--dry-run")
    assert code == 0 and out.startswith("1 unmatched items")
    assert "lt-old" in guids(history)
    code, out, _ = run()
    assert code == 0 and out.startswith("pruned 1 unmatched items")
    assert "lt-old" not in guids(history)
    code, _, err = run("--older-than", "soon")
    assert code == 2 and "--older-than" in err


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ('[history]\nkeep_unmatched = "forever"\n', "history.keep_unmatched"),
        ("[web]\nport = 70000\n", "web.port"),
        ('[web]\nsecret = "x"\n', "web.secret"),
    ],
)
def test_bad_history_and_web_settings_name_their_key(
    tmp_path: Path, extra: str, key: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path, feeds=[], extra=extra))
    assert key in str(info.value)


def test_the_running_bot_prunes_on_its_own(
    tmp_path: Path, history: sessionmaker[Session], db_url: str
) -> None:
    config = write_config(tmp_path, feeds=[])
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        env={**os.environ, "NORMWATCH_DATABASE_URL": db_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(lambda: "lt-old" not in guids(history)), "nothing pruned"
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert "retention: deleted" in err
    assert {"lt-1", "lt-2", "pl-1", "pl-2"} <= guids(history)
