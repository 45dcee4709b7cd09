"""Broken training files: one per error kind of the validator's table, and one with them all.

Each :class:`Broken` case is a file of twelve good, distinct chat examples (or DPO examples,
or fewer, or one sparse 512 MB file) with one flaw that is exactly one finding of its kind,
at a known line and field. :func:`every_kind` puts the flaws that can share a chat file into
one file, for a single flow run that must report them all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftflow.validation.findings import KINDS

__all__ = ["CASES", "ERROR_KINDS", "Broken", "every_kind"]

BASE_MODEL = "gpt-4o-mini-2024-07-18"
DPO_MODEL = "gpt-4o-2024-08-06"
SMALL_CONTEXT_MODEL = "gpt-35-turbo-0125"
SYSTEM = "You are the support assistant of Velo, a bicycle shop."
ERROR_KINDS = frozenset(kind for kind, facts in KINDS.items() if facts.severity == "error")
AT = 6
"""The line of the flaw in a file of twelve examples."""


def _chat(i: int, *middle: object, **extra: Any) -> dict[str, Any]:
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"Question {i}: how often should I oil my chain?"},
        *middle,
        {"role": "assistant", "content": f"Every few weeks, or after rain (answer {i})."},
    ]
    return {"messages": messages, **extra}


def _dpo(i: int, **overrides: Any) -> dict[str, Any]:
    example = {
        "input": {"messages": [{"role": "user", "content": f"Tip {i} for squeaky brakes?"}]},
        "preferred_output": [{"role": "assistant", "content": f"Clean the rims ({i})."}],
        "non_preferred_output": [{"role": "assistant", "content": "Dunno."}],
    }
    return {**example, **overrides}


def _line(record: object) -> bytes:
    return record if isinstance(record, bytes) else json.dumps(record).encode()


def _message(i: int, index: int, **changes: Any) -> dict[str, Any]:
    """Example ``i`` with message ``index`` changed (a key set to None is removed)."""
    example = _chat(i)
    message = {**example["messages"][index], **changes}
    example["messages"][index] = {k: v for k, v in message.items() if v is not None}
    return example


_CALL = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}


@dataclass(frozen=True)
class Broken:
    """A file with one flaw: ``kind`` found at ``line`` (None: the file) and ``field``."""

    kind: str
    flaw: object
    """The flawed line (a JSON value, or raw bytes), or for file-level kinds the file's maker."""
    field: str | None = None
    model: str = BASE_MODEL
    line: int | None = AT

    def write(self, path: Path) -> Path:
        """The file, at ``path``."""
        if callable(self.flaw):
            maker: Callable[[Path], None] = self.flaw
            maker(path)
            return path
        make = _dpo if self.model == DPO_MODEL else _chat
        lines = [_line(make(i)) for i in range(12)]
        lines[AT - 1] = _line(self.flaw)
        path.write_bytes(b"\n".join(lines) + b"\n")
        return path

    @property
    def chat_line(self) -> bool:
        """Whether the flaw is one line that can sit in any chat file for the base model."""
        return not callable(self.flaw) and self.model == BASE_MODEL


def _examples(make: Callable[[int], dict[str, Any]], count: int) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_text("".join(json.dumps(make(i)) + "\n" for i in range(count)))

    return write


def _sparse(path: Path) -> None:
    """A file one byte over 512 MB that takes no disk space (the gate reads its size only)."""
    with path.open("wb") as handle:
        handle.truncate(512 * 1024 * 1024 + 1)


_tool_call = {"role": "assistant", "tool_calls": [_CALL]}
CASES = (
    Broken("invalid-utf8", b'{"messages": "caf\xe9"}'),
    Broken("invalid-json", b'{"messages": ['),
    Broken("not-an-object", ["user", "assistant"]),
    Broken("blank-line", b""),
    Broken("missing-messages", {"messages": []}, "messages"),
    Broken("invalid-message", _chat(40, "hello"), "messages[2]"),
    Broken("unknown-key", _chat(41, metadata={"team": "support"}), "metadata"),
    Broken("unknown-role", _message(42, 1, role="customer"), "messages[1].role"),
    Broken("missing-content", _message(43, 1, content=""), "messages[1].content"),
    Broken(
        "uncountable-content",
        _message(44, 1, content=[{"type": "image_url", "image_url": {"url": "https://x/a.png"}}]),
        "messages[1].content[0]",
    ),
    Broken(
        "no-trainable-assistant",
        {"messages": _chat(45)["messages"][:2]},
        "messages",
    ),
    Broken("invalid-weight", _message(46, 2, weight=2), "messages[2].weight"),
    Broken("invalid-tools", _chat(47, tools=[]), "tools"),
    Broken(
        "invalid-tool-call",
        _message(48, 2, content=None, tool_calls=[{**_CALL, "function": {"name": "lookup"}}]),
        "messages[2].tool_calls[0].function.arguments",
    ),
    Broken(
        "unanswered-tool-call",
        _chat(49, _tool_call, {"role": "user", "content": "Hello?"}),
        "messages[2].tool_calls[0]",
    ),
    Broken(
        "unknown-tool-call-id",
        _chat(50, {"role": "tool", "tool_call_id": "call_9", "content": "42"}),
        "messages[2].tool_call_id",
    ),
    Broken("special-token", _message(51, 1, content="Hi <|endoftext|>"), "messages[1].content"),
    Broken("mixed-format", _dpo(52)),
    Broken(
        "invalid-dpo-output",
        _dpo(53, preferred_output=[]),
        "preferred_output",
        model=DPO_MODEL,
    ),
    Broken(
        "too-many-tokens",
        _message(54, 1, content=" word" * 17_000),
        model=SMALL_CONTEXT_MODEL,
    ),
    Broken("too-few-examples", _examples(_chat, 5), line=None),
    Broken("method-unsupported", _examples(_dpo, 12), line=None),
    Broken("file-too-large", _sparse, line=None),
)
"""One case per error kind."""


def every_kind(path: Path) -> tuple[Path, list[tuple[str, int, str | None]]]:
    """One chat file holding every :attr:`Broken.chat_line` flaw, between good examples;
    returns it and the (kind, line, field) findings it must produce."""
    lines: list[bytes] = []
    expected = []
    flaws: Iterator[Broken] = (case for case in CASES if case.chat_line)
    for number, case in enumerate(flaws):
        lines += [_line(_chat(100 + 2 * number)), _line(case.flaw)]
        expected.append((case.kind, len(lines), case.field))
    lines += [_line(_chat(i)) for i in range(12)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path, expected
