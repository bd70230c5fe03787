"""Follow-ups in Slack: thread replies under a story's alert, and the alert's update.

A reply says who else reported the story and what is new with it (the
outlet, a language the thread did not have, a rule or topic it had not
matched). The update re-renders the original alert with the number of
outlets. Both wait until the alert itself is posted: its Slack `ts` is the
thread. Rendering is pure; `post_followup` does the reading and the posting.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.alert import (
    FALLBACK_MAX,
    SECTION_MAX,
    AlertStyle,
    RenderedAlert,
    cut,
    escape,
    escape_entities,
    render_alert,
    safe_url,
    topic_words,
)
from bot.runtime import Runtime
from bot.slack import Delivery, Poster, SlackPoster
from bot.verdicts import verdicts_on, with_verdict
from feeds.canonical import site_of
from storage.db import transaction
from storage.followups import Thread, thread_of
from storage.models import Item
from storage.outbox import PendingAlert, alert_by_id
from storage.stories import StoryContent, story_content

# The alert is not posted yet: try the follow-up again shortly.
WAIT_FOR_PARENT = 15.0


def outlet_label(
    feed: str, outlet: str | None, url: str | None, canonical_url: str | None
) -> str:
    """Who published an item: the feed's name, or when the item came through a
    news search or a redirect, the outlet it names and the feed it came by."""
    if not outlet or outlet == feed:
        return feed
    if outlet == site_of(canonical_url) and site_of(url) == outlet:
        return feed  # the outlet's own link
    return f"{outlet} (via {feed})"


def render_reply(
    alert: PendingAlert,
    *,
    outlet: str,
    before: StoryContent,
    timezone: str = "UTC",
) -> RenderedAlert:
    """ "Also reported by …", naming what this item adds to the thread."""
    url = safe_url(alert.url)
    title = cut(escape(alert.title or "(untitled)"), 500)
    title_line = f"<{url}|{title}>" if url else title
    language = (alert.language or "").upper()
    when = ""
    if alert.published_at:
        when = alert.published_at.astimezone(ZoneInfo(timezone)).strftime(
            "%d %b %H:%M %Z"
        )
    meta = " · ".join(p for p in (escape(language), when) if p)
    head = f"↳ Also reported by *{escape(outlet)}*" + (f" · {meta}" if meta else "")
    new: list[str] = [f"outlet {outlet}"]
    if alert.language and alert.language not in before.languages:
        new.append(f"language {language}")
    for hit in alert.hits:
        if hit.rule not in before.rules:
            new.append(f"rule {hit.rule} ({topic_words(hit.topic)})")
    terms = list(dict.fromkeys(t for h in alert.hits for t in h.matched))
    context = f"New here: {escape_entities('; '.join(dict.fromkeys(new)))}"
    if terms:
        context += f" · Matched: {escape(', '.join(terms))}"
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": cut(f"{head}\n{title_line}", SECTION_MAX),
            },
        },
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": cut(context, SECTION_MAX)}],
        },
    ]
    fallback = f"Also reported by {outlet}: {escape(alert.title or '(untitled)')}"
    if url:
        fallback += f" {url}"
    return RenderedAlert(text=cut(fallback, FALLBACK_MAX), blocks=blocks)


def render_update(
    original: PendingAlert,
    *,
    outlets: int,
    states: dict[str, str],
    timezone: str = "UTC",
    style: AlertStyle | None = None,
) -> RenderedAlert:
    """The original alert again, with the number of outlets that reported it."""
    rendered = render_alert(
        original, states=states, timezone=timezone, style=style or AlertStyle()
    )
    line = f"📰 Reported by {outlets} outlets · more in the thread"
    blocks = [
        *rendered.blocks,
        {"type": "context", "elements": [{"type": "mrkdwn", "text": line}]},
    ]
    text = cut(f"{rendered.text} ({outlets} outlets)", FALLBACK_MAX)
    return RenderedAlert(text=text, blocks=blocks)


def render_console_followup(alert: PendingAlert) -> str | None:
    """A reply as one terminal line (no Slack token); updates print nothing."""
    if alert.kind != "reply":
        return None
    return (
        f"  ↳ also reported by {alert.feed}: {alert.title} {alert.url or ''}".rstrip()
    )


def post_followup(
    rt: Runtime, poster: Poster, alert: PendingAlert, *, style: AlertStyle
) -> Delivery:
    """Post a reply in its alert's thread, or update the alert, once it is posted."""
    if not isinstance(poster, SlackPoster):
        return _undeliverable(alert, "an incoming webhook cannot post in threads")
    with transaction(rt.sessions) as session:
        thread = thread_of(session, alert.outbox_id)
        if thread is None:
            return _undeliverable(alert, "its alert no longer exists")
        if thread.slack_ts is None or thread.slack_channel is None:
            if thread.parent_status != "pending":
                return _undeliverable(alert, "its alert could not be delivered")
            return Delivery(
                ok=False,
                error=f"slack: follow-up {alert.outbox_id} waits for alert {thread.parent_id}",
                wait=WAIT_FOR_PARENT,
            )
        if alert.kind == "update" and thread.in_digest:
            # The alert went out inside a digest: that message is not its own.
            return Delivery(
                ok=True, channel_id=thread.slack_channel, ts=thread.slack_ts
            )
        if alert.kind == "update":
            original = alert_by_id(session, thread.parent_id)
            assert original is not None
            rendered = render_update(
                original,
                outlets=thread.outlets,
                states=rt.state_names,
                timezone=rt.config.normwatch.timezone,
                style=style,
            )
            # The update replaces the whole message: keep the team's verdicts.
            said = verdicts_on(
                session,
                [h.hit_id for h in original.hits if h.hit_id],
                rt.config.normwatch.timezone,
            )
            rendered = RenderedAlert(
                text=rendered.text, blocks=with_verdict(rendered.blocks, said)
            )
        else:
            rendered = _reply(session, alert, thread, rt.config.normwatch.timezone)
    if alert.kind == "update":
        return poster.update(thread.slack_channel, thread.slack_ts, rendered)
    return poster.post(thread.slack_channel, rendered, thread_ts=thread.slack_ts)


def _reply(
    session: Session, alert: PendingAlert, thread: Thread, timezone: str
) -> RenderedAlert:
    item = session.get(Item, thread.item_id)
    before = story_content(session, thread.story_id, before_item=thread.item_id)
    label = (
        outlet_label(alert.feed, item.outlet, item.url, item.canonical_url)
        if item
        else alert.feed
    )
    return render_reply(alert, outlet=label, before=before, timezone=timezone)


def _undeliverable(alert: PendingAlert, why: str) -> Delivery:
    return Delivery(
        ok=False,
        error=f"slack: follow-up {alert.outbox_id} dropped: {why}",
        undeliverable=True,
    )
