"""Draining the outbox to Slack, or to the console when no token is set.

Each alert is claimed, posted and marked in its own transaction. On
PostgreSQL the claim is `FOR UPDATE SKIP LOCKED`, so two instances never post
the same alert. A failed post keeps the alert pending for a later attempt.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from bot.alert import render_alert, render_console
from bot.runtime import Runtime
from bot.slack import SlackPoster
from storage.db import transaction
from storage.outbox import due, mark_failed, mark_sent

log = logging.getLogger("normwatch.deliver")


@dataclass
class DrainReport:
    sent: int = 0
    deferred: int = 0
    printed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Drainer:
    """Holds what must outlive one drain: which problems were already reported."""

    rt: Runtime
    poster: SlackPoster | None
    batch: int = 50
    _reported: set[str] = field(default_factory=set)
    _printed: set[int] = field(default_factory=set)

    def drain(self) -> DrainReport:
        if self.poster is None:
            return self._print_pending()
        report = DrainReport()
        for _ in range(self.batch):
            with transaction(self.rt.sessions) as session:
                now = self.rt.clock()
                alerts = due(session, now=now, limit=1)
                if not alerts:
                    break
                alert = alerts[0]
                rendered = render_alert(
                    alert,
                    states=self.rt.state_names,
                    timezone=self.rt.config.normwatch.timezone,
                )
                delivery = self.poster.post(alert.channel, rendered)
                if delivery.ok:
                    assert delivery.ts is not None and delivery.channel_id is not None
                    mark_sent(
                        session,
                        alert.outbox_id,
                        now=now,
                        slack_channel=delivery.channel_id,
                        ts=delivery.ts,
                    )
                    report.sent += 1
                    log.info(
                        "slack: posted alert %d to %s: %s",
                        alert.outbox_id,
                        alert.channel,
                        alert.title[:80],
                    )
                    continue
                error = delivery.error or "slack: unknown error"
                mark_failed(
                    session,
                    alert.outbox_id,
                    now=now,
                    error=error,
                    wait=timedelta(seconds=delivery.wait),
                )
                report.deferred += 1
                report.errors.append(error)
                self._report(error, permanent=delivery.permanent)
                if delivery.permanent or "rate limited" in error:
                    # The next alert would meet the same wall; stop this drain.
                    break
        return report

    def _report(self, error: str, *, permanent: bool) -> None:
        if error in self._reported:
            log.debug("%s (alert stays pending)", error)
            return
        self._reported.add(error)
        hint = (
            " — alerts wait in the outbox until this is fixed"
            if permanent
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
