"""The daily digest: at `[slack.digest] daily_at` in the team's time zone, one
message with the last 24 hours' counts per state and topic and the top stories.

Checked every minute; the `digests` table makes it once per day and channel
across restarts and processes. If normwatch was not running at that time,
the day's digest goes when it starts.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.digest import DaySummary, TopStory, render_daily
from bot.runtime import Runtime
from bot.slack import Poster
from storage.db import transaction
from storage.digests import claim_digest, mark_digest, top_stories
from storage.history import HitFilter
from storage.stats import count_hits

log = logging.getLogger("normwatch.daily")

LEASE = timedelta(minutes=2)
RETRY = timedelta(minutes=5)


def due_day(daily_at: str, now: datetime, timezone: str) -> tuple[str, datetime] | None:
    """The local day whose digest is due at `now`, and its moment; None before it."""
    if not daily_at:
        return None
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    hour, minute = map(int, daily_at.split(":"))
    moment = datetime.combine(local.date(), time(hour, minute), tzinfo=zone)
    # Compared as instants, not wall times: a time the spring clock change
    # skips (03:30 when 03:00 jumps to 04:00) comes at 04:30, never before.
    if now < moment:
        return None
    return local.date().isoformat(), moment


def send_daily_digest(rt: Runtime, poster: Poster | None) -> bool:
    """Post the day's digest if it is due and not yet sent; True when posted."""
    slack = rt.config.slack
    now = rt.clock()
    due = due_day(slack.digest.daily_at, now, rt.config.normwatch.timezone)
    if due is None or poster is None:
        return False
    day, moment = due
    channel = slack.digest.channel or slack.channel
    since, until = moment - timedelta(days=1), moment
    with transaction(rt.sessions) as session:
        digest_id = claim_digest(
            session, kind="daily", day=day, channel=channel, now=now, lease=LEASE
        )
        if digest_id is None:
            return False
        window = HitFilter(since=since, until=until)
        by_state = {
            c.key or "?": c.hits for c in count_hits(session, window, by="state")
        }
        by_topic = {c.key: c.hits for c in count_hits(session, window, by="topic")}
        stories = top_stories(session, since=since, until=until, limit=slack.digest.top)
    summary = DaySummary(
        day=day,
        hits=sum(by_state.values()),
        by_state=by_state,
        by_topic=by_topic,
        top=[TopStory(s.title, s.url, s.state, s.topic, s.outlets) for s in stories],
    )
    delivery = poster.post(channel, render_daily(summary, states=rt.state_names))
    with transaction(rt.sessions) as session:
        if delivery.ok:
            mark_digest(session, digest_id, now=rt.clock(), ts=delivery.ts)
        else:
            mark_digest(
                session, digest_id, now=rt.clock(), error=delivery.error, wait=RETRY
            )
    if delivery.ok:
        log.info("slack: posted the daily digest for %s to %s", day, channel)
    else:
        log.warning("slack: daily digest for %s not posted: %s", day, delivery.error)
    return delivery.ok
