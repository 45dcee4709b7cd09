"""A real HTTP receiver for notification tests: webhooks land here, on 127.0.0.1.

It records every request (path, headers, body). Paths containing ``/fail`` answer 500, so a
block pointed there fails the way an unreachable service's would.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Delivery:
    """One request the receiver got."""

    method: str
    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def payload(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.raw)

    @property
    def text(self) -> str:
        """The body as text (for searching for things that must not be there)."""
        return self.raw.decode("utf-8", errors="replace")


@dataclass
class Receiver:
    """The running receiver: its base URL and what it has received so far."""

    url: str
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self, path: str) -> list[Delivery]:
        """Deliveries to ``path``, oldest first."""
        with self.lock:
            return [delivery for delivery in self.deliveries if delivery.path == path]

    def wait_for(
        self, path: str, predicate: Callable[[Delivery], bool] = lambda _: True, timeout: float = 20
    ) -> Delivery:
        """The first delivery to ``path`` satisfying ``predicate``, waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for delivery in self.received(path):
                if predicate(delivery):
                    return delivery
            time.sleep(0.05)
        raise AssertionError(f"nothing matching arrived at {path} within {timeout} s")


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            delivery = Delivery(
                method=self.command,
                path=self.path,
                headers={key.lower(): value for key, value in self.headers.items()},
                raw=self.rfile.read(length),
            )
            with receiver.lock:
                receiver.deliveries.append(delivery)
            status = 500 if "/fail" in self.path else 200
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        do_POST = do_PUT = _record  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read deliveries, not access logs."""

    return Handler


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 (a free port) until the block exits."""
    receiver = Receiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    host, port = server.server_address[:2]
    receiver.url = f"http://{host!s}:{port}"
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
