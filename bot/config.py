"""The team's configuration: `config.toml` loaded into validated models.

Every key is checked: an unknown key, a wrong type or a bad value becomes a
`ConfigError` listing each problem with its key path and line. Secrets never
live here; the Slack token comes from the environment (`SLACK_BOT_TOKEN`).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.keylines import key_lines, line_of
from bot.languages import ISO_639_1
from bot.terms import TermError, parse_term
from feeds.parliament import PARLIAMENT_FORMATS

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DATABASE_URL_ENV = "NORMWATCH_DATABASE_URL"
SLACK_TOKEN_ENV = "SLACK_BOT_TOKEN"
WEB_SECRET_ENV = "NORMWATCH_WEB_SECRET"
SLACK_APP_TOKEN_ENV = "SLACK_APP_TOKEN"
SLACK_WEBHOOK_ENV = "SLACK_WEBHOOK_URL"
DEFAULT_TRANSLATE_URL = "https://translate.google.com/translate?sl=auto&tl=en&u={url}"
BUILTIN_STATE_GROUP = "state"

_DURATION = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


MAX_DURATION = 3650 * 86400  # ten years: beyond that, dates overflow


def parse_duration(value: object) -> int:
    """Seconds from `90`, `"90s"`, `"10m"`, `"1h30m"` or `"7d"`, at most ten years."""
    seconds = _duration(value)
    if seconds > MAX_DURATION:
        raise ValueError(f"{value!r} is longer than ten years; write e.g. '30d'")
    return seconds


def _duration(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a duration like '10m' or '7d', got a boolean")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a duration like '10m' or '7d', got {value!r}")
    text = value.strip().lower()
    if text == "0":
        return 0
    pos, total = 0, 0
    for match in _DURATION.finditer(text):
        if text[pos : match.start()].strip():
            break
        total += int(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos == 0 or text[pos:].strip():
        raise ValueError(
            f"{value!r} is not a duration; write e.g. '90s', '10m', '2h' or '7d'"
        )
    return total


Duration = Annotated[int, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_language(code: str) -> str:
    if code not in ISO_639_1:
        raise ValueError(
            f"{code!r} is not an ISO 639-1 language code (e.g. 'lt', 'el')"
        )
    return code


TermsByLanguage = dict[str, list[str]]


class General(_Strict):
    timezone: str = "UTC"
    interval: Duration = 600
    alert_max_age: Duration = 7 * 86400
    tick: Duration = 30
    contact: str = Field(default="", max_length=200)
    # How often a running instance records that it is alive; one silent for
    # three heartbeats is taken for dead and its feeds and alerts go to others.
    heartbeat: Duration = 10

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not a time zone; use a name like 'Europe/Vilnius'"
            ) from None
        return value

    @field_validator("contact")
    @classmethod
    def _ascii(cls, value: str) -> str:
        # It goes into the User-Agent header, which HTTP keeps to printable ASCII.
        if not all(" " <= ch <= "~" for ch in value):
            raise ValueError("use plain ASCII (an e-mail address or a URL), no accents")
        return value

    @field_validator("interval", "tick", "heartbeat")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1 second")
        return value


_SIZE = re.compile(r"(\d+)\s*(b|kb|mb|gb)?", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30}


def parse_size(value: object) -> int:
    """Bytes from `1048576`, `"500KB"` or `"10MB"`."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _SIZE.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"{value!r} is not a size; write e.g. '10MB' or '500KB'")
    return int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "").lower()]


def usable_cores() -> int:
    """The cores this process may run on (a container's or taskset's share)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def worker_count(value: object) -> int:
    """`[fetch] parse_workers`: 0 to 16 processes, or "auto": one worker when
    the bot has a second core for it (parsing is about half a first cycle's
    CPU), none on one core, where a worker could only take turns with it."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return 1 if usable_cores() >= 2 else 0
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 16:
        return value
    raise ValueError(
        f'{value!r} is not a worker count; write "auto" or a number from 0 to 16'
    )


class Fetch(_Strict):
    """How feeds are fetched; the defaults suit a few hundred feeds."""

    concurrency: int = Field(default=64, ge=1, le=1024)
    per_host: int = Field(default=4, ge=1, le=256)
    connect_timeout: Duration = 10
    read_timeout: Duration = 20
    deadline: Duration = 60
    max_body: Annotated[int, BeforeValidator(parse_size)] = 10 * 1024 * 1024
    # Worker processes that parse changed feeds once a cycle has more than 16
    # (each ~30 MB and ~0.3 s of CPU to start); 0 = parse in the bot process;
    # "auto" = 1 where there are two cores or more.
    parse_workers: Annotated[int, BeforeValidator(worker_count)] = Field(
        default_factory=lambda: worker_count("auto")
    )
    # A feed failing this long is reported once to the ops channel (and again
    # when it recovers); 0 = never.
    report_failing_after: Duration = 6 * 3600

    @field_validator("connect_timeout", "read_timeout", "deadline")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1 second")
        return value


class Storage(_Strict):
    url: str = ""


class Metrics(_Strict):
    """An optional Prometheus endpoint for `normwatch run`; off unless a port is set."""

    port: int = Field(default=0, ge=0, le=65535)  # 0 = no endpoint
    address: str = Field(default="127.0.0.1", min_length=1, max_length=255)


class History(_Strict):
    """How long the archive keeps what never matched."""

    # Items no rule matched are deleted this long after they were fetched;
    # 0 = keep them forever. Hits, their items and feedback are always kept.
    keep_unmatched: Duration = 180 * 86400


class Web(_Strict):
    """`normwatch web`: the read-only history page."""

    host: str = Field(default="127.0.0.1", min_length=1, max_length=255)
    port: int = Field(default=8750, ge=1, le=65535)


Severity = Literal["low", "medium", "high"]
Channel = Annotated[str, Field(min_length=1, max_length=80)]
# How the config names a mention, and what Slack's mrkdwn needs for it.
_MENTION = re.compile(
    r"@(here|channel|everyone)|@([UW][A-Z0-9]{2,30})|@(S[A-Z0-9]{2,30})"
)


def mention_markup(value: str) -> str:
    """`@here` -> `<!here>`, `@U123` -> `<@U123>`, `@S123` -> `<!subteam^S123>`."""
    match = _MENTION.fullmatch(value)
    if match is None:
        raise ValueError(
            f"{value!r} is not a mention; use @here, @channel, a member ID like "
            "@U0123ABCD or a user group ID like @S0123ABCD"
        )
    special, user, group = match.groups()
    if special:
        return f"<!{special}>"
    return f"<@{user}>" if user else f"<!subteam^{group}>"


class Route(_Strict):
    """Alerts matching every condition given here go to `channel`."""

    channel: Channel
    rule: list[str] = Field(default_factory=list)
    topic: list[str] = Field(default_factory=list)
    state: list[str] = Field(default_factory=list)
    severity: list[Severity] = Field(default_factory=list)
    # Also post to the default channel (normally a routed alert goes only here).
    also_default: bool = False

    @model_validator(mode="after")
    def _needs_a_condition(self) -> Route:
        if not (self.rule or self.topic or self.state or self.severity):
            raise ValueError(
                "a route needs at least one of rule, topic, state or severity"
            )
        return self


_CLOCK_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


class SlackDigest(_Strict):
    # More alerts than this due at once in a channel go as one digest; 0 = never.
    burst: int = Field(default=10, ge=0, le=1000)
    # "HH:MM" in the team's time zone for the daily digest; empty = none.
    daily_at: str = ""
    channel: str = Field(default="", max_length=80)  # empty = the alert channel
    top: int = Field(default=5, ge=1, le=20)  # top stories listed daily

    @field_validator("daily_at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if value and not _CLOCK_TIME.fullmatch(value.strip()):
            raise ValueError(f"{value!r} is not a time of day; write e.g. '08:30'")
        return value.strip()


class Slack(_Strict):
    channel: str = Field(default="#normwatch-alerts", min_length=1, max_length=80)
    # Where normwatch reports its own problems (a refused config edit, a feed
    # failing for hours); empty = the alert channel.
    ops_channel: str = Field(default="", max_length=80)
    api_url: str = DEFAULT_SLACK_API_URL
    unfurl_links: bool = False
    # A link to a machine translation for items not in English; {url} is the
    # article's address (percent-encoded). Empty = no link.
    translate_url: str = DEFAULT_TRANSLATE_URL
    # Who to notify per severity, e.g. { high = "@here" }. Only these ever ping.
    mentions: dict[Severity, str] = Field(default_factory=dict)
    routes: list[Route] = Field(default_factory=list)
    digest: SlackDigest = Field(default_factory=SlackDigest)

    @field_validator("api_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not re.match(r"https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("translate_url")
    @classmethod
    def _translate(cls, value: str) -> str:
        if value and (not re.match(r"https?://[^/\s]+", value) or "{url}" not in value):
            raise ValueError(
                f"{value!r} must be an http(s) URL containing {{url}} (or empty)"
            )
        return value

    @field_validator("mentions")
    @classmethod
    def _mentions(cls, value: dict[str, str]) -> dict[str, str]:
        for mention in value.values():
            mention_markup(mention)
        return value


class Stories(_Strict):
    """How items are grouped into stories and threads (see README, How alerts are grouped)."""

    window: Duration = 72 * 3600  # near-duplicates join a story within this
    near_duplicate: float = Field(default=0.5, ge=0, le=1)  # 0 = off
    event_threads: bool = True
    event_window: Duration = 48 * 3600
    max_replies: int = Field(default=20, ge=0, le=1000)
    tracking_params: list[str] = Field(default_factory=list)

    @field_validator("tracking_params")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+\*?", name):
                raise ValueError(
                    f"{name!r} is not a query parameter name "
                    "(letters, digits, _ . - [ ], optionally ending in *)"
                )
        return value


class State(_Strict):
    name: str
    terms: TermsByLanguage = Field(default_factory=dict)

    @field_validator("terms")
    @classmethod
    def _languages(cls, value: TermsByLanguage) -> TermsByLanguage:
        for code in value:
            _check_language(code)
        return value


class Feed(_Strict):
    name: str = Field(min_length=1, max_length=200)
    url: str = Field(max_length=2048)
    language: str
    state: str | None = None
    kind: Literal["news", "parliament"] = "news"
    interval: Duration | None = None
    # "feed" (RSS, Atom, RDF or JSON Feed) or a parliament API's format.
    format: str = "feed"

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not re.match(r"https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        return _check_language(value)

    @field_validator("format")
    @classmethod
    def _format(cls, value: str) -> str:
        if value != "feed" and value not in PARLIAMENT_FORMATS:
            known = ", ".join(["feed", *sorted(PARLIAMENT_FORMATS)])
            raise ValueError(f"{value!r} is not a known format (known: {known})")
        return value

    @field_validator("interval")
    @classmethod
    def _positive(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError("must be at least 1 second")
        return value


class Near(_Strict):
    """These groups must occur within `within` words of each other."""

    groups: list[str] = Field(min_length=2)
    within: int = Field(ge=1, le=1000)


class Rule(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_][a-z0-9_\-]*$", max_length=100)
    topic: str = Field(min_length=1, max_length=100)
    severity: Literal["low", "medium", "high"] = "medium"
    all: list[str] = Field(default_factory=list)
    any: list[str] = Field(default_factory=list)
    none: list[str] = Field(default_factory=list)
    near: list[Near] = Field(default_factory=list)
    within: int | None = Field(default=None, ge=1, le=1000)

    @model_validator(mode="after")
    def _needs_a_positive(self) -> Rule:
        if not self.all and not self.any:
            raise ValueError("a rule needs at least one group in `all` or `any`")
        return self


class Config(_Strict):
    normwatch: General = Field(default_factory=General)
    storage: Storage = Field(default_factory=Storage)
    metrics: Metrics = Field(default_factory=Metrics)
    history: History = Field(default_factory=History)
    web: Web = Field(default_factory=Web)
    fetch: Fetch = Field(default_factory=Fetch)
    slack: Slack = Field(default_factory=Slack)
    stories: Stories = Field(default_factory=Stories)
    states: dict[str, State] = Field(default_factory=dict)
    groups: dict[str, TermsByLanguage] = Field(default_factory=dict)
    feeds: list[Feed] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)

    @field_validator("states")
    @classmethod
    def _state_codes(cls, value: dict[str, State]) -> dict[str, State]:
        for code in value:
            if not re.fullmatch(r"[A-Z]{2}", code):
                raise ValueError(f"{code!r} is not an ISO 3166 alpha-2 code like 'LT'")
        return value

    @field_validator("groups")
    @classmethod
    def _group_languages(
        cls, value: dict[str, TermsByLanguage]
    ) -> dict[str, TermsByLanguage]:
        for name, terms in value.items():
            if name == BUILTIN_STATE_GROUP:
                raise ValueError(
                    f"group name {name!r} is reserved: it means the names of [states]"
                )
            for code in terms:
                _check_language(code)
        return value


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the config file."""

    key: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return (
            f"{where}{self.key}: {self.message}"
            if self.key
            else f"{where}{self.message}"
        )


class ConfigError(Exception):
    """The config file is missing, not TOML, or has bad keys or values."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"config: {path}: {len(problems)} problem(s)\n{lines}")


def _dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _cross_checks(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Checks that span tables (feed -> state, rule -> group), on the raw data.

    They run on the raw TOML even when the models found problems, so one run
    names every mistake: a misspelt key and an undefined state together.
    """
    problems: list[tuple[tuple[str | int, ...], str]] = []

    def table(value: object) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    def array(value: object) -> list[Any]:
        return value if isinstance(value, list) else []

    states = table(data.get("states"))
    rule_ids = {r.get("id") for r in array(data.get("rules")) if isinstance(r, dict)}
    routes = array(table(data.get("slack")).get("routes"))
    for i, route in enumerate(routes):
        route = table(route)
        for j, code in enumerate(array(route.get("state"))):
            if isinstance(code, str) and code not in states:
                problems.append(
                    (
                        ("slack", "routes", i, "state", j),
                        f"{code!r} is not a state defined under [states]",
                    )
                )
        for j, rule_id in enumerate(array(route.get("rule"))):
            if isinstance(rule_id, str) and rule_id not in rule_ids:
                problems.append(
                    (
                        ("slack", "routes", i, "rule", j),
                        f"{rule_id!r} is not the id of a rule",
                    )
                )
    known_groups = {*table(data.get("groups")), BUILTIN_STATE_GROUP}
    seen_urls: dict[str, int] = {}
    for i, feed in enumerate(array(data.get("feeds"))):
        feed = table(feed)
        state = feed.get("state")
        if isinstance(state, str) and state not in states:
            defined = ", ".join(sorted(states)) or "none"
            problems.append(
                (
                    ("feeds", i, "state"),
                    f"{state!r} is not a state defined under [states] (defined: {defined})",
                )
            )
        url = feed.get("url")
        if isinstance(url, str):
            if url in seen_urls:
                problems.append(
                    (("feeds", i, "url"), f"duplicate of feeds[{seen_urls[url]}]")
                )
            seen_urls.setdefault(url, i)
    seen_rules: set[str] = set()
    for i, rule in enumerate(array(data.get("rules"))):
        rule = table(rule)
        rule_id = rule.get("id")
        if isinstance(rule_id, str):
            if rule_id in seen_rules:
                problems.append(
                    (("rules", i, "id"), f"rule id {rule_id!r} is used twice")
                )
            seen_rules.add(rule_id)
        refs: list[tuple[tuple[str | int, ...], Any]] = [
            ((field, j), ref)
            for field in ("all", "any", "none")
            for j, ref in enumerate(array(rule.get(field)))
        ]
        for k, near in enumerate(array(rule.get("near"))):
            refs += [
                (("near", k, "groups", j), ref)
                for j, ref in enumerate(array(table(near).get("groups")))
            ]
        for where, ref in refs:
            if not isinstance(ref, str):
                continue
            for name in (n.strip() for n in ref.split("|")):
                if name not in known_groups:
                    problems.append(
                        (
                            ("rules", i, *where),
                            f"unknown group {name!r}; define it under [groups.{name}]",
                        )
                    )
    problems += _term_problems(data)
    return problems


def _term_problems(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Terms that cannot match as written (`*` alone, a dangling `~2`)."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    places: list[tuple[tuple[str | int, ...], object]] = []
    groups = data.get("groups")
    if isinstance(groups, dict):
        places += [(("groups", name), terms) for name, terms in groups.items()]
    states = data.get("states")
    if isinstance(states, dict):
        places += [
            (("states", code, "terms"), state.get("terms"))
            for code, state in states.items()
            if isinstance(state, dict)
        ]
    for base, by_language in places:
        if not isinstance(by_language, dict):
            continue
        for language, terms in by_language.items():
            for j, term in enumerate(terms if isinstance(terms, list) else []):
                if not isinstance(term, str):
                    continue
                try:
                    parse_term(term)
                except TermError as exc:
                    problems.append(((*base, language, j), str(exc)))
    return problems


def parse_config(text: str, path: Path) -> Config:
    """Validate TOML text; raise ConfigError naming every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [Problem("", None, f"not valid TOML: {exc}")]) from None
    lines = key_lines(text)
    problems = [
        Problem(_dotted(loc), line_of(lines, loc), message)
        for loc, message in _cross_checks(data)
    ]
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown key" + (
                    " (the Slack token comes from the SLACK_BOT_TOKEN environment variable)"
                    if loc[-1] in {"token", "bot_token"}
                    else ""
                )
            problems.append(Problem(_dotted(loc), line_of(lines, loc), message))
    if problems:
        problems.sort(key=lambda p: (p.line or 0, p.key))
        raise ConfigError(path, problems)
    return config


def load_config(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            path, [Problem("", None, "file not found; pass --config PATH")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [Problem("", None, f"cannot read: {exc}")]) from None
    return parse_config(text, path)


def database_url(config: Config, config_path: Path) -> str:
    """The environment wins over the file; the default is a SQLite file beside the config."""
    url = os.environ.get(DATABASE_URL_ENV) or config.storage.url
    if url:
        return url
    return f"sqlite:///{config_path.resolve().parent / 'normwatch.db'}"


def slack_token() -> str | None:
    return os.environ.get(SLACK_TOKEN_ENV) or None


def web_secret() -> str | None:
    """The shared secret of `normwatch web` (never in config.toml)."""
    return os.environ.get(WEB_SECRET_ENV) or None


def slack_app_token() -> str | None:
    """The app-level token (`xapp-…`) that connects the Slack app over Socket Mode."""
    return os.environ.get(SLACK_APP_TOKEN_ENV) or None


def slack_webhook_url() -> str | None:
    """An incoming webhook, for teams without an app: alerts only."""
    return os.environ.get(SLACK_WEBHOOK_ENV) or None
