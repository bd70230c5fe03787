"""The rule engine: which items are signals, and why.

Semantics, in the order they apply:

1. A *term* is one or more words (syntax in `bot.terms`). Words match whole
   words of the text after folding (`feeds.fold`: case, accents and the
   Turkish, Greek and Romanian letter variants do not matter). A trailing `*`
   makes a word a prefix; `~N` between two words lets up to N other words
   stand between them.
2. A *group* is a named set of terms in any languages (`[groups.cluster]`).
   The group `state` is built in: every term of every `[states.XX]`.
3. A *rule* matches an item (title, then summary, as one text) when every
   entry of `all` matched, at least one entry of `any` matched (if `any` is
   given), no entry of `none` matched, and every `near` constraint holds: its
   groups occur together within a window of `within` words. `within = N` on
   the rule is short for one `near` over all `all` entries except `state`.
   An entry `a|b` matches when either group does.
4. The *states* of a hit are the configured states the item names, strongest
   first (named in the title, then named most often, then named first); when
   it names none, the feed's own state. A rule that lists `state` in `all`
   therefore only fires for items that name a configured state.

All first words of all terms are compiled once into one Aho-Corasick
automaton over the folded word stream, so an item costs one pass of C code
plus a check of the few candidates it finds: never a loop over terms.
Everything here is pure: text in, `RuleHit`s and explanations out.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import NamedTuple

import ahocorasick

from bot.config import BUILTIN_STATE_GROUP, Config, Near, Rule
from bot.terms import Word, parse_term
from feeds.fold import WORD, fold

SNIPPET_CHARS = 300
# Words between the end of the title and the start of the summary, so a
# proximity window does not casually join the two.
FIELD_GAP = 5
_GAP = " |" * FIELD_GAP


class _FoldCache(dict[str, str]):
    """Chunk of text -> its folded words as " w1 w2"; computed on first sight."""

    def __missing__(self, chunk: str) -> str:
        words = "".join(" " + fold(w).replace(" ", "") for w in _WORD.findall(chunk))
        self[chunk] = words
        return words


# Offsets of matched terms refer to the NFC form of the fields, which is how
# feeds.text stores them. Words keep the marks NFC could not compose (the
# i + dot above that str.lower makes of Turkish İ).
_WORD = WORD
# Enough for a cycle's vocabulary (the 1,000-feed bench folds ~26,000
# chunks); a long-running bot clears it when full, so it never holds more
# than ~7 MB (200,000 chunks were ~25 MB).
_FOLD_CACHE_MAX = 50_000


def _nfc(text: str) -> str:
    return (
        text
        if unicodedata.is_normalized("NFC", text)
        else unicodedata.normalize("NFC", text)
    )


@dataclass(frozen=True)
class _Term:
    text: str  # as written in the config (the first spelling seen)
    words: tuple[Word, ...]
    groups: frozenset[str]
    states: frozenset[str]
    mask: int  # its groups as bits, for the quick presence test


@dataclass(frozen=True)
class MatchedTerm:
    """One occurrence of a term in an item field."""

    term: str
    groups: tuple[str, ...]
    field: str
    start: int  # character offsets in that field
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
    states: tuple[str, ...] = ()

    @property
    def terms(self) -> list[str]:
        """Distinct matched texts, in order of appearance."""
        return list(dict.fromkeys(m.text for m in self.matched))


@dataclass(frozen=True)
class Verdict:
    """Why a rule did or did not match one item, for `rules test`."""

    rule: Rule
    matched: bool
    missing: tuple[str, ...] = ()  # entries of `all` (or all of `any`) not found
    excluded_by: tuple[str, ...] = ()  # entries of `none` that were found
    too_far: tuple[str, ...] = ()  # `near` constraints that failed

    @property
    def reasons(self) -> list[str]:
        out = [f"missing {m}" for m in self.missing]
        out += [f"excluded by {e}" for e in self.excluded_by]
        out += [f"{n} too far apart" for n in self.too_far]
        return out


@dataclass(frozen=True)
class Explanation:
    hits: list[RuleHit]
    verdicts: list[Verdict]
    terms: list[MatchedTerm]
    states: tuple[str, ...]


class _Occurrence(NamedTuple):
    """A term found at word positions first..last (title first, then summary)."""

    first: int
    last: int
    term: _Term


@dataclass
class _Text:
    """An item folded and split once: positions, and a way back to the original."""

    title: str
    summary: str
    joined: str = ""  # " w1 w2 … | | | | | w9 … " (folded words)
    title_len: int = 0
    _keys: list[str] | None = None
    _spans: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        """The folded words by position (split only when a position is needed)."""
        if self._keys is None:
            self._keys = self.joined.split()
        return self._keys

    def spans(self, name: str) -> list[tuple[int, int]]:
        """Character spans of the original words of a field (computed once)."""
        if name not in self._spans:
            source = self.title if name == "title" else self.summary
            self._spans[name] = [(m.start(), m.end()) for m in _WORD.finditer(source)]
        return self._spans[name]

    def field_of(self, position: int) -> tuple[str, int]:
        if position < self.title_len:
            return "title", position
        return "summary", position - self.title_len - FIELD_GAP


_by_position = itemgetter(0, 1)


def _alternatives(entry: str) -> frozenset[str]:
    return frozenset(name.strip() for name in entry.split("|"))


def _near_constraints(rule: Rule) -> list[Near]:
    near = list(rule.near)
    if rule.within is not None:
        entries = [e for e in rule.all if _alternatives(e) != {BUILTIN_STATE_GROUP}]
        if len(entries) >= 2:
            near.append(Near(groups=entries, within=rule.within))
    return near


class Matcher:
    """All rules of a config, compiled once."""

    def __init__(self, config: Config) -> None:
        self.rules: list[Rule] = list(config.rules)
        self._near = {rule.id: _near_constraints(rule) for rule in self.rules}
        # Groups as bits: the quick "could this rule match at all?" test is a
        # few integer ANDs per rule instead of set operations.
        names = sorted(
            {*config.groups, BUILTIN_STATE_GROUP}
            | {
                n
                for r in self.rules
                for e in (*r.all, *r.any)
                for n in _alternatives(e)
            }
        )
        self._bit = {name: 1 << i for i, name in enumerate(names)}

        def mask(names: Iterable[str]) -> int:
            return sum(self._bit.get(n, 0) for n in set(names))

        self._needs = [
            (
                [mask(_alternatives(e)) for e in rule.all],
                [mask(_alternatives(e)) for e in rule.any],
            )
            for rule in self.rules
        ]
        merged: dict[tuple[Word, ...], tuple[str, set[str], set[str]]] = {}

        def add(text: str, group: str, state: str | None) -> None:
            words = parse_term(text)
            _first, groups, states = merged.setdefault(words, (text, set(), set()))
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
        by_key: dict[str, list[_Term]] = defaultdict(list)
        for words, (spelling, groups, states) in merged.items():
            head = words[0]
            # Keys are searched in " word1 word2 … " so a leading space anchors
            # the word start; a trailing space ends a whole (non-prefix) word.
            key = f" {head.key}" if head.prefix else f" {head.key} "
            by_key[key].append(
                _Term(
                    spelling, words, frozenset(groups), frozenset(states), mask(groups)
                )
            )
        self._automaton = ahocorasick.Automaton()
        for key, candidates in by_key.items():
            # For the first, position-free pass: the groups this key proves on
            # its own (one-word terms), and for longer terms a cheap probe, their
            # second word, which must appear somewhere in the text too.
            key_mask = 0
            probes: list[tuple[int, str]] = []
            for term in candidates:
                if len(term.words) == 1:
                    key_mask |= term.mask
                else:
                    second = term.words[1]
                    probes.append(
                        (
                            term.mask,
                            f" {second.key}" if second.prefix else f" {second.key} ",
                        )
                    )
            self._automaton.add_word(
                key, (len(key), tuple(candidates), key_mask, tuple(probes))
            )
        if by_key:
            self._automaton.make_automaton()
        self.term_count = len(merged)
        self._folds = _FoldCache()
        self._could: dict[int, bool] = {}

    # -- finding terms -------------------------------------------------------

    def _joined(self, title: str, summary: str) -> str:
        """The item's folded words as " w w w | | | | | w w " (see _scan)."""
        folds = self._folds
        if len(folds) > _FOLD_CACHE_MAX:
            folds.clear()
        head = "".join(map(folds.__getitem__, title.split()))
        body = "".join(map(folds.__getitem__, summary.split()))
        return f"{head}{_GAP}{body} "

    def _scan(self, title: str, summary: str) -> tuple[_Text, list[_Occurrence]]:
        """Every term occurrence in an item, by word position."""
        text = _Text(_nfc(title), _nfc(summary))
        # Each whitespace chunk maps (cached) to its folded words as " w1 w2";
        # joining those in C gives the whole item as " w w w | | | | | w w ".
        # The placeholder words between the fields are never a key.
        joined = self._joined(text.title, text.summary)
        text.joined = joined
        text.title_len = joined.count(" ", 0, joined.find(_GAP))  # words before the gap
        found: list[_Occurrence] = []
        if self.term_count == 0:
            return text, found
        for end, (length, terms, _mask, _probes) in self._automaton.iter(joined):
            # A key starts at the space before its word, so the spaces before
            # it count the words before it. Matches are few; counting is C.
            position = joined.count(" ", 0, end - length + 1)
            for term in terms:
                if len(term.words) == 1:  # the automaton already checked it
                    found.append(_Occurrence(position, position, term))
                    continue
                last = _match_from(term.words, 1, text.keys, position)
                if last is not None:
                    found.append(_Occurrence(position, last, term))
        found.sort(key=_by_position)
        return text, found

    def _spans(self, text: _Text, occurrence: _Occurrence) -> MatchedTerm:
        name, first = text.field_of(occurrence.first)
        _, last = text.field_of(occurrence.last)
        source = text.title if name == "title" else text.summary
        spans = text.spans(name)
        if len(spans) > last:
            start, end = spans[first][0], spans[last][1]
        else:  # NFKC split a word differently (rare): point at the field start
            start, end = 0, 0
        return MatchedTerm(
            occurrence.term.text,
            tuple(sorted(occurrence.term.groups)),
            name,
            start,
            end,
            source[start:end] or occurrence.term.text,
        )

    def find_terms(self, text: str, field_name: str = "title") -> list[MatchedTerm]:
        """Every term occurrence in one piece of text, in order."""
        scanned, found = (
            self._scan(text, "") if field_name == "title" else self._scan("", text)
        )
        return [self._spans(scanned, o) for o in found]

    # -- evaluating rules ----------------------------------------------------

    def _verdict(
        self,
        rule: Rule,
        positions: dict[str, list[tuple[int, int]]],
        implied: frozenset[str] = frozenset(),
    ) -> Verdict:
        present = set(positions) | implied
        missing = tuple(e for e in rule.all if not _alternatives(e) & present)
        if rule.any and not any(_alternatives(e) & present for e in rule.any):
            missing += (" or ".join(rule.any),)
        excluded = tuple(e for e in rule.none if _alternatives(e) & present)
        too_far: tuple[str, ...] = ()
        if not missing:
            too_far = tuple(
                f"{', '.join(n.groups)} (within {n.within} words)"
                for n in self._near[rule.id]
                if not _within(
                    [
                        _positions_of(_alternatives(g), positions)
                        for g in n.groups
                        # An implied group stands everywhere: it is near anything.
                        if not _alternatives(g) <= implied
                    ],
                    n.within,
                )
            )
        ok = not missing and not excluded and not too_far
        return Verdict(rule, ok, missing, excluded, too_far)

    def explain(
        self,
        *,
        title: str,
        summary: str,
        feed_state: str | None = None,
        implied_state: bool = False,
    ) -> Explanation:
        """Hits plus, for every rule, why it matched or not.

        With `implied_state` (a parliament's own documents), an item that
        names no configured state counts as naming the feed's state.
        """
        text, found = self._scan(title, summary)
        return self._evaluate(text, found, feed_state, implied_state)

    def match(
        self,
        *,
        title: str,
        summary: str,
        feed_state: str | None = None,
        implied_state: bool = False,
    ) -> list[RuleHit]:
        """The rules this item satisfies, each with its evidence."""
        # First pass, without positions: which groups could be present at all
        # (a multi-word term counts if its first two words are somewhere in
        # the text). Most items satisfy no rule even so, and stop here.
        if self.term_count == 0:
            return []
        implied = self._bit[BUILTIN_STATE_GROUP] if implied_state and feed_state else 0
        present = implied
        joined = self._joined(title, summary)
        for _end, (_length, _terms, mask, probes) in self._automaton.iter(joined):
            present |= mask
            for term_mask, probe in probes:
                if probe in joined:
                    present |= term_mask
        if not self._could_match(present):
            return []
        text, found = self._scan(title, summary)
        present = implied
        for occurrence in found:
            present |= occurrence.term.mask
        if not self._could_match(present):
            return []
        return self._evaluate(text, found, feed_state, implied_state).hits

    def _could_match(self, present: int) -> bool:
        # Few distinct sets of groups occur (most items: none, or only a
        # state), so each is worked out once.
        known = self._could.get(present)
        if known is None:
            if len(self._could) > _FOLD_CACHE_MAX:
                self._could.clear()
            known = self._could[present] = any(
                all(e & present for e in all_of)
                and (not any_of or any(e & present for e in any_of))
                for all_of, any_of in self._needs
            )
        return known

    def _evaluate(
        self,
        text: _Text,
        found: list[_Occurrence],
        feed_state: str | None,
        implied_state: bool = False,
    ) -> Explanation:
        positions: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for occurrence in found:
            for group in occurrence.term.groups:
                positions[group].append((occurrence.first, occurrence.last))
        named = _rank_states(found, text.title_len)
        states = named or ((feed_state,) if feed_state else ())
        implied = (
            frozenset({BUILTIN_STATE_GROUP})
            if implied_state and feed_state and not named
            else frozenset()
        )
        verdicts = [self._verdict(rule, positions, implied) for rule in self.rules]
        terms = [self._spans(text, o) for o in found]
        hits: list[RuleHit] = []
        for verdict in verdicts:
            if not verdict.matched:
                continue
            rule = verdict.rule
            wanted = _groups_of(rule)
            evidence = tuple(
                t for t, o in zip(terms, found, strict=True) if o.term.groups & wanted
            )
            hits.append(
                RuleHit(
                    rule=rule.id,
                    topic=rule.topic,
                    severity=rule.severity,
                    state=states[0] if states else None,
                    matched=evidence,
                    snippet=snippet(text.title, text.summary, evidence),
                    states=states,
                )
            )
        return Explanation(hits, verdicts, terms, states)


def _match_from(
    words: tuple[Word, ...], index: int, keys: list[str], previous: int
) -> int | None:
    word = words[index]
    for position in range(previous + 1, min(previous + 2 + word.gap, len(keys))):
        if keys[position] == "|":  # a term never runs from the title into the summary
            return None
        if word.accepts(keys[position]):
            if index == len(words) - 1:
                return position
            last = _match_from(words, index + 1, keys, position)
            if last is not None:
                return last
    return None


def _positions_of(
    names: frozenset[str], positions: dict[str, list[tuple[int, int]]]
) -> list[tuple[int, int]]:
    return sorted(p for name in names for p in positions.get(name, ()))


def _within(lists: list[list[tuple[int, int]]], window: int) -> bool:
    """Is there one occurrence from each list, all inside `window` words?"""
    if any(not entries for entries in lists):
        return False
    events = sorted(
        (first, last, i) for i, entries in enumerate(lists) for first, last in entries
    )
    # Sliding window over occurrences ordered by start: the classic
    # "smallest window containing every colour".
    counts = [0] * len(lists)
    covered = 0
    left = 0
    for right, (_, _, colour) in enumerate(events):
        counts[colour] += 1
        covered += counts[colour] == 1
        while covered == len(lists):
            span_start = events[left][0]
            span_end = max(e[1] for e in events[left : right + 1])
            if span_end - span_start <= window:
                return True
            counts[events[left][2]] -= 1
            covered -= counts[events[left][2]] == 0
            left += 1
    return False


def _rank_states(found: list[_Occurrence], title_len: int) -> tuple[str, ...]:
    score: dict[str, tuple[int, int, int]] = {}
    for occurrence in found:
        for code in occurrence.term.states:
            in_title, count, first = score.get(code, (0, 0, -occurrence.first))
            score[code] = (
                max(in_title, int(occurrence.first < title_len)),
                count + 1,
                first,
            )
    return tuple(sorted(score, key=lambda code: score[code], reverse=True))


def _groups_of(rule: Rule) -> frozenset[str]:
    names: set[str] = set()
    for entry in (*rule.all, *rule.any):
        names |= _alternatives(entry)
    return frozenset(names)


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
