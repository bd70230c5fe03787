"""Parliament open-data APIs as feeds: a JSON body in, `Entry` values out.

Each supported API response shape has a pure parser and a `ParliamentFormat`
in `PARLIAMENT_FORMATS`; a feed picks one with its `format` key in the config.
Parsers never fetch: the body comes from the ordinary fetcher, so conditional
GET, retries and size caps work as for RSS.

Rules shared by every parser:
  * the wrong shape (not JSON, not the documented list or object) raises
    `ParseError` with a message naming the format and what was expected;
  * a single malformed item is skipped and counted in `ParsedFeed.warning`;
    if items were there but none was usable, that is a `ParseError` too;
  * dates in the APIs are local dates (Warsaw, Helsinki) without an offset:
    a date alone means 00:00 local time; everything is stored in UTC;
  * at most `MAX_ENTRIES` entries are kept, newest first, one per guid.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Protocol
from urllib.parse import quote, urljoin, urlsplit
from zoneinfo import ZoneInfo

from feeds.canonical import canonical_url
from feeds.entry import Entry, ParsedFeed
from feeds.parse import MAX_URL, ParseError, fingerprint
from feeds.text import plain_text, without_controls

MAX_ENTRIES = 500
_MAX_NESTING = 3  # Sejm prints hold `additionalPrints`, which are prints again
WARSAW = ZoneInfo("Europe/Warsaw")
HELSINKI = ZoneInfo("Europe/Helsinki")


class ParliamentParser(Protocol):
    def __call__(
        self, body: bytes, *, fetched_at: datetime, default_language: str | None
    ) -> ParsedFeed: ...


@dataclass(frozen=True)
class ParliamentFormat:
    """One API response shape the bot can read, chosen by a feed's `format` key."""

    name: str
    description: str
    parse: ParliamentParser
    example_url: str
    language: str
    state: str


@dataclass(frozen=True)
class _Item:
    guid: str
    url: str | None
    title: str
    summary: str
    language: str | None
    published: datetime | None


class _Skip(Exception):
    """One item is unusable; the parser skips it and counts it."""


# -- shared helpers ----------------------------------------------------------


def _json(body: bytes, fmt: str) -> object:
    if not body.strip():
        raise ParseError(f"{fmt}: the response is empty, expected JSON")
    try:
        # utf-8-sig: a byte-order mark is legal before JSON and harmless.
        return json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"{fmt}: the response is not UTF-8 text: {exc.reason}"
        ) from exc
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"{fmt}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from exc
    except RecursionError as exc:
        raise ParseError(f"{fmt}: the JSON is nested too deeply to read") from exc


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    return "null" if value is None else type(value).__name__


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _ident(value: object) -> str:
    """A document number: a non-empty string or an integer, as text."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        # Control characters (NUL above all) cannot go into a database key.
        return without_controls(value).strip()
    return ""


def _local_time(value: object, tz: ZoneInfo) -> datetime | None:
    """An ISO date or date-time in local time `tz`, as UTC; None if unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:  # "2025-06-17": a date alone is 00:00 local time
            local = datetime.combine(datetime.fromisoformat(text).date(), time(), tz)
        else:
            local = datetime.fromisoformat(text)
            if local.tzinfo is None:
                local = local.replace(tzinfo=tz)
        return local.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _http_url(value: str | None) -> str | None:
    if not value or len(value) > MAX_URL:
        return None
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def _entries(
    fmt: str,
    raw: Iterable[object],
    read: Callable[[object], _Item],
    fetched_at: datetime,
) -> ParsedFeed:
    items: list[_Item] = []
    seen = skipped = 0
    for value in raw:
        seen += 1
        try:
            items.append(read(value))
        except _Skip:
            skipped += 1
    if seen and not items:
        raise ParseError(f"{fmt}: none of the {seen} items had the expected fields")
    # Newest first, undated last; the guid breaks ties so the order is stable.
    items.sort(
        key=lambda i: (i.published is not None, i.published or fetched_at, i.guid)
    )
    items.reverse()
    entries: list[Entry] = []
    guids: set[str] = set()
    for item in items:
        if item.guid in guids:
            continue
        guids.add(item.guid)
        entries.append(_entry(item, fetched_at))
        if len(entries) == MAX_ENTRIES:
            break
    warning = None
    if skipped:
        warning = (
            f"{fmt}: skipped {skipped} of {seen} items without the expected fields"
        )
    return ParsedFeed(entries=entries, warning=warning)


def _entry(item: _Item, fetched_at: datetime) -> Entry:
    title = plain_text(item.title)
    summary = plain_text(item.summary)
    canonical = canonical_url(item.url)
    guid = item.guid
    if len(guid) > MAX_URL:  # as feeds.parse does: a hash cannot collide like a cut
        guid = "sha256:" + hashlib.sha256(guid.encode()).hexdigest()
    return Entry(
        guid=guid,
        url=item.url,
        canonical_url=canonical if canonical and len(canonical) <= MAX_URL else None,
        title=title,
        summary=summary,
        language=item.language,
        published_at=item.published or fetched_at,
        dated=item.published is not None,
        fingerprint=fingerprint(title, summary),
    )


def _language(value: object, default: str | None, fallback: str) -> str:
    for candidate in (value, default):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip().split("-")[0].split("_")[0].lower()[:8]
    return fallback


# -- Sejm (Poland) -----------------------------------------------------------
# API documentation: https://api.sejm.gov.pl/sejm.html ; OpenAPI:
# https://api.sejm.gov.pl/sejm/openapi/ . Field names follow the OpenAPI `Print`
# schema (term, number, title, documentDate, deliveryDate, changeDate,
# additionalPrints), seen in clients generated from it.

SEJM_PRINTS = "sejm-prints"
SEJM_INTERPELLATIONS = "sejm-interpellations"
SEJM_WRITTEN_QUESTIONS = "sejm-written-questions"


def _sejm_term(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _sejm_list(body: bytes, fmt: str, what: str) -> list[object]:
    data = _json(body, fmt)
    if not isinstance(data, list):
        raise ParseError(f"{fmt}: expected a JSON list of {what}, got {_kind(data)}")
    return data


def _flatten_prints(values: Iterable[object], depth: int = 0) -> Iterator[object]:
    for value in values:
        yield value
        nested = value.get("additionalPrints") if isinstance(value, dict) else None
        if isinstance(nested, list) and depth < _MAX_NESTING:
            yield from _flatten_prints(nested, depth + 1)


def _read_print(value: object, default_language: str | None) -> _Item:
    if not isinstance(value, Mapping):
        raise _Skip
    number = _ident(value.get("number"))
    title = _text(value.get("title"))
    if not number or not title.strip():
        raise _Skip
    term = _sejm_term(value.get("term"))
    url = None
    if term is not None:
        # The public page of a print; the pattern sejm.gov.pl itself links to
        # (e.g. https://www.sejm.gov.pl/Sejm10.nsf/druk.xsp?nr=2690).
        url = _http_url(
            f"https://www.sejm.gov.pl/Sejm{term}.nsf/druk.xsp?nr={quote(number, safe='')}"
        )
    # deliveryDate: when the print was delivered to MPs, i.e. made public.
    published = _local_time(value.get("deliveryDate"), WARSAW) or _local_time(
        value.get("documentDate"), WARSAW
    )
    return _Item(
        guid=f"sejm:term{term or '?'}:print:{number}",
        url=url,
        title=title,
        summary="",
        language=_language(None, default_language, "pl"),
        published=published,
    )


def parse_sejm_prints(
    body: bytes, *, fetched_at: datetime, default_language: str | None
) -> ParsedFeed:
    """GET /sejm/term{term}/prints: a list of prints (druki), additional prints included."""
    data = _sejm_list(body, SEJM_PRINTS, "prints")
    return _entries(
        SEJM_PRINTS,
        _flatten_prints(data),
        lambda v: _read_print(v, default_language),
        fetched_at,
    )


def _read_letter(value: object, kind: str, default_language: str | None) -> _Item:
    # Interpellations and written questions share one record shape: num, title,
    # receiptDate, sentDate, lastModified, to[], links[{href, rel}].
    if not isinstance(value, Mapping):
        raise _Skip
    num = _ident(value.get("num"))
    title = _text(value.get("title"))
    if not num or not title.strip():
        raise _Skip
    term = _sejm_term(value.get("term"))
    url = None
    links = value.get("links")
    for link in links if isinstance(links, list) else ():
        if isinstance(link, Mapping) and link.get("rel") == "web-description":
            url = _http_url(_text(link.get("href")).strip())
            break
    if url is None and term is not None:
        path = "interpellations" if kind == "interpellation" else "writtenQuestions"
        url = f"https://api.sejm.gov.pl/sejm/term{term}/{path}/{num}"
    recipients = value.get("to")
    names = [
        n.strip()
        for n in (recipients if isinstance(recipients, list) else ())
        if isinstance(n, str) and n.strip()
    ]
    published = (
        _local_time(value.get("receiptDate"), WARSAW)
        or _local_time(value.get("sentDate"), WARSAW)
        or _local_time(value.get("lastModified"), WARSAW)
    )
    return _Item(
        guid=f"sejm:term{term or '?'}:{kind}:{num}",
        url=url,
        title=title,
        summary=f"Adresaci: {'; '.join(names)}" if names else "",
        language=_language(None, default_language, "pl"),
        published=published,
    )


def parse_sejm_interpellations(
    body: bytes, *, fetched_at: datetime, default_language: str | None
) -> ParsedFeed:
    """GET /sejm/term{term}/interpellations: MPs' interpellations to the government."""
    data = _sejm_list(body, SEJM_INTERPELLATIONS, "interpellations")
    return _entries(
        SEJM_INTERPELLATIONS,
        data,
        lambda v: _read_letter(v, "interpellation", default_language),
        fetched_at,
    )


def parse_sejm_written_questions(
    body: bytes, *, fetched_at: datetime, default_language: str | None
) -> ParsedFeed:
    """GET /sejm/term{term}/writtenQuestions: MPs' written questions (zapytania)."""
    data = _sejm_list(body, SEJM_WRITTEN_QUESTIONS, "written questions")
    return _entries(
        SEJM_WRITTEN_QUESTIONS,
        data,
        lambda v: _read_letter(v, "written-question", default_language),
        fetched_at,
    )


# -- Eduskunta (Finland) -----------------------------------------------------
# https://avoindata.eduskunta.fi/ (help: /help.html, API: /swagger/apidocs.html).
# The document list /api/v1/vaski/asiakirjatyyppinimi answers in the API's
# `TableData` shape: columnNames[] plus rowData[][] in the same order. Some
# cells hold XML or an <a href> element rather than plain text.

EDUSKUNTA_VASKI = "eduskunta-vaski"
_EDUSKUNTA_API = "https://avoindata.eduskunta.fi/"
_TAG = re.compile(r"<[^<>]*>")
_HREF = re.compile(r"""href\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
# "HE 70/2026 vp": type code, number, year (the matter's parliamentary id).
_TUNNUS = re.compile(r"^([A-Za-zÅÄÖåäö]+)\s+(\d+)\s*/\s*(\d{4})(?:\s+vp)?$")


def _cell_text(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    text = _text(value)
    # Regex, not an XML parser: a cell is a fragment with undeclared prefixes,
    # and no entity expansion can happen here.
    return html.unescape(_TAG.sub(" ", text)) if "<" in text else text


def _cell_href(value: object) -> str | None:
    text = _text(value)
    match = _HREF.search(text)
    if match:
        return _http_url(urljoin(_EDUSKUNTA_API, html.unescape(match.group(1)).strip()))
    return _http_url(text.strip())


def _matter_page(tunnus: str) -> str | None:
    # The public processing page of a matter, a pattern eduskunta.fi links use:
    # https://www.eduskunta.fi/FI/vaski/KasittelytiedotValtiopaivaasia/Sivut/HE_70+2026.aspx
    match = _TUNNUS.match(tunnus)
    if not match:
        return None
    code, number, year = match.groups()
    return (
        "https://www.eduskunta.fi/FI/vaski/KasittelytiedotValtiopaivaasia/Sivut/"
        f"{code.upper()}_{int(number)}+{year}.aspx"
    )


def _column_key(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def _columns(data: Mapping[str, object]) -> dict[str, int]:
    names = data.get("columnNames")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ParseError(
            f"{EDUSKUNTA_VASKI}: expected `columnNames` as a list of names"
        )
    # Case differs between tables (EduskuntaTunnus / Eduskuntatunnus).
    return {_column_key(name): index for index, name in enumerate(names)}


def _read_vaski_row(
    row: object, columns: Mapping[str, int], default_language: str | None
) -> _Item:
    if not isinstance(row, list):
        raise _Skip

    def cell(name: str) -> object:
        index = columns.get(_column_key(name))
        return row[index] if index is not None and index < len(row) else None

    row_id = _ident(cell("Id"))
    title = _cell_text(cell("NimekeTeksti")).strip()
    if not row_id or not title:
        raise _Skip
    # The id may be listed twice ("HE 70/2026 vp, HE 70/2026 vp"): keep the first.
    tunnus = " ".join(_cell_text(cell("EduskuntaTunnus")).split(",")[0].split())
    if tunnus and tunnus.casefold() not in title.casefold():
        title = f"{tunnus}: {title}"
    url = (
        _cell_href(cell("Url"))
        or (_matter_page(tunnus) if tunnus else None)
        or _cell_href(cell("Data"))
    )
    return _Item(
        guid=f"eduskunta:vaski:{row_id}",
        url=url,
        title=title,
        summary=_cell_text(cell("AsiakirjatyyppiNimi")),
        language=_language(_cell_text(cell("Kielikoodi")), default_language, "fi"),
        published=_local_time(_cell_text(cell("Päivämäärä")), HELSINKI),
    )


def parse_eduskunta_vaski(
    body: bytes, *, fetched_at: datetime, default_language: str | None
) -> ParsedFeed:
    """GET /api/v1/vaski/asiakirjatyyppinimi: parliamentary documents of one type."""
    data = _json(body, EDUSKUNTA_VASKI)
    if not isinstance(data, dict):
        raise ParseError(
            f"{EDUSKUNTA_VASKI}: expected a JSON object with columnNames and rowData, "
            f"got {_kind(data)}"
        )
    columns = _columns(data)
    missing = [n for n in ("Id", "NimekeTeksti") if _column_key(n) not in columns]
    if missing:
        raise ParseError(
            f"{EDUSKUNTA_VASKI}: expected the columns Id and NimekeTeksti of the "
            f"document list; missing {', '.join(missing)}"
        )
    rows = data.get("rowData")
    if not isinstance(rows, list):
        raise ParseError(
            f"{EDUSKUNTA_VASKI}: expected `rowData` as a list, got {_kind(rows)}"
        )
    return _entries(
        EDUSKUNTA_VASKI,
        rows,
        lambda r: _read_vaski_row(r, columns, default_language),
        fetched_at,
    )


# -- registry ----------------------------------------------------------------

PARLIAMENT_FORMATS: dict[str, ParliamentFormat] = {
    f.name: f
    for f in (
        ParliamentFormat(
            name=SEJM_PRINTS,
            description="Sejm prints (druki): bills, reports, opinions of the current term",
            parse=parse_sejm_prints,
            # The whole term's list (a few MB): poll it hourly, not every 10 minutes.
            example_url="https://api.sejm.gov.pl/sejm/term10/prints",
            language="pl",
            state="PL",
        ),
        ParliamentFormat(
            name=SEJM_INTERPELLATIONS,
            description="Sejm interpellations: MPs' formal questions to the government",
            parse=parse_sejm_interpellations,
            # Paged (offset/limit, https://api.sejm.gov.pl/sejm.html); newest first.
            example_url=(
                "https://api.sejm.gov.pl/sejm/term10/interpellations?sort_by=-num&limit=100"
            ),
            language="pl",
            state="PL",
        ),
        ParliamentFormat(
            name=SEJM_WRITTEN_QUESTIONS,
            description="Sejm written questions (zapytania pisemne) of MPs",
            parse=parse_sejm_written_questions,
            example_url=(
                "https://api.sejm.gov.pl/sejm/term10/writtenQuestions?sort_by=-num&limit=100"
            ),
            language="pl",
            state="PL",
        ),
        ParliamentFormat(
            name=EDUSKUNTA_VASKI,
            description="Eduskunta parliamentary documents of one type (Vaski data)",
            parse=parse_eduskunta_vaski,
            # perPage is at most 100; filter = the document type's Finnish name.
            example_url=(
                "https://avoindata.eduskunta.fi/api/v1/vaski/asiakirjatyyppinimi"
                "?filter=Kirjallinen+kysymys&languageCode=fi&page=0&perPage=100"
            ),
            language="fi",
            state="FI",
        ),
    )
}
