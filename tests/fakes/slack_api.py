"""A local stand-in for the Slack Web API, good enough for slack_sdk's WebClient.

Point ``WebClient(token=..., base_url=fake.url)`` at it. Like real Slack it
answers API errors with HTTP 200 and ``{"ok": false, "error": ...}``, so the
client's own error handling is exercised, not bypassed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.background import BackgroundServer

Params = dict[str, Any]

# Form-encoded requests carry structured fields as JSON strings.
_JSON_FIELDS = frozenset({"blocks", "attachments", "metadata", "unfurls"})
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{8,}$")
# First ts handed out; later ones step by 100µs, so they sort as strings too.
_FIRST_TS_MICROS = 1_700_000_000_000_100
_TS_STEP_MICROS = 100

MAX_BLOCKS = 50
MAX_HEADER_TEXT = 150
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_MESSAGE_TEXT = 40_000


@dataclass(frozen=True)
class PostedMessage:
    """A message as stored by the fake (after any chat.update)."""

    channel: str  # as the caller sent it: an id or a name
    text: str | None
    blocks: list[dict[str, Any]]
    ts: str
    thread_ts: str | None = None
    unfurl_links: bool | None = None
    unfurl_media: bool | None = None
    raw: Params = field(default_factory=dict)
    channel_id: str = ""  # what Slack answers with; chat.update must match this


@dataclass
class _Failure:
    error: str
    status: int
    retry_after: int | None
    remaining: int


class SlackApiFailure(Exception):
    """Raised inside a method handler to answer ``ok: false``."""

    def __init__(self, error: str, *, details: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.details = details or []


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FakeSlack

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up before its answer was written is the client's
        # business, as with a real server; the default handler would print a
        # traceback into the stderr of the bot under test (seen once in CI).
        if isinstance(sys.exc_info()[1], ConnectionError):
            self.owner.hangups += 1
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server_version = "normwatch-fake-slack/1"

    def do_POST(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: object) -> None:
        # Quiet: the default writes every request to stderr.
        pass

    def _handle(self) -> None:
        owner = cast(_Server, self.server).owner
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        if split.path.startswith(("/response/", "/services/")):
            status, text, retry_after = owner._hook(split.path, raw_body)
            self._reply_text(status, text, retry_after)
            return
        # WebClient joins base_url and the method name, so the method is the last
        # path segment whether base_url ends in /api/ or just /.
        method = split.path.rsplit("/", 1)[-1]
        params: Params | None
        try:
            params = _parse_params(
                self.headers.get("Content-Type", ""), raw_body, split.query
            )
        except ValueError:
            params = None  # answered as invalid_form_data, after the auth check
        status, payload, headers = owner._dispatch(
            method, params, self.headers.get("Authorization")
        )
        self._reply(status, payload, headers)

    def _reply_text(self, status: int, text: str, retry_after: int | None) -> None:
        body = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        if retry_after is not None:
            self.send_header("Retry-After", str(retry_after))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _reply(
        self, status: int, payload: Params, headers: dict[str, str] | None = None
    ) -> None:
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _parse_params(content_type: str, body: bytes, query: str) -> Params:
    params: Params = dict(parse_qsl(query, keep_blank_values=True))
    mime = content_type.split(";", 1)[0].strip().lower()
    if body and mime == "application/json":
        decoded = json.loads(body.decode("utf-8"))
        if not isinstance(decoded, dict):
            raise ValueError("JSON body must be an object")
        params.update(decoded)
    elif body and mime in ("application/x-www-form-urlencoded", ""):
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    elif body:
        raise ValueError(f"unsupported content type {content_type!r}")
    for name in _JSON_FIELDS & params.keys():
        value = params[name]
        if isinstance(value, str) and value.strip():
            params[name] = json.loads(value)
    return params


def _as_bool(value: object) -> bool | None:
    # WebClient turns booleans into "1"/"0" in forms; JSON keeps true/false.
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true")
    return bool(value)


def _collect_text(node: object, out: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                out.append(value)
            else:
                _collect_text(value, out)
    elif isinstance(node, list):
        for item in node:
            _collect_text(item, out)


def _text_of(obj: object) -> str | None:
    if isinstance(obj, dict):
        text = obj.get("text")
        return text if isinstance(text, str) else None
    return None


def _validate_blocks(blocks: object) -> list[dict[str, Any]]:
    """Apply the Block Kit limits normwatch can plausibly hit; mimic Slack's errors."""
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        raise SlackApiFailure("invalid_blocks", details=["must be an array of objects"])
    problems: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        problems.append(
            f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]"
        )
    for i, block in enumerate(blocks):
        where = f"/blocks/{i}"
        kind = block.get("type")
        text = _text_of(block.get("text"))
        if not isinstance(kind, str):
            problems.append(f"missing required field: type [json-pointer:{where}]")
        elif kind == "header":
            if text is None:
                problems.append(f"missing required field: text [json-pointer:{where}]")
            elif len(text) > MAX_HEADER_TEXT:
                problems.append(
                    f"must be less than {MAX_HEADER_TEXT + 1} characters "
                    f"[json-pointer:{where}/text/text]"
                )
        elif kind == "section":
            fields = block.get("fields") or []
            if text is None and not fields:
                problems.append(f"must provide text or fields [json-pointer:{where}]")
            if text is not None and len(text) > MAX_SECTION_TEXT:
                problems.append(
                    f"must be less than {MAX_SECTION_TEXT + 1} characters "
                    f"[json-pointer:{where}/text/text]"
                )
            if len(fields) > MAX_SECTION_FIELDS:
                problems.append(
                    f"no more than {MAX_SECTION_FIELDS} items allowed "
                    f"[json-pointer:{where}/fields]"
                )
            for j, item in enumerate(fields):
                item_text = _text_of(item) or ""
                if len(item_text) > MAX_FIELD_TEXT:
                    problems.append(
                        f"must be less than {MAX_FIELD_TEXT + 1} characters "
                        f"[json-pointer:{where}/fields/{j}/text]"
                    )
    if problems:
        raise SlackApiFailure("invalid_blocks", details=problems)
    return cast(list[dict[str, Any]], blocks)


class FakeSlack(BackgroundServer):
    """Slack Web API double on 127.0.0.1, served from a daemon thread.

    Implements auth.test, chat.postMessage, chat.update and conversations.join,
    plus the two plain URLs Slack hands out: a slash command's ``response_url``
    (``/response/…``) and an incoming webhook (``/services/…``). Everything
    received is recorded (``calls``, ``messages``, ``updates``, ``responses``).

    Like Slack, chat.postMessage (and a webhook) takes about one message a
    second per channel after a short burst: a leaky bucket of ``burst``
    messages draining one per ``interval`` seconds, HTTP 429 with
    ``Retry-After`` beyond it. ``clock`` (monotonic seconds) is injectable so
    tests can move time instead of waiting; a call that arrives before the
    ``Retry-After`` it was given is counted in ``early_calls``.
    """

    thread_name = "FakeSlack"

    def __init__(
        self,
        token: str = "xoxb-test-token",
        host: str = "127.0.0.1",
        *,
        burst: int | None = 10,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self._host = host
        self.burst, self.interval, self.clock = burst, interval, clock
        # channel id -> (messages in the bucket, when it was last drained)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._retry_at: dict[str, float] = {}
        self.early_calls: list[tuple[str, float]] = []
        self.rate_limited = 0
        self.hangups = 0  # answers the client hung up before receiving
        self._down_until: float | None = None
        self._hangs: dict[str, tuple[float, int]] = {}
        self._responses: list[tuple[str, Params]] = []
        self._lock = threading.RLock()
        self._messages: list[PostedMessage] = []
        self._updates: list[PostedMessage] = []
        self._calls: list[tuple[str, Params]] = []
        self._failures: dict[str, _Failure] = {}
        self._failing_channels: dict[str, str] = {}
        self._down = False
        self._next_ts = _FIRST_TS_MICROS
        super().__init__()
        self._methods: dict[str, Callable[[Params], Params]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "conversations.join": self._conversations_join,
        }

    # -- lifecycle -------------------------------------------------------------

    def make_server(self) -> _Server:
        httpd = _Server((self._host, 0), _Handler)
        httpd.owner = self
        return httpd

    @property
    def url(self) -> str:
        """Base URL for ``WebClient(base_url=...)``; ends with a slash like Slack's."""
        httpd = self._httpd
        if httpd is None:
            raise RuntimeError("FakeSlack is not started")
        return f"http://{self._host}:{httpd.server_address[1]}/api/"

    # -- failure injection -----------------------------------------------------

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with ``status``/``error``.

        A 429 also carries ``Retry-After: retry_after`` (seconds), which
        slack_sdk's RateLimitErrorRetryHandler sleeps for.
        """
        with self._lock:
            self._failures[method] = _Failure(
                error, status, retry_after if status == 429 else None, times
            )

    def fail_channel(self, channel: str, error: str = "channel_not_found") -> None:
        """Every chat.postMessage to ``channel`` (name or id) answers ok=false."""
        with self._lock:
            self._failing_channels[self.channel_id(channel)] = error

    def down_for(self, seconds: float) -> None:
        """Answer HTTP 503 to every call for ``seconds`` of the fake's clock."""
        with self._lock:
            self._down_until = self.clock() + seconds

    def hang_next(self, method: str, seconds: float, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` sleep ``seconds`` (real time)
        and are then dropped unprocessed: a client with a shorter timeout sees
        a timeout, and Slack never saw the message."""
        with self._lock:
            self._hangs[method] = (seconds, times)

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()
            self._failing_channels.clear()
            self._hangs.clear()
            self._down = False
            self._down_until = None

    def set_down(self, down: bool = True) -> None:
        """While down, every call answers HTTP 503."""
        with self._lock:
            self._down = down

    # -- inspection ------------------------------------------------------------

    @property
    def messages(self) -> list[PostedMessage]:
        """Snapshot of posted messages in post order, reflecting later updates."""
        with self._lock:
            return list(self._messages)

    @property
    def updates(self) -> list[PostedMessage]:
        """Snapshot of each successful chat.update: the message as it became."""
        with self._lock:
            return list(self._updates)

    @property
    def calls(self) -> list[tuple[str, Params]]:
        """Every request received, failed or not, as (method, params)."""
        with self._lock:
            return list(self._calls)

    @property
    def responses(self) -> list[tuple[str, Params]]:
        """What was posted to response URLs and webhooks: (path, JSON body)."""
        with self._lock:
            return list(self._responses)

    def response_url(self, name: str = "1") -> str:
        """A slash command's or a button's ``response_url`` served by this fake."""
        httpd = self._httpd
        if httpd is None:
            raise RuntimeError("FakeSlack is not started")
        return f"http://{self._host}:{httpd.server_address[1]}/response/T1/{name}"

    def webhook_url(self, channel: str = "#alerts") -> str:
        """An incoming-webhook URL that posts to ``channel``."""
        httpd = self._httpd
        if httpd is None:
            raise RuntimeError("FakeSlack is not started")
        name = channel.lstrip("#")
        return f"http://{self._host}:{httpd.server_address[1]}/services/T1/B1/{name}"

    def texts(self) -> list[str]:
        """Each message's visible text: top-level text, then text inside blocks."""
        result: list[str] = []
        for message in self.messages:
            parts = [message.text] if message.text else []
            _collect_text(message.blocks, parts)
            result.append("\n".join(parts))
        return result

    @staticmethod
    def channel_id(channel: str) -> str:
        """The stable fake id Slack would answer for ``channel`` (ids map to self)."""
        if _CHANNEL_ID.match(channel):
            return channel
        name = channel.lstrip("#")
        return "C" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:10].upper()

    # -- request handling (server threads) -------------------------------------

    def _is_down(self) -> bool:
        return self._down or (
            self._down_until is not None and self.clock() < self._down_until
        )

    def _hang(self, method: str) -> bool:
        with self._lock:
            hang = self._hangs.get(method)
            if hang is None:
                return False
            seconds, times = hang
            if times <= 1:
                del self._hangs[method]
            else:
                self._hangs[method] = (seconds, times - 1)
        time.sleep(seconds)  # outside the lock: other calls go on meanwhile
        return True

    def _take_slot(self, channel_id: str) -> float | None:
        """None when the channel may take a message now, else seconds to wait."""
        now = self.clock()
        retry_at = self._retry_at.get(channel_id)
        if retry_at is not None and now < retry_at:
            self.early_calls.append((channel_id, now))
        if self.burst is None:
            return None
        level, then = self._buckets.get(channel_id, (0.0, now))
        level = max(0.0, level - (now - then) / self.interval)
        if level + 1 <= self.burst:
            self._buckets[channel_id] = (level + 1, now)
            return None
        self._buckets[channel_id] = (level, now)
        wait = (level + 1 - self.burst) * self.interval
        self._retry_at[channel_id] = now + math.ceil(wait)
        self.rate_limited += 1
        return wait

    def _dispatch(
        self, method: str, params: Params | None, authorization: str | None
    ) -> tuple[int, Params, dict[str, str]]:
        if self._hang(method):
            with self._lock:
                self._calls.append((method, params if params is not None else {}))
            return 503, {"ok": False, "error": "timed_out"}, {}
        with self._lock:
            self._calls.append((method, params if params is not None else {}))
            if self._is_down():
                return 503, {"ok": False, "error": "service_unavailable"}, {}
            auth_error = self._check_auth(authorization)
            if auth_error is not None:
                return 200, {"ok": False, "error": auth_error}, {}
            if params is None:
                return 200, {"ok": False, "error": "invalid_form_data"}, {}
            failure = self._failures.get(method)
            if failure is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    del self._failures[method]
                headers = {}
                if failure.retry_after is not None:
                    headers["Retry-After"] = str(failure.retry_after)
                return failure.status, {"ok": False, "error": failure.error}, headers
            handler = self._methods.get(method)
            if handler is None:
                return 200, {"ok": False, "error": "unknown_method"}, {}
            if method == "chat.postMessage" and isinstance(params.get("channel"), str):
                wait = self._take_slot(self.channel_id(params["channel"]))
                if wait is not None:
                    headers = {"Retry-After": str(max(1, math.ceil(wait)))}
                    return 429, {"ok": False, "error": "ratelimited"}, headers
            try:
                return 200, {"ok": True, **handler(params)}, {}
            except SlackApiFailure as failed:
                payload: Params = {"ok": False, "error": failed.error}
                if failed.details:
                    payload["errors"] = failed.details
                    payload["response_metadata"] = {
                        "messages": [f"[ERROR] {d}" for d in failed.details]
                    }
                return 200, payload, {}

    def _hook(self, path: str, body: bytes) -> tuple[int, str, int | None]:
        """A response_url or incoming-webhook POST: JSON in, plain text out."""
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return 400, "invalid_payload", None
        if not isinstance(payload, dict):
            return 400, "invalid_payload", None
        with self._lock:
            self._calls.append((path, payload))
            if self._is_down():
                return 503, "service_unavailable", None
            try:
                text, blocks = self._message_content(payload)
            except SlackApiFailure as failed:
                return 400, failed.error, None
            if not text and not blocks:
                return 400, "no_text", None
            self._responses.append((path, payload))
            if path.startswith("/services/"):
                channel = "#" + path.rsplit("/", 1)[-1]
                wait = self._take_slot(self.channel_id(channel))
                if wait is not None:
                    self._responses.pop()
                    return 429, "rate_limited", max(1, math.ceil(wait))
                self._messages.append(
                    PostedMessage(
                        channel=channel,
                        text=text,
                        blocks=blocks or [],
                        ts=self._take_ts(),
                        unfurl_links=_as_bool(payload.get("unfurl_links")),
                        unfurl_media=_as_bool(payload.get("unfurl_media")),
                        raw=dict(payload),
                        channel_id=self.channel_id(channel),
                    )
                )
        return 200, "ok", None

    def _check_auth(self, authorization: str | None) -> str | None:
        if not authorization:
            return "not_authed"
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or credentials.strip() != self.token:
            return "invalid_auth"
        return None

    def _take_ts(self) -> str:
        micros = self._next_ts
        self._next_ts += _TS_STEP_MICROS
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    @staticmethod
    def _message_payload(message: PostedMessage) -> Params:
        payload: Params = {
            "type": "message",
            "user": "UBOT",
            "bot_id": "B1",
            "text": message.text or "",
            "ts": message.ts,
        }
        if message.blocks:
            payload["blocks"] = message.blocks
        if message.thread_ts:
            payload["thread_ts"] = message.thread_ts
        return payload

    def _auth_test(self, params: Params) -> Params:
        return {
            "user_id": "UBOT",
            "team_id": "T1",
            "bot_id": "B1",
            "url": "https://fake.slack.com/",
        }

    def _require_channel(self, params: Params) -> str:
        channel = params.get("channel")
        if not isinstance(channel, str) or not channel.strip():
            raise SlackApiFailure("channel_not_found")
        return channel

    def _message_content(
        self, params: Params
    ) -> tuple[str | None, list[dict[str, Any]] | None]:
        text = params.get("text")
        if text is not None and not isinstance(text, str):
            text = str(text)
        if text is not None and len(text) > MAX_MESSAGE_TEXT:
            raise SlackApiFailure("msg_too_long")
        blocks = params.get("blocks")
        return text, (None if blocks is None else _validate_blocks(blocks))

    def _chat_post_message(self, params: Params) -> Params:
        channel = self._require_channel(params)
        channel_id = self.channel_id(channel)
        if channel_id in self._failing_channels:
            raise SlackApiFailure(self._failing_channels[channel_id])
        text, blocks = self._message_content(params)
        # Slack accepts attachments alone too; anything else is "no_text".
        if not text and not blocks and not params.get("attachments"):
            raise SlackApiFailure("no_text")
        thread_ts = params.get("thread_ts")
        message = PostedMessage(
            channel=channel,
            text=text,
            blocks=blocks or [],
            ts=self._take_ts(),
            thread_ts=str(thread_ts) if thread_ts else None,
            unfurl_links=_as_bool(params.get("unfurl_links")),
            unfurl_media=_as_bool(params.get("unfurl_media")),
            raw=dict(params),
            channel_id=channel_id,
        )
        self._messages.append(message)
        return {
            "channel": channel_id,
            "ts": message.ts,
            "message": self._message_payload(message),
        }

    def _chat_update(self, params: Params) -> Params:
        channel_id = self.channel_id(self._require_channel(params))
        ts = str(params.get("ts") or "")
        index = next(
            (
                i
                for i, m in enumerate(self._messages)
                if m.channel_id == channel_id and m.ts == ts
            ),
            None,
        )
        if index is None:
            raise SlackApiFailure("message_not_found")
        text, blocks = self._message_content(params)
        old = self._messages[index]
        # Replace rather than mutate, so snapshots already handed out stay valid.
        new = dataclasses.replace(
            old,
            text=old.text if text is None else text,
            blocks=old.blocks if blocks is None else blocks,
            raw=dict(params),
        )
        self._messages[index] = new
        self._updates.append(new)
        return {
            "channel": channel_id,
            "ts": ts,
            "text": new.text or "",
            "message": self._message_payload(new),
        }

    def _conversations_join(self, params: Params) -> Params:
        channel = self._require_channel(params)
        channel_id = self.channel_id(channel)
        name = channel.lstrip("#") if channel_id != channel else channel_id.lower()
        return {
            "channel": {
                "id": channel_id,
                "name": name,
                "is_channel": True,
                "is_member": True,
            }
        }
