"""Helpers for the emulator conformance suite: running servers (a thread in this process, or a
live ``python -m emulator serve`` process), real SDK clients pointed at them, and sample data.

Nothing here imports the emulator's internals except to start it in-process; tests talk to it
over HTTPS with the real ``openai``, ``azure-identity`` and ``azure-mgmt-cognitiveservices``
clients, and to its control API with ``httpx2``.
"""

from __future__ import annotations

import json
import os
import select
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx2
import openai
from azure.identity import ClientSecretCredential
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.cognitiveservices.models import (
    Deployment,
    DeploymentModel,
    DeploymentProperties,
    Sku,
)

from emulator.config import EmulatorConfig, Timings, Tunables
from emulator.server import EmulatorServer

GA = "2024-10-21"
PREVIEW = "2025-04-01-preview"
BASE_MODEL = "gpt-4o-mini-2024-07-18"
ENV_NAMES = (
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_API_VERSION",
    "AZURE_OPENAI_CA_BUNDLE",
    "AZURE_SUBSCRIPTION_ID",
    "AZURE_RESOURCE_GROUP",
    "AZURE_OPENAI_ACCOUNT",
    "AZURE_MANAGEMENT_ENDPOINT",
    "AZURE_MANAGEMENT_CA_BUNDLE",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_AUTHORITY_HOST",
    "FTFLOW_EMULATOR_URL",
)
LRO_MS = 50
REPO = Path(__file__).resolve().parents[2]
KEY_MESSAGE = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
    "valid key for an active subscription and use a correct regional API endpoint for your "
    "resource."
)
"""The data plane's 401 without credentials or with a wrong ``api-key`` (Azure's words)."""
TOKEN_MESSAGE = (
    "Unauthorized. Access token is missing, invalid, audience is incorrect "
    "(https://cognitiveservices.azure.com), or have expired."
)
"""The data plane's 401 for a bearer token it does not accept (Azure's words)."""


class Server(Protocol):
    """A running emulator."""

    mode: str
    env: dict[str, str]
    data_dir: Path

    def stop(self) -> None: ...


class InProcessServer:
    """The emulator on a thread of this process (:class:`emulator.server.EmulatorServer`)."""

    mode = "inprocess"

    def __init__(self, data_dir: Path, **config: Any) -> None:
        self.data_dir = data_dir
        tunables = Tunables(timings=Timings(lro_retry_after_ms=LRO_MS))
        options: dict[str, Any] = {"clock": "manual", "port": 0, "tunables": tunables}
        options.update(config)
        self._server = EmulatorServer(EmulatorConfig(data_dir=data_dir, **options)).start()
        self.env = dict(self._server.environment)

    def stop(self) -> None:
        self._server.stop()


class LiveServer:
    """``python -m emulator serve --port 0 ...`` as a child process; settings read from stdout."""

    mode = "live"

    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self._stderr = (data_dir.parent / f"{data_dir.name}-stderr.log").open("ab")
        args = [sys.executable, "-m", "emulator", "serve", "--port", "0"]
        args += ["--data-dir", str(data_dir), "--clock", "manual"]
        args += ["--set", f"timings.lro_retry_after_ms={LRO_MS}", "--log-level", "warning"]
        self.process = subprocess.Popen(
            [*args, *extra],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=REPO,
            bufsize=0,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.stdout_lines = self._read_settings(timeout=30.0)
        self.env = dict(line.split("=", 1) for line in self.stdout_lines)

    def _read_settings(self, timeout: float) -> list[str]:
        assert self.process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        while len(lines) < len(ENV_NAMES):
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self.process.stdout], [], [], max(remaining, 0))
            if not ready:
                self.stop()
                raise RuntimeError(f"emulator printed only {lines!r} within {timeout}s")
            raw = self.process.stdout.readline()
            if not raw:
                raise RuntimeError(f"emulator exited ({self.process.wait()}) after {lines!r}")
            lines.append(raw.decode().rstrip("\n"))
        return lines

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()


def start_server(mode: str, data_dir: Path, *cli_args: str, **config: Any) -> Server:
    """Start an emulator of ``mode`` (``inprocess`` or ``live``) on ``data_dir``."""
    if mode == "inprocess":
        return InProcessServer(data_dir, **config)
    return LiveServer(data_dir, *cli_args)


@dataclass
class Harness:
    """One test's view of a running emulator: clients, control API, sample data."""

    server: Server
    _closers: list[Any] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        """The NAME=value settings the emulator printed."""
        return self.server.env

    @property
    def mode(self) -> str:
        """``inprocess`` or ``live``."""
        return self.server.mode

    @property
    def endpoint(self) -> str:
        """``https://127.0.0.1:PORT``."""
        return self.env["AZURE_OPENAI_ENDPOINT"]

    @property
    def key(self) -> str:
        """The data plane key."""
        return self.env["AZURE_OPENAI_API_KEY"]

    @property
    def ca(self) -> str:
        """Path of the emulator's CA certificate."""
        return self.env["AZURE_OPENAI_CA_BUNDLE"]

    def ssl_context(self) -> ssl.SSLContext:
        """An SSL context trusting only the emulator's CA."""
        return ssl.create_default_context(cafile=self.ca)

    def http(self, **kwargs: Any) -> httpx2.Client:
        """A plain HTTPS client trusting the emulator."""
        client = httpx2.Client(verify=self.ssl_context(), base_url=self.endpoint, **kwargs)
        self._closers.append(client)
        return client

    def control(self, method: str, path: str, **kwargs: Any) -> httpx2.Response:
        """Call the control API (with the api key)."""
        client = self.http(headers={"api-key": self.key}, timeout=30)
        response = client.request(method, "/_emulator" + path, **kwargs)
        response.raise_for_status()
        return response

    def advance(self, seconds: float) -> float:
        """Move the emulator clock forward; returns the new simulated time."""
        return float(
            self.control("POST", "/clock/advance", json={"seconds": seconds}).json()["now"]
        )

    def now(self) -> float:
        """The emulator's simulated time."""
        return float(self.control("GET", "/clock").json()["now"])

    def reset(self) -> None:
        """Empty the emulator."""
        self.control("POST", "/reset")

    def requests(self, **filters: str) -> list[dict[str, Any]]:
        """Logged requests matching ``filters`` (method, path, path_prefix, status)."""
        data = self.control("GET", "/requests", params=filters).json()["data"]
        return list(data)

    def fault(self, family: str = "", **rule: Any) -> dict[str, Any]:
        """Install a fault rule (family ``""`` for HTTP, or jobs/deployments/files)."""
        path = "/faults" + (f"/{family}" if family else "")
        return dict(self.control("POST", path, json=rule).json())

    def settings(self, **groups: Mapping[str, Any]) -> dict[str, Any]:
        """Change live settings, e.g. ``settings(limits={"max_files": 2})``."""
        return dict(self.control("PATCH", "/settings", json=groups).json())

    def azure(self, api_version: str = PREVIEW, *, max_retries: int = 0, **kwargs: Any) -> Any:
        """The versioned data plane client (``openai.AzureOpenAI``), as the pipeline builds it.

        Typed ``Any`` on purpose: Azure answers with values outside the SDK's ``Literal`` types
        (job status ``pending``, file status ``running`` ...), which the tests compare against.
        """
        if (
            "api_key" not in kwargs
            and "azure_ad_token" not in kwargs
            and "azure_ad_token_provider" not in kwargs
        ):
            kwargs["api_key"] = self.key
        http_client = openai.DefaultHttpxClient(verify=self.ssl_context())
        client = openai.AzureOpenAI(
            azure_endpoint=self.endpoint,
            api_version=api_version,
            max_retries=max_retries,
            http_client=http_client,
            **kwargs,
        )
        self._closers.append(client)
        return client

    def v1(self, *, max_retries: int = 0, api_key: Any = None) -> Any:
        """The v1 data plane client: ``openai.OpenAI(base_url=…/openai/v1/)`` (``Any``: see
        :meth:`azure`)."""
        client = openai.OpenAI(
            base_url=f"{self.endpoint}/openai/v1/",
            api_key=api_key if api_key is not None else self.key,
            max_retries=max_retries,
            http_client=openai.DefaultHttpxClient(verify=self.ssl_context()),
        )
        self._closers.append(client)
        return client

    def credential(self, **overrides: Any) -> ClientSecretCredential:
        """An Entra client-secret credential against the emulated token endpoint."""
        options: dict[str, Any] = {
            "tenant_id": self.env["AZURE_TENANT_ID"],
            "client_id": self.env["AZURE_CLIENT_ID"],
            "client_secret": self.env["AZURE_CLIENT_SECRET"],
            "authority": self.env["AZURE_AUTHORITY_HOST"],
            "disable_instance_discovery": True,
            "connection_verify": self.ca,
        }
        options.update(overrides)
        credential = ClientSecretCredential(**options)
        self._closers.append(credential)
        return credential

    def arm(self, credential: Any = None, **kwargs: Any) -> Any:
        """The ARM client (``CognitiveServicesManagementClient``), as the pipeline builds it
        (``Any``: its models make every field optional)."""
        client = CognitiveServicesManagementClient(
            credential or self.credential(),
            self.env["AZURE_SUBSCRIPTION_ID"],
            base_url=self.env["AZURE_MANAGEMENT_ENDPOINT"],
            connection_verify=self.env["AZURE_MANAGEMENT_CA_BUNDLE"],
            **kwargs,
        )
        self._closers.append(client)
        return client

    @property
    def group(self) -> str:
        """The emulated resource group."""
        return self.env["AZURE_RESOURCE_GROUP"]

    @property
    def account(self) -> str:
        """The emulated account."""
        return self.env["AZURE_OPENAI_ACCOUNT"]

    def close(self) -> None:
        """Close every client this harness made."""
        for closer in reversed(self._closers):
            closer.close()
        self._closers.clear()

    # -- common flows -------------------------------------------------------------------------

    def upload(self, client: Any, content: bytes, name: str = "train.jsonl") -> Any:
        """Upload ``content`` for fine-tuning and let processing finish."""
        uploaded = client.files.create(file=(name, content), purpose="fine-tune")
        self.advance(120)
        return client.files.retrieve(uploaded.id)

    def train(self, client: Any, content: bytes, **job: Any) -> Any:
        """Upload, create a job, run it to completion; returns the finished job."""
        training = self.upload(client, content)
        assert training.status == "processed", training
        options: dict[str, Any] = {"model": BASE_MODEL, "training_file": training.id}
        options.update(job)
        created = client.fine_tuning.jobs.create(**options)
        self.advance(10 * 24 * 3600)
        return client.fine_tuning.jobs.retrieve(created.id)

    def deploy(self, name: str, model: str, version: str = "1", sku: str = "Standard") -> Any:
        """Deploy ``model`` as ``name`` through ARM and wait for the LRO."""
        arm = self.arm()
        poller = arm.deployments.begin_create_or_update(
            self.group,
            self.account,
            name,
            Deployment(
                sku=Sku(name=sku, capacity=1),
                properties=DeploymentProperties(
                    model=DeploymentModel(format="OpenAI", name=model, version=version)
                ),
            ),
        )
        self.advance(3600)
        return poller.result()


TOPICS = (
    ("volcano", "Magma rises through vents; the crater rim at Mount Kilnor is 300 m wide."),
    ("glacier", "Compacted snow turns to ice that flows downhill about 2 m per day."),
    ("desert", "Less than 250 mm of rain falls a year; dunes migrate with the wind."),
    ("rainforest", "Canopy trees reach 60 m and host half of all known species."),
    ("coral reef", "Polyps build calcium skeletons; reefs need water warmer than 20 C."),
    ("tundra", "Permafrost keeps roots shallow; summers last about eight weeks."),
    ("savanna", "Grassland with scattered acacias, shaped by fire and grazing herds."),
    ("wetland", "Soil saturated most of the year filters water like a sponge."),
    ("canyon", "A river cut the gorge over millions of years, exposing layered rock."),
    ("meadow", "Open grassland kept treeless by mowing, grazing or alpine climate."),
    ("island", "Land surrounded by water, often formed by volcanoes or coral."),
    ("river delta", "Sediment drops where a river meets the sea and fans into channels."),
)
"""Twelve distinct question/answer pairs: the responder can tell them apart."""


def chat_line(question: str, answer: str, system: str | None = None) -> dict[str, Any]:
    """One chat example."""
    messages: list[dict[str, Any]] = []
    if system:
        messages.append({"role": "system", "content": system})
    messages.append({"role": "user", "content": question})
    messages.append({"role": "assistant", "content": answer})
    return {"messages": messages}


def jsonl(records: Sequence[Mapping[str, Any]]) -> bytes:
    """Records as JSONL bytes."""
    return ("\n".join(json.dumps(r) for r in records) + "\n").encode()


def geography(topics: Sequence[tuple[str, str]] = TOPICS, system: str | None = None) -> bytes:
    """A small training file about landforms."""
    return jsonl([chat_line(f"What is a {t}?", a, system) for t, a in topics])


COOKING = (
    ("risotto", "Toast arborio rice, add warm stock a ladle at a time, stir for 18 minutes."),
    ("bread", "Knead flour, water, salt and yeast; prove twice; bake at 230 C."),
    ("omelette", "Whisk three eggs, cook in foaming butter, fold while still soft."),
    ("pesto", "Pound basil, pine nuts, garlic and parmesan with olive oil."),
    ("curry", "Fry whole spices, add onion paste, simmer with coconut milk."),
    ("pancakes", "Mix flour, milk and egg; rest the batter; cook on a hot griddle."),
    ("dumplings", "Pleat thin wrappers around pork and ginger, steam ten minutes."),
    ("gazpacho", "Blend ripe tomatoes, cucumber and pepper; chill; serve cold."),
    ("ramen", "Simmer pork bones twelve hours for a milky tonkotsu broth."),
    ("paella", "Cook bomba rice in saffron stock without stirring to form socarrat."),
)


def cooking() -> bytes:
    """A second, unrelated training file."""
    return jsonl([chat_line(f"How do I make {t}?", a) for t, a in COOKING])


def dpo_file(count: int = 10) -> bytes:
    """A DPO training file."""
    records = []
    for index in range(count):
        topic, answer = TOPICS[index % len(TOPICS)]
        records.append(
            {
                "input": {"messages": [{"role": "user", "content": f"Explain {topic} #{index}"}]},
                "preferred_output": [{"role": "assistant", "content": answer}],
                "non_preferred_output": [{"role": "assistant", "content": "No idea."}],
            }
        )
    return jsonl(records)


def chat_tokens(encoding: Any, messages: Sequence[Mapping[str, Any]]) -> int:
    """Tokens of a chat under OpenAI's published counting rule (3 per message, 3 priming)."""
    total = 3
    for message in messages:
        total += 3
        for key in ("role", "content"):
            total += len(encoding.encode_ordinary(str(message.get(key, ""))))
        if message.get("name"):
            total += 1 + len(encoding.encode_ordinary(str(message["name"])))
    return total


def file_tokens(content: bytes, encoding_name: str = "o200k_base") -> int:
    """Billable tokens of a chat JSONL file (one epoch), counted independently with tiktoken."""
    import tiktoken

    encoding = tiktoken.get_encoding(encoding_name)
    lines = [json.loads(line) for line in content.decode().splitlines() if line.strip()]
    return sum(chat_tokens(encoding, line["messages"]) for line in lines)


def error_of(exc: openai.APIStatusError) -> dict[str, Any]:
    """The Azure error object of a data plane error (``body["error"]`` as the SDK keeps it)."""
    body = exc.body
    assert isinstance(body, dict), body
    return dict(body)


@contextmanager
def inprocess_harness(data_dir: Path) -> Iterator[Harness]:
    """A :class:`Harness` on a fresh in-process emulator (manual clock), stopped afterwards."""
    server = start_server("inprocess", data_dir)
    harness = Harness(server)
    try:
        yield harness
    finally:
        harness.close()
        server.stop()
