"""Digests, rendered as Block Kit. Pure.

A burst digest stands in for many alerts due at once in one channel: one line
per alert, each linked, oldest first. The daily digest gives the day's counts
per state and topic and its top stories. Feed text is escaped as in alerts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.alert import (
    HEADER_MAX,
    SECTION_MAX,
    RenderedAlert,
    cut,
    escape,
    flag,
    mrkdwn,
    safe_url,
    strip_invisible,
    topic_words,
)
from storage.outbox import PendingAlert

# Slack refuses messages well below the sum of its per-block limits (about
# 13k characters of blocks has been seen to fail): stay under this.
DIGEST_BUDGET = 11_000
DIGEST_MAX_ALERTS = 50
LINE_TITLE_MAX = 120
LINE_LINK_MAX = 500


def digest_line(alert: PendingAlert) -> str:
    first = alert.hits[0]
    title = escape(cut(strip_invisible(alert.title) or "(untitled)", LINE_TITLE_MAX))
    url = safe_url(alert.url)
    linked = f"<{url}|{title}>" if url and len(url) <= LINE_LINK_MAX else title
    where = " ".join(p for p in (flag(first.state), first.state or "") if p)
    return f"• {where} {linked} — {escape(cut(alert.feed, 60))} · {topic_words(first.topic)}"


def sections(lines: Sequence[str]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    chunk = ""
    for line in lines:
        if chunk and len(chunk) + 1 + len(line) > SECTION_MAX:
            blocks.append(_mrkdwn(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else cut(line, SECTION_MAX)
    if chunk:
        blocks.append(_mrkdwn(chunk))
    return blocks


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text)}


def _header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": cut(text, HEADER_MAX), "emoji": True},
    }


def render_burst(alerts: Sequence[PendingAlert]) -> tuple[RenderedAlert, int]:
    """A digest of the first alerts that fit; returns it and how many it holds."""
    lines: list[str] = []
    size = 0
    for alert in alerts[:DIGEST_MAX_ALERTS]:
        line = digest_line(alert)
        if lines and size + len(line) > DIGEST_BUDGET:
            break
        lines.append(line)
        size += len(line) + 1
    states = sorted({a.hits[0].state or "?" for a in alerts[: len(lines)]})
    header = f"{len(lines)} new alerts · {', '.join(states)}"
    blocks = [
        _header(header),
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Many alerts came in at once, so here they are in one "
                    "message, oldest first.",
                }
            ],
        },
        *sections(lines),
    ]
    fallback = header + "\n" + "\n".join(lines)
    return RenderedAlert(text=cut(fallback, 12_000), blocks=blocks), len(lines)


@dataclass(frozen=True)
class TopStory:
    title: str
    url: str | None
    state: str | None
    topic: str
    outlets: int


@dataclass(frozen=True)
class DaySummary:
    day: str  # YYYY-MM-DD in the team's time zone
    hits: int
    by_state: dict[str, int]
    by_topic: dict[str, int]
    top: list[TopStory]


def render_daily(summary: DaySummary, *, states: dict[str, str]) -> RenderedAlert:
    header = f"normwatch daily digest · {summary.day}"
    if not summary.hits:
        text = "No alerts in the last 24 hours."
        return RenderedAlert(
            text=f"{header}: {text}", blocks=[_header(header), _mrkdwn(text)]
        )
    per_state = ", ".join(
        f"{flag(code)} {escape(states.get(code, code))} {n}".strip()
        for code, n in sorted(summary.by_state.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    per_topic = ", ".join(
        f"{topic_words(topic)} {n}"
        for topic, n in sorted(summary.by_topic.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    counts = (
        f"*{summary.hits} hits* in the last 24 hours\n"
        f"*By state:* {per_state}\n*By topic:* {per_topic}"
    )
    lines = []
    for story in summary.top:
        title = escape(
            cut(strip_invisible(story.title) or "(untitled)", LINE_TITLE_MAX)
        )
        url = safe_url(story.url)
        linked = f"<{url}|{title}>" if url and len(url) <= LINE_LINK_MAX else title
        outlets = f"{story.outlets} outlet{'s' if story.outlets != 1 else ''}"
        lines.append(
            f"• {flag(story.state)} {linked} — {topic_words(story.topic)} · {outlets}"
        )
    blocks = [_header(header), _mrkdwn(cut(counts, SECTION_MAX))]
    if lines:
        blocks.append(_mrkdwn("*Top stories*"))
        blocks += sections(lines)
    fallback = f"{header}: {summary.hits} hits; " + "; ".join(
        f"{code} {n}" for code, n in sorted(summary.by_state.items())
    )
    return RenderedAlert(text=cut(fallback, 3000), blocks=blocks)
