"""SIGKILL the ``fine-tune`` flow process at seeds 10-19's points, then run it again: each
re-run Completed with one of everything, each killed run told of by the server
(``_chaos_kills``)."""

from __future__ import annotations

import pytest
from _chaos_kills import (  # type: ignore[import-not-found, unused-ignore]
    SEEDS,
    killed_and_resumed_test,
)

pytestmark = pytest.mark.chaos

MINE = SEEDS[10:20]
"""The seeds this module kills and checks (the `kills` fixture, conftest.py, reads them)."""


test_flow_killed_at_a_random_point_resumes_with_one_of_everything_and_is_told_of = (
    killed_and_resumed_test(MINE)
)
