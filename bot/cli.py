"""The `normwatch` command.

Exit status: 0 on success, 2 on bad input or config, 1 on any other failure,
always with one clear message on stderr and never a traceback.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot import __version__
from bot.config import Config, ConfigError, database_url, load_config, parse_duration
from bot.languages import ISO_639_1
from bot.logs import hide_secrets, setup_logging
from bot.runtime import Runtime, utcnow
from storage.db import (
    BadDatabaseURL,
    StorageError,
    check_connection,
    current_revision,
    redact,
    upgrade,
)
from storage.feedstate import FeedHealth, feed_health
from storage.history import archived_items, stored_hits


class BadInput(click.ClickException):
    """Bad config or arguments: exit status 2."""

    exit_code = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=Path("config.toml"),
    envvar="NORMWATCH_CONFIG",
    show_default=True,
    help="The configuration file.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    envvar="NORMWATCH_LOG_FORMAT",
    show_default=True,
    help="Log lines for people (text) or one JSON object a line (json).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: Path, verbose: bool, log_format: str) -> None:
    """normwatch: watch feeds for talk of leaving the cluster-munitions and
    mine-ban treaties, and alert Slack."""
    setup_logging(verbose=verbose, fmt=log_format)
    ctx.obj = config_path


def _config(ctx: click.Context) -> tuple[Config, Path]:
    path: Path = ctx.obj
    try:
        return load_config(path), path
    except ConfigError as exc:
        raise BadInput(str(exc)) from None


@contextmanager
def _runtime(ctx: click.Context, *, migrate: bool = True) -> Iterator[Runtime]:
    config, path = _config(ctx)
    try:
        rt = Runtime.open(config, path)
    except BadDatabaseURL as exc:
        raise BadInput(str(exc)) from None
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        check_connection(rt.engine)
        if migrate:
            upgrade(rt.engine)
    except StorageError as exc:
        rt.close()
        raise click.ClickException(str(exc)) from None
    try:
        yield rt
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        rt.close()


@cli.command("check-config")
@click.pass_context
def check_config(ctx: click.Context) -> None:
    """Validate the config file and summarise it."""
    config, path = _config(ctx)
    channels = sorted(
        {config.slack.channel, *(r.channel for r in config.slack.routes)} - {""}
    )
    click.echo(f"{path}: OK")
    click.echo(f"  feeds:    {len(config.feeds)}")
    click.echo(f"  states:   {', '.join(sorted(config.states)) or 'none'}")
    click.echo(f"  groups:   {', '.join(sorted(config.groups)) or 'none'}")
    click.echo(f"  rules:    {', '.join(r.id for r in config.rules) or 'none'}")
    click.echo(f"  channels: {', '.join(channels) or 'none'}")
    click.echo(f"  database: {redact(database_url(config, path))}")


@cli.command()
@click.option(
    "--once", is_flag=True, help="Poll every feed once, deliver alerts, and exit."
)
@click.pass_context
def run(ctx: click.Context, once: bool) -> None:
    """Run the bot: poll feeds on schedule and post alerts."""
    from bot.daily import send_daily_digest
    from bot.health import report_health
    from bot.poll import poll_once, sync_config_feeds
    from bot.service import MetricsUnavailable, announce, make_drainer, run_forever
    from storage.writerlock import single_writer

    with _runtime(ctx) as rt, single_writer(str(rt.engine.url)):
        if not once:
            try:
                run_forever(rt)
            except MetricsUnavailable as exc:
                raise BadInput(str(exc)) from None
            return
        drainer = make_drainer(rt)
        announce(rt, drainer)
        sync_config_feeds(rt)
        reports = poll_once(rt, force=True)
        drained = drainer.drain()
        report_health(rt, drainer.poster)
        send_daily_digest(
            rt, drainer.poster
        )  # cron users get it at the first run after its time
        for r in reports:
            detail = r.error or f"{r.new_items} new, {r.hits} hits, {r.alerts} alerts"
            click.echo(f"{r.status:<12} {r.elapsed:6.2f}s  {r.name}: {detail}")
        errors = sum(r.status == "error" for r in reports)
        click.echo(
            f"cycle done: {len(reports)} feeds ({errors} failed), "
            f"{drained.sent} alerts posted, {drained.printed} printed, "
            f"{drained.deferred} waiting for Slack"
        )


@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply database migrations (also done at every start)."""
    with _runtime(ctx) as rt:
        click.echo(
            f"database {redact(str(rt.engine.url))} at revision {current_revision(rt.engine)}"
        )


def _since(value: str | None, option: str = "--since") -> datetime | None:
    """`7d`, `12h` (ago) or an ISO date; naive dates are UTC."""
    if value is None:
        return None
    try:
        return utcnow() - timedelta(seconds=parse_duration(value))
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(
            f"{option}: {value!r} is neither a duration (7d, 12h) nor a date (2026-11-01)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def emit(
    rows: list[dict[str, Any]],
    fmt: str,
    *,
    fields: list[str],
    columns: list[str],
    bom: bool = False,
) -> None:
    """Print rows as a table (`columns`), JSON (a list of objects) or CSV
    (`fields`; `bom` starts it with a byte-order mark for spreadsheets)."""
    if fmt == "json":
        click.echo(
            json.dumps(
                [{k: _jsonable(v) for k, v in r.items()} for r in rows],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if fmt == "csv":
        click.echo(csv_text(rows, fields, bom=bom), nl=False)
        return
    table = Table(show_lines=False)
    for column in columns:
        # Words for a person reading a terminal; JSON and CSV keep the field
        # names that scripts and spreadsheets rely on.
        label = _HEADINGS.get(column, column.replace("_", " "))
        table.add_column(label, overflow="fold")
    for r in rows:
        # Text, not markup: a feed title with "[/]" or "[link=…]" is just text.
        table.add_row(*(Text(_cell(r[c])) for c in columns))
    Console().print(table)


_HEADINGS = {
    "consecutive_failures": "failures",
    "last_success_at": "last success",
    "items_seen": "items",
    "language": "lang",
    "published_at": "published",
}


def csv_text(rows: list[dict[str, Any]], fields: list[str], *, bom: bool) -> str:
    """Rows as CSV, one per line; `bom` starts it with a byte-order mark."""
    buffer = io.StringIO()
    if bom:  # Excel reads a BOM-less CSV in the local code page, not UTF-8
        buffer.write("\ufeff")
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    for r in rows:
        writer.writerow({k: _csv_cell(v) for k, v in r.items()})
    return buffer.getvalue()


def _csv_cell(value: Any) -> Any:
    value = "; ".join(map(str, value)) if isinstance(value, list) else _jsonable(value)
    # A feed title starting with = + - @ would run as a spreadsheet formula.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)


@cli.group(invoke_without_command=True)
@FORMAT
@click.pass_context
def feeds(ctx: click.Context, fmt: str) -> None:
    """Every configured feed's health: last status, last success, failures, last error."""
    if ctx.invoked_subcommand is not None:
        return
    config, _ = _config(ctx)
    with _runtime(ctx) as rt, rt.sessions() as session:
        rows = [asdict(h) for h in feed_health(session, [f.url for f in config.feeds])]
    known = {r["url"] for r in rows}
    for feed in config.feeds:  # configured but never synced: not polled yet
        if feed.url not in known:
            rows.append(
                {
                    **dict.fromkeys(f.name for f in fields(FeedHealth)),
                    "name": feed.name,
                    "url": feed.url,
                    "state": feed.state,
                    "language": feed.language,
                    "kind": feed.kind,
                    "status": "new",
                    "consecutive_failures": 0,
                    "items_seen": 0,
                }
            )
    emit(
        rows,
        fmt,
        fields=[f.name for f in fields(FeedHealth)],
        columns=[
            "name",
            "state",
            "language",
            "status",
            "last_success_at",
            "consecutive_failures",
            "items_seen",
            "last_error",
        ],
    )
    moved = [r for r in rows if r.get("moved_to")]
    for r in moved:
        click.echo(
            f"note: {r['name']} moved permanently to {r['moved_to']}; update its url",
            err=True,
        )


@feeds.command("check")
@click.argument("url")
@click.option(
    "--lang",
    "language",
    default=None,
    help="The language to assume when the feed says none.",
)
@click.pass_context
def feeds_check(ctx: click.Context, url: str, language: str | None) -> None:
    """Fetch and parse one URL and say what it holds: the way to vet a new source."""
    import asyncio

    from bot.poll import fetch_limits
    from feeds.entry import FetchTarget
    from feeds.fetch import fetch_all, user_agent
    from feeds.parse import ParseError, parse_feed

    config, _ = _config(ctx)
    if not url.startswith(("http://", "https://")):
        raise BadInput(f"{url!r} is not an http(s) URL")
    agent = user_agent(__version__, config.normwatch.contact)
    [result] = asyncio.run(
        fetch_all([FetchTarget(url)], agent=agent, limits=fetch_limits(config))
    )
    click.echo(f"url:          {url}")
    if result.final_url and result.final_url != url:
        kind = "permanently" if result.moved_to else "temporarily"
        click.echo(f"redirected:   {kind} to {result.final_url}")
    click.echo(
        f"http:         {result.http_status or '-'} in {result.elapsed:.2f} s, "
        f"{len(result.body)} bytes, {result.headers.get('content-type', 'no content type')}"
    )
    validators = [v for v in ("etag", "last-modified") if v in result.headers]
    click.echo(
        f"validators:   {', '.join(validators) or 'none (normwatch compares bodies instead)'}"
    )
    if result.status == "error":
        raise click.ClickException(f"fetch: {result.error}")
    try:
        parsed = parse_feed(
            result.body,
            headers=result.headers,
            url=result.final_url or url,
            fetched_at=utcnow(),
            default_language=language,
        )
    except ParseError as exc:
        raise click.ClickException(f"parse: {exc}") from None
    entries = parsed.entries
    dated = sorted((e.published_at for e in entries if e.dated), reverse=True)
    languages = sorted({e.language or "?" for e in entries})
    click.echo(f"title:        {parsed.title or '(none)'}")
    click.echo(
        f"entries:      {len(entries)} ({len(entries) - len(dated)} without a date)"
    )
    if dated:
        click.echo(
            f"newest:       {dated[0]:%Y-%m-%d %H:%M} UTC; oldest {dated[-1]:%Y-%m-%d %H:%M} UTC"
        )
    click.echo(f"languages:    {', '.join(languages) or '-'}")
    for entry in entries[:5]:
        click.echo(f"  - {entry.title[:100]}")
    if parsed.warning:
        click.echo(f"problem:      {parsed.warning}")


@cli.group()
def rules() -> None:
    """Try and compare rules."""


@rules.command("test")
@click.argument("text")
@click.option("--title", default="", help="A headline to test along with TEXT.")
@click.option(
    "--lang", help="The language of the text (shown; every language's terms are tried)."
)
@click.option(
    "--state", "feed_state", help="The feed's state, used when the text names none."
)
@click.option(
    "--parliament",
    is_flag=True,
    help="Test it as a parliament's document: it counts as naming --state.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.pass_context
def rules_test(
    ctx: click.Context,
    text: str,
    title: str,
    lang: str | None,
    feed_state: str | None,
    parliament: bool,
    fmt: str,
) -> None:
    """Show which rules match TEXT, with which terms, and what the others miss."""
    from bot.explain import explanation_json, print_explanation
    from bot.rules import Matcher

    config, _ = _config(ctx)
    if lang is not None and lang not in ISO_639_1:
        raise BadInput(f"--lang: {lang!r} is not an ISO 639-1 code (e.g. lt, el)")
    if feed_state is not None and feed_state.upper() not in config.states:
        raise BadInput(f"--state: {feed_state!r} is not a state defined in the config")
    state = feed_state.upper() if feed_state else None
    found = Matcher(config).explain(
        title=title, summary=text, feed_state=state, implied_state=parliament
    )
    if fmt == "json":
        click.echo(json.dumps(explanation_json(found), ensure_ascii=False, indent=2))
        return
    print_explanation(
        Console(), found, title=title, text=text, lang=lang, config=config
    )


@cli.command()
@click.option(
    "--config",
    "new_config",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="The rules to try (default: the current config file, compared with the hits already recorded).",
)
@click.option("--since", help="Only items fetched since: a duration (30d) or a date.")
@click.option(
    "--limit",
    type=click.IntRange(1, 1_000_000),
    default=200,
    show_default=True,
    help="How many changes to list.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
@click.pass_context
def backtest(
    ctx: click.Context, new_config: Path | None, since: str | None, limit: int, fmt: str
) -> None:
    """Run other rules over the stored archive: which hits they add and remove.

    Nothing is alerted and nothing is stored.
    """
    from bot.backtest import Change, run_backtest
    from bot.rules import Matcher

    current, _ = _config(ctx)
    try:
        candidate = load_config(new_config) if new_config else current
    except ConfigError as exc:
        raise BadInput(str(exc)) from None
    start = _since(since)
    with _runtime(ctx) as rt, rt.sessions() as session:
        items = archived_items(session, since=start)
        if new_config:
            result = run_backtest(items, Matcher(candidate), old=Matcher(current))
        else:
            recorded = stored_hits(session, since=start)
            result = run_backtest(items, Matcher(candidate), recorded=recorded)
    rows = [asdict(c) for c in result.changes[:limit]]
    emit(
        rows,
        fmt,
        fields=[f.name for f in fields(Change)],
        columns=["change", "rule", "state", "published_at", "title", "feed", "matched"],
    )
    counts = result.counts()
    added = sum(n for (kind, _), n in counts.items() if kind == "added")
    removed = sum(n for (kind, _), n in counts.items() if kind == "removed")
    by_rule = ", ".join(
        f"{'+' if k == 'added' else '-'}{n} {r}" for (k, r), n in sorted(counts.items())
    )
    against = "the current rules" if new_config else "the hits on record"
    click.echo(
        f"{result.items} items checked against {against}: {added} hits added, "
        f"{removed} removed"
        + (f" ({by_rule})" if by_rule else "")
        + (f"; showing the first {limit}" if len(result.changes) > limit else ""),
        err=fmt != "table",
    )


# The history commands (hits, search, prune; stats; web) and status live in
# their own modules; importing them registers them on `cli`.
from bot import history as _history  # noqa: E402,F401
from bot import status as _status  # noqa: E402,F401
from bot import trends as _trends  # noqa: E402,F401
from bot import web as _web  # noqa: E402,F401


def main(argv: list[str] | None = None) -> None:
    """The console script: every failure is one line on stderr and exit 1."""
    try:
        status = cli.main(args=argv, prog_name="normwatch", standalone_mode=False)
    except click.UsageError as exc:  # the arguments as typed, with the usage
        exc.show()
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        # An error may quote a URL or a token: never print either.
        click.echo(f"Error: {hide_secrets(exc.format_message())}", err=True)
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except Exception as exc:
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            raise
        reason = (
            hide_secrets(str(exc).strip().splitlines()[0]) if str(exc).strip() else ""
        )
        click.echo(
            f"normwatch: {type(exc).__name__}: {reason} (run with -v for details)",
            err=True,
        )
        sys.exit(1)
    sys.exit(status if isinstance(status, int) else 0)
