import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from seevee_deploy import processes


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    return state == "Z"


def _wait_until(condition: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


async def test_stop_ends_a_child_that_honours_sigterm(tmp_path: Path) -> None:
    child = processes.spawn([sys.executable, "-c", "import time; time.sleep(60)"], log_path=tmp_path / "out")

    code = await processes.stop(child, grace_seconds=10)

    assert code == -signal.SIGTERM
    assert _gone(child.pid)


async def test_stop_kills_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    script = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    log = tmp_path / "out"
    child = processes.spawn([sys.executable, "-c", script], log_path=log)
    assert _wait_until(lambda: log.read_text().strip() == "ready")

    code = await processes.stop(child, grace_seconds=0.5)

    assert code == -signal.SIGKILL
    assert _gone(child.pid)


def test_a_child_dies_with_its_launcher_even_when_the_launcher_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    launcher_script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from seevee_deploy import processes\n"
        "child = processes.spawn([sys.executable, '-c', 'import time; time.sleep(60)'],"
        f" log_path=Path({str(tmp_path / 'child.out')!r}))\n"
        f"Path({str(pid_file)!r}).write_text(str(child.pid))\n"
        "time.sleep(60)\n"
    )
    launcher = subprocess.Popen([sys.executable, "-c", launcher_script])
    try:
        assert _wait_until(lambda: pid_file.is_file() and pid_file.read_text() != "")
        grandchild = int(pid_file.read_text())
        assert not _gone(grandchild)

        launcher.kill()
        launcher.wait()

        assert _wait_until(lambda: _gone(grandchild))
    finally:
        launcher.kill()
        launcher.wait()


def test_log_tail_gives_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "out"
    log.write_text("\n".join(f"line {n}" for n in range(100)))

    assert processes.log_tail(log, lines=2) == "line 98\nline 99"
    assert processes.log_tail(tmp_path / "missing") == "(no output)"
