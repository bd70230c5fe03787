"""Fetching feeds over HTTP with one shared httpx client.

Building the request (validators, headers) and reading the response
(`is_modified`, `retry_after`) are small separate steps; every outcome is a
`FetchResult` value, so a slow or broken feed never stops the others.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from feeds.entry import FetchResult, FetchTarget

MAX_BODY_BYTES = 10 * 1024 * 1024
# A whole fetch, however the server trickles its bytes; httpx's timeouts are per read.
DEADLINE_SECONDS = 60.0
MAX_RETRY_AFTER = 6 * 3600.0
DEFAULT_CONCURRENCY = 16


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


def make_client(agent: str, *, timeout: float = 30.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        follow_redirects=True,
        max_redirects=5,
        timeout=httpx.Timeout(timeout, connect=10.0),
        headers={"User-Agent": agent},
    )


def _describe(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, httpx.TooManyRedirects):
        return "too many redirects (more than 5)"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {exc}" if str(exc) else "cannot connect"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def fetch_one(
    client: httpx.AsyncClient,
    target: FetchTarget,
    *,
    max_bytes: int = MAX_BODY_BYTES,
    deadline: float = DEADLINE_SECONDS,
) -> FetchResult:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(deadline):
            outcome = await _get(client, target, max_bytes)
    except TimeoutError:
        outcome = FetchResult(
            url=target.url,
            status="error",
            error=f"no complete answer within {deadline:.0f}s",
        )
    except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
        outcome = FetchResult(url=target.url, status="error", error=_describe(exc))
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
        )
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
                    seen, error=f"body larger than {max_bytes} bytes; not read"
                )
            chunks.append(chunk)
        return replace(seen, status="ok", body=b"".join(chunks))


async def fetch_all(
    targets: Iterable[FetchTarget],
    *,
    agent: str,
    concurrency: int = DEFAULT_CONCURRENCY,
    client: httpx.AsyncClient | None = None,
) -> list[FetchResult]:
    """Fetch every target concurrently; results come back in the targets' order."""
    gate = asyncio.Semaphore(concurrency)
    own_client = client is None
    http = client or make_client(agent)

    async def bounded(target: FetchTarget) -> FetchResult:
        async with gate:
            return await fetch_one(http, target)

    try:
        return list(await asyncio.gather(*(bounded(t) for t in targets)))
    finally:
        if own_client:
            await http.aclose()
