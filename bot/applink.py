"""The Slack app's Socket Mode link, kept up from `normwatch run`.

A bot that starts while Slack or the network is down must not run without
its slash command and buttons until someone restarts it: such a failure is
tried again, 30 s later, then 1, 2, 4 … 30 min apart. A token Slack refuses
is not: that needs the operator, and the log says so once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot.config import slack_app_token, slack_token
from bot.runtime import Runtime

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

log = logging.getLogger("normwatch.run")

FIRST_RETRY = 30.0
MAX_RETRY = 1800.0

# Slack's answers that say the token itself is wrong: trying again cannot help.
REFUSALS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "not_allowed_token_type",
        "missing_scope",
        "no_permission",
    }
)

Starter = Callable[[Runtime, str, str], "SocketModeHandler"]


def _start(rt: Runtime, bot_token: str, app_token: str) -> SocketModeHandler:
    from bot.slackapp import start_app  # slack-bolt loads only when the app is used

    return start_app(rt, bot_token, app_token)


def refused(exc: Exception) -> bool:
    """Whether Slack refused the token (as opposed to not being reachable)."""
    if isinstance(exc, SlackApiError):
        data: Any = getattr(exc.response, "data", None)
        return isinstance(data, dict) and data.get("error") in REFUSALS
    # slack-bolt checks the bot token first (auth.test) and raises its own
    # BoltError, with Slack's answer only in the message.
    return type(exc).__name__ == "BoltError" and any(
        f"'{code}'" in str(exc) for code in REFUSALS
    )


class AppLink:
    """The Socket Mode handler, or why there is none and when to try again.

    `on_change(connected)` runs after every attempt: the drainer puts buttons
    on alerts only while the app is there to take the clicks."""

    def __init__(
        self,
        rt: Runtime,
        *,
        on_change: Callable[[bool], None] = lambda connected: None,
        start: Starter | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rt = rt
        self.on_change = on_change
        self.start = start or _start
        self.clock = clock
        self.handler: SocketModeHandler | None = None
        self.failures = 0
        self.retry_at: float | None = None
        # The scheduler's thread may be connecting while shutdown closes.
        self._lock = threading.Lock()
        self._closed = False

    def connect(self) -> None:
        """Connect now if both tokens are set; on a failure that may pass,
        plan the next try (`retry_if_due` makes it)."""
        with self._lock:
            if not self._closed:
                self._connect()

    def _connect(self) -> None:
        self.retry_at = None
        token, app_token = slack_token(), slack_app_token()
        if not app_token:
            return
        if not token:
            log.warning(
                "app: SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not; the app "
                "needs both"
            )
            return
        try:
            self.handler = self.start(self.rt, token, app_token)
        except Exception as exc:  # a refused token, no network: alerts still go out
            self._failed(exc)
        else:
            if self.failures:
                log.info(
                    "app: connected to Slack after %d failed attempts; alerts carry "
                    "buttons again",
                    self.failures,
                )
            self.failures = 0
        self.on_change(self.handler is not None)

    def _failed(self, exc: Exception) -> None:
        # The message only: a traceback would bury the one line the operator
        # needs. (The log formatter hides tokens and URL passwords, such as a
        # proxy's, should slack-sdk's message carry one.)
        why = f"{type(exc).__name__}: {str(exc)[:200]}"
        if refused(exc):
            log.error(
                "app: Slack refused the app (%s); check SLACK_APP_TOKEN (xapp-…, "
                "scope connections:write) and SLACK_BOT_TOKEN, then restart. Alerts "
                "still go out, without buttons.",
                why,
            )
            return
        self.failures += 1
        wait = min(MAX_RETRY, FIRST_RETRY * 2 ** (self.failures - 1))
        self.retry_at = self.clock() + wait
        log.error(
            "app: cannot connect to Slack over Socket Mode (%s); trying again in "
            "%d s. Alerts still go out, without buttons until then.",
            why,
            wait,
        )

    def retry_if_due(self) -> None:
        """The scheduler's tick: the planned retry, once its time has come."""
        if (
            self.handler is None
            and self.retry_at is not None
            and self.clock() >= self.retry_at
        ):
            self.connect()

    def close(self) -> None:
        """Disconnect, after any attempt in progress; no attempt after this."""
        with self._lock:
            self._closed = True
            if self.handler is not None:
                self.handler.close()  # type: ignore[no-untyped-call]
                self.handler = None
