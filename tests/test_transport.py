"""The lean HTTP/1.1 transport behind the shared httpx client, against a scripted local server."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable

import httpx
import pytest

from feeds.entry import FetchTarget
from feeds.fetch import FetchLimits, fetch_one, make_client
from feeds.transport import LeanTransport

# One scripted answer per request: (raw bytes to send, whether to close after).
Script = Callable[[int, bytes], Awaitable[tuple[bytes, bool]]]


class ScriptedServer:
    """Answers each request with whatever the test's script returns, byte for byte."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> ScriptedServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                self.requests.append(head)
                try:
                    answer, close = await self.script(len(self.requests), head)
                except asyncio.CancelledError:  # the test is over
                    return
                writer.write(answer)
                await writer.drain()
                if close:
                    return
        finally:
            writer.close()


def _answer(status: str, headers: list[str], body: bytes = b"") -> bytes:
    return ("\r\n".join([f"HTTP/1.1 {status}", *headers]) + "\r\n\r\n").encode() + body


def _run(script: Script, go: Callable[[str], Awaitable[object]]) -> object:
    async def main() -> object:
        async with ScriptedServer(script) as server:
            result = await go(server.url)
            return result, server.connections, list(server.requests)

    return asyncio.run(main())


def test_kept_alive_connection_is_reused_for_the_next_request() -> None:
    async def script(n: int, head: bytes) -> tuple[bytes, bool]:
        return _answer("200 OK", [f"Content-Length: {len(b'feed')}"], b"feed"), False

    async def go(url: str) -> object:
        async with httpx.AsyncClient(transport=LeanTransport()) as client:
            return [(await client.get(f"{url}/f{i}")).content for i in range(3)]

    bodies, connections, requests = _run(script, go)  # type: ignore[misc]
    assert bodies == [b"feed"] * 3
    assert connections == 1
    assert [r.split(b" ")[1] for r in requests] == [b"/f0", b"/f1", b"/f2"]


def test_chunked_and_close_delimited_bodies_are_read_whole() -> None:
    chunked = _answer(
        "200 OK",
        ["Transfer-Encoding: chunked"],
        b"4;x=y\r\n<rss\r\n3\r\n/>\n\r\n0\r\n\r\n",
    )
    until_close = _answer("200 OK", ["Connection: close"], b"<rss/>")

    async def script(n: int, head: bytes) -> tuple[bytes, bool]:
        return (chunked, False) if n == 1 else (until_close, True)

    async def go(url: str) -> object:
        async with httpx.AsyncClient(transport=LeanTransport()) as client:
            return [(await client.get(f"{url}/{i}")).content for i in range(2)]

    bodies, _, _ = _run(script, go)  # type: ignore[misc]
    assert bodies == [b"<rss/>\n", b"<rss/>"]


def test_a_connection_the_server_closed_while_idle_is_replaced_once() -> None:
    async def script(n: int, head: bytes) -> tuple[bytes, bool]:
        # Advertises keep-alive, then hangs up: the next request finds it dead.
        return _answer("200 OK", ["Content-Length: 2"], b"ok"), True

    async def go(url: str) -> object:
        async with httpx.AsyncClient(transport=LeanTransport()) as client:
            first = await client.get(f"{url}/a")
            await asyncio.sleep(0.05)
            second = await client.get(f"{url}/b")
            return first.content, second.content

    bodies, connections, _ = _run(script, go)  # type: ignore[misc]
    assert bodies == (b"ok", b"ok")
    assert connections == 2


def _hangs_up_on_the_second_request(n: int, head: bytes) -> tuple[bytes, bool]:
    """Keeps the first connection alive, then reads the next request on it and
    hangs up without a byte: the race of a server closing an idle connection
    just as the client reuses it, made certain."""
    if n == 2:
        return b"", True
    return _answer("200 OK", ["Content-Length: 2"], b"ok"), False


def test_a_reused_connection_that_dies_before_answering_is_retried_once() -> None:
    async def script(n: int, head: bytes) -> tuple[bytes, bool]:
        return _hangs_up_on_the_second_request(n, head)

    async def go(url: str) -> object:
        async with httpx.AsyncClient(transport=LeanTransport()) as client:
            first = await client.get(f"{url}/a")
            second = await client.get(f"{url}/b")
            return first.content, second.content

    bodies, connections, requests = _run(script, go)  # type: ignore[misc]
    assert bodies == (b"ok", b"ok")
    assert connections == 2  # the dead one, then a fresh one for the retry
    assert [r.split(b" ")[1] for r in requests] == [b"/a", b"/b", b"/b"]


def test_a_request_with_a_body_is_not_sent_twice() -> None:
    # The server may have acted on it before hanging up; only GET-like
    # requests without a body are safe to repeat.
    async def script(n: int, head: bytes) -> tuple[bytes, bool]:
        return _hangs_up_on_the_second_request(n, head)

    async def go(url: str) -> object:
        async with httpx.AsyncClient(transport=LeanTransport()) as client:
            await client.get(f"{url}/a")
            with pytest.raises(httpx.RemoteProtocolError):
                await client.post(f"{url}/b", content=b"x")
            return None

    _, connections, requests = _run(script, go)  # type: ignore[misc]
    assert connections == 1
    assert [r.split(b" ")[1] for r in requests] == [b"/a", b"/b"]


def test_gzip_redirects_and_conditional_headers_go_through_httpx() -> None:
    body = gzip.compress(b"<rss version='2.0'/>")

    async def script(n: int, head: bytes) -> tuple[bytes, bool]:
        if b"GET /old " in head:
            return _answer(
                "301 Moved Permanently", ["Location: /new", "Content-Length: 0"]
            ), False
        if b'if-none-match: "v1"' in head.lower():
            return _answer("304 Not Modified", ['ETag: "v1"']), False
        headers = [
            "Content-Encoding: gzip",
            'ETag: "v1"',
            f"Content-Length: {len(body)}",
        ]
        return _answer("200 OK", headers, body), False

    async def go(url: str) -> object:
        async with make_client("test-agent") as client:
            first = await fetch_one(client, FetchTarget(f"{url}/old"))
            second = await fetch_one(client, FetchTarget(f"{url}/new", etag='"v1"'))
            return first, second

    (first, second), connections, requests = _run(script, go)  # type: ignore[misc]
    assert first.status == "ok" and first.body == b"<rss version='2.0'/>"
    assert first.moved_to is not None and first.moved_to.endswith("/new")
    assert second.status == "not_modified"
    assert connections == 1  # the redirect, the feed and the 304 on one connection
    assert b"user-agent: test-agent" in requests[0].lower()


def test_a_body_shorter_than_its_length_is_a_broken_connection() -> None:
    async def script(n: int, head: bytes) -> tuple[bytes, bool]:
        return _answer("200 OK", ["Content-Length: 100"], b"<rss>"), True

    async def go(url: str) -> object:
        async with make_client("t") as client:
            return await fetch_one(client, FetchTarget(f"{url}/f"))

    result, _, _ = _run(script, go)  # type: ignore[misc]
    assert result.status == "error"
    assert result.error.startswith("the server broke the connection")


def test_a_silent_server_is_a_read_timeout_and_a_closed_port_cannot_connect() -> None:
    async def script(n: int, head: bytes) -> tuple[bytes, bool]:
        await asyncio.sleep(5)
        return b"", True

    limits = FetchLimits(read_timeout=0.2, connect_timeout=1)

    async def go(url: str) -> object:
        async with make_client("t", limits) as client:
            silent = await fetch_one(client, FetchTarget(f"{url}/f"), limits=limits)
            closed = await fetch_one(
                client, FetchTarget("http://127.0.0.1:1/f"), limits=limits
            )
            return silent, closed

    (silent, closed), _, _ = _run(script, go)  # type: ignore[misc]
    assert silent.error == "timed out after 0.2 s waiting for the server"
    assert closed.error == "cannot connect: Connection refused"


@pytest.mark.parametrize(
    "answer",
    [b"SPDY/3 200 OK\r\n\r\n", b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"],
)
def test_a_malformed_answer_is_a_protocol_error(answer: bytes) -> None:
    async def script(n: int, head: bytes) -> tuple[bytes, bool]:
        return answer, True

    async def go(url: str) -> object:
        async with make_client("t") as client:
            return await fetch_one(client, FetchTarget(f"{url}/f"))

    result, _, _ = _run(script, go)  # type: ignore[misc]
    assert result.status == "error"
    assert "the server broke the connection" in result.error


def test_the_size_cap_applies_while_the_body_streams() -> None:
    async def script(n: int, head: bytes) -> tuple[bytes, bool]:
        return _answer("200 OK", ["Content-Length: 300000"], b"x" * 300_000), True

    async def go(url: str) -> object:
        async with make_client("t") as client:
            return await fetch_one(client, FetchTarget(f"{url}/f"), max_bytes=100_000)

    result, _, _ = _run(script, go)  # type: ignore[misc]
    assert result.error == "body larger than 97.6562 KB; not read"


def test_a_cookie_the_site_sets_is_sent_back_on_the_next_request() -> None:
    async def script(n: int, head: bytes) -> tuple[bytes, bool]:
        if n == 1:
            return _answer(
                "302 Found",
                [
                    "Location: /feed",
                    "Set-Cookie: consent=yes; Path=/",
                    "Content-Length: 0",
                ],
            ), False
        return _answer("200 OK", ["Content-Length: 6"], b"<rss/>"), False

    async def go(url: str) -> object:
        async with make_client("t") as client:
            return await fetch_one(client, FetchTarget(f"{url}/start"))

    result, _, requests = _run(script, go)  # type: ignore[misc]
    assert result.body == b"<rss/>"
    assert b"cookie: consent=yes" in requests[1].lower()
    assert b"cookie:" not in requests[0].lower()
