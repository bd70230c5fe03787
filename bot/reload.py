"""Hot reload: an edited `config.toml` takes effect without a restart.

The running process checks the file's fingerprint every few seconds. A valid
edit swaps in the new config and freshly compiled rules between two steps
(assigning one attribute, which other threads see whole); an invalid edit is
refused with its errors in the log and in the ops channel, and the previous
config keeps running.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.config import Config, ConfigError, load_config
from bot.rules import Matcher
from bot.runtime import Runtime

log = logging.getLogger("normwatch.reload")

# Settings read once at start: a change is noted, and needs a restart.
RESTART_ONLY = (
    ("storage", "url"),
    ("normwatch", "tick"),
    ("normwatch", "heartbeat"),
    ("metrics", "port"),
    ("metrics", "address"),
)


def fingerprint(rt: Runtime) -> str | None:
    try:
        return hashlib.sha256(rt.config_path.read_bytes()).hexdigest()
    except OSError:
        return None


@dataclass
class ConfigWatcher:
    rt: Runtime
    # Called with the new config after a successful reload (e.g. to sync feeds).
    on_change: Callable[[Config], None]
    # Called with a one-paragraph message when an edit is refused.
    notify: Callable[[str], None]
    seen: str | None = None

    def __post_init__(self) -> None:
        self.seen = fingerprint(self.rt)

    def check(self) -> bool:
        """Reload if the file changed; True when a new config is in force."""
        current = fingerprint(self.rt)
        if current is None or current == self.seen:
            return False
        self.seen = current
        try:
            config = load_config(self.rt.config_path)
            matcher = Matcher(config)
        except ConfigError as exc:
            message = f"config: edit refused, the previous config keeps running.\n{exc}"
            log.error("%s", message)
            self.notify(message)
            return False
        for table, key in RESTART_ONLY:
            old = getattr(getattr(self.rt.config, table), key)
            if getattr(getattr(config, table), key) != old:
                log.warning(
                    "config: [%s] %s changed; it takes effect after a restart",
                    table,
                    key,
                )
        self.rt.config, self.rt.matcher = config, matcher
        self.on_change(config)
        log.info(
            "config reloaded: %d feeds, %d rules, %d terms",
            len(config.feeds),
            len(config.rules),
            matcher.term_count,
        )
        return True
