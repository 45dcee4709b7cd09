"""The emulator's settings: what is fixed at start (:class:`EmulatorConfig`) and what tests may
change while it runs (:class:`Tunables`: limits, simulated durations and behaviour switches).

Every field has a default and says what it is for. Durations are *simulated* seconds: the clock
(:mod:`emulator.core.clock`) turns them into wall time through ``speed``, or a test advances it.
Where Azure's behaviour is uncertain (see the README), the documented behaviour is the default and
the alternative is a switch in :class:`Behaviour`.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "Behaviour",
    "ClockMode",
    "EmulatorConfig",
    "Limits",
    "Timings",
    "Tunables",
    "TunablesHolder",
]

ClockMode = Literal["scaled", "manual"]

GA_VERSION = "2024-10-21"
PREVIEW_VERSION = "2025-04-01-preview"


@dataclass(frozen=True)
class Limits:
    """Azure's quotas and size limits (quotas-limits doc), smaller in tests to reach them fast."""

    max_file_bytes: int = 512 * 1024 * 1024
    """Largest upload through the Files API (413 above it)."""
    max_files: int = 50
    """Fine-tuning files (purpose fine-tune) per resource."""
    max_files_total_bytes: int = 1024 * 1024 * 1024
    """Total size of fine-tuning files per resource."""
    min_examples: int = 10
    """Fewest examples a training file must hold."""
    max_running_jobs: int = 1
    """Jobs training at the same time per resource."""
    max_queued_jobs: int = 20
    """Jobs waiting (pending) per resource; one more is a quota error."""
    max_fine_tuned_deployments: int = 5
    """Deployments of fine-tuned models per resource."""
    max_deployment_capacity: int = 1000
    """Capacity units one deployment may request (InsufficientQuota above)."""


@dataclass(frozen=True)
class Timings:
    """Simulated durations, in seconds of emulator time."""

    file_pending_seconds: float = 2.0
    """From upload to processing start."""
    file_processing_seconds: float = 8.0
    """Processing time of a small file."""
    file_processing_seconds_per_mb: float = 4.0
    """Extra processing time per MB."""
    job_queue_seconds: float = 90.0
    """From job creation until it may start (the queue wait)."""
    job_preprocessing_seconds: float = 240.0
    """From job start to the first training step (file checks, safety checks)."""
    training_seconds_per_1k_tokens: float = 6.0
    """Training time per thousand trained tokens (tokens × epochs)."""
    min_training_seconds: float = 120.0
    """Shortest training phase."""
    job_postprocessing_seconds: float = 180.0
    """From the last step to success (model evaluation, results file)."""
    resume_seconds: float = 30.0
    """From resume to running again."""
    deployment_seconds: float = 300.0
    """From deployment PUT until provisioningState Succeeded."""
    lro_retry_after_ms: int = 1000
    """Poll interval the ARM long-running operation responses ask for, in wall milliseconds."""
    rate_limit_retry_after_ms: int = 1000
    """Retry-After of injected 429 and 503 responses, in wall milliseconds (kept at most 120 s)."""


@dataclass(frozen=True)
class Behaviour:
    """Switches for behaviour where Azure is uncertain; defaults follow the documentation."""

    v1_job_statuses: Literal["azure", "openai"] = "azure"
    """v1 job statuses: Azure's ``pending`` or OpenAI's ``validating_files``/``queued``."""
    require_training_type: bool = False
    """Reject job creation without ``trainingType`` (a field report says Azure requires it)."""
    suffix_in_model_name: bool = False
    """Append ``-<suffix>`` to fine-tuned model names (documented: ``<base>.ft-<hex>`` only)."""
    events_order: Literal["newest_first", "oldest_first"] = "newest_first"
    """Order of job events (the tutorial shows newest first, a spec example oldest first)."""
    event_warning_level: Literal["warning", "warn"] = "warning"
    """Spelling of the warning event level (spec ``warning``, v1/SDK ``warn``)."""
    require_bom: bool = False
    """Reject training files without a UTF-8 byte-order mark (the docs ask for one)."""


@dataclass(frozen=True)
class Tunables:
    """Everything a running emulator may change through ``PATCH /_emulator/settings``."""

    limits: Limits = field(default_factory=Limits)
    timings: Timings = field(default_factory=Timings)
    behaviour: Behaviour = field(default_factory=Behaviour)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The settings as ``{"limits": {...}, "timings": {...}, "behaviour": {...}}``."""
        return {
            "limits": dataclasses.asdict(self.limits),
            "timings": dataclasses.asdict(self.timings),
            "behaviour": dataclasses.asdict(self.behaviour),
        }

    def updated(self, changes: Mapping[str, Any]) -> Tunables:
        """A copy with ``changes`` (same shape as :meth:`to_dict`, any subset) applied.

        Raises :class:`ValueError` naming an unknown group or field, or a value of the wrong type.
        """
        groups: dict[str, Any] = {
            "limits": self.limits,
            "timings": self.timings,
            "behaviour": self.behaviour,
        }
        for group, values in changes.items():
            if group not in groups:
                raise ValueError(f"unknown settings group {group!r}; known: {', '.join(groups)}")
            if not isinstance(values, Mapping):
                raise ValueError(f"settings group {group!r} must be an object")
            current = groups[group]
            known = {f.name: f for f in dataclasses.fields(current)}
            for name, value in values.items():
                if name not in known:
                    raise ValueError(f"unknown setting {group}.{name}")
                _check_type(f"{group}.{name}", getattr(current, name), value)
            groups[group] = dataclasses.replace(current, **dict(values))
        return Tunables(**groups)


def _check_type(name: str, current: object, value: object) -> None:
    if isinstance(current, bool):
        ok = isinstance(value, bool)
    elif isinstance(current, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(current, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, type(current))
    if not ok:
        raise ValueError(f"setting {name} must be a {type(current).__name__}, got {value!r}")


class TunablesHolder:
    """The current :class:`Tunables`, swapped atomically; :meth:`reset` restores the start."""

    def __init__(self, initial: Tunables) -> None:
        self._initial = initial
        self._current = initial
        self._lock = threading.Lock()

    @property
    def current(self) -> Tunables:
        """The settings in force."""
        return self._current

    def update(self, changes: Mapping[str, Any]) -> Tunables:
        """Apply ``changes`` (see :meth:`Tunables.updated`) and return the new settings."""
        with self._lock:
            self._current = self._current.updated(changes)
            return self._current

    def reset(self) -> None:
        """Back to the settings the emulator started with."""
        with self._lock:
            self._current = self._initial


@dataclass(frozen=True)
class EmulatorConfig:
    """How one emulator instance is set up; fixed for its lifetime."""

    data_dir: Path = field(default_factory=lambda: Path(".emulator"))
    """SQLite database, uploaded file contents, TLS material and generated secrets live here."""
    host: str = "127.0.0.1"
    """Address to bind; anything but loopback needs ``allow_remote``."""
    port: int = 8443
    """Port to bind; 0 picks a free one."""
    allow_remote: bool = False
    """Permit binding a non-loopback address."""
    speed: float = 600.0
    """Simulated seconds per wall second in the ``scaled`` clock mode."""
    clock: ClockMode = "scaled"
    """``scaled``: time runs at ``speed``; ``manual``: time moves only when advanced."""
    api_key: str | None = None
    """Data plane key; None means a random key generated once and kept in the data dir."""
    subscription_id: str = "00000000-0000-4000-8000-00000000a001"
    resource_group: str = "ftflow-emulator"
    account_name: str = "ftflow-emulator"
    location: str = "swedencentral"
    tenant_id: str = "00000000-0000-4000-8000-00000000e001"
    client_id: str = "00000000-0000-4000-8000-00000000c001"
    client_secret: str | None = None
    """Entra client secret; None means generated once and kept in the data dir."""
    faults: tuple[str, ...] = ()
    """Fault rules to install at start, in the ``--fault`` syntax (see emulator.control.faults)."""
    fault_seed: int = 0
    """Seed of the random draws that decide which requests a partial fault hits."""
    tunables: Tunables = field(default_factory=Tunables)
    """Initial limits, timings and behaviour switches."""
