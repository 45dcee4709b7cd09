"""Rows of the fine-tuning tables as Python objects, and their API shapes.

Job statuses are stored in Azure's vocabulary; the v1 surface may show OpenAI's
``validating_files``/``queued`` instead of ``pending`` (``behaviour.v1_job_statuses``).
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from typing import Any

from emulator.config import Behaviour
from emulator.core.errors import Surface
from emulator.core.store import loads

__all__ = [
    "JOB_COLUMNS",
    "CheckpointRecord",
    "EventRecord",
    "JobRecord",
]

JOB_COLUMNS = (
    "seq, id, created_at, status, model, base_model, training_file, validation_file, suffix, "
    "seed, requested, hyperparameters, method, method_body, training_type, metadata, "
    "integrations, fault, model_name, fine_tuned_model, started_at, run_started_at, progress, "
    "duration, resume_at, finished_at, trained_tokens, error, result_file, api_style"
)

_VALIDATING_SECONDS = 30.0
_RUNNING_STATES = ("running", "pausing", "paused", "resuming")


@dataclass(frozen=True)
class JobRecord:
    """One fine-tuning job."""

    seq: int
    id: str
    created_at: float
    status: str
    model: str
    base_model: str
    training_file: str
    validation_file: str | None
    suffix: str | None
    seed: int
    requested: dict[str, Any]
    hyperparameters: dict[str, Any] | None
    method: str
    method_body: dict[str, Any] | None
    training_type: str | None
    metadata: dict[str, str] | None
    integrations: list[Any] | None
    fault: dict[str, Any] | None
    model_name: str | None
    fine_tuned_model: str | None
    started_at: float | None
    run_started_at: float | None
    progress: float
    duration: float | None
    resume_at: float | None
    finished_at: float | None
    trained_tokens: int | None
    error: dict[str, Any] | None
    result_file: str | None
    api_style: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> JobRecord:
        """Build from a ``jobs`` row selected with :data:`JOB_COLUMNS`."""
        values = {key: row[key] for key in row.keys()}  # noqa: SIM118 - sqlite3.Row
        for key in ("requested", "hyperparameters", "method_body", "metadata", "integrations"):
            values[key] = loads(values[key])
        values["fault"] = loads(values["fault"])
        values["error"] = loads(values["error"])
        return cls(**values)

    @property
    def active(self) -> bool:
        """Not yet in a terminal status."""
        return self.status in ("pending", *_RUNNING_STATES)

    def shown_hyperparameters(self) -> dict[str, Any]:
        """Resolved values once training started; before, ``-1`` for auto (``1`` for the LR)."""
        if self.hyperparameters is not None:
            return dict(self.hyperparameters)
        requested = self.requested
        return {
            "n_epochs": requested.get("n_epochs") or -1,
            "batch_size": requested.get("batch_size") or -1,
            "learning_rate_multiplier": requested.get("learning_rate_multiplier") or 1,
        }

    def shown_status(self, now: float, surface: Surface, behaviour: Behaviour) -> str:
        """The status as the surface shows it."""
        if (
            self.status == "pending"
            and surface is Surface.V1
            and behaviour.v1_job_statuses == "openai"
        ):
            return "validating_files" if now < self.created_at + _VALIDATING_SECONDS else "queued"
        return self.status

    def estimated_finish(self) -> int | None:
        """When a running job should succeed (simulated Unix seconds, rounded up)."""
        if self.status != "running" or self.run_started_at is None or self.duration is None:
            return None
        return math.ceil(self.run_started_at + (self.duration - self.progress))

    def to_api(self, now: float, surface: Surface, behaviour: Behaviour) -> dict[str, Any]:
        """The ``fine_tuning.job`` object."""
        hyperparameters = self.shown_hyperparameters()
        body: dict[str, Any] = {
            "object": "fine_tuning.job",
            "id": self.id,
            "created_at": int(self.created_at),
            "status": self.shown_status(now, surface, behaviour),
            "model": self.model,
            "fine_tuned_model": self.fine_tuned_model,
            "training_file": self.training_file,
            "validation_file": self.validation_file,
            "result_files": [self.result_file] if self.result_file else None,
            "finished_at": None if self.finished_at is None else int(self.finished_at),
            "trained_tokens": self.trained_tokens,
            "error": self.error,
            "estimated_finish": self.estimated_finish(),
            "hyperparameters": hyperparameters,
            "suffix": self.suffix,
            "seed": self.seed,
            "integrations": self.integrations,
            "organization_id": None,
        }
        if surface is Surface.V1 or self.api_style == "preview":
            extra = dict(self.method_body or {})
            extra.pop("type", None)
            given = extra.get(self.method)
            settings: dict[str, Any] = dict(given) if isinstance(given, dict) else {}
            body["method"] = {
                "type": self.method,
                self.method: {**settings, "hyperparameters": hyperparameters},
            }
        if surface is Surface.V1:
            body["metadata"] = self.metadata
            body["user_provided_suffix"] = self.suffix
        return body


@dataclass(frozen=True)
class EventRecord:
    """One job event."""

    seq: int
    id: str
    job_id: str
    created_at: float
    level: str
    type: str
    message: str
    data: Any

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> EventRecord:
        """Build from a ``job_events`` row."""
        values = {key: row[key] for key in row.keys()}  # noqa: SIM118 - sqlite3.Row
        values["data"] = loads(values["data"])
        return cls(**values)

    def to_api(self, behaviour: Behaviour) -> dict[str, Any]:
        """The ``fine_tuning.job.event`` object."""
        level = self.level
        if level == "warning":
            level = behaviour.event_warning_level
        return {
            "object": "fine_tuning.job.event",
            "id": self.id,
            "created_at": int(self.created_at),
            "level": level,
            "message": self.message,
            "type": self.type,
            "data": self.data,
        }


@dataclass(frozen=True)
class CheckpointRecord:
    """One kept checkpoint."""

    seq: int
    id: str
    job_id: str
    created_at: float
    step: int
    name: str
    metrics: dict[str, Any]

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> CheckpointRecord:
        """Build from a ``job_checkpoints`` row."""
        values = {key: row[key] for key in row.keys()}  # noqa: SIM118 - sqlite3.Row
        values["metrics"] = loads(values["metrics"])
        return cls(**values)

    def to_api(self) -> dict[str, Any]:
        """The ``fine_tuning.job.checkpoint`` object."""
        return {
            "object": "fine_tuning.job.checkpoint",
            "id": self.id,
            "created_at": int(self.created_at),
            "fine_tuned_model_checkpoint": self.name,
            "step_number": self.step,
            "fine_tuning_job_id": self.job_id,
            "metrics": self.metrics,
        }
