"""Persistent state: one SQLite database (WAL) in the data dir, plus file contents as blobs.

Each resource declares its tables (``SCHEMA`` in its ``state.py``); :class:`Store` creates them
and hands out transactions under one re-entrant lock, so the web server's threads never
interleave writes. Blobs (uploaded file contents, result files) are stored under the data dir by
id; a file's user-supplied name is data in a column and never becomes a path.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["BlobStore", "Store", "dumps", "loads"]

_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")

_META_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def dumps(value: object) -> str:
    """Compact JSON for a column."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | None) -> Any:
    """A JSON column back to Python (None stays None)."""
    if text is None:
        return None
    return json.loads(text)


class Store:
    """The SQLite database: schema, transactions, and a small key-value ``meta`` table."""

    def __init__(self, path: Path, schemas: Iterable[str] = ()) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._depth = 0
        self._tables: list[str] = []
        self.add_schema(_META_SCHEMA)
        for schema in schemas:
            self.add_schema(schema)

    def add_schema(self, schema: str) -> None:
        """Create the tables of ``schema`` (idempotent ``CREATE TABLE IF NOT EXISTS`` script)."""
        with self.lock:
            self._conn.executescript(schema)
            for name in re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", schema):
                if name not in self._tables and name != "meta":
                    self._tables.append(name)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A transaction (nested calls join the outer one); commits on success."""
        with self.lock:
            outer = self._depth == 0
            if outer:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self._conn
            except BaseException:
                self._depth -= 1
                if outer:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._conn.execute("COMMIT")

    def get_meta(self, key: str) -> str | None:
        """A value of the ``meta`` table."""
        with self.tx() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        """Set a value of the ``meta`` table."""
        with self.tx() as conn:
            conn.execute(
                "INSERT INTO meta(key, value) VALUES(?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def clear(self, keep_meta: Iterable[str] = ()) -> None:
        """Delete every row of every resource table (``meta`` keys in ``keep_meta`` survive)."""
        kept = tuple(keep_meta)
        with self.tx() as conn:
            for table in reversed(self._tables):
                conn.execute(f"DELETE FROM {table}")  # noqa: S608 - table names are ours
            marks = ",".join("?" for _ in kept)
            if kept:
                conn.execute(f"DELETE FROM meta WHERE key NOT IN ({marks})", kept)  # noqa: S608
            else:
                conn.execute("DELETE FROM meta")

    def close(self) -> None:
        """Close the connection (checkpointing the WAL)."""
        with self.lock:
            self._conn.close()


class BlobStore:
    """File contents by id, under ``<data dir>/blobs``; ids are checked, never trusted as paths."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, blob_id: str) -> Path:
        if not _SAFE_ID.match(blob_id):
            raise ValueError(f"not a blob id: {blob_id!r}")
        return self.root / blob_id

    def write(self, blob_id: str, chunks: Iterable[bytes]) -> int:
        """Store the content of ``blob_id``; returns its size in bytes."""
        path = self._path(blob_id)
        size = 0
        tmp = path.with_suffix(".part")
        with tmp.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
                size += len(chunk)
        tmp.replace(path)
        return size

    def read(self, blob_id: str) -> bytes:
        """The content of ``blob_id`` (FileNotFoundError if absent)."""
        return self._path(blob_id).read_bytes()

    def exists(self, blob_id: str) -> bool:
        """Whether ``blob_id`` has content."""
        return self._path(blob_id).exists()

    def delete(self, blob_id: str) -> None:
        """Remove the content of ``blob_id`` if present."""
        self._path(blob_id).unlink(missing_ok=True)

    def clear(self) -> None:
        """Remove every blob."""
        for path in self.root.iterdir():
            if path.is_file():
                path.unlink()
