"""The history commands: `hits` and `search` (reading through
`storage.search`) and `prune` (retention). `stats` and `web` have their own
modules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, fields
from datetime import datetime, timedelta
from typing import Any, TypeVar

import click
from sqlalchemy.orm import Session

from bot.cli import FORMAT, BadInput, _runtime, _since, cli, emit
from bot.config import parse_duration
from storage.fulltext import SearchSyntaxError
from storage.history import NO_VERDICT, VERDICTS, HitFilter, HitRow, list_hits
from storage.retention import count_prunable, prune_unmatched, retention_cutoff
from storage.search import ItemFilter, ItemRow, list_items

F = TypeVar("F", bound=Callable[..., Any])

HIT_COLUMNS = [
    "id",
    "published_at",
    "state",
    "topic",
    "rule",
    "title",
    "feed",
    "matched",
    "alerted",
]
ITEM_COLUMNS = ["id", "fetched_at", "feed", "language", "title", "rules"]


def until(value: str | None) -> datetime | None:
    """`--until`: a duration ago, a moment, or a whole day (a plain date
    includes that day)."""
    moment = _since(value, "--until")
    if moment is not None and value is not None and len(value.strip()) == 10:
        try:
            datetime.strptime(value.strip(), "%Y-%m-%d")
        except ValueError:
            return moment
        return moment + timedelta(days=1)
    return moment


def _options(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


# Filters shared by every listing (hits and the whole archive).
COMMON = _options(
    click.option("--state", help="Only this state (e.g. LT)."),
    click.option("--feed", help="Only this feed (its name, any case)."),
    click.option("--lang", "language", help="Only this language (e.g. lt)."),
    click.option(
        "--since", help="Only newer than this: a duration (7d, 12h) or a date."
    ),
    click.option(
        "--until",
        "until_",
        help="Only older than this: a duration or a date (a date includes that day).",
    ),
    click.option("--oldest", is_flag=True, help="Oldest first (default: newest)."),
    click.option(
        "--limit", type=click.IntRange(1, 100000), default=100, show_default=True
    ),
    click.option(
        "--page", type=click.IntRange(1), default=1, show_default=True, help="Page N."
    ),
    FORMAT,
    click.option("--bom", is_flag=True, help="Start CSV with a byte-order mark."),
)

# Filters that only hits have.
HIT_ONLY = _options(
    click.option("--topic", help="Only this topic (e.g. ccm_withdrawal)."),
    click.option("--rule", help="Only this rule."),
    click.option(
        "--verdict",
        type=click.Choice([*VERDICTS, NO_VERDICT]),
        help="Only hits whose latest feedback says this (none: not judged yet).",
    ),
    click.option(
        "--alerted/--not-alerted",
        default=None,
        help="Only hits posted to Slack, or only those not posted.",
    ),
)


def hit_filter(options: dict[str, Any], search: str | None) -> HitFilter:
    """The HitFilter for a command's options (those it lacks stay open)."""
    limit = options.get("limit", 100)
    return HitFilter(
        state=options.get("state"),
        topic=options.get("topic"),
        rule=options.get("rule"),
        feed=options.get("feed"),
        language=options.get("language"),
        since=_since(options.get("since")),
        until=until(options.get("until_")),
        verdict=options.get("verdict"),
        alerted=options.get("alerted"),
        search=search,
        oldest_first=options.get("oldest", False),
        limit=limit,
        offset=(options.get("page", 1) - 1) * limit,
    )


def _show(
    ctx: click.Context,
    fetch: Callable[[Session], Sequence[Any]],
    row_type: type[Any],
    columns: list[str],
    options: dict[str, Any],
) -> None:
    """Run one listing query and print its page in the chosen format."""
    with _runtime(ctx) as rt, rt.sessions() as session:
        try:
            rows = [asdict(r) for r in fetch(session)]
        except SearchSyntaxError as exc:
            raise BadInput(str(exc)) from None
    fmt = options["fmt"]
    emit(
        rows,
        fmt,
        fields=[f.name for f in fields(row_type)],
        columns=columns,
        bom=options["bom"],
    )
    _page_note(len(rows), options["limit"], options["page"], fmt)


def _page_note(shown: int, limit: int, page: int, fmt: str) -> None:
    if fmt == "table" and shown == limit:
        click.echo(f"page {page}; more may follow: --page {page + 1}", err=True)


@cli.command()
@click.option("--search", help='Full-text search: words, prefix*, "a phrase".')
@COMMON
@HIT_ONLY
@click.pass_context
def hits(ctx: click.Context, /, search: str | None, **options: Any) -> None:
    """List stored hits, newest first."""
    filters = hit_filter(options, search)
    _show(ctx, lambda s: list_hits(s, filters), HitRow, HIT_COLUMNS, options)


@cli.command()
@click.argument("text")
@click.option(
    "--all-items",
    is_flag=True,
    help="Search every stored item, not only hits (what the rules missed).",
)
@click.option(
    "--matched/--unmatched",
    default=None,
    help="With --all-items: only items with hits, or only items without.",
)
@COMMON
@HIT_ONLY
@click.pass_context
def search(
    ctx: click.Context,
    /,
    text: str,
    all_items: bool,
    matched: bool | None,
    **options: Any,
) -> None:
    """Find hits (or, with --all-items, any stored item) by their words.

    TEXT: words that must all appear; `word*` for any ending; "a phrase";
    `a OR b`; `-word` to exclude. Case and accents do not matter.
    """
    if not all_items:
        if matched is not None:
            raise BadInput("--matched/--unmatched need --all-items")
        filters = hit_filter(options, text)
        _show(ctx, lambda s: list_hits(s, filters), HitRow, HIT_COLUMNS, options)
        return
    for name in ("topic", "rule", "verdict", "alerted"):
        if options[name] is not None:
            raise BadInput(
                f"--{name} applies to hits only; drop --all-items or --{name}"
            )
    items = ItemFilter(
        feed=options["feed"],
        language=options["language"],
        state=options["state"],
        since=_since(options["since"]),
        until=until(options["until_"]),
        matched=matched,
        search=text,
        oldest_first=options["oldest"],
        limit=options["limit"],
        offset=(options["page"] - 1) * options["limit"],
    )
    _show(ctx, lambda s: list_items(s, items), ItemRow, ITEM_COLUMNS, options)


@cli.command()
@click.option(
    "--older-than",
    help="Override [history] keep_unmatched for this run (e.g. 90d).",
)
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@click.pass_context
def prune(ctx: click.Context, /, older_than: str | None, dry_run: bool) -> None:
    """Delete stored items that never matched a rule, once they are older than
    [history] keep_unmatched (default 180 days). Hits, their items and
    feedback are kept. The running bot does this every day by itself."""
    with _runtime(ctx) as rt:
        if older_than is None:
            keep = rt.config.history.keep_unmatched
        else:
            try:
                keep = parse_duration(older_than)
            except ValueError as exc:
                raise BadInput(f"--older-than: {exc}") from None
            if keep == 0:
                raise BadInput("--older-than: must be longer than 0")
        cutoff = retention_cutoff(keep, rt.clock())
        if cutoff is None:
            click.echo(
                "retention is off ([history] keep_unmatched = 0): nothing pruned"
            )
            return
        if dry_run:
            with rt.sessions() as session:
                n = count_prunable(session, cutoff=cutoff)
            click.echo(f"{n} unmatched items fetched before {cutoff:%Y-%m-%d} would go")
            return
        n = prune_unmatched(rt.sessions, cutoff=cutoff)
    click.echo(f"pruned {n} unmatched items fetched before {cutoff:%Y-%m-%d}")
