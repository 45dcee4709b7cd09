"""The ASGI application: every route declared in one table, one dispatcher, one gateway.

``create_app(config)`` builds a :class:`~emulator.backend.Backend` and a Starlette app whose
routes come from the tables below. Data plane routes are declared once, relative to ``/openai``,
and served under ``/openai/...?api-version=`` and/or ``/openai/v1/...``. For every request the
dispatcher checks credentials, the api-version and the body, brings lifecycles up to the current
time, runs the handler in a worker thread and renders any
:class:`~emulator.core.errors.EmulatorError` in the surface's envelope. The gateway around it
applies fault rules, records the request log and stamps request ids.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from emulator import gateway
from emulator.backend import Backend
from emulator.config import GA_VERSION, PREVIEW_VERSION, EmulatorConfig
from emulator.control import routes as control
from emulator.core.errors import (
    EmulatorError,
    InvalidRequestBody,
    ResourceNotFound,
    Surface,
    UnsupportedApiVersion,
    surface_of_path,
)
from emulator.core.http import Call, Endpoint, parse_json
from emulator.deployments import routes as deployments
from emulator.deployments.errors import InvalidArmApiVersion, MissingArmApiVersion
from emulator.files import routes as files
from emulator.files.errors import FileTooLarge
from emulator.fine_tuning import routes as jobs
from emulator.identity import routes as identity
from emulator.identity.auth import authenticate
from emulator.inference import routes as inference

__all__ = [
    "ARM_ROUTES",
    "ARM_VERSIONS",
    "CONTROL_ROUTES",
    "DATA_PLANE_ROUTES",
    "DATA_PLANE_VERSIONS",
    "IDENTITY_ROUTES",
    "create_app",
    "render_error",
]

log = logging.getLogger(__name__)

DATA_PLANE_VERSIONS = frozenset({GA_VERSION, PREVIEW_VERSION})
V1_VERSIONS = frozenset({"v1", "preview"})
ARM_VERSIONS = (
    "2024-10-01",
    "2025-04-01-preview",
    "2025-06-01",
    "2025-07-01-preview",
    "2025-09-01",
)

_V = frozenset({Surface.VERSIONED})
_V1 = frozenset({Surface.V1})
_BOTH = _V | _V1
_ARM = frozenset({Surface.ARM})
_ID = frozenset({Surface.IDENTITY})
_CTL = frozenset({Surface.CONTROL})
_PREVIEW = frozenset({PREVIEW_VERSION})
_JOB = "/fine_tuning/jobs/{job_id}"

DATA_PLANE_ROUTES = (
    Endpoint("POST", "/files", files.upload, _BOTH, body="form"),
    Endpoint("GET", "/files", files.list_files, _BOTH, body="none"),
    Endpoint("GET", "/files/{file_id}", files.get, _BOTH, body="none"),
    Endpoint("DELETE", "/files/{file_id}", files.delete, _BOTH, body="none"),
    Endpoint("GET", "/files/{file_id}/content", files.content, _BOTH, body="none"),
    Endpoint("POST", "/fine_tuning/jobs", jobs.create, _BOTH),
    Endpoint("GET", "/fine_tuning/jobs", jobs.list_jobs, _BOTH, body="none"),
    Endpoint("GET", _JOB, jobs.get, _BOTH, body="none"),
    Endpoint("DELETE", _JOB, jobs.delete, _V, body="none"),
    Endpoint("POST", _JOB + "/cancel", jobs.cancel, _BOTH, body="none"),
    Endpoint("POST", _JOB + "/pause", jobs.pause, _BOTH, versions=_PREVIEW, body="none"),
    Endpoint("POST", _JOB + "/resume", jobs.resume, _BOTH, versions=_PREVIEW, body="none"),
    Endpoint("GET", _JOB + "/events", jobs.events, _BOTH, body="none"),
    Endpoint("GET", _JOB + "/checkpoints", jobs.checkpoints, _BOTH, body="none"),
    Endpoint("GET", "/models", jobs.list_models, _BOTH, body="none"),
    Endpoint("GET", "/models/{model_id}", jobs.get_model, _BOTH, body="none"),
    Endpoint("POST", "/deployments/{deployment}/chat/completions", inference.chat_completions, _V),
    Endpoint("POST", "/chat/completions", inference.chat_completions_v1, _V1),
)
"""Data plane routes, relative to ``/openai`` (versioned) and ``/openai/v1``."""

_ACCOUNT = (
    "/subscriptions/{subscription}/resourceGroups/{group}/providers/"
    "Microsoft.CognitiveServices/accounts/{account}"
)
ARM_ROUTES = (
    Endpoint("GET", _ACCOUNT, deployments.get_account, _ARM, body="none"),
    Endpoint("GET", _ACCOUNT + "/deployments", deployments.list_deployments, _ARM, body="none"),
    Endpoint("GET", _ACCOUNT + "/deployments/{name}", deployments.get, _ARM, body="none"),
    Endpoint("PUT", _ACCOUNT + "/deployments/{name}", deployments.create_or_update, _ARM),
    Endpoint("DELETE", _ACCOUNT + "/deployments/{name}", deployments.delete, _ARM, body="none"),
    Endpoint(
        "GET",
        "/subscriptions/{subscription}/providers/Microsoft.CognitiveServices/locations/"
        "{location}/operationStatuses/{operation}",
        deployments.operation_status,
        _ARM,
        body="none",
    ),
)

IDENTITY_ROUTES = (
    Endpoint("GET", "/common/discovery/instance", identity.instance_discovery, _ID, body="none"),
    Endpoint(
        "GET",
        "/{tenant}/v2.0/.well-known/openid-configuration",
        identity.openid_configuration,
        _ID,
        body="none",
    ),
    Endpoint("GET", "/{tenant}/discovery/v2.0/keys", identity.keys, _ID, body="none"),
    Endpoint("POST", "/{tenant}/oauth2/v2.0/token", identity.token, _ID, body="form"),
)

CONTROL_ROUTES = (
    Endpoint("GET", "/_emulator/health", control.health, _CTL, body="none", name="health"),
    Endpoint("GET", "/_emulator/info", control.info, _CTL, body="none"),
    Endpoint("POST", "/_emulator/reset", control.reset, _CTL, body="none"),
    Endpoint("GET", "/_emulator/clock", control.get_clock, _CTL, body="none"),
    Endpoint("POST", "/_emulator/clock/advance", control.advance_clock, _CTL),
    Endpoint("GET", "/_emulator/requests", control.requests, _CTL, body="none"),
    Endpoint("DELETE", "/_emulator/requests", control.clear_requests, _CTL, body="none"),
    Endpoint("GET", "/_emulator/faults", control.list_faults, _CTL, body="none"),
    Endpoint("POST", "/_emulator/faults", control.add_fault, _CTL),
    Endpoint("DELETE", "/_emulator/faults", control.clear_faults, _CTL, body="none"),
    Endpoint("POST", "/_emulator/faults/{family}", control.add_fault, _CTL),
    Endpoint("DELETE", "/_emulator/faults/{fault_id}", control.remove_fault, _CTL, body="none"),
    Endpoint("GET", "/_emulator/settings", control.get_settings, _CTL, body="none"),
    Endpoint("PATCH", "/_emulator/settings", control.update_settings, _CTL),
)

_UPLOAD_OVERHEAD = 1024 * 1024
"""Multipart framing allowed on top of the file size before an upload is refused unread."""
MAX_JSON_BYTES = 32 * 1024 * 1024
"""Largest JSON request body (a chat request at the largest context is well below it)."""


class BodyTooLarge(EmulatorError):
    """A JSON request body above :data:`MAX_JSON_BYTES`."""

    status_code = 413
    code = "invalidPayload"


def render_error(error: EmulatorError, surface: Surface) -> Response:
    """The HTTP response for ``error`` on ``surface``."""
    return JSONResponse(error.body(surface), status_code=error.status_code, headers=error.headers)


def _api_version(
    backend: Backend, spec: Endpoint, surface: Surface, request: Request
) -> str | None:
    version = request.query_params.get("api-version")
    if surface is Surface.VERSIONED:
        if not version:
            raise ResourceNotFound()
        if version not in DATA_PLANE_VERSIONS:
            raise UnsupportedApiVersion()
        if spec.versions is not None and version not in spec.versions:
            raise ResourceNotFound()
    elif surface is Surface.V1:
        if version and version not in V1_VERSIONS:
            raise UnsupportedApiVersion()
    elif surface is Surface.ARM:
        if not version:
            raise MissingArmApiVersion()
        if version not in ARM_VERSIONS:
            raise InvalidArmApiVersion(
                f"No registered resource provider found for location "
                f"'{backend.config.location}' and API version '{version}' for type 'accounts'. "
                f"The supported api-versions are '{', '.join(ARM_VERSIONS)}'. The supported "
                f"locations are '{backend.config.location}'."
            )
    return version


def _invoke(backend: Backend, spec: Endpoint, call: Call) -> Response:
    backend.advance()
    return spec.handler(backend, call)


def _dispatcher(backend: Backend, spec: Endpoint, surface: Surface) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        form = None
        try:
            if spec.name != "health":
                authenticate(
                    surface, request.headers, api_key=backend.api_key, issuer=backend.issuer
                )
            length = request.headers.get("content-length")
            call = Call(
                surface=surface,
                method=request.method,
                path=request.url.path,
                params=dict(request.path_params),
                query=request.query_params,
                headers=request.headers,
                base_url=str(request.base_url).rstrip("/"),
                api_version=_api_version(backend, spec, surface, request),
                content_length=int(length) if length and length.isdigit() else None,
            )
            if spec.body == "json":
                if (call.content_length or 0) > MAX_JSON_BYTES:
                    raise BodyTooLarge(f"The request body is larger than {MAX_JSON_BYTES} bytes.")
                raw = bytearray()
                async for chunk in request.stream():
                    raw.extend(chunk)
                    if len(raw) > MAX_JSON_BYTES:
                        raise BodyTooLarge(
                            f"The request body is larger than {MAX_JSON_BYTES} bytes."
                        )
                call.body = parse_json(bytes(raw), surface)
            elif spec.body == "form":
                limit = backend.settings.limits.max_file_bytes
                if surface.is_data_plane and (call.content_length or 0) > limit + _UPLOAD_OVERHEAD:
                    raise FileTooLarge(None, limit)
                try:
                    form = await request.form(max_files=4, max_fields=64)
                except HTTPException as exc:
                    raise InvalidRequestBody(f"Malformed form body: {exc.detail}") from exc
                call.form = form
            return await run_in_threadpool(_invoke, backend, spec, call)
        except EmulatorError as error:
            return render_error(error, surface)
        except Exception:
            log.exception("unexpected error on %s %s", request.method, request.url.path)
            failure = EmulatorError(
                "The server had an error while processing your request.",
                code="internalFailure",
                status_code=500,
            )
            return render_error(failure, surface)
        finally:
            if form is not None:
                await form.close()

    return endpoint


def _routes(backend: Backend) -> list[Route]:
    routes: list[Route] = []
    for prefix, surface in (("/openai/v1", Surface.V1), ("/openai", Surface.VERSIONED)):
        for spec in DATA_PLANE_ROUTES:
            if surface in spec.surfaces:
                endpoint = _dispatcher(backend, spec, surface)
                routes.append(Route(prefix + spec.path, endpoint, methods=[spec.method]))
    for table, surface in (
        (ARM_ROUTES, Surface.ARM),
        (CONTROL_ROUTES, Surface.CONTROL),
        (IDENTITY_ROUTES, Surface.IDENTITY),
    ):
        for spec in table:
            endpoint = _dispatcher(backend, spec, surface)
            routes.append(Route(spec.path, endpoint, methods=[spec.method]))
    return routes


async def _not_found(request: Request, exc: Exception) -> Response:
    surface = surface_of_path(request.url.path)
    if isinstance(exc, HTTPException) and exc.status_code == 405 and surface is Surface.ARM:
        error = EmulatorError(
            f"The requested resource does not support http method '{request.method}'.",
            code="HttpMethodNotAllowed",
            status_code=405,
        )
        return render_error(error, surface)
    return render_error(ResourceNotFound(), surface)


def create_app(config: EmulatorConfig) -> Starlette:
    """A new emulator application (with its own :class:`Backend` on ``app.state.backend``)."""
    backend = Backend(config)
    app = Starlette(
        routes=_routes(backend),
        exception_handlers={404: _not_found, 405: _not_found},
    )
    app.state.backend = backend
    app.add_middleware(gateway.Gateway, backend=backend, render=render_error)
    return app
