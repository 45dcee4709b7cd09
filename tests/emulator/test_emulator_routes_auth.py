"""Every route of the emulator refuses missing and wrong credentials, and applies nothing.

The routes come from the application's own routing table (``create_app(...).routes``), not
from a list kept here: a route added without authentication fails
``test_every_route_refuses_missing_and_wrong_credentials``, and a route that answers without
credentials but is not in :data:`PUBLIC` fails ``test_only_the_public_routes_answer_without
credentials``. Path parameters are filled with real objects (an uploaded file, a pending job,
a fine-tuned model and its deployment, a fault rule), so a refused ``DELETE`` or ``cancel``
that slipped through would show in what the service holds afterwards.
"""

from __future__ import annotations

import string
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from emulator_harness import (  # type: ignore[import-not-found, unused-ignore]
    BASE_MODEL,
    GA,
    KEY_MESSAGE,
    PREVIEW,
    TOKEN_MESSAGE,
    Harness,
    geography,
)
from starlette.routing import Route

from emulator.app import ARM_VERSIONS, create_app
from emulator.config import EmulatorConfig

DEPLOYMENT = "routes-auth"
ARM_VERSION = ARM_VERSIONS[-1]
DATA_SCOPE = "https://cognitiveservices.azure.com/.default"
ARM_SCOPE = "https://management.azure.com/.default"
CONTROL_MESSAGE = "The control API needs the emulator's api-key."
ARM_MISSING = (
    "AuthenticationFailed",
    "Authentication failed. The 'Authorization' header is missing.",
)
ARM_INVALID = ("InvalidAuthenticationToken", "The access token is invalid.")

PUBLIC = frozenset(
    {
        ("GET", "/_emulator/health"),
        ("HEAD", "/_emulator/health"),
        ("GET", "/common/discovery/instance"),
        ("HEAD", "/common/discovery/instance"),
        ("GET", "/{tenant}/v2.0/.well-known/openid-configuration"),
        ("HEAD", "/{tenant}/v2.0/.well-known/openid-configuration"),
        ("GET", "/{tenant}/discovery/v2.0/keys"),
        ("HEAD", "/{tenant}/discovery/v2.0/keys"),
        ("POST", "/{tenant}/oauth2/v2.0/token"),
    }
)
"""Routes that answer without credentials by design: Entra ID's discovery and token endpoints
(the client secret in the form is the credential) and the control API's health check."""


@dataclass(frozen=True)
class Endpoint:
    """One method of one route of the routing table."""

    method: str
    template: str

    @property
    def surface(self) -> str:
        """Which API the path belongs to, by its prefix (as Azure's hosts split them)."""
        if self.template.startswith("/openai/v1/"):
            return "v1"
        if self.template.startswith("/openai/"):
            return "versioned"
        if self.template.startswith("/subscriptions/"):
            return "arm"
        if self.template.startswith("/_emulator/"):
            return "control"
        return "identity"

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


@pytest.fixture(scope="module")
def routing_table(tmp_path_factory: pytest.TempPathFactory) -> list[Endpoint]:
    """Every (method, path template) the application routes, HEAD included."""
    app = create_app(EmulatorConfig(data_dir=tmp_path_factory.mktemp("routes"), clock="manual"))
    try:
        endpoints = []
        for route in app.routes:
            assert isinstance(route, Route), f"{route!r} is not a plain route: walk it too"
            endpoints += [Endpoint(method, route.path) for method in sorted(route.methods or ())]
    finally:
        app.state.backend.close()
    assert len(endpoints) > 50, endpoints
    return endpoints


@dataclass(frozen=True)
class Seeded:
    """Real objects for the path parameters, and what the service held before the walk."""

    values: dict[str, str]
    snapshot: dict[str, Any]


def _snapshot(emu: Harness) -> dict[str, Any]:
    """Everything a refused request could have changed, as the authenticated APIs show it."""
    data, arm = emu.azure(), emu.arm()
    return {
        "files": sorted((f.id, f.status) for f in data.files.list()),
        "jobs": sorted((j.id, j.status) for j in data.fine_tuning.jobs.list(limit=100)),
        "deployments": sorted(
            (d.name, d.sku.name, d.sku.capacity, d.properties.provisioning_state)
            for d in arm.deployments.list(emu.group, emu.account)
        ),
        "clock": emu.now(),
        "faults": emu.control("GET", "/faults").json(),
        "settings": emu.control("GET", "/settings").json(),
    }


@pytest.fixture
def seeded(emu: Harness) -> Seeded:
    """A processed file, a finished job's model deployed, a pending job and a fault rule that
    matches nothing; path parameters name them."""
    client = emu.azure()
    trained = emu.train(client, geography())
    emu.deploy(DEPLOYMENT, trained.fine_tuned_model)
    pending = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=trained.training_file)
    rule = emu.fault(method="GET", path="^/never-requested$", kind="500")
    [polled, *_] = [r for r in emu.requests(method="GET") if "/operationStatuses/" in r["path"]]
    location, operation = polled["path"].split("/locations/")[1].split("/operationStatuses/")
    values = {
        "file_id": trained.training_file,
        "job_id": pending.id,
        "model_id": trained.fine_tuned_model,
        "deployment": DEPLOYMENT,
        "name": DEPLOYMENT,
        "subscription": emu.env["AZURE_SUBSCRIPTION_ID"],
        "group": emu.group,
        "account": emu.account,
        "location": location,
        "operation": operation,
        "tenant": emu.env["AZURE_TENANT_ID"],
        "family": "jobs",
        "fault_id": rule["id"],
    }
    return Seeded(values, _snapshot(emu))


def _path(endpoint: Endpoint, values: dict[str, str]) -> str:
    names = [name for _, name, _, _ in string.Formatter().parse(endpoint.template) if name]
    missing = sorted(set(names) - set(values))
    if missing:
        pytest.fail(f"{endpoint}: give the path parameters {missing} a plausible value here")
    return endpoint.template.format(**values)


def _request(endpoint: Endpoint, values: dict[str, str]) -> dict[str, Any]:
    """Query and body a client would send if it had the right credentials."""
    surface, template, method = endpoint.surface, endpoint.template, endpoint.method
    options: dict[str, Any] = {}
    if surface == "versioned":
        options["params"] = {
            "api-version": PREVIEW if template.endswith(("pause", "resume")) else GA
        }
    elif surface == "arm":
        options["params"] = {"api-version": ARM_VERSION}
    if method not in ("POST", "PUT", "PATCH"):
        return options
    chat = {"model": DEPLOYMENT, "messages": [{"role": "user", "content": "What is a glacier?"}]}
    bodies: dict[str, dict[str, Any]] = {
        "/files": {"files": {"file": ("t.jsonl", geography())}, "data": {"purpose": "fine-tune"}},
        "/fine_tuning/jobs": {"json": {"model": BASE_MODEL, "training_file": values["file_id"]}},
        "/chat/completions": {"json": chat},
        "/deployments/{name}": {
            "json": {
                "sku": {"name": "Standard", "capacity": 2},
                "properties": {"model": {"format": "OpenAI", "name": BASE_MODEL, "version": "1"}},
            }
        },
        "/clock/advance": {"json": {"seconds": 86400}},
        "/faults": {"json": {"kind": "500"}},
        "/faults/{family}": {"json": {"kind": "internal_error"}},
        "/settings": {"json": {"limits": {"max_files": 1}}},
    }
    for suffix, body in bodies.items():
        if template.endswith(suffix):
            options.update(body)
    return options


@dataclass(frozen=True)
class Attempt:
    """Credentials to try, and the 401 body (code, message) the surface answers them with."""

    name: str
    headers: dict[str, str]
    expected: tuple[str, str]


def _forged(token: str) -> str:
    head, body, _signature = token.split(".")
    return f"{head}.{body}.AAAA"


def _attempts(emu: Harness) -> dict[str, list[Attempt]]:
    credential = emu.credential()
    data_token = credential.get_token(DATA_SCOPE).token
    arm_token = credential.get_token(ARM_SCOPE).token

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    wrong_key = {"api-key": "0" * len(emu.key)}
    garbage = bearer("not-a-token")
    data_plane = [
        Attempt("no credentials", {}, ("401", KEY_MESSAGE)),
        Attempt("wrong api-key", wrong_key, ("401", KEY_MESSAGE)),
        Attempt("garbage bearer", garbage, ("401", TOKEN_MESSAGE)),
        Attempt("forged token", bearer(_forged(data_token)), ("401", TOKEN_MESSAGE)),
        Attempt("management token", bearer(arm_token), ("401", TOKEN_MESSAGE)),
    ]
    return {
        "versioned": [
            *data_plane,
            Attempt("key as bearer", bearer(emu.key), ("401", TOKEN_MESSAGE)),
        ],
        "v1": data_plane,
        "arm": [
            Attempt("no credentials", {}, ARM_MISSING),
            Attempt("the data plane api-key", {"api-key": emu.key}, ARM_MISSING),
            Attempt("garbage bearer", garbage, ARM_INVALID),
            Attempt("forged token", bearer(_forged(arm_token)), ARM_INVALID),
            Attempt("data plane token", bearer(data_token), ARM_INVALID),
            Attempt("key as bearer", bearer(emu.key), ARM_INVALID),
        ],
        "control": [
            Attempt("no credentials", {}, ("401", CONTROL_MESSAGE)),
            Attempt("wrong api-key", wrong_key, ("401", CONTROL_MESSAGE)),
            Attempt("garbage bearer", garbage, ("401", CONTROL_MESSAGE)),
            Attempt("data plane token", bearer(data_token), ("401", CONTROL_MESSAGE)),
            Attempt("management token", bearer(arm_token), ("401", CONTROL_MESSAGE)),
        ],
    }


def _envelope(surface: str, code: str, message: str) -> dict[str, Any]:
    """The whole 401 body of ``surface``: ARM's error object, else the gateway's."""
    if surface == "arm":
        error: dict[str, Any] = {"code": code, "message": message, "target": None}
        return {"error": {**error, "details": [], "additionalInfo": []}}
    return {"error": {"code": code, "message": message}}


def _walk(
    emu: Harness,
    endpoints: list[Endpoint],
    values: dict[str, str],
    attempts: dict[str, list[Attempt]],
) -> Iterator[str]:
    """Send every attempt to every endpoint; yield what did not answer as expected."""
    http = emu.http(timeout=30)
    for endpoint in endpoints:
        path = _path(endpoint, values)
        for attempt in attempts[endpoint.surface]:
            response = http.request(
                endpoint.method, path, headers=attempt.headers, **_request(endpoint, values)
            )
            expected = (
                b"" if endpoint.method == "HEAD" else _envelope(endpoint.surface, *attempt.expected)
            )
            got = response.content if endpoint.method == "HEAD" else response.json()
            if response.status_code != 401 or got != expected:
                yield f"{endpoint} with {attempt.name}: {response.status_code} {got!r}"


def test_every_route_refuses_missing_and_wrong_credentials(
    emu: Harness, routing_table: list[Endpoint], seeded: Seeded
) -> None:
    guarded = [e for e in routing_table if (e.method, e.template) not in PUBLIC]
    attempts = _attempts(emu)
    before = emu.requests()

    wrong = list(_walk(emu, guarded, seeded.values, attempts))

    assert wrong == [], "\n".join(wrong)
    sent = Counter(
        (e.method, _path(e, seeded.values))
        for e in guarded
        if e.surface != "control"
        for _ in attempts[e.surface]
    )
    logged = emu.requests(since=str(before[-1]["seq"]))
    assert Counter((r["method"], r["path"]) for r in logged) == sent
    assert {r["status"] for r in logged} == {401}
    assert _snapshot(emu) == seeded.snapshot, "a refused request changed the service"
    assert emu.requests()[: len(before)] == before, "a refused request cleared the request log"


def test_only_the_public_routes_answer_without_credentials(
    emu: Harness, routing_table: list[Endpoint]
) -> None:
    values = {
        "tenant": emu.env["AZURE_TENANT_ID"],
        "subscription": emu.env["AZURE_SUBSCRIPTION_ID"],
        "group": emu.group,
        "account": emu.account,
        "name": DEPLOYMENT,
        "deployment": DEPLOYMENT,
    }
    values.update(
        (name, str(uuid.uuid4()))
        for name in ("file_id", "job_id", "model_id", "location", "operation", "fault_id")
    )
    values["family"] = "jobs"
    http = emu.http(timeout=30)
    answered = {}
    for endpoint in routing_table:
        response = http.request(
            endpoint.method, _path(endpoint, values), **_request(endpoint, values)
        )
        if response.status_code != 401:
            answered[(endpoint.method, endpoint.template)] = response.status_code
    assert set(answered) == PUBLIC
    assert all(status < 500 for status in answered.values()), answered
