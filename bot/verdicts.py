"""The team's verdicts on an alert, as a context line under it.

Both the Slack app (after a click) and the outlet-count update (which
re-renders the alert) draw it, so a later update never hides who judged it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.alert import SECTION_MAX, cut, escape, mrkdwn
from storage.feedback import judgements

VERDICT_BLOCK = "normwatch_verdict"
# The verdict line names this many judges at most (the latest ones).
MAX_JUDGES = 10
VERDICT_WORDS = {
    "relevant": ":white_check_mark: Relevant",
    "not_relevant": ":no_entry_sign: Not relevant",
}

Verdict = tuple[str, str, str]  # verdict, who, when (team time)


def verdicts_on(
    session: Session, hit_ids: Sequence[int], timezone: str
) -> list[Verdict]:
    """Each judge's latest verdict on these hits, oldest first."""
    zone = ZoneInfo(timezone)
    return [
        (j.verdict, j.who.rsplit(" (", 1)[0], f"{j.at.astimezone(zone):%d %b %H:%M}")
        for j in judgements(session, hit_ids)
    ]


def with_verdict(
    blocks: list[dict[str, Any]], verdicts: list[Verdict]
) -> list[dict[str, Any]]:
    """The alert's blocks with a line per person who judged it (verdict, name,
    when), so a second judge does not hide the first."""
    kept = [b for b in blocks if b.get("block_id") != VERDICT_BLOCK]
    if not verdicts:
        return kept
    said = [
        f"{VERDICT_WORDS[verdict]} — marked by {escape(cut(who, 80))}, {when}"
        for verdict, who, when in verdicts[-MAX_JUDGES:]
    ]
    line = {
        "type": "context",
        "block_id": VERDICT_BLOCK,
        "elements": [mrkdwn(cut("\n".join(said), SECTION_MAX))],
    }
    return [*kept, line][-50:]
