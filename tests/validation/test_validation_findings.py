"""One test per finding kind: each writes a file with exactly that problem at a known place.

:data:`CASES` maps every kind in :data:`ftflow.validation.KINDS` to a function that writes the
data and says where the finding must be; ``test_every_finding_kind_has_a_case`` keeps the two
in step, so a new kind cannot go untested.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
from _validation_data import (  # type: ignore[import-not-found, unused-ignore]
    MODEL,
    Example,
    Line,
    as_json,
    chat_example,
    chat_examples,
    dpo_example,
    findings_of,
    kinds_of,
    tiktoken_encoding,
    tool_call_example,
    validate,
    with_line,
    write_jsonl,
)

from ftflow.validation import KINDS, ValidationOptions

Role = Literal["training", "validation"]


@dataclass(frozen=True)
class Scenario:
    """The files one case writes and how to validate them."""

    training: Path
    validation: Path | None = None
    model: str = MODEL
    options: ValidationOptions = field(default_factory=lambda: ValidationOptions(workers=1))


@dataclass(frozen=True)
class Expect:
    """Where the (first) finding of the kind must be, and what its message must say."""

    line: int | None
    field: str | None
    fragments: tuple[str, ...]
    role: Role = "training"
    count: int = 1
    # Other error kinds the data legitimately causes besides the one under test.
    also: frozenset[str] = frozenset()


Case = Callable[[Path], tuple[Scenario, Expect]]
CASES: dict[str, Case] = {}

BAD_LINE = 4  # where the offending line goes among valid examples


def case(kind: str) -> Callable[[Case], Case]:
    def register(function: Case) -> Case:
        assert kind not in CASES, f"two cases for {kind}"
        CASES[kind] = function
        return function

    return register


def train_with(tmp_path: Path, bad: Line, *, valid: list[Example] | None = None) -> Path:
    """12 valid chat examples (or ``valid``) with ``bad`` as line :data:`BAD_LINE`."""
    lines = with_line(valid if valid is not None else chat_examples(12), BAD_LINE, bad)
    path: Path = write_jsonl(tmp_path / "train.jsonl", lines)
    return path


def cl100k_tokens(text: str) -> int:
    return len(tiktoken_encoding("cl100k_base").encode_ordinary(text))


# ---------------------------------------------------------------------- the file as a whole


@case("file-too-large")
def _file_too_large(tmp_path: Path) -> tuple[Scenario, Expect]:
    path = write_jsonl(tmp_path / "train.jsonl", chat_examples(12))
    size = path.stat().st_size
    options = ValidationOptions(workers=1, max_file_bytes=size - 1)
    return Scenario(path, options=options), Expect(None, None, (f"{size:,} bytes",))


@case("too-few-examples")
def _too_few_examples(tmp_path: Path) -> tuple[Scenario, Expect]:
    path = write_jsonl(tmp_path / "train.jsonl", chat_examples(9))
    return Scenario(path), Expect(None, None, ("9 examples",))


@case("mixed-format")
def _mixed_format(tmp_path: Path) -> tuple[Scenario, Expect]:
    path = train_with(tmp_path, dpo_example(3))
    return Scenario(path), Expect(BAD_LINE, None, ("dpo", "chat"))


@case("method-unsupported")
def _method_unsupported(tmp_path: Path) -> tuple[Scenario, Expect]:
    path = write_jsonl(tmp_path / "train.jsonl", [dpo_example(i) for i in range(12)])
    expect = Expect(None, None, ("dpo", "gpt-4o-mini-2024-07-18", "supervised"))
    return Scenario(path, model="gpt-4o-mini-2024-07-18"), expect


# ---------------------------------------------------------------------- one line


@case("invalid-utf8")
def _invalid_utf8(tmp_path: Path) -> tuple[Scenario, Expect]:
    bad = b'{"messages": [{"role": "user", "content": "caf\xe9 au lait?"}]}'  # latin-1 e-acute
    position = bad.index(b"\xe9") + 1
    return Scenario(train_with(tmp_path, bad)), Expect(BAD_LINE, None, (f"byte {position}",))


@case("invalid-json")
def _invalid_json(tmp_path: Path) -> tuple[Scenario, Expect]:
    bad = '{"messages": [{"role": "user", "content": "Hi"}'  # cut short
    return Scenario(train_with(tmp_path, bad)), Expect(BAD_LINE, None, ("not valid JSON",))


@case("not-an-object")
def _not_an_object(tmp_path: Path) -> tuple[Scenario, Expect]:
    bad = '[{"role": "user", "content": "Hi"}]'
    return Scenario(train_with(tmp_path, bad)), Expect(BAD_LINE, None, ("array",))


@case("blank-line")
def _blank_line(tmp_path: Path) -> tuple[Scenario, Expect]:
    return Scenario(train_with(tmp_path, "")), Expect(BAD_LINE, None, ("blank line",))


# ---------------------------------------------------------------------- one chat example


@case("missing-messages")
def _missing_messages(tmp_path: Path) -> tuple[Scenario, Expect]:
    bad = {"prompt": "How do I fix a flat?", "completion": "Patch the tube."}
    expect = Expect(BAD_LINE, "messages", ("prompt/completion",))
    return Scenario(train_with(tmp_path, bad)), expect


@case("invalid-message")
def _invalid_message(tmp_path: Path) -> tuple[Scenario, Expect]:
    bad = chat_example(50)
    bad["messages"][1] = "How do I fix a flat?"
    return Scenario(train_with(tmp_path, bad)), Expect(BAD_LINE, "messages[1]", ("object",))


@case("unknown-key")
def _unknown_key(tmp_path: Path) -> tuple[Scenario, Expect]:
    bad = chat_example(50)
    bad["messages"][1]["temperature"] = 0.2
    expect = Expect(BAD_LINE, "messages[1].temperature", ("'temperature'",))
    return Scenario(train_with(tmp_path, bad)), expect


@case("unknown-role")
def _unknown_role(tmp_path: Path) -> tuple[Scenario, Expect]:
    bad = chat_example(50)
    bad["messages"][1]["role"] = "customer"
    expect = Expect(BAD_LINE, "messages[1].role", ("'customer'",))
    return Scenario(train_with(tmp_path, bad)), expect


@case("missing-content")
def _missing_content(tmp_path: Path) -> tuple[Scenario, Expect]:
    bad = chat_example(50)
    bad["messages"][1]["content"] = ""
    expect = Expect(BAD_LINE, "messages[1].content", ("user message",))
    return Scenario(train_with(tmp_path, bad)), expect


@case("uncountable-content")
def _uncountable_content(tmp_path: Path) -> tuple[Scenario, Expect]:
    bad = chat_example(50)
    bad["messages"][1]["content"] = [
        {"type": "text", "text": "Which part is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/part.png"}},
    ]
    expect = Expect(BAD_LINE, "messages[1].content[1]", ("image",))
    return Scenario(train_with(tmp_path, bad)), expect


@case("no-trainable-assistant")
def _no_trainable_assistant(tmp_path: Path) -> tuple[Scenario, Expect]:
    bad = chat_example(50)
    bad["messages"][2]["weight"] = 0
    expect = Expect(BAD_LINE, "messages", ("no assistant message",))
    return Scenario(train_with(tmp_path, bad)), expect


@case("invalid-weight")
def _invalid_weight(tmp_path: Path) -> tuple[Scenario, Expect]:
    bad = chat_example(50)
    bad["messages"][2]["weight"] = 2
    expect = Expect(BAD_LINE, "messages[2].weight", ("weight is 2",))
    return Scenario(train_with(tmp_path, bad)), expect


@case("invalid-tools")
def _invalid_tools(tmp_path: Path) -> tuple[Scenario, Expect]:
    bad = chat_example(50)
    bad["tools"] = [{"type": "function", "function": {"description": "Look up stock."}}]
    expect = Expect(BAD_LINE, "tools[0].function.name", ("name",))
    return Scenario(train_with(tmp_path, bad)), expect


@case("invalid-tool-call")
def _invalid_tool_call(tmp_path: Path) -> tuple[Scenario, Expect]:
    bad = tool_call_example(50)
    bad["messages"][2]["tool_calls"][0]["function"]["arguments"] = {"sku": "SKU-50"}
    field_path = "messages[2].tool_calls[0].function.arguments"
    return Scenario(train_with(tmp_path, bad)), Expect(BAD_LINE, field_path, ("JSON string",))


@case("unanswered-tool-call")
def _unanswered_tool_call(tmp_path: Path) -> tuple[Scenario, Expect]:
    bad = tool_call_example(50)
    del bad["messages"][3]  # the tool message answering call_50
    expect = Expect(BAD_LINE, "messages[2].tool_calls[0]", ("call_50",))
    return Scenario(train_with(tmp_path, bad)), expect


@case("unknown-tool-call-id")
def _unknown_tool_call_id(tmp_path: Path) -> tuple[Scenario, Expect]:
    bad = tool_call_example(50)
    bad["messages"].insert(4, {"role": "tool", "tool_call_id": "call_999", "content": "{}"})
    expect = Expect(BAD_LINE, "messages[4].tool_call_id", ("'call_999'",))
    return Scenario(train_with(tmp_path, bad)), expect


@case("special-token")
def _special_token(tmp_path: Path) -> tuple[Scenario, Expect]:
    bad = chat_example(50)
    bad["messages"][1]["content"] = "What does <|endoftext|> mean on my bike computer?"
    expect = Expect(BAD_LINE, "messages[1].content", ("<|endoftext|>",))
    return Scenario(train_with(tmp_path, bad)), expect


@case("too-many-tokens")
def _too_many_tokens(tmp_path: Path) -> tuple[Scenario, Expect]:
    # gpt-35-turbo-0125 takes 16,385 tokens per example.
    bad = chat_example(50)
    bad["messages"][1]["content"] = "bike " * 17_000
    tokens = 3 + sum(
        3 + cl100k_tokens(m["role"]) + cl100k_tokens(m["content"]) for m in bad["messages"]
    )
    expect = Expect(BAD_LINE, None, (f"{tokens:,} tokens", "16,385"))
    return Scenario(train_with(tmp_path, bad), model="gpt-35-turbo-0125"), expect


# ---------------------------------------------------------------------- one DPO example


@case("invalid-dpo-output")
def _invalid_dpo_output(tmp_path: Path) -> tuple[Scenario, Expect]:
    bad = dpo_example(50)
    del bad["non_preferred_output"]
    path = train_with(tmp_path, bad, valid=[dpo_example(i) for i in range(12)])
    expect = Expect(BAD_LINE, "non_preferred_output", ("non_preferred_output is missing",))
    return Scenario(path, model="gpt-4o-2024-08-06"), expect


# ---------------------------------------------------------------------- warnings


@case("few-examples")
def _few_examples(tmp_path: Path) -> tuple[Scenario, Expect]:
    path = write_jsonl(tmp_path / "train.jsonl", chat_examples(12))
    return Scenario(path), Expect(None, None, ("12 examples",))


@case("duplicate-example")
def _duplicate_example(tmp_path: Path) -> tuple[Scenario, Expect]:
    examples = chat_examples(12)
    path = train_with(tmp_path, copy.deepcopy(examples[0]), valid=examples)
    return Scenario(path), Expect(BAD_LINE, None, ("same as line 1",))


@case("near-duplicate-example")
def _near_duplicate_example(tmp_path: Path) -> tuple[Scenario, Expect]:
    examples = chat_examples(12)
    bad = copy.deepcopy(examples[0])
    user = bad["messages"][1]
    user["content"] = "  " + user["content"].upper().replace(" ", "   ")
    path = train_with(tmp_path, bad, valid=examples)
    return Scenario(path), Expect(BAD_LINE, None, ("same as line 1", "case or spacing"))


@case("train-validation-overlap")
def _train_validation_overlap(tmp_path: Path) -> tuple[Scenario, Expect]:
    training = write_jsonl(tmp_path / "train.jsonl", chat_examples(12))
    held_out = with_line(chat_examples(10, start=100), 2, chat_example(2))  # training line 3
    validation = write_jsonl(tmp_path / "valid.jsonl", held_out)
    expect = Expect(2, None, (str(training), "line 3"), role="validation")
    return Scenario(training, validation), expect


@case("missing-system-message")
def _missing_system_message(tmp_path: Path) -> tuple[Scenario, Expect]:
    path = train_with(tmp_path, chat_example(50, system=None))
    return Scenario(path), Expect(BAD_LINE, "messages", ("system message",))


@case("bom")
def _bom(tmp_path: Path) -> tuple[Scenario, Expect]:
    path = write_jsonl(tmp_path / "train.jsonl", chat_examples(12), bom=True)
    return Scenario(path), Expect(1, None, ("byte order mark",))


@case("crlf")
def _crlf(tmp_path: Path) -> tuple[Scenario, Expect]:
    path = tmp_path / "train.jsonl"
    lf = write_jsonl(tmp_path / "head.part", chat_examples(4)).read_bytes()
    crlf = write_jsonl(tmp_path / "tail.part", chat_examples(8, 4), newline=b"\r\n")
    path.write_bytes(lf + crlf.read_bytes())
    return Scenario(path), Expect(5, None, ("8 lines", "CRLF"))


@case("trailing-blank-line")
def _trailing_blank_line(tmp_path: Path) -> tuple[Scenario, Expect]:
    path = write_jsonl(tmp_path / "train.jsonl", [*chat_examples(12), "", "  "])
    return Scenario(path), Expect(13, None, ("end of the file",), count=2)


@case("short-example")
def _short_example(tmp_path: Path) -> tuple[Scenario, Expect]:
    bad = {"messages": [{"role": "assistant", "content": "OK"}]}
    o200k = tiktoken_encoding("o200k_base")
    tokens = 3 + 3 + len(o200k.encode_ordinary("assistant")) + len(o200k.encode_ordinary("OK"))
    return Scenario(train_with(tmp_path, bad)), Expect(BAD_LINE, None, (f"{tokens} tokens",))


@case("long-example")
def _long_example(tmp_path: Path) -> tuple[Scenario, Expect]:
    # Over 80% of gpt-35-turbo-0125's 16,385 tokens, under the limit.
    bad = chat_example(50)
    bad["messages"][1]["content"] = "bike " * 14_000
    tokens = 3 + sum(
        3 + cl100k_tokens(m["role"]) + cl100k_tokens(m["content"]) for m in bad["messages"]
    )
    assert 0.8 * 16_385 < tokens <= 16_385
    expect = Expect(BAD_LINE, None, (f"{tokens:,} tokens",))
    return Scenario(train_with(tmp_path, bad), model="gpt-35-turbo-0125"), expect


# ---------------------------------------------------------------------- the tests


def test_every_finding_kind_has_a_case() -> None:
    assert set(CASES) == set(KINDS)


def test_finding_kinds_are_errors_or_warnings_with_a_hint() -> None:
    for kind, facts in KINDS.items():
        assert facts.severity in ("error", "warning"), kind
        assert len(facts.hint) > 10, kind


@pytest.mark.parametrize("kind", sorted(CASES))
def test_validate_reports_each_finding_kind_where_it_is(kind: str, tmp_path: Path) -> None:
    scenario, expect = CASES[kind](tmp_path)
    report = validate(
        scenario.training,
        model=scenario.model,
        validation=scenario.validation,
        options=scenario.options,
    )

    found = findings_of(report, kind)
    assert len(found) == expect.count, [f.as_dict() for f in report.findings]
    finding = found[0]
    target = scenario.training if expect.role == "training" else scenario.validation
    assert finding.file == str(target)
    assert finding.severity == KINDS[kind].severity
    assert finding.line == expect.line
    assert finding.field == expect.field
    for fragment in expect.fragments:
        assert fragment in finding.message
    assert finding.hint == KINDS[kind].hint
    # The rest of the data is valid: no other errors, and warnings never fail the data.
    if KINDS[kind].severity == "error":
        assert kinds_of(report, "error") - expect.also == {kind}
        assert not report.ok
    else:
        assert kinds_of(report, "error") == set()
        assert report.ok
    in_json = [f for f in as_json(report)["findings"] if f["kind"] == kind]
    assert in_json[0] == {
        "severity": KINDS[kind].severity,
        "kind": kind,
        "file": str(target),
        "line": expect.line,
        "field": expect.field,
        "message": finding.message,
        "hint": KINDS[kind].hint,
    }
