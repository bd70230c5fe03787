"""One feed body to parse, as a plain value that can cross into a worker process.

A poll cycle with many changed feeds parses them in worker processes (parsing
is pure, CPU-bound Python), so the event loop and the store thread keep the
interpreter to themselves. This module imports only the feeds package: a
worker starts in a fraction of the time the whole bot would take.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from feeds.canonical import tracking_with
from feeds.entry import ParsedFeed
from feeds.parliament import PARLIAMENT_FORMATS
from feeds.parse import ParseError, parse_feed

FeedParser = Callable[..., ParsedFeed]


@dataclass(frozen=True)
class ParseJob:
    format: str  # "feed", or a parliament API's format
    body: bytes
    headers: dict[str, str]
    url: str  # where the body really came from (after redirects)
    fetched_at: datetime
    language: str  # the feed's configured language, the last fallback
    # [stories] tracking_params: more link parameters canonical URLs drop.
    tracking: tuple[str, ...] = ()


def run(job: ParseJob, parse: FeedParser = parse_feed) -> ParsedFeed:
    """The entries of the body; ParseError says why there are none."""
    if job.format != "feed":  # a parliament's open-data API
        reader = PARLIAMENT_FORMATS[job.format].parse
        return reader(
            job.body, fetched_at=job.fetched_at, default_language=job.language
        )
    return parse(
        job.body,
        headers=job.headers,
        url=job.url,
        fetched_at=job.fetched_at,
        default_language=job.language,
        tracking=tracking_with(job.tracking),
    )


def outcome(job: ParseJob) -> ParsedFeed | str:
    """`run` in a worker: a ParseError comes back as its message, "parse: …"."""
    try:
        return run(job)
    except ParseError as exc:
        return f"parse: {exc}"
