"""The smoke test: every check kind passing and failing, then real deployments on the emulator
asked through the real ``openai`` client, fine-tuned beside base."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

import pytest
from emulator_harness import (  # type: ignore[import-not-found, unused-ignore]
    TOPICS,
    Harness,
    geography,
    start_server,
)

from ftflow.azure.errors import AuthenticationFailed
from ftflow.request import SmokePrompt
from ftflow.smoke import (
    Answer,
    CheckResult,
    PromptResult,
    SmokeReport,
    SmokeTestFailed,
    check_answer,
    run_smoke_test,
)


def _checks(answer: str, latency_ms: float = 10.0, **prompt: Any) -> dict[str, CheckResult]:
    checks = check_answer(SmokePrompt(name="p", prompt="q", **prompt), answer, latency_ms)
    return {check.name: check for check in checks}


def test_check_answer_always_checks_non_empty() -> None:
    assert _checks("Hi there") == {"non-empty": CheckResult("non-empty", True, "8 characters")}
    assert _checks("  \n") == {"non-empty": CheckResult("non-empty", False, "the answer is empty")}


def test_check_answer_contains_is_case_insensitive() -> None:
    checks = _checks("The capital is PARIS.", contains=["paris", "Berlin"])
    assert checks["contains 'paris'"] == CheckResult("contains 'paris'", True, "found")
    assert checks["contains 'Berlin'"] == CheckResult(
        "contains 'Berlin'", False, "not in the answer"
    )


def test_check_answer_not_contains_is_case_insensitive() -> None:
    checks = _checks("As an AI language model, I cannot.", not_contains=["as an ai", "sorry"])
    assert checks["not_contains 'as an ai'"] == CheckResult(
        "not_contains 'as an ai'", False, "found in the answer"
    )
    assert checks["not_contains 'sorry'"] == CheckResult("not_contains 'sorry'", True, "absent")


def test_check_answer_regex() -> None:
    assert _checks("Order #4521 shipped", regex=r"#\d{4}")["regex '#\\\\d{4}'"] == CheckResult(
        "regex '#\\\\d{4}'", True, "matched '#4521'"
    )
    failed = _checks("no number", regex=r"#\d+")["regex '#\\\\d+'"]
    assert failed == CheckResult("regex '#\\\\d+'", False, "no match in the answer")


def test_check_answer__invalid_regex_is_a_failed_check() -> None:
    check = _checks("anything", regex="(unclosed")["regex '(unclosed'"]
    assert not check.passed
    assert check.detail == (
        "invalid regular expression: missing ), unterminated subpattern at position 0"
    )


SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["city", "population"],
}


@pytest.mark.parametrize(
    "answer",
    [
        '{"city": "Paris", "population": 2100000}',
        'Here you go:\n```json\n{"city": "Paris", "population": 2100000}\n```\nAnything else?',
        '```\n{"city": "Paris", "population": 1}\n```',
    ],
)
def test_check_answer_json_schema_passes(answer: str) -> None:
    assert _checks(answer, json_schema=SCHEMA)["json_schema"] == CheckResult(
        "json_schema", True, "the answer matches the schema"
    )


def test_check_answer__json_schema_failures_name_path_and_reason() -> None:
    check = _checks('{"population": "many"}', json_schema=SCHEMA)["json_schema"]
    assert not check.passed
    assert check.detail == (
        "at $: 'city' is a required property; at $.population: 'many' is not of type 'integer'"
    )


def test_check_answer__json_schema_on_an_answer_that_is_not_json() -> None:
    check = _checks("Paris, about two million", json_schema=SCHEMA)["json_schema"]
    assert check == CheckResult(
        "json_schema", False, "the answer is not JSON: Expecting value (line 1, column 1)"
    )


def test_check_answer__invalid_json_schema() -> None:
    check = _checks("{}", json_schema={"type": "nonsense"})["json_schema"]
    assert not check.passed
    assert check.detail.startswith("the JSON schema itself is invalid: 'nonsense' is not valid")


def test_check_answer_max_latency() -> None:
    fast = _checks("ok", 950.4, max_latency_ms=1000)["max_latency_ms"]
    slow = _checks("ok", 1500.0, max_latency_ms=1000)["max_latency_ms"]
    assert fast == CheckResult("max_latency_ms", True, "950 ms, within the 1000 ms limit")
    assert slow == CheckResult("max_latency_ms", False, "1500 ms, over the 1000 ms limit")


def _report(text: str, *checks: CheckResult) -> SmokeReport:
    prompt = SmokePrompt(name="a|b", prompt="q")
    answer = Answer("ft", text, 12.3, 5, 7)
    base = Answer("base", "", 3.0, 5, 0, error="asking deployment 'base': gone")
    return SmokeReport("ft", "base", [PromptResult(prompt, answer, list(checks), base)])


def test_as_rows_truncates_escapes_and_flattens_answers() -> None:
    report = _report("x|y\n" + "z" * 600, CheckResult("non-empty", True, "604 characters"))
    (row,) = report.as_rows()
    assert row["prompt"] == "a\\|b"
    assert row["fine-tuned answer"].startswith("x\\|y zzz")
    assert len(row["fine-tuned answer"]) == 501  # 499 characters, the escape, the ellipsis
    assert row["fine-tuned answer"].endswith("…")
    assert row["base answer"] == "(no answer: asking deployment 'base': gone)"
    assert row["checks"] == "✓ non-empty"
    assert row["verdict"] == "pass"
    assert row["latency"] == "12 ms"


def test_smoke_test_failed_lists_every_failure_and_survives_pickling() -> None:
    report = _report(
        "hello", CheckResult("non-empty", True, "5"), CheckResult("contains 'x'", False, "absent")
    )
    assert not report.passed
    assert report.verdict == "FAILED (0/1 prompts passed)"
    error = SmokeTestFailed.from_report(report)
    assert (
        str(error)
        == "smoke test of deployment 'ft' failed 1 of 1 prompts: a|b: contains 'x': absent"
    )
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes)
    assert (str(copy), copy.failures) == (str(error), ("a|b: contains 'x': absent",))


# -- against the emulator ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """An in-process emulator with a fine-tuned deployment ``ft`` and a base one ``base``."""
    server = start_server("inprocess", tmp_path_factory.mktemp("emulator") / "data")
    harness = Harness(server)
    job = harness.train(harness.v1(), geography(), hyperparameters={"n_epochs": 2})
    assert job.status == "succeeded", job.error
    harness.deploy("ft", job.fine_tuned_model)
    harness.deploy("base", "gpt-4o-mini", "2024-07-18")
    yield harness
    harness.close()
    server.stop()


GLACIER = SmokePrompt(
    name="glacier",
    prompt="What is a glacier?",
    contains=["2 m per day"],
    not_contains=["I cannot"],
    regex=r"\bice\b",
    max_latency_ms=60_000,
)


@pytest.mark.parametrize("style", ["v1", "versioned"])
def test_run_smoke_test_answers_from_training_beside_base(emu: Harness, style: str) -> None:
    client = emu.v1() if style == "v1" else emu.azure()
    report = run_smoke_test(client, "ft", [GLACIER], base_deployment="base", timeout=30)
    (result,) = report.results
    assert result.answer.text == dict(TOPICS)["glacier"]
    assert result.answer.error is None
    assert result.answer.prompt_tokens > 0
    assert result.answer.completion_tokens > 0
    assert result.answer.latency_ms > 0
    assert [check.name for check in result.checks] == [
        "non-empty",
        "contains '2 m per day'",
        "not_contains 'I cannot'",
        "regex '\\\\bice\\\\b'",
        "max_latency_ms",
    ]
    assert all(check.passed for check in result.checks), result.checks
    assert report.passed
    assert report.verdict == "passed (1/1 prompts)"
    assert result.base is not None
    assert result.base.text
    assert result.base.text != result.answer.text
    assert not all(check.passed for check in result.base_checks)  # the base model never saw it
    (row,) = report.as_rows()
    assert row["verdict"] == "pass"
    assert row["base answer"] == result.base.text
    assert report.as_dict()["prompts"][0]["answer"]["text"] == result.answer.text


def test_run_smoke_test_fails_a_check_the_answer_misses(emu: Harness) -> None:
    prompt = GLACIER.model_copy(update={"contains": ["volcano"]})
    report = run_smoke_test(emu.v1(), "ft", [prompt], base_deployment=None, timeout=30)
    assert not report.passed
    assert report.failures() == ["glacier: contains 'volcano': not in the answer"]
    assert "base answer" not in report.as_rows()[0]


def test_run_smoke_test_without_prompts_sends_one_greeting(emu: Harness) -> None:
    report = run_smoke_test(emu.v1(), "ft", [], base_deployment=None, timeout=30)
    (result,) = report.results
    assert result.prompt.name == "greeting"
    assert [check.name for check in result.checks] == ["non-empty"]
    assert report.passed


def test_run_smoke_test__missing_deployment_is_an_answer_error(emu: Harness) -> None:
    report = run_smoke_test(emu.v1(), "nowhere", [GLACIER], base_deployment=None, timeout=30)
    (result,) = report.results
    assert result.answer.text == ""
    assert result.answer.error is not None
    assert result.answer.error.startswith(
        "asking deployment 'nowhere': The API deployment for this resource does not exist."
    )
    assert "(HTTP 404, DeploymentNotFound" in result.answer.error
    assert result.checks == [CheckResult("answered", False, result.answer.error)]
    assert not report.passed
    with pytest.raises(SmokeTestFailed, match="failed 1 of 1 prompts: glacier: answered: asking"):
        raise SmokeTestFailed.from_report(report)


def test_run_smoke_test__wrong_key_raises(emu: Harness) -> None:
    client = emu.azure(api_key="not-the-key")  # sent as api-key
    with pytest.raises(
        AuthenticationFailed, match="asking deployment 'ft': Access denied"
    ) as caught:
        run_smoke_test(client, "ft", [GLACIER], base_deployment=None, timeout=30)
    assert caught.value.status == 401
    assert "not-the-key" not in str(caught.value)
