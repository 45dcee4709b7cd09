"""The ``kills`` fixture of the ``test_chaos_kills_seeds_*`` modules: each names its seeds in
``MINE`` and gets them killed and re-run once, for all of its tests (``_chaos_kills``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="module")
def kills(
    request: pytest.FixtureRequest,
    prefect_backend: object,
    receiver: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    from _chaos_kills import running_kills  # type: ignore[import-not-found, unused-ignore]

    with running_kills(request.module.MINE, receiver, tmp_path_factory) as done:
        yield done
