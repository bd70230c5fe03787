"""Backtest: what a new rule set would add or remove over the stored archive.

Pure apart from the items it is handed: two matchers (or one matcher and the
hits already recorded) run over the same items, and the difference comes back
as plain rows. Nobody is alerted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bot.rules import Matcher, RuleHit
from storage.history import ArchivedItem


@dataclass(frozen=True)
class Change:
    change: str  # "added" | "removed"
    item: int
    rule: str
    topic: str
    state: str | None
    title: str
    url: str | None
    feed: str
    published_at: datetime | None
    matched: list[str]


@dataclass
class Backtest:
    items: int = 0
    changes: list[Change] = field(default_factory=list)

    def counts(self) -> Counter[tuple[str, str]]:
        return Counter((c.change, c.rule) for c in self.changes)


def _change(kind: str, item: ArchivedItem, hit: RuleHit | None, rule: str) -> Change:
    return Change(
        change=kind,
        item=item.id,
        rule=rule,
        topic=hit.topic if hit else "",
        state=hit.state if hit else item.feed_state,
        title=item.title,
        url=item.url,
        feed=item.feed,
        published_at=item.published_at,
        matched=hit.terms if hit else [],
    )


def _hits(matcher: Matcher, item: ArchivedItem) -> dict[str, RuleHit]:
    found = matcher.match(
        title=item.title,
        summary=item.summary,
        feed_state=item.feed_state,
        implied_state=item.feed_kind == "parliament",  # as the live poll does
    )
    return {h.rule: h for h in found}


def run_backtest(
    items: Iterable[ArchivedItem],
    new: Matcher,
    *,
    old: Matcher | None = None,
    recorded: dict[int, set[str]] | None = None,
) -> Backtest:
    """Compare `new` with `old`, or with the `recorded` hits when `old` is None."""
    result = Backtest()
    for item in items:
        result.items += 1
        hits = _hits(new, item)
        if old is not None:
            before = _hits(old, item)
            before_rules = set(before)
        else:
            before = {}
            before_rules = (recorded or {}).get(item.id, set())
        for rule in sorted(set(hits) - before_rules):
            result.changes.append(_change("added", item, hits[rule], rule))
        for rule in sorted(before_rules - set(hits)):
            result.changes.append(_change("removed", item, before.get(rule), rule))
    return result
