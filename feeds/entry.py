"""Plain data that leaves the feeds package: what a fetch returned, what a feed held."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

FetchStatus = Literal["ok", "not_modified", "error"]


@dataclass(frozen=True)
class FetchTarget:
    """What the fetcher needs to know about a feed: where, and its validators."""

    url: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """The outcome of one GET; a value, never an exception, so one bad feed stops nothing."""

    url: str
    status: FetchStatus
    http_status: int | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    final_url: str | None = None
    error: str | None = None
    elapsed: float = 0.0
    retry_after: float | None = None
    moved_to: str | None = None  # every redirect was permanent: the feed's new address

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")


@dataclass(frozen=True)
class Entry:
    """One feed entry, normalized: plain-text title and summary, UTC dates, a stable id."""

    guid: str
    url: str | None
    canonical_url: str | None
    title: str
    summary: str
    language: str | None
    published_at: datetime  # the fetch time when the feed gave no date
    fingerprint: str
    dated: bool = True  # False: published_at is only the fetch time


@dataclass(frozen=True)
class ParsedFeed:
    entries: list[Entry]
    title: str = ""
    # A recoverable problem (e.g. malformed XML that still yielded entries).
    warning: str | None = None
