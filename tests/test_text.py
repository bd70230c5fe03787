"""feeds.text.plain_text: HTML out, feed text (even in angle brackets) kept."""

from __future__ import annotations

import html
import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import feeds.text
from feeds.text import plain_text


def test_empty_and_none_give_empty_string() -> None:
    assert plain_text(None) == ""
    assert plain_text("") == ""
    assert plain_text("   \n\t ") == ""


def test_inline_tags_are_removed_without_splitting_words() -> None:
    assert plain_text("<b>Lie</b>tuva <i>pasitraukia</i>") == "Lietuva pasitraukia"


def test_block_tags_separate_words() -> None:
    assert plain_text("<p>Seimas</p><p>pritarė</p>") == "Seimas pritarė"
    assert plain_text("eilutė<br>kita<BR/>trečia<br />ketvirta") == (
        "eilutė kita trečia ketvirta"
    )
    assert plain_text("<ul><li>vienas</li><li>du</li></ul>") == "vienas du"


def test_tags_with_attributes_and_any_case_are_removed() -> None:
    html = "<A HREF=\"https://x.lt/a?b=1&amp;c=2\" class='link'>Straipsnis</A>"
    assert plain_text(html) == "Straipsnis"


def test_attribute_values_containing_angle_brackets_stay_inside_the_tag() -> None:
    html = '<img alt="Seimas > Vyriausybė" src="x.jpg">Tekstas'
    assert plain_text(html) == "Tekstas"
    assert plain_text("<a title='a > b' href=\"/x\">nuoroda</a>") == "nuoroda"


def test_entities_are_decoded() -> None:
    assert plain_text("Tom &amp; Jerry &quot;x&quot; &#8222;y&#8221; &eacute;") == (
        'Tom & Jerry "x" „y” é'
    )


def test_escaped_markup_becomes_text_not_tags() -> None:
    # Entities are decoded after tags are stripped: encoded markup is feed text.
    assert plain_text("&lt;b&gt;bold&lt;/b&gt;") == "<b>bold</b>"


def test_whitespace_is_collapsed_to_single_spaces_and_trimmed() -> None:
    assert plain_text("  a \n\n b\t\tc  ") == "a b c"
    assert plain_text("a&nbsp;&nbsp;b\u00a0\u2003c") == "a b c"


def test_script_and_style_content_is_dropped() -> None:
    html = (
        "prieš<script type='text/javascript'>var x = '<p>ne</p>';</script>"
        "<STYLE>p { color: red }</STYLE>po"
    )
    assert plain_text(html) == "prieš po"


def test_comments_and_cdata_markers_are_dropped() -> None:
    assert plain_text("a<!-- <p>komentaras</p> -->b") == "ab"
    assert plain_text("<![CDATA[Łotwa]]>") == "Łotwa"


def test_invisible_characters_that_split_words_are_dropped() -> None:
    assert plain_text("kase\u00adtinių šaud\u200bmenų\ufeff") == "kasetinių šaudmenų"


def test_result_is_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Ελλάδα šaudmenų")
    result = plain_text(decomposed)
    assert result == "Ελλάδα šaudmenų"
    assert unicodedata.is_normalized("NFC", result)


@pytest.mark.parametrize(
    "text",
    [
        "<!channel>",
        "<!here>",
        "<@U123>",
        "<#C024BE7LR|general>",
        "<http://x|y>",
        "<https://evil.example/a?b=1|Spausk čia>",
        "<mailto:a@b.lt|laiškas>",
        "<!subteam^S123|@team>",
    ],
)
def test_slack_style_angle_bracket_text_is_kept(text: str) -> None:
    assert plain_text(text) == text
    assert plain_text(f"<p>Prieš {text} po</p>") == f"Prieš {text} po"


def test_comparison_signs_are_kept() -> None:
    assert plain_text("1 < 2 and 3 > 2") == "1 < 2 and 3 > 2"
    assert plain_text("a<b") == "a<b"


def test_unknown_tag_names_are_kept_as_text() -> None:
    assert plain_text("<foo>bar</foo>") == "<foo>bar</foo>"


def test_encoded_slack_syntax_is_decoded_to_text_and_kept() -> None:
    assert plain_text("&lt;!channel&gt; &amp; &lt;@U123&gt;") == "<!channel> & <@U123>"


@settings(max_examples=100, deadline=None)
@given(st.text())
def test_output_is_one_trimmed_line_and_stable(text: str) -> None:
    result = plain_text(text)
    assert result == result.strip()
    assert "\n" not in result and "  " not in result
    assert plain_text(result.replace("&", "&amp;").replace("<", "&lt;")) == result


@settings(max_examples=100, deadline=None)
@given(st.text(st.characters(blacklist_characters="<>&"), max_size=80))
def test_text_without_markup_only_has_its_whitespace_normalized(text: str) -> None:
    controls_as_spaces = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", " ", text)
    expected = " ".join(
        unicodedata.normalize(
            "NFC",
            controls_as_spaces.translate(
                dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
            ),
        ).split()
    )
    assert plain_text(text) == expected


def test_control_characters_and_nul_never_survive() -> None:
    assert plain_text("Seimas\x00votes\x1b[31m today\x07") == "Seimas votes [31m today"


# --- the shortcuts change nothing ------------------------------------------------


def every_step(value: str) -> str:
    """plain_text's steps, each run whether or not it has anything to do
    (markup is looked for only where there is a `<`, as it always was)."""
    if "<" in value:
        value = feeds.text._SCRIPT.sub(" ", value)
        value = feeds.text._COMMENT.sub("", value)
        value = feeds.text._TAG.sub(feeds.text._tag, value)
    value = html.unescape(value)
    value = feeds.text.without_controls(value)
    value = value.translate(feeds.text._INVISIBLE)
    return " ".join(unicodedata.normalize("NFC", value).split())


# What each shortcut tests for, and near misses: `<ſcript>` is `<script>` to an
# IGNORECASE regex, `ı` is `i`; controls, invisibles and unnormalized marks.
MARKUP_PIECES = ["<", ">", "/", "s", "S", "\u017f", "cr", "ıpt", "ipt", "script"]
MARKUP_PIECES += ["style", "STYLE", " ", "x", "p", "br", "<!--", "-->", "<![CDATA["]
MARKUP_PIECES += ["]]>", "&", "&amp;", "&lt;", "&#160;", "&shy;", ";", '"', "'", "="]
MARKUP_PIECES += [
    "<\u017fcript>",
    "<scrıpt>",
    "</script>",
    "<Style a='>'>",
    "</style >",
]
MARKUP_PIECES += [
    "<p>",
    "</P>",
    "<x>",
    "<b",
    "\x00",
    "\x85",
    "\u00ad",
    "\u200b",
    "e\u0301",
    "é",
    "ż",
    "Ω",
    "\n",
]


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(MARKUP_PIECES), max_size=24).map("".join))
def test_plain_text_equals_running_every_step(text: str) -> None:
    assert plain_text(text) == every_step(text)


@pytest.mark.parametrize(
    "text",
    [
        "a<\u017fcript>x</\u017fcript>b",  # the long s: `script` to IGNORECASE
        "a<STYLE>x</style >b",
        "a<!-- x -->b<![CDATA[c]]>",
        "<p>Seimas &amp; Saeima</p>\u200b\x85",
    ],
)
def test_plain_text_shortcuts_see_what_every_step_sees(text: str) -> None:
    assert plain_text(text) == every_step(text)
