"""Model deployments of the account (ARM ``Microsoft.CognitiveServices/accounts/deployments``)
and their long-running operations.

Lifecycle (declared below): ``Creating → Succeeded | Failed``; a Succeeded deployment whose model
changes goes back to ``Creating``. The outcome is fixed when the PUT arrives (a deployment fault
makes it ``Failed``) and shows once the clock passes ``ready_at``. A ``Failed`` deployment keeps
its name until deleted. Developer-tier deployments disappear 24 hours after creation.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from dataclasses import dataclass
from typing import Any

from emulator.core.ids import new_hex
from emulator.core.lifecycle import Lifecycle
from emulator.core.runtime import Runtime
from emulator.core.store import dumps, loads
from emulator.deployments.errors import (
    ArmBadRequest,
    DeploymentConflict,
    DeploymentModelNotSupported,
    DeploymentNotFound,
    InsufficientQuota,
)
from emulator.fine_tuning.models import base_model_by_deployment
from emulator.fine_tuning.state import JobsState

__all__ = ["DEPLOYMENT_LIFECYCLE", "SCHEMA", "DeploymentRecord", "DeploymentsState", "Operation"]

DEPLOYMENT_LIFECYCLE = Lifecycle.declare(
    "deployment",
    "Creating",
    {"Creating": ["Succeeded", "Failed"], "Succeeded": ["Creating"], "Failed": []},
)

SKUS = {
    "standard": "Standard",
    "globalstandard": "GlobalStandard",
    "developer": "Developer",
    "developertier": "DeveloperTier",
}
_DEVELOPER_LIFETIME = 24 * 3600.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS deployments (
    key TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    sku TEXT NOT NULL,
    model TEXT NOT NULL,
    properties TEXT NOT NULL,
    tags TEXT,
    fine_tuned INTEGER NOT NULL,
    base_model TEXT NOT NULL,
    job_id TEXT,
    created_at REAL NOT NULL,
    modified_at REAL NOT NULL,
    ready_at REAL NOT NULL,
    outcome TEXT NOT NULL,
    failure TEXT,
    operation_id TEXT NOT NULL,
    etag TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS operations (
    id TEXT PRIMARY KEY,
    deployment TEXT NOT NULL,
    started_at REAL NOT NULL,
    done_at REAL NOT NULL,
    outcome TEXT NOT NULL,
    failure TEXT
);
"""


def iso(at: float) -> str:
    """An ARM timestamp for simulated time ``at``."""
    micros = round((at - int(at)) * 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(at))) + f".{micros:06d}Z"


@dataclass(frozen=True)
class DeploymentRecord:
    """One deployment."""

    key: str
    seq: int
    name: str
    sku: dict[str, Any]
    model: dict[str, Any]
    properties: dict[str, Any]
    tags: dict[str, str] | None
    fine_tuned: bool
    base_model: str
    job_id: str | None
    created_at: float
    modified_at: float
    ready_at: float
    outcome: str
    failure: dict[str, Any] | None
    operation_id: str
    etag: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> DeploymentRecord:
        """Build from a ``deployments`` row."""
        values = {key: row[key] for key in row.keys()}  # noqa: SIM118 - sqlite3.Row
        for key in ("sku", "model", "properties", "tags", "failure"):
            values[key] = loads(values[key])
        values["fine_tuned"] = bool(values["fine_tuned"])
        return cls(**values)

    def state(self, now: float) -> str:
        """``provisioningState`` at ``now``."""
        return "Creating" if now < self.ready_at else self.outcome

    def to_arm(self, now: float, resource_id: str, client_id: str) -> dict[str, Any]:
        """The ARM ``Deployment`` resource."""
        capacity = int(self.sku.get("capacity") or 1)
        properties = {
            **self.properties,
            "model": self.model,
            "provisioningState": self.state(now),
            "capabilities": {"chatCompletion": "true", "maxContextToken": "128000"},
            "currentCapacity": capacity,
            "rateLimits": [
                {"key": "request", "renewalPeriod": 60, "count": capacity},
                {"key": "token", "renewalPeriod": 60, "count": capacity * 1000},
            ],
        }
        properties.setdefault("raiPolicyName", "Microsoft.DefaultV2")
        properties.setdefault("versionUpgradeOption", "NoAutoUpgrade")
        system = {
            "createdBy": client_id,
            "createdByType": "Application",
            "createdAt": iso(self.created_at),
            "lastModifiedBy": client_id,
            "lastModifiedByType": "Application",
            "lastModifiedAt": iso(self.modified_at),
        }
        body: dict[str, Any] = {
            "id": f"{resource_id}/deployments/{self.name}",
            "type": "Microsoft.CognitiveServices/accounts/deployments",
            "name": self.name,
            "sku": self.sku,
            "systemData": system,
            "etag": self.etag,
            "properties": properties,
        }
        if self.tags is not None:
            body["tags"] = self.tags
        return body


@dataclass(frozen=True)
class Operation:
    """A deployment's long-running operation, as ``Azure-AsyncOperation`` reports it."""

    id: str
    deployment: str
    started_at: float
    done_at: float
    outcome: str
    failure: dict[str, Any] | None

    def status(self, now: float) -> str:
        """``Creating`` until done, then ``Succeeded`` or ``Failed``."""
        return "Creating" if now < self.done_at else self.outcome

    def to_arm(self, now: float, operation_path: str) -> dict[str, Any]:
        """The operation status document."""
        status = self.status(now)
        body: dict[str, Any] = {
            "id": operation_path,
            "name": self.id,
            "status": status,
            "startTime": iso(self.started_at),
        }
        if status != "Creating":
            body["endTime"] = iso(self.done_at)
        if status == "Failed" and self.failure:
            body["error"] = self.failure
        return body


class DeploymentsState:
    """The account's deployments."""

    def __init__(self, runtime: Runtime, jobs: JobsState) -> None:
        self.rt = runtime
        self.jobs = jobs

    def _expire(self, conn: sqlite3.Connection, now: float) -> None:
        conn.execute(
            "DELETE FROM deployments WHERE json_extract(sku, '$.name') IN "
            "('Developer', 'DeveloperTier') AND created_at + ? <= ?",
            (_DEVELOPER_LIFETIME, now),
        )

    def find(self, name: str) -> DeploymentRecord | None:
        """The deployment ``name`` (case-insensitive) or None."""
        with self.rt.store.tx() as conn:
            self._expire(conn, self.rt.clock.now())
            row = conn.execute(
                "SELECT * FROM deployments WHERE key = ?", (name.lower(),)
            ).fetchone()
        return None if row is None else DeploymentRecord.from_row(row)

    def get(self, name: str) -> DeploymentRecord:
        """The deployment ``name``; :class:`DeploymentNotFound` if absent."""
        record = self.find(name)
        if record is None:
            raise DeploymentNotFound(name)
        return record

    def list_all(self) -> list[DeploymentRecord]:
        """Every deployment, oldest first."""
        with self.rt.store.tx() as conn:
            self._expire(conn, self.rt.clock.now())
            rows = conn.execute("SELECT * FROM deployments ORDER BY seq").fetchall()
        return [DeploymentRecord.from_row(row) for row in rows]

    def deployed_model_names(self) -> set[str]:
        """Names of the models that currently have a deployment."""
        return {str(d.model.get("name")) for d in self.list_all()}

    def operation(self, operation_id: str) -> Operation | None:
        """The operation ``operation_id`` or None."""
        with self.rt.store.tx() as conn:
            row = conn.execute("SELECT * FROM operations WHERE id = ?", (operation_id,)).fetchone()
        if row is None:
            return None
        values = {key: row[key] for key in row.keys()}  # noqa: SIM118 - sqlite3.Row
        values["failure"] = loads(values["failure"])
        return Operation(**values)

    def _model(self, model: object) -> tuple[dict[str, Any], bool, str, str | None]:
        if not isinstance(model, dict) or not isinstance(model.get("name"), str):
            raise ArmBadRequest("properties.model with a format and name is required.")
        fmt, name, version = model.get("format"), model["name"], model.get("version")
        if not isinstance(fmt, str) or fmt.lower() != "openai":
            raise DeploymentModelNotSupported(
                f"The model format '{fmt}' is not supported; use 'OpenAI'."
            )
        described = (
            f"The model 'Publisher: , Format: {fmt}, Name: {name}, Version: {version or ''}, "
            "Source: , SourceAccount: ' of account deployment is not supported."
        )
        base = base_model_by_deployment(name, version if isinstance(version, str) else None)
        if base is not None:
            shown = {"format": "OpenAI", "name": name, "version": version or base.deploy_version}
            return shown, False, base.id, None
        trained = self.jobs.find_model(name)
        if trained is None or str(version or "1") != "1":
            raise DeploymentModelNotSupported(described)
        if not trained.ready:
            raise DeploymentModelNotSupported(
                f"The fine-tuned model '{name}' is not ready: its job {trained.job_id} has not "
                "succeeded."
            )
        return (
            {"format": "OpenAI", "name": name, "version": "1"},
            True,
            trained.base_model,
            trained.job_id,
        )

    def _sku(self, sku: object) -> dict[str, Any]:
        if not isinstance(sku, dict) or not isinstance(sku.get("name"), str):
            raise ArmBadRequest("sku with a name is required.")
        name = SKUS.get(sku["name"].lower())
        if name is None:
            raise ArmBadRequest(
                f"The specified SKU '{sku['name']}' is not supported; use Standard, "
                "GlobalStandard or Developer."
            )
        capacity = sku.get("capacity", 1)
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ArmBadRequest("sku.capacity must be a positive integer.")
        limit = self.rt.settings.limits.max_deployment_capacity
        if capacity > limit:
            raise InsufficientQuota(
                f"This operation require {capacity} new capacity in quota Tokens Per Minute "
                f"(thousands), which is bigger than the current available capacity {limit}. "
                f"The current quota usage is 0 and the quota limit is {limit}."
            )
        return {**sku, "name": name, "capacity": capacity}

    def put(self, name: str, body: dict[str, Any]) -> tuple[DeploymentRecord, bool]:
        """Create or update ``name``; returns the record and whether it was created."""
        properties = body.get("properties")
        if not isinstance(properties, dict):
            raise ArmBadRequest("properties are required.")
        sku = self._sku(body.get("sku"))
        model, fine_tuned, base_id, job_id = self._model(properties.get("model"))
        tags = body.get("tags")
        extra = {k: v for k, v in properties.items() if k not in ("model", "provisioningState")}
        with self.rt.store.tx() as conn:
            now = self.rt.clock.now()
            existing = self.find(name)
            if existing is not None:
                state = existing.state(now)
                if state == "Failed":
                    raise DeploymentConflict(
                        f"Deployment '{existing.name}' is in state Failed. Delete it before "
                        "creating a deployment with this name."
                    )
                if state == "Creating":
                    raise DeploymentConflict(
                        f"Another operation is in progress on deployment '{existing.name}'. "
                        "Wait for it to finish and try again."
                    )
            if fine_tuned:
                others = conn.execute(
                    "SELECT COUNT(*) AS n FROM deployments WHERE fine_tuned = 1 AND key != ?",
                    (name.lower(),),
                ).fetchone()["n"]
                limit = self.rt.settings.limits.max_fine_tuned_deployments
                if others >= limit:
                    raise InsufficientQuota(
                        f"The resource already has {others} fine-tuned model deployments, the "
                        f"maximum allowed is {limit}. Delete a fine-tuned deployment and try "
                        "again.",
                        code="QuotaExceeded",
                    )
            same_model = existing is not None and existing.model.get("name") == model["name"]
            fault = None if same_model else self.rt.faults.take_deployment(name)
            outcome = "Failed" if fault else "Succeeded"
            failure = {"code": "DeploymentFailed", "message": fault.message} if fault else None
            ready_at = now if same_model else now + self.rt.settings.timings.deployment_seconds
            DEPLOYMENT_LIFECYCLE.check(
                DEPLOYMENT_LIFECYCLE.check("Succeeded", "Creating") if existing else "Creating",
                outcome,
            )
            operation_id = str(uuid.uuid4())
            conn.execute(
                "INSERT INTO operations(id, deployment, started_at, done_at, outcome, failure) "
                "VALUES(?,?,?,?,?,?)",
                (operation_id, name, now, ready_at, outcome, dumps(failure) if failure else None),
            )
            seq = (
                existing.seq
                if existing
                else conn.execute(
                    "SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM deployments"
                ).fetchone()["n"]
            )
            conn.execute("DELETE FROM deployments WHERE key = ?", (name.lower(),))
            conn.execute(
                "INSERT INTO deployments(key, seq, name, sku, model, properties, tags, fine_tuned, "
                "base_model, job_id, created_at, modified_at, ready_at, outcome, failure, "
                "operation_id, etag) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    name.lower(),
                    seq,
                    existing.name if existing else name,
                    dumps(sku),
                    dumps(model),
                    dumps(extra),
                    dumps(tags) if tags is not None else None,
                    int(fine_tuned),
                    base_id,
                    job_id,
                    existing.created_at if existing else now,
                    now,
                    ready_at,
                    outcome,
                    dumps(failure) if failure else None,
                    operation_id,
                    f'"{new_hex()}"',
                ),
            )
        return self.get(name), existing is None

    def delete(self, name: str) -> bool:
        """Delete ``name``; False if there was none."""
        with self.rt.store.tx() as conn:
            cursor = conn.execute("DELETE FROM deployments WHERE key = ?", (name.lower(),))
        return cursor.rowcount > 0
