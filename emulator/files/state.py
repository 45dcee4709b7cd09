"""Files: uploaded contents, their processing lifecycle and the per-resource quota.

Lifecycle (declared below): ``pending → running → processed | error``. Processing is scheduled
at upload: the checks (:mod:`emulator.files.validation`) run at once, and their outcome becomes
visible when the clock reaches the end of the simulated processing time, so a file reads
``pending``, then ``running``, then ``processed`` or ``error`` with ``status_details``.
Files the emulator writes itself (``results.csv``, purpose ``fine-tune-results``) are processed
from the start.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from emulator.core.errors import Surface
from emulator.core.ids import new_id
from emulator.core.lifecycle import Lifecycle
from emulator.core.runtime import Runtime
from emulator.files.errors import FileNotFound, FileQuotaExceeded, FileTooLarge, InvalidUpload
from emulator.files.validation import check_fine_tune_file

__all__ = ["FILE_LIFECYCLE", "PURPOSES", "SCHEMA", "FileRecord", "FilesState"]

FILE_LIFECYCLE = Lifecycle.declare(
    "file",
    "pending",
    {"pending": ["running"], "running": ["processed", "error"], "processed": [], "error": []},
)

PURPOSES = (
    "fine-tune",
    "fine-tune-results",
    "assistants",
    "assistants_output",
    "batch",
    "batch_output",
    "evals",
    "evals_output",
)
_UPLOAD_PURPOSES_V1 = ("assistants", "batch", "fine-tune", "evals")

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    purpose TEXT NOT NULL,
    filename TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    created_at REAL NOT NULL,
    running_at REAL NOT NULL,
    done_at REAL NOT NULL,
    outcome TEXT NOT NULL,
    status_details TEXT,
    data_format TEXT,
    n_examples INTEGER,
    expires_at REAL
);
"""


@dataclass(frozen=True)
class FileRecord:
    """One stored file."""

    id: str
    seq: int
    purpose: str
    filename: str
    bytes: int
    created_at: float
    running_at: float
    done_at: float
    outcome: str
    status_details: str | None
    data_format: str | None
    n_examples: int | None
    expires_at: float | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> FileRecord:
        """Build from a ``files`` row."""
        return cls(**{key: row[key] for key in row.keys()})  # noqa: SIM118 - sqlite3.Row

    def status(self, now: float) -> str:
        """The status at simulated time ``now``."""
        if now < self.running_at:
            return "pending"
        if now < self.done_at:
            return "running"
        return self.outcome

    def is_processed(self, now: float) -> bool:
        """Whether processing finished successfully by ``now``."""
        return self.status(now) == "processed"

    def to_api(self, now: float, surface: Surface) -> dict[str, Any]:
        """The file object of the Files API."""
        status = self.status(now)
        return {
            "object": "file",
            "id": self.id,
            "purpose": self.purpose,
            "filename": self.filename,
            "bytes": self.bytes,
            "created_at": int(self.created_at),
            "expires_at": None if self.expires_at is None else int(self.expires_at),
            "status": status,
            "status_details": self.status_details if status == "error" else None,
        }


class FilesState:
    """Stored files of the resource."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    def _limits_check(self, conn: sqlite3.Connection, size: int) -> None:
        limits = self.rt.settings.limits
        row = conn.execute(
            "SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS total FROM files "
            "WHERE purpose = 'fine-tune'"
        ).fetchone()
        if row["n"] >= limits.max_files:
            raise FileQuotaExceeded(
                f"The resource already has {row['n']} fine-tuning files, the maximum allowed "
                f"is {limits.max_files}. Delete files you no longer need and try again."
            )
        if row["total"] + size > limits.max_files_total_bytes:
            raise FileQuotaExceeded(
                f"Uploading this file ({size} bytes) would bring the fine-tuning files of the "
                f"resource to {row['total'] + size} bytes, above the limit of "
                f"{limits.max_files_total_bytes} bytes. Delete files you no longer need and "
                "try again."
            )

    def upload(
        self,
        *,
        filename: str,
        purpose: str,
        chunks: Iterable[bytes],
        surface: Surface,
        expires_after_seconds: int | None = None,
    ) -> FileRecord:
        """Store an upload and schedule its processing."""
        allowed = _UPLOAD_PURPOSES_V1 if surface is Surface.V1 else PURPOSES
        if purpose not in allowed or purpose.endswith(("_output", "-results")):
            raise InvalidUpload(
                f"Invalid value for purpose: '{purpose}'. Supported values are: "
                f"{', '.join(p for p in allowed if not p.endswith(('_output', '-results')))}.",
                param="purpose",
            )
        if not filename or len(filename) > 512:
            raise InvalidUpload("The file name must be 1 to 512 characters.", param="file")
        file_id = new_id("file")
        limit = self.rt.settings.limits.max_file_bytes
        size = self.rt.blobs.write(file_id, chunks)
        try:
            if size > limit:
                raise FileTooLarge(size, limit)
            if size == 0:
                raise InvalidUpload("The file is empty.", param="file")
            return self._record(file_id, filename, purpose, size, expires_after_seconds)
        except BaseException:
            self.rt.blobs.delete(file_id)
            raise

    def _record(
        self,
        file_id: str,
        filename: str,
        purpose: str,
        size: int,
        expires_after_seconds: int | None,
    ) -> FileRecord:
        settings = self.rt.settings
        timings = settings.timings
        outcome, details, data_format, n_examples = "processed", None, None, None
        if purpose == "fine-tune":
            content = self.rt.blobs.read(file_id)
            check = check_fine_tune_file(
                content,
                min_examples=settings.limits.min_examples,
                require_bom=settings.behaviour.require_bom,
            )
            data_format, n_examples = check.data_format, check.n_examples
            if not check.ok:
                outcome, details = "error", check.problem
            fault = self.rt.faults.take_file(filename)
            if fault is not None:
                outcome, details = "error", fault.message
        FILE_LIFECYCLE.check(FILE_LIFECYCLE.check("pending", "running"), outcome)
        with self.rt.store.tx() as conn:
            if purpose == "fine-tune":
                self._limits_check(conn, size)
            now = self.rt.clock.now()
            running_at = now + timings.file_pending_seconds
            done_at = (
                running_at
                + timings.file_processing_seconds
                + timings.file_processing_seconds_per_mb * size / 1_000_000
            )
            expires_at = None if expires_after_seconds is None else now + expires_after_seconds
            conn.execute(
                "INSERT INTO files(id, purpose, filename, bytes, created_at, running_at, done_at, "
                "outcome, status_details, data_format, n_examples, expires_at) "
                "VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    file_id,
                    purpose,
                    filename,
                    size,
                    now,
                    running_at,
                    done_at,
                    outcome,
                    details,
                    data_format,
                    n_examples,
                    expires_at,
                ),
            )
        return self.get(file_id)

    def create_result_file(self, filename: str, content: bytes, at: float) -> FileRecord:
        """A file the service writes (``results.csv``), processed from the start."""
        file_id = new_id("file")
        size = self.rt.blobs.write(file_id, [content])
        with self.rt.store.tx() as conn:
            conn.execute(
                "INSERT INTO files(id, purpose, filename, bytes, created_at, running_at, done_at, "
                "outcome) VALUES(?,?,?,?,?,?,?,?)",
                (file_id, "fine-tune-results", filename, size, at, at, at, "processed"),
            )
        return self.get(file_id)

    def find(self, file_id: str) -> FileRecord | None:
        """The file ``file_id``, or None."""
        with self.rt.store.tx() as conn:
            row = conn.execute("SELECT * FROM files WHERE id = ?", (file_id,)).fetchone()
        if row is None:
            return None
        record = FileRecord.from_row(row)
        if record.expires_at is not None and record.expires_at <= self.rt.clock.now():
            self.delete(file_id)
            return None
        return record

    def get(self, file_id: str) -> FileRecord:
        """The file ``file_id``; :class:`FileNotFound` if absent."""
        record = self.find(file_id)
        if record is None:
            raise FileNotFound(file_id)
        return record

    def list_files(
        self,
        *,
        purpose: str | None,
        after: str | None,
        limit: int,
        order: str,
    ) -> tuple[list[FileRecord], bool]:
        """A page of files (newest first for ``order="desc"``) and whether more follow."""
        descending = order != "asc"
        with self.rt.store.tx() as conn:
            rows = conn.execute(
                "SELECT * FROM files ORDER BY seq "  # noqa: S608 - fixed direction
                + ("DESC" if descending else "ASC")
            ).fetchall()
        now = self.rt.clock.now()
        records = [
            FileRecord.from_row(row)
            for row in rows
            if (purpose is None or row["purpose"] == purpose)
            and (row["expires_at"] is None or row["expires_at"] > now)
        ]
        if after is not None:
            ids = [r.id for r in records]
            records = records[ids.index(after) + 1 :] if after in ids else []
        return records[:limit], len(records) > limit

    def delete(self, file_id: str) -> None:
        """Delete the file and its content; :class:`FileNotFound` if absent."""
        with self.rt.store.tx() as conn:
            cursor = conn.execute("DELETE FROM files WHERE id = ?", (file_id,))
        if cursor.rowcount == 0:
            raise FileNotFound(file_id)
        self.rt.blobs.delete(file_id)

    def content(self, file_id: str) -> bytes:
        """The bytes of the file."""
        self.get(file_id)
        return self.rt.blobs.read(file_id)
