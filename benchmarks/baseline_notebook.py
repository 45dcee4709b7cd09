"""The baseline of the flow benchmarks: the "notebook" way, the SDK calls in a plain script.

What a fine-tuning notebook does, cell after cell, with the ``openai`` and
``azure-mgmt-cognitiveservices`` SDKs and nothing else: upload the training and validation
files, poll each until it is processed, create the job, poll it at a fixed interval until it
ends, deploy the fine-tuned model through Resource Manager (the SDK's long-running-operation
poller), and chat with the deployment and with the base deployment, once per smoke prompt.
No validation, no lookups before creating, no caching, no retries beyond the SDKs' own, no
logs or artifacts: the same remote calls as the ``fine-tune`` flow makes on a first run, so
the difference in wall time is what the orchestration costs.

It reads the same parameters file as ``ftflow run`` (``examples/emulator-params.json``) and
the Azure settings the emulator prints (``AZURE_OPENAI_*``, ``AZURE_TENANT_ID`` …) from the
environment. Polls every ``--poll-seconds`` (default 1.0, the flow's first poll interval)
and prints one line of JSON: the job, the model and each phase's wall seconds.

Usage: ``python benchmarks/baseline_notebook.py PARAMS.json [--poll-seconds 1.0]``
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
import time
from pathlib import Path
from typing import Any

import openai
from azure.identity import ClientSecretCredential
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.cognitiveservices.models import (
    Deployment,
    DeploymentModel,
    DeploymentProperties,
    Sku,
)

DONE = ("succeeded", "failed", "cancelled")


def clients() -> tuple[openai.AzureOpenAI, CognitiveServicesManagementClient]:
    """Both SDK clients, constructed as the emulator's README shows for Azure."""
    env = os.environ
    ca = env.get("AZURE_OPENAI_CA_BUNDLE")
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca) if ca else True
    data = openai.AzureOpenAI(
        azure_endpoint=env["AZURE_OPENAI_ENDPOINT"],
        api_key=env["AZURE_OPENAI_API_KEY"],
        api_version=env.get("AZURE_OPENAI_API_VERSION", "2025-04-01-preview"),
        http_client=openai.DefaultHttpxClient(verify=verify),
    )
    arm_ca = env.get("AZURE_MANAGEMENT_CA_BUNDLE")
    options: dict[str, Any] = {"connection_verify": arm_ca} if arm_ca else {}
    credential = ClientSecretCredential(
        env["AZURE_TENANT_ID"],
        env["AZURE_CLIENT_ID"],
        env["AZURE_CLIENT_SECRET"],
        authority=env.get("AZURE_AUTHORITY_HOST"),
        disable_instance_discovery=True,
        **options,
    )
    management = CognitiveServicesManagementClient(
        credential,
        env["AZURE_SUBSCRIPTION_ID"],
        base_url=env.get("AZURE_MANAGEMENT_ENDPOINT", "https://management.azure.com"),
        **options,
    )
    return data, management


def upload(client: openai.AzureOpenAI, path: str, poll: float) -> str:
    """Upload ``path``, then poll until the service has processed it."""
    with Path(path).open("rb") as handle:
        file_id = client.files.create(file=handle, purpose="fine-tune").id
    while (status := client.files.retrieve(file_id).status) not in ("processed", "error"):
        time.sleep(poll)
    if status != "processed":
        raise SystemExit(f"{path}: the service rejected the file")
    return file_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fine-tune, deploy and chat with the SDKs only.")
    parser.add_argument("params", type=Path, help="the flow's parameters (JSON)")
    parser.add_argument("--poll-seconds", type=float, default=1.0, help="fixed poll interval")
    args = parser.parse_args(argv)
    params = json.loads(args.params.read_text(encoding="utf-8"))
    params = params.get("request", params)
    phases: dict[str, float] = {}
    started = time.perf_counter()
    data, management = clients()

    mark = time.perf_counter()
    training = upload(data, params["training_file"], args.poll_seconds)
    validation = None
    if params.get("validation_file"):
        validation = upload(data, params["validation_file"], args.poll_seconds)
    phases["upload"] = time.perf_counter() - mark

    mark = time.perf_counter()
    hyperparameters = {"n_epochs": params["n_epochs"]} if params.get("n_epochs") else {}
    job = data.fine_tuning.jobs.create(
        model=params["base_model"],
        training_file=training,
        validation_file=validation,
        suffix=params.get("suffix"),
        hyperparameters=hyperparameters,  # type: ignore[arg-type]
    )
    while job.status not in DONE:
        time.sleep(args.poll_seconds)
        job = data.fine_tuning.jobs.retrieve(job.id)
    phases["train"] = time.perf_counter() - mark
    if job.status != "succeeded" or not job.fine_tuned_model:
        print(json.dumps({"job": job.id, "status": job.status}), flush=True)
        return 1

    mark = time.perf_counter()
    body = Deployment(
        sku=Sku(
            name=params.get("deployment_sku", "Standard"),
            capacity=params.get("deployment_capacity", 1),
        ),
        properties=DeploymentProperties(
            model=DeploymentModel(format="OpenAI", name=job.fine_tuned_model, version="1")
        ),
    )
    management.deployments.begin_create_or_update(
        os.environ["AZURE_RESOURCE_GROUP"],
        os.environ["AZURE_OPENAI_ACCOUNT"],
        params["deployment_name"],
        body,
    ).result()
    phases["deploy"] = time.perf_counter() - mark

    mark = time.perf_counter()
    targets = [params["deployment_name"]]
    if params.get("base_deployment"):
        targets.append(params["base_deployment"])
    answers = 0
    for prompt in params.get("smoke_prompts", []):
        for deployment in targets:
            reply = data.chat.completions.create(
                model=deployment, messages=[{"role": "user", "content": prompt["prompt"]}]
            )
            answers += bool(reply.choices and reply.choices[0].message.content)
    phases["chat"] = time.perf_counter() - mark

    data.close()
    management.close()
    phases["total"] = time.perf_counter() - started
    result = {"job": job.id, "model": job.fine_tuned_model, "answers": answers}
    print(json.dumps(result | {"seconds": {k: round(v, 3) for k, v in phases.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
