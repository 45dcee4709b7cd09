"""Fine-tuning jobs: creation checks, lifecycle, events, checkpoints, results, quotas, training."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import openai
import pytest
from emulator_harness import (  # type: ignore[import-not-found, unused-ignore]
    BASE_MODEL,
    GA,
    PREVIEW,
    TOPICS,
    Harness,
    cooking,
    dpo_file,
    error_of,
    file_tokens,
    geography,
    jsonl,
)

FT_NAME = re.compile(r"^gpt-4o-mini-2024-07-18\.ft-[0-9a-f]{32}$")


def _processed(emu: Harness, client: Any, content: bytes | None = None) -> str:
    uploaded = emu.upload(client, content if content is not None else geography())
    assert uploaded.status == "processed"
    return str(uploaded.id)


def test_create_job_returns_201_pending_with_auto_hyperparameters(emu: Harness) -> None:
    client = emu.azure(GA)
    training = _processed(emu, client)
    raw = client.fine_tuning.jobs.with_raw_response.create(
        model=BASE_MODEL, training_file=training, extra_body={"trainingType": "GlobalStandard"}
    )
    job = raw.parse()
    assert raw.status_code == 201
    assert (
        raw.headers["location"]
        == f"{emu.endpoint}/openai/fine_tuning/jobs/{job.id}?api-version={GA}"
    )
    assert re.fullmatch(r"ftjob-[0-9a-f]{32}", job.id)
    assert job.status == "pending"
    assert job.hyperparameters.n_epochs == -1
    assert job.hyperparameters.batch_size == -1
    assert job.fine_tuned_model is None
    assert job.result_files is None
    assert job.trained_tokens is None
    assert job.finished_at is None
    assert isinstance(job.seed, int)


def test_create_job_on_v1_returns_200(emu: Harness) -> None:
    client = emu.v1()
    training = _processed(emu, client)
    raw = client.fine_tuning.jobs.with_raw_response.create(model=BASE_MODEL, training_file=training)
    assert raw.status_code == 200
    assert raw.parse().status == "pending"


def test_job_runs_pending_running_succeeded(emu: Harness) -> None:
    client = emu.azure()
    training = _processed(emu, client)
    job = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training, seed=7)
    emu.advance(60)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "pending"
    emu.advance(31)
    running = client.fine_tuning.jobs.retrieve(job.id)
    assert running.status == "running"
    assert running.hyperparameters.n_epochs == 8  # 12 examples: enough epochs for 100 examples
    assert running.hyperparameters.batch_size == 1
    assert running.estimated_finish is not None
    assert running.estimated_finish > emu.now()
    assert running.fine_tuned_model is None
    emu.advance(running.estimated_finish - emu.now() + 1)
    done = client.fine_tuning.jobs.retrieve(job.id)
    assert done.status == "succeeded"
    assert FT_NAME.match(done.fine_tuned_model)
    assert done.fine_tuned_model.split(".ft-")[1] != job.id.split("-")[1]
    assert running.estimated_finish - 1 <= done.finished_at <= running.estimated_finish
    assert done.estimated_finish is None
    assert done.trained_tokens == file_tokens(geography()) * 8
    assert done.result_files is not None
    assert len(done.result_files) == 1
    assert done.error is None


def test_events_are_newest_first_with_metrics_and_after_cursor(emu: Harness) -> None:
    client = emu.azure()
    job = emu.train(client, geography(), hyperparameters={"n_epochs": 2, "batch_size": 4})
    events = list(client.fine_tuning.jobs.list_events(job.id, limit=100).data)
    messages = [e.message for e in events]
    assert messages[:4] == [
        "Job succeeded.",
        "Training hours billed: 0.033",
        f"Completed results file: {job.result_files[0]}",
        "Postprocessing started.",
    ]
    assert messages[-1] == "Job enqueued. Waiting for jobs ahead to complete."
    assert "Training started." in messages
    assert [e.created_at for e in events] == sorted((e.created_at for e in events), reverse=True)
    metrics = [e for e in events if e.type == "metrics"]
    assert [e.data["step"] for e in metrics] == [6, 5, 4, 3, 2, 1]
    assert metrics[0].message == f"Step 6: training loss={metrics[0].data['train_loss']:.8f}"
    assert all(re.fullmatch(r"ftevent-[0-9a-f]{32}", e.id) for e in events)
    page = client.fine_tuning.jobs.list_events(job.id, limit=3)
    assert [e.id for e in page.data] == [e.id for e in events[:3]]
    assert page.has_more is True
    after = client.fine_tuning.jobs.list_events(job.id, after=events[2].id, limit=2)
    assert [e.id for e in after.data] == [e.id for e in events[3:5]]
    assert len(list(client.fine_tuning.jobs.list_events(job.id, limit=2))) == len(events)


def test_checkpoints_one_per_epoch_last_three_kept(emu: Harness) -> None:
    client = emu.azure()
    job = emu.train(client, geography(), hyperparameters={"n_epochs": 5, "batch_size": 4})
    checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id).data
    assert [c.step_number for c in checkpoints] == [15, 12, 9]
    assert checkpoints[0].fine_tuned_model_checkpoint == job.fine_tuned_model
    assert checkpoints[1].fine_tuned_model_checkpoint == f"{job.fine_tuned_model}:ckpt-step-12"
    assert checkpoints[2].fine_tuned_model_checkpoint == f"{job.fine_tuned_model}:ckpt-step-9"
    assert all(re.fullmatch(r"ftchkpt-[0-9a-f]{32}", c.id) for c in checkpoints)
    assert all(c.fine_tuning_job_id == job.id for c in checkpoints)
    assert checkpoints[0].metrics.step == 15.0
    assert checkpoints[0].metrics.train_loss is not None


def test_checkpoints_appear_as_epochs_end(emu: Harness) -> None:
    client = emu.azure()
    training = _processed(emu, client)
    job = client.fine_tuning.jobs.create(
        model=BASE_MODEL, training_file=training, hyperparameters={"n_epochs": 3, "batch_size": 4}
    )
    emu.advance(90 + 240 + 50)  # queue, preprocessing, then 50 of the 120 s of training
    partial = client.fine_tuning.jobs.checkpoints.list(job.id).data
    assert [c.step_number for c in partial] == [3]
    assert partial[0].fine_tuned_model_checkpoint.endswith(":ckpt-step-3")


def test_results_csv_has_one_row_per_step_matching_the_events(emu: Harness) -> None:
    client = emu.azure()
    job = emu.train(client, geography(), hyperparameters={"n_epochs": 2, "batch_size": 3})
    result = client.files.retrieve(job.result_files[0])
    assert result.filename == "results.csv"
    assert result.purpose == "fine-tune-results"
    assert result.status == "processed"
    rows = list(csv.DictReader(io.StringIO(client.files.content(result.id).text)))
    assert list(rows[0]) == [
        "step",
        "train_loss",
        "train_mean_token_accuracy",
        "valid_loss",
        "valid_mean_token_accuracy",
        "full_valid_loss",
        "full_valid_mean_token_accuracy",
    ]
    assert [int(r["step"]) for r in rows] == list(range(1, 9))
    assert all(r["valid_loss"] == "-1" for r in rows)
    events = {
        e.data["step"]: e.data
        for e in client.fine_tuning.jobs.list_events(job.id, limit=100).data
        if e.type == "metrics"
    }
    for row in rows:
        assert float(row["train_loss"]) == pytest.approx(
            events[int(row["step"])]["train_loss"], abs=1e-5
        )


def _losses(emu: Harness, client: Any, content: bytes, **hp: Any) -> list[float]:
    job = emu.train(client, content, hyperparameters=hp, seed=42)
    rows = csv.DictReader(io.StringIO(client.files.content(job.result_files[0]).text))
    return [float(r["train_loss"]) for r in rows]


def test_training_curves_come_from_real_training(emu: Harness) -> None:
    client = emu.azure()
    base = _losses(emu, client, geography(), n_epochs=3, batch_size=2)
    assert base == _losses(emu, client, geography(), n_epochs=3, batch_size=2)
    assert base[-1] < base[0]
    faster = _losses(
        emu, client, geography(), n_epochs=3, batch_size=2, learning_rate_multiplier=4.0
    )
    assert faster != base
    assert faster[-1] < base[-1]
    assert len(_losses(emu, client, geography(), n_epochs=3, batch_size=4)) == 9
    other = _losses(
        emu, client, geography(TOPICS[::-1][:10] + TOPICS[:2]), n_epochs=3, batch_size=2
    )
    assert other != base


def test_validation_loss_comes_from_the_validation_file(emu: Harness) -> None:
    client = emu.azure()
    training = _processed(emu, client)
    close = _processed(emu, client, geography())
    far = _processed(emu, client, cooking())
    results = []
    for validation in (close, far):
        job = client.fine_tuning.jobs.create(
            model=BASE_MODEL,
            training_file=training,
            validation_file=validation,
            seed=3,
            hyperparameters={"n_epochs": 2, "batch_size": 4},
        )
        emu.advance(10 * 24 * 3600)
        done = client.fine_tuning.jobs.retrieve(job.id)
        assert done.status == "succeeded"
        rows = list(csv.DictReader(io.StringIO(client.files.content(done.result_files[0]).text)))
        assert all(float(r["valid_loss"]) > 0 for r in rows)
        full = [r["full_valid_loss"] for r in rows]
        assert [i + 1 for i, value in enumerate(full) if value != "-1"] == [3, 6]
        results.append(float(rows[-1]["full_valid_loss"]))
    assert results[0] < results[1]


def test_create_job_with_unknown_file(emu: Harness) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        emu.azure().fine_tuning.jobs.create(model=BASE_MODEL, training_file="file-nope")
    assert error_of(raised.value) == {
        "code": "invalidPayload",
        "message": "The training file 'file-nope' does not exist.",
        "param": "training_file",
    }


def test_create_job_with_unprocessed_file(emu: Harness) -> None:
    client = emu.azure()
    uploaded = client.files.create(file=("t.jsonl", geography()), purpose="fine-tune")
    with pytest.raises(openai.BadRequestError) as raised:
        client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=uploaded.id)
    assert error_of(raised.value)["message"] == (
        f"The training file '{uploaded.id}' is not ready yet (status 'pending'). Wait until it "
        "is processed."
    )


def test_create_job_with_file_that_failed_processing(emu: Harness) -> None:
    client = emu.azure()
    bad = emu.upload(client, geography()[:300])
    with pytest.raises(openai.BadRequestError) as raised:
        client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=bad.id)
    assert error_of(raised.value)["message"].startswith(
        f"The training file '{bad.id}' failed processing: "
    )


def test_create_job_with_unknown_model(emu: Harness) -> None:
    client = emu.azure()
    training = _processed(emu, client)
    with pytest.raises(openai.BadRequestError) as raised:
        client.fine_tuning.jobs.create(model="gpt-5-turbo", training_file=training)
    assert error_of(raised.value) == {
        "code": "invalidPayload",
        "message": "The specified base model does not support fine-tuning.",
        "param": "model",
    }


@pytest.mark.parametrize(
    ("version", "suffix", "accepted"),
    [
        (PREVIEW, "a" * 40, True),
        (PREVIEW, "a" * 41, False),
        (PREVIEW, "bad suffix!", False),
        ("v1", "a" * 64, True),
        ("v1", "a" * 65, False),
    ],
)
def test_create_job_suffix_rules(emu: Harness, version: str, suffix: str, accepted: bool) -> None:
    client: Any = emu.v1() if version == "v1" else emu.azure(version)
    training = _processed(emu, client)
    if accepted:
        assert (
            client.fine_tuning.jobs.create(
                model=BASE_MODEL, training_file=training, suffix=suffix
            ).suffix
            == suffix
        )
        return
    with pytest.raises(openai.BadRequestError) as raised:
        client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training, suffix=suffix)
    assert error_of(raised.value)["param"] == "suffix"


@pytest.mark.parametrize(
    ("hyperparameters", "message"),
    [
        ({"n_epochs": 0}, "Invalid hyperparameters: n_epochs must be between 1 and 50, got 0."),
        (
            {"batch_size": 512},
            "Invalid hyperparameters: batch_size must be between 1 and 256, got 512.",
        ),
        (
            {"n_epochs": "many"},
            "hyperparameters.n_epochs must be an integer or 'auto', got 'many'.",
        ),
    ],
)
def test_create_job_with_bad_hyperparameters(
    emu: Harness, hyperparameters: dict[str, Any], message: str
) -> None:
    client = emu.azure()
    training = _processed(emu, client)
    with pytest.raises(openai.BadRequestError) as raised:
        client.fine_tuning.jobs.create(
            model=BASE_MODEL, training_file=training, hyperparameters=hyperparameters
        )
    assert error_of(raised.value)["message"] == message


def test_create_dpo_job_with_chat_file_is_400(emu: Harness) -> None:
    client = emu.azure()
    training = _processed(emu, client)
    with pytest.raises(openai.BadRequestError) as raised:
        client.fine_tuning.jobs.create(
            model="gpt-4.1-2025-04-14", training_file=training, method={"type": "dpo", "dpo": {}}
        )
    assert error_of(raised.value)["message"] == (
        f"The training file '{training}' holds chat examples, but the dpo method needs dpo "
        "examples."
    )


def test_create_dpo_job_on_model_without_dpo_is_400(emu: Harness) -> None:
    client = emu.azure()
    training = _processed(emu, client, dpo_file())
    with pytest.raises(openai.BadRequestError) as raised:
        client.fine_tuning.jobs.create(
            model=BASE_MODEL, training_file=training, method={"type": "dpo"}
        )
    assert error_of(raised.value)["param"] == "method"


def test_dpo_job_trains(emu: Harness) -> None:
    client = emu.azure()
    job = emu.train(
        client,
        dpo_file(),
        model="gpt-4.1-2025-04-14",
        method={"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.1, "n_epochs": 2}}},
    )
    assert job.status == "succeeded"
    assert job.method.type == "dpo"
    assert job.hyperparameters.n_epochs == 2
    assert job.fine_tuned_model.startswith("gpt-4.1-2025-04-14.ft-")


def test_cancel_running_job(emu: Harness) -> None:
    client = emu.azure()
    training = _processed(emu, client)
    job = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training)
    emu.advance(400)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "running"
    cancelled = client.fine_tuning.jobs.cancel(job.id)
    assert cancelled.status == "cancelled"
    assert cancelled.finished_at is not None
    emu.advance(10 * 24 * 3600)
    after = client.fine_tuning.jobs.retrieve(job.id)
    assert after.status == "cancelled"
    assert after.fine_tuned_model is None


def test_cancel_finished_job_is_400(emu: Harness) -> None:
    client = emu.azure()
    job = emu.train(client, geography(), hyperparameters={"n_epochs": 1})
    with pytest.raises(openai.BadRequestError) as raised:
        client.fine_tuning.jobs.cancel(job.id)
    assert error_of(raised.value) == {
        "code": "unexpectedEntityState",
        "message": f"The job '{job.id}' is succeeded and cannot be cancelled.",
    }


def test_get_unknown_job_is_404(emu: Harness) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        emu.azure().fine_tuning.jobs.retrieve("ftjob-missing")
    assert error_of(raised.value) == {
        "code": "notFound",
        "message": "The specified fine-tuning job 'ftjob-missing' could not be found.",
    }


def test_pause_and_resume_on_preview(emu: Harness) -> None:
    client = emu.azure(PREVIEW)
    training = _processed(emu, client)
    job = client.fine_tuning.jobs.create(
        model=BASE_MODEL, training_file=training, hyperparameters={"n_epochs": 2}
    )
    emu.advance(90 + 240 + 60)
    running = client.fine_tuning.jobs.retrieve(job.id)
    paused = client.fine_tuning.jobs.pause(job.id)
    assert paused.status == "paused"
    assert paused.estimated_finish is None
    events_before = len(client.fine_tuning.jobs.list_events(job.id, limit=1000).data)
    emu.advance(10 * 24 * 3600)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "paused"
    assert len(client.fine_tuning.jobs.list_events(job.id, limit=1000).data) == events_before
    assert client.fine_tuning.jobs.resume(job.id).status == "resuming"
    emu.advance(31)
    resumed = client.fine_tuning.jobs.retrieve(job.id)
    assert resumed.status == "running"
    assert running.estimated_finish is not None
    emu.advance(10 * 24 * 3600)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "succeeded"


def test_pause_pending_job_is_400(emu: Harness) -> None:
    client = emu.azure(PREVIEW)
    training = _processed(emu, client)
    job = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training)
    with pytest.raises(openai.BadRequestError) as raised:
        client.fine_tuning.jobs.pause(job.id)
    assert error_of(raised.value)["code"] == "unexpectedEntityState"
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.jobs.resume(job.id)


def test_pause_is_not_in_the_ga_version(emu: Harness) -> None:
    client = emu.azure(GA)
    training = _processed(emu, client)
    job = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training)
    with pytest.raises(openai.NotFoundError) as raised:
        client.fine_tuning.jobs.pause(job.id)
    assert error_of(raised.value) == {"code": "404", "message": "Resource not found"}


def test_list_jobs_newest_first_with_after_and_limit(emu: Harness) -> None:
    client = emu.azure()
    training = _processed(emu, client)
    ids = [
        client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training).id
        for _ in range(3)
    ]
    page = client.fine_tuning.jobs.list(limit=2)
    assert [j.id for j in page.data] == ids[::-1][:2]
    assert page.has_more is True
    rest = client.fine_tuning.jobs.list(after=ids[1], limit=2)
    assert [j.id for j in rest.data] == [ids[0]]
    assert rest.has_more is False


def test_delete_job_returns_204_and_only_when_finished(emu: Harness) -> None:
    client = emu.azure(GA)
    training = _processed(emu, client)
    job = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training)
    path = f"/openai/fine_tuning/jobs/{job.id}"
    http = emu.http(headers={"api-key": emu.key})
    refused = http.delete(path, params={"api-version": GA})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "unexpectedEntityState"
    client.fine_tuning.jobs.cancel(job.id)
    assert http.delete(path, params={"api-version": GA}).status_code == 204
    with pytest.raises(openai.NotFoundError):
        client.fine_tuning.jobs.retrieve(job.id)


def test_one_running_job_and_twenty_queued_then_quota_error(emu: Harness) -> None:
    client = emu.azure()
    training = _processed(emu, client)
    first = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training)
    emu.advance(100)
    assert client.fine_tuning.jobs.retrieve(first.id).status == "running"
    queued = [
        client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training) for _ in range(20)
    ]
    emu.advance(100)
    statuses = [j.status for j in client.fine_tuning.jobs.list(limit=100).data]
    assert statuses.count("running") == 1
    assert statuses.count("pending") == 20
    with pytest.raises(openai.RateLimitError) as raised:
        client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training)
    assert error_of(raised.value) == {
        "code": "quotaExceeded",
        "message": "The resource already has 20 fine-tuning jobs waiting to run, the maximum "
        "allowed is 20. Wait for queued jobs to finish, or cancel one, and try again.",
    }
    client.fine_tuning.jobs.cancel(queued[0].id)
    client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training)


def test_jobs_run_one_after_another(emu: Harness) -> None:
    client = emu.azure()
    training = _processed(emu, client)
    first = client.fine_tuning.jobs.create(
        model=BASE_MODEL, training_file=training, hyperparameters={"n_epochs": 1}
    )
    second = client.fine_tuning.jobs.create(
        model=BASE_MODEL, training_file=training, hyperparameters={"n_epochs": 1}
    )
    emu.advance(10 * 24 * 3600)
    a, b = client.fine_tuning.jobs.retrieve(first.id), client.fine_tuning.jobs.retrieve(second.id)
    assert a.status == b.status == "succeeded"
    started = [
        e
        for e in client.fine_tuning.jobs.list_events(b.id, limit=100).data
        if e.message == "Job started."
    ]
    assert started[0].created_at >= a.finished_at


def test_continuous_fine_tuning_from_a_fine_tuned_model(emu: Harness) -> None:
    client = emu.azure()
    parent = emu.train(client, geography(), hyperparameters={"n_epochs": 1})
    child = emu.train(
        client, cooking(), model=parent.fine_tuned_model, hyperparameters={"n_epochs": 1}
    )
    assert child.status == "succeeded"
    assert child.model == parent.fine_tuned_model
    assert FT_NAME.match(child.fine_tuned_model)
    assert child.fine_tuned_model != parent.fine_tuned_model


def test_continuous_fine_tuning_from_unknown_model_is_400(emu: Harness) -> None:
    client = emu.azure()
    training = _processed(emu, client)
    model = f"{BASE_MODEL}.ft-{'0' * 32}"
    with pytest.raises(openai.BadRequestError) as raised:
        client.fine_tuning.jobs.create(model=model, training_file=training)
    assert error_of(raised.value)["message"] == (
        f"The model '{model}' does not exist in this resource or has not finished training, so "
        "it cannot be fine-tuned further."
    )


@pytest.mark.parametrize(
    ("kind", "code", "message"),
    [
        (
            "data_safety",
            "contentFilter",
            "The provided training data failed RAI checks for harm types: [hate_fairness, "
            "self_harm, violence]. Please fix the data and try again.",
        ),
        (
            "internal_error",
            "internalFailure",
            "The job failed due to an internal error. Please retry the job; contact support if "
            "the problem persists.",
        ),
    ],
)
def test_injected_job_failure(emu: Harness, kind: str, code: str, message: str) -> None:
    emu.fault("jobs", kind=kind)
    client = emu.azure()
    job = emu.train(client, geography())
    assert job.status == "failed"
    assert job.error.code == code
    assert job.error.message == message
    assert job.fine_tuned_model is None
    assert job.trained_tokens is None
    events = client.fine_tuning.jobs.list_events(job.id, limit=500).data
    assert events[0].message == "Job failed."
    assert events[0].level == "error"
    trained = [e for e in events if e.type == "metrics"]
    if kind == "data_safety":
        assert trained == []
    else:
        assert 0 < len(trained) < 96
    assert emu.train(client, geography()).status == "succeeded"


def test_example_longer_than_the_model_accepts_fails_the_job(emu: Harness) -> None:
    client = emu.azure()
    long_answer = "word " * 17_000
    content = geography() + jsonl(
        [
            {
                "messages": [
                    {"role": "user", "content": "essay"},
                    {"role": "assistant", "content": long_answer},
                ]
            }
        ]
    )
    job = emu.train(client, content, model="gpt-35-turbo-0125")
    assert job.status == "failed"
    assert job.error.code == "jsonlValidationFailed"
    assert job.error.param == "training_file"
    assert job.error.message.startswith("Line 13: the example has ")
    assert job.error.message.endswith(
        "more than the 16385 tokens gpt-35-turbo-0125 accepts in a training example."
    )


def test_training_type_is_accepted_and_can_be_required(emu: Harness) -> None:
    client = emu.azure()
    training = _processed(emu, client)
    client.fine_tuning.jobs.create(
        model=BASE_MODEL, training_file=training, extra_body={"trainingType": "Standard"}
    )
    with pytest.raises(openai.BadRequestError) as raised:
        client.fine_tuning.jobs.create(
            model=BASE_MODEL, training_file=training, extra_body={"trainingType": "premium"}
        )
    assert error_of(raised.value)["param"] == "trainingType"
    emu.settings(behaviour={"require_training_type": True})
    with pytest.raises(openai.BadRequestError) as raised:
        client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training)
    assert (
        error_of(raised.value)["message"]
        == "The specified base model does not support fine-tuning."
    )


def test_v1_statuses_can_follow_openai(emu: Harness) -> None:
    emu.settings(behaviour={"v1_job_statuses": "openai"})
    client = emu.v1()
    training = _processed(emu, client)
    job = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training)
    assert job.status == "validating_files"
    emu.advance(40)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "queued"
    assert emu.azure().fine_tuning.jobs.retrieve(job.id).status == "pending"


def test_v1_job_has_metadata_and_method(emu: Harness) -> None:
    client = emu.v1()
    training = _processed(emu, client)
    job = client.fine_tuning.jobs.create(
        model=BASE_MODEL,
        training_file=training,
        metadata={"run": "nightly"},
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}},
    )
    assert job.metadata == {"run": "nightly"}
    assert job.method is not None
    assert job.method.type == "supervised"
    assert job.hyperparameters.n_epochs == 2
