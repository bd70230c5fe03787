"""feedparser's last touches to text values: re-read mojibake, C1 controls, link entities, XHTML wrappers."""

from __future__ import annotations

import re
from contextlib import suppress

from feedparser.html import _cp1252 as _CP1252

_C1 = re.compile("[\x80-\x9f]")
_BEYOND_LATIN1 = re.compile("[^\x00-\xff]")
# Valid UTF-8 with a byte above 0x7f has a lead byte followed by a continuation
# byte; Latin-1 text without such a pair (most of it: `Eduskunta äänesti`)
# cannot be re-read, and trying costs a raised UnicodeDecodeError.
_UTF8_PAIR = re.compile("[\xc2-\xf4][\x80-\xbf]")
_ENTITY_IN_LINK = re.compile("&([A-Za-z0-9_]+);")


def repair(text: str) -> str:
    """feedparser's last touches to every text value: UTF-8 that was read as
    Latin-1 is read again, and C1 controls become their windows-1252 letters."""
    if text.isascii():
        return text
    if not _BEYOND_LATIN1.search(text) and _UTF8_PAIR.search(text):
        with suppress(UnicodeDecodeError):
            text = text.encode("iso-8859-1").decode("utf-8")
    if _C1.search(text):
        text = text.translate(_CP1252)
    return text


def link_text(value: str) -> str:
    """An entry link as feedparser keeps it: `&amp;` and other entities unescaped by name."""
    link = value.replace("&amp;", "&")
    if "&" in link and ";" in link:
        link = _ENTITY_IN_LINK.sub(r"&\g<1>", link)
    return link


def strip_wrapping_div(pieces: list[str]) -> None:
    """feedparser drops an Atom XHTML element's wrapping <div> (mixin.pop)."""
    while len(pieces) > 1 and not pieces[-1].strip():
        del pieces[-1]
    while len(pieces) > 1 and not pieces[0].strip():
        del pieces[0]
    if (
        pieces
        and (pieces[0] == "<div>" or pieces[0].startswith("<div "))
        and pieces[-1] == "</div>"
    ):
        depth = 0
        for piece in pieces[:-1]:
            if piece.startswith("</"):
                depth -= 1
                if depth == 0:
                    break
            elif piece.startswith("<") and not piece.endswith("/>"):
                depth += 1
        else:
            pieces[:] = pieces[1:-1]
