"""`INSERT … ON CONFLICT DO NOTHING`, spelled for whichever backend is in use."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import Base


def insert_ignore(session: Session, model: type[Base], *, conflict: list[str]) -> Any:
    """A Core insert into `model`'s table that skips rows violating the unique
    key `conflict`. Core, not ORM: the ORM's bulk path costs more than the
    insert itself for a feed's worth of rows."""
    name = session.get_bind().dialect.name
    module = postgresql if name == "postgresql" else sqlite
    table = cast(Table, model.__table__)
    return module.insert(table).on_conflict_do_nothing(index_elements=conflict)
