"""What the validator can find, and how findings are collected and capped.

Every finding names the file, the line (1-based; ``None`` for the file as a whole), the field
path inside the example (``messages[2].tool_calls[0].function.arguments``), what is wrong and
how to fix it. The table :data:`KINDS` is the single place that says how severe each kind is
and what to do about it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = ["KINDS", "Finding", "FindingLog", "Kind", "Severity"]

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of finding: its severity and the generic advice for fixing it."""

    severity: Severity
    hint: str


_E: Severity = "error"
_W: Severity = "warning"

KINDS: Mapping[str, Kind] = MappingProxyType(
    {
        # The file as a whole.
        "file-too-large": Kind(_E, "split the data or sample it below 512 MB per file"),
        "too-few-examples": Kind(_E, "add examples: the service needs at least 10"),
        "mixed-format": Kind(_E, "keep chat (SFT) and DPO examples in separate files"),
        "method-unsupported": Kind(_E, "pick a model that supports this training method"),
        # One line.
        "invalid-utf8": Kind(_E, "re-save the file as UTF-8"),
        "invalid-json": Kind(_E, "write exactly one complete JSON object per line"),
        "not-an-object": Kind(_E, "each line must be a JSON object such as {'messages': [...]}"),
        "blank-line": Kind(_E, "remove blank lines between examples"),
        # One example.
        "missing-messages": Kind(_E, "give each example a non-empty 'messages' list"),
        "invalid-message": Kind(_E, "each message must be an object with 'role' and 'content'"),
        "unknown-key": Kind(_E, "remove the key or fix its spelling"),
        "unknown-role": Kind(_E, "use one of the roles system, user, assistant, tool"),
        "missing-content": Kind(_E, "give the message non-empty text content"),
        "uncountable-content": Kind(_E, "only text content can be token-counted exactly"),
        "no-trainable-assistant": Kind(
            _E, "add an assistant reply (weight 1) for the model to learn from"
        ),
        "invalid-weight": Kind(_E, "weight is 0 or 1, and only on assistant messages"),
        "invalid-tools": Kind(
            _E, "tools are [{'type': 'function', 'function': {'name', 'parameters'}}]"
        ),
        "invalid-tool-call": Kind(
            _E,
            "tool_calls are [{'id', 'type': 'function', 'function': {'name', 'arguments'}}] "
            "with arguments a JSON string",
        ),
        "unanswered-tool-call": Kind(
            _E, "follow the assistant's tool call with a tool message carrying its id"
        ),
        "unknown-tool-call-id": Kind(
            _E, "set tool_call_id to the id of a tool call made just before"
        ),
        "invalid-dpo-output": Kind(
            _E, "preferred_output and non_preferred_output are lists of assistant messages"
        ),
        "special-token": Kind(_E, "remove the special token text; the service rejects it"),
        "too-many-tokens": Kind(_E, "shorten or split the conversation"),
        # Warnings: training will run, but the result may disappoint.
        "few-examples": Kind(_W, "50-100 good examples is the usual minimum for a clear effect"),
        "duplicate-example": Kind(_W, "remove repeated examples; they overweight one answer"),
        "near-duplicate-example": Kind(
            _W, "examples differing only in case or spacing count twice in training"
        ),
        "train-validation-overlap": Kind(
            _W, "remove from the validation file examples the model trains on"
        ),
        "missing-system-message": Kind(
            _W, "use the system message you will use in production, in every example"
        ),
        "bom": Kind(_W, "the byte order mark is accepted; saving without it is cleaner"),
        "crlf": Kind(_W, "CRLF line endings are accepted; LF is the norm for JSONL"),
        "trailing-blank-line": Kind(_W, "remove blank lines at the end of the file"),
        "short-example": Kind(_W, "very short examples teach little; check they are complete"),
        "long-example": Kind(_W, "close to the model's limit: trim before it grows past it"),
    }
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: where it is, what it is, and what to do."""

    kind: str
    file: str
    line: int | None
    field: str | None
    message: str
    hint: str

    @property
    def severity(self) -> Severity:
        return KINDS[self.kind].severity

    def as_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "kind": self.kind,
            "file": self.file,
            "line": self.line,
            "field": self.field,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass
class FindingLog:
    """Findings for one file, kept up to ``cap`` per kind; the rest are only counted."""

    file: str
    cap: int = 20
    kept: list[Finding] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    shown: Counter[str] = field(default_factory=Counter)

    def add(
        self, kind: str, line: int | None, field_path: str | None, message: str, hint: str = ""
    ) -> None:
        self.counts[kind] += 1
        if self.shown[kind] < self.cap:
            self.shown[kind] += 1
            advice = hint or KINDS[kind].hint
            self.kept.append(Finding(kind, self.file, line, field_path, message, advice))

    def count_only(self, kind: str, count: int) -> None:
        """Count ``count`` more findings of ``kind`` whose details were not kept."""
        if count > 0:
            self.counts[kind] += count

    def merge(self, other: FindingLog, line_offset: int) -> None:
        """Fold in ``other`` (a later chunk of the same file), shifting its line numbers."""
        for finding in other.kept:
            if self.shown[finding.kind] < self.cap:
                self.shown[finding.kind] += 1
                line = None if finding.line is None else finding.line + line_offset
                self.kept.append(replace(finding, line=line))
        self.counts.update(other.counts)

    def omitted(self) -> dict[str, int]:
        """Per kind, how many findings were counted but not kept."""
        return {
            kind: n - self.shown[kind] for kind, n in self.counts.items() if n > self.shown[kind]
        }

    def errors(self) -> int:
        return sum(n for kind, n in self.counts.items() if KINDS[kind].severity == "error")

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.kept)
