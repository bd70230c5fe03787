"""bot.alert.render_alert: Block Kit that feed text cannot break or abuse."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.alert import HEADER_MAX, SECTION_MAX, RenderedAlert, bold_terms, render_alert
from storage.outbox import AlertHit, PendingAlert

STATES = {"LT": "Lithuania", "PL": "Poland", "TR": "Türkiye"}
URL = "https://news.example.lt/seimas-ccm"

HIT = AlertHit(
    rule="ccm_withdrawal",
    topic="ccm_withdrawal",
    severity="high",
    state="LT",
    matched=["pasitraukti", "kasetinių šaudmenų"],
    snippet="Seimas nusprendė pasitraukti iš konvencijos dėl kasetinių šaudmenų.",
)
ALERT = PendingAlert(
    outbox_id=1,
    channel="#alerts",
    attempts=0,
    title="Seimas pritarė pasitraukimui iš konvencijos",
    url=URL,
    feed="LRT",
    language="lt",
    published_at=datetime(2025, 6, 1, 21, 30, tzinfo=UTC),
    hits=[HIT],
)


def render(alert: PendingAlert = ALERT, **kwargs: str) -> RenderedAlert:
    return render_alert(alert, states=STATES, **kwargs)


def with_hit(**changes: object) -> PendingAlert:
    return replace(ALERT, hits=[replace(HIT, **changes)])


def header(rendered: RenderedAlert) -> str:
    [block] = [b for b in rendered.blocks if b["type"] == "header"]
    text = block["text"]
    assert text["type"] == "plain_text"
    return str(text["text"])


def sections(rendered: RenderedAlert) -> list[str]:
    return [str(b["text"]["text"]) for b in rendered.blocks if b["type"] == "section"]


def mrkdwn(rendered: RenderedAlert) -> list[str]:
    """Every mrkdwn text Slack will parse, fallback text included."""
    texts = [rendered.text]
    for block in rendered.blocks:
        if block["type"] == "section":
            texts.append(block["text"]["text"])
        for element in block.get("elements", []):
            texts.append(element["text"])
    return texts


# --- header ---------------------------------------------------------------------


def test_header_has_flag_state_name_and_topic_words() -> None:
    text = header(render())
    assert text.startswith("🇱🇹 Lithuania")
    assert "Leaving the Convention on Cluster Munitions" in text
    assert len(text) <= HEADER_MAX


def test_header_is_cut_to_150_characters() -> None:
    states = {"LT": "Lithuania " * 40}
    rendered = render_alert(ALERT, states=states)
    assert len(header(rendered)) == HEADER_MAX
    assert header(rendered).endswith("…")


def test_unknown_topic_is_shown_as_words() -> None:
    assert "Mine transfers" in header(render(with_hit(topic="mine_transfers")))


def test_unconfigured_state_shows_its_code_and_no_state_says_so() -> None:
    assert header(render(with_hit(state="EE"))).startswith("🇪🇪 EE")
    assert header(render(with_hit(state=None))).startswith("Unknown state")


# --- title, link, meta ------------------------------------------------------------


def test_title_is_linked_to_the_article() -> None:
    first = sections(render())[0]
    assert first.startswith(f"*<{URL}|Seimas pritarė pasitraukimui iš konvencijos>*")


def test_meta_line_has_feed_language_and_time() -> None:
    meta = sections(render())[0].splitlines()[1]
    assert meta.split(" · ")[:2] == ["LRT", "LT"]


def test_publication_time_is_shown_in_the_configured_timezone() -> None:
    # 21:30 UTC on 1 June is 00:30 the next day in Vilnius (EEST, UTC+3).
    vilnius = sections(render(timezone="Europe/Vilnius"))[0]
    assert "02 Jun 2025 00:30 EEST" in vilnius
    utc = sections(render(timezone="UTC"))[0]
    assert "01 Jun 2025 21:30 UTC" in utc
    winter = replace(ALERT, published_at=datetime(2025, 1, 10, 8, 0, tzinfo=UTC))
    assert (
        "10 Jan 2025 10:00 EET" in sections(render(winter, timezone="Europe/Riga"))[0]
    )


def test_missing_publication_time_is_left_out() -> None:
    meta = sections(render(replace(ALERT, published_at=None)))[0].splitlines()[1]
    assert meta == "LRT · LT"


def test_missing_title_says_untitled() -> None:
    assert "(untitled)" in sections(render(replace(ALERT, title="")))[0]


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", "ftp://x.lt/a"],
)
def test_non_http_url_is_not_linked(url: str) -> None:
    rendered = render(replace(ALERT, url=url))
    first = sections(rendered)[0]
    assert first.startswith("*Seimas pritarė pasitraukimui iš konvencijos*")
    for text in mrkdwn(rendered):
        assert "<" not in text
        assert url not in text


def test_url_with_pipe_or_angle_brackets_cannot_break_the_link() -> None:
    url = "https://x.lt/a?b=1|<!channel>&c=<@U123>>x"
    rendered = render(replace(ALERT, url=url))
    first = sections(rendered)[0]
    match = re.match(r"\*<([^|<>]*)\|([^<>]*)>\*", first)
    assert match, first
    assert match.group(1).startswith("https://x.lt/a?b=1")
    assert not set("|<> ") & set(match.group(1))
    assert match.group(2) == "Seimas pritarė pasitraukimui iš konvencijos"
    assert "<!channel>" not in json.dumps(rendered.blocks) + rendered.text


def test_url_with_spaces_and_newlines_stays_one_link() -> None:
    rendered = render(replace(ALERT, url="https://x.lt/a b\nc"))
    match = re.match(r"\*<([^|<>]*)\|", sections(rendered)[0])
    assert match
    assert not set(" \n") & set(match.group(1))


# --- escaping ------------------------------------------------------------------------

NASTY = "<!channel> Tom & Jerry <@U123> <http://evil.example|click> > <#C1>"
NASTY_ESCAPED = (
    "&lt;!channel&gt; Tom &amp; Jerry &lt;@U123&gt; "
    "&lt;http://evil.example|click&gt; &gt; &lt;#C1&gt;"
)


def test_title_is_escaped() -> None:
    rendered = render(replace(ALERT, title=NASTY))
    assert NASTY_ESCAPED in sections(rendered)[0]
    assert NASTY_ESCAPED in rendered.text


def test_snippet_is_escaped() -> None:
    rendered = render(with_hit(snippet=f"Seimas: {NASTY}", matched=["Seimas"]))
    assert sections(rendered)[1] == f"*Seimas*: {NASTY_ESCAPED}"


def test_every_piece_of_feed_text_is_escaped() -> None:
    alert = PendingAlert(
        outbox_id=1,
        channel="#alerts",
        attempts=0,
        title=f"title {NASTY}",
        url=None,
        feed=f"feed {NASTY}",
        language="<@U1>",
        published_at=None,
        hits=[
            AlertHit(
                rule="ccm_withdrawal",
                topic="ccm_withdrawal",
                severity="high",
                state="LT",
                matched=["<!here>", "A&B"],
                snippet=f"snippet {NASTY} <!here> A&B",
            ),
            AlertHit(
                rule="other",
                topic="<!everyone>",
                severity="low",
                state="LT",
                matched=["<@W1>"],
                snippet="",
            ),
        ],
    )
    rendered = render(alert)
    for text in mrkdwn(rendered):
        assert "<" not in text and ">" not in text, text
        assert not re.search(r"&(?!amp;|lt;|gt;)", text), text
    everything = json.dumps(rendered.blocks, ensure_ascii=False) + rendered.text
    for raw in ("<!channel>", "<!here>", "<!everyone>", "<@U123>", "<@U1>", "<@W1>"):
        assert raw.upper() not in everything.upper()


def test_feed_language_cannot_mention_anyone() -> None:
    meta = sections(render(replace(ALERT, language="<@u1>")))[0].splitlines()[1]
    assert meta.startswith("LRT · &lt;@U1&gt;")


def test_context_lists_rule_and_escaped_matched_terms() -> None:
    rendered = render(with_hit(matched=["kasetinių šaudmenų", "<b>&"]))
    [context] = [b for b in rendered.blocks if b["type"] == "context"]
    text = context["elements"][0]["text"]
    assert text == "Rule: ccm_withdrawal · Matched: kasetinių šaudmenų, &lt;b&gt;&amp;"


# --- bold terms ------------------------------------------------------------------------


def test_matched_terms_are_bolded_in_the_snippet() -> None:
    snippet = sections(render())[1]
    assert snippet == (
        "Seimas nusprendė *pasitraukti* iš konvencijos dėl *kasetinių šaudmenų*."
    )


def test_longer_term_wins_when_terms_overlap() -> None:
    rendered = render(
        with_hit(
            matched=["kasetinių", "kasetinių šaudmenų"],
            snippet="dėl kasetinių šaudmenų",
        )
    )
    assert sections(rendered)[1] == "dėl *kasetinių šaudmenų*"


def test_bolded_term_with_escaped_characters_stays_escaped() -> None:
    rendered = render(with_hit(matched=["A&B"], snippet="apie A&B sutartį"))
    assert sections(rendered)[1] == "apie *A&amp;B* sutartį"


def test_no_snippet_means_no_snippet_section() -> None:
    assert len(sections(render(with_hit(snippet="")))) == 1


# --- sizes ------------------------------------------------------------------------------


def test_huge_title_and_snippet_are_cut_to_block_kit_limits() -> None:
    huge = "kasetinių šaudmenų & <b> " * 2000
    rendered = render(
        replace(
            ALERT,
            title=huge,
            feed="LRT " * 1000,
            hits=[replace(HIT, snippet=huge, matched=["kasetinių šaudmenų"] * 3)],
        )
    )
    assert len(header(rendered)) <= HEADER_MAX
    texts = sections(rendered)
    assert len(texts) == 2
    for text in texts:
        assert len(text) <= SECTION_MAX
    assert texts[1].endswith("…")
    assert "…" in texts[0]
    assert len(rendered.text) <= SECTION_MAX
    [context] = [b for b in rendered.blocks if b["type"] == "context"]
    assert len(context["elements"][0]["text"]) <= SECTION_MAX


def test_snippet_made_of_ampersands_stays_within_limits_after_escaping() -> None:
    rendered = render(with_hit(snippet="&" * 5000))
    assert len(sections(rendered)[1]) <= SECTION_MAX


# --- fallback text ---------------------------------------------------------------------


def test_fallback_text_names_state_topic_title_and_link() -> None:
    text = render().text
    assert text == (
        "Lithuania: Leaving the Convention on Cluster Munitions — "
        f"Seimas pritarė pasitraukimui iš konvencijos {URL}"
    )


def test_several_hits_mention_the_other_topics() -> None:
    second = replace(HIT, rule="mines", topic="ottawa_withdrawal", matched=["Ottawa"])
    rendered = render(replace(ALERT, hits=[HIT, second]))
    [context] = [b for b in rendered.blocks if b["type"] == "context"]
    text = context["elements"][0]["text"]
    assert "Rule: ccm_withdrawal, mines" in text
    assert "Also: Leaving the Mine Ban Treaty" in text
    assert "Ottawa" in text


def test_bolding_takes_whole_words_only_and_never_splits_an_entity() -> None:
    assert bold_terms("a ban on bananas", ["ban"]) == "a *ban* on bananas"
    assert bold_terms("Tom & Jerry amp", ["amp"]) == "Tom &amp; Jerry *amp*"
    assert bold_terms("<!channel> ban", ["ban"]) == "&lt;!channel&gt; *ban*"


def test_feed_asterisks_and_underscores_cannot_format_the_alert() -> None:
    rendered = render(replace(ALERT, title="*URGENT* _vote_ ~today~ `now`"))
    section = rendered.blocks[1]["text"]["text"]
    for marker in ("*URGENT*", "_vote_", "~today~", "`now`"):
        assert marker not in section
    assert "\u200b*URGENT\u200b*" in section


def test_a_huge_link_is_dropped_so_title_and_details_survive() -> None:
    long_url = "https://el.example/" + "άρθρο" * 400
    rendered = render(replace(ALERT, url=long_url))
    section = rendered.blocks[1]["text"]["text"]
    assert "<https" not in section
    assert "Seimas" in section and "LRT" in section
    assert len(section) <= SECTION_MAX
