"""Fixtures of the emulator conformance suite.

``emu`` gives each test a :class:`Harness` on an emptied emulator; the server behind it is
parametrized: ``inprocess`` (a uvicorn thread in this process) and ``live`` (a separate
``python -m emulator serve --port 0`` process). Both use the manual clock, so tests move time
explicitly and run fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from emulator_harness import Harness, Server, start_server  # type: ignore[import-not-found, unused-ignore]

MODES = ("inprocess", "live")

os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(Path(sys.prefix) / "share" / "ftflow" / "tiktoken"))


@pytest.fixture(scope="session", params=MODES)
def emulator_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One emulator per mode for the whole session."""
    mode = str(request.param)
    server = start_server(mode, tmp_path_factory.mktemp(f"emulator-{mode}") / "data")
    yield server
    server.stop()


@pytest.fixture
def emu(emulator_server: Server) -> Iterator[Harness]:
    """The session's emulator, reset for this test; clients closed afterwards."""
    harness = Harness(emulator_server)
    harness.reset()
    yield harness
    harness.close()


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """A server mode, for tests that start their own servers."""
    return str(request.param)
