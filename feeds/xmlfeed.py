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
base64 content, and the other oddities listed at `_Unsure`.

feedparser's internals (its date parser, namespace table, URL join, charset
regex) are imported on purpose: they are the definition of "the same result".
tests/test_parse.py checks both readers on every test and compares them on
sample feeds; rerun it after a feedparser upgrade.

Memory stays bounded: the body is fed to expat in 64 KiB slices of a
memoryview (no copy for UTF-8, ASCII and single-byte charsets, one decode for
the rest) and every item is cleared once replayed.
"""

from __future__ import annotations

import calendar
import codecs
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Final, NamedTuple
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from feedparser.datetimes import _parse_date as _feedparser_date
from feedparser.datetimes.rfc822 import timezone_names as _RFC822_ZONES
from feedparser.encodings import RE_XML_PI_ENCODING as _XML_PI_ENCODING
from feedparser.encodings import parse_content_type as _parse_content_type
from feedparser.html import _cp1252 as _CP1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin, make_safe_absolute_uri

CHUNK = 64 * 1024


@dataclass(slots=True)
class RawEntry:
    """One entry's fields as the feed gave them, before `feeds.parse` normalizes them."""

    title: str | None = None
    summary: str | None = None
    link: str | None = None
    id: str | None = None
    published: datetime | None = None
    language: str | None = None  # the entry's own language element
    title_language: str | None = None  # xml:lang in force on the entry's title


@dataclass(slots=True)
class RawFeed:
    entries: list[RawEntry] = field(default_factory=list)
    title: str | None = None
    language: str | None = None
    version: str = ""
    # What feedparser would have reported as `bozo_exception` (class name,
    # message) although the XML was fine: a charset or media-type complaint.
    problem: tuple[str, str] | None = None


class _Unsure(Exception):
    """The fast path cannot promise feedparser's answer; feedparser must decide.

    Raised for: a root other than rss, feed or rdf:RDF; an entry inside an
    entry, or a channel, feed or rss element inside one; CDF attributes on an
    item; textinput or an image with children inside an entry; source outside
    an entry; a summary or content inside a source, image or textinput; base64
    text; markup inside a text element unless it is XHTML-typed, and XHTML
    holding svg, math or elements feedparser would take for feed elements
    (title, summary, source...); markup inside a value element (link, guid,
    date, language); a namespaced attribute whose prefix is ambiguous; an
    XLink declaration inside an entry or a text element; nesting deeper than
    _MAX_DEPTH.
    """


# --- dates ------------------------------------------------------------------------

# The two shapes nearly every feed uses, restricted to what feedparser's own
# handlers read the same way; anything else goes to feedparser's parser.
_W3DTF = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?)?"
)
_RFC822 = re.compile(
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun)\S*\s+)?(\d{1,2})\s+"
    r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\S*\s+(\d{4})\s+"
    r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s+([+-]\d{4}|[a-z]+)"
)
_MONTHS: Final = {
    m: i
    for i, m in enumerate(
        "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1
    )
}


def _from_tuple(value: Any) -> datetime | None:
    # As feeds.parse always did: feedparser's 9-tuples are UTC; timegm, never mktime.
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _fast_date(text: str) -> datetime | None:
    """The two common shapes, computed as feedparser's w3dtf and rfc822 handlers do."""
    match = _W3DTF.fullmatch(text)
    if match:
        year, month, day, hour, minute, second, zone = match.groups()
        offset = 0
        if zone and zone not in "Zz":
            offset = int(zone[1:3]) * 60 + int(zone[4:])
            if zone[0] == "-":
                offset = -offset
        stamp = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=UTC,
        )
    else:
        match = _RFC822.fullmatch(text.lower())
        if not match:
            return None
        day, month, year, hour, minute, second, zone = match.groups()
        if zone[0] in "+-":
            offset = int(zone[1:3]) * 60 + int(zone[3:])
            if zone[0] == "-":
                offset = -offset
        elif zone.startswith("gmt") and zone != "gmt":
            return None  # GMT+2 and friends: feedparser's rules
        else:
            offset = _RFC822_ZONES.get(zone, 0) * 60
        stamp = datetime(
            int(year),
            _MONTHS[month],
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            tzinfo=UTC,
        )
    if offset:
        stamp -= timedelta(0, offset * 60)
    if not 1 < stamp.year < 9999:
        return None  # near the ends feedparser's arithmetic overflows: let it say
    return stamp


def parse_date(text: str | None) -> datetime | None:
    """A feed date as an aware UTC datetime, exactly as feedparser would read it.

    RFC 822 (`Mon, 02 Jun 2025 10:00:00 +0300`) and W3C-DTF/ISO 8601
    (`2025-06-02T10:00:00Z`, no seconds, no zone = UTC) are read here; other
    spellings go to feedparser's date parser. Unreadable: None.
    """
    if not text:
        return None
    try:
        fast = _fast_date(text)
    except (ValueError, OverflowError):  # out of range: feedparser tries other readings
        fast = None
    if fast is not None:
        return fast
    return _from_tuple(_feedparser_date(text))


# --- character sets -------------------------------------------------------------------

_APPLICATION_XML: Final = (
    "application/xml",
    "application/xml-dtd",
    "application/xml-external-parsed-entity",
)
_TEXT_XML: Final = ("text/xml", "text/xml-external-parsed-entity")
_WIDE_NAMES: Final = frozenset(
    "u16 utf-16 utf16 utf_16 u32 utf-32 utf32 utf_32 iso-10646-ucs-2 "
    "iso-10646-ucs-4 csucs4 csunicode ucs-2 ucs-4".split()
)
_ASCII: Final = "".join(map(chr, range(128)))


@dataclass(slots=True)
class _Charset:
    name: str  # as feedparser names it in its warning
    offset: int  # bytes of BOM before the data
    expat: str | None = None  # feed the bytes to expat in this encoding
    text: str | None = None  # or this decoded text
    problem: tuple[str, str] | None = None
    trusted: bool = False  # UTF-8 assumed, not checked


@lru_cache(maxsize=128)
def _single_byte(name: str) -> re.Pattern[bytes] | bool | None:
    """For an ASCII-compatible one-byte charmap codec: a pattern of the bytes it
    cannot decode, or None when it decodes every byte. False for any other codec."""
    info = codecs.lookup(name)
    owner = getattr(info.decode, "__self__", None)
    module = sys.modules.get(type(owner).__module__) if owner is not None else None
    table = getattr(module, "decoding_table", None)
    if not isinstance(table, str) or len(table) != 256 or table[:128] != _ASCII:
        return False
    holes = bytes(i for i, char in enumerate(table) if char == "\ufffe")
    if not holes:
        return None
    return re.compile(b"[" + b"".join(re.escape(bytes([b])) for b in holes) + b"]")


def _charset(
    body: bytes, headers: Mapping[str, str], *, not_utf8: bool = False
) -> _Charset | None:
    """feedparser's RFC 3023 charset decision (encodings.convert_to_utf8), made
    without decoding the body when the charset is UTF-8, ASCII or one-byte.

    UTF-8 is taken on trust (expat checks it while parsing); not_utf8 says the
    body turned out not to be UTF-8, so the choice moves on as feedparser's would.
    """
    bom, offset = "", 0
    head = body[:4]
    if head == codecs.BOM_UTF32_BE:
        bom, offset = "utf-32be", 4
    elif head == codecs.BOM_UTF32_LE:
        bom, offset = "utf-32le", 4
    elif head[:2] == codecs.BOM_UTF16_BE:
        bom, offset = "utf-16be", 2
    elif head[:2] == codecs.BOM_UTF16_LE:
        bom, offset = "utf-16le", 2
    elif head[:3] == codecs.BOM_UTF8:
        bom, offset = "utf-8", 3
    elif head == b"\x4c\x6f\xa7\x94":
        bom = "cp037"
    elif head == b"\x00\x3c\x00\x3f":
        bom = "utf-16be"
    elif head == b"\x3c\x00\x3f\x00":
        bom = "utf-16le"
    elif head == b"\x00\x00\x00\x3c":
        bom = "utf-32be"
    elif head == b"\x3c\x00\x00\x00":
        bom = "utf-32le"
    data = memoryview(body)[offset:]

    match: Any = None
    if not bom:
        match = _XML_PI_ENCODING.match(body)
    else:
        try:
            declared = str(data, bom).encode("utf-8")  # a BOM is rare: one decode
        except (UnicodeDecodeError, LookupError):
            declared = None
        if declared is not None:
            match = _XML_PI_ENCODING.match(declared)
    xml_encoding = ""
    if match:
        try:
            xml_encoding = match.group(1).decode("utf-8").lower()
        except UnicodeDecodeError:
            return None  # feedparser itself fails here
        if bom and xml_encoding in _WIDE_NAMES:
            xml_encoding = bom

    content_type, http_encoding = _parse_content_type(headers.get("content-type") or "")
    acceptable = False
    if content_type in _APPLICATION_XML or (
        content_type.startswith("application/") and content_type.endswith("+xml")
    ):
        acceptable = True
        declared_encoding = http_encoding or xml_encoding or "utf-8"
    elif content_type in _TEXT_XML or (
        content_type.startswith("text/") and content_type.endswith("+xml")
    ):
        acceptable = True
        declared_encoding = http_encoding or "us-ascii"
    elif content_type.startswith("text/"):
        declared_encoding = http_encoding or "us-ascii"
    elif headers and "content-type" not in headers:
        declared_encoding = xml_encoding or "iso-8859-1"
    else:
        declared_encoding = xml_encoding or "utf-8"
    if declared_encoding.lower() == "gb2312":
        declared_encoding = "gb18030"
    if xml_encoding.lower() == "gb2312":
        xml_encoding = "gb18030"

    problem: tuple[str, str] | None = None
    if headers and not acceptable:
        if "content-type" in headers:
            message = f"{headers['content-type']} is not an XML media type"
        else:
            message = "no Content-type specified"
        problem = ("NonXMLContentType", message)

    tried: list[str] = []
    for proposed in (
        declared_encoding,
        xml_encoding,
        bom,
        None,
        "utf-8",
        "windows-1252",
        "iso-8859-2",
    ):
        if proposed is None:
            from feedparser import encodings  # chardet, when installed, votes here

            if encodings.lazy_chardet_encoding is not None:
                return None
            continue
        if not proposed or proposed in tried:
            continue
        tried.append(proposed)
        choice = _try_charset(proposed, body, offset, not_utf8)
        if choice is None:
            continue
        if choice.expat is not None and bom and bom != "utf-8":
            # UTF-16/32 or EBCDIC bytes read as a byte charset: expat would
            # detect the wide encoding on its own and disagree with feedparser
            return None
        if proposed != declared_encoding:
            problem = (
                "CharacterEncodingOverride",
                f"document declared as {declared_encoding}, but parsed as {proposed}",
            )
        choice.problem = problem
        return choice
    return None


def _try_charset(
    name: str, body: bytes, offset: int, not_utf8: bool
) -> _Charset | None:
    """The charset if `bytes.decode(name)` would succeed on data, else None.

    UTF-8 is assumed valid: expat checks it as it parses, and a failure sends
    the whole feed to feedparser, which then makes its own choice."""
    try:
        b"".decode(name)  # unknown names and non-text codecs raise LookupError
        canonical = codecs.lookup(name).name
    except LookupError:
        return None
    if canonical == "utf-8":
        return None if not_utf8 else _Charset(name, offset, expat="utf-8", trusted=True)
    if canonical == "ascii":
        ascii_only = (body[offset:] if offset else body).isascii()
        return _Charset(name, offset, expat="utf-8") if ascii_only else None
    if canonical == "iso8859-1":
        return _Charset(name, offset, expat="iso-8859-1")
    holes = _single_byte(canonical)
    if holes is None:
        return _Charset(name, offset, expat=canonical)
    if isinstance(holes, re.Pattern):
        found = holes.search(body, offset)
        return None if found else _Charset(name, offset, expat=canonical)
    try:
        return _Charset(name, offset, text=str(memoryview(body)[offset:], name))
    except UnicodeDecodeError:
        return None


# --- names ----------------------------------------------------------------------------

_MATCH: Final[dict[str, str]] = {
    uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()
}
_END_HANDLERS: Final = frozenset(
    name[5:].lower() for name in dir(_FeedParserMixin) if name.startswith("_end_")
)
_XML_NS: Final = "http://www.w3.org/XML/1998/namespace"
_XLINK_NS: Final = "http://www.w3.org/1999/xlink"
_XHTML: Final = "application/xhtml+xml"
_HTML_TYPES: Final = frozenset({"text/html", _XHTML})
_SUMMARY_TYPES: Final = _HTML_TYPES | {"text/plain"}
_RELATIVE: Final = frozenset(_FeedParserMixin.can_be_relative_uri)
_NO_ATTRS: Final[dict[str, str]] = {}
_SCOPED: Final = frozenset({"xml:base", "base", "xml:lang", "lang"})

(
    _OTHER,
    _TITLE,
    _MEDIA_TITLE,
    _DESCRIPTION,
    _ABSTRACT,
    _SUMMARY,
    _SUBTITLE,
    _CONTENT,
    _CONTENT_HTML,
    _BODY,
    _OPAQUE,
    _LINK,
    _GUID,
    _PUBLISHED,
    _UPDATED,
    _CREATED,
    _LANGUAGE,
    _ITEM,
    _SOURCE,
    _IMAGE,
    _TEXTINPUT,
    _CHANNEL,
    _FEED,
    _RSS,
) = range(24)

# feedparser's handler names (prefix_local, lower case) that touch what we read.
# Every other handler only fills keys feeds.parse never looks at.
_KINDS: Final = {
    "title": _TITLE,
    "dc_title": _TITLE,
    "media_title": _MEDIA_TITLE,
    "description": _DESCRIPTION,
    "dc_description": _DESCRIPTION,
    "media_description": _DESCRIPTION,
    "abstract": _ABSTRACT,
    "summary": _SUMMARY,
    "itunes_summary": _SUMMARY,
    "subtitle": _SUBTITLE,
    "tagline": _SUBTITLE,
    "itunes_subtitle": _SUBTITLE,
    "content": _CONTENT,
    "content_encoded": _CONTENT_HTML,
    "fullitem": _CONTENT_HTML,
    "body": _BODY,
    "xhtml_body": _BODY,
    "rights": _OPAQUE,
    "copyright": _OPAQUE,
    "dc_rights": _OPAQUE,
    "info": _OPAQUE,
    "feedburner_browserfriendly": _OPAQUE,
    "link": _LINK,
    "guid": _GUID,
    "id": _GUID,
    "published": _PUBLISHED,
    "issued": _PUBLISHED,
    "pubdate": _PUBLISHED,
    "dcterms_issued": _PUBLISHED,
    "updated": _UPDATED,
    "modified": _UPDATED,
    "lastbuilddate": _UPDATED,
    "dc_date": _UPDATED,
    "dcterms_modified": _UPDATED,
    "created": _CREATED,
    "dcterms_created": _CREATED,
    "language": _LANGUAGE,
    "dc_language": _LANGUAGE,
    "item": _ITEM,
    "entry": _ITEM,
    "source": _SOURCE,
    "image": _IMAGE,
    "textinput": _TEXTINPUT,
    "channel": _CHANNEL,
    "feed": _FEED,
    "rss": _RSS,
}
_DATE_KEYS: Final = {_PUBLISHED: "published", _UPDATED: "updated", _CREATED: "created"}
_VALUE_KINDS: Final = frozenset({_LINK, _GUID, _LANGUAGE, *_DATE_KEYS})
_ROOTS: Final = frozenset({"rss", "feed", "rdf_rdf"})
_RSS_VERSIONS: Final = {
    "0.91": "rss091u",
    "0.92": "rss092",
    "0.93": "rss093",
    "0.94": "rss094",
}
_ATOM_VERSIONS: Final = {"0.1": "atom01", "0.2": "atom02", "0.3": "atom03"}

# Where a value goes, as feedparser's _get_context would pick.
_ENTRY, _FEED_CONTEXT, _ELSEWHERE = range(3)

_C1 = re.compile("[\x80-\x9f]")
_BEYOND_LATIN1 = re.compile("[^\x00-\xff]")
_ENTITY_IN_LINK = re.compile("&([A-Za-z0-9_]+);")
# URLs that feedparser's urljoin hands back unchanged whatever the base.
_ABSOLUTE = re.compile(
    r"https?://[A-Za-z0-9.\-_~%!$&'()*+,=:]+"
    r"(?:/[^\x00-\x20\\;?#]*)?(?:\?[^\x00-\x20\\;#]+)?(?:#[^\x00-\x20\\;]+)?"
)
# A scheme, not followed by "//" (whose authority urljoin would check).
_OTHER_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):(?!//)")
_PROLOG_BYTES = re.compile(rb"(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
_PROLOG_TEXT = re.compile(r"(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
_MAX_MARKUP_DEPTH = 200
_MAX_DEPTH = 256  # deeper documents are replayed recursively by nobody but feedparser
_QUOTE: Final = {'"': "&quot;"}


@lru_cache(maxsize=256)
def _scheme(base: str) -> str | None:
    """The scheme urljoin sees in a base URI ("" for none); None if it cannot
    parse the base, when urljoin gives back nothing at all."""
    try:
        return urlsplit(base).scheme
    except ValueError:
        return None


def _repair(text: str) -> str:
    """feedparser's last touches to every text value: UTF-8 that was read as
    Latin-1 is read again, and C1 controls become their windows-1252 letters."""
    if text.isascii():
        return text
    if not _BEYOND_LATIN1.search(text):
        with suppress(UnicodeDecodeError):
            text = text.encode("iso-8859-1").decode("utf-8")
    if _C1.search(text):
        text = text.translate(_CP1252)
    return text


def _map_type(value: str) -> str:
    value = value.lower()
    if value in ("text", "plain"):
        return "text/plain"
    if value == "html":
        return "text/html"
    if value == "xhtml":
        return _XHTML
    return value


class _Frame:
    """One open element, as feedparser's element stack and handlers see it."""

    __slots__ = ("ctype", "element", "expecting", "kind", "lang", "relevant")

    def __init__(
        self,
        kind: int,
        element: str = "",
        expecting: bool = True,
        ctype: str = "",
        lang: str | None = None,
        relevant: bool = True,
    ) -> None:
        self.kind = kind
        self.element = element
        self.expecting = expecting
        self.ctype = ctype
        self.lang = lang
        self.relevant = relevant


_CONTENT_MARK = _Frame(
    _OTHER, "", True, "", None, False
)  # a descendant of a text element
_OTHER_FRAME = _Frame(_OTHER)  # an element feeds.parse has no use for
# Attribute-less title and description, as push_content would set them up.
_LEAF_TITLE = _Frame(_TITLE, "title", True, "text/plain")
_LEAF_DESCRIPTION = _Frame(_DESCRIPTION, "description", True, "text/html")
_LEAF_SILENT_TITLE = _Frame(_TITLE, "title", False, "text/plain")
_LEAF_SILENT_DESCRIPTION = _Frame(_DESCRIPTION, "description", False, "text/html")


class _Name(NamedTuple):
    qname: str  # feedparser's tag: standard prefix, lower case
    handler: str  # its handler's name: prefix_local
    kind: int
    ends_textinput: bool
    ends_image: bool


class _Replay:
    """feedparser's StrictFeedParser, cut down to what feeds.parse reads."""

    def __init__(self, base: str, lang: str | None) -> None:
        self.version = ""
        self.depth = 0
        self.base = base
        self.bases: list[str] = []
        self.base_memo: dict[str | tuple[str, str], str] = {}
        self.lang = lang
        self.langs: list[str | None] = []
        self.feed_title: str | None = None
        self.feed_language = lang.replace("_", "-") if lang else None
        self.feed_summary = False
        self.feed_image = False
        self.entries: list[RawEntry] = []
        self.entry: dict[str, Any] = {}
        self.entry_depths: dict[str, int] = {}
        self.infeed = self.inentry = self.insource = False
        self.inimage = self.intextinput = False
        self.incontent = 0
        self.has_content = False
        self.guidislink = False
        self.title_depth = -1
        self.frames: list[_Frame] = []
        self.content: _Frame | None = None  # the open text element, if any
        self.item: ET.Element | None = None  # the entry being read, if any
        self.leaf = False  # a value element (link, guid, date...) is open
        self.names: dict[str, _Name] = {}
        self.namespace_map: dict[str | None, str] = {}
        self.in_use: dict[str, str] = {}
        self.declared: dict[str, set[str]] = {}
        self.pending: list[tuple[str, str]] = []

    # -- namespaces, names and attributes ---------------------------------------

    def track(self, prefix: str, uri: str) -> None:
        """A namespace declaration (startPrefixMapping, track_namespace)."""
        if not uri:
            return
        if prefix:
            self.declared.setdefault(uri, set()).add(prefix)
        key = prefix or None
        lowered = uri.lower()
        if not self.version:
            if key is None and lowered == "http://my.netscape.com/rdf/simple/0.9/":
                self.version = "rss090"
            elif lowered == "http://purl.org/rss/1.0/":
                self.version = "rss10"
            elif lowered == "http://www.w3.org/2005/atom":
                self.version = "atom10"
        if "backend.userland.com/rss" in lowered:
            uri = lowered = "http://backend.userland.com/rss"
        if lowered in _MATCH:
            self.namespace_map[key] = _MATCH[lowered]
            self.in_use[_MATCH[lowered]] = uri
        else:
            self.in_use[prefix] = uri
        if prefix and uri == _XLINK_NS:
            self.pending.append(("xmlns:" + prefix, uri))
        self.names.clear()

    def resolve_name(self, tag: str) -> _Name:
        """feedparser's view of an element name (startElementNS, unknown_starttag)."""
        cached = self.names.get(tag)
        if cached is not None:
            return cached
        if tag[0] == "{":
            uri, _, local = tag[1:].partition("}")
        else:
            uri, local = "", tag
        lowered = uri.lower()
        if "backend.userland.com/rss" in lowered:
            uri = lowered = "http://backend.userland.com/rss"
        prefix = _MATCH.get(lowered)
        local = local.lower()
        if prefix:
            qname = prefix.lower() + ":" + local
        elif uri:
            qname = local
            for name, value in self.in_use.items():
                if name and value == uri:
                    qname = name + ":" + local
                    break
        else:
            qname = local
        qname = qname.lower()
        head, colon, tail = qname.partition(":")
        if colon:
            mapped = self.namespace_map.get(head, head)
            handler = f"{mapped}_{tail}" if mapped else tail
        else:
            mapped, handler = "", qname
        result = _Name(
            qname,
            handler,
            _KINDS.get(handler, _OTHER),
            # unknown_starttag's "special hack" for ill-formed image and textinput
            not mapped and qname not in ("title", "link", "description", "name"),
            not mapped
            and qname
            not in ("title", "link", "description", "url", "href", "width", "height"),
        )
        self.names[tag] = result
        return result

    def attributes(self, items: Iterable[tuple[str, str]]) -> dict[str, str]:
        """feedparser's attrs_d: keys lower case, standard prefixes, rel/type lowered."""
        attrs: dict[str, str] = {}
        for name, value in self.pending:
            attrs[name] = value
        self.pending.clear()
        qnames: list[tuple[str, str]] = []
        for key, value in items:
            if key[0] == "{":
                uri, _, local = key[1:].partition("}")
                prefix = _MATCH.get(uri.lower(), "")
                attrs[(prefix + ":" + local if prefix else local).lower()] = value
                if uri == _XML_NS:
                    declared = "xml"
                else:
                    prefixes = self.declared.get(uri, set())
                    if len(prefixes) != 1:
                        raise _Unsure("namespaced attribute with an ambiguous prefix")
                    (declared,) = prefixes
                qnames.append(((declared + ":" + local).lower(), value))
            else:
                attrs[key.lower()] = value
                qnames.append((key.lower(), value))
        for name, value in qnames:
            attrs[name] = value
        for name in ("rel", "type"):
            if name in attrs:
                attrs[name] = attrs[name].lower()
        return attrs

    # -- events -------------------------------------------------------------------

    def run(self, events: Iterable[tuple[Any, ...]]) -> None:
        for event, value in events:
            item = self.item
            if item is not None:
                # Inside an entry: its elements are replayed from the tree when it ends.
                if event == "end":
                    if value is item:
                        self.item = None
                        self.close_item(value)
                elif event == "start-ns":
                    if value[0] and value[1] == _XLINK_NS:
                        raise _Unsure("an XLink declaration inside an entry")
                    self.track(*value)
                continue
            if event == "start":
                self.start(value)
                if self.frames and self.frames[-1].kind == _ITEM:
                    self.item = value
            elif event == "end":
                self.end(value)
            else:
                self.track(*value)

    def close_item(self, item: ET.Element) -> None:
        for child in item:
            self.visit(child)
        self.end(item)

    def visit(self, element: ET.Element) -> None:
        """start() and end() for one element of an entry, and its children."""
        if self.depth >= _MAX_DEPTH:
            raise _Unsure("elements nested too deep")
        items = element.items()
        attrs = self.attributes(items) if items else _NO_ATTRS
        if (
            self.content is not None
            or self.leaf
            or len(element)
            or (attrs and _SCOPED.intersection(attrs))
        ):
            self.start(element)
            for child in element:
                self.visit(child)
            self.end(element)
            return
        # An element without children or xml:base/xml:lang (most of an entry):
        # what start() and end() would do, without the stacks. xml:lang is
        # inherited and given back; xml:base is normalized, then given back
        # unless the parent has none (feedparser's leak, kept).
        name = self.names.get(element.tag) or self.resolve_name(element.tag)
        if name.ends_textinput:
            self.intextinput = False
        if name.ends_image:
            self.inimage = False
        current = self.base
        inner = self.base_memo.get(current) or self.join_base(current, current)
        kind = name.kind
        if kind != _OTHER:
            self.depth += 1
            self.base = inner
            if attrs:
                self.finish(self.dispatch(kind, attrs), element)
            elif kind in _DATE_KEYS:
                self.end_value(kind, _DATE_KEYS[kind], element.text, True)
            elif kind == _GUID:
                self.guidislink = True  # no isPermaLink="false"
                self.end_value(kind, "id", element.text, True)
            elif kind == _LINK:
                expecting = self.infeed or self.inentry or self.insource
                self.end_value(kind, "link", element.text, expecting)
            elif kind == _TITLE or (kind == _DESCRIPTION and not self.second_summary()):
                lang = self.lang
                frame = _LEAF_TITLE if kind == _TITLE else _LEAF_DESCRIPTION
                if lang:
                    frame = _Frame(
                        kind, frame.element, True, frame.ctype, lang.replace("_", "-")
                    )
                if not (self.infeed or self.inentry or self.insource):
                    frame = (
                        _LEAF_SILENT_TITLE
                        if kind == _TITLE
                        else _LEAF_SILENT_DESCRIPTION
                    )
                self.end_text(kind, frame.element, (element.text or "").strip(), frame)
            else:
                self.finish(self.dispatch(kind, _NO_ATTRS), element)
            self.depth -= 1
            langs = self.langs
            if langs:
                self.lang = langs[-1]
        bases = self.bases
        self.base = bases[-1] if bases and bases[-1] else inner

    def start(self, element: ET.Element) -> None:
        self.depth += 1
        name = self.names.get(element.tag) or self.resolve_name(element.tag)
        items = element.items()
        current = self.base
        if items or self.pending:
            attrs = self.attributes(items)
            # xml:base, as unknown_starttag tracks it (including its leaks)
            value = attrs["xml:base"] if "xml:base" in attrs else attrs.get("base")
            new_base = self.join_base(current, value or current)
            lang = attrs["xml:lang"] if "xml:lang" in attrs else attrs.get("lang")
            if lang == "":
                lang = None
            elif lang is None:
                lang = self.lang
        else:
            attrs = _NO_ATTRS
            new_base = self.base_memo.get(current) or self.join_base(current, current)
            lang = self.lang
        self.base = new_base
        self.bases.append(new_base)
        if lang and name.qname in ("feed", "rss"):
            self.feed_language = lang.replace("_", "-")
        self.lang = lang
        self.langs.append(lang)

        if self.content is not None:
            self.start_markup(name)
            return
        if self.leaf:
            raise _Unsure("markup inside a value element")
        if self.depth == 1 and name.handler not in _ROOTS:
            raise _Unsure(f"root element {name.qname!r}")
        if name.ends_textinput:
            self.intextinput = False
        if name.ends_image:
            self.inimage = False
        kind = name.kind
        self.frames.append(
            _OTHER_FRAME if kind == _OTHER else self.dispatch(kind, attrs)
        )

    def join_base(self, current: str, wanted: str) -> str:
        key: str | tuple[str, str] = current if wanted == current else (current, wanted)
        known = self.base_memo.get(key)
        if known is None:
            if current:
                known = str(make_safe_absolute_uri(current, wanted) or current)
            else:
                known = str(_urljoin(current, wanted))
            self.base_memo[key] = known
        return known

    def start_markup(self, name: _Name) -> None:
        """A child of a text element: feedparser keeps it as markup, so long as
        nothing in it looks like a feed element to feedparser's end handlers."""
        content = self.content
        assert content is not None
        if content.ctype.endswith("xml") and content.ctype != _XHTML:
            raise _Unsure("markup in an XML-typed text element")
        if content.relevant and content.ctype != _XHTML:
            raise _Unsure("markup in a text or HTML element")
        if name.handler in _END_HANDLERS or name.qname.rpartition(":")[2] in (
            "svg",
            "math",
        ):
            raise _Unsure(f"{name.qname!r} inside a text element")
        self.frames.append(_CONTENT_MARK)

    def end(self, element: ET.Element) -> None:
        frame = self.frames.pop()
        if frame.kind != _OTHER:
            self.finish(frame, element)
        bases = self.bases
        bases.pop()
        if bases and bases[-1]:
            self.base = bases[-1]
        langs = self.langs
        langs.pop()
        if langs:
            self.lang = langs[-1]
        self.depth -= 1

    # -- feedparser's handlers ---------------------------------------------------------

    def context(self) -> int:
        if self.insource or (self.inimage and self.feed_image) or self.intextinput:
            return _ELSEWHERE
        return _ENTRY if self.inentry else _FEED_CONTEXT

    def second_summary(self) -> bool:
        """Whether a summary or description here would be taken for content."""
        return not self.has_content and self.has_summary()

    def has_summary(self) -> bool:
        where = self.context()
        if where == _ENTRY:
            return "summary" in self.entry
        if where == _FEED_CONTEXT:
            return self.feed_summary
        return False  # checked in push_content: nothing sets one there

    def push_content(
        self,
        kind: int,
        element: str,
        attrs: dict[str, str],
        default: str,
        expecting: bool,
    ) -> _Frame:
        self.incontent += 1
        if self.lang:
            self.lang = self.lang.replace("_", "-")
        ctype = _map_type(attrs.get("type", default))
        relevant = kind != _OPAQUE
        if (
            kind in (_SUMMARY, _CONTENT, _CONTENT_HTML, _BODY)
            and self.context() == _ELSEWHERE
        ):
            # would give a source, image or textinput a summary: not modelled
            raise _Unsure("summary or content outside an entry or the feed")
        if relevant and (
            attrs.get("mode", "") == "base64"
            or not (
                ctype.startswith("text/")
                or ctype.endswith("+xml")
                or ctype.endswith("/xml")
                # content of another type is never a summary: its value is unused
                or kind in (_CONTENT, _CONTENT_HTML, _BODY)
            )
        ):
            raise _Unsure("base64 content")
        frame = _Frame(kind, element, expecting, ctype, self.lang, relevant)
        self.content = frame
        return frame

    def dispatch(self, kind: int, attrs: dict[str, str]) -> _Frame:
        expecting = self.infeed or self.inentry or self.insource
        if kind in _DATE_KEYS:
            self.leaf = True
            return _Frame(kind, _DATE_KEYS[kind])
        if kind == _LINK:
            return self.start_link(attrs, expecting)
        if kind == _GUID:
            self.guidislink = attrs.get("ispermalink", "true") == "true"
            self.leaf = True
            return _Frame(kind, "id")
        if kind in (_TITLE, _MEDIA_TITLE):
            return self.push_content(kind, "title", attrs, "text/plain", expecting)
        if kind in (_DESCRIPTION, _SUMMARY) and self.second_summary():
            # A second summary is taken for content (feedparser's _summaryKey):
            # it only stands in for a summary that is already there.
            self.has_content = True
            frame = self.push_content(_CONTENT, "content", attrs, "text/plain", True)
            frame.relevant = False
            return frame
        if kind == _DESCRIPTION:
            return self.push_content(kind, "description", attrs, "text/html", expecting)
        if kind == _SUMMARY:
            return self.push_content(kind, "summary", attrs, "text/plain", True)
        if kind == _CONTENT_HTML:
            self.has_content = True
            return self.push_content(kind, "content", attrs, "text/html", True)
        if kind == _CONTENT:
            self.has_content = True
            return self.push_content(kind, "content", attrs, "text/plain", True)
        if kind == _ABSTRACT:
            return self.push_content(
                kind, "description", attrs, "text/plain", expecting
            )
        if kind == _SUBTITLE:
            return self.push_content(kind, "subtitle", attrs, "text/plain", True)
        if kind == _BODY:
            return self.push_content(kind, "content", attrs, _XHTML, True)
        if kind == _OPAQUE:
            return self.push_content(kind, "rights", attrs, "text/plain", True)
        if kind == _LANGUAGE:
            self.leaf = True
            return _Frame(kind, "language")
        if kind == _ITEM:
            return self.start_item(attrs)
        if kind == _SOURCE:
            if not self.inentry:
                raise _Unsure("source outside an entry")
            self.insource = True
            self.title_depth = -1
            return _Frame(kind)
        if kind == _IMAGE:
            if self.inentry:
                self.leaf = (
                    True  # an image with children in an entry: feedparser's maze
                )
            else:
                self.feed_image = True
            self.inimage = True
            self.title_depth = -1
            return _Frame(kind)
        if kind == _TEXTINPUT:
            if self.inentry:
                raise _Unsure("textinput inside an entry")
            self.intextinput = True
            self.title_depth = -1
            return _Frame(kind)
        if kind == _CHANNEL:
            if self.inentry:
                raise _Unsure("channel inside an entry")
            self.infeed = True
            return _Frame(kind)
        if kind == _FEED:
            if self.inentry:
                raise _Unsure("feed inside an entry")
            self.infeed = True
            if not self.version:
                self.version = _ATOM_VERSIONS.get(attrs.get("version", ""), "atom")
            return _Frame(kind)
        if kind == _RSS:
            if self.inentry:
                raise _Unsure("rss inside an entry")
            if not self.version.startswith("rss"):
                version = attrs.get("version", "")
                self.version = _RSS_VERSIONS.get(version) or (
                    "rss20" if version.startswith("2.") else "rss"
                )
            return _Frame(kind)
        raise AssertionError(kind)

    def start_link(self, attrs: dict[str, str], expecting: bool) -> _Frame:
        attrs = dict(attrs)
        rel = attrs.setdefault("rel", "alternate")
        type_ = attrs.setdefault(
            "type", "application/atom+xml" if rel == "self" else "text/html"
        )
        href = attrs.get("url", attrs.get("uri", attrs.get("href")))
        if href:
            attrs["href"] = href
        if "href" not in attrs:
            self.leaf = True
            return _Frame(_LINK, "link", expecting)
        href = self.resolve(attrs["href"])
        if rel == "alternate" and _map_type(type_) in _HTML_TYPES:
            where = self.context()
            if where == _ENTRY:
                self.entry["link"] = href
        return _Frame(_OTHER)

    def start_item(self, attrs: dict[str, str]) -> _Frame:
        if self.inentry or self.insource:
            raise _Unsure("an entry inside an entry")
        if "href" in attrs or "lastmod" in attrs:
            raise _Unsure("CDF item")
        self.entry = {}
        self.entry_depths = {}
        self.inentry = True
        self.guidislink = False
        self.title_depth = -1
        head, _, tail = "rdf:about".partition(":")
        about = attrs.get(self.namespace_map.get(head, head) + ":" + tail)
        if about and self.context() == _ENTRY:
            self.entry["id"] = about
        return _Frame(_ITEM)

    def resolve(self, uri: str) -> str:
        """feedparser's resolve_uri, skipping urljoin where it changes nothing."""
        base = self.base or ""
        base_scheme = _scheme(base)
        if base_scheme is not None:  # else urljoin fails, and gives back ""
            if _ABSOLUTE.fullmatch(uri):
                return uri
            other = _OTHER_SCHEME.match(uri)
            if other and other.group(1).lower() != base_scheme:
                return uri  # urn:, tag:, mailto: against an http base: kept as given
        return str(_urljoin(base, uri))

    def finish(self, frame: _Frame, element: ET.Element) -> None:
        kind = frame.kind
        if kind == _OTHER:
            return
        if frame is self.content:
            self.content = None
            self.incontent -= 1
            value = self.text_of(frame, element) if frame.relevant else ""
            self.end_text(kind, frame.element, value, frame)
            element.clear()
            return
        if kind in _VALUE_KINDS:
            self.leaf = False
            self.end_value(kind, frame.element, element.text, frame.expecting)
            return
        if kind == _ITEM:
            self.end_item()
            element.clear()
        elif kind == _SOURCE:
            self.insource = False
        elif kind == _IMAGE:
            self.leaf = False
            self.inimage = False
        elif kind == _TEXTINPUT:
            self.intextinput = False
        elif kind in (_CHANNEL, _FEED):
            self.infeed = False

    def end_value(
        self, kind: int, element: str, text: str | None, expecting: bool
    ) -> None:
        """The end handlers of link (as text), guid/id, the dates and language."""
        value = self.pop(element, (text or "").strip(), expecting)
        if kind == _GUID:
            if self.guidislink and self.context() == _ENTRY:
                self.entry.setdefault("link", value)
        elif kind != _LINK and kind != _LANGUAGE and self.context() == _ENTRY:
            self.entry[element + "_parsed"] = value  # read when the entry ends

    def end_text(self, kind: int, element: str, value: str, frame: _Frame) -> None:
        """The end handlers of the text elements (title, summary, content...)."""
        if not frame.relevant:
            return
        value = self.pop(element, value, frame.expecting, frame.lang)
        if kind == _TITLE:
            if value:
                self.title_depth = self.depth  # media:title leaves it as it was
        elif (
            kind in (_CONTENT, _CONTENT_HTML, _BODY)
            and _map_type(frame.ctype) in _SUMMARY_TYPES
        ):
            # _end_content: text and HTML content stand in for a missing summary
            where = self.context()
            if where == _ENTRY:
                self.entry.setdefault("summary", value)
            elif where == _FEED_CONTEXT:
                self.feed_summary = True

    def text_of(self, frame: _Frame, element: ET.Element) -> str:
        if frame.ctype != _XHTML:
            return (element.text or "").strip()
        pieces: list[str] = []
        if element.text:
            pieces.append(escape(element.text))
        for child in element:
            self.markup(child, pieces, 1)
        if self.version == "atom10":
            _strip_wrapping_div(pieces)
        return "".join(pieces).strip()

    def markup(self, element: ET.Element, pieces: list[str], depth: int) -> None:
        if depth > _MAX_MARKUP_DEPTH:
            raise _Unsure("markup nested too deep")
        qname = self.resolve_name(element.tag).qname
        tag = qname.partition(":")[2] or qname
        items = element.items()
        attrs = self.attributes(items) if items else _NO_ATTRS
        pieces.append(
            "<"
            + tag
            + "".join(f' {k}="{escape(v, _QUOTE)}"' for k, v in attrs.items())
            + ">"
        )
        if element.text:
            pieces.append(escape(element.text))
        for child in element:
            self.markup(child, pieces, depth + 1)
        pieces.append(f"</{qname.rpartition(':')[2]}>")
        if element.tail:
            pieces.append(escape(element.tail))

    def pop(
        self, element: str, value: str, expecting: bool, lang: str | None = None
    ) -> str:
        """feedparser's pop(): the value's last touches, and where it is kept."""
        if not expecting:
            return value
        if value and element in _RELATIVE and (element != "id" or self.guidislink):
            value = self.resolve(value)
        value = _repair(value)
        if element == "title" and -1 < self.title_depth <= self.depth:
            return value
        if self.inentry and not self.insource:
            if element == "content":
                return value
            if element == "link":
                if not self.inimage:
                    link = value.replace("&amp;", "&")
                    if "&" in link and ";" in link:
                        link = _ENTITY_IN_LINK.sub(r"&\g<1>", link)
                    self.entry["link"] = link
                return value
            key = "summary" if element == "description" else element
            known = self.entry_depths.get(key)
            if known is None or self.depth <= known:
                self.entry_depths[key] = self.depth
                self.entry[key] = value
            if element == "title":
                # title_detail is replaced even when the title is not
                self.entry["title_language"] = lang
        elif (self.infeed or self.insource) and self.context() == _FEED_CONTEXT:
            if element == "title":
                self.feed_title = value
            elif element == "language":
                self.feed_language = value
            elif element == "summary":
                self.feed_summary = True
        return value

    def end_item(self) -> None:
        entry = self.entry
        self.inentry = False
        self.has_content = False
        summary = entry.get("summary")
        if not summary:
            summary = summary if "summary" in entry else entry.get("subtitle")
        published = None
        for key in ("published_parsed", "updated_parsed", "created_parsed"):
            published = parse_date(entry.get(key))
            if published is not None:
                break
        self.entries.append(
            RawEntry(
                title=entry.get("title"),
                summary=summary,
                link=entry.get("link"),
                id=entry.get("id"),
                published=published,
                language=entry.get("language"),
                title_language=entry.get("title_language"),
            )
        )


def _strip_wrapping_div(pieces: list[str]) -> None:
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


def base_uri(headers: Mapping[str, str]) -> str:
    """The base URI feedparser starts from (api.parse): the Content-Location."""
    location = headers.get("content-location", "")
    return str(
        make_safe_absolute_uri("", location) or make_safe_absolute_uri(location) or ""
    )


def parse_xml(body: bytes, headers: Mapping[str, str]) -> RawFeed | None:
    """The feed in body, or None when feedparser must decide.

    headers are the response headers with lower-case names, as feedparser
    gets them (Content-Location included: relative links resolve against it).
    """
    if not body or not _usable():
        return None
    charset = _charset(body, headers)
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
    charset = _charset(body, headers, not_utf8=True)
    if charset is None:
        return None
    try:
        return _parse(body, headers, charset)
    except ET.ParseError:
        return None


def _parse(
    body: bytes, headers: Mapping[str, str], charset: _Charset
) -> RawFeed | None:
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

    replay = _Replay(base_uri(headers), headers.get("content-language"))
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
    except _Unsure:
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

    charset = _charset(body, headers)
    parser = expat.ParserCreate(charset.expat if charset and charset.expat else None)
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse(*_: object) -> None:
        raise _Unsure("DOCTYPE")

    parser.StartDoctypeDeclHandler = refuse
    try:
        if charset is not None and charset.text is not None:
            parser.Parse(charset.text, True)
        else:
            parser.Parse(body[charset.offset if charset else 0 :], True)
    except expat.ExpatError as exc:
        return exc.lineno, exc.offset, expat.ErrorString(exc.code) or "not well-formed"
    except _Unsure:
        return None  # feedparser drops DOCTYPEs: where it failed is its to say
    return None
