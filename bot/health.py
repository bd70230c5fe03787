"""Telling the team, once, when a feed has been failing for hours, and when it is back.

Never a message per failure: a feed is reported when its current run of
failures passes `[fetch] report_failing_after`, and once more when it
recovers. The mark that it was told lives in the `feeds` table, so restarts
and several instances do not repeat it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.alert import escape
from bot.runtime import Runtime
from bot.slack import Poster
from storage.db import transaction
from storage.feedstate import take_health_news
from storage.models import Feed

log = logging.getLogger("normwatch.health")


def _since(then: datetime | None, now: datetime) -> str:
    if then is None:
        return "a while"
    hours = (now - then).total_seconds() / 3600
    return f"{hours:.0f} h" if hours >= 1 else f"{hours * 60:.0f} min"


def failing_message(feed: Feed, now: datetime) -> str:
    return (
        f":warning: Feed *{escape(feed.name)}* ({escape(feed.url)}) has been failing for "
        f"{_since(feed.failing_since, now)}: {escape(feed.last_error or 'unknown error')}. "
        "normwatch keeps trying; `normwatch feeds` shows every feed's health."
    )


def recovered_message(feed: Feed) -> str:
    return f":white_check_mark: Feed *{escape(feed.name)}* is working again."


def report_health(rt: Runtime, poster: Poster | None) -> int:
    """Send what is new about feed health; returns how many messages went out."""
    after = rt.config.fetch.report_failing_after
    if not after:
        return 0
    now = rt.clock()
    with transaction(rt.sessions) as session:
        failing, recovered = take_health_news(
            session,
            [f.url for f in rt.config.feeds],
            now=now,
            failing_for=timedelta(seconds=after),
        )
        messages = [failing_message(f, now) for f in failing] + [
            recovered_message(f) for f in recovered
        ]
    channel = rt.config.slack.ops_channel or rt.config.slack.channel
    sent = 0
    for text in messages:
        log.warning("%s", text.replace("*", ""))
        if poster is None:
            continue
        delivery = poster.post_text(channel, text)
        if delivery.ok:
            sent += 1
        else:
            log.warning(
                "could not tell %s about feed health: %s", channel, delivery.error
            )
    return sent
