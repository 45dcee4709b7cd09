"""State in SQLite under the data dir survives a restart of the server (both modes)."""

from __future__ import annotations

from pathlib import Path

from emulator_harness import (  # type: ignore[import-not-found, unused-ignore]
    BASE_MODEL,
    TOPICS,
    Harness,
    geography,
    start_server,
)


def test_state_survives_a_restart(mode: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = Harness(start_server(mode, data_dir))
    try:
        client = first.azure()
        job = first.train(client, geography(), hyperparameters={"n_epochs": 1})
        first.deploy("ft", job.fine_tuned_model)
        training = job.training_file
        before = first.now()
        key, ca = first.key, Path(first.ca).read_bytes()
    finally:
        first.close()
        first.server.stop()
    second = Harness(start_server(mode, data_dir))
    try:
        assert second.key == key
        assert Path(second.ca).read_bytes() == ca
        assert second.now() >= before
        client = second.azure()
        assert client.files.retrieve(training).status == "processed"
        restored = client.fine_tuning.jobs.retrieve(job.id)
        assert restored.status == "succeeded"
        assert restored.fine_tuned_model == job.fine_tuned_model
        assert restored.result_files == job.result_files
        assert len(client.fine_tuning.jobs.checkpoints.list(job.id).data) == 1
        deployment = second.arm().deployments.get(second.group, second.account, "ft")
        assert deployment.properties.provisioning_state == "Succeeded"
        answer = client.chat.completions.create(
            model="ft", messages=[{"role": "user", "content": "What is a tundra?"}]
        )
        assert answer.choices[0].message.content == dict(TOPICS)["tundra"]
    finally:
        second.close()
        second.server.stop()


def test_a_running_job_continues_after_a_restart(mode: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = Harness(start_server(mode, data_dir))
    try:
        client = first.azure()
        uploaded = first.upload(client, geography())
        job = client.fine_tuning.jobs.create(
            model=BASE_MODEL, training_file=uploaded.id, hyperparameters={"n_epochs": 2}
        )
        first.advance(90 + 240 + 60)
        assert client.fine_tuning.jobs.retrieve(job.id).status == "running"
        steps_before = [
            e.data["step"]
            for e in client.fine_tuning.jobs.list_events(job.id, limit=500).data
            if e.type == "metrics"
        ]
        assert steps_before
    finally:
        first.close()
        first.server.stop()
    second = Harness(start_server(mode, data_dir))
    try:
        client = second.azure()
        assert client.fine_tuning.jobs.retrieve(job.id).status == "running"
        second.advance(24 * 3600)
        done = client.fine_tuning.jobs.retrieve(job.id)
        assert done.status == "succeeded"
        steps = [
            e.data["step"]
            for e in client.fine_tuning.jobs.list_events(job.id, limit=500).data
            if e.type == "metrics"
        ]
        assert sorted(steps) == list(range(1, 25))
    finally:
        second.close()
        second.server.stop()
