"""Whole files: line endings, BOM, final newline, blank lines, capping, chunked parallel scans."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from _validation_data import (  # type: ignore[import-not-found, unused-ignore]
    Example,
    Line,
    as_json,
    chat_example,
    chat_examples,
    dpo_example,
    encode_line,
    findings_of,
    kinds_of,
    tool_call_example,
    validate,
    write_jsonl,
)

from ftflow.validation import (
    UnreadableInputError,
    ValidationOptions,
    ValidationReport,
)


def mixed_examples(count: int) -> list[Example]:
    """Plain and tool-calling examples, all valid and distinct."""
    return [tool_call_example(i) if i % 3 == 0 else chat_example(i) for i in range(count)]


def figures(report: ValidationReport) -> tuple[object, ...]:
    training = report.files[0]
    return (training.tokens, training.trainable_tokens, training.messages, report.billing)


# ---------------------------------------------------------------------- acceptance


@pytest.mark.parametrize(
    ("newline", "bom", "final_newline", "warnings"),
    [
        (b"\r\n", False, True, {"crlf"}),
        (b"\n", True, True, {"bom"}),
        (b"\n", False, False, set()),
        (b"\r\n", True, False, {"crlf", "bom"}),
    ],
    ids=["crlf", "bom", "no-final-newline", "all-three"],
)
def test_validate_accepts_crlf_bom_and_missing_final_newline(
    tmp_path: Path, newline: bytes, bom: bool, final_newline: bool, warnings: set[str]
) -> None:
    examples = mixed_examples(120)
    reference = validate(write_jsonl(tmp_path / "lf.jsonl", examples))
    variant = write_jsonl(
        tmp_path / "variant.jsonl", examples, newline=newline, bom=bom, final_newline=final_newline
    )
    report = validate(variant)

    assert reference.findings == []
    assert report.ok
    assert kinds_of(report) == warnings
    assert kinds_of(report, "error") == set()
    assert figures(report) == figures(reference)
    assert report.files[0].tokens.examples == 120
    assert report.files[0].lines == 120


def test_crlf_warning_counts_the_lines_and_points_at_the_first(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "train.jsonl", chat_examples(15), newline=b"\r\n")
    [finding] = findings_of(validate(path), "crlf")
    assert finding.line == 1
    assert "15 lines" in finding.message


def test_validate_accepts_a_crlf_blank_line_at_the_end(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "train.jsonl", [*chat_examples(12), ""], newline=b"\r\n")
    report = validate(path)

    assert report.ok
    assert [f.line for f in findings_of(report, "trailing-blank-line")] == [13]


def test_validate_reports_every_blank_line_inside_the_file(tmp_path: Path) -> None:
    lines: list[Line] = list(chat_examples(12))
    lines[2:2] = ["", "   "]  # lines 3 and 4
    lines.insert(9, "\t")  # line 10
    report = validate(write_jsonl(tmp_path / "train.jsonl", lines))

    assert [f.line for f in findings_of(report, "blank-line")] == [3, 4, 10]
    assert findings_of(report, "trailing-blank-line") == []
    assert not report.ok


def test_trailing_blank_lines_split_across_chunks_are_still_trailing(tmp_path: Path) -> None:
    # The chunk plan cuts the file inside its three final blank lines: whichever chunk
    # they fall in, blank lines at the end of the file are a warning, not an error.
    body = write_jsonl(tmp_path / "body.part", chat_examples(30)).read_bytes()
    path = tmp_path / "train.jsonl"
    path.write_bytes(body + b"\n\n\n")
    options = ValidationOptions(workers=1, chunk_bytes=len(body) + 1)
    report = validate(path, options=options)

    assert [f.line for f in findings_of(report, "trailing-blank-line")] == [31, 32, 33]
    assert findings_of(report, "blank-line") == []
    assert report.ok


def test_a_bom_is_only_accepted_at_the_start_of_the_file(tmp_path: Path) -> None:
    lines: list[Line] = list(chat_examples(12))
    lines[4] = b"\xef\xbb\xbf" + b'{"messages": []}'
    report = validate(write_jsonl(tmp_path / "train.jsonl", lines))

    assert findings_of(report, "bom") == []
    assert [f.line for f in findings_of(report, "invalid-json")] == [5]


def test_an_empty_file_has_too_few_examples(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"")
    report = validate(path)

    [finding] = findings_of(report, "too-few-examples")
    assert "0 examples" in finding.message
    assert report.files[0].format is None
    assert not report.ok


def test_max_file_size_defaults_to_512_mib() -> None:
    assert ValidationOptions().max_file_bytes == 512 * 1024 * 1024


def test_a_file_at_the_size_limit_is_accepted(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "train.jsonl", chat_examples(12))
    options = ValidationOptions(workers=1, max_file_bytes=path.stat().st_size)
    assert findings_of(validate(path, options=options), "file-too-large") == []


def test_a_too_large_validation_file_fails_the_data(tmp_path: Path) -> None:
    training = write_jsonl(tmp_path / "train.jsonl", chat_examples(12))
    validation = write_jsonl(tmp_path / "valid.jsonl", chat_examples(40, start=100))
    limit = validation.stat().st_size - 1
    assert training.stat().st_size <= limit
    report = validate(
        training, validation=validation, options=ValidationOptions(workers=1, max_file_bytes=limit)
    )

    [finding] = findings_of(report, "file-too-large")
    assert finding.file == str(validation)
    assert not report.ok


@pytest.mark.parametrize("which", ["training", "validation"])
def test_a_missing_file_is_unreadable_input_not_a_finding(tmp_path: Path, which: str) -> None:
    present = write_jsonl(tmp_path / "train.jsonl", chat_examples(12))
    missing = tmp_path / "nowhere.jsonl"
    training, validation = (missing, None) if which == "training" else (present, missing)
    with pytest.raises(UnreadableInputError, match=r"nowhere\.jsonl: no such file"):
        validate(training, validation=validation)


def test_a_directory_is_unreadable_input(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInputError, match="not a file"):
        validate(tmp_path)


# ---------------------------------------------------------------------- formats


def test_format_is_detected_per_file(tmp_path: Path) -> None:
    chat = write_jsonl(tmp_path / "chat.jsonl", chat_examples(12))
    dpo = write_jsonl(tmp_path / "dpo.jsonl", [dpo_example(i) for i in range(12)])

    assert validate(chat).format == "chat"
    dpo_report = validate(dpo, model="gpt-4o-2024-08-06")
    assert dpo_report.format == "dpo"
    assert dpo_report.ok


def test_a_dpo_validation_file_for_chat_training_is_mixed_format(tmp_path: Path) -> None:
    training = write_jsonl(tmp_path / "train.jsonl", chat_examples(12))
    validation = write_jsonl(tmp_path / "valid.jsonl", [dpo_example(i) for i in range(10)])
    report = validate(training, validation=validation, model="gpt-4o-2024-08-06")

    [finding] = findings_of(report, "mixed-format")
    assert finding.file == str(validation)
    assert finding.line is None
    assert "dpo" in finding.message
    assert "chat" in finding.message
    assert not report.ok


def test_every_example_of_the_minority_format_is_reported(tmp_path: Path) -> None:
    lines: list[Line] = list(chat_examples(40))
    for i in range(0, 40, 8):
        lines[i] = dpo_example(i)
    report = validate(write_jsonl(tmp_path / "train.jsonl", lines))

    assert report.format == "chat"
    assert [f.line for f in findings_of(report, "mixed-format")] == [1, 9, 17, 25, 33]


def test_mixed_format_lines_beyond_the_cap_are_counted(tmp_path: Path) -> None:
    lines: list[Line] = [*chat_examples(50), *(dpo_example(i) for i in range(30))]
    report = validate(write_jsonl(tmp_path / "train.jsonl", lines))

    training = report.files[0]
    assert len(findings_of(report, "mixed-format")) == 20
    assert training.counts["mixed-format"] == 30
    assert training.omitted["mixed-format"] == 10
    assert training.errors == 30


# ---------------------------------------------------------------------- duplicates, overlap


def test_duplicates_point_at_the_first_occurrence(tmp_path: Path) -> None:
    examples = chat_examples(12)
    near = copy.deepcopy(examples[2])
    near["messages"][2]["content"] = near["messages"][2]["content"].lower() + "  "
    lines = [*examples, examples[2], examples[2], near, examples[5]]
    report = validate(write_jsonl(tmp_path / "train.jsonl", lines))

    assert [(f.line, f.message) for f in findings_of(report, "duplicate-example")] == [
        (13, "same as line 3"),
        (14, "same as line 3"),
        (16, "same as line 6"),
    ]
    [near_finding] = findings_of(report, "near-duplicate-example")
    assert near_finding.line == 15
    assert "line 3" in near_finding.message
    assert report.ok


def test_overlap_is_reported_in_the_validation_file_for_each_shared_example(
    tmp_path: Path,
) -> None:
    training = write_jsonl(tmp_path / "train.jsonl", chat_examples(12))
    shared = [chat_example(7), chat_example(100), chat_example(0), *chat_examples(9, start=101)]
    validation = write_jsonl(tmp_path / "valid.jsonl", shared)
    report = validate(training, validation=validation)

    found = findings_of(report, "train-validation-overlap")
    assert [(f.file, f.line) for f in found] == [(str(validation), 1), (str(validation), 3)]
    assert "line 8" in found[0].message
    assert "line 1" in found[1].message
    assert report.ok
    assert set(as_json(report)["stats"]["files"]) == {"training", "validation"}


def test_few_examples_is_only_a_training_file_warning(tmp_path: Path) -> None:
    training = write_jsonl(tmp_path / "train.jsonl", chat_examples(150))
    validation = write_jsonl(tmp_path / "valid.jsonl", chat_examples(12, start=500))
    report = validate(training, validation=validation)

    assert findings_of(report, "few-examples") == []
    assert report.findings == []
    assert report.ok


# ---------------------------------------------------------------------- capping


def fifty_unknown_roles() -> list[Example]:
    examples: list[Example] = chat_examples(60)
    for example in examples[:50]:
        example["messages"][1]["role"] = "customer"
    return examples


def test_findings_are_capped_per_kind_with_a_count_of_the_rest(tmp_path: Path) -> None:
    report = validate(write_jsonl(tmp_path / "train.jsonl", fifty_unknown_roles()))

    training = report.files[0]
    kept = findings_of(report, "unknown-role")
    assert [f.line for f in kept] == list(range(1, 21))
    assert training.counts["unknown-role"] == 50
    assert training.omitted == {"unknown-role": 30}
    assert training.errors == 50
    document = as_json(report)
    stats = document["stats"]["files"]["training"]
    assert stats["findings_by_kind"]["unknown-role"] == 50
    assert stats["findings_omitted"] == {"unknown-role": 30}
    assert stats["errors"] == 50
    assert len([f for f in document["findings"] if f["kind"] == "unknown-role"]) == 20


def test_the_cap_is_an_option_and_applies_to_each_kind(tmp_path: Path) -> None:
    examples = fifty_unknown_roles()
    for example in examples[50:]:
        del example["messages"][0]  # ten examples without a system message
    options = ValidationOptions(workers=1, cap=5)
    report = validate(write_jsonl(tmp_path / "train.jsonl", examples), options=options)

    training = report.files[0]
    assert len(findings_of(report, "unknown-role")) == 5
    assert len(findings_of(report, "missing-system-message")) == 5
    assert training.omitted == {"unknown-role": 45, "missing-system-message": 5}
    assert (training.errors, training.warnings) == (50, 11)  # with few-examples


# ---------------------------------------------------------------------- chunks and processes


def chunky_lines() -> list[Line]:
    """A few hundred lines with problems spread over the whole file."""
    lines: list[Line] = list(mixed_examples(300))
    for i in range(7, 300, 41):
        bad = chat_example(1000 + i)
        bad["messages"][1]["role"] = "customer"
        lines[i] = bad
    for i in range(11, 300, 53):
        lines[i] = "{broken"
    lines[150] = ""
    lines[260] = copy.deepcopy(lines[2])  # an exact duplicate far from its original
    near = copy.deepcopy(lines[4])
    assert isinstance(near, dict)
    near["messages"][1]["content"] = near["messages"][1]["content"].upper()
    lines[280] = near
    lines.append(lines[290])
    return lines


@pytest.mark.timeout(120)
def test_a_chunked_parallel_scan_equals_the_single_process_scan(tmp_path: Path) -> None:
    training = write_jsonl(tmp_path / "train.jsonl", chunky_lines(), newline=b"\r\n")
    validation = write_jsonl(tmp_path / "valid.jsonl", [*chat_examples(40, 2000), chat_example(10)])
    chunk = 2048
    assert training.stat().st_size > 20 * chunk  # many chunks, so the pool is used

    single = validate(training, validation=validation)
    parallel = validate(
        training,
        validation=validation,
        options=ValidationOptions(workers=2, chunk_bytes=chunk),
    )

    assert parallel.as_dict() == single.as_dict()
    assert [(f.line, f.message) for f in findings_of(parallel, "duplicate-example")] == [
        (261, "same as line 3"),
        (301, "same as line 291"),
    ]
    assert [f.line for f in findings_of(parallel, "near-duplicate-example")] == [281]
    assert [f.line for f in findings_of(parallel, "blank-line")] == [151]
    assert [f.line for f in findings_of(parallel, "unknown-role")] == list(range(8, 301, 41))
    assert [f.line for f in findings_of(parallel, "invalid-json")] == list(range(12, 301, 53))
    assert [f.line for f in findings_of(parallel, "train-validation-overlap")] == [41]
    assert "line 11" in findings_of(parallel, "train-validation-overlap")[0].message
    [crlf] = findings_of(parallel, "crlf")
    assert (crlf.line, crlf.message) == (1, "301 lines end with CRLF")
    training_report = parallel.files[0]
    assert training_report.lines == 301
    assert training_report.tokens.examples == 301 - 1 - 6


@pytest.mark.timeout(120)
def test_capping_is_the_same_in_chunks(tmp_path: Path) -> None:
    examples = chat_examples(400)
    for example in examples[::4]:
        example["messages"][1]["role"] = "customer"
    path = write_jsonl(tmp_path / "train.jsonl", examples)

    single = validate(path)
    chunked = validate(path, options=ValidationOptions(workers=2, chunk_bytes=1024))

    assert chunked.as_dict() == single.as_dict()
    assert [f.line for f in findings_of(chunked, "unknown-role")] == list(range(1, 80, 4))
    assert chunked.files[0].omitted == {"unknown-role": 80}


# ---------------------------------------------------------------------- JSON spelling


# write_jsonl spells examples as json.dumps(example, ensure_ascii=False); each of these
# changes one thing only.
def _reordered(example: Example) -> str:
    messages = [dict(reversed(list(m.items()))) for m in example["messages"]]
    return json.dumps({"messages": messages}, ensure_ascii=False)


def _unicode_escaped(example: Example) -> str:
    return json.dumps(example)


def _compact(example: Example) -> str:
    return json.dumps(example, ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize(
    "respell", [_reordered, _unicode_escaped, _compact], ids=["key-order", "unicode", "compact"]
)
def test_the_same_example_spelled_differently_is_a_duplicate(
    tmp_path: Path, respell: Callable[[Example], str]
) -> None:
    examples = chat_examples(12)
    examples[3]["messages"][1]["content"] += " Is the café open on Sunday?"
    respelled = respell(examples[3])
    assert respelled.encode() != encode_line(examples[3])
    assert json.loads(respelled) == examples[3]
    report = validate(write_jsonl(tmp_path / "train.jsonl", [*examples, respelled]))

    found = findings_of(report, "duplicate-example") + findings_of(report, "near-duplicate-example")
    assert [(f.line, "line 4" in f.message) for f in found] == [(13, True)]


@pytest.mark.parametrize("respell", [_reordered, _unicode_escaped], ids=["key-order", "unicode"])
def test_overlap_is_found_whatever_the_json_spelling(
    tmp_path: Path, respell: Callable[[Example], str]
) -> None:
    examples = chat_examples(12)
    examples[3]["messages"][1]["content"] += " Is the café open on Sunday?"
    training = write_jsonl(tmp_path / "train.jsonl", examples)
    validation = write_jsonl(
        tmp_path / "valid.jsonl", [*chat_examples(10, start=100), respell(examples[3])]
    )
    report = validate(training, validation=validation)

    [overlap] = findings_of(report, "train-validation-overlap")
    assert (overlap.file, overlap.line) == (str(validation), 11)


# ---------------------------------------------------------------------- thresholds


@pytest.mark.parametrize(
    ("count", "kinds"),
    [
        (9, {"too-few-examples"}),
        (10, {"few-examples"}),
        (99, {"few-examples"}),
        (100, set()),
    ],
)
def test_example_count_thresholds(tmp_path: Path, count: int, kinds: set[str]) -> None:
    report = validate(write_jsonl(tmp_path / "train.jsonl", chat_examples(count)))

    assert kinds_of(report) == kinds
    assert report.ok == (count >= 10)


@pytest.mark.timeout(120)
def test_a_parallel_scan_from_a_worker_thread_gives_the_same_report(tmp_path: Path) -> None:
    # The flow's validate task calls the same function from a task-runner thread.
    path = write_jsonl(tmp_path / "train.jsonl", chunky_lines())
    single = validate(path)
    options = ValidationOptions(workers=2, chunk_bytes=2048)
    with ThreadPoolExecutor(max_workers=2) as threads:
        busy = threads.submit(lambda: [validate(path) for _ in range(5)])
        parallel = threads.submit(validate, path, options=options).result(timeout=100)
        busy.result(timeout=100)

    assert parallel.as_dict() == single.as_dict()
