"""One poll cycle of 1,000 local feeds at 200 ms latency, against a sequential loop.

Run from the repository root:

    .venv/bin/python -m bench.poll_cycle
    .venv/bin/python -m bench.poll_cycle --json
    .venv/bin/python -m bench.poll_cycle --profile     # cProfile: event loop, store thread
    .venv/bin/python -m bench.poll_cycle --profile --profile-dump /tmp   # + store.prof
    .venv/bin/python -m bench.poll_cycle --feeds 300 --baseline-feeds 20   # quicker

What it does:

1. Serves 1,000 generated feeds from the test farm (`tests/fakes/farm.py`) in
   its own process, so the server's CPU never counts as normwatch's: RSS 2.0,
   Atom, RDF and JSON Feed, nine languages, UTF-8 and legacy charsets, a
   quarter gzip-encoded, 20-30 entries and 10-30 KB each (15 KB on average),
   every one with an ETag and/or a Last-Modified, no redirects, 200 ms of
   latency before every answer. The feeds are spread over 16 loopback
   addresses (127.0.0.1-16), so `[fetch] per_host = 4` gives the
   `concurrency = 64` connections: the latency bound is 1000 / 64 x 0.2 s,
   about 3.1 s.
2. The full cycle: normwatch's real `bot.poll.poll_once(rt, force=True)` on a
   fresh SQLite file, with the shipped config.toml's states, groups and rules.
3. The unchanged cycle: the same again; every feed answers 304.
4. The baseline, in the same run: a sequential loop, an httpx sync client
   fetching one feed after the other and feedparser parsing each, timed on
   the first `--baseline-feeds` (100) feeds and extrapolated linearly to all.
   It stores nothing and matches nothing, so it flatters the baseline.

Each of 2-4 runs in a child process of its own, so its CPU time
(`time.process_time`, all threads) and its peak memory are its own. Peak
memory is the child's peak resident set size (`getrusage` ru_maxrss), the
interpreter and its imports included; the table also shows how much of it
the phase added over the child's size just before it started.

`poll_once(force=True)` (what `run --once` calls) claims every feed, so one
call is one cycle; the table shows the calls it took as a check.

Targets, from the issue: the full cycle in at most 5 s of wall time, peak
memory under 200 MB, the unchanged cycle under 1 s of CPU. The cycles run
with `[fetch] parse_workers` as `--parse-workers` says: "auto" by default, as
shipped (one worker on two cores or more), or a number; 0 parses in the bot.
With workers (parsing in `feeds.parseworker` processes past 16 changed
feeds), "CPU s" stays the bot process's own, the workers' CPU and peak
memory are shown beside it (CPU from getrusage's RUSAGE_CHILDREN: the bot
reaps its workers; peak from each worker's VmHWM as the cycle closes it),
and the memory target counts the bot plus N workers at the largest one's
peak.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import logging
import os
import pstats
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOSTS = 16
TARGET_WALL = 5.0
TARGET_RSS_MB = 200.0
TARGET_UNCHANGED_CPU = 1.0
MAX_CALLS = 10  # poll_once calls a phase may need to cover every feed

# language -> the state code the shipped config uses for it
STATE_OF = {
    "lt": "LT",
    "lv": "LV",
    "et": "EE",
    "fi": "FI",
    "pl": "PL",
    "ro": "RO",
    "el": "GR",
    "tr": "TR",
}


def catalogue_for(feeds: int, *, slide: bool = False) -> Any:
    from tests.fakes.farm import Catalogue

    return Catalogue(
        slide=slide,
        count=feeds,
        seed="bench-poll-cycle",
        hosts=HOSTS,
        bad_every=0,
        entries=(20, 30),
        summary_sentences=(4, 8),
        validators=("etag", "last-modified", "both"),  # so a second cycle is all 304
        redirect_share=0.0,  # a redirect is one more round trip: kept out of the bound
        signal_share=0.01,  # about one item in a hundred talks of the treaties
    )


def shipped_rules() -> str:
    """The [states.*], [groups.*] and [[rules]] tables of the shipped config.toml."""
    keep, out = False, []
    for line in (ROOT / "config.toml").read_text(encoding="utf-8").splitlines():
        header = re.match(r"^\[\[?([\w.\-]+)\]\]?\s*(?:#.*)?$", line)
        if header:
            name = header.group(1).strip()
            keep = name.startswith(("states.", "groups.")) or name == "rules"
        if keep:
            out.append(line)
    return "\n".join(out) + "\n"


def write_config(
    directory: Path,
    catalogue: Any,
    ports: list[int],
    parse_workers: int | str = "auto",
) -> Path:
    from tests.fakes.farm import Farm

    rules = shipped_rules()
    states = set(re.findall(r"^\[states\.([A-Z]{2})\]", rules, re.MULTILINE))
    parts = [
        '[normwatch]\ntimezone = "Europe/Vilnius"\n',
        f"[fetch]\nconcurrency = 64\nper_host = 4\n"
        f"parse_workers = {json.dumps(parse_workers)}\n",
        rules,
    ]
    for feed in catalogue.feeds:
        url = f"http://{Farm.address(feed.host)}:{ports[feed.host]}{feed.path}"
        state = STATE_OF.get(feed.language)
        parts.append(
            f'[[feeds]]\nname = "{feed.name}"\nurl = "{url}"\n'
            f'language = "{feed.language}"\n'
            + (f'state = "{state}"\n' if state in states else "")
        )
    path = directory / "config.toml"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


# -- measuring, in a child process per phase -----------------------------------


def rss_mb(field: str = "VmRSS", pid: int | str = "self") -> float:
    """The resident set size right now (VmHWM: its peak so far)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024
    except OSError:  # the process is gone
        pass
    return 0.0


# Each parse worker's own peak, read as the cycle closes it. getrusage's
# RUSAGE_CHILDREN ru_maxrss cannot tell it: Linux keeps a child's peak from
# before its exec, when it was still a copy of the bot, so every worker would
# look as large as the bot was when it started the worker.
WORKER_PEAKS: list[float] = []


def _measure_worker_peaks() -> None:
    from feeds.parseworker import ParseWorker

    close = ParseWorker.close

    async def measured(self: ParseWorker, *, kill: bool = False) -> None:
        WORKER_PEAKS.append(rss_mb("VmHWM", self.pid))  # all its jobs are done
        await close(self, kill=kill)

    ParseWorker.close = measured  # type: ignore[method-assign]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class _Meter:
    """Wall, CPU and memory of one block of work, and of the worker processes
    it started (the parse pool), counted apart: "CPU" is the bot process's."""

    def __enter__(self) -> _Meter:
        gc.collect()
        self.rss_before = rss_mb()
        self.workers_seen = len(WORKER_PEAKS)
        self.workers_cpu = _children_cpu()
        self.cpu = time.process_time()
        self.wall = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
        self.workers_cpu = _children_cpu() - self.workers_cpu
        self.peak = peak_mb()
        self.workers_peak = max(WORKER_PEAKS[self.workers_seen :], default=0.0)

    def as_dict(self) -> dict[str, float]:
        return {
            "wall": round(self.wall, 3),
            "cpu": round(self.cpu, 3),
            "workers_cpu": round(self.workers_cpu, 3),
            "peak_rss_mb": round(self.peak, 1),
            "workers_peak_rss_mb": round(self.workers_peak, 1),
            "added_mb": round(max(0.0, self.peak - self.rss_before), 1),
        }


def _profile_text(
    profile: cProfile.Profile, *, sort: str = "cumulative", top: int = 15
) -> str:
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats(sort).print_stats(top)
    return out.getvalue()


def _profile_store_thread(profiler: cProfile.Profile) -> None:
    """cProfile sees only the thread that enabled it; the cycle parses and
    stores on a worker thread, so that work gets a profiler of its own."""
    import bot.poll

    store_batch = bot.poll._store_batch

    def profiled(*args: Any) -> Any:
        profiler.enable()
        try:
            return store_batch(*args)
        finally:
            profiler.disable()

    bot.poll._store_batch = profiled  # type: ignore[assignment]


def phase_cycle(
    workdir: Path, *, profile: bool, dump: str | None = None
) -> dict[str, Any]:
    """normwatch's own cycle: poll_once until every feed was polled once."""
    from bot.config import load_config
    from bot.poll import poll_once, sync_config_feeds
    from bot.rules import Matcher
    from bot.runtime import Runtime
    from storage.db import make_engine, session_factory, upgrade

    # The bot logs a line per feed; here that is noise around the numbers.
    logging.getLogger("normwatch").setLevel(logging.ERROR)
    path = workdir / "config.toml"
    config = load_config(path)
    engine = make_engine(f"sqlite:///{workdir / 'bench.db'}")
    upgrade(engine)
    rt = Runtime(config, path, engine, session_factory(engine), Matcher(config))
    sync_config_feeds(rt)
    wanted = {f.url for f in config.feeds}
    polled: set[str] = set()
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    calls: list[int] = []
    profiler = cProfile.Profile() if profile else None
    store_profiler = cProfile.Profile() if profile else None
    if store_profiler:
        _profile_store_thread(store_profiler)
    _measure_worker_peaks()
    with _Meter() as meter:
        if profiler:
            profiler.enable()
        while polled < wanted and len(calls) < MAX_CALLS:
            reports = poll_once(rt, force=True)
            fresh = [r for r in reports if r.url not in polled]
            if not fresh:
                break
            calls.append(len(reports))
            polled |= {r.url for r in fresh}
            statuses.update(r.status for r in fresh)
            errors.update((r.error or "")[:80] for r in fresh if r.error)
        if profiler:
            profiler.disable()
    engine.dispose()
    result: dict[str, Any] = {
        **meter.as_dict(),
        "feeds": len(wanted),
        "polled": len(polled),
        "calls": calls,
        "statuses": dict(statuses),
        "errors": dict(errors.most_common(5)),
    }
    if profiler:
        result["profile"] = _profile_text(profiler)
    if store_profiler and store_profiler.getstats():  # empty: nothing was stored
        if dump:  # for pstats: sort and filter it at leisure
            store_profiler.dump_stats(f"{dump}/store.prof")
        result["profile_store"] = _profile_text(store_profiler, sort="tottime", top=30)
    return result


def phase_baseline(workdir: Path, *, feeds: int, profile: bool) -> dict[str, Any]:
    """The naive way: fetch one feed, parse it with feedparser, next feed."""
    import feedparser
    import httpx

    from bot.config import load_config

    urls = [f.url for f in load_config(workdir / "config.toml").feeds]
    sample = urls[:feeds]
    entries = 0
    failures = 0
    profiler = cProfile.Profile() if profile else None
    with httpx.Client(timeout=20, follow_redirects=True) as client, _Meter() as meter:
        if profiler:
            profiler.enable()
        for url in sample:
            try:
                response = client.get(url)
                parsed = feedparser.parse(
                    io.BytesIO(response.content),
                    response_headers={
                        k.lower(): v for k, v in response.headers.items()
                    },
                )
                entries += len(parsed.entries)
            except httpx.HTTPError:
                failures += 1
        if profiler:
            profiler.disable()
    scale = len(urls) / len(sample)
    result: dict[str, Any] = {
        **meter.as_dict(),
        "feeds": len(urls),
        "measured_feeds": len(sample),
        "scale": scale,
        "wall_extrapolated": round(meter.wall * scale, 2),
        "cpu_extrapolated": round(meter.cpu * scale, 2),
        "entries": entries,
        "failures": failures,
    }
    if profiler:
        result["profile"] = _profile_text(profiler)
    return result


def _child(args: argparse.Namespace) -> int:
    workdir = Path(args.workdir)
    if args.phase == "baseline":
        result = phase_baseline(
            workdir, feeds=args.baseline_feeds, profile=args.profile
        )
    else:
        result = phase_cycle(workdir, profile=args.profile, dump=args.profile_dump)
    print(json.dumps(result))
    return 0


def _run_phase(phase: str, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "bench.poll_cycle",
        "--phase",
        phase,
        "--workdir",
        str(workdir),
        "--baseline-feeds",
        str(args.baseline_feeds),
    ]
    command += ["--profile"] if args.profile else []
    if args.profile_dump:
        command += ["--profile-dump", str(Path(args.profile_dump).resolve())]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"phase {phase} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the parent: farm, phases, table -------------------------------------------


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from bot.config import worker_count
    from tests.fakes.farm import FarmProcess

    workers = worker_count(args.parse_workers)  # what "auto" is here

    catalogue = catalogue_for(args.feeds)
    sizes = [len(f.document()[0]) for f in catalogue.feeds]
    with (
        FarmProcess(catalogue, latency=args.latency, record=False, warm=True) as farm,
        tempfile.TemporaryDirectory(prefix="normwatch-bench-") as tmp,
    ):
        workdir = Path(tmp)
        write_config(workdir, catalogue, farm.ports, args.parse_workers)
        full = _run_phase("full", workdir, args)
        unchanged = _run_phase("unchanged", workdir, args)
        baseline = _run_phase("baseline", workdir, args)
        farm_stats = farm.stats
    # The bot's peak plus, if it parsed in worker processes, each worker at
    # the largest worker's peak: an upper bound of what the cycle held at once.
    memory = max(
        phase["peak_rss_mb"] + workers * phase["workers_peak_rss_mb"]
        for phase in (full, unchanged)
    )
    targets = [
        {
            "target": f"full cycle wall <= {TARGET_WALL:g} s",
            "value": full["wall"],
            "met": full["wall"] <= TARGET_WALL and full["polled"] == full["feeds"],
        },
        {
            "target": f"peak memory < {TARGET_RSS_MB:g} MB",
            "value": memory,
            "met": memory < TARGET_RSS_MB,
        },
        {
            "target": f"unchanged cycle CPU < {TARGET_UNCHANGED_CPU:g} s",
            "value": unchanged["cpu"],
            "met": unchanged["cpu"] < TARGET_UNCHANGED_CPU
            and unchanged["statuses"].get("not_modified", 0) == unchanged["feeds"],
        },
    ]
    return {
        "setup": {
            "feeds": args.feeds,
            "hosts": HOSTS,
            "concurrency": 64,
            "per_host": 4,
            "latency_s": args.latency,
            "latency_bound_s": round(args.feeds / 64 * args.latency, 2),
            "feed_kb_mean": round(sum(sizes) / len(sizes) / 1024, 1),
            "feed_kb_min_max": [
                round(min(sizes) / 1024, 1),
                round(max(sizes) / 1024, 1),
            ],
            "formats": dict(Counter(f.fmt for f in catalogue.feeds)),
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
        },
        "full": full,
        "unchanged": unchanged,
        "baseline": baseline,
        "farm": farm_stats,
        "targets": targets,
        "speedup_wall": round(baseline["wall_extrapolated"] / full["wall"], 1),
        "cpu_ratio": round(
            baseline["cpu_extrapolated"] / (full["cpu"] + full["workers_cpu"]), 2
        ),
        # The machine-independent part of the wall target: where the bot's
        # interpreter, not the network, bounds the cycle, its wall follows
        # this share of the baseline's CPU.
        "bot_cpu_share": round(full["cpu"] / baseline["cpu_extrapolated"], 2),
        "parse_workers": workers,
        "parse_workers_setting": args.parse_workers,
    }


def render(report: dict[str, Any]) -> str:
    s, full, unchanged, base = (
        report["setup"],
        report["full"],
        report["unchanged"],
        report["baseline"],
    )
    lines = [
        f"poll cycle: {s['feeds']} feeds on {s['hosts']} hosts x per_host {s['per_host']}"
        f" = {s['concurrency']} connections, {s['latency_s'] * 1000:g} ms latency "
        f"(bound ~{s['latency_bound_s']:g} s); feeds {s['feed_kb_mean']} KB on average "
        f"({s['feed_kb_min_max'][0]}-{s['feed_kb_min_max'][1]} KB); {s['cpus']} CPUs",
        "",
        f"{'phase':<30} {'wall s':>8} {'CPU s':>8} {'peak RSS MB':>12} {'(+phase)':>9}"
        f" {'workers: CPU s':>15} {'RSS MB':>7}  feeds",
    ]

    def row(name: str, r: dict[str, Any], note: str) -> str:
        workers = (
            f"{r['workers_cpu']:>15.2f} {r['workers_peak_rss_mb']:>7.0f}"
            if r.get("workers_cpu")
            else f"{'-':>15} {'-':>7}"
        )
        return (
            f"{name:<30} {r['wall']:>8.2f} {r['cpu']:>8.2f} {r['peak_rss_mb']:>12.0f}"
            f" {'+' + format(r['added_mb'], '.0f'):>9} {workers}  {note}"
        )

    def statuses(r: dict[str, Any]) -> str:
        parts = ", ".join(f"{n} {k}" for k, n in sorted(r["statuses"].items()))
        calls = r["calls"]
        extra = f"; {len(calls)} poll_once calls {calls}" if len(calls) > 1 else ""
        return f"{r['polled']}/{r['feeds']} polled: {parts}{extra}"

    lines.append(row("normwatch full cycle", full, statuses(full)))
    lines.append(row("normwatch unchanged cycle", unchanged, statuses(unchanged)))
    lines.append(
        row(
            f"sequential, {base['measured_feeds']} feeds",
            base,
            f"{base['entries']} entries, {base['failures']} failures",
        )
    )
    lines.append(
        f"{'  extrapolated to ' + str(base['feeds']):<30} {base['wall_extrapolated']:>8.2f}"
        f" {base['cpu_extrapolated']:>8.2f}"
    )
    lines += ["", f"{'target':<32} {'value':>8}  result"]
    for t in report["targets"]:
        lines.append(
            f"{t['target']:<32} {t['value']:>8.2f}  {'met' if t['met'] else 'NOT MET'}"
        )
    lines.append(
        f"\nfull cycle vs sequential loop: {report['speedup_wall']}x faster (wall);"
        f" {report['cpu_ratio']}x less CPU than it, workers included"
        f" (although it stores and matches nothing)"
    )
    lines.append(
        f"the bot's CPU is {report['bot_cpu_share']} of the sequential loop's:"
        f" on a machine where that loop takes more than"
        f" {TARGET_WALL / report['bot_cpu_share']:.0f} s of CPU, the bot alone"
        f" takes longer than the {TARGET_WALL:g} s target"
    )
    if report["parse_workers"]:
        lines.append(
            f"CPU s is the bot process's; the full cycle parses in"
            f" {report['parse_workers']} worker processes, counted apart;"
            f" peak memory = bot + {report['parse_workers']} x the largest worker"
        )
    for name in ("full", "unchanged"):
        if report[name]["errors"]:
            lines.append(f"{name} cycle errors: {report[name]['errors']}")
    for name in ("full", "unchanged", "baseline"):
        if "profile" in report[name]:
            lines += ["", f"--- profile: {name}, event loop (top 15, cumulative) ---"]
            lines.append(report[name]["profile"])
        if "profile_store" in report[name]:
            lines += ["", f"--- profile: {name}, store thread (top 30, own time) ---"]
            lines.append(report[name]["profile_store"])
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds")
    parser.add_argument(
        "--baseline-feeds",
        type=int,
        default=100,
        help="feeds the sequential baseline really fetches (then extrapolated)",
    )
    parser.add_argument(
        "--parse-workers",
        type=lambda v: v if v == "auto" else int(v),
        default="auto",
        help='[fetch] parse_workers for the normwatch cycles: a number, or "auto"'
        " (the default, as shipped: 1 on two cores or more)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile each phase, top 15"
    )
    parser.add_argument(
        "--profile-dump",
        metavar="DIR",
        help="with --profile, also write the store thread's pstats file here",
    )
    parser.add_argument("--phase", choices=["full", "unchanged", "baseline"])
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        return _child(args)
    report = measure(args)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
