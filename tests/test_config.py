"""Config loading: every problem is named with its key and line; `check-config` exits 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import ConfigError, database_url, parse_config, parse_duration
from tests.sample import config_text

GOOD = config_text(feeds=[("LT news", "https://www.lrt.lt/?rss", "LT")])


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, Path("config.toml"))
    return [str(p) for p in info.value.problems]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_sample_config_is_valid() -> None:
    config = parse_config(GOOD, Path("config.toml"))
    assert [f.state for f in config.feeds] == ["LT"]
    assert config.feeds[0].kind == "news"


def test_misspelt_key_is_named_with_its_line() -> None:
    text = GOOD.replace('language = "lt"', 'langauge = "lt"')
    found = problems(text)
    line = line_of(text, "langauge")
    assert f"line {line}: feeds[0].langauge: unknown key" in found
    # the required key it replaced is reported too
    assert any("feeds[0].language" in p and "required" in p.lower() for p in found)


def test_undefined_state_code_names_the_key_and_the_defined_states() -> None:
    text = GOOD.replace('state = "LT"', 'state = "XX"')
    [problem] = problems(text)
    assert f"line {line_of(text, 'state = ')}: feeds[0].state" in problem
    assert "'XX'" in problem and "LT, PL" in problem


def test_check_config_names_misspelt_key_and_bad_state_together_and_exits_2(
    tmp_path: Path,
) -> None:
    text = GOOD.replace('language = "lt"', 'langauge = "lt"\nlanguage = "lt"').replace(
        'state = "LT"', 'state = "XX"'
    )
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "check-config"])
    assert result.exit_code == 2
    assert (
        f"line {line_of(text, 'langauge')}: feeds[0].langauge: unknown key"
        in result.stderr
    )
    assert f"line {line_of(text, 'state = ')}: feeds[0].state: 'XX'" in result.stderr
    assert result.stdout == ""


def test_check_config_summarises_a_good_config(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(GOOD, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "check-config"])
    assert result.exit_code == 0, result.stderr
    assert "feeds:    1" in result.stdout
    assert "LT, PL" in result.stdout
    assert "ccm_withdrawal" in result.stdout


def test_wrong_types_and_bad_values_are_each_reported() -> None:
    text = GOOD.replace(
        'timezone = "Europe/Vilnius"', 'timezone = "Mars/Olympus"\ninterval = "often"'
    )
    text = text.replace('severity = "high"', 'severity = "urgent"')
    found = "\n".join(problems(text))
    assert "normwatch.timezone" in found and "Mars/Olympus" in found
    assert "normwatch.interval" in found and "'often' is not a duration" in found
    assert "rules[0].severity" in found


def test_unknown_group_in_a_rule_is_named() -> None:
    text = GOOD.replace(
        'all = ["cluster", "acquire_use", "state"]',
        'all = ["cluster", "acquire", "state"]',
    )
    [problem] = problems(text)
    assert "rules[1].all[1]" in problem and "unknown group 'acquire'" in problem


def test_bad_language_code_and_bad_url_are_named() -> None:
    text = GOOD.replace('language = "lt"', 'language = "lithuanian"').replace(
        'url = "https://www.lrt.lt/?rss"', 'url = "ftp://example"'
    )
    found = "\n".join(problems(text))
    assert "feeds[0].language" in found and "ISO 639-1" in found
    assert "feeds[0].url" in found


def test_a_token_in_the_file_is_refused_with_a_hint() -> None:
    text = GOOD + '\n[slack]\ntoken = "not-a-real-token"\n'
    found = "\n".join(problems(text))
    assert "slack.token: unknown key" in found and "SLACK_BOT_TOKEN" in found


def test_invalid_toml_reports_the_parser_position() -> None:
    [problem] = problems('[normwatch\ntimezone = "UTC"')
    assert "not valid TOML" in problem and "line 1" in problem


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("10m", 600),
        ("1h30m", 5400),
        ("7d", 604800),
        (0, 0),
        ("0", 0),
        (45, 45),
    ],
)
def test_durations_parse(text: object, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "10 minutes", "-5", "5x", True, -1])
def test_bad_durations_are_refused(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_database_url_defaults_to_sqlite_beside_the_config_and_env_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = parse_config(GOOD, tmp_path / "config.toml")
    assert (
        database_url(config, tmp_path / "config.toml")
        == f"sqlite:///{tmp_path / 'normwatch.db'}"
    )
    monkeypatch.setenv("NORMWATCH_DATABASE_URL", "postgresql://db/x")
    assert database_url(config, tmp_path / "config.toml") == "postgresql://db/x"


def test_missing_config_file_exits_2_with_a_hint(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--config", str(tmp_path / "nope.toml"), "check-config"]
    )
    assert result.exit_code == 2
    assert "file not found" in result.stderr


def test_stories_defaults_and_values() -> None:
    config = parse_config(GOOD, Path("config.toml"))
    assert config.stories.window == 72 * 3600
    assert config.stories.event_window == 48 * 3600
    assert config.stories.event_threads is True
    text = GOOD + (
        '\n[stories]\nwindow = "1d"\nnear_duplicate = 0.7\nevent_threads = false\n'
        'max_replies = 3\ntracking_params = ["src", "campaign_*"]\n'
    )
    stories = parse_config(text, Path("config.toml")).stories
    assert (stories.window, stories.near_duplicate, stories.max_replies) == (
        86400,
        0.7,
        3,
    )
    assert stories.tracking_params == ["src", "campaign_*"]


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("near_duplicate = -0.1", "stories.near_duplicate"),
        ("near_duplicate = 1.5", "stories.near_duplicate"),
        ("max_replies = -1", "stories.max_replies"),
        ('event_window = "soon"', "stories.event_window"),
        ('tracking_params = ["utm source"]', "stories.tracking_params"),
        ("event_threads = 3", "stories.event_threads"),
        ("replies = 3", "stories.replies"),
    ],
)
def test_a_bad_stories_value_is_named_with_its_line(line: str, key: str) -> None:
    text = GOOD + f"\n[stories]\n{line}\n"
    found = problems(text)
    assert any(f"line {line_of(text, line)}: {key}" in p for p in found), found


def test_parse_workers_default_to_one_where_there_is_a_second_core(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for cores, expected in ((1, 0), (2, 1), (8, 1)):
        monkeypatch.setattr("bot.config.usable_cores", lambda n=cores: n)
        config = parse_config(GOOD, Path("config.toml"))
        assert config.fetch.parse_workers == expected, cores
        auto = parse_config(
            GOOD + '\n[fetch]\nparse_workers = "auto"\n', Path("config.toml")
        )
        assert auto.fetch.parse_workers == expected, cores
    explicit = parse_config(GOOD + "\n[fetch]\nparse_workers = 3\n", Path("c.toml"))
    assert explicit.fetch.parse_workers == 3


@pytest.mark.parametrize("value", ["-1", "17", '"two"', "true", "1.5"])
def test_a_bad_parse_workers_value_is_named_with_a_hint(value: str) -> None:
    line = f"parse_workers = {value}"
    text = GOOD + f"\n[fetch]\n{line}\n"
    found = problems(text)
    assert any(
        f"line {line_of(text, line)}: fetch.parse_workers" in p
        and '"auto" or a number from 0 to 16' in p
        for p in found
    ), found
