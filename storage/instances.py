"""The `instances` table: which `normwatch run` processes are alive, and their cycles.

Each running instance writes a heartbeat every few seconds. An instance whose
heartbeat is older than the timeout, or that stopped cleanly, is dead: the
feeds and alerts it had reserved are free again at once, instead of when
their lease runs out (`dead_owners`). Its row stays a while, so `normwatch
status` can still tell when it was last seen and how its last cycle went.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, or_, select, update
from sqlalchemy.orm import Session

from storage.models import Instance

# Rows of instances gone this long are deleted.
KEEP_DEAD = timedelta(days=7)


@dataclass(frozen=True)
class Cycle:
    """How one poll cycle of an instance went."""

    ended_at: datetime
    seconds: float
    feeds: int
    errors: int


def beat(
    session: Session,
    owner: str,
    *,
    now: datetime,
    host: str,
    pid: int,
    version: str,
) -> None:
    """Record that `owner` is alive (creating its row on the first beat)."""
    row = session.get(Instance, owner)
    if row is None:
        session.add(
            Instance(
                id=owner[:128],
                host=host[:255],
                pid=pid,
                version=version[:32],
                started_at=now,
                last_seen=now,
                cycles=0,
            )
        )
        return
    row.last_seen, row.stopped_at = now, None


def record_cycle(session: Session, owner: str, cycle: Cycle) -> None:
    session.execute(
        update(Instance)
        .where(Instance.id == owner)
        .values(
            cycles=Instance.cycles + 1,
            last_cycle_at=cycle.ended_at,
            last_cycle_seconds=cycle.seconds,
            last_cycle_feeds=cycle.feeds,
            last_cycle_errors=cycle.errors,
            last_seen=cycle.ended_at,
        )
    )


def mark_stopped(session: Session, owner: str, *, now: datetime) -> None:
    session.execute(update(Instance).where(Instance.id == owner).values(stopped_at=now))


def prune(session: Session, *, now: datetime) -> None:
    session.execute(delete(Instance).where(Instance.last_seen < now - KEEP_DEAD))


def dead_owners(*, now: datetime, timeout: timedelta) -> Select[str]:
    """The names of instances known to be gone: stopped, or silent past `timeout`.

    An owner with no row at all (`run --once`, which does not beat) is not in
    it: its leases last their full length.
    """
    return select(Instance.id).where(
        or_(Instance.stopped_at.is_not(None), Instance.last_seen < now - timeout)
    )


@dataclass(frozen=True)
class InstanceState:
    """One instance as `normwatch status` shows it; field names are the JSON contract."""

    id: str
    host: str
    pid: int
    version: str
    alive: bool
    started_at: datetime
    last_seen: datetime
    stopped_at: datetime | None
    cycles: int
    last_cycle_at: datetime | None
    last_cycle_seconds: float | None
    last_cycle_feeds: int | None
    last_cycle_errors: int | None


def list_instances(
    session: Session, *, now: datetime, timeout: timedelta
) -> list[InstanceState]:
    """Every instance on record, most recently seen first."""
    rows = session.scalars(select(Instance).order_by(Instance.last_seen.desc()))
    return [
        InstanceState(
            id=r.id,
            host=r.host,
            pid=r.pid,
            version=r.version,
            alive=r.stopped_at is None and r.last_seen >= now - timeout,
            started_at=r.started_at,
            last_seen=r.last_seen,
            stopped_at=r.stopped_at,
            cycles=r.cycles,
            last_cycle_at=r.last_cycle_at,
            last_cycle_seconds=r.last_cycle_seconds,
            last_cycle_feeds=r.last_cycle_feeds,
            last_cycle_errors=r.last_cycle_errors,
        )
        for r in rows
    ]
