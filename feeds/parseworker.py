"""A lean process that parses feeds for the bot: `python -m feeds.parseworker`.

It imports only the feeds package (~29 MB at its peak), not the bot that
starts it (multiprocessing's spawn would re-import the bot's __main__ with
SQLAlchemy, Slack and the CLI: ~72 MB before any work). It speaks
length-prefixed pickle frames: a ParseJob on stdin, its `parsejob.outcome`
on stdout (ParsedFeed, or a "parse: …" line), in order, and exits when
stdin closes. An answer of None means the worker failed on that job (a bug:
the traceback went to stderr) and the bot should parse it itself.

The bot's side is ParseWorker: start one, `send` jobs and `receive` their
answers in order (or `parse` one), `close`.
Only the bot's own child speaks to it, so unpickling its answers trusts no
one new.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import struct
import sys
import traceback
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from feeds.entry import ParsedFeed
from feeds.parsejob import ParseJob, outcome

_LENGTH = struct.Struct(">I")
# A frame is one feed (max_body is 10 MB by default) or its entries; a longer
# length means the stream is out of step, not a real frame.
MAX_FRAME = 1 << 30
# -P: the current directory is not searched first, so a `feeds` folder
# wherever the bot was started cannot stand in for this package.
COMMAND: tuple[str, ...] = (sys.executable, "-P", "-m", "feeds.parseworker")
# After stdin closes a worker exits at once; longer means it is stuck.
EXIT_WAIT = 5.0

Answer = ParsedFeed | str | None


class WorkerFailed(Exception):
    """The worker died, or answered something that is not an answer."""


def frame(value: object) -> bytes:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    data = stream.read(size)
    if len(data) < size:
        return None
    return data


def jobs(stream: BinaryIO) -> Iterator[ParseJob]:
    """The jobs arriving on `stream`, until it closes."""
    while True:
        head = _read_exactly(stream, _LENGTH.size)
        if head is None:
            return
        (size,) = _LENGTH.unpack(head)
        if size > MAX_FRAME:
            raise ValueError(f"frame of {size} bytes: the stream is out of step")
        body = _read_exactly(stream, size)
        if body is None:
            return
        job = pickle.loads(body)
        if not isinstance(job, ParseJob):
            raise ValueError(f"expected a ParseJob, got {type(job).__name__}")
        yield job


def answer(job: ParseJob) -> Answer:
    try:
        return outcome(job)
    except Exception:  # a bug or a feed nobody foresaw: the bot parses it itself
        print(f"parse worker: {job.url}:", file=sys.stderr)
        traceback.print_exc()
        return None


def serve(source: BinaryIO, sink: BinaryIO) -> None:
    for job in jobs(source):
        sink.write(frame(answer(job)))
        sink.flush()


def main() -> None:
    # The frames get stdout to themselves: anything printed (a stray print, a
    # warning) goes to stderr, which the bot's own stderr receives.
    sink = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C hits the whole group
        serve(sys.stdin.buffer, sink)


class ParseWorker:
    """The bot's handle on one worker process: jobs sent, answers received
    in the same order (the caller bounds how many are outstanding)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    async def start(cls, command: Sequence[str] | None = None) -> ParseWorker:
        """A new worker; its stderr is the caller's. OSError if it cannot start."""
        argv = tuple(command or COMMAND)
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def parse(self, job: ParseJob) -> Answer:
        """The worker's answer to `job`; WorkerFailed if there is none."""
        self.send(job)
        return await self.receive()

    def send(self, job: ParseJob) -> None:
        """Queue `job` for the worker; `receive` gets the answers in order.

        No waiting for the pipe to take it: the caller bounds how many jobs
        are outstanding, and a worker busy writing a long answer must never
        wait for a caller stuck writing it a job. A worker that is gone shows
        in `receive`."""
        assert self.process.stdin is not None
        self.process.stdin.write(frame(job))

    async def receive(self) -> Answer:
        """The answer to the oldest job sent; WorkerFailed if there is none."""
        stdout = self.process.stdout
        assert stdout is not None
        try:
            head = await stdout.readexactly(_LENGTH.size)
            (size,) = _LENGTH.unpack(head)
            if size > MAX_FRAME:
                raise WorkerFailed(f"answered a frame of {size} bytes")
            body = await stdout.readexactly(size)
        except (OSError, asyncio.IncompleteReadError) as exc:
            raise WorkerFailed(await self._death(exc)) from exc
        try:
            value = pickle.loads(body)
        except Exception as exc:  # garbage unpickles into any error
            raise WorkerFailed(f"answered garbage ({type(exc).__name__})") from exc
        if value is not None and not isinstance(value, ParsedFeed | str):
            raise WorkerFailed(f"answered a {type(value).__name__}")
        return value

    async def _death(self, exc: Exception) -> str:
        """Why the stream broke: the exit status, once the worker is gone."""
        try:
            code = await asyncio.wait_for(self.process.wait(), EXIT_WAIT)
        except TimeoutError:
            return f"stopped answering ({type(exc).__name__})"
        return (
            f"exited with status {code}" if code >= 0 else f"killed by signal {-code}"
        )

    async def close(self, *, kill: bool = False) -> None:
        """Let the worker exit (killed if it will not, or with `kill`), and
        reap it: nothing is left behind, not even a zombie."""
        if kill:
            self.kill()
        elif self.process.returncode is None and self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), EXIT_WAIT)
        except TimeoutError:
            self.kill()
            await self.process.wait()

    def kill(self) -> None:
        if self.process.returncode is None:
            # It may have exited just now; wait() still reaps it.
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()


if __name__ == "__main__":
    main()
