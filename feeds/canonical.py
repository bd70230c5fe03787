"""Canonical article URLs, so one article reached through several links is one story.

Lower-case scheme and host, default port, fragment and tracking parameters
dropped, query parameters sorted. The fuller treatment (AMP, mobile hosts,
redirect wrappers) belongs to the stories work.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "ocid",
        "cmpid",
        "igshid",
    }
)
TRACKING_PREFIXES = ("utm_", "at_")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonical_url(url: str | None) -> str | None:
    """The canonical form of an http(s) URL, or None when there is none to make."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    if not host:
        return None
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    if port and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    query = (
        urlencode(
            sorted(
                (k, v)
                for k, v in parse_qsl(parts.query, keep_blank_values=True)
                if not _is_tracking(k)
            )
        )
        if parts.query
        else ""
    )
    # Whitespace before a dropped fragment or query would end the URL.
    path = parts.path.rstrip() or "/"
    return urlunsplit((scheme, host, path, query, ""))
