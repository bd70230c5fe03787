"""A local HTTP server that serves canned RSS/Atom feeds to the code under test.

Tests register routes with :meth:`FeedServer.add` and point the poller at
:meth:`FeedServer.url`; nothing ever leaves 127.0.0.1.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast
from urllib.parse import urlsplit

from tests.fakes.background import BackgroundServer

DEFAULT_CONTENT_TYPE = "application/rss+xml; charset=utf-8"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it; header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass(frozen=True)
class _Route:
    body: bytes
    content_type: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    # For redirects: the target path, turned into an absolute URL per request
    # because the port is only known once the socket is bound.
    redirect_to: str | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: FeedServer


class _Handler(BaseHTTPRequestHandler):
    server_version = "normwatch-fake-feeds/1"

    def do_GET(self) -> None:
        self._serve(with_body=True)

    def do_HEAD(self) -> None:
        self._serve(with_body=False)

    def log_message(self, format: str, *args: object) -> None:
        # The default handler writes every request to stderr; tests don't need that.
        pass

    def _serve(self, *, with_body: bool) -> None:
        owner = cast(_Server, self.server).owner
        # Duplicate headers are folded the way HTTP allows (comma-joined).
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        owner._record(RecordedRequest(self.command, self.path, headers))

        route = owner._route_for(self.path)
        if route is None:
            self._send(404, {"Content-Type": "text/plain; charset=utf-8"}, b"not found")
            return
        if route.redirect_to is not None:
            location = owner.url(route.redirect_to)
            self._send(route.status, {"Location": location}, b"", with_body=with_body)
            return

        validators: dict[str, str] = {}
        if route.etag is not None:
            validators["ETag"] = route.etag
        if route.last_modified is not None:
            validators["Last-Modified"] = route.last_modified
        if route.status == 200 and _not_modified(route, headers):
            # 304 carries the validators but never a body (RFC 9110 15.4.5).
            self._send(304, validators, b"", with_body=False)
            return

        out = {"Content-Type": route.content_type, **validators, **route.headers}
        self._send(route.status, out, route.body, with_body=with_body)

    def _send(
        self,
        status: int,
        headers: dict[str, str],
        body: bytes,
        *,
        with_body: bool = True,
    ) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body and status != 304:
            self.wfile.write(body)


def _not_modified(route: _Route, request_headers: dict[str, str]) -> bool:
    # If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 13.2.2),
    # so a stale ETag is not rescued by a matching date.
    if_none_match = request_headers.get("if-none-match")
    if route.etag is not None and if_none_match is not None:
        tags = {tag.strip() for tag in if_none_match.split(",")}
        return route.etag in tags or "*" in tags
    if_modified_since = request_headers.get("if-modified-since")
    return (
        route.last_modified is not None
        and if_modified_since is not None
        and if_modified_since.strip() == route.last_modified
    )


class FeedServer(BackgroundServer):
    """Serves registered paths over HTTP on 127.0.0.1 from a daemon thread.

    Use as a context manager, or call :meth:`start` / :meth:`stop`.
    Routes may be added before or after starting.
    """

    thread_name = "FeedServer"

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._host = host
        self._lock = threading.Lock()
        self._routes: dict[str, _Route] = {}
        self._requests: list[RecordedRequest] = []
        super().__init__()

    # -- lifecycle -------------------------------------------------------------

    def make_server(self) -> _Server:
        httpd = _Server((self._host, 0), _Handler)
        httpd.owner = self
        return httpd

    # -- routes ----------------------------------------------------------------

    def add(
        self,
        path: str,
        body: bytes | str,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        status: int = 200,
        headers: dict[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        """Register (or replace) what ``GET path`` answers."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        route = _Route(
            body=data,
            content_type=content_type,
            status=status,
            headers=dict(headers or {}),
            etag=etag,
            last_modified=last_modified,
        )
        with self._lock:
            self._routes[_normalise(path)] = route

    def add_redirect(self, path: str, to_path: str, status: int = 301) -> None:
        """Make ``path`` redirect (absolute Location) to ``to_path`` on this server."""
        route = _Route(body=b"", content_type="", status=status, redirect_to=to_path)
        with self._lock:
            self._routes[_normalise(path)] = route

    def url(self, path: str = "/") -> str:
        httpd = self._httpd
        if httpd is None:
            raise RuntimeError("FeedServer is not started")
        port = httpd.server_address[1]
        return f"http://{self._host}:{port}{_normalise(path)}"

    # -- inspection ------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def count(self, path: str) -> int:
        """How many requests hit ``path``; its query string is ignored unless given."""
        wanted = _normalise(path)
        with_query = "?" in wanted
        with self._lock:
            return sum(
                1
                for r in self._requests
                if (r.path if with_query else urlsplit(r.path).path) == wanted
            )

    # -- used by the handler thread ---------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _route_for(self, raw_path: str) -> _Route | None:
        # An exact match (query included) wins; otherwise match on the bare path so
        # cache-busting query strings still reach the registered feed.
        with self._lock:
            route = self._routes.get(raw_path)
            if route is None:
                route = self._routes.get(urlsplit(raw_path).path)
            return route


def _normalise(path: str) -> str:
    return path if path.startswith("/") else f"/{path}"
