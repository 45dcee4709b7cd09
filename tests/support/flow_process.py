"""The real ``fine-tune`` flow in a process of its own, for tests that kill it with SIGKILL.

The process imports the flow, then waits on its standard input for :meth:`FlowProcess.start`
before it runs, so a test can pay for the slow part (Python, Prefect and the SDKs importing)
ahead of time and still choose when the run begins. It reads its settings from the
environment, as a worker's flow process would: the Prefect API and result storage of the test
session (:func:`flow_environment`), the emulator's client settings.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

REPO = Path(__file__).resolve().parents[2]

_SCRIPT = """
import asyncio, sys
from flows.fine_tune import fine_tune
from ftflow.request import FineTuneRequest
request = FineTuneRequest.model_validate_json(sys.argv[1])
if sys.stdin.readline() == "go\\n":
    asyncio.run(fine_tune(request))
"""


def flow_environment(results: Path, **settings: str) -> dict[str, str]:
    """This process's environment for a flow process: the Prefect API in use here (the test
    session's server), results persisted under ``results``, and ``settings`` on top."""
    from prefect.settings import PREFECT_API_URL

    return {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(results),
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
        **settings,
    }


class FlowProcess:
    """``python -c`` running ``fine_tune(request)`` once started; output goes to ``log``."""

    def __init__(self, request: Mapping[str, Any], env: Mapping[str, str], log: Path) -> None:
        self.log = log
        self._output = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-c", _SCRIPT, json.dumps(request)],
            env=dict(env),
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )

    def start(self) -> None:
        """Let the run begin."""
        assert self.process.stdin is not None
        self.process.stdin.write(b"go\n")
        self.process.stdin.close()

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.process.poll() is None

    def kill(self) -> int:
        """SIGKILL: no hook, no ``finally`` runs. Returns the exit status (``-9``)."""
        if self.alive():
            self.process.send_signal(signal.SIGKILL)
        status = self.process.wait()
        self._output.close()
        return status

    def output(self) -> str:
        """What the process printed so far (for failure messages)."""
        return self.log.read_text(encoding="utf-8", errors="replace")

    def __enter__(self) -> FlowProcess:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.kill()
