"""``python -m deployments.report fine-tune/local``: what the last run of a deployment did.

Read back through the Prefect API, as anyone looking at the server would: the run's final
state and duration, its result (the fine-tuned model, its deployment, the smoke-test
verdict; persisted when the worker sets ``PREFECT_RESULTS_PERSIST_BY_DEFAULT=true``, as the
local stack's does), the keyed artifacts it published and the links to open in the UI.
"""

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterId,
)
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.sorting import FlowRunSort
from prefect.exceptions import ObjectNotFound
from prefect.settings import get_current_settings

__all__ = ["RunReport", "main", "read_report"]


@dataclass
class RunReport:
    """One flow run as the API tells it."""

    run_id: UUID
    name: str
    state: str
    seconds: float
    message: str | None
    artifacts: list[str] = field(default_factory=list)
    result: dict[str, Any] | None = None

    @property
    def completed(self) -> bool:
        """Whether the run ended Completed."""
        return self.state == "Completed"

    def lines(self, ui_url: str | None) -> list[str]:
        """The report, one line per fact, for a terminal."""
        lines = [f"Run         {self.name}: {self.state} after {self.seconds:.1f} s"]
        if ui_url:
            lines.append(f"            {ui_url}/runs/flow-run/{self.run_id}")
        result = self.result or {}
        if "fine_tuned_model" in result:
            lines.append(f"Model       {result['fine_tuned_model']} (job {result.get('job_id')})")
            lines.append(f"Deployment  {result.get('deployment')}")
            lines.append(f"Smoke test  {result.get('smoke_verdict')}")
        elif self.message:
            lines.append(f"Why         {self.message}")
        shown = ", ".join(self.artifacts) or "none"
        lines.append(f"Artifacts   {shown}")
        if ui_url:
            lines.append(f"Prefect UI  {ui_url}")
        return lines


async def _latest_run(deployment: str) -> FlowRun:
    async with get_client() as client:
        found = await client.read_deployment_by_name(deployment)
        runs = await client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[found.id])),
            sort=FlowRunSort.EXPECTED_START_TIME_DESC,
            limit=1,
        )
    if not runs:
        raise LookupError(f"deployment {deployment!r} has no runs yet")
    return runs[0]


async def read_report(deployment: str, run_id: UUID | None = None) -> RunReport:
    """The report of run ``run_id``, by default the latest run of ``deployment``."""
    if run_id is None:
        run = await _latest_run(deployment)
    else:
        async with get_client() as client:
            run = await client.read_flow_run(run_id)
    async with get_client() as client:
        artifacts = await client.read_artifacts(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id]))
        )
    state = run.state
    report = RunReport(
        run_id=run.id,
        name=run.name or str(run.id),
        state=state.name if state and state.name else "unknown",
        seconds=run.total_run_time.total_seconds(),
        message=state.message if state else None,
        artifacts=sorted({a.key for a in artifacts if a.key}),
    )
    if state is not None and state.is_completed():
        report.result = await _result(state)
    return report


async def _result(state: Any) -> dict[str, Any] | None:
    """The run's persisted result as plain values, or ``None`` when it was not persisted."""
    try:
        value = await state.aresult(raise_on_failure=False)
    except Exception:  # not persisted, or unreadable here: the report says less
        return None
    if hasattr(value, "model_dump"):
        return dict(value.model_dump(mode="json"))
    return dict(value) if isinstance(value, dict) else None


def main(argv: Sequence[str] | None = None) -> int:
    """Print the report; 0 when the run Completed, 1 otherwise or when there is no run."""
    parser = argparse.ArgumentParser(
        prog="python -m deployments.report",
        description="Show what the last run of a deployment did (PREFECT_API_URL's server).",
    )
    parser.add_argument("deployment", help="FLOW/DEPLOYMENT, e.g. fine-tune/local")
    parser.add_argument("--flow-run", type=UUID, help="Report this run instead of the last.")
    args = parser.parse_args(argv)
    try:
        report = asyncio.run(read_report(args.deployment, args.flow_run))
    except (LookupError, ObjectNotFound) as error:
        print(f"error: {error or 'not found'}", file=sys.stderr)
        return 1
    ui_url = get_current_settings().ui_url
    print("\n".join(report.lines(ui_url)))
    return 0 if report.completed else 1


if __name__ == "__main__":
    raise SystemExit(main())
