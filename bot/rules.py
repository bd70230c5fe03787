"""The rule engine: which items are signals, and why.

Semantics, in the order they apply:

1. A *term* is one or more words. Words match whole words of the text after
   folding (see `bot.fold`: case, accents and Turkish/Greek/Romanian letter
   variants do not matter). A trailing `*` makes a word a prefix:
   `kasetini* šaudmen*` matches "kasetinių šaudmenų" and "kasetiniu saudmenu".
   A term of several words matches those words in a row.
2. A *group* is a named set of terms in any languages (`[groups.cluster]`).
   The group `state` is built in: every term of every `[states.XX]`.
3. A *rule* matches an item (title and summary together) when every entry of
   `all` matched, at least one entry of `any` matched (if `any` is given), and
   no entry of `none` matched. An entry `a|b` matches when either group does.
4. The *state* of a hit is the first configured state named in the item;
   when none is named, the feed's own state.

All terms are compiled once into a word index (exact words in a dict, prefixes
by length), so matching an item costs one pass over its words, not a loop over
terms. Everything here is pure: text in, `RuleHit`s out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from bot.config import BUILTIN_STATE_GROUP, Config, Rule
from bot.fold import WORD, Token, fold, tokens

SNIPPET_CHARS = 300


@dataclass(frozen=True)
class _Word:
    key: str
    prefix: bool

    def accepts(self, key: str) -> bool:
        return key.startswith(self.key) if self.prefix else key == self.key


@dataclass(frozen=True)
class _Term:
    text: str  # as written in the config
    words: tuple[_Word, ...]
    groups: frozenset[str]
    states: frozenset[str]


@dataclass(frozen=True)
class MatchedTerm:
    """One occurrence of a term in an item field."""

    term: str
    groups: tuple[str, ...]
    field: str
    start: int
    end: int
    text: str  # the words as they appear in the item

    def as_dict(self) -> dict[str, object]:
        return {
            "term": self.term,
            "groups": list(self.groups),
            "field": self.field,
            "start": self.start,
            "end": self.end,
            "text": self.text,
        }


@dataclass(frozen=True)
class RuleHit:
    rule: str
    topic: str
    severity: str
    state: str | None
    matched: tuple[MatchedTerm, ...]
    snippet: str

    @property
    def terms(self) -> list[str]:
        """Distinct matched texts, in order of appearance."""
        return list(dict.fromkeys(m.text for m in self.matched))


@dataclass
class _Index:
    exact: dict[str, list[_Term]] = field(default_factory=lambda: defaultdict(list))
    prefix: dict[str, list[_Term]] = field(default_factory=lambda: defaultdict(list))
    prefix_lengths: list[int] = field(default_factory=list)


def _compile_term(text: str) -> tuple[_Word, ...]:
    words: list[_Word] = []
    for raw in text.split():
        star = raw.endswith("*")
        parts = [fold(p) for p in WORD.findall(raw)]
        for i, part in enumerate(parts):
            words.append(_Word(part, prefix=star and i == len(parts) - 1))
    return tuple(words)


class Matcher:
    """All rules of a config, compiled once."""

    def __init__(self, config: Config) -> None:
        self.rules: list[Rule] = list(config.rules)
        merged: dict[tuple[_Word, ...], tuple[str, set[str], set[str]]] = {}

        def add(text: str, group: str, state: str | None) -> None:
            words = _compile_term(text)
            if not words:
                return
            _text, groups, states = merged.setdefault(words, (text, set(), set()))
            groups.add(group)
            if state:
                states.add(state)

        for name, by_language in config.groups.items():
            for terms in by_language.values():
                for text in terms:
                    add(text, name, None)
        for code, state in config.states.items():
            for terms in state.terms.values():
                for text in terms:
                    add(text, BUILTIN_STATE_GROUP, code)
        self._index = _Index()
        for words, (text, groups, states) in merged.items():
            term = _Term(text, words, frozenset(groups), frozenset(states))
            head = words[0]
            (self._index.prefix if head.prefix else self._index.exact)[head.key].append(
                term
            )
        self._index.prefix_lengths = sorted({len(k) for k in self._index.prefix})
        self.term_count = len(merged)

    def find_terms(self, text: str, field_name: str) -> list[tuple[MatchedTerm, _Term]]:
        """Every term occurrence in `text`, in order."""
        words = list(tokens(text))
        found: list[tuple[MatchedTerm, _Term]] = []
        for i, token in enumerate(words):
            for term in self._candidates(token.key):
                end = _match_at(term, words, i)
                if end is not None:
                    start, stop = token.start, words[end - 1].end
                    found.append(
                        (
                            MatchedTerm(
                                term.text,
                                tuple(sorted(term.groups)),
                                field_name,
                                start,
                                stop,
                                text[start:stop],
                            ),
                            term,
                        )
                    )
        return found

    def _candidates(self, key: str) -> list[_Term]:
        out = list(self._index.exact.get(key, ()))
        for length in self._index.prefix_lengths:
            if length > len(key):
                break
            out.extend(self._index.prefix.get(key[:length], ()))
        return out

    def match(
        self, *, title: str, summary: str, feed_state: str | None = None
    ) -> list[RuleHit]:
        """The rules this item satisfies, each with its evidence."""
        found = self.find_terms(title, "title") + self.find_terms(summary, "summary")
        if not found:
            return []
        groups: set[str] = set()
        for _, term in found:
            groups |= term.groups
        state = next((min(t.states) for _, t in found if t.states), feed_state)
        hits: list[RuleHit] = []
        for rule in self.rules:
            if not _satisfied(rule, groups):
                continue
            wanted = _groups_of(rule)
            evidence = tuple(m for m, t in found if t.groups & wanted)
            hits.append(
                RuleHit(
                    rule=rule.id,
                    topic=rule.topic,
                    severity=rule.severity,
                    state=state,
                    matched=evidence,
                    snippet=snippet(title, summary, evidence),
                )
            )
        return hits


def _match_at(term: _Term, words: list[Token], i: int) -> int | None:
    """The index after the last word if `term` matches starting at word i."""
    if i + len(term.words) > len(words):
        return None
    for offset, word in enumerate(term.words):
        if not word.accepts(words[i + offset].key):
            return None
    return i + len(term.words)


def _alternatives(entry: str) -> set[str]:
    return {name.strip() for name in entry.split("|")}


def _groups_of(rule: Rule) -> set[str]:
    names: set[str] = set()
    for entry in (*rule.all, *rule.any):
        names |= _alternatives(entry)
    return names


def _satisfied(rule: Rule, groups: set[str]) -> bool:
    if not all(_alternatives(e) & groups for e in rule.all):
        return False
    if rule.any and not any(_alternatives(e) & groups for e in rule.any):
        return False
    return not any(_alternatives(e) & groups for e in rule.none)


def snippet(title: str, summary: str, evidence: tuple[MatchedTerm, ...]) -> str:
    """A window of the summary around the first match (or its start)."""
    if not summary:
        return ""
    first = next(
        (
            m
            for m in evidence
            if m.field == "summary" and m.groups != (BUILTIN_STATE_GROUP,)
        ),
        None,
    )
    if len(summary) <= SNIPPET_CHARS:
        return summary
    centre = first.start if first else 0
    start = max(0, centre - SNIPPET_CHARS // 3)
    if start:
        space = summary.find(" ", start)
        start = space + 1 if 0 <= space < centre else start
    end = min(len(summary), start + SNIPPET_CHARS)
    if end < len(summary):
        space = summary.rfind(" ", start, end)
        end = space if space > start else end
    return (
        ("…" if start else "")
        + summary[start:end]
        + ("…" if end < len(summary) else "")
    )
