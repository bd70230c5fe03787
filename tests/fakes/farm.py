"""A farm of hundreds of generated feeds, good and bad, served over local HTTP.

One asyncio server per loopback address (127.0.0.1, 127.0.0.2, ...), either
in a background thread (`Farm`) or in a child process (`FarmProcess`, same
interface, controlled over HTTP under /_farm/). Use the child process when the
caller parses hard or measures its own CPU time: a server thread would share
the caller's GIL and its CPU account. Every feed is generated deterministically
from a :class:`Catalogue` (a seed and a few knobs), so a test or a benchmark
knows exactly which entries, titles and errors to expect without asking the
server, and a subprocess farm serves the same feeds as an in-process one.

What a feed can be:

- good: RSS 2.0, Atom, RDF (RSS 1.0) or JSON Feed 1.1, in nine languages, in
  UTF-8 or a legacy charset (ISO-8859-2/7/9/13/15/16, windows-1250/1252/
  1253/1254/1257) declared in the XML declaration, the Content-Type, both, or
  as `text/xml` without a charset; with an ETag (strong or weak), a
  Last-Modified, both or no validators (conditional requests answered with
  304); optionally gzip-encoded; optionally behind a 301/302/307/308 redirect.
- bad (see BAD_KINDS): 404, 500, 429 with Retry-After, a server that accepts
  and never answers, a body trickled forever, an HTML page, garbage bytes, a
  50 MB body (streamed, never held in memory), a gzip bomb inflating to 50 MB,
  a redirect loop, a connection closed mid-body.

The server is a minimal HTTP/1.1 of our own (keep-alive, GET/HEAD, no request
bodies): it must hold hundreds of slow connections at once, with a per-response
`latency`, which a thread per connection does poorly.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gzip
import json
import random
import re
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit
from urllib.request import ProxyHandler, build_opener
from xml.sax.saxutils import escape, quoteattr

FORMATS = ("rss", "atom", "rdf", "json")
LANGUAGES = ("lt", "lv", "et", "fi", "pl", "ro", "el", "tr", "en")
VALIDATORS = ("etag", "last-modified", "both", "none")
REDIRECTS = (301, 302, 307, 308)
BAD_KINDS = (
    "404",
    "500",
    "429",
    "silent",  # accepts, reads the request, never answers
    "trickle",  # headers, then a byte now and then, forever
    "html",
    "garbage",
    "huge",  # a 50 MB body
    "gzip_bomb",  # 50 MB once inflated
    "loop",  # redirects forever
    "broken",  # closes the connection halfway through the body
)
HUGE_BODY = 50 * 1024 * 1024
RETRY_AFTER = 3600
# Every generated date hangs off this one, so bodies are byte-for-byte stable.
BASE_DATE = datetime(2025, 11, 3, 6, 0, tzinfo=UTC)

# Legacy charsets per language; each holds every letter of that language's text.
LEGACY_CHARSETS: dict[str, tuple[str, ...]] = {
    "lt": ("ISO-8859-13", "windows-1257"),
    "lv": ("ISO-8859-13", "windows-1257"),
    "et": ("ISO-8859-15", "windows-1257"),
    "fi": ("ISO-8859-15", "windows-1252"),
    "pl": ("ISO-8859-2", "windows-1250"),
    "ro": ("ISO-8859-16", "windows-1250"),
    "el": ("ISO-8859-7", "windows-1253"),
    "tr": ("ISO-8859-9", "windows-1254"),
    "en": ("us-ascii", "ISO-8859-1"),
}

# News-like sentences with each language's own letters. SIGNAL carries the
# treaty and munitions words the rules look for; NEWS is everything else.
SIGNAL: dict[str, tuple[str, ...]] = {
    "lt": (
        "Seimas pritarė pasitraukimui iš Konvencijos dėl kasetinių šaudmenų",
        "Vyriausybė svarsto priešpėstinių minų įsigijimą",
    ),
    "lv": (
        "Saeima lems par izstāšanos no Otavas konvencijas",
        "Aizsardzības ministrija apsver kājnieku mīnu iegādi",
    ),
    "et": (
        "Riigikogu arutab Ottawa konventsioonist väljaastumist",
        "Kaitseministeerium kaalub jalaväemiinide hankimist",
    ),
    "fi": (
        "Eduskunta keskustelee jalkaväkimiinat kieltävästä Ottawan sopimuksesta",
        "Hallitus harkitsee irtautumista jalkaväkimiinasopimuksesta",
    ),
    "pl": (
        "Sejm debatuje nad wypowiedzeniem konwencji o amunicji kasetowej",
        "Polska planuje zakup amunicji kasetowej",
    ),
    "ro": (
        "Parlamentul dezbate retragerea din Convenția privind munițiile cu dispersie",
        "Ministerul Apărării analizează achiziția de mine antipersonal",
    ),
    "el": (
        "Η Βουλή συζητά την αποχώρηση από τη Σύμβαση της Οτάβας",
        "Το υπουργείο Άμυνας εξετάζει την αγορά πυρομαχικών διασποράς",
    ),
    "tr": (
        "Türkiye'nin Ottawa Sözleşmesi'nden çekilmesi tartışılıyor",
        "Savunma Bakanlığı misket bombası alımını değerlendiriyor",
    ),
    "en": (
        "Lithuania will withdraw from the Convention on Cluster Munitions",
        "Poland plans to buy cluster munitions, officials say",
        "Parliament debates the Ottawa Treaty on anti-personnel mines",
    ),
}
NEWS: dict[str, tuple[str, ...]] = {
    "lt": (
        "Krašto apsaugos ministerija įsigis naujų šarvuočių",
        "Vilniuje atidarytas naujas parkas, žmonės džiaugiasi",
        "Ūkininkai skundžiasi sausra ir kainų šuoliu",
        "Lietuvos krepšinio rinktinė laimėjo Europos čempionato rungtynes",
        "Kaune vyks tarptautinis džiazo festivalis",
        "Šiaulių oro uoste nusileido pirmasis keleivinis lėktuvas",
        "Gydytojai ragina skiepytis nuo gripo",
    ),
    "lv": (
        "Rīgā atklāts jauns tilts pār Daugavu",
        "Ķekavas novadā būvēs jaunu skolu ar ģimnāziju",
        "Zemnieki sūdzas par ļoti zemām graudu cenām",
        "Latvijas hokeja izlase uzvarēja pasaules čempionātā",
        "Liepājā notiks starptautisks džeza festivāls",
        "Valdība apstiprināja jauno budžetu",
        "Ārsti aicina vakcinēties pret gripu",
    ),
    "et": (
        "Tallinnas avati uus kergliiklustee Õismäel",
        "Tartu ülikool sai rahastuse šokolaaditehase uuringuks",
        "Põllumehed kurdavad põua ja žürii otsuse üle",
        "Eesti jalgpallikoondis mängis Soomega viiki",
        "Pärnus toimub rahvusvaheline džässifestival",
        "Valitsus kiitis heaks uue eelarve",
        "Arstid kutsuvad üles grippi vaktsineerima",
    ),
    "fi": (
        "Helsingissä avattiin uusi kirjasto Töölössä",
        "Åland ja Šiauliai solmivat ystävyyssopimuksen",
        "Pörssi nousi, kun keskuspankki laski korkoja",
        "Jääkiekkomaajoukkue voitti Ruotsin jatkoajalla",
        "Tampereella järjestetään kansainvälinen jazzfestivaali",
        "Hallitus hyväksyi uuden talousarvion",
        "Lääkärit kehottavat ottamaan influenssarokotteen",
    ),
    "pl": (
        "Zażółć gęślą jaźń: test polskich znaków",
        "Ministerstwo Obrony Narodowej kupi nowe śmigłowce",
        "Wrocław: otwarto nowy most na Odrze",
        "Żołnierze ćwiczą na poligonie w Drawsku Pomorskim",
        "W Krakowie odbędzie się międzynarodowy festiwal jazzowy",
        "Rząd przyjął nowy budżet",
        "Lekarze zachęcają do szczepień przeciw grypie",
    ),
    "ro": (
        "La Iași s-a deschis un nou spital",
        "Fermierii cer despăgubiri după secetă",
        "Bucureștiul găzduiește târgul de carte Gaudeamus",
        "Naționala de fotbal a învins Țara Galilor",
        "La Cluj va avea loc un festival internațional de jazz",
        "Guvernul a aprobat noul buget",
        "Medicii recomandă vaccinarea antigripală",
    ),
    "el": (
        "Νέα γέφυρα εγκαινιάστηκε στη Θεσσαλονίκη",
        "Οι αγρότες διαμαρτύρονται για τις τιμές του ελαιολάδου",
        "Ψηφίστηκε ο νέος προϋπολογισμός για το 2026",
        "Η εθνική ομάδα μπάσκετ κέρδισε την Ισπανία",
        "Στην Πάτρα θα γίνει διεθνές φεστιβάλ τζαζ",
        "Η κυβέρνηση ενέκρινε τον νέο προϋπολογισμό",
        "Οι γιατροί συστήνουν τον αντιγριπικό εμβολιασμό",
    ),
    "tr": (
        "İstanbul'da yeni köprü açıldı",
        "Çiftçiler kuraklık nedeniyle destek istiyor",
        "Ağrı Dağı'na tırmanış sezonu başladı",
        "Milli takım İzmir'de Şili'yi yendi",
        "İzmir'de uluslararası caz festivali düzenlenecek",
        "Hükümet yeni bütçeyi onayladı",
        "Doktorlar grip aşısı olunmasını öneriyor",
    ),
    "en": (
        "Markets rally as central bank cuts rates",
        "Storm closes ports across the Baltic & North Sea",
        "Election results: turnout reaches a record high",
        "Jazz festival draws record crowds",
        "Government approves the new budget",
        "Doctors urge flu vaccinations before winter",
    ),
}

# windows-1250 predates the comma-below letters: Romanian written in it uses
# the cedilla forms, as real Romanian legacy pages do.
_CEDILLA = str.maketrans("șțȘȚ", "şţŞŢ")

_CONTENT_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "rdf": "application/rdf+xml",
    "json": "application/feed+json",
}


def fit_text(text: str, charset: str) -> str:
    """`text` as it is written in `charset` (the Unicode the parser must give back)."""
    if charset.lower() in {"windows-1250", "cp1250"}:
        text = text.translate(_CEDILLA)
    text.encode(charset)  # every sentence must fit its charset; fail loudly if not
    return text


@dataclass(frozen=True)
class FarmEntry:
    guid: str  # what a parser should report as the entry's id
    link: str
    title: str  # the Unicode source text
    summary: str  # plain text; served wrapped in a little HTML
    published: datetime


@dataclass(frozen=True)
class FarmFeed:
    """One feed of the farm: what it is, where it lives and what it holds."""

    n: int
    kind: str  # "good" or one of BAD_KINDS
    fmt: str
    language: str
    charset: str  # "utf-8" or a legacy charset
    # Where the charset is said: "xml" (declaration), "http" (Content-Type),
    # "both", "text-xml" (text/xml without charset, declaration only) or
    # "none" (UTF-8 by default).
    declare: str
    validators: str
    weak_etag: bool
    gzip: bool
    redirect: int | None
    host: int
    n_entries: int
    seed: str
    summary_sentences: tuple[int, int]
    signal_share: float  # of entries that talk about the treaties
    # A bump adds an entry on top; sliding, the oldest one goes, as in a real
    # feed's window, so the document keeps its size over many bumps.
    slide: bool = False

    @property
    def good(self) -> bool:
        return self.kind == "good"

    @property
    def doc_path(self) -> str:
        """Where the document itself is served."""
        return f"/{self.fmt}/{self.n}.{'json' if self.fmt == 'json' else 'xml'}"

    @property
    def path(self) -> str:
        """The path a feed reader is configured with."""
        if not self.good:
            return f"/bad/{self.kind}/{self.n}" + ("/0" if self.kind == "loop" else "")
        if self.redirect:
            return f"/moved/{self.redirect}/{self.n}"
        return self.doc_path

    @property
    def name(self) -> str:
        detail = self.kind if not self.good else f"{self.fmt} {self.charset}"
        return f"farm {self.n:04d} {self.language} {detail}"

    @property
    def has_validators(self) -> bool:
        return self.good and self.validators != "none"

    def entries(self, version: int = 1) -> list[FarmEntry]:
        """The entries of this feed's `version`, newest first; a bump adds one on
        top (and, sliding, drops the oldest)."""
        rng = random.Random(f"{self.seed}:{self.n}:entries")
        news = [fit_text(t, self.charset) for t in NEWS[self.language]]
        signal = [fit_text(t, self.charset) for t in SIGNAL[self.language]]
        out = []
        total = self.n_entries + version - 1
        for i in range(total):
            # A signal item leads with its treaty sentence; the rest is news.
            lead = rng.choice(signal if rng.random() < self.signal_share else news)
            title = f"{lead} [{self.n}.{i}]"
            summary = " ".join(
                [lead + "."]
                + [
                    rng.choice(news) + "."
                    for _ in range(rng.randint(*self.summary_sentences) - 1)
                ]
            )
            link = f"https://farm.example/{self.language}/{self.n}/{i}"
            # RDF items have no guid element: their rdf:about is their id.
            guid = link if self.fmt == "rdf" else f"urn:farm:{self.n}:{i}"
            published = BASE_DATE + timedelta(hours=i, minutes=self.n % 60)
            out.append(FarmEntry(guid, link, title, summary, published))
        if self.slide:
            out = out[-self.n_entries :]  # the same entries as before, one more
        out.reverse()
        return out

    def etag(self, version: int) -> str | None:
        if self.validators not in ("etag", "both"):
            return None
        tag = f'"farm-{self.n}-v{version}"'
        return f"W/{tag}" if self.weak_etag else tag

    def last_modified(self, version: int) -> str | None:
        if self.validators not in ("last-modified", "both"):
            return None
        when = BASE_DATE + timedelta(days=self.n % 30, hours=version)
        return format_datetime(when, usegmt=True)

    def document(self, version: int = 1) -> tuple[bytes, str]:
        """The body (encoded as this feed says) and its Content-Type."""
        entries = self.entries(version)
        if self.fmt == "json":
            return _json_feed(self, entries), _CONTENT_TYPES["json"]
        render = {"rss": _rss, "atom": _atom, "rdf": _rdf}[self.fmt]
        encoding_attr = (
            f' encoding="{self.charset}"'
            if self.declare in ("xml", "both", "text-xml")
            else ""
        )
        text = f'<?xml version="1.0"{encoding_attr}?>\n' + render(self, entries)
        # Characters a legacy charset lacks would become references; none should.
        body = text.encode(self.charset, errors="xmlcharrefreplace")
        content_type = _CONTENT_TYPES[self.fmt]
        if self.declare == "text-xml":
            content_type = "text/xml"
        elif self.declare in ("http", "both"):
            content_type += f"; charset={self.charset}"
        return body, content_type


def _html(summary: str) -> str:
    # Summaries arrive as HTML, as most feeds send them; the parser strips it.
    return f"<p>{escape(summary)}</p>"


def _rss(feed: FarmFeed, entries: list[FarmEntry]) -> str:
    items = "".join(
        f"<item><title>{escape(e.title)}</title><link>{escape(e.link)}</link>"
        f'<guid isPermaLink="false">{escape(e.guid)}</guid>'
        f"<description>{escape(_html(e.summary))}</description>"
        f"<pubDate>{format_datetime(e.published, usegmt=True)}</pubDate></item>\n"
        for e in entries
    )
    return (
        '<rss version="2.0"><channel>'
        f"<title>Farm {feed.n}</title><link>https://farm.example/{feed.n}</link>"
        f"<description>Generated feed {feed.n}</description>"
        f"<language>{feed.language}</language>\n{items}</channel></rss>\n"
    )


def _atom(feed: FarmFeed, entries: list[FarmEntry]) -> str:
    updated = entries[0].published.isoformat() if entries else BASE_DATE.isoformat()
    items = "".join(
        f"<entry><id>{escape(e.guid)}</id><title>{escape(e.title)}</title>"
        f'<link rel="alternate" href={quoteattr(e.link)}/>'
        f"<updated>{e.published.isoformat()}</updated>"
        f'<summary type="html">{escape(_html(e.summary))}</summary></entry>\n'
        for e in entries
    )
    return (
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{feed.language}">'
        f"<id>urn:farm:{feed.n}</id><title>Farm {feed.n}</title>"
        f"<updated>{updated}</updated>\n{items}</feed>\n"
    )


def _rdf(feed: FarmFeed, entries: list[FarmEntry]) -> str:
    seq = "".join(f"<rdf:li rdf:resource={quoteattr(e.link)}/>" for e in entries)
    items = "".join(
        f"<item rdf:about={quoteattr(e.link)}><title>{escape(e.title)}</title>"
        f"<link>{escape(e.link)}</link>"
        f"<description>{escape(_html(e.summary))}</description>"
        f"<dc:date>{e.published.isoformat()}</dc:date></item>\n"
        for e in entries
    )
    return (
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<channel rdf:about="https://farm.example/{feed.n}"><title>Farm {feed.n}</title>'
        f"<link>https://farm.example/{feed.n}</link><description>Feed {feed.n}</description>"
        f"<dc:language>{feed.language}</dc:language>"
        f"<items><rdf:Seq>{seq}</rdf:Seq></items></channel>\n{items}</rdf:RDF>\n"
    )


def _json_feed(feed: FarmFeed, entries: list[FarmEntry]) -> bytes:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": f"Farm {feed.n}",
        "home_page_url": f"https://farm.example/{feed.n}",
        "language": feed.language,
        "items": [
            {
                "id": e.guid,
                "url": e.link,
                "title": e.title,
                "content_html": _html(e.summary),
                "date_published": e.published.isoformat(),
            }
            for e in entries
        ],
    }
    # JSON Feed is UTF-8 (RFC 8259); non-ASCII stays literal, as publishers send it.
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Catalogue:
    """Which feeds the farm holds; the same arguments give the same feeds."""

    count: int
    seed: str = "normwatch-farm"
    hosts: int = 1
    # Every `bad_every`-th feed is bad (its kind cycles through BAD_KINDS); 0: none.
    bad_every: int = 10
    entries: tuple[int, int] = (3, 6)
    summary_sentences: tuple[int, int] = (1, 3)
    signal_share: float = 0.2
    formats: tuple[str, ...] = FORMATS
    validators: tuple[str, ...] = VALIDATORS
    legacy_share: float = 0.6  # of XML feeds; JSON Feed is always UTF-8
    gzip_share: float = 0.25
    redirect_share: float = 0.15
    slide: bool = False  # bumps keep each document's size (see FarmFeed.slide)

    def __post_init__(self) -> None:
        if not 1 <= self.hosts <= 250:
            raise ValueError("hosts: 1 to 250 loopback addresses")

    @functools.cached_property
    def feeds(self) -> list[FarmFeed]:
        return [self._feed(n) for n in range(self.count)]

    def _feed(self, n: int) -> FarmFeed:
        rng = random.Random(f"{self.seed}:{n}")
        kind = "good"
        if self.bad_every and n % self.bad_every == self.bad_every - 1:
            kind = BAD_KINDS[(n // self.bad_every) % len(BAD_KINDS)]
        # Format and language cycle with co-prime periods, so every pairing
        # shows up; the rest is drawn per feed.
        fmt = self.formats[n % len(self.formats)]
        language = LANGUAGES[n % len(LANGUAGES)]
        if fmt != "json" and rng.random() < self.legacy_share:
            charset = rng.choice(LEGACY_CHARSETS[language])
            declare = rng.choice(("xml", "http", "both", "text-xml"))
        else:
            charset = "utf-8"
            declare = "none" if fmt == "json" else rng.choice(("xml", "both", "none"))
        return FarmFeed(
            n=n,
            kind=kind,
            fmt=fmt,
            language=language,
            charset=charset,
            declare=declare,
            validators=rng.choice(self.validators),
            weak_etag=rng.random() < 0.5,
            gzip=rng.random() < self.gzip_share,
            redirect=rng.choice(REDIRECTS)
            if rng.random() < self.redirect_share
            else None,
            host=n % self.hosts,
            n_entries=rng.randint(*self.entries),
            seed=self.seed,
            summary_sentences=self.summary_sentences,
            signal_share=self.signal_share,
            slide=self.slide,
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Catalogue:
        data: dict[str, Any] = json.loads(text)
        for key in ("entries", "summary_sentences", "formats", "validators"):
            data[key] = tuple(data[key])
        return cls(**data)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the farm saw it; header names are lower-cased."""

    host: int  # index of the loopback address it came in on
    method: str
    path: str
    headers: dict[str, str]
    at: float = field(default=0.0)  # time.monotonic()


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    headers: dict[str, str]

    @property
    def keep_alive(self) -> bool:
        return "close" not in self.headers.get("connection", "").lower()


_ROUTE = re.compile(
    r"^/(?:(?P<fmt>rss|atom|rdf|json)/(?P<doc>\d+)\.(?:xml|json)"
    r"|moved/(?P<code>30[1278])/(?P<moved>\d+)"
    r"|bad/loop/(?P<loop>\d+)/(?P<hop>\d+)"
    r"|bad/(?P<kind>[a-z0-9_]+)/(?P<bad>\d+))$"
)
_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
}
_HTML_PAGE = """<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>Farm news {n}</title>
<link rel="alternate" type="application/rss+xml" href="/rss/{n}.xml">
</head><body><h1>News</h1><p>{text}<br>read more &nbsp; <a href=/more>here</a></p>
</body></html>
"""


class BaseFarm:
    """Where a farm's feeds live: one port per loopback address."""

    catalogue: Catalogue
    _ports: list[int]
    _versions: dict[int, int]

    @staticmethod
    def address(host: int) -> str:
        # All of 127.0.0.0/8 reaches this machine on Linux: one "site" per address.
        return f"127.0.0.{host + 1}"

    @property
    def ports(self) -> list[int]:
        return list(self._ports)

    def url(self, feed: FarmFeed | int) -> str:
        """The URL a feed reader is configured with."""
        feed = self.catalogue.feeds[feed] if isinstance(feed, int) else feed
        return self.base(feed.host) + feed.path

    def base(self, host: int) -> str:
        if not self._ports:
            raise RuntimeError("the farm is not started")
        return f"http://{self.address(host)}:{self._ports[host]}"

    def version(self, n: int) -> int:
        return self._versions.get(n, 1)

    def bump(self, n: int) -> None:
        """Publish the next version of feed n: one more entry, new validators."""
        raise NotImplementedError

    @property
    def requests(self) -> list[RecordedRequest]:
        raise NotImplementedError

    def requests_to(self, path: str, since: int = 0) -> list[RecordedRequest]:
        """Requests to `path` (query string ignored) from index `since` on."""
        return [r for r in self.requests[since:] if urlsplit(r.path).path == path]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


class Farm(BaseFarm):
    """Serves a :class:`Catalogue` on `catalogue.hosts` loopback addresses.

    Use as a context manager, or `start()` / `stop()`. `latency` (seconds) is
    waited before every answer and may be changed while running; `bump(n)`
    publishes a new version of feed n (one more entry, new validators).
    Paths under /_farm/ control it from another process (see FarmProcess).
    """

    def __init__(
        self,
        catalogue: Catalogue,
        *,
        latency: float = 0.0,
        trickle_every: float = 0.5,
        record: bool = True,
        warm: bool = False,
    ) -> None:
        self.catalogue = catalogue
        self.latency = latency
        self.trickle_every = trickle_every
        self._warm = warm
        self._record_requests = record
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._versions: dict[int, int] = {}
        self._documents: dict[tuple[int, int, bool], tuple[bytes, str]] = {}
        self._ports: list[int] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._bomb: bytes | None = None
        self.stats = {
            "connections": 0,
            "requests": 0,
            "not_modified": 0,
            "conditional": 0,
        }

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> Self:
        if self._loop is not None:
            return self
        if any(f.kind == "gzip_bomb" for f in self.catalogue.feeds):
            self._bomb = _gzip_bomb()  # once, before serving: ~0.3 s of zlib
        if self._warm:  # render every document now, not while timing a cycle
            for feed in self.catalogue.feeds:
                if feed.good:
                    self._document(feed, 1, feed.gzip)
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(
            target=loop.run_forever, name="FeedFarm", daemon=True
        )
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._open(), loop)
        self._ports = future.result(timeout=10)
        return self

    async def _open(self) -> list[int]:
        ports = []
        for host in range(self.catalogue.hosts):
            server = await asyncio.start_server(
                functools.partial(self._connection, host),
                host=self.address(host),
                port=0,
                backlog=1024,
            )
            self._servers.append(server)
            ports.append(server.sockets[0].getsockname()[1])
        return ports

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = None

    async def _close(self) -> None:
        for server in self._servers:
            server.close()
        # Silent and trickling connections never end by themselves.
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()

    # -- control and inspection ----------------------------------------------

    def bump(self, n: int) -> None:
        """Publish the next version of feed n: one more entry, new validators."""
        with self._lock:
            self._versions[n] = self._versions.get(n, 1) + 1

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    # -- serving --------------------------------------------------------------

    async def _connection(
        self, host: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.stats["connections"] += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return
                request = _parse_head(head)
                if request is None:
                    await _send(writer, 400, {}, b"bad request", keep_alive=False)
                    return
                if not await self._answer(host, request, writer):
                    return
        except (ConnectionError, TimeoutError):
            pass  # the client went away (it gave up on a huge body, say)
        except asyncio.CancelledError:
            # Only stop() cancels; ending quietly spares asyncio's 3.11 stream
            # callback a traceback about a cancelled task.
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _answer(
        self, host: int, request: _Request, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer one request; False when the connection must close."""
        if request.path.startswith("/_farm/"):
            return await self._control(request, writer)
        self._record(host, request)
        if request.method not in ("GET", "HEAD"):
            await _send(writer, 405, {}, b"", keep_alive=False)
            return False
        if self.latency:
            await asyncio.sleep(self.latency)
        keep = request.keep_alive
        head_only = request.method == "HEAD"
        match = _ROUTE.match(urlsplit(request.path).path)
        feeds = self.catalogue.feeds

        def feed_at(group: str) -> FarmFeed | None:
            n = int(match[group]) if match and match[group] else -1
            return feeds[n] if 0 <= n < len(feeds) else None

        if match is None:
            return await _send(writer, 404, {}, b"not found", keep, head_only)
        if match["fmt"]:
            feed = feed_at("doc")
            if feed is None or not feed.good or feed.fmt != match["fmt"]:
                return await _send(writer, 404, {}, b"not found", keep, head_only)
            return await self._serve_feed(feed, request, writer, keep, head_only)
        if match["code"]:
            feed = feed_at("moved")
            if feed is None or feed.redirect != int(match["code"]):
                return await _send(writer, 404, {}, b"not found", keep, head_only)
            location = self.base(feed.host) + feed.doc_path
            return await _send(
                writer, feed.redirect, {"Location": location}, b"", keep, head_only
            )
        if match["loop"]:
            feed = feed_at("loop")
            if feed is None or feed.kind != "loop":
                return await _send(writer, 404, {}, b"not found", keep, head_only)
            location = (
                f"{self.base(feed.host)}/bad/loop/{feed.n}/{int(match['hop']) + 1}"
            )
            return await _send(writer, 302, {"Location": location}, b"", keep)
        feed = feed_at("bad")
        if feed is None or feed.kind != match["kind"]:
            return await _send(writer, 404, {}, b"not found", keep, head_only)
        return await self._serve_bad(feed, writer, keep)

    async def _serve_feed(
        self,
        feed: FarmFeed,
        request: _Request,
        writer: asyncio.StreamWriter,
        keep: bool,
        head_only: bool,
    ) -> bool:
        version = self.version(feed.n)
        validators = {}
        etag, modified = feed.etag(version), feed.last_modified(version)
        if etag:
            validators["ETag"] = etag
        if modified:
            validators["Last-Modified"] = modified
        if "if-none-match" in request.headers or "if-modified-since" in request.headers:
            self.stats["conditional"] += 1
        if _not_modified(etag, modified, request.headers):
            self.stats["not_modified"] += 1
            return await _send(writer, 304, validators, b"", keep, head_only=True)
        zipped = feed.gzip and "gzip" in request.headers.get("accept-encoding", "")
        body, content_type = self._document(feed, version, zipped)
        headers = {"Content-Type": content_type, **validators}
        if zipped:
            headers["Content-Encoding"] = "gzip"
            headers["Vary"] = "Accept-Encoding"
        return await _send(writer, 200, headers, body, keep, head_only)

    async def _control(self, request: _Request, writer: asyncio.StreamWriter) -> bool:
        """/_farm/requests?since=N, /_farm/bump/N, /_farm/stats: never recorded."""
        parts = urlsplit(request.path)
        answer: object
        if parts.path == "/_farm/requests":
            since = int(parts.query.removeprefix("since=") or 0)
            answer = [asdict(r) for r in self.requests[since:]]
        elif parts.path.startswith("/_farm/bump/"):
            n = int(parts.path.rsplit("/", 1)[1])
            self.bump(n)
            answer = {"n": n, "version": self.version(n)}
        elif parts.path == "/_farm/stats":
            answer = self.stats
        else:
            return await _send(writer, 404, {}, b"no such control", request.keep_alive)
        body = json.dumps(answer).encode()
        headers = {"Content-Type": "application/json"}
        return await _send(writer, 200, headers, body, request.keep_alive)

    def _document(
        self, feed: FarmFeed, version: int, zipped: bool
    ) -> tuple[bytes, str]:
        key = (feed.n, version, zipped)
        cached = self._documents.get(key)
        if cached is None:
            body, content_type = feed.document(version)
            if zipped:
                body = gzip.compress(body, mtime=0)
            cached = self._documents[key] = (body, content_type)
        return cached

    async def _serve_bad(
        self, feed: FarmFeed, writer: asyncio.StreamWriter, keep: bool
    ) -> bool:
        kind = feed.kind
        if kind == "404":
            return await _send(writer, 404, _TEXT_HTML, b"<h1>Not Found</h1>", keep)
        if kind == "500":
            return await _send(writer, 500, _TEXT_HTML, b"<h1>Oops</h1>", keep)
        if kind == "429":
            headers = {**_TEXT_HTML, "Retry-After": str(RETRY_AFTER)}
            return await _send(writer, 429, headers, b"slow down", keep)
        if kind == "html":
            page = _HTML_PAGE.format(
                lang=feed.language, n=feed.n, text=escape(NEWS[feed.language][0])
            )
            headers = {"Content-Type": "text/html; charset=utf-8"}
            return await _send(writer, 200, headers, page.encode(), keep)
        if kind == "garbage":
            junk = random.Random(f"garbage:{feed.n}").randbytes(4096)
            headers = {"Content-Type": _CONTENT_TYPES["rss"]}
            return await _send(writer, 200, headers, junk, keep)
        if kind == "silent":
            await asyncio.Event().wait()  # until the farm stops
            return False
        if kind == "trickle":
            await _write_head(
                writer, 200, {"Content-Type": _CONTENT_TYPES["rss"]}, None
            )
            writer.write(b'<?xml version="1.0"?><rss version="2.0"><channel>')
            while True:  # fast enough for any read timeout, never done
                await writer.drain()
                await asyncio.sleep(self.trickle_every)
                writer.write(b" ")
        if kind == "huge":
            await _write_head(
                writer, 200, {"Content-Type": _CONTENT_TYPES["rss"]}, HUGE_BODY
            )
            for chunk in _huge_body():
                writer.write(chunk)
                await writer.drain()
            return keep
        if kind == "gzip_bomb":
            assert self._bomb is not None
            headers = {
                "Content-Type": _CONTENT_TYPES["rss"],
                "Content-Encoding": "gzip",
            }
            return await _send(writer, 200, headers, self._bomb, keep)
        if kind == "broken":
            body, _ = FarmFeed(**{**asdict(feed), "kind": "good"}).document()
            await _write_head(
                writer, 200, {"Content-Type": _CONTENT_TYPES["rss"]}, 20_000
            )
            writer.write(body[:500])
            await writer.drain()
            return False  # closing now leaves the body short
        raise AssertionError(f"unknown bad kind {kind!r}")

    def _record(self, host: int, request: _Request) -> None:
        self.stats["requests"] += 1
        if not self._record_requests:
            return
        entry = RecordedRequest(
            host, request.method, request.path, request.headers, time.monotonic()
        )
        with self._lock:
            self._requests.append(entry)


_TEXT_HTML = {"Content-Type": "text/html; charset=utf-8"}


def _parse_head(head: bytes) -> _Request | None:
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
    except ValueError:
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        key = name.strip().lower()
        value = value.strip()
        # Repeated headers fold into one, comma-joined, as HTTP allows.
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return _Request(method, target, headers)


async def _write_head(
    writer: asyncio.StreamWriter,
    status: int,
    headers: dict[str, str],
    length: int | None,
    *,
    keep_alive: bool = False,
) -> None:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()


async def _send(
    writer: asyncio.StreamWriter,
    status: int,
    headers: dict[str, str],
    body: bytes,
    keep_alive: bool = True,
    head_only: bool = False,
) -> bool:
    """One complete response; returns whether the connection stays open."""
    if status == 304:
        # 304 carries the validators but never a body or a length (RFC 9110 15.4.5).
        await _write_head(writer, status, headers, None, keep_alive=keep_alive)
        return keep_alive
    await _write_head(writer, status, headers, len(body), keep_alive=keep_alive)
    if body and not head_only:
        writer.write(body)
        await writer.drain()
    return keep_alive


def _not_modified(
    etag: str | None, last_modified: str | None, request: dict[str, str]
) -> bool:
    # If-None-Match wins over If-Modified-Since when both come (RFC 9110 13.2.2);
    # it compares weakly, so W/"x" matches "x".
    if_none_match = request.get("if-none-match")
    if etag is not None and if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return etag.removeprefix("W/") in tags or "*" in tags
    since = request.get("if-modified-since")
    if last_modified is None or since is None:
        return False
    try:
        return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False


def _huge_item_chunk() -> bytes:
    item = (
        b"<item><title>Padding</title><link>https://farm.example/pad</link>"
        b"<description>" + b"x" * 900 + b"</description></item>\n"
    )
    return item * (256 * 1024 // len(item))


def _huge_body() -> Iterator[bytes]:
    """A well-formed start of a feed that goes on for HUGE_BODY bytes, lazily."""
    head = b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>\n'
    tail = b"</channel></rss>\n"
    chunk = _huge_item_chunk()
    yield head
    left = HUGE_BODY - len(head) - len(tail)
    while left > 0:
        piece = chunk[:left]
        left -= len(piece)
        yield piece
    yield tail


def _gzip_bomb() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip wrapper
    out = [packer.compress(piece) for piece in _huge_body()]
    out.append(packer.flush())
    return b"".join(out)


# -- a farm in its own process -------------------------------------------------


class FarmProcess(BaseFarm):
    """The same farm, served by a child process (`python -m tests.fakes.farm`).

    For callers that measure their own CPU time, or that parse hard enough to
    starve a server thread of the GIL: a real server never shares our process.
    """

    def __init__(
        self,
        catalogue: Catalogue,
        *,
        latency: float = 0.0,
        trickle_every: float = 0.5,
        record: bool = True,
        warm: bool = False,
    ) -> None:
        self.catalogue = catalogue
        self._args = [
            "--catalogue",
            catalogue.to_json(),
            "--latency",
            str(latency),
            "--trickle-every",
            str(trickle_every),
        ]
        self._args += ["--record"] if record else []
        self._args += ["--warm"] if warm else []
        self._ports = []
        self._versions = {}
        self._child: subprocess.Popen[str] | None = None

    def start(self) -> Self:
        if self._child is not None:
            return self
        root = Path(__file__).resolve().parents[2]
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.farm", *self._args],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        line = child.stdout.readline()  # the ports, once every socket listens
        if not line:
            child.kill()
            raise RuntimeError(f"the farm process exited with {child.wait()}")
        self._ports = json.loads(line)["ports"]
        self._child = child
        return self

    def stop(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        assert child.stdin is not None
        child.stdin.close()  # the child serves until its stdin closes
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    def _get(self, path: str) -> Any:
        # No proxy, whatever the environment says: the farm is on loopback.
        with build_opener(ProxyHandler({})).open(
            self.base(0) + path, timeout=10
        ) as response:
            return json.loads(response.read())

    @property
    def requests(self) -> list[RecordedRequest]:
        return [RecordedRequest(**r) for r in self._get("/_farm/requests")]

    def requests_to(self, path: str, since: int = 0) -> list[RecordedRequest]:
        every = [
            RecordedRequest(**r) for r in self._get(f"/_farm/requests?since={since}")
        ]
        return [r for r in every if urlsplit(r.path).path == path]

    def bump(self, n: int) -> None:
        self._versions[n] = self._get(f"/_farm/bump/{n}")["version"]

    @property
    def stats(self) -> dict[str, int]:
        stats: dict[str, int] = self._get("/_farm/stats")
        return stats


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Serve a feed farm until stdin closes; prints its ports as JSON."
    )
    parser.add_argument("--catalogue", required=True, help="Catalogue.to_json()")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--trickle-every", type=float, default=0.5)
    parser.add_argument("--record", action="store_true", help="keep every request")
    parser.add_argument("--warm", action="store_true", help="render every feed first")
    args = parser.parse_args(argv)
    farm = Farm(
        Catalogue.from_json(args.catalogue),
        latency=args.latency,
        trickle_every=args.trickle_every,
        record=args.record,
        warm=args.warm,
    )
    farm.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(json.dumps({"ports": farm.ports}), flush=True)
    try:
        sys.stdin.read()  # the parent holds our stdin; its exit ends us
    finally:
        farm.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
