"""Fault rules: what the control API (``/_emulator/faults``) and ``--fault`` flags install.

HTTP rules act on requests matching a method and a path pattern (a regular expression matched
against the whole path):

* ``429`` / ``500`` / ``503``: answer with that status instead of handling the request (429 and
  503 carry ``Retry-After`` and ``retry-after-ms``);
* ``drop``: handle the request (its effect is committed), then break the connection in the middle
  of the response, so the client cannot know it succeeded;
* ``latency``: delay the response by ``latency_ms``.

``share`` is the probability that a matching request is hit (seeded, so runs repeat) and ``times``
the number of hits before the rule retires (None: unlimited).

Domain rules make the next matching job, deployment or file fail in Azure's way: a job failing its
data safety check or with an internal error, a deployment ending ``Failed``, a file ending in
``error``. They are taken (consumed) when the job, deployment or file is created.
"""

from __future__ import annotations

import random
import re
import shlex
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from emulator.core.ids import new_hex

__all__ = [
    "DeploymentFault",
    "FaultRegistry",
    "FileFault",
    "HttpFault",
    "JobFault",
    "parse_fault_spec",
]

HttpKind = Literal["429", "500", "503", "drop", "latency"]
JobFaultKind = Literal["data_safety", "internal_error"]
HTTP_KINDS: tuple[str, ...] = ("429", "500", "503", "drop", "latency")
JOB_KINDS: tuple[str, ...] = ("data_safety", "internal_error")


def _compile(pattern: str | None, what: str) -> re.Pattern[str] | None:
    if pattern is None or pattern in ("", "*"):
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{what} {pattern!r} is not a regular expression: {exc}") from exc


def _times(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"times must be a positive integer, got {value!r}")
    return value


@dataclass
class HttpFault:
    """A rule that disturbs matching HTTP requests."""

    kind: HttpKind
    path: str = ".*"
    method: str = "*"
    share: float = 1.0
    times: int | None = None
    latency_ms: int = 0
    retry_after_ms: int | None = None
    id: str = field(default_factory=lambda: f"fault-{new_hex()[:12]}")
    hits: int = 0

    def __post_init__(self) -> None:
        if self.kind not in HTTP_KINDS:
            raise ValueError(f"kind must be one of {', '.join(HTTP_KINDS)}, got {self.kind!r}")
        if not 0.0 <= float(self.share) <= 1.0:
            raise ValueError(f"share must be between 0 and 1, got {self.share!r}")
        self.times = _times(self.times)
        self.method = self.method.upper()
        self._pattern = _compile(self.path, "path")
        if self.kind == "latency" and self.latency_ms <= 0:
            raise ValueError("a latency fault needs latency_ms > 0")
        if self.retry_after_ms is not None and not 0 <= self.retry_after_ms <= 120_000:
            raise ValueError("retry_after_ms must be between 0 and 120000")

    def matches(self, method: str, path: str) -> bool:
        """Whether the rule applies to ``method path`` (ignoring share and times)."""
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method not in ("*", method.upper()):
            return False
        return self._pattern is None or self._pattern.fullmatch(path) is not None

    def to_api(self) -> dict[str, Any]:
        """The rule as the control API shows it."""
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


@dataclass
class JobFault:
    """Make the next matching fine-tuning job fail."""

    kind: JobFaultKind
    model: str | None = None
    suffix: str | None = None
    times: int | None = 1
    at: float = 0.5
    """For ``internal_error``: the share of training done when the job fails."""
    id: str = field(default_factory=lambda: f"fault-{new_hex()[:12]}")
    hits: int = 0

    def __post_init__(self) -> None:
        if self.kind not in JOB_KINDS:
            raise ValueError(f"kind must be one of {', '.join(JOB_KINDS)}, got {self.kind!r}")
        if not 0.0 <= float(self.at) <= 1.0:
            raise ValueError("at must be between 0 and 1")
        self.times = _times(self.times)
        self._model = _compile(self.model, "model")
        self._suffix = _compile(self.suffix, "suffix")

    def matches(self, model: str, suffix: str | None) -> bool:
        """Whether a job of ``model`` with ``suffix`` is hit."""
        if self.times is not None and self.hits >= self.times:
            return False
        if self._model is not None and not self._model.fullmatch(model):
            return False
        return self._suffix is None or bool(self._suffix.fullmatch(suffix or ""))

    def to_api(self) -> dict[str, Any]:
        """The rule as the control API shows it."""
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


@dataclass
class DeploymentFault:
    """Make the next matching deployment end in ``Failed``."""

    name: str | None = None
    times: int | None = 1
    message: str = "The deployment failed due to an internal error. Delete it and try again."
    id: str = field(default_factory=lambda: f"fault-{new_hex()[:12]}")
    hits: int = 0

    def __post_init__(self) -> None:
        self.times = _times(self.times)
        self._name = _compile(self.name, "name")

    def matches(self, name: str) -> bool:
        """Whether a deployment called ``name`` is hit."""
        if self.times is not None and self.hits >= self.times:
            return False
        return self._name is None or self._name.fullmatch(name) is not None

    def to_api(self) -> dict[str, Any]:
        """The rule as the control API shows it."""
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


@dataclass
class FileFault:
    """Make the processing of the next matching upload end in ``error``."""

    filename: str | None = None
    times: int | None = 1
    message: str = "Line 1: the file could not be processed (injected processing error)."
    id: str = field(default_factory=lambda: f"fault-{new_hex()[:12]}")
    hits: int = 0

    def __post_init__(self) -> None:
        self.times = _times(self.times)
        self._filename = _compile(self.filename, "filename")

    def matches(self, filename: str) -> bool:
        """Whether an upload named ``filename`` is hit."""
        if self.times is not None and self.hits >= self.times:
            return False
        return self._filename is None or self._filename.fullmatch(filename) is not None

    def to_api(self) -> dict[str, Any]:
        """The rule as the control API shows it."""
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


@dataclass(frozen=True)
class HttpDecision:
    """What the fault layer does to one request."""

    latency_ms: int = 0
    fault: HttpFault | None = None


class FaultRegistry:
    """Installed rules; thread-safe. Domain rules are consumed by :meth:`take_job` & co."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._seed = seed
        self._rng = random.Random(seed)
        self.http: list[HttpFault] = []
        self.jobs: list[JobFault] = []
        self.deployments: list[DeploymentFault] = []
        self.files: list[FileFault] = []

    def clear(self) -> None:
        """Remove every rule and restart the random draws."""
        with self._lock:
            self.http.clear()
            self.jobs.clear()
            self.deployments.clear()
            self.files.clear()
            self._rng = random.Random(self._seed)

    def add(self, rule: HttpFault | JobFault | DeploymentFault | FileFault) -> None:
        """Install ``rule``."""
        with self._lock:
            if isinstance(rule, HttpFault):
                self.http.append(rule)
            elif isinstance(rule, JobFault):
                self.jobs.append(rule)
            elif isinstance(rule, DeploymentFault):
                self.deployments.append(rule)
            else:
                self.files.append(rule)

    def remove(self, rule_id: str) -> bool:
        """Remove the rule ``rule_id``; False if there is none."""
        with self._lock:
            before = len(self.http) + len(self.jobs) + len(self.deployments) + len(self.files)
            self.http = [r for r in self.http if r.id != rule_id]
            self.jobs = [r for r in self.jobs if r.id != rule_id]
            self.deployments = [r for r in self.deployments if r.id != rule_id]
            self.files = [r for r in self.files if r.id != rule_id]
            after = len(self.http) + len(self.jobs) + len(self.deployments) + len(self.files)
        return after < before

    def decide(self, method: str, path: str) -> HttpDecision:
        """Draw the faults for one request: total added latency and at most one failure."""
        with self._lock:
            latency = 0
            chosen: HttpFault | None = None
            for rule in self.http:
                if not rule.matches(method, path):
                    continue
                if rule.share < 1.0 and self._rng.random() >= rule.share:
                    continue
                if rule.kind == "latency":
                    rule.hits += 1
                    latency += rule.latency_ms
                elif chosen is None:
                    rule.hits += 1
                    chosen = rule
            return HttpDecision(latency_ms=latency, fault=chosen)

    def take_job(self, model: str, suffix: str | None) -> JobFault | None:
        """Consume the first job rule matching a new job."""
        with self._lock:
            for rule in self.jobs:
                if rule.matches(model, suffix):
                    rule.hits += 1
                    return rule
        return None

    def take_deployment(self, name: str) -> DeploymentFault | None:
        """Consume the first deployment rule matching a new deployment."""
        with self._lock:
            for rule in self.deployments:
                if rule.matches(name):
                    rule.hits += 1
                    return rule
        return None

    def take_file(self, filename: str) -> FileFault | None:
        """Consume the first file rule matching a new upload."""
        with self._lock:
            for rule in self.files:
                if rule.matches(filename):
                    rule.hits += 1
                    return rule
        return None

    def to_api(self) -> dict[str, list[dict[str, Any]]]:
        """Every rule, by family."""
        with self._lock:
            return {
                "http": [r.to_api() for r in self.http],
                "jobs": [r.to_api() for r in self.jobs],
                "deployments": [r.to_api() for r in self.deployments],
                "files": [r.to_api() for r in self.files],
            }


_NUMBER_KEYS = {"share": float, "times": int, "latency_ms": int, "retry_after_ms": int, "at": float}


def parse_fault_spec(spec: str) -> HttpFault | JobFault | DeploymentFault | FileFault:
    """Parse a ``--fault`` value.

    HTTP: ``METHOD PATH KIND [share=F] [times=N] [latency_ms=N] [retry_after_ms=N]``, e.g.
    ``"POST /openai/fine_tuning/jobs 503 share=0.5"`` or ``"* /openai/.* latency latency_ms=200"``.
    Domain: ``job KIND [model=RE] [suffix=RE] [times=N] [at=F]``, ``deployment [name=RE]
    [times=N] [message=TEXT]``, ``file [filename=RE] [times=N] [message=TEXT]``.
    """
    words = shlex.split(spec)
    if not words:
        raise ValueError("empty fault spec")
    options: dict[str, Any] = {}
    positional: list[str] = []
    for word in words:
        key, sep, value = word.partition("=")
        if sep and key.isidentifier():
            options[key] = _NUMBER_KEYS[key](value) if key in _NUMBER_KEYS else value
        else:
            positional.append(word)
    head = positional[0].lower()
    try:
        if head == "job":
            if len(positional) != 2:
                raise ValueError("a job fault is `job KIND [options]`")
            return JobFault(kind=positional[1], **options)  # type: ignore[arg-type]
        if head == "deployment":
            return DeploymentFault(**options)
        if head == "file":
            return FileFault(**options)
        if len(positional) != 3:
            raise ValueError("an HTTP fault is `METHOD PATH KIND [options]`")
        method, path, kind = positional
        return HttpFault(kind=kind, path=path, method=method, **options)  # type: ignore[arg-type]
    except TypeError as exc:
        raise ValueError(f"bad fault option in {spec!r}: {exc}") from exc
