"""The rules of a DPO (preference) example.

``{"input": {"messages": [...], "tools"?: [...]}, "preferred_output": [...],
"non_preferred_output": [...]}``: the input is a conversation; each output is a list of
assistant (and tool) messages with at least one assistant message. The model sees the input
followed by one output, so each pair must fit in the model's limit; the example's token count
is the longer pair, and the trainable tokens are those of the preferred output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ftflow.validation.chat import MessageRules, Tally, check_messages, check_tools
from ftflow.validation.tokens import REPLY_PRIMER

if TYPE_CHECKING:
    from ftflow.validation.findings import FindingLog
    from ftflow.validation.tokens import TokenCounter

__all__ = ["DPO_KEYS", "check_dpo"]

DPO_KEYS = frozenset({"input", "preferred_output", "non_preferred_output"})
_INPUT_KEYS = frozenset({"messages", "tools", "parallel_tool_calls"})
_OUTPUT_RULES = MessageRules(roles=frozenset({"assistant", "tool"}), allow_weight=False)


def _output(
    example: dict[str, Any],
    key: str,
    log: FindingLog,
    line: int,
    counter: TokenCounter,
    functions: frozenset[str] | None,
) -> Tally:
    value = example.get(key)
    if not isinstance(value, list) or not value:
        what = "missing" if value is None else "not a non-empty list"
        log.add("invalid-dpo-output", line, key, f"{key} is {what}")
        return Tally()
    tally = check_messages(value, key, log, line, counter, functions, _OUTPUT_RULES)
    if tally.messages and not tally.assistant_trainable:
        log.add("invalid-dpo-output", line, key, f"{key} has no assistant message")
    return tally


def check_dpo(example: dict[str, Any], log: FindingLog, line: int, counter: TokenCounter) -> Tally:
    """Check one DPO example and count its tokens."""
    for key in example:
        if key not in DPO_KEYS:
            log.add("unknown-key", line, key, f"unknown key {key!r} in a DPO example")
    source = example.get("input")
    if not isinstance(source, dict):
        log.add("missing-messages", line, "input", "input must be {'messages': [...]}")
        source = {}
    for key in source:
        if key not in _INPUT_KEYS:
            log.add("unknown-key", line, f"input.{key}", f"unknown key {key!r} in input")
    tool_tokens, functions = 0, None
    if source.get("tools") is not None:
        tool_tokens, functions = check_tools(source["tools"], "input.tools", log, line, counter)
    prompt = check_messages(source.get("messages"), "input.messages", log, line, counter, functions)
    preferred = _output(example, "preferred_output", log, line, counter, functions)
    rejected = _output(example, "non_preferred_output", log, line, counter, functions)
    return Tally(
        tokens=prompt.tokens + tool_tokens + REPLY_PRIMER + max(preferred.tokens, rejected.tokens),
        trainable=preferred.trainable,
        messages=prompt.messages + preferred.messages + rejected.messages,
        assistant_trainable=preferred.assistant_trainable,
        has_system=prompt.has_system,
    )
