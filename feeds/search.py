"""News-search feeds: RSS addresses built from a query, a language and a country.

Neither Google nor Bing documents these RSS endpoints; the formats below are
the ones public clients have used for years, with the sources noted at each.
The responses are ordinary RSS, read by `feeds.parse.parse_feed`.

Item links point at the search engine, not the article:
  * Bing wraps the publisher URL: `bing.com/news/apiclick.aspx?...&url=<URL>`,
    so `publisher_url` can unwrap it offline;
  * Google News links (`news.google.com/rss/articles/...`) no longer contain
    the publisher URL since July 2024 (engineering notes §3.7: /work/shared/notes/engineering.md);
    resolving them needs Google's undocumented endpoints, so we do not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Literal
from urllib.parse import parse_qsl, quote, urlsplit

from feeds.parse import MAX_URL

GOOGLE_NEWS_SEARCH = "https://news.google.com/rss/search"
BING_NEWS_SEARCH = "https://www.bing.com/news/search"

# The national language of each watched state (ISO 3166 code = Google's `gl`).
STATE_LANGUAGES: dict[str, str] = {
    "EE": "et",
    "FI": "fi",
    "GR": "el",
    "LT": "lt",
    "LV": "lv",
    "PL": "pl",
    "RO": "ro",
    "TR": "tr",
}
# Bing News serves only the markets it lists; of the eight states these three
# (https://learn.microsoft.com/en-us/bing/search-apis/bing-news-search/reference/market-codes).
BING_MARKETS: dict[str, str] = {"FI": "fi-FI", "PL": "pl-PL", "TR": "tr-TR"}

_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})?")
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_MAX_QUERY = 1000  # characters; long OR lists make URLs that servers refuse
_NAME_LENGTH = 80


def _clean_query(query: str) -> str:
    cleaned = " ".join(query.split())
    if not cleaned:
        raise ValueError("the search query is empty")
    if len(cleaned) > _MAX_QUERY:
        raise ValueError(f"the search query is longer than {_MAX_QUERY} characters")
    return cleaned


def _language_tag(language: str) -> str:
    """`en-us` -> `en-US`, `LT` -> `lt`; ValueError if it is no language tag."""
    if not _LANGUAGE.fullmatch(language):
        raise ValueError(
            f"not a language code: {language!r} (expected e.g. 'lt' or 'en-US')"
        )
    base, _, region = language.partition("-")
    return f"{base.lower()}-{region.upper()}" if region else base.lower()


def google_news_url(query: str, *, language: str, country: str) -> str:
    """A Google News RSS search feed for `query` in one language edition.

    Format (no official documentation exists; see the reverse-engineered
    reference https://newscatcherapi.com/blog/google-news-rss-search-parameters-the-missing-documentaiton):
    `https://news.google.com/rss/search?q=QUERY&hl=LANG&gl=COUNTRY&ceid=COUNTRY:LANG`,
    where `hl` is the interface language (`lt`, `en-US`), `gl` the country and
    `ceid` the edition, `COUNTRY:` + the bare language. The three must agree.
    Query syntax is Google's: "exact phrase", OR, -exclude, when:7d.
    """
    hl = _language_tag(language)
    if not _COUNTRY.fullmatch(country):
        raise ValueError(f"not a two-letter country code: {country!r}")
    gl = country.upper()
    ceid = f"{gl}:{hl.partition('-')[0]}"
    # Percent-encode everything in the query (quotes, spaces as %20, non-ASCII
    # as UTF-8) so that `+`, `&` and `#` in a query cannot change its meaning;
    # the ceid colon stays literal, as in Google's own links.
    return (
        f"{GOOGLE_NEWS_SEARCH}?q={quote(_clean_query(query), safe='')}"
        f"&hl={quote(hl, safe='')}&gl={gl}&ceid={quote(ceid, safe=':')}"
    )


def bing_news_url(query: str, *, market: str) -> str:
    """A Bing News RSS search feed for `query` in one market (e.g. `pl-PL`).

    Format as used by public clients: `https://www.bing.com/news/search?q=QUERY&format=rss&mkt=MARKET`
    (`mkt` as in the Bing News Search API, which lists the valid markets:
    https://learn.microsoft.com/en-us/bing/search-apis/bing-news-search/reference/query-parameters).
    """
    tag = _language_tag(market)
    if "-" not in tag:
        raise ValueError(f"not a market code: {market!r} (expected e.g. 'pl-PL')")
    return (
        f"{BING_NEWS_SEARCH}?q={quote(_clean_query(query), safe='')}"
        f"&format=rss&mkt={quote(tag, safe='')}"
    )


def any_of(phrases: Iterable[str]) -> str:
    """One query matching any phrase: `"konwencja ottawska" OR Ottawa`.

    Multi-word phrases are quoted so they match as phrases; double quotes
    inside a phrase are dropped (neither engine has an escape for them).
    """
    parts = []
    for phrase in phrases:
        words = phrase.replace('"', " ").split()
        if words:
            text = " ".join(words)
            parts.append(f'"{text}"' if len(words) > 1 else text)
    if not parts:
        raise ValueError("no phrases to search for")
    return " OR ".join(parts)


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _is_host(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def publisher_url(entry_link: str, source_href: str | None = None) -> str | None:
    """The article's own URL behind a news-search item link, or None.

    * Bing `.../news/apiclick.aspx?...&url=<publisher URL>`: the `url` value,
      if it is an http(s) URL (a wrapper without one gives None).
    * Google News `news.google.com/...` links: None. `source_href` (the item's
      `<source url=...>`) is the outlet's home page, not the article, so it
      is deliberately not returned.
    * Any other http(s) link is already the publisher's: returned as it is.
    """
    del source_href  # accepted for a uniform call; see the docstring
    link = entry_link.strip()
    host = _host(link)
    if not host:
        return None
    if _is_host(host, "news.google.com"):
        return None
    if _is_host(host, "bing.com"):
        parts = urlsplit(link)
        if not parts.path.lower().endswith("/apiclick.aspx"):
            return None
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            if name.lower() == "url":
                return _web_url(value.strip())
        return None
    return _web_url(link)


def _web_url(value: str) -> str | None:
    if len(value) > MAX_URL:
        return None
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not _host(value):
        return None
    return value


Provider = Literal["google", "bing"]


def search_feeds(
    state: str, language: str, queries: Iterable[str], *, provider: Provider = "google"
) -> Iterator[tuple[str, str]]:
    """`(name, url)` per query, for generating `[[feeds]]` entries.

    `language` is the state's national language (e.g. `lt` for LT) or `en`.
    English uses Google's US English edition (`hl=en-US&gl=US&ceid=US:en`):
    English coverage is global, and not every country has an English edition.
    Bing has only the fi-FI, pl-PL and tr-TR markets among the eight states,
    and en-US for English.
    """
    code = state.upper()
    if code not in STATE_LANGUAGES:
        raise ValueError(
            f"unknown state {state!r}; expected one of {sorted(STATE_LANGUAGES)}"
        )
    lang = language.lower()
    if lang not in (STATE_LANGUAGES[code], "en"):
        raise ValueError(
            f"{code} feeds are in {STATE_LANGUAGES[code]!r} or 'en', not {language!r}"
        )
    label = "Google News" if provider == "google" else "Bing News"
    for number, query in enumerate(queries, start=1):
        if provider == "google":
            if lang == "en":
                url = google_news_url(query, language="en-US", country="US")
            else:
                url = google_news_url(query, language=lang, country=code)
        else:
            market = "en-US" if lang == "en" else BING_MARKETS.get(code)
            if market is None:
                raise ValueError(f"Bing News has no market for {code} in {lang!r}")
            url = bing_news_url(query, market=market)
        # The number keeps names unique when long queries are cut short.
        yield (
            _feed_name(f"{label} {code} {lang} {number}: {' '.join(query.split())}"),
            url,
        )


def _feed_name(name: str) -> str:
    # Quotes are query syntax; in a display name they only need escaping.
    name = name.replace('"', "")
    return (
        name if len(name) <= _NAME_LENGTH else name[: _NAME_LENGTH - 1].rstrip() + "…"
    )
