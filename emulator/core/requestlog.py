"""The request log behind ``GET /_emulator/requests``: every request with its outcome, in memory.

Kept in a bounded deque (newest 10,000); cleared by ``/_emulator/reset`` and not persisted.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["RequestLog", "RequestRecord"]


@dataclass(frozen=True)
class RequestRecord:
    """One request as it was answered."""

    seq: int
    method: str
    path: str
    query: str
    status: int
    time: float
    """Wall-clock time the request arrived (Unix seconds)."""
    sim_time: float
    """Emulator time the request arrived."""
    duration_ms: float
    fault: str | None
    """The injected fault, if any: ``429``, ``500``, ``503``, ``drop`` or ``latency``."""

    def to_api(self) -> dict[str, Any]:
        """As the control API shows it."""
        return asdict(self)


class RequestLog:
    """Thread-safe, bounded, filterable list of :class:`RequestRecord`."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._seq = 0

    def next_seq(self) -> int:
        """A sequence number for a new record."""
        with self._lock:
            self._seq += 1
            return self._seq

    def add(self, record: RequestRecord) -> None:
        """Append ``record``."""
        with self._lock:
            self._records.append(record)

    def clear(self) -> None:
        """Forget every record."""
        with self._lock:
            self._records.clear()

    def query(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        path_prefix: str | None = None,
        status: int | None = None,
        since_seq: int | None = None,
    ) -> list[RequestRecord]:
        """Records matching every given filter, oldest first."""
        with self._lock:
            records = sorted(self._records, key=lambda r: r.seq)
        return [
            r
            for r in records
            if (method is None or r.method == method.upper())
            and (path is None or r.path == path)
            and (path_prefix is None or r.path.startswith(path_prefix))
            and (status is None or r.status == status)
            and (since_seq is None or r.seq > since_seq)
        ]
