"""Background processes known by pid file: start detached, check, stop by process group.

Every process starts in its own session (so its pid is also its process-group id) with
SIGINT at its default disposition, detached from the terminal that started it: Ctrl-C in
that terminal no longer reaches it, and ``stop`` reaches it and every child it spawned
(a worker's flow runs) through the group. A pid file is trusted only while the process it
names is alive and its command line still carries the expected marker, so a recycled pid
is never signalled.
"""

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = ["Managed", "group_alive", "pid_alive", "stop_group"]

_POLL_SECONDS = 0.1


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` names a running process (a zombie is not running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust kill(0)
    state = stat.rpartition(")")[2].split()[0]
    if state in {"Z", "X"}:
        _reap(pid)
        return False
    return True


def group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` is left (zombies of this process reaped)."""
    _reap(pgid)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_group(
    pgid: int, first: signal.Signals, timeout: float, *, escalate_after: float = 10.0
) -> str:
    """Signal group ``pgid`` with ``first``, then SIGTERM, then SIGKILL until it is gone.

    ``first`` is given ``escalate_after`` seconds, SIGTERM the same again, SIGKILL the rest of
    ``timeout``. Returns the signal that ended it (``"SIGINT"`` …), or ``"gone"`` when the
    group had already ended; raises `TimeoutError` if even SIGKILL did not end it.
    """
    deadline = time.monotonic() + timeout
    steps = [(first, escalate_after)]
    if first != signal.SIGTERM:
        steps.append((signal.SIGTERM, escalate_after))
    steps.append((signal.SIGKILL, max(deadline - time.monotonic(), 1.0)))
    if not group_alive(pgid):
        return "gone"
    for sig, grace in steps:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        until = min(time.monotonic() + grace, max(deadline, time.monotonic() + 1.0))
        while time.monotonic() < until:
            if not group_alive(pgid):
                return sig.name
            time.sleep(_POLL_SECONDS)
    raise TimeoutError(f"process group {pgid} survived SIGKILL")


def _reap(pid: int) -> None:
    """Collect ``pid``'s exit status if it is a child of this process (tests start some)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


@dataclass(frozen=True)
class Managed:
    """One background process of the stack: its pid file, log and identifying marker."""

    name: str
    pid_file: Path
    log_file: Path
    marker: str
    """Text its command line contains (``"worker start"``): how a recycled pid is told apart."""
    first_signal: signal.Signals = signal.SIGTERM
    """What asks it to stop (SIGINT for a Prefect worker, which ignores nothing else)."""

    def pid(self) -> int | None:
        """The recorded pid if that process is still this one and alive, else ``None``."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if not pid_alive(pid):
            return None
        command = _cmdline(pid)
        if command and self.marker not in command:
            return None
        return pid

    def start(
        self,
        command: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        stdout: IO[bytes] | None = None,
    ) -> int:
        """Start ``command`` detached (own session, stdin from /dev/null, output to the log
        unless ``stdout`` is given) and record its pid; returns the pid."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
            # An ignored SIGINT survives exec (a shell's background job): the child could
            # never be asked to stop gracefully. A handler is reset to the default instead.
            signal.signal(signal.SIGINT, signal.default_int_handler)
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                list(command),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=stdout if stdout is not None else log,
                stderr=log,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{process.pid}\n")
        return process.pid

    def stop(self, timeout: float = 30.0) -> str:
        """Stop the recorded process and its group within ``timeout`` (its own stop signal,
        then SIGTERM, a third of it each, then SIGKILL); returns how (see `stop_group`)."""
        try:
            recorded = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return "not running"
        # Ours while the marker matches; a dead leader's group can only hold our orphans (a
        # pid is not reused as a group id while the group has members); a live leader that
        # is not ours (a recycled pid) is left alone.
        orphans = not pid_alive(recorded) and group_alive(recorded)
        if self.pid() is None and not orphans:
            how = "not running"
        else:
            how = stop_group(recorded, self.first_signal, timeout, escalate_after=timeout / 3)
        self.pid_file.unlink(missing_ok=True)
        return how

    def log_tail(self, lines: int = 15) -> str:
        """The last ``lines`` lines of the log, for error messages."""
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
