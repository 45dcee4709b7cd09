"""Secrets generated once per data dir: the data plane key, the Entra client secret and the key
that signs emulated Entra tokens. Kept in ``<data dir>/secrets.json`` (mode 0600) so a restarted
emulator accepts the same credentials and tokens.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Secrets", "load_or_create_secrets"]


@dataclass(frozen=True)
class Secrets:
    """The generated secrets of one data dir."""

    api_key: str
    client_secret: str
    signing_key: str


def load_or_create_secrets(data_dir: Path) -> Secrets:
    """Read ``secrets.json`` from ``data_dir``, creating it with fresh random values if absent."""
    path = data_dir / "secrets.json"
    if path.exists():
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Secrets(
            api_key=str(raw["api_key"]),
            client_secret=str(raw["client_secret"]),
            signing_key=str(raw["signing_key"]),
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    fresh = Secrets(
        api_key=secrets.token_hex(16),
        client_secret=secrets.token_urlsafe(30),
        signing_key=secrets.token_hex(32),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(fresh.__dict__, out)
    return fresh
