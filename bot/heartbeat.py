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
from bot.metrics import Metrics
from bot.poll import FeedReport
from bot.runtime import Runtime
from storage.db import transaction
from storage.instances import (
    Cycle,
    beat,
    list_instances,
    mark_stopped,
    prune,
    record_cycle,
)
from storage.status import outbox_depth

log = logging.getLogger("normwatch.heartbeat")


@dataclass
class Heartbeat:
    rt: Runtime
    metrics: Metrics | None = None

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
        if self.metrics is not None:  # the gauges are read as often as we beat
            with self.rt.sessions() as session:
                depth = outbox_depth(session)
                instances = list_instances(session, now=now, timeout=self.rt.dead_after)
            self.metrics.state(depth, sum(i.alive for i in instances), now)

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
        if self.metrics is not None:
            self.metrics.cycle(reports, cycle.seconds)
        return cycle

    def stopped(self) -> None:
        """A clean stop: others may take this instance's leftovers at once."""
        with transaction(self.rt.sessions) as session:
            mark_stopped(session, self.rt.owner, now=self.rt.clock())
