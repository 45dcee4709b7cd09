"""SIGKILL the ``fine-tune`` flow process at seeds 10-19's points, then run it again: each
re-run Completed with one of everything, each killed run told of by the server
(``_chaos_kills``)."""

from __future__ import annotations

from typing import Any

import pytest
from _chaos_kills import (  # type: ignore[import-not-found, unused-ignore]
    SEEDS,
    Kills,
    check_killed_and_resumed,
)

pytestmark = pytest.mark.chaos

MINE = SEEDS[10:20]
"""The seeds this module kills and checks (the `kills` fixture, conftest.py, reads them)."""


@pytest.mark.timeout(1800)  # the first seed's setup runs all of this module's schedules
@pytest.mark.parametrize("seed", MINE)
def test_flow_killed_at_a_random_point_resumes_with_one_of_everything_and_is_told_of(
    seed: int, kills: Kills, receiver: Any
) -> None:
    check_killed_and_resumed(seed, kills, receiver)
