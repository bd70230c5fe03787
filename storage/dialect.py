"""`INSERT … ON CONFLICT DO NOTHING`, spelled for whichever backend is in use."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import Base


def insert_ignore(
    session: Session,
    model: type[Base],
    *,
    conflict: list[str],
    returning: Sequence[str] = (),
) -> Any:
    """A Core insert into `model`'s table that skips rows violating the unique
    key `conflict`, returning the named columns of the rows it inserted. Core,
    not ORM: the ORM's bulk path costs more than the insert itself for a
    feed's worth of rows."""
    name = session.get_bind().dialect.name
    return _insert_ignore(name, model, tuple(conflict), tuple(returning))


@cache
def _insert_ignore(
    dialect: str,
    model: type[Base],
    conflict: tuple[str, ...],
    returning: tuple[str, ...],
) -> Any:
    # One statement object per shape, reused: SQLAlchemy then finds its
    # compiled form without working out a cache key for a new object on every
    # call, which cost more than the insert itself (~0.3 ms of Python).
    module = postgresql if dialect == "postgresql" else sqlite
    table = cast(Table, model.__table__)
    statement = module.insert(table).on_conflict_do_nothing(index_elements=conflict)
    if returning:
        statement = statement.returning(*(table.c[column] for column in returning))
    return statement
