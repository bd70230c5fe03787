"""A lean HTTP/1.1 transport for the shared httpx client: asyncio streams, kept-alive connections per host.

httpx's default transport (httpcore) spends about 2-3 ms of CPU per request
at poll-cycle scale, most of it scanning its whole connection pool for every
request; a cycle of a thousand 304s is then CPU-bound. This transport does
the one thing a feed poller needs, GET over HTTP/1.1, with a list of idle
connections per origin, and leaves everything else to httpx: redirects,
content decoding (gzip, deflate), the `Response` model, cookies and headers.

What it honours: the connect and read timeouts httpx passes with each request
(raised as httpx's own timeout errors), Content-Length, chunked and
close-delimited bodies, `Connection: close` and HTTP/1.0 semantics, 1xx
interim responses, TLS with httpx's default certificate checks. A kept-alive
connection that the server closed while idle is replaced once, for requests
without a body. The body is streamed in slices, so the caller's size cap
applies while reading.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

_READ = 64 * 1024
_MAX_HEAD = 64 * 1024  # status line and headers together
_NO_BODY_STATUS = frozenset({204, 304})


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    origin: tuple[str, str, int]
    idle_since: float = 0.0

    def close(self) -> None:
        self.writer.close()


@dataclass
class _Head:
    status: int
    reason: str
    version: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    keep_alive: bool = True


class LeanTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over asyncio streams, idle connections kept per host.

    Concurrency limits are the caller's (feeds.fetch gates every request per
    host and overall); this only decides which connections to keep: at most
    `max_idle_per_host` per origin, for `keepalive_expiry` seconds.
    """

    def __init__(
        self,
        *,
        max_idle_per_host: int = 8,
        keepalive_expiry: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._max_idle = max_idle_per_host
        self._expiry = keepalive_expiry
        self._ssl = ssl_context
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._closed = False

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        return self._ssl

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("the transport is closed")
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(
                f"unsupported URL scheme {scheme!r}", request=request
            )
        port = url.port or (443 if scheme == "https" else 80)
        origin = (scheme, url.host, port)
        timeouts = request.extensions.get("timeout", {})
        connect_timeout = timeouts.get("connect")
        read_timeout = timeouts.get("read")
        body = b"".join([part async for part in request.stream])  # type: ignore[union-attr]
        message = _request_bytes(request, body)

        while True:
            idle = self._take_idle(origin)
            connection = idle or await self._connect(origin, connect_timeout, request)
            try:
                connection.writer.write(message)
                if body:
                    async with asyncio.timeout(timeouts.get("write")):
                        await connection.writer.drain()
                head = await _read_head(connection.reader, read_timeout, request)
                break
            except _StaleConnection:
                connection.close()
                if idle is not None and not body:
                    continue  # closed by the server while idle: try the next one
                raise httpx.RemoteProtocolError(
                    "the server closed the connection without answering",
                    request=request,
                ) from None
            except BaseException:
                connection.close()
                raise
        stream = _Body(self, connection, head, request, read_timeout)
        return httpx.Response(
            head.status,
            headers=head.headers,
            stream=stream,
            extensions={
                "http_version": head.version,
                "reason_phrase": head.reason.encode("latin-1"),
            },
        )

    def _take_idle(self, origin: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            reader = connection.reader
            if (
                now - connection.idle_since < self._expiry
                and not connection.writer.is_closing()
                and not reader.at_eof()
                and not reader._buffer  # type: ignore[attr-defined]  # unsolicited bytes: unusable
            ):
                return connection
            connection.close()
        return None

    def _release(self, connection: _Connection) -> None:
        """A connection whose response was read to its end, ready for the next request."""
        idle = self._idle.setdefault(connection.origin, [])
        if self._closed or len(idle) >= self._max_idle:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        idle.append(connection)

    async def _connect(
        self,
        origin: tuple[str, str, int],
        timeout: float | None,
        request: httpx.Request,
    ) -> _Connection:
        scheme, host, port = origin
        context = self._ssl_context() if scheme == "https" else None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host,
                    port,
                    ssl=context,
                    server_hostname=host if context is not None else None,
                    limit=_MAX_HEAD,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(
                "timed out while connecting", request=request
            ) from None
        except OSError as exc:
            raise httpx.ConnectError(_why(exc), request=request) from exc
        return _Connection(reader, writer, origin)

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()


def _why(exc: OSError) -> str:
    """ "[Errno 111] Connection refused" rather than asyncio's "Connect call failed (...)"."""
    if isinstance(exc, socket.gaierror) or not exc.errno:
        return str(exc)
    return f"[Errno {exc.errno}] {os.strerror(exc.errno)}"


class _StaleConnection(Exception):
    """A reused connection ended before the first byte of an answer."""


def _request_bytes(request: httpx.Request, body: bytes) -> bytes:
    url = request.url
    lines = [request.method.encode("ascii") + b" " + url.raw_path + b" HTTP/1.1"]
    lines += [name + b": " + value for name, value in request.headers.raw]
    if body and "content-length" not in request.headers:
        lines.append(b"Content-Length: " + str(len(body)).encode("ascii"))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


async def _read_head(
    reader: asyncio.StreamReader, timeout: float | None, request: httpx.Request
) -> _Head:
    first = True
    while True:
        try:
            async with asyncio.timeout(timeout):
                raw = await reader.readuntil(b"\r\n\r\n")
        except TimeoutError:
            raise httpx.ReadTimeout(
                "timed out waiting for the answer", request=request
            ) from None
        except asyncio.IncompleteReadError as exc:
            if first and not exc.partial:
                raise _StaleConnection from None
            raise httpx.RemoteProtocolError(
                "the server closed the connection in the middle of the headers",
                request=request,
            ) from None
        except asyncio.LimitOverrunError:
            raise httpx.RemoteProtocolError(
                f"response headers larger than {_MAX_HEAD // 1024} KB",
                request=request,
            ) from None
        except OSError as exc:
            if first:
                raise _StaleConnection from exc
            raise httpx.ReadError(str(exc), request=request) from exc
        first = False
        head = _parse_head(raw, request)
        if 100 <= head.status < 200 and head.status != 101:
            continue  # interim (100 Continue, 103 Early Hints): the answer follows
        return head


def _parse_head(raw: bytes, request: httpx.Request) -> _Head:
    lines = raw[:-4].split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    code, _, reason = rest.partition(b" ")
    if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise httpx.RemoteProtocolError(
            f"not an HTTP/1.x answer: {lines[0][:60]!r}", request=request
        )
    headers: list[tuple[bytes, bytes]] = []
    connection = b""
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise httpx.RemoteProtocolError(
                f"malformed header line {line[:60]!r}", request=request
            )
        value = value.strip()
        headers.append((name, value))
        if name.lower() == b"connection":
            connection = value.lower()
    keep_alive = (
        b"close" not in connection
        if version == b"HTTP/1.1"
        else b"keep-alive" in connection
    )
    return _Head(
        int(code), reason.decode("latin-1"), version, headers, keep_alive=keep_alive
    )


class _Body(httpx.AsyncByteStream):
    """The response body as it arrives; the connection goes back to its pool
    only when the body was read to its end and the server keeps it open."""

    def __init__(
        self,
        transport: LeanTransport,
        connection: _Connection,
        head: _Head,
        request: httpx.Request,
        timeout: float | None,
    ) -> None:
        self._transport = transport
        self._connection: _Connection | None = connection
        self._request = request
        self._timeout = timeout
        self._done = False
        self._framing, self._length = _framing(head, request.method)
        self._keep = head.keep_alive and self._framing != "close"

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        if connection is None:
            return
        reader = connection.reader
        try:
            if self._framing == "length":
                remaining = self._length
                while remaining > 0:
                    chunk = await self._read(reader.read(min(remaining, _READ)))
                    if not chunk:
                        raise self._broken(
                            f"{remaining} of {self._length} bytes of the body missing"
                        )
                    remaining -= len(chunk)
                    yield chunk
            elif self._framing == "chunked":
                async for chunk in self._chunks(reader):
                    yield chunk
            elif self._framing == "close":
                while chunk := await self._read(reader.read(_READ)):
                    yield chunk
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise self._broken(str(exc) or type(exc).__name__) from exc
        self._done = True

    async def _chunks(self, reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
        while True:
            line = await self._read(reader.readuntil(b"\r\n"))
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise self._broken(f"bad chunk size {size_text[:20]!r}") from None
            if size == 0:
                while (await self._read(reader.readuntil(b"\r\n"))) != b"\r\n":
                    pass  # trailers: not used
                return
            while size > 0:
                chunk = await self._read(reader.read(min(size, _READ)))
                if not chunk:
                    raise self._broken("the body ended inside a chunk")
                size -= len(chunk)
                yield chunk
            if await self._read(reader.readexactly(2)) != b"\r\n":
                raise self._broken("a chunk did not end with CRLF")

    async def _read(self, pending: Any) -> bytes:
        try:
            async with asyncio.timeout(self._timeout):
                data: bytes = await pending
                return data
        except TimeoutError:
            raise httpx.ReadTimeout(
                "timed out waiting for the body", request=self._request
            ) from None
        except asyncio.LimitOverrunError:
            raise self._broken("a chunk header too long") from None

    def _broken(self, detail: str) -> httpx.RemoteProtocolError:
        return httpx.RemoteProtocolError(
            f"peer closed connection without sending complete message body ({detail})",
            request=self._request,
        )

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._done and self._keep:
            self._transport._release(connection)
        else:
            connection.close()


def _framing(head: _Head, method: str) -> tuple[str, int]:
    """How the body is delimited: ("none"|"length"|"chunked"|"close", length)."""
    if method == "HEAD" or head.status in _NO_BODY_STATUS:
        return "none", 0
    length: int | None = None
    for name, value in head.headers:
        lowered = name.lower()
        if lowered == b"transfer-encoding" and b"chunked" in value.lower():
            return "chunked", 0
        if lowered == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return "close", 0
    if length is not None and length >= 0:
        return ("length", length) if length else ("none", 0)
    return "close", 0
