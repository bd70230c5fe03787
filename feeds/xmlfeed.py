"""The fast path for RSS, RDF and Atom: expat through ElementTree, feedparser's rules.

feedparser spends ~17 ms on a 30-item feed, most of it in Python callbacks for
every SAX event and in per-element URL joins. This module lets the C parser of
`xml.etree.ElementTree` build each element and replays, in document order,
only the part of feedparser's state machine that decides the fields
`feeds.parse` uses: entry title (and its `xml:lang`), summary, link, id,
dates and language; feed title and language; the feed version; and the
character-set decision with the warning feedparser attaches to it. The rules
are feedparser 6's, quirks included (which of two titles wins, `<guid>` as
link, relative links resolved against the feed URL, the UTF-8-read-as-Latin-1
repair), because items are stored by guid and fingerprint: a fast path that
disagreed with feedparser would re-alert old stories.

Whenever the replay cannot promise feedparser's answer it gives up and the
caller runs feedparser: XML that expat refuses (feedparser recovers entries
from broken XML with its loose parser), a root that is not `rss`, `feed` or
`rdf:RDF`, any DOCTYPE (entity declarations included: nothing is expanded or
fetched here), a charset decision that needs a full trial decode it cannot
make cheaply, markup inside a text element other than Atom XHTML, nested
items, CDF attributes, `<textinput>` or a non-empty `<image>` inside an item,
base64 content, and the other oddities listed at `feeds.replay.Unsure`.

feedparser's internals (its date parser, namespace table, URL join, charset
regex) are imported on purpose: they are the definition of "the same result".
tests/test_parse.py checks both readers on every test and compares them on
sample feeds; rerun it after a feedparser upgrade.

The pieces: `feeds.charset` makes the charset decision, `feeds.replay` walks
the parser's events with `feeds.elements` (feedparser's vocabulary),
`feeds.uris` (its URL joins), `feeds.xmltext` (its last touches to text) and
`feeds.dates` (its date reading); `feeds.rawfeed` holds the result.

Memory stays bounded: the body is fed to expat in 64 KiB slices of a
memoryview (no copy for UTF-8, ASCII and single-byte charsets, one decode for
the rest) and every item is cleared once replayed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping

from feeds.charset import Charset, choose_charset
from feeds.rawfeed import RawFeed
from feeds.replay import Replay, Unsure
from feeds.uris import base_uri

CHUNK = 64 * 1024
_PROLOG_BYTES = re.compile(rb"(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
_PROLOG_TEXT = re.compile(r"(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)


_USABLE: bool | None = None


def _usable() -> bool:
    """feedparser prefers libxml2 when its bindings are installed; then its
    strict parser is not expat and this replay is not a faithful one."""
    global _USABLE
    if _USABLE is None:
        import xml.sax

        from feedparser.api import PREFERRED_XML_PARSERS

        reader = xml.sax.make_parser(PREFERRED_XML_PARSERS)
        _USABLE = type(reader).__module__ == "xml.sax.expatreader"
    return _USABLE


def parse_xml(body: bytes, headers: Mapping[str, str]) -> RawFeed | None:
    """The feed in body, or None when feedparser must decide.

    headers are the response headers with lower-case names, as feedparser
    gets them (Content-Location included: relative links resolve against it).
    """
    if not body or not _usable():
        return None
    charset = choose_charset(body, headers)
    if charset is None:
        return None
    try:
        return _parse(body, headers, charset)
    except ET.ParseError:
        if not charset.trusted:
            return None
        try:
            str(memoryview(body)[charset.offset :], "utf-8")
            return None  # UTF-8 indeed: the XML is broken, feedparser's loose parser may cope
        except UnicodeDecodeError:
            pass
    # Not UTF-8 after all: feedparser tries its next candidates (windows-1252...).
    charset = choose_charset(body, headers, not_utf8=True)
    if charset is None:
        return None
    try:
        return _parse(body, headers, charset)
    except ET.ParseError:
        return None


def _parse(body: bytes, headers: Mapping[str, str], charset: Charset) -> RawFeed | None:
    chunks: Iterable[str | memoryview]
    if charset.text is not None:
        text = charset.text
        prolog = _PROLOG_TEXT.match(text)
        if prolog is None or text.startswith("<!", prolog.end()):
            return None  # a DOCTYPE: entities are feedparser's (or nobody's) business
        chunks = (text[i : i + CHUNK] for i in range(0, len(text), CHUNK))
    else:
        data = memoryview(body)[charset.offset :]
        prolog_bytes = _PROLOG_BYTES.match(data)
        end = prolog_bytes.end() if prolog_bytes else 0
        if prolog_bytes is None or data[end : end + 2].tobytes() == b"<!":
            return None
        chunks = (data[i : i + CHUNK] for i in range(0, len(data), CHUNK))

    replay = Replay(base_uri(headers), headers.get("content-language"))
    parser = ET.XMLPullParser(
        ("start", "end", "start-ns"),
        _parser=ET.XMLParser(target=ET.TreeBuilder(), encoding=charset.expat),
    )
    try:
        for chunk in chunks:
            parser.feed(chunk)
            replay.run(parser.read_events())
        parser.close()
        replay.run(parser.read_events())
    except Unsure:
        return None
    return RawFeed(
        entries=replay.entries,
        title=replay.feed_title,
        language=replay.feed_language,
        version=replay.version,
        problem=charset.problem,
    )


def xml_error(body: bytes, headers: Mapping[str, str]) -> tuple[int, int, str] | None:
    """Where expat gives up on body: (line, column from 0, reason); None if it
    does not. For error messages only: nothing of the document is kept, and a
    DOCTYPE stops the parse (no entity is declared, expanded or fetched)."""
    from xml.parsers import expat

    charset = choose_charset(body, headers)
    parser = expat.ParserCreate(charset.expat if charset and charset.expat else None)
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse(*_: object) -> None:
        raise Unsure("DOCTYPE")

    parser.StartDoctypeDeclHandler = refuse
    try:
        if charset is not None and charset.text is not None:
            parser.Parse(charset.text, True)
        else:
            parser.Parse(body[charset.offset if charset else 0 :], True)
    except expat.ExpatError as exc:
        return exc.lineno, exc.offset, expat.ErrorString(exc.code) or "not well-formed"
    except Unsure:
        return None  # feedparser drops DOCTYPEs: where it failed is its to say
    return None
