"""How a cleanup is told: the plan as a markdown table, the result, the notification."""

from __future__ import annotations

from collections.abc import Sequence

from ftflow.azure.limits import FILES_PER_RESOURCE, FINE_TUNED_DEPLOYMENTS_PER_RESOURCE
from ftflow.cleanup.plan import CleanupPlan
from ftflow.cleanup.request import CleanupResult
from ftflow.notifications import Message

__all__ = ["cleanup_message", "plan_markdown", "summarise"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def plan_markdown(plan: CleanupPlan, dry_run: bool) -> str:
    """The plan as the run's artifact: one row per deployment and file."""
    verb = "would delete" if dry_run else "delete"
    lines = [
        f"Cleanup {'(dry run) ' if dry_run else ''}of everything older than "
        f"{plan.older_than_days:g} days at {plan.now.isoformat()} (the service's clock).",
        "",
        f"Fine-tuned deployments: {plan.remaining('deployment')} of "
        f"{FINE_TUNED_DEPLOYMENTS_PER_RESOURCE} stay, {len(plan.deletions('deployment'))} "
        f"to delete. Files: {plan.remaining('file')} of {FILES_PER_RESOURCE} stay, "
        f"{len(plan.deletions('file'))} to delete.",
        "",
        "| kind | name | serves / file | age (days) | action | why |",
        "|---|---|---|---:|---|---|",
    ]
    for d in plan.decisions:
        age = "?" if d.age_days is None else f"{d.age_days:.1f}"
        action = f"**{verb}**" if d.delete else "keep"
        cells = (d.kind, d.name, d.detail, age, action, d.reason)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    if not plan.decisions:
        lines.append("| | nothing on the resource | | | | |")
    lines += [f"\n⚠️ {warning}" for warning in plan.warnings()]
    return "\n".join(lines)


def summarise(plan: CleanupPlan, dry_run: bool, failed: Sequence[str] = ()) -> CleanupResult:
    """The run's result: what went (or would), what stays, and what failed."""
    deployments = [d.name for d in plan.deletions("deployment")]
    files = [d.name for d in plan.deletions("file")]
    if dry_run:
        verb = "would delete"
    elif failed:
        verb = f"deleted all but {len(failed)} of"
    else:
        verb = "deleted"
    message = (
        f"{verb} {len(deployments)} deployment(s) and {len(files)} file(s) older than "
        f"{plan.older_than_days:g} days"
    )
    if deployments:
        message += f": {', '.join(deployments)}"
    if dry_run and (deployments or files):
        message += " (dry run: run with dry_run=false to delete)"
    failed_names = set(failed)
    return CleanupResult(
        dry_run=dry_run,
        deployments=deployments,
        files=files,
        kept_deployments=plan.remaining("deployment")
        + sum(1 for name in deployments if name in failed_names),
        kept_files=plan.remaining("file") + sum(1 for name in files if name in failed_names),
        failed=list(failed),
        warnings=plan.warnings(),
        message=message,
    )


def cleanup_message(run_name: str, result: CleanupResult, run_url: str | None) -> Message:
    """The notification of a cleanup that deleted something."""
    subject = f"🧹 cleanup run {run_name}: {result.message}"
    lines = [f"**cleanup** run **{run_name}**", ""]
    if run_url:
        lines.append(f"- Run: {run_url}")
    lines.append(f"- Deployments deleted: {', '.join(result.deployments) or 'none'}")
    lines.append(f"- Files deleted: {len(result.files)}")
    lines.append(
        f"- Left: {result.kept_deployments} fine-tuned deployments, {result.kept_files} files"
    )
    if result.failed:
        lines.append(f"- Failed: {', '.join(result.failed)}")
    lines += ["", *result.warnings]
    return Message(subject=subject[:200], body="\n".join(lines))
