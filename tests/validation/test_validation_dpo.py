"""DPO (preference) examples: input conversation, preferred and non-preferred outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from _validation_data import (  # type: ignore[import-not-found, unused-ignore]
    Example,
    dpo_example,
    findings_of,
    kinds_of,
    tool_call_example,
    validate,
    with_line,
    write_jsonl,
)

from ftflow.validation import ValidationReport

DPO_MODEL = "gpt-4o-2024-08-06"


def validate_dpo_line(tmp_path: Path, example: Example, at: int = 2) -> ValidationReport:
    lines = with_line([dpo_example(i) for i in range(12)], at, example)
    report: ValidationReport = validate(
        write_jsonl(tmp_path / "train.jsonl", lines), model=DPO_MODEL
    )
    return report


def test_validate_accepts_dpo_with_tools_and_tool_calls_in_the_outputs(tmp_path: Path) -> None:
    chat = tool_call_example(3)
    example: Example = {
        "input": {"messages": chat["messages"][:2], "tools": chat["tools"]},
        "preferred_output": chat["messages"][2:],
        "non_preferred_output": [{"role": "assistant", "content": "I cannot check stock."}],
    }
    report = validate_dpo_line(tmp_path, example)

    assert kinds_of(report, "error") == set()
    assert report.ok


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("preferred_output", None, "preferred_output is missing"),
        ("preferred_output", [], "not a non-empty list"),
        ("non_preferred_output", "No idea.", "not a non-empty list"),
        (
            "non_preferred_output",
            [{"role": "tool", "content": "x", "tool_call_id": "c"}],
            "no assistant",
        ),
    ],
)
def test_validate_reports_missing_or_malformed_dpo_outputs(
    tmp_path: Path, key: str, value: object, fragment: str
) -> None:
    example = dpo_example(50)
    if value is None:
        del example[key]
    else:
        example[key] = value
    report = validate_dpo_line(tmp_path, example)

    found = findings_of(report, "invalid-dpo-output")
    assert [(f.line, f.field) for f in found] == [(2, key)]
    assert fragment in found[0].message


def test_validate_reports_a_user_message_in_a_dpo_output(tmp_path: Path) -> None:
    example = dpo_example(50)
    example["preferred_output"].append({"role": "user", "content": "And then?"})
    report = validate_dpo_line(tmp_path, example)

    [finding] = findings_of(report, "unknown-role")
    assert (finding.line, finding.field) == (2, "preferred_output[1].role")
    assert "'user'" in finding.message


def test_validate_reports_weight_in_a_dpo_output(tmp_path: Path) -> None:
    example = dpo_example(50)
    example["preferred_output"][0]["weight"] = 1
    report = validate_dpo_line(tmp_path, example)

    [finding] = findings_of(report, "invalid-weight")
    assert (finding.line, finding.field) == (2, "preferred_output[0].weight")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ("input-not-object", "input"),
        ("input-no-messages", "input.messages"),
    ],
)
def test_validate_reports_a_dpo_input_without_messages(
    tmp_path: Path, change: str, field: str
) -> None:
    example = dpo_example(50)
    if change == "input-not-object":
        example["input"] = "How do I fix a flat?"
    else:
        example["input"] = {"prompt": "How do I fix a flat?"}
    report = validate_dpo_line(tmp_path, example)

    assert (2, field) in [(f.line, f.field) for f in findings_of(report, "missing-messages")]


def test_validate_reports_unknown_keys_in_a_dpo_example_and_its_input(tmp_path: Path) -> None:
    example = dpo_example(50)
    example["score"] = 0.9
    example["input"]["temperature"] = 0
    report = validate_dpo_line(tmp_path, example)

    assert sorted((f.line, f.field) for f in findings_of(report, "unknown-key")) == [
        (2, "input.temperature"),
        (2, "score"),
    ]


def test_validate_reports_missing_system_message_at_the_dpo_input(tmp_path: Path) -> None:
    example = dpo_example(50)
    del example["input"]["messages"][0]
    report = validate_dpo_line(tmp_path, example)

    [finding] = findings_of(report, "missing-system-message")
    assert finding.line == 2
    assert finding.field == "input.messages"  # where a DPO example's system message goes


def test_dpo_duplicates_and_overlap_are_found(tmp_path: Path) -> None:
    examples = [dpo_example(i) for i in range(12)]
    training = write_jsonl(tmp_path / "train.jsonl", [*examples, examples[4]])
    validation = write_jsonl(
        tmp_path / "valid.jsonl", [examples[1], *(dpo_example(i) for i in range(100, 110))]
    )
    report = validate(training, validation=validation, model=DPO_MODEL)

    [duplicate] = findings_of(report, "duplicate-example")
    assert (duplicate.line, duplicate.message) == (13, "same as line 5")
    [overlap] = findings_of(report, "train-validation-overlap")
    assert (overlap.file, overlap.line) == (str(validation), 1)
    assert "line 2" in overlap.message
    assert report.ok
