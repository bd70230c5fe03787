"""Small, readable configs and feeds for tests."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

STATES = """
[states.LT]
name = "Lithuania"
terms.en = ["lithuania*", "vilnius"]
terms.lt = ["lietuv*", "seim*"]
terms.pl = ["litw*"]

[states.PL]
name = "Poland"
terms.en = ["poland", "polish"]
terms.pl = ["polsk*", "sejm*"]
"""

GROUPS = """
[groups.cluster]
en = ["cluster munition*", "cluster bomb*"]
lt = ["kasetini* šaudmen*"]
pl = ["amunicj* kasetow*"]

[groups.treaty_ccm]
en = ["convention on cluster munitions"]
lt = ["konvencij* dėl kasetini* šaudmen*"]

[groups.withdraw]
en = ["withdraw*", "leave", "leaving"]
lt = ["pasitrauk*"]
pl = ["wycofa*", "wypowied*"]

[groups.acquire_use]
en = ["buy*", "purchas*", "stockpil*"]
pl = ["zakup*", "kupi*"]

[groups.exclude]
en = ["server cluster*"]
"""

RULES = """
[[rules]]
id = "ccm_withdrawal"
topic = "ccm_withdrawal"
severity = "high"
all = ["treaty_ccm|cluster", "withdraw", "state"]
none = ["exclude"]

[[rules]]
id = "cluster_acquisition"
topic = "cluster_acquisition"
all = ["cluster", "acquire_use", "state"]
none = ["exclude"]
"""


def config_text(
    *, feeds: list[tuple[str, str, str | None]], slack_url: str = "", extra: str = ""
) -> str:
    """A config with the sample states, groups and rules and the given feeds."""
    parts = ['[normwatch]\ntimezone = "Europe/Vilnius"\n']
    if slack_url:
        parts.append(f'[slack]\nchannel = "#alerts"\napi_url = "{slack_url}"\n')
    parts += [STATES, GROUPS, RULES]
    for name, url, state in feeds:
        state_line = f'state = "{state}"\n' if state else ""
        parts.append(
            f'[[feeds]]\nname = "{name}"\nurl = "{url}"\nlanguage = "lt"\n{state_line}'
        )
    parts.append(extra)
    return "\n".join(parts)


def write_config(directory: Path, **kwargs: object) -> Path:
    path = directory / "config.toml"
    path.write_text(config_text(**kwargs), encoding="utf-8")  # type: ignore[arg-type]
    return path


def rss(
    *items: tuple[str, str, str],
    title: str = "Test feed",
    published: datetime | None = None,
) -> str:
    """An RSS 2.0 document; each item is (title, link, description), published now."""
    date = format_datetime(published or datetime.now(UTC), usegmt=True)
    body = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(link)}</link>"
        f"<guid>{escape(link)}</guid><description>{escape(d)}</description>"
        f"<pubDate>{date}</pubDate></item>"
        for t, link, d in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title>{body}</channel></rss>"
    )
