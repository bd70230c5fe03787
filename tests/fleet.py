"""Several `normwatch run` processes over a feed farm: what the scale-out,
kill and outage tests share (config, processes, expected and posted alerts)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import parse_config
from bot.rules import Matcher
from feeds.text import plain_text
from tests.fakes.farm import BaseFarm
from tests.fakes.slack_api import FakeSlack
from tests.sample import GROUPS, RULES, STATES

ROOT = Path(__file__).resolve().parents[1]
STATE_OF = {"lt": "LT", "pl": "PL"}
FARM_URL = re.compile(r"https://farm\.example/[a-z]{2}/\d+/\d+")


def farm_config(
    directory: Path,
    farm: BaseFarm,
    *,
    slack_url: str,
    interval: int,
    extra: str = "",
) -> Path:
    """Every farm feed, every entry alertable (alert_max_age 0), short timings."""
    parts = [
        f'[normwatch]\ntimezone = "UTC"\ninterval = {interval}\ntick = 1\n'
        "heartbeat = 1\nalert_max_age = 0\n",
        "[fetch]\nconcurrency = 32\nper_host = 8\nconnect_timeout = 3\n"
        "read_timeout = 5\ndeadline = 8\n",
        f'[slack]\nchannel = "#alerts"\napi_url = "{slack_url}"\n',
        # One alert per matching entry: the farm's entries share state, topic
        # and templates, and these tests count alerts, not stories.
        "[stories]\nevent_threads = false\nnear_duplicate = 0\n",
        extra,
        STATES,
        GROUPS,
        RULES,
    ]
    for feed in farm.catalogue.feeds:
        state = STATE_OF.get(feed.language)
        parts.append(
            f'[[feeds]]\nname = "{feed.name}"\nurl = "{farm.url(feed)}"\n'
            f'language = "{feed.language}"\n'
            + (f'state = "{state}"\n' if state else "")
        )
    path = directory / "config.toml"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def expected_alerts(config: Path, farm: BaseFarm) -> set[str]:
    """The article links that must reach Slack, worked out from the farm's own
    catalogue with the rules (not from what the bot stored)."""
    matcher = Matcher(parse_config(config.read_text(encoding="utf-8"), config))
    wanted = set()
    for feed in farm.catalogue.feeds:
        for entry in feed.entries(farm.version(feed.n)):
            if matcher.match(
                title=entry.title,
                summary=plain_text(entry.summary),
                feed_state=STATE_OF.get(feed.language),
            ):
                wanted.add(entry.link)
    return wanted


def posted(slack: FakeSlack) -> Counter[str]:
    """How many Slack messages carry each article link (alone or in a digest)."""
    counts: Counter[str] = Counter()
    for text in slack.texts():  # top-level text and the text inside blocks
        counts.update(set(FARM_URL.findall(text)))
    return counts


class Zygote:
    """tests/zygote.py in a child process: forks normwatch processes cheaply."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.zygote"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def _ask(self, request: dict[str, object]) -> dict[str, object]:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        answer: dict[str, object] = json.loads(self._process.stdout.readline())
        return answer

    def start(self, args: list[str], log: Path, env: dict[str, str]) -> int:
        pid = self._ask({"start": args, "log": str(log), "env": env})["pid"]
        assert isinstance(pid, int)
        return pid

    def wait(self, pid: int, timeout: float) -> int | None:
        code = self._ask({"wait": pid, "timeout": timeout})["code"]
        return code if isinstance(code, int) else None

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=30)


@dataclass
class Fleet:
    """`normwatch run` processes on one config and database, each logging to
    its own file (a restarted slot appends to the same file). With a zygote,
    a start is a fork of an already-imported parent instead of a new Python."""

    config: Path
    env: dict[str, str]
    logs: Path
    zygote: Zygote | None = None
    pids: dict[int, int] = field(default_factory=dict)
    starts: Counter[int] = field(default_factory=Counter)
    _popen: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    _log_start: dict[int, int] = field(default_factory=dict)

    def log(self, slot: int) -> Path:
        return self.logs / f"instance-{slot}.log"

    def start(self, slot: int) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.log(slot)
        self._log_start[slot] = log.stat().st_size if log.exists() else 0
        args = ["--config", str(self.config), "run"]
        if self.zygote is not None:
            self.pids[slot] = self.zygote.start(args, log, self.env)
        else:
            with log.open("ab") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "bot", *args],
                    env={**os.environ, **self.env},
                    cwd=ROOT,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=out,
                )
            self._popen[process.pid] = process
            self.pids[slot] = process.pid
        self.starts[slot] += 1

    def running_since_start(self, slot: int, text: str) -> bool:
        """Whether the slot's current process has logged `text` yet."""
        with self.log(slot).open("rb") as log:
            log.seek(self._log_start.get(slot, 0))
            return text.encode() in log.read()

    def _wait(self, pid: int, timeout: float) -> int | None:
        if self.zygote is not None:
            return self.zygote.wait(pid, timeout)
        try:
            return self._popen[pid].wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self, slot: int) -> None:
        pid = self.pids[slot]
        os.kill(pid, signal.SIGKILL)
        assert self._wait(pid, 30) == -signal.SIGKILL

    def stop_all(self, timeout: float = 60) -> dict[int, int | None]:
        """SIGTERM every process; their exit codes (None: had to be killed)."""
        for pid in self.pids.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        return {slot: self._wait(pid, timeout) for slot, pid in self.pids.items()}

    def kill_all(self) -> None:
        for pid in self.pids.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self._wait(pid, 10)

    def all_logs(self) -> str:
        return "".join(
            self.log(slot).read_text(errors="replace") for slot in sorted(self.starts)
        )


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return condition()
