"""Feed bytes to normalized entries: JSON Feed, a fast XML path, feedparser.

Three readers, one normalization:

- a body that starts with `{` is read as JSON Feed (feeds.jsonfeed);
- well-formed RSS 0.9x/2.0, RSS 1.0 (RDF) and Atom go through feeds.xmlfeed,
  which lets expat build the elements in C and applies feedparser's own rules
  to them, several times faster than feedparser (bench/parse_speed.py);
- everything the fast path is unsure of (broken XML that feedparser can still
  recover entries from, DOCTYPEs, odd charsets and odd markup) goes to
  feedparser, with the raw bytes and the response headers, as before.

The character set follows RFC 3023 the way feedparser reads it: Content-Type
first, then the XML declaration, then a BOM (Polish ISO-8859-2, Greek
ISO-8859-7, Turkish ISO-8859-9 and the windows-125x pages come out right).
Feed text becomes plain text here; nothing downstream sees markup.
"""

from __future__ import annotations

import calendar
import codecs
import hashlib
import io
import json
import logging
import re
import warnings
from datetime import UTC, datetime
from typing import Any

import feedparser

from feeds.canonical import DEFAULT_TRACKING, Tracking, canonical_url
from feeds.entry import Entry, ParsedFeed
from feeds.jsonfeed import NotAJsonFeed, looks_like_json, parse_json_feed
from feeds.rawfeed import RawEntry, RawFeed
from feeds.text import plain_text, without_controls
from feeds.xmlfeed import parse_xml, xml_error
from feeds.xmlguard import HostileXML, check_tags
from feeds.xmlguard import check as check_xml

log = logging.getLogger(__name__)

MAX_URL = 2048  # the column size; longer links are junk or hostile

# The fast XML path. Tests and bench/parse_speed.py switch it off to compare
# with feedparser alone; production has no reason to.
FAST_PATH = True


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


def _language(*candidates: str | None) -> str | None:
    """The first language given, as a lower-case primary tag: `en-GB` -> `en`."""
    for value in candidates:
        if value:
            return str(value).split("-")[0].split("_")[0].lower()[:8]
    return None


def _guid(
    entry_id: str | None, link: str | None, title: str, published: datetime | None
) -> str:
    guid = without_controls(str(entry_id or link or "")).strip()
    if len(guid) > MAX_URL:
        # Truncating could make two long ids collide and drop an item; a hash cannot.
        return "sha256:" + hashlib.sha256(guid.encode()).hexdigest()
    if guid:
        return guid
    stamp = published.isoformat() if published else ""
    return "sha1:" + hashlib.sha1(f"{title}|{stamp}".encode()).hexdigest()


def fingerprint(title: str, summary: str) -> str:
    return hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest()


def _entry(
    raw: RawEntry,
    *,
    feed_language: str | None,
    default_language: str | None,
    fetched_at: datetime,
    tracking: Tracking = DEFAULT_TRACKING,
) -> Entry:
    """One entry, whichever reader found it: plain text, checked URLs, a stable guid."""
    title = plain_text(raw.title)
    summary = plain_text(raw.summary)
    link = without_controls(raw.link or "").strip() or None
    if link and len(link) > MAX_URL:
        # A broken half-URL is worse than none; the guid still identifies the entry.
        link = None
    canonical = canonical_url(link, tracking=tracking)
    if canonical and len(canonical) > MAX_URL:
        canonical = None
    published = raw.published
    return Entry(
        guid=_guid(raw.id, link, title, published),
        url=link,
        canonical_url=canonical,
        title=title,
        summary=summary,
        language=_language(
            raw.language, raw.title_language, feed_language, default_language
        ),
        published_at=published or fetched_at,
        dated=published is not None,
        fingerprint=fingerprint(title, summary),
    )


def _with_feedparser(body: bytes, headers: dict[str, str]) -> RawFeed:
    # BytesIO: a bare str or bytes could be taken for a URL or a file name.
    parsed = feedparser.parse(
        io.BytesIO(body),
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    entries = []
    for entry in parsed.entries:
        detail = entry.get("title_detail") or {}
        entries.append(
            RawEntry(
                title=entry.get("title"),
                summary=entry.get("summary") or entry.get("description"),
                link=entry.get("link"),
                id=entry.get("id"),
                published=_date(entry),
                language=entry.get("language"),
                title_language=detail.get("language"),
            )
        )
    return RawFeed(
        entries=entries,
        title=parsed.feed.get("title"),
        language=parsed.feed.get("language"),
        version=parsed.get("version") or "",
        problem=None if problem is None else (type(problem).__name__, str(problem)),
    )


def parse_feed(
    body: bytes,
    *,
    headers: dict[str, str] | None = None,
    url: str = "",
    fetched_at: datetime,
    default_language: str | None = None,
    tracking: Tracking = DEFAULT_TRACKING,
) -> ParsedFeed:
    """Parse a feed body; raise ParseError when nothing usable is in it."""
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    if url:
        response_headers.setdefault("content-location", url)
    if not body or body.isspace():
        raise ParseError("not a feed: empty body")
    raw = None
    if looks_like_json(body):
        try:
            raw = parse_json_feed(body, response_headers)
        except NotAJsonFeed as exc:
            raise ParseError(str(exc)) from None
    if raw is None:
        try:
            check_tags(body)
        except HostileXML as exc:
            raise ParseError(f"refused: {exc}") from None
    if raw is None and FAST_PATH:
        try:
            raw = parse_xml(body, response_headers)
        except Exception:  # a fast-path bug must cost speed, never the feed
            log.exception(
                "fast feed parser failed on %s; using feedparser", url or "a feed"
            )
            raw = None
    if raw is None:
        try:
            check_xml(body, response_headers)
        except HostileXML as exc:
            raise ParseError(f"refused: {exc}") from None
        raw = _with_feedparser(body, response_headers)

    if raw.problem is not None and not raw.entries:
        name, message = raw.problem
        raise ParseError(
            _diagnose(body, response_headers)
            or f"not a readable feed: {name}: {message.strip() or name}"
        )
    # An HTML page can be well-formed XML: without a feed version it is no feed.
    if not raw.entries and not raw.version:
        raise ParseError(
            _diagnose(body, response_headers)
            or _root_message(body)
            or "not a feed (no RSS, Atom or RDF content found)"
        )
    feed_language = raw.language
    entries = [
        _entry(
            entry,
            feed_language=feed_language,
            default_language=default_language,
            fetched_at=fetched_at,
            tracking=tracking,
        )
        for entry in raw.entries
    ]
    warning = None
    if raw.problem is not None:
        name, message = raw.problem
        warning = f"recovered from a malformed feed: {name}: {message}"
    return ParsedFeed(entries=entries, title=plain_text(raw.title), warning=warning)


# --- why a body is not a feed, in words an operator can act on ---------------------------

_HTML = re.compile(rb"<!doctype\s+html|<html[\s>]", re.IGNORECASE)
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")
_ROOT = re.compile(
    rb"(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*<([A-Za-z_][\w:.-]*)", re.DOTALL
)
_EXCERPT_CHARS = re.compile(r"[^\w .,:;!?'()/-]")


def _diagnose(body: bytes, headers: dict[str, str]) -> str | None:
    """A plain reason why body is no feed, or None when there is nothing to add."""
    text = body.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not text:
        return "not a feed: empty body"
    head = text[:1024]
    wide = head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00<", b"<\x00"))
    if _binary(head, wide=wide):
        return "not a feed: garbage bytes"
    if _HTML.search(head):
        return "not a feed: got an HTML page"
    if looks_like_json(text):
        try:
            json.loads(text)
        except (ValueError, RecursionError):
            return "not a feed: got malformed JSON"
        return "not a feed: got JSON that is not a JSON Feed"
    if not wide and not head.startswith(b"<"):
        line = head.decode("utf-8", "replace").splitlines()[0]
        excerpt = _EXCERPT_CHARS.sub("", without_controls(line)).strip()[:60]
        return f"not a feed: got plain text, not XML ({excerpt!r})"
    error = xml_error(body, headers)
    if error is not None:
        line_number, column, reason = error
        return f"XML error at line {line_number}: {reason} (column {column + 1})"
    return None


def _binary(head: bytes, *, wide: bool) -> bool:
    """Whether the first bytes look like binary data rather than text of any kind:
    more than 2% control bytes, or mostly high bytes that are not UTF-8. What
    starts like UTF-16 is binary unless it reads as markup."""
    if wide:
        encoding = "utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-16-be"
        if head[:1] == b"<":
            encoding = "utf-16-le"
        return (
            not head.decode(encoding, "replace").lstrip("\ufeff \t\r\n").startswith("<")
        )
    if len(_CONTROL_BYTES.findall(head)) * 50 > len(head):
        return True
    high = sum(1 for byte in head if byte >= 0x80)
    if high * 3 <= len(head):
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head)  # a cut last char is fine
    except UnicodeDecodeError:
        return True
    return False


def _root_message(body: bytes) -> str | None:
    root = _ROOT.match(body.removeprefix(b"\xef\xbb\xbf"))
    if root is None:
        return None
    name = root.group(1).decode("ascii", "replace")
    return f"not a feed: an XML document whose root is <{name}>, not RSS, Atom or RDF"
