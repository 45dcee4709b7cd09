"""SIGKILL the ``fine-tune`` flow process at seeds 0-9's points, then run it again: each
re-run Completed with one of everything, each killed run told of by the server
(``_chaos_kills``; and the seeds together reach every point)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from _chaos_kills import (  # type: ignore[import-not-found, unused-ignore]
    POINTS,
    SEEDS,
    Kills,
    Schedule,
    check_killed_and_resumed,
)

pytestmark = pytest.mark.chaos

MINE = SEEDS[0:10]
"""The seeds this module kills and checks (the `kills` fixture, conftest.py, reads them)."""


def test_the_seeds_kill_at_every_point() -> None:
    drawn = Counter(Schedule.drawn(seed).point for seed in SEEDS)
    assert set(drawn) == set(POINTS)
    assert min(drawn.values()) >= 3, drawn


@pytest.mark.timeout(1800)  # the first seed's setup runs all of this module's schedules
@pytest.mark.parametrize("seed", MINE)
def test_flow_killed_at_a_random_point_resumes_with_one_of_everything_and_is_told_of(
    seed: int, kills: Kills, receiver: Any
) -> None:
    check_killed_and_resumed(seed, kills, receiver)
