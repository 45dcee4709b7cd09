"""``python -m deployments.base_model PARAMS.json``: deploy the base model a run compares with.

The ``fine-tune`` flow's smoke test asks ``request.base_deployment`` the same prompts as the
fine-tuned deployment, side by side. That deployment serves ``request.base_model`` and must
exist before the run: this command creates it through Resource Manager (or finds it already
serving the model; a second call changes nothing). It reads the Azure settings from the
environment, like the flow; ``deployments.stack up`` runs it against the emulator.
"""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from ftflow.azure.clients import SettingsError, connect
from ftflow.azure.deployments import DeploymentSpec, deploy
from ftflow.azure.errors import FineTuneError
from ftflow.request import FineTuneRequest
from ftflow.settings import DataPlaneSettings, IdentitySettings, ManagementSettings

__all__ = ["deploy_base_model", "main"]


def deploy_base_model(request: FineTuneRequest) -> str:
    """Deploy ``request.base_model`` as ``request.base_deployment``; returns what happened."""
    if request.base_deployment is None:
        return "no base deployment asked for: nothing to do"
    azure = connect(DataPlaneSettings(), ManagementSettings(), IdentitySettings())
    try:
        state = deploy(
            azure.management,
            azure.resource_group,
            azure.account,
            DeploymentSpec(name=request.base_deployment, model=request.base_model),
        )
    finally:
        azure.close()
    verb = "deployed" if state.changed else "already deployed"
    return f"{request.base_model} {verb} as {state.name} ({state.provisioning_state})"


def main(argv: Sequence[str] | None = None) -> int:
    """Deploy the base model named in a parameters file; 0 on success, 1 on failure."""
    parser = argparse.ArgumentParser(
        prog="python -m deployments.base_model",
        description="Deploy the base model a fine-tune request compares its smoke test with.",
    )
    parser.add_argument("params", type=Path, help="Flow parameters (JSON, see examples/).")
    args = parser.parse_args(argv)
    try:
        request = FineTuneRequest.model_validate_json(args.params.read_bytes())
        print(deploy_base_model(request))
    except OSError as error:
        print(f"error: {args.params}: cannot read: {error.strerror}", file=sys.stderr)
        return 1
    except ValidationError as error:
        print(f"error: {args.params}: invalid parameters: {error}", file=sys.stderr)
        return 1
    except (SettingsError, FineTuneError) as error:
        print(f"error: cannot deploy the base model: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
