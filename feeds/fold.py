"""Folding text so that one spelling rule fits nine languages.

Shared by the matcher (`bot.rules`) and full-text search (`storage.fulltext`),
so a search finds what a rule would.

Text and terms go through the same `fold`: NFKC, case folding, accents and
other marks stripped, and a few letters that have no decomposition mapped by
hand. The result is deliberately lossy so that a term written with or without
diacritics finds both spellings:

- Turkish: İ, I, ı and i all fold to `i` (so `TÜRKİYE`, `Türkiye` and
  `turkiye` agree, and all-caps headlines match);
- Greek: tonos and dialytika go, final sigma becomes σ;
- Romanian: ş/ș and ţ/ț (cedilla and comma below) both become s and t;
- ł→l, ø→o, đ→d, æ→ae, œ→oe, ß→ss.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

_EXTRA_PAIRS = tuple(
    {
        "ł": "l",
        "ı": "i",
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "æ": "ae",
        "œ": "oe",
        "ħ": "h",
        "ŀ": "l",
    }.items()
)

# Combining marks of the Latin, Greek and Cyrillic scripts (accents, cedillas,
# the Turkish dot above); NFD puts them after their letter.
MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_MARK = re.compile(f"[{MARKS}]+")

# A word: letters and digits, with the combining marks that may follow them.
# Apostrophes and hyphens split words (Türkiye'nin -> Türkiye, nin).
WORD = re.compile(f"(?:[^\\W_][{MARKS}]*)+")
# The same on folded text, which has no marks left.
FOLDED_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """The matching key of `text` (a word or a whole string)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    if not text.isascii():
        text = _MARK.sub("", unicodedata.normalize("NFD", text))
        # str.translate is slow on non-ASCII text; a few replaces are not.
        for letter, plain in _EXTRA_PAIRS:
            if letter in text:
                text = text.replace(letter, plain)
    return text


@dataclass(frozen=True)
class Token:
    key: str  # folded
    start: int  # offsets into the original text
    end: int


def tokens(text: str) -> Iterator[Token]:
    for match in WORD.finditer(text):
        key = fold(match.group())
        # NFKC can turn one character into several words' worth (rare ligatures);
        # keep the token whole, the key is what matters.
        yield Token(key.replace(" ", ""), match.start(), match.end())
