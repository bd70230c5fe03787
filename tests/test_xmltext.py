"""feeds.xmltext: feedparser's last touches to text, and the shortcut in them."""

from __future__ import annotations

from contextlib import suppress

from feedparser.html import _cp1252
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.xmltext import repair


def always_try_utf8(text: str) -> str:
    """repair without its pre-check: every Latin-1 text is tried as UTF-8."""
    if text.isascii():
        return text
    if all(ord(char) <= 0xFF for char in text):
        with suppress(UnicodeDecodeError):
            text = text.encode("iso-8859-1").decode("utf-8")
    if any(0x80 <= ord(char) <= 0x9F for char in text):
        text = text.translate(_cp1252)
    return text


def test_utf8_read_as_latin1_is_read_again() -> None:
    mojibake = "Seimas pritarė".encode().decode("iso-8859-1")
    assert repair(mojibake) == "Seimas pritarė"


def test_latin1_text_that_is_no_utf8_stays() -> None:
    assert repair("Eduskunta äänesti") == "Eduskunta äänesti"


@settings(max_examples=1000, deadline=None)
@given(
    st.one_of(
        st.text(st.characters(max_codepoint=0xFF), max_size=12),
        st.text(max_size=12).map(lambda t: t.encode().decode("iso-8859-1")),
        st.text(max_size=12),
    )
)
def test_repair_equals_trying_every_latin1_text_as_utf8(text: str) -> None:
    assert repair(text) == always_try_utf8(text)
