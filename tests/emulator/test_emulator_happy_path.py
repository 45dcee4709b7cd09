"""The whole pipeline path on the bundled sample data, once per client style:
upload → process → job → events → checkpoints → results.csv → deploy (LRO) → chat."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from emulator_harness import BASE_MODEL, REPO, Harness  # type: ignore[import-not-found, unused-ignore]

SAMPLE = REPO / "data" / "sample"


def _replies(content: bytes) -> set[str]:
    replies = set()
    for line in content.decode("utf-8-sig").splitlines():
        if line.strip():
            for message in json.loads(line)["messages"]:
                if message["role"] == "assistant" and isinstance(message.get("content"), str):
                    replies.add(message["content"])
    return replies


@pytest.mark.parametrize("style", ["versioned", "v1"])
def test_fine_tune_deploy_and_chat_on_the_sample_data(emu: Harness, style: str) -> None:
    client: Any = emu.azure() if style == "versioned" else emu.v1()
    train = (SAMPLE / "train.jsonl").read_bytes()
    validation = (SAMPLE / "validation.jsonl").read_bytes()
    uploaded = [
        client.files.create(file=("train.jsonl", train), purpose="fine-tune"),
        client.files.create(file=("validation.jsonl", validation), purpose="fine-tune"),
    ]
    emu.advance(120)
    assert [client.files.retrieve(f.id).status for f in uploaded] == ["processed", "processed"]

    job = client.fine_tuning.jobs.create(
        model=BASE_MODEL,
        training_file=uploaded[0].id,
        validation_file=uploaded[1].id,
        suffix="support",
        seed=11,
        extra_body={"trainingType": "Standard"},
    )
    assert job.status == "pending"
    emu.advance(90 + 240 + 60)
    running = client.fine_tuning.jobs.retrieve(job.id)
    assert running.status == "running"
    assert running.estimated_finish > emu.now()
    emu.advance(running.estimated_finish - emu.now())
    done = client.fine_tuning.jobs.retrieve(job.id)
    assert done.status == "succeeded"
    assert done.fine_tuned_model.startswith(f"{BASE_MODEL}.ft-")
    epochs = done.hyperparameters.n_epochs
    assert done.trained_tokens > 0
    assert done.trained_tokens % epochs == 0

    events = list(client.fine_tuning.jobs.list_events(job.id, limit=20))
    assert events[0].message == "Job succeeded."
    metrics = [e for e in events if e.type == "metrics"]
    assert metrics[0].data["full_valid_loss"] is not None

    checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id).data
    assert len(checkpoints) == min(3, epochs)
    assert checkpoints[0].fine_tuned_model_checkpoint == done.fine_tuned_model
    steps = checkpoints[0].step_number

    rows = list(csv.DictReader(io.StringIO(client.files.content(done.result_files[0]).text)))
    assert len(rows) == steps == len(metrics)
    first, last = float(rows[0]["train_loss"]), float(rows[-1]["train_loss"])
    assert last < first
    assert float(rows[-1]["full_valid_loss"]) > 0

    emu.deploy("support-ft", done.fine_tuned_model)
    emu.deploy("support-base", "gpt-4o-mini", "2024-07-18")
    question = json.loads((SAMPLE / "eval.jsonl").read_text(encoding="utf-8-sig").splitlines()[0])
    messages = [m for m in question["messages"] if m["role"] != "assistant"]
    tuned = client.chat.completions.create(model="support-ft", messages=messages)
    base = client.chat.completions.create(model="support-base", messages=messages)
    assert tuned.choices[0].message.content in _replies(train)
    assert base.choices[0].message.content not in _replies(train)
    assert tuned.usage.total_tokens > tuned.usage.prompt_tokens > 0
