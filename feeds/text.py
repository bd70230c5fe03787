"""Feed text to plain text: markup removed, entities decoded, whitespace collapsed.

Only real HTML goes: tags whose name is an HTML element, comments, and the
content of script and style. Anything else in angle brackets (`<!channel>`,
`<@U123>`, `<http://x|y>`) is text that a feed wrote, and stays text, so the
Slack renderer can show it escaped instead of silently dropping it.
"""

from __future__ import annotations

import html
import re
import unicodedata

_ELEMENTS = frozenset(
    """
    a abbr address area article aside audio b base bdi bdo blockquote body br
    button canvas caption center cite code col colgroup data datalist dd del
    details dfn dialog div dl dt em embed fieldset figcaption figure font footer
    form h1 h2 h3 h4 h5 h6 head header hgroup hr html i iframe img input ins kbd
    label legend li link main map mark menu meta meter nav noscript object ol
    optgroup option output p param picture pre progress q rp rt ruby s samp section
    select small source span strike strong sub summary sup table tbody td template
    textarea tfoot th thead time title tr track tt u ul var video wbr svg path g
    """.split()
)
_BLOCKS = frozenset(
    """
    p br div li tr td th h1 h2 h3 h4 h5 h6 blockquote hr dt dd
    """.split()
)
_SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->|<!\[CDATA\[|\]\]>", re.DOTALL)
# Quoted attribute values may hold `>` (alt="a > b"); they stay inside the tag.
_TAG = re.compile(r"""</?([A-Za-z][A-Za-z0-9]*)\b(?:[^<>"']|"[^"]*"|'[^']*')*/?>""")
# Zero-width characters and soft hyphens split words invisibly; drop them.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
_INVISIBLE_CHAR = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
# Control characters (NUL included, which PostgreSQL text refuses) become spaces.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Either of the two above: one search tells that neither step has work.
_ODD_CHAR = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b\u200c\u200d\u2060\ufeff]"
)
# What _tag gives for each element name: blocks separate words, the rest join.
_REPLACEMENT = {name: " " if name in _BLOCKS else "" for name in _ELEMENTS}


def without_controls(value: str) -> str:
    """The text with control characters replaced by spaces."""
    return _CONTROL.sub(" ", value)


def _tag(match: re.Match[str]) -> str:
    replacement = _REPLACEMENT.get(match.group(1).lower())
    return match.group() if replacement is None else replacement


def plain_text(value: str | None) -> str:
    """Strip HTML and decode entities; the result is NFC, one line, trimmed."""
    if not value:
        return ""
    # Each step only when it has something to do: this runs twice an entry.
    # The substring tests are exact: `<script`/`<style` under IGNORECASE
    # start with `<` and s, S or the long s (U+017F).
    if "<" in value:
        if "<s" in value or "<S" in value or "<\u017f" in value:
            value = _SCRIPT.sub(" ", value)
        if "<!--" in value or "<![CDATA[" in value or "]]>" in value:
            value = _COMMENT.sub("", value)
        value = _TAG.sub(_tag, value)
    if "&" in value:
        value = html.unescape(value)
    if value.isascii():
        # ASCII is NFC and has no invisible characters; controls it may have.
        if _CONTROL.search(value):
            value = without_controls(value)
    elif _ODD_CHAR.search(value):
        value = without_controls(value)
        if _INVISIBLE_CHAR.search(value):
            value = value.translate(_INVISIBLE)
    if not value.isascii() and not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    return " ".join(value.split())
