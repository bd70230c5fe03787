"""A parse worker that fails on its second job: `python faulty_parseworker.py MODE`.

MODE "exit": it dies with the job in hand; "garbage": it answers bytes that
are no pickle, then goes on reading. The first job of each worker is answered
properly, so a cycle sees a worker fail after it has worked.
"""

from __future__ import annotations

import os
import sys

from feeds.parseworker import answer, frame, jobs


def main(mode: str) -> None:
    sink = sys.stdout.buffer
    for count, job in enumerate(jobs(sys.stdin.buffer), 1):
        if count < 2:
            sink.write(frame(answer(job)))
        elif mode == "exit":
            os._exit(3)
        else:
            sink.write(b"\x00\x00\x00\x05junk!")
        sink.flush()


if __name__ == "__main__":
    main(sys.argv[1])
