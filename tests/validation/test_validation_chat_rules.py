"""Chat (SFT) rules beyond one-kind-per-file: valid shapes pass, each malformed shape is named."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from _validation_data import (  # type: ignore[import-not-found, unused-ignore]
    SYSTEM,
    Example,
    chat_example,
    chat_examples,
    findings_of,
    kinds_of,
    tool_call_example,
    validate,
    with_line,
    write_jsonl,
)

from ftflow.validation import ValidationReport


def validate_line(tmp_path: Path, example: Example | str, at: int = 3) -> ValidationReport:
    """Validate 12 valid examples with ``example`` as line ``at``."""
    lines = with_line(chat_examples(12), at, example)
    report: ValidationReport = validate(write_jsonl(tmp_path / "train.jsonl", lines))
    return report


def errors(report: ValidationReport) -> list[tuple[str, int | None, str | None]]:
    return [(f.kind, f.line, f.field) for f in report.findings if f.severity == "error"]


def test_validate_accepts_multi_turn_tools_names_and_weights(tmp_path: Path) -> None:
    example = tool_call_example(7)
    example["messages"][1]["name"] = "customer_42"
    example["messages"][2]["weight"] = 0
    example["messages"].extend(
        [
            {"role": "user", "content": "Great, and in Bergen?"},
            {"role": "assistant", "content": "Bergen has 2 units.", "weight": 1},
        ]
    )
    lines = [tool_call_example(i) for i in range(11)] + [example]
    report = validate(write_jsonl(tmp_path / "train.jsonl", lines))

    assert errors(report) == []
    assert report.ok
    assert report.format == "chat"
    assert report.files[0].messages == 11 * 5 + 7


def test_validate_accepts_a_final_assistant_tool_call_without_answer(tmp_path: Path) -> None:
    example = tool_call_example(50)
    del example["messages"][3:]  # the conversation ends with the assistant's call
    assert errors(validate_line(tmp_path, example)) == []


def test_validate_accepts_parallel_tool_calls_answered_in_any_order(tmp_path: Path) -> None:
    example = tool_call_example(50)
    call = example["messages"][2]["tool_calls"][0]
    second = copy.deepcopy(call)
    second["id"] = "call_b"
    example["messages"][2]["tool_calls"].append(second)
    example["messages"].insert(3, {"role": "tool", "tool_call_id": "call_b", "content": "1"})
    assert errors(validate_line(tmp_path, example)) == []


def test_validate_reports_every_problem_of_a_line_not_just_the_first(tmp_path: Path) -> None:
    example = chat_example(50)
    example["metadata"] = {"source": "crm"}
    example["messages"][0]["role"] = "developer"
    example["messages"][1]["content"] = None
    example["messages"][2]["weight"] = "1"
    report = validate_line(tmp_path, example)

    assert sorted(errors(report)) == [
        ("invalid-weight", 3, "messages[2].weight"),
        ("missing-content", 3, "messages[1].content"),
        ("unknown-key", 3, "metadata"),
        ("unknown-role", 3, "messages[0].role"),
    ]


def test_validate_reports_problems_on_every_line_not_just_the_first(tmp_path: Path) -> None:
    lines: list[Example | str] = list(chat_examples(12))
    lines[1] = "{broken"
    lines[5] = "[]"
    bad = chat_example(99)
    bad["messages"][1]["role"] = "human"
    lines[9] = bad
    report = validate(write_jsonl(tmp_path / "train.jsonl", lines))

    assert errors(report) == [
        ("invalid-json", 2, None),
        ("not-an-object", 6, None),
        ("unknown-role", 10, "messages[1].role"),
    ]


@pytest.mark.parametrize(
    ("messages", "field", "fragment"),
    [
        (None, "messages", "missing"),
        ([], "messages", "not a non-empty list"),
        ("Hello", "messages", "not a non-empty list"),
        ({"role": "user", "content": "Hi"}, "messages", "not a non-empty list"),
    ],
)
def test_validate_reports_missing_or_non_list_messages(
    tmp_path: Path, messages: object, field: str, fragment: str
) -> None:
    example: Example = {"messages": messages}
    report = validate_line(tmp_path, example)

    [finding] = findings_of(report, "missing-messages")
    assert (finding.line, finding.field) == (3, field)
    assert fragment in finding.message


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ("", "messages[1].content"),
        ("   \n ", "messages[1].content"),
        (None, "messages[1].content"),
        (42, "messages[1].content"),
        ([], "messages[1].content"),
        ([{"type": "text"}], "messages[1].content[0]"),
        (["plain string part"], "messages[1].content[0]"),
    ],
)
def test_validate_reports_missing_user_content(tmp_path: Path, content: object, field: str) -> None:
    example = chat_example(50)
    example["messages"][1]["content"] = content
    report = validate_line(tmp_path, example)

    assert [(f.line, f.field) for f in findings_of(report, "missing-content")] == [(3, field)]


def test_validate_accepts_text_content_parts(tmp_path: Path) -> None:
    example = chat_example(50)
    example["messages"][1]["content"] = [{"type": "text", "text": "How do I oil a chain?"}]
    assert errors(validate_line(tmp_path, example)) == []


def test_validate_reports_assistant_without_content_or_tool_calls(tmp_path: Path) -> None:
    example = chat_example(50)
    example["messages"][2] = {"role": "assistant"}
    report = validate_line(tmp_path, example)

    [finding] = findings_of(report, "missing-content")
    assert (finding.line, finding.field) == (3, "messages[2].content")
    assert "assistant" in finding.message


@pytest.mark.parametrize("weight", [2, -1, 0.5, 1.0, True, "1", None])
def test_validate_reports_weight_other_than_0_or_1(tmp_path: Path, weight: object) -> None:
    example = chat_example(50)
    example["messages"][2]["weight"] = weight
    report = validate_line(tmp_path, example)

    [finding] = findings_of(report, "invalid-weight")
    assert (finding.line, finding.field) == (3, "messages[2].weight")
    assert repr(weight) in finding.message


@pytest.mark.parametrize("index", [0, 1])
def test_validate_reports_weight_on_non_assistant_messages(tmp_path: Path, index: int) -> None:
    example = chat_example(50)
    example["messages"][index]["weight"] = 1
    report = validate_line(tmp_path, example)

    [finding] = findings_of(report, "invalid-weight")
    assert (finding.line, finding.field) == (3, f"messages[{index}].weight")
    assert "assistant" in finding.message


def test_validate_reports_tool_call_id_on_a_user_message(tmp_path: Path) -> None:
    example = chat_example(50)
    example["messages"][1]["tool_call_id"] = "call_1"
    report = validate_line(tmp_path, example)

    [finding] = findings_of(report, "unknown-key")
    assert (finding.line, finding.field) == (3, "messages[1].tool_call_id")


@pytest.mark.parametrize("name", [17, "", ["a"]])
def test_validate_reports_a_name_that_is_not_a_string(tmp_path: Path, name: object) -> None:
    example = chat_example(50)
    example["messages"][1]["name"] = name
    report = validate_line(tmp_path, example)

    [finding] = findings_of(report, "invalid-message")
    assert (finding.line, finding.field) == (3, "messages[1].name")
    assert repr(name) in finding.message


def _call(example: Example) -> dict[str, Any]:
    call: dict[str, Any] = example["messages"][2]["tool_calls"][0]
    return call


def _no_id(example: Example) -> None:
    del _call(example)["id"]
    del example["messages"][3]["tool_call_id"]


def _wrong_type(example: Example) -> None:
    _call(example)["type"] = "code_interpreter"


def _no_function(example: Example) -> None:
    del _call(example)["function"]


def _undefined_function(example: Example) -> None:
    _call(example)["function"]["name"] = "get_price"


def _arguments_not_json(example: Example) -> None:
    _call(example)["function"]["arguments"] = "{sku: SKU-50}"


def _arguments_object(example: Example) -> None:
    _call(example)["function"]["arguments"] = {"sku": "SKU-50"}


def _calls_not_list(example: Example) -> None:
    example["messages"][2]["tool_calls"] = _call(example)
    example["messages"][2]["content"] = "Let me check."
    del example["messages"][3]


def _duplicate_id(example: Example) -> None:
    example["messages"][2]["tool_calls"].append(copy.deepcopy(_call(example)))


@pytest.mark.parametrize(
    ("break_it", "field", "fragment"),
    [
        (_no_id, "messages[2].tool_calls[0].id", "id"),
        (_wrong_type, "messages[2].tool_calls[0].type", "function"),
        (_no_function, "messages[2].tool_calls[0].function", "function"),
        (_undefined_function, "messages[2].tool_calls[0].function.name", "'get_price'"),
        (_arguments_not_json, "messages[2].tool_calls[0].function.arguments", "not valid JSON"),
        (_arguments_object, "messages[2].tool_calls[0].function.arguments", "JSON string"),
        (_calls_not_list, "messages[2].tool_calls", "list"),
        (_duplicate_id, "messages[2].tool_calls[1].id", "'call_50'"),
    ],
)
def test_validate_reports_malformed_tool_calls(
    tmp_path: Path, break_it: Any, field: str, fragment: str
) -> None:
    example = tool_call_example(50)
    break_it(example)
    report = validate_line(tmp_path, example)

    found = findings_of(report, "invalid-tool-call")
    assert [(f.line, f.field) for f in found] == [(3, field)]
    assert fragment in found[0].message


def test_validate_reports_a_tool_message_after_a_user_message(tmp_path: Path) -> None:
    example = chat_example(50)
    example["messages"].insert(2, {"role": "tool", "tool_call_id": "call_1", "content": "4"})
    report = validate_line(tmp_path, example)

    [finding] = findings_of(report, "unknown-tool-call-id")
    assert (finding.line, finding.field) == (3, "messages[2].tool_call_id")
    assert "'call_1'" in finding.message


def test_validate_reports_a_tool_message_without_id(tmp_path: Path) -> None:
    example = tool_call_example(50)
    del example["messages"][3]["tool_call_id"]
    report = validate_line(tmp_path, example)

    [unknown] = findings_of(report, "unknown-tool-call-id")
    assert (unknown.line, unknown.field) == (3, "messages[3].tool_call_id")
    [unanswered] = findings_of(report, "unanswered-tool-call")
    assert unanswered.field == "messages[2].tool_calls[0]"


def test_validate_reports_a_call_answered_only_after_another_turn(tmp_path: Path) -> None:
    example = tool_call_example(50)
    answer = example["messages"].pop(3)
    example["messages"].insert(4, answer)  # assistant reply comes before the tool answer
    report = validate_line(tmp_path, example)

    [unanswered] = findings_of(report, "unanswered-tool-call")
    assert unanswered.field == "messages[2].tool_calls[0]"
    [unknown] = findings_of(report, "unknown-tool-call-id")
    assert unknown.field == "messages[4].tool_call_id"


@pytest.mark.parametrize(
    ("tools", "field"),
    [
        ([], "tools"),
        ({"type": "function"}, "tools"),
        (["get_stock"], "tools[0]"),
        ([{"type": "retrieval", "function": {"name": "f"}}], "tools[0]"),
        ([{"type": "function", "function": {"name": ""}}], "tools[0].function.name"),
        (
            [{"type": "function", "function": {"name": "f", "parameters": "none"}}],
            "tools[0].function.parameters",
        ),
    ],
)
def test_validate_reports_malformed_tool_definitions(
    tmp_path: Path, tools: object, field: str
) -> None:
    example = chat_example(50)
    example["tools"] = tools
    report = validate_line(tmp_path, example)

    assert [(f.line, f.field) for f in findings_of(report, "invalid-tools")] == [(3, field)]


@pytest.mark.parametrize("properties", ["sku", ["sku"], 3])
def test_validate_reports_tool_properties_that_are_not_an_object(
    tmp_path: Path, properties: object
) -> None:
    # Regression: these crashed the token counter (AttributeError: no .items()).
    example = tool_call_example(50)
    example["tools"][0]["function"]["parameters"]["properties"] = properties
    report = validate_line(tmp_path, example)

    [finding] = findings_of(report, "invalid-tools")
    assert (finding.line, finding.field) == (3, "tools[0].function.parameters.properties")
    assert repr(properties) in finding.message


@pytest.mark.parametrize(
    ("place", "field"),
    [
        ("system", "messages[0].content"),
        ("name", "messages[1].name"),
        ("assistant", "messages[2].content"),
        ("arguments", "messages[2].tool_calls[0].function.arguments"),
        ("tool", "messages[3].content"),
        ("tool definition", "tools[0].function"),
    ],
)
def test_validate_reports_special_tokens_wherever_text_is(
    tmp_path: Path, place: str, field: str
) -> None:
    example = tool_call_example(50)
    messages = example["messages"]
    token = "<|im_start|>"
    if place == "system":
        messages[0]["content"] = f"{SYSTEM} {token}"
    elif place == "name":
        messages[1]["name"] = f"bob{token}"
    elif place == "assistant":
        messages[4]["content"] = f"In stock. {token}"
        field = "messages[4].content"
    elif place == "arguments":
        messages[2]["tool_calls"][0]["function"]["arguments"] = f'{{"sku": "{token}"}}'
    elif place == "tool":
        messages[3]["content"] = f"units: 4 {token}"
    else:
        example["tools"][0]["function"]["description"] = f"Stock lookup {token}"
    report = validate_line(tmp_path, example)

    [finding] = findings_of(report, "special-token")
    assert (finding.line, finding.field) == (3, field)
    assert token in finding.message


@pytest.mark.parametrize(
    "token",
    ["<|endoftext|>", "<|endofprompt|>", "<|fim_prefix|>", "<|im_end|>", "<|im_sep|>"],
)
def test_validate_reports_each_special_token(tmp_path: Path, token: str) -> None:
    example = chat_example(50)
    example["messages"][1]["content"] = f"before {token} after"
    report = validate_line(tmp_path, example)

    [finding] = findings_of(report, "special-token")
    assert token in finding.message


def test_validate_accepts_text_that_only_looks_like_markup(tmp_path: Path) -> None:
    example = chat_example(50)
    example["messages"][1]["content"] = "Is <|bike|> or <| endoftext |> a problem? a<|b"
    assert findings_of(validate_line(tmp_path, example), "special-token") == []


def test_validate_reports_legacy_prompt_completion_lines(tmp_path: Path) -> None:
    report = validate_line(tmp_path, {"prompt": "Hi", "completion": "Hello"})

    [finding] = findings_of(report, "missing-messages")
    assert (finding.line, finding.field) == (3, "messages")
    assert "legacy" in finding.message


def test_validate_reports_an_object_that_is_neither_chat_nor_dpo(tmp_path: Path) -> None:
    report = validate_line(tmp_path, {"text": "Hello"})

    [finding] = findings_of(report, "missing-messages")
    assert (finding.line, finding.field) == (3, "messages")


@pytest.mark.parametrize(
    ("line", "names"),
    [
        ("[1, 2]", ("array", "list")),
        ('"just text"', ("string", "str")),
        ("42", ("number", "int")),
        ("null", ("null",)),
    ],
)
def test_validate_names_the_json_type_of_a_line_that_is_not_an_object(
    tmp_path: Path, line: str, names: tuple[str, ...]
) -> None:
    report = validate_line(tmp_path, line)

    [finding] = findings_of(report, "not-an-object")
    assert finding.line == 3
    assert any(name in finding.message for name in names), finding.message


def test_validate_reports_missing_system_message_only_where_missing(tmp_path: Path) -> None:
    lines = chat_examples(12)
    lines[4] = chat_example(99, system=None)
    lines[8] = chat_example(98, system=None)
    report = validate(write_jsonl(tmp_path / "train.jsonl", lines))

    assert [f.line for f in findings_of(report, "missing-system-message")] == [5, 9]
    assert kinds_of(report, "error") == set()
