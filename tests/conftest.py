"""Fixtures shared across the suite, and the shared helpers' folder on the import path.

``tests/support/`` holds helpers several test folders use (the emulator harness, the flow
runner, the webhook receiver); test modules import them by module name.

``prefect_backend``: one temporary Prefect server for the session (the test harness), with
result storage isolated in a temporary directory so cached task results never leak between
sessions. Tests that run flows request it; the rest of the suite never starts Prefect.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))


@pytest.fixture(scope="session")
def prefect_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A running Prefect API for flow runs; yields the isolated result storage directory."""
    from prefect.settings import (
        PREFECT_RESULTS_LOCAL_STORAGE_PATH,
        PREFECT_RESULTS_PERSIST_BY_DEFAULT,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    storage = tmp_path_factory.mktemp("prefect-results")
    with (
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
