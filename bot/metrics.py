"""An optional Prometheus endpoint (`[metrics] port`), off by default.

Counters grow with what this process did: feeds polled by outcome, new
items, hits, alerts queued and posted, errors by kind. Histograms time the
fetches, whole poll cycles and each drain. Gauges read the database at each
heartbeat: the outbox's depth and its oldest alert's age, and the instances
alive (the same for every instance: they read one database).

Every name starts with `normwatch_`; each process has its own registry, so
tests (and two bots in one process) never share counts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import start_http_server

from bot.deliver import DrainReport
from bot.poll import FeedReport
from storage.status import OutboxDepth

log = logging.getLogger("normwatch.metrics")

_FETCH_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_CYCLE_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.polls = Counter(
            "normwatch_polls", "Feeds polled, by outcome", ["status"], registry=r
        )
        self.items = Counter("normwatch_items", "New items stored", registry=r)
        self.hits = Counter("normwatch_hits", "Rule hits recorded", registry=r)
        self.queued = Counter(
            "normwatch_alerts_queued", "Alerts put in the outbox", registry=r
        )
        self.sent = Counter(
            "normwatch_alerts_sent", "Alerts Slack accepted", registry=r
        )
        self.errors = Counter(
            "normwatch_errors",
            "Errors by kind: fetch, parse, storage, internal (a feed's); "
            "slack (a post); database (a step)",
            ["kind"],
            registry=r,
        )
        self.fetch_seconds = Histogram(
            "normwatch_fetch_seconds",
            "Time to fetch one feed",
            buckets=_FETCH_BUCKETS,
            registry=r,
        )
        self.cycle_seconds = Histogram(
            "normwatch_cycle_seconds",
            "Time of one poll cycle",
            buckets=_CYCLE_BUCKETS,
            registry=r,
        )
        self.drain_seconds = Histogram(
            "normwatch_drain_seconds",
            "Time of one outbox drain",
            buckets=_CYCLE_BUCKETS,
            registry=r,
        )
        self.outbox_pending = Gauge(
            "normwatch_outbox_pending", "Alerts waiting in the outbox", registry=r
        )
        self.outbox_oldest = Gauge(
            "normwatch_outbox_oldest_seconds",
            "Age of the oldest waiting alert (0 when none)",
            registry=r,
        )
        self.instances = Gauge(
            "normwatch_instances_alive",
            "Instances whose heartbeat is fresh",
            registry=r,
        )

    def cycle(self, reports: Iterable[FeedReport], seconds: float) -> None:
        for report in reports:
            self.polls.labels(report.status).inc()
            self.items.inc(report.new_items)
            self.hits.inc(report.hits)
            self.queued.inc(report.alerts)
            self.fetch_seconds.observe(report.elapsed)
            if report.status == "error" and report.error:
                self.errors.labels(report.error.split(":", 1)[0]).inc()
        self.cycle_seconds.observe(seconds)

    def drain(self, report: DrainReport, seconds: float) -> None:
        self.sent.inc(report.sent)
        self.errors.labels("slack").inc(report.deferred)
        self.drain_seconds.observe(seconds)

    def database_error(self) -> None:
        self.errors.labels("database").inc()

    def state(self, depth: OutboxDepth, alive: int, now: datetime) -> None:
        self.outbox_pending.set(depth.pending)
        oldest = depth.oldest_pending_at
        self.outbox_oldest.set((now - oldest).total_seconds() if oldest else 0)
        self.instances.set(alive)

    def serve(self, address: str, port: int) -> None:
        """Answer GET /metrics on address:port from a daemon thread."""
        start_http_server(port, addr=address, registry=self.registry)
        log.info("metrics: Prometheus endpoint on http://%s:%d/metrics", address, port)
