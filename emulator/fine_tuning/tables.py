"""The fine-tuning tables, the job lifecycle, and the row-level helpers both the API
(:mod:`emulator.fine_tuning.state`) and the scheduler (:mod:`emulator.fine_tuning.scheduler`)
write through. Every status change is checked against :data:`JOB_LIFECYCLE`.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from emulator.core.ids import new_id
from emulator.core.lifecycle import Lifecycle
from emulator.core.store import dumps
from emulator.fine_tuning.records import JOB_COLUMNS, JobRecord

__all__ = [
    "ACTIVE_STATES",
    "JOB_LIFECYCLE",
    "KEPT_CHECKPOINTS",
    "SCHEMA",
    "SLOT_STATES",
    "add_checkpoint",
    "add_event",
    "load_job",
    "update_job",
]

JOB_LIFECYCLE = Lifecycle.declare(
    "fine_tuning.job",
    "pending",
    {
        "pending": ["running", "failed", "cancelled"],
        "running": ["paused", "succeeded", "failed", "cancelled"],
        "paused": ["resuming", "cancelled"],
        "resuming": ["running", "cancelled"],
        "succeeded": [],
        "failed": [],
        "cancelled": [],
    },
)
"""Azure's job statuses (2025-04-01-preview adds pausing/paused/resuming; pause takes effect at
once here, so ``pausing`` is never shown)."""

SLOT_STATES = ("running", "paused", "resuming")
"""Statuses that hold one of the resource's training slots."""
ACTIVE_STATES = ("pending", *SLOT_STATES)
KEPT_CHECKPOINTS = 3

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    created_at REAL NOT NULL,
    status TEXT NOT NULL,
    model TEXT NOT NULL,
    base_model TEXT NOT NULL,
    training_file TEXT NOT NULL,
    validation_file TEXT,
    suffix TEXT,
    seed INTEGER NOT NULL,
    requested TEXT NOT NULL,
    hyperparameters TEXT,
    method TEXT NOT NULL,
    method_body TEXT,
    training_type TEXT,
    metadata TEXT,
    integrations TEXT,
    fault TEXT,
    model_name TEXT,
    fine_tuned_model TEXT,
    started_at REAL,
    run_started_at REAL,
    progress REAL NOT NULL DEFAULT 0,
    duration REAL,
    resume_at REAL,
    finished_at REAL,
    trained_tokens INTEGER,
    error TEXT,
    result_file TEXT,
    api_style TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS job_plans (
    job_id TEXT PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    items TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    results_csv TEXT NOT NULL,
    trained_tokens INTEGER,
    exchanges TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS job_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    level TEXT NOT NULL,
    type TEXT NOT NULL,
    message TEXT NOT NULL,
    data TEXT
);
CREATE INDEX IF NOT EXISTS job_events_by_job ON job_events(job_id, created_at);
CREATE TABLE IF NOT EXISTS job_checkpoints (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    step INTEGER NOT NULL,
    name TEXT NOT NULL,
    metrics TEXT NOT NULL
);
"""

_JSON_FIELDS = frozenset(
    {"requested", "hyperparameters", "method_body", "metadata", "integrations", "fault", "error"}
)


def load_job(conn: sqlite3.Connection, job_id: str) -> JobRecord | None:
    """The job ``job_id`` or None."""
    row = conn.execute(
        f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?",  # noqa: S608 - fixed columns
        (job_id,),
    ).fetchone()
    return None if row is None else JobRecord.from_row(row)


def update_job(conn: sqlite3.Connection, job: JobRecord, **fields: Any) -> None:
    """Write ``fields`` of ``job``; a ``status`` change must be a declared transition."""
    if "status" in fields and fields["status"] != job.status:
        JOB_LIFECYCLE.check(job.status, fields["status"])
    names = sorted(fields)
    values = [
        dumps(fields[n]) if n in _JSON_FIELDS and fields[n] is not None else fields[n]
        for n in names
    ]
    assignments = ", ".join(f"{name} = ?" for name in names)
    conn.execute(
        f"UPDATE jobs SET {assignments} WHERE id = ?",  # noqa: S608 - names are ours
        (*values, job.id),
    )


def add_event(
    conn: sqlite3.Connection,
    job_id: str,
    at: float,
    message: str,
    *,
    level: str = "info",
    kind: str = "message",
    data: Any = None,
) -> None:
    """Record a job event at simulated time ``at``."""
    conn.execute(
        "INSERT INTO job_events(id, job_id, created_at, level, type, message, data) "
        "VALUES(?,?,?,?,?,?,?)",
        (new_id("ftevent"), job_id, at, level, kind, message, dumps(data) if data else None),
    )


def add_checkpoint(
    conn: sqlite3.Connection, job_id: str, at: float, step: int, name: str, metrics: Any
) -> None:
    """Record a checkpoint and keep only the newest :data:`KEPT_CHECKPOINTS`."""
    conn.execute(
        "INSERT INTO job_checkpoints(id, job_id, created_at, step, name, metrics) "
        "VALUES(?,?,?,?,?,?)",
        (new_id("ftchkpt"), job_id, at, step, name, dumps(metrics)),
    )
    conn.execute(
        "DELETE FROM job_checkpoints WHERE job_id = ? AND seq NOT IN ("
        "SELECT seq FROM job_checkpoints WHERE job_id = ? ORDER BY step DESC LIMIT ?)",
        (job_id, job_id, KEPT_CHECKPOINTS),
    )
