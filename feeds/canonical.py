"""Canonical article URLs, so one article reached through several links is one story.

The canonical form is a key for grouping, never shown or fetched, so it may
drop whatever does not name the article:

* scheme and host in lower case, `http` on its default port becomes `https`,
  the default port, user info and fragment dropped;
* the host's `www.`, `m.`, `mobile.` and `amp.` prefixes dropped (mobile and
  AMP editions live there);
* redirect wrappers unwrapped when the target is in the URL: Google's
  `google.<tld>/url?…&url=` (or `q=`), Bing News' `apiclick.aspx?…&url=`,
  Facebook's `l.php?u=` and the AMP cache `*.cdn.ampproject.org/c/s/…`;
* AMP paths mapped to the article: a trailing `/amp` segment, a leading
  `/amp/` segment, `.amp` before the extension, and `?outputType=amp`,
  `?amp=1`, `?output=amp`;
* `index.html`, `index.php`, `default.aspx` and the like, duplicate slashes
  and a trailing slash dropped;
* percent-escapes in one case, unreserved characters unescaped;
* tracking parameters dropped (`TRACKING_PARAMS`, any name starting with one
  of `TRACKING_PREFIXES`, plus what `[stories] tracking_params` adds) and the
  rest sorted.

Google News article links (`news.google.com/rss/articles/…`) stay as they
are: since 2024 they no longer contain the publisher's address.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

# Parameters that say where a reader came from, never which article it is.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",  # Facebook
        "gclid",  # Google Ads
        "dclid",  # Google Display
        "gbraid",
        "wbraid",
        "msclkid",  # Microsoft Ads
        "yclid",  # Yandex
        "twclid",  # X / Twitter
        "igshid",  # Instagram
        "mc_cid",  # Mailchimp
        "mc_eid",
        "ocid",  # MSN
        "cmpid",  # campaign ids of many publishers
        "cmp",
        "_ga",
        "_gl",
        "_hsenc",  # HubSpot
        "_hsmi",
        "mkt_tok",  # Marketo
        "oly_enc_id",
        "oly_anon_id",
        "vero_id",
        "rss",
        "rss_id",
        "rssfeed",
        "ref",
        "ref_src",
        "referrer",
        "smid",  # NYT share ids
        "s_cid",
        "soc_src",
        "soc_trk",
        "xtor",  # AT Internet
    }
)
TRACKING_PREFIXES = ("utm_", "at_", "pk_", "mtm_", "hsa_", "itm_", "fb_")
_AMP_FLAGS = {"outputtype": {"amp"}, "output": {"amp"}, "amp": {"", "1", "true"}}
_HOST_PREFIXES = ("www.", "m.", "mobile.", "amp.")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_INDEX_PAGE = re.compile(r"/(?:index|default)\.(?:html?|php|aspx?|jsp|shtml)$", re.I)
_AMP_SUFFIX = re.compile(r"\.amp(\.html?)?$", re.I)
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_UNRESERVED = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
)


@dataclass(frozen=True)
class Tracking:
    """Which query parameters are tracking: exact names and name prefixes (lower case)."""

    names: frozenset[str] = TRACKING_PARAMS
    prefixes: tuple[str, ...] = TRACKING_PREFIXES

    def __contains__(self, name: object) -> bool:
        lowered = str(name).lower()
        return lowered in self.names or lowered.startswith(self.prefixes)


DEFAULT_TRACKING = Tracking()


@lru_cache(maxsize=16)
def _tracking(extra: tuple[str, ...]) -> Tracking:
    names = {e.lower() for e in extra if not e.endswith("*")}
    prefixes = tuple(e[:-1].lower() for e in extra if e.endswith("*") and e != "*")
    return Tracking(TRACKING_PARAMS | names, TRACKING_PREFIXES + prefixes)


def tracking_with(extra: Iterable[str]) -> Tracking:
    """The default list plus `extra` names; a trailing `*` makes a prefix (`src_*`)."""
    return _tracking(tuple(sorted(set(extra))))


def canonical_url(
    url: str | None, *, tracking: Tracking = DEFAULT_TRACKING
) -> str | None:
    """The canonical form of an http(s) URL, or None when there is none to make."""
    if not url:
        return None
    # Most feed links are plain: a string test or two instead of urlsplit,
    # quote and a dozen regexes (~5 us instead of ~35 us a link).
    simple = _simple_canonical(url, tracking)
    if simple is not None:
        return simple
    return _general_canonical_url(url, tracking)


def _general_canonical_url(url: str, tracking: Tracking) -> str | None:
    """canonical_url without the shortcut: the definition the shortcut must match."""
    canonical = _canonical(url, tracking)
    # A wrapper's target is shorter than the wrapper, so this ends.
    while canonical is not None:
        target = _unwrapped(canonical)
        unwrapped = _canonical(target, tracking) if target else None
        if unwrapped is None:
            return canonical
        canonical = unwrapped
    return None


def site_of(url: str | None) -> str | None:
    """The host of a URL's canonical form (`m.lrt.lt` -> `lrt.lt`), or None."""
    canonical = canonical_url(url)
    return urlsplit(canonical).hostname if canonical else None


def _may_be_wrapper(canonical: str) -> bool:
    """False when _unwrapped surely finds no wrapper: every host it knows
    has one of these in its name."""
    return (
        "google." in canonical
        or "bing.com" in canonical
        or "facebook.com" in canonical
        or "ampproject.org" in canonical
    )


def _unwrapped(canonical: str) -> str | None:
    """The target a redirect wrapper carries, or None if this is no wrapper."""
    parts = urlsplit(canonical)
    host, path = parts.hostname or "", parts.path
    names: tuple[str, ...] = ()
    if re.fullmatch(r"google\.[a-z.]{2,6}", host) and path == "/url":
        names = ("url", "q")
    elif host == "bing.com" and path.lower().endswith("/apiclick.aspx"):
        names = ("url",)
    elif host in ("l.facebook.com", "lm.facebook.com") and path == "/l.php":
        names = ("u",)
    elif host.endswith(".cdn.ampproject.org"):
        # /c/s/HOST/PATH is https, /c/HOST/PATH http; /v/ is the viewer.
        found = re.fullmatch(r"/[cv]/(s/)?([^/]+\.[^/]+)(/.*)?", path)
        if not found:
            return None
        scheme = "https" if found.group(1) else "http"
        query = f"?{parts.query}" if parts.query else ""
        return f"{scheme}://{found.group(2)}{found.group(3) or '/'}{query}"
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    for name in names:
        value = params.get(name, "").strip()
        if value.lower().startswith(("http://", "https://")):
            return value
    return None


def _canonical(url: str, tracking: Tracking) -> str | None:
    try:
        parts = urlsplit(url.strip())
        port = parts.port or None  # port 0 is no port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = _host(parts.hostname)
    if not host:
        return None
    if port == _DEFAULT_PORTS[scheme]:
        port = None
    if scheme == "http" and port is None:
        scheme = "https"  # the same article, whichever scheme the feed linked
    if port:
        host = f"{host}:{port}"
    query = _query(parts.query, tracking) if parts.query else ""
    # Whitespace before a dropped fragment or query would end the URL.
    return urlunsplit((scheme, host, _path(parts.path.rstrip()), query, ""))


def _host(hostname: str) -> str:
    host = hostname.lower().rstrip(".")
    if ":" in host:  # an IPv6 literal keeps its brackets
        return f"[{host}]"
    while host.startswith(_HOST_PREFIXES):
        rest = host.split(".", 1)[1]
        if "." not in rest:
            break
        host = rest
    return host


def _escape(match: re.Match[str]) -> str:
    char = chr(int(match.group(0)[1:], 16))
    return char if char in _UNRESERVED else match.group(0).upper()


def _path(path: str) -> str:
    # Encode what needs it (spaces, non-ASCII), keep existing escapes, then
    # write every escape one way: `%7e` and `~`, `%c5%a1` and `š` agree.
    path = quote(path, safe="/%:@!$&'()*+,;=-._~")
    return _tidy_path(_ESCAPE.sub(_escape, path))


def _tidy_path(path: str) -> str:
    """Duplicate and trailing slashes, index pages and AMP paths dropped."""
    while True:
        before = path
        path = re.sub(r"/{2,}", "/", path)
        path = _INDEX_PAGE.sub("/", path)
        path = _AMP_SUFFIX.sub(r"\1", path)
        if path.lower().startswith("/amp/"):
            path = path[4:]
        if path.lower().endswith("/amp") or path.lower().endswith("/amp/"):
            path = path[: path.lower().rindex("/amp")] or "/"
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/") or "/"
        if path == before:
            return path or "/"


# A URL that needs none of the general path's care: lower-case http(s), a
# host of plain letters, digits, dots and dashes (no user, no port), a path of
# characters that quote() keeps and no escapes, a query of characters that
# parse_qsl and urlencode keep as they are, any fragment (dropped).
_SIMPLE = re.compile(
    r"https?://([a-z0-9.-]+)([A-Za-z0-9/:@!$&'()*+,;=._~-]*)"
    r"(?:\?([A-Za-z0-9&=._~-]*))?(?:#[!-~]*)?"
)


def _simple_canonical(url: str, tracking: Tracking) -> str | None:
    """canonical_url of a plain URL, or None when the general path must decide.

    Exactly what the general path gives for such a URL; tests/test_canonical.py
    compares the two on generated URLs.
    """
    match = _SIMPLE.fullmatch(url.strip())
    if match is None:
        return None
    hostname, path, query = match.groups()
    if path and path[0] != "/":
        return None
    host = _host(hostname)
    if not host:
        return None
    lowered = path.lower()
    if (
        "//" in path
        or "amp" in lowered
        or "index." in lowered
        or "default." in lowered
        or path.endswith("/")
    ):
        path = _tidy_path(path)
    canonical = f"https://{host}{path or '/'}"
    if query:
        kept = _simple_query(query, tracking)
        if kept is None:
            return None
        if kept:
            canonical = f"{canonical}?{kept}"
    if _may_be_wrapper(canonical):
        return None
    return canonical


def _simple_query(query: str, tracking: Tracking) -> str | None:
    """_query of a query that needs no unquoting nor quoting; None if an `=` is in a value."""
    kept = []
    for piece in query.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        if "=" in value:
            return None  # urlencode would escape it
        if name in tracking:
            continue
        if value.lower() in _AMP_FLAGS.get(name.lower(), ()):
            continue
        kept.append((name, value))
    kept.sort()
    return "&".join(f"{name}={value}" for name, value in kept)


def _query(query: str, tracking: Tracking) -> str:
    kept = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in tracking:
            continue
        if value.lower() in _AMP_FLAGS.get(name.lower(), ()):
            continue
        kept.append((name, value))
    return urlencode(sorted(kept))
