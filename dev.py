#!/usr/bin/env python3
"""Bootstrap for a fresh clone: needs only Python 3.11+.

    python3 dev.py run     # install into .venv, then `normwatch run` on config.toml
    python3 dev.py test    # install with the test tools, then run the test suite
    python3 dev.py lint    # ruff and mypy
    python3 dev.py ARGS    # anything else is passed to the `normwatch` command

It keeps everything in ./.venv and reinstalls only when pyproject.toml changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def _ensure_venv(extra: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs before any check
        sys.exit(
            f"normwatch needs Python 3.11 or newer; this is {sys.version.split()[0]}"
        )
    if not PY.exists():
        print("dev.py: creating .venv", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / f".installed-{extra or 'base'}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    target = f".[{extra}]" if extra else "."
    print(
        f"dev.py: installing normwatch{'[' + extra + ']' if extra else ''}",
        file=sys.stderr,
    )
    subprocess.run(
        [
            str(PY),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-e",
            target,
        ],
        cwd=ROOT,
        check=True,
    )
    stamp.write_text(digest)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "run"
    os.chdir(ROOT)
    if command == "test":
        _ensure_venv("dev")
        os.execv(PY, [str(PY), "-m", "pytest", *argv[1:]])
    if command == "lint":
        _ensure_venv("dev")
        rc = subprocess.call([str(PY), "-m", "ruff", "check", "."])
        rc |= subprocess.call([str(PY), "-m", "ruff", "format", "--check", "."])
        rc |= subprocess.call([str(PY), "-m", "mypy"])
        return rc
    _ensure_venv("")
    # exec, so Ctrl-C and SIGTERM reach normwatch itself and nothing is left behind
    os.execv(BIN / "normwatch", [str(BIN / "normwatch"), *(argv or ["run"])])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
