"""feeds.parliament: Sejm and Eduskunta open-data JSON to entries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds.entry import Entry, ParsedFeed
from feeds.parliament import (
    MAX_ENTRIES,
    PARLIAMENT_FORMATS,
    ParliamentParser,
    parse_eduskunta_vaski,
    parse_sejm_interpellations,
    parse_sejm_prints,
    parse_sejm_written_questions,
)
from feeds.parse import ParseError, fingerprint

DATA = Path(__file__).parent / "data" / "parliament"
FETCHED = datetime(2025, 7, 2, 12, 0, tzinfo=UTC)


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def run(
    parser: ParliamentParser, body: bytes | object, language: str | None = None
) -> ParsedFeed:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parser(raw, fetched_at=FETCHED, default_language=language)


def by_guid(feed: ParsedFeed) -> dict[str, Entry]:
    return {e.guid: e for e in feed.entries}


# -- Sejm prints --------------------------------------------------------------


def test_sejm_prints_sample() -> None:
    feed = run(parse_sejm_prints, sample("sejm_prints.json"))
    guids = [e.guid for e in feed.entries]
    # Newest first, the nested additional print included, the undated one last.
    assert guids == [
        "sejm:term10:print:1410-A",
        "sejm:term10:print:1415",
        "sejm:term10:print:1402-001",
        "sejm:term10:print:1402",
        "sejm:term10:print:1388",
        "sejm:term10:print:1420",
    ]
    entry = feed.entries[3]
    assert entry.title.startswith("Rządowy projekt ustawy o wypowiedzeniu Konwencji")
    assert "min przeciwpiechotnych" in entry.title
    assert entry.url == "https://www.sejm.gov.pl/Sejm10.nsf/druk.xsp?nr=1402"
    assert entry.canonical_url == "https://sejm.gov.pl/Sejm10.nsf/druk.xsp?nr=1402"
    assert entry.language == "pl"
    assert entry.summary == ""
    assert entry.fingerprint == fingerprint(entry.title, "")
    assert feed.warning is None


def test_sejm_print_numbers_are_quoted_in_urls() -> None:
    feed = run(parse_sejm_prints, [{"number": "1410-A/B", "term": 10, "title": "T"}])
    assert (
        feed.entries[0].url
        == "https://www.sejm.gov.pl/Sejm10.nsf/druk.xsp?nr=1410-A%2FB"
    )


def test_sejm_dates_are_warsaw_midnight_in_utc() -> None:
    feed = by_guid(run(parse_sejm_prints, sample("sejm_prints.json")))
    summer = feed["sejm:term10:print:1410-A"]
    winter = feed["sejm:term10:print:1388"]
    # deliveryDate 2025-07-01 = 00:00 CEST (UTC+2); 2025-03-20 = 00:00 CET (UTC+1).
    assert summer.published_at == datetime(2025, 6, 30, 22, 0, tzinfo=UTC)
    assert winter.published_at == datetime(2025, 3, 19, 23, 0, tzinfo=UTC)
    assert summer.dated


def test_sejm_print_falls_back_to_document_date_then_fetch_time() -> None:
    feed = by_guid(run(parse_sejm_prints, sample("sejm_prints.json")))
    no_delivery = feed["sejm:term10:print:1415"]
    assert no_delivery.published_at == datetime(2025, 4, 13, 22, 0, tzinfo=UTC)
    undated = feed["sejm:term10:print:1420"]
    assert undated.published_at == FETCHED
    assert not undated.dated


def test_sejm_print_title_is_plain_text() -> None:
    feed = by_guid(run(parse_sejm_prints, sample("sejm_prints.json")))
    assert feed["sejm:term10:print:1415"].title == (
        "Informacja Rządu o zakupie amunicji kasetowej & sprzętu"
    )


def test_sejm_print_without_term_has_no_url() -> None:
    feed = run(parse_sejm_prints, [{"number": 7, "title": "Bez kadencji"}])
    entry = feed.entries[0]
    assert entry.guid == "sejm:term?:print:7"
    assert entry.url is None and entry.canonical_url is None


def test_sejm_prints_skip_bad_items_with_a_warning() -> None:
    body = [
        {
            "number": "1",
            "term": 10,
            "title": "Dobry druk",
            "deliveryDate": "2025-01-02",
        },
        {"number": "2", "term": 10},
        {"title": "bez numeru"},
        "not an object",
        {"number": "3", "term": 10, "title": "zła data", "deliveryDate": "2025-13-45"},
    ]
    feed = run(parse_sejm_prints, body)
    assert [e.guid for e in feed.entries] == [
        "sejm:term10:print:1",
        "sejm:term10:print:3",
    ]
    assert not feed.entries[1].dated
    assert (
        feed.warning == "sejm-prints: skipped 3 of 5 items without the expected fields"
    )


def test_sejm_prints_duplicate_numbers_become_one_entry() -> None:
    item = {"number": "9", "term": 10, "title": "Ten sam", "deliveryDate": "2025-01-02"}
    assert len(run(parse_sejm_prints, [item, dict(item)]).entries) == 1


def test_sejm_prints_keep_the_newest_entries_only() -> None:
    body = [
        {
            "number": str(n),
            "term": 10,
            "title": f"Druk {n}",
            "deliveryDate": "2020-01-01",
        }
        for n in range(MAX_ENTRIES + 20)
    ]
    body.append(
        {"number": "new", "term": 10, "title": "Nowy", "deliveryDate": "2025-01-01"}
    )
    feed = run(parse_sejm_prints, body)
    assert len(feed.entries) == MAX_ENTRIES
    assert feed.entries[0].guid == "sejm:term10:print:new"


def test_an_empty_list_is_an_empty_feed() -> None:
    feed = run(parse_sejm_prints, [])
    assert feed.entries == [] and feed.warning is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "sejm-prints: the response is empty, expected JSON"),
        (
            b"<html>Service unavailable</html>",
            "sejm-prints: not valid JSON (Expecting value at line 1, column 1)",
        ),
        (
            b'{"error": "not found"}',
            "sejm-prints: expected a JSON list of prints, got an object",
        ),
        (b'"prints"', "sejm-prints: expected a JSON list of prints, got a string"),
        (b"null", "sejm-prints: expected a JSON list of prints, got null"),
        (b"\xff\xfe[]", "sejm-prints: the response is not UTF-8 text"),
        (
            b'[{"title": "x"}, 3]',
            "sejm-prints: none of the 2 items had the expected fields",
        ),
        (
            b"[" * 100_000 + b"]" * 100_000,
            "sejm-prints: the JSON is nested too deeply to read",
        ),
    ],
)
def test_sejm_prints_malformed(body: bytes, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        run(parse_sejm_prints, body)
    assert str(caught.value).startswith(message)


def test_utf8_byte_order_mark_is_accepted() -> None:
    body = "\ufeff" + json.dumps([{"number": "1", "term": 10, "title": "Łódź"}])
    assert run(parse_sejm_prints, body.encode()).entries[0].title == "Łódź"


# -- Sejm interpellations and written questions -------------------------------


def test_sejm_interpellations_sample() -> None:
    feed = run(parse_sejm_interpellations, sample("sejm_interpellations.json"))
    assert [e.guid for e in feed.entries] == [
        "sejm:term10:interpellation:8201",
        "sejm:term10:interpellation:8200",
        "sejm:term10:interpellation:8123",
    ]
    first = by_guid(feed)["sejm:term10:interpellation:8123"]
    assert (
        first.url == "https://sejm.gov.pl/sejm10.nsf/interpelacja.xsp?typ=int&nr=8123"
    )
    assert (
        first.summary
        == "Adresaci: minister obrony narodowej; minister spraw zagranicznych"
    )
    assert "Konwencji ottawskiej" in first.title
    # receiptDate 2025-02-14, 00:00 in Warsaw (CET) = 23:00 UTC the day before.
    assert first.published_at == datetime(2025, 2, 13, 23, 0, tzinfo=UTC)


def test_sejm_interpellation_optional_fields() -> None:
    feed = by_guid(run(parse_sejm_interpellations, sample("sejm_interpellations.json")))
    bare = feed["sejm:term10:interpellation:8200"]
    # No web link: the API record itself; no receipt or sent date: lastModified (local).
    assert bare.url == "https://api.sejm.gov.pl/sejm/term10/interpellations/8200"
    assert bare.summary == ""
    assert bare.published_at == datetime(2025, 3, 2, 9, 0, tzinfo=UTC)


def test_sejm_interpellation_rejects_non_http_links() -> None:
    body = [
        {
            "num": 1,
            "term": 10,
            "title": "T",
            "links": [{"rel": "web-description", "href": "javascript:alert(1)"}],
        }
    ]
    assert run(parse_sejm_interpellations, body).entries[0].url == (
        "https://api.sejm.gov.pl/sejm/term10/interpellations/1"
    )


def test_sejm_written_questions_share_the_shape() -> None:
    body = [
        {
            "num": 77,
            "term": 10,
            "title": "Zapytanie w sprawie min",
            "receiptDate": "2025-05-05",
        }
    ]
    entry = run(parse_sejm_written_questions, body).entries[0]
    assert entry.guid == "sejm:term10:written-question:77"
    assert entry.url == "https://api.sejm.gov.pl/sejm/term10/writtenQuestions/77"


def test_sejm_interpellations_wrong_shape() -> None:
    with pytest.raises(
        ParseError, match="expected a JSON list of interpellations, got an object"
    ):
        run(parse_sejm_interpellations, {"num": 1})
    with pytest.raises(
        ParseError, match="sejm-written-questions: expected a JSON list of written"
    ):
        run(parse_sejm_written_questions, 5)


# -- Eduskunta ----------------------------------------------------------------


def test_eduskunta_vaski_sample() -> None:
    feed = run(parse_eduskunta_vaski, sample("eduskunta_vaski.json"))
    assert [e.guid for e in feed.entries] == [
        "eduskunta:vaski:340112",
        "eduskunta:vaski:340090",
        "eduskunta:vaski:340001",
    ]
    question, proposal, bare = feed.entries
    assert question.title == (
        "KK 412/2025 vp: Suomen irtautuminen Ottawan sopimuksesta ja jalkaväkimiinojen hankinta"
    )
    assert question.summary == "Kirjallinen kysymys"
    assert (
        question.url
        == "https://www.eduskunta.fi/FI/vaski/Kysymys/Documents/KK_412+2025.pdf"
    )
    assert question.language == "fi"
    assert proposal.title.startswith("HE 78/2025 vp: Hallituksen esitys")
    assert bare.title == "Rypäleaseiden kieltosopimus & Suomi"
    assert feed.warning is None


def test_eduskunta_dates_are_helsinki_time_in_utc() -> None:
    feed = by_guid(run(parse_eduskunta_vaski, sample("eduskunta_vaski.json")))
    # 14:05:31 EEST (UTC+3); a date alone is 00:00 EEST.
    assert feed["eduskunta:vaski:340112"].published_at == datetime(
        2025, 6, 18, 11, 5, 31, tzinfo=UTC
    )
    assert feed["eduskunta:vaski:340090"].published_at == datetime(
        2025, 6, 16, 21, 0, tzinfo=UTC
    )
    assert not feed["eduskunta:vaski:340001"].dated


def test_eduskunta_url_fallbacks() -> None:
    feed = by_guid(run(parse_eduskunta_vaski, sample("eduskunta_vaski.json")))
    # No document link: the matter's processing page built from its id.
    assert feed["eduskunta:vaski:340090"].url == (
        "https://www.eduskunta.fi/FI/vaski/KasittelytiedotValtiopaivaasia/Sivut/HE_78+2025.aspx"
    )
    # Neither: nothing to link to.
    assert feed["eduskunta:vaski:340001"].url is None
    # Only the data link: the API row, resolved against the API host.
    body = {
        "columnNames": ["Id", "NimekeTeksti", "Data"],
        "rowData": [
            [
                "5",
                "Otsikko",
                '<a href="api/v1/tables/VaskiData/rows?columnName=Id&amp;columnValue=5">x</a>',
            ]
        ],
    }
    assert run(parse_eduskunta_vaski, body).entries[0].url == (
        "https://avoindata.eduskunta.fi/api/v1/tables/VaskiData/rows?columnName=Id&columnValue=5"
    )


def test_eduskunta_columns_by_name_in_any_order_and_case() -> None:
    body = {
        "columnNames": ["Kielikoodi", "NIMEKETEKSTI", "id", "Eduskuntatunnus"],
        "rowData": [["sv", "Ottawakonventionen", 17, "KK 5/2025 vp"], ["fi", "lyhyt"]],
    }
    feed = run(parse_eduskunta_vaski, body)
    assert feed.entries[0].guid == "eduskunta:vaski:17"
    assert feed.entries[0].language == "sv"
    assert feed.entries[0].title == "KK 5/2025 vp: Ottawakonventionen"
    assert (
        feed.warning
        == "eduskunta-vaski: skipped 1 of 2 items without the expected fields"
    )


def test_eduskunta_default_language_when_no_language_column() -> None:
    body = {"columnNames": ["Id", "NimekeTeksti"], "rowData": [["1", "Otsikko"]]}
    assert run(parse_eduskunta_vaski, body).entries[0].language == "fi"
    assert (
        run(parse_eduskunta_vaski, body, language="sv-FI").entries[0].language == "sv"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            [],
            "eduskunta-vaski: expected a JSON object with columnNames and rowData, got a list",
        ),
        ({"rowData": []}, "eduskunta-vaski: expected `columnNames` as a list of names"),
        (
            {"columnNames": ["Id", 3], "rowData": []},
            "eduskunta-vaski: expected `columnNames` as a list of names",
        ),
        (
            {"columnNames": ["Id", "XmlData", "Status", "Created"], "rowData": []},
            "eduskunta-vaski: expected the columns Id and NimekeTeksti of the document list; missing NimekeTeksti",
        ),
        (
            {"columnNames": ["Id", "NimekeTeksti"]},
            "eduskunta-vaski: expected `rowData` as a list, got null",
        ),
        (
            {"columnNames": ["Id", "NimekeTeksti"], "rowData": [["1"], "x"]},
            "eduskunta-vaski: none of the 2 items had the expected fields",
        ),
    ],
)
def test_eduskunta_malformed(body: object, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        run(parse_eduskunta_vaski, body)
    assert str(caught.value) == message


def test_eduskunta_truncated_json() -> None:
    with pytest.raises(ParseError, match=r"^eduskunta-vaski: not valid JSON"):
        run(parse_eduskunta_vaski, sample("eduskunta_vaski.json")[:200])


# -- registry -----------------------------------------------------------------


def test_registry_names_match_and_examples_are_https() -> None:
    assert set(PARLIAMENT_FORMATS) == {
        "sejm-prints",
        "sejm-interpellations",
        "sejm-written-questions",
        "eduskunta-vaski",
    }
    for name, fmt in PARLIAMENT_FORMATS.items():
        assert fmt.name == name
        assert fmt.example_url.startswith("https://")
        assert fmt.state in {"PL", "FI"} and fmt.language in {"pl", "fi"}


@pytest.mark.parametrize(
    ("name", "file"),
    [
        ("sejm-prints", "sejm_prints.json"),
        ("sejm-interpellations", "sejm_interpellations.json"),
        ("eduskunta-vaski", "eduskunta_vaski.json"),
    ],
)
def test_registry_parsers_read_their_samples(name: str, file: str) -> None:
    fmt = PARLIAMENT_FORMATS[name]
    feed = fmt.parse(sample(file), fetched_at=FETCHED, default_language=fmt.language)
    assert feed.entries
    assert all(e.language == fmt.language for e in feed.entries)
    assert all(e.published_at.tzinfo is not None for e in feed.entries)


def test_hostile_identifiers_are_made_safe() -> None:
    body = [
        {"number": "12\x00", "term": 10, "title": "NUL w numerze"},
        {"number": "9" * 5000, "term": 10, "title": "Bardzo długi numer"},
    ]
    guids = {e.title: e for e in run(parse_sejm_prints, body).entries}
    assert guids["NUL w numerze"].guid == "sejm:term10:print:12"
    long = guids["Bardzo długi numer"]
    assert long.guid.startswith("sha256:") and long.url is None
