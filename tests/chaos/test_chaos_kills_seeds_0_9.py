"""SIGKILL the ``fine-tune`` flow process at seeds 0-9's points, then run it again: each
re-run Completed with one of everything, each killed run told of by the server
(``_chaos_kills``; and the seeds together reach every point)."""

from __future__ import annotations

from collections import Counter

import pytest
from _chaos_kills import (  # type: ignore[import-not-found, unused-ignore]
    POINTS,
    SEEDS,
    Schedule,
    killed_and_resumed_test,
)

pytestmark = pytest.mark.chaos

MINE = SEEDS[0:10]
"""The seeds this module kills and checks (the `kills` fixture, conftest.py, reads them)."""


def test_the_seeds_kill_at_every_point() -> None:
    drawn = Counter(Schedule.drawn(seed).point for seed in SEEDS)
    assert set(drawn) == set(POINTS)
    assert min(drawn.values()) >= 3, drawn


test_flow_killed_at_a_random_point_resumes_with_one_of_everything_and_is_told_of = (
    killed_and_resumed_test(MINE)
)
