"""Fetching feeds over HTTP with one shared httpx client.

Building the request (validators, headers) and reading the response
(`is_modified`, `retry_after`) are small separate steps; every outcome is a
`FetchResult` value, so a slow or broken feed never stops the others.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit
from urllib.request import getproxies

import httpx

from feeds.entry import FetchResult, FetchTarget
from feeds.transport import LeanTransport

MAX_BODY_BYTES = 10 * 1024 * 1024
# A whole fetch, however the server trickles its bytes; httpx's timeouts are per read.
DEADLINE_SECONDS = 60.0
MAX_RETRY_AFTER = 6 * 3600.0
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class FetchLimits:
    """How hard and how long to try: the `[fetch]` table of the config."""

    concurrency: int = 64  # connections in flight, all hosts together
    per_host: int = 4  # connections in flight to one host: be polite
    connect_timeout: float = 10.0
    read_timeout: float = 20.0  # silence between two reads
    deadline: float = DEADLINE_SECONDS  # one whole fetch, however it trickles
    max_body: int = MAX_BODY_BYTES


def size_words(size: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"


def user_agent(version: str, contact: str = "") -> str:
    suffix = f"; {contact}" if contact else ""
    return f"normwatch/{version} (+https://github.com/normwatch/normwatch{suffix})"


def request_headers(target: FetchTarget) -> dict[str, str]:
    """Conditional-GET validators, sent back exactly as the server gave them."""
    headers = {
        "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.8"
    }
    if target.etag:
        headers["If-None-Match"] = target.etag
    if target.last_modified:
        headers["If-Modified-Since"] = target.last_modified
    return headers


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


class _FeedCookies(httpx.Cookies):
    """httpx reads each response's cookies by wrapping it, and its request, in
    the standard library's urllib and email-message objects: a tenth of a
    304's cost. Most feeds set no cookie, so look for Set-Cookie first."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


def make_client(agent: str, limits: FetchLimits | None = None) -> httpx.AsyncClient:
    """The one client of a cycle. Its transport is feeds.transport's lean one,
    unless the environment names a proxy: then httpx's own, which speaks to it."""
    limits = limits or FetchLimits()
    transport = None
    if not any(getproxies().get(k) for k in ("http", "https", "all")):
        transport = LeanTransport(max_idle_per_host=max(limits.per_host, 1))
    client = httpx.AsyncClient(
        transport=transport,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        timeout=httpx.Timeout(limits.read_timeout, connect=limits.connect_timeout),
        limits=httpx.Limits(
            max_connections=limits.concurrency,
            max_keepalive_connections=limits.concurrency,
        ),
        headers={"User-Agent": agent},
    )
    # The `cookies` setter would copy the jar into a plain httpx.Cookies.
    client._cookies = _FeedCookies()
    return client


def _describe(exc: Exception, limits: FetchLimits) -> str:
    """An error an operator can act on, in one line."""
    if isinstance(exc, httpx.ConnectTimeout):
        return f"timed out after {limits.connect_timeout:g} s while connecting"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {limits.read_timeout:g} s waiting for the server"
    if isinstance(exc, httpx.TooManyRedirects):
        return f"too many redirects (more than {MAX_REDIRECTS})"
    if isinstance(exc, httpx.ConnectError):
        detail = str(exc).split("]")[-1].strip()
        return f"cannot connect: {detail}" if detail else "cannot connect"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"the server broke the connection: {exc}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def fetch_one(
    client: httpx.AsyncClient,
    target: FetchTarget,
    *,
    limits: FetchLimits | None = None,
    max_bytes: int | None = None,
    deadline: float | None = None,
) -> FetchResult:
    limits = limits or FetchLimits()
    deadline = limits.deadline if deadline is None else deadline
    started = time.perf_counter()
    try:
        async with asyncio.timeout(deadline):
            outcome = await _get(client, target, max_bytes or limits.max_body)
    except TimeoutError:
        outcome = FetchResult(
            url=target.url,
            status="error",
            error=f"no complete answer within {deadline:g} s",
        )
    except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
        outcome = FetchResult(
            url=target.url, status="error", error=_describe(exc, limits)
        )
    return replace(outcome, elapsed=time.perf_counter() - started)


async def _get(
    client: httpx.AsyncClient, target: FetchTarget, max_bytes: int
) -> FetchResult:
    async with client.stream(
        "GET", target.url, headers=request_headers(target)
    ) as response:
        headers = {k.lower(): v for k, v in response.headers.items()}
        seen = FetchResult(
            url=target.url,
            status="error",
            http_status=response.status_code,
            headers=headers,
            final_url=str(response.url),
            moved_to=_moved_to(response),
        )
        if response.status_code == 304 or response.status_code >= 400:
            await _drain(response)
        if response.status_code == 304:
            return replace(seen, status="not_modified")
        if response.status_code >= 400:
            return replace(
                seen,
                error=f"HTTP {response.status_code} {response.reason_phrase}".strip(),
                retry_after=retry_after(headers.get("retry-after")),
            )
        chunks: list[bytes] = []
        size = 0
        # Counted while streaming: a body that never ends is cut, not buffered.
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                return replace(
                    seen, error=f"body larger than {size_words(max_bytes)}; not read"
                )
            chunks.append(chunk)
        return replace(seen, status="ok", body=b"".join(chunks))


async def _drain(response: httpx.Response, limit: int = 64 * 1024) -> None:
    """Read a small unwanted body to its end, so the connection can be reused
    for the next feed on that host; a large one is dropped with its connection."""
    size = 0
    async for chunk in response.aiter_raw():
        size += len(chunk)
        if size > limit:
            return


def _moved_to(response: httpx.Response) -> str | None:
    """The final URL when every redirect on the way was permanent (301/308)."""
    hops = response.history
    if hops and all(hop.status_code in (301, 308) for hop in hops):
        return str(response.url)
    return None


def host_of(url: str) -> str:
    """The host a URL names, lower case, for the per-host gate (the URL itself if none)."""
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


async def fetch_stream(
    targets: Iterable[FetchTarget],
    *,
    agent: str,
    limits: FetchLimits | None = None,
    client: httpx.AsyncClient | None = None,
) -> AsyncIterator[FetchResult]:
    """Fetch every target concurrently; yield each result as soon as it is in.

    Two gates: one for all connections, one per host, so a site with many
    feeds is asked politely while the other sites go on in parallel.
    """
    limits = limits or FetchLimits()
    gate = asyncio.Semaphore(limits.concurrency)
    per_host: dict[str, asyncio.Semaphore] = defaultdict(
        lambda: asyncio.Semaphore(limits.per_host)
    )
    own_client = client is None
    http = client or make_client(agent, limits)

    async def bounded(target: FetchTarget) -> FetchResult:
        async with per_host[host_of(target.url)], gate:
            return await fetch_one(http, target, limits=limits)

    tasks = [asyncio.ensure_future(bounded(t)) for t in targets]
    try:
        for next_done in asyncio.as_completed(tasks):
            yield await next_done
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if own_client:
            await http.aclose()


async def fetch_all(
    targets: Iterable[FetchTarget],
    *,
    agent: str,
    limits: FetchLimits | None = None,
    client: httpx.AsyncClient | None = None,
) -> list[FetchResult]:
    """Fetch every target concurrently; results come back in the targets' order."""
    wanted = list(targets)
    by_url = {
        r.url: r
        async for r in fetch_stream(wanted, agent=agent, limits=limits, client=client)
    }
    return [by_url[t.url] for t in wanted]
