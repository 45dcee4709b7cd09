"""A validation report for people: two tables and a verdict, readable at a glance."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from ftflow.validation import FileReport, Finding, ValidationReport

__all__ = ["render"]

_STYLE = {"error": "bold red", "warning": "yellow"}


def _files_table(report: ValidationReport) -> Table:
    table = Table(title="Data", title_justify="left")
    table.add_column("")
    for f in report.files:
        table.add_column(Text(f"{f.role}\n{Path(f.path).name}"), justify="right")

    def row(label: str, cell: Callable[[FileReport], str | Text]) -> None:
        table.add_row(label, *(cell(f) for f in report.files))

    row("format", lambda f: f.format or "-")
    row("examples", lambda f: f"{f.tokens.examples:,}")
    row("messages", lambda f: f"{f.messages:,}")
    row("tokens / example min", lambda f: f"{f.tokens.minimum:,}")
    row("median", lambda f: f"{f.tokens.median:,.0f}")
    row("p95", lambda f: f"{f.tokens.p95:,}")
    row("max", lambda f: f"{f.tokens.maximum:,}")
    row("tokens in all", lambda f: f"{f.tokens.total:,}")
    row("trainable (assistant)", lambda f: f"{f.trainable_tokens:,}")
    row("errors", lambda f: Text(f"{f.errors:,}", style=_STYLE["error"] if f.errors else ""))
    row(
        "warnings",
        lambda f: Text(f"{f.warnings:,}", style=_STYLE["warning"] if f.warnings else ""),
    )
    return table


def _location(finding: Finding) -> str:
    name = Path(finding.file).name
    return name if finding.line is None else f"{name}:{finding.line}"


def _findings(out: Console, files: list[FileReport], shown: int) -> None:
    """Findings grouped by kind, errors first: the fix once, then where it applies."""
    by_kind: dict[str, list[Finding]] = defaultdict(list)
    totals: dict[str, int] = defaultdict(int)
    for report in files:
        for finding in report.findings:
            by_kind[finding.kind].append(finding)
        for kind, count in report.counts.items():
            totals[kind] += count
    for kind in sorted(by_kind, key=lambda k: (by_kind[k][0].severity != "error", k)):
        rows = by_kind[kind]
        severity = rows[0].severity
        out.print(
            Text.assemble(
                (f"{severity} ", _STYLE[severity]),
                (kind, "bold"),
                f" ({totals[kind]:,})  fix: {rows[0].hint}",
            )
        )
        table = Table(show_header=False, box=None, padding=(0, 1, 0, 2))
        table.add_column("where", no_wrap=True)
        table.add_column("field", style="cyan")
        table.add_column("problem", overflow="fold")
        for finding in rows[:shown]:
            # Text, not markup: paths, keys and values come from the user's data.
            table.add_row(
                Text(_location(finding)), Text(finding.field or ""), Text(finding.message)
            )
        if totals[kind] > shown:
            table.add_row("", "", Text(f"… and {totals[kind] - shown:,} more", style="dim"))
        out.print(table)


def render(report: ValidationReport, console: Console | None = None, shown: int = 5) -> None:
    """Print ``report`` for a person, with at most ``shown`` findings of each kind."""
    out = console or Console(highlight=False, soft_wrap=False)
    out.print(
        f"Model [bold]{escape(report.model)}[/] (encoding {report.encoding}, "
        f"max {report.max_example_tokens:,} tokens per example)"
    )
    for f in report.files:
        out.print(f"{f.role.capitalize()}: {escape(f.path)} ({f.bytes:,} bytes)")
    out.print(_files_table(report))
    _findings(out, report.files, shown)
    billing = report.billing
    if billing is not None:
        cost = (
            "no price known for this model"
            if billing.estimated_usd is None
            else f"≈ USD {billing.estimated_usd:,.2f} at {billing.usd_per_million:,.2f} per 1M"
        )
        out.print(
            f"Cost estimate: {billing.training_tokens:,} tokens × {billing.epochs} epochs "
            f"({billing.epochs_source}) = {billing.billed_tokens:,} billed tokens, {cost}"
        )
    if report.ok:
        out.print("[bold green]PASS[/] the data is ready for fine-tuning")
    else:
        errors = sum(f.errors for f in report.files)
        out.print(f"[bold red]FAIL[/] {errors:,} errors: fix them before training")
