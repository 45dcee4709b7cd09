"""Identifiers in Azure's formats: ``file-``, ``ftjob-``, ``ftevent-``, ``ftchkpt-`` + 32 hex.

Random, never derived from one another (the tutorial shows a model's hex differing from its
job's).
"""

from __future__ import annotations

import secrets

__all__ = ["new_hex", "new_id"]


def new_hex() -> str:
    """32 random lowercase hex digits."""
    return secrets.token_hex(16)


def new_id(prefix: str) -> str:
    """``<prefix>-<32 hex>``, e.g. ``new_id("ftjob")``."""
    return f"{prefix}-{new_hex()}"
