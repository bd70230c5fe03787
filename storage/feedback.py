"""What the team said about hits: "relevant" or "not relevant", by whom, when.

Every click is kept; a change of mind adds a row, and the latest row is the
hit's verdict (storage.history.latest_verdict).
"""

from __future__ import annotations

from collections.abc import Sequence
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
