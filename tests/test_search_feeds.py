"""feeds.search: news-search feed URLs, query building and link unwrapping."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from feeds.search import (
    BING_MARKETS,
    STATE_LANGUAGES,
    any_of,
    bing_news_url,
    google_news_url,
    publisher_url,
    search_feeds,
)


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


# -- Google News --------------------------------------------------------------


def test_google_news_url_shape() -> None:
    url = google_news_url("Otavos konvencija", language="lt", country="LT")
    assert url == (
        "https://news.google.com/rss/search?q=Otavos%20konvencija&hl=lt&gl=LT&ceid=LT:lt"
    )


def test_google_news_url_normalizes_codes() -> None:
    url = google_news_url("Ottawa treaty", language="EN-us", country="us")
    assert url.endswith("&hl=en-US&gl=US&ceid=US:en")


@pytest.mark.parametrize(
    ("query", "language", "country", "encoded"),
    [
        # Lithuanian: UTF-8 percent-encoding of š, ė, ų.
        (
            "pasitraukimas iš Otavos konvencijos",
            "lt",
            "LT",
            "pasitraukimas%20i%C5%A1%20Otavos%20konvencijos",
        ),
        # Greek, all non-ASCII.
        (
            "Σύμβαση της Οτάβα",
            "el",
            "GR",
            "%CE%A3%CF%8D%CE%BC%CE%B2%CE%B1%CF%83%CE%B7%20%CF%84%CE%B7%CF%82%20%CE%9F%CF%84%CE%AC%CE%B2%CE%B1",
        ),
        # Turkish dotless ı and dotted İ, the apostrophe before a suffix.
        (
            "Ottawa Sözleşmesi'nden çekilme İ ı",
            "tr",
            "TR",
            "Ottawa%20S%C3%B6zle%C5%9Fmesi%27nden%20%C3%A7ekilme%20%C4%B0%20%C4%B1",
        ),
        # Quotes and OR stay operators after decoding; + & # = cannot leak.
        (
            '"konwencja ottawska" OR a+b&c=d#e',
            "pl",
            "PL",
            "%22konwencja%20ottawska%22%20OR%20a%2Bb%26c%3Dd%23e",
        ),
    ],
)
def test_google_news_url_encodes_queries(
    query: str, language: str, country: str, encoded: str
) -> None:
    url = google_news_url(query, language=language, country=country)
    assert f"?q={encoded}&" in url
    assert query_of(url)["q"] == [query]
    assert url.isascii()


def test_google_news_url_collapses_whitespace() -> None:
    url = google_news_url("  Ottawan \n sopimus  ", language="fi", country="FI")
    assert query_of(url)["q"] == ["Ottawan sopimus"]


@pytest.mark.parametrize(
    ("query", "language", "country", "problem"),
    [
        ("", "lt", "LT", "the search query is empty"),
        ("   ", "lt", "LT", "the search query is empty"),
        ("x" * 1001, "lt", "LT", "longer than 1000"),
        ("x", "lithuanian", "LT", "not a language code"),
        ("x", "lt&gl=US", "LT", "not a language code"),
        ("x", "lt", "LTU", "not a two-letter country code"),
        ("x", "lt", "L1", "not a two-letter country code"),
        ("x", "lt\n", "LT", "not a language code"),
        ("x", "lt", "LT\n", "not a two-letter country code"),
    ],
)
def test_google_news_url_rejects_bad_input(
    query: str, language: str, country: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        google_news_url(query, language=language, country=country)


# -- Bing News ----------------------------------------------------------------


def test_bing_news_url_shape() -> None:
    url = bing_news_url("konwencja ottawska", market="pl-pl")
    assert (
        url
        == "https://www.bing.com/news/search?q=konwencja%20ottawska&format=rss&mkt=pl-PL"
    )


def test_bing_news_url_encodes_non_ascii() -> None:
    url = bing_news_url("Ottawan sopimuksesta irtautuminen ä ö", market="fi-FI")
    assert query_of(url)["q"] == ["Ottawan sopimuksesta irtautuminen ä ö"]
    assert query_of(url)["format"] == ["rss"]


@pytest.mark.parametrize("market", ["pl", "polish", "pl_PL", ""])
def test_bing_news_url_rejects_bad_markets(market: str) -> None:
    with pytest.raises(ValueError):
        bing_news_url("x", market=market)


# -- query building -----------------------------------------------------------


def test_any_of_quotes_phrases_and_joins_with_or() -> None:
    assert any_of(["konwencja ottawska", "Ottawa", " traktat   ottawski "]) == (
        '"konwencja ottawska" OR Ottawa OR "traktat ottawski"'
    )


def test_any_of_drops_inner_quotes_and_empty_phrases() -> None:
    assert any_of(['say "no"', "", "  "]) == '"say no"'
    with pytest.raises(ValueError):
        any_of(["", " "])


# -- unwrapping ---------------------------------------------------------------


def test_bing_apiclick_is_unwrapped() -> None:
    link = (
        "http://www.bing.com/news/apiclick.aspx?ref=FexRss&aid=&tid=ABC"
        "&url=https%3a%2f%2fwww.delfi.lt%2fnews%2fotavos-konvencija%3fid%3d5%26p%3d2&c=123&mkt=lt-lt"
    )
    assert (
        publisher_url(link, None)
        == "https://www.delfi.lt/news/otavos-konvencija?id=5&p=2"
    )


def test_bing_apiclick_without_a_usable_target() -> None:
    assert (
        publisher_url("https://www.bing.com/news/apiclick.aspx?ref=FexRss", None)
        is None
    )
    assert (
        publisher_url(
            "https://www.bing.com/news/apiclick.aspx?url=javascript%3aalert(1)"
        )
        is None
    )
    assert (
        publisher_url("https://www.bing.com/news/apiclick.aspx?url=%2Frelative") is None
    )
    # Other Bing redirects are not unwrapped.
    assert (
        publisher_url("https://www.bing.com/ck/a?u=a1aHR0cHM6Ly9leGFtcGxlLmNvbQ")
        is None
    )


def test_google_news_links_give_none() -> None:
    link = "https://news.google.com/rss/articles/CBMiAU_yqLtest?oc=5"
    assert publisher_url(link, "https://www.lrt.lt") is None
    assert publisher_url(link, None) is None


def test_direct_links_are_the_publisher() -> None:
    link = "https://www.err.ee/1609000000/ottawa-konventsioon"
    assert publisher_url(link, None) == link
    assert publisher_url("  " + link + " ", "https://www.err.ee") == link


@pytest.mark.parametrize("link", ["", "not a url", "ftp://example.com/x", "https://"])
def test_unusable_links_give_none(link: str) -> None:
    assert publisher_url(link, None) is None


# -- config generation --------------------------------------------------------


def test_search_feeds_national_language() -> None:
    pairs = list(
        search_feeds("lt", "lt", ['"Otavos konvencij*"', "kasetiniai šaudmenys"])
    )
    assert pairs[0] == (
        "Google News LT lt 1: Otavos konvencij*",
        "https://news.google.com/rss/search?q=%22Otavos%20konvencij%2A%22&hl=lt&gl=LT&ceid=LT:lt",
    )
    assert query_of(pairs[1][1])["q"] == ["kasetiniai šaudmenys"]
    assert len({url for _, url in pairs}) == 2


def test_search_feeds_english_uses_the_us_edition() -> None:
    ((name, url),) = search_feeds("GR", "en", ["Greece Ottawa treaty withdrawal"])
    assert name == "Google News GR en 1: Greece Ottawa treaty withdrawal"
    assert url.endswith("&hl=en-US&gl=US&ceid=US:en")


def test_search_feeds_bing_markets() -> None:
    ((_, url),) = search_feeds("TR", "tr", ["Ottawa Sözleşmesi"], provider="bing")
    assert url.endswith("&format=rss&mkt=tr-TR")
    with pytest.raises(ValueError, match="no market for LT"):
        list(search_feeds("LT", "lt", ["x"], provider="bing"))


def test_search_feeds_long_names_are_cut() -> None:
    ((name, _),) = search_feeds("PL", "pl", [any_of(["konwencja ottawska"] * 20)])
    assert len(name) == 80 and name.endswith("…")


@pytest.mark.parametrize(
    ("state", "language", "problem"),
    [("DE", "de", "unknown state"), ("LT", "lv", "LT feeds are in 'lt' or 'en'")],
)
def test_search_feeds_rejects_bad_pairs(
    state: str, language: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        list(search_feeds(state, language, ["x"]))


def test_every_state_has_a_national_edition() -> None:
    assert set(STATE_LANGUAGES) == {"EE", "FI", "GR", "LT", "LV", "PL", "RO", "TR"}
    assert set(BING_MARKETS) <= set(STATE_LANGUAGES)
    for state, language in STATE_LANGUAGES.items():
        ((_, url),) = search_feeds(state, language, ["Ottawa"])
        assert url.endswith(f"&hl={language}&gl={state}&ceid={state}:{language}")
