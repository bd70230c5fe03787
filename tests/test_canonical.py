"""feeds.canonical.canonical_url: one form for one article."""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.canonical import (
    DEFAULT_TRACKING,
    _general_canonical_url,
    _simple_canonical,
    canonical_url,
    tracking_with,
)


def test_scheme_and_host_are_lowercased() -> None:
    assert canonical_url("HTTPS://News.Delfi.LT/Straipsnis") == (
        "https://news.delfi.lt/Straipsnis"
    )


def test_path_case_is_kept() -> None:
    assert canonical_url("https://x.lt/A/b") == "https://x.lt/A/b"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://x.lt:80/a", "https://x.lt/a"),
        ("https://x.lt:443/a", "https://x.lt/a"),
        ("https://x.lt:8443/a", "https://x.lt:8443/a"),
        ("http://x.lt:443/a", "http://x.lt:443/a"),
    ],
)
def test_default_ports_are_dropped_and_others_kept(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_fragment_is_dropped() -> None:
    assert canonical_url("https://x.lt/a#comments") == "https://x.lt/a"


def test_utm_parameters_are_dropped_in_any_case() -> None:
    url = "https://x.lt/a?utm_source=rss&UTM_Medium=feed&utm_campaign=c&id=5"
    assert canonical_url(url) == "https://x.lt/a?id=5"


@pytest.mark.parametrize(
    "name", ["fbclid", "gclid", "msclkid", "mc_cid", "igshid", "at_medium"]
)
def test_known_tracking_parameters_are_dropped(name: str) -> None:
    assert canonical_url(f"https://x.lt/a?{name}=abc&p=1") == "https://x.lt/a?p=1"


def test_query_parameters_are_sorted() -> None:
    assert canonical_url("https://x.lt/a?b=2&a=1&c=3") == "https://x.lt/a?a=1&b=2&c=3"
    assert canonical_url("https://x.lt/a?a=1&b=2") == canonical_url(
        "https://x.lt/a?b=2&a=1"
    )


def test_blank_parameters_are_kept() -> None:
    assert canonical_url("https://x.lt/a?print") == "https://x.lt/a?print="


def test_only_tracking_parameters_leave_no_query() -> None:
    assert canonical_url("https://x.lt/a?utm_source=rss") == "https://x.lt/a"


def test_empty_path_becomes_slash() -> None:
    assert canonical_url("https://x.lt") == "https://x.lt/"
    assert canonical_url("https://x.lt?id=1") == "https://x.lt/?id=1"


def test_trailing_dot_of_host_is_dropped() -> None:
    assert canonical_url("https://x.lt./a") == "https://x.lt/a"


def test_surrounding_whitespace_is_ignored() -> None:
    assert canonical_url("  https://x.lt/a \n") == "https://x.lt/a"


def test_whitespace_before_a_dropped_fragment_is_dropped_too() -> None:
    assert canonical_url("https://x.lt/a #top") == "https://x.lt/a"


def test_user_info_is_dropped() -> None:
    assert canonical_url("https://user:pw@x.lt/a") == "https://x.lt/a"


def test_ipv6_host_keeps_its_brackets() -> None:
    assert canonical_url("http://[::1]:8080/a") == "http://[::1]:8080/a"
    assert canonical_url("https://[2001:DB8::1]/a") == "https://[2001:db8::1]/a"


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "   ",
        "ftp://x.lt/a",
        "javascript:alert(1)",
        "mailto:a@x.lt",
        "/relative/path",
        "//x.lt/a",
        "https://",
        "https://./a",
        "https://x.lt:99999/a",
        "https://x.lt:port/a",
        "https://[::1/a",
    ],
)
def test_no_canonical_form_without_an_http_url(url: str | None) -> None:
    assert canonical_url(url) is None


def test_non_ascii_paths_and_queries_survive() -> None:
    result = canonical_url("https://x.lt/šaudmenys?q=kasetinių")
    assert result is not None
    assert unquote(urlsplit(result).path) == "/šaudmenys"
    assert parse_qsl(urlsplit(result).query) == [("q", "kasetinių")]


# --- properties -----------------------------------------------------------------

hosts = st.one_of(
    st.from_regex(
        r"[A-Za-z0-9]([A-Za-z0-9-]{0,10}\.){1,3}[A-Za-z]{2,6}\.?", fullmatch=True
    ),
    st.sampled_from(["[::1]", "[2001:db8::1]", "127.0.0.1", "ŽINIOS.lt"]),
)
components = st.text(
    st.characters(blacklist_categories=["Cs"]), max_size=20
)  # anything, including reserved characters and spaces
params = st.lists(
    st.tuples(
        st.one_of(
            st.sampled_from(["utm_source", "UTM_medium", "fbclid", "id", "q", "a"]),
            components,
        ),
        components,
    ),
    max_size=5,
)


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "HtTpS", "ftp"]))
    host = draw(hosts)
    port = draw(st.sampled_from(["", ":80", ":443", ":8080", ":0", ":99999"]))
    path = draw(st.sampled_from(["", "/", "/a/b", "/Š/"])) + draw(components)
    query = "&".join(f"{k}={v}" for k, v in draw(params))
    fragment = draw(st.one_of(st.just(""), components))
    return (
        f"{scheme}://{host}{port}{path}"
        + (f"?{query}" if query else "")
        + (f"#{fragment}" if fragment else "")
    )


@settings(max_examples=100, deadline=None)
@given(st.one_of(urls(), st.text(max_size=40)))
def test_canonical_url_is_idempotent(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once


@settings(max_examples=100, deadline=None)
@given(urls())
def test_canonical_url_is_http_without_fragment_or_tracking(url: str) -> None:
    result = canonical_url(url)
    if result is None:
        return
    parts = urlsplit(result)
    assert parts.scheme in {"http", "https"}
    assert parts.hostname and parts.netloc == parts.netloc.lower()
    assert parts.fragment == ""
    names = [k.lower() for k, _ in parse_qsl(parts.query, keep_blank_values=True)]
    assert not any(n.startswith("utm_") or n == "fbclid" for n in names)


# --- the shortcut for plain links gives what the general path gives ---------------

# Pieces that sit on every edge of the shortcut: what the path tidying reacts
# to (`//`, index pages, AMP), wrapper hosts, tracking and AMP flags, and (in
# half of the examples) what it must refuse: escapes, `+`, spaces, non-ASCII,
# upper case, ports.
PLAIN_HOST = ["www.", "m.", "amp.", "news", "example.", "com", "lt", ".", "-", "0"]
WRAPPERS = ["google.com", "bing.com", "l.facebook.com", "x.cdn.ampproject.org"]
PLAIN_PATH = ["/", "//", "a", "B", "0", "amp", "/amp", ".amp", ".html", "index."]
PLAIN_PATH += ["Default.", "php", "-", "_", "~", ":", "@", "!", "$", "&", "'", "("]
PLAIN_PATH += ["*", "+", ",", ";", "="]
PLAIN_QUERY = ["&", "=", "id", "ID", "1", "a", "utm_source", "fbclid", "amp"]
PLAIN_QUERY += ["outputType", "true", "Amp", "-", ".", "_", "~"]
ODD = ["%", "%7e", "%20", " ", "\t", "+", "š", "?", "#", "Ex", "ž", "[", ":80"]


@st.composite
def plain_urls(draw: st.DrawFn) -> str:
    odd = ODD if draw(st.booleans()) else []

    def joined(pieces: list[str]) -> str:
        return "".join(draw(st.lists(st.sampled_from(pieces + odd), max_size=8)))

    scheme = draw(st.sampled_from(["http", "https"] + (["HTTP", "ftp"] if odd else [])))
    port = draw(st.sampled_from(["", ":443", ":8080"] if odd else [""]))
    query = draw(st.sampled_from(["", "?"])) + joined(PLAIN_QUERY)
    fragment = draw(st.sampled_from(["", "#", "#top", "#?x=1", *odd]))
    space = draw(st.sampled_from(["", " ", "\n"]))
    host = "".join(draw(st.lists(st.sampled_from(PLAIN_HOST), min_size=1, max_size=4)))
    host = draw(st.sampled_from([host, host, host, *WRAPPERS]))
    path = draw(st.sampled_from(["/", "/", ""])) + joined(PLAIN_PATH)
    return f"{space}{scheme}://{host}{port}{path}{query}{fragment}{space}"


@settings(max_examples=500, deadline=None)
@given(plain_urls(), st.sampled_from([(), ("id",), ("src_*", "A")]))
def test_the_shortcut_for_plain_links_agrees_with_the_general_path(
    url: str, extra: tuple[str, ...]
) -> None:
    tracking = tracking_with(extra)
    assert canonical_url(url, tracking=tracking) == _general_canonical_url(
        url, tracking
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://news.example.eu/lt/20250000?utm_source=rss&id=0",
        "http://www.lrt.lt/naujienos/lietuvoje/2/2412345/seimas-pritare#top",
        "https://delfi.lt/news/a-b_c.d~e?b=2&a=1&a=&fbclid=x",
    ],
)
def test_ordinary_links_take_the_shortcut(url: str) -> None:
    shortcut = _simple_canonical(url, DEFAULT_TRACKING)
    assert shortcut is not None
    assert shortcut == _general_canonical_url(url, DEFAULT_TRACKING)


@pytest.mark.parametrize(
    "url",
    [
        "https://a.eu/x?b=c=d",  # urlencode escapes the second `=`
        "https://a.eu/x?b=1&&a=&c",
        "https://a.eu/x?outputType=AMP&amp=true",
        "https://a.eu/news/amp/",
        "https://a.eu/amp/news//index.html",
        "https://a.eu./",
        "https://www.m.a.eu?",
        "https://www.eu/x#a?b",
        "https://google.com/url?url=https://a.eu/x",
        "https://x.cdn.ampproject.org/c/s/a.eu/x",
    ],
)
def test_edges_of_the_shortcut_agree_with_the_general_path(url: str) -> None:
    assert canonical_url(url) == _general_canonical_url(url, DEFAULT_TRACKING)
