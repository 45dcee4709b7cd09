"""Deciding what a cleanup deletes: every deployment and file, with the reason it goes or stays.

A pure function of what the resource holds (`Inventory`), what must never go (`Protection`)
and an age; nothing here talks to a service. The rules, first match wins:

Deployments
    * a base model's deployment stays (cleanup only removes fine-tuned ones);
    * a protected name stays (asked for, or the stable deployment of a continuous pipeline);
    * a deployment serving a protected model stays (promoted, or the rollback target);
    * one being created, updated or deleted stays (its state says what will become of it);
    * one whose age is unknown stays: Resource Manager gave no ``systemData``;
    * one changed more recently than the age stays; the rest are deleted.
Files
    * a file a queued or running job reads stays;
    * one uploaded more recently than the age stays; the rest are deleted.

Ages are measured against the service's clock, and a deployment's age counts from its last
change (pointing a deployment at a new model makes it new again).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from ftflow.azure.deployments import BUSY_STATES, DeploymentState
from ftflow.azure.files import RemoteFile
from ftflow.azure.limits import FILES_PER_RESOURCE, FINE_TUNED_DEPLOYMENTS_PER_RESOURCE
from ftflow.catalog import is_fine_tuned
from ftflow.continuous.state import ContinuousState

__all__ = [
    "CleanupPlan",
    "Decision",
    "Inventory",
    "Protection",
    "plan_cleanup",
    "protection_from",
]

Kind = Literal["deployment", "file"]


@dataclass(frozen=True, slots=True)
class Inventory:
    """What the resource holds, read at ``now`` (the service's clock)."""

    now: datetime
    deployments: Sequence[DeploymentState]
    files: Sequence[RemoteFile]
    files_in_use: Mapping[str, str] = field(default_factory=dict)
    """File id → the unfinished job reading it."""


@dataclass(frozen=True, slots=True)
class Protection:
    """What must stay, each with why: deployment names, and models (wherever served)."""

    deployments: Mapping[str, str] = field(default_factory=dict)
    models: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    """One deployment or file, and what cleanup does with it."""

    kind: Kind
    name: str
    """The deployment's name, or the file's id."""
    detail: str
    """The model it serves, or the file's name."""
    age_days: float | None
    delete: bool
    reason: str
    fine_tuned: bool = True
    """A deployment of a fine-tuned model, or any file (both count against Azure's limits)."""


@dataclass(frozen=True, slots=True)
class CleanupPlan:
    """Every decision, deployments first, oldest first within each kind."""

    now: datetime
    older_than_days: float
    decisions: tuple[Decision, ...]

    def deletions(self, kind: Kind) -> list[Decision]:
        """What goes, of ``kind``."""
        return [d for d in self.decisions if d.kind == kind and d.delete]

    def remaining(self, kind: Kind) -> int:
        """How many of ``kind`` that count against Azure's limit stay after the cleanup."""
        return sum(1 for d in self.decisions if d.kind == kind and d.fine_tuned and not d.delete)

    def warnings(self) -> list[str]:
        """Limits still reached once the cleanup is done, and what to do about them."""
        found = []
        deployments = self.remaining("deployment")
        if deployments >= FINE_TUNED_DEPLOYMENTS_PER_RESOURCE:
            found.append(
                f"{deployments} fine-tuned deployments stay, Azure's limit is "
                f"{FINE_TUNED_DEPLOYMENTS_PER_RESOURCE}: the next fine-tuned deployment will "
                "be refused; delete one that is kept (see the reasons), or lower "
                "older_than_days"
            )
        files = self.remaining("file")
        if files >= FILES_PER_RESOURCE:
            found.append(
                f"{files} fine-tuning files stay, Azure's limit is {FILES_PER_RESOURCE}: the "
                "next upload will be refused; lower older_than_days"
            )
        return found


def protection_from(
    states: Mapping[str, ContinuousState], keep_deployments: Sequence[str] = ()
) -> Protection:
    """What the continuous pipelines' states (by Variable name) and the request protect."""
    deployments = dict.fromkeys(keep_deployments, "kept on request (keep_deployments)")
    models: dict[str, str] = {}
    for variable, state in states.items():
        if state.deployment:
            deployments.setdefault(state.deployment, f"stable deployment of {variable}")
        if state.promoted:
            models.setdefault(state.promoted, f"promoted model of {variable}")
        if state.previous:
            models.setdefault(state.previous, f"rollback target of {variable}")
    return Protection(deployments=deployments, models=models)


def _days(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else (now - then) / timedelta(days=1)


def _deployment(
    deployment: DeploymentState, now: datetime, older_than_days: float, protection: Protection
) -> Decision:
    model = deployment.model or ""
    age = _days(now, deployment.modified_at or deployment.created_at)
    fine_tuned = is_fine_tuned(model)
    state = deployment.provisioning_state

    def decide(delete: bool, reason: str) -> Decision:
        return Decision("deployment", deployment.name, model, age, delete, reason, fine_tuned)

    if not fine_tuned:
        return decide(False, "serves a base model; cleanup removes only fine-tuned deployments")
    if deployment.name in protection.deployments:
        return decide(False, protection.deployments[deployment.name])
    if model in protection.models:
        return decide(False, protection.models[model])
    if state.lower() in BUSY_STATES:
        return decide(False, f"busy ({state}); judged again by the next cleanup")
    if age is None:
        return decide(False, "age unknown: Resource Manager reported no creation time")
    if age < older_than_days:
        return decide(False, f"changed {age:.1f} days ago, within {older_than_days:g} days")
    return decide(
        True, f"neither promoted nor a rollback target, unchanged for {age:.1f} days ({state})"
    )


def _file(
    file: RemoteFile, now: datetime, older_than_days: float, in_use: Mapping[str, str]
) -> Decision:
    age = (now - file.created_at) / timedelta(days=1)
    if file.id in in_use:
        return Decision("file", file.id, file.filename, age, False, f"read by {in_use[file.id]}")
    if age < older_than_days:
        reason = f"uploaded {age:.1f} days ago, within {older_than_days:g} days"
        return Decision("file", file.id, file.filename, age, False, reason)
    reason = f"uploaded {age:.1f} days ago, no unfinished job reads it ({file.status})"
    return Decision("file", file.id, file.filename, age, True, reason)


def plan_cleanup(
    inventory: Inventory,
    protection: Protection,
    older_than_days: float,
    *,
    deployments: bool = True,
    files: bool = True,
) -> CleanupPlan:
    """What to delete from ``inventory``; a kind not asked for is listed but kept."""
    decisions: list[Decision] = []
    for deployment in inventory.deployments:
        decision = _deployment(deployment, inventory.now, older_than_days, protection)
        if decision.delete and not deployments:
            decision = _skipped(decision, "deployments")
        decisions.append(decision)
    for remote in inventory.files:
        decision = _file(remote, inventory.now, older_than_days, inventory.files_in_use)
        if decision.delete and not files:
            decision = _skipped(decision, "files")
        decisions.append(decision)
    decisions.sort(key=lambda d: (d.kind != "deployment", -(d.age_days or 0.0), d.name))
    return CleanupPlan(inventory.now, older_than_days, tuple(decisions))


def _skipped(decision: Decision, what: str) -> Decision:
    return Decision(
        decision.kind,
        decision.name,
        decision.detail,
        decision.age_days,
        False,
        f"{decision.reason}; kept: this cleanup leaves {what} alone",
        decision.fine_tuned,
    )
