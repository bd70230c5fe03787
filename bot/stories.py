"""Stories: one alert per event, however many outlets and feeds carry it.

A matched item joins a story, tried in this order:

1. **same article** — an item of a story has the same canonical URL
   (`feeds.canonical`), whichever feed carried it;
2. **near-duplicate** — an item of a story about the same state, published
   within `[stories] window` (72 h) either side, has nearly the same text
   (a title and lead of ten words or more): estimated Jaccard
   similarity of word 3-shingles at least `near_duplicate` (`bot.neardup`;
   0 turns this step off);
3. **same event** — with `event_threads` on, a story first alerted within
   `event_window` (48 h) has a hit for the same state and topic: a report in
   another language or with other words joins that thread;
4. otherwise a new story, keyed by the item's canonical URL.

The first item of a story is its alert. A later one, from an outlet the
story does not have yet, becomes a thread reply under the alert (at most
`max_replies` per story), and the alert is updated with the outlet count. A
later item that brings a rule the story has not matched before gets a reply
even from a known outlet, naming the rule. Anything else is stored quietly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from bot.config import Stories
from bot.neardup import signature, similarity
from feeds.canonical import site_of
from storage.archive import HitRecord, Recorded, record_hits
from storage.followups import queue_followups
from storage.stories import (
    event_story,
    join_story,
    new_story,
    signed_near,
    story_content,
    story_of_url,
    story_states,
)

# News-search hosts: their links name the search engine, not the outlet.
SEARCH_HOSTS = ("news.google.com", "bing.com")

Reason = Literal["url", "near_duplicate", "event", "new"]


@dataclass(frozen=True)
class Report:
    """One matched item, as `bot.poll` hands it over."""

    item_id: int
    feed: str  # the feed's name
    url: str | None
    canonical_url: str | None
    title: str
    summary: str
    language: str | None
    published_at: datetime


@dataclass(frozen=True)
class Placed:
    story_id: int
    reason: Reason
    recorded: Recorded
    replies: int


def outlet_of(report: Report) -> str:
    """Who published an item: the site's host, or for a news-search item the
    outlet its title names ("… - LRT.lt"), else the feed's name."""
    site = site_of(report.canonical_url)
    if site and not any(site == h or site.endswith("." + h) for h in SEARCH_HOSTS):
        return site
    head, dash, source = report.title.rpartition(" - ")
    if site and dash and head.strip() and 0 < len(source.strip()) <= 80:
        return source.strip()
    return report.feed


def place(
    session: Session,
    report: Report,
    hits: Sequence[HitRecord],
    *,
    settings: Stories,
    now: datetime,
) -> tuple[int, Reason]:
    """Choose the story of a matched item and record it on the item."""
    minhash = signature(report.title, report.summary)
    story_id, reason = _existing(session, report, hits, minhash, settings, now)
    if story_id is None:
        key = report.canonical_url or f"item:{report.item_id}"
        story_id, created = new_story(session, key=key, title=report.title, now=now)
        if not created:  # the story of this URL, whose items have since gone
            reason = "url"
    join_story(
        session, report.item_id, story_id, outlet=outlet_of(report), minhash=minhash
    )
    return story_id, reason


def _existing(
    session: Session,
    report: Report,
    hits: Sequence[HitRecord],
    minhash: bytes | None,
    settings: Stories,
    now: datetime,
) -> tuple[int | None, Reason]:
    if report.canonical_url:
        found = story_of_url(session, report.canonical_url)
        if found is not None:
            return found, "url"
    if minhash is not None and settings.near_duplicate > 0:
        window = timedelta(seconds=settings.window)
        states = {h.state for h in hits if h.state}
        for other in signed_near(
            session, published_at=report.published_at, window=window
        ):
            if similarity(minhash, other.minhash) < settings.near_duplicate:
                continue
            # Wire copy about another state is another event, however alike.
            theirs = story_states(session, other.story_id)
            if not states or not theirs or states & theirs:
                return other.story_id, "near_duplicate"
    if settings.event_threads:
        pairs = {(h.state, h.topic) for h in hits if h.state}
        since = now - timedelta(seconds=settings.event_window)
        found = event_story(session, pairs, since=since)
        if found is not None:
            return found, "event"
    return None, "new"


def file_hits(
    session: Session,
    report: Report,
    hits: Sequence[HitRecord],
    *,
    channels: Sequence[str],
    alertable: bool,
    settings: Stories,
    now: datetime,
) -> Placed:
    """Place a matched item in its story, store its hits, and queue its alert
    or its follow-ups, in the caller's transaction."""
    story_id, reason = place(session, report, hits, settings=settings, now=now)
    # A story created just now holds nothing before this item and has no
    # alert to follow up: the queries below would all come back empty.
    before = (
        None
        if reason == "new"
        else story_content(session, story_id, before_item=report.item_id)
    )
    recorded = record_hits(
        session,
        report.item_id,
        hits,
        now=now,
        channels=channels,
        alertable=alertable,
        story_id=story_id,
    )
    replies = 0
    if before is None:
        return Placed(story_id, reason, recorded, replies)
    # Where the story is already alerted, this item is a follow-up (a channel
    # that routing adds for it gets its own alert from record_hits).
    if alertable and recorded.hit_ids:
        outlet = outlet_of(report).lower()
        new_rules = sorted({h.rule for h in hits} - before.rules)
        if outlet not in before.outlets:
            key: str | None = outlet
        elif new_rules:
            key = f"rule:{new_rules[0]}"
        else:
            key = None
        replies = queue_followups(
            session,
            story_id=story_id,
            hit_id=recorded.hit_ids[0],
            reply_key=key,
            now=now,
            max_replies=settings.max_replies,
            own_hits=recorded.hit_ids,
        ).replies
    return Placed(story_id, reason, recorded, replies)
