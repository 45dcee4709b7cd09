"""One emulator instance's state and services, built from an :class:`EmulatorConfig`: the
database, the clock, each resource's state, the token issuer, fault rules and the request log.
Routes receive it as their first argument; it knows nothing about HTTP.
"""

from __future__ import annotations

import time

from emulator.config import EmulatorConfig, Tunables, TunablesHolder
from emulator.core.clock import Clock
from emulator.core.faults import FaultRegistry, parse_fault_spec
from emulator.core.requestlog import RequestLog
from emulator.core.runtime import Runtime
from emulator.core.secrets import load_or_create_secrets
from emulator.core.store import BlobStore, Store
from emulator.deployments import state as deployments_state
from emulator.deployments.state import DeploymentsState
from emulator.files import state as files_state
from emulator.files.state import FilesState
from emulator.fine_tuning import tables as jobs_tables
from emulator.fine_tuning.state import JobsState
from emulator.identity.tokens import TokenIssuer
from emulator.inference.state import InferenceState

__all__ = ["Backend"]

_CLOCK_KEY = "clock.now"


class Backend:
    """State and services of one emulator instance."""

    def __init__(self, config: EmulatorConfig) -> None:
        data_dir = config.data_dir.resolve()
        self.config = config
        self.data_dir = data_dir
        self.secrets = load_or_create_secrets(data_dir)
        self.store = Store(
            data_dir / "emulator.sqlite3",
            [files_state.SCHEMA, jobs_tables.SCHEMA, deployments_state.SCHEMA],
        )
        saved = self.store.get_meta(_CLOCK_KEY)
        last = float(saved) if saved is not None else None
        start = last if config.clock == "manual" else max(time.time(), last or 0.0)
        clock = Clock(config.clock, config.speed, start=start)
        self.faults = FaultRegistry(config.fault_seed)
        self._install_startup_faults()
        self.runtime = Runtime(
            config=config,
            store=self.store,
            blobs=BlobStore(data_dir / "blobs"),
            clock=clock,
            tunables=TunablesHolder(config.tunables),
            faults=self.faults,
        )
        self.files = FilesState(self.runtime)
        self.jobs = JobsState(self.runtime, self.files)
        self.deployments = DeploymentsState(self.runtime, self.jobs)
        self.inference = InferenceState(self.runtime, self.deployments, self.jobs)
        self.issuer = TokenIssuer(self.secrets.signing_key, config.tenant_id, config.client_id)
        self.requests = RequestLog()
        self.environment: dict[str, str] = {}
        """The ``NAME=value`` settings clients need; filled in by the server once bound."""
        self.store.set_meta(_CLOCK_KEY, repr(clock.now()))

    def _install_startup_faults(self) -> None:
        for spec in self.config.faults:
            self.faults.add(parse_fault_spec(spec))

    @property
    def api_key(self) -> str:
        """The data plane (and control API) key."""
        return self.config.api_key or self.secrets.api_key

    @property
    def client_secret(self) -> str:
        """The Entra client secret."""
        return self.config.client_secret or self.secrets.client_secret

    @property
    def clock(self) -> Clock:
        """The emulator's clock."""
        return self.runtime.clock

    @property
    def settings(self) -> Tunables:
        """Limits, timings and behaviour in force."""
        return self.runtime.settings

    def now(self) -> float:
        """Current simulated time."""
        return self.runtime.clock.now()

    def advance(self) -> None:
        """Bring every lifecycle up to the current time (before each request)."""
        now = self.now()
        self.jobs.advance(now)
        self.store.set_meta(_CLOCK_KEY, repr(now))

    def lro_delay_headers(self) -> dict[str, str]:
        """Poll-delay headers for long-running operation responses."""
        ms = self.settings.timings.lro_retry_after_ms
        if ms >= 1000:
            return {"Retry-After": str(round(ms / 1000)), "retry-after-ms": str(ms)}
        return {"retry-after-ms": str(ms)}

    def reset(self) -> None:
        """Back to an empty resource: no files, jobs, deployments, faults, logged requests;
        start-up settings and fault flags restored. Time keeps running forward."""
        self.store.clear(keep_meta=(_CLOCK_KEY,))
        self.runtime.blobs.clear()
        self.faults.clear()
        self._install_startup_faults()
        self.requests.clear()
        self.runtime.tunables.reset()
        self.jobs.scheduler.forget()
        self.inference.forget()

    def close(self) -> None:
        """Persist the clock and close the database."""
        self.store.set_meta(_CLOCK_KEY, repr(self.now()))
        self.store.close()
