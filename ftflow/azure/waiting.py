"""Waiting with a deadline: growing intervals between polls, never an unbounded loop."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Poll intervals from ``initial`` growing by ``factor`` up to ``maximum`` seconds."""

    initial: float = 2.0
    factor: float = 1.5
    maximum: float = 60.0

    def delays(
        self, timeout_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> Iterator[float]:
        """The pause after each poll, until ``timeout_seconds`` have passed on ``clock``.

        The caller polls, then sleeps the yielded delay; the iterator ends when the deadline
        is reached, after one last poll at the deadline.
        """
        start = clock()
        delay = min(self.initial, self.maximum)
        while (remaining := timeout_seconds - (clock() - start)) > 0:
            yield min(delay, remaining)
            delay = min(self.maximum, delay * self.factor)
        yield 0.0
