"""A parent process with normwatch already imported that forks `normwatch`
processes on demand, for tests that start the bot dozens of times.

Importing normwatch takes ~2 s of CPU on a small machine; a restart here
costs a fork. Each child is a real, separate process that runs the whole
command from the start (config, database, migrations, scheduler) and can be
SIGKILLed like any other; only the imported modules are shared.

Protocol, one JSON object a line on stdin, one answer a line on stdout:
`{"start": [args…], "log": path, "env": {…}}` → `{"pid": n}`;
`{"wait": pid, "timeout": s}` → `{"code": exit status or -signal or null}`.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any

import bot.cli
import bot.service

_codes: dict[int, int] = {}


def _child(args: list[str], log: str, env: dict[str, str]) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    out = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(out, 2)
    os.environ.update(env)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    code = 1
    try:
        bot.cli.main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.stderr.flush()
        os._exit(code)


def _reap() -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _codes[pid] = os.waitstatus_to_exitcode(status)


def _answer(request: dict[str, Any]) -> dict[str, Any]:
    if "start" in request:
        pid = os.fork()
        if pid == 0:
            _child(request["start"], request["log"], request.get("env", {}))
        return {"pid": pid}
    deadline = time.monotonic() + float(request.get("timeout", 30))
    pid = int(request["wait"])
    while pid not in _codes and time.monotonic() < deadline:
        _reap()
        time.sleep(0.02)
    return {"code": _codes.get(pid)}


def main() -> None:
    for line in sys.stdin:
        _reap()
        print(json.dumps(_answer(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
