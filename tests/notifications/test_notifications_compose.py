"""compose(), redact(), known_secrets() and StageFailed: pure core, no Prefect."""

from __future__ import annotations

import pickle

import pytest

from ftflow import notifications
from ftflow.notifications import (
    Message,
    RunOutcome,
    StageFailed,
    compose,
    known_secrets,
    redact,
)

MODEL = "gpt-4o-mini-2024-07-18.ft-0123456789abcdef"
URL = "http://127.0.0.1:4200/runs/flow-run/0000"


def _outcome(state: str, **fields: str) -> RunOutcome:
    return RunOutcome(flow_name="fine-tune", run_name="brave-fox", state=state, **fields)


def test_compose_completed_names_model_deployment_and_link() -> None:
    outcome = _outcome(
        "Completed",
        run_url=URL,
        job_id="ftjob-1",
        model=MODEL,
        deployment="support-bot",
        smoke_verdict="3/3 passed",
    )

    message = compose(outcome)

    assert message == Message(
        subject=f"✅ fine-tune run brave-fox completed: {MODEL} on deployment support-bot",
        body=(
            "**fine-tune** run **brave-fox**: Completed\n"
            "\n"
            f"- Run: {URL}\n"
            "- Job: ftjob-1\n"
            f"- Model: {MODEL}\n"
            "- Deployment: support-bot\n"
            "- Smoke test: 3/3 passed"
        ),
    )


def test_compose_failed_names_stage_and_first_error_line() -> None:
    outcome = _outcome(
        "Failed",
        run_url=URL,
        job_id="ftjob-1",
        model=MODEL,
        deployment="support-bot",
        failed_stage="deploy",
        error="deployment 'support-bot' is Failed\nprovisioning state: Failed",
    )

    message = compose(outcome)

    assert message.subject == (
        "❌ fine-tune run brave-fox failed at deploy: deployment 'support-bot' is Failed"
    )
    assert "- Failed step: deploy" in message.body
    assert "- Job: ftjob-1" in message.body
    assert message.body.endswith(
        "Error:\n\n    deployment 'support-bot' is Failed\n    provisioning state: Failed"
    )


def test_compose_failed_without_stage() -> None:
    message = compose(_outcome("Failed", error="ValueError: bad"))

    assert message.subject == "❌ fine-tune run brave-fox failed: ValueError: bad"
    assert "Failed step" not in message.body


@pytest.mark.parametrize(
    ("state", "subject"),
    [
        ("Crashed", "💥 fine-tune run brave-fox crashed: worker lost"),
        ("Cancelled", "🚫 fine-tune run brave-fox cancelled: worker lost"),
        ("Cancelling", "🚫 fine-tune run brave-fox cancelled: worker lost"),
        ("TimedOut", "⏱️ fine-tune run brave-fox timed out: worker lost"),
        ("Paused", "ℹ️ fine-tune run brave-fox is Paused: worker lost"),
    ],
)
def test_compose_other_states(state: str, subject: str) -> None:
    message = compose(_outcome(state, error="worker lost"))

    assert message.subject == subject
    assert message.body.startswith(f"**fine-tune** run **brave-fox**: {state}\n")


def test_compose_completed_without_results_says_so() -> None:
    message = compose(_outcome("Completed"))

    assert message.subject == "✅ fine-tune run brave-fox completed: no model"
    assert message.body == "**fine-tune** run **brave-fox**: Completed\n"


def test_compose_truncates_long_errors() -> None:
    error = "x" * 5000

    message = compose(_outcome("Failed", failed_stage="wait", error=error))

    first = message.subject.split(": ", 1)[1]
    assert len(first) == 120
    assert first.endswith("…")
    assert len(message.body) < 2300
    assert message.body.endswith(" …")


def test_redact_explicit_secrets_longest_first() -> None:
    text = "key abcd1234 and abcd1234efgh and abc"

    assert redact(text, ["abcd1234", "abcd1234efgh", "abc", ""]) == "key *** and *** and abc"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer eyJhbGciOi.J9.x-y_z=", "Authorization: Bearer ***"),
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic ***"),
        ("api-key: 0123456789abcdef", "api-key: ***"),
        ('{"api_key": "0123456789abcdef"}', '{"api_key": "***"}'),
        ("x-api-key=abcdef123456&x=1", "x-api-key=***&x=1"),
        (
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0a2V5==;",
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=***;",
        ),
        ("Endpoint=sb://x/;SharedAccessKey=abc+/=123", "Endpoint=sb://x/;SharedAccessKey=***"),
        (
            "https://acct.blob.core.windows.net/c/f.jsonl?sv=2024&sig=AbC%2Bdef&se=1",
            "https://acct.blob.core.windows.net/c/f.jsonl?sv=2024&sig=***&se=1",
        ),
        (
            "https://fn.azurewebsites.net/api/h?code=zzz123",
            "https://fn.azurewebsites.net/api/h?code=***",
        ),
        (
            "https://x.example/hook?key=k-123&token=t-456",
            "https://x.example/hook?key=***&token=***",
        ),
        ("postgresql://ft:hunter22@db:5432/prefect", "postgresql://ft:***@db:5432/prefect"),
        ("client_secret=s3cr3t-value", "client_secret=***"),
        ("password: hunter22", "password: ***"),
    ],
)
def test_redact_masks_credential_patterns(text: str, expected: str) -> None:
    assert redact(text, ()) == expected


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "deployment 'support-bot' is Failed: quota exceeded (job ftjob-1, keyword=abc)"

    assert redact(text, ()) == text


def test_known_secrets_reads_env_and_settings_when_called(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "fake-openai-key-0001")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "fake-client-secret-0002")

    secrets = known_secrets()

    assert "fake-openai-key-0001" in secrets
    assert "fake-client-secret-0002" in secrets
    assert "" not in secrets


def test_known_secrets_skips_settings_that_do_not_validate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "fake-openai-key-0003")
    monkeypatch.setenv("AZURE_OPENAI_TIMEOUT_SECONDS", "not-a-number")

    assert known_secrets() == ["fake-openai-key-0003"]


def test_stage_failed_carries_stage_message_progress() -> None:
    error = StageFailed("deploy", "deployment 'x' is Failed", {"job_id": "ftjob-1"})

    assert error.stage == "deploy"
    assert error.message == "deployment 'x' is Failed"
    assert error.progress == {"job_id": "ftjob-1"}
    assert str(error) == "deploy failed: deployment 'x' is Failed"


def test_stage_failed_redacts_secrets_on_the_way_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "sk-FAKE-KEY-FOR-TESTS-42")
    error = StageFailed(
        "upload",
        "401 for key sk-FAKE-KEY-FOR-TESTS-42 (Authorization: Bearer abc.def)",
        {"training_file_id": "https://a/b?sig=xyz"},
    )

    assert "sk-FAKE-KEY-FOR-TESTS-42" not in str(error)
    assert error.message == "401 for key *** (Authorization: Bearer ***)"
    assert error.progress == {"training_file_id": "https://a/b?sig=***"}


def test_stage_failed_survives_pickling() -> None:
    error = StageFailed("wait", "job ftjob-1 failed", {"job_id": "ftjob-1"})

    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes

    assert (copy.stage, copy.message, copy.progress) == (
        "wait",
        "job ftjob-1 failed",
        {"job_id": "ftjob-1"},
    )
    assert str(copy) == str(error)


def test_public_names_are_exported() -> None:
    for name in notifications.__all__:
        assert getattr(notifications, name) is not None
