"""Posting alerts to Slack with slack-sdk's WebClient.

`api_url` from the config is the client's `base_url`: Slack's own by default,
GovSlack or a local fake otherwise. Errors become values: a `Delivery` says
whether Slack took the message and, if not, how long to wait and whether a
person has to fix something first (a wrong token, a missing channel).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from bot.alert import RenderedAlert

log = logging.getLogger("normwatch.slack")

# Errors a retry cannot fix; the alert waits until a person fixes the cause.
PERMANENT = {
    "channel_not_found": "the channel does not exist or the bot cannot see it; check [slack] channel",
    "not_in_channel": "the bot is not in the channel; invite it with /invite @normwatch",
    "is_archived": "the channel is archived",
    "invalid_auth": "the Slack token is not valid; check SLACK_BOT_TOKEN",
    "not_authed": "no Slack token was sent; set SLACK_BOT_TOKEN",
    "account_inactive": "the Slack app or its token was deactivated; reinstall the app",
    "token_revoked": "the Slack token was revoked; reinstall the app and update SLACK_BOT_TOKEN",
    "missing_scope": "the bot token lacks the chat:write scope",
    "invalid_blocks": "Slack rejected the message layout",
    "msg_too_long": "Slack rejected the message as too long",
    "msg_blocks_too_long": "Slack rejected the message blocks as too long",
    "no_text": "Slack found no text in the message",
}
PERMANENT_WAIT = 3600.0


@dataclass(frozen=True)
class Delivery:
    ok: bool
    channel_id: str | None = None
    ts: str | None = None
    error: str | None = None
    wait: float = 0.0
    permanent: bool = False  # a person must fix something (token, channel)
    undeliverable: bool = False  # Slack refuses this message whatever we do


class SlackPoster:
    """Posts rendered alerts, at most one message a second per channel."""

    def __init__(
        self,
        token: str,
        *,
        api_url: str,
        unfurl_links: bool = False,
        min_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = WebClient(
            token=token,
            base_url=api_url,
            timeout=30,
            retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=2)],
        )
        self.unfurl_links = unfurl_links
        self.min_interval = min_interval
        self._clock, self._sleep = clock, sleep
        self._last_post: dict[str, float] = {}

    def _pace(self, channel: str) -> None:
        last = self._last_post.get(channel)
        if last is not None:
            wait = self.min_interval - (self._clock() - last)
            if wait > 0:
                self._sleep(wait)
        self._last_post[channel] = self._clock()

    def post(self, channel: str, alert: RenderedAlert) -> Delivery:
        self._pace(channel)
        try:
            response = self.client.chat_postMessage(
                channel=channel,
                text=alert.text,
                blocks=alert.blocks,
                unfurl_links=self.unfurl_links,
                unfurl_media=self.unfurl_links,
            )
        except SlackApiError as exc:
            return _from_api_error(exc)
        except (SlackClientError, OSError) as exc:
            return Delivery(
                ok=False,
                error=f"slack: cannot reach the Slack API: {type(exc).__name__}: {exc}",
                wait=30.0,
            )
        return Delivery(
            ok=True,
            channel_id=str(response.get("channel") or channel),
            ts=str(response["ts"]),
        )

    def post_text(self, channel: str, text: str) -> Delivery:
        """A plain operational message (not an alert): no pacing, no blocks."""
        try:
            response = self.client.chat_postMessage(channel=channel, text=text)
        except SlackApiError as exc:
            return _from_api_error(exc)
        except (SlackClientError, OSError) as exc:
            return Delivery(ok=False, error=f"slack: cannot reach the Slack API: {exc}")
        return Delivery(
            ok=True, channel_id=str(response.get("channel")), ts=str(response["ts"])
        )


def _from_api_error(exc: SlackApiError) -> Delivery:
    status = exc.response.status_code
    code = (
        str(exc.response.get("error") or f"HTTP {status}")
        if exc.response.data
        else f"HTTP {status}"
    )
    if status == 429 or code in {"ratelimited", "rate_limited"}:
        header = exc.response.headers.get("Retry-After") or exc.response.headers.get(
            "retry-after"
        )
        wait = (
            float(header[0] if isinstance(header, list) else header) if header else 1.0
        )
        return Delivery(
            ok=False, error=f"slack: rate limited; retrying in {wait:.0f}s", wait=wait
        )
    if code in PERMANENT:
        return Delivery(
            ok=False,
            error=f"slack: {code}: {PERMANENT[code]}",
            wait=PERMANENT_WAIT,
            permanent=True,
        )
    return Delivery(ok=False, error=f"slack: {code}", wait=60.0)
