"""Matching throughput of the shipped rule set, against a regex-per-term baseline.

Run from the repository root (one core: pin the process, it is single-threaded
anyway and never forks):

    taskset -c 0 .venv/bin/python -m bench.match_throughput
    .venv/bin/python -m bench.match_throughput --items 20000 --json
    .venv/bin/python -m bench.match_throughput --profile   # where matching time goes

What it measures, all in one process (the house rule: a ratio against a
baseline run in the same process, because machines are shared and noisy; no
absolute threshold belongs in a unit test):

1. A deterministic, seeded stream of news items, the nine languages mixed
   evenly: a title of 6-14 words and a summary of 20-60, from ordinary news
   words (politics, economy, sport, weather, defence) with inflected forms,
   diacritics, state and capital names, invented surnames, numbers and
   punctuation. About 1% carry a real signal phrase and 0.5% a decoy (a
   near-miss or an excluded phrase), so the hit path is exercised too.
2. `bot.rules.Matcher.match` over the whole stream, 3 runs, best and median.
   Each run builds a fresh matcher, so every run pays the fold cache's
   warm-up on the stream's long tail (names, numbers) as production does.
3. The naive baseline: one compiled `re` pattern per distinct term, searched
   one after another over the folded text, then all/any/none on the groups
   found. It cannot see `near`/`within` proximity (the output says so). It
   is slow (one scan of the text per term), so it is timed on the first
   2,000 items (`--baseline-items`).
4. Agreement, item by item, on the baseline's items plus every signal and
   decoy item of the stream: the rule ids each finds, and the groups each
   finds (most items fire no rule, but nearly all name a state or use a
   common verb, so the groups test term finding on every item).

The target from the issue is 20,000 items/s on one core, judged on the median.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from bot.config import BUILTIN_STATE_GROUP, Config, Rule, load_config
from bot.rules import Matcher
from bot.terms import Word, parse_term
from feeds.fold import fold

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
TARGET_ITEMS_PER_S = 20_000
SIGNAL_RATE = 0.01
DECOY_RATE = 0.005

# ---------------------------------------------------------------------------
# Vocabularies
# ---------------------------------------------------------------------------
# Ordinary news words, so most items match no rule. State names, capitals and
# common verbs ("used", "withdraws") are in on purpose: they light up the
# `state`, `acquire_use` and `withdraw` groups without completing a rule,
# which is the common case the matcher must be cheap on. Words of the
# weapon and treaty groups are left out of the noise; they come with signals.


@dataclass(frozen=True)
class Language:
    function: list[str]  # short, frequent words
    content: list[str]  # politics, economy, sport, weather, defence
    places: list[str]  # states, capitals, neighbours, parliaments (inflected)
    syllables: list[str]  # for invented surnames: the vocabulary's long tail
    suffixes: list[str]
    quotes: tuple[str, str]
    decimal: str
    # Real signal phrases and the rule each should fire.
    signals: list[tuple[str, str]] = field(default_factory=list)
    # Near-misses and excluded phrases: no rule should fire.
    decoys: list[str] = field(default_factory=list)


LANGUAGES: dict[str, Language] = {
    "en": Language(
        function="the the the of of and and to to in in a for on with at from by after over as is was will has have said that its not".split(),
        content="""government minister ministers parliament election elections vote voters
        coalition budget tax taxes inflation prices economy growth bank interest rates market
        shares company companies workers strike union energy gas electricity wind storm storms
        snow rain temperatures forecast weekend football match league championship coach team
        players goal season army defence troops border security exercise drills soldiers navy
        spending agreement talks president prime opposition party reform pensions hospital
        schools police court ruling says announced confirmed warned new first last record
        Monday Tuesday Wednesday city capital regional local officials plans plan used
        production supply withdraws exit""".split(),
        places="""Lithuania Lithuanian Latvia Latvian Estonia Estonian Finland Finnish Poland
        Polish Romania Romanian Greece Greek Turkey Turkish Vilnius Riga Tallinn Helsinki
        Warsaw Bucharest Athens Ankara Ukraine Ukrainian Germany Russia Russian Brussels
        Kyiv Berlin Sweden NATO EU""".split(),
        syllables="mar son wood field ash ham ley ton ford well brook win ter".split(),
        suffixes=["", "", "son", "s"],
        quotes=("“", "”"),
        decimal=".",
        signals=[
            (
                "Lithuania withdraws from the Convention on Cluster Munitions",
                "ccm_withdrawal",
            ),
            ("Estonia plans to buy cluster munitions", "cluster_use_acquisition"),
            (
                "Finland to exit the Ottawa treaty on anti-personnel mines",
                "ottawa_withdrawal",
            ),
        ],
        decoys=[
            "Data cluster analysis in Estonia shows growth",
            "Polish bank bought a server cluster",
            "Lithuania withdraws its ambassador",
            "Lithuanian scientists use computer cluster to map cluster munitions contamination",
        ],
    ),
    "lt": Language(
        function="ir ir į iš su dėl apie po per prie kad bet o tai yra buvo bus nuo iki tarp kaip dar jau ne šiandien".split(),
        content="""vyriausybė vyriausybės ministras ministrė prezidentas rinkimai rinkimų
        balsavimas koalicija biudžetas biudžeto mokesčiai mokesčių infliacija kainos kainų
        ekonomika augimas bankas palūkanos rinka įmonė įmonių darbuotojai streikas
        energetika dujos elektra vėjas audra sniegas lietus temperatūra orai orų prognozė
        savaitgalį krepšinis rungtynės lyga čempionatas treneris komanda žaidėjai įvartis
        sezonas kariuomenė gynyba gynybos kariai pasienis saugumas pratybos sąjungininkai
        išlaidos susitarimas derybos partija reforma pensijos ligoninė mokyklos policija
        teismas sprendimas pareiškė teigė sako pranešė patvirtino naujas nauja pirmasis
        metų savaitės pirmadienį antradienį mieste savivaldybė gyventojai naudoja
        pasitraukė""".split(),
        places="""Lietuva Lietuvos Lietuvoje Vilnius Vilniuje Vilniaus Latvija Latvijos Estija
        Estijos Lenkija Lenkijos Varšuvoje Suomija Suomijos Rumunija Graikija Turkija
        Ukraina Ukrainos Rusija Rusijos Vokietija Briuselyje Kyjive Seimas Seimo NATO ES""".split(),
        syllables="ka zys ba lio nai ra čiū gė vi šiu tau ro dai".split(),
        suffixes=["as", "is", "ienė", "aitė", "ius"],
        quotes=("„", "“"),
        decimal=",",
        signals=[
            (
                "Seimas pritarė pasitraukimui iš Konvencijos dėl kasetinių šaudmenų",
                "ccm_withdrawal",
            ),
            (
                "Lietuva svarsto pasitraukti iš Otavos konvencijos",
                "ottawa_withdrawal",
            ),
            ("Lietuva įsigis kasetinių šaudmenų", "cluster_use_acquisition"),
        ],
        decoys=[
            "Lietuva pasitraukia iš Eurovizijos atrankos",
        ],
    ),
    "lv": Language(
        function="un un ar no uz par pēc pie kā ka bet vai arī ir bija būs līdz starp jau vēl ne šodien gadā".split(),
        content="""valdība valdības ministrs ministre prezidents vēlēšanas balsojums koalīcija
        budžets budžeta nodokļi nodokļu inflācija cenas cenu ekonomika izaugsme banka
        procentu likmes tirgus uzņēmums darbinieki streiks enerģētika gāze elektrība vējš
        vētra sniegs lietus temperatūra laikapstākļi prognoze nedēļas nogalē basketbols
        spēle līga čempionāts treneris komanda spēlētāji vārti sezona armija aizsardzība
        aizsardzības karavīri robeža drošība mācības sabiedrotie izdevumi vienošanās
        sarunas partija reforma pensijas slimnīca skolas policija tiesa lēmums paziņoja
        sacīja saka apstiprināja jauns jaunā pirmais pirmdien otrdien pilsētā iedzīvotāji
        izmanto""".split(),
        places="""Latvija Latvijas Latvijā Rīga Rīgā Rīgas Lietuva Lietuvā Igaunija Igaunijā
        Polija Polijā Somija Rumānija Grieķija Turcija Ukraina Ukrainā Krievija Krievijas
        Vācija Briselē Kijivā Saeima Saeimā NATO ES""".split(),
        syllables="bēr zi ņš kal ber ziņ lau pē te ru ga".split(),
        suffixes=["s", "a", "iņš", "e"],
        quotes=("“", "”"),
        decimal=",",
        signals=[
            ("Latvija izstājas no Otavas konvencijas", "ottawa_withdrawal"),
            (
                "Saeima atbalsta izstāšanos no Otavas konvencijas",
                "ottawa_withdrawal",
            ),
            ("Latvija iegādāsies kasešu munīciju", "cluster_use_acquisition"),
        ],
        decoys=[
            "Latvija izstājas no Eirovīzijas konkursa",
        ],
    ),
    "et": Language(
        function="ja ja ning et kui aga või on oli saab ei ka veel juba pärast enne üle kohta täna aastal selle see mis".split(),
        content="""valitsus valitsuse minister peaminister president valimised hääletus
        koalitsioon eelarve maksud maksude inflatsioon hinnad hindade majandus kasv pank
        intressimäärad turg ettevõte töötajad streik energia gaas elekter tuul torm lumi
        vihm temperatuur ilm ilmaprognoos nädalavahetusel korvpall mäng liiga
        meistrivõistlused treener meeskond mängijad värav hooaeg kaitsevägi kaitse kaitseväe
        sõdurid piir julgeolek õppus liitlased kulud kokkulepe läbirääkimised erakond
        reform pensionid haigla koolid politsei kohus otsus teatas ütles kinnitas uus
        esimene esmaspäeval teisipäeval linnas elanikud kasutab""".split(),
        places="""Eesti Eestis Tallinn Tallinnas Tallinna Läti Lätis Leedu Leedus Soome Soomes
        Poola Poolas Rumeenia Kreeka Türgi Ukraina Ukrainas Venemaa Venemaal Saksamaa
        Brüsselis Kiievis Riigikogu Riigikogus NATO EL""".split(),
        syllables="tam saa rõ mets pä kask mä ki lu".split(),
        suffixes=["", "mäe", "son", "ne"],
        quotes=("„", "“"),
        decimal=",",
        signals=[
            (
                "Riigikogu hääletas Ottawa konventsioonist lahkumise poolt",
                "ottawa_withdrawal",
            ),
            ("Eesti kaalub kobarmoona soetamist", "cluster_use_acquisition"),
        ],
        decoys=[
            "Eesti lahkub ühisprojektist",
        ],
    ),
    "fi": Language(
        function="ja ja että on oli ei myös mutta tai kun jo vielä nyt tänään vuonna se hän he mukaan jälkeen ennen".split(),
        content="""hallitus hallituksen ministeri pääministeri presidentti vaalit äänestys
        koalitio talousarvio verot verojen inflaatio hinnat talous kasvu pankki korot
        markkinat yritys työntekijät lakko energia kaasu sähkö tuuli myrsky lumi sade
        lämpötila sää sääennuste viikonloppuna jalkapallo ottelu liiga mestaruus valmentaja
        joukkue pelaajat maali kausi puolustusvoimat puolustus sotilaat raja turvallisuus
        harjoitus liittolaiset menot sopimus neuvottelut puolue uudistus eläkkeet sairaala
        koulut poliisi oikeus päätös kertoi sanoi vahvisti uusi ensimmäinen maanantaina
        tiistaina kaupungissa asukkaat käyttää""".split(),
        places="""Suomi Suomen Suomessa Helsinki Helsingissä Viro Viron Virossa Latvia Liettua
        Liettuan Puolan Puolassa Romania Kreikka Kreikan Turkki Turkin Ukraina Ukrainan
        Venäjä Venäjän Saksa Brysselissä Kiovassa eduskunta eduskunnan Nato EU""".split(),
        syllables="vir ta mä ki lah ti hä kö nie mi".split(),
        suffixes=["nen", "la", "ö", ""],
        quotes=("”", "”"),
        decimal=",",
        signals=[
            ("Suomi irtautuu Ottawan sopimuksesta", "ottawa_withdrawal"),
            ("Eduskunta hyväksyi jalkaväkimiinojen hankkimisen", "mine_use"),
        ],
        decoys=[
            "Suomi vetäytyy neuvotteluista",
        ],
    ),
    "pl": Language(
        function="i i w w z na do o że się nie jest był będzie po przed przez dla oraz ale także już jeszcze dziś roku".split(),
        content="""rząd rządu minister premier prezydent wybory głosowanie koalicja budżet
        podatki podatków inflacja ceny gospodarka wzrost bank stopy procentowe rynek firma
        pracownicy strajk energetyka gaz prąd wiatr burza śnieg deszcz temperatura pogoda
        prognoza weekend piłka mecz liga mistrzostwa trener drużyna zawodnicy bramka sezon
        wojsko obrona obronności żołnierze granica bezpieczeństwo ćwiczenia sojusznicy
        wydatki porozumienie rozmowy partia reforma emerytury szpital szkoły policja sąd
        wyrok poinformował powiedział zapowiedział potwierdził nowy nowa pierwszy
        poniedziałek wtorek mieście mieszkańcy używa""".split(),
        places="""Polska Polski Polsce Warszawa Warszawie Litwa Litwy Łotwa Estonia Finlandia
        Rumunia Grecja Turcja Ukraina Ukrainy Rosja Rosji Niemcy Brukseli Kijowie Sejm
        Sejmie NATO UE""".split(),
        syllables="kow ska szcz rzy wal ło ży dą ba nie".split(),
        suffixes=["ski", "ska", "wicz", "czyk", "ak"],
        quotes=("„", "”"),
        decimal=",",
        signals=[
            (
                "Polska wypowie konwencję ottawską o zakazie min przeciwpiechotnych",
                "ottawa_withdrawal",
            ),
            (
                "Sejm przyjął ustawę o wypowiedzeniu konwencji ottawskiej",
                "ottawa_withdrawal",
            ),
            ("Polska kupi amunicję kasetową", "cluster_use_acquisition"),
        ],
        decoys=[
            "Polska wycofa ambasadora z Mińska",
        ],
    ),
    "ro": Language(
        function="și și în la de de cu pe din pentru că nu este a au va după înainte prin dar sau mai deja astăzi anul".split(),
        content="""guvernul guvernului ministrul premierul președintele alegerile votul
        coaliția bugetul taxele impozitele inflația prețurile economia creșterea banca
        dobânzile piața compania angajații greva energia gazele electricitatea vântul
        furtuna zăpada ploaia temperaturile vremea prognoza fotbal meciul liga campionatul
        antrenorul echipa jucătorii golul sezonul armata apărarea apărării soldații granița
        securitatea exercițiul aliații cheltuielile acordul negocierile partidul reforma
        pensiile spitalul școlile poliția instanța decizia declarat anunțat confirmat nou
        noua primul luni marți orașul locuitorii folosește şcolile preşedintele""".split(),
        places="""România României Bucureşti București Bucureștiul Lituania Letonia Estonia
        Finlanda Polonia Grecia Turcia Ucraina Ucrainei Rusia Rusiei Germania Bruxelles
        Kiev NATO UE""".split(),
        syllables="pop ves cu ră mi ne gu ța dră stă".split(),
        suffixes=["escu", "eanu", "ică", "u"],
        quotes=("„", "”"),
        decimal=",",
        signals=[
            (
                "România ar putea achiziționa muniții cu dispersie",
                "cluster_use_acquisition",
            ),
            (
                "România ar putea achiziţiona muniţii cu dispersie",
                "cluster_use_acquisition",
            ),
            (
                "Parlamentul României discută retragerea din Convenția de la Ottawa",
                "ottawa_withdrawal",
            ),
        ],
        decoys=[
            "Dispersia luminii explicată de fizicieni din România",
            "Armata României se retrage din exercițiu",
        ],
    ),
    "el": Language(
        function="και και το τα η ο οι της του των στην στο με για από σε ότι δεν θα είναι ήταν μετά πριν σήμερα".split(),
        content="""κυβέρνηση κυβέρνησης υπουργός πρωθυπουργός πρόεδρος εκλογές ψηφοφορία
        συνασπισμός προϋπολογισμός φόροι φόρων πληθωρισμός τιμές οικονομία ανάπτυξη
        τράπεζα επιτόκια αγορά εταιρεία εργαζόμενοι απεργία ενέργεια αέριο ρεύμα άνεμος
        καταιγίδα χιόνι βροχή θερμοκρασία καιρός πρόγνωση Σαββατοκύριακο ποδόσφαιρο αγώνας
        πρωτάθλημα προπονητής ομάδα παίκτες γκολ σεζόν στρατός άμυνα άμυνας στρατιώτες
        σύνορα ασφάλεια άσκηση σύμμαχοι δαπάνες συμφωνία συνομιλίες κόμμα μεταρρύθμιση
        συντάξεις νοσοκομείο σχολεία αστυνομία δικαστήριο απόφαση δήλωσε ανακοίνωσε
        επιβεβαίωσε νέος νέα πρώτος Δευτέρα Τρίτη πόλη κάτοικοι χρήση""".split(),
        places="""Ελλάδα Ελλάδας Αθήνα Αθήνας Βουλή Λιθουανία Λετονία Εσθονία Φινλανδία
        Πολωνία Ρουμανία Τουρκία Τουρκίας Ουκρανία Ουκρανίας Ρωσία Ρωσίας Γερμανία
        Βρυξέλλες Κίεβο ΝΑΤΟ ΕΕ""".split(),
        syllables="πα πα δό κω στα ντί νο γιώρ λά κη".split(),
        suffixes=["ς", "ου", "άκης", "ίδης"],
        quotes=("«", "»"),
        decimal=",",
        signals=[
            (
                "Η Φινλανδία αποχωρεί από τη Σύμβαση της Οτάβας για τις νάρκες κατά προσωπικού",
                "ottawa_withdrawal",
            ),
            (
                "Η Ελλάδα εξετάζει την αποχώρηση από τη Σύμβαση της Οτάβας",
                "ottawa_withdrawal",
            ),
        ],
        decoys=[
            "Η ελληνική διασπορά στη Γερμανία αυξάνεται",
        ],
    ),
    "tr": Language(
        function="ve ve bir bu ile için de da ki olarak gibi daha en çok sonra önce bugün yılında ancak ise her".split(),
        content="""hükümet hükümetin bakan bakanı cumhurbaşkanı seçim seçimler oylama
        koalisyon bütçe vergi vergiler enflasyon fiyatlar ekonomi büyüme banka faiz
        oranları piyasa şirket çalışanlar grev enerji doğalgaz elektrik rüzgar fırtına kar
        yağmur sıcaklık hava durumu tahmin hafta sonu futbol maç lig şampiyonluk teknik
        direktör takım oyuncular gol sezon ordu savunma askerler sınır güvenlik tatbikat
        müttefikler harcamalar anlaşma görüşmeler parti reform emekli maaşları hastane
        okullar polis mahkeme karar açıkladı söyledi duyurdu onayladı yeni ilk pazartesi
        salı şehirde İstanbul'da kullanıyor""".split(),
        places="""Türkiye Türkiye'nin TÜRKİYE Ankara Ankara'da Meclis Litvanya Letonya
        Estonya Finlandiya Polonya Romanya Yunanistan Ukrayna Ukrayna'nın Rusya Rusya'nın
        Almanya Brüksel Kiev NATO AB""".split(),
        syllables="yıl dız öz türk ka ya ğı şa çe gül".split(),
        suffixes=["oğlu", "", "er", "can"],
        quotes=('"', '"'),
        decimal=",",
        signals=[
            ("Türkiye misket bombası tedarik etti", "cluster_use_acquisition"),
            ("POLONYA OTTAWA ANLAŞMASI'NDAN ÇEKİLİYOR", "ottawa_withdrawal"),
        ],
        decoys=[
            "Türkiye'de misket limonu üretimi rekor kırdı",
        ],
    ),
}

# The state a feed in that language usually covers (English feeds: any).
FEED_STATE = {
    "lt": "LT",
    "lv": "LV",
    "et": "EE",
    "fi": "FI",
    "pl": "PL",
    "ro": "RO",
    "el": "GR",
    "tr": "TR",
}
STATES = sorted(FEED_STATE.values())

# ---------------------------------------------------------------------------
# Item stream
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    language: str
    title: str
    summary: str
    feed_state: str
    kind: str  # "noise", "signal" or "decoy"
    expected: str | None = None  # the rule a signal should fire


class _Writer:
    """Words and sentences in one language, from one seeded generator."""

    def __init__(self, rng: random.Random, language: Language) -> None:
        self.rng = rng
        self.lang = language

    def word(self) -> str:
        rng, lang = self.rng, self.lang
        roll = rng.random()
        if roll < 0.33:
            return rng.choice(lang.function)
        if roll < 0.43:
            return rng.choice(lang.places)
        if roll < 0.47:
            return self.number()
        if roll < 0.50:
            # The long tail: names a fold cache has not seen yet.
            parts = rng.choices(lang.syllables, k=rng.randint(2, 3))
            return ("".join(parts) + rng.choice(lang.suffixes)).capitalize()
        word = rng.choice(lang.content)
        if rng.random() < 0.02:
            word = lang.quotes[0] + word + lang.quotes[1]
        return word

    def number(self) -> str:
        rng, sep = self.rng, self.lang.decimal
        kind = rng.randrange(4)
        if kind == 0:
            return str(rng.randint(1, 999))
        if kind == 1:
            return str(rng.randint(2015, 2026))
        if kind == 2:
            return f"{rng.randint(0, 40)}{sep}{rng.randint(0, 9)}%"
        return f"{rng.randint(1, 99)}{sep}{rng.randint(0, 99)}"

    def words(self, count: int) -> list[str]:
        out = [self.word() for _ in range(count)]
        out[0] = out[0][:1].upper() + out[0][1:]
        return out

    def title(self) -> str:
        words = self.words(self.rng.randint(6, 14))
        if self.rng.random() < 0.15:  # "Budget: ..." headlines
            i = self.rng.randint(1, 3)
            words[i] += ":"
        text = " ".join(words)
        # All-caps headlines happen (notably in Turkish and Greek feeds).
        return text.upper() if self.rng.random() < 0.02 else text

    def sentence(self, count: int) -> str:
        words = self.words(count)
        for i in range(1, count - 1):
            if self.rng.random() < 0.06:
                words[i] += ","
        return " ".join(words) + "."

    def summary(self, extra: str = "") -> str:
        remaining = self.rng.randint(20, 60)
        sentences: list[str] = []
        while remaining > 0:
            count = min(remaining, self.rng.randint(8, 20))
            count = max(count, 3)
            sentences.append(self.sentence(count))
            remaining -= count
        if extra:
            sentences.insert(self.rng.randint(0, len(sentences)), extra + ".")
        return " ".join(sentences)


def generate(count: int, seed: int = 20_240_601) -> list[Item]:
    """`count` items, languages mixed evenly and shuffled, the same for a seed."""
    rng = random.Random(seed)
    codes = list(LANGUAGES)
    order = [codes[i % len(codes)] for i in range(count)]
    rng.shuffle(order)
    writers = {code: _Writer(rng, lang) for code, lang in LANGUAGES.items()}
    items: list[Item] = []
    for code in order:
        lang, writer = LANGUAGES[code], writers[code]
        feed_state = FEED_STATE.get(code) or rng.choice(STATES)
        roll = rng.random()
        phrase, kind, expected = "", "noise", None
        if roll < SIGNAL_RATE and lang.signals:
            phrase, expected = rng.choice(lang.signals)
            kind = "signal"
        elif roll < SIGNAL_RATE + DECOY_RATE and lang.decoys:
            phrase, kind = rng.choice(lang.decoys), "decoy"
        if phrase and rng.random() < 0.5:  # the phrase is the headline
            title, summary = phrase, writer.summary()
        else:  # the phrase (if any) is a sentence of the summary
            title, summary = writer.title(), writer.summary(phrase)
        items.append(Item(code, title, summary, feed_state, kind, expected))
    return items


# ---------------------------------------------------------------------------
# Baseline: one regular expression per term
# ---------------------------------------------------------------------------

# Word separators do not cross the newline that joins title and summary, so a
# phrase cannot start in the title and end in the summary (the matcher puts a
# gap of placeholder words there for the same reason).
_SEP = r"[^\w\n]+"


def term_pattern(words: Sequence[Word]) -> str:
    """The regex a straightforward implementation would write for a parsed term."""
    parts: list[str] = []
    for i, word in enumerate(words):
        if i:
            gap = rf"(?:{_SEP}\w+){{0,{word.gap}}}" if word.gap else ""
            parts.append(gap + _SEP)
        parts.append(re.escape(word.key) + (r"\w*" if word.prefix else r"\b"))
    return r"\b" + "".join(parts)


def _alternatives(entry: str) -> frozenset[str]:
    return frozenset(name.strip() for name in entry.split("|"))


def _has_proximity(rule: Rule) -> bool:
    return bool(rule.near) or rule.within is not None


class RegexBaseline:
    """Fold once, `.search` every term's pattern, then all/any/none on groups.

    Proximity (`near`, `within`) is ignored: group presence is all it knows.
    """

    def __init__(self, config: Config) -> None:
        # One pattern per distinct term (as the matcher merges spellings), so
        # a term listed under several languages is not searched twice.
        groups_of: dict[str, set[str]] = {}

        def add(text: str, group: str) -> None:
            groups_of.setdefault(term_pattern(parse_term(text)), set()).add(group)

        for name, by_language in config.groups.items():
            for terms in by_language.values():
                for text in terms:
                    add(text, name)
        for state in config.states.values():
            for terms in state.terms.values():
                for text in terms:
                    add(text, BUILTIN_STATE_GROUP)
        self.patterns = [
            (re.compile(pattern), frozenset(groups))
            for pattern, groups in groups_of.items()
        ]
        self.rules = [
            (
                rule.id,
                [_alternatives(e) for e in rule.all],
                [_alternatives(e) for e in rule.any],
                [_alternatives(e) for e in rule.none],
            )
            for rule in config.rules
        ]

    def groups(self, title: str, summary: str) -> set[str]:
        text = fold(title + "\n" + summary)
        present: set[str] = set()
        for pattern, groups in self.patterns:
            if pattern.search(text):
                present |= groups
        return present

    def match(self, title: str, summary: str) -> tuple[set[str], set[str]]:
        """The rule ids that fire, and the groups found."""
        present = self.groups(title, summary)
        return self.rules_for(present), present

    def rules_for(self, present: set[str]) -> set[str]:
        return {
            rule_id
            for rule_id, all_of, any_of, none_of in self.rules
            if all(e & present for e in all_of)
            and (not any_of or any(e & present for e in any_of))
            and not any(e & present for e in none_of)
        }


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------


def _timed(run: Callable[[], T]) -> tuple[float, T]:
    gc.collect()  # start each run from the same heap, then let gc run as usual
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def run_matcher(matcher: Matcher, items: Sequence[Item]) -> list[set[str]]:
    match = matcher.match
    return [
        {
            hit.rule
            for hit in match(
                title=item.title, summary=item.summary, feed_state=item.feed_state
            )
        }
        for item in items
    ]


def run_baseline(
    baseline: RegexBaseline, items: Sequence[Item]
) -> list[tuple[set[str], set[str]]]:
    match = baseline.match
    return [match(item.title, item.summary) for item in items]


def matcher_groups(matcher: Matcher, item: Item) -> set[str]:
    """The groups of every term the matcher finds (for the sanity check only)."""
    found = matcher.explain(title=item.title, summary=item.summary).terms
    return {group for term in found for group in term.groups}


@dataclass
class Agreement:
    compared: int = 0
    agreed: int = 0  # same rule ids
    groups_agreed: int = 0  # same groups found (a stricter test of term finding)
    hits: int = 0  # items where either side found a rule
    expected: list[str] = field(default_factory=list)  # explained by proximity
    unexpected: list[str] = field(default_factory=list)  # possible matcher bug
    group_diffs: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.agreed / self.compared if self.compared else 1.0


def compare(
    items: Sequence[Item],
    ours: Sequence[tuple[set[str], set[str]]],
    theirs: Sequence[tuple[set[str], set[str]]],
    proximity: set[str],
) -> Agreement:
    """Compare (rule ids, groups) item by item."""
    result = Agreement()
    for item, (mine, my_groups), (naive, naive_groups) in zip(
        items, ours, theirs, strict=True
    ):
        result.compared += 1
        result.hits += bool(mine or naive)
        # Most items fire no rule on either side, so also compare the groups:
        # noise lights up `state`, `withdraw` and `acquire_use` all the time.
        if my_groups == naive_groups:
            result.groups_agreed += 1
        else:
            result.group_diffs.append(
                f"[{item.language}/{item.kind}] {item.title[:70]!r}: "
                f"only matcher {sorted(my_groups - naive_groups)}, "
                f"only baseline {sorted(naive_groups - my_groups)}"
            )
        if mine == naive:
            result.agreed += 1
            continue
        line = (
            f"[{item.language}/{item.kind}] {item.title[:70]!r}: "
            f"matcher {sorted(mine)}, baseline {sorted(naive)}"
        )
        # Only the baseline can be blind to proximity, so a rule it alone
        # finds is fine if that rule has a near/within constraint.
        only_naive, only_mine = naive - mine, mine - naive
        if not only_mine and only_naive <= proximity:
            result.expected.append(line)
        else:
            result.unexpected.append(line)
    return result


def profile_matcher(config: Config, items: Sequence[Item], top: int = 10) -> str:
    matcher = Matcher(config)
    profiler = cProfile.Profile()
    profiler.runcall(run_matcher, matcher, items)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats(pstats.SortKey.TIME).print_stats(top)
    return out.getvalue()


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def measure(args: argparse.Namespace) -> dict[str, Any]:
    config = load_config(args.config)
    started = time.perf_counter()
    items = generate(args.items, args.seed)
    generated_s = time.perf_counter() - started

    builds: list[float] = []
    runs: list[float] = []
    results: list[set[str]] = []
    for _ in range(args.repeats):
        # A fresh matcher each run: its fold cache starts cold, as in production.
        start = time.perf_counter()
        matcher = Matcher(config)
        builds.append(time.perf_counter() - start)
        seconds, results = _timed(partial(run_matcher, matcher, items))
        runs.append(seconds)
    rates = [len(items) / s for s in runs]

    start = time.perf_counter()
    baseline = RegexBaseline(config)
    baseline_build = time.perf_counter() - start
    subset = items[: args.baseline_items]
    baseline_s, naive = _timed(partial(run_baseline, baseline, subset))
    baseline_rate = len(subset) / baseline_s

    # Agreement on the baseline's items plus every signal and decoy item, so
    # the hit path is compared on far more than the ~1% a prefix would hold.
    extra = [
        i
        for i, item in enumerate(items[len(subset) :], len(subset))
        if item.kind != "noise"
    ]
    sample = [*subset, *(items[i] for i in extra)]
    ours = [
        (results[i], matcher_groups(matcher, items[i]))
        for i in [*range(len(subset)), *extra]
    ]
    theirs = [*naive, *run_baseline(baseline, [items[i] for i in extra])]
    proximity = {rule.id for rule in config.rules if _has_proximity(rule)}
    agreement = compare(sample, ours, theirs, proximity)

    kinds = {"signal": 0, "decoy": 0, "noise": 0}
    signal_ok = decoy_hits = noise_hits = 0
    for item, rules in zip(items, results, strict=True):
        kinds[item.kind] += 1
        signal_ok += item.kind == "signal" and item.expected in rules
        decoy_hits += item.kind == "decoy" and bool(rules)
        noise_hits += item.kind == "noise" and bool(rules)

    median = statistics.median(rates)
    return {
        "items": len(items),
        "languages": len(LANGUAGES),
        "seed": args.seed,
        "generate_s": round(generated_s, 3),
        "mean_title_words": round(
            statistics.fmean(len(i.title.split()) for i in items), 1
        ),
        "mean_summary_words": round(
            statistics.fmean(len(i.summary.split()) for i in items), 1
        ),
        "cpu_affinity": sorted(os.sched_getaffinity(0)),
        "matcher": {
            "terms": matcher.term_count,
            "build_s": round(statistics.median(builds), 4),
            "runs_s": [round(s, 3) for s in runs],
            "items_per_s_best": round(max(rates)),
            "items_per_s_median": round(median),
        },
        "baseline": {
            "items": len(subset),
            "patterns": len(baseline.patterns),
            "build_s": round(baseline_build, 4),
            "seconds": round(baseline_s, 3),
            "items_per_s": round(baseline_rate),
            "proximity_ignored": True,
            "rules_with_proximity": sorted(proximity),
        },
        "ratio_median": round(median / baseline_rate, 1),
        "target_items_per_s": TARGET_ITEMS_PER_S,
        "target_met": median >= TARGET_ITEMS_PER_S,
        "stream": {
            **kinds,
            "signals_matched": signal_ok,
            "decoys_with_hits": decoy_hits,
            "noise_with_hits": noise_hits,
        },
        "agreement": {
            "compared": agreement.compared,
            "agreed": agreement.agreed,
            "rate": round(agreement.rate, 5),
            "groups_agreed": agreement.groups_agreed,
            "group_differences": agreement.group_diffs[:5],
            "group_difference_count": len(agreement.group_diffs),
            "items_with_hits": agreement.hits,
            "explained_by_proximity": agreement.expected[:5],
            "unexplained": agreement.unexpected[:5],
            "unexplained_count": len(agreement.unexpected),
        },
    }


def report(numbers: dict[str, Any]) -> str:
    m, b, a, s = (
        numbers["matcher"],
        numbers["baseline"],
        numbers["agreement"],
        numbers["stream"],
    )
    rows = [
        ("items", f"{numbers['items']:,} ({numbers['languages']} languages)"),
        ("matcher build", f"{m['build_s'] * 1000:.1f} ms ({m['terms']} terms)"),
        ("matcher items/s best", f"{m['items_per_s_best']:,}"),
        ("matcher items/s median", f"{m['items_per_s_median']:,}"),
        ("baseline items/s", f"{b['items_per_s']:,} (on {b['items']:,} items)"),
        ("ratio matcher/baseline", f"{numbers['ratio_median']}x (median)"),
        (
            f"target {numbers['target_items_per_s']:,}/s, one core",
            "met" if numbers["target_met"] else "NOT met (try --profile)",
        ),
        (
            "agreement",
            f"{a['agreed']:,}/{a['compared']:,} = {a['rate']:.2%} "
            f"({a['items_with_hits']} items with hits)",
        ),
        (
            "same groups found",
            f"{a['groups_agreed']:,}/{a['compared']:,}",
        ),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [f"{label:<{width}}  {value}" for label, value in rows]
    proximity = ", ".join(b["rules_with_proximity"]) or "none in this config"
    lines += [
        "",
        f"cpu affinity {numbers['cpu_affinity']}; runs {m['runs_s']} s; "
        f"mean words: title {numbers['mean_title_words']}, "
        f"summary {numbers['mean_summary_words']}",
        f"stream: {s['signal']} signals ({s['signals_matched']} fired their rule), "
        f"{s['decoy']} decoys ({s['decoys_with_hits']} with hits), "
        f"{s['noise']:,} noise ({s['noise_with_hits']} with hits)",
        f"baseline: {b['patterns']} patterns, one re.search each per item; it "
        f"ignores near/within proximity (rules with it: {proximity})",
    ]
    for title, entries in (
        ("disagreements explained by proximity", a["explained_by_proximity"]),
        ("UNEXPLAINED disagreements (possible matcher bug)", a["unexplained"]),
        ("groups found differently (term finding)", a["group_differences"]),
    ):
        if entries:
            lines += ["", f"{title}:", *(f"  {e}" for e in entries)]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.match_throughput", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--items", type=int, default=50_000, help="stream size")
    parser.add_argument(
        "--baseline-items",
        type=int,
        default=2_000,
        help="items the (slow) baseline is timed on",
    )
    parser.add_argument("--repeats", type=int, default=3, help="matcher runs")
    parser.add_argument("--seed", type=int, default=20_240_601)
    parser.add_argument("--config", type=Path, default=ROOT / "config.toml")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also print a cProfile of Matcher.match over 5,000 items (top 10)",
    )
    args = parser.parse_args(argv)
    if args.items < 1 or args.baseline_items < 1 or args.repeats < 1:
        parser.error("--items, --baseline-items and --repeats must be at least 1")
    args.baseline_items = min(args.baseline_items, args.items)

    numbers = measure(args)
    print(
        json.dumps(numbers, indent=2, ensure_ascii=False)
        if args.json
        else report(numbers)
    )
    if args.profile:
        config = load_config(args.config)
        print(profile_matcher(config, generate(5_000, args.seed)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
