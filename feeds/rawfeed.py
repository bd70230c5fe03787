"""What a feed reader hands to `feeds.parse`: entries and feed fields as the feed gave them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class RawEntry:
    """One entry's fields as the feed gave them, before `feeds.parse` normalizes them."""

    title: str | None = None
    summary: str | None = None
    link: str | None = None
    id: str | None = None
    published: datetime | None = None
    language: str | None = None  # the entry's own language element
    title_language: str | None = None  # xml:lang in force on the entry's title


@dataclass(slots=True)
class RawFeed:
    entries: list[RawEntry] = field(default_factory=list)
    title: str | None = None
    language: str | None = None
    version: str = ""
    # What feedparser would have reported as `bozo_exception` (class name,
    # message) although the XML was fine: a charset or media-type complaint.
    problem: tuple[str, str] | None = None
