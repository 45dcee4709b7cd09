"""Errors of the emulated Entra ID token endpoint, in the OAuth 2.0 error format."""

from __future__ import annotations

import time
import uuid
from typing import Any

from emulator.core.errors import EmulatorError, Surface

__all__ = ["IdentityError"]


class IdentityError(EmulatorError):
    """An OAuth error: ``error`` (e.g. ``invalid_client``) with an AADSTS number and text."""

    def __init__(self, status: int, error: str, aadsts: int, description: str) -> None:
        super().__init__(f"AADSTS{aadsts}: {description}", code=error, status_code=status)
        self.aadsts = aadsts

    def body(self, surface: Surface) -> dict[str, Any]:
        trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
        return {
            "error": self.code,
            "error_description": (
                f"{self.message} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {stamp}"
            ),
            "error_codes": [self.aadsts],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": "https://login.microsoftonline.com/error?code=" + str(self.aadsts),
        }
