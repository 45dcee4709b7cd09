"""Errors of chat completions."""

from __future__ import annotations

from emulator.core.errors import EmulatorError

__all__ = ["DeploymentUnavailable", "InvalidChatRequest"]


class DeploymentUnavailable(EmulatorError):
    """No deployment of that name, or not yet (or no longer) Succeeded."""

    status_code = 404
    code = "DeploymentNotFound"

    def __init__(self) -> None:
        super().__init__(
            "The API deployment for this resource does not exist. If you created the deployment "
            "within the last 5 minutes, please wait a moment and try again."
        )


class InvalidChatRequest(EmulatorError):
    """A chat completions body the service rejects."""

    status_code = 400
    code = "BadRequest"
