"""History queries on a large archive: 1,000,000 items and 20,000 hits.

Run from the repository root (PostgreSQL as in the tests, or --pg URL):

    .venv/bin/python -m bench.history_queries
    .venv/bin/python -m bench.history_queries --items 200000 --hits 5000   # quicker
    .venv/bin/python -m bench.history_queries --backends sqlite --json

What it does, per backend:

1. Builds the schema with the real migrations, then bulk-loads a generated
   archive: 240 feeds over the eight states and nine languages, items spread
   over 180 days (titles and leads drawn from per-language vocabularies with
   the languages' diacritics and a Zipf-like word frequency; about 2 % carry
   treaty vocabulary such as "kasetinių šaudmenų"), 20,000 hits on six rules
   (mostly on the treaty items), their stories, Slack outbox rows and 4,000
   feedback verdicts. Loading bypasses the ORM (executemany on SQLite, COPY
   on PostgreSQL, the search index built once at the end) but fills
   `items.search_text` with the same `index_text` the column default uses.
2. Times the queries behind `normwatch hits`, `search` and `stats` through
   the real storage functions: each is run once to warm the cache, then
   five times; the table shows the median and the slowest run.
3. The baseline, in the same run: one sequential scan of the archive
   (`title LIKE '%kasetin%'`, what a search without an index costs, and
   which would still miss "KASETINIŲ"). Each query's ratio to it is shown.

Targets, from the issue: every listing and search under 300 ms, stats under 1 s.
The PostgreSQL data lives in a schema of its own, dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from storage.db import make_engine, session_factory, upgrade
from storage.fulltext import (
    FTS_TABLE,
    PG_INDEX,
    PG_VECTOR,
    index_text,
    restore_triggers,
)
from storage.history import HitFilter, list_hits
from storage.search import ItemFilter, list_items
from storage.stats import count_hits, hits_per_day_by_state

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
DAYS = 180
STATES = ["EE", "FI", "GR", "LV", "LT", "PL", "RO", "TR"]
LANGUAGES = {
    "EE": "et",
    "FI": "fi",
    "GR": "el",
    "LV": "lv",
    "LT": "lt",
    "PL": "pl",
    "RO": "ro",
    "TR": "tr",
}
LETTERS = {
    "et": "aabdeeghijkllmnoopprsssttuuvõäöüšž",
    "fi": "aaaeeehiiijkkllmnnooprssttuuvyäö",
    "el": "αάβγδεέζηήθιίκλμνξοόπρσςτυύφχψωώ",
    "lv": "aāābcčdeēfgģiīījkķlļmnņoprsštuūvzž",
    "lt": "aąbcčdeęėfghiįyjklmnoprsštuųūvzž",
    "pl": "aąbcćdeęfghijklłmnńoóprsśtuwyzźż",
    "ro": "aăâbcdefghiîjlmnoprsștțuvz",
    "tr": "abcçdefgğhıijklmnoöprsştuüvyzİ",
    "en": "aabcdeeefghiijklmnooprsstttuwy",
}
# Treaty words per language: what the team searches for.
TOPICAL = {
    "et": "kassettmoon konventsioon väljaastumine jalaväemiinid",
    "fi": "rypäleammus sopimus irtautuminen jalkaväkimiinat",
    "el": "πυρομαχικά διασποράς σύμβαση αποχώρηση νάρκες",
    "lv": "kasešu munīcija konvencija izstāšanās kājnieku mīnas",
    "lt": "kasetinių šaudmenų konvencija pasitraukimas priešpėstinės minos",
    "pl": "amunicji kasetowej konwencja wypowiedzenie miny przeciwpiechotne",
    "ro": "muniții cu dispersie convenția retragerea mine antipersonal",
    "tr": "misket bombası sözleşme çekilme Türkiye antipersonel mayın",
    "en": "cluster munitions convention withdrawal anti-personnel mines",
}
RULES = [
    ("ccm_withdrawal", "high"),
    ("ottawa_withdrawal", "high"),
    ("cluster_use", "high"),
    ("cluster_acquisition", "medium"),
    ("cluster_assistance", "medium"),
    ("mine_use", "medium"),
]


@dataclass(frozen=True)
class Sizes:
    items: int
    hits: int
    feedback: int


# ---------------------------------------------------------------------------
# generating the archive


def _vocabulary(rng: random.Random, language: str, size: int = 4000) -> list[str]:
    letters = LETTERS[language]
    return [
        "".join(rng.choice(letters) for _ in range(rng.randint(3, 11))).capitalize()
        if i % 9 == 0
        else "".join(rng.choice(letters) for _ in range(rng.randint(2, 11)))
        for i in range(size)
    ]


class TextPool:
    """Titles and sentences per language, with their folded words computed
    once: an item is a title and two sentences, so its index text is theirs
    joined."""

    def __init__(self, rng: random.Random, per_language: int) -> None:
        self.rng = rng
        self.titles: dict[str, list[tuple[str, str, bool]]] = {}
        self.sentences: dict[str, list[tuple[str, str]]] = {}
        weights = [1 / (rank + 1) for rank in range(4000)]
        for language in LETTERS:
            words = _vocabulary(rng, language)
            topical = TOPICAL[language].split()

            def phrase(n: int, treaty: bool) -> str:
                picked = rng.choices(words, weights, k=n)  # noqa: B023
                if treaty:
                    at = rng.randrange(n)
                    picked[at : at + 2] = rng.sample(topical, 2)  # noqa: B023
                return " ".join(picked)

            self.titles[language] = []
            for i in range(per_language):
                treaty = i % 50 == 0
                title = phrase(8, treaty).capitalize()
                self.titles[language].append((title, index_text(title, ""), treaty))
            self.sentences[language] = []
            for _ in range(per_language):
                sentence = phrase(12, False).capitalize() + "."
                self.sentences[language].append((sentence, index_text(sentence, "")))

    def item(self, language: str) -> tuple[str, str, str, bool]:
        title, folded_title, treaty = self.rng.choice(self.titles[language])
        (s1, f1), (s2, f2) = self.rng.sample(self.sentences[language], 2)
        return title, f"{s1} {s2}", f"{folded_title} {f1} {f2}", treaty


def _feeds() -> list[tuple[int, str, str, str, str]]:
    feeds = []
    for i in range(240):
        state = STATES[i % len(STATES)]
        language = "en" if i % 5 == 4 else LANGUAGES[state]
        feeds.append(
            (
                i + 1,
                f"https://feed{i}.example/rss",
                f"Outlet {i:03d} {state}",
                state,
                language,
            )
        )
    return feeds


def generate(
    sizes: Sizes, seed: int = 7
) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """(table, rows) batches in insertion order; ids are given explicitly."""
    rng = random.Random(seed)
    pool = TextPool(rng, per_language=max(2000, sizes.items // 60))
    feeds = _feeds()
    yield (
        "feeds",
        [
            (i, url, name, "news", state, lang, 0, False, 0)
            for i, url, name, state, lang in feeds
        ],
    )
    span = DAYS * 86400
    treaty_items: list[tuple[int, str, int, datetime, str]] = []
    other_items: list[tuple[int, str, int, datetime, str]] = []
    batch: list[tuple[Any, ...]] = []
    for item_id in range(1, sizes.items + 1):
        feed_id, _, _, state, language = feeds[rng.randrange(len(feeds))]
        title, summary, folded, treaty = pool.item(language)
        fetched = NOW - timedelta(seconds=span * (1 - item_id / sizes.items))
        published = fetched - timedelta(minutes=rng.randint(1, 600))
        url = f"https://news.example/{item_id}"
        batch.append(
            (
                item_id,
                feed_id,
                url,
                url,
                url,
                title,
                summary,
                language,
                published,
                fetched,
                f"{item_id:x}",
                folded,
            )
        )
        record = (item_id, state, feed_id, fetched, title)
        (treaty_items if treaty else other_items).append(record)
        if len(batch) == 20000:
            yield "items", batch
            batch = []
    if batch:
        yield "items", batch
    # Most hits sit on treaty items; the rest are (false) alarms elsewhere.
    hit_items = rng.sample(treaty_items, min(len(treaty_items), sizes.hits * 3 // 4))
    hit_items += rng.sample(other_items, sizes.hits - len(hit_items))
    stories, hits, outbox = [], [], []
    hit_id = 0
    for story_id, (item_id, state, _, fetched, title) in enumerate(hit_items, 1):
        stories.append((story_id, f"https://news.example/{item_id}", title, fetched))
        hit_id += 1
        rule, severity = RULES[rng.randrange(len(RULES))]
        matched = json.dumps([{"text": title.split()[0], "group": "cluster"}])
        hits.append(
            (
                hit_id,
                item_id,
                story_id,
                rule,
                rule,
                severity,
                state,
                matched,
                title,
                fetched,
                True,
            )
        )
        if rng.random() < 0.6:
            outbox.append(
                (
                    story_id,
                    story_id,
                    hit_id,
                    "#alerts",
                    "sent",
                    1,
                    fetched,
                    fetched,
                    fetched,
                    "C1",
                    f"{story_id}.0",
                )
            )
    yield "stories", stories
    yield "hits", hits
    yield "outbox", outbox
    judged = rng.sample(range(1, hit_id + 1), min(sizes.feedback, hit_id))
    yield (
        "feedback",
        [
            (i + 1, h, "relevant" if rng.random() < 0.7 else "not_relevant", "U1", NOW)
            for i, h in enumerate(judged)
        ],
    )


COLUMNS = {
    "feeds": "id, url, name, kind, state, language, consecutive_failures, failure_reported, items_seen",
    "items": "id, feed_id, guid, url, canonical_url, title, summary, language, published_at, fetched_at, fingerprint, search_text",
    "stories": "id, key, title, first_seen_at",
    "hits": "id, item_id, story_id, rule, topic, severity, state, matched, snippet, created_at, alertable",
    "outbox": "id, story_id, hit_id, channel, status, attempts, created_at, next_attempt_at, sent_at, slack_channel, slack_ts",
    "feedback": "id, hit_id, verdict, who, created_at",
}


# ---------------------------------------------------------------------------
# loading


def _sqlite_value(value: Any) -> Any:
    # The format SQLAlchemy's SQLite DateTime writes, so comparisons agree.
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def load_sqlite(engine: Engine, sizes: Sizes) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        # One pass to build the search index at the end beats a trigger per row.
        for event in ("insert", "delete", "update"):
            cursor.execute(f"DROP TRIGGER IF EXISTS {FTS_TABLE}_{event}")
        for table, rows in generate(sizes):
            columns = COLUMNS[table]
            marks = ", ".join("?" * len(columns.split(",")))
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({marks})",
                [tuple(_sqlite_value(v) for v in row) for row in rows],
            )
        cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as connection:
        restore_triggers(connection)


def load_postgresql(engine: Engine, sizes: Sizes) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"DROP INDEX {PG_INDEX}")
        for table, rows in generate(sizes):
            with cursor.copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        cursor.execute("SET maintenance_work_mem = '256MB'")
        cursor.execute(f"CREATE INDEX {PG_INDEX} ON items USING gin ({PG_VECTOR})")
        for table in COLUMNS:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


# ---------------------------------------------------------------------------
# timing


def queries(sizes: Sizes) -> list[tuple[str, str, Callable[[Session], Any]]]:
    """(kind, label, call): what the commands run, on realistic filters."""
    month = NOW - timedelta(days=30)
    week = NOW - timedelta(days=7)
    tz = ZoneInfo("Europe/Vilnius")
    hits = HitFilter(limit=100)
    items = ItemFilter(limit=100)
    deep = max(0, min(sizes.hits - 100, 5000))
    return [
        ("listing", "hits (newest 100)", lambda s: list_hits(s, hits)),
        (
            "listing",
            "hits --state LT",
            lambda s: list_hits(s, replace(hits, state="LT")),
        ),
        (
            "listing",
            "hits --topic mine_use --since 30d",
            lambda s: list_hits(s, replace(hits, topic="mine_use", since=month)),
        ),
        (
            "listing",
            "hits --rule cluster_use --lang pl",
            lambda s: list_hits(s, replace(hits, rule="cluster_use", language="pl")),
        ),
        (
            "listing",
            "hits --feed 'Outlet 004 LT'",
            lambda s: list_hits(s, replace(hits, feed="Outlet 004 LT")),
        ),
        (
            "listing",
            "hits --verdict relevant",
            lambda s: list_hits(s, replace(hits, verdict="relevant")),
        ),
        (
            "listing",
            "hits --verdict none --not-alerted",
            lambda s: list_hits(s, replace(hits, verdict="none", alerted=False)),
        ),
        (
            "listing",
            f"hits --page {deep // 100 + 1}",
            lambda s: list_hits(s, replace(hits, offset=deep)),
        ),
        (
            "listing",
            "hits --since 2026-09-01 --until 2026-09-30 --oldest",
            lambda s: list_hits(
                s,
                replace(
                    hits,
                    since=datetime(2026, 9, 1, tzinfo=UTC),
                    until=datetime(2026, 10, 1, tzinfo=UTC),
                    oldest_first=True,
                ),
            ),
        ),
        (
            "search",
            'search "kasetin*"',
            lambda s: list_hits(s, replace(hits, search="kasetin*")),
        ),
        (
            "search",
            'search "\\"kasetiniu saudmenu\\"" --state LT',
            lambda s: list_hits(
                s, replace(hits, search='"kasetiniu saudmenu"', state="LT")
            ),
        ),
        (
            "search",
            "search αποχωρηση OR withdrawal",
            lambda s: list_hits(s, replace(hits, search="αποχωρηση OR withdrawal")),
        ),
        (
            "search",
            "search --all-items 'misket bombasi'",
            lambda s: list_items(s, replace(items, search="misket bombasi")),
        ),
        (
            "search",
            "search --all-items konwencj* --unmatched",
            lambda s: list_items(s, replace(items, search="konwencj*", matched=False)),
        ),
        (
            "search",
            "search --all-items (a common word)",
            lambda s: list_items(s, replace(items, search=COMMON_WORD)),
        ),
        (
            "search",
            "search --all-items (another word) --since 7d",
            lambda s: list_items(s, replace(items, search=RARE_WORD, since=week)),
        ),
        (
            "listing",
            "search --all-items --feed (no words: newest items)",
            lambda s: list_items(s, replace(items, feed="Outlet 010 GR")),
        ),
        ("stats", "stats --by rule", lambda s: count_hits(s, HitFilter(), by="rule")),
        (
            "stats",
            "stats --by state --since 30d",
            lambda s: count_hits(s, HitFilter(since=month), by="state"),
        ),
        ("stats", "stats --by feed", lambda s: count_hits(s, HitFilter(), by="feed")),
        (
            "stats",
            "stats --by day (Europe/Vilnius)",
            lambda s: count_hits(s, HitFilter(), by="day", tz=tz),
        ),
        (
            "stats",
            "chart: hits per day per state",
            lambda s: hits_per_day_by_state(s, HitFilter(), tz=tz),
        ),
    ]


COMMON_WORD = ""  # set once the vocabulary is known (the most frequent word)
RARE_WORD = ""


def _pick_words(session: Session, dialect: str) -> tuple[str, str]:
    # The first word of titles: the generator's Zipf head is frequent, a
    # word from a late item's tail is rare.
    first = session.execute(
        text("SELECT search_text FROM items WHERE id = 1")
    ).scalar_one()
    last = session.execute(
        text("SELECT search_text FROM items ORDER BY id DESC LIMIT 1")
    ).scalar_one()
    return first.split()[0], max(last.split(), key=len)


def time_call(call: Callable[[], Any], runs: int = 5) -> tuple[float, float, int]:
    result = call()  # warm the caches
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        result = call()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings), max(timings), len(result)


def measure(url: str, sizes: Sizes, *, load: bool = True) -> dict[str, Any]:
    global COMMON_WORD, RARE_WORD
    engine = make_engine(url)
    upgrade(engine)
    dialect = engine.dialect.name
    start = time.perf_counter()
    if load:
        (load_postgresql if dialect == "postgresql" else load_sqlite)(engine, sizes)
    loaded = time.perf_counter() - start
    sessions = session_factory(engine)
    results: dict[str, Any] = {
        "backend": dialect,
        "load_seconds": round(loaded, 1),
        "queries": [],
    }
    with sessions() as session:
        COMMON_WORD, RARE_WORD = _pick_words(session, dialect)
        scan, _, _ = time_call(
            lambda: session.execute(
                text("SELECT count(*) FROM items WHERE title LIKE '%kasetin%'")
            ).all(),
            runs=3,
        )
        results["baseline_scan_ms"] = round(scan * 1000, 1)
        for kind, label, call in queries(sizes):
            median, slowest, rows = time_call(lambda call=call: call(session))  # type: ignore[misc]
            results["queries"].append(
                {
                    "kind": kind,
                    "query": label.replace(
                        "(a common word)", repr(COMMON_WORD)
                    ).replace("(another word)", repr(RARE_WORD)),
                    "median_ms": round(median * 1000, 1),
                    "max_ms": round(slowest * 1000, 1),
                    "rows": rows,
                    "vs_scan": round(scan / median, 1) if median else None,
                }
            )
    engine.dispose()
    return results


TARGET_MS = {"listing": 300, "search": 300, "stats": 1000}


def report(all_results: list[dict[str, Any]], sizes: Sizes) -> str:
    lines = [
        f"archive: {sizes.items:,} items, {sizes.hits:,} hits, {sizes.feedback:,} verdicts"
    ]
    for res in all_results:
        lines.append(
            f"\n{res['backend']}: loaded in {res['load_seconds']} s; baseline scan "
            f"(title LIKE '%kasetin%') {res['baseline_scan_ms']} ms"
        )
        lines.append(
            f"{'query':58} {'median':>8} {'max':>8} {'rows':>5} {'x scan':>7}  target"
        )
        for q in res["queries"]:
            target = TARGET_MS[q["kind"]]
            verdict = "ok" if q["median_ms"] < target else "MISSED"
            lines.append(
                f"{q['query'][:58]:58} {q['median_ms']:>6.1f}ms {q['max_ms']:>6.1f}ms "
                f"{q['rows']:>5} {q['vs_scan'] or 0:>6.1f}x  <{target} ms {verdict}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--hits", type=int, default=20_000)
    parser.add_argument("--feedback", type=int, default=4_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--pg",
        default=os.environ.get(
            "NORMWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--reuse",
        metavar="URL",
        help="Time the queries on an archive kept by --keep (no loading).",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="Keep the archive (its URL is printed) to explore or --reuse.",
    )
    args = parser.parse_args(argv)
    sizes = Sizes(args.items, args.hits, args.feedback)
    results = []
    for backend in [args.reuse] if args.reuse else args.backends.split(","):
        if args.reuse:
            results.append(measure(args.reuse, sizes, load=False))
        elif backend == "sqlite" and args.keep:
            path = Path(tempfile.gettempdir()) / f"normwatch-bench-{os.getpid()}.db"
            results.append(measure(f"sqlite:///{path}", sizes))
            print(f"kept: --reuse sqlite:///{path}", file=sys.stderr)
        elif backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                results.append(measure(f"sqlite:///{Path(tmp) / 'bench.db'}", sizes))
        else:
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            admin = create_engine(args.pg)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                results.append(
                    measure(f"{args.pg}?options=-csearch_path%3D{schema}", sizes)
                )
            finally:
                if args.keep:
                    print(
                        f"kept: --reuse '{args.pg}?options=-csearch_path%3D{schema}'",
                        file=sys.stderr,
                    )
                else:
                    with admin.begin() as conn:
                        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
        print(report(results[-1:], sizes) if not args.json else "", file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
