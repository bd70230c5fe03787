"""`INSERT … ON CONFLICT DO NOTHING`, spelled for whichever backend is in use."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import Base


def insert_ignore(session: Session, model: type[Base], *, conflict: list[str]) -> Any:
    """An insert that skips rows violating the unique key `conflict`."""
    name = session.get_bind().dialect.name
    module = postgresql if name == "postgresql" else sqlite
    return module.insert(model).on_conflict_do_nothing(index_elements=conflict)
