"""What the continuous pipeline shows people: tables, summaries and notification messages.

Pure text: the tasks publish these as Prefect artifacts and send the messages through
notification blocks (redacted on the way out, like every notification).
"""

from __future__ import annotations

from collections.abc import Sequence

from ftflow.continuous.request import ContinuousResult, RollbackResult
from ftflow.continuous.state import ContinuousState
from ftflow.evaluation import EvalExample, Kind, example_scores
from ftflow.notifications import Message

__all__ = [
    "decision_message",
    "evaluation_rows",
    "lineage_rows",
    "rollback_message",
    "summary_markdown",
]

_CELL = 300


def _cell(text: object, limit: int = _CELL) -> str:
    """One markdown table cell: one line, at most ``limit`` characters, pipes escaped."""
    flat = " ".join(str(text).split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return flat.replace("|", "\\|")


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def lineage_rows(state: ContinuousState) -> list[dict[str, str]]:
    """The lineage as a table, oldest first: data version → job → model → deployment → scores."""
    rows: list[dict[str, str]] = []
    for entry in state.lineage:
        served = entry.event != "rejected" and entry.model == state.promoted
        rows.append(
            {
                "at": entry.at,
                "event": entry.event + (" (serving)" if served else ""),
                "data version": entry.data_version or "",
                "files": str(entry.files) if entry.data_version else "",
                "examples": str(entry.examples) if entry.data_version else "",
                "trained from": entry.trained_from or "",
                "job": entry.job or "",
                "model": entry.model,
                "deployment": entry.deployment,
                "metric": entry.metric or "",
                "score": _number(entry.score),
                "baseline": _number(entry.baseline),
                "replaced": entry.replaced or "",
                "run": entry.run or "",
            }
        )
    return rows


def evaluation_rows(
    examples: Sequence[EvalExample],
    candidate: Sequence[str],
    baseline: Sequence[str] | None,
    kind: Kind,
) -> list[dict[str, str]]:
    """Per example: the question, the reference, each answer and its scores."""
    rows: list[dict[str, str]] = []
    for index, example in enumerate(examples):
        answer = candidate[index]
        row = {
            "question": _cell(example.question, 120),
            "reference": _cell(example.reference, 160),
            "candidate": _cell(answer, 160),
        }
        row.update(
            {
                f"candidate {k}": f"{v:.2f}"
                for k, v in example_scores(answer, example.reference, kind).items()
            }
        )
        if baseline is not None:
            row["served"] = _cell(baseline[index], 160)
            scores = example_scores(baseline[index], example.reference, kind)
            row.update({f"served {k}": f"{v:.2f}" for k, v in scores.items()})
        rows.append(row)
    return rows


def _facts(result: ContinuousResult) -> list[tuple[str, str]]:
    """What a run's summary and notification both show, the empty ones left out."""
    facts = (
        ("Stable deployment", result.deployment),
        ("Serving", result.promoted_model),
        ("Candidate", result.candidate_model),
        ("Job", result.job_id),
        ("Data version", result.data_version),
        ("New files", ", ".join(result.new_files)),
    )
    return [(label, value) for label, value in facts if value]


def summary_markdown(result: ContinuousResult, reasons: Sequence[str] = ()) -> str:
    """The run in a few lines: outcome, what is served, why."""
    lines = [f"### Continuous fine-tuning: {result.outcome.replace('_', ' ')}", "", result.message]
    shown = _facts(result)
    if shown:
        lines += ["", "| | |", "|---|---|"]
        lines += [f"| {label} | `{_cell(value)}` |" for label, value in shown]
    if reasons:
        lines += ["", "Decision:", ""] + [f"- {_cell(reason, 500)}" for reason in reasons]
    return "\n".join(lines) + "\n"


def decision_message(
    flow_name: str,
    run_name: str,
    result: ContinuousResult,
    reasons: Sequence[str] = (),
    run_url: str | None = None,
) -> Message:
    """The notification of a promotion or a rejection."""
    run = f"{flow_name} run {run_name}"
    if result.outcome == "promoted":
        subject = f"🚀 {run} promoted {result.candidate_model} on {result.deployment}"
    elif result.outcome == "rejected":
        subject = (
            f"🛑 {run} rejected candidate {result.candidate_model}; "
            f"{result.deployment} still serves {result.promoted_model or 'nothing'}"
        )
    else:
        subject = f"ℹ️ {run}: nothing new to train on"
    lines = [f"**{flow_name}** run **{run_name}**: {result.outcome.replace('_', ' ')}", ""]
    fields = [("Run", run_url)] if run_url else []
    lines += [f"- {label}: {value}" for label, value in [*fields, *_facts(result)]]
    lines += ["", result.message]
    if reasons:
        lines += ["", "Why:", ""] + [f"- {reason}" for reason in reasons]
    return Message(subject=subject, body="\n".join(lines))


def rollback_message(
    flow_name: str, run_name: str, result: RollbackResult, run_url: str | None = None
) -> Message:
    """The notification of a rollback."""
    subject = (
        f"↩️ {flow_name} run {run_name}: {result.deployment} serves {result.restored_model} again"
    )
    lines = [f"**{flow_name}** run **{run_name}**: rolled back", ""]
    fields = (
        ("Run", run_url),
        ("Stable deployment", result.deployment),
        ("Serving", result.restored_model),
        ("Replaced", result.replaced_model),
    )
    lines += [f"- {label}: {value}" for label, value in fields if value]
    lines += ["", result.message]
    return Message(subject=subject, body="\n".join(lines))
