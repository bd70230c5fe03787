"""Log lines for people (text) or for log collectors (JSON), never with a secret.

`--log-format json` writes one JSON object a line: `time` (UTC, ISO 8601),
`level`, `logger`, `message`, and `exception` when there is one. Whatever
the format, every line passes through `hide_secrets`: the Slack tokens, the
webhook URL, the web page's secret and the database password are replaced
by `[redacted]` wherever they appear (a library's debug output included),
and so is anything shaped like a Slack token.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
from datetime import UTC, datetime

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

REDACTED = "[redacted]"
SECRET_ENV = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_WEBHOOK_URL",
    "NORMWATCH_WEB_SECRET",
)
# Slack bot, user, app and refresh tokens, whoever's they are.
_TOKEN_SHAPE = re.compile(r"\bx(?:ox[abprse]|app)-[A-Za-z0-9-]{6,}")
# A password in any URL (a proxy's in a library's error, a database's):
# scheme://user:password@host keeps the user and hides the password.
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+@")
NOISY = ("httpx", "httpcore", "apscheduler", "alembic", "slack_sdk", "slack_bolt")


def _secrets() -> list[str]:
    found = [os.environ.get(name, "") for name in SECRET_ENV]
    url = os.environ.get("NORMWATCH_DATABASE_URL", "")
    if url:
        with contextlib.suppress(ArgumentError, ValueError):
            found.append(make_url(url).password or "")
    # Longest first, so a secret containing another is hidden whole.
    return sorted((s for s in found if len(s) >= 4), key=len, reverse=True)


def hide_secrets(text: str) -> str:
    """text with every known secret, every Slack-token-shaped word and every
    password in a URL hidden."""
    for secret in _secrets():
        text = text.replace(secret, REDACTED)
    text = _URL_PASSWORD.sub(rf"\1{REDACTED}@", text)
    return _TOKEN_SHAPE.sub(REDACTED, text)


class _Text(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"
        )

    def format(self, record: logging.LogRecord) -> str:
        return hide_secrets(super().format(record))


class _Json(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return hide_secrets(json.dumps(line, ensure_ascii=False))


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler normwatch installed, so a second call replaces it."""


def setup_logging(*, verbose: bool, fmt: str = "text") -> None:
    """Log to the current stderr in `fmt` ("text" or "json")."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(handler)
    handler = _OurHandler(sys.stderr)  # the current stderr, whoever set it
    handler.setFormatter(_Json() if fmt == "json" else _Text())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
    # "Skipped: maximum number of running instances reached" means a step
    # outlasted its tick; the next tick takes over, so it is no warning.
    logging.getLogger("apscheduler.scheduler").setLevel(
        logging.DEBUG if verbose else logging.ERROR
    )
