"""`normwatch rules test`: an explanation a campaigner can read."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from bot.config import Config
from bot.rules import Explanation, MatchedTerm

SNIPPET_AROUND = 120


def highlighted(text: str, terms: list[MatchedTerm], field: str) -> Text:
    """`text` with the matched terms of `field` in bold, cut around the first one."""
    spans = sorted(
        (m.start, m.end) for m in terms if m.field == field and m.end > m.start
    )
    start = max(0, spans[0][0] - SNIPPET_AROUND) if spans else 0
    end = (
        min(len(text), (spans[-1][1] if spans else 0) + SNIPPET_AROUND)
        if spans
        else min(len(text), 2 * SNIPPET_AROUND)
    )
    out = Text("…" if start else "")
    body = Text(text[start:end])
    for first, last in spans:
        if first >= start and last <= end:
            body.stylize("bold yellow", first - start, last - start)
    out.append_text(body)
    if end < len(text):
        out.append("…")
    return out


def print_explanation(
    console: Console,
    found: Explanation,
    *,
    title: str,
    text: str,
    lang: str | None,
    config: Config,
) -> None:
    names = {code: state.name for code, state in config.states.items()}
    header = f"Text ({lang})" if lang else "Text"
    console.print(Text(f"{header}:", style="bold"))
    if title:
        console.print(
            Text("  title: ").append_text(highlighted(title, found.terms, "title"))
        )
    console.print(Text("  ").append_text(highlighted(text, found.terms, "summary")))
    states = ", ".join(f"{c} ({names.get(c, c)})" for c in found.states) or "none named"
    console.print(Text(f"States: {states}"))
    if found.terms:
        console.print(Text("Terms found:", style="bold"))
        for m in found.terms:
            console.print(
                Text(
                    f"  {m.text!r} = {m.term!r} in [{', '.join(m.groups)}] ({m.field})"
                )
            )
    else:
        console.print(Text("Terms found: none"))
    console.print(Text("Rules:", style="bold"))
    hits = {h.rule: h for h in found.hits}
    for verdict in found.verdicts:
        rule = verdict.rule
        hit = hits.get(rule.id)
        if hit:
            line = Text(f"  MATCH {rule.id}", style="bold green")
            line.append(
                f" · {rule.topic} · {rule.severity} · state {hit.state or 'none'}"
            )
            line.append(f" · terms: {', '.join(hit.terms)}")
        else:
            line = Text(f"  no    {rule.id}", style="dim")
            line.append(f" · {'; '.join(verdict.reasons)}")
        console.print(line)


def explanation_json(found: Explanation) -> dict[str, Any]:
    hits = {h.rule: h for h in found.hits}
    return {
        "states": list(found.states),
        "terms": [m.as_dict() for m in found.terms],
        "rules": [
            {
                "rule": v.rule.id,
                "topic": v.rule.topic,
                "severity": v.rule.severity,
                "matched": v.matched,
                "state": hits[v.rule.id].state if v.matched else None,
                "terms": hits[v.rule.id].terms if v.matched else [],
                "snippet": hits[v.rule.id].snippet if v.matched else "",
                "missing": list(v.missing),
                "excluded_by": list(v.excluded_by),
                "too_far": list(v.too_far),
            }
            for v in found.verdicts
        ],
    }
