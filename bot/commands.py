"""What `/normwatch …` answers in Slack: parsing the words, building the reply.

Replies are ephemeral (only the person who asked sees them) and built like
alerts: feed text escaped, sections cut to Block Kit's limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.alert import (
    TOPIC_WORDS,
    cut,
    escape,
    escape_entities,
    flag,
    safe_url,
    topic_words,
)
from bot.config import parse_duration
from bot.digest import LINE_LINK_MAX, LINE_TITLE_MAX, sections
from bot.runtime import Runtime
from storage.feedstate import feed_health
from storage.history import HitFilter, HitRow, list_hits
from storage.outbox import channel_problems
from storage.search import SearchSyntaxError, search_hits
from storage.stats import GroupCount, count_hits

SHOWN = 10

HELP = """*normwatch* answers (only you see the answer):
• `/normwatch hits [state] [topic] [since]` — the latest hits, e.g. `/normwatch hits LT 7d` or `/normwatch hits ccm_withdrawal 2026-11-01`
• `/normwatch search TEXT` — hits whose title or text has these words (`prefix*`, `"a phrase"`, `a OR b`, `-word`)
• `/normwatch feeds` — which feeds are failing
• `/normwatch stats` — hits per state and topic this week, and how often each rule was judged relevant
• `/normwatch help` — this list"""


@dataclass(frozen=True)
class Answer:
    text: str
    blocks: list[dict[str, Any]]


def _answer(text: str) -> Answer:
    return Answer(text=cut(text, 3000), blocks=sections([text]))


def answer(rt: Runtime, text: str) -> Answer:
    words = text.split()
    verb = words[0].lower() if words else "help"
    if verb == "hits":
        return hits_answer(rt, words[1:])
    if verb == "search":
        return search_answer(rt, " ".join(words[1:]))
    if verb == "feeds":
        return feeds_answer(rt)
    if verb == "stats":
        return stats_answer(rt)
    if verb == "help":
        return _answer(HELP)
    return _answer(f"I don't know “{escape(cut(verb, 40))}”.\n{HELP}")


def parse_hits_words(
    words: list[str], *, states: set[str], topics: set[str], now: datetime
) -> HitFilter:
    """`LT`, `ccm_withdrawal`, `7d` or `2026-11-01`, in any order; ValueError names a stranger."""
    state = topic = None
    since: datetime | None = None
    for word in words:
        if word.upper() in states:
            state = word.upper()
        elif word.lower() in topics:
            topic = word.lower()
        else:
            since = _since(word, now)
    return HitFilter(state=state, topic=topic, since=since, limit=SHOWN + 1)


def _since(word: str, now: datetime) -> datetime:
    if word.isdecimal():
        # A duration without a unit is seconds; nobody asks for the last 7 seconds.
        raise ValueError(f"“{word}” needs a unit: {word}d for days, {word}h for hours")
    try:
        return now - timedelta(seconds=parse_duration(word))
    except ValueError:
        pass
    try:
        day = datetime.fromisoformat(word)
    except ValueError:
        raise ValueError(
            f"“{escape(cut(word, 40))}” is not a state, a topic or a time "
            "(like 7d, 12h or 2026-11-01)"
        ) from None
    return day if day.tzinfo else day.replace(tzinfo=UTC)


def hit_line(hit: HitRow, timezone: str) -> str:
    title = escape(cut(hit.title or "(untitled)", LINE_TITLE_MAX))
    url = safe_url(hit.url)
    linked = f"<{url}|{title}>" if url and len(url) <= LINE_LINK_MAX else title
    when = hit.published_at or hit.fetched_at
    local = when.astimezone(ZoneInfo(timezone)).strftime("%d %b %H:%M")
    return (
        f"• {flag(hit.state)} {linked} — {topic_words(hit.topic)} · "
        f"{escape(cut(hit.feed, 60))} · {local}"
    )


def _listing(rows: list[HitRow], heading: str, timezone: str) -> Answer:
    if not rows:
        return _answer(f"{heading}: none.")
    shown = rows[:SHOWN]
    lines = [f"*{heading}* (newest first)"] + [hit_line(r, timezone) for r in shown]
    if len(rows) > SHOWN:
        lines.append(
            f"_Only the latest {SHOWN} are shown; `normwatch hits` lists them all._"
        )
    return Answer(text=cut("\n".join(lines), 3000), blocks=sections(lines))


def hits_answer(rt: Runtime, words: list[str]) -> Answer:
    config = rt.config
    topics = {r.topic for r in config.rules} | set(TOPIC_WORDS)
    try:
        filters = parse_hits_words(
            words, states=set(config.states), topics=topics, now=rt.clock()
        )
    except ValueError as exc:
        return _answer(f"{exc}.\n{HELP}")
    with rt.sessions() as session:
        rows = list_hits(session, filters)
    parts = [
        config.states[filters.state].name if filters.state else "",
        topic_words(filters.topic) if filters.topic else "",
        f"since {filters.since:%d %b %Y}" if filters.since else "",
    ]
    heading = "Hits" + (": " + ", ".join(p for p in parts if p) if any(parts) else "")
    return _listing(rows, heading, config.normwatch.timezone)


def search_answer(rt: Runtime, text: str) -> Answer:
    text = text.strip()
    if not text:
        return _answer("Search for what? For example `/normwatch search Seimas`.")
    try:
        with rt.sessions() as session:
            rows = search_hits(session, text, HitFilter(limit=SHOWN + 1))
    except SearchSyntaxError as exc:
        return _answer(f"{escape(str(exc))}\n{HELP}")
    heading = f"Hits matching “{escape(cut(text, 80))}”"
    return _listing(rows, heading, rt.config.normwatch.timezone)


def feeds_answer(rt: Runtime) -> Answer:
    with rt.sessions() as session:
        health = feed_health(session, [f.url for f in rt.config.feeds])
        problems = channel_problems(session)
    failing = [h for h in health if h.status == "failing"]
    lines = [f"*{len(health)} feeds*, {len(failing)} failing."]
    for h in failing[:20]:
        lines.append(
            f"• *{escape(h.name)}*: {h.consecutive_failures} failures, "
            f"{escape(cut(h.last_error or 'unknown error', 200))}"
        )
    for p in problems:
        lines.append(f"• Slack channel {escape(p.channel)}: {escape(p.message)}")
    return Answer(text=cut("\n".join(lines), 3000), blocks=sections(lines))


def _counts(groups: list[GroupCount], name: dict[str, str]) -> str:
    return ", ".join(f"{name.get(g.key, g.key) or '?'} {g.hits}" for g in groups)


def stats_answer(rt: Runtime) -> Answer:
    week = HitFilter(since=rt.clock() - timedelta(days=7))
    with rt.sessions() as session:
        by_state = count_hits(session, week, by="state")
        by_topic = count_hits(session, week, by="topic")
        by_rule = count_hits(session, HitFilter(), by="rule")
    lines = [f"*{sum(g.hits for g in by_state)} hits in the last 7 days*"]
    if by_state:
        lines.append("By state: " + _counts(by_state, rt.state_names))
        lines.append(
            "By topic: "
            + _counts(by_topic, {g.key: topic_words(g.key) for g in by_topic})
        )
    judged = [g for g in by_rule if g.judged]
    if judged:
        lines.append("*Judged by the team*, all time (relevant / judged):")
        for g in judged:
            lines.append(
                f"• {escape_entities(g.key)}: {g.relevant} / {g.judged} ({g.precision or 0:.0%})"
            )
    return Answer(text=cut("\n".join(lines), 3000), blocks=sections(lines))
