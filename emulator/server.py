"""Serving the emulator over HTTPS with uvicorn: in the foreground (the CLI) or in a background
thread (:class:`EmulatorServer`, a context manager for tests and embedding).

Both bind the socket first (so ``port=0`` gets a free port and the real one is known), make sure
the TLS material exists, and publish the settings clients need (:func:`client_environment`)
under the names the pipeline's README documents for Azure.
"""

from __future__ import annotations

import ipaddress
import logging
import shlex
import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn

from emulator.app import create_app
from emulator.backend import Backend
from emulator.config import PREVIEW_VERSION, EmulatorConfig
from emulator.gateway import quiet_dropped_connections
from emulator.tls import TlsFiles, ensure_tls

__all__ = [
    "EmulatorServer",
    "NonLoopbackRefused",
    "client_environment",
    "format_environment",
    "serve_forever",
]

log = logging.getLogger(__name__)


class NonLoopbackRefused(ValueError):
    """Binding a non-loopback address without ``allow_remote``."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(config: EmulatorConfig) -> socket.socket:
    if not _is_loopback(config.host) and not config.allow_remote:
        raise NonLoopbackRefused(
            f"refusing to listen on {config.host!r}: the emulator binds loopback only unless "
            "told otherwise (--allow-remote)"
        )
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it, a response written in two parts (head,
    # body) waits out the client's delayed ACK (about 40 ms per request).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((config.host, config.port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def client_environment(
    config: EmulatorConfig, backend: Backend, port: int, tls: TlsFiles
) -> dict[str, str]:
    """The ``NAME=value`` settings a client needs to use this emulator."""
    host = config.host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - naming the wildcard, not binding it
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    base = f"https://{host}:{port}"
    ca = str(tls.ca_cert.resolve())
    return {
        "AZURE_OPENAI_ENDPOINT": base,
        "AZURE_OPENAI_API_KEY": backend.api_key,
        "AZURE_OPENAI_API_VERSION": PREVIEW_VERSION,
        "AZURE_OPENAI_CA_BUNDLE": ca,
        "AZURE_SUBSCRIPTION_ID": config.subscription_id,
        "AZURE_RESOURCE_GROUP": config.resource_group,
        "AZURE_OPENAI_ACCOUNT": config.account_name,
        "AZURE_MANAGEMENT_ENDPOINT": base,
        "AZURE_MANAGEMENT_CA_BUNDLE": ca,
        "AZURE_TENANT_ID": config.tenant_id,
        "AZURE_CLIENT_ID": config.client_id,
        "AZURE_CLIENT_SECRET": backend.client_secret,
        "AZURE_AUTHORITY_HOST": base,
        "FTFLOW_EMULATOR_URL": f"{base}/_emulator",
    }


def format_environment(environment: dict[str, str]) -> str:
    """``NAME=value`` lines, values shell-quoted where needed (``eval`` and ``.env`` safe)."""
    return "".join(f"{name}={shlex.quote(value)}\n" for name, value in environment.items())


def _uvicorn(backend_app: object, tls: TlsFiles) -> uvicorn.Server:
    quiet_dropped_connections()
    config = uvicorn.Config(
        backend_app,  # type: ignore[arg-type]
        ssl_certfile=str(tls.server_cert),
        ssl_keyfile=str(tls.server_key),
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
        date_header=False,  # the gateway sends the service clock's (simulated) date
    )
    return uvicorn.Server(config)


class EmulatorServer:
    """The emulator on a real HTTPS socket, served from a background thread.

    ``with EmulatorServer(config) as server: ...`` starts it (``port=0`` picks a free port) and
    stops it on exit; :attr:`environment` holds the client settings.
    """

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.environment: dict[str, str] = {}
        self.tls: TlsFiles | None = None
        self.backend: Backend | None = None

    @property
    def base_url(self) -> str:
        """``https://host:port``."""
        return self.environment["AZURE_OPENAI_ENDPOINT"]

    @property
    def ca_path(self) -> Path:
        """The CA certificate clients must trust."""
        assert self.tls is not None
        return self.tls.ca_cert

    def start(self, timeout: float = 15.0) -> EmulatorServer:
        """Bind, start serving, and wait until the server accepts connections."""
        sock = _bind(self.config)
        self.port = sock.getsockname()[1]
        self.tls = ensure_tls(self.config.data_dir.resolve(), [self.config.host])
        app = create_app(self.config)
        self.backend = app.state.backend
        assert self.backend is not None
        self.environment = client_environment(self.config, self.backend, self.port, self.tls)
        self.backend.environment = self.environment
        self._server = _uvicorn(app, self.tls)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name="emulator"
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and close the database."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        if self.backend is not None:
            self.backend.close()
        self._server = None
        self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_forever(config: EmulatorConfig, announce: bool = True) -> None:
    """Serve in the foreground until interrupted; print the client settings first."""
    import sys  # noqa: PLC0415

    sock = _bind(config)
    port = sock.getsockname()[1]
    tls = ensure_tls(config.data_dir.resolve(), [config.host])
    app = create_app(config)
    backend: Backend = app.state.backend
    backend.environment = client_environment(config, backend, port, tls)
    if announce:
        sys.stdout.write(format_environment(backend.environment))
        sys.stdout.flush()
    log.info("emulator serving on %s", backend.environment["AZURE_OPENAI_ENDPOINT"])
    server = _uvicorn(app, tls)
    try:
        server.run(sockets=[sock])
    finally:
        backend.close()
