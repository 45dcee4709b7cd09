"""The request as route handlers see it (:class:`Call`), the route declaration
(:class:`Endpoint`) and response helpers.

Route handlers are plain functions ``handler(backend, call) -> Response``: they read what the
:class:`Call` carries (already authenticated, api-version checked, body parsed), call one state
method and serialize. They run in a worker thread, so state code may block.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.datastructures import FormData, QueryParams
from starlette.responses import JSONResponse, Response

from emulator.core.errors import InvalidRequestBody, Surface

__all__ = [
    "Call",
    "Endpoint",
    "Handler",
    "json_response",
    "parse_json",
    "query_int",
]

BodyKind = Literal["json", "form", "none"]


@dataclass
class Call:
    """One request, checked and parsed, as handed to a route handler."""

    surface: Surface
    method: str
    path: str
    params: Mapping[str, str]
    query: QueryParams
    headers: Mapping[str, str]
    base_url: str
    api_version: str | None = None
    body: Any = None
    form: FormData | None = None
    content_length: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def json_object(self, *, required: bool = True) -> dict[str, Any]:
        """The JSON body, which must be an object (an empty body is ``{}`` unless required)."""
        if self.body is None and not required:
            return {}
        if not isinstance(self.body, dict):
            raise InvalidRequestBody(
                "The request body must be a JSON object.",
                code="InvalidRequestContent" if self.surface is Surface.ARM else None,
            )
        return self.body

    def query_str(self, name: str) -> str | None:
        """A query parameter, or None if absent or empty."""
        value = self.query.get(name)
        return value if value else None

    def data_url(self, path: str) -> str:
        """The absolute data plane URL of ``path`` (under ``/openai``) in this call's style."""
        if self.surface is Surface.V1:
            return f"{self.base_url}/openai/v1{path}"
        return f"{self.base_url}/openai{path}?api-version={self.api_version}"


Handler = Callable[[Any, Call], Response]


@dataclass(frozen=True)
class Endpoint:
    """One route: method, path template (Starlette syntax), handler and where it applies.

    ``surfaces``: for the data plane, which path styles serve it (the path is relative to
    ``/openai`` and ``/openai/v1``); ``versions``: versioned api-versions that have it (None:
    all supported ones); ``body``: how to parse the request body.
    """

    method: str
    path: str
    handler: Handler
    surfaces: frozenset[Surface]
    versions: frozenset[str] | None = None
    body: BodyKind = "json"
    name: str = ""


def json_response(
    body: object, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response (compact, UTF-8)."""
    return JSONResponse(body, status_code=status_code, headers=dict(headers or {}))


def parse_json(raw: bytes, surface: Surface) -> Any:
    """Parse a JSON body; an empty body is None."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidRequestBody(
            f"The request body is not valid JSON: {exc}",
            code="InvalidRequestContent" if surface is Surface.ARM else None,
        ) from exc


def query_int(call: Call, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within ``[low, high]``; 400 otherwise."""
    raw = call.query_str(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise InvalidRequestBody(
            f"Invalid value for '{name}': {raw!r}; expected an integer from {low} to {high}.",
            param=name,
        )
    return value
