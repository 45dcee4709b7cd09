"""What a finished run tells people: the outcome, its message, and no secrets.

Pure core code: the flow raises `StageFailed` when a stage fails, the Prefect side turns the
final state into a `RunOutcome`, `compose` writes the `Message`, and `redact` removes secrets
before anything leaves the process. Nothing here imports Prefect.

Redaction has two layers:

* explicit secrets (``redact(text, secrets)``): every value given, however it appears;
* patterns: bearer and basic credentials, ``api-key: …``/``api_key=…``, connection-string
  keys (``AccountKey=…``, ``SharedAccessKey=…``, ``Password=…``), URL query values of
  ``sig``/``key``/``token``/``code``/``api-key``, and passwords in URLs (``//user:pw@``).

`known_secrets` collects the values this process holds: ``AZURE_OPENAI_API_KEY``,
``AZURE_CLIENT_SECRET`` and every ``SecretStr`` in `ftflow.settings`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings

from ftflow import settings

__all__ = [
    "SECRET_ENV_VARS",
    "Message",
    "RunOutcome",
    "Stage",
    "StageFailed",
    "compose",
    "known_secrets",
    "redact",
]

Stage = Literal["validate", "upload", "submit", "wait", "retrieve", "deploy", "smoke_test"]

SECRET_ENV_VARS = ("AZURE_OPENAI_API_KEY", "AZURE_CLIENT_SECRET")
"""Environment variables whose values are secrets wherever they appear."""

_MASK = "***"
_MIN_SECRET = 4
_SUBJECT_ERROR_CHARS = 120
_BODY_ERROR_CHARS = 2000

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer <token> / Basic <base64>
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9\-._~+/]+=*"), r"\1\2" + _MASK),
    # api-key: x, "api_key": "x", x-api-key=x, Ocp-Apim-Subscription-Key: x
    (
        re.compile(
            r"(?i)\b((?:x-)?api[-_]?key|ocp-apim-subscription-key|client[-_]?secret"
            r"|access[-_]?token|password)"
            r"([\"']?\s*[:=]\s*[\"']?)(?!\*\*\*)[^\s\"',;&]+"
        ),
        r"\1\2" + _MASK,
    ),
    # Connection strings: AccountKey=…; SharedAccessKey=…; SharedAccessSignature=…; Pwd=…
    (
        re.compile(r"(?i)\b(AccountKey|SharedAccessKey|SharedAccessSignature|Pwd)=[^;\s\"']+"),
        r"\1=" + _MASK,
    ),
    # URL query values: ?sig=…&key=…&token=…&code=…
    (
        re.compile(
            r"(?i)([?&](?:sig|signature|key|token|code|api[-_]?key|access_token|secret)=)"
            r"[^&#\s\"']+"
        ),
        r"\1" + _MASK,
    ),
    # Passwords in URLs: scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/:@]+:)[^\s/@]+@"), r"\1" + _MASK + "@"),
)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret (at least 4 characters) and each credential pattern masked."""
    values = sorted(
        {secret for secret in secrets if secret and len(secret) >= _MIN_SECRET},
        key=len,
        reverse=True,
    )
    for value in values:
        text = text.replace(value, _MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def known_secrets() -> list[str]:
    """The secret values this process holds: the secret env vars and settings' ``SecretStr``s.

    Read when called, never at import. Settings that fail validation are skipped: a broken
    setting is reported by whoever uses it, not by the notifier.
    """
    found = [os.environ.get(name, "") for name in SECRET_ENV_VARS]
    for name in settings.__all__:
        cls = getattr(settings, name)
        if not (isinstance(cls, type) and issubclass(cls, BaseSettings)):
            continue
        try:
            instance = cls()
        except (ValidationError, ValueError, OSError):
            continue
        found.extend(_secret_values(instance))
    return [value for value in found if value]


def _secret_values(model: BaseSettings) -> list[str]:
    values: list[str] = []
    for name in type(model).model_fields:
        value: Any = getattr(model, name)
        if isinstance(value, SecretStr):
            values.append(value.get_secret_value())
    return values


class StageFailed(Exception):
    """Raised by the flow when a stage fails: which stage, the cause's message, what is known.

    ``progress`` holds what the run had learnt before the failure (``job_id``, ``model``,
    ``deployment``, ``training_file_id``…). The message and progress are redacted on the way
    in (`known_secrets` and the credential patterns), so the exception is safe to log.
    """

    def __init__(self, stage: str, message: str, progress: Mapping[str, str] | None = None) -> None:
        secrets = known_secrets()
        self.stage: str = stage
        self.message: str = redact(message, secrets)
        self.progress: dict[str, str] = {
            key: redact(str(value), secrets) for key, value in (progress or {}).items()
        }
        super().__init__(f"{stage} failed: {self.message}")

    def __reduce__(self) -> tuple[type[StageFailed], tuple[str, str, dict[str, str]]]:
        # Prefect persists a failed run's exception; rebuild it from its own fields.
        return (type(self), (self.stage, self.message, self.progress))

    def __repr__(self) -> str:
        return f"StageFailed(stage={self.stage!r}, message={self.message!r})"


@dataclass(frozen=True)
class RunOutcome:
    """How one flow run ended, and what it produced or had produced so far."""

    flow_name: str
    run_name: str
    state: str
    run_url: str | None = None
    job_id: str | None = None
    model: str | None = None
    deployment: str | None = None
    failed_stage: str | None = None
    error: str | None = None
    smoke_verdict: str | None = None


@dataclass(frozen=True)
class Message:
    """A notification: one subject line and a markdown-ish body."""

    subject: str
    body: str


_CANCELLED = frozenset({"Cancelled", "Cancelling"})


def compose(outcome: RunOutcome) -> Message:
    """The subject and body that tell of ``outcome``."""
    return Message(subject=_subject(outcome), body=_body(outcome))


def _subject(outcome: RunOutcome) -> str:
    run = f"{outcome.flow_name} run {outcome.run_name}"
    error = _first_line(outcome.error)
    if outcome.state == "Completed":
        model = outcome.model or "no model"
        where = f" on deployment {outcome.deployment}" if outcome.deployment else ""
        return f"✅ {run} completed: {model}{where}"
    if outcome.state in _CANCELLED:
        return f"🚫 {run} cancelled" + (f": {error}" if error else "")
    if outcome.state == "Crashed":
        return f"💥 {run} crashed" + (f": {error}" if error else "")
    if outcome.state == "TimedOut":
        stage = f" at {outcome.failed_stage}" if outcome.failed_stage else ""
        return f"⏱️ {run} timed out{stage}" + (f": {error}" if error else "")
    if outcome.state == "Failed":
        stage = f" at {outcome.failed_stage}" if outcome.failed_stage else ""
        return f"❌ {run} failed{stage}" + (f": {error}" if error else "")
    return f"ℹ️ {run} is {outcome.state}" + (f": {error}" if error else "")


def _body(outcome: RunOutcome) -> str:
    lines = [f"**{outcome.flow_name}** run **{outcome.run_name}**: {outcome.state}", ""]
    fields = (
        ("Run", outcome.run_url),
        ("Job", outcome.job_id),
        ("Model", outcome.model),
        ("Deployment", outcome.deployment),
        ("Failed step", outcome.failed_stage),
        ("Smoke test", outcome.smoke_verdict),
    )
    lines.extend(f"- {label}: {value}" for label, value in fields if value)
    if outcome.error:
        error = outcome.error.strip()
        if len(error) > _BODY_ERROR_CHARS:
            error = error[:_BODY_ERROR_CHARS] + " …"
        lines.extend(["", "Error:", "", *(f"    {line}" for line in error.splitlines())])
    return "\n".join(lines)


def _first_line(text: str | None) -> str:
    if not text:
        return ""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if len(line) > _SUBJECT_ERROR_CHARS:
        return line[: _SUBJECT_ERROR_CHARS - 1] + "…"
    return line
