"""prefect.yaml: the deployments it declares, read as Prefect reads them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped, unused-ignore]  # Prefect's dependency; no stubs
from prefect.cli.deploy._models import PrefectYamlModel

from deployments.pools import LOCAL_POOL, PROD_POOL, WORK_POOLS
from ftflow.cleanup import CleanupRequest
from ftflow.continuous import ContinuousRequest, RollbackRequest
from ftflow.request import FineTuneRequest

REPO = Path(__file__).resolve().parents[2]
TEXT = (REPO / "prefect.yaml").read_text()
PROJECT: dict[str, Any] = yaml.safe_load(TEXT)


def _deployment(flow_entrypoint: str, name: str) -> dict[str, Any]:
    found = [
        d
        for d in PROJECT["deployments"]
        if d["entrypoint"].endswith(f":{flow_entrypoint}") and d["name"] == name
    ]
    assert len(found) == 1, f"{flow_entrypoint}/{name}: {len(found)} deployments"
    return dict(found[0])


def test_prefect_yaml_is_valid_for_prefect() -> None:
    PrefectYamlModel.model_validate(PROJECT)


def test_every_deployment_enforces_its_schema_on_a_known_pool() -> None:
    names = {(d["entrypoint"], d["name"]) for d in PROJECT["deployments"]}

    assert names == {
        ("flows/fine_tune.py:fine_tune", "prod"),
        ("flows/fine_tune.py:fine_tune", "local"),
        ("flows/continuous.py:continuous_fine_tune", "prod"),
        ("flows/cleanup.py:cleanup", "prod"),
        ("flows/rollback.py:rollback", "prod"),
    }
    for deployment in PROJECT["deployments"]:
        assert deployment["enforce_parameter_schema"] is True
        assert deployment["work_pool"]["name"] in WORK_POOLS
    assert _deployment("fine_tune", "local")["work_pool"]["name"] == LOCAL_POOL
    assert _deployment("fine_tune", "prod")["work_pool"]["name"] == PROD_POOL


def test_fine_tune_local_runs_exactly_the_example_parameters() -> None:
    example = json.loads((REPO / "examples" / "emulator-params.json").read_text())

    assert _deployment("fine_tune", "local")["parameters"] == {"request": example}


@pytest.mark.parametrize("name", ["local", "prod"])
def test_fine_tune_parameters_are_a_valid_request(name: str) -> None:
    FineTuneRequest.model_validate(_deployment("fine_tune", name)["parameters"]["request"])


def test_continuous_parameters_are_a_valid_request() -> None:
    request = _deployment("continuous_fine_tune", "prod")["parameters"]["request"]

    ContinuousRequest.model_validate(request)


def test_cleanup_and_rollback_parameters_are_valid_requests() -> None:
    cleanup = _deployment("cleanup", "prod")["parameters"]["request"]
    rollback = _deployment("rollback", "prod")["parameters"]["request"]

    assert CleanupRequest.model_validate(cleanup).dry_run
    RollbackRequest.model_validate(rollback)


@pytest.mark.parametrize(
    ("entrypoint", "slug"), [("continuous_fine_tune", "nightly"), ("cleanup", "weekly")]
)
def test_scheduled_deployments_have_stable_slugs(entrypoint: str, slug: str) -> None:
    schedules = _deployment(entrypoint, "prod")["schedules"]

    assert [schedule["slug"] for schedule in schedules] == [slug]


def test_every_entrypoint_exists_so_deploy_all_works() -> None:
    for deployment in PROJECT["deployments"]:
        path, _, function = deployment["entrypoint"].partition(":")
        assert f"def {function}(" in (REPO / path).read_text(), deployment["entrypoint"]


@pytest.mark.parametrize("entrypoint", ["continuous_fine_tune", "cleanup", "rollback"])
def test_runs_that_must_not_overlap_are_queued(entrypoint: str) -> None:
    limit = _deployment(entrypoint, "prod")["concurrency_limit"]

    assert limit == {"limit": 1, "collision_strategy": "ENQUEUE"}


def _walk(value: object) -> list[str]:
    """Every key and string value in ``value``, nested."""
    if isinstance(value, dict):
        return [str(k) for k in value] + [s for v in value.values() for s in _walk(v)]
    if isinstance(value, list):
        return [s for v in value for s in _walk(v)]
    return [value] if isinstance(value, str) else []


def _keys(value: object) -> list[str]:
    """Every key in ``value``, nested."""
    if isinstance(value, dict):
        return [str(k).lower() for k in value] + [k for v in value.values() for k in _keys(v)]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return []


def test_no_secret_is_resolved_into_a_deployment() -> None:
    texts = _walk(PROJECT)
    keys = _keys(PROJECT["deployments"])

    assert not [text for text in texts if "prefect.blocks" in text]
    assert not [k for k in keys if any(w in k for w in ("key", "secret", "password", "token"))]


def test_code_is_pulled_from_ftflow_home_on_the_worker() -> None:
    step = PROJECT["pull"][0]["prefect.deployments.steps.set_working_directory"]

    assert step == {"directory": "{{ $FTFLOW_HOME }}"}
