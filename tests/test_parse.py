"""feeds.parse.parse_feed: RSS, Atom and RDF bytes in any charset to clean entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feeds.entry import Entry, ParsedFeed
from feeds.parse import ParseError, parse_feed

FETCHED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

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
