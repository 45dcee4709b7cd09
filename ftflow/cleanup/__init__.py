"""Cleanup of an Azure OpenAI resource, the core: what to delete and how to tell it; no Prefect.

=============  ================================================================================
``request``    `CleanupRequest`, the flow's parameters, and `CleanupResult`
``plan``       `plan_cleanup`: every deployment and file with the reason it goes or stays
``report``     the plan as a markdown table, the result, the notification
=============  ================================================================================

Listing and deleting are in `ftflow.azure.deployments` and `ftflow.azure.files`.
"""

from ftflow.cleanup.plan import (
    CleanupPlan,
    Decision,
    Inventory,
    Protection,
    plan_cleanup,
    protection_from,
)
from ftflow.cleanup.report import cleanup_message, plan_markdown, summarise
from ftflow.cleanup.request import CleanupRequest, CleanupResult

__all__ = [
    "CleanupPlan",
    "CleanupRequest",
    "CleanupResult",
    "Decision",
    "Inventory",
    "Protection",
    "cleanup_message",
    "plan_cleanup",
    "plan_markdown",
    "protection_from",
    "summarise",
]
