"""The config we ship loads, and finds real signals in all nine languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config
from bot.rules import Matcher

SHIPPED = Path(__file__).resolve().parent.parent / "config.toml"


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_config(SHIPPED))


def test_shipped_config_covers_the_eight_states_with_feeds_for_each() -> None:
    config = load_config(SHIPPED)
    states = {"EE", "FI", "GR", "LV", "LT", "PL", "RO", "TR"}
    assert set(config.states) == states
    assert {f.state for f in config.feeds} == states
    for state in config.states.values():
        assert {"en", "lt", "lv", "et", "fi", "pl", "ro", "el", "tr"} <= set(
            state.terms
        )


# Headlines written from forms seen in real coverage (shared/lexicon.md).
SIGNALS = [
    (
        "Seimas pritarė pasitraukimui iš Konvencijos dėl kasetinių šaudmenų",
        "ccm_withdrawal",
        "LT",
    ),
    (
        "Seimas pritare pasitraukimui is Konvencijos del kasetiniu saudmenu",
        "ccm_withdrawal",
        "LT",
    ),
    ("Latvija izstājas no Otavas konvencijas", "ottawa_withdrawal", "LV"),
    (
        "Riigikogu hääletas Ottawa konventsioonist lahkumise poolt",
        "ottawa_withdrawal",
        "EE",
    ),
    ("Suomi irtautuu Ottawan sopimuksesta", "ottawa_withdrawal", "FI"),
    (
        "Polska wypowie konwencję ottawską o zakazie min przeciwpiechotnych",
        "ottawa_withdrawal",
        "PL",
    ),
    (
        "România ar putea achiziționa muniții cu dispersie",
        "cluster_acquisition",
        "RO",
    ),
    (
        "România ar putea achiziţiona muniţii cu dispersie",
        "cluster_acquisition",
        "RO",
    ),
    (
        "Η Φινλανδία αποχωρεί από τη Σύμβαση της Οτάβας για τις νάρκες κατά προσωπικού",
        "ottawa_withdrawal",
        "FI",
    ),
    ("POLONYA OTTAWA ANLAŞMASI'NDAN ÇEKİLİYOR", "ottawa_withdrawal", "PL"),
    ("Türkiye misket bombası tedarik etti", "cluster_acquisition", "TR"),
    (
        "Lithuania withdraws from the Convention on Cluster Munitions",
        "ccm_withdrawal",
        "LT",
    ),
    ("Estonia plans to buy cluster munitions", "cluster_acquisition", "EE"),
]


@pytest.mark.parametrize(("text", "rule", "state"), SIGNALS)
def test_real_signal_matches_with_its_state(
    matcher: Matcher, text: str, rule: str, state: str
) -> None:
    hits = {h.rule: h for h in matcher.match(title=text, summary="")}
    assert rule in hits
    assert hits[rule].state == state


@pytest.mark.parametrize(
    "text",
    [
        "Data cluster analysis in Estonia shows growth",
        "Polish bank bought a server cluster",
        "Lithuania withdraws its ambassador",  # no treaty, no weapon
        "Cluster munitions used in Ukraine, says Kyiv",  # no target state
    ],
)
def test_noise_does_not_match(matcher: Matcher, text: str) -> None:
    assert matcher.match(title=text, summary="") == []


NATIONAL = {
    "EE": "et",
    "FI": "fi",
    "GR": "el",
    "LV": "lv",
    "LT": "lt",
    "PL": "pl",
    "RO": "ro",
    "TR": "tr",
}


@pytest.mark.parametrize("state", sorted(NATIONAL))
def test_every_state_has_national_news_english_news_and_searches(state: str) -> None:
    feeds = [f for f in load_config(SHIPPED).feeds if f.state == state]
    national = [f for f in feeds if f.language == NATIONAL[state] and f.kind == "news"]
    outlets = [f for f in national if "news.google.com" not in f.url]
    searches = [f for f in feeds if "news.google.com" in f.url]
    assert len(outlets) >= 2
    assert any(f.language == "en" for f in feeds)
    assert {f.language for f in searches} == {NATIONAL[state], "en"}


def test_parliament_sources_use_their_apis_where_rss_is_missing() -> None:
    feeds = load_config(SHIPPED).feeds
    parliaments = {f.state for f in feeds if f.kind == "parliament"}
    assert {"PL", "FI"} <= parliaments
    assert {
        f.format for f in feeds if f.state in {"PL", "FI"} and f.kind == "parliament"
    } >= {
        "sejm-prints",
        "eduskunta-vaski",
    }
