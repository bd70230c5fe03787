"""Feed bytes to normalized entries, with feedparser doing the XML.

feedparser gets the raw bytes and the response headers, so it decides the
character set from Content-Type and the XML declaration (Polish ISO-8859-2,
Greek ISO-8859-7 and friends come out right). Feed text becomes plain text
here; nothing downstream sees markup.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import warnings
from datetime import UTC, datetime
from typing import Any

import feedparser

from feeds.canonical import canonical_url
from feeds.entry import Entry, ParsedFeed
from feeds.text import plain_text, without_controls

MAX_URL = 2048  # the column size; longer links are junk or hostile


class ParseError(Exception):
    """The body is not a feed we can read; the message says why."""


def _date(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        with warnings.catch_warnings():
            # feedparser 6 warns when `updated` falls back to `published`; we ask for each.
            warnings.simplefilter("ignore", DeprecationWarning)
            value = entry.get(key)
        if value:
            try:
                # feedparser's 9-tuples are UTC; timegm, never mktime (local time).
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError, TypeError):
                continue
    return None


def _language(entry: Any, feed_language: str | None, default: str | None) -> str | None:
    # An Atom entry's own xml:lang shows only in its detail dicts.
    detail = entry.get("title_detail") or {}
    for value in (
        entry.get("language"),
        detail.get("language"),
        feed_language,
        default,
    ):
        if value:
            return str(value).split("-")[0].split("_")[0].lower()[:8]
    return None


def _guid(entry: Any, link: str | None, title: str, published: datetime | None) -> str:
    guid = without_controls(str(entry.get("id") or link or "")).strip()
    if len(guid) > MAX_URL:
        # Truncating could make two long ids collide and drop an item; a hash cannot.
        return "sha256:" + hashlib.sha256(guid.encode()).hexdigest()
    if guid:
        return guid
    stamp = published.isoformat() if published else ""
    return "sha1:" + hashlib.sha1(f"{title}|{stamp}".encode()).hexdigest()


def fingerprint(title: str, summary: str) -> str:
    return hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest()


def parse_feed(
    body: bytes,
    *,
    headers: dict[str, str] | None = None,
    url: str = "",
    fetched_at: datetime,
    default_language: str | None = None,
) -> ParsedFeed:
    """Parse a feed body; raise ParseError when nothing usable is in it."""
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    if url:
        response_headers.setdefault("content-location", url)
    # BytesIO: a bare str or bytes could be taken for a URL or a file name.
    parsed = feedparser.parse(
        io.BytesIO(body),
        response_headers=response_headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if problem is not None and not parsed.entries:
        detail = str(problem).strip() or type(problem).__name__
        raise ParseError(f"not a readable feed: {type(problem).__name__}: {detail}")
    # An HTML page can be well-formed XML: without a feed version it is no feed.
    if not parsed.entries and not parsed.get("version"):
        raise ParseError("not a feed (no RSS, Atom or RDF content found)")
    feed_language = parsed.feed.get("language")
    entries: list[Entry] = []
    for raw in parsed.entries:
        title = plain_text(raw.get("title"))
        summary = plain_text(raw.get("summary") or raw.get("description"))
        link = without_controls(raw.get("link") or "").strip() or None
        if link and len(link) > MAX_URL:
            link = None  # a broken half-URL is worse than none; the guid still identifies it
        canonical = canonical_url(link)
        if canonical and len(canonical) > MAX_URL:
            canonical = None
        published = _date(raw)
        entries.append(
            Entry(
                guid=_guid(raw, link, title, published),
                url=link,
                canonical_url=canonical,
                title=title,
                summary=summary,
                language=_language(raw, feed_language, default_language),
                published_at=published or fetched_at,
                dated=published is not None,
                fingerprint=fingerprint(title, summary),
            )
        )
    warning = None
    if problem is not None:
        warning = (
            f"recovered from a malformed feed: {type(problem).__name__}: {problem}"
        )
    return ParsedFeed(
        entries=entries, title=plain_text(parsed.feed.get("title")), warning=warning
    )
