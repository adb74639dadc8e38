"""Child processes (the Kafka JVM, the services) that never outlive the launcher.

Each child gets its own process group, so a Ctrl-C in the terminal reaches the launcher only and the
launcher stops children in order. On Linux the kernel also signals a child when the launcher dies,
even from SIGKILL; an ``atexit`` hook covers an interpreter that exits without stopping them.
"""

import asyncio
import atexit
import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_live: set[subprocess.Popen[bytes]] = set()


def _die_with_parent(death_signal: int) -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)

    def arrange() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, death_signal)

    return arrange


def spawn(
    command: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    death_signal: int = signal.SIGKILL,
) -> subprocess.Popen[bytes]:
    """Start ``command`` with stdout and stderr appended to ``log_path``.

    Call it from the thread that keeps running (the event loop's): the kernel's parent-death signal
    fires when the spawning thread ends, not only the process.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent(death_signal),
        )
    _live.add(process)
    return process


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


async def stop(process: subprocess.Popen[bytes], grace_seconds: float = 20.0) -> int:
    """SIGTERM the child's group, SIGKILL it after ``grace_seconds``; returns the exit code."""
    if process.poll() is None:
        _signal_group(process, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.to_thread(process.wait), timeout=grace_seconds)
        except TimeoutError:
            _signal_group(process, signal.SIGKILL)
            await asyncio.to_thread(process.wait)
    _signal_group(process, signal.SIGKILL)
    _live.discard(process)
    code = process.returncode
    return code if code is not None else -signal.SIGKILL


def log_tail(log_path: Path, lines: int = 30) -> str:
    """The end of a child's log, to say why it did not come up."""
    if not log_path.is_file():
        return "(no output)"
    return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])


@atexit.register
def _kill_leftovers() -> None:
    for process in list(_live):
        if process.poll() is None:
            _signal_group(process, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
