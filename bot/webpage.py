"""The HTML of `normwatch web`, built from plain values: a filter form, the
list of hits (or items) and an inline SVG chart of hits per day per state.

Pure functions, no I/O. Every piece of feed text is escaped, and only
http(s) links become links: a hostile feed cannot inject markup or scripts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from html import escape
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from storage.history import HitRow
from storage.search import ItemRow
from storage.stats import DayCount, days_between

# Colour-blind friendly (Okabe-Ito), in the order states appear.
COLOURS = [
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
]
CHART_W, CHART_H, CHART_DAYS = 760, 180, 90

STYLE = """
body{font:15px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:1100px;color:#222}
h1{font-size:1.4em} form{display:flex;flex-wrap:wrap;gap:.5em;align-items:end}
label{display:flex;flex-direction:column;font-size:.8em;color:#555}
input,select,button{font:inherit;padding:.2em}
table{border-collapse:collapse;width:100%;margin-top:1em}
td,th{border-bottom:1px solid #ddd;padding:.3em;text-align:left;vertical-align:top}
.meta{color:#666;font-size:.85em} .error{color:#b00;font-weight:bold}
.legend span{margin-right:1em} .swatch{display:inline-block;width:.8em;height:.8em}
"""


@dataclass(frozen=True)
class Choices:
    """The values each filter can take (from the database and config)."""

    states: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    feeds: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)


FIELDS = (
    "q",
    "state",
    "topic",
    "rule",
    "feed",
    "lang",
    "since",
    "until",
    "verdict",
    "alerted",
    "all_items",
)


def _link(url: str | None, text: str) -> str:
    label = escape(text or "(no title)")
    if url and url.lower().startswith(("http://", "https://")):
        return f'<a class="title" href="{escape(url)}" rel="noopener noreferrer">{label}</a>'
    return f'<span class="title">{label}</span>'


def _when(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""


def _select(name: str, label: str, values: Sequence[str], chosen: str) -> str:
    options = ['<option value="">any</option>'] + [
        f'<option value="{escape(v)}"{" selected" if v == chosen else ""}>{escape(v)}</option>'
        for v in values
    ]
    return f'<label>{label}<select name="{name}">{"".join(options)}</select></label>'


def form(params: dict[str, str], choices: Choices) -> str:
    def text_input(name: str, label: str, placeholder: str = "") -> str:
        return (
            f'<label>{label}<input name="{name}" value="{escape(params.get(name, ""))}"'
            f' placeholder="{escape(placeholder)}"></label>'
        )

    checked = " checked" if params.get("all_items") else ""
    return (
        '<form id="filters" method="get" action="/">'
        + text_input("q", "search", 'kasetin* "cluster munitions"')
        + _select("state", "state", choices.states, params.get("state", ""))
        + _select("topic", "topic", choices.topics, params.get("topic", ""))
        + _select("rule", "rule", choices.rules, params.get("rule", ""))
        + _select("feed", "feed", choices.feeds, params.get("feed", ""))
        + _select("lang", "language", choices.languages, params.get("lang", ""))
        + text_input("since", "since", "30d or 2026-11-01")
        + text_input("until", "until", "2026-11-30")
        + _select(
            "verdict",
            "feedback",
            ["relevant", "not_relevant", "none"],
            params.get("verdict", ""),
        )
        + _select("alerted", "alerted", ["yes", "no"], params.get("alerted", ""))
        + f'<label>every article<input type="checkbox" name="all_items" value="1"{checked}></label>'
        + '<button type="submit" id="go">Show</button></form>'
    )


def hit_table(rows: Sequence[HitRow], tz: ZoneInfo) -> str:
    head = "<tr><th>found</th><th>state</th><th>topic</th><th>article</th><th>feed</th><th>alerted</th><th>feedback</th></tr>"
    body = "".join(
        f'<tr class="hit" data-id="{r.id}"><td>{_when(r.found_at, tz)}</td>'
        f"<td>{escape(r.state or '')}</td><td>{escape(r.topic)}</td>"
        f"<td>{_link(r.url, r.title)}"
        f'<div class="meta">{escape(", ".join(r.matched))}</div></td>'
        f"<td>{escape(r.feed)} ({escape(r.language or '?')})</td>"
        f"<td>{'yes' if r.alerted else 'no'}</td><td>{escape(r.verdict or '')}</td></tr>"
        for r in rows
    )
    return f'<table id="results">{head}{body}</table>'


def item_table(rows: Sequence[ItemRow], tz: ZoneInfo) -> str:
    head = "<tr><th>fetched</th><th>article</th><th>feed</th><th>rules</th></tr>"
    body = "".join(
        f'<tr class="hit" data-id="{r.id}"><td>{_when(r.fetched_at, tz)}</td>'
        f"<td>{_link(r.url, r.title)}"
        f'<div class="meta">{escape(r.extract)}</div></td>'
        f"<td>{escape(r.feed)} ({escape(r.language or '?')})</td>"
        f"<td>{escape(', '.join(r.rules))}</td></tr>"
        for r in rows
    )
    return f'<table id="results">{head}{body}</table>'


def chart(counts: Sequence[DayCount]) -> str:
    """Hits per day as stacked bars coloured by state (the last CHART_DAYS)."""
    days = days_between(counts)[-CHART_DAYS:]
    if not days:
        return '<p id="chart-empty">No hits to chart.</p>'
    states = sorted({c.state for c in counts})
    colour = {s: COLOURS[i % len(COLOURS)] for i, s in enumerate(states)}
    per_day: dict[date, list[DayCount]] = {}
    for c in counts:
        per_day.setdefault(c.day, []).append(c)
    top = max(sum(c.hits for c in per_day.get(d, [])) for d in days)
    width = CHART_W / len(days)
    bars: list[str] = []
    for i, day in enumerate(days):
        y = float(CHART_H)
        for c in sorted(per_day.get(day, []), key=lambda c: c.state):
            height = c.hits * (CHART_H - 10) / top
            y -= height
            bars.append(
                f'<rect class="bar" data-day="{day}" data-state="{escape(c.state)}"'
                f' data-hits="{c.hits}" x="{i * width:.1f}" y="{y:.1f}"'
                f' width="{max(width - 1, 1):.1f}" height="{height:.1f}"'
                f' fill="{colour[c.state]}"><title>{day} {escape(c.state or "none")}:'
                f" {c.hits}</title></rect>"
            )
    legend = "".join(
        f'<span><i class="swatch" style="background:{colour[s]}"></i> {escape(s or "none")}</span>'
        for s in states
    )
    return (
        f'<figure><svg id="chart" role="img" aria-label="hits per day by state"'
        f' viewBox="0 0 {CHART_W} {CHART_H + 16}" width="100%">{"".join(bars)}'
        f'<text x="0" y="{CHART_H + 14}" font-size="11">{days[0]}</text>'
        f'<text x="{CHART_W}" y="{CHART_H + 14}" font-size="11" text-anchor="end">{days[-1]}</text>'
        f'<text x="0" y="10" font-size="11">{top} / day</text></svg>'
        f'<figcaption class="legend">{legend}</figcaption></figure>'
    )


def pager(params: dict[str, str], page: int, more: bool) -> str:
    def link(to: int, label: str, rel: str) -> str:
        query = urlencode({**{k: v for k, v in params.items() if v}, "page": to})
        return f'<a rel="{rel}" href="/?{escape(query)}">{label}</a>'

    parts = []
    if page > 1:
        parts.append(link(page - 1, "← newer", "prev"))
    parts.append(f"page {page}")
    if more:
        parts.append(link(page + 1, "older →", "next"))
    export = urlencode({k: v for k, v in params.items() if v})
    parts.append(
        f'<a id="csv" href="/export.csv?{escape(export)}">CSV for a spreadsheet</a>'
    )
    return f'<p class="pager">{" · ".join(parts)}</p>'


def page(*, title: str, body: list[str]) -> bytes:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>{''.join(body)}</body></html>"
    ).encode()
