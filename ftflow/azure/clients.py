"""The clients for both planes, built once from settings at an entry point.

Azure and the local emulator differ only in the values: endpoints, credentials and, for the
emulator, a CA bundle to trust. The data plane authenticates with its API key when one is
set, else with Entra ID; Resource Manager always uses Entra ID (``DefaultAzureCredential``:
environment, workload identity, managed identity, Azure CLI …).
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import openai
from azure.identity import DefaultAzureCredential, get_bearer_token_provider
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

from ftflow.settings import DataPlaneSettings, IdentitySettings, ManagementSettings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

__all__ = ["COGNITIVE_SCOPE", "AzureClients", "SettingsError", "connect"]

COGNITIVE_SCOPE = "https://cognitiveservices.azure.com/.default"
# Microsoft's own Entra hosts support MSAL's instance discovery; any other authority (ADFS,
# a sovereign proxy, the local emulator) must be used as given.
_MICROSOFT_AUTHORITIES = frozenset(
    {"login.microsoftonline.com", "login.chinacloudapi.cn", "login.microsoftonline.us"}
)


class SettingsError(ValueError):
    """A setting needed to reach Azure is missing or malformed; the message names it."""


class AzureClients:
    """What the pipeline talks to: the data plane and the account's deployments.

    A plain class rather than a dataclass, so orchestration code passing it around treats
    it as one opaque value and never walks into the SDK clients.
    """

    __slots__ = ("account", "api_version", "data", "endpoint", "management", "resource_group")

    def __init__(
        self,
        data: openai.AzureOpenAI,
        management: CognitiveServicesManagementClient,
        api_version: str,
        resource_group: str,
        account: str,
        endpoint: str,
    ) -> None:
        self.data = data
        self.management = management
        self.api_version = api_version
        self.resource_group = resource_group
        self.account = account
        self.endpoint = endpoint

    @property
    def resource(self) -> str:
        """Which Azure OpenAI resource this is, for cache keys and messages."""
        return f"{self.endpoint}|{self.resource_group}/{self.account}"

    def close(self) -> None:
        self.data.close()
        self.management.close()


def _require(value: str, name: str, example: str) -> str:
    if not value.strip():
        raise SettingsError(f"{name} is not set; set it to {example}")
    return value.strip()


def _https(value: str, name: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme != "https" or not parsed.netloc:
        raise SettingsError(f"{name} must be an https:// URL, got {value!r}")
    return value.rstrip("/")


def _trust(bundle: Path | None, name: str) -> ssl.SSLContext | None:
    """The TLS context trusting the CAs in ``bundle`` (None: the system's); the bundle must
    hold at least one certificate, so a wrong file fails here rather than at first use."""
    if bundle is None:
        return None
    advice = "point it at the PEM file of the certificate authority to trust, or unset it"
    if not bundle.is_file():
        raise SettingsError(f"{name} names {bundle}, which is not a file; {advice}")
    try:
        return ssl.create_default_context(cafile=str(bundle))
    except (ssl.SSLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or getattr(error, "strerror", None) or error
        raise SettingsError(
            f"{name} names {bundle}, which holds no certificate this machine can load "
            f"({reason}); {advice}"
        ) from error


def _credential(identity: IdentitySettings, ca_bundle: str | None) -> TokenCredential:
    host = urlparse(identity.authority_host).hostname or ""
    options: dict[str, object] = {
        "disable_instance_discovery": host not in _MICROSOFT_AUTHORITIES,
    }
    if ca_bundle:
        options["connection_verify"] = ca_bundle
    return DefaultAzureCredential(**options)


def connect(
    data: DataPlaneSettings,
    management: ManagementSettings,
    identity: IdentitySettings | None = None,
    credential: TokenCredential | None = None,
) -> AzureClients:
    """Clients for ``data`` and ``management``; :class:`SettingsError` names what is missing."""
    endpoint = _https(
        _require(data.endpoint, "AZURE_OPENAI_ENDPOINT", "https://<resource>.openai.azure.com"),
        "AZURE_OPENAI_ENDPOINT",
    )
    subscription = _require(management.subscription_id, "AZURE_SUBSCRIPTION_ID", "its GUID")
    group = _require(management.resource_group, "AZURE_RESOURCE_GROUP", "the resource group")
    account = _require(management.account_name, "AZURE_OPENAI_ACCOUNT", "the account name")
    arm = _https(management.endpoint, "AZURE_MANAGEMENT_ENDPOINT")
    data_trust = _trust(data.ca_bundle, "AZURE_OPENAI_CA_BUNDLE")
    _trust(management.ca_bundle, "AZURE_MANAGEMENT_CA_BUNDLE")  # azure-core takes the path
    ca = str(management.ca_bundle) if management.ca_bundle else None
    credential = credential or _credential(identity or IdentitySettings(), ca)
    http = openai.DefaultHttpxClient(verify=data_trust or True)
    if data.api_key is not None:
        client = openai.AzureOpenAI(
            azure_endpoint=endpoint,
            api_version=data.api_version,
            api_key=data.api_key.get_secret_value(),
            http_client=http,
            timeout=data.timeout_seconds,
            max_retries=data.max_retries,
        )
    else:
        client = openai.AzureOpenAI(
            azure_endpoint=endpoint,
            api_version=data.api_version,
            azure_ad_token_provider=get_bearer_token_provider(credential, COGNITIVE_SCOPE),
            http_client=http,
            timeout=data.timeout_seconds,
            max_retries=data.max_retries,
        )
    mgmt_options: dict[str, object] = {"base_url": arm}
    if ca:
        mgmt_options["connection_verify"] = ca
    mgmt = CognitiveServicesManagementClient(credential, subscription, **mgmt_options)  # type: ignore[arg-type]
    return AzureClients(client, mgmt, data.api_version, group, account, endpoint)
