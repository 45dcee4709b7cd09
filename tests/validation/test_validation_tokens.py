"""Exact token counts, checked against tiktoken directly and OpenAI's published counting rules.

The rule: each message costs 3 tokens of framing plus its role and content (a name costs its
tokens plus 1); each conversation 3 more for the reply primer. A tool call costs its function
name and arguments; tool definitions follow the cookbook's function-definition formula.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _validation_data import (  # type: ignore[import-not-found, unused-ignore]
    SYSTEM,
    Example,
    chat_example,
    dpo_example,
    tiktoken_encoding,
    tool_call_example,
    validate,
    write_jsonl,
)

from ftflow.validation import ValidationReport


def n(encoding: str, text: str) -> int:
    return len(tiktoken_encoding(encoding).encode_ordinary(text))


def one_example(tmp_path: Path, example: Example, model: str) -> ValidationReport:
    """Validate a file of just ``example`` (too few examples, but every figure is computed)."""
    report: ValidationReport = validate(write_jsonl(tmp_path / "one.jsonl", [example]), model=model)
    return report


def message_tokens(encoding: str, message: dict[str, Any]) -> int:
    """Framing, role, text content, name; tool calls' names and arguments."""
    total = 3 + n(encoding, message["role"])
    if isinstance(message.get("content"), str):
        total += n(encoding, message["content"])
    if "name" in message:
        total += 1 + n(encoding, message["name"])
    for call in message.get("tool_calls", []):
        total += n(encoding, call["function"]["name"]) + n(encoding, call["function"]["arguments"])
    return total


def tool_definition_tokens(encoding: str, tools: list[dict[str, Any]]) -> int:
    """OpenAI cookbook, "How to count tokens with tiktoken", function definitions."""
    func_init = {"o200k_base": 7, "cl100k_base": 10}[encoding]
    prop_init, prop_key, enum_init, enum_item, func_end = 3, 3, -3, 3, 12
    total = 0
    for tool in tools:
        function = tool["function"]
        total += func_init
        description = function.get("description", "")
        if description.endswith("."):
            description = description[:-1]
        total += n(encoding, f"{function['name']}:{description}")
        properties = function.get("parameters", {}).get("properties", {})
        if properties:
            total += prop_init
            for key, spec in properties.items():
                total += prop_key
                if "enum" in spec:
                    total += enum_init
                    for item in spec["enum"]:
                        total += enum_item + n(encoding, item)
                p_desc = spec.get("description", "")
                if p_desc.endswith("."):
                    p_desc = p_desc[:-1]
                total += n(encoding, f"{key}:{spec.get('type', '')}:{p_desc}")
    return total + func_end


@pytest.mark.parametrize("model", ["gpt-4o-mini-2024-07-18", "gpt-35-turbo-0125"])
def test_token_count_of_the_smallest_conversation_is_13(tmp_path: Path, model: str) -> None:
    # user "Hello", assistant "Hi": (3 + 1 + 1) * 2 + 3, in both encodings.
    example = {
        "messages": [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi"}]
    }
    report = one_example(tmp_path, example, model)

    tokens = report.files[0].tokens
    assert (tokens.examples, tokens.total, tokens.minimum, tokens.maximum) == (1, 13, 13, 13)
    assert report.files[0].trainable_tokens == 1


def test_token_count_of_system_user_assistant_with_name(tmp_path: Path) -> None:
    example = chat_example(3)
    example["messages"][1]["name"] = "customer_42"
    report = one_example(tmp_path, example, "gpt-4o-2024-08-06")

    _, user, assistant = example["messages"]
    enc = "o200k_base"
    expected = (
        3
        + (3 + n(enc, "system") + n(enc, SYSTEM))
        + (3 + n(enc, "user") + n(enc, user["content"]) + 1 + n(enc, "customer_42"))
        + (3 + n(enc, "assistant") + n(enc, assistant["content"]))
    )
    assert report.files[0].tokens.total == expected
    assert report.files[0].trainable_tokens == n(enc, assistant["content"])


@pytest.mark.parametrize(
    ("model", "encoding"),
    [("gpt-4.1-2025-04-14", "o200k_base"), ("gpt-35-turbo-1106", "cl100k_base")],
)
def test_token_count_of_tool_calls_and_tool_definitions(
    tmp_path: Path, model: str, encoding: str
) -> None:
    example = tool_call_example(5)
    report = one_example(tmp_path, example, model)

    messages = example["messages"]
    expected = (
        3
        + sum(message_tokens(encoding, m) for m in messages)
        + tool_definition_tokens(encoding, example["tools"])
    )
    call = messages[2]["tool_calls"][0]["function"]
    trainable = (
        n(encoding, call["name"])
        + n(encoding, call["arguments"])
        + n(encoding, messages[4]["content"])
    )
    assert report.encoding == encoding
    assert report.files[0].tokens.total == expected
    assert report.files[0].trainable_tokens == trainable


def test_tool_definition_formula_counts_enums_and_drops_one_final_period(tmp_path: Path) -> None:
    enc = "o200k_base"
    tools = [
        {
            "type": "function",
            "function": {
                "name": "book_service",
                "description": "Book a bike service..",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "level": {
                            "type": "string",
                            "description": "Service level.",
                            "enum": ["basic", "full", "race"],
                        },
                        "date": {"type": "string"},
                    },
                },
            },
        },
        {"type": "function", "function": {"name": "ping"}},
    ]
    example = chat_example(1)
    example["tools"] = tools
    report = one_example(tmp_path, example, "gpt-4o-mini-2024-07-18")

    by_hand = (
        7 + n(enc, "book_service:Book a bike service.")
        + 3
        + 3 - 3 + sum(3 + n(enc, item) for item in ("basic", "full", "race"))
        + n(enc, "level:string:Service level")
        + 3 + n(enc, "date:string:")
        + 7 + n(enc, "ping:")
        + 12
    )  # fmt: skip
    assert by_hand == tool_definition_tokens(enc, tools)
    messages_only = 3 + sum(message_tokens(enc, m) for m in example["messages"])
    assert report.files[0].tokens.total == messages_only + by_hand


def test_weight_0_assistant_messages_are_counted_but_not_trainable(tmp_path: Path) -> None:
    enc = "o200k_base"
    example: Example = {
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": "My chain skips."},
            {"role": "assistant", "content": "Try oiling it first.", "weight": 0},
            {"role": "user", "content": "Still skips."},
            {"role": "assistant", "content": "Then the chain is worn: replace it.", "weight": 1},
            {"role": "user", "content": "Thanks!"},
            {"role": "assistant", "content": "You are welcome."},
        ]
    }
    report = one_example(tmp_path, example, "gpt-4o-mini-2024-07-18")

    assert report.files[0].tokens.total == 3 + sum(
        message_tokens(enc, m) for m in example["messages"]
    )
    assert report.files[0].trainable_tokens == n(enc, "Then the chain is worn: replace it.") + n(
        enc, "You are welcome."
    )
    assert report.files[0].messages == 7


def test_token_count_of_a_dpo_example_is_the_longer_pair(tmp_path: Path) -> None:
    enc = "o200k_base"
    example = dpo_example(2)
    report = one_example(tmp_path, example, "gpt-4o-2024-08-06")

    prompt = sum(message_tokens(enc, m) for m in example["input"]["messages"])
    preferred = sum(message_tokens(enc, m) for m in example["preferred_output"])
    rejected = sum(message_tokens(enc, m) for m in example["non_preferred_output"])
    assert preferred != rejected
    assert report.format == "dpo"
    assert report.files[0].tokens.total == prompt + 3 + max(preferred, rejected)
    assert report.files[0].trainable_tokens == n(enc, example["preferred_output"][0]["content"])
    assert report.files[0].messages == 4


def test_text_content_parts_are_counted_like_text(tmp_path: Path) -> None:
    enc = "o200k_base"
    example = chat_example(4)
    text = example["messages"][1]["content"]
    plain = one_example(tmp_path, example, "gpt-4o-mini-2024-07-18").files[0].tokens.total
    half = len(text) // 2
    example["messages"][1]["content"] = [
        {"type": "text", "text": text[:half]},
        {"type": "text", "text": text[half:]},
    ]
    parts = one_example(tmp_path, example, "gpt-4o-mini-2024-07-18").files[0].tokens.total
    assert parts - plain == n(enc, text[:half]) + n(enc, text[half:]) - n(enc, text)


def test_cl100k_and_o200k_models_count_the_same_text_differently(tmp_path: Path) -> None:
    text = "自転車のタイヤがパンクしました。今日中に修理できますか？ Sykkelen min er punktert."
    example = {
        "messages": [{"role": "user", "content": text}, {"role": "assistant", "content": "Ja."}]
    }
    o200k = one_example(tmp_path, example, "gpt-4o-mini-2024-07-18").files[0].tokens.total
    cl100k = one_example(tmp_path, example, "gpt-35-turbo-0125").files[0].tokens.total

    def by_hand(enc: str) -> int:
        return 3 + sum(message_tokens(enc, m) for m in example["messages"])

    assert o200k == by_hand("o200k_base")
    assert cl100k == by_hand("cl100k_base")
    assert o200k < cl100k


def test_a_fine_tuned_model_counts_with_its_base_models_encoding(tmp_path: Path) -> None:
    example = chat_example(1)
    example["messages"][1]["content"] = "Größenordnung der Straßenbahnhaltestelle: 自転車"
    report = one_example(tmp_path, example, "gpt-35-turbo-0125.ft-0123456789abcdef")

    assert report.base_model == "gpt-35-turbo-0125"
    assert report.encoding == "cl100k_base"
    assert report.max_example_tokens == 16_385
    assert report.files[0].tokens.total == 3 + sum(
        message_tokens("cl100k_base", m) for m in example["messages"]
    )


def test_special_token_text_is_counted_as_ordinary_text(tmp_path: Path) -> None:
    enc = "o200k_base"
    example = chat_example(1)
    example["messages"][1]["content"] = "what is <|endoftext|>?"
    report = one_example(tmp_path, example, "gpt-4o-mini-2024-07-18")

    assert n(enc, "what is <|endoftext|>?") > 1
    assert report.files[0].tokens.total == 3 + sum(
        message_tokens(enc, m) for m in example["messages"]
    )


def test_token_counts_do_not_depend_on_json_formatting(tmp_path: Path) -> None:
    example = tool_call_example(1)
    compact = json.dumps(example, separators=(",", ":"))
    spaced = json.dumps(example, indent=None, separators=(" , ", " : "))
    a = validate(write_jsonl(tmp_path / "a.jsonl", [compact])).files[0].tokens.total
    b = validate(write_jsonl(tmp_path / "b.jsonl", [spaced])).files[0].tokens.total
    assert a == b
