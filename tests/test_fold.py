"""feeds.fold: one folded key for every spelling of a word in nine languages."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.fold import fold, tokens

# Letters of the nine languages (both cases) plus the variants that occur in
# real feeds: cedilla and comma-below Romanian letters, Greek final sigma.
LETTERS = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ"  # pl
    "āčēģīķļņšūžĀČĒĢĪĶĻŅŠŪŽ"  # lv
    "ąčęėįšųūžĄČĘĖĮŠŲŪŽ"  # lt
    "äöõüÄÖÕÜåÅ"  # et, fi
    "ăâîșțşţĂÂÎȘȚŞŢ"  # ro
    "çğıiöşüÇĞIİÖŞÜ"  # tr
    "αβγδεζηθικλμνξοπρστυφχψωςάέήίόύώϊϋΐΰ"  # el
    "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩΆΈΉΊΌΎΏΪΫ"
)
SEPARATORS = " \t\n,.;:!?'’-«»()\"/"
texts = st.text(st.sampled_from(LETTERS + SEPARATORS + "0123456789"), max_size=60)


def keys(text: str) -> list[str]:
    return [t.key for t in tokens(text)]


# --- fold -------------------------------------------------------------------


def test_turkish_dotted_and_dotless_i_all_fold_to_plain_i() -> None:
    assert fold("TÜRKİYE") == fold("Türkiye") == fold("turkiye") == "turkiye"
    assert fold("BOMBASI") == fold("bombası") == "bombasi"
    assert "\u0307" not in fold("İSTANBUL")


def test_turkish_all_caps_headline_folds_like_lowercase() -> None:
    assert fold("OTTAWA ANLAŞMASI'NDAN ÇEKİLİYORLAR") == (
        "ottawa anlasmasi'ndan cekiliyorlar"
    )


def test_greek_accents_and_final_sigma_fold_away() -> None:
    assert fold("ΒΟΜΒΕΣ ΔΙΑΣΠΟΡΑΣ") == fold("βόμβες διασποράς") == "βομβεσ διασπορασ"
    assert fold("Προϋπόθεση") == "προυποθεση"  # dialytika and tonos
    assert fold("ΐ") == "ι"


def test_romanian_cedilla_and_comma_below_fold_to_the_same_letter() -> None:
    cedilla = "muni\u0163iilor \u015fi \u015e\u0162"  # ţ ş Ş Ţ
    comma = "muni\u021biilor \u0219i \u0218\u021a"  # ț ș Ș Ț
    assert fold(cedilla) == fold(comma) == "munitiilor si st"


@pytest.mark.parametrize(
    ("written", "folded"),
    [
        ("kasetinių šaudmenų", "kasetiniu saudmenu"),  # lt
        ("kājnieku mīnu", "kajnieku minu"),  # lv
        ("väljaastumine õigus", "valjaastumine oigus"),  # et
        ("jalkaväkimiinasopimuksesta", "jalkavakimiinasopimuksesta"),  # fi
        ("Łotwa źdźbło żółć", "lotwa zdzblo zolc"),  # pl: ł has no decomposition
        ("ØRESUND Đakovo Æble Œuvre Straße", "oresund dakovo aeble oeuvre strasse"),
        ("retragerea României", "retragerea romaniei"),  # ro
    ],
)
def test_diacritics_and_special_letters_fold_to_ascii(
    written: str, folded: str
) -> None:
    assert fold(written) == folded


def test_decomposed_input_folds_like_precomposed() -> None:
    word = "Lietuvių šaudmenų"
    assert fold(unicodedata.normalize("NFD", word)) == fold(word)


def test_compatibility_forms_are_normalized() -> None:
    assert fold("ﬁnland") == "finland"  # ligature
    assert fold("ＯＴＴＡＷＡ") == "ottawa"  # full-width


@settings(max_examples=200, deadline=None)
@given(texts)
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@settings(max_examples=200, deadline=None)
@given(texts)
def test_fold_ignores_case(text: str) -> None:
    assert fold(text.upper()) == fold(text) == fold(text.lower())


# --- tokens -----------------------------------------------------------------


def test_tokens_split_on_spaces_and_punctuation() -> None:
    assert keys("Seimas: pasitraukti (iš) Konvencijos!") == [
        "seimas",
        "pasitraukti",
        "is",
        "konvencijos",
    ]


@pytest.mark.parametrize("apostrophe", ["'", "’"])
def test_turkish_apostrophe_splits_the_case_suffix(apostrophe: str) -> None:
    assert keys(f"Türkiye{apostrophe}nin Sözleşmesi{apostrophe}nden") == [
        "turkiye",
        "nin",
        "sozlesmesi",
        "nden",
    ]


def test_hyphens_and_underscores_split_words() -> None:
    assert keys("anti-personnel kuorma-ammus a_b") == [
        "anti",
        "personnel",
        "kuorma",
        "ammus",
        "a",
        "b",
    ]


def test_digits_are_part_of_words() -> None:
    assert keys("F-16 2025m.") == ["f", "16", "2025m"]


def test_combining_marks_stay_inside_their_token() -> None:
    text = unicodedata.normalize("NFD", "kasetinių šaudmenų")
    found = list(tokens(text))
    assert [t.key for t in found] == ["kasetiniu", "saudmenu"]
    assert text[found[1].start : found[1].end] == unicodedata.normalize(
        "NFD", "šaudmenų"
    )


def test_token_offsets_point_into_the_original_text() -> None:
    text = "  OTTAWA ANLAŞMASI'NDAN ÇEKİLİYORLAR"
    found = list(tokens(text))
    assert [text[t.start : t.end] for t in found] == [
        "OTTAWA",
        "ANLAŞMASI",
        "NDAN",
        "ÇEKİLİYORLAR",
    ]
    assert [t.key for t in found] == ["ottawa", "anlasmasi", "ndan", "cekiliyorlar"]


def test_empty_and_punctuation_only_text_has_no_tokens() -> None:
    assert keys("") == []
    assert keys(" .,;—«»' ") == []


@settings(max_examples=200, deadline=None)
@given(texts)
def test_tokens_are_ordered_disjoint_slices_whose_fold_is_the_key(text: str) -> None:
    previous_end = 0
    for token in tokens(text):
        assert previous_end <= token.start < token.end <= len(text)
        assert fold(text[token.start : token.end]).replace(" ", "") == token.key
        previous_end = token.end


@settings(max_examples=200, deadline=None)
@given(texts)
def test_token_keys_ignore_case(text: str) -> None:
    for variant in (text.upper(), text.lower(), text.swapcase(), text.title()):
        assert keys(variant) == keys(text)
