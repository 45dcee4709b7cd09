"""A flow with the notification hooks, served by a real Prefect runner.

``python _notifications_served.py NAME`` serves `held` as the deployment ``<flow>/NAME``
(``Flow.serve``): the runner starts each run in a process of its own and, when a run is
cancelled through the API, stops that process and runs the flow's ``on_cancellation`` hooks.
A run of `held` waits to be cancelled, and completes if nobody does within
``request["hold_seconds"]``.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from prefect import flow

from tasks.notify import notification_hooks

FLOW_NAME = "ftflow-notify-served-test"


@flow(name=FLOW_NAME, **notification_hooks())
def held(request: dict[str, Any]) -> None:
    """Wait to be cancelled (at most ``request["hold_seconds"]``), then complete."""
    deadline = time.monotonic() + float(request["hold_seconds"])
    while time.monotonic() < deadline:
        time.sleep(0.2)


if __name__ == "__main__":
    held.serve(name=sys.argv[1], limit=1, print_starting_message=False)
