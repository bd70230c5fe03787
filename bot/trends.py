"""`normwatch stats`: counts per state, topic, rule, feed, language, day or
week, the precision the team's feedback gives each, and a chart of hits per
day per state in the terminal."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.text import Text

from bot.cli import FORMAT, BadInput, _runtime, cli, emit
from bot.history import hit_filter
from storage.fulltext import SearchSyntaxError
from storage.stats import (
    GROUPINGS,
    DayCount,
    GroupCount,
    count_hits,
    days_between,
    hits_per_day_by_state,
)

# Distinct in dark and light terminals, in the order states appear.
PALETTE = [
    "cyan",
    "magenta",
    "yellow",
    "green",
    "blue",
    "red",
    "bright_white",
    "orange3",
]
BAR_WIDTH = 50
CHART_DAYS = 60


def group_rows(by: str, counts: list[GroupCount]) -> list[dict[str, Any]]:
    return [
        {
            by: c.key,
            "hits": c.hits,
            "judged": c.judged,
            "relevant": c.relevant,
            "not_relevant": c.not_relevant,
            "precision": None if c.precision is None else round(c.precision, 3),
        }
        for c in counts
    ]


def state_colours(counts: list[DayCount]) -> dict[str, str]:
    states = sorted({c.state for c in counts})
    return {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(states)}


def chart(counts: list[DayCount], *, days: int = CHART_DAYS) -> list[Text]:
    """One line per day (the last `days`): a bar of hits stacked by state."""
    colours = state_colours(counts)
    per_day: dict[date, dict[str, int]] = {}
    for c in counts:
        per_day.setdefault(c.day, {})[c.state] = c.hits
    span = days_between(counts)[-days:]
    if not span:
        return [Text("no hits in this range")]
    top = max(sum(v.values()) for v in per_day.values())
    lines = [
        Text.assemble(
            "hits per day, by state: ",
            *(
                piece
                for state, colour in colours.items()
                for piece in (("█ ", colour), (f"{state or 'none'}  ", ""))
            ),
        )
    ]
    for day in span:
        line = Text(f"{day:%Y-%m-%d} ")
        states = per_day.get(day, {})
        for state, n in sorted(states.items()):
            width = max(1, round(n * BAR_WIDTH / top))
            line.append("█" * width, style=colours[state])
        line.append(f" {sum(states.values())}" if states else " 0")
        lines.append(line)
    return lines


@cli.command()
@click.option(
    "--by",
    type=click.Choice(GROUPINGS),
    default="rule",
    show_default=True,
    help="What to count per.",
)
@click.option("--since", help="Hits found after: a duration (30d) or a date.")
@click.option(
    "--until", "until_", help="Hits found before: a duration or a date (inclusive)."
)
@click.option("--state", help="Only this state.")
@click.option("--topic", help="Only this topic.")
@click.option("--rule", help="Only this rule.")
@click.option("--feed", help="Only this feed (its name).")
@click.option("--lang", "language", help="Only this language.")
@click.option("--search", help="Only hits whose article matches this search.")
@click.option("--chart/--no-chart", default=True, help="The chart (table format).")
@FORMAT
@click.option("--bom", is_flag=True, help="Start CSV with a byte-order mark.")
@click.pass_context
def stats(ctx: click.Context, /, by: str, **o: Any) -> None:
    """Count hits per state, topic, rule, feed, language, day or week, with the
    precision the team's feedback gives each; chart hits per day per state."""
    filters = hit_filter(o, o["search"])
    with _runtime(ctx) as rt, rt.sessions() as session:
        tz = ZoneInfo(rt.config.normwatch.timezone)
        try:
            counts = count_hits(session, filters, by=by, tz=tz)
            days = hits_per_day_by_state(session, filters, tz=tz)
        except SearchSyntaxError as exc:
            raise BadInput(f"--search: {exc}") from None
    rows = group_rows(by, counts)
    fields = [by, "hits", "judged", "relevant", "not_relevant", "precision"]
    emit(rows, o["fmt"], fields=fields, columns=fields, bom=o["bom"])
    if o["fmt"] == "table":
        total = sum(c.hits for c in counts)
        click.echo(f"{total} hits in {len(counts)} groups")
        if o["chart"]:
            console = Console()
            for line in chart(days):
                console.print(line)
