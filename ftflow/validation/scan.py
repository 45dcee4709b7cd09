"""Scanning one chunk of a JSONL file: every line parsed, checked and counted.

A chunk is a byte range that starts at a line start, so chunks can be scanned in any order,
in any process. Line numbers in a :class:`ChunkResult` are relative to the chunk (1-based);
the engine shifts them when it merges chunks in file order.
"""

from __future__ import annotations

import hashlib
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

from ftflow.validation.chat import Tally, check_chat
from ftflow.validation.dpo import check_dpo
from ftflow.validation.findings import FindingLog
from ftflow.validation.tokens import TokenCounter

__all__ = ["BOM", "ChunkJob", "ChunkResult", "Format", "Limits", "report_blank", "scan_chunk"]

Format = Literal["chat", "dpo"]
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Limits:
    """Token thresholds for one model."""

    max_tokens: int
    short_tokens: int = 24
    long_fraction: float = 0.8

    @property
    def long_tokens(self) -> int:
        return int(self.max_tokens * self.long_fraction)


@dataclass(frozen=True, slots=True)
class ChunkJob:
    """Scan bytes ``[start, end)`` of ``path``, the ``index``-th chunk of the file."""

    path: str
    label: str
    start: int
    end: int
    index: int
    limits: Limits
    cap: int


@dataclass
class ChunkResult:
    """Everything the engine needs from a chunk, with chunk-relative line numbers."""

    index: int
    lines: int
    log: FindingLog
    example_lines: array[int] = field(default_factory=lambda: array("l"))
    tokens: array[int] = field(default_factory=lambda: array("l"))
    trainable: array[int] = field(default_factory=lambda: array("l"))
    messages: array[int] = field(default_factory=lambda: array("l"))
    exact: array[int] = field(default_factory=lambda: array("q"))
    normal: array[int] = field(default_factory=lambda: array("q"))
    formats: Counter[str] = field(default_factory=Counter)
    format_lines: dict[str, list[int]] = field(default_factory=dict)
    crlf_lines: int = 0
    first_crlf: int | None = None
    bom: bool = False
    tail_blank: list[int] = field(default_factory=list)
    tail_blank_count: int = 0

    @property
    def has_content(self) -> bool:
        """Whether any line of the chunk is not blank."""
        return self.lines > self.tail_blank_count


def _digest(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little", signed=True)


_SPACES = b" \t\r\n"
_JSON_NAMES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


def _conversation(messages: object) -> list[object]:
    if not isinstance(messages, list):
        return []
    return [m for m in messages if not (isinstance(m, dict) and m.get("role") == "system")]


def _normal_key(example: dict[str, Any], kind: Format) -> int:
    """Digest of the conversation ignoring the system message, key order, escapes, case and
    spacing: two examples that teach the same thing get the same key."""
    if kind == "chat":
        payload: object = _conversation(example.get("messages"))
    else:
        source = example.get("input")
        prompt = source.get("messages") if isinstance(source, dict) else None
        payload = [
            _conversation(prompt),
            example.get("preferred_output"),
            example.get("non_preferred_output"),
        ]
    canonical = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    folded = canonical.lower().translate(None, _SPACES)
    if b"\\" in folded:
        folded = folded.replace(b"\\n", b"").replace(b"\\t", b"").replace(b"\\r", b"")
    return _digest(folded)


def _format_of(example: dict[str, Any]) -> Format | None:
    if "messages" in example:
        return "chat"
    if "preferred_output" in example or "input" in example:
        return "dpo"
    return None


def _read(job: ChunkJob) -> list[bytes]:
    with Path(job.path).open("rb") as handle:
        handle.seek(job.start)
        data = handle.read(job.end - job.start)
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    return lines


def _parse_error(log: FindingLog, line: int, raw: bytes, error: orjson.JSONDecodeError) -> None:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        log.add("invalid-utf8", line, None, f"invalid UTF-8 at byte {bad.start + 1} of the line")
        return
    log.add("invalid-json", line, None, f"not valid JSON: {error}")


def report_blank(log: FindingLog, lines: list[int], count: int, kind: str) -> None:
    """Report a run of ``count`` blank lines, of which the first few are ``lines``."""
    inside = kind == "blank-line"
    message = "blank line between examples" if inside else "blank line at the end of the file"
    for at in lines:
        log.add(kind, at, None, message)
    log.count_only(kind, count - len(lines))


def _check_example(
    example: dict[str, Any],
    kind: Format,
    number: int,
    log: FindingLog,
    counter: TokenCounter,
    limits: Limits,
) -> Tally:
    tally = (check_chat if kind == "chat" else check_dpo)(example, log, number, counter)
    if not tally.has_system:
        field = "messages" if kind == "chat" else "input.messages"
        log.add("missing-system-message", number, field, "no system message")
    if tally.tokens > limits.max_tokens:
        message = f"{tally.tokens:,} tokens, over the model's {limits.max_tokens:,} per example"
        log.add("too-many-tokens", number, None, message)
    elif tally.tokens > limits.long_tokens:
        share = tally.tokens / limits.max_tokens
        log.add("long-example", number, None, f"{tally.tokens:,} tokens, {share:.0%} of limit")
    elif tally.tokens < limits.short_tokens:
        log.add("short-example", number, None, f"only {tally.tokens} tokens in all")
    return tally


def _parse(raw: bytes, number: int, log: FindingLog) -> tuple[dict[str, Any], Format] | None:
    """The example on a line and its format, or ``None`` after reporting why not."""
    try:
        example = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        _parse_error(log, number, raw, error)
        return None
    if type(example) is not dict:
        name = "null" if example is None else _JSON_NAMES.get(type(example), "value")
        log.add("not-an-object", number, None, f"the line holds a JSON {name}, not an object")
        return None
    kind = _format_of(example)
    if kind is None:
        legacy = "prompt" in example and "completion" in example
        message = (
            "prompt/completion is the legacy format; chat models train on messages"
            if legacy
            else "neither a chat example ('messages') nor a DPO example ('input')"
        )
        log.add("missing-messages", number, "messages", message)
        return None
    return example, kind


def scan_chunk(job: ChunkJob, counter: TokenCounter) -> ChunkResult:
    """Parse, check and count every line of the chunk.

    Blank lines after the chunk's last example are left to the engine (``tail_blank``):
    only the following chunks tell whether they are inside the file or trailing.
    """
    log = FindingLog(job.label, job.cap)
    result = ChunkResult(job.index, 0, log)
    lines = _read(job)
    result.lines = len(lines)
    blank = result.tail_blank
    for number, line in enumerate(lines, start=1):
        raw = line
        if raw.endswith(b"\r"):
            raw = raw[:-1]
            result.crlf_lines += 1
            if result.first_crlf is None:
                result.first_crlf = number
        if number == 1 and job.index == 0 and raw.startswith(BOM):
            raw = raw[len(BOM) :]
            result.bom = True
        if not raw or raw.isspace():
            result.tail_blank_count += 1
            if len(blank) < job.cap:
                blank.append(number)
            continue
        if result.tail_blank_count:
            report_blank(log, blank, result.tail_blank_count, "blank-line")
            blank.clear()
            result.tail_blank_count = 0
        parsed = _parse(raw, number, log)
        if parsed is None:
            continue
        example, kind = parsed
        result.formats[kind] += 1
        seen = result.format_lines.setdefault(kind, [])
        if len(seen) < job.cap:
            seen.append(number)
        tally = _check_example(example, kind, number, log, counter, job.limits)
        result.example_lines.append(number)
        result.tokens.append(tally.tokens)
        result.trainable.append(tally.trainable)
        result.messages.append(tally.messages)
        result.exact.append(_digest(raw))
        result.normal.append(_normal_key(example, kind))
    return result
