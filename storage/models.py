"""SQLAlchemy 2 models: the archive (feeds, items), what matched (stories, hits),
what Slack still owes us (outbox) and what the team said (feedback).

The schema changes only through an Alembic migration (storage/migrations).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from storage.fulltext import index_text

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite stores no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Any
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(
        self, value: datetime | None, dialect: Any
    ) -> datetime | None:
        if value is None:
            return None
        return (
            value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Feed(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="news")
    state: Mapped[str | None] = mapped_column(String(2))
    language: Mapped[str] = mapped_column(String(8))
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    last_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the current run of failures began; None while the feed is healthy.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The ops channel was told this feed is failing (and must hear when it recovers).
    failure_reported: Mapped[bool] = mapped_column(Boolean, default=False)
    items_seen: Mapped[int] = mapped_column(Integer, default=0)
    # For servers without validators: an unchanged body is not parsed again.
    body_hash: Mapped[str | None] = mapped_column(String(64))
    # Where a permanent redirect (301/308) pointed, for the operator to update the URL.
    moved_to: Mapped[str | None] = mapped_column(String(2048))
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Story(Base):
    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


def _item_search_text(context: DefaultExecutionContext) -> str:
    """Every insert, however it is written, fills the search index's text."""
    row = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return index_text(row.get("title") or "", row.get("summary") or "")


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("feed_id", "guid"),
        Index("ix_items_published_at", "published_at"),
        # Listings of the whole archive (newest first) and retention.
        Index("ix_items_fetched_at", "fetched_at"),
        Index("ix_items_feed_id_fetched_at", "feed_id", "fetched_at"),
        # Near-duplicate candidates (storage.stories.signed_near): only items
        # in stories carry a signature, a few among many, so the window is
        # read from this small index, never by scanning every recent item.
        Index(
            "ix_items_signed_published_at",
            "published_at",
            sqlite_where=text("minhash IS NOT NULL"),
            postgresql_where=text("minhash IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    guid: Mapped[str] = mapped_column(String(2048))
    url: Mapped[str | None] = mapped_column(String(2048))
    canonical_url: Mapped[str | None] = mapped_column(String(2048), index=True)
    title: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str | None] = mapped_column(String(8))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fingerprint: Mapped[str] = mapped_column(String(64))
    story_id: Mapped[int | None] = mapped_column(
        ForeignKey("stories.id", ondelete="SET NULL"), index=True
    )
    # Folded title and summary for full-text search (storage.fulltext).
    search_text: Mapped[str] = mapped_column(
        Text, default=_item_search_text, server_default=""
    )
    # Set when the item joins a story (bot.stories): who published it (the
    # site's host, or the outlet a news search names) and its MinHash signature.
    outlet: Mapped[str | None] = mapped_column(String(255))
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary)


class ItemEdit(Base):
    """An entry republished under the same guid with another title or summary."""

    __tablename__ = "item_edits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), index=True
    )
    old_title: Mapped[str] = mapped_column(Text)
    old_summary: Mapped[str] = mapped_column(Text)
    new_title: Mapped[str] = mapped_column(Text)
    new_summary: Mapped[str] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Hit(Base):
    __tablename__ = "hits"
    __table_args__ = (
        UniqueConstraint("item_id", "rule"),
        Index("ix_hits_created_at", "created_at"),
        # Each filter of the listings, newest first.
        Index("ix_hits_state_created_at", "state", "created_at"),
        Index("ix_hits_topic_created_at", "topic", "created_at"),
        Index("ix_hits_rule_created_at", "rule", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)
    rule: Mapped[str] = mapped_column(String(100))
    topic: Mapped[str] = mapped_column(String(100))
    severity: Mapped[str] = mapped_column(String(10))
    state: Mapped[str | None] = mapped_column(String(2))
    # [{"term": ..., "group": ..., "field": "title"|"summary", "start": int, "end": int}]
    matched: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    snippet: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # False when the item was too old to alert (alert_max_age): the hit is kept.
    alertable: Mapped[bool] = mapped_column(Boolean, default=True)


class Outbox(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("story_id", "channel", "kind", "outlet"),
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"))
    hit_id: Mapped[int] = mapped_column(ForeignKey("hits.id"))
    channel: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(
        String(10), default="pending"
    )  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    slack_channel: Mapped[str | None] = mapped_column(String(64))
    slack_ts: Mapped[str | None] = mapped_column(String(64))
    # Who holds the reservation: another instance may take it over once this
    # one stops beating (see `instances`), without waiting out the lease.
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    # alert: the story's top-level message; reply: a follow-up in its thread
    # (one per outlet); update: the alert edited to count the outlets.
    kind: Mapped[str] = mapped_column(
        String(10), default="alert", server_default="alert"
    )
    # The alert a reply or update belongs to (its slack_ts is the thread).
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    outlet: Mapped[str] = mapped_column(String(255), default="", server_default="")


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hit_id: Mapped[int] = mapped_column(
        ForeignKey("hits.id", ondelete="CASCADE"), index=True
    )
    verdict: Mapped[str] = mapped_column(String(20))  # relevant | not_relevant
    who: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChannelProblem(Base):
    """A Slack error a person must fix (a missing channel, a revoked token).

    One row per channel while the problem lasts; `normwatch status` shows it.
    """

    __tablename__ = "channel_problems"

    channel: Mapped[str] = mapped_column(String(200), primary_key=True)
    error: Mapped[str] = mapped_column(String(100))  # Slack's code, e.g. not_in_channel
    message: Mapped[str] = mapped_column(Text)  # what to do, in plain words
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Digest(Base):
    """A scheduled digest (the daily one): claimed once per day and channel."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("kind", "day", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # daily
    day: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD in the team's zone
    channel: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending|sent
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    slack_ts: Mapped[str | None] = mapped_column(String(64))


class Instance(Base):
    """One `normwatch run` process, as its heartbeat tells: several instances
    share one PostgreSQL, and `normwatch status` reads them all here."""

    __tablename__ = "instances"

    # The name it leases feeds and alerts under (host:pid:random).
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Set by a clean stop; a killed process just stops beating.
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cycles: Mapped[int] = mapped_column(Integer, default=0)
    last_cycle_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_cycle_seconds: Mapped[float | None] = mapped_column(Float)
    last_cycle_feeds: Mapped[int | None] = mapped_column(Integer)
    last_cycle_errors: Mapped[int | None] = mapped_column(Integer)
