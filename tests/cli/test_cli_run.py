"""``ftflow run``: parameters are checked before anything starts; usage errors exit 2; a run
that works shows no traceback, even on Prefect's temporary server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from stack_support import own_environment  # type: ignore[import-not-found, unused-ignore]

FTFLOW = Path(sys.executable).parent / "ftflow"
REPO = Path(__file__).resolve().parents[2]


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FTFLOW), "run", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"training_file": "t.jsonl"}, "deployment_name: Field required"),
        (
            {"training_file": "t.jsonl", "deployment_name": "d", "n_epochs": 99},
            "n_epochs: Input should be less than or equal to 50",
        ),
        (
            {"training_file": "t.jsonl", "deployment_name": "d", "beta": 0.1},
            "beta applies to the dpo method only",
        ),
        (
            {"training_file": "t.jsonl", "deployment_name": "d", "api_key": "sk-123"},
            "api_key: Extra inputs are not permitted",
        ),
    ],
)
def test_run_rejects_bad_parameters_naming_the_field(
    tmp_path: Path, params: dict[str, object], expected: str
) -> None:
    path = tmp_path / "params.json"
    path.write_text(json.dumps(params))
    result = run_cli(str(path))
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_run_rejects_a_file_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "params.json"
    path.write_text("{not json")
    result = run_cli(str(path))
    assert result.returncode == 2
    assert "not valid JSON" in result.stderr


def test_run_rejects_a_missing_file(tmp_path: Path) -> None:
    result = run_cli(str(tmp_path / "absent.json"))
    assert result.returncode == 2
    assert "cannot read" in result.stderr


def test_a_run_on_prefects_temporary_server_shows_no_traceback(
    tmp_path: Path, emulator: Any
) -> None:
    """No PREFECT_API_URL and a new PREFECT_HOME: Prefect starts a temporary server (a new
    SQLite database) for the run, as it does for a user trying ftflow for the first time."""
    params = json.loads((REPO / "examples" / "emulator-params.json").read_text())
    del params["base_deployment"]
    for name in ("training_file", "validation_file"):
        params[name] = str(REPO / params[name])
    path = tmp_path / "params.json"
    path.write_text(json.dumps(params))
    env = own_environment() | emulator.env | {"PREFECT_HOME": str(tmp_path / "prefect")}

    done = run_cli(str(path), env=env, cwd=tmp_path, timeout=240)

    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Starting temporary server" in output
    assert "smoke test: passed (2/2 prompts)" in done.stdout
    assert "Traceback" not in output
    assert "database is locked" not in output
