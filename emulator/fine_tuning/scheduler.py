"""Moves fine-tuning jobs along as the clock passes, lazily: before each request the emulator
calls :meth:`Scheduler.advance` with the current time, and everything that would have happened
by then happens, in time order, with its own timestamp.

Events are processed earliest first: a queued job starts when its queue wait is over and a
training slot is free (``limits.max_running_jobs``); a running job reveals the items of its
:class:`~emulator.fine_tuning.plan.Plan` (events, checkpoints, success or failure) as its
activity time reaches them; a resuming job runs again when its resume delay is over. Because
all of it is stored, a restarted emulator continues exactly where it stopped.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
from typing import Any

from emulator.core.ids import new_hex
from emulator.core.runtime import Runtime
from emulator.core.store import dumps
from emulator.files.state import FilesState
from emulator.fine_tuning.models import BASE_MODELS
from emulator.fine_tuning.plan import PreflightFailure, build_plan, preflight_plan
from emulator.fine_tuning.records import JOB_COLUMNS, JobRecord
from emulator.fine_tuning.tables import add_checkpoint, add_event, update_job
from emulator.fine_tuning.tokens import TokenizerUnavailable

__all__ = ["Scheduler"]

log = logging.getLogger(__name__)

_SLOT_KEY = "jobs.slot_free_since"
_MAX_ROUNDS = 1_000_000


class Scheduler:
    """The jobs' time machine."""

    def __init__(self, runtime: Runtime, files: FilesState) -> None:
        self.rt = runtime
        self.files = files
        self._plans: dict[str, list[list[Any]]] = {}

    def forget(self) -> None:
        """Drop cached plans (after a reset)."""
        self._plans.clear()

    def _items(self, conn: sqlite3.Connection, job_id: str) -> tuple[list[list[Any]], int]:
        row = conn.execute(
            "SELECT items, done FROM job_plans WHERE job_id = ?", (job_id,)
        ).fetchone()
        if job_id not in self._plans:
            self._plans[job_id] = json.loads(row["items"])
        return self._plans[job_id], int(row["done"])

    @staticmethod
    def free_slot(conn: sqlite3.Connection, at: float) -> None:
        """Record that a training slot became free at ``at``."""
        conn.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET "
            "value = MAX(CAST(value AS REAL), CAST(excluded.value AS REAL))",
            (_SLOT_KEY, repr(at)),
        )

    def advance(self, now: float) -> None:
        """Bring every job up to simulated time ``now``."""
        with self.rt.store.tx() as conn:
            for _ in range(_MAX_ROUNDS):
                if not self._step(conn, now):
                    return
        log.warning("job scheduler stopped after %d rounds", _MAX_ROUNDS)

    def _step(self, conn: sqlite3.Connection, now: float) -> bool:
        rows = conn.execute(
            f"SELECT {JOB_COLUMNS} FROM jobs "  # noqa: S608 - fixed columns
            "WHERE status IN ('running', 'paused', 'resuming') ORDER BY seq"
        ).fetchall()
        holders = [JobRecord.from_row(row) for row in rows]
        candidates: list[tuple[float, str, JobRecord]] = []
        for job in holders:
            if job.status == "resuming" and job.resume_at is not None:
                candidates.append((job.resume_at, "resume", job))
            elif job.status == "running" and job.run_started_at is not None:
                items, done = self._items(conn, job.id)
                if done < len(items):
                    at = job.run_started_at + (float(items[done][0]) - job.progress)
                    candidates.append((at, "run", job))
        if len(holders) < self.rt.settings.limits.max_running_jobs:
            row = conn.execute(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE status = 'pending' "  # noqa: S608
                "ORDER BY seq LIMIT 1"
            ).fetchone()
            if row is not None:
                job = JobRecord.from_row(row)
                meta = conn.execute("SELECT value FROM meta WHERE key = ?", (_SLOT_KEY,)).fetchone()
                free_since = float(meta["value"]) if meta else 0.0
                ready = job.created_at + self.rt.settings.timings.job_queue_seconds
                candidates.append((max(ready, free_since), "start", job))
        if not candidates:
            return False
        candidates.sort(key=lambda c: (c[0], c[2].seq))
        at, action, job = candidates[0]
        if at > now:
            return False
        if action == "start":
            self._start(conn, job, at)
        elif action == "resume":
            update_job(conn, job, status="running", run_started_at=at, resume_at=None)
        else:
            limit = min([now, *(c[0] for c in candidates[1:])])
            self._run(conn, job, max(limit, at))
        return True

    def _start(self, conn: sqlite3.Connection, job: JobRecord, at: float) -> None:
        model_name = f"{job.base_model}.ft-{new_hex()}"
        if self.rt.settings.behaviour.suffix_in_model_name and job.suffix:
            model_name += f"-{job.suffix}"
        fields: dict[str, Any] = {}
        try:
            training = self._file_content(job.training_file, "training_file", at)
            validation = (
                self._file_content(job.validation_file, "validation_file", at)
                if job.validation_file
                else None
            )
            plan = build_plan(
                training=training,
                validation=validation,
                training_file=job.training_file,
                validation_file=job.validation_file,
                base=BASE_MODELS[job.base_model],
                requested=job.requested,
                seed=job.seed,
                timings=self.rt.settings.timings,
                model_name=model_name,
                fault=job.fault,
            )
            items, duration = plan.items, plan.duration
            fields["hyperparameters"] = dataclasses.asdict(plan.hyperparameters)
            csv, exchanges, planned = plan.results_csv, plan.exchanges, plan.trained_tokens
        except PreflightFailure as failure:
            items = preflight_plan(failure.error)
            duration, csv, exchanges, planned = float(items[-1][0]), "", [], None
        except TokenizerUnavailable as exc:
            log.error("job %s cannot start: %s", job.id, exc)
            error = {"code": "internalFailure", "message": str(exc), "param": None}
            items = preflight_plan(error)
            duration, csv, exchanges, planned = float(items[-1][0]), "", [], None
        conn.execute(
            "INSERT INTO job_plans(job_id, items, done, results_csv, trained_tokens, exchanges) "
            "VALUES(?,?,0,?,?,?)",
            (job.id, dumps(items), csv, planned, dumps(exchanges)),
        )
        self._plans[job.id] = items
        update_job(
            conn,
            job,
            status="running",
            started_at=at,
            run_started_at=at,
            progress=0.0,
            duration=duration,
            model_name=model_name,
            **fields,
        )

    def _file_content(self, file_id: str, param: str, at: float) -> bytes:
        record = self.files.find(file_id)
        if record is None:
            raise PreflightFailure(
                "invalidPayload", f"The {param.replace('_', ' ')} '{file_id}' was deleted.", param
            )
        return self.files.content(file_id)

    def _run(self, conn: sqlite3.Connection, job: JobRecord, limit: float) -> None:
        items, done = self._items(conn, job.id)
        assert job.run_started_at is not None
        start, base = job.run_started_at, job.progress
        index = done
        while index < len(items):
            offset, kind, payload = items[index]
            at = start + (float(offset) - base)
            if at > limit:
                break
            index += 1
            if kind == "event":
                add_event(conn, job.id, at, payload["message"], level=payload.get("level", "info"))
            elif kind == "metrics":
                add_event(
                    conn, job.id, at, payload["message"], kind="metrics", data=payload["data"]
                )
            elif kind == "checkpoint":
                add_checkpoint(
                    conn, job.id, at, payload["step"], payload["name"], payload["metrics"]
                )
            elif kind == "fail":
                add_event(conn, job.id, at, "Job failed.", level="error")
                self._finish(conn, job, index, at, float(offset), status="failed", error=payload)
                return
            elif kind == "succeed":
                self._succeed(conn, job, index, at, float(offset), payload)
                return
        conn.execute("UPDATE job_plans SET done = ? WHERE job_id = ?", (index, job.id))

    def _finish(
        self,
        conn: sqlite3.Connection,
        job: JobRecord,
        done: int,
        at: float,
        offset: float,
        **fields: Any,
    ) -> None:
        conn.execute("UPDATE job_plans SET done = ? WHERE job_id = ?", (done, job.id))
        update_job(conn, job, finished_at=at, progress=offset, run_started_at=None, **fields)
        self.free_slot(conn, at)

    def _succeed(
        self,
        conn: sqlite3.Connection,
        job: JobRecord,
        done: int,
        at: float,
        offset: float,
        payload: dict[str, Any],
    ) -> None:
        row = conn.execute(
            "SELECT results_csv, trained_tokens FROM job_plans WHERE job_id = ?", (job.id,)
        ).fetchone()
        result = self.files.create_result_file("results.csv", row["results_csv"].encode(), at)
        assert job.model_name is not None
        add_event(conn, job.id, at, f"Completed results file: {result.id}")
        add_event(conn, job.id, at, f"Training hours billed: {payload['hours']:.3f}")
        add_event(conn, job.id, at, "Job succeeded.")
        add_checkpoint(conn, job.id, at, payload["step"], job.model_name, payload["metrics"])
        self._finish(
            conn,
            job,
            done,
            at,
            offset,
            status="succeeded",
            fine_tuned_model=job.model_name,
            trained_tokens=row["trained_tokens"],
            result_file=result.id,
        )
