"""Support for running the real ``fine-tune`` flow against a real emulator.

The emulator runs on a thread of the test process with a fast scaled clock (a training job
takes a second or two), speaking HTTPS; the flow reads the emulator's printed settings from
the environment exactly as it would read Azure's.
"""

from __future__ import annotations

import json
import shutil
import ssl
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2

from emulator.config import EmulatorConfig, Timings, Tunables
from emulator.server import EmulatorServer

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"
BASE_MODEL = "gpt-4o-mini-2024-07-18"


class Emulator:
    """A running emulator and its control API."""

    def __init__(self, data_dir: Path, speed: float = 3000.0, **config: Any) -> None:
        tunables = Tunables(timings=Timings(lro_retry_after_ms=50))
        self._start(
            EmulatorConfig(
                data_dir=data_dir, port=0, clock="scaled", speed=speed, tunables=tunables, **config
            )
        )

    def _start(self, config: EmulatorConfig) -> None:
        self._server = EmulatorServer(config).start()
        self.env: dict[str, str] = dict(self._server.environment)
        context = ssl.create_default_context(cafile=self.env["AZURE_OPENAI_CA_BUNDLE"])
        self._http = httpx2.Client(
            verify=context,
            base_url=self.env["AZURE_OPENAI_ENDPOINT"],
            headers={"api-key": self.env["AZURE_OPENAI_API_KEY"]},
            timeout=30,
        )

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, "/_emulator" + path, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def reset(self) -> None:
        self.control("POST", "/reset")

    def requests(self, method: str, path_prefix: str) -> list[dict[str, Any]]:
        """Requests the emulator applied or refused, filtered by method and path prefix."""
        found = self.control("GET", "/requests", params={"method": method})["data"]
        return [r for r in found if str(r["path"]).startswith(path_prefix)]

    def count(self, method: str, path_prefix: str, status: int | None = None) -> int:
        return sum(
            1
            for r in self.requests(method, path_prefix)
            if status is None or int(r["status"]) == status
        )

    def fault(self, family: str = "", **rule: Any) -> Any:
        return self.control("POST", "/faults" + (f"/{family}" if family else ""), json=rule)

    def clear_faults(self) -> None:
        self.control("DELETE", "/faults")

    def stop(self) -> None:
        self._http.close()
        self._server.stop()


@contextmanager
def running_emulator(data_dir: Path, speed: float = 3000.0) -> Iterator[Emulator]:
    emulator = Emulator(data_dir, speed)
    try:
        yield emulator
    finally:
        emulator.stop()


def sample_copy(into: Path) -> tuple[Path, Path]:
    """The bundled sample dataset, copied where the test may change it."""
    into.mkdir(parents=True, exist_ok=True)
    train = shutil.copy(SAMPLE / "train.jsonl", into / "train.jsonl")
    valid = shutil.copy(SAMPLE / "validation.jsonl", into / "validation.jsonl")
    return Path(train), Path(valid)


def request_for(train: Path, valid: Path | None, **overrides: Any) -> dict[str, Any]:
    """Parameters of a short run on ``train``: the flow's ``request``."""
    request: dict[str, Any] = {
        "training_file": str(train),
        "validation_file": str(valid) if valid else None,
        "base_model": BASE_MODEL,
        "n_epochs": 2,
        "suffix": "support",
        "deployment_name": "support-assistant",
        "poll_interval_max_seconds": 0.5,
        "job_timeout_minutes": 5,
        "deploy_timeout_minutes": 2,
        "smoke_prompts": [
            {"name": "restore", "prompt": "How do I restore a deleted file?", "contains": []}
        ],
    }
    request.update(overrides)
    return request


def settings_env(env: Mapping[str, str]) -> dict[str, str]:
    """The emulator's printed settings that the pipeline reads (not the control URL)."""
    return {k: v for k, v in env.items() if k.startswith("AZURE_")}


def as_json(value: object) -> str:
    return json.dumps(value)


class ManualEmulator(Emulator):
    """An emulator whose clock moves only when told; :meth:`ticking` moves it steadily."""

    def __init__(self, data_dir: Path) -> None:
        tunables = Tunables(timings=Timings(lro_retry_after_ms=50))
        config = EmulatorConfig(data_dir=data_dir, port=0, clock="manual", tunables=tunables)
        self._start(config)

    @contextmanager
    def ticking(self, seconds: float = 30.0, every: float = 0.05) -> Iterator[None]:
        """Advance simulated time by ``seconds`` every ``every`` wall seconds, meanwhile."""
        stop = threading.Event()

        def tick() -> None:
            while not stop.wait(every):
                self.control("POST", "/clock/advance", json={"seconds": seconds})

        thread = threading.Thread(target=tick, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


@contextmanager
def pipeline_environment(
    emulator: Emulator,
    monkeypatch: Any,
    results: Path,
    receiver: Any,
    block: str,
    test_name: str,
) -> Iterator[str]:
    """An emptied emulator, its settings in the environment, fresh Prefect result storage,
    and the webhook block ``block`` (named in ``FTFLOW_NOTIFY_BLOCKS``) posting to this
    test's own path on ``receiver``; yields that path (also in ``WEBHOOK_PATH``)."""
    from prefect.settings import PREFECT_RESULTS_LOCAL_STORAGE_PATH, temporary_settings

    from deployments.notifications import ensure_webhook_block

    emulator.reset()
    emulator.clear_faults()
    for name, value in settings_env(emulator.env).items():
        monkeypatch.setenv(name, value)
    path = "/" + test_name.replace("_", "-")[:60]
    ensure_webhook_block(block, receiver.url + path)
    monkeypatch.setenv("FTFLOW_NOTIFY_BLOCKS", json.dumps([block]))
    monkeypatch.setenv("WEBHOOK_PATH", path)
    with temporary_settings(updates={PREFECT_RESULTS_LOCAL_STORAGE_PATH: results}):
        yield path
