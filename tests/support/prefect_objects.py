"""Reading Prefect server objects that may not exist, for the tests that clean up after
themselves or wait for something to appear."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from prefect.exceptions import ObjectNotFound

__all__ = ["or_none"]

T = TypeVar("T")


def or_none(read: Callable[[], T]) -> T | None:
    """What ``read`` returns, or None when the server has no such object."""
    try:
        return read()
    except ObjectNotFound:
        return None
