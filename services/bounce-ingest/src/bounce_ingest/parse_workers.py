"""Raw bounce emails are parsed in worker processes, each parse within a wall-clock budget.

Parsing is pure Python and holds the GIL (a thread would stall the event loop just the same), so it
runs in separate processes: webhooks and ``/healthz`` keep their latency while an email is parsed. A
parse that overruns its budget has its process killed (there is no other way to stop it) and the slot
gets a fresh process on its next use. Processes start on first use, not at service start.
"""

import asyncio
import contextlib
import multiprocessing
import os
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from bounce_ingest.dsn.model import Classification
from bounce_ingest.dsn.parser import parse_bounce_email
from bounce_ingest.inbound_dsn import EmailHeaders, email_headers


class ParseTimeout(Exception):
    """The email took longer than the budget: refused (a retry would take as long)."""


class ParseFailed(Exception):
    """The worker died on the email (memory, a crash): refused like any email we cannot read."""


class ParseBusy(Exception):
    """Every worker stayed busy for the whole wait: a retry later may succeed."""


@dataclass(frozen=True, slots=True)
class ReadEmail:
    classification: Classification
    headers: EmailHeaders


def read_bounce_email(raw: bytes) -> ReadEmail:
    """Everything CPU-heavy about one email: its classification and its own Message-ID and Date."""
    return ReadEmail(parse_bounce_email(raw), email_headers(raw))


READY = b"ready"
STARTUP_SECONDS = 60.0
"""A new process imports the parser before its first email; that time is not the email's budget."""


def _serve(connection: Connection) -> None:
    """The worker process: ready once imported, then one email in, one ``ReadEmail`` out, until EOF.

    It runs at a lower CPU priority: on a busy machine the webhooks win, the bounce emails wait.
    """
    with contextlib.suppress(OSError):
        os.nice(10)
    connection.send_bytes(READY)
    while True:
        try:
            raw = connection.recv_bytes()
        except (EOFError, OSError):
            return
        connection.send(read_bounce_email(raw))


class _Worker:
    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process: BaseProcess = context.Process(
            target=_serve, args=(child,), daemon=True, name="bounce-email-parser"
        )
        self.process.start()
        child.close()
        if not self.connection.poll(STARTUP_SECONDS) or self.connection.recv_bytes() != READY:
            self.stop()
            raise ParseBusy("a bounce email parser did not start")

    def read(self, raw: bytes) -> ReadEmail:
        self.connection.send_bytes(raw)
        answer = self.connection.recv()
        if not isinstance(answer, ReadEmail):
            raise ParseFailed("the worker answered something else")
        return answer

    def stop(self) -> None:
        self.process.kill()
        self.process.join(timeout=5)
        self.connection.close()


class ParseWorkers:
    """``workers`` parser processes; ``read`` waits at most ``wait_seconds`` for a free one."""

    def __init__(self, workers: int, timeout_seconds: float, wait_seconds: float = 30.0) -> None:
        self.timeout_seconds = timeout_seconds
        self._wait_seconds = wait_seconds
        self._slots: asyncio.Queue[_Worker | None] = asyncio.Queue()
        for _ in range(workers):
            self._slots.put_nowait(None)
        self._all: set[_Worker] = set()

    async def read(self, raw: bytes) -> ReadEmail:
        try:
            worker = await asyncio.wait_for(self._slots.get(), self._wait_seconds)
        except TimeoutError as error:
            raise ParseBusy("every bounce email parser is busy") from error
        keep: _Worker | None = None
        try:
            if worker is not None and not worker.process.is_alive():
                self._discard(worker)
                worker = None
            if worker is None:
                worker = await asyncio.to_thread(self._start)
            answer = await asyncio.wait_for(asyncio.to_thread(worker.read, raw), self.timeout_seconds)
            keep = worker
            return answer
        except TimeoutError as error:
            raise ParseTimeout(f"classifying took longer than {self.timeout_seconds:g} s") from error
        except (EOFError, OSError, ParseFailed) as error:
            raise ParseFailed(type(error).__name__) from error
        finally:
            if keep is None and worker is not None:
                self._discard(worker)
            self._slots.put_nowait(keep)

    def _start(self) -> _Worker:
        worker = _Worker()
        self._all.add(worker)
        return worker

    def _discard(self, worker: _Worker) -> None:
        self._all.discard(worker)
        worker.stop()

    def close(self) -> None:
        for worker in list(self._all):
            self._discard(worker)
