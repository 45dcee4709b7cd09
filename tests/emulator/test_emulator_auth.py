"""Credentials on every surface, the Entra token endpoint, api-versions, TLS."""

from __future__ import annotations

import ssl
from email.utils import parsedate_to_datetime

import httpx2
import openai
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import get_bearer_token_provider
from emulator_harness import (  # type: ignore[import-not-found, unused-ignore]
    GA,
    KEY_MESSAGE,
    TOKEN_MESSAGE,
    Harness,
    error_of,
)


def test_wrong_api_key_is_401_with_azure_body(emu: Harness) -> None:
    with pytest.raises(openai.AuthenticationError) as raised:
        emu.azure(api_key="wrong").files.list()
    assert raised.value.status_code == 401
    assert error_of(raised.value) == {"code": "401", "message": KEY_MESSAGE}


def test_missing_credentials_are_401(emu: Harness) -> None:
    response = emu.http().get("/openai/files", params={"api-version": GA})
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "401", "message": KEY_MESSAGE}}


def test_wrong_key_on_v1_is_401(emu: Harness) -> None:
    with pytest.raises(openai.AuthenticationError) as raised:
        emu.v1(api_key="wrong").files.list()
    assert raised.value.status_code == 401


def test_key_as_bearer_is_accepted_on_v1_only(emu: Harness) -> None:
    assert emu.v1().files.list().data == []
    with pytest.raises(openai.AuthenticationError) as raised:
        emu.azure(azure_ad_token=emu.key).files.list()
    assert error_of(raised.value) == {"code": "401", "message": TOKEN_MESSAGE}


def test_entra_token_works_on_both_data_plane_styles(emu: Harness) -> None:
    provider = get_bearer_token_provider(
        emu.credential(), "https://cognitiveservices.azure.com/.default"
    )
    assert emu.azure(azure_ad_token_provider=provider).files.list().data == []
    assert emu.v1(api_key=provider).files.list().data == []


def test_management_token_is_rejected_on_the_data_plane(emu: Harness) -> None:
    token = emu.credential().get_token("https://management.azure.com/.default").token
    with pytest.raises(openai.AuthenticationError) as raised:
        emu.azure(azure_ad_token=token).files.list()
    assert error_of(raised.value) == {"code": "401", "message": TOKEN_MESSAGE}


def test_data_plane_token_is_rejected_by_arm(emu: Harness) -> None:
    token = emu.credential().get_token("https://cognitiveservices.azure.com/.default").token
    response = emu.http(headers={"Authorization": f"Bearer {token}"}).get(
        f"/subscriptions/{emu.env['AZURE_SUBSCRIPTION_ID']}/resourceGroups/{emu.group}/providers/"
        f"Microsoft.CognitiveServices/accounts/{emu.account}/deployments",
        params={"api-version": "2025-09-01"},
    )
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "InvalidAuthenticationToken",
        "message": "The access token is invalid.",
        "target": None,
        "details": [],
        "additionalInfo": [],
    }


def test_arm_without_token_is_401(emu: Harness) -> None:
    response = emu.http().get(
        f"/subscriptions/{emu.env['AZURE_SUBSCRIPTION_ID']}/resourceGroups/{emu.group}/providers/"
        f"Microsoft.CognitiveServices/accounts/{emu.account}/deployments",
        params={"api-version": "2025-09-01"},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AuthenticationFailed"
    assert (
        response.json()["error"]["message"]
        == "Authentication failed. The 'Authorization' header is missing."
    )


def test_forged_token_is_rejected(emu: Harness) -> None:
    token = emu.credential().get_token("https://cognitiveservices.azure.com/.default").token
    head, body, _signature = token.split(".")
    with pytest.raises(openai.AuthenticationError):
        emu.azure(azure_ad_token=f"{head}.{body}.AAAA").files.list()


def test_wrong_client_secret_gets_no_token(emu: Harness) -> None:
    credential = emu.credential(client_secret="not-the-secret")
    with pytest.raises(ClientAuthenticationError) as raised:
        credential.get_token("https://management.azure.com/.default")
    assert "AADSTS7000215: Invalid client secret provided." in str(raised.value)


def test_unknown_tenant_gets_no_token(emu: Harness) -> None:
    credential = emu.credential(tenant_id="11111111-1111-1111-1111-111111111111")
    with pytest.raises(ClientAuthenticationError):
        credential.get_token("https://management.azure.com/.default")


def test_token_endpoint_rejects_unknown_resource(emu: Harness) -> None:
    response = emu.http().post(
        f"/{emu.env['AZURE_TENANT_ID']}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": emu.env["AZURE_CLIENT_ID"],
            "client_secret": emu.env["AZURE_CLIENT_SECRET"],
            "scope": "https://vault.azure.net/.default",
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_resource"
    assert response.json()["error_codes"] == [500011]


def test_control_api_requires_the_key(emu: Harness) -> None:
    http = emu.http()
    assert http.post("/_emulator/reset").status_code == 401
    assert http.get("/_emulator/health").status_code == 200


def test_unknown_api_version_is_400(emu: Harness) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        emu.azure("2023-01-01").files.list()
    assert error_of(raised.value) == {"code": "BadRequest", "message": "API version not supported"}


def test_missing_api_version_is_404(emu: Harness) -> None:
    response = emu.http(headers={"api-key": emu.key}).get("/openai/files")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "404", "message": "Resource not found"}}


def test_unknown_route_is_404(emu: Harness) -> None:
    response = emu.http(headers={"api-key": emu.key}).get(
        "/openai/nothing", params={"api-version": GA}
    )
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "404", "message": "Resource not found"}}


def test_v1_accepts_its_own_api_versions(emu: Harness) -> None:
    http = emu.http(headers={"api-key": emu.key})
    assert http.get("/openai/v1/files", params={"api-version": "preview"}).status_code == 200
    assert http.get("/openai/v1/files", params={"api-version": GA}).status_code == 400


def test_only_the_emulator_ca_is_trusted(emu: Harness) -> None:
    with (
        httpx2.Client(verify=ssl.create_default_context()) as client,
        pytest.raises(httpx2.ConnectError),
    ):
        client.get(emu.endpoint + "/_emulator/health")
    with httpx2.Client(verify=emu.ssl_context()) as client:
        assert client.get(emu.endpoint + "/_emulator/health").status_code == 200


def test_plain_http_is_not_served(emu: Harness) -> None:
    with httpx2.Client() as client, pytest.raises(httpx2.HTTPError):
        client.get(emu.endpoint.replace("https://", "http://") + "/_emulator/health")


def test_responses_carry_request_ids(emu: Harness) -> None:
    raw = emu.azure().files.with_raw_response.list()
    assert raw.headers["x-request-id"]
    assert raw.headers["apim-request-id"] == raw.headers["x-request-id"]


def test_date_header_is_the_service_clock(emu: Harness) -> None:
    """One Date per response, the simulated clock's (ahead of the wall clock at speed)."""
    emu.advance(3 * 86400)  # a manual clock stands still; a scaled one only moves forward
    raw = emu.azure().files.with_raw_response.list()
    dates = raw.http_response.headers.get_list("date")
    assert len(dates) == 1
    assert abs(parsedate_to_datetime(dates[0]).timestamp() - emu.now()) < 5


def test_oversized_json_body_is_413(emu: Harness) -> None:
    http = emu.http(headers={"api-key": emu.key, "content-type": "application/json"})
    response = http.post(
        "/openai/fine_tuning/jobs",
        params={"api-version": GA},
        content=b'{"model": "' + b"x" * (33 * 1024 * 1024) + b'"}',
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "invalidPayload"


def test_default_azure_credential_from_the_printed_settings(
    emu: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azure.identity import DefaultAzureCredential

    for name in (
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_AUTHORITY_HOST",
    ):
        monkeypatch.setenv(name, emu.env[name])
    credential = DefaultAzureCredential(disable_instance_discovery=True, connection_verify=emu.ca)
    try:
        arm = emu.arm(credential=credential)
        assert list(arm.deployments.list(emu.group, emu.account)) == []
    finally:
        credential.close()
