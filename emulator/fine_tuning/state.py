"""Fine-tuning jobs: creation with Azure's checks, the job operations (cancel, pause, resume,
delete), events, checkpoints, and the fine-tuned models jobs produce.

A job moves through :data:`~emulator.fine_tuning.tables.JOB_LIFECYCLE`; the timed moves
(start, steps, success) are the :class:`~emulator.fine_tuning.scheduler.Scheduler`'s, the
requested ones (cancel, pause, resume) are here.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass
from typing import Any

from emulator.core.errors import Surface
from emulator.core.ids import new_id
from emulator.core.runtime import Runtime
from emulator.core.store import dumps, loads
from emulator.files.state import FilesState
from emulator.fine_tuning.errors import (
    InvalidJobRequest,
    JobNotFound,
    JobQuotaExceeded,
    JobStateConflict,
)
from emulator.fine_tuning.models import BASE_MODELS
from emulator.fine_tuning.records import JOB_COLUMNS, CheckpointRecord, EventRecord, JobRecord
from emulator.fine_tuning.request import JobRequest, parse_job_request
from emulator.fine_tuning.scheduler import Scheduler
from emulator.fine_tuning.tables import ACTIVE_STATES, SLOT_STATES, add_event, load_job, update_job
from emulator.simulation.responder import Exchange

__all__ = ["JobsState", "TrainedModel"]

_NOT_SUPPORTED = "The specified base model does not support fine-tuning."


@dataclass(frozen=True)
class TrainedModel:
    """A model a job produced: the final model or one of its kept checkpoints."""

    name: str
    job_id: str
    base_model: str
    ready: bool
    """The job succeeded, so the model can be deployed."""


class JobsState:
    """The resource's fine-tuning jobs."""

    def __init__(self, runtime: Runtime, files: FilesState) -> None:
        self.rt = runtime
        self.files = files
        self.scheduler = Scheduler(runtime, files)

    def advance(self, now: float) -> None:
        """Let the scheduler catch up with ``now``."""
        self.scheduler.advance(now)

    # -- creation -----------------------------------------------------------------------------

    def _resolve_model(self, conn: sqlite3.Connection, model: str) -> str:
        if model in BASE_MODELS:
            return model
        row = conn.execute(
            "SELECT base_model FROM jobs WHERE fine_tuned_model = ? AND status = 'succeeded'",
            (model,),
        ).fetchone()
        if row is not None:
            return str(row["base_model"])
        checkpoint = self.find_model(model)
        if checkpoint is not None and checkpoint.ready:
            return checkpoint.base_model
        if ".ft-" in model:
            raise InvalidJobRequest(
                f"The model '{model}' does not exist in this resource or has not finished "
                "training, so it cannot be fine-tuned further.",
                param="model",
            )
        raise InvalidJobRequest(_NOT_SUPPORTED, param="model")

    def _check_file(self, file_id: str, param: str, method: str) -> int:
        record = self.files.find(file_id)
        label = param.replace("_", " ")
        if record is None:
            raise InvalidJobRequest(f"The {label} '{file_id}' does not exist.", param=param)
        if record.purpose != "fine-tune":
            raise InvalidJobRequest(
                f"The {label} '{file_id}' has purpose '{record.purpose}', not 'fine-tune'.",
                param=param,
            )
        status = record.status(self.rt.clock.now())
        if status == "error":
            raise InvalidJobRequest(
                f"The {label} '{file_id}' failed processing: {record.status_details}",
                param=param,
            )
        if status != "processed":
            raise InvalidJobRequest(
                f"The {label} '{file_id}' is not ready yet (status '{status}'). Wait until it "
                "is processed.",
                param=param,
            )
        wanted = "dpo" if method == "dpo" else "chat"
        if record.data_format != wanted:
            raise InvalidJobRequest(
                f"The {label} '{file_id}' holds {record.data_format} examples, but the "
                f"{method} method needs {wanted} examples.",
                param=param,
            )
        return int(record.n_examples or 0)

    def create(self, body: dict[str, Any], surface: Surface, api_version: str | None) -> JobRecord:
        """Create a job from a request body (checked like Azure does)."""
        request = parse_job_request(body, surface, self.rt.settings.behaviour)
        with self.rt.store.tx() as conn:
            base_id = self._resolve_model(conn, request.model)
            base = BASE_MODELS[base_id]
            if request.method not in base.methods:
                if request.method == "supervised":
                    raise InvalidJobRequest(_NOT_SUPPORTED, param="model")
                raise InvalidJobRequest(
                    f"The model '{request.model}' does not support the {request.method} method.",
                    param="method",
                )
            n_examples = self._check_file(request.training_file, "training_file", request.method)
            if request.validation_file:
                self._check_file(request.validation_file, "validation_file", request.method)
            request.check_hyperparameters(n_examples)
            queued = conn.execute(
                "SELECT COUNT(*) AS n FROM jobs WHERE status = 'pending'"
            ).fetchone()["n"]
            limit = self.rt.settings.limits.max_queued_jobs
            if queued >= limit:
                raise JobQuotaExceeded(
                    f"The resource already has {queued} fine-tuning jobs waiting to run, the "
                    f"maximum allowed is {limit}. Wait for queued jobs to finish, or cancel one, "
                    "and try again."
                )
            return self._insert(conn, request, base_id, surface, api_version)

    def _insert(
        self,
        conn: sqlite3.Connection,
        request: JobRequest,
        base_id: str,
        surface: Surface,
        api_version: str | None,
    ) -> JobRecord:
        job_id = new_id("ftjob")
        now = self.rt.clock.now()
        fault = self.rt.faults.take_job(request.model, request.suffix)
        seed = request.seed if request.seed is not None else random.randint(0, 2**31 - 1)
        style = (
            "v1"
            if surface is Surface.V1
            else ("preview" if api_version and api_version.endswith("-preview") else "ga")
        )
        conn.execute(
            "INSERT INTO jobs(id, created_at, status, model, base_model, training_file, "
            "validation_file, suffix, seed, requested, method, method_body, training_type, "
            "metadata, integrations, fault, api_style) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                job_id,
                now,
                "pending",
                request.model,
                base_id,
                request.training_file,
                request.validation_file,
                request.suffix,
                seed,
                dumps(request.hyperparameters),
                request.method,
                dumps(request.method_body) if request.method_body else None,
                request.training_type,
                dumps(request.metadata) if request.metadata is not None else None,
                dumps(request.integrations) if request.integrations is not None else None,
                dumps({"kind": fault.kind, "at": fault.at}) if fault else None,
                style,
            ),
        )
        add_event(conn, job_id, now, "Job enqueued. Waiting for jobs ahead to complete.")
        job = load_job(conn, job_id)
        assert job is not None
        return job

    # -- reads --------------------------------------------------------------------------------

    def get(self, job_id: str) -> JobRecord:
        """The job ``job_id``; :class:`JobNotFound` if absent."""
        with self.rt.store.tx() as conn:
            job = load_job(conn, job_id)
        if job is None:
            raise JobNotFound(job_id)
        return job

    def list_jobs(self, *, after: str | None, limit: int) -> tuple[list[JobRecord], bool]:
        """A page of jobs, newest first, after the job ``after``."""
        with self.rt.store.tx() as conn:
            start = None
            if after is not None:
                row = conn.execute("SELECT seq FROM jobs WHERE id = ?", (after,)).fetchone()
                start = row["seq"] if row else None
            rows = conn.execute(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE seq < ? "  # noqa: S608 - fixed columns
                "ORDER BY seq DESC LIMIT ?",
                (start if start is not None else 2**62, limit + 1),
            ).fetchall()
        if after is not None and start is None:
            return [], False
        jobs = [JobRecord.from_row(row) for row in rows]
        return jobs[:limit], len(jobs) > limit

    def events(
        self, job_id: str, *, after: str | None, limit: int
    ) -> tuple[list[EventRecord], bool]:
        """A page of the job's events (newest first unless configured otherwise)."""
        self.get(job_id)
        newest_first = self.rt.settings.behaviour.events_order == "newest_first"
        direction = "DESC" if newest_first else "ASC"
        with self.rt.store.tx() as conn:
            rows = conn.execute(
                "SELECT * FROM job_events WHERE job_id = ? "  # noqa: S608 - fixed direction
                f"ORDER BY created_at {direction}, seq {direction}",
                (job_id,),
            ).fetchall()
        events = [EventRecord.from_row(row) for row in rows]
        return _page(events, after, limit)

    def checkpoints(
        self, job_id: str, *, after: str | None, limit: int
    ) -> tuple[list[CheckpointRecord], bool]:
        """A page of the job's kept checkpoints, newest first."""
        self.get(job_id)
        with self.rt.store.tx() as conn:
            rows = conn.execute(
                "SELECT * FROM job_checkpoints WHERE job_id = ? ORDER BY step DESC", (job_id,)
            ).fetchall()
        return _page([CheckpointRecord.from_row(row) for row in rows], after, limit)

    # -- operations ---------------------------------------------------------------------------

    def cancel(self, job_id: str) -> JobRecord:
        """Cancel a job that has not finished."""
        with self.rt.store.tx() as conn:
            job = self._load(conn, job_id)
            if not job.active:
                raise JobStateConflict(
                    f"The job '{job_id}' is {job.status} and cannot be cancelled."
                )
            now = self.rt.clock.now()
            update_job(conn, job, status="cancelled", finished_at=now, run_started_at=None)
            add_event(conn, job_id, now, "Job cancelled.")
            if job.status in SLOT_STATES:
                Scheduler.free_slot(conn, now)
            return self._load(conn, job_id)

    def pause(self, job_id: str) -> JobRecord:
        """Pause a running job that has trained at least one step."""
        with self.rt.store.tx() as conn:
            job = self._load(conn, job_id)
            trained = conn.execute(
                "SELECT COUNT(*) AS n FROM job_events WHERE job_id = ? AND type = 'metrics'",
                (job_id,),
            ).fetchone()["n"]
            if job.status != "running" or trained == 0 or job.run_started_at is None:
                raise JobStateConflict(
                    f"The job '{job_id}' is {job.status}; only a running job that has trained "
                    "at least one step can be paused."
                )
            now = self.rt.clock.now()
            progress = job.progress + (now - job.run_started_at)
            update_job(conn, job, status="paused", progress=progress, run_started_at=None)
            add_event(conn, job_id, now, "Job paused.")
            return self._load(conn, job_id)

    def resume(self, job_id: str) -> JobRecord:
        """Resume a paused job."""
        with self.rt.store.tx() as conn:
            job = self._load(conn, job_id)
            if job.status != "paused":
                raise JobStateConflict(
                    f"The job '{job_id}' is {job.status}; only a paused job can be resumed."
                )
            now = self.rt.clock.now()
            resume_at = now + self.rt.settings.timings.resume_seconds
            update_job(conn, job, status="resuming", resume_at=resume_at)
            add_event(conn, job_id, now, "Job resuming.")
            return self._load(conn, job_id)

    def delete(self, job_id: str, deployed_models: set[str]) -> None:
        """Delete a finished job (not while its model is deployed)."""
        with self.rt.store.tx() as conn:
            job = self._load(conn, job_id)
            if job.active:
                raise JobStateConflict(
                    f"The job '{job_id}' is {job.status}; cancel it before deleting it."
                )
            names = {
                r["name"]
                for r in conn.execute(
                    "SELECT name FROM job_checkpoints WHERE job_id = ?", (job_id,)
                )
            }
            if job.fine_tuned_model:
                names.add(job.fine_tuned_model)
            if names & deployed_models:
                raise JobStateConflict(
                    f"The model of job '{job_id}' is deployed; delete its deployments first.",
                    code="conflict",
                )
            conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def _load(self, conn: sqlite3.Connection, job_id: str) -> JobRecord:
        job = load_job(conn, job_id)
        if job is None:
            raise JobNotFound(job_id)
        return job

    # -- models -------------------------------------------------------------------------------

    def find_model(self, name: str) -> TrainedModel | None:
        """The fine-tuned model or kept checkpoint called ``name`` (or with checkpoint id)."""
        with self.rt.store.tx() as conn:
            row = conn.execute(
                "SELECT id, base_model, status FROM jobs WHERE model_name = ?", (name,)
            ).fetchone()
            if row is not None:
                return TrainedModel(
                    name, row["id"], row["base_model"], row["status"] == "succeeded"
                )
            row = conn.execute(
                "SELECT c.name, j.id, j.base_model, j.status FROM job_checkpoints c "
                "JOIN jobs j ON j.id = c.job_id WHERE c.name = ? OR c.id = ?",
                (name, name),
            ).fetchone()
        if row is None:
            return None
        return TrainedModel(row["name"], row["id"], row["base_model"], row["status"] == "succeeded")

    def exchanges(self, job_id: str) -> list[Exchange]:
        """What a model of ``job_id`` learned: its exchanges, then its ancestors' (continuous
        fine-tuning), nearest first."""
        found: list[Exchange] = []
        seen: set[str] = set()
        current: str | None = job_id
        with self.rt.store.tx() as conn:
            while current is not None and current not in seen:
                seen.add(current)
                row = conn.execute(
                    "SELECT j.model, p.exchanges FROM jobs j LEFT JOIN job_plans p "
                    "ON p.job_id = j.id WHERE j.id = ?",
                    (current,),
                ).fetchone()
                if row is None:
                    break
                found += [Exchange(prompt=p, reply=r) for p, r in loads(row["exchanges"]) or []]
                parent_model = str(row["model"]).split(":ckpt-step-")[0]
                parent = conn.execute(
                    "SELECT id FROM jobs WHERE model_name = ?", (parent_model,)
                ).fetchone()
                current = None if parent is None else str(parent["id"])
        return found

    def succeeded_models(self) -> list[JobRecord]:
        """Jobs whose model is ready (for the models list)."""
        with self.rt.store.tx() as conn:
            rows = conn.execute(
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE status = 'succeeded' "  # noqa: S608
                "ORDER BY seq"
            ).fetchall()
        return [JobRecord.from_row(row) for row in rows]

    def active_count(self) -> int:
        """Jobs not yet finished."""
        marks = ",".join("?" for _ in ACTIVE_STATES)
        with self.rt.store.tx() as conn:
            row = conn.execute(
                f"SELECT COUNT(*) AS n FROM jobs WHERE status IN ({marks})",  # noqa: S608
                ACTIVE_STATES,
            ).fetchone()
        return int(row["n"])


def _page(items: list[Any], after: str | None, limit: int) -> tuple[list[Any], bool]:
    if after is not None:
        ids = [item.id for item in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    return items[:limit], len(items) > limit
