"""`normwatch run`: APScheduler 3 as a local ticker for the poll and the drain.

When each feed is due lives in the `feeds` table, not in APScheduler, so a
restart or a second instance sees the same truth. The ticker only decides
how often this process looks.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.exc import SQLAlchemyError

from bot.config import slack_token
from bot.deliver import Drainer
from bot.poll import poll_once, sync_config_feeds
from bot.runtime import Runtime
from bot.slack import SlackPoster
from storage.db import redact

log = logging.getLogger("normwatch.run")

DRAIN_SECONDS = 5


def make_drainer(rt: Runtime) -> Drainer:
    token = slack_token()
    poster = (
        SlackPoster(
            token,
            api_url=rt.config.slack.api_url,
            unfurl_links=rt.config.slack.unfurl_links,
        )
        if token
        else None
    )
    return Drainer(rt, poster)


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
    else:
        log.info(
            "alerts go to Slack channel %s via %s", cfg.slack.channel, cfg.slack.api_url
        )


def _guarded(name: str, job: Callable[[], object]) -> Callable[[], None]:
    """A job that logs its failure and lets the next tick try again."""

    def run() -> None:
        try:
            job()
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            log.error("%s: database error, will retry next tick: %s", name, reason)
        except Exception:
            log.exception("%s failed; will retry next tick", name)

    return run


def run_forever(rt: Runtime) -> None:
    drainer = make_drainer(rt)
    announce(rt, drainer)
    sync_config_feeds(rt)
    scheduler = BlockingScheduler(timezone="UTC")
    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
    scheduler.add_job(
        _guarded("poll", lambda: poll_once(rt)),
        "interval",
        seconds=rt.config.normwatch.tick,
        next_run_time=rt.clock(),
        id="poll",
        **common,
    )
    scheduler.add_job(
        _guarded("drain", drainer.drain),
        "interval",
        seconds=DRAIN_SECONDS,
        next_run_time=rt.clock(),
        id="drain",
        **common,
    )

    def stop(signum: int, _: FrameType | None) -> None:
        log.info(
            "received %s; finishing the current step and stopping",
            signal.Signals(signum).name,
        )
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    scheduler.start()
    log.info("normwatch stopped")
