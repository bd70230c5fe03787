"""The labelled corpus (tests/data/corpus/*.toml) and how the rules score on it.

Run `python -m tests.corpus` for the per-language table, and
`python -m tests.corpus tests/data/heldout` for the held-out set (written
after the rules were tuned, by someone who had not seen them).

A case counts as found (true positive) when some hit has the labelled topic
and names the labelled state among its states. Any hit on a case labelled
not relevant is a false positive; a relevant case without such a hit is a
false negative (a hit with the wrong topic or state counts as both: it is
noise and a miss).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import load_config
from bot.rules import Matcher

CORPUS = Path(__file__).resolve().parent / "data" / "corpus"
SHIPPED = Path(__file__).resolve().parent.parent / "config.toml"
TOPICS = {
    "ccm_withdrawal",
    "ottawa_withdrawal",
    "cluster_use",
    "cluster_acquisition",
    "cluster_assistance",
    "mine_use",
}
STATES = {"EE", "FI", "GR", "LV", "LT", "PL", "RO", "TR"}


@dataclass(frozen=True)
class Case:
    language: str
    title: str
    summary: str
    relevant: bool
    topic: str | None
    state: str | None
    why: str | None


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    cases: int = 0
    negatives: int = 0
    misses: list[str] = field(default_factory=list)
    noise: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def load_cases(directory: Path = CORPUS) -> list[Case]:
    cases = []
    for path in sorted(directory.glob("*.toml")):
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        for raw in data["case"]:
            cases.append(
                Case(
                    language=path.stem,
                    title=raw["title"],
                    summary=raw.get("summary", ""),
                    relevant=raw["relevant"],
                    topic=raw.get("topic"),
                    state=raw.get("state"),
                    why=raw.get("why"),
                )
            )
    return cases


def score(cases: list[Case], matcher: Matcher) -> dict[str, Score]:
    """Scores per language, plus "all"."""
    scores: dict[str, Score] = {"all": Score()}
    for case in cases:
        hits = matcher.match(title=case.title, summary=case.summary)
        for key in (case.language, "all"):
            s = scores.setdefault(key, Score())
            s.cases += 1
            label = f"[{case.language}] {case.title}"
            if not case.relevant:
                s.negatives += 1
                if hits:
                    s.fp += 1
                    s.noise.append(f"{label} -> {[h.rule for h in hits]} ({case.why})")
                continue
            right = any(h.topic == case.topic and case.state in h.states for h in hits)
            if right:
                s.tp += 1
            else:
                s.fn += 1
                s.misses.append(
                    f"{label} wanted {case.topic}/{case.state}, got "
                    f"{[(h.topic, h.states) for h in hits]}"
                )
                if hits:
                    s.fp += 1
    return scores


def table(scores: dict[str, Score]) -> str:
    lines = ["lang  cases  neg   P      R      (tp/fp/fn)"]
    for key in sorted(scores, key=lambda k: (k == "all", k)):
        s = scores[key]
        lines.append(
            f"{key:<5} {s.cases:>5} {s.negatives:>4}  {s.precision:.3f}  {s.recall:.3f}"
            f"  ({s.tp}/{s.fp}/{s.fn})"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    directory = Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS
    result = score(load_cases(directory), Matcher(load_config(SHIPPED)))
    print(table(result))
    for line in result["all"].misses:
        print("MISS ", line)
    for line in result["all"].noise:
        print("NOISE", line)
