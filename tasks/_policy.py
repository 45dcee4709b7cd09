"""How the tasks retry and cache: shared so every stage follows the same rules.

Retries are for transient errors only (429, 5xx, dropped connections), with exponential
backoff; a create is only ever retried through its task, which looks before it creates.
Caching is keyed on the task's inputs and source, never the run id, so a new run with the
same data and configuration reuses what earlier runs finished; the clients are left out of
the key.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prefect.cache_policies import INPUTS, TASK_SOURCE
from prefect.tasks import exponential_backoff

from ftflow.azure.errors import TransientError

__all__ = ["RESUMABLE", "TRANSIENT_RETRIES", "only_transient"]


def only_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry when the attempt failed with a :class:`TransientError`, and only then."""
    try:
        # _sync: the condition is a plain function, also when the task is async.
        state.result(_sync=True)
    except TransientError:
        return True
    except Exception:
        return False
    return False


TRANSIENT_RETRIES: dict[str, Any] = {
    "retries": 4,
    "retry_delay_seconds": exponential_backoff(backoff_factor=2),
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": only_transient,
}

RESUMABLE: dict[str, Any] = {
    "cache_policy": (INPUTS - "azure") + TASK_SOURCE,
    "cache_expiration": timedelta(days=30),
    "persist_result": True,
}
