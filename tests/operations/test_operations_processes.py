"""Background processes by pid file: detached start, identity check, stop by process group."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from deployments._processes import Managed, group_alive, pid_alive

REPO = Path(__file__).resolve().parents[2]


def _managed(tmp_path: Path, marker: str, first: signal.Signals = signal.SIGTERM) -> Managed:
    return Managed("proc", tmp_path / "proc.pid", tmp_path / "proc.log", marker, first)


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _wait_for(path: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_start_detaches_into_its_own_group_and_records_the_pid(tmp_path: Path) -> None:
    managed = _managed(tmp_path, "ftflow-test-sleeper")

    pid = managed.start(
        _python("import time; time.sleep(60)  # ftflow-test-sleeper"), cwd=REPO, env=os.environ
    )

    try:
        assert managed.pid() == pid
        assert os.getpgid(pid) == pid
        assert os.getsid(pid) == pid
    finally:
        assert managed.stop(timeout=10) == "SIGTERM"
    assert managed.pid() is None
    assert not managed.pid_file.exists()


def test_stop_reaches_the_children_of_the_group(tmp_path: Path) -> None:
    child_pid_file = tmp_path / "child.pid"
    code = (
        "import subprocess, sys, time; "
        "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        f"open({str(child_pid_file)!r}, 'w').write(str(c.pid)); time.sleep(60)"
        "  # ftflow-test-parent"
    )
    managed = _managed(tmp_path, "ftflow-test-parent")
    managed.start(_python(code), cwd=REPO, env=os.environ)
    _wait_for(child_pid_file)
    child = int(child_pid_file.read_text())

    managed.stop(timeout=10)

    deadline = time.monotonic() + 5
    while pid_alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(child)


def test_stop_escalates_when_the_first_signal_is_ignored(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    code = (
        "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
        f"open({str(ready)!r}, 'w').close(); time.sleep(60)  # ftflow-test-stubborn"
    )
    managed = _managed(tmp_path, "ftflow-test-stubborn", signal.SIGINT)
    pid = managed.start(_python(code), cwd=REPO, env=os.environ)
    _wait_for(ready)

    how = managed.stop(timeout=10)

    assert how == "SIGTERM"
    assert not group_alive(pid)


def test_a_pid_file_naming_someone_else_is_not_trusted_or_signalled(tmp_path: Path) -> None:
    managed = _managed(tmp_path, "ftflow-test-not-me")
    managed.pid_file.write_text(f"{os.getpid()}\n")

    assert managed.pid() is None
    assert managed.stop(timeout=1) == "not running"
    assert pid_alive(os.getpid())


def test_a_stale_pid_file_is_not_running(tmp_path: Path) -> None:
    managed = _managed(tmp_path, "ftflow-test-gone")
    pid = managed.start(_python("pass  # ftflow-test-gone"), cwd=REPO, env=os.environ)
    deadline = time.monotonic() + 10
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)

    assert managed.pid() is None
    assert managed.stop(timeout=1) == "not running"
