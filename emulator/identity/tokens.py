"""Access tokens of the emulated Entra ID: JWTs signed with HMAC-SHA256 by a key kept in the data
dir, so tokens survive a restart and cannot be forged without it.

A token names its audience (``aud``), taken from the requested scope: the ARM audience
``https://management.azure.com/`` or the data plane audience
``https://cognitiveservices.azure.com``. Each surface accepts only its own audience.
Expiry is in wall-clock time, because clients judge it by their own clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "ARM_AUDIENCES",
    "DATA_PLANE_AUDIENCES",
    "Audience",
    "TokenIssuer",
    "TokenRejected",
    "audience_of_scope",
]

Audience = Literal["arm", "data"]

ARM_AUDIENCES = ("https://management.azure.com", "https://management.core.windows.net")
DATA_PLANE_AUDIENCES = ("https://cognitiveservices.azure.com", "https://ai.azure.com")

TOKEN_LIFETIME_SECONDS = 3599


class TokenRejected(Exception):
    """A bearer token that is malformed, badly signed, expired or for another audience."""

    def __init__(self, reason: Literal["invalid", "expired"]) -> None:
        super().__init__(reason)
        self.reason: Literal["invalid", "expired"] = reason


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def audience_of_scope(scope: str) -> tuple[Audience, str] | None:
    """``(kind, aud)`` for an OAuth scope like ``https://management.azure.com/.default``."""
    if not scope.endswith("/.default"):
        return None
    resource = scope[: -len("/.default")].rstrip("/")
    if resource in ARM_AUDIENCES:
        return "arm", resource + "/"
    if resource in DATA_PLANE_AUDIENCES:
        return "data", resource
    return None


@dataclass(frozen=True)
class TokenIssuer:
    """Issues and verifies the emulator's tokens."""

    signing_key: str
    tenant_id: str
    client_id: str

    def _sign(self, message: bytes) -> str:
        return _b64(hmac.new(self.signing_key.encode(), message, hashlib.sha256).digest())

    def issue(self, audience: str, issuer: str) -> tuple[str, int]:
        """A token for ``audience``; returns ``(token, expires_in seconds)``."""
        now = int(time.time())
        header = {"alg": "HS256", "typ": "JWT"}
        claims = {
            "aud": audience,
            "iss": issuer,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME_SECONDS,
            "tid": self.tenant_id,
            "appid": self.client_id,
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, self.client_id)),
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, self.client_id)),
            "ver": "1.0",
            "jti": uuid.uuid4().hex,
        }
        head = _b64(json.dumps(header, separators=(",", ":")).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = self._sign(f"{head}.{body}".encode())
        return f"{head}.{body}.{signature}", TOKEN_LIFETIME_SECONDS

    def verify(self, token: str, kind: Audience) -> dict[str, Any]:
        """The claims of ``token`` if it is ours, unexpired and for ``kind``; else TokenRejected."""
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenRejected("invalid")
        head, body, signature = parts
        if not hmac.compare_digest(self._sign(f"{head}.{body}".encode()), signature):
            raise TokenRejected("invalid")
        try:
            claims = json.loads(_unb64(body))
        except (ValueError, UnicodeDecodeError) as exc:
            raise TokenRejected("invalid") from exc
        if not isinstance(claims, dict):
            raise TokenRejected("invalid")
        audiences = ARM_AUDIENCES if kind == "arm" else DATA_PLANE_AUDIENCES
        if str(claims.get("aud", "")).rstrip("/") not in audiences:
            raise TokenRejected("invalid")
        if claims.get("tid") != self.tenant_id:
            raise TokenRejected("invalid")
        if int(claims.get("exp", 0)) < time.time():
            raise TokenRejected("expired")
        return claims
