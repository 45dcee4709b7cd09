"""Tasks of the ``cleanup`` flow: what must stay, what the resource holds, deleting a file.

Nothing is cached: a cleanup must see the resource and the Variables as they are now.
Deleting a deployment is `tasks.promote.remove_deployment`.

Artifact (stable key): ``cleanup-plan``, every deployment and file with what became of it.
"""

from __future__ import annotations

from collections.abc import Sequence

from prefect import task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NONE
from prefect.logging import get_run_logger
from prefect.variables import Variable

from ftflow.azure.clients import AzureClients
from ftflow.azure.deployments import list_deployments
from ftflow.azure.files import delete_file, list_training_files
from ftflow.azure.jobs import files_in_use
from ftflow.cleanup import CleanupPlan, Inventory, Protection, plan_markdown, protection_from
from ftflow.continuous import ContinuousState
from tasks._policy import TRANSIENT_RETRIES

__all__ = ["PLAN_KEY", "publish_plan", "read_protection", "remove_file", "take_inventory"]

PLAN_KEY = "cleanup-plan"


class MissingVariable(LookupError):
    """A Variable named to protect a pipeline's models does not exist."""


@task(name="read-protection", cache_policy=NONE)
async def read_protection(variables: Sequence[str], keep_deployments: Sequence[str]) -> Protection:
    """What the continuous pipelines' Variables and the request protect from deletion.

    A Variable that does not exist is an error, not an empty state: a misspelt name must not
    leave a promoted model unprotected.
    """
    states = {}
    for variable in variables:
        value: object = await Variable.aget(variable)
        if value is None:
            raise MissingVariable(
                f"the Prefect Variable {variable!r} in protect_variables does not exist; give "
                "the `variable` of a continuous-fine-tune pipeline that has run, or remove it"
            )
        states[variable] = ContinuousState.from_variable(value)
    protection = protection_from(states, keep_deployments)
    logger = get_run_logger()
    for name, why in {**protection.deployments, **protection.models}.items():
        logger.info("Protected: %s (%s)", name, why)
    return protection


@task(name="inventory", cache_policy=NONE, **TRANSIENT_RETRIES)
def take_inventory(azure: AzureClients) -> Inventory:
    """Every deployment and fine-tuning file of the resource, and the jobs' files in use."""
    files, now = list_training_files(azure.data)
    deployments = list_deployments(azure.management, azure.resource_group, azure.account)
    in_use = files_in_use(azure.data)
    get_run_logger().info(
        "%s holds %d deployments and %d fine-tuning files (%d read by unfinished jobs); "
        "service time %s",
        azure.account,
        len(deployments),
        len(files),
        len(in_use),
        now.isoformat(),
    )
    return Inventory(now=now, deployments=deployments, files=files, files_in_use=in_use)


@task(name="delete-file", task_run_name="delete-{file_id}", cache_policy=NONE, **TRANSIENT_RETRIES)
def remove_file(file_id: str, azure: AzureClients) -> None:
    """Delete file ``file_id``; already gone counts as done."""
    delete_file(azure.data, file_id)
    get_run_logger().info("Deleted file %s", file_id)


async def publish_plan(plan: CleanupPlan, dry_run: bool) -> None:
    """Publish the plan (``cleanup-plan``) on the flow run."""
    deleting = len(plan.deletions("deployment")) + len(plan.deletions("file"))
    await acreate_markdown_artifact(
        plan_markdown(plan, dry_run),
        key=PLAN_KEY,
        description=f"Cleanup {'dry run' if dry_run else 'run'}: {deleting} to delete",
    )
