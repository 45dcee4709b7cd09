"""The control API under ``/_emulator`` (needs the emulator's api-key): reset, clock, request
log, fault rules and live settings.

=======================================  ====================================================
``GET  /_emulator/health``               liveness (no credentials needed)
``GET  /_emulator/info``                 the settings a client needs (``NAME=value`` pairs)
``POST /_emulator/reset``                empty the resource, restore start-up settings
``GET  /_emulator/clock``                mode, speed and current simulated time
``POST /_emulator/clock/advance``        ``{"seconds": N}``: move simulated time forward
``GET  /_emulator/requests``             request log; filters ``method``, ``path``,
                                         ``path_prefix``, ``status``, ``since`` (a seq)
``DELETE /_emulator/requests``           clear the request log
``GET  /_emulator/faults``               installed rules
``POST /_emulator/faults``               HTTP rule ``{"kind", "method", "path", "share", ...}``
``POST /_emulator/faults/jobs``          job rule ``{"kind": "data_safety"|"internal_error"}``
``POST /_emulator/faults/deployments``   deployment rule ``{"name": RE, "message"}``
``POST /_emulator/faults/files``         file rule ``{"filename": RE, "message"}``
``DELETE /_emulator/faults[/{id}]``      remove all rules, or one
``GET/PATCH /_emulator/settings``        limits, timings, behaviour switches
=======================================  ====================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from emulator.core.errors import EmulatorError
from emulator.core.faults import DeploymentFault, FileFault, HttpFault, JobFault
from emulator.core.http import Call, json_response

if TYPE_CHECKING:
    from emulator.backend import Backend

__all__ = [
    "add_fault",
    "advance_clock",
    "clear_faults",
    "clear_requests",
    "get_clock",
    "get_settings",
    "health",
    "info",
    "list_faults",
    "remove_fault",
    "requests",
    "reset",
    "update_settings",
]


class ControlError(EmulatorError):
    """A bad control API request."""

    status_code = 400
    code = "invalidRequest"


def health(backend: Backend, call: Call) -> Response:
    """``GET /_emulator/health``."""
    return json_response({"status": "ok"})


def info(backend: Backend, call: Call) -> Response:
    """``GET /_emulator/info``: what a client needs to use this emulator."""
    return json_response(backend.environment)


def reset(backend: Backend, call: Call) -> Response:
    """``POST /_emulator/reset``."""
    backend.reset()
    return json_response({"reset": True, "now": backend.now()})


def get_clock(backend: Backend, call: Call) -> Response:
    """``GET /_emulator/clock``."""
    return json_response(backend.clock.describe())


def advance_clock(backend: Backend, call: Call) -> Response:
    """``POST /_emulator/clock/advance`` ``{"seconds": N}``."""
    seconds = call.json_object().get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        raise ControlError("'seconds' must be a non-negative number.")
    backend.clock.advance(float(seconds))
    backend.advance()
    return json_response(backend.clock.describe())


def requests(backend: Backend, call: Call) -> Response:
    """``GET /_emulator/requests``."""
    status = call.query_str("status")
    since = call.query_str("since")
    try:
        records = backend.requests.query(
            method=call.query_str("method"),
            path=call.query_str("path"),
            path_prefix=call.query_str("path_prefix"),
            status=int(status) if status else None,
            since_seq=int(since) if since else None,
        )
    except ValueError as exc:
        raise ControlError(f"bad filter: {exc}") from exc
    return json_response({"data": [r.to_api() for r in records]})


def clear_requests(backend: Backend, call: Call) -> Response:
    """``DELETE /_emulator/requests``."""
    backend.requests.clear()
    return json_response({"cleared": True})


def list_faults(backend: Backend, call: Call) -> Response:
    """``GET /_emulator/faults``."""
    return json_response(backend.faults.to_api())


_FAMILIES: dict[str, Any] = {
    "http": HttpFault,
    "jobs": JobFault,
    "deployments": DeploymentFault,
    "files": FileFault,
}


def add_fault(backend: Backend, call: Call) -> Response:
    """``POST /_emulator/faults[/jobs|/deployments|/files]``."""
    family = call.params.get("family", "http")
    factory = _FAMILIES.get(family)
    if factory is None:
        raise ControlError(f"unknown fault family {family!r}; use jobs, deployments or files")
    body = {k: v for k, v in call.json_object().items() if k not in ("id", "hits")}
    if family == "http" and "status" in body and "kind" not in body:
        body["kind"] = str(body.pop("status"))
    try:
        rule = factory(**body)
    except (TypeError, ValueError) as exc:
        raise ControlError(f"bad fault rule: {exc}") from exc
    backend.faults.add(rule)
    return json_response(rule.to_api(), 201)


def clear_faults(backend: Backend, call: Call) -> Response:
    """``DELETE /_emulator/faults``."""
    backend.faults.clear()
    return json_response({"cleared": True})


def remove_fault(backend: Backend, call: Call) -> Response:
    """``DELETE /_emulator/faults/{fault_id}``."""
    if not backend.faults.remove(call.params["fault_id"]):
        raise ControlError(f"no fault rule {call.params['fault_id']!r}", status_code=404)
    return json_response({"deleted": True})


def get_settings(backend: Backend, call: Call) -> Response:
    """``GET /_emulator/settings``."""
    return json_response(backend.settings.to_dict())


def update_settings(backend: Backend, call: Call) -> Response:
    """``PATCH /_emulator/settings`` with any subset of the settings."""
    try:
        updated = backend.runtime.tunables.update(call.json_object())
    except ValueError as exc:
        raise ControlError(str(exc)) from exc
    return json_response(updated.to_dict())
