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
from slack_sdk.webhook import WebhookClient

from bot.alert import RenderedAlert

log = logging.getLogger("normwatch.slack")
# slack-sdk's webhook client logs each request's URL at DEBUG, and that URL is
# the webhook's secret: its own logger stays at INFO even with --verbose.
_webhook_log = logging.getLogger("normwatch.slack.webhook")
_webhook_log.setLevel(logging.INFO)

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
# How often a channel waiting for a person is tried again (quietly).
PERMANENT_WAIT = 300.0


@dataclass(frozen=True)
class Delivery:
    ok: bool
    channel_id: str | None = None
    ts: str | None = None  # None from an incoming webhook: it gives none
    error: str | None = None
    wait: float = 0.0
    permanent: bool = False  # a person must fix something (token, channel)
    undeliverable: bool = False  # Slack refuses this message whatever we do
    transient: bool = False  # 5xx, timeout, network: retry with growing waits
    code: str = ""  # Slack's error code, e.g. not_in_channel


class Pacer:
    """At most one message per `min_interval` seconds per channel (Slack's
    "about one a second"); sleeps the difference."""

    def __init__(
        self,
        min_interval: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.min_interval = min_interval
        self._clock, self._sleep = clock, sleep
        self._last_post: dict[str, float] = {}

    def wait(self, channel: str) -> None:
        last = self._last_post.get(channel)
        if last is not None:
            wait = self.min_interval - (self._clock() - last)
            if wait > 0:
                self._sleep(wait)
        self._last_post[channel] = self._clock()


class SlackPoster:
    """Posts rendered alerts, at most one message a second per channel."""

    def __init__(
        self,
        token: str,
        *,
        api_url: str,
        unfurl_links: bool = False,
        min_interval: float = 1.0,
        timeout: int = 30,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = WebClient(
            token=token,
            base_url=api_url,
            timeout=timeout,
            retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=2)],
        )
        self.unfurl_links = unfurl_links
        self._pacer = Pacer(min_interval, clock, sleep)

    def post(
        self, channel: str, alert: RenderedAlert, *, thread_ts: str | None = None
    ) -> Delivery:
        """Post a message; with `thread_ts`, as a reply in that message's thread."""
        self._pacer.wait(channel)
        try:
            response = self.client.chat_postMessage(
                channel=channel,
                text=alert.text,
                blocks=alert.blocks,
                thread_ts=thread_ts,
                unfurl_links=self.unfurl_links,
                unfurl_media=self.unfurl_links,
            )
        except SlackApiError as exc:
            return _from_api_error(exc)
        except (SlackClientError, OSError) as exc:
            return _unreachable(exc)
        return Delivery(
            ok=True,
            channel_id=str(response.get("channel") or channel),
            ts=str(response["ts"]),
        )

    def update(self, channel_id: str, ts: str, alert: RenderedAlert) -> Delivery:
        """Replace a posted message (chat.update needs the channel's id)."""
        self._pacer.wait(channel_id)
        try:
            response = self.client.chat_update(
                channel=channel_id, ts=ts, text=alert.text, blocks=alert.blocks
            )
        except SlackApiError as exc:
            return _from_api_error(exc)
        except (SlackClientError, OSError) as exc:
            return _unreachable(exc)
        return Delivery(ok=True, channel_id=channel_id, ts=str(response["ts"]))

    def post_text(self, channel: str, text: str) -> Delivery:
        """A plain operational message (not an alert): no pacing, no blocks."""
        try:
            response = self.client.chat_postMessage(channel=channel, text=text)
        except SlackApiError as exc:
            return _from_api_error(exc)
        except (SlackClientError, OSError) as exc:
            return _unreachable(exc)
        return Delivery(
            ok=True, channel_id=str(response.get("channel")), ts=str(response["ts"])
        )


class WebhookPoster:
    """Posts to one incoming webhook: alerts only (no ts, so no threads or
    updates; no buttons). The webhook fixes the channel; `channel` is ignored."""

    def __init__(
        self,
        url: str,
        *,
        unfurl_links: bool = False,
        min_interval: float = 1.0,
        timeout: int = 30,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = WebhookClient(url, timeout=timeout, logger=_webhook_log)
        self.unfurl_links = unfurl_links
        self._pacer = Pacer(min_interval, clock, sleep)

    def post(self, channel: str, alert: RenderedAlert) -> Delivery:
        self._pacer.wait("webhook")  # one webhook is one channel
        try:
            response = self.client.send(
                text=alert.text,
                blocks=alert.blocks or None,
                unfurl_links=self.unfurl_links,
                unfurl_media=self.unfurl_links,
            )
        except (SlackClientError, OSError) as exc:
            return _unreachable(exc)
        if response.status_code == 200:
            return Delivery(ok=True, channel_id=channel)
        code = (response.body or "").strip()[:100] or f"HTTP {response.status_code}"
        if response.status_code == 429:
            header = response.headers.get("Retry-After") or response.headers.get(
                "retry-after"
            )
            return _rate_limited(header)
        if response.status_code >= 500:
            return Delivery(ok=False, error=f"slack: {code}", transient=True, code=code)
        hint = WEBHOOK_PERMANENT.get(code)
        if hint:
            return Delivery(
                ok=False,
                error=f"slack: {code}: {hint}",
                wait=PERMANENT_WAIT,
                permanent=True,
                code=code,
            )
        # invalid_blocks and the like: the drainer falls back to plain text.
        return Delivery(ok=False, error=f"slack: {code}", wait=60.0, code=code)

    def post_text(self, channel: str, text: str) -> Delivery:
        return self.post(channel, RenderedAlert(text=text, blocks=[]))


WEBHOOK_PERMANENT = {
    "no_service": "the incoming webhook was removed; create a new one and update SLACK_WEBHOOK_URL",
    "no_active_hooks": "the incoming webhook was disabled; update SLACK_WEBHOOK_URL",
    "channel_not_found": "the webhook's channel is gone; create a new webhook",
    "channel_is_archived": "the webhook's channel is archived",
    "invalid_token": "the incoming webhook URL is not valid; check SLACK_WEBHOOK_URL",
    "action_prohibited": "a workspace admin blocked the webhook",
}


def _unreachable(exc: BaseException) -> Delivery:
    # A timeout is ambiguous (Slack may have taken the message); see docs/design.md.
    return Delivery(
        ok=False,
        error=f"slack: cannot reach Slack: {type(exc).__name__}: {exc}"[:300],
        transient=True,
        code=type(exc).__name__,
    )


def _rate_limited(header: str | list[str] | None) -> Delivery:
    try:
        wait = (
            float(header[0] if isinstance(header, list) else header) if header else 1.0
        )
    except ValueError:
        wait = 1.0
    return Delivery(
        ok=False,
        error=f"slack: rate limited; retrying in {wait:.0f}s",
        wait=wait,
        code="ratelimited",
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
        return _rate_limited(header)
    if code in PERMANENT:
        return Delivery(
            ok=False,
            error=f"slack: {code}: {PERMANENT[code]}",
            wait=PERMANENT_WAIT,
            permanent=True,
            code=code,
        )
    if status >= 500 or code in {
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
    }:
        return Delivery(
            ok=False, error=f"slack: {code} (HTTP {status})", transient=True, code=code
        )
    return Delivery(ok=False, error=f"slack: {code}", wait=60.0, code=code)


Poster = SlackPoster | WebhookPoster
