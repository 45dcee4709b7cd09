"""The data gate as the flow's first task: errors stop the run before anything remote."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NONE
from prefect.logging import get_run_logger

from ftflow.prices import load_prices
from ftflow.settings import TokenizerSettings, ValidationSettings
from ftflow.validation import ValidationOptions, ValidationReport, validate_dataset

__all__ = ["DataInvalid", "validate_data"]


class DataInvalid(Exception):
    """The data has errors: the message lists the first ones with file, line and field."""


def _markdown(report: ValidationReport) -> str:
    lines = [
        f"# Data validation for `{report.model}`",
        "",
        "| file | format | examples | tokens min/median/p95/max | trainable | errors | warnings |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in report.files:
        t = f.tokens
        lines.append(
            f"| {f.role}: `{Path(f.path).name}` | {f.format or '-'} | {t.examples:,} | "
            f"{t.minimum:,} / {t.median:,.0f} / {t.p95:,} / {t.maximum:,} | "
            f"{f.trainable_tokens:,} | {f.errors:,} | {f.warnings:,} |"
        )
    if report.billing is not None:
        b = report.billing
        cost = "unknown" if b.estimated_usd is None else f"USD {b.estimated_usd:,.2f}"
        lines += [
            "",
            f"Estimated cost: {b.billed_tokens:,} billed tokens ({b.epochs} epochs, "
            f"{b.epochs_source}) = {cost}.",
        ]
    findings = report.findings
    if findings:
        lines += ["", "| severity | where | field | problem | fix |", "|---|---|---|---|---|"]
        for finding in findings[:50]:
            where = Path(finding.file).name + (f":{finding.line}" if finding.line else "")
            message = finding.message.replace("|", "\\|")
            lines.append(
                f"| {finding.severity} | {where} | {finding.field or ''} | "
                f"{finding.kind}: {message} | {finding.hint} |"
            )
    return "\n".join(lines)


@task(name="validate", cache_policy=NONE)
def validate_data(
    training: str, validation: str | None, model: str, epochs: int | None
) -> dict[str, object]:
    """Validate the data for ``model``; raise :class:`DataInvalid` if it has errors."""
    logger = get_run_logger()
    settings = ValidationSettings()
    report = validate_dataset(
        Path(training),
        model=model,
        validation=Path(validation) if validation else None,
        epochs=epochs,
        encodings_dir=TokenizerSettings().tiktoken_cache_dir,
        options=ValidationOptions(
            workers=settings.workers, prices=load_prices(settings.prices_file)
        ),
    )
    create_markdown_artifact(
        markdown=_markdown(report), key="fine-tune-validation", description="Data validation"
    )
    for f in report.files:
        logger.info(
            "%s: %s examples, %s tokens, %s errors, %s warnings",
            f.path,
            f.tokens.examples,
            f.tokens.total,
            f.errors,
            f.warnings,
        )
    if not report.ok:
        errors = [f for f in report.findings if f.severity == "error"]
        shown = "; ".join(
            f"{Path(f.file).name}:{f.line or '-'} {f.field or ''} {f.kind}: {f.message}"
            for f in errors[:5]
        )
        total = sum(f.errors for f in report.files)
        raise DataInvalid(f"{total} errors in the data, e.g. {shown}")
    return report.as_dict()
