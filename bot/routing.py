"""Which channels an alert goes to: `[[slack.routes]]`, else the default channel. Pure.

A route matches a hit when every condition it lists holds (each condition is
a list: any of its values). An alert goes to every route one of its hits
matches, in config order; to the default channel when none matches, or as
well when a matching route says `also_default`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.config import Route, Slack


class Routable(Protocol):
    @property
    def rule(self) -> str: ...
    @property
    def topic(self) -> str: ...
    @property
    def state(self) -> str | None: ...
    @property
    def severity(self) -> str: ...


def route_matches(route: Route, hit: Routable) -> bool:
    return (
        (not route.rule or hit.rule in route.rule)
        and (not route.topic or hit.topic in route.topic)
        and (not route.state or hit.state in route.state)
        and (not route.severity or hit.severity in route.severity)
    )


def alert_channels(hits: Sequence[Routable], slack: Slack) -> list[str]:
    """The channels for an alert made of `hits`, without repeats, in config order."""
    channels: list[str] = []
    default = False
    matched_any = False
    for route in slack.routes:
        if any(route_matches(route, hit) for hit in hits):
            matched_any = True
            default = default or route.also_default
            channels.append(route.channel)
    if default or not matched_any:
        channels.insert(0, slack.channel)
    return list(dict.fromkeys(channels))
