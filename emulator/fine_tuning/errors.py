"""Errors of the fine-tuning jobs API."""

from __future__ import annotations

from emulator.core.errors import EmulatorError

__all__ = ["InvalidJobRequest", "JobNotFound", "JobQuotaExceeded", "JobStateConflict"]


class JobNotFound(EmulatorError):
    """No job with this id."""

    status_code = 404
    code = "notFound"

    def __init__(self, job_id: str) -> None:
        super().__init__(f"The specified fine-tuning job '{job_id}' could not be found.")


class InvalidJobRequest(EmulatorError):
    """A job request Azure rejects: unknown model or file, bad hyperparameters, suffix ..."""

    status_code = 400
    code = "invalidPayload"


class JobQuotaExceeded(EmulatorError):
    """Too many jobs waiting in the resource's queue."""

    status_code = 429
    code = "quotaExceeded"


class JobStateConflict(EmulatorError):
    """The operation does not apply to the job's current status (cancel a finished job ...)."""

    status_code = 400
    code = "unexpectedEntityState"
