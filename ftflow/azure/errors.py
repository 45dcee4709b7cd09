"""What can go wrong talking to Azure, as one tree the pipeline can act on.

::

    FineTuneError                 root: every error raised by ftflow.azure
    ├── TransientError            429, 5xx, timeouts, dropped connections: safe to retry
    └── PermanentError            retrying cannot help; a person must act
        ├── AuthenticationFailed  401/403: wrong key, token or role
        ├── NotFound              404: the file, job, model or deployment is not there
        ├── QuotaExceeded         the resource's job, file or deployment quota is used up
        ├── InvalidRequest        400/409/422: the service refused the request as made
        ├── FileRejected          the service processed an upload and rejected its content
        ├── JobFailed             the fine-tuning job ended failed or cancelled
        ├── DeploymentFailed      the deployment ended Failed, or a Failed one blocks the name
        └── PollTimeout           the deadline passed while waiting

Every error carries the HTTP status, the service's error code and the request id when there
is one. Messages quote the service and never contain credentials.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import openai
from azure.core import exceptions as azure_errors

__all__ = [
    "AuthenticationFailed",
    "DeploymentFailed",
    "FileRejected",
    "FineTuneError",
    "InvalidRequest",
    "JobFailed",
    "NotFound",
    "PermanentError",
    "PollTimeout",
    "QuotaExceeded",
    "TransientError",
    "from_management",
    "from_openai",
]


class FineTuneError(Exception):
    """Root of the errors raised while talking to Azure."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id

    def __str__(self) -> str:
        details = [f"HTTP {self.status}" if self.status else "", self.code or ""]
        if self.request_id:
            details.append(f"request id {self.request_id}")
        context = ", ".join(d for d in details if d)
        return f"{self.message} ({context})" if context else self.message


class TransientError(FineTuneError):
    """The service is busy or unreachable; the same request may succeed later."""


class PermanentError(FineTuneError):
    """Retrying the same request cannot succeed."""


class AuthenticationFailed(PermanentError):
    """The credentials were refused (401) or lack a role (403)."""


class NotFound(PermanentError):
    """The named file, job, model or deployment does not exist."""


class QuotaExceeded(PermanentError):
    """A per-resource quota (jobs, files, deployments, capacity) is used up."""


class InvalidRequest(PermanentError):
    """The service refused the request as made."""


class FileRejected(PermanentError):
    """An uploaded file was processed and rejected; the message says where and why."""


class JobFailed(PermanentError):
    """The fine-tuning job ended ``failed`` or ``cancelled``."""


class DeploymentFailed(PermanentError):
    """The deployment ended Failed, or a Failed deployment blocks its name."""


class PollTimeout(PermanentError):
    """The deadline passed before the awaited state was reached."""


_QUOTA_CODES = frozenset({"quotaexceeded", "insufficientquota", "quotaexceededforresource"})


def _service_error(body: object) -> tuple[str | None, str | None]:
    """The (code, message) of an Azure error body, either envelope."""
    if isinstance(body, dict):
        inner: Any = body.get("error", body)
        if isinstance(inner, dict):
            code, message = inner.get("code"), inner.get("message")
            return (str(code) if code else None, str(message) if message else None)
    return None, None


_DATA_PLANE_ADVICE = {
    401: "the credentials were refused: check AZURE_OPENAI_API_KEY (or, when no key is set, "
    "the Entra ID identity DefaultAzureCredential finds)",
    403: "the identity lacks a role: it needs Cognitive Services OpenAI Contributor on the "
    "Azure OpenAI resource",
}


def _unreachable(error: openai.APIConnectionError, action: str) -> TransientError:
    """Where the data plane could not be reached, and the network's own reason."""
    url = urlsplit(str(error.request.url))
    reason = str(error.__cause__ or "") or error.message
    return TransientError(
        f"{action}: could not reach {url.scheme}://{url.netloc}: {reason}; check "
        "AZURE_OPENAI_ENDPOINT, and that this machine can reach it and trusts its certificate"
    )


def from_openai(error: openai.OpenAIError, action: str) -> FineTuneError:
    """Translate an ``openai`` exception raised while doing ``action`` on the data plane."""
    if isinstance(error, openai.APIConnectionError):
        return _unreachable(error, action)
    if not isinstance(error, openai.APIStatusError):
        return PermanentError(f"{action}: {error}")
    code, text = _service_error(error.body)
    message = f"{action}: {text or error.message}"
    status = error.status_code
    fields: dict[str, Any] = {"status": status, "code": code, "request_id": error.request_id}
    if code is not None and code.lower() in _QUOTA_CODES:
        return QuotaExceeded(message, **fields)
    if status in (401, 403):
        return AuthenticationFailed(f"{message}; {_DATA_PLANE_ADVICE[status]}", **fields)
    if status == 404:
        return NotFound(message, **fields)
    if status == 429 or status >= 500:
        return TransientError(message, **fields)
    return InvalidRequest(message, **fields)


def from_management(error: azure_errors.AzureError, action: str) -> FineTuneError:
    """Translate an ``azure-core`` exception raised while doing ``action`` on ARM."""
    if isinstance(error, azure_errors.ClientAuthenticationError):
        return AuthenticationFailed(f"{action}: {error.message}", status=error.status_code)
    if isinstance(error, azure_errors.IncompleteReadError):
        # The response broke off mid-body: the request may well have been applied. Retrying
        # is safe because every write is preceded by a read of what is there.
        return TransientError(
            f"{action}: the connection broke while Resource Manager answered (the request "
            f"may have been applied): {error.message}"
        )
    if isinstance(error, azure_errors.HttpResponseError):
        status = error.status_code
        code = error.error.code if error.error is not None else None
        text = error.error.message if error.error is not None else error.message
        message = f"{action}: {text}"
        request_id = None
        if error.response is not None:
            headers: Any = getattr(error.response, "headers", {})
            request_id = headers.get("x-ms-request-id")
        fields: dict[str, Any] = {"status": status, "code": code, "request_id": request_id}
        if code is not None and code.lower() in _QUOTA_CODES:
            return QuotaExceeded(message, **fields)
        if status in (401, 403):
            return AuthenticationFailed(message, **fields)
        if status == 404:
            return NotFound(message, **fields)
        if status is not None and (status == 429 or status >= 500):
            return TransientError(message, **fields)
        return InvalidRequest(message, **fields)
    if isinstance(error, azure_errors.ServiceRequestError | azure_errors.ServiceResponseError):
        return TransientError(f"{action}: could not reach Resource Manager: {error.message}")
    return PermanentError(f"{action}: {error.message}")
