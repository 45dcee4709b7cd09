"""Running the pipeline on bad input, and reading what it left: the failure, the validation
report it published, the command's output."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flow_support import (  # type: ignore[import-not-found, unused-ignore]
    Finished,
    request_for,
    run_to_state,
    sample_copy,
)

from ftflow.notifications import StageFailed

__all__ = ["FTFLOW", "Command", "artifact_markdown", "failed_at", "ftflow", "sample_request"]

FTFLOW = Path(sys.executable).parent / "ftflow"


def sample_request(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """Parameters of a short run on a copy of the sample data (see ``request_for``)."""
    train, valid = sample_copy(tmp_path / "data")
    request: dict[str, Any] = request_for(train, valid, **overrides)
    return request


def failed_at(stage: str, request: Mapping[str, Any]) -> tuple[StageFailed, Finished]:
    """Run the real flow on ``request`` in this process; it must end Failed at ``stage``."""
    finished = run_to_state(request)
    assert finished.state.is_failed(), finished.state
    failure = finished.value
    assert isinstance(failure, StageFailed), failure
    assert failure.stage == stage, failure
    return failure, finished


def artifact_markdown(finished: Finished, key: str) -> str:
    """The markdown of the artifact ``key`` that the flow run of ``finished`` published."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterId,
    )

    with get_client(sync_client=True) as client:
        [artifact] = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[finished.state.state_details.flow_run_id])
            ),
        )
    return str(artifact.data)


@dataclass(frozen=True)
class Command:
    """How an ``ftflow`` command ended."""

    code: int
    stdout: str
    stderr: str


def ftflow(*args: str, cwd: Path, env: Mapping[str, str], timeout: float = 300) -> Command:
    """The installed ``ftflow`` command, as a user runs it; it never shows a traceback."""
    done = subprocess.run(
        [str(FTFLOW), *args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    for output in (done.stdout, done.stderr):
        assert "Traceback" not in output, output
    return Command(done.returncode, done.stdout, done.stderr)
