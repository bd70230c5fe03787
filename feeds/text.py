"""Feed text to plain text: markup removed, entities decoded, whitespace collapsed."""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

_SPACE = re.compile(r"\s+")
# Zero-width characters and soft hyphens split words invisibly; drop them.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
_BLOCK_TAGS = {"p", "br", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td"}
_SKIP_TAGS = {"script", "style"}


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self._skipping:
            self._skipping -= 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def plain_text(value: str | None) -> str:
    """Strip HTML and decode entities; the result is NFC, one line, trimmed."""
    if not value:
        return ""
    if "<" in value or "&" in value:
        parser = _TextOnly()
        parser.feed(value)
        parser.close()
        value = "".join(parser.parts)
    value = unicodedata.normalize("NFC", value.translate(_INVISIBLE))
    return _SPACE.sub(" ", value).strip()
