"""What a feed body may not do to the parser: checked before feedparser sees it.

feedparser reads what the fast path (feeds.xmlfeed) declines: DOCTYPEs,
broken XML, odd markup. Some bodies would make it burn memory or minutes:

- entity bombs: entities defined by other entities ("billion laughs"), or
  one long entity used thousands of times (quadratic blowup). feedparser
  drops unsafe declarations only when each sits on its own line, and keeps
  any literal value however long. We allow what real feeds declare (a
  short value naming a character, like `&#160;`) and refuse the rest;
- external entities and parameter entities (`SYSTEM "file:///etc/passwd"`,
  `%remote;`): refused. Nothing here ever opens a file or a URL: expat only
  reads the bytes given, and external entity references have no handler;
- elements nested thousands deep: feedparser's work grows with the square
  of the depth (200,000 levels took a minute), so we refuse more than
  MAX_DEPTH;
- broken XML (that only feedparser's loose parser reads) with more than
  MAX_LOOSE_TAGS tags: the loose parser cannot be checked element by
  element, so its input is kept small enough to be harmless.

One expat pass with a handler per element, about 1 µs each: a few tenths of
a millisecond for a normal feed, on a path that already costs tens.

Before either reader, `check_tags` refuses a tag longer than MAX_TAG (a
megabyte-long attribute value, or tens of thousands of attributes): parsers
hold every attribute at once, at ~50 bytes of memory per byte of markup, and
expat rescans an unfinished tag at each chunk. One regular-expression pass,
milliseconds for a 10 MB body.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from xml.parsers import expat

from feeds.charset import choose_charset

MAX_DEPTH = 256
MAX_ENTITIES = 64
MAX_ENTITY_TEXT = 32  # a character reference, a short word: not a payload
MAX_LOOSE_TAGS = 20_000
MAX_TAG = 256 * 1024
# A tag (or a run of markup-free text) longer than MAX_TAG; linear: each try
# stops at the next angle bracket.
_LONG_TAG = re.compile(rb"<[^<>]{%d,}" % MAX_TAG)
_ENTITY_MARKERS = tuple(
    "<!ENTITY".encode(codec) for codec in ("ascii", "utf-16-le", "utf-16-be")
)


class HostileXML(Exception):
    """The body tries something no feed needs; the message says what."""


def _entity(
    name: str,
    is_parameter: int,
    value: str | None,
    base: str | None,
    system_id: str | None,
    public_id: str | None,
    notation: str | None,
) -> None:
    if is_parameter:
        raise HostileXML(f"the DOCTYPE declares a parameter entity (%{name};)")
    if value is None or system_id or public_id:
        raise HostileXML(
            f"the DOCTYPE declares an external entity &{name}; (it would read a "
            "file or a URL)"
        )
    if "&" in value or "%" in value:
        raise HostileXML(
            f"the DOCTYPE declares an entity &{name}; built from other entities "
            "(an XML bomb)"
        )
    if len(value) > MAX_ENTITY_TEXT:
        raise HostileXML(
            f"the DOCTYPE declares an entity &{name}; of {len(value)} characters "
            "(quadratic blowup)"
        )


def check_tags(body: bytes) -> None:
    """Raise HostileXML for a tag longer than MAX_TAG."""
    found = _LONG_TAG.search(body)
    if found is not None:
        raise HostileXML(
            f"a tag longer than {MAX_TAG // 1024} KB at byte {found.start()} "
            "(a huge attribute value or thousands of attributes)"
        )


def check(body: bytes, headers: Mapping[str, str]) -> None:
    """Raise HostileXML when body must not reach a parser; else return."""
    charset = choose_charset(body, headers)
    parser = expat.ParserCreate(charset.expat if charset and charset.expat else None)
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    depth = 0
    entities = 0

    def start(*_: object) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_DEPTH:
            raise HostileXML(f"elements nested more than {MAX_DEPTH} deep")

    def end(*_: object) -> None:
        nonlocal depth
        depth -= 1

    def entity(*args: object) -> None:
        nonlocal entities
        entities += 1
        if entities > MAX_ENTITIES:
            raise HostileXML(f"the DOCTYPE declares more than {MAX_ENTITIES} entities")
        _entity(*args)  # type: ignore[arg-type]

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.EntityDeclHandler = entity
    try:
        if charset is not None and charset.text is not None:
            parser.Parse(charset.text, True)
        else:
            parser.Parse(body[charset.offset if charset else 0 :], True)
    except expat.ExpatError:
        # Broken XML (or a charset expat cannot read): feedparser's loose
        # parser gets it, if it is small and declares no entities we could
        # not check.
        if any(marker in body for marker in _ENTITY_MARKERS):
            raise HostileXML(
                "the DOCTYPE declares entities in XML that cannot be checked"
            ) from None
        tags = body.count(b"<")
        if tags > MAX_LOOSE_TAGS:
            raise HostileXML(
                f"malformed XML with {tags} tags is too large to repair safely "
                f"(at most {MAX_LOOSE_TAGS})"
            ) from None
