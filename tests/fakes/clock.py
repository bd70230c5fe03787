"""A clock tests move by hand: sleeping advances it instead of waiting."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class FakeTime:
    """One time line for the drainer (`now`), the poster and the Slack fake
    (`monotonic`); `sleep` moves it forward at once."""

    def __init__(self, start: datetime | None = None) -> None:
        self.start = start or datetime.now(UTC)
        self._seconds = 0.0
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def monotonic(self) -> float:
        with self._lock:
            return self._seconds

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.monotonic())

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._seconds += max(0.0, seconds)
