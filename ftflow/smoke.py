"""The smoke test: ask a new deployment a few prompts and check what it answers.

Each :class:`~ftflow.request.SmokePrompt` is sent once to the fine-tuned deployment (and, when
given, once to a deployment of the base model, for comparison only). The answer is always
checked to be non-empty, then against the prompt's own checks: texts it must or must not
contain (case-insensitive), a regular expression (``re.search``), a JSON schema (the answer
parsed as JSON, a fenced ```json block accepted) and a latency limit. A failed request is a
failed check carrying the service's message, not an exception; only refused credentials
raise (:class:`~ftflow.azure.errors.AuthenticationFailed`), since no later prompt can pass.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import openai
from openai.types.chat import ChatCompletionMessageParam

from ftflow._answer_checks import CheckResult, check_answer, shorten
from ftflow.azure.errors import AuthenticationFailed, from_openai
from ftflow.request import SmokePrompt

__all__ = [
    "DEFAULT_PROMPT",
    "Answer",
    "CheckResult",
    "PromptResult",
    "SmokeReport",
    "SmokeTestFailed",
    "ask",
    "check_answer",
    "run_smoke_test",
]

DEFAULT_PROMPT = SmokePrompt(
    name="greeting", prompt="Hello! In one sentence, what can you help me with?"
)
"""Sent when a run names no prompts, so every deployment is exercised once."""

_SHOWN_FAILURES = 10


class SmokeTestFailed(Exception):
    """The smoke test ran and at least one check failed; the message lists every failure."""

    def __init__(self, message: str, failures: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.failures = tuple(failures)

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (str(self), self.failures)

    @classmethod
    def from_report(cls, report: SmokeReport) -> SmokeTestFailed:
        """The failure of ``report``: which prompts failed which checks, and why."""
        failures = report.failures()
        failed = sum(not result.passed for result in report.results)
        shown = "; ".join(failures[:_SHOWN_FAILURES])
        more = len(failures) - _SHOWN_FAILURES
        extra = f"; and {more} more" if more > 0 else ""
        return cls(
            f"smoke test of deployment {report.deployment!r} failed {failed} of "
            f"{len(report.results)} prompts: {shown}{extra}",
            failures,
        )


@dataclass
class Answer:
    """What a deployment answered, how fast, and at what token cost; ``error`` if it failed."""

    deployment: str
    text: str
    latency_ms: float
    prompt_tokens: int
    completion_tokens: int
    error: str | None = None


def ask(client: openai.OpenAI, deployment: str, prompt: SmokePrompt, *, timeout: float) -> Answer:
    """Send ``prompt`` to ``deployment``; a refused request comes back as ``Answer.error``."""
    messages: list[ChatCompletionMessageParam] = []
    if prompt.system:
        messages.append({"role": "system", "content": prompt.system})
    messages.append({"role": "user", "content": prompt.prompt})
    started = time.perf_counter()
    try:
        completion = client.with_options(timeout=timeout).chat.completions.create(
            model=deployment, messages=messages
        )
    except openai.OpenAIError as error:
        failure = from_openai(error, f"asking deployment {deployment!r}")
        if isinstance(failure, AuthenticationFailed):
            raise failure from error
        elapsed = (time.perf_counter() - started) * 1000
        return Answer(deployment, "", elapsed, 0, 0, error=str(failure))
    elapsed = (time.perf_counter() - started) * 1000
    usage = completion.usage
    prompt_tokens = usage.prompt_tokens if usage else 0
    completion_tokens = usage.completion_tokens if usage else 0
    if not completion.choices:
        empty = f"asking deployment {deployment!r}: the service returned no choices"
        return Answer(deployment, "", elapsed, prompt_tokens, completion_tokens, error=empty)
    text = completion.choices[0].message.content or ""
    return Answer(deployment, text, elapsed, prompt_tokens, completion_tokens)


@dataclass
class PromptResult:
    """One prompt: the fine-tuned answer and its checks, and the base answer if asked."""

    prompt: SmokePrompt
    answer: Answer
    checks: list[CheckResult]
    base: Answer | None = None
    base_checks: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether every check on the fine-tuned answer passed (the base is for reference)."""
        return all(check.passed for check in self.checks)

    def as_dict(self, max_chars: int) -> dict[str, Any]:
        """Plain JSON values, answers cut to ``max_chars``."""

        def answer(given: Answer | None) -> dict[str, Any] | None:
            return asdict(given) | {"text": shorten(given.text, max_chars)} if given else None

        return {
            "name": self.prompt.name,
            "passed": self.passed,
            "answer": answer(self.answer),
            "checks": [asdict(check) for check in self.checks],
            "base_answer": answer(self.base),
            "base_checks": [asdict(check) for check in self.base_checks],
        }


def _cell(text: str, limit: int) -> str:
    """``text`` fit for one markdown table cell: one line, at most ``limit`` characters."""
    return shorten(" ".join(text.split()), limit).replace("|", "\\|")


def _shown(answer: Answer, limit: int) -> str:
    return _cell(f"(no answer: {answer.error})" if answer.error else answer.text, limit)


@dataclass
class SmokeReport:
    """The smoke test of one deployment: one :class:`PromptResult` per prompt."""

    deployment: str
    base_deployment: str | None
    results: list[PromptResult]

    @property
    def passed(self) -> bool:
        """Whether every check of every prompt passed."""
        return all(result.passed for result in self.results)

    @property
    def verdict(self) -> str:
        """One line: ``passed (3/3 prompts)`` or ``FAILED (1/3 prompts passed)``."""
        passed = sum(result.passed for result in self.results)
        if self.passed:
            return f"passed ({passed}/{len(self.results)} prompts)"
        return f"FAILED ({passed}/{len(self.results)} prompts passed)"

    def failures(self) -> list[str]:
        """``prompt: check: detail`` for every failed check."""
        return [
            f"{result.prompt.name}: {check.name}: {check.detail}"
            for result in self.results
            for check in result.checks
            if not check.passed
        ]

    def as_rows(self, max_chars: int = 500) -> list[dict[str, str]]:
        """A table, one row per prompt, answers side by side; cells safe for markdown."""
        rows: list[dict[str, str]] = []
        for result in self.results:
            row = {
                "prompt": _cell(result.prompt.name, max_chars),
                "fine-tuned answer": _shown(result.answer, max_chars),
            }
            if self.base_deployment is not None:
                row["base answer"] = _shown(result.base, max_chars) if result.base else ""
            marks = [
                f"✓ {c.name}" if c.passed else f"✗ {c.name}: {c.detail}" for c in result.checks
            ]
            row["checks"] = _cell("; ".join(marks), max_chars)
            if self.base_deployment is not None:
                passed = sum(check.passed for check in result.base_checks)
                row["base checks"] = f"{passed}/{len(result.base_checks)} passed"
            row["latency"] = f"{result.answer.latency_ms:.0f} ms"
            row["verdict"] = "pass" if result.passed else "FAIL"
            rows.append(row)
        return rows

    def as_dict(self, max_chars: int = 2000) -> dict[str, Any]:
        """The report as plain JSON values, answers cut to ``max_chars``."""
        return {
            "deployment": self.deployment,
            "base_deployment": self.base_deployment,
            "passed": self.passed,
            "verdict": self.verdict,
            "prompts": [result.as_dict(max_chars) for result in self.results],
        }


def run_smoke_test(
    client: openai.OpenAI,
    deployment: str,
    prompts: Sequence[SmokePrompt],
    *,
    base_deployment: str | None,
    timeout: float,
) -> SmokeReport:
    """Ask ``deployment`` every prompt (the default greeting when there are none)."""
    results: list[PromptResult] = []
    for prompt in prompts or [DEFAULT_PROMPT]:
        answer = ask(client, deployment, prompt, timeout=timeout)
        checks = (
            [CheckResult("answered", False, answer.error)]
            if answer.error is not None
            else check_answer(prompt, answer.text, answer.latency_ms)
        )
        result = PromptResult(prompt, answer, checks)
        if base_deployment is not None:
            result.base = ask(client, base_deployment, prompt, timeout=timeout)
            if result.base.error is None:
                result.base_checks = check_answer(prompt, result.base.text, result.base.latency_ms)
        results.append(result)
    return SmokeReport(deployment, base_deployment, results)
