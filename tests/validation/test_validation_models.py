"""The validator against each model: limits, encodings, training methods, fine-tuned ids."""

from __future__ import annotations

from pathlib import Path

import pytest
from _validation_data import (  # type: ignore[import-not-found, unused-ignore]
    as_json,
    chat_example,
    chat_examples,
    dpo_example,
    findings_of,
    tiktoken_encoding,
    validate,
    with_line,
    write_jsonl,
)

from ftflow.catalog import CATALOG, UnknownModelError


@pytest.mark.parametrize("model", sorted(CATALOG))
def test_validate_runs_for_every_catalog_model(tmp_path: Path, model: str) -> None:
    path = write_jsonl(tmp_path / "train.jsonl", chat_examples(12))
    report = validate(path, model=model)

    facts = CATALOG[model]
    assert (report.model, report.base_model) == (model, model)
    assert report.encoding == facts.encoding
    assert report.max_example_tokens == facts.max_example_tokens
    unsupported = findings_of(report, "method-unsupported")
    assert report.ok == ("supervised" in facts.methods)
    assert len(unsupported) == (0 if "supervised" in facts.methods else 1)


@pytest.mark.parametrize(
    "model",
    [
        "gpt-4o-mini-2024-07-18.ft-0e208cf33a6a466994aff31a08aba678",
        "gpt-4o-mini-2024-07-18.ft-0e208cf33a6a466994aff31a08aba678:ckpt-step-90",
    ],
)
def test_validate_resolves_a_fine_tuned_model_to_its_base(tmp_path: Path, model: str) -> None:
    report = validate(write_jsonl(tmp_path / "train.jsonl", chat_examples(12)), model=model)

    assert report.model == model
    assert report.base_model == "gpt-4o-mini-2024-07-18"
    assert report.ok
    assert as_json(report)["stats"]["base_model"] == "gpt-4o-mini-2024-07-18"


def test_validate_refuses_an_unknown_model_listing_the_known_ones(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "train.jsonl", chat_examples(12))
    with pytest.raises(UnknownModelError) as raised:
        validate(path, model="gpt-5-turbo")

    message = str(raised.value)
    assert "'gpt-5-turbo'" in message
    for known in CATALOG:
        assert known in message


def test_unknown_model_is_refused_before_files_are_read(tmp_path: Path) -> None:
    with pytest.raises(UnknownModelError):
        validate(tmp_path / "missing.jsonl", model="davinci-002")


@pytest.mark.parametrize(
    ("model", "ok"),
    [
        ("gpt-4o-2024-08-06", True),
        ("gpt-4.1-2025-04-14", True),
        ("gpt-4.1-mini-2025-04-14", True),
        ("gpt-4.1-mini-2025-04-14.ft-abcdef12", True),
        ("gpt-4o-mini-2024-07-18", False),
        ("gpt-35-turbo-0125", False),
        ("o4-mini-2025-04-16", False),
    ],
)
def test_dpo_data_needs_a_model_that_trains_with_dpo(tmp_path: Path, model: str, ok: bool) -> None:
    path = write_jsonl(tmp_path / "train.jsonl", [dpo_example(i) for i in range(12)])
    report = validate(path, model=model)

    assert report.ok == ok
    found = findings_of(report, "method-unsupported")
    if ok:
        assert found == []
    else:
        [finding] = found
        assert (finding.file, finding.line, finding.field) == (str(path), None, None)
        assert "dpo" in finding.message
        assert CATALOG[report.base_model].name in finding.message


def test_o4_mini_refuses_chat_data_it_cannot_train_on(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "train.jsonl", chat_examples(12))
    report = validate(path, model="o4-mini-2025-04-16")

    [finding] = findings_of(report, "method-unsupported")
    assert "supervised" in finding.message
    assert "reinforcement" in finding.message
    assert not report.ok


def test_the_token_limit_is_the_models(tmp_path: Path) -> None:
    # ~20,000 tokens: over gpt-35-turbo's 16,385, far under gpt-4o-mini's 65,536.
    big = chat_example(99)
    big["messages"][1]["content"] = "gear " * 20_000
    path = write_jsonl(tmp_path / "train.jsonl", with_line(chat_examples(12), 2, big))

    small_model = validate(path, model="gpt-35-turbo-0125")
    large_model = validate(path, model="gpt-4o-mini-2024-07-18")

    [finding] = findings_of(small_model, "too-many-tokens")
    assert finding.line == 2
    assert findings_of(large_model, "too-many-tokens") == []
    assert findings_of(large_model, "long-example") == []
    assert large_model.ok


def test_gpt_4_1_nano_has_the_smaller_limit(tmp_path: Path) -> None:
    o200k = tiktoken_encoding("o200k_base")
    big = chat_example(99)
    big["messages"][1]["content"] = "gear " * 40_000
    tokens = 3 + sum(
        3 + len(o200k.encode_ordinary(m["role"])) + len(o200k.encode_ordinary(m["content"]))
        for m in big["messages"]
    )
    assert 32_768 < tokens < 0.8 * 65_536
    path = write_jsonl(tmp_path / "train.jsonl", with_line(chat_examples(12), 5, big))

    nano = validate(path, model="gpt-4.1-nano-2025-04-14")
    [finding] = findings_of(nano, "too-many-tokens")
    assert finding.line == 5
    assert f"{tokens:,} tokens" in finding.message
    assert "32,768" in finding.message
    assert validate(path, model="gpt-4.1-2025-04-14").ok
