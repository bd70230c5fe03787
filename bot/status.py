"""`normwatch status`: is the bot running, and is anything stuck?

Read from the database, so it covers every instance wherever it runs: which
instances beat (and so run their scheduler), the last poll cycle and how
long it took, how many alerts wait in the outbox and since when, which feeds
fail, and what Slack refuses.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import click

from bot.cli import _runtime, cli
from storage.feedstate import FeedHealth, feed_health
from storage.instances import InstanceState, list_instances
from storage.outbox import ChannelTrouble, channel_problems
from storage.status import OutboxDepth, outbox_depth

FAILING_SHOWN = 10


@dataclass(frozen=True)
class Status:
    """Everything `status` shows; `--format json` prints it as is."""

    now: datetime
    instances: list[InstanceState]
    outbox: OutboxDepth
    feeds: int
    failing: list[FeedHealth]
    slack_problems: list[ChannelTrouble]

    @property
    def alive(self) -> list[InstanceState]:
        return [i for i in self.instances if i.alive]

    @property
    def last_cycle(self) -> InstanceState | None:
        cycled = [i for i in self.instances if i.last_cycle_at is not None]
        return max(cycled, key=lambda i: i.last_cycle_at or self.now, default=None)


def _ago(then: datetime | None, now: datetime) -> str:
    if then is None:
        return "never"
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def as_json(status: Status) -> str:
    last = status.last_cycle
    data = {
        "now": status.now,
        "instances_alive": len(status.alive),
        "instances": [asdict(i) for i in status.instances],
        "last_cycle": None
        if last is None
        else {
            "instance": last.id,
            "ended_at": last.last_cycle_at,
            "seconds": last.last_cycle_seconds,
            "feeds": last.last_cycle_feeds,
            "errors": last.last_cycle_errors,
        },
        "outbox": asdict(status.outbox),
        "feeds": status.feeds,
        "failing_feeds": [
            {
                "name": f.name,
                "url": f.url,
                "failing_since": f.failing_since,
                "consecutive_failures": f.consecutive_failures,
                "last_error": f.last_error,
            }
            for f in status.failing
        ],
        "slack_problems": [asdict(p) for p in status.slack_problems],
    }
    return json.dumps(_jsonable(data), ensure_ascii=False, indent=2)


def as_text(status: Status) -> list[str]:
    now = status.now
    alive = status.alive
    lines = [
        f"scheduler:     {len(alive)} instance(s) running"
        + (f" of {len(status.instances)} on record" if status.instances else "")
        + ("" if alive else " — nothing polls the feeds now")
    ]
    for i in status.instances[:10]:
        state = "running" if i.alive else ("stopped" if i.stopped_at else "silent")
        lines.append(
            f"  {i.id}: {state}, last seen {_ago(i.last_seen, now)}, "
            f"{i.cycles} cycles since {i.started_at:%Y-%m-%d %H:%M} UTC"
        )
    last = status.last_cycle
    if last is None or last.last_cycle_at is None:
        lines.append("last cycle:    none yet")
    else:
        lines.append(
            f"last cycle:    {last.last_cycle_at:%Y-%m-%d %H:%M:%S} UTC "
            f"({_ago(last.last_cycle_at, now)}), took {last.last_cycle_seconds or 0:.1f} s, "
            f"{last.last_cycle_feeds} feeds polled, {last.last_cycle_errors} failed"
        )
    box = status.outbox
    oldest = (
        f", oldest queued {_ago(box.oldest_pending_at, now)}"
        if box.oldest_pending_at
        else ""
    )
    lines.append(
        f"outbox:        {box.pending} alert(s) waiting{oldest}"
        + (f"; {box.failed} refused by Slack for good" if box.failed else "")
    )
    lines.append(f"failing feeds: {len(status.failing)} of {status.feeds}")
    for f in status.failing[:FAILING_SHOWN]:
        lines.append(
            f"  {f.name}: {f.last_error or 'unknown error'} "
            f"(since {_ago(f.failing_since, now)})"
        )
    if len(status.failing) > FAILING_SHOWN:
        lines.append(
            f"  … and {len(status.failing) - FAILING_SHOWN} more (normwatch feeds)"
        )
    problems = status.slack_problems
    if not problems and not box.errors:
        lines.append("slack:         no errors")
    else:
        lines.append("slack:         errors")
    for p in problems:
        lines.append(
            f"  {p.channel}: {p.error}: {p.message} (since {_ago(p.since, now)})"
        )
    for error, n in sorted(box.errors.items()):
        lines.append(f"  {n} waiting alert(s): {error}")
    return lines


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.option(
    "--check",
    is_flag=True,
    help="Exit with status 1 when no instance is running (for monitoring).",
)
@click.pass_context
def status(ctx: click.Context, fmt: str, check: bool) -> None:
    """Is the bot running? Instances, last cycle, outbox, failing feeds, Slack errors."""
    with _runtime(ctx) as rt, rt.sessions() as session:
        now = rt.clock()
        urls = [f.url for f in rt.config.feeds]
        health = feed_health(session, urls)
        found = Status(
            now=now,
            instances=list_instances(session, now=now, timeout=rt.dead_after),
            outbox=outbox_depth(session),
            feeds=len(urls),
            failing=[h for h in health if h.status == "failing"],
            slack_problems=channel_problems(session),
        )
    if fmt == "json":
        click.echo(as_json(found))
    else:
        for line in as_text(found):
            click.echo(line)
    if check and not found.alive:
        ctx.exit(1)
