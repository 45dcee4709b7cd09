"""Fixtures shared across the suite, and the shared helpers' folder on the import path.

``tests/support/`` holds helpers several test folders use (the emulator harness, the flow
runner, the webhook receiver); test modules import them by module name.

``prefect_backend``: one temporary Prefect server for the session (the test harness), with
result storage isolated in a temporary directory so cached task results never leak between
sessions. Tests that run flows request it; the rest of the suite never starts Prefect.

``emulator`` (one per test module), ``azure`` (that emulator emptied, with a pipeline
environment for one test: see ``flow_support.pipeline_environment``) and ``clients`` (the SDK
clients on it, to read what a flow did) serve the modules that run flows against it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))


LONGEST_FIRST = (
    "test_chaos_kills_seeds_0_9.py",
    "test_chaos_kills_seeds_10_19.py",
    "test_operations_concurrency.py",
    "test_operations_stack.py",
    "test_continuous_flow.py",
    "test_flow_fine_tune.py",
)
"""Modules that take minutes: collected first, so that `make test`'s parallel workers (one
module each at a time, ``--dist loadfile``) start them at once instead of last."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture(scope="session")
def prefect_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A running Prefect API for flow runs; yields the isolated result storage directory."""
    from prefect.settings import (
        PREFECT_RESULTS_LOCAL_STORAGE_PATH,
        PREFECT_RESULTS_PERSIST_BY_DEFAULT,
        PREFECT_SERVER_ANALYTICS_ENABLED,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    storage = tmp_path_factory.mktemp("prefect-results")
    with (
        # No telemetry from a test server: its heartbeat's write races the first runs on the
        # new SQLite database and prints "database is locked" tracebacks into the test logs.
        temporary_settings(updates={PREFECT_SERVER_ANALYTICS_ENABLED: False}),
        prefect_test_harness(server_startup_timeout=120),
        temporary_settings(
            updates={
                PREFECT_RESULTS_LOCAL_STORAGE_PATH: storage,
                PREFECT_RESULTS_PERSIST_BY_DEFAULT: True,
            }
        ),
    ):
        yield storage


@pytest.fixture(scope="session")
def receiver() -> Iterator[Any]:
    """A real webhook receiver on 127.0.0.1 (a free port), recording every request."""
    from webhook_receiver import running_receiver  # type: ignore[import-not-found, unused-ignore]

    with running_receiver() as running:
        yield running


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A running emulator on a fast scaled clock, for one test module's flow runs."""
    from flow_support import running_emulator  # type: ignore[import-not-found, unused-ignore]

    with running_emulator(tmp_path_factory.mktemp("emulator") / "data") as running:
        yield running


@pytest.fixture
def azure(
    emulator: Any,
    prefect_backend: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    receiver: Any,
    request: pytest.FixtureRequest,
) -> Iterator[Any]:
    """The module's emulator, emptied, and a pipeline environment for it: its settings, fresh
    result storage, and a webhook block (named after the module) posting to this test's path."""
    from flow_support import pipeline_environment  # type: ignore[import-not-found, unused-ignore]

    block = request.module.__name__.removeprefix("test_").replace("_", "-")
    with pipeline_environment(
        emulator, monkeypatch, tmp_path / "results", receiver, block, request.node.name
    ):
        yield emulator


@pytest.fixture
def clients(azure: Any) -> Iterator[Any]:
    """The SDK clients on the emulator, from the environment's settings."""
    from ftflow.azure.clients import connect
    from ftflow.settings import DataPlaneSettings, IdentitySettings, ManagementSettings

    made = connect(DataPlaneSettings(), ManagementSettings(), IdentitySettings())
    try:
        yield made
    finally:
        made.close()
