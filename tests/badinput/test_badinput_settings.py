"""Broken settings: the real ``fine-tune`` flow, in this process, against the emulator.

Each run must end Failed at the stage that found the problem, with a message that says what
is wrong and what to do, never a secret; and the emulator's request log must show that
nothing was created (no upload, no job, no deployment write), or, where the problem can only
show at deploy time, that the refused deployment left nothing behind.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest
from _badinput_runs import failed_at, sample_request  # type: ignore[import-not-found, unused-ignore]
from flow_support import (  # type: ignore[import-not-found, unused-ignore]
    Creates,
    Emulator,
    inventory,
    task_runs_of,
)

from tasks._policy import TRANSIENT_RETRIES


def nothing_sent(azure: Emulator) -> None:
    assert azure.log() == [], "the run called the service"


def test_missing_endpoint_fails_at_configure_naming_the_variable(
    azure: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT")
    monkeypatch.chdir(tmp_path)  # and no .env in the working directory to read it from
    failure, _ = failed_at("configure", sample_request(tmp_path))
    assert failure.message == (
        "AZURE_OPENAI_ENDPOINT is not set; set it to https://<resource>.openai.azure.com"
    )
    nothing_sent(azure)


def test_wrong_api_key_fails_at_upload_naming_authentication_without_the_key(
    azure: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Any
) -> None:
    real_key, wrong_key = os.environ["AZURE_OPENAI_API_KEY"], "f00d" * 8
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", wrong_key)
    failure, _ = failed_at("upload", sample_request(tmp_path))
    assert "Access denied due to invalid subscription key" in failure.message
    assert "HTTP 401" in failure.message
    assert "the credentials were refused: check AZURE_OPENAI_API_KEY" in failure.message
    told = receiver.wait_for(os.environ["WEBHOOK_PATH"], lambda d: "upload" in d.text)
    for secret in (real_key, wrong_key, os.environ["AZURE_CLIENT_SECRET"]):
        assert secret not in failure.message
        assert secret not in told.text
    assert {r["status"] for r in azure.log()} == {401}
    assert azure.creates() == Creates(uploads=0, jobs=0, deployments=0)


def test_unknown_base_model_fails_at_validate_before_anything_remote(
    azure: Emulator, tmp_path: Path
) -> None:
    failure, _ = failed_at("validate", sample_request(tmp_path, base_model="gpt-4"))
    assert failure.message.startswith("unknown model 'gpt-4': fine-tunable base models are ")
    assert "gpt-4o-mini-2024-07-18" in failure.message
    nothing_sent(azure)


def test_missing_ca_bundle_fails_at_configure_naming_the_setting(
    azure: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "no-such-ca.pem"
    monkeypatch.setenv("AZURE_OPENAI_CA_BUNDLE", str(missing))
    failure, _ = failed_at("configure", sample_request(tmp_path))
    assert failure.message == (
        f"AZURE_OPENAI_CA_BUNDLE names {missing}, which is not a file; point it at the PEM "
        "file of the certificate authority to trust, or unset it"
    )
    nothing_sent(azure)


@pytest.mark.parametrize("setting", ["AZURE_OPENAI_CA_BUNDLE", "AZURE_MANAGEMENT_CA_BUNDLE"])
def test_ca_bundle_without_certificates_fails_at_configure_naming_the_setting(
    setting: str, azure: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate\n")
    monkeypatch.setenv(setting, str(garbage))
    failure, _ = failed_at("configure", sample_request(tmp_path))
    assert failure.message.startswith(f"{setting} names {garbage}, which holds no certificate")
    assert failure.message.endswith(
        "point it at the PEM file of the certificate authority to trust, or unset it"
    )
    nothing_sent(azure)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_endpoint_fails_at_upload_in_bounded_time_naming_it(
    azure: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = f"https://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", endpoint)
    # No SDK retries on top of the upload task's (4 Prefect retries, 2-16 s apart): with the
    # SDK's 4 as well (the default), giving up took 75 s on this 2-core machine.
    monkeypatch.setenv("AZURE_OPENAI_MAX_RETRIES", "0")
    failure, finished = failed_at("upload", sample_request(tmp_path))
    assert f"could not reach {endpoint}: [Errno 111] Connection refused" in failure.message
    assert "check AZURE_OPENAI_ENDPOINT" in failure.message
    # Bounded: the first upload task tried once and retried TRANSIENT_RETRIES times, no more.
    attempts = {run.name: run.run_count for run in task_runs_of(finished)}
    assert attempts["upload-training"] == TRANSIENT_RETRIES["retries"] + 1, attempts
    nothing_sent(azure)


def test_capacity_the_service_refuses_fails_at_deploy_leaving_no_deployment(
    azure: Emulator, tmp_path: Path
) -> None:
    azure.control("PATCH", "/settings", json={"limits": {"max_deployment_capacity": 1}})
    failure, _ = failed_at("deploy", sample_request(tmp_path, deployment_capacity=2))
    assert "bigger than the current available capacity 1" in failure.message
    assert "or lower the capacity" in failure.message
    assert "HTTP 400" in failure.message
    assert azure.creates() == Creates(uploads=2, jobs=1, deployments=0)
    assert inventory(azure).deployments == []
