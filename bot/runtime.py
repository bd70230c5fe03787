"""What one running normwatch holds: config, database, compiled rules, clock."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config, database_url, slack_token, slack_webhook_url
from bot.routing import Routable, alert_channels
from bot.rules import Matcher
from storage.db import make_engine, session_factory


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    config: Config
    config_path: Path
    engine: Engine
    sessions: sessionmaker[Session]
    matcher: Matcher
    clock: Callable[[], datetime] = utcnow
    # Set on SIGINT/SIGTERM: loops finish the item they are on and return.
    stopping: threading.Event = field(default_factory=threading.Event)
    # Names this process in feed and outbox leases.
    owner: str = field(
        default_factory=lambda: (
            f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        )
    )
    # Fixed at start (a reload does not change it): how often this process
    # beats, and so how long a silent instance is taken for alive.
    heartbeat: timedelta = timedelta(seconds=10)

    @classmethod
    def open(cls, config: Config, config_path: Path) -> Runtime:
        engine = make_engine(database_url(config, config_path))
        return cls(
            config,
            config_path,
            engine,
            session_factory(engine),
            Matcher(config),
            heartbeat=timedelta(seconds=config.normwatch.heartbeat),
        )

    @property
    def dead_after(self) -> timedelta:
        """Silence after which an instance counts as dead: three missed beats."""
        return 3 * self.heartbeat

    @property
    def state_names(self) -> dict[str, str]:
        return {code: state.name for code, state in self.config.states.items()}

    def alert_channels(self, hits: Sequence[Routable]) -> list[str]:
        """Where an alert goes; an incoming webhook has only its own channel."""
        if slack_webhook_url() and not slack_token():
            return [self.config.slack.channel]
        return alert_channels(hits, self.config.slack)

    def close(self) -> None:
        self.engine.dispose()
