"""What a job does once it starts, computed when it starts: the training run itself (a small
model really trained on the job's tokens, :func:`emulator.simulation.training.train`) and the
timeline of events, checkpoints and the outcome that the scheduler reveals as the clock passes.

Timeline, in simulated seconds of job activity (pauses excluded):

* ``0``: job started, files validated (preprocessing, ``job_preprocessing_seconds``);
* ``P``: training starts (a data-safety fault fails the job here);
* ``P + T·k/n``: step ``k`` of ``n``, a metrics event; a checkpoint at the end of each epoch but
  the last; ``T`` is proportional to trained tokens (tokens × epochs);
* ``P + T``: postprocessing; ``P + T + Q``: success, results file, final checkpoint.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from emulator.config import Timings
from emulator.fine_tuning.models import BaseModel, checkpoint_name
from emulator.fine_tuning.tokens import ParsedFile, get_encoding, parse_training_file
from emulator.simulation.training import (
    Hyperparameters,
    StepMetrics,
    resolve_hyperparameters,
    steps_per_epoch,
    train,
)

__all__ = ["Plan", "PreflightFailure", "build_plan", "metrics_dict", "results_csv"]

_RESULTS_HEADER = (
    "step,train_loss,train_mean_token_accuracy,valid_loss,valid_mean_token_accuracy,"
    "full_valid_loss,full_valid_mean_token_accuracy"
)
_METRIC_KEYS = (
    "train_loss",
    "train_mean_token_accuracy",
    "valid_loss",
    "valid_mean_token_accuracy",
    "full_valid_loss",
    "full_valid_mean_token_accuracy",
)
_PREFLIGHT_SECONDS = 30.0
_SAFETY_MESSAGE = (
    "The provided training data failed RAI checks for harm types: [hate_fairness, self_harm, "
    "violence]. Please fix the data and try again."
)
_INTERNAL_MESSAGE = (
    "The job failed due to an internal error. Please retry the job; contact support if the "
    "problem persists."
)


class PreflightFailure(Exception):
    """The job cannot train on its files; it fails during preprocessing with this error."""

    def __init__(self, code: str, message: str, param: str | None) -> None:
        super().__init__(message)
        self.error = {"code": code, "message": message, "param": param}


@dataclass(frozen=True)
class Plan:
    """A started job's future: timeline items ``[offset, kind, payload]`` and what it yields."""

    hyperparameters: Hyperparameters
    items: list[list[Any]]
    duration: float
    total_tokens: int
    trained_tokens: int
    exchanges: list[list[str]]
    results_csv: str


def metrics_dict(m: StepMetrics) -> dict[str, Any]:
    """A step's metrics as events and checkpoints carry them (absent values null)."""
    values: dict[str, Any] = {"step": m.step}
    for key in _METRIC_KEYS:
        value = getattr(m, key)
        values[key] = None if value is None else round(float(value), 8)
    return values


def results_csv(metrics: list[StepMetrics]) -> str:
    """The ``results.csv`` content: one row per step, ``-1`` where a value is absent."""
    out = io.StringIO()
    out.write(_RESULTS_HEADER + "\n")
    for m in metrics:
        cells = [str(m.step)]
        for key in _METRIC_KEYS:
            value = getattr(m, key)
            cells.append("-1" if value is None else f"{value:.6f}")
        out.write(",".join(cells) + "\n")
    return out.getvalue()


def _parse(content: bytes, base: BaseModel, param: str) -> ParsedFile:
    parsed = parse_training_file(content, base.encoding)
    for tokens, line in zip(parsed.example_tokens, parsed.line_numbers, strict=True):
        if tokens > base.max_example_tokens:
            raise PreflightFailure(
                "jsonlValidationFailed",
                f"Line {line}: the example has {tokens} tokens, more than the "
                f"{base.max_example_tokens} tokens {base.id} accepts in a training example.",
                param,
            )
    return parsed


def _failure(code: str, message: str, param: str | None) -> dict[str, Any]:
    return {"code": code, "message": message, "param": param}


def preflight_plan(error: dict[str, Any]) -> list[list[Any]]:
    """The timeline of a job that fails its preprocessing with ``error``."""
    return [
        [0.0, "event", {"message": "Job started."}],
        [_PREFLIGHT_SECONDS, "event", {"message": error["message"], "level": "error"}],
        [_PREFLIGHT_SECONDS, "fail", error],
    ]


def build_plan(
    *,
    training: bytes,
    validation: bytes | None,
    training_file: str,
    validation_file: str | None,
    base: BaseModel,
    requested: dict[str, Any],
    seed: int,
    timings: Timings,
    model_name: str,
    fault: dict[str, Any] | None,
) -> Plan:
    """Train and lay out the timeline; :class:`PreflightFailure` if the files cannot be used."""
    train_file = _parse(training, base, "training_file")
    valid_file = _parse(validation, base, "validation_file") if validation is not None else None
    if not train_file.examples:
        raise PreflightFailure(
            "jsonlValidationFailed", "The training file has no examples.", "training_file"
        )
    try:
        hp = resolve_hyperparameters(
            len(train_file.examples),
            requested.get("n_epochs"),
            requested.get("batch_size"),
            requested.get("learning_rate_multiplier"),
        )
    except ValueError as exc:
        raise PreflightFailure("invalidPayload", str(exc), "hyperparameters") from exc
    encoding = get_encoding(base.encoding)
    metrics = train(
        train_file.examples,
        valid_file.examples if valid_file else (),
        hp,
        seed,
        vocab_size=int(encoding.n_vocab),
    )
    trained_tokens = train_file.total_tokens * hp.n_epochs
    training_seconds = max(
        timings.min_training_seconds, trained_tokens / 1000 * timings.training_seconds_per_1k_tokens
    )
    pre = timings.job_preprocessing_seconds
    post = timings.job_postprocessing_seconds
    items: list[list[Any]] = [
        [0.0, "event", {"message": "Job started."}],
        [0.0, "event", {"message": f"Validating training file: {training_file}."}],
    ]
    if validation_file:
        items.append([0.0, "event", {"message": f"Validating validation file: {validation_file}."}])
    if fault is not None and fault.get("kind") == "data_safety":
        error = _failure("contentFilter", _SAFETY_MESSAGE, "training_file")
        items += [
            [pre, "event", {"message": _SAFETY_MESSAGE, "level": "error"}],
            [pre, "fail", error],
        ]
        return _plan(hp, items, pre, train_file, trained_tokens, metrics)
    items.append([pre, "event", {"message": "Training started."}])
    fail_at = None
    if fault is not None and fault.get("kind") == "internal_error":
        fail_at = pre + training_seconds * float(fault.get("at", 0.5))
    per_epoch = steps_per_epoch(len(train_file.examples), hp.batch_size)
    for m in metrics:
        offset = pre + training_seconds * m.step / len(metrics)
        if fail_at is not None and offset > fail_at:
            break
        data = metrics_dict(m)
        items.append(
            [
                offset,
                "metrics",
                {"message": f"Step {m.step}: training loss={m.train_loss:.8f}", "data": data},
            ]
        )
        if m.step % per_epoch == 0 and m.step < len(metrics):
            items.append(
                [
                    offset,
                    "checkpoint",
                    {
                        "step": m.step,
                        "name": checkpoint_name(model_name, m.step),
                        "metrics": {**data, "step": float(m.step)},
                    },
                ]
            )
    if fail_at is not None:
        error = _failure("internalFailure", _INTERNAL_MESSAGE, None)
        items += [
            [fail_at, "event", {"message": _INTERNAL_MESSAGE, "level": "error"}],
            [fail_at, "fail", error],
        ]
        return _plan(hp, items, fail_at, train_file, trained_tokens, metrics)
    end = pre + training_seconds + post
    items.append([pre + training_seconds, "event", {"message": "Postprocessing started."}])
    last = metrics_dict(metrics[-1])
    items.append(
        [
            end,
            "succeed",
            {
                "step": metrics[-1].step,
                "metrics": {**last, "step": float(last["step"])},
                "hours": training_seconds / 3600,
            },
        ]
    )
    return _plan(hp, items, end, train_file, trained_tokens, metrics)


def _plan(
    hp: Hyperparameters,
    items: list[list[Any]],
    duration: float,
    parsed: ParsedFile,
    trained_tokens: int,
    metrics: list[StepMetrics],
) -> Plan:
    items.sort(key=lambda item: item[0])
    return Plan(
        hyperparameters=hp,
        items=items,
        duration=duration,
        total_tokens=parsed.total_tokens,
        trained_tokens=trained_tokens,
        exchanges=[[e.prompt, e.reply] for e in parsed.exchanges],
        results_csv=results_csv(metrics),
    )
