"""The rules of a chat (SFT) example and of the message lists DPO examples are made of.

One pass over an example checks it and counts its tokens. Problems go to a
:class:`~ftflow.validation.findings.FindingLog` with the field path; the pass never stops at
the first problem, so a user sees everything wrong with a line at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from ftflow.validation.tokens import (
    MESSAGE_FRAMING,
    NAME_COST,
    REPLY_PRIMER,
    TokenCounter,
    find_special_tokens,
)

if TYPE_CHECKING:
    from ftflow.validation.findings import FindingLog

__all__ = ["CHAT_KEYS", "MessageRules", "Tally", "check_chat", "check_messages", "check_tools"]

CHAT_KEYS = frozenset({"messages", "tools", "functions", "parallel_tool_calls"})
_MESSAGE_KEYS = frozenset(
    {"role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call"}
)
_ROLES = frozenset({"system", "user", "assistant", "tool", "function"})
_TOOL_CALL_KEYS = frozenset({"id", "type", "function"})


@dataclass(slots=True)
class Tally:
    """Counts for one example (or one list of messages)."""

    tokens: int = 0
    trainable: int = 0
    messages: int = 0
    assistant_trainable: int = 0
    has_system: bool = False


@dataclass(frozen=True, slots=True)
class MessageRules:
    """What a list of messages may hold: DPO outputs allow fewer roles than chat."""

    roles: frozenset[str] = _ROLES
    allow_weight: bool = True


CHAT_RULES = MessageRules()


class _Check:
    """One example's pass: where findings go, which line, which counter."""

    __slots__ = ("counter", "functions", "line", "log")

    def __init__(
        self, log: FindingLog, line: int, counter: TokenCounter, functions: frozenset[str] | None
    ) -> None:
        self.log = log
        self.line = line
        self.counter = counter
        self.functions = functions

    def report(self, kind: str, field: str, message: str) -> None:
        self.log.add(kind, self.line, field, message)

    def text(self, value: str, field: str, part: str = "") -> int:
        """Tokens of ``value``, found at ``field`` + ``part`` (joined only for a finding)."""
        tokens = self.counter.count(value)
        if "<|" in value:
            special = find_special_tokens(value)
            if special:
                where = field + part
                self.report("special-token", where, f"contains the special token {special[0]}")
        return tokens


def check_tools(
    tools: object, field: str, log: FindingLog, line: int, counter: TokenCounter
) -> tuple[int, frozenset[str] | None]:
    """Check tool definitions; their token cost and the function names they define."""
    if not isinstance(tools, list) or not tools:
        log.add("invalid-tools", line, field, "tools must be a non-empty list")
        return 0, None
    names: set[str] = set()
    well_formed = True
    for i, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or tool.get("type") != "function":
            log.add("invalid-tools", line, f"{field}[{i}]", "not a {'type': 'function'} tool")
            well_formed = False
            continue
        name = function.get("name")
        if not isinstance(name, str) or not name:
            log.add("invalid-tools", line, f"{field}[{i}].function.name", "missing name")
            well_formed = False
            continue
        parameters = function.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            log.add(
                "invalid-tools",
                line,
                f"{field}[{i}].function.parameters",
                "parameters must be a JSON schema object",
            )
            well_formed = False
            continue
        properties = (parameters or {}).get("properties")
        if properties is not None and not isinstance(properties, dict):
            log.add(
                "invalid-tools",
                line,
                f"{field}[{i}].function.parameters.properties",
                f"properties must be an object of parameter schemas, not {properties!r}",
            )
            well_formed = False
            continue
        special = find_special_tokens(orjson.dumps(function).decode())
        if special:
            message = f"contains the special token {special[0]}"
            log.add("special-token", line, f"{field}[{i}].function", message)
        names.add(name)
    if not well_formed:
        return 0, frozenset(names)
    return counter.count_tools(tools), frozenset(names)


def _content(check: _Check, value: object, at: str) -> int | None:
    """Token count of a message's content; ``None`` when there is no usable text."""
    if isinstance(value, str):
        return check.text(value, at, ".content") if value and not value.isspace() else None
    field = f"{at}.content"
    if isinstance(value, list):
        total = 0
        for i, part in enumerate(value):
            part_field = f"{field}[{i}]"
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                total += check.text(part["text"], f"{part_field}.text")
            elif kind == "image_url":
                check.report(
                    "uncountable-content",
                    part_field,
                    "image content: its token cost depends on the image and cannot be "
                    "counted exactly offline",
                )
            else:
                check.report(
                    "missing-content", part_field, "content parts are {'type': 'text', 'text'}"
                )
        return total if value else None
    return None


def _tool_calls(check: _Check, calls: object, field: str, open_calls: dict[str, str]) -> int:
    if not isinstance(calls, list) or not calls:
        check.report("invalid-tool-call", field, "tool_calls must be a non-empty list")
        return 0
    total = 0
    for i, call in enumerate(calls):
        call_field = f"{field}[{i}]"
        if not isinstance(call, dict):
            check.report("invalid-tool-call", call_field, "a tool call must be an object")
            continue
        for key in call:
            if key not in _TOOL_CALL_KEYS:
                check.report("unknown-key", f"{call_field}.{key}", f"unknown key {key!r}")
        call_id = call.get("id")
        if not isinstance(call_id, str) or not call_id:
            check.report("invalid-tool-call", f"{call_field}.id", "missing id")
        elif call_id in open_calls:
            check.report("invalid-tool-call", f"{call_field}.id", f"duplicate id {call_id!r}")
        else:
            open_calls[call_id] = call_field
        if call.get("type", "function") != "function":
            check.report("invalid-tool-call", f"{call_field}.type", "type must be 'function'")
        total += _function_call(check, call.get("function"), f"{call_field}.function")
    return total


def _function_call(check: _Check, function: object, field: str) -> int:
    if not isinstance(function, dict):
        check.report("invalid-tool-call", field, "missing function {'name', 'arguments'}")
        return 0
    total = 0
    name = function.get("name")
    if not isinstance(name, str) or not name:
        check.report("invalid-tool-call", f"{field}.name", "missing function name")
    else:
        total += check.text(name, f"{field}.name")
        if check.functions is not None and name not in check.functions:
            known = ", ".join(sorted(check.functions)) or "none"
            check.report(
                "invalid-tool-call",
                f"{field}.name",
                f"calls {name!r}, which the example's tools do not define (defined: {known})",
            )
    arguments = function.get("arguments")
    if not isinstance(arguments, str):
        check.report(
            "invalid-tool-call",
            f"{field}.arguments",
            'arguments must be a JSON string, e.g. "{\\"city\\": \\"Oslo\\"}"',
        )
        return total
    try:
        orjson.loads(arguments)
    except orjson.JSONDecodeError as error:
        check.report("invalid-tool-call", f"{field}.arguments", f"not valid JSON: {error}")
    return total + check.text(arguments, f"{field}.arguments")


def check_messages(
    messages: object,
    field: str,
    log: FindingLog,
    line: int,
    counter: TokenCounter,
    functions: frozenset[str] | None = None,
    rules: MessageRules = CHAT_RULES,
) -> Tally:
    """Check a list of messages and count its tokens (without the reply primer)."""
    tally = Tally()
    if not isinstance(messages, list) or not messages:
        what = "missing" if messages is None else "not a non-empty list"
        log.add("missing-messages", line, field, f"{field} is {what}")
        return tally
    check = _Check(log, line, counter, functions)
    open_calls: dict[str, str] = {}
    opened_by = -1
    tally.messages = len(messages)
    for i, message in enumerate(messages):
        at = f"{field}[{i}]"
        if not isinstance(message, dict):
            check.report("invalid-message", at, "a message must be a JSON object")
            continue
        role = message.get("role")
        if role != "tool" and open_calls:
            _unanswered(check, open_calls)
            open_calls.clear()
        tally.tokens += _message(check, message, role, at, rules, tally, open_calls)
        if role == "assistant" and open_calls:
            opened_by = i
    if open_calls and opened_by != len(messages) - 1:
        _unanswered(check, open_calls)
    return tally


def _unanswered(check: _Check, open_calls: dict[str, str]) -> None:
    for call_id, call_field in open_calls.items():
        message = f"no tool message answers tool call {call_id!r}"
        check.report("unanswered-tool-call", call_field, message)


def _message(
    check: _Check,
    message: dict[str, Any],
    role: object,
    at: str,
    rules: MessageRules,
    tally: Tally,
    open_calls: dict[str, str],
) -> int:
    if not message.keys() <= _MESSAGE_KEYS:
        for key in sorted(message.keys() - _MESSAGE_KEYS):
            check.report("unknown-key", f"{at}.{key}", f"unknown message key {key!r}")
    if not isinstance(role, str) or role not in rules.roles:
        allowed = ", ".join(sorted(rules.roles))
        check.report("unknown-role", f"{at}.role", f"role {role!r} is not one of {allowed}")
        return 0
    tokens = MESSAGE_FRAMING + check.counter.count_role(role)
    name = message.get("name")
    if name is not None:
        if not isinstance(name, str) or not name:
            problem = f"name is {name!r}, not a non-empty string"
            check.report("invalid-message", f"{at}.name", problem)
        tokens += NAME_COST + (check.text(name, f"{at}.name") if isinstance(name, str) else 0)
    content = _content(check, message.get("content"), at)
    produced = content or 0
    if role == "assistant":
        calls = message.get("tool_calls")
        if calls is not None:
            produced += _tool_calls(check, calls, f"{at}.tool_calls", open_calls)
        legacy = message.get("function_call")
        if legacy is not None:
            produced += _function_call(check, legacy, f"{at}.function_call")
        if content is None and calls is None and legacy is None:
            check.report("missing-content", f"{at}.content", "assistant message has no content")
    elif content is None:
        check.report("missing-content", f"{at}.content", f"{role} message has no content")
    if role == "tool":
        _answer(check, message.get("tool_call_id"), at, open_calls)
    elif "tool_call_id" in message:
        check.report("unknown-key", f"{at}.tool_call_id", "tool_call_id is for tool messages")
    if role == "system":
        tally.has_system = True
    tokens += produced
    if role == "assistant" and _trained(check, message, at, rules):
        tally.trainable += produced
        tally.assistant_trainable += 1
    elif role != "assistant" and "weight" in message:
        check.report("invalid-weight", f"{at}.weight", "weight is only for assistant messages")
    return tokens


def _answer(check: _Check, call_id: object, at: str, open_calls: dict[str, str]) -> None:
    if not isinstance(call_id, str) or not call_id:
        check.report("unknown-tool-call-id", f"{at}.tool_call_id", "tool message needs an id")
    elif open_calls.pop(call_id, None) is None:
        check.report(
            "unknown-tool-call-id",
            f"{at}.tool_call_id",
            f"{call_id!r} answers no open tool call of the assistant message before it",
        )


def _trained(check: _Check, message: dict[str, Any], at: str, rules: MessageRules) -> bool:
    if "weight" not in message:
        return True
    weight = message["weight"]
    if not rules.allow_weight:
        check.report("invalid-weight", f"{at}.weight", "weight is not allowed here")
        return True
    if type(weight) is not int or weight not in (0, 1):
        check.report("invalid-weight", f"{at}.weight", f"weight is {weight!r}, not 0 or 1")
        return True
    return weight == 1


def check_chat(example: dict[str, Any], log: FindingLog, line: int, counter: TokenCounter) -> Tally:
    """Check one chat example and count its tokens as the model sees it."""
    if not example.keys() <= CHAT_KEYS:
        for key in sorted(example.keys() - CHAT_KEYS):
            log.add("unknown-key", line, key, f"unknown key {key!r} in a chat example")
    tool_tokens, functions = 0, None
    tools = example.get("tools")
    if tools is not None:
        tool_tokens, functions = check_tools(tools, "tools", log, line, counter)
    tally = check_messages(example.get("messages"), "messages", log, line, counter, functions)
    if tally.messages and not tally.assistant_trainable:
        log.add(
            "no-trainable-assistant",
            line,
            "messages",
            "no assistant message to train on (none, or all with weight 0)",
        )
    tally.tokens += tool_tokens + REPLY_PRIMER
    return tally
