"""Settings, one class per concern, read from the environment (and `.env`) at an entry point.

Nothing here is read at import time: an entry point (the CLI, a flow) builds the classes it
needs once and passes them down. Secrets are ``SecretStr`` and never printed. Azure and the
local emulator differ only in these values, never in code paths.

Environment variables (documented in the README):

=============================  ==========================================================
``AZURE_OPENAI_ENDPOINT``      data plane endpoint, ``https://<resource>.openai.azure.com``
``AZURE_OPENAI_API_KEY``       data plane key; unset means Entra ID (DefaultAzureCredential)
``AZURE_OPENAI_API_VERSION``   data plane API version (default ``2025-04-01-preview``)
``AZURE_OPENAI_CA_BUNDLE``     PEM file of CAs to trust for the data plane (emulator only)
``AZURE_SUBSCRIPTION_ID``      subscription holding the Azure OpenAI account
``AZURE_RESOURCE_GROUP``       its resource group
``AZURE_OPENAI_ACCOUNT``       the Azure OpenAI (Cognitive Services) account name
``AZURE_MANAGEMENT_ENDPOINT``  ARM endpoint (default ``https://management.azure.com``)
``AZURE_MANAGEMENT_CA_BUNDLE`` PEM file of CAs to trust for ARM (emulator only)
``FTFLOW_TIKTOKEN_CACHE_DIR``  where tokenizer encodings are installed
``FTFLOW_PRICES_FILE``         JSON file overriding the training price table
=============================  ==========================================================
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "BLOCK_SETTABLE",
    "DataPlaneSettings",
    "IdentitySettings",
    "ManagementSettings",
    "NotificationSettings",
    "SecretBlockSettings",
    "TokenizerSettings",
    "ValidationSettings",
]

_COMMON = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")


class DataPlaneSettings(BaseSettings):
    """The Azure OpenAI data plane: files, fine-tuning jobs, chat completions."""

    model_config = SettingsConfigDict(env_prefix="AZURE_OPENAI_", **_COMMON)

    endpoint: str = Field(
        default="",
        description="Resource endpoint, e.g. https://my-resource.openai.azure.com",
    )
    api_key: SecretStr | None = Field(
        default=None,
        description="API key; when unset, Entra ID through DefaultAzureCredential is used.",
    )
    api_version: str = Field(
        default="2025-04-01-preview",
        description="API version sent as ?api-version= on the versioned paths.",
    )
    ca_bundle: Path | None = Field(
        default=None,
        description="PEM bundle of certificate authorities to trust (the emulator's CA).",
    )
    timeout_seconds: float = Field(default=60.0, gt=0, description="Per-request timeout.")
    max_retries: int = Field(
        default=4, ge=0, le=20, description="SDK retries of transient errors (429, 5xx)."
    )


class ManagementSettings(BaseSettings):
    """Azure Resource Manager: the account's model deployments."""

    model_config = SettingsConfigDict(**_COMMON)

    subscription_id: str = Field(
        default="",
        validation_alias=AliasChoices("AZURE_SUBSCRIPTION_ID"),
        description="Subscription that holds the Azure OpenAI account.",
    )
    resource_group: str = Field(
        default="",
        validation_alias=AliasChoices("AZURE_RESOURCE_GROUP"),
        description="Resource group of the account.",
    )
    account_name: str = Field(
        default="",
        validation_alias=AliasChoices("AZURE_OPENAI_ACCOUNT"),
        description="Azure OpenAI (Cognitive Services) account name.",
    )
    endpoint: str = Field(
        default="https://management.azure.com",
        validation_alias=AliasChoices("AZURE_MANAGEMENT_ENDPOINT"),
        description="Resource Manager endpoint.",
    )
    ca_bundle: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("AZURE_MANAGEMENT_CA_BUNDLE"),
        description="PEM bundle of certificate authorities to trust (the emulator's CA).",
    )


class IdentitySettings(BaseSettings):
    """Entra ID. ``azure-identity`` reads its own variables (``AZURE_TENANT_ID``,
    ``AZURE_CLIENT_ID``, ``AZURE_CLIENT_SECRET``, ``AZURE_AUTHORITY_HOST``); ftflow needs only
    the authority, to know whether MSAL's instance discovery applies to it."""

    model_config = SettingsConfigDict(**_COMMON)

    authority_host: str = Field(
        default="https://login.microsoftonline.com",
        validation_alias=AliasChoices("AZURE_AUTHORITY_HOST"),
        description="Entra ID authority; a non-Microsoft authority is used without discovery.",
    )


class NotificationSettings(BaseSettings):
    """Who hears about finished and failed runs: names of Prefect notification blocks."""

    model_config = SettingsConfigDict(env_prefix="FTFLOW_NOTIFY_", **_COMMON)

    blocks: list[str] = Field(
        default_factory=list,
        description="Prefect notification block names, e.g. ['ft-webhook', 'team-slack'].",
    )


BLOCK_SETTABLE = (
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "AZURE_SUBSCRIPTION_ID",
    "AZURE_RESOURCE_GROUP",
    "AZURE_OPENAI_ACCOUNT",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
)
"""The settings a Prefect Secret block may provide instead of the environment."""


class SecretBlockSettings(BaseSettings):
    """Settings kept in Prefect Secret blocks, loaded inside the flow run when it starts.

    ``FTFLOW_SECRET_BLOCKS='{"AZURE_OPENAI_API_KEY": "azure-openai-key"}'`` makes every
    flow run read the API key from the Secret block ``azure-openai-key``; the block's value
    replaces the environment's for that run. Nothing is resolved into a deployment.
    """

    model_config = SettingsConfigDict(env_prefix="FTFLOW_", **_COMMON)

    secret_blocks: dict[str, str] = Field(
        default_factory=dict,
        description=f"Setting name → Prefect Secret block name; settings: {BLOCK_SETTABLE}.",
    )

    @field_validator("secret_blocks")
    @classmethod
    def _known(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(BLOCK_SETTABLE))
        if unknown:
            raise ValueError(f"not a setting a Secret block can provide: {unknown}")
        return value


def _default_encodings_dir() -> Path:
    # Encodings belong to the environment ftflow is installed in: .venv owns them.
    return Path(sys.prefix) / "share" / "ftflow" / "tiktoken"


class TokenizerSettings(BaseSettings):
    """Where the tokenizer encodings live; tiktoken is pointed there, never at the internet."""

    model_config = SettingsConfigDict(env_prefix="FTFLOW_", **_COMMON)

    tiktoken_cache_dir: Path = Field(
        default_factory=_default_encodings_dir,
        description="Directory of tiktoken encoding files, named by tiktoken's cache key.",
    )


class ValidationSettings(BaseSettings):
    """Tunables of the data gate."""

    model_config = SettingsConfigDict(env_prefix="FTFLOW_", **_COMMON)

    prices_file: Path | None = Field(
        default=None,
        description="JSON object {model: USD per 1M training tokens} overriding the defaults.",
    )
    workers: int = Field(
        default=0, ge=0, le=64, description="Validator processes; 0 means one per core."
    )
