"""What every resource's state works with: the database, blobs, clock, settings and fault rules.

One :class:`Runtime` per emulator instance, built by the app factory and handed to each
resource's state object.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.config import EmulatorConfig, Tunables, TunablesHolder
from emulator.core.clock import Clock
from emulator.core.faults import FaultRegistry
from emulator.core.store import BlobStore, Store

__all__ = ["Runtime"]


@dataclass
class Runtime:
    """Shared services of one emulator instance."""

    config: EmulatorConfig
    store: Store
    blobs: BlobStore
    clock: Clock
    tunables: TunablesHolder
    faults: FaultRegistry

    @property
    def settings(self) -> Tunables:
        """Limits, timings and behaviour switches in force."""
        return self.tunables.current
