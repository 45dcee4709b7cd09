"""Emulator time: wall time scaled by ``speed``, or a manual clock that moves only when told.

Every timestamp the emulator shows (``created_at``, ``finished_at`` ...) and every lifecycle
deadline is in *simulated* seconds since the Unix epoch. The clock's reading is saved in the
database as it advances, and a restarted emulator continues from the later of that reading and
the wall clock, so simulated time never runs backwards across a restart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from emulator.config import ClockMode

__all__ = ["Clock"]


class Clock:
    """Simulated time.

    ``scaled``: ``now = start + (wall - wall_at_start) * speed + advanced``.
    ``manual``: ``now = start + advanced``; only :meth:`advance` moves it.
    """

    def __init__(
        self,
        mode: ClockMode,
        speed: float,
        *,
        start: float | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.mode: ClockMode = mode
        self.speed = speed
        self._wall = wall
        self._wall0 = wall()
        self._start = self._wall0 if start is None else max(start, 0.0)
        self._advanced = 0.0
        self._last = self._start
        self._lock = threading.Lock()

    def now(self) -> float:
        """Current simulated time, never less than an earlier reading."""
        with self._lock:
            if self.mode == "manual":
                value = self._start + self._advanced
            else:
                value = self._start + (self._wall() - self._wall0) * self.speed + self._advanced
            self._last = max(self._last, value)
            return self._last

    def advance(self, seconds: float) -> float:
        """Move simulated time forward by ``seconds`` (either mode); returns the new time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._advanced += seconds
        return self.now()

    def describe(self) -> dict[str, object]:
        """The clock as the control API shows it."""
        return {"mode": self.mode, "speed": self.speed, "now": self.now()}
