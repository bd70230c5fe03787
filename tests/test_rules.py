"""bot.rules: terms, groups and rules over folded multilingual text."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import Config, ConfigError, parse_config
from bot.rules import SNIPPET_CHARS, MatchedTerm, Matcher, RuleHit

STATES = """
[states.TR]
name = "Türkiye"
terms.tr = ["türkiye*"]
terms.en = ["turkey", "turkish"]

[states.LV]
name = "Latvia"
terms.lv = ["latvij*"]
terms.pl = ["lotw*"]

[states.LT]
name = "Lithuania"
terms.lt = ["lietuv*"]
terms.en = ["lithuania*"]

[states.PL]
name = "Poland"
terms.pl = ["polsk*"]
terms.en = ["poland", "polish"]

[states.GR]
name = "Greece"
terms.el = ["ελλάδ*"]

[states.FI]
name = "Finland"
terms.fi = ["suom*"]
"""

GROUPS = """
[groups.cluster]
en = ["cluster munition*"]
lt = ["kasetini* šaudmen*"]
el = ["βόμβες διασποράς"]
ro = ["muniții* cu dispersie"]
fi = ["kuorma-ammu*"]
tr = ["misket bombası"]

[groups.treaty]
en = ["ottawa convention"]
tr = ["ottawa anlaşma*"]

[groups.ap_mine]
fi = ["jalkaväkimiin*"]
en = ["anti-personnel mine*"]

[groups.withdraw]
en = ["withdraw*", "leave"]
tr = ["çekil*"]
lt = ["pasitrauk*"]
el = ["αποχωρ*"]

[groups.exclude]
en = ["server cluster*", "gold mine*"]
"""


def make_config(
    rules: str = "", *, states: str = STATES, groups: str = GROUPS
) -> Config:
    return parse_config(states + groups + rules, Path("t.toml"))


def rule(rule_id: str, *, all: str = "", any: str = "", none: str = "") -> str:
    lines = [f'[[rules]]\nid = "{rule_id}"\ntopic = "{rule_id}"']
    for key, value in (("all", all), ("any", any), ("none", none)):
        if value:
            entries = ", ".join(f'"{e.strip()}"' for e in value.split(","))
            lines.append(f"{key} = [{entries}]")
    return "\n".join(lines) + "\n"


MATCHER = Matcher(make_config())  # groups and states only: for find_terms


def found(text: str, matcher: Matcher = MATCHER) -> list[str]:
    """The configured terms found in `text`, in order."""
    return [m.term for m in matcher.find_terms(text, "title")]


def rule_ids(hits: list[RuleHit]) -> list[str]:
    return [h.rule for h in hits]


# --- terms: folding, prefixes, phrases -----------------------------------------


def test_turkish_all_caps_headline_matches_lowercase_term() -> None:
    headline = "OTTAWA ANLAŞMASI'NDAN ÇEKİLİYORLAR"
    assert found(headline) == ["ottawa anlaşma*", "çekil*"]


def test_turkish_dotted_capital_i_matches_state_term() -> None:
    assert found("TÜRKİYE") == ["türkiye*"]
    assert found("Türkiye’nin kararı") == ["türkiye*"]
    assert found("turkiyenin") == ["türkiye*"]


def test_turkish_dotless_i_term_matches_all_caps_text() -> None:
    assert found("MİSKET BOMBASI NEDİR") == ["misket bombası"]


def test_greek_all_caps_without_accents_matches_accented_term() -> None:
    assert found("ΒΟΜΒΕΣ ΔΙΑΣΠΟΡΑΣ στην Ουκρανία") == ["βόμβες διασποράς"]
    assert found("Η ΕΛΛΑΔΑ ΑΠΟΧΩΡΕΙ") == ["ελλάδ*", "αποχωρ*"]


def test_romanian_cedilla_text_matches_comma_below_term() -> None:
    text = "Stocuri de muni\u0163iilor cu dispersie"  # ţ with cedilla
    assert found(text) == ["muni\u021bii* cu dispersie"]  # ț with comma below


def test_lithuanian_text_without_diacritics_matches_term_with_them() -> None:
    assert found("Seimas: kasetiniu saudmenu konvencija") == ["kasetini* šaudmen*"]
    assert found("KASETINIŲ ŠAUDMENŲ") == ["kasetini* šaudmen*"]


def test_polish_l_with_stroke_matches_plain_l_prefix() -> None:
    assert found("Łotwa wychodzi z konwencji") == ["lotw*"]
    assert found("na Łotwie") == ["lotw*"]


def test_finnish_compound_matches_head_prefix() -> None:
    assert found("Suomi irtautuu jalkaväkimiinasopimuksesta") == [
        "suom*",
        "jalkaväkimiin*",
    ]
    assert found("jalkavakimiinasopimuksesta") == ["jalkaväkimiin*"]


def test_exact_term_matches_whole_words_only() -> None:
    assert found("poland") == ["poland"]
    assert found("polandia") == []
    assert found("leave") == ["leave"]
    assert found("leaves") == []


def test_prefix_term_needs_the_whole_prefix_at_a_word_start() -> None:
    assert found("withdraw withdrawal withdrawing") == ["withdraw*"] * 3
    assert found("withdra") == []
    assert found("rewithdraw") == []


def test_multi_word_term_needs_its_words_in_a_row() -> None:
    assert found("cluster munitions") == ["cluster munition*"]
    assert found("CLUSTER MUNITION") == ["cluster munition*"]
    assert found("cluster of munitions") == []
    assert found("munitions cluster") == []
    assert found("cluster") == []


def test_hyphen_in_term_matches_hyphen_or_space_in_text() -> None:
    assert found("anti-personnel mines") == ["anti-personnel mine*"]
    assert found("anti personnel mine") == ["anti-personnel mine*"]
    assert found("antipersonnel mine") == []


def test_star_after_a_hyphenated_word_applies_to_its_last_part_only() -> None:
    assert found("kuorma-ammuksia") == ["kuorma-ammu*"]
    assert found("kuorma ammus") == ["kuorma-ammu*"]
    assert found("kuormasto-ammuksia") == []


def test_term_at_end_of_text_with_too_few_words_does_not_match() -> None:
    assert found("the cluster") == []


def test_text_without_terms_finds_nothing() -> None:
    assert found("") == []
    assert found("Vilniuje atidarytas naujas parkas.") == []


def test_a_term_in_several_groups_counts_for_each() -> None:
    config = make_config(
        groups=GROUPS
        + '\n[groups.withdraw_en]\nen = ["withdraw*"]\n'
        + rule("r", all="withdraw_en, state")
    )
    [match] = Matcher(config).find_terms("withdrawal", "title")
    assert match.groups == ("withdraw", "withdraw_en")
    hits = Matcher(config).match(title="Poland withdrawal", summary="")
    assert rule_ids(hits) == ["r"]


# --- evidence ---------------------------------------------------------------------


def test_matched_term_offsets_and_text_point_into_the_field() -> None:
    title = "Lietuva: KASETINIŲ ŠAUDMENŲ"
    [state, cluster] = MATCHER.find_terms(title, "title")
    assert (state.term, state.groups, state.field) == ("lietuv*", ("state",), "title")
    assert (state.start, state.end, state.text) == (0, 7, "Lietuva")
    assert cluster.text == "KASETINIŲ ŠAUDMENŲ"
    assert title[cluster.start : cluster.end] == cluster.text
    assert cluster.groups == ("cluster",)


def test_evidence_names_the_field_and_keeps_summary_offsets() -> None:
    matcher = Matcher(make_config(rule("r", all="cluster, withdraw, state")))
    summary = "Seimas nori pasitraukti iš konvencijos dėl kasetinių šaudmenų."
    [hit] = matcher.match(title="Lietuva", summary=summary)
    by_text = {m.text: m for m in hit.matched}
    assert set(by_text) == {"Lietuva", "pasitraukti", "kasetinių šaudmenų"}
    assert by_text["Lietuva"].field == "title"
    for m in hit.matched:
        if m.field == "summary":
            assert summary[m.start : m.end] == m.text
    assert hit.terms == ["Lietuva", "pasitraukti", "kasetinių šaudmenų"]


def test_evidence_only_holds_terms_of_the_rules_groups() -> None:
    matcher = Matcher(make_config(rule("r", all="cluster")))
    [hit] = matcher.match(
        title="Poland will withdraw", summary="cluster munitions stockpile"
    )
    assert [m.term for m in hit.matched] == ["cluster munition*"]


def test_matched_term_as_dict_is_json_ready() -> None:
    [match] = MATCHER.find_terms("Łotwa", "summary")
    assert match.as_dict() == {
        "term": "lotw*",
        "groups": ["state"],
        "field": "summary",
        "start": 0,
        "end": 5,
        "text": "Łotwa",
    }
    assert isinstance(match, MatchedTerm)


# --- rules: all / any / none, a|b ----------------------------------------------------


def test_all_needs_every_entry() -> None:
    matcher = Matcher(make_config(rule("r", all="cluster, withdraw")))
    assert rule_ids(matcher.match(title="cluster munitions", summary="")) == []
    assert rule_ids(matcher.match(title="withdraw", summary="")) == []
    hits = matcher.match(title="cluster munitions", summary="they withdraw")
    assert rule_ids(hits) == ["r"]


def test_alternatives_in_all_match_either_group() -> None:
    matcher = Matcher(make_config(rule("r", all="treaty|cluster, withdraw")))
    assert rule_ids(matcher.match(title="leave the Ottawa Convention", summary=""))
    assert rule_ids(matcher.match(title="leave: cluster munitions", summary=""))
    assert not matcher.match(title="leave the anti-personnel mines", summary="")


def test_any_needs_at_least_one_entry() -> None:
    matcher = Matcher(make_config(rule("r", all="withdraw", any="treaty, ap_mine")))
    assert rule_ids(matcher.match(title="withdraw", summary="")) == []
    assert rule_ids(matcher.match(title="withdraw", summary="Ottawa Convention"))
    assert rule_ids(matcher.match(title="withdraw", summary="anti-personnel mines"))


def test_any_alone_is_enough_for_a_rule() -> None:
    matcher = Matcher(make_config(rule("r", any="treaty|cluster")))
    assert rule_ids(matcher.match(title="ΒΟΜΒΕΣ ΔΙΑΣΠΟΡΑΣ", summary="")) == ["r"]


def test_none_excludes_the_item() -> None:
    matcher = Matcher(make_config(rule("r", all="withdraw", none="exclude")))
    assert rule_ids(matcher.match(title="withdraw", summary="")) == ["r"]
    assert matcher.match(title="withdraw", summary="the server cluster is down") == []


def test_none_with_alternatives_excludes_on_either_group() -> None:
    matcher = Matcher(make_config(rule("r", all="withdraw", none="exclude|cluster")))
    assert matcher.match(title="withdraw cluster munitions", summary="") == []
    assert matcher.match(title="withdraw", summary="gold mines") == []
    assert rule_ids(matcher.match(title="withdraw", summary="")) == ["r"]


def test_builtin_state_group_holds_every_state_term() -> None:
    matcher = Matcher(make_config(rule("r", all="withdraw, state")))
    assert matcher.match(title="they withdraw", summary="") == []
    for name in ("TÜRKİYE", "Łotwa", "Lietuva", "Polish", "ΕΛΛΑΔΑ", "Suomi"):
        assert rule_ids(matcher.match(title=f"{name} withdraws", summary="")) == ["r"]


def test_several_rules_each_report_a_hit_in_config_order() -> None:
    rules = rule("b_cluster", all="cluster") + rule("a_withdraw", all="withdraw")
    matcher = Matcher(make_config(rules))
    hits = matcher.match(title="withdraw", summary="cluster munitions")
    assert rule_ids(hits) == ["b_cluster", "a_withdraw"]
    assert [h.topic for h in hits] == ["b_cluster", "a_withdraw"]


def test_hit_carries_topic_and_severity_of_its_rule() -> None:
    text = (
        '[[rules]]\nid = "r"\ntopic = "ccm_withdrawal"\nseverity = "high"\n'
        'all = ["cluster"]\n'
    )
    [hit] = Matcher(make_config(text)).match(title="cluster munition", summary="")
    assert (hit.topic, hit.severity) == ("ccm_withdrawal", "high")


# --- state attribution ------------------------------------------------------------


def test_state_is_the_first_state_named_in_the_item() -> None:
    matcher = Matcher(make_config(rule("r", all="withdraw")))
    [hit] = matcher.match(title="Polska i Łotwa withdraw", summary="")
    assert hit.state == "PL"
    [hit] = matcher.match(title="Łotwa i Polska withdraw", summary="")
    assert hit.state == "LV"


def test_state_named_in_title_wins_over_summary() -> None:
    matcher = Matcher(make_config(rule("r", all="withdraw")))
    [hit] = matcher.match(title="Lithuania to withdraw", summary="Poland first")
    assert hit.state == "LT"
    [hit] = matcher.match(title="withdraw", summary="Poland, then Lithuania")
    assert hit.state == "PL"


def test_feed_state_is_the_fallback_when_no_state_is_named() -> None:
    matcher = Matcher(make_config(rule("r", all="withdraw")))
    [hit] = matcher.match(title="withdraw", summary="", feed_state="GR")
    assert hit.state == "GR"
    [hit] = matcher.match(title="withdraw", summary="")
    assert hit.state is None
    [hit] = matcher.match(title="Suomi withdraw", summary="", feed_state="GR")
    assert hit.state == "FI"


def test_feed_state_does_not_satisfy_the_state_group() -> None:
    matcher = Matcher(make_config(rule("r", all="withdraw, state")))
    assert matcher.match(title="withdraw", summary="", feed_state="LT") == []


# --- snippet ------------------------------------------------------------------------


def test_short_summary_is_the_whole_snippet() -> None:
    matcher = Matcher(make_config(rule("r", all="cluster")))
    [hit] = matcher.match(title="x", summary="Short: cluster munitions.")
    assert hit.snippet == "Short: cluster munitions."


def test_no_summary_means_no_snippet() -> None:
    matcher = Matcher(make_config(rule("r", all="cluster")))
    [hit] = matcher.match(title="cluster munitions", summary="")
    assert hit.snippet == ""


def test_long_summary_snippet_is_a_window_around_the_first_match() -> None:
    matcher = Matcher(make_config(rule("r", all="cluster, state")))
    before = " ".join(f"before{i}" for i in range(80))
    after = " ".join(f"after{i}" for i in range(80))
    summary = f"Poland {before} cluster munitions {after}"
    [hit] = matcher.match(title="x", summary=summary)
    assert "cluster munitions" in hit.snippet
    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")
    assert len(hit.snippet) <= SNIPPET_CHARS + 2
    core = hit.snippet.strip("…")
    assert core in summary
    # Cut at word boundaries, not mid-word.
    assert summary[summary.index(core) - 1] == " "
    assert summary[summary.index(core) + len(core)] == " "
    # The state term is not what the window centres on.
    assert "Poland" not in hit.snippet


def test_long_summary_without_a_summary_match_starts_at_the_beginning() -> None:
    matcher = Matcher(make_config(rule("r", all="cluster")))
    summary = " ".join(f"word{i}" for i in range(100))
    [hit] = matcher.match(title="cluster munitions", summary=summary)
    assert hit.snippet.startswith("word0 word1")
    assert hit.snippet.endswith("…")
    assert len(hit.snippet) <= SNIPPET_CHARS + 1


# --- properties -----------------------------------------------------------------------

PROPERTY_RULES = (
    rule("withdraw_treaty", all="treaty|cluster|ap_mine, withdraw, state")
    + rule("cluster_any", any="cluster", none="exclude")
    + rule("mines", all="ap_mine|treaty", none="exclude")
)
PROPERTY_MATCHER = Matcher(make_config(PROPERTY_RULES))

LETTERS = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ąćęłńóśźżŁŚŻčēģīķļņšūžėįųõäöüåăâîșțşţçğıİÇĞŞÜ"
    "αβγδεζηθικλμνξοπρστυφχψωςάέήίόύώϊΑΒΓΔΕΣΩΪ"
)
# Real spellings of configured terms, as they may appear in a headline.
SPELLINGS = [
    "TÜRKİYE",
    "Türkiye’nin",
    "Łotwa",
    "Lietuvos",
    "Polish",
    "ΕΛΛΆΔΑ",
    "Suomen",
    "withdrawal",
    "ÇEKİLİYOR",
    "pasitraukti",
    "αποχωρεί",
    "cluster munitions",
    "kasetinių šaudmenų",
    "ΒΟΜΒΕΣ ΔΙΑΣΠΟΡΑΣ",
    "muni\u0163iilor cu dispersie",
    "MİSKET BOMBASI",
    "Ottawa Convention",
    "Ottawa Anlaşması",
    "anti-personnel mines",
    "jalkaväkimiinasopimuksesta",
    "server cluster",
    "gold mines",
]
words = st.one_of(
    st.text(st.sampled_from(LETTERS), min_size=1, max_size=10),
    st.sampled_from(SPELLINGS),
)
separators = st.sampled_from([" ", ", ", ". ", " - ", " (", ") ", ": ", "\n"])


item_texts = st.lists(st.tuples(separators, words), max_size=10).map(
    lambda parts: "".join(sep + word for sep, word in parts)
)


def summary_of(hits: list[RuleHit]) -> list[tuple[str, str | None, list[str]]]:
    return [(h.rule, h.state, [m.term for m in h.matched]) for h in hits]


@settings(max_examples=100, deadline=None)
@given(title=item_texts, summary=item_texts)
def test_matching_is_unchanged_by_the_case_of_the_text(
    title: str, summary: str
) -> None:
    expected = summary_of(PROPERTY_MATCHER.match(title=title, summary=summary))
    for change in (str.upper, str.lower, str.swapcase, str.title):
        hits = PROPERTY_MATCHER.match(title=change(title), summary=change(summary))
        assert summary_of(hits) == expected


@settings(max_examples=100, deadline=None)
@given(
    title=item_texts,
    summary=item_texts,
    space=st.sampled_from(["  ", "\t", "\n", "\r\n", "\u00a0", " \u2003 "]),
)
def test_matching_is_unchanged_by_the_whitespace_of_the_text(
    title: str, summary: str, space: str
) -> None:
    expected = summary_of(PROPERTY_MATCHER.match(title=title, summary=summary))
    hits = PROPERTY_MATCHER.match(
        title=space + title.replace(" ", space) + space,
        summary=summary.replace(" ", space).replace("\n", space),
    )
    assert summary_of(hits) == expected


NO_RULES = Matcher(make_config())
NOTHING = Matcher(parse_config("", Path("t.toml")))


def test_a_config_without_rules_still_finds_terms() -> None:
    assert NO_RULES.term_count > 0 and NOTHING.term_count == 0
    assert [m.term for m in NO_RULES.find_terms("cluster munitions", "title")]


@settings(max_examples=100, deadline=None)
@given(title=item_texts, summary=item_texts)
def test_an_empty_rule_set_matches_nothing(title: str, summary: str) -> None:
    assert NO_RULES.match(title=title, summary=summary, feed_state="LT") == []
    assert NOTHING.match(title=title, summary=summary) == []


@settings(max_examples=100, deadline=None)
@given(
    title=item_texts,
    summary=item_texts,
    exclusion=st.sampled_from(["server cluster", "SERVER CLUSTERS", "gold mine"]),
    where=st.sampled_from(["title", "summary"]),
)
def test_an_exclusion_always_wins(
    title: str, summary: str, exclusion: str, where: str
) -> None:
    positive = "Ottawa Convention anti-personnel mines cluster munitions"
    title = f"{positive} {title}"
    if where == "title":
        title = f"{title} {exclusion}"
    else:
        summary = f"{exclusion} {summary}"
    hits = PROPERTY_MATCHER.match(title=title, summary=summary)
    assert "cluster_any" not in rule_ids(hits)
    assert "mines" not in rule_ids(hits)


# Configured terms with a spelling that fits each; `*` becomes a suffix.
INSERTABLE = [
    ("türkiye*", "TÜRKİYE{}"),
    ("lotw*", "Łotw{}"),
    ("suom*", "SUOM{}"),
    ("ελλάδ*", "Ελλάδ{}"),
    ("withdraw*", "withdraw{}"),
    ("çekil*", "ÇEKİL{}"),
    ("cluster munition*", "Cluster Munition{}"),
    ("kasetini* šaudmen*", "kasetini{} šaudmen{}"),
    ("muniții* cu dispersie", "muni\u0163ii{} cu dispersie"),
    ("βόμβες διασποράς", "ΒΟΜΒΕΣ ΔΙΑΣΠΟΡΑΣ"),
    ("misket bombası", "MİSKET BOMBASI"),
    ("ottawa anlaşma*", "Ottawa ANLAŞMA{}"),
    ("jalkaväkimiin*", "jalkaväkimiin{}"),
    ("anti-personnel mine*", "anti personnel mine{}"),
    ("leave", "LEAVE"),
    ("poland", "Poland"),
]


@settings(max_examples=150, deadline=None)
@given(
    text=item_texts,
    term=st.sampled_from(INSERTABLE),
    suffixes=st.lists(st.text(st.sampled_from(LETTERS), max_size=6), min_size=2),
    position=st.integers(min_value=0),
    field=st.sampled_from(["title", "summary"]),
)
def test_a_term_inserted_at_a_word_boundary_is_found(
    text: str,
    term: tuple[str, str],
    suffixes: list[str],
    position: int,
    field: str,
) -> None:
    configured, pattern = term
    spelling = pattern.format(*suffixes)
    spaces = [i for i, ch in enumerate(text) if ch in " \n"] + [len(text)]
    at = spaces[position % len(spaces)]
    new_text = f"{text[:at]} {spelling} {text[at:]}"
    matches = PROPERTY_MATCHER.find_terms(new_text, field)
    assert any(
        m.term == configured
        and m.start == at + 1
        and m.text == spelling
        and m.field == field
        for m in matches
    ), (new_text, matches)


@pytest.mark.parametrize(("configured", "pattern"), INSERTABLE)
def test_every_insertable_spelling_is_found_alone(
    configured: str, pattern: str
) -> None:
    assert found(pattern.format("", ""), PROPERTY_MATCHER) == [configured]


# --- gaps, proximity, explanations ------------------------------------------------


def test_a_gap_term_allows_up_to_n_words_between_and_no_more() -> None:
    config = make_config(groups=GROUPS + '\n[groups.gap]\nen = ["ottawa ~2 treaty"]\n')
    matcher = Matcher(config)
    assert found("the Ottawa treaty", matcher) == ["ottawa ~2 treaty"]
    assert found("the Ottawa mine ban treaty", matcher) == ["ottawa ~2 treaty"]
    assert found("the Ottawa landmine ban convention treaty", matcher) == []


def test_malformed_terms_are_config_errors_naming_the_term() -> None:
    with pytest.raises(ConfigError) as info:
        make_config(groups=GROUPS + '\n[groups.bad]\nen = ["~2 treaty", "*", "a*"]\n')
    text = str(info.value)
    assert "groups.bad.en[0]" in text and "gap" in text
    assert "groups.bad.en[1]" in text
    assert "groups.bad.en[2]" in text and "one-letter" in text


def near_rule(within: int) -> str:
    return (
        '[[rules]]\nid = "r"\ntopic = "r"\nall = ["cluster", "withdraw", "state"]\n'
        f"within = {within}\n"
    )


def test_within_requires_the_groups_close_together_but_not_the_state() -> None:
    close = "Poland. " + "word " * 30 + "will withdraw from cluster munitions rules"
    far = "Poland will withdraw. " + "word " * 30 + "Cluster munitions are banned."
    matcher = Matcher(make_config(near_rule(5)))
    assert rule_ids(matcher.match(title="", summary=close)) == ["r"]
    assert matcher.match(title="", summary=far) == []
    assert rule_ids(
        Matcher(make_config(near_rule(40))).match(title="", summary=far)
    ) == ["r"]


def test_near_constraint_on_named_groups() -> None:
    rules = (
        '[[rules]]\nid = "r"\ntopic = "r"\nall = ["cluster", "withdraw", "state"]\n'
        'near = [{ groups = ["cluster", "state"], within = 3 }]\n'
    )
    matcher = Matcher(make_config(rules))
    assert rule_ids(
        matcher.match(title="", summary="Polish cluster munitions: a plan to withdraw")
    ) == ["r"]
    assert (
        matcher.match(
            title="",
            summary="Polish officials said " + "x " * 10 + "cluster munitions withdraw",
        )
        == []
    )


def test_explanations_say_what_each_rule_missed() -> None:
    rules = rule(
        "withdrawal", all="cluster, withdraw, state", none="exclude"
    ) + near_rule(3).replace('"r"', '"near"')
    matcher = Matcher(make_config(rules))
    found_ = matcher.explain(
        title="",
        summary="Poland to withdraw "
        + "x " * 10
        + "cluster munitions at the server cluster site",
    )
    by_rule = {v.rule.id: v for v in found_.verdicts}
    assert by_rule["withdrawal"].excluded_by == ("exclude",)
    assert by_rule["near"].too_far and not by_rule["near"].matched
    missing = matcher.explain(title="", summary="Poland to withdraw")
    assert {v.rule.id: v.missing for v in missing.verdicts}["withdrawal"] == (
        "cluster",
    )


def test_states_are_ranked_title_first_then_by_mentions() -> None:
    matcher = Matcher(make_config(rule("r", all="cluster, state")))
    [hit] = matcher.match(
        title="Latvija lemj",
        summary="Lithuania and Lithuania again, Poland too, on cluster munitions",
    )
    assert hit.states == ("LV", "LT", "PL")
    [hit] = matcher.match(
        title="", summary="Poland, Lithuania, Lithuania: cluster munitions"
    )
    assert hit.states[0] == "LT"


def test_a_gap_term_never_runs_from_the_title_into_the_summary() -> None:
    matcher = Matcher(
        make_config(groups=GROUPS + '\n[groups.gap]\nen = ["ottawa ~9 treaty"]\n')
    )
    assert matcher.find_terms("Ottawa", "title") == []
    hits = matcher.explain(title="News from Ottawa", summary="The treaty stands.")
    assert all(m.term != "ottawa ~9 treaty" for m in hits.terms)


def test_a_parliament_document_counts_as_naming_its_own_state() -> None:
    rules = rule("r", all="cluster, withdraw, state") + (
        '[[rules]]\nid = "near"\ntopic = "near"\nall = ["cluster", "withdraw", "state"]\n'
        'near = [{ groups = ["cluster", "state"], within = 3 }]\n'
    )
    matcher = Matcher(make_config(rules))
    text = "The bill to withdraw from the Convention on Cluster Munitions"
    assert matcher.match(title=text, summary="", feed_state="PL") == []
    hits = matcher.match(title=text, summary="", feed_state="PL", implied_state=True)
    assert sorted(h.rule for h in hits) == ["near", "r"]
    assert all(h.state == "PL" for h in hits)
    # a state the text does name still wins, and the feed's does not stand in
    named = matcher.match(
        title="Latvija: " + text, summary="", feed_state="PL", implied_state=True
    )
    assert {h.state for h in named} == {"LV"}
    # with no feed state, nothing is implied
    assert matcher.match(title=text, summary="", implied_state=True) == []


def test_the_fold_cache_of_a_long_running_matcher_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bot.rules

    monkeypatch.setattr(bot.rules, "_FOLD_CACHE_MAX", 50)
    matcher = Matcher(make_config())
    for n in range(40):  # 400 distinct words, ten per item
        title = " ".join(f"w{n}x{i}" for i in range(10))
        assert matcher.find_terms(title) == []
        assert len(matcher._folds) <= 50 + 10
    assert found("kasetiniai šaudmenys", matcher) == found("kasetiniai šaudmenys")
