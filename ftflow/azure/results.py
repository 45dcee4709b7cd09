"""What a finished fine-tuning job produced: its metrics, its checkpoints and a summary.

``results.csv`` (the job's ``result_files[0]``) holds one row per training step. Azure has
served it both as CSV and as base64 of the CSV, writes ``-1`` for values it does not have,
and documents the header ``validation_mean_token_accuracy`` where every other surface says
``valid_mean_token_accuracy``; :func:`parse_results_csv` accepts all of these. Checkpoints are
listed newest first, as the service lists them. The cost in a :class:`TrainingSummary` is an
estimate (trained tokens × a list price), never a bill.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import openai
from openai.types.fine_tuning import FineTuningJob

from ftflow.azure.errors import from_openai
from ftflow.catalog import base_model_of

__all__ = [
    "METRIC_NAMES",
    "Checkpoint",
    "MetricsRow",
    "ResultsFormatError",
    "TrainingSummary",
    "collect_results",
    "fetch_metrics",
    "list_checkpoints",
    "parse_results_csv",
    "sample_rows",
    "summarize",
]

METRIC_NAMES = (
    "train_loss",
    "train_mean_token_accuracy",
    "valid_loss",
    "valid_mean_token_accuracy",
    "full_valid_loss",
    "full_valid_mean_token_accuracy",
)
"""The metric columns of ``results.csv`` (besides ``step``), in the service's order."""

_ALIASES = {"validation_mean_token_accuracy": "valid_mean_token_accuracy"}
_ABSENT = -1.0


class ResultsFormatError(ValueError):
    """``results.csv`` is not CSV (nor base64 of CSV), or lacks the ``step`` column."""


@dataclass(frozen=True)
class MetricsRow:
    """One training step of ``results.csv``; ``None`` where the service had no value."""

    step: int
    train_loss: float | None
    train_mean_token_accuracy: float | None
    valid_loss: float | None
    valid_mean_token_accuracy: float | None
    full_valid_loss: float | None
    full_valid_mean_token_accuracy: float | None

    def as_dict(self) -> dict[str, int | float | None]:
        """The row as plain JSON values."""
        return asdict(self)


@dataclass(frozen=True)
class Checkpoint:
    """A deployable checkpoint: its id, its model name (``…:ckpt-step-N`` or the final
    model's), the step it was taken at and the metrics there (absent ones left out)."""

    id: str
    model: str
    step: int
    metrics: dict[str, float]


@dataclass(frozen=True)
class TrainingSummary:
    """The outcome of one job, for artifacts, notifications and the flow's result.

    ``best_valid_loss`` is the lowest ``full_valid_loss`` (the whole validation set, at each
    epoch end) when the job reported any, else the lowest mini-batch ``valid_loss``.
    ``estimated_usd`` is trained tokens × the given list price, an estimate, not a bill.
    """

    job_id: str
    status: str
    model: str
    fine_tuned_model: str | None
    trained_tokens: int | None
    finished_at: int | None
    steps: int
    last_metrics: MetricsRow | None
    best_valid_loss: float | None
    best_valid_step: int | None
    checkpoints: tuple[Checkpoint, ...]
    usd_per_million_tokens: float | None
    estimated_usd: float | None

    def as_dict(self) -> dict[str, Any]:
        """The summary as plain JSON values (what a Prefect task can persist); the last row
        becomes ``final_metrics``, metric name → value."""
        values = asdict(self)
        last = values.pop("last_metrics") or {}
        values["final_metrics"] = {name: last[name] for name in METRIC_NAMES if name in last}
        values["checkpoints"] = [asdict(checkpoint) for checkpoint in self.checkpoints]
        return values


def _text(content: bytes) -> str:
    """The CSV text of ``content``, raw or base64-encoded; ``""`` when blank."""
    try:
        text = content.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        text = None
    if text is not None and ("," in text.partition("\n")[0] or text == ""):
        return text
    squeezed = b"".join(content.split()).strip(b'"')
    try:
        decoded = base64.b64decode(squeezed, validate=True).decode("utf-8-sig").strip()
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    if "," in decoded.partition("\n")[0]:
        return decoded
    preview = content[:40].decode("utf-8", "replace")
    raise ResultsFormatError(
        f"the results file is neither CSV nor base64-encoded CSV (it starts with {preview!r})"
    )


def _number(value: str | None, line: int, column: str) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        number = float(value)
    except ValueError:
        raise ResultsFormatError(
            f"results.csv line {line}, column {column!r}: {value.strip()!r} is not a number"
        ) from None
    return None if number == _ABSENT or math.isnan(number) else number


def parse_results_csv(content: bytes) -> list[MetricsRow]:
    """The rows of ``results.csv``, given raw or base64-encoded; unknown columns ignored."""
    text = _text(content)
    if not text:
        return []
    reader = csv.reader(io.StringIO(text))
    header = [_ALIASES.get(name.strip().lower(), name.strip().lower()) for name in next(reader)]
    if "step" not in header:
        raise ResultsFormatError(f"results.csv has no 'step' column; its header is {header!r}")
    rows: list[MetricsRow] = []
    for line, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        record = dict(zip(header, cells, strict=False))
        step = _number(record.get("step"), line, "step")
        if step is None or not step.is_integer():
            raise ResultsFormatError(
                f"results.csv line {line}: step {record.get('step')!r} is not a step number"
            )
        values = {name: _number(record.get(name), line, name) for name in METRIC_NAMES}
        rows.append(MetricsRow(step=int(step), **values))
    return rows


def fetch_metrics(client: openai.OpenAI, job: FineTuningJob) -> list[MetricsRow]:
    """The job's per-step metrics from its results file; empty when it has none (yet)."""
    if not job.result_files:
        return []
    file_id = job.result_files[0]
    try:
        content = client.files.content(file_id).content
    except openai.OpenAIError as error:
        raise from_openai(error, f"downloading results file {file_id} of job {job.id}") from error
    return parse_results_csv(content)


def list_checkpoints(client: openai.OpenAI, job_id: str) -> list[Checkpoint]:
    """The job's checkpoints, newest first as the service lists them."""
    checkpoints: list[Checkpoint] = []
    try:
        for item in client.fine_tuning.jobs.checkpoints.list(job_id, limit=100):
            reported: Mapping[str, Any] = item.metrics.model_dump(exclude_none=True)
            metrics = {
                name: float(value)
                for name, value in reported.items()
                if name != "step" and isinstance(value, int | float) and value != _ABSENT
            }
            checkpoints.append(
                Checkpoint(item.id, item.fine_tuned_model_checkpoint, item.step_number, metrics)
            )
    except openai.OpenAIError as error:
        raise from_openai(error, f"listing checkpoints of job {job_id}") from error
    return checkpoints


def _best_valid(rows: Sequence[MetricsRow]) -> tuple[float | None, int | None]:
    for column in ("full_valid_loss", "valid_loss"):
        scored = [(value, row.step) for row in rows if (value := getattr(row, column)) is not None]
        if scored:
            best = min(scored)
            return best[0], best[1]
    return None, None


def summarize(
    job: FineTuningJob,
    rows: Sequence[MetricsRow],
    checkpoints: Sequence[Checkpoint],
    usd_per_million: float | None,
) -> TrainingSummary:
    """One job's outcome; the cost is estimated only when both tokens and a price are known."""
    best_loss, best_step = _best_valid(rows)
    tokens = job.trained_tokens
    estimate = None
    if tokens is not None and usd_per_million is not None:
        estimate = round(tokens / 1_000_000 * usd_per_million, 6)
    return TrainingSummary(
        job_id=job.id,
        status=str(job.status),
        model=job.model,
        fine_tuned_model=job.fine_tuned_model,
        trained_tokens=tokens,
        finished_at=job.finished_at,
        steps=rows[-1].step if rows else 0,
        last_metrics=rows[-1] if rows else None,
        best_valid_loss=best_loss,
        best_valid_step=best_step,
        checkpoints=tuple(checkpoints),
        usd_per_million_tokens=usd_per_million,
        estimated_usd=estimate,
    )


def collect_results(
    client: openai.OpenAI,
    job_id: str,
    *,
    prices: Mapping[str, float],
    price_model: str | None = None,
) -> tuple[TrainingSummary, list[MetricsRow]]:
    """The job as it is now, summarized, and every metrics row of its results file.

    The cost is estimated at ``prices`` (USD per 1M training tokens by base model) for the
    base of ``price_model``, by default of the job's own model.
    """
    try:
        job = client.fine_tuning.jobs.retrieve(job_id)
    except openai.OpenAIError as error:
        raise from_openai(error, f"retrieving fine-tuning job {job_id}") from error
    rows = fetch_metrics(client, job)
    price = prices.get(base_model_of(price_model or job.model))
    return summarize(job, rows, list_checkpoints(client, job_id), price), rows


def sample_rows(rows: Sequence[MetricsRow], limit: int = 200) -> list[MetricsRow]:
    """At most ``limit`` rows spread evenly over the run, always the first and the last."""
    if limit < 2:
        raise ValueError(f"limit must be at least 2, got {limit}")
    if len(rows) <= limit:
        return list(rows)
    last = len(rows) - 1
    picks = sorted({round(i * last / (limit - 1)) for i in range(limit)})
    return [rows[i] for i in picks]
