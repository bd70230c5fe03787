"""This process in the `instances` table: alive, how its cycles go, stopped.

Other instances read the heartbeat to take over the work of one that died
(storage.instances.dead_owners); `normwatch status` reads it to say which
instances run and how their last cycle went.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime

from bot import __version__
from bot.poll import FeedReport
from bot.runtime import Runtime
from storage.db import transaction
from storage.instances import Cycle, beat, mark_stopped, prune, record_cycle

log = logging.getLogger("normwatch.heartbeat")


@dataclass
class Heartbeat:
    rt: Runtime

    def beat(self) -> None:
        now = self.rt.clock()
        with transaction(self.rt.sessions) as session:
            beat(
                session,
                self.rt.owner,
                now=now,
                host=socket.gethostname(),
                pid=os.getpid(),
                version=__version__,
            )
            prune(session, now=now)

    def cycle_done(self, started: datetime, reports: list[FeedReport]) -> Cycle:
        ended = self.rt.clock()
        cycle = Cycle(
            ended_at=ended,
            seconds=(ended - started).total_seconds(),
            feeds=len(reports),
            errors=sum(r.status == "error" for r in reports),
        )
        with transaction(self.rt.sessions) as session:
            record_cycle(session, self.rt.owner, cycle)
        return cycle

    def stopped(self) -> None:
        """A clean stop: others may take this instance's leftovers at once."""
        with transaction(self.rt.sessions) as session:
            mark_stopped(session, self.rt.owner, now=self.rt.clock())
