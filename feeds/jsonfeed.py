"""JSON Feed 1.0 and 1.1 (https://www.jsonfeed.org/version/1.1/) to raw entries.

A body that starts with `{` (after whitespace and a BOM) and parses as JSON is
read here: a JSON Feed yields its items, any other JSON object is refused with
`NotAJsonFeed`. A body that only starts like JSON but is not JSON goes back to
the XML path, which will explain what is wrong with it.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from typing import Any

from feeds.dates import parse_date
from feeds.rawfeed import RawEntry, RawFeed

VERSION_PREFIXES = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")
_WHITESPACE = b" \t\r\n"


class NotAJsonFeed(ValueError):
    """Valid JSON, but not a JSON Feed."""


def looks_like_json(body: bytes) -> bool:
    """Whether the first thing in body, after a UTF-8 BOM and whitespace, is `{`."""
    start = 3 if body.startswith(codecs.BOM_UTF8) else 0
    end = min(len(body), start + 4096)
    while start < end and body[start] in _WHITESPACE:
        start += 1
    return body[start : start + 1] == b"{"


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # ids are strings by the spec, numbers in the wild
    return None


def _decode(body: bytes, headers: Mapping[str, str]) -> str | None:
    charset = ""
    for part in (headers.get("content-type") or "").split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip("\"'")
    for encoding in (charset, "utf-8-sig"):
        if not encoding:
            continue
        try:
            return body.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return None


def parse_json_feed(body: bytes, headers: Mapping[str, str]) -> RawFeed | None:
    """The JSON Feed in body; None when body is not JSON at all.

    Raises NotAJsonFeed for JSON that is not a JSON Feed.
    """
    text = _decode(body, headers)
    if text is None:
        return None
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None
    version = document.get("version") if isinstance(document, dict) else None
    items = document.get("items") if isinstance(document, dict) else None
    if (
        not isinstance(version, str)
        or not version.startswith(VERSION_PREFIXES)
        or not isinstance(items, list)
    ):
        raise NotAJsonFeed("not a feed: got JSON that is not a JSON Feed")
    entries = []
    for item in items:
        if not isinstance(item, dict):
            continue
        summary = None
        for key in ("summary", "content_text", "content_html"):
            summary = _text(item.get(key))
            if summary:
                break
        published = None
        for key in ("date_published", "date_modified"):
            published = parse_date(_text(item.get(key)))
            if published is not None:
                break
        entries.append(
            RawEntry(
                title=_text(item.get("title")),
                summary=summary,
                link=_text(item.get("url")) or _text(item.get("external_url")),
                id=_text(item.get("id")),
                published=published,
                language=_text(item.get("language")),
            )
        )
    return RawFeed(
        entries=entries,
        title=_text(document.get("title")),
        language=_text(document.get("language")),
        version="json" + version.rstrip("/").rpartition("/")[2],
    )
