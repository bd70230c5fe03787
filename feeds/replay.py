"""feedparser's StrictFeedParser, replayed over ElementTree events for the fields `feeds.parse` reads.

The C parser builds each element; `Replay` walks the start/end/start-ns
events in document order (an entry's elements once the entry has ended, from
its subtree) and applies only the part of feedparser's state machine that
decides entry title (and its `xml:lang`), summary, link, id, dates and
language; feed title and language; and the feed version. Whenever it cannot
promise feedparser's answer it raises `Unsure`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterable
from typing import Any, Final, NamedTuple
from xml.sax.saxutils import escape

from feeds.dates import parse_date
from feeds.elements import (
    ABSTRACT,
    ATOM_VERSIONS,
    BODY,
    CHANNEL,
    CONTENT,
    CONTENT_HTML,
    DATE_KEYS,
    DESCRIPTION,
    END_HANDLERS,
    FEED,
    GUID,
    HTML_TYPES,
    IMAGE,
    ITEM,
    KINDS,
    LANGUAGE,
    LINK,
    MEDIA_TITLE,
    OPAQUE,
    OTHER,
    PREFIXES,
    RELATIVE,
    ROOTS,
    RSS,
    RSS_VERSIONS,
    SCOPED,
    SOURCE,
    SUBTITLE,
    SUMMARY,
    SUMMARY_TYPES,
    TEXTINPUT,
    TITLE,
    VALUE_KINDS,
    XHTML,
    XLINK_NS,
    XML_NS,
    map_type,
)
from feeds.rawfeed import RawEntry
from feeds.uris import join_base, resolve_uri
from feeds.xmltext import link_text, repair, strip_wrapping_div


class Unsure(Exception):
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


_NO_ATTRS: Final[dict[str, str]] = {}

# Where a value goes, as feedparser's _get_context would pick.
_ENTRY, _FEED_CONTEXT, _ELSEWHERE = range(3)

_MAX_MARKUP_DEPTH = 200
_MAX_DEPTH = 256  # deeper documents are replayed recursively by nobody but feedparser
_QUOTE: Final = {'"': "&quot;"}


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
    OTHER, "", True, "", None, False
)  # a descendant of a text element
_OTHER_FRAME = _Frame(OTHER)  # an element feeds.parse has no use for
# Attribute-less title and description, as push_content would set them up.
_LEAF_TITLE = _Frame(TITLE, "title", True, "text/plain")
_LEAF_DESCRIPTION = _Frame(DESCRIPTION, "description", True, "text/html")
_LEAF_SILENT_TITLE = _Frame(TITLE, "title", False, "text/plain")
_LEAF_SILENT_DESCRIPTION = _Frame(DESCRIPTION, "description", False, "text/html")


class _Name(NamedTuple):
    qname: str  # feedparser's tag: standard prefix, lower case
    handler: str  # its handler's name: prefix_local
    kind: int
    ends_textinput: bool
    ends_image: bool


class Replay:
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
        self.item_depth = 0  # how deep inside it the parser is
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
        if lowered in PREFIXES:
            self.namespace_map[key] = PREFIXES[lowered]
            self.in_use[PREFIXES[lowered]] = uri
        else:
            self.in_use[prefix] = uri
        if prefix and uri == XLINK_NS:
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
        prefix = PREFIXES.get(lowered)
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
            KINDS.get(handler, OTHER),
            # unknown_starttag's "special hack" for ill-formed image and textinput
            not mapped and qname not in ("title", "link", "description", "name"),
            not mapped
            and qname
            not in ("title", "link", "description", "url", "href", "width", "height"),
        )
        self.names[tag] = result
        return result

    def attributes(self, items: Collection[tuple[str, str]]) -> dict[str, str]:
        """feedparser's attrs_d: keys lower case, standard prefixes, rel/type lowered."""
        attrs: dict[str, str] = {}
        if not self.pending:
            # Nearly always no namespaced key: each key once, lowered.
            for key, value in items:
                if key[0] == "{":
                    attrs = self.namespaced_attributes(items)
                    break
                attrs[key.lower()] = value
        else:
            attrs = self.namespaced_attributes(items)
        for name in ("rel", "type"):
            if name in attrs:
                attrs[name] = attrs[name].lower()
        return attrs

    def namespaced_attributes(
        self, items: Collection[tuple[str, str]]
    ) -> dict[str, str]:
        """attrs_d with namespaced keys: under the standard prefix and the declared one."""
        attrs: dict[str, str] = {}
        for name, value in self.pending:
            attrs[name] = value
        self.pending.clear()
        qnames: list[tuple[str, str]] = []
        for key, value in items:
            if key[0] == "{":
                uri, _, local = key[1:].partition("}")
                prefix = PREFIXES.get(uri.lower(), "")
                attrs[(prefix + ":" + local if prefix else local).lower()] = value
                if uri == XML_NS:
                    declared = "xml"
                else:
                    prefixes = self.declared.get(uri, set())
                    if len(prefixes) != 1:
                        raise Unsure("namespaced attribute with an ambiguous prefix")
                    (declared,) = prefixes
                qnames.append(((declared + ":" + local).lower(), value))
            else:
                attrs[key.lower()] = value
                qnames.append((key.lower(), value))
        for name, value in qnames:
            attrs[name] = value
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
                    else:
                        self.item_depth -= 1
                elif event == "start":
                    # Give up before building a tree the replay would refuse.
                    self.item_depth += 1
                    if self.item_depth >= _MAX_DEPTH:
                        raise Unsure("elements nested too deep")
                elif event == "start-ns":
                    if value[0] and value[1] == XLINK_NS:
                        raise Unsure("an XLink declaration inside an entry")
                    self.track(*value)
                continue
            if event == "start":
                self.start(value)
                if self.frames and self.frames[-1].kind == ITEM:
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
            raise Unsure("elements nested too deep")
        items = element.items()
        attrs = self.attributes(items) if items else _NO_ATTRS
        if (
            self.content is not None
            or self.leaf
            or len(element)
            or (attrs and SCOPED.intersection(attrs))
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
        if kind != OTHER:
            self.depth += 1
            self.base = inner
            if attrs:
                self.finish(self.dispatch(kind, attrs), element)
            elif kind in DATE_KEYS:
                self.end_value(kind, DATE_KEYS[kind], element.text, True)
            elif kind == GUID:
                self.guidislink = True  # no isPermaLink="false"
                self.end_value(kind, "id", element.text, True)
            elif kind == LINK:
                expecting = self.infeed or self.inentry or self.insource
                self.end_value(kind, "link", element.text, expecting)
            elif kind == TITLE or (kind == DESCRIPTION and not self.second_summary()):
                lang = self.lang
                frame = _LEAF_TITLE if kind == TITLE else _LEAF_DESCRIPTION
                if lang:
                    frame = _Frame(
                        kind, frame.element, True, frame.ctype, lang.replace("_", "-")
                    )
                if not (self.infeed or self.inentry or self.insource):
                    frame = (
                        _LEAF_SILENT_TITLE
                        if kind == TITLE
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
            raise Unsure("markup inside a value element")
        if self.depth == 1 and name.handler not in ROOTS:
            raise Unsure(f"root element {name.qname!r}")
        if name.ends_textinput:
            self.intextinput = False
        if name.ends_image:
            self.inimage = False
        kind = name.kind
        self.frames.append(
            _OTHER_FRAME if kind == OTHER else self.dispatch(kind, attrs)
        )

    def join_base(self, current: str, wanted: str) -> str:
        key: str | tuple[str, str] = current if wanted == current else (current, wanted)
        known = self.base_memo.get(key)
        if known is None:
            known = self.base_memo[key] = join_base(current, wanted)
        return known

    def start_markup(self, name: _Name) -> None:
        """A child of a text element: feedparser keeps it as markup, so long as
        nothing in it looks like a feed element to feedparser's end handlers."""
        content = self.content
        assert content is not None
        if content.ctype.endswith("xml") and content.ctype != XHTML:
            raise Unsure("markup in an XML-typed text element")
        if content.relevant and content.ctype != XHTML:
            raise Unsure("markup in a text or HTML element")
        if name.handler in END_HANDLERS or name.qname.rpartition(":")[2] in (
            "svg",
            "math",
        ):
            raise Unsure(f"{name.qname!r} inside a text element")
        self.frames.append(_CONTENT_MARK)

    def end(self, element: ET.Element) -> None:
        frame = self.frames.pop()
        if frame.kind != OTHER:
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
        ctype = map_type(attrs.get("type", default))
        relevant = kind != OPAQUE
        if (
            kind in (SUMMARY, CONTENT, CONTENT_HTML, BODY)
            and self.context() == _ELSEWHERE
        ):
            # would give a source, image or textinput a summary: not modelled
            raise Unsure("summary or content outside an entry or the feed")
        if relevant and (
            attrs.get("mode", "") == "base64"
            or not (
                ctype.startswith("text/")
                or ctype.endswith("+xml")
                or ctype.endswith("/xml")
                # content of another type is never a summary: its value is unused
                or kind in (CONTENT, CONTENT_HTML, BODY)
            )
        ):
            raise Unsure("base64 content")
        frame = _Frame(kind, element, expecting, ctype, self.lang, relevant)
        self.content = frame
        return frame

    def dispatch(self, kind: int, attrs: dict[str, str]) -> _Frame:
        expecting = self.infeed or self.inentry or self.insource
        if kind in DATE_KEYS:
            self.leaf = True
            return _Frame(kind, DATE_KEYS[kind])
        if kind == LINK:
            return self.start_link(attrs, expecting)
        if kind == GUID:
            self.guidislink = attrs.get("ispermalink", "true") == "true"
            self.leaf = True
            return _Frame(kind, "id")
        if kind in (TITLE, MEDIA_TITLE):
            return self.push_content(kind, "title", attrs, "text/plain", expecting)
        if kind in (DESCRIPTION, SUMMARY) and self.second_summary():
            # A second summary is taken for content (feedparser's _summaryKey):
            # it only stands in for a summary that is already there.
            self.has_content = True
            frame = self.push_content(CONTENT, "content", attrs, "text/plain", True)
            frame.relevant = False
            return frame
        if kind == DESCRIPTION:
            return self.push_content(kind, "description", attrs, "text/html", expecting)
        if kind == SUMMARY:
            return self.push_content(kind, "summary", attrs, "text/plain", True)
        if kind == CONTENT_HTML:
            self.has_content = True
            return self.push_content(kind, "content", attrs, "text/html", True)
        if kind == CONTENT:
            self.has_content = True
            return self.push_content(kind, "content", attrs, "text/plain", True)
        if kind == ABSTRACT:
            return self.push_content(
                kind, "description", attrs, "text/plain", expecting
            )
        if kind == SUBTITLE:
            return self.push_content(kind, "subtitle", attrs, "text/plain", True)
        if kind == BODY:
            return self.push_content(kind, "content", attrs, XHTML, True)
        if kind == OPAQUE:
            return self.push_content(kind, "rights", attrs, "text/plain", True)
        if kind == LANGUAGE:
            self.leaf = True
            return _Frame(kind, "language")
        if kind == ITEM:
            return self.start_item(attrs)
        if kind == SOURCE:
            if not self.inentry:
                raise Unsure("source outside an entry")
            self.insource = True
            self.title_depth = -1
            return _Frame(kind)
        if kind == IMAGE:
            if self.inentry:
                self.leaf = (
                    True  # an image with children in an entry: feedparser's maze
                )
            else:
                self.feed_image = True
            self.inimage = True
            self.title_depth = -1
            return _Frame(kind)
        if kind == TEXTINPUT:
            if self.inentry:
                raise Unsure("textinput inside an entry")
            self.intextinput = True
            self.title_depth = -1
            return _Frame(kind)
        if kind == CHANNEL:
            if self.inentry:
                raise Unsure("channel inside an entry")
            self.infeed = True
            return _Frame(kind)
        if kind == FEED:
            if self.inentry:
                raise Unsure("feed inside an entry")
            self.infeed = True
            if not self.version:
                self.version = ATOM_VERSIONS.get(attrs.get("version", ""), "atom")
            return _Frame(kind)
        if kind == RSS:
            if self.inentry:
                raise Unsure("rss inside an entry")
            if not self.version.startswith("rss"):
                version = attrs.get("version", "")
                self.version = RSS_VERSIONS.get(version) or (
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
            return _Frame(LINK, "link", expecting)
        href = self.resolve(attrs["href"])
        if rel == "alternate" and map_type(type_) in HTML_TYPES:
            where = self.context()
            if where == _ENTRY:
                self.entry["link"] = href
        return _Frame(OTHER)

    def start_item(self, attrs: dict[str, str]) -> _Frame:
        if self.inentry or self.insource:
            raise Unsure("an entry inside an entry")
        if "href" in attrs or "lastmod" in attrs:
            raise Unsure("CDF item")
        self.entry = {}
        self.entry_depths = {}
        self.inentry = True
        self.guidislink = False
        self.title_depth = -1
        head, _, tail = "rdf:about".partition(":")
        about = attrs.get(self.namespace_map.get(head, head) + ":" + tail)
        if about and self.context() == _ENTRY:
            self.entry["id"] = about
        return _Frame(ITEM)

    def resolve(self, uri: str) -> str:
        return resolve_uri(self.base or "", uri)

    def finish(self, frame: _Frame, element: ET.Element) -> None:
        kind = frame.kind
        if kind == OTHER:
            return
        if frame is self.content:
            self.content = None
            self.incontent -= 1
            value = self.text_of(frame, element) if frame.relevant else ""
            self.end_text(kind, frame.element, value, frame)
            element.clear()
            return
        if kind in VALUE_KINDS:
            self.leaf = False
            self.end_value(kind, frame.element, element.text, frame.expecting)
            return
        if kind == ITEM:
            self.end_item()
            element.clear()
        elif kind == SOURCE:
            self.insource = False
        elif kind == IMAGE:
            self.leaf = False
            self.inimage = False
        elif kind == TEXTINPUT:
            self.intextinput = False
        elif kind in (CHANNEL, FEED):
            self.infeed = False

    def end_value(
        self, kind: int, element: str, text: str | None, expecting: bool
    ) -> None:
        """The end handlers of link (as text), guid/id, the dates and language."""
        value = self.pop(element, (text or "").strip(), expecting)
        if kind == GUID:
            if self.guidislink and self.context() == _ENTRY:
                self.entry.setdefault("link", value)
        elif kind != LINK and kind != LANGUAGE and self.context() == _ENTRY:
            self.entry[element + "_parsed"] = value  # read when the entry ends

    def end_text(self, kind: int, element: str, value: str, frame: _Frame) -> None:
        """The end handlers of the text elements (title, summary, content...)."""
        if not frame.relevant:
            return
        value = self.pop(element, value, frame.expecting, frame.lang)
        if kind == TITLE:
            if value:
                self.title_depth = self.depth  # media:title leaves it as it was
        elif (
            kind in (CONTENT, CONTENT_HTML, BODY)
            and map_type(frame.ctype) in SUMMARY_TYPES
        ):
            # _end_content: text and HTML content stand in for a missing summary
            where = self.context()
            if where == _ENTRY:
                self.entry.setdefault("summary", value)
            elif where == _FEED_CONTEXT:
                self.feed_summary = True

    def text_of(self, frame: _Frame, element: ET.Element) -> str:
        if frame.ctype != XHTML:
            return (element.text or "").strip()
        pieces: list[str] = []
        if element.text:
            pieces.append(escape(element.text))
        for child in element:
            self.markup(child, pieces, 1)
        if self.version == "atom10":
            strip_wrapping_div(pieces)
        return "".join(pieces).strip()

    def markup(self, element: ET.Element, pieces: list[str], depth: int) -> None:
        if depth > _MAX_MARKUP_DEPTH:
            raise Unsure("markup nested too deep")
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
        if value and element in RELATIVE and (element != "id" or self.guidislink):
            value = self.resolve(value)
        value = repair(value)
        if element == "title" and -1 < self.title_depth <= self.depth:
            return value
        if self.inentry and not self.insource:
            if element == "content":
                return value
            if element == "link":
                if not self.inimage:
                    self.entry["link"] = link_text(value)
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
