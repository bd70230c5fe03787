"""The term syntax of `config.toml`, parsed into folded words. Pure.

cluster munition*          two words in a row; the second takes any ending
kasetini* šaudmen*         same, with diacritics optional in the text
Ottawa ~2 treaty           "treaty" may come up to 2 words after "Ottawa"
anti-personnel mine*       hyphens separate words: same as "anti personnel mine*"
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from feeds.fold import WORD, fold

_GAP = re.compile(r"~(\d{1,2})")


@dataclass(frozen=True)
class Word:
    key: str  # folded
    prefix: bool  # written with a trailing *
    gap: int = 0  # how many other words may stand between this word and the one before

    def accepts(self, token: str) -> bool:
        return token.startswith(self.key) if self.prefix else token == self.key


class TermError(ValueError):
    """A term that cannot match anything as written."""


def parse_term(text: str) -> tuple[Word, ...]:
    """Folded words of a term; raise TermError when the term is malformed."""
    words: list[Word] = []
    gap = 0
    for raw in text.split():
        gap_match = _GAP.fullmatch(raw)
        if gap_match:
            if not words:
                raise TermError(f"term {text!r}: a ~N gap must stand between two words")
            gap = int(gap_match.group(1))
            continue
        star = raw.endswith("*")
        parts = [fold(p) for p in WORD.findall(raw.rstrip("*"))]
        if not parts:
            raise TermError(f"term {text!r}: {raw!r} has no letters or digits")
        for i, part in enumerate(parts):
            words.append(
                Word(
                    part, prefix=star and i == len(parts) - 1, gap=gap if i == 0 else 0
                )
            )
        gap = 0
    if not words:
        raise TermError(f"term {text!r} is empty")
    if gap:
        raise TermError(f"term {text!r}: a ~N gap must stand between two words")
    if words[0].prefix and len(words[0].key) < 2:
        raise TermError(
            f"term {text!r}: a one-letter prefix would match almost everything"
        )
    return tuple(words)
