"""Fixtures for notification tests: a real webhook receiver for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _webhook_receiver import (  # type: ignore[import-not-found, unused-ignore]
    Receiver,
    running_receiver,
)


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 (a free port), recording every request."""
    with running_receiver() as running:
        yield running
