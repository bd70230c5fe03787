"""feeds.parse.parse_feed: RSS, Atom, RDF and JSON Feed bytes in any charset to clean entries.

Every test runs twice: once as production runs (the fast XML path, with
feedparser for what it declines) and once with feedparser alone, so both
readers are held to the same behaviour.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from feedparser.datetimes import _parse_date as feedparser_date
from feedparser.urls import _urljoin as feedparser_urljoin
from hypothesis import given, settings
from hypothesis import strategies as st

import feeds.parse
from feeds.dates import parse_date
from feeds.entry import Entry, ParsedFeed
from feeds.parse import ParseError, parse_feed
from feeds.xmlfeed import parse_xml

FETCHED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["fast", "feedparser"], autouse=True)
def reader(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Run the test with the fast path on (production) and off (feedparser alone)."""
    monkeypatch.setattr(feeds.parse, "FAST_PATH", request.param == "fast")
    yield request.param


PL_TITLE = "Łotwa i Polska wypowiedzą konwencję ottawską: źdźbło żółć"
EL_TITLE = "Η Ελλάδα αποχωρεί από τη Σύμβαση για τις βόμβες διασποράς"
TR_TITLE = "Türkiye Ottawa Sözleşmesi'nden çekiliyor: ĞğŞşİı"
# „ and ” exist in windows-1250 but not in ISO-8859-2.
CP1250_TITLE = "„Łotwa wycofuje się” – ministerstwo obrony"


def rss(
    *items: str,
    encoding: str | None = "utf-8",
    channel: str = "<title>Kanal</title><link>https://example.pl/</link>",
) -> str:
    declaration = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        if encoding
        else '<?xml version="1.0"?>\n'
    )
    return (
        f'{declaration}<rss version="2.0"><channel>{channel}'
        + "".join(f"<item>{item}</item>" for item in items)
        + "</channel></rss>"
    )


def parse(body: bytes, **kwargs: object) -> ParsedFeed:
    kwargs.setdefault("fetched_at", FETCHED)
    return parse_feed(body, **kwargs)  # type: ignore[arg-type]


def only(feed: ParsedFeed) -> Entry:
    assert len(feed.entries) == 1, feed.entries
    return feed.entries[0]


# --- formats ---------------------------------------------------------------------


def test_rss2_entry_fields() -> None:
    body = rss(
        "<title>Seimas pritarė</title>"
        "<link>https://news.example.lt/seimas?utm_source=rss&amp;id=5</link>"
        '<guid isPermaLink="false">lt-123</guid>'
        "<description>Lietuva traukiasi.</description>"
        "<pubDate>Mon, 02 Jun 2025 10:00:00 +0300</pubDate>",
        channel="<title>LRT</title><language>lt</language>",
    ).encode()
    feed = parse(body)
    assert feed.title == "LRT"
    assert feed.warning is None
    entry = only(feed)
    assert entry.guid == "lt-123"
    assert entry.url == "https://news.example.lt/seimas?utm_source=rss&id=5"
    assert entry.canonical_url == "https://news.example.lt/seimas?id=5"
    assert entry.title == "Seimas pritarė"
    assert entry.summary == "Lietuva traukiasi."
    assert entry.language == "lt"
    assert entry.published_at == datetime(2025, 6, 2, 7, 0, tzinfo=UTC)
    assert len(entry.fingerprint) == 64


def test_atom_entries() -> None:
    body = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="lv">
  <title>Latvijas ziņas</title><id>urn:feed</id>
  <updated>2025-06-01T10:00:00+03:00</updated>
  <entry>
    <id>urn:lv:1</id><title>Latvija izstājas no Otavas konvencijas</title>
    <link rel="alternate" href="https://lv.example/a?utm_medium=feed&amp;p=2"/>
    <updated>2025-06-01T10:00:00+03:00</updated>
    <summary type="html">&lt;p&gt;Saeima &lt;b&gt;nobalsoja&lt;/b&gt;&lt;/p&gt;</summary>
  </entry>
</feed>""".encode()
    feed = parse(body)
    assert feed.title == "Latvijas ziņas"
    entry = only(feed)
    assert entry.guid == "urn:lv:1"
    assert entry.title == "Latvija izstājas no Otavas konvencijas"
    assert entry.url == "https://lv.example/a?utm_medium=feed&p=2"
    assert entry.canonical_url == "https://lv.example/a?p=2"
    assert entry.summary == "Saeima nobalsoja"
    assert entry.language == "lv"
    assert entry.published_at == datetime(2025, 6, 1, 7, 0, tzinfo=UTC)


def test_atom_content_is_the_summary_when_there_is_no_summary() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>F</title>
<entry><id>e</id><title>T</title>
<content type="html">&lt;p&gt;Tik turinys&lt;/p&gt;</content></entry></feed>"""
    assert only(parse(body)).summary == "Tik turinys"


def test_rdf_rss1_entries() -> None:
    body = """<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://ee.example/">
    <title>ERR</title><link>https://ee.example/</link><description>d</description>
    <dc:language>et</dc:language>
  </channel>
  <item rdf:about="https://ee.example/1">
    <title>Eesti lahkub Ottawa konventsioonist</title>
    <link>https://ee.example/1</link>
    <description>Riigikogu hääletas.</description>
    <dc:date>2025-06-01T10:00:00+03:00</dc:date>
  </item>
</rdf:RDF>""".encode()
    feed = parse(body)
    assert feed.title == "ERR"
    entry = only(feed)
    assert entry.title == "Eesti lahkub Ottawa konventsioonist"
    assert entry.url == "https://ee.example/1"
    assert entry.guid == "https://ee.example/1"
    assert entry.summary == "Riigikogu hääletas."
    assert entry.language == "et"
    assert entry.published_at == datetime(2025, 6, 1, 7, 0, tzinfo=UTC)


def test_feed_without_entries_is_an_empty_feed_not_an_error() -> None:
    feed = parse(rss().encode())
    assert feed.entries == []
    assert feed.title == "Kanal"
    empty_atom = b'<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title></feed>'
    assert parse(empty_atom).entries == []


def test_entries_keep_feed_order() -> None:
    body = rss(*(f"<title>n{i}</title><guid>g{i}</guid>" for i in range(5)))
    assert [e.title for e in parse(body.encode()).entries] == [
        f"n{i}" for i in range(5)
    ]


# --- charsets --------------------------------------------------------------------


def item_with(title: str) -> str:
    return f"<title>{title}</title><link>https://example.pl/a</link>"


def test_polish_iso_8859_2_declared_in_xml_declaration() -> None:
    body = rss(item_with(PL_TITLE), encoding="ISO-8859-2").encode("iso-8859-2")
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert only(parse(body)).title == PL_TITLE


def test_polish_iso_8859_2_declared_only_in_content_type() -> None:
    body = rss(item_with(PL_TITLE), encoding=None).encode("iso-8859-2")
    headers = {"Content-Type": "application/rss+xml; charset=ISO-8859-2"}
    assert only(parse(body, headers=headers)).title == PL_TITLE


def test_polish_iso_8859_2_declared_in_both() -> None:
    body = rss(item_with(PL_TITLE), encoding="iso-8859-2").encode("iso-8859-2")
    headers = {"content-type": "text/xml; charset=iso-8859-2"}
    assert only(parse(body, headers=headers)).title == PL_TITLE


def test_polish_iso_8859_2_with_charsetless_text_xml_header() -> None:
    # text/xml without a charset defaults to us-ascii; the bytes say otherwise.
    body = rss(item_with(PL_TITLE), encoding="ISO-8859-2").encode("iso-8859-2")
    feed = parse(body, headers={"Content-Type": "text/xml"})
    assert only(feed).title == PL_TITLE


def test_greek_iso_8859_7() -> None:
    body = rss(item_with(EL_TITLE), encoding="ISO-8859-7").encode("iso-8859-7")
    assert only(parse(body)).title == EL_TITLE
    header_only = rss(item_with(EL_TITLE), encoding=None).encode("iso-8859-7")
    headers = {"Content-Type": "application/xml; charset=iso-8859-7"}
    assert only(parse(header_only, headers=headers)).title == EL_TITLE


def test_turkish_iso_8859_9() -> None:
    body = rss(item_with(TR_TITLE), encoding="ISO-8859-9").encode("iso-8859-9")
    assert only(parse(body)).title == TR_TITLE


def test_windows_1250() -> None:
    body = rss(item_with(CP1250_TITLE), encoding="windows-1250").encode("cp1250")
    assert only(parse(body)).title == CP1250_TITLE
    header_only = rss(item_with(CP1250_TITLE), encoding=None).encode("cp1250")
    headers = {"Content-Type": "application/rss+xml; charset=windows-1250"}
    assert only(parse(header_only, headers=headers)).title == CP1250_TITLE


def test_utf8_with_bom_and_without_declaration() -> None:
    body = b"\xef\xbb\xbf" + rss(item_with(EL_TITLE)).encode()
    assert only(parse(body)).title == EL_TITLE
    bare = rss(item_with(TR_TITLE), encoding=None).encode()
    assert only(parse(bare)).title == TR_TITLE


# --- broken input ----------------------------------------------------------------


def test_unescaped_ampersand_still_yields_entries_with_a_warning() -> None:
    body = rss(
        "<title>Tom & Jerry</title><link>https://x.example/1</link>",
        "<title>Antras</title><guid>g2</guid>",
    ).encode()
    feed = parse(body)
    assert [e.title for e in feed.entries] == ["Tom & Jerry", "Antras"]
    assert feed.warning is not None
    assert "malformed" in feed.warning


def test_truncated_feed_still_yields_its_complete_entries_with_a_warning() -> None:
    whole = rss(
        "<title>Pirmas</title><guid>g1</guid>", "<title>Antras</title><guid>g2</guid>"
    )
    body = whole[: whole.index("Antras") + 3].encode()
    feed = parse(body)
    assert feed.entries[0].title == "Pirmas"
    assert feed.entries[0].guid == "g1"
    assert feed.warning is not None


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"\x00\x01\x02garbage\xff\xfe", {}),
        (b"Service Unavailable", {"Content-Type": "text/plain"}),
        (b"", {}),
        (b'{"error": "not found"}', {"Content-Type": "application/json"}),
        (
            b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
            b"<body><h1>Bad Gateway</h1></body></html>",
            {"Content-Type": "text/html; charset=utf-8"},
        ),
        # The same page without a Content-Type is well-formed XML, still no feed.
        (
            b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
            b"<body><h1>Bad Gateway</h1></body></html>",
            {},
        ),
        (
            b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml">'
            b"<head><title>Error</title></head><body><p>Not found</p></body></html>",
            {"Content-Type": "application/xml"},
        ),
    ],
    ids=["binary", "plain-text", "empty", "json", "html", "html-no-type", "xhtml"],
)
def test_non_feed_bodies_raise_parse_error(
    body: bytes, headers: dict[str, str]
) -> None:
    with pytest.raises(ParseError):
        parse(body, headers=headers)


# --- guid -------------------------------------------------------------------------


def test_guid_prefers_the_entry_id() -> None:
    body = rss(
        "<title>T</title><link>https://x.example/a</link>"
        '<guid isPermaLink="false">id-1</guid>'
    )
    assert only(parse(body.encode())).guid == "id-1"


def test_guid_falls_back_to_the_link() -> None:
    body = rss("<title>T</title><link>https://x.example/a</link>")
    assert only(parse(body.encode())).guid == "https://x.example/a"


def test_guid_falls_back_to_a_hash_of_title_and_date() -> None:
    body = rss(
        "<title>Be nuorodos</title><pubDate>Mon, 02 Jun 2025 10:00:00 +0200</pubDate>",
        "<title>Kitas</title><pubDate>Mon, 02 Jun 2025 10:00:00 +0200</pubDate>",
        "<title>Be nuorodos</title><pubDate>Tue, 03 Jun 2025 10:00:00 +0200</pubDate>",
    ).encode()
    guids = [e.guid for e in parse(body).entries]
    assert all(g.startswith("sha1:") and len(g) == len("sha1:") + 40 for g in guids)
    assert len(set(guids)) == 3


def test_guids_are_stable_across_parses() -> None:
    body = rss(
        "<title>Su id</title><guid>g</guid>",
        "<title>Su nuoroda</title><link>https://x.example/b</link>",
        "<title>Be datos</title>",
        "<title>Su data</title><pubDate>Mon, 02 Jun 2025 10:00:00 +0200</pubDate>",
    ).encode()
    first = [e.guid for e in parse(body).entries]
    later = [
        e.guid for e in parse(body, fetched_at=FETCHED + timedelta(hours=5)).entries
    ]
    assert first == later
    assert len(set(first)) == 4


# --- dates --------------------------------------------------------------------------


def test_pubdate_with_offset_is_converted_to_utc() -> None:
    body = rss("<title>T</title><pubDate>Mon, 02 Jun 2025 10:00:00 +0200</pubDate>")
    published = only(parse(body.encode())).published_at
    assert published == datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
    assert published.utcoffset() == timedelta(0)


def test_atom_published_wins_over_updated() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>F</title>
<entry><id>e</id><title>T</title>
<published>2025-05-01T00:00:00Z</published><updated>2025-05-09T00:00:00Z</updated>
</entry></feed>"""
    assert only(parse(body)).published_at == datetime(2025, 5, 1, tzinfo=UTC)


def test_missing_or_unreadable_date_becomes_fetched_at() -> None:
    body = rss(
        "<title>Be datos</title>", "<title>Bloga</title><pubDate>vakar</pubDate>"
    ).encode()
    assert [e.published_at for e in parse(body).entries] == [FETCHED, FETCHED]


# --- language -------------------------------------------------------------------------


def test_language_comes_from_entry_then_feed_then_default() -> None:
    dc = 'xmlns:dc="http://purl.org/dc/elements/1.1/"'
    body = (
        f'<rss version="2.0" {dc}><channel><title>F</title><language>en-GB</language>'
        "<item><title>a</title><dc:language>fi</dc:language></item>"
        "<item><title>b</title></item></channel></rss>"
    ).encode()
    feed = parse(body, default_language="lt")
    assert [e.language for e in feed.entries] == ["fi", "en"]
    no_feed_language = rss("<title>c</title>").encode()
    assert only(parse(no_feed_language, default_language="lt")).language == "lt"
    assert only(parse(no_feed_language)).language is None


def test_atom_entry_xml_lang_wins_over_the_feed_language() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="lt"><title>F</title>
<entry xml:lang="pl"><id>1</id><title>Litwa</title></entry>
<entry><id>2</id><title>Lietuva</title></entry></feed>"""
    assert [e.language for e in parse(body).entries] == ["pl", "lt"]


def test_language_is_reduced_to_a_lowercase_primary_tag() -> None:
    body = rss("<title>a</title>", channel="<title>F</title><language>PT_br</language>")
    assert only(parse(body.encode())).language == "pt"


# --- text ----------------------------------------------------------------------------


def test_summary_html_becomes_plain_text() -> None:
    body = rss(
        "<title>Seimas &amp;amp; Vyriausybė</title>"
        "<description>&lt;p&gt;Seimas &lt;b&gt;pritarė&lt;/b&gt;&amp;nbsp;"
        "pasitraukti&lt;/p&gt;&lt;script&gt;x()&lt;/script&gt;</description>"
    ).encode()
    entry = only(parse(body))
    assert entry.title == "Seimas & Vyriausybė"
    assert entry.summary == "Seimas pritarė pasitraukti"


def test_cdata_summary_html_becomes_plain_text() -> None:
    body = rss(
        "<title>T</title><description><![CDATA[<p>Łotwa <a href='x'>wyjdzie</a></p>"
        "<img src='a.jpg' alt='1 > 0'>]]></description>"
    ).encode()
    assert only(parse(body)).summary == "Łotwa wyjdzie"


def test_slack_syntax_in_feed_text_survives_as_text() -> None:
    body = rss(
        "<title>&lt;!channel&gt; skubu</title>"
        "<description>&lt;@U123&gt; &lt;http://x|y&gt;</description>"
    ).encode()
    entry = only(parse(body))
    assert entry.title == "<!channel> skubu"
    assert entry.summary == "<@U123> <http://x|y>"


def test_fingerprint_changes_with_the_text() -> None:
    body = rss(
        "<title>A</title><description>x</description>",
        "<title>A</title><description>y</description>",
        "<title>A</title><description>x</description>",
    ).encode()
    prints = [e.fingerprint for e in parse(body).entries]
    assert prints[0] != prints[1]
    assert prints[0] == prints[2]


def test_entry_without_link_has_no_canonical_url() -> None:
    entry = only(parse(rss("<title>T</title><guid>g</guid>").encode()))
    assert entry.canonical_url is None


def test_link_longer_than_the_column_is_dropped_but_the_entry_kept() -> None:
    long_link = "https://example.pl/" + "a" * 3000
    entry = only(
        parse(rss(f"<title>T</title><guid>g1</guid><link>{long_link}</link>").encode())
    )
    assert entry.url is None and entry.canonical_url is None
    assert entry.guid == "g1" and entry.title == "T"


# --- the fast path and feedparser agree ----------------------------------------------

WORDPRESS = """<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
 xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:wfw="http://wellformedweb.org/CommentAPI/"
 xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:atom="http://www.w3.org/2005/Atom"
 xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
 xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel>
 <title>Wiadomości</title>
 <atom:link href="https://example.pl/feed/" rel="self" type="application/rss+xml" />
 <link>https://example.pl</link>
 <description>Najnowsze</description>
 <lastBuildDate>Mon, 02 Jun 2025 10:00:00 +0000</lastBuildDate>
 <language>pl-PL</language>
 <sy:updatePeriod>hourly</sy:updatePeriod>
 <image><url>https://example.pl/logo.png</url><title>Wiadomości</title><link>https://example.pl</link></image>
 <item>
  <title>Polska wypowie konwencję ottawską</title>
  <link>https://example.pl/2025/06/konwencja/</link>
  <comments>https://example.pl/2025/06/konwencja/#respond</comments>
  <dc:creator><![CDATA[Redakcja]]></dc:creator>
  <pubDate>Mon, 02 Jun 2025 09:30:00 +0000</pubDate>
  <category><![CDATA[Polityka]]></category>
  <guid isPermaLink="false">https://example.pl/?p=123</guid>
  <description><![CDATA[<p>Sejm przyjął ustawę&#8230;</p>]]></description>
  <content:encoded><![CDATA[<p>Sejm przyjął ustawę o wypowiedzeniu.</p><p>Więcej</p>]]></content:encoded>
  <wfw:commentRss>https://example.pl/2025/06/konwencja/feed/</wfw:commentRss>
  <slash:comments>4</slash:comments>
 </item>
 <item>
  <title>Bez opisu</title>
  <link>https://example.pl/2025/06/bez-opisu/</link>
  <pubDate>Mon, 02 Jun 2025 08:00:00 +0000</pubDate>
  <guid isPermaLink="false">https://example.pl/?p=124</guid>
  <content:encoded><![CDATA[<p>Tylko treść, <b>bez</b> opisu.</p>]]></content:encoded>
 </item>
</channel></rss>"""

GOOGLE_NEWS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?><rss xmlns:media="http://search.yahoo.com/mrss/" version="2.0"><channel><generator>NFE/5.0</generator><title>"Otavos konvencija" - Google News</title><link>https://news.google.com/search?q=x&amp;hl=lt</link><language>lt</language><webMaster>news-webmaster@google.com</webMaster><copyright>2025 Google LLC</copyright><lastBuildDate>Mon, 02 Jun 2025 10:00:00 GMT</lastBuildDate><description>Google News</description><item><title>Lietuva traukiasi iš Otavos konvencijos - LRT</title><link>https://news.google.com/rss/articles/CBMiXkFV?oc=5</link><guid isPermaLink="false">CBMiXkFV</guid><pubDate>Mon, 02 Jun 2025 07:00:00 GMT</pubDate><description>&lt;a href="https://news.google.com/rss/articles/CBMiXkFV?oc=5" target="_blank"&gt;Lietuva traukiasi iš Otavos konvencijos&lt;/a&gt;&amp;nbsp;&amp;nbsp;&lt;font color="#6f6f6f"&gt;LRT&lt;/font&gt;</description><source url="https://www.lrt.lt">LRT</source></item><item><title>Seimas pritarė - 15min</title><link>https://news.google.com/rss/articles/CBMiQ2?oc=5</link><guid isPermaLink="false">CBMiQ2</guid><pubDate>Sun, 01 Jun 2025 18:45:00 GMT</pubDate><description>&lt;a href="https://news.google.com/rss/articles/CBMiQ2?oc=5"&gt;Seimas pritarė&lt;/a&gt;</description><source url="https://www.15min.lt">15min</source><media:content url="https://x/i.jpg" medium="image"/></item></channel></rss>"""

ATOM_BLOG = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0"
      xmlns:media="http://search.yahoo.com/mrss/" xml:lang="lv" xml:base="https://lv.example/blog/">
  <title type="text">Latvijas ziņas</title>
  <subtitle type="html">&lt;b&gt;Ziņas&lt;/b&gt;</subtitle>
  <id>tag:lv.example,2025:feed</id>
  <updated>2025-06-01T10:00:00+03:00</updated>
  <link rel="self" href="https://lv.example/blog/atom.xml"/>
  <link rel="alternate" type="text/html" href="https://lv.example/blog/"/>
  <author><name>Redakcija</name><uri>/about</uri></author>
  <entry>
    <title type="html">Saeima &lt;i&gt;nobalso&lt;/i&gt;</title>
    <link rel="alternate" type="text/html" href="2025/06/saeima?utm_source=atom"/>
    <link rel="replies" type="text/html" href="2025/06/saeima#comments" thr:count="3"/>
    <id>tag:lv.example,2025:post-1</id>
    <published>2025-06-01T09:00:00+03:00</published>
    <updated>2025-06-01T10:00:00+03:00</updated>
    <summary type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Saeima <b>nobalsoja</b> &amp; <a href="/x">vairāk</a></p></div></summary>
    <content type="xhtml" xml:lang="en"><div xmlns="http://www.w3.org/1999/xhtml"><p>Full text</p></div></content>
    <media:thumbnail url="https://lv.example/t.jpg"/>
    <thr:total>3</thr:total>
  </entry>
  <entry xml:lang="ru">
    <title>Без ссылки</title>
    <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
    <updated>2025-05-31T12:00Z</updated>
    <content type="html">&lt;p&gt;Только &lt;b&gt;текст&lt;/b&gt;&lt;/p&gt;</content>
    <source><title>Elsewhere</title><id>urn:src</id><updated>2025-01-01T00:00:00Z</updated></source>
  </entry>
</feed>"""

YOUTUBE = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" xmlns:media="http://search.yahoo.com/mrss/" xmlns="http://www.w3.org/2005/Atom">
 <link rel="self" href="http://www.youtube.com/feeds/videos.xml?channel_id=UC1"/>
 <id>yt:channel:UC1</id><yt:channelId>UC1</yt:channelId>
 <title>Kanał</title>
 <link rel="alternate" href="https://www.youtube.com/channel/UC1"/>
 <published>2015-01-01T00:00:00+00:00</published>
 <entry>
  <id>yt:video:abc</id><yt:videoId>abc</yt:videoId><yt:channelId>UC1</yt:channelId>
  <title>Debata o minach</title>
  <link rel="alternate" href="https://www.youtube.com/watch?v=abc"/>
  <author><name>Kanał</name><uri>https://www.youtube.com/channel/UC1</uri></author>
  <published>2025-06-01T08:00:00+00:00</published>
  <updated>2025-06-01T09:00:00+00:00</updated>
  <media:group>
   <media:title>Debata o minach</media:title>
   <media:content url="https://www.youtube.com/v/abc" type="application/x-shockwave-flash" width="640" height="390"/>
   <media:thumbnail url="https://i1.ytimg.com/vi/abc/hqdefault.jpg" width="480" height="360"/>
   <media:description>Opis filmu o konwencji.</media:description>
  </media:group>
 </entry>
</feed>"""

RDF = """<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/">
  <channel rdf:about="https://ee.example/">
    <title>ERR</title><link>https://ee.example/</link><description>d</description>
    <dc:language>et</dc:language>
    <items><rdf:Seq><rdf:li rdf:resource="https://ee.example/1"/></rdf:Seq></items>
  </channel>
  <item rdf:about="https://ee.example/1">
    <title>Eesti lahkub</title><link>https://ee.example/1</link>
    <description>Riigikogu hääletas.</description>
    <dc:date>2025-06-01T10:00+03:00</dc:date><dc:creator>ERR</dc:creator>
  </item>
  <item rdf:about="https://ee.example/2">
    <title>Teine</title><link>https://ee.example/2</link>
    <content:encoded>&lt;p&gt;Sisu&lt;/p&gt;</content:encoded>
    <dc:date>2025-06-01</dc:date>
  </item>
</rdf:RDF>"""

DOTNET = """<?xml version="1.0" encoding="utf-8"?><rss xmlns:a10="http://www.w3.org/2005/Atom" version="2.0"><channel><title>Ministerstvo</title><link>https://gov.example/</link><description>Zprávy</description><item><guid isPermaLink="true">https://gov.example/news/1</guid><link>https://gov.example/news/1</link><title>Tisková zpráva</title><description>Vláda rozhodla.</description><a10:updated>2025-06-01T10:00:00+02:00</a10:updated></item><item><guid isPermaLink="true">/news/2</guid><title>Relativní</title><a10:updated>2025-06-02T10:00:00Z</a10:updated></item></channel></rss>"""

PODCAST = """<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel><title>Podcast</title><itunes:summary>Channel summary</itunes:summary><description>Channel description</description><language>fi</language><itunes:image href="https://x/c.jpg"/><item><title>Jakso 1</title><itunes:subtitle>Lyhyt</itunes:subtitle><enclosure url="https://x/1.mp3" length="1" type="audio/mpeg"/><guid>https://x/1</guid><pubDate>Mon, 02 Jun 2025 10:00:00 EEST</pubDate></item><item><title>Jakso 2</title><description>Kuvaus</description><itunes:summary>Yhteenveto</itunes:summary><guid>https://x/2</guid></item></channel></rss>"""


def _charset_variants() -> list[tuple[str, bytes, dict[str, str]]]:
    item = (
        "<title>{t}</title><link>https://example.eu/a</link>"
        "<pubDate>Mon, 02 Jun 2025 10:00:00 +0300</pubDate>"
    )
    texts = {
        "iso-8859-2": PL_TITLE,
        "iso-8859-7": EL_TITLE,
        "iso-8859-9": TR_TITLE,
        "windows-1250": CP1250_TITLE,
        "windows-1253": "«Η Ελλάδα» — αποχωρεί",
        "windows-1254": "“Türkiye” çekiliyor",
        "windows-1257": "Lietuva „traukiasi“ – ūkis",
    }
    variants = []
    for encoding, title in texts.items():
        body = rss(item.format(t=title), encoding=encoding).encode(encoding)
        variants.append((f"{encoding}-declared", body, {}))
        bare = rss(item.format(t=title), encoding=None).encode(encoding)
        variants.append(
            (
                f"{encoding}-header",
                bare,
                {"Content-Type": f"application/rss+xml; charset={encoding}"},
            )
        )
    utf8 = rss(item.format(t=EL_TITLE)).encode()
    variants += [
        ("utf-8-bom", codecs.BOM_UTF8 + utf8, {}),
        (
            "utf-16",
            rss(item.format(t=PL_TITLE), encoding="utf-16").encode("utf-16"),
            {},
        ),
        ("text-xml-no-charset", utf8, {"Content-Type": "text/xml"}),
        ("no-content-type", utf8, {"ETag": '"x"'}),
        # The header wins over the declaration (RFC 3023)...
        (
            "header-beats-declaration",
            rss(item.format(t=PL_TITLE), encoding="utf-8").encode("iso-8859-2"),
            {"Content-Type": "application/xml; charset=iso-8859-2"},
        ),
        # ...and bytes that are not what they claim are read as feedparser would.
        (
            "not-utf8-after-all",
            rss(item.format(t=CP1250_TITLE), encoding="utf-8").encode("cp1250"),
            {},
        ),
    ]
    return variants


SAMPLES = [
    (
        "wordpress",
        WORDPRESS.encode(),
        {"Content-Type": "application/rss+xml; charset=UTF-8"},
    ),
    (
        "google-news",
        GOOGLE_NEWS.encode(),
        {"Content-Type": "application/xml; charset=utf-8"},
    ),
    ("atom-blog", ATOM_BLOG.encode(), {"Content-Type": "application/atom+xml"}),
    ("youtube", YOUTUBE.encode(), {"Content-Type": "text/xml; charset=UTF-8"}),
    ("rdf", RDF.encode(), {}),
    ("dotnet", DOTNET.encode(), {"Content-Type": "application/rss+xml"}),
    ("podcast", PODCAST.encode(), {"Content-Type": "application/rss+xml"}),
    *_charset_variants(),
]


def _both_readers(
    body: bytes, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> tuple[ParsedFeed, ParsedFeed]:
    kwargs: dict[str, object] = {
        "headers": headers,
        "url": "https://example.eu/dir/feed.xml",
        "fetched_at": FETCHED,
        "default_language": "lt",
    }
    monkeypatch.setattr(feeds.parse, "FAST_PATH", True)
    fast = parse_feed(body, **kwargs)  # type: ignore[arg-type]
    monkeypatch.setattr(feeds.parse, "FAST_PATH", False)
    slow = parse_feed(body, **kwargs)  # type: ignore[arg-type]
    return fast, slow


@pytest.mark.parametrize(
    ("body", "headers"), [s[1:] for s in SAMPLES], ids=[s[0] for s in SAMPLES]
)
def test_fast_path_and_feedparser_give_identical_entries(
    body: bytes, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lowered = {k.lower(): v for k, v in headers.items()}
    lowered["content-location"] = "https://example.eu/dir/feed.xml"
    assert parse_xml(body, lowered) is not None, "the fast path should read this feed"
    fast, slow = _both_readers(body, headers, monkeypatch)
    assert fast.entries, "the sample has entries"
    assert fast.entries == slow.entries
    assert (fast.title, fast.warning) == (slow.title, slow.warning)


def test_samples_come_out_as_expected(monkeypatch: pytest.MonkeyPatch) -> None:
    wordpress, _ = _both_readers(WORDPRESS.encode(), {}, monkeypatch)
    first, second = wordpress.entries
    assert (
        first.summary == "Sejm przyjął ustawę…"
    )  # description wins over content:encoded
    assert second.summary == "Tylko treść, bez opisu."  # content:encoded stands in
    assert first.language == second.language == "pl"
    assert first.guid == "https://example.pl/?p=123"

    atom, _ = _both_readers(ATOM_BLOG.encode(), {}, monkeypatch)
    post, bare = atom.entries
    assert post.url == "https://lv.example/blog/2025/06/saeima?utm_source=atom"
    assert post.canonical_url == "https://lv.example/blog/2025/06/saeima"
    assert post.title == "Saeima nobalso"
    assert post.summary == "Saeima nobalsoja & vairāk"  # Atom XHTML, markup gone
    assert post.published_at == datetime(2025, 6, 1, 6, 0, tzinfo=UTC)
    assert bare.summary == "Только текст"
    assert bare.language == "ru"
    assert bare.title == "Без ссылки"  # not the source's title
    # feedparser's rule, kept: an Atom id stands in for a missing link
    assert bare.url == "urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6"

    youtube, _ = _both_readers(YOUTUBE.encode(), {}, monkeypatch)
    (video,) = youtube.entries
    assert video.title == "Debata o minach"
    assert video.summary == "Opis filmu o konwencji."  # media:description

    dotnet, _ = _both_readers(DOTNET.encode(), {}, monkeypatch)
    assert [e.published_at for e in dotnet.entries] == [
        datetime(2025, 6, 1, 8, 0, tzinfo=UTC),
        datetime(2025, 6, 2, 10, 0, tzinfo=UTC),
    ]
    # A relative permalink guid is resolved against the feed's URL, as always.
    assert dotnet.entries[1].guid == "https://example.eu/news/2"
    assert dotnet.entries[1].url == "https://example.eu/news/2"


# --- when the fast path steps aside ----------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        rss("<title>Tom & Jerry</title>").encode(),  # unescaped ampersand
        rss("<title>Pirmas</title>", "<title>Antras</title>").encode()[
            :-40
        ],  # truncated
        b"<rss version='2.0'><channel><item><x:title>undeclared prefix</x:title></item></channel></rss>",
        b"<?xml version='1.0'?><!DOCTYPE rss [<!ENTITY who 'Seimas'>]>"
        b"<rss version='2.0'><channel><item><title>&who;</title></item></channel></rss>",
        b"<?xml version='1.0'?><!DOCTYPE rss PUBLIC '-//Netscape Communications//DTD RSS 0.91//EN' "
        b"'http://my.netscape.com/publish/formats/rss-0.91.dtd'>"
        b"<rss version='0.91'><channel><item><title>T</title></item></channel></rss>",
        b"<channel><item><title>no rss element</title></item></channel>",
        b"<opml version='2.0'><body/></opml>",
    ],
    ids=[
        "ampersand",
        "truncated",
        "unbound-prefix",
        "entity",
        "netscape-doctype",
        "bare-channel",
        "opml",
    ],
)
def test_fast_path_declines_what_it_cannot_promise(body: bytes) -> None:
    assert parse_xml(body, {}) is None


def test_broken_xml_still_yields_feedparsers_entries() -> None:
    body = rss(
        "<title>Tom & Jerry</title><guid>g1</guid>",
        "<title>Antras</title><guid>g2</guid>",
    ).encode()
    assert parse_xml(body, {}) is None
    feed = parse(body)
    assert [e.guid for e in feed.entries] == ["g1", "g2"]
    assert feed.warning is not None and "malformed" in feed.warning


def test_entity_declarations_are_never_expanded() -> None:
    laughs = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">{laughs}]>'
        "<rss version='2.0'><channel><title>&lol9;</title>"
        "<item><title>&lol9;</title><guid>g</guid></item></channel></rss>"
    ).encode()
    external = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b"<rss version='2.0'><channel><item><title>&xxe;</title><guid>g</guid></item></channel></rss>"
    )
    for hostile in (body, external):
        assert parse_xml(hostile, {}) is None
        with pytest.raises(ParseError, match=r"^refused: the DOCTYPE declares") as info:
            parse(hostile)
        assert "root:" not in str(info.value)


def test_deeply_nested_markup_is_refused() -> None:
    body = (
        b"<rss version='2.0'><channel><item><title>T</title>"
        + b"<x>" * 2000
        + b"y"
        + b"</x>" * 2000
        + b"</item></channel></rss>"
    )
    assert parse_xml(body, {}) is None
    with pytest.raises(ParseError, match=r"^refused: elements nested more than 256"):
        parse(body)


def test_a_doctype_with_character_entities_is_still_read() -> None:
    # What real feeds declare: a short name for one character.
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY nbsp "&#160;">]>'
        b"<rss version='2.0'><channel><item><title>A&nbsp;B</title><guid>g</guid>"
        b"</item></channel></rss>"
    )
    assert only(parse(body)).title.replace("\xa0", " ") == "A B"


# --- JSON Feed -------------------------------------------------------------------------


def json_feed(*items: dict[str, object], **feed: object) -> bytes:
    document: dict[str, object] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Delfi",
        "items": list(items),
    }
    document.update(feed)
    return json.dumps(document).encode()


def test_json_feed_items() -> None:
    body = json_feed(
        {
            "id": "delfi-1",
            "url": "https://delfi.example/a?utm_campaign=x&id=1",
            "external_url": "https://elsewhere.example/",
            "title": "Seimas &amp; Vyriausybė",
            "content_html": "<p>Lietuva <b>traukiasi</b></p>",
            "date_published": "2025-06-02T10:00:00+03:00",
            "date_modified": "2025-06-03T10:00:00Z",
            "language": "lt-LT",
        },
        {
            "id": 42,
            "external_url": "https://elsewhere.example/b",
            "summary": "Trumpai",
            "content_text": "Ilgai",
            "date_modified": "2025-06-03T10:00Z",
        },
        language="en",
    )
    feed = parse(
        b"\xef\xbb\xbf  \n" + body, headers={"Content-Type": "application/feed+json"}
    )
    assert feed.title == "Delfi"
    assert feed.warning is None
    first, second = feed.entries
    assert first.guid == "delfi-1"
    assert first.url == "https://delfi.example/a?utm_campaign=x&id=1"
    assert first.canonical_url == "https://delfi.example/a?id=1"
    assert first.title == "Seimas & Vyriausybė"
    assert first.summary == "Lietuva traukiasi"
    assert first.language == "lt"
    assert first.published_at == datetime(2025, 6, 2, 7, 0, tzinfo=UTC)
    assert second.guid == "42"
    assert second.url == "https://elsewhere.example/b"
    assert second.summary == "Trumpai"  # summary, then content_text, then content_html
    assert second.language == "en"  # the feed's
    assert second.published_at == datetime(
        2025, 6, 3, 10, 0, tzinfo=UTC
    )  # modified, no seconds


def test_json_feed_language_falls_back_to_the_default_and_bad_dates_to_fetch_time() -> (
    None
):
    body = json_feed(
        {"id": "1", "title": "a", "date_published": "yesterday"},
        {"id": "2", "title": "b"},
        {"title": "no id", "url": "https://x.example/3"},
        "not an item",
    )
    entries = parse(body, default_language="pl").entries
    assert [e.language for e in entries] == ["pl", "pl", "pl"]
    assert [e.dated for e in entries] == [False, False, False]
    assert all(e.published_at == FETCHED for e in entries)
    assert entries[2].guid == "https://x.example/3"


def test_json_feed_1_0_is_read_too() -> None:
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1",
            "title": "Old",
            "items": [
                {
                    "id": "x",
                    "content_text": "Tekstas",
                    "date_published": "2025-06-01T08:00:00Z",
                }
            ],
        }
    ).encode()
    entry = only(parse(body))
    assert (entry.guid, entry.summary, entry.title) == ("x", "Tekstas", "")


@pytest.mark.parametrize(
    "body",
    [
        b'{"error": "not found"}',
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "no items"}',
        b'{"version": "https://example.com/version/1", "items": []}',
        b'{"version": 1, "items": []}',
    ],
    ids=["error-object", "no-items", "other-version", "number-version"],
)
def test_json_that_is_not_a_json_feed(body: bytes) -> None:
    with pytest.raises(
        ParseError, match=r"^not a feed: got JSON that is not a JSON Feed$"
    ):
        parse(body, headers={"Content-Type": "application/json"})


# --- errors an operator can read ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not a feed: empty body"),
        (b" \r\n\t ", "not a feed: empty body"),
        (
            b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body></body></html>",
            "not a feed: got an HTML page",
        ),
        (
            b"\n<!-- cache --><HTML><BODY>Moved</BODY></HTML>",
            "not a feed: got an HTML page",
        ),
        (
            b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
            "not a feed: got an HTML page",
        ),
        (b"\x00\x01\x02garbage\xff\xfe", "not a feed: garbage bytes"),
        (
            b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcb\x48",
            "not a feed: garbage bytes",
        ),
        (
            b"Service Unavailable",
            "not a feed: got plain text, not XML ('Service Unavailable')",
        ),
        (
            b'<?xml version="1.0"?>\n<rss version="2.0">\n<channel>\n<title>x</titl',
            "XML error at line 4: unclosed token (column 9)",
        ),
        (
            b"<opml version='2.0'><body/></opml>",
            "not a feed: an XML document whose root is <opml>, not RSS, Atom or RDF",
        ),
    ],
    ids=[
        "empty",
        "whitespace",
        "html",
        "html-upper",
        "xhtml",
        "binary",
        "gzip",
        "text",
        "xml-error",
        "opml",
    ],
)
def test_parse_errors_say_what_the_body_was(body: bytes, message: str) -> None:
    with pytest.raises(ParseError) as raised:
        parse(body)
    assert str(raised.value) == message


# --- formats in detail ----------------------------------------------------------------------


def test_atom_xhtml_title_and_content() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>F</title>
<entry><id>urn:1</id>
<title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Saeima <em>nobalso</em></div></title>
<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">
  <p>Pirmais &amp; <b>otrais</b></p><p>&lt;script&gt; stays text</p><script>gone()</script>
</div></content></entry></feed>"""
    entry = only(parse(body))
    assert entry.title == "Saeima nobalso"
    assert entry.summary == "Pirmais & otrais <script> stays text"


def test_rss_content_encoded_is_the_summary_only_without_a_description() -> None:
    ns = 'xmlns:content="http://purl.org/rss/1.0/modules/content/"'
    body = (
        f'<rss version="2.0" {ns}><channel><title>F</title>'
        "<item><guid>a</guid><content:encoded><![CDATA[<p>Turinys</p>]]></content:encoded></item>"
        "<item><guid>b</guid><content:encoded>&lt;p&gt;Turinys&lt;/p&gt;</content:encoded>"
        "<description>Aprašymas</description></item>"
        "</channel></rss>"
    ).encode()
    assert [e.summary for e in parse(body).entries] == ["Turinys", "Aprašymas"]


def test_dublin_core_dates() -> None:
    dc = 'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
    body = (
        f'<rss version="2.0" {dc}><channel><title>F</title>'
        "<item><guid>1</guid><dc:date>2025-06-01T10:00:00+03:00</dc:date></item>"
        "<item><guid>2</guid><pubDate>Mon, 02 Jun 2025 10:00:00 GMT</pubDate>"
        "<dc:date>2025-01-01T00:00:00Z</dc:date></item>"
        "<item><guid>3</guid><pubDate>vakar</pubDate><dc:date>2025-06-03T12:00Z</dc:date></item>"
        "<item><guid>4</guid><dcterms:modified>2025-06-04</dcterms:modified></item>"
        "</channel></rss>"
    ).encode()
    assert [e.published_at for e in parse(body).entries] == [
        datetime(2025, 6, 1, 7, 0, tzinfo=UTC),
        datetime(2025, 6, 2, 10, 0, tzinfo=UTC),  # pubDate wins
        datetime(2025, 6, 3, 12, 0, tzinfo=UTC),  # a bogus pubDate gives way
        datetime(2025, 6, 4, tzinfo=UTC),  # a date alone is midnight UTC
    ]


def test_relative_links_resolve_against_the_feed_url_and_xml_base() -> None:
    body = (
        b'<rss version="2.0"><channel><title>F</title>'
        b"<item><title>a</title><link>/news/1</link></item>"
        b'<item xml:base="https://other.example/dir/"><title>b</title><link>2</link></item>'
        b"<item><title>c</title><guid>3</guid></item>"
        b'<item><title>d</title><guid isPermaLink="false">4</guid></item>'
        b"</channel></rss>"
    )
    feed = parse(body, url="https://example.eu/feeds/rss.xml")
    assert [(e.url, e.guid) for e in feed.entries] == [
        ("https://example.eu/news/1", "https://example.eu/news/1"),
        ("https://other.example/dir/2", "https://other.example/dir/2"),
        ("https://example.eu/feeds/3", "https://example.eu/feeds/3"),
        (None, "4"),
    ]


def test_a_feed_read_across_many_chunks() -> None:
    items = [
        f"<title>Straipsnis {i} – ąčęėįšųūž</title><guid>g{i}</guid>"
        f"<description>{'žodis ' * 40}</description>"
        for i in range(400)
    ]
    body = rss(*items).encode()
    assert len(body) > 2 * 64 * 1024
    assert parse_xml(body, {}) is not None
    entries = parse(body).entries
    assert [e.guid for e in entries] == [f"g{i}" for i in range(400)]
    assert entries[399].title == "Straipsnis 399 – ąčęėįšųūž"


# --- the fast path's building blocks match feedparser's ------------------------------------


def _feedparser_datetime(text: str) -> datetime | None:
    parsed = feedparser_date(text)
    if not parsed:
        return None
    try:
        return datetime(*parsed[:6], tzinfo=UTC)
    except ValueError:
        return None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mon, 02 Jun 2025 10:00:00 +0300", datetime(2025, 6, 2, 7, 0, tzinfo=UTC)),
        ("Mon, 02 Jun 2025 10:00 GMT", datetime(2025, 6, 2, 10, 0, tzinfo=UTC)),
        ("02 Jun 2025 10:00:00 EST", datetime(2025, 6, 2, 15, 0, tzinfo=UTC)),
        ("2025-06-02T10:00:00Z", datetime(2025, 6, 2, 10, 0, tzinfo=UTC)),
        (
            "2025-06-02T10:00+02:00",
            datetime(2025, 6, 2, 8, 0, tzinfo=UTC),
        ),  # no seconds
        ("2025-06-02T10:00:00.75-04:30", datetime(2025, 6, 2, 14, 30, tzinfo=UTC)),
        (
            "2025-06-02T10:00:00",
            datetime(2025, 6, 2, 10, 0, tzinfo=UTC),
        ),  # no zone: UTC
        ("2025-06-02", datetime(2025, 6, 2, tzinfo=UTC)),
        (
            "Mon, 02 Jun 25 10:00:00 +0000",
            datetime(2025, 6, 2, 10, 0, tzinfo=UTC),
        ),  # via feedparser
        ("vakar", None),
        ("", None),
    ],
)
def test_parse_date(text: str, expected: datetime | None) -> None:
    assert parse_date(text) == expected
    assert parse_date(text) == _feedparser_datetime(text)


_DATE_PIECES = st.sampled_from(
    ["Mon, ", "Sat,", "Sunday ", "02 ", "2 ", "31 ", "Jun ", "June ", "Feb ", "2025 ", "99 ",
     "10:00", ":00", ":60", " +0300", " -0530", " GMT", " EST", " CEST", " Z", "gmt+2",
     "2025-06-02", "T", "t", "10:00:00", "10:00", ".5", "Z", "z", "+03:00", "-00:00",
     "+0300", " ", "24:00", "0001-01-01", "9999-12-31"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_DATE_PIECES, min_size=1, max_size=7).map("".join))
def test_parse_date_agrees_with_feedparser(text: str) -> None:
    assert parse_date(text.strip()) == _feedparser_datetime(text.strip())


_URL_PIECES = st.sampled_from(
    ["https://", "http://", "HTTPS://", "example.eu", "ex.com:8080", "[::1]", "/", "a", "ą",
     "?", "q=1", "&", "#", "frag", ";p", " ", "..", "//", "%20", "mailto:", "urn:x", ""]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(
        [
            "",
            "https://example.eu/dir/feed.xml",
            "http://x.example",
            "urn:feed",
            "https://[bad/",
        ]
    ),
    st.lists(_URL_PIECES, min_size=1, max_size=8).map("".join),
)
def test_link_resolution_agrees_with_feedparser(base: str, link: str) -> None:
    from feeds.replay import Replay

    replay = Replay(base, None)
    assert replay.resolve(link) == feedparser_urljoin(base, link)
