"""`normwatch run`: APScheduler 3 as a local ticker for the poll, the drain,
config reloads and retention.

When each feed is due lives in the `feeds` table, not in APScheduler, so a
restart or a second instance sees the same truth. The ticker only decides
how often this process looks.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.exc import SQLAlchemyError

from bot.alert import escape_entities
from bot.applink import AppLink
from bot.config import Config, slack_app_token, slack_token, slack_webhook_url
from bot.daily import send_daily_digest
from bot.deliver import Drainer
from bot.health import report_health
from bot.heartbeat import Heartbeat
from bot.metrics import Metrics
from bot.poll import poll_once, sync_config_feeds
from bot.reload import ConfigWatcher
from bot.runtime import Runtime
from bot.slack import Poster, SlackPoster, WebhookPoster
from storage.db import redact
from storage.retention import prune_unmatched, retention_cutoff

log = logging.getLogger("normwatch.run")

DRAIN_SECONDS = 5
DAILY_SECONDS = 60
RETENTION_SECONDS = 24 * 3600
RELOAD_SECONDS = 10
APP_RETRY_TICK = 10
# Longer than a fetch's deadline, so a poll in flight can finish.
STOP_GRACE = 90


def make_poster(config: Config) -> Poster | None:
    """The bot token's WebClient; else an incoming webhook; else None (console)."""
    token = slack_token()
    if token:
        return SlackPoster(
            token, api_url=config.slack.api_url, unfurl_links=config.slack.unfurl_links
        )
    webhook = slack_webhook_url()
    if webhook:
        return WebhookPoster(webhook, unfurl_links=config.slack.unfurl_links)
    return None


def make_drainer(rt: Runtime) -> Drainer:
    # Buttons only when the Slack app is there to receive the clicks.
    return Drainer(rt, make_poster(rt.config), buttons=bool(slack_app_token()))


def attach_app(rt: Runtime, drainer: Drainer) -> AppLink:
    """Connect the Slack app; alerts carry buttons only while it is there to
    take the clicks (a button nobody receives shows the clicker an error)."""

    def on_change(connected: bool) -> None:
        drainer.buttons = connected

    link = AppLink(rt, on_change=on_change)
    link.connect()
    return link


def make_watcher(rt: Runtime, drainer: Drainer) -> ConfigWatcher:
    def on_change(config: Config) -> None:
        sync_config_feeds(rt)
        drainer.poster = make_poster(config)

    def notify(message: str) -> None:
        channel = rt.config.slack.ops_channel or rt.config.slack.channel
        if drainer.poster is not None:
            sent = drainer.poster.post_text(channel, escape_entities(message))
            if not sent.ok:
                log.warning(
                    "could not tell %s about the refused edit: %s", channel, sent.error
                )

    return ConfigWatcher(rt, on_change=on_change, notify=notify)


def announce(rt: Runtime, drainer: Drainer) -> None:
    cfg = rt.config
    log.info(
        "normwatch starting: %d feeds, %d rules, %d states; database %s",
        len(cfg.feeds),
        len(cfg.rules),
        len(cfg.states),
        redact(str(rt.engine.url)),
    )
    if drainer.poster is None:
        log.warning(
            "no SLACK_BOT_TOKEN in the environment: alerts are printed here and stay "
            "pending in the outbox until a token is set"
        )
    elif isinstance(drainer.poster, WebhookPoster):
        log.info(
            "alerts go to Slack through an incoming webhook (alerts only: no "
            "routing, threads, updates or buttons)"
        )
    else:
        log.info(
            "alerts go to Slack channel %s via %s", cfg.slack.channel, cfg.slack.api_url
        )


# Waits between tries while the database is unreachable: 1, 2, 4 … 60 s.
MAX_RETRY_WAIT = 60.0


@dataclass
class _Job:
    """A scheduled step that survives its failures: a database outage is
    logged once, retried with a growing wait and its end logged; any other
    failure is logged and the next tick tries again. Its lock tells shutdown
    when it has finished."""

    name: str
    step: Callable[[], object]
    rt: Runtime
    metrics: Metrics | None = None
    running: threading.Lock = field(default_factory=threading.Lock)
    failures: int = 0
    retry_at: float = 0.0  # time.monotonic() before which ticks are skipped
    down_since: float = 0.0

    def __call__(self) -> None:
        if self.rt.stopping.is_set() or time.monotonic() < self.retry_at:
            return
        with self.running:
            try:
                self.step()
            except SQLAlchemyError as exc:
                self._database_down(exc)
                return
            except Exception:
                log.exception("%s failed; will retry next tick", self.name)
                return
        if self.failures:
            log.warning(
                "%s: database reachable again after %.0fs; carrying on",
                self.name,
                time.monotonic() - self.down_since,
            )
            self.failures, self.retry_at = 0, 0.0

    def _database_down(self, exc: SQLAlchemyError) -> None:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()
        reason_line = reason[0][:300] if reason else type(exc).__name__
        now = time.monotonic()
        if self.metrics is not None:
            self.metrics.database_error()
        if not self.failures:
            self.down_since = now
        self.failures += 1
        wait = min(MAX_RETRY_WAIT, 2.0 ** (self.failures - 1))
        self.retry_at = now + wait
        if self.failures == 1:
            log.error(
                "%s: database error, retrying with backoff (nothing is lost): %s",
                self.name,
                reason_line,
            )
        else:
            log.warning(
                "%s: database still unreachable (try %d), next try in %.0fs: %s",
                self.name,
                self.failures,
                wait,
                reason_line,
            )


def poll_and_report(rt: Runtime, drainer: Drainer, heartbeat: Heartbeat) -> None:
    """One tick: poll the due feeds, record the cycle, then tell the team about
    feed health."""
    started = rt.clock()
    reports = poll_once(rt)
    if reports:  # a tick with nothing due is no cycle
        heartbeat.cycle_done(started, reports)
    report_health(rt, drainer.poster)


def prune_old_items(rt: Runtime) -> int:
    """Retention: delete items that never matched, past [history] keep_unmatched."""
    cutoff = retention_cutoff(rt.config.history.keep_unmatched, rt.clock())
    if cutoff is None:
        return 0
    pruned = prune_unmatched(rt.sessions, cutoff=cutoff, stop=rt.stopping.is_set)
    if pruned:
        log.info(
            "retention: deleted %d items fetched before %s that matched no rule",
            pruned,
            f"{cutoff:%Y-%m-%d}",
        )
    return pruned


def start_metrics(rt: Runtime) -> Metrics | None:
    """The Prometheus endpoint, when `[metrics] port` asks for one."""
    settings = rt.config.metrics
    if not settings.port:
        return None
    metrics = Metrics()
    try:
        metrics.serve(settings.address, settings.port)
    except OSError as exc:
        raise MetricsUnavailable(
            f"metrics: cannot listen on {settings.address}:{settings.port}: "
            f"{exc.strerror or exc}; change [metrics] port or address"
        ) from None
    return metrics


class MetricsUnavailable(Exception):
    """The configured metrics address cannot be listened on."""


def counted_drain(drainer: Drainer, metrics: Metrics | None) -> Callable[[], None]:
    def drain() -> None:
        started = time.monotonic()
        report = drainer.drain()
        if metrics is not None:
            metrics.drain(report, time.monotonic() - started)

    return drain


def run_forever(rt: Runtime) -> None:
    metrics = start_metrics(rt)
    drainer = make_drainer(rt)
    announce(rt, drainer)
    heartbeat = Heartbeat(rt, metrics)
    heartbeat.beat()  # before any claim: others must see us alive
    sync_config_feeds(rt)
    scheduler = BlockingScheduler(timezone="UTC")
    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
    watcher = make_watcher(rt, drainer)
    app = attach_app(rt, drainer)
    jobs = [
        (
            _Job("heartbeat", heartbeat.beat, rt, metrics),
            rt.heartbeat.total_seconds(),
        ),
        (
            _Job("poll", lambda: poll_and_report(rt, drainer, heartbeat), rt, metrics),
            rt.config.normwatch.tick,
        ),
        (
            _Job("drain", counted_drain(drainer, metrics), rt, metrics),
            min(DRAIN_SECONDS, rt.config.normwatch.tick),
        ),
        (
            _Job("daily digest", lambda: send_daily_digest(rt, drainer.poster), rt),
            DAILY_SECONDS,
        ),
        (_Job("retention", lambda: prune_old_items(rt), rt), RETENTION_SECONDS),
        # Reading and hashing one small file: cheap enough to do every tick.
        (
            _Job("reload", watcher.check, rt),
            min(RELOAD_SECONDS, rt.config.normwatch.tick),
        ),
        # A no-op unless the app could not reach Slack when it last tried.
        (_Job("slack app", app.retry_if_due, rt), APP_RETRY_TICK),
    ]
    for job, seconds in jobs:
        scheduler.add_job(
            job,
            "interval",
            seconds=seconds,
            next_run_time=rt.clock(),
            id=job.name,
            **common,
        )

    def stop(signum: int, _: FrameType | None) -> None:
        # A second Ctrl-C or SIGTERM kills at once: the database keeps us safe.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        log.info(
            "received %s; finishing the current step and stopping (again to force)",
            signal.Signals(signum).name,
        )
        rt.stopping.set()
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        scheduler.start()
    finally:
        for job, _ in jobs:  # wait for a step in progress to reach a safe point
            if job.running.acquire(timeout=STOP_GRACE):
                job.running.release()
            else:
                log.warning(
                    "%s is still running after %ds; stopping anyway",
                    job.name,
                    STOP_GRACE,
                )
        app.close()  # waits for a connect in progress, then allows no other
    try:
        heartbeat.stopped()
    except SQLAlchemyError as exc:
        log.warning("could not record the stop (others take over later): %s", exc)
    log.info("normwatch stopped")
