"""The validator's answer: findings and figures per file, and whether the data may go on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ftflow.validation.findings import KINDS

if TYPE_CHECKING:
    from ftflow.validation.findings import Finding
    from ftflow.validation.scan import Format
    from ftflow.validation.stats import BillingEstimate, TokenDistribution

__all__ = ["FileReport", "ValidationReport"]

Role = Literal["training", "validation"]


@dataclass
class FileReport:
    """One JSONL file: what it holds and what is wrong with it."""

    path: str
    role: Role
    format: Format | None
    bytes: int
    lines: int
    messages: int
    tokens: TokenDistribution
    trainable_tokens: int
    findings: list[Finding]
    counts: dict[str, int]
    omitted: dict[str, int]

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error") + sum(
            n for kind, n in self.omitted.items() if _is_error(kind)
        )

    @property
    def warnings(self) -> int:
        return sum(self.counts.values()) - self.errors

    def stats(self) -> dict[str, object]:
        return {
            "path": self.path,
            "format": self.format,
            "bytes": self.bytes,
            "lines": self.lines,
            "examples": self.tokens.examples,
            "messages": self.messages,
            "tokens_per_example": self.tokens.as_dict(),
            "trainable_tokens": self.trainable_tokens,
            "errors": self.errors,
            "warnings": self.warnings,
            "findings_by_kind": dict(sorted(self.counts.items())),
            "findings_omitted": dict(sorted(self.omitted.items())),
        }


def _is_error(kind: str) -> bool:
    return KINDS[kind].severity == "error"


@dataclass
class ValidationReport:
    """The data gate's verdict on a training file and its optional validation file."""

    model: str
    base_model: str
    encoding: str
    max_example_tokens: int
    format: Format | None
    files: list[FileReport] = field(default_factory=list)
    billing: BillingEstimate | None = None

    @property
    def ok(self) -> bool:
        """No errors in any file (warnings allowed)."""
        return all(f.errors == 0 for f in self.files)

    @property
    def findings(self) -> list[Finding]:
        return [finding for report in self.files for finding in report.findings]

    def as_dict(self) -> dict[str, object]:
        """The ``--json`` document: ``{"ok", "format", "findings", "stats"}``."""
        return {
            "ok": self.ok,
            "format": self.format,
            "findings": [f.as_dict() for f in self.findings],
            "stats": {
                "model": self.model,
                "base_model": self.base_model,
                "encoding": self.encoding,
                "max_example_tokens": self.max_example_tokens,
                "token_counting": (
                    "exact BPE counts; chat framing, tool calls and tool definitions "
                    "per OpenAI's published counting rules"
                ),
                "files": {f.role: f.stats() for f in self.files},
                "billing": None if self.billing is None else self.billing.as_dict(),
            },
        }
