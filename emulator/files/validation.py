"""Server-side checks of an uploaded fine-tuning file, as the service runs them while a file is
``running``: UTF-8, one JSON object per line, each line a chat example (``messages`` with an
assistant reply) or a DPO example (``input`` / ``preferred_output`` / ``non_preferred_output``),
one format throughout, and at least the minimum number of examples.

The first problem found is reported with its line number; it becomes the file's
``status_details``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["FileCheck", "check_fine_tune_file"]

DataFormat = Literal["chat", "dpo"]
_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class FileCheck:
    """Outcome of the checks."""

    problem: str | None
    data_format: DataFormat | None
    n_examples: int

    @property
    def ok(self) -> bool:
        """Whether the file passed."""
        return self.problem is None


class _Problem(Exception):
    pass


def _check_messages(messages: object, where: str, *, need_assistant: bool) -> None:
    if not isinstance(messages, Sequence) or isinstance(messages, str) or not messages:
        raise _Problem(f"{where} must be a non-empty list of messages.")
    has_assistant = False
    for index, message in enumerate(messages, start=1):
        if not isinstance(message, Mapping):
            raise _Problem(f"{where}: message {index} is not an object.")
        role = message.get("role")
        if role not in _ROLES:
            raise _Problem(
                f"{where}: message {index} has an invalid role {role!r}; expected one of "
                f"{', '.join(_ROLES)}."
            )
        content = message.get("content")
        calls = message.get("tool_calls") or message.get("function_call")
        if content is None and not (role == "assistant" and calls):
            raise _Problem(f'{where}: message {index} ({role}) has no "content".')
        if content is not None and not isinstance(content, (str, list)):
            raise _Problem(f"{where}: message {index} ({role}) content must be a string or list.")
        if "weight" in message and message["weight"] not in (0, 1):
            raise _Problem(f'{where}: message {index} has a "weight" other than 0 or 1.')
        if role == "assistant":
            has_assistant = True
    if need_assistant and not has_assistant:
        raise _Problem(f"{where} has no assistant message to train on.")


def _format_of(record: Mapping[str, Any]) -> DataFormat:
    if "input" in record or "preferred_output" in record:
        given = record.get("input")
        if not isinstance(given, Mapping):
            raise _Problem('"input" must be an object with a "messages" list.')
        _check_messages(given.get("messages"), '"input.messages"', need_assistant=False)
        for key in ("preferred_output", "non_preferred_output"):
            output = record.get(key)
            _check_messages(output, f'"{key}"', need_assistant=True)
            assert isinstance(output, Sequence)
            if any(
                isinstance(m, Mapping) and m.get("role") not in ("assistant", "tool")
                for m in output
            ):
                raise _Problem(f'"{key}" may only hold assistant and tool messages.')
        return "dpo"
    if "messages" not in record:
        raise _Problem('the example has no "messages" list.')
    _check_messages(record["messages"], '"messages"', need_assistant=True)
    return "chat"


def check_fine_tune_file(content: bytes, *, min_examples: int, require_bom: bool) -> FileCheck:
    """Run the checks on ``content``; never raises."""
    if require_bom and not content.startswith(_BOM):
        return FileCheck("Line 1: the file must be UTF-8 with a byte-order mark.", None, 0)
    body = content[len(_BOM) :] if content.startswith(_BOM) else content
    data_format: DataFormat | None = None
    count = 0
    for number, raw in enumerate(body.split(b"\n"), start=1):
        line_bytes = raw.rstrip(b"\r")
        try:
            line = line_bytes.decode("utf-8")
        except UnicodeDecodeError as exc:
            return FileCheck(
                f"Line {number}: the file is not valid UTF-8 (byte 0x{line_bytes[exc.start]:02x} "
                f"at column {exc.start + 1}).",
                data_format,
                count,
            )
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            return FileCheck(
                f"Line {number}: invalid JSON ({exc.msg} at column {exc.colno}).",
                data_format,
                count,
            )
        if not isinstance(record, dict):
            return FileCheck(f"Line {number}: each line must be a JSON object.", data_format, count)
        try:
            line_format = _format_of(record)
        except _Problem as problem:
            return FileCheck(f"Line {number}: {problem}", data_format, count)
        if data_format is not None and line_format != data_format:
            return FileCheck(
                f"Line {number}: the example is in {line_format} format but earlier lines are "
                f"{data_format} format; use one format per file.",
                data_format,
                count,
            )
        data_format = line_format
        count += 1
    if count < min_examples:
        return FileCheck(
            f"The file has {count} example{'s' if count != 1 else ''}; fine-tuning needs at "
            f"least {min_examples}.",
            data_format,
            count,
        )
    return FileCheck(None, data_format, count)
