"""URI resolution exactly as feedparser does it, with shortcuts where its join changes nothing.

Links are stored by value and fingerprint: a join that differed from
feedparser's by a slash would re-alert old stories, so the rules (and their
leaks) are feedparser's own functions, skipped only where the answer is known.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from urllib.parse import urlsplit

from feedparser.urls import _urljoin, make_safe_absolute_uri

# URLs that feedparser's urljoin hands back unchanged whatever the base.
_ABSOLUTE = re.compile(
    r"https?://[A-Za-z0-9.\-_~%!$&'()*+,=:]+"
    r"(?:/[^\x00-\x20\\;?#]*)?(?:\?[^\x00-\x20\\;#]+)?(?:#[^\x00-\x20\\;]+)?"
)
# A scheme, not followed by "//" (whose authority urljoin would check).
_OTHER_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):(?!//)")


@lru_cache(maxsize=256)
def _scheme(base: str) -> str | None:
    """The scheme urljoin sees in a base URI ("" for none); None if it cannot
    parse the base, when urljoin gives back nothing at all."""
    try:
        return urlsplit(base).scheme
    except ValueError:
        return None


def resolve_uri(base: str, uri: str) -> str:
    """feedparser's resolve_uri, skipping urljoin where it changes nothing."""
    base_scheme = _scheme(base)
    if base_scheme is not None:  # else urljoin fails, and gives back ""
        if _ABSOLUTE.fullmatch(uri):
            return uri
        other = _OTHER_SCHEME.match(uri)
        if other and other.group(1).lower() != base_scheme:
            return uri  # urn:, tag:, mailto: against an http base: kept as given
    return str(_urljoin(base, uri))


def join_base(current: str, wanted: str) -> str:
    """The xml:base in force after an element asks for wanted (unknown_starttag)."""
    if current:
        return str(make_safe_absolute_uri(current, wanted) or current)
    return str(_urljoin(current, wanted))


def base_uri(headers: Mapping[str, str]) -> str:
    """The base URI feedparser starts from (api.parse): the Content-Location."""
    location = headers.get("content-location", "")
    return str(
        make_safe_absolute_uri("", location) or make_safe_absolute_uri(location) or ""
    )
