"""A polled runtime and a poster on one FakeTime: the Slack tests' common setup."""

from __future__ import annotations

from pathlib import Path

from bot.config import load_config
from bot.poll import poll_once, sync_config_feeds
from bot.rules import Matcher
from bot.runtime import Runtime
from bot.slack import SlackPoster
from storage.db import make_engine, session_factory, upgrade
from tests.fakes.clock import FakeTime
from tests.fakes.slack_api import FakeSlack


def polled_runtime(path: Path, db_url: str, clock: FakeTime) -> Runtime:
    """Open the database, load `path`, and poll its feeds once at `clock`'s time."""
    engine = make_engine(db_url)
    upgrade(engine)
    config = load_config(path)
    rt = Runtime(
        config, path, engine, session_factory(engine), Matcher(config), clock=clock.now
    )
    sync_config_feeds(rt)
    poll_once(rt)
    return rt


def fake_time_poster(
    slack: FakeSlack, clock: FakeTime, **kwargs: object
) -> SlackPoster:
    return SlackPoster(
        slack.token,
        api_url=slack.url,
        clock=clock.monotonic,
        sleep=clock.sleep,
        **kwargs,  # type: ignore[arg-type]
    )
