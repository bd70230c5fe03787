"""The deployment files in deploy/: a systemd unit that systemd accepts and a
container file that builds the package from this tree; secrets and the
database URL come from the environment in both."""

from __future__ import annotations

import configparser
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.fleet import ROOT

DEPLOY = ROOT / "deploy"
SECRETS = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "NORMWATCH_DATABASE_URL")


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / "normwatch.service").read_text())
    return parser


def test_the_systemd_unit_is_valid_and_runs_the_bot_from_the_environment(
    tmp_path: Path,
) -> None:
    service = unit()
    assert {"Unit", "Service", "Install"} <= set(service.sections())
    run = service["Service"]
    assert run["ExecStart"].split()[0].endswith("/normwatch")
    assert run["ExecStart"].split()[-1] == "run"
    assert run["EnvironmentFile"] == "/etc/normwatch/normwatch.env"
    assert run["User"] != "root" and run["KillSignal"] == "SIGTERM"
    # Longer than the bot's own grace for a poll in flight (bot.service).
    assert int(run["TimeoutStopSec"]) > 90
    assert run["RestartPreventExitStatus"] == "2"  # config errors do not loop
    text = (DEPLOY / "normwatch.service").read_text()
    assert not re.search(r"xox[bpa]-\w|postgresql://\w+:\w+@", text)
    verify = shutil.which("systemd-analyze")
    if verify is None:
        return  # the keys above are what can be checked without systemd
    # systemd checks that ExecStart exists: point it at this checkout's command.
    here = Path(sys.executable).parent / "normwatch"
    copy = tmp_path / "normwatch.service"
    copy.write_text(
        re.sub(r"^ExecStart=\S+", f"ExecStart={here}", text, flags=re.MULTILINE)
    )
    checked = subprocess.run(
        [verify, "verify", str(copy)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stderr
    assert "normwatch.service" not in checked.stderr, checked.stderr


def test_the_container_file_builds_from_this_tree_and_runs_unprivileged() -> None:
    lines = [
        line.strip()
        for line in (DEPLOY / "Containerfile")
        .read_text()
        .replace("\\\n", " ")
        .splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    instructions = [line.split(None, 1) for line in lines]
    keywords = [k for k, _ in instructions]
    assert keywords[0] == "FROM"
    for keyword, rest in instructions:
        if keyword == "COPY":
            sources = [p for p in rest.split()[:-1] if not p.startswith("--")]
            for source in sources:
                assert (ROOT / source).exists(), source
    user = [rest for keyword, rest in instructions if keyword == "USER"]
    assert user and user[-1] not in ("root", "0")
    entry = next(
        json.loads(rest) for keyword, rest in instructions if keyword == "ENTRYPOINT"
    )
    command = next(
        json.loads(rest) for keyword, rest in instructions if keyword == "CMD"
    )
    assert entry == ["normwatch"] and command == ["run"]
    env = " ".join(rest for keyword, rest in instructions if keyword == "ENV")
    assert "NORMWATCH_CONFIG=/etc/normwatch/config.toml" in env
    assert "SLACK_BOT_TOKEN" not in env  # tokens only at run time


def test_the_environment_example_names_only_what_normwatch_reads() -> None:
    names = {
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in (DEPLOY / "normwatch.env.example").read_text().splitlines()
        if "=" in line and re.match(r"#?\s*[A-Z_]+=", line)
    }
    assert names <= set(SECRETS)
    assert {"SLACK_BOT_TOKEN", "NORMWATCH_DATABASE_URL"} <= names
    readme = (ROOT / "README.md").read_text()
    assert "deploy/normwatch.service" in readme and "deploy/Containerfile" in readme
