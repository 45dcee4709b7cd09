"""A finished job's results: results.csv in every shape Azure serves it, then metrics,
checkpoints and the summary read with the real ``openai`` client from a job the emulator ran."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from emulator_harness import (  # type: ignore[import-not-found, unused-ignore]
    BASE_MODEL,
    Harness,
    cooking,
    geography,
    inprocess_harness,
)
from openai.types.fine_tuning import FineTuningJob

from ftflow.azure.errors import NotFound
from ftflow.azure.results import (
    MetricsRow,
    ResultsFormatError,
    collect_results,
    fetch_metrics,
    list_checkpoints,
    parse_results_csv,
    sample_rows,
    summarize,
)

HEADER = (
    "step,train_loss,train_mean_token_accuracy,valid_loss,valid_mean_token_accuracy,"
    "full_valid_loss,full_valid_mean_token_accuracy"
)
CSV = f"{HEADER}\n1,2.5,0.25,2.75,0.2,-1,-1\n2,2.0,0.5,,-1,2.6,0.3\n".encode()
EXPECTED = [
    MetricsRow(1, 2.5, 0.25, 2.75, 0.2, None, None),
    MetricsRow(2, 2.0, 0.5, None, None, 2.6, 0.3),
]


def test_parse_results_csv_reads_raw_csv_with_absent_values_as_none() -> None:
    assert parse_results_csv(CSV) == EXPECTED


def test_parse_results_csv_reads_base64_of_the_csv() -> None:
    assert parse_results_csv(base64.b64encode(CSV)) == EXPECTED
    assert parse_results_csv(base64.encodebytes(CSV)) == EXPECTED  # wrapped at 76 columns


def test_parse_results_csv_accepts_the_documented_header_and_extra_columns() -> None:
    content = (
        b"\xef\xbb\xbfStep,full_valid_loss,validation_mean_token_accuracy,train_loss,extra\r\n"
        b"3,1.5,0.75,1.25,whatever\r\n\r\n"
    )
    assert parse_results_csv(content) == [MetricsRow(3, 1.25, None, None, 0.75, 1.5, None)]


def test_parse_results_csv_without_rows_is_empty() -> None:
    assert parse_results_csv(b"") == []
    assert parse_results_csv(HEADER.encode() + b"\n") == []


def test_parse_results_csv__missing_step_column() -> None:
    with pytest.raises(ResultsFormatError, match="no 'step' column; its header is"):
        parse_results_csv(b"train_loss,valid_loss\n1.0,2.0\n")


@pytest.mark.parametrize(
    "content",
    [b"\x89PNG\r\n\x1a\n\x00\x00", b"<html>Service Unavailable</html>", b"bm90IGEgY3N2"],
)
def test_parse_results_csv__garbage(content: bytes) -> None:
    with pytest.raises(ResultsFormatError, match="neither CSV nor base64-encoded CSV"):
        parse_results_csv(content)


def test_parse_results_csv__non_number_names_line_and_column() -> None:
    with pytest.raises(ResultsFormatError, match=r"line 3, column 'train_loss': 'NaN-ish'"):
        parse_results_csv(f"{HEADER}\n1,2,0,0,0,0,0\n2,NaN-ish,0,0,0,0,0\n".encode())


def test_sample_rows_keeps_short_runs_and_spreads_long_ones() -> None:
    rows = [MetricsRow(step, 1.0, None, None, None, None, None) for step in range(1, 1001)]
    assert sample_rows(rows[:150]) == rows[:150]
    sampled = sample_rows(rows, 200)
    steps = [row.step for row in sampled]
    assert len(sampled) == 200
    assert steps[0] == 1
    assert steps[-1] == 1000
    gaps = {b - a for a, b in itertools.pairwise(steps)}
    assert gaps <= {5, 6}


def _job(**fields: Any) -> FineTuningJob:
    values: dict[str, Any] = {
        "id": "ftjob-1",
        "created_at": 1,
        "error": None,
        "fine_tuned_model": f"{BASE_MODEL}.ft-abc",
        "finished_at": 100,
        "hyperparameters": {"n_epochs": 2},
        "model": BASE_MODEL,
        "object": "fine_tuning.job",
        "organization_id": None,
        "result_files": [],
        "seed": 1,
        "status": "succeeded",
        "trained_tokens": 250_000,
        "training_file": "file-1",
        "validation_file": None,
    }
    values.update(fields)
    return FineTuningJob.model_construct(**values)  # leniently, as the SDK parses responses


def test_summarize_estimates_cost_and_prefers_full_validation_loss() -> None:
    summary = summarize(_job(), EXPECTED, [], usd_per_million=3.0)
    assert summary.estimated_usd == pytest.approx(0.75)
    assert (summary.best_valid_loss, summary.best_valid_step) == (2.6, 2)
    assert summary.last_metrics == EXPECTED[-1]
    assert summary.steps == 2
    values = summary.as_dict()
    assert values["final_metrics"] == {
        "train_loss": 2.0,
        "train_mean_token_accuracy": 0.5,
        "valid_loss": None,
        "valid_mean_token_accuracy": None,
        "full_valid_loss": 2.6,
        "full_valid_mean_token_accuracy": 0.3,
    }
    assert "last_metrics" not in values


def test_summarize_without_price_or_tokens_estimates_nothing() -> None:
    assert summarize(_job(), EXPECTED, [], usd_per_million=None).estimated_usd is None
    unfinished = summarize(_job(trained_tokens=None), [], [], usd_per_million=3.0)
    assert unfinished.estimated_usd is None
    assert unfinished.best_valid_loss is None
    assert unfinished.last_metrics is None


# -- against the emulator ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """An in-process emulator on the manual clock, for this module."""
    with inprocess_harness(tmp_path_factory.mktemp("emulator") / "data") as harness:
        yield harness


@pytest.fixture(scope="module")
def finished(emu: Harness) -> Any:
    """A three-epoch job on 12 landform examples, validated on 10 recipes, run to the end."""
    client = emu.v1()
    training = client.files.create(file=("train.jsonl", geography()), purpose="fine-tune")
    validation = client.files.create(file=("valid.jsonl", cooking()), purpose="fine-tune")
    emu.advance(120)
    job = client.fine_tuning.jobs.create(
        model=BASE_MODEL,
        training_file=training.id,
        validation_file=validation.id,
        hyperparameters={"n_epochs": 3, "batch_size": 1},
        seed=7,
    )
    emu.advance(10 * 24 * 3600)
    done = client.fine_tuning.jobs.retrieve(job.id)
    assert done.status == "succeeded", done.error
    return done


def test_fetch_metrics_matches_the_jobs_metric_events(emu: Harness, finished: Any) -> None:
    client = emu.v1()
    rows = fetch_metrics(client, finished)
    events = [
        e.data
        for e in client.fine_tuning.jobs.list_events(finished.id, limit=100)
        if e.type == "metrics"
    ]
    events.reverse()  # the service lists newest first
    assert (
        [row.step for row in rows] == [event["step"] for event in events] == list(range(1, 37))
    )  # 12 examples × 3 epochs, batch 1
    for row, event in zip(rows, events, strict=True):
        for name in ("train_loss", "valid_loss", "full_valid_loss", "valid_mean_token_accuracy"):
            if event.get(name) is None:
                assert getattr(row, name) is None, (row.step, name)
            else:
                assert getattr(row, name) == pytest.approx(event[name], abs=1e-6)
    assert [row.step for row in rows if row.full_valid_loss is not None] == [12, 24, 36]


def test_fetch_metrics_of_a_job_without_results_is_empty(emu: Harness) -> None:
    assert fetch_metrics(emu.v1(), _job(result_files=None)) == []


def test_fetch_metrics__missing_results_file(emu: Harness, finished: Any) -> None:
    gone = finished.model_copy(update={"result_files": ["file-00000000000000000000000000000000"]})
    with pytest.raises(NotFound, match=r"downloading results file file-0+ of job ftjob-") as caught:
        fetch_metrics(emu.v1(), gone)
    assert caught.value.status == 404


def test_list_checkpoints_newest_first_with_ckpt_step_names(emu: Harness, finished: Any) -> None:
    checkpoints = list_checkpoints(emu.azure(), finished.id)
    model = finished.fine_tuned_model
    assert [c.model for c in checkpoints] == [
        model,
        f"{model}:ckpt-step-24",
        f"{model}:ckpt-step-12",
    ]
    assert [c.step for c in checkpoints] == [36, 24, 12]
    assert all(c.id.startswith("ftchkpt-") for c in checkpoints)
    by_step = {row.step: row for row in fetch_metrics(emu.v1(), finished)}
    for checkpoint in checkpoints:
        row = by_step[checkpoint.step]
        assert checkpoint.metrics["full_valid_loss"] == pytest.approx(row.full_valid_loss)
        assert checkpoint.metrics["train_loss"] == pytest.approx(row.train_loss, abs=1e-6)
        assert "step" not in checkpoint.metrics


def test_list_checkpoints__unknown_job(emu: Harness) -> None:
    with pytest.raises(NotFound, match="listing checkpoints of job ftjob-nope"):
        list_checkpoints(emu.v1(), "ftjob-nope")


def test_collect_results_summarizes_the_finished_job(emu: Harness, finished: Any) -> None:
    prices = {BASE_MODEL: 3.0}
    summary, rows = collect_results(emu.v1(), finished.id, prices=prices)
    assert len(rows) == 36
    assert summary.job_id == finished.id
    assert summary.status == "succeeded"
    assert summary.fine_tuned_model == finished.fine_tuned_model
    assert summary.trained_tokens == finished.trained_tokens
    assert summary.finished_at == finished.finished_at
    assert summary.estimated_usd == pytest.approx(finished.trained_tokens * 3.0 / 1e6)
    full = [row.full_valid_loss for row in rows if row.full_valid_loss is not None]
    assert summary.best_valid_loss == min(full)
    assert [c.step for c in summary.checkpoints] == [36, 24, 12]
    # A continued fine-tune is priced as its base; an unknown model is not priced at all.
    continued = f"{finished.fine_tuned_model}:ckpt-step-24"
    again, _ = collect_results(emu.v1(), finished.id, prices=prices, price_model=continued)
    assert again.estimated_usd == summary.estimated_usd
    unknown, _ = collect_results(emu.v1(), finished.id, prices={"other-model": 3.0})
    assert unknown.estimated_usd is None
