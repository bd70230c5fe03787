"""Engine and session setup for SQLite (default) and PostgreSQL, and migrations."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from storage.fulltext import restore_triggers

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class StorageError(Exception):
    """The database cannot be reached or used; the message says which and why."""


class BadDatabaseURL(StorageError):
    """The configured database URL itself is wrong (a config problem)."""


def normalize_url(url: str) -> str:
    """Pick psycopg 3 for plain `postgresql://` URLs (SQLAlchemy would pick psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def redact(url: str) -> str:
    """The URL with its password hidden, for logs and error messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<unparseable database URL>"


SQLITE_STATEMENT_CACHE = 32


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the CLI read while the bot writes; busy_timeout waits for a lock
    # instead of failing at once; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs at checkpoints, not at every commit: a crash of
    # the bot loses nothing, a power cut may lose the last commits, and those
    # roll back whole (a feed's items with its validators, so the next cycle
    # fetches them again). FULL cost a disk flush per stored batch.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 - a bad port only fails when read
    except (ArgumentError, ValueError):
        # Not echoed: a malformed URL may carry a password in plain sight.
        raise BadDatabaseURL(
            "storage: the database URL is malformed; expected sqlite:///PATH or "
            "postgresql://USER@HOST[:PORT]/DB"
        ) from None
    if parsed.get_backend_name() not in {"sqlite", "postgresql"}:
        raise BadDatabaseURL(
            f"storage: {redact(url)}: only sqlite:/// and postgresql:// URLs are supported"
        )
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # The sqlite3 module keeps 128 prepared statements per connection by
        # default. A multi-row INSERT is a new statement for every row count,
        # and one with its FTS trigger holds a few hundred KB: 128 of them
        # were 40 MB of a poll cycle's peak. A few dozen keep the small,
        # repeated queries prepared at no measurable CPU cost.
        engine = create_engine(
            url, connect_args={"cached_statements": SQLITE_STATEMENT_CACHE}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


def flushed_connection(session: Session) -> Connection:
    """The session's connection, for Core statements that return plain columns.

    For the queries run for every matched item: the ORM's per-statement work
    cost about as much again as the query and bought them nothing. The
    session's pending changes are written first, as its own queries would."""
    if session.autoflush:
        session.flush()
    return session.connection()


def _alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


# Any constant will do: PostgreSQL advisory locks are named by a number.
MIGRATION_LOCK = 0x6E6F726D  # "norm"


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply Alembic migrations up to `revision`.

    On PostgreSQL an advisory lock makes instances starting together migrate
    one after the other: the first upgrades, the others find nothing to do.
    """
    postgres = engine.dialect.name == "postgresql"
    try:
        with engine.connect() as lock:
            if postgres:
                lock.execute(
                    text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            try:
                command.upgrade(_alembic_config(engine), revision)
                with engine.begin() as connection:
                    restore_triggers(connection)
            finally:
                if postgres:
                    lock.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK}
                    )
    except SQLAlchemyError as exc:
        raise StorageError(
            f"storage: {redact(str(engine.url))}: migration failed: {exc}"
        ) from exc


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def check_connection(engine: Engine) -> None:
    """Fail early with one clear line when the database is unreachable."""
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise StorageError(
            f"storage: cannot connect to {redact(str(engine.url))}: {reason}"
        ) from None
