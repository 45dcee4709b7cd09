"""Fine-tuning jobs: created once per set of inputs, then followed to the end.

A job's identity is what it was made from: model, training and validation files, suffix,
method and seed. When the caller gives no seed, one is derived from those inputs and the
hyperparameters, so the same request always carries the same seed and a re-run finds the job
it already paid for. The create is sent once, without SDK retries; a lost response is
recovered by the lookup, never by a blind second create.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import openai
from openai.types.fine_tuning import FineTuningJob, FineTuningJobEvent

from ftflow.azure.errors import JobFailed, PollTimeout, from_openai
from ftflow.azure.waiting import Backoff

__all__ = [
    "ACTIVE_STATUSES",
    "TERMINAL_STATUSES",
    "EventCursor",
    "JobSpec",
    "files_in_use",
    "find_job",
    "submit_once",
    "wait_for_job",
]

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})
# A job in any of these states is the one to re-attach to; failed and cancelled jobs are
# not billed, so a new one may be created for the same inputs.
ACTIVE_STATUSES = frozenset(
    {"pending", "validating_files", "queued", "running", "pausing", "paused", "resuming"}
) | {"succeeded"}
_SEED_LIMIT = 2**31 - 1


@dataclass(frozen=True)
class JobSpec:
    """Everything a fine-tuning job is created from."""

    model: str
    training_file: str
    validation_file: str | None = None
    suffix: str | None = None
    seed: int | None = None
    method: Literal["supervised", "dpo"] = "supervised"
    hyperparameters: Mapping[str, int | float] = field(default_factory=dict)
    training_type: str | None = None

    def effective_seed(self) -> int:
        """The seed sent: the caller's, or one derived from every other input."""
        if self.seed is not None:
            return self.seed
        key = "|".join(
            [
                self.model,
                self.training_file,
                self.validation_file or "",
                self.suffix or "",
                self.method,
                *(f"{k}={v}" for k, v in sorted(self.hyperparameters.items())),
            ]
        )
        digest = hashlib.sha256(key.encode()).digest()
        return int.from_bytes(digest[:4], "big") % _SEED_LIMIT

    def request(self, api_version: str) -> dict[str, Any]:
        """Keyword arguments for ``client.fine_tuning.jobs.create``."""
        body: dict[str, Any] = {
            "model": self.model,
            "training_file": self.training_file,
            "seed": self.effective_seed(),
        }
        if self.validation_file:
            body["validation_file"] = self.validation_file
        if self.suffix:
            body["suffix"] = self.suffix
        params = dict(self.hyperparameters)
        if self.method == "dpo":
            body["method"] = {"type": "dpo", "dpo": {"hyperparameters": params}}
        else:
            if params:
                body["hyperparameters"] = params
            if api_version != "2024-10-21":
                body["method"] = {"type": "supervised"}
        if self.training_type:
            body["extra_body"] = {"trainingType": self.training_type}
        return body

    def matches(self, job: FineTuningJob) -> bool:
        """Whether ``job`` was created from exactly this spec."""
        method = getattr(job.method, "type", None) if job.method is not None else None
        suffix = getattr(job, "suffix", None)
        return (
            job.model == self.model
            and job.training_file == self.training_file
            and (job.validation_file or None) == (self.validation_file or None)
            and job.seed == self.effective_seed()
            and (suffix is None or suffix == self.suffix)
            and (method is None or method == self.method)
        )


def find_job(client: openai.OpenAI, spec: JobSpec) -> FineTuningJob | None:
    """The job already made from ``spec`` and not failed or cancelled, newest first."""
    try:
        for job in client.fine_tuning.jobs.list(limit=100):
            if job.status in ACTIVE_STATUSES and spec.matches(job):
                return job
    except openai.OpenAIError as error:
        raise from_openai(error, "listing fine-tuning jobs") from error
    return None


def files_in_use(client: openai.OpenAI) -> dict[str, str]:
    """File id → the id of a job that is not finished yet and reads it."""
    in_use: dict[str, str] = {}
    try:
        for job in client.fine_tuning.jobs.list(limit=100):
            if job.status not in TERMINAL_STATUSES:
                for file_id in (job.training_file, job.validation_file):
                    if file_id:
                        in_use.setdefault(file_id, job.id)
    except openai.OpenAIError as error:
        raise from_openai(error, "listing fine-tuning jobs") from error
    return in_use


def submit_once(
    client: openai.OpenAI, spec: JobSpec, api_version: str
) -> tuple[FineTuningJob, bool]:
    """The job for ``spec``: the existing one, or a new one. Also says whether it is new."""
    existing = find_job(client, spec)
    if existing is not None:
        return existing, False
    once = client.with_options(max_retries=0)
    try:
        job = once.fine_tuning.jobs.create(**spec.request(api_version))
    except openai.OpenAIError as error:
        raise from_openai(error, f"creating a fine-tuning job for {spec.model}") from error
    return job, True


@dataclass
class EventCursor:
    """Which job events were already seen, so each is reported exactly once."""

    job_id: str
    last_id: str | None = None

    def fresh(self, client: openai.OpenAI) -> list[FineTuningJobEvent]:
        """Events newer than the last seen, oldest first (the service lists newest first)."""
        new: list[FineTuningJobEvent] = []
        try:
            for event in client.fine_tuning.jobs.list_events(self.job_id, limit=100):
                if event.id == self.last_id:
                    break
                new.append(event)
        except openai.OpenAIError as error:
            raise from_openai(error, f"reading events of job {self.job_id}") from error
        if new:
            self.last_id = new[0].id
        new.reverse()
        return new


async def wait_for_job(
    client: openai.OpenAI,
    job_id: str,
    *,
    timeout_seconds: float,
    backoff: Backoff,
    on_event: Callable[[FineTuningJobEvent], object],
    on_status: Callable[[FineTuningJob], object],
    cursor: EventCursor | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> FineTuningJob:
    """Follow the job to a terminal status, streaming its events; :class:`JobFailed` if so.

    Waits on the event loop (cancellable); each request runs in a worker thread. The
    callbacks may be plain functions or coroutine functions.
    """
    cursor = cursor or EventCursor(job_id)
    for delay in backoff.delays(timeout_seconds, clock):
        job = await asyncio.to_thread(_retrieve, client, job_id)
        for event in await asyncio.to_thread(cursor.fresh, client):
            await _call(on_event, event)
        await _call(on_status, job)
        if job.status == "succeeded":
            return job
        if job.status in TERMINAL_STATUSES:
            reason = job.error.message if job.error and job.error.message else "no reason given"
            code = job.error.code if job.error else None
            raise JobFailed(f"fine-tuning job {job_id} {job.status}: {reason}", code=code)
        await sleep(delay)
    raise PollTimeout(f"job {job_id} did not finish within {timeout_seconds:.0f} s")


async def _call(callback: Callable[[Any], object], value: object) -> None:
    outcome = callback(value)
    if inspect.isawaitable(outcome):
        await outcome


def _retrieve(client: openai.OpenAI, job_id: str) -> FineTuningJob:
    try:
        return client.fine_tuning.jobs.retrieve(job_id)
    except openai.OpenAIError as error:
        raise from_openai(error, f"checking job {job_id}") from error
