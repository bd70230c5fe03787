"""Feed dates as aware UTC datetimes, read exactly as feedparser reads them.

The two shapes nearly every feed uses are read here; any other spelling goes
to feedparser's own date parser, so both readers agree on every entry's date.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from feedparser.datetimes import _parse_date as _feedparser_date
from feedparser.datetimes.rfc822 import timezone_names as _RFC822_ZONES

# The two shapes nearly every feed uses, restricted to what feedparser's own
# handlers read the same way; anything else goes to feedparser's parser.
_W3DTF = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?)?"
)
_RFC822 = re.compile(
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun)\S*\s+)?(\d{1,2})\s+"
    r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\S*\s+(\d{4})\s+"
    r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s+([+-]\d{4}|[a-z]+)"
)
_MONTHS: Final = {
    m: i
    for i, m in enumerate(
        "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1
    )
}


def _from_tuple(value: Any) -> datetime | None:
    # As feeds.parse always did: feedparser's 9-tuples are UTC; timegm, never mktime.
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _fast_date(text: str) -> datetime | None:
    """The two common shapes, computed as feedparser's w3dtf and rfc822 handlers do."""
    match = _W3DTF.fullmatch(text)
    if match:
        year, month, day, hour, minute, second, zone = match.groups()
        offset = 0
        if zone and zone not in "Zz":
            offset = int(zone[1:3]) * 60 + int(zone[4:])
            if zone[0] == "-":
                offset = -offset
        stamp = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=UTC,
        )
    else:
        match = _RFC822.fullmatch(text.lower())
        if not match:
            return None
        day, month, year, hour, minute, second, zone = match.groups()
        if zone[0] in "+-":
            offset = int(zone[1:3]) * 60 + int(zone[3:])
            if zone[0] == "-":
                offset = -offset
        elif zone.startswith("gmt") and zone != "gmt":
            return None  # GMT+2 and friends: feedparser's rules
        else:
            offset = _RFC822_ZONES.get(zone, 0) * 60
        stamp = datetime(
            int(year),
            _MONTHS[month],
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            tzinfo=UTC,
        )
    if offset:
        stamp -= timedelta(0, offset * 60)
    if not 1 < stamp.year < 9999:
        return None  # near the ends feedparser's arithmetic overflows: let it say
    return stamp


def parse_date(text: str | None) -> datetime | None:
    """A feed date as an aware UTC datetime, exactly as feedparser would read it.

    RFC 822 (`Mon, 02 Jun 2025 10:00:00 +0300`) and W3C-DTF/ISO 8601
    (`2025-06-02T10:00:00Z`, no seconds, no zone = UTC) are read here; other
    spellings go to feedparser's date parser. Unreadable: None.
    """
    if not text:
        return None
    try:
        fast = _fast_date(text)
    except (ValueError, OverflowError):  # out of range: feedparser tries other readings
        fast = None
    if fast is not None:
        return fast
    return _from_tuple(_feedparser_date(text))
