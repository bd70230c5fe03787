"""The shipped rules on the labelled corpus: precision and recall of at least 0.9,
overall and in every one of the nine languages."""

from __future__ import annotations

import pytest

from bot.config import load_config
from bot.rules import Matcher
from tests.corpus import SHIPPED, STATES, TOPICS, Score, load_cases, score, table

LANGUAGES = ["en", "lt", "lv", "et", "fi", "pl", "ro", "el", "tr"]
TARGET = 0.9


@pytest.fixture(scope="module")
def scores() -> dict[str, Score]:
    return score(load_cases(), Matcher(load_config(SHIPPED)))


def test_corpus_is_large_labelled_and_a_third_hard_negatives() -> None:
    cases = load_cases()
    assert len(cases) >= 200
    assert {c.language for c in cases} == set(LANGUAGES)
    for language in LANGUAGES:
        mine = [c for c in cases if c.language == language]
        assert sum(not c.relevant for c in mine) * 3 >= len(mine), language
    for case in cases:
        if case.relevant:
            assert case.topic in TOPICS and case.state in STATES, case
        else:
            assert case.why, case
    assert {c.topic for c in cases if c.relevant} == TOPICS


@pytest.mark.parametrize("language", [*LANGUAGES, "all"])
def test_shipped_rules_reach_the_precision_and_recall_target(
    scores: dict[str, Score], language: str
) -> None:
    s = scores[language]
    report = table(scores) + "\n" + "\n".join(s.misses + s.noise)
    assert s.precision >= TARGET, report
    assert s.recall >= TARGET, report
