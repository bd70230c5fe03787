"""Canonical URLs on real-looking links: one article, many spellings; many articles, many URLs."""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.canonical import canonical_url, site_of, tracking_with

LRT = "https://lrt.lt/naujienos/lietuvoje/2/2412345/seimas-pritare-pasitraukimui"
DELFI = "https://delfi.lt/news/daily/lithuania/seimas-balsavo-120045678"
GUARDIAN = "https://theguardian.com/world/2026/nov/27/lithuania-cluster-munitions-vote"

VARIANTS = [
    # tracking parameters
    (f"{LRT}?utm_source=rss&utm_medium=feed&utm_campaign=lrt", LRT),
    (f"{LRT}?fbclid=IwAR0abcDEF", LRT),
    (f"{LRT}?gclid=Cj0KCQiA&gbraid=0AAAAA", LRT),
    (f"{DELFI}?mc_cid=4f2a9e&mc_eid=77ab12", DELFI),
    (f"{DELFI}?at_medium=custom7&at_campaign=64", DELFI),
    (f"{GUARDIAN}?CMP=share_btn_tw&ocid=msnews", GUARDIAN),
    (f"{GUARDIAN}?cmpid=rss&xtor=RSS-1", GUARDIAN),
    (f"{GUARDIAN}?msclkid=abc&_ga=2.1234", GUARDIAN),
    (f"{DELFI}?pk_campaign=x&mtm_source=y&ref=rss", DELFI),
    (f"{DELFI}?UTM_Source=Facebook", DELFI),
    # scheme, host, port, fragment
    (LRT.replace("https://lrt.lt", "http://www.lrt.lt"), LRT),
    (LRT.replace("https://lrt.lt", "HTTPS://WWW.LRT.LT"), LRT),
    (LRT.replace("https://lrt.lt", "https://www.lrt.lt:443"), LRT),
    (LRT.replace("https://lrt.lt", "http://lrt.lt:80"), LRT),
    (f"{LRT}#comments", LRT),
    (f"{LRT}?utm_source=tw#top", LRT),
    (LRT.replace("https://lrt.lt", "https://www.lrt.lt."), LRT),
    # mobile and AMP editions
    (LRT.replace("https://lrt.lt", "https://m.lrt.lt"), LRT),
    (DELFI.replace("https://delfi.lt", "https://mobile.delfi.lt"), DELFI),
    (DELFI.replace("https://delfi.lt", "https://amp.delfi.lt"), DELFI),
    (f"{LRT}/amp", LRT),
    (f"{LRT}/amp/", LRT),
    (f"{GUARDIAN}?outputType=amp", GUARDIAN),
    (f"{GUARDIAN}?amp=1", GUARDIAN),
    (f"{GUARDIAN}?amp", GUARDIAN),
    (
        "https://theguardian.com/amp/world/2026/nov/27/lithuania-cluster-munitions-vote",
        GUARDIAN,
    ),
    ("https://rferl.org/a/lithuania-cluster/33212345.amp.html", None),
    (
        "https://www-lrt-lt.cdn.ampproject.org/c/s/www.lrt.lt/naujienos/lietuvoje/2/"
        "2412345/seimas-pritare-pasitraukimui/amp",
        LRT,
    ),
    # trailing slash and index pages
    (f"{LRT}/", LRT),
    (f"{LRT}//", LRT),
    ("https://saeima.lv/lv/aktualitates/33456-zinas/index.html", None),
    ("https://saeima.lv/lv/aktualitates/33456-zinas/index.php", None),
    ("https://saeima.lv/lv/aktualitates/33456-zinas/default.aspx", None),
    ("https://saeima.lv/lv/aktualitates/33456-zinas/", None),
    # percent-encoding
    (
        "https://lrt.lt/naujienos/%c5%a1audmenys",
        "https://lrt.lt/naujienos/%C5%A1audmenys",
    ),
    ("https://lrt.lt/naujienos/šaudmenys", "https://lrt.lt/naujienos/%C5%A1audmenys"),
    ("https://lrt.lt/%7Eedit/a%2Db", "https://lrt.lt/~edit/a-b"),
    # query order and identity parameters
    ("https://sejm.gov.pl/Sejm10.nsf/druk.xsp?nr=1402&utm_source=x", None),
    ("https://kathimerini.gr/index.php?option=com_content&id=5", None),
    ("https://kathimerini.gr/index.php?id=5&option=com_content", None),
    # redirect wrappers and news-search links
    (
        "https://www.google.com/url?rct=j&sa=t&url=https%3A%2F%2Fwww.lrt.lt%2Fnaujienos%2F"
        "lietuvoje%2F2%2F2412345%2Fseimas-pritare-pasitraukimui%3Futm_source%3Dalert"
        "&ct=ga&cd=CAEYACoU&usg=AOvVaw",
        LRT,
    ),
    (f"https://www.google.lt/url?q={quote(DELFI, safe='')}&sa=U", DELFI),
    (
        "https://www.bing.com/news/apiclick.aspx?ref=FexRss&aid=&tid=abc&url="
        + quote(GUARDIAN + "?CMP=rss", safe="")
        + "&c=123&mkt=en-us",
        GUARDIAN,
    ),
    (f"https://l.facebook.com/l.php?u={quote(LRT, safe='')}&h=AT0x", LRT),
    # no target in the wrapper: the wrapper stays
    (
        "https://www.google.com/url?sa=t&q=cluster",
        "https://google.com/url?q=cluster&sa=t",
    ),
    # Google News article links carry no publisher address: kept as they are
    (
        "https://news.google.com/rss/articles/CBMiQWh0dHBzOi8vd3d3?oc=5",
        "https://news.google.com/rss/articles/CBMiQWh0dHBzOi8vd3d3?oc=5",
    ),
]

# Expected None means: the canonical form of the first URL of its group.
GROUPS_EXPECTED = {
    "https://rferl.org/a/lithuania-cluster/33212345.amp.html": (
        "https://rferl.org/a/lithuania-cluster/33212345.html"
    ),
    "https://saeima.lv/lv/aktualitates/33456-zinas/index.html": (
        "https://saeima.lv/lv/aktualitates/33456-zinas"
    ),
    "https://saeima.lv/lv/aktualitates/33456-zinas/index.php": (
        "https://saeima.lv/lv/aktualitates/33456-zinas"
    ),
    "https://saeima.lv/lv/aktualitates/33456-zinas/default.aspx": (
        "https://saeima.lv/lv/aktualitates/33456-zinas"
    ),
    "https://saeima.lv/lv/aktualitates/33456-zinas/": (
        "https://saeima.lv/lv/aktualitates/33456-zinas"
    ),
    "https://sejm.gov.pl/Sejm10.nsf/druk.xsp?nr=1402&utm_source=x": (
        "https://sejm.gov.pl/Sejm10.nsf/druk.xsp?nr=1402"
    ),
    "https://kathimerini.gr/index.php?option=com_content&id=5": (
        "https://kathimerini.gr/?id=5&option=com_content"
    ),
    "https://kathimerini.gr/index.php?id=5&option=com_content": (
        "https://kathimerini.gr/?id=5&option=com_content"
    ),
}


def test_the_variant_table_is_large_enough() -> None:
    assert len(VARIANTS) >= 40


@pytest.mark.parametrize(("variant", "expected"), VARIANTS)
def test_a_variant_maps_to_its_article(variant: str, expected: str | None) -> None:
    assert canonical_url(variant) == (expected or GROUPS_EXPECTED[variant])


def test_extra_tracking_parameters_from_the_config_are_dropped() -> None:
    tracking = tracking_with(["src", "campaign_*"])
    url = f"{LRT}?src=tw&campaign_id=4&campaign_x=1&page=2"
    assert canonical_url(url, tracking=tracking) == f"{LRT}?page=2"
    assert canonical_url(url) == (
        f"{LRT}?campaign_id=4&campaign_x=1&page=2&src=tw"
    )  # the default list alone keeps them


def test_site_of_a_mobile_link_is_the_publisher() -> None:
    assert site_of("https://m.lrt.lt/a?utm_source=x") == "lrt.lt"
    assert (
        site_of(
            "https://www.bing.com/news/apiclick.aspx?url=https%3A%2F%2Fwww.err.ee%2F1"
        )
        == "err.ee"
    )
    assert site_of("not a url") is None


# --- the corpus: distinct articles that must stay distinct ------------------------

CORPUS = [
    LRT,
    "https://www.lrt.lt/naujienos/lietuvoje/2/2412346/seimas-svarstys-mina",
    "https://www.lrt.lt/en/news-in-english/19/2412400/lithuania-leaves-ccm",
    "https://www.lrt.lt/naujienos/pasaulyje/2/2412345/kita-tema",
    DELFI,
    "https://www.delfi.lt/news/daily/lithuania/seimas-balsavo-120045679",
    "https://www.delfi.lt/archive/article.php?id=120045678",
    "https://www.delfi.lt/archive/article.php?id=120045679",
    "https://www.delfi.lt/archive/article.php?id=120045678&page=2",
    "https://www.15min.lt/naujiena/aktualu/lietuva/seimas-kasetiniai-56-2212345",
    "https://news.err.ee/1609512345/estonia-considers-leaving-ottawa-treaty",
    "https://news.err.ee/1609512346/estonia-considers-leaving-ottawa-treaty",
    "https://yle.fi/a/74-20123456",
    "https://yle.fi/a/74-20123457",
    "https://wiadomosci.wp.pl/sejm-ottawa-6981234567890a",
    "https://www.bbc.com/news/world-europe-68123456",
    "https://www.bbc.co.uk/news/articles/c4ng12345o",
    "https://www.bbc.co.uk/news/articles/C4NG12345O",
    GUARDIAN,
    "https://www.theguardian.com/world/2026/nov/28/lithuania-cluster-munitions-vote",
    "https://www.sejm.gov.pl/Sejm10.nsf/druk.xsp?nr=1402",
    "https://www.sejm.gov.pl/Sejm10.nsf/druk.xsp?nr=1403",
    "https://www.kathimerini.gr/index.php?option=com_content&id=5",
    "https://www.kathimerini.gr/index.php?option=com_content&id=6",
    "https://www.rferl.org/a/lithuania-cluster/33212345.html",
    "https://www.rferl.org/a/lithuania-cluster/33212346.html",
    "https://www.hurriyet.com.tr/gundem/ottawa-sozlesmesi-42712345",
    "https://www.digi24.ro/stiri/externe/romania-munitie-cu-dispersie-3012345",
    "https://www.digi24.ro/stiri/externe/romania-munitie-cu-dispersie-3012345?p=2",
    "https://www.lsm.lv/raksts/zinas/latvija/saeima-otavas-konvencija.a512345/",
    "https://www.lsm.lv/raksts/zinas/latvija/saeima-otavas-konvencija.a512346/",
    "https://www.ekathimerini.com/news/1251234/greece-ottawa-treaty/",
    "https://www.ekathimerini.com/news/1251235/greece-ottawa-treaty/",
]

TRACKERS = [
    "utm_source",
    "utm_medium",
    "fbclid",
    "gclid",
    "mc_cid",
    "at_medium",
    "ocid",
]


def _with_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = (
        f"{parts.query}&{name}={quote(value)}"
        if parts.query
        else f"{name}={quote(value)}"
    )
    return urlunsplit(parts._replace(query=query))


def _with_host(url: str, prefix: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.removeprefix("www.")
    return urlunsplit(parts._replace(netloc=prefix + host))


@st.composite
def variant_of(draw: st.DrawFn, url: str) -> str:
    """The article behind `url`, linked some other way a feed might link it."""
    steps = draw(
        st.lists(
            st.sampled_from(
                [
                    "track",
                    "fragment",
                    "case",
                    "host",
                    "port",
                    "http",
                    "amp",
                    "slash",
                    "shuffle",
                    "google",
                    "bing",
                ]
            ),
            max_size=6,
        )
    )
    for step in steps:
        parts = urlsplit(url)
        if step == "track":
            url = _with_param(
                url, draw(st.sampled_from(TRACKERS)), draw(st.text(max_size=8))
            )
        elif step == "fragment" and "#" not in url:
            url += "#" + draw(st.from_regex(r"[a-z0-9-]{0,10}", fullmatch=True))
        elif step == "case":
            url = urlunsplit(
                parts._replace(scheme=parts.scheme.upper(), netloc=parts.netloc.upper())
            )
        elif step == "host" and ":" not in parts.netloc:
            url = _with_host(
                url, draw(st.sampled_from(["", "www.", "m.", "mobile.", "amp."]))
            )
        elif step == "port" and ":" not in parts.netloc:
            port = 443 if parts.scheme.lower() == "https" else 80
            url = urlunsplit(parts._replace(netloc=f"{parts.netloc}:{port}"))
        elif step == "http" and ":" not in parts.netloc:
            url = urlunsplit(parts._replace(scheme="http"))
        elif step == "amp" and not parts.query:
            url = urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/amp"))
        elif step == "amp":
            url = _with_param(url, "outputType", "amp")
        elif step == "slash" and not parts.path.endswith("/"):
            url = urlunsplit(parts._replace(path=parts.path + "/"))
        elif step == "shuffle" and parts.query:
            pairs = parts.query.split("&")
            url = urlunsplit(
                parts._replace(query="&".join(draw(st.permutations(pairs))))
            )
        elif step == "google" and "#" not in url:
            url = f"https://www.google.com/url?sa=t&url={quote(url, safe='')}&usg=AOv"
        elif step == "bing" and "#" not in url:
            url = f"https://www.bing.com/news/apiclick.aspx?ref=FexRss&url={quote(url, safe='')}&c=1"
    return url


def test_no_two_articles_of_the_corpus_share_a_canonical_url() -> None:
    canonical = [canonical_url(url) for url in CORPUS]
    assert None not in canonical
    assert len(set(canonical)) == len(CORPUS)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(CORPUS).flatmap(
        lambda url: st.tuples(st.just(url), variant_of(url))
    )
)
def test_any_variant_of_an_article_maps_to_that_article_alone(
    pair: tuple[str, str],
) -> None:
    article, variant = pair
    canonical = canonical_url(variant)
    assert canonical == canonical_url(article)
    others = {canonical_url(url) for url in CORPUS if url != article}
    assert canonical not in others


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CORPUS).flatmap(variant_of))
def test_canonicalization_of_variants_is_idempotent(variant: str) -> None:
    once = canonical_url(variant)
    assert canonical_url(once) == once
