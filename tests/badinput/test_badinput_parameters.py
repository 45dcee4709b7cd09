"""Bad parameters for ``ftflow run``: a usage error (exit 2) that names the parameters file
and the field, before anything starts: no flow run, no traceback, and not one request to the
service, whose settings are in the command's environment.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from _badinput_runs import ftflow, sample_request  # type: ignore[import-not-found, unused-ignore]
from flow_support import Emulator, settings_env  # type: ignore[import-not-found, unused-ignore]


@pytest.fixture
def remote(emulator: Emulator) -> dict[str, str]:
    """An emptied emulator; the environment of a command that would use it."""
    emulator.reset()
    return {**os.environ, **settings_env(emulator.env)}


def _without(params: dict[str, Any], field: str) -> dict[str, Any]:
    return {key: value for key, value in params.items() if key != field}


CASES: dict[str, tuple[Any, str]] = {
    "unknown-field": ({"learning_rate": 0.1}, "learning_rate: Extra inputs are not permitted"),
    "negative-epochs": (
        {"n_epochs": -1},
        "n_epochs: Input should be greater than or equal to 1",
    ),
    "bad-deployment-name": (
        {"deployment_name": "support assistant!"},
        "deployment_name: String should match pattern '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'",
    ),
    "sku-not-allowed": (
        {"deployment_sku": "Premium"},
        "deployment_sku: Input should be 'Standard', 'GlobalStandard' or 'Developer'",
    ),
    "capacity-out-of-range": (
        {"deployment_capacity": 0},
        "deployment_capacity: Input should be greater than or equal to 1",
    ),
    "no-training-file": ("training_file", "training_file: Field required"),
    "training-file-absent": (
        {"training_file": "nowhere/train.jsonl"},
        "training_file: no such file: nowhere/train.jsonl",
    ),
    "validation-file-a-folder": (
        {"validation_file": "."},
        "validation_file: not a file: .",
    ),
}
"""Per case: the fields to override (or the one to leave out), and what stderr must say."""


@pytest.mark.parametrize(("change", "says"), CASES.values(), ids=CASES.keys())
def test_run_rejects_the_parameter_naming_it_and_sends_nothing(
    change: Any, says: str, emulator: Emulator, remote: dict[str, str], tmp_path: Path
) -> None:
    params = sample_request(tmp_path)
    params = _without(params, change) if isinstance(change, str) else {**params, **change}
    path = tmp_path / "params.json"
    path.write_text(json.dumps(params))

    run = ftflow("run", str(path), cwd=tmp_path, env=remote, timeout=120)

    assert run.code == 2, run.stdout + run.stderr
    assert run.stderr.startswith(f"error: {path}: invalid parameters: ")
    assert says in run.stderr
    assert run.stdout == ""
    assert emulator.log() == [], "a rejected run called the service"


@pytest.mark.parametrize(
    ("content", "says"),
    [("{not json", "not valid JSON: "), ("", "not valid JSON: "), (None, "cannot read: ")],
    ids=["not-json", "empty", "missing"],
)
def test_run_rejects_a_params_file_it_cannot_read(
    content: str | None, says: str, emulator: Emulator, remote: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "params.json"
    if content is not None:
        path.write_text(content)

    run = ftflow("run", str(path), cwd=tmp_path, env=remote, timeout=120)

    assert run.code == 2, run.stdout + run.stderr
    assert run.stderr.startswith(f"error: {path}: {says}")
    assert run.stdout == ""
    assert emulator.log() == [], "a rejected run called the service"
