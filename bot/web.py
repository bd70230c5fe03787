"""`normwatch web`: a read-only page over the hit history, for people who do
not use a terminal.

A small WSGI app on the standard library's server (one thread per request):
GET only, every query through `storage.search` and `storage.stats`, nothing
written. On a loopback address it needs no login; on any other address it
refuses to start without a shared secret (NORMWATCH_WEB_SECRET), which
browsers then ask for (HTTP Basic: any user name, the secret as password).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields
from html import escape
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cli import BadInput, _runtime, _since, cli, csv_text
from bot.config import WEB_SECRET_ENV, web_secret
from bot.history import until
from bot.runtime import Runtime
from bot.webpage import FIELDS, Choices, chart, form, hit_table, item_table, page, pager
from storage.fulltext import SearchSyntaxError
from storage.history import HitFilter, HitRow, list_hits
from storage.models import Feed, Hit
from storage.search import ItemFilter, list_items
from storage.stats import hits_per_day_by_state

log = logging.getLogger("normwatch.web")

PAGE_SIZE = 50
EXPORT_LIMIT = 10_000
HEADERS = [
    # Inline styles only: no scripts, no outside resources, no framing.
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
]

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def authorised(header: str | None, secret: str) -> bool:
    """HTTP Basic with the secret as password (any user), or a Bearer token."""
    if not header:
        return False
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        given = value.strip()
    elif scheme.lower() == "basic":
        try:
            given = base64.b64decode(value.strip()).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return False
    else:
        return False
    return hmac.compare_digest(given.encode(), secret.encode())


class BadQuery(Exception):
    """A filter value the page cannot use; the message says which."""


def _moment(parse: Callable[..., Any], value: str, name: str) -> Any:
    try:
        return parse(value or None)
    except click.ClickException as exc:
        message = exc.message.replace("--until", name).replace("--since", name)
        raise BadQuery(message) from None


def hit_filter(params: dict[str, str], *, page_no: int, limit: int) -> HitFilter:
    alerted = {"yes": True, "no": False}.get(params.get("alerted", ""))
    return HitFilter(
        state=params.get("state") or None,
        topic=params.get("topic") or None,
        rule=params.get("rule") or None,
        feed=params.get("feed") or None,
        language=params.get("lang") or None,
        since=_moment(_since, params.get("since", ""), "since"),
        until=_moment(until, params.get("until", ""), "until"),
        verdict=params.get("verdict") or None,
        alerted=alerted,
        search=params.get("q") or None,
        limit=limit,
        offset=(page_no - 1) * limit,
    )


def item_filter(base: HitFilter) -> ItemFilter:
    return ItemFilter(
        feed=base.feed,
        language=base.language,
        state=base.state,
        since=base.since,
        until=base.until,
        search=base.search,
        limit=base.limit,
        offset=base.offset,
    )


def choices(session: Session) -> Choices:
    def values(column: Any) -> list[str]:
        return sorted(v for v in session.scalars(select(column).distinct()) if v)

    return Choices(
        states=values(Hit.state),
        topics=values(Hit.topic),
        rules=values(Hit.rule),
        feeds=values(Feed.name),
        languages=values(Feed.language),
    )


@dataclass
class WebView:
    """The WSGI application."""

    rt: Runtime
    secret: str | None = None

    def __call__(
        self, environ: dict[str, Any], start: StartResponse
    ) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] not in ("GET", "HEAD"):
            return self._reply(
                start,
                "405 Method Not Allowed",
                b"read-only\n",
                "text/plain",
                [("Allow", "GET, HEAD")],
            )
        if self.secret and not authorised(
            environ.get("HTTP_AUTHORIZATION"), self.secret
        ):
            return self._reply(
                start,
                "401 Unauthorized",
                b"the shared secret is needed (any user name, the secret as password)\n",
                "text/plain",
                [("WWW-Authenticate", 'Basic realm="normwatch", charset="UTF-8"')],
            )
        raw = parse_qs(environ.get("QUERY_STRING", ""))
        params = {k: raw[k][0].strip() for k in FIELDS if raw.get(k)}
        try:
            page_no = max(1, int(raw.get("page", ["1"])[0]))
        except ValueError:
            page_no = 1
        path = environ.get("PATH_INFO", "/")
        if path == "/":
            status, body = self.index(params, page_no)
            return self._reply(start, status, body, "text/html; charset=utf-8")
        if path == "/export.csv":
            return self.export(start, params)
        return self._reply(start, "404 Not Found", b"not found\n", "text/plain")

    @staticmethod
    def _reply(
        start: StartResponse,
        status: str,
        body: bytes,
        content_type: str,
        extra: list[tuple[str, str]] | None = None,
    ) -> list[bytes]:
        start(
            status,
            [
                ("Content-Type", content_type),
                ("Content-Length", str(len(body))),
                *HEADERS,
                *(extra or []),
            ],
        )
        return [body]

    def index(self, params: dict[str, str], page_no: int) -> tuple[str, bytes]:
        tz = ZoneInfo(self.rt.config.normwatch.timezone)
        with self.rt.sessions() as session:
            parts = [form(params, choices(session))]
            try:
                filters = hit_filter(params, page_no=page_no, limit=PAGE_SIZE + 1)
                if params.get("all_items"):
                    items = list_items(session, item_filter(filters))
                    listing = item_table(items[:PAGE_SIZE], tz)
                    more = len(items) > PAGE_SIZE
                else:
                    hits = list_hits(session, filters)
                    listing = hit_table(hits[:PAGE_SIZE], tz)
                    more = len(hits) > PAGE_SIZE
                parts.append(chart(hits_per_day_by_state(session, filters, tz=tz)))
            except (BadQuery, SearchSyntaxError) as exc:
                parts.append(f'<p class="error" id="error">{escape(str(exc))}</p>')
                return "400 Bad Request", page(title="normwatch history", body=parts)
        parts += [pager(params, page_no, more), listing]
        return "200 OK", page(title="normwatch history", body=parts)

    def export(self, start: StartResponse, params: dict[str, str]) -> list[bytes]:
        try:
            filters = hit_filter(params, page_no=1, limit=EXPORT_LIMIT)
            with self.rt.sessions() as session:
                rows = [asdict(r) for r in list_hits(session, filters)]
        except (BadQuery, SearchSyntaxError) as exc:
            return self._reply(
                start,
                "400 Bad Request",
                f"{exc}\n".encode(),
                "text/plain; charset=utf-8",
            )
        body = csv_text(rows, [f.name for f in fields(HitRow)], bom=True).encode()
        return self._reply(
            start,
            "200 OK",
            body,
            "text/csv; charset=utf-8",
            [("Content-Disposition", 'attachment; filename="normwatch-hits.csv"')],
        )


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


def make_web_server(view: WebView, host: str, port: int) -> WSGIServer:
    """Bind (port 0 picks a free one); serve with `.serve_forever()`."""
    return make_server(
        host, port, view, server_class=_Server, handler_class=_QuietHandler
    )


@cli.command()
@click.option("--host", help="Address to listen on (default: [web] host, 127.0.0.1).")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="Port (default: [web] port)."
)
@click.pass_context
def web(ctx: click.Context, /, host: str | None, port: int | None) -> None:
    """Serve a read-only page of the history: search, filters, hits, a chart."""
    with _runtime(ctx) as rt:
        host = host or rt.config.web.host
        port = rt.config.web.port if port is None else port
        secret = web_secret()
        if not is_loopback(host) and not secret:
            raise BadInput(
                f"web: listening on {host} lets other computers in; set a shared "
                f"secret in {WEB_SECRET_ENV} first (or use 127.0.0.1)"
            )
        try:
            server = make_web_server(WebView(rt, secret), host, port)
        except OSError as exc:
            raise click.ClickException(
                f"web: cannot listen on {host}:{port}: {exc.strerror}"
            ) from None
        bound = server.server_address[1]
        click.echo(
            f"normwatch history at http://{host}:{bound}/"
            + (
                " (login: any user name, the shared secret as password)"
                if secret
                else ""
            )
            + "; Ctrl-C stops",
            err=True,
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
