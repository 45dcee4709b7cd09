"""Settings from Prefect Secret blocks, loaded inside the flow run (`SecretBlockSettings`).

A deployment never holds a secret: ``{{ prefect.blocks.secret.x }}`` in ``prefect.yaml`` would
be resolved when deploying and stored in plain text. Instead ``FTFLOW_SECRET_BLOCKS`` on the
worker names the blocks, and the flow run loads them when it starts, into its own process
environment, where the settings, ``azure-identity`` and the redaction of notifications
(`ftflow.notifications.known_secrets`) read them like any other setting.
"""

from __future__ import annotations

import os

from prefect.blocks.system import Secret
from prefect.logging import get_run_logger

from ftflow.azure.clients import SettingsError
from ftflow.settings import SecretBlockSettings

__all__ = ["load_secret_blocks"]


async def load_secret_blocks() -> list[str]:
    """Put the value of each named Secret block into its setting; returns the settings set."""
    try:
        blocks = SecretBlockSettings().secret_blocks
    except ValueError as error:
        raise SettingsError(f"FTFLOW_SECRET_BLOCKS: {error}") from None
    for setting, block in blocks.items():
        try:
            secret: Secret[str] = await Secret.aload(block)
        except ValueError:
            raise SettingsError(
                f"the Prefect Secret block {block!r} (for {setting}, named in "
                f"FTFLOW_SECRET_BLOCKS) does not exist; create it (prefect block create "
                "secret, or Secret(value=...).save(name)) or remove it from FTFLOW_SECRET_BLOCKS"
            ) from None
        value = secret.get()
        if not isinstance(value, str) or not value.strip():
            raise SettingsError(f"the Prefect Secret block {block!r} for {setting} is empty")
        os.environ[setting] = value.strip()
        get_run_logger().info("%s from the Prefect Secret block %r", setting, block)
    return list(blocks)
