"""Errors the emulator answers with, and the one place that renders them per surface.

Every error is an :class:`EmulatorError` subclass carrying the HTTP status and the Azure error
code; resources declare their own subclasses (``emulator/<resource>/errors.py``). How the body
looks depends only on the surface the request came through:

* versioned data plane (``/openai/...?api-version=``): ``{"error": {"code", "message", ...}}``
  (spec ``ErrorResponse``; ``param`` and ``type`` added where the inference API has them);
* v1 data plane (``/openai/v1/...``): ``{"error": {"code", "message", "param", "type",
  "inner_error"}}`` (spec ``AzureErrorResponse``);
* ARM: ``{"error": {"code", "message", "target", "details", "additionalInfo"}}``;
* Entra ID token endpoint: the OAuth error object (``error``, ``error_description``,
  ``error_codes`` ...);
* control API (``/_emulator``): ``{"error": {"code", "message"}}``.

Class tree::

    EmulatorError
    ├── ResourceNotFound        404 "Resource not found" (unknown route, missing api-version)
    ├── UnsupportedApiVersion   400 BadRequest "API version not supported"
    ├── InvalidRequestBody      400 (body is not the JSON object the route expects)
    ├── Unauthorized            401, Azure's wording per surface
    └── InjectedFault           429/500/503 from a fault rule
"""

from __future__ import annotations

import enum
import time
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "EmulatorError",
    "InjectedFault",
    "InvalidRequestBody",
    "ResourceNotFound",
    "Surface",
    "Unauthorized",
    "UnsupportedApiVersion",
    "error_body",
    "surface_of_path",
]


class Surface(enum.Enum):
    """Which API a request belongs to; decides error envelopes and authentication."""

    VERSIONED = "versioned"
    V1 = "v1"
    ARM = "arm"
    IDENTITY = "identity"
    CONTROL = "control"

    @property
    def is_data_plane(self) -> bool:
        """True for the two Azure OpenAI path styles."""
        return self in (Surface.VERSIONED, Surface.V1)


def surface_of_path(path: str) -> Surface:
    """The surface a request path belongs to."""
    if path.startswith("/openai/v1/") or path == "/openai/v1":
        return Surface.V1
    if path.startswith("/openai/") or path == "/openai":
        return Surface.VERSIONED
    if path.lower().startswith("/subscriptions/") or path.lower() == "/subscriptions":
        return Surface.ARM
    if path.startswith("/_emulator"):
        return Surface.CONTROL
    return Surface.IDENTITY


class EmulatorError(Exception):
    """An Azure error response: HTTP ``status_code``, Azure ``code`` and a message.

    Subclasses set the class attributes; instances may override them. ``headers`` are added to
    the response (only 429/503 and LRO responses may carry Retry-After: azure-core retries any
    error that has one).
    """

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "invalidPayload"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        status_code: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.headers: dict[str, str] = dict(headers or {})
        if code is not None:
            self.code = code  # type: ignore[misc]
        if status_code is not None:
            self.status_code = status_code  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status_code}, {self.code!r}, {self.message!r})"

    def body(self, surface: Surface) -> dict[str, Any]:
        """The JSON body for ``surface``."""
        return error_body(surface, self.code, self.message, self.param)


def error_body(surface: Surface, code: str, message: str, param: str | None) -> dict[str, Any]:
    """Azure's error envelope for ``surface``."""
    if surface is Surface.V1:
        return {
            "error": {
                "code": code,
                "message": message,
                "param": param,
                "type": "error",
                "inner_error": None,
            }
        }
    if surface is Surface.ARM:
        return {
            "error": {
                "code": code,
                "message": message,
                "target": param,
                "details": [],
                "additionalInfo": [],
            }
        }
    if surface is Surface.IDENTITY:
        return _oauth_error(code, message)
    error: dict[str, Any] = {"code": code, "message": message}
    if param is not None:
        error["param"] = param
    return {"error": error}


def _oauth_error(code: str, message: str) -> dict[str, Any]:
    trace = str(uuid.uuid4())
    return {
        "error": code,
        "error_description": f"{message}\r\nTrace ID: {trace}\r\nCorrelation ID: {uuid.uuid4()}"
        f"\r\nTimestamp: {time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime())}",
        "error_codes": [],
        "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
        "trace_id": trace,
        "correlation_id": str(uuid.uuid4()),
    }


class ResourceNotFound(EmulatorError):
    """No such route, or a versioned path without ``api-version``: Azure's bare 404."""

    status_code = 404
    code = "404"

    def __init__(self, message: str = "Resource not found") -> None:
        super().__init__(message)

    def body(self, surface: Surface) -> dict[str, Any]:
        if surface is Surface.ARM:
            return error_body(surface, "InvalidResourceType", self.message, None)
        if surface is Surface.V1:
            return error_body(surface, self.code, self.message, None)
        return {"error": {"code": self.code, "message": self.message}}


class UnsupportedApiVersion(EmulatorError):
    """An ``api-version`` the data plane does not serve."""

    status_code = 400
    code = "BadRequest"

    def __init__(self) -> None:
        super().__init__("API version not supported")


class InvalidRequestBody(EmulatorError):
    """The request body is not valid JSON, or not the object the operation expects."""

    status_code = 400
    code = "invalidPayload"


_DATA_PLANE_KEY_MESSAGE = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide "
    "a valid key for an active subscription and use a correct regional API endpoint for your "
    "resource."
)
_DATA_PLANE_TOKEN_MESSAGE = (
    "Unauthorized. Access token is missing, invalid, audience is incorrect "  # noqa: S105
    "(https://cognitiveservices.azure.com), or have expired."
)


class Unauthorized(EmulatorError):
    """Missing or wrong credentials; the body is the one Azure sends on each surface."""

    status_code = 401
    code = "401"

    def __init__(self, *, bearer: bool, reason: str = "invalid") -> None:
        super().__init__(_DATA_PLANE_TOKEN_MESSAGE if bearer else _DATA_PLANE_KEY_MESSAGE)
        self.bearer = bearer
        self.reason = reason

    def body(self, surface: Surface) -> dict[str, Any]:
        if surface is Surface.ARM:
            if self.reason == "missing":
                code, message = (
                    "AuthenticationFailed",
                    "Authentication failed. The 'Authorization' header is missing.",
                )
            elif self.reason == "expired":
                code, message = (
                    "ExpiredAuthenticationToken",
                    "The access token expiry UTC time is earlier than current UTC time.",
                )
            else:
                code, message = "InvalidAuthenticationToken", "The access token is invalid."
            return error_body(surface, code, message, None)
        if surface is Surface.CONTROL:
            return error_body(surface, "401", "The control API needs the emulator's api-key.", None)
        return {"error": {"code": "401", "message": self.message}}


class InjectedFault(EmulatorError):
    """A failure a fault rule asked for (429 with Retry-After, 500 or 503)."""

    code = "injectedFault"

    def __init__(self, status_code: int, retry_after_ms: int) -> None:
        headers: dict[str, str] = {}
        if status_code == 429:
            seconds = max(1, round(retry_after_ms / 1000))
            message = (
                "Requests to the Azure OpenAI API have exceeded the rate limit of your current "
                f"pricing tier. Please retry after {seconds} second{'s' if seconds != 1 else ''}."
            )
            code = "429"
        elif status_code == 503:
            message = "The service is temporarily unavailable. Please retry later."
            code = "serviceUnavailable"
        else:
            message = "The server had an error while processing your request. Sorry about that!"
            code = "internalFailure"
        if status_code in (429, 503):
            capped = min(retry_after_ms, 120_000)
            headers["Retry-After"] = str(max(1, round(capped / 1000)))
            headers["retry-after-ms"] = str(capped)
        super().__init__(message, code=code, status_code=status_code, headers=headers)

    def body(self, surface: Surface) -> dict[str, Any]:
        if surface is Surface.ARM:
            arm_code = {429: "TooManyRequests", 503: "ServiceUnavailable"}.get(
                self.status_code, "InternalServerError"
            )
            return error_body(surface, arm_code, self.message, None)
        return super().body(surface)
