"""What the team said about hits: "relevant" or "not relevant", by whom, when.

Every click is kept; a change of mind adds a row, and the latest row is the
hit's verdict (storage.history.latest_verdict).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Feedback, Hit

VERDICTS = ("relevant", "not_relevant")


def record_feedback(
    session: Session, hit_ids: Sequence[int], *, verdict: str, who: str, now: datetime
) -> int:
    """Store one verdict for each hit that exists; returns how many were stored."""
    if verdict not in VERDICTS:
        raise ValueError(
            f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}"
        )
    known = session.scalars(select(Hit.id).where(Hit.id.in_(list(hit_ids)))).all()
    for hit_id in known:
        session.add(
            Feedback(hit_id=hit_id, verdict=verdict, who=who[:200], created_at=now)
        )
    return len(known)


@dataclass(frozen=True)
class Judgement:
    who: str
    verdict: str
    at: datetime


def judgements(session: Session, hit_ids: Sequence[int]) -> list[Judgement]:
    """Each person's latest verdict on these hits, the most recent click last."""
    rows = session.execute(
        select(Feedback.who, Feedback.verdict, Feedback.created_at)
        .where(Feedback.hit_id.in_(list(hit_ids)))
        .order_by(Feedback.created_at, Feedback.id)
    ).all()
    latest: dict[str, Judgement] = {}
    for who, verdict, at in rows:
        latest.pop(who, None)  # re-inserted: a change of mind moves to the end
        latest[who] = Judgement(who, verdict, at)
    return list(latest.values())
