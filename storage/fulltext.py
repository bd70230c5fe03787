"""Full-text search that behaves the same on SQLite and PostgreSQL.

Neither backend folds Turkish ı/İ, Greek accents and final sigma, or Romanian
ş/ș the way the matcher does, so Python does it: every item stores a folded
copy of its title and summary (`items.search_text`, plain words separated by
spaces, filled by a column default), and the user's query is folded the same
way. The backends only index words:

- SQLite: an FTS5 table `items_fts` over `items.search_text` (external
  content, kept in sync by triggers);
- PostgreSQL: a stored `tsvector` column `items.search_vector` computed with
  the language-neutral 'simple' configuration, under a GIN index.

Neither needs a database extension. The query language is small: words
(all must appear), `word*` (any ending), `"a phrase"`, `a OR b`, `-word`
(must not appear).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVarTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    bindparam,
    column,
    literal_column,
    select,
    table,
    text,
)

from feeds.fold import FOLDED_WORD, fold

Ts = TypeVarTuple("Ts")

# Created by migration 0003, per backend, outside the models: the schema
# comparison leaves them alone (see `is_search_object`).
FTS_TABLE = "items_fts"
PG_VECTOR = "search_vector"
PG_INDEX = "ix_items_search_vector"

# A prefix of one letter matches most of the archive: too slow to be useful.
MIN_PREFIX = 2


class SearchSyntaxError(ValueError):
    """The search text cannot be understood; the message says why."""


class _FoldedChunks(dict[str, str]):
    """Whitespace-separated chunk -> its folded words; news vocabulary repeats,
    so most chunks are folded once (a new item costs ~10 µs, not ~130)."""

    def __missing__(self, chunk: str) -> str:
        if len(self) >= _CACHE_MAX:
            self.clear()
        words = self[chunk] = " ".join(FOLDED_WORD.findall(fold(chunk)))
        return words


_CACHE_MAX = 50_000  # cleared when full: ~7 MB at most (see bot.rules)
INDEXED_CHARS = 50_000
_folded = _FoldedChunks()


def index_text(title: str, summary: str) -> str:
    """What the index holds for an item: its folded words, space-separated
    (a chunk without letters leaves an extra space, which no index counts).
    Only the first INDEXED_CHARS of a summary count: PostgreSQL refuses a
    tsvector over 1 MB, and a hostile feed must not make an insert fail."""
    text = f"{title[:INDEXED_CHARS]}\n{summary[:INDEXED_CHARS]}"
    return " ".join(map(_folded.__getitem__, text.split()))


@dataclass(frozen=True)
class Phrase:
    """Words that must appear together in this order; the last may be a prefix."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class Query:
    """All `groups` must match (each: any of its phrases), none of `excluded`."""

    groups: tuple[tuple[Phrase, ...], ...]
    excluded: tuple[Phrase, ...] = ()


_TOKEN = re.compile(r'(-?)"([^"]*)"(\*?)|(\S+)')


def _phrase(raw: str, star: bool) -> Phrase | None:
    words = tuple(FOLDED_WORD.findall(fold(raw)))
    if not words:
        return None
    if star and len(words[-1]) < MIN_PREFIX:
        raise SearchSyntaxError(
            f"{raw}*: a prefix needs at least {MIN_PREFIX} letters before the *"
        )
    return Phrase(words, prefix=star)


def parse_query(raw: str) -> Query:
    """Fold and parse what the user typed; raise SearchSyntaxError if it says nothing."""
    groups: list[list[Phrase]] = []
    excluded: list[Phrase] = []
    join_next = False
    for match in _TOKEN.finditer(raw):
        quoted_neg, quoted, quoted_star, bare = match.groups()
        if bare == "OR":
            join_next = bool(groups)
            continue
        if bare is not None:
            negated = bare.startswith("-") and len(bare) > 1
            body = bare[1:] if negated else bare
            star = body.endswith("*")
            phrase = _phrase(body.rstrip("*"), star)
        else:
            negated = bool(quoted_neg)
            # "a phrase*" and "a phrase"* both make the last word a prefix.
            inner_star = quoted.rstrip().endswith("*")
            phrase = _phrase(
                quoted.rstrip().rstrip("*"), bool(quoted_star) or inner_star
            )
        if phrase is None:
            continue
        if negated:
            excluded.append(phrase)
            join_next = False
        elif join_next:
            groups[-1].append(phrase)
            join_next = False
        else:
            groups.append([phrase])
    if not groups:
        raise SearchSyntaxError(
            f"search {raw!r}: give at least one word to look for (not only -excluded ones)"
        )
    return Query(tuple(tuple(g) for g in groups), tuple(excluded))


def fts5_expression(query: Query) -> str:
    """The query in FTS5 syntax. Words are letters and digits only, so quoting
    each phrase is enough to keep FTS5 operators out of user input."""

    def phrase(p: Phrase) -> str:
        return f'"{" ".join(p.words)}"' + ("*" if p.prefix else "")

    positive = " AND ".join(
        "(" + " OR ".join(phrase(p) for p in group) + ")" for group in query.groups
    )
    return "".join([positive, *(f" NOT {phrase(p)}" for p in query.excluded)])


def tsquery_text(query: Query) -> str:
    """The query in PostgreSQL `to_tsquery` syntax (lexemes quoted)."""

    def phrase(p: Phrase) -> str:
        lexemes = [f"'{w}'" for w in p.words]
        if p.prefix:
            lexemes[-1] += ":*"
        body = " <-> ".join(lexemes)
        return f"({body})" if len(lexemes) > 1 else body

    positive = " & ".join(
        "(" + " | ".join(phrase(p) for p in group) + ")" for group in query.groups
    )
    return "".join([positive, *(f" & !{phrase(p)}" for p in query.excluded)])


def search_condition(dialect: str, query: Query) -> ColumnElement[bool]:
    """True for the rows of `items` (in the FROM clause, unaliased) that match."""
    if dialect == "postgresql":
        return literal_column(f"items.{PG_VECTOR}").op("@@")(
            text("to_tsquery('simple', :tsquery)").bindparams(
                tsquery=tsquery_text(query)
            )
        )
    matches = (
        select(literal_column("rowid", Integer))
        .select_from(text(FTS_TABLE))
        .where(
            literal_column(FTS_TABLE).op("MATCH")(
                bindparam("fts_query", fts5_expression(query))
            )
        )
    )
    return literal_column("items.id", Integer).in_(matches)


def newest_matches(
    query: Select[*Ts], dialect: str, search: Query, *, newest: bool = True
) -> Select[*Ts]:
    """`query` over `items` narrowed to the matching items and ordered by
    item id (storage order), newest first unless told otherwise.

    On SQLite the FTS table drives the join in rowid order, so a LIMIT stops
    the scan early even for a word in a tenth of the archive; ordering by
    anything else would make SQLite collect and sort every match first.
    PostgreSQL walks the primary key or the GIN index, as its statistics say.
    """
    if dialect == "postgresql":
        key: ColumnElement[int] = literal_column("items.id", Integer)
        query = query.where(search_condition(dialect, search))
    else:
        fts = table(FTS_TABLE, column("rowid", Integer))
        key = fts.c.rowid
        query = query.join(fts, fts.c.rowid == literal_column("items.id")).where(
            literal_column(FTS_TABLE).op("MATCH")(
                bindparam("fts_query", fts5_expression(search))
            )
        )
    return query.order_by(key.desc() if newest else key.asc())


def is_search_object(name: str | None) -> bool:
    """True for the backend-specific search objects the models do not describe."""
    return bool(name) and (
        name in (PG_VECTOR, PG_INDEX) or str(name).startswith(FTS_TABLE)
    )


SQLITE_TRIGGERS = [
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_insert AFTER INSERT ON items BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_delete AFTER DELETE ON items BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_update "
    "AFTER UPDATE OF search_text ON items BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    f"INSERT INTO {FTS_TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END",
]
SQLITE_DDL = [
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5("
    "search_text, content='items', content_rowid='id', tokenize='unicode61')",
    *SQLITE_TRIGGERS,
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')",
]
# Raises if the index and `items` disagree in any row. The one-argument form
# (without rank = 1) does not notice a deleted item that is still indexed.
SQLITE_INTEGRITY_CHECK = (
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rank) VALUES ('integrity-check', 1)"
)
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_{event}"
    for event in ("insert", "delete", "update")
] + [f"DROP TABLE IF EXISTS {FTS_TABLE}"]

POSTGRESQL_DDL = [
    f"ALTER TABLE items ADD COLUMN {PG_VECTOR} tsvector "
    f"GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED",
    f"CREATE INDEX {PG_INDEX} ON items USING gin ({PG_VECTOR})",
]
POSTGRESQL_DROP = [
    f"DROP INDEX IF EXISTS {PG_INDEX}",
    f"ALTER TABLE items DROP COLUMN IF EXISTS {PG_VECTOR}",
]


def restore_triggers(connection: Connection) -> None:
    """Put back SQLite's sync triggers if a later migration rebuilt `items`
    (Alembic's batch mode copies the table and drops its triggers); the
    index itself keeps the same ids and text, so only the triggers are lost."""
    if connection.dialect.name != "sqlite":
        return
    exists = connection.execute(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name"),
        {"name": FTS_TABLE},
    ).first()
    if exists:
        for statement in SQLITE_TRIGGERS:
            connection.execute(text(statement))
