"""Checks on one answer: non-empty, texts it must (not) contain, a regular expression, a JSON
schema, a latency limit. Pure functions, no I/O; :mod:`ftflow.smoke` runs them and re-exports
:class:`CheckResult` and :func:`check_answer`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped, unused-ignore]
from jsonschema.validators import validator_for  # type: ignore[import-untyped, unused-ignore]

from ftflow.request import SmokePrompt

__all__ = ["CheckResult", "check_answer", "shorten"]

_FENCED = re.compile(r"```(?:json)?\s*(.*?)\s*```", re.DOTALL | re.IGNORECASE)
_SHOWN_ERRORS = 3


@dataclass(frozen=True)
class CheckResult:
    """One check on one answer."""

    name: str
    passed: bool
    detail: str


def shorten(text: str, limit: int) -> str:
    """``text``, cut to ``limit`` characters with an ellipsis when longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_text(answer: str) -> str:
    fenced = _FENCED.search(answer)
    return fenced.group(1).strip() if fenced else answer.strip()


def _check_json(schema: dict[str, Any], answer: str) -> CheckResult:
    name = "json_schema"
    validator_class = validator_for(schema)
    try:
        validator_class.check_schema(schema)
    except SchemaError as error:
        return CheckResult(name, False, f"the JSON schema itself is invalid: {error.message}")
    try:
        document = json.loads(_json_text(answer))
    except json.JSONDecodeError as error:
        return CheckResult(
            name,
            False,
            f"the answer is not JSON: {error.msg} (line {error.lineno}, column {error.colno})",
        )
    errors = sorted(
        validator_class(schema).iter_errors(document), key=lambda e: (e.json_path, e.message)
    )
    if not errors:
        return CheckResult(name, True, "the answer matches the schema")
    details = [f"at {e.json_path}: {shorten(e.message, 200)}" for e in errors[:_SHOWN_ERRORS]]
    if len(errors) > _SHOWN_ERRORS:
        details.append(f"and {len(errors) - _SHOWN_ERRORS} more")
    return CheckResult(name, False, "; ".join(details))


def _check_regex(pattern: str, answer: str) -> CheckResult:
    name = f"regex {pattern!r}"
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        return CheckResult(name, False, f"invalid regular expression: {error}")
    match = compiled.search(answer)
    if match is None:
        return CheckResult(name, False, "no match in the answer")
    return CheckResult(name, True, f"matched {shorten(match.group(0), 80)!r}")


def check_answer(prompt: SmokePrompt, answer: str, latency_ms: float) -> list[CheckResult]:
    """Every check of ``prompt`` on ``answer``, the non-empty check first."""
    folded = answer.casefold()
    checks = [
        CheckResult("non-empty", True, f"{len(answer)} characters")
        if answer.strip()
        else CheckResult("non-empty", False, "the answer is empty")
    ]
    for text in prompt.contains:
        found = text.casefold() in folded
        detail = "found" if found else "not in the answer"
        checks.append(CheckResult(f"contains {text!r}", found, detail))
    for text in prompt.not_contains:
        found = text.casefold() in folded
        detail = "found in the answer" if found else "absent"
        checks.append(CheckResult(f"not_contains {text!r}", not found, detail))
    if prompt.regex is not None:
        checks.append(_check_regex(prompt.regex, answer))
    if prompt.json_schema is not None:
        checks.append(_check_json(prompt.json_schema, answer))
    if prompt.max_latency_ms is not None:
        limit = prompt.max_latency_ms
        fast = latency_ms <= limit
        relation = "within" if fast else "over"
        detail = f"{latency_ms:.0f} ms, {relation} the {limit:.0f} ms limit"
        checks.append(CheckResult("max_latency_ms", fast, detail))
    return checks
