"""Broken training files: every error kind of the validator's table (``KINDS``).

``ftflow validate`` runs once per kind (concurrently, to keep the suite short) and must name
the kind, the file, the line and the field, and exit 1. Then the whole pipeline: one flow run
on a file holding every flaw that fits a chat file must fail at validate, before anything
remote, listing them all in its validation report; and ``ftflow run`` on a broken file exits
1 with the failing stage and the place, and no traceback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from _badinput_cases import CASES, ERROR_KINDS, Broken, every_kind  # type: ignore[import-not-found, unused-ignore]
from _badinput_runs import Command, artifact_markdown, failed_at, ftflow  # type: ignore[import-not-found, unused-ignore]
from flow_process import flow_environment  # type: ignore[import-not-found, unused-ignore]
from flow_support import Emulator, request_for  # type: ignore[import-not-found, unused-ignore]

from ftflow.settings import TokenizerSettings


def test_the_cases_cover_every_error_kind_once() -> None:
    kinds = [case.kind for case in CASES]
    assert len(kinds) == len(set(kinds))
    assert set(kinds) == ERROR_KINDS
    assert "invalid-json" in ERROR_KINDS


def _validate_env() -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FTFLOW_")}
    environment["FTFLOW_TIKTOKEN_CACHE_DIR"] = str(TokenizerSettings().tiktoken_cache_dir)
    environment["FTFLOW_WORKERS"] = "1"
    environment["COLUMNS"] = "200"
    return environment


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Command]]:
    """``ftflow validate <kind>.jsonl --model M`` for every case, four at a time."""
    folder = tmp_path_factory.mktemp("broken")
    environment = _validate_env()

    def validate(case: Broken) -> Command:
        path = case.write(folder / f"{case.kind}.jsonl")
        return ftflow("validate", path.name, "--model", case.model, cwd=folder, env=environment)

    with ThreadPoolExecutor(max_workers=4) as pool:
        yield dict(zip((case.kind for case in CASES), pool.map(validate, CASES), strict=True))


@pytest.mark.parametrize("case", CASES, ids=[case.kind for case in CASES])
def test_validate_names_the_kind_the_file_the_line_and_the_field(
    case: Broken, validated: dict[str, Command]
) -> None:
    run = validated[case.kind]
    assert run.code == 1, run.stdout + run.stderr
    assert "FAIL 1 errors: fix them before training" in run.stdout
    lines = run.stdout.splitlines()
    [header] = [
        i for i, line in enumerate(lines) if line.startswith(f"error {case.kind} (1)  fix: ")
    ]
    finding = lines[header + 1].split()
    assert finding[0] == f"{case.kind}.jsonl" + (f":{case.line}" if case.line else ""), run.stdout
    if case.field is not None:
        assert finding[1] == case.field, run.stdout


def test_run_on_every_flaw_fails_at_validate_listing_them_all_and_sends_nothing(
    azure: Emulator, tmp_path: Path
) -> None:
    train, expected = every_kind(tmp_path / "train.jsonl")
    failure, finished = failed_at("validate", request_for(train, None))

    assert failure.message.startswith(f"{len(expected)} errors in the data, e.g. ")
    for kind, line, field in expected[:5]:
        assert f"train.jsonl:{line} {field or ''} {kind}: " in failure.message
    report = artifact_markdown(finished, "fine-tune-validation")
    for kind, line, field in expected:
        assert f"| error | train.jsonl:{line} | {field or ''} | {kind}: " in report
    assert azure.log() == [], "the run called the service"


def test_ftflow_run_on_a_broken_file_exits_1_naming_stage_and_place_and_sends_nothing(
    azure: Emulator, tmp_path: Path
) -> None:
    [case] = [case for case in CASES if case.kind == "unknown-role"]
    train = case.write(tmp_path / "train.jsonl")
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"request": request_for(train, None)}))

    run = ftflow("run", str(params), cwd=tmp_path, env=flow_environment(tmp_path / "results"))

    assert run.code == 1, run.stdout + run.stderr
    assert (
        "error: the run failed at validate: 1 errors in the data, e.g. "
        "train.jsonl:6 messages[1].role unknown-role: role 'customer' is not one of"
    ) in run.stderr
    assert azure.log() == [], "the run called the service"
