"""Draining the outbox to Slack, or to the console when no token is set.

Each alert is reserved (a short lease, committed), posted, then marked sent
with its Slack `ts`. Of several processes, exactly one reserves each alert.
Alerts go out oldest first within a channel; when a channel is rate limited
or broken, its queue waits in order and other channels carry on. When more
alerts than `[slack.digest] burst` are due at once in a channel, they go as
one digest (its `ts` is stored on each). A 429 waits for `Retry-After`; a
5xx or a timeout is retried with growing waits; an error a person must fix
(a missing channel, a revoked token) is logged once, stored for `normwatch
status`, and the alerts wait. The one window that can double a post: Slack
accepted it and the process died (or the answer timed out) before the `ts`
was stored; the lease then expires and the alert goes again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.alert import AlertStyle, RenderedAlert, render_alert, render_console
from bot.config import mention_markup
from bot.digest import render_burst
from bot.followup import post_followup, render_console_followup
from bot.runtime import Runtime
from bot.slack import Delivery, Poster, SlackPoster
from storage.db import transaction
from storage.outbox import (
    PendingAlert,
    claim_batch,
    claim_next,
    clear_problem,
    due,
    due_counts,
    mark_failed,
    mark_sent,
    mark_undeliverable,
    record_problem,
    release,
)

log = logging.getLogger("normwatch.deliver")

# Long enough for one post with the SDK's own connection retries.
LEASE = timedelta(minutes=2)
# Slack refuses the message itself: send the plain-text fallback instead.
MESSAGE_ERRORS = ("invalid_blocks", "msg_too_long", "msg_blocks_too_long")
# Waits after a 5xx or a timeout: 5 s, 10 s, 20 s … at most 5 minutes.
BACKOFF_FIRST = 5.0
BACKOFF_MAX = 300.0
# A rate limit this short is waited out within the same drain.
INLINE_WAIT = 5.0


def backoff(attempts: int) -> float:
    return float(min(BACKOFF_FIRST * 2 ** min(attempts, 16), BACKOFF_MAX))


@dataclass
class DrainReport:
    sent: int = 0
    deferred: int = 0
    printed: int = 0
    digests: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Drainer:
    """Holds what outlives one drain: paused channels, problems already reported."""

    rt: Runtime
    poster: Poster | None
    batch: int = 50
    buttons: bool = False  # the Slack app is connected to take button clicks
    sleep: Callable[[float], None] | None = None
    _paused: dict[str, datetime] = field(default_factory=dict)
    _rate_limited: dict[str, datetime] = field(default_factory=dict)
    _reported: set[str] = field(default_factory=set)
    _printed: set[int] = field(default_factory=set)

    def _wait(self, seconds: float) -> None:
        if self.sleep is not None:
            self.sleep(seconds)
        else:
            self.rt.stopping.wait(seconds)  # Ctrl-C ends the wait at once

    def style(self) -> AlertStyle:
        slack = self.rt.config.slack
        return AlertStyle(
            translate_url=slack.translate_url,
            mentions={k: mention_markup(v) for k, v in slack.mentions.items()},
            buttons=self.buttons and isinstance(self.poster, SlackPoster),
        )

    def drain(self) -> DrainReport:
        if self.poster is None:
            return self._print_pending()
        report = DrainReport()
        posts = 0
        while posts < self.batch and not self.rt.stopping.is_set():
            now = self.rt.clock()
            paused = [c for c, until in self._paused.items() if until > now]
            with transaction(self.rt.sessions) as session:
                group = self._claim_digest(session, now, paused)
                alert = (
                    None
                    if group
                    else claim_next(
                        session,
                        now=now,
                        lease=LEASE,
                        skip=paused,
                        owner=self.rt.owner,
                        dead_after=self.rt.dead_after,
                    )
                )
            if group:
                posts += 1
                self._deliver_digest(self.poster, group, report)
            elif alert is not None:
                posts += 1
                self._deliver(self.poster, alert, report)
            elif not self._wait_for_pause(now):
                break
        return report

    def _wait_for_pause(self, now: datetime) -> bool:
        """Wait out the first short rate limit; False when there is none to wait for."""
        ends = [until for until in self._rate_limited.values() if until > now]
        self._rate_limited.clear()
        if not ends:
            return False
        target = min(ends)
        self._wait((target - now).total_seconds())
        # A clock that did not move (stopping, or a frozen test clock) ends the drain.
        return self.rt.clock() >= target

    def _claim_digest(
        self, session: Session, now: datetime, paused: list[str]
    ) -> list[PendingAlert]:
        burst = self.rt.config.slack.digest.burst
        if not burst:
            return []
        counts = due_counts(
            session, now=now, skip=paused, dead_after=self.rt.dead_after
        )
        for channel, n in sorted(counts.items()):
            if n > burst:
                group = claim_batch(
                    session,
                    channel,
                    now=now,
                    lease=LEASE,
                    limit=50,
                    owner=self.rt.owner,
                    dead_after=self.rt.dead_after,
                )
                if len(group) > burst:
                    return group
                release(session, [a.outbox_id for a in group], now=now)
        return []

    def _deliver(
        self, poster: Poster, alert: PendingAlert, report: DrainReport
    ) -> None:
        delivery = self._post(poster, alert)
        if delivery.ok:
            self._record_sent([alert], delivery)
            report.sent += 1
            return
        report.deferred += 1
        report.errors.append(delivery.error or "slack: unknown error")
        self._record_failure([alert], delivery)

    def _deliver_digest(
        self, poster: Poster, group: list[PendingAlert], report: DrainReport
    ) -> None:
        rendered, used = render_burst(group)
        included, rest = group[:used], group[used:]
        if rest:
            with transaction(self.rt.sessions) as session:
                release(session, [a.outbox_id for a in rest], now=self.rt.clock())
        delivery = self._send(poster, included[0].channel, rendered, "digest")
        if delivery.ok:
            self._record_sent(included, delivery)
            report.sent += len(included)
            report.digests += 1
            return
        report.deferred += len(included)
        report.errors.append(delivery.error or "slack: unknown error")
        self._record_failure(included, delivery)

    def _post(self, poster: Poster, alert: PendingAlert) -> Delivery:
        if alert.kind != "alert":  # a thread reply or an update (bot.followup)
            return post_followup(self.rt, poster, alert, style=self.style())
        rendered = render_alert(
            alert,
            states=self.rt.state_names,
            timezone=self.rt.config.normwatch.timezone,
            style=self.style(),
        )
        return self._send(poster, alert.channel, rendered, f"alert {alert.outbox_id}")

    def _send(
        self, poster: Poster, channel: str, rendered: RenderedAlert, what: str
    ) -> Delivery:
        delivery = poster.post(channel, rendered)
        if not delivery.ok and any(
            code in (delivery.error or "") for code in MESSAGE_ERRORS
        ):
            log.warning("%s; sending %s as plain text", delivery.error, what)
            delivery = poster.post(
                channel, RenderedAlert(text=rendered.text, blocks=[])
            )
            if not delivery.ok and delivery.code in MESSAGE_ERRORS:
                delivery = Delivery(ok=False, error=delivery.error, undeliverable=True)
        return delivery

    def _record_sent(self, alerts: list[PendingAlert], delivery: Delivery) -> None:
        channel = alerts[0].channel
        for attempt in range(3):
            try:
                with transaction(self.rt.sessions) as session:
                    for alert in alerts:
                        mark_sent(
                            session,
                            alert.outbox_id,
                            now=self.rt.clock(),
                            slack_channel=delivery.channel_id,
                            ts=delivery.ts,
                        )
                    fixed = clear_problem(session, channel)
                break
            except SQLAlchemyError as exc:
                # Slack has the message; if this never lands, the lease expires
                # and the alert is posted a second time (the documented window).
                log.error(
                    "storage: cannot mark alert %d sent (try %d): %s",
                    alerts[0].outbox_id,
                    attempt + 1,
                    exc,
                )
                time.sleep(0.5 * (attempt + 1))
        else:
            fixed = False
        if fixed:
            log.info("slack: %s works again; waiting alerts are going out", channel)
        self._reported = {r for r in self._reported if not r.startswith(channel + " ")}
        if len(alerts) == 1:
            log.info(
                "slack: posted alert %d to %s: %s",
                alerts[0].outbox_id,
                channel,
                alerts[0].title[:80],
            )
        else:
            log.info(
                "slack: posted a digest of %d alerts (%s) to %s",
                len(alerts),
                ", ".join(str(a.outbox_id) for a in alerts),
                channel,
            )

    def _record_failure(self, alerts: list[PendingAlert], delivery: Delivery) -> None:
        error = delivery.error or "slack: unknown error"
        now = self.rt.clock()
        channel = alerts[0].channel
        wait = timedelta(
            seconds=backoff(alerts[0].attempts) if delivery.transient else delivery.wait
        )
        new_problem = False
        with transaction(self.rt.sessions) as session:
            for alert in alerts:
                if delivery.undeliverable:
                    mark_undeliverable(session, alert.outbox_id, now=now, error=error)
                else:
                    mark_failed(
                        session, alert.outbox_id, now=now, error=error, wait=wait
                    )
            if delivery.permanent:
                new_problem = record_problem(
                    session, channel, error=delivery.code, message=error, now=now
                )
        if delivery.undeliverable:
            for alert in alerts:
                log.error(
                    "%s: alert %d kept as failed, not retried", error, alert.outbox_id
                )
            return
        # The whole channel waits: its next alert must not overtake this one.
        self._paused[channel] = now + wait
        if delivery.code == "ratelimited" and delivery.wait <= INLINE_WAIT:
            self._rate_limited[channel] = now + wait
        key = f"{channel} {delivery.code or error}"
        if key in self._reported or (delivery.permanent and not new_problem):
            log.debug("%s (%s: %d alerts stay pending)", error, channel, len(alerts))
            self._reported.add(key)
            return
        self._reported.add(key)
        if delivery.permanent:
            log.warning(
                "%s (channel %s) — alerts wait in the outbox until this is fixed",
                error,
                channel,
            )
        else:
            log.warning("%s; will retry in %.0fs", error, wait.total_seconds())

    def _print_pending(self) -> DrainReport:
        report = DrainReport()
        with transaction(self.rt.sessions) as session:
            alerts = due(session, now=self.rt.clock(), limit=1000)
        for alert in alerts:
            if alert.outbox_id in self._printed:
                continue
            self._printed.add(alert.outbox_id)
            if alert.kind != "alert":
                line = render_console_followup(alert)
                if line:
                    print(line, flush=True)
                continue
            print(render_console(alert, states=self.rt.state_names), flush=True)
            report.printed += 1
        return report
