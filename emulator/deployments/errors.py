"""Errors of the ARM deployments API (ARM envelope; codes as ARM and the resource provider send
them)."""

from __future__ import annotations

from emulator.core.errors import EmulatorError

__all__ = [
    "AccountNotFound",
    "ArmBadRequest",
    "DeploymentConflict",
    "DeploymentModelNotSupported",
    "DeploymentNotFound",
    "InsufficientQuota",
    "InvalidArmApiVersion",
    "MissingArmApiVersion",
    "ResourceGroupNotFound",
    "SubscriptionNotFound",
]


class SubscriptionNotFound(EmulatorError):
    """The subscription in the path is not the emulated one."""

    status_code = 404
    code = "SubscriptionNotFound"

    def __init__(self, subscription: str) -> None:
        super().__init__(f"The subscription '{subscription}' could not be found.")


class ResourceGroupNotFound(EmulatorError):
    """The resource group in the path is not the emulated one."""

    status_code = 404
    code = "ResourceGroupNotFound"

    def __init__(self, group: str) -> None:
        super().__init__(f"Resource group '{group}' could not be found.")


class AccountNotFound(EmulatorError):
    """The account in the path is not the emulated one."""

    status_code = 404
    code = "ResourceNotFound"

    def __init__(self, group: str, account: str) -> None:
        super().__init__(
            f"The Resource 'Microsoft.CognitiveServices/accounts/{account}' under resource "
            f"group '{group}' was not found. For more details please go to "
            "https://aka.ms/ARMResourceNotFoundFix"
        )


class DeploymentNotFound(EmulatorError):
    """No deployment of that name."""

    status_code = 404
    code = "DeploymentNotFound"

    def __init__(self, name: str) -> None:
        super().__init__(f"Deployment '{name}' not found.")


class MissingArmApiVersion(EmulatorError):
    """No ``api-version`` query parameter."""

    status_code = 400
    code = "MissingApiVersionParameter"

    def __init__(self) -> None:
        super().__init__(
            "The api-version query parameter (?api-version=) is required for all requests."
        )


class InvalidArmApiVersion(EmulatorError):
    """An ``api-version`` the resource provider does not serve."""

    status_code = 400
    code = "NoRegisteredProviderFound"


class ArmBadRequest(EmulatorError):
    """A malformed deployment body."""

    status_code = 400
    code = "InvalidResourceProperties"


class DeploymentModelNotSupported(EmulatorError):
    """The model is unknown, or a fine-tuned model that is not (yet) ready."""

    status_code = 400
    code = "DeploymentModelNotSupported"


class InsufficientQuota(EmulatorError):
    """More capacity, or more fine-tuned deployments, than the resource's quota allows."""

    status_code = 400
    code = "InsufficientQuota"


class DeploymentConflict(EmulatorError):
    """The deployment's current state forbids the operation (Failed, or still Creating)."""

    status_code = 409
    code = "Conflict"
