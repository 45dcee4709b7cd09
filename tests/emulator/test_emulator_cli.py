"""The command line and the TLS material it serves with."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from emulator_harness import (  # type: ignore[import-not-found, unused-ignore]
    ENV_NAMES,
    REPO,
    Harness,
    LiveServer,
)

from emulator.cli import build_parser, config_from_args
from emulator.tls import ensure_tls


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emulator", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
        env=env,
    )


def test_serve_prints_exactly_the_settings_as_name_value_lines(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "data")
    try:
        names = [line.split("=", 1)[0] for line in server.stdout_lines]
        assert names == list(ENV_NAMES)
        for line in server.stdout_lines:
            assert len(shlex.split(line)) == 1
        env = server.env
        assert env["AZURE_OPENAI_ENDPOINT"].startswith("https://127.0.0.1:")
        assert not env["AZURE_OPENAI_ENDPOINT"].endswith(":0")
        assert env["AZURE_MANAGEMENT_ENDPOINT"] == env["AZURE_OPENAI_ENDPOINT"]
        assert env["AZURE_AUTHORITY_HOST"] == env["AZURE_OPENAI_ENDPOINT"]
        assert env["FTFLOW_EMULATOR_URL"] == env["AZURE_OPENAI_ENDPOINT"] + "/_emulator"
        assert env["AZURE_OPENAI_CA_BUNDLE"] == str(
            (tmp_path / "data" / "tls" / "ca.pem").resolve()
        )
        assert env["AZURE_OPENAI_API_VERSION"] == "2025-04-01-preview"
        info = Harness(server).control("GET", "/info").json()
        assert info == env
    finally:
        server.stop()


def test_fault_flags_are_installed_and_survive_reset(tmp_path: Path) -> None:
    server = LiveServer(
        tmp_path / "data", "--fault", "GET /openai/files 503", "--fault", "job internal_error"
    )
    harness = Harness(server)
    try:
        harness.reset()
        http = harness.http(headers={"api-key": harness.key})
        assert http.get("/openai/files", params={"api-version": "2024-10-21"}).status_code == 503
        rules = harness.control("GET", "/faults").json()
        assert rules["jobs"][0]["kind"] == "internal_error"
    finally:
        harness.close()
        server.stop()


def test_non_loopback_bind_is_refused_without_allow_remote(tmp_path: Path) -> None:
    result = _run("serve", "--host", "0.0.0.0", "--port", "0", "--data-dir", str(tmp_path))  # noqa: S104
    assert result.returncode == 1
    assert result.stdout == ""
    assert "refusing to listen on '0.0.0.0'" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "limits.max_files"], "--set expects GROUP.NAME=VALUE"),
        (["--set", "limits.nope=1"], "unknown setting limits.nope"),
        (["--fault", "GET /x 418"], "kind must be one of"),
        (["--speed", "0"], "--speed must be positive"),
    ],
)
def test_bad_options_are_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = _run("serve", "--port", "0", "--data-dir", str(tmp_path), *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_config_from_args_applies_settings(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        ["serve", "--data-dir", str(tmp_path), "--speed", "60", "--clock", "manual",
         "--set", "limits.max_files=7", "--set", "behaviour.v1_job_statuses=openai"]
    )  # fmt: skip
    config = config_from_args(args)
    assert config.speed == 60
    assert config.clock == "manual"
    assert config.tunables.limits.max_files == 7
    assert config.tunables.behaviour.v1_job_statuses == "openai"
    assert config.host == "127.0.0.1"


def test_tls_certificate_names_loopback_and_is_reused(tmp_path: Path) -> None:
    first = ensure_tls(tmp_path)
    ca = x509.load_pem_x509_certificate(first.ca_cert.read_bytes())
    cert = x509.load_pem_x509_certificate(first.server_cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert cert.issuer == ca.subject
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert oct(first.server_key.stat().st_mode & 0o777) == "0o600"
    before = (first.ca_cert.read_bytes(), first.server_cert.read_bytes())
    again = ensure_tls(tmp_path)
    assert (again.ca_cert.read_bytes(), again.server_cert.read_bytes()) == before
    wider = ensure_tls(tmp_path, ["emulator.test"])
    assert wider.ca_cert.read_bytes() == before[0]
    reissued = x509.load_pem_x509_certificate(wider.server_cert.read_bytes())
    names = reissued.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "emulator.test" in names.get_values_for_type(x509.DNSName)


def test_missing_tokenizer_encodings_fail_with_a_clear_message(tmp_path: Path) -> None:
    code = "from emulator.fine_tuning.tokens import get_encoding; get_encoding('o200k_base')"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
        env={"TIKTOKEN_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert f"tokenizer encoding 'o200k_base' not found at {tmp_path}/" in result.stderr
    assert "set TIKTOKEN_CACHE_DIR" in result.stderr
