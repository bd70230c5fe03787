"""One running bot per SQLite file.

Two instances on one SQLite file would each poll every feed and fight over
the write lock; only PostgreSQL shares the work between instances. So a
running bot holds an exclusive OS lock on `<database>.lock` beside the file.
The kernel drops it when the process ends, however it ends (SIGKILL too), so
a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from storage.db import StorageError


class AlreadyRunning(StorageError):
    """Another bot already runs on this SQLite database."""


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).resolve()


@contextmanager
def single_writer(url: str) -> Iterator[None]:
    """Hold the database's writer lock for the duration; PostgreSQL needs none."""
    database = _sqlite_file(url)
    if database is None:
        yield
        return
    path = database.with_name(database.name + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            raise AlreadyRunning(
                f"storage: another normwatch (pid {holder}) is already running on "
                f"{database}; SQLite allows one running bot. Stop it first, or move "
                "to PostgreSQL to run several instances"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock
