"""The ASGI layer in front of every route: ARM path casing, fault rules, request ids and the
request log.

* ARM paths are case-insensitive in Azure; literal segments (``resourcegroups``,
  ``microsoft.cognitiveservices`` ...) are put into canonical casing before routing.
* Fault rules (:mod:`emulator.core.faults`) are drawn per request: latency first, then at most
  one of an error status (the request is not applied) or a dropped connection (the request *is*
  applied, then the response is cut off halfway, so the client sees a broken connection).
* Every response gets request ids (``x-request-id``/``apim-request-id`` on the data plane,
  ``x-ms-request-id`` on ARM) and a ``Date`` of the service's own clock, the simulated one,
  so clients judge the age of ``created_at`` timestamps against it; every request except
  ``/_emulator/*`` goes into the log.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emulator.core.errors import EmulatorError, InjectedFault, Surface, surface_of_path
from emulator.core.faults import HttpFault
from emulator.core.requestlog import RequestRecord

if TYPE_CHECKING:
    from emulator.backend import Backend

__all__ = ["ConnectionDropped", "Gateway", "quiet_dropped_connections"]

_ARM_LITERALS = {
    "subscriptions": "subscriptions",
    "resourcegroups": "resourceGroups",
    "providers": "providers",
    "microsoft.cognitiveservices": "Microsoft.CognitiveServices",
    "accounts": "accounts",
    "deployments": "deployments",
    "locations": "locations",
    "operationstatuses": "operationStatuses",
}
_ARM_LITERAL_POSITIONS = {
    "resourcegroups": (1, 3, 5, 6, 7, 9),
    "providers": (1, 3, 4, 5, 7),
}


class ConnectionDropped(Exception):
    """Raised to make the server cut a connection after a response has started."""


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        info = record.exc_info
        return not (info and info[0] is not None and issubclass(info[0], ConnectionDropped))


def quiet_dropped_connections() -> None:
    """Keep uvicorn from logging deliberately dropped connections as errors."""
    for name in ("uvicorn.error", "uvicorn"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _QuietDrops) for f in logger.filters):
            logger.addFilter(_QuietDrops())


def canonical_arm_path(path: str) -> str:
    """``path`` with the literal segments of ARM routes in canonical casing."""
    parts = path.split("/")
    if len(parts) < 4 or parts[1].lower() != "subscriptions":
        return path
    positions = _ARM_LITERAL_POSITIONS.get(parts[3].lower(), (1,))
    for index in positions:
        if index < len(parts):
            parts[index] = _ARM_LITERALS.get(parts[index].lower(), parts[index])
    return "/".join(parts)


def _ids_for(surface: Surface) -> list[tuple[bytes, bytes]]:
    request_id = str(uuid.uuid4()).encode()
    if surface is Surface.ARM:
        return [(b"x-ms-request-id", request_id), (b"x-ms-correlation-request-id", request_id)]
    return [(b"x-request-id", request_id), (b"apim-request-id", request_id)]


class Gateway:
    """ASGI middleware: see the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        backend: Backend,
        render: Callable[[EmulatorError, Surface], Response],
    ) -> None:
        self.app = app
        self.backend = backend
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = canonical_arm_path(scope["path"])
        if path != scope["path"]:
            scope = {**scope, "path": path, "raw_path": path.encode()}
        method = scope["method"]
        surface = surface_of_path(path)
        control = surface is Surface.CONTROL
        started, sim = time.time(), self.backend.now()
        decision = self.backend.faults.decide(method, path) if not control else None
        status = [0]
        extra_headers = _ids_for(surface)

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                date = (b"date", formatdate(self.backend.now(), usegmt=True).encode())
                headers = [*message.get("headers", []), *extra_headers, date]
                message = {**message, "headers": headers}
            await send(message)

        fault: HttpFault | None = None
        try:
            if decision is not None and decision.latency_ms:
                await asyncio.sleep(decision.latency_ms / 1000)
            fault = decision.fault if decision is not None else None
            if fault is not None and fault.kind in ("429", "500", "503"):
                retry_ms = fault.retry_after_ms
                if retry_ms is None:
                    retry_ms = self.backend.settings.timings.rate_limit_retry_after_ms
                response = self.render(InjectedFault(int(fault.kind), retry_ms), surface)
                await response(scope, receive, stamped)
            elif fault is not None and fault.kind == "drop":
                await self._drop_after_apply(scope, receive, send, status)
            else:
                await self.app(scope, receive, stamped)
        finally:
            if not control:
                kind = fault.kind if fault is not None else None
                if kind is None and decision is not None and decision.latency_ms:
                    kind = "latency"
                self.backend.requests.add(
                    RequestRecord(
                        seq=self.backend.requests.next_seq(),
                        method=method,
                        path=path,
                        query=scope.get("query_string", b"").decode("latin-1"),
                        status=status[0],
                        time=started,
                        sim_time=sim,
                        duration_ms=round((time.time() - started) * 1000, 3),
                        fault=kind,
                    )
                )

    async def _drop_after_apply(
        self, scope: Scope, receive: Receive, send: Send, status: list[int]
    ) -> None:
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, capture)
        start = messages[0]
        status[0] = start["status"]
        body = b"".join(m.get("body", b"") for m in messages[1:])
        headers: list[Any] = [
            (k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
        ]
        headers.append((b"content-length", str(len(body) + 1024).encode()))
        await send({"type": "http.response.start", "status": start["status"], "headers": headers})
        await send(
            {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        )
        raise ConnectionDropped(f"dropped {scope['method']} {scope['path']} after applying it")
