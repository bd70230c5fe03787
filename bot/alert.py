"""Rendering an alert as Slack Block Kit plus a plain-text fallback. Pure.

Feed text is untrusted: it is escaped for mrkdwn (`&`, `<`, `>`), so nothing a
feed says can ping (`<!channel>`, `<@U…>`), link (`<url|label>`) or add
markup that Slack would act on. Text is cut to Block Kit's limits with an
ellipsis, so Slack never rejects an alert for its size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from storage.outbox import PendingAlert

HEADER_MAX = 150
SECTION_MAX = 3000
FALLBACK_MAX = 3000
MAX_LINK = 1000

TOPIC_WORDS = {
    "ccm_withdrawal": "Leaving the Convention on Cluster Munitions",
    "ottawa_withdrawal": "Leaving the Mine Ban Treaty",
    "cluster_use": "Use of cluster munitions",
    "cluster_acquisition": "Buying, making, moving or stockpiling cluster munitions",
    "cluster_assistance": "Helping others with cluster munitions",
    "mine_use": "Anti-personnel mines: use or acquisition",
}


_FORMATTING = re.compile(r"([*_~`])")
# Characters that can hide text or reorder a line (bidi overrides and
# isolates, zero-width spaces, control codes): feed text loses them. Joiners
# (U+200C, U+200D) stay: scripts and emoji sequences need them.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
    "\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
RELEVANT_ACTION = "normwatch_relevant"
NOT_RELEVANT_ACTION = "normwatch_not_relevant"
FEEDBACK_BLOCK = "normwatch_feedback"


def mrkdwn(text: str) -> dict[str, Any]:
    """A mrkdwn text object that Slack takes as written: with the default
    `verbatim: false` Slack itself turns a bare "@channel", "@here" or "#general"
    in feed text into a live mention or link. Our own `<!here>` and `<url|label>`
    markup still works."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def escape_entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def strip_invisible(text: str) -> str:
    return _INVISIBLE.sub("", text) if _INVISIBLE.search(text) else text


def escape(text: str) -> str:
    """Make feed text inert in Slack mrkdwn.

    `&`, `<` and `>` become entities, so nothing can ping or link. A zero-width
    space goes before `*`, `_`, `~` and backticks: Slack only formats from a
    word boundary, so a headline's asterisks stay asterisks. Invisible
    characters that could hide text or reverse the line are dropped.
    """
    text = escape_entities(strip_invisible(text))
    return _FORMATTING.sub("\u200b\\1", text) if _FORMATTING.search(text) else text


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def safe_url(url: str | None) -> str | None:
    """An http(s) URL that cannot break out of `<url|label>`, or None."""
    if not url:
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    if scheme not in {"http", "https"}:
        return None
    quoted = quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")
    # A link longer than this would crowd the title out of its section.
    return quoted if len(quoted) <= MAX_LINK else None


def flag(code: str | None) -> str:
    if not code or len(code) != 2 or not code.isalpha():
        return ""
    return "".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in code.upper())


def topic_words(topic: str) -> str:
    return TOPIC_WORDS.get(topic, topic.replace("_", " ").capitalize())


def bold_terms(text: str, terms: list[str]) -> str:
    """Escape `text` and bold whole-word occurrences of the matched terms.

    Terms are found in the raw text and each piece is escaped on its own, so
    a term can never bold part of an entity (`amp` in `&amp;`) or of a word.
    """
    wanted = sorted({t for t in terms if t.strip()}, key=len, reverse=True)
    if not wanted:
        return escape(text)
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, wanted)) + r")(?!\w)")
    out: list[str] = []
    pos = 0
    for match in pattern.finditer(text):
        out.append(escape(text[pos : match.start()]))
        # A `*` inside a bolded term would end the bold early.
        out.append("*" + escape(match.group()).replace("*", "") + "*")
        pos = match.end()
    out.append(escape(text[pos:]))
    return "".join(out)


@dataclass(frozen=True)
class RenderedAlert:
    text: str
    blocks: list[dict[str, Any]]


@dataclass(frozen=True)
class AlertStyle:
    """What the team's config adds to an alert (none of it comes from a feed)."""

    # Machine-translation page with "{url}" for the article; "" = no link.
    translate_url: str = ""
    # Severity -> Slack markup to notify (`<!here>`), from [slack] mentions.
    mentions: dict[str, str] = field(default_factory=dict)
    buttons: bool = False  # the Slack app is connected to take the clicks


SEVERITY_ORDER = {"low": 0, "medium": 1, "high": 2}


def translation_link(style: AlertStyle, url: str | None, language: str | None) -> str:
    """A mrkdwn link to a machine translation, for articles not in English."""
    lang = (language or "").lower()
    if not style.translate_url or not url or not lang or lang.startswith("en"):
        return ""
    target = safe_url(style.translate_url.replace("{url}", quote(url, safe="")))
    return f"<{target}|machine translation>" if target else ""


def feedback_buttons(hit_ids: list[int]) -> dict[str, Any]:
    value = ",".join(str(i) for i in hit_ids)
    return {
        "type": "actions",
        "block_id": FEEDBACK_BLOCK,
        "elements": [
            {
                "type": "button",
                "action_id": RELEVANT_ACTION,
                "text": {"type": "plain_text", "text": "Relevant"},
                "style": "primary",
                "value": value,
            },
            {
                "type": "button",
                "action_id": NOT_RELEVANT_ACTION,
                "text": {"type": "plain_text", "text": "Not relevant"},
                "value": value,
            },
        ],
    }


def render_alert(
    alert: PendingAlert,
    *,
    states: dict[str, str],
    timezone: str = "UTC",
    style: AlertStyle | None = None,
) -> RenderedAlert:
    style = style or AlertStyle()
    first = alert.hits[0]
    state_name = states.get(first.state or "", first.state or "Unknown state")
    topics = list(dict.fromkeys(topic_words(h.topic) for h in alert.hits))
    header = cut(
        " ".join(p for p in (flag(first.state), f"{state_name} · {topics[0]}") if p),
        HEADER_MAX,
    )
    # Cut before escaping: an escaped cut could split an entity.
    title = escape(cut(strip_invisible(alert.title) or "(untitled)", 300))
    url = safe_url(alert.url)
    title_line = f"*<{url}|{title}>*" if url else f"*{title}*"
    severity = max(
        (h.severity for h in alert.hits), key=lambda s: SEVERITY_ORDER.get(s, 0)
    )
    mention = style.mentions.get(severity, "")
    if mention:
        title_line = f"{mention} {title_line}"
    when = ""
    if alert.published_at:
        local = alert.published_at.astimezone(ZoneInfo(timezone))
        when = local.strftime("%d %b %Y %H:%M %Z")
    language = escape((alert.language or "").upper())
    translated = translation_link(style, url, alert.language)
    meta = " · ".join(
        p for p in (escape(cut(alert.feed, 200)), language, when, translated) if p
    )
    terms = list(dict.fromkeys(t for h in alert.hits for t in h.matched))
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": header, "emoji": True},
        },
        {
            "type": "section",
            "text": mrkdwn(cut(f"{title_line}\n{meta}", SECTION_MAX)),
        },
    ]
    snippet = strip_invisible(first.snippet)
    if snippet:
        # Cut before escaping: an escaped cut could split an entity.
        body = bold_terms(cut(snippet, 500), terms)
        blocks.append(
            {
                "type": "section",
                "text": mrkdwn(cut(body, SECTION_MAX)),
            }
        )
    rules = ", ".join(dict.fromkeys(h.rule for h in alert.hits))
    # Rule names and topics come from the team's config: entities only, so a
    # rule name copied from Slack is the rule name.
    context = f"Rule: {escape_entities(rules)} · Matched: {escape(cut(', '.join(terms), 1000))}"
    if len(topics) > 1:
        context += f" · Also: {escape_entities('; '.join(topics[1:]))}"
    blocks.append(
        {
            "type": "context",
            "elements": [mrkdwn(cut(context, SECTION_MAX))],
        }
    )
    if style.buttons:
        hit_ids = [h.hit_id for h in alert.hits if h.hit_id]
        if hit_ids:
            blocks.append(feedback_buttons(hit_ids))
    fallback = f"{state_name}: {topics[0]} — {title}"
    if url:
        fallback += f" {url}"
    if mention:
        fallback = f"{mention} {fallback}"
    return RenderedAlert(text=cut(fallback, FALLBACK_MAX), blocks=blocks)


def render_console(alert: PendingAlert, *, states: dict[str, str]) -> str:
    """The same alert as plain lines for the terminal (no Slack token configured)."""
    first = alert.hits[0]
    state_name = states.get(first.state or "", first.state or "?")
    terms = ", ".join(dict.fromkeys(t for h in alert.hits for t in h.matched))
    return (
        f"ALERT [{state_name}] {topic_words(first.topic)}\n"
        f"  {alert.title}\n  {alert.url or '(no link)'}\n"
        f"  feed: {alert.feed} · rule: {', '.join(h.rule for h in alert.hits)} · matched: {terms}"
    )
