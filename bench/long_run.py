"""Memory over many poll cycles in one process: does a long-running bot grow?

Run from the repository root:

    .venv/bin/python -m bench.long_run                 # 8 cycles of 1,000 feeds
    .venv/bin/python -m bench.long_run --cycles 20 --feeds 300

The same farm and config as `bench.poll_cycle` (1,000 generated feeds, the
shipped rules, one parse worker by default), served with 50 ms of latency so
the run stays short. Before every cycle after the first, each feed gains one
entry and drops its oldest, as a real feed's window slides, so every cycle
parses, matches and stores the same amount. The bot's resident memory
after each cycle is printed with the cycle's wall and CPU time; the baseline
is the first cycle's, in the same run: the last line is the growth over it.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.poll_cycle import catalogue_for, peak_mb, rss_mb, write_config


def run(feeds: int, cycles: int, latency: float, parse_workers: str) -> list[float]:
    """Each cycle's resident memory (MB) after it, printed as it goes."""
    from sqlalchemy import func, select

    import bot.poll
    from bot.config import load_config
    from bot.poll import sync_config_feeds

    poll_once = bot.poll.poll_once
    from bot.rules import Matcher
    from bot.runtime import Runtime
    from storage.db import make_engine, session_factory, upgrade
    from storage.models import Item
    from tests.fakes.farm import FarmProcess

    logging.getLogger("normwatch").setLevel(logging.ERROR)
    catalogue = catalogue_for(feeds, slide=True)
    sizes: list[float] = []
    with (
        FarmProcess(catalogue, latency=latency, record=False, warm=True) as farm,
        tempfile.TemporaryDirectory(prefix="normwatch-long-run-") as tmp,
    ):
        workdir = Path(tmp)
        path = write_config(workdir, catalogue, farm.ports, parse_workers)
        config = load_config(path)
        engine = make_engine(f"sqlite:///{workdir / 'bench.db'}")
        upgrade(engine)
        rt = Runtime(config, path, engine, session_factory(engine), Matcher(config))
        sync_config_feeds(rt)
        print(f"{'cycle':>5} {'wall s':>7} {'CPU s':>6} {'RSS MB':>7} {'items':>7}")
        for cycle in range(1, cycles + 1):
            if cycle > 1:
                for n in range(len(catalogue.feeds)):
                    farm.bump(n)  # a new entry on top of every feed
            wall, cpu = time.perf_counter(), time.process_time()
            reports = poll_once(rt, force=True)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            with rt.sessions() as session:
                items = session.scalar(select(func.count()).select_from(Item))
            failed = sum(r.status != "ok" for r in reports)
            sizes.append(rss_mb())
            print(
                f"{cycle:>5} {wall:>7.2f} {cpu:>6.2f} {sizes[-1]:>7.0f} {items:>7}"
                + (f"  ({failed} feeds not ok)" if failed else "")
            )
        rt.close()
    print(
        f"after {cycles} cycles: {sizes[-1]:.0f} MB, {sizes[-1] - sizes[0]:+.0f} MB"
        f" over the first cycle's {sizes[0]:.0f} MB (peak {peak_mb():.0f} MB)"
    )
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds")
    parser.add_argument("--parse-workers", default="auto")
    args = parser.parse_args(argv)
    run(args.feeds, args.cycles, args.latency, args.parse_workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
