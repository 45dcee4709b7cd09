"""The emulated Entra ID (Microsoft identity platform v2.0) endpoints MSAL uses for the client
credentials flow: OpenID discovery, the token endpoint, and instance discovery and keys in case a
client asks. Only the configured tenant, client id and secret get a token."""

from __future__ import annotations

import base64
import hmac
from typing import TYPE_CHECKING

from starlette.responses import Response

from emulator.core.http import Call, json_response
from emulator.identity.errors import IdentityError
from emulator.identity.tokens import audience_of_scope

if TYPE_CHECKING:
    from emulator.backend import Backend

__all__ = ["instance_discovery", "keys", "openid_configuration", "token"]


def _check_tenant(backend: Backend, tenant: str) -> None:
    if tenant.lower() != backend.config.tenant_id.lower():
        raise IdentityError(
            400,
            "invalid_request",
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
            "are signing into the correct cloud.",
        )


def openid_configuration(backend: Backend, call: Call) -> Response:
    """``GET /{tenant}/v2.0/.well-known/openid-configuration``."""
    tenant = call.params["tenant"]
    _check_tenant(backend, tenant)
    base = f"{call.base_url}/{tenant}"
    return json_response(
        {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0",
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid", "oid"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        }
    )


def instance_discovery(backend: Backend, call: Call) -> Response:
    """``GET /common/discovery/instance``: points MSAL at this emulator's tenant discovery."""
    tenant = backend.config.tenant_id
    return json_response(
        {
            "tenant_discovery_endpoint": (
                f"{call.base_url}/{tenant}/v2.0/.well-known/openid-configuration"
            ),
            "api-version": "1.1",
            "metadata": [],
        }
    )


def keys(backend: Backend, call: Call) -> Response:
    """``GET /{tenant}/discovery/v2.0/keys`` (tokens are HMAC-signed: no public keys)."""
    _check_tenant(backend, call.params["tenant"])
    return json_response({"keys": []})


def _client_credentials(call: Call) -> tuple[str, str]:
    form = call.form
    assert form is not None
    client_id, secret = form.get("client_id"), form.get("client_secret")
    header = call.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except ValueError:
            decoded = ":"
        basic_id, _, basic_secret = decoded.partition(":")
        client_id, secret = client_id or basic_id, secret or basic_secret
    return (client_id if isinstance(client_id, str) else ""), (
        secret if isinstance(secret, str) else ""
    )


def token(backend: Backend, call: Call) -> Response:
    """``POST /{tenant}/oauth2/v2.0/token``: client credentials grant."""
    tenant = call.params["tenant"]
    _check_tenant(backend, tenant)
    form = call.form
    assert form is not None
    if form.get("grant_type") != "client_credentials":
        raise IdentityError(
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type; only client_credentials is emulated.",
        )
    client_id, secret = _client_credentials(call)
    if client_id != backend.config.client_id:
        raise IdentityError(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{tenant}'. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant.",
        )
    if not hmac.compare_digest(secret.encode(), backend.client_secret.encode()):
        raise IdentityError(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the "
            f"client secret value, not the client secret ID, for a secret added to app "
            f"'{client_id}'.",
        )
    scopes = str(form.get("scope") or "").split()
    resource_scopes = [s for s in scopes if s not in ("openid", "profile", "offline_access")]
    if len(resource_scopes) != 1 or not resource_scopes[0].endswith("/.default"):
        raise IdentityError(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {' '.join(scopes)} is not valid. Client credential "
            "flows must have a scope value with /.default suffixed to the resource identifier "
            "(application ID URI).",
        )
    audience = audience_of_scope(resource_scopes[0])
    if audience is None:
        resource = resource_scopes[0][: -len("/.default")]
        raise IdentityError(
            400,
            "invalid_resource",
            500011,
            f"The resource principal named {resource} was not found in the tenant named "
            f"{tenant}. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant.",
        )
    issued, expires_in = backend.issuer.issue(audience[1], f"{call.base_url}/{tenant}/v2.0")
    return json_response(
        {
            "token_type": "Bearer",
            "expires_in": expires_in,
            "ext_expires_in": expires_in,
            "access_token": issued,
        }
    )
