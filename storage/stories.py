"""Stories in the database: the lookups that decide which story an item joins.

`bot.stories` makes the decision (same URL, near-duplicate text, same event);
these are the queries it needs and the writes that record it, all inside the
caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from storage.db import flushed_connection
from storage.dialect import insert_ignore
from storage.models import Hit, Item, Story


@dataclass(frozen=True)
class Signed:
    """An item already in a story, with its MinHash signature."""

    story_id: int
    minhash: bytes


@dataclass(frozen=True)
class StoryContent:
    """What a story already holds, to say what a new item adds."""

    outlets: set[str]
    languages: set[str]
    rules: set[str]
    urls: set[str]


# These run for every matched item. Built once with bound parameters, they
# are reused as they are: SQLAlchemy then finds their compiled SQL at once
# instead of first working out a cache key for a new statement, which took
# longer than the query.
_STORY_OF_URL = (
    select(Item.story_id)
    .where(Item.canonical_url == bindparam("url"), Item.story_id.is_not(None))
    .order_by(Item.id)
    .limit(1)
)
_SIGNED_NEAR = (
    select(Item.story_id, Item.minhash)
    .where(
        Item.story_id.is_not(None),
        Item.minhash.is_not(None),
        Item.published_at.between(bindparam("start"), bindparam("end")),
    )
    .order_by(Item.id)
)
_STORY_OF_KEY = select(Story.id).where(Story.key == bindparam("key"))
_STORY_STATES = (
    select(Hit.state).where(Hit.story_id == bindparam("story_id")).distinct()
)
# What a story holds (storage.stories.story_content): all of it, or what
# its items before one item brought.
_STORY_ITEMS = select(Item.outlet, Item.language, Item.canonical_url).where(
    Item.story_id == bindparam("story_id")
)
_STORY_ITEMS_BEFORE = _STORY_ITEMS.where(Item.id < bindparam("before"))
_STORY_RULES = (
    select(Hit.rule)
    .join(Item, Hit.item_id == Item.id)
    .where(Item.story_id == bindparam("story_id"))
)
_STORY_RULES_BEFORE = _STORY_RULES.where(Item.id < bindparam("before"))
_JOIN_STORY = (
    update(Item)
    .where(Item.id == bindparam("item_id"))
    .values(
        story_id=bindparam("story_id"),
        outlet=bindparam("outlet"),
        minhash=bindparam("minhash"),
    )
)


def story_of_url(session: Session, canonical_url: str) -> int | None:
    """The story an item with this canonical URL already belongs to."""
    found: int | None = (
        flushed_connection(session)
        .execute(_STORY_OF_URL, {"url": canonical_url})
        .scalar()
    )
    return found


def signed_near(
    session: Session, *, published_at: datetime, window: timedelta
) -> list[Signed]:
    """Items in stories published within `window` either side, oldest first."""
    rows = (
        flushed_connection(session)
        .execute(
            _SIGNED_NEAR,
            {"start": published_at - window, "end": published_at + window},
        )
        .all()
    )
    return [
        Signed(story_id, minhash)
        for story_id, minhash in rows
        if story_id is not None and minhash is not None
    ]


def event_story(
    session: Session, pairs: Iterable[tuple[str, str]], *, since: datetime
) -> int | None:
    """The first story since `since` with an alertable hit on one of the
    (state, topic) pairs: the thread a new report of that event joins."""
    params: dict[str, Any] = {"since": since}
    for i, (state, topic) in enumerate(pairs):
        params[f"state{i}"] = state
        params[f"topic{i}"] = topic
    if len(params) == 1:
        return None
    found: int | None = (
        flushed_connection(session)
        .execute(_event_story(len(params) // 2), params)
        .scalar()
    )
    return found


@cache
def _event_story(pairs: int) -> Select[int]:
    """The event lookup for this many (state, topic) pairs, built once."""
    conditions = [
        and_(Hit.state == bindparam(f"state{i}"), Hit.topic == bindparam(f"topic{i}"))
        for i in range(pairs)
    ]
    return (
        select(Story.id)
        .join(Hit, Hit.story_id == Story.id)
        .where(
            Story.first_seen_at >= bindparam("since"), Hit.alertable, or_(*conditions)
        )
        .order_by(Story.first_seen_at, Story.id)
        .limit(1)
    )


def story_states(session: Session, story_id: int) -> set[str]:
    """The states a story's hits are about."""
    return {
        state
        for state in flushed_connection(session)
        .execute(_STORY_STATES, {"story_id": story_id})
        .scalars()
        if state
    }


def new_story(
    session: Session, *, key: str, title: str, now: datetime
) -> tuple[int, bool]:
    """The story with this key, and whether this call created it."""
    created: int | None = (
        flushed_connection(session)
        .execute(
            insert_ignore(session, Story, conflict=["key"], returning=["id"]),
            {"key": key, "title": title, "first_seen_at": now},
        )
        .scalar()
    )
    if created is not None:
        return created, True
    story_id: int | None = (
        flushed_connection(session).execute(_STORY_OF_KEY, {"key": key}).scalar()
    )
    assert story_id is not None
    return story_id, False


def join_story(
    session: Session,
    item_id: int,
    story_id: int,
    *,
    outlet: str,
    minhash: bytes | None,
) -> None:
    flushed_connection(session).execute(
        _JOIN_STORY,
        {
            "item_id": item_id,
            "story_id": story_id,
            "outlet": outlet,
            "minhash": minhash,
        },
    )
    # Written past the ORM: a copy of the item this session holds would still
    # show no story, and `story_for` would then give the item another one
    # (the poll path loads no items; `story_for` and the CLI do).
    held = session.identity_map.get(identity_key(Item, item_id))
    if held is not None:
        session.expire(held, ["story_id", "outlet", "minhash"])


def story_content(
    session: Session, story_id: int, *, before_item: int | None = None
) -> StoryContent:
    """Outlets, languages, rules and URLs of a story's items (those before one item)."""
    items, hits = _STORY_ITEMS, _STORY_RULES
    params = {"story_id": story_id}
    if before_item is not None:
        items, hits = _STORY_ITEMS_BEFORE, _STORY_RULES_BEFORE
        params["before"] = before_item
    connection = flushed_connection(session)
    rows = connection.execute(items, params).all()
    rules = set(connection.execute(hits, params).scalars())
    return StoryContent(
        outlets={outlet.lower() for outlet, _, _ in rows if outlet},
        languages={language for _, language, _ in rows if language},
        rules=rules,
        urls={url for _, _, url in rows if url},
    )
