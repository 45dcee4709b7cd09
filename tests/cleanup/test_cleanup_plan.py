"""The cleanup rules the flow test cannot reach cheaply: busy deployments, files an
unfinished job reads, unknown ages, kinds left alone, the order of the plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ftflow.azure.deployments import DeploymentState
from ftflow.azure.files import RemoteFile
from ftflow.cleanup import Inventory, Protection, plan_cleanup, protection_from, summarise
from ftflow.continuous import ContinuousState

NOW = datetime(2026, 11, 21, tzinfo=UTC)
MODEL = "gpt-4o-mini-2024-07-18.ft-0123456789abcdef"


def _deployment(name: str, days: float | None, state: str = "Succeeded") -> DeploymentState:
    when = None if days is None else NOW - timedelta(days=days)
    return DeploymentState(name, MODEL, "Standard", 1, state, False, when, when)


def _file(file_id: str, days: float) -> RemoteFile:
    return RemoteFile(file_id, f"{file_id}.jsonl", 10, "processed", NOW - timedelta(days=days))


def _reasons(inventory: Inventory, **options: bool) -> dict[str, tuple[bool, str]]:
    plan = plan_cleanup(inventory, Protection(), 7, **options)
    return {d.name: (d.delete, d.reason) for d in plan.decisions}


def test_busy_and_undated_deployments_stay_whatever_their_age() -> None:
    inventory = Inventory(
        NOW,
        [_deployment("creating", 30, "Creating"), _deployment("undated", None)],
        [],
    )
    reasons = _reasons(inventory)
    assert reasons["creating"] == (False, "busy (Creating); judged again by the next cleanup")
    assert reasons["undated"][0] is False
    assert "age unknown" in reasons["undated"][1]


def test_a_file_an_unfinished_job_reads_stays() -> None:
    inventory = Inventory(
        NOW, [], [_file("file-a", 30), _file("file-b", 30)], {"file-a": "ftjob-1"}
    )
    reasons = _reasons(inventory)
    assert reasons["file-a"] == (False, "read by ftjob-1")
    assert reasons["file-b"][0] is True


def test_a_kind_left_alone_is_listed_but_kept() -> None:
    inventory = Inventory(NOW, [_deployment("old", 30)], [_file("file-a", 30)])
    reasons = _reasons(inventory, deployments=False)
    assert reasons["old"][0] is False
    assert "leaves deployments alone" in reasons["old"][1]
    assert reasons["file-a"][0] is True


def test_plan_lists_deployments_first_oldest_first() -> None:
    inventory = Inventory(
        NOW, [_deployment("new", 8), _deployment("old", 20)], [_file("file-a", 9)]
    )
    plan = plan_cleanup(inventory, Protection(), 7)
    assert [d.name for d in plan.decisions] == ["old", "new", "file-a"]
    result = summarise(plan, dry_run=False, failed=["old"])
    assert result.failed == ["old"]
    assert result.kept_deployments == 1  # the one that failed to go is still there
    assert result.message.startswith("deleted all but 1 of 2 deployment(s)")


def test_protection_names_the_variable_for_each_kept_thing() -> None:
    state = ContinuousState(deployment="serve", promoted=MODEL, previous=MODEL + "1")
    protection = protection_from({"pipeline": state}, ["pinned"])
    assert protection.deployments == {
        "pinned": "kept on request (keep_deployments)",
        "serve": "stable deployment of pipeline",
    }
    assert protection.models == {
        MODEL: "promoted model of pipeline",
        MODEL + "1": "rollback target of pipeline",
    }
