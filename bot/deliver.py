"""Draining the outbox to Slack, or to the console when no token is set.

Each alert is reserved (a short lease, committed), posted, then marked sent
with its Slack `ts`. Of several processes, exactly one reserves each alert.
Alerts go out oldest first within a channel; when a channel is rate limited
or broken, its queue waits in order and other channels carry on. The one
window that can double a post: Slack accepted it and the process died
before the `ts` was stored; the lease then expires and the alert goes again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from bot.alert import RenderedAlert, render_alert, render_console
from bot.runtime import Runtime
from bot.slack import Delivery, SlackPoster
from storage.db import transaction
from storage.outbox import (
    PendingAlert,
    claim_next,
    due,
    mark_failed,
    mark_sent,
    mark_undeliverable,
)

log = logging.getLogger("normwatch.deliver")

# Long enough for one post with the SDK's own connection retries.
LEASE = timedelta(minutes=2)
# Slack refuses the message itself: send the plain-text fallback instead.
MESSAGE_ERRORS = ("invalid_blocks", "msg_too_long", "msg_blocks_too_long")


@dataclass
class DrainReport:
    sent: int = 0
    deferred: int = 0
    printed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Drainer:
    """Holds what outlives one drain: paused channels, problems already reported."""

    rt: Runtime
    poster: SlackPoster | None
    batch: int = 50
    _paused: dict[str, datetime] = field(default_factory=dict)
    _reported: set[str] = field(default_factory=set)
    _printed: set[int] = field(default_factory=set)

    def drain(self) -> DrainReport:
        if self.poster is None:
            return self._print_pending()
        report = DrainReport()
        for _ in range(self.batch):
            if self.rt.stopping.is_set():
                break
            now = self.rt.clock()
            paused = [c for c, until in self._paused.items() if until > now]
            with transaction(self.rt.sessions) as session:
                alert = claim_next(session, now=now, lease=LEASE, skip=paused)
            if alert is None:
                break
            delivery = self._post(self.poster, alert)
            if delivery.ok:
                self._record_sent(alert, delivery)
                report.sent += 1
                continue
            error = delivery.error or "slack: unknown error"
            report.deferred += 1
            report.errors.append(error)
            self._record_failure(alert, delivery, error)
        return report

    def _post(self, poster: SlackPoster, alert: PendingAlert) -> Delivery:
        rendered = render_alert(
            alert,
            states=self.rt.state_names,
            timezone=self.rt.config.normwatch.timezone,
        )
        delivery = poster.post(alert.channel, rendered)
        if not delivery.ok and any(
            code in (delivery.error or "") for code in MESSAGE_ERRORS
        ):
            log.warning(
                "%s; sending alert %d as plain text", delivery.error, alert.outbox_id
            )
            delivery = poster.post(
                alert.channel, RenderedAlert(text=rendered.text, blocks=[])
            )
            if not delivery.ok and delivery.permanent:
                delivery = Delivery(ok=False, error=delivery.error, undeliverable=True)
        return delivery

    def _record_sent(self, alert: PendingAlert, delivery: Delivery) -> None:
        assert delivery.ts is not None and delivery.channel_id is not None
        for attempt in range(3):
            try:
                with transaction(self.rt.sessions) as session:
                    mark_sent(
                        session,
                        alert.outbox_id,
                        now=self.rt.clock(),
                        slack_channel=delivery.channel_id,
                        ts=delivery.ts,
                    )
                break
            except SQLAlchemyError as exc:
                # Slack has the message; if this never lands, the lease expires
                # and the alert is posted a second time (the documented window).
                log.error(
                    "storage: cannot mark alert %d sent (try %d): %s",
                    alert.outbox_id,
                    attempt + 1,
                    exc,
                )
                time.sleep(0.5 * (attempt + 1))
        self._reported.clear()  # a fixed problem may come back: report it again then
        log.info(
            "slack: posted alert %d to %s: %s",
            alert.outbox_id,
            alert.channel,
            alert.title[:80],
        )

    def _record_failure(
        self, alert: PendingAlert, delivery: Delivery, error: str
    ) -> None:
        now = self.rt.clock()
        with transaction(self.rt.sessions) as session:
            if delivery.undeliverable:
                mark_undeliverable(session, alert.outbox_id, now=now, error=error)
                log.error(
                    "%s: alert %d kept as failed, not retried", error, alert.outbox_id
                )
                return
            wait = timedelta(seconds=delivery.wait)
            mark_failed(session, alert.outbox_id, now=now, error=error, wait=wait)
        # The whole channel waits: its next alert must not overtake this one.
        self._paused[alert.channel] = now + wait
        if error in self._reported:
            log.debug("%s (alert %d stays pending)", error, alert.outbox_id)
            return
        self._reported.add(error)
        hint = (
            " — alerts wait in the outbox until this is fixed"
            if delivery.permanent
            else "; will retry"
        )
        log.warning("%s%s", error, hint)

    def _print_pending(self) -> DrainReport:
        report = DrainReport()
        with transaction(self.rt.sessions) as session:
            alerts = due(session, now=self.rt.clock(), limit=1000)
        for alert in alerts:
            if alert.outbox_id in self._printed:
                continue
            self._printed.add(alert.outbox_id)
            print(render_console(alert, states=self.rt.state_names), flush=True)
            report.printed += 1
        return report
