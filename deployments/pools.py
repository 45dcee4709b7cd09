"""The work pools ``prefect.yaml`` deploys to; shared by the setup and the local stack.

Two process pools keep the two worlds apart: the workers of ``ftflow-prod`` run with Azure's
settings in their environment, the worker of ``ftflow-local`` with the emulator's.
"""

__all__ = ["LOCAL_POOL", "PROD_POOL", "WORK_POOLS"]

PROD_POOL = "ftflow-prod"
"""Runs against Azure."""

LOCAL_POOL = "ftflow-local"
"""Runs against the local emulator (the worker ``python -m deployments.stack up`` starts)."""

WORK_POOLS = (PROD_POOL, LOCAL_POOL)
"""Every pool the setup creates."""
