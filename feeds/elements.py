"""feedparser's element vocabulary: the names, kinds and content types the replay reads.

Namespaces come from feedparser's own table (so prefixes match its keys), and
`KINDS` lists the handler names (prefix_local, lower case) whose handlers
touch a field `feeds.parse` uses; every other element is `OTHER`.
"""

from __future__ import annotations

from typing import Final

from feedparser.mixin import _FeedParserMixin

PREFIXES: Final[dict[str, str]] = {
    uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()
}
END_HANDLERS: Final = frozenset(
    name[5:].lower() for name in dir(_FeedParserMixin) if name.startswith("_end_")
)
XML_NS: Final = "http://www.w3.org/XML/1998/namespace"
XLINK_NS: Final = "http://www.w3.org/1999/xlink"
XHTML: Final = "application/xhtml+xml"
HTML_TYPES: Final = frozenset({"text/html", XHTML})
SUMMARY_TYPES: Final = HTML_TYPES | {"text/plain"}
RELATIVE: Final = frozenset(_FeedParserMixin.can_be_relative_uri)
SCOPED: Final = frozenset({"xml:base", "base", "xml:lang", "lang"})

(
    OTHER,
    TITLE,
    MEDIA_TITLE,
    DESCRIPTION,
    ABSTRACT,
    SUMMARY,
    SUBTITLE,
    CONTENT,
    CONTENT_HTML,
    BODY,
    OPAQUE,
    LINK,
    GUID,
    PUBLISHED,
    UPDATED,
    CREATED,
    LANGUAGE,
    ITEM,
    SOURCE,
    IMAGE,
    TEXTINPUT,
    CHANNEL,
    FEED,
    RSS,
) = range(24)

# feedparser's handler names (prefix_local, lower case) that touch what we read.
# Every other handler only fills keys feeds.parse never looks at.
KINDS: Final = {
    "title": TITLE,
    "dc_title": TITLE,
    "media_title": MEDIA_TITLE,
    "description": DESCRIPTION,
    "dc_description": DESCRIPTION,
    "media_description": DESCRIPTION,
    "abstract": ABSTRACT,
    "summary": SUMMARY,
    "itunes_summary": SUMMARY,
    "subtitle": SUBTITLE,
    "tagline": SUBTITLE,
    "itunes_subtitle": SUBTITLE,
    "content": CONTENT,
    "content_encoded": CONTENT_HTML,
    "fullitem": CONTENT_HTML,
    "body": BODY,
    "xhtml_body": BODY,
    "rights": OPAQUE,
    "copyright": OPAQUE,
    "dc_rights": OPAQUE,
    "info": OPAQUE,
    "feedburner_browserfriendly": OPAQUE,
    "link": LINK,
    "guid": GUID,
    "id": GUID,
    "published": PUBLISHED,
    "issued": PUBLISHED,
    "pubdate": PUBLISHED,
    "dcterms_issued": PUBLISHED,
    "updated": UPDATED,
    "modified": UPDATED,
    "lastbuilddate": UPDATED,
    "dc_date": UPDATED,
    "dcterms_modified": UPDATED,
    "created": CREATED,
    "dcterms_created": CREATED,
    "language": LANGUAGE,
    "dc_language": LANGUAGE,
    "item": ITEM,
    "entry": ITEM,
    "source": SOURCE,
    "image": IMAGE,
    "textinput": TEXTINPUT,
    "channel": CHANNEL,
    "feed": FEED,
    "rss": RSS,
}
DATE_KEYS: Final = {PUBLISHED: "published", UPDATED: "updated", CREATED: "created"}
VALUE_KINDS: Final = frozenset({LINK, GUID, LANGUAGE, *DATE_KEYS})
ROOTS: Final = frozenset({"rss", "feed", "rdf_rdf"})
RSS_VERSIONS: Final = {
    "0.91": "rss091u",
    "0.92": "rss092",
    "0.93": "rss093",
    "0.94": "rss094",
}
ATOM_VERSIONS: Final = {"0.1": "atom01", "0.2": "atom02", "0.3": "atom03"}


def map_type(value: str) -> str:
    value = value.lower()
    if value in ("text", "plain"):
        return "text/plain"
    if value == "html":
        return "text/html"
    if value == "xhtml":
        return XHTML
    return value
