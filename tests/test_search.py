"""Full-text search in nine languages on both backends: case, diacritics,
prefixes, phrases, exclusions; hits and the whole archive."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker

from feeds.entry import Entry
from storage.archive import HitRecord, insert_items, record_hits
from storage.db import make_engine, session_factory, transaction, upgrade
from storage.feedstate import FeedSpec, sync_feeds
from storage.fulltext import (
    Phrase,
    SearchSyntaxError,
    fts5_expression,
    parse_query,
    tsquery_text,
)
from storage.models import Feed, Item
from storage.search import ItemFilter, search_hits, search_items

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

# language -> (stored title, stored summary, queries that find it, queries that do not)
ARCHIVE: dict[str, tuple[str, str, list[str], list[str]]] = {
    "et": (
        "Riigikogu arutab väljaastumist",
        "Eesti kaalub kassettmoona konventsioonist lahkumist.",
        ["väljaastumist", "valjaastumist", "VÄLJAASTUMIST", "kassettmoon*"],
        ["väljaastumine", '"lahkumist konventsioonist"'],
    ),
    "fi": (
        "Eduskunta keskustelee jalkaväkimiinoista",
        "Suomi harkitsee irtautumista Ottawan sopimuksesta.",
        ["jalkaväkimiinoista", "jalkavakimiinoista", "JALKAVÄKI*", "irtautumista"],
        ["jalkaväkimiina", "ottawa"],
    ),
    "el": (
        "Η Βουλή συζητά την αποχώρηση από τη Σύμβαση",
        "Πυρομαχικά διασποράς: η Ελλάδα εξετάζει την αποχώρηση.",
        [
            "αποχώρηση",
            "αποχωρηση",
            "ΑΠΟΧΩΡΗΣΗ",
            "ΔΙΑΣΠΟΡΑΣ",
            "διασπορας",
            "πυρομαχ*",
            '"πυρομαχικα διασπορας"',
        ],
        ["αποχώρησης", '"διασποράς πυρομαχικά"'],
    ),
    "lv": (
        "Saeima lems par izstāšanos",
        "Latvija apsver izstāšanos no kasešu munīcijas konvencijas.",
        ["izstāšanos", "izstasanos", "IZSTĀŠANOS", '"kasešu munīcij*"', "kasesu"],
        ["izstāties"],
    ),
    "lt": (
        "Seimas pritarė pasitraukimui",
        "Pasitraukimas iš Konvencijos dėl kasetinių šaudmenų.",
        [
            '"kasetinių šaudmenų"',
            '"kasetiniu saudmenu"',
            "KASETINIŲ",
            "kasetin*",
            "pritare",
        ],
        ['"saudmenu kasetiniu"', "kasetinis"],
    ),
    "pl": (
        "Sejm przegłosował wypowiedzenie konwencji",
        "Polska wypowiada konwencję o amunicji kasetowej.",
        ["przegłosował", "przeglosowal", "PRZEGŁOSOWAŁ", "kasetow*", "konwencje"],
        ["przegłosowali"],
    ),
    "ro": (
        "Parlamentul României dezbate retragerea",
        "Retragerea din Convenția privind muniția cu dispersie.",
        # ţ with a cedilla finds ț with a comma below, and plain t finds both.
        ["Convenţia", "conventia", "ROMÂNIEI", "romaniei", "munit*"],
        ["romania"],
    ),
    "tr": (
        "TÜRKİYE Ottawa Sözleşmesi'nden çekilmeyi tartışıyor",
        "Kırıkkale'de misket bombası üretimi gündemde.",
        [
            "türkiye",
            "turkiye",
            "TURKIYE",
            "sözleşmesi",
            "sozlesmesi",
            "ÇEKİLMEYİ",
            "cekilmeyi",
            "kirikkale",
            "KIRIKKALE",
            "tartis*",
        ],
        ["sözleşme", "kırık"],
    ),
    "en": (
        "Lithuania debates leaving the Convention on Cluster Munitions",
        "The Seimas votes next week.",
        [
            "CLUSTER munitions",
            '"convention on cluster munitions"',
            "munition*",
            "leaving lithuania",
        ],
        ['"cluster convention"', "munition", "leaving -seimas"],
    ),
}


def _entry(language: str, title: str, summary: str) -> Entry:
    return Entry(
        guid=f"https://news.example/{language}",
        url=f"https://news.example/{language}",
        canonical_url=f"https://news.example/{language}",
        title=title,
        summary=summary,
        language=language,
        published_at=NOW,
        fingerprint=f"fp-{language}",
    )


@pytest.fixture
def archive(db_url: str) -> Iterator[sessionmaker[Session]]:
    """Nine items, one per language; the English and Lithuanian ones are hits."""
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as s:
        sync_feeds(s, [FeedSpec("https://a.example/rss", "A", "news", "LT", "lt")], NOW)
    with transaction(sessions) as s:
        feed_id = s.scalars(select(Feed.id)).one()
        new = insert_items(
            s,
            feed_id,
            [_entry(lang, t, body) for lang, (t, body, _, _) in ARCHIVE.items()],
            fetched_at=NOW,
        )
        for item in new:
            if item.entry.language in ("en", "lt"):
                record_hits(
                    s,
                    item.id,
                    [HitRecord("r1", "ccm_withdrawal", "high", "LT", [], "")],
                    now=NOW,
                    channels=["#a"],
                    alertable=False,
                )
    yield sessions
    engine.dispose()


def _found(sessions: sessionmaker[Session], query: str) -> set[str | None]:
    with sessions() as s:
        return {row.language for row in search_items(s, query)}


@pytest.mark.parametrize("language", sorted(ARCHIVE))
def test_search_finds_each_language_with_or_without_diacritics_and_case(
    archive: sessionmaker[Session], language: str
) -> None:
    _, _, finds, misses = ARCHIVE[language]
    for query in finds:
        assert language in _found(archive, query), query
    for query in misses:
        assert language not in _found(archive, query), query


def test_hit_search_only_returns_hits(archive: sessionmaker[Session]) -> None:
    with archive() as s:
        assert {r.language for r in search_hits(s, "kasetin* OR munition*")} == {
            "en",
            "lt",
        }
        assert search_hits(s, "väljaastumist") == []  # an item, but not a hit
        assert [r.language for r in search_items(s, "väljaastumist")] == ["et"]


def test_archive_search_can_keep_only_items_the_rules_missed(
    archive: sessionmaker[Session],
) -> None:
    with archive() as s:
        missed = search_items(s, "seimas OR eduskunta", ItemFilter(matched=False))
        assert {r.language for r in missed} == {"fi"}
        matched = search_items(s, "seimas OR eduskunta", ItemFilter(matched=True))
        assert {(r.language, tuple(r.rules)) for r in matched} == {
            ("en", ("r1",)),
            ("lt", ("r1",)),
        }


def test_edited_and_deleted_items_leave_the_index(
    archive: sessionmaker[Session],
) -> None:
    with transaction(archive) as s:
        s.execute(
            update(Item)
            .where(Item.language == "pl")
            .values(search_text="zupelnie inny tekst")
        )
        s.execute(text("DELETE FROM items WHERE language = 'fi'"))
    assert _found(archive, "przeglosowal") == set()
    assert _found(archive, "inny") == {"pl"}
    assert _found(archive, "jalkavakimiinoista") == set()


def test_query_language_folds_and_quotes_every_word() -> None:
    query = parse_query('Kasetinių* "Ottawa Treaty" mine OR mines -coal')
    assert query.groups == (
        (Phrase(("kasetiniu",), prefix=True),),
        (Phrase(("ottawa", "treaty")),),
        (Phrase(("mine",)), Phrase(("mines",))),
    )
    assert query.excluded == (Phrase(("coal",)),)
    assert fts5_expression(query) == (
        '("kasetiniu"*) AND ("ottawa treaty") AND ("mine" OR "mines") NOT "coal"'
    )
    assert tsquery_text(query) == (
        "('kasetiniu':*) & (('ottawa' <-> 'treaty')) & ('mine' | 'mines') & !'coal'"
    )


def test_operators_in_user_input_stay_words() -> None:
    # FTS5 and tsquery syntax typed by a user is folded into plain words.
    query = parse_query("NEAR(a b) xy:* 'y' & | !z (w)")
    words = [w for group in query.groups for p in group for w in p.words]
    assert words == ["near", "a", "b", "xy", "y", "z", "w"]


@pytest.mark.parametrize("raw", ["", "   ", "-coal", '""', "!!"])
def test_a_search_with_nothing_to_find_is_refused(raw: str) -> None:
    with pytest.raises(SearchSyntaxError, match="at least one word"):
        parse_query(raw)


def test_a_one_letter_prefix_is_refused() -> None:
    with pytest.raises(SearchSyntaxError, match="at least 2 letters"):
        parse_query("k*")


def test_items_stored_before_search_existed_become_searchable(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0002")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO feeds (url, name, kind, language, consecutive_failures,"
                " failure_reported, items_seen) VALUES ('https://x/', 'X', 'news', 'tr',"
                " 0, false, 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO items (feed_id, guid, title, summary, fetched_at, fingerprint)"
                " SELECT id, 'g', 'TÜRKİYE Ottawa Sözleşmesi', '', :now, 'f' FROM feeds"
            ),
            {"now": NOW},
        )
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions() as s:
        assert [r.title for r in search_items(s, "turkiye sozlesmesi")] == [
            "TÜRKİYE Ottawa Sözleşmesi"
        ]
    engine.dispose()


def test_index_text_is_the_folded_words_whether_cached_or_not() -> None:
    from feeds.fold import FOLDED_WORD, fold
    from storage.fulltext import index_text

    for title, body, _, _ in ARCHIVE.values():
        expected = FOLDED_WORD.findall(fold(f"{title}\n{body}"))
        assert index_text(title, body).split() == expected
        assert index_text(title, body).split() == expected  # from the cache


def test_the_search_fold_cache_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import storage.fulltext
    from storage.fulltext import index_text

    monkeypatch.setattr(storage.fulltext, "_CACHE_MAX", 50)
    for n in range(400):
        assert index_text(f"Žodis{n}", "") == f"zodis{n}"
        assert len(storage.fulltext._folded) <= 50


def test_a_huge_summary_is_stored_and_its_start_searchable(
    archive: sessionmaker[Session],
) -> None:
    # Two megabytes of distinct words would overflow PostgreSQL's tsvector.
    words = " ".join(f"w{i:07d}" for i in range(250_000))
    with transaction(archive) as s:
        feed_id = s.scalars(select(Feed.id)).one()
        [new] = insert_items(s, feed_id, [_entry("xx", "Huge", words)], fetched_at=NOW)
    assert new.entry.summary == words
    assert _found(archive, "w0000001") == {"xx"}
