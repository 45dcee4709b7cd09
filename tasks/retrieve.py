"""Task ``retrieve_results``: a finished job's metrics, checkpoints and summary, as artifacts.

Two keyed artifacts per run: ``fine-tune-metrics`` (a table, one row per step, at most
:data:`TABLE_ROWS` rows spread evenly over a long run, the last always kept) and
``fine-tune-curves`` (markdown: the loss and accuracy chart as an inline SVG, and the summary).
The result is plain JSON (:meth:`TrainingSummary.as_dict`), never an ``openai`` object.
"""

from __future__ import annotations

from typing import Any

import openai
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE

from ftflow.azure.results import TrainingSummary, collect_results, sample_rows
from ftflow.charts import curves_svg, svg_data_uri
from ftflow.prices import PriceFileError, load_prices
from ftflow.settings import ValidationSettings
from tasks._policy import TRANSIENT_RETRIES

__all__ = ["CURVES_KEY", "METRICS_KEY", "TABLE_ROWS", "retrieve_results"]

METRICS_KEY = "fine-tune-metrics"
CURVES_KEY = "fine-tune-curves"
TABLE_ROWS = 200


def _number(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}"


def _usd(value: float) -> str:
    """Dollars and cents, or significant digits below a dollar ($0.002256)."""
    return f"${value:,.2f}" if value >= 1 or value == 0 else f"${value:.4g}"


def _markdown(summary: TrainingSummary, chart_uri: str) -> str:
    """The chart and a short summary table."""
    if summary.estimated_usd is not None and summary.usd_per_million_tokens is not None:
        cost = (
            f"~{_usd(summary.estimated_usd)} (estimate: trained tokens × "
            f"{_usd(summary.usd_per_million_tokens)} per 1M; not a bill)"
        )
    else:
        cost = "unknown (no training price for this model)"
    best = _number(summary.best_valid_loss)
    if summary.best_valid_step is not None:
        best += f" (step {summary.best_valid_step})"
    last = summary.last_metrics
    tokens = f"{summary.trained_tokens:,}" if summary.trained_tokens is not None else "n/a"
    checkpoints = ", ".join(f"`{c.model}` (step {c.step})" for c in summary.checkpoints)
    lines = [
        f"### Fine-tuning job `{summary.job_id}`: {summary.status}",
        "",
        f"![loss and accuracy]({chart_uri})",
        "",
        "| | |",
        "|---|---|",
        f"| Fine-tuned model | `{summary.fine_tuned_model or 'none'}` |",
        f"| Base model | `{summary.model}` |",
        f"| Steps | {summary.steps} |",
        f"| Trained tokens | {tokens} |",
        f"| Estimated cost | {cost} |",
        f"| Final train loss | {_number(last.train_loss if last else None)} |",
        f"| Best validation loss | {best} |",
        f"| Checkpoints | {checkpoints or 'none'} |",
    ]
    return "\n".join(lines) + "\n"


@task(cache_policy=NONE, **TRANSIENT_RETRIES)
def retrieve_results(
    job_id: str, client: openai.OpenAI, base_model: str | None = None
) -> dict[str, Any]:
    """Read the finished job's metrics and checkpoints; publish the table, chart and summary.

    The cost is estimated from the price table (defaults, overridden by ``FTFLOW_PRICES_FILE``)
    for the base of ``base_model``, by default of the job's own model.
    """
    logger = get_run_logger()
    try:
        prices = load_prices(ValidationSettings().prices_file)
    except PriceFileError as error:
        logger.warning("No cost estimate: %s", error)
        prices = {}
    summary, rows = collect_results(client, job_id, prices=prices, price_model=base_model)
    table = [row.as_dict() for row in sample_rows(rows, TABLE_ROWS)]
    if table:
        create_table_artifact(
            table,
            key=METRICS_KEY,
            description=f"Metrics per step of fine-tuning job `{job_id}` "
            f"({len(table)} of {len(rows)} rows)",
        )
    title = f"{summary.fine_tuned_model or job_id}: loss and token accuracy"
    create_markdown_artifact(
        _markdown(summary, svg_data_uri(curves_svg(rows, title=title))),
        key=CURVES_KEY,
        description=f"Training curves and summary of fine-tuning job `{job_id}`",
    )
    logger.info(
        "Job %s %s: %s steps, %s trained tokens, best validation loss %s, %d checkpoints",
        job_id,
        summary.status,
        summary.steps,
        summary.trained_tokens,
        _number(summary.best_valid_loss),
        len(summary.checkpoints),
    )
    return summary.as_dict()
