"""The tokenizer encodings: found offline, verified, installed from the package index."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ftflow.settings import TokenizerSettings
from ftflow.tokenizers import (
    ENCODINGS,
    TokenizerUnavailableError,
    cache_key,
    install_encodings,
    load_encoding,
    verify_encoding,
)
from ftflow.tokenizers.install import LITELLM_PIN

INSTALLED = TokenizerSettings().tiktoken_cache_dir


@pytest.fixture
def installed_copy(tmp_path: Path) -> Path:
    """A copy of this environment's installed encodings."""
    target = tmp_path / "encodings"
    target.mkdir()
    for source in ENCODINGS.values():
        shutil.copy(INSTALLED / cache_key(source), target / cache_key(source))
    return target


def test_cache_keys_are_tiktokens_file_names() -> None:
    # tiktoken names a cached file by the sha1 of its download URL.
    assert cache_key(ENCODINGS["cl100k_base"]) == "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"
    assert cache_key(ENCODINGS["o200k_base"]) == "fb374d419588a4632f3f557e76b4b70aebbca790"
    for source in ENCODINGS.values():
        assert cache_key(source) == hashlib.sha1(source.url.encode()).hexdigest()  # noqa: S324


def test_every_catalog_encoding_is_known() -> None:
    from ftflow.catalog import CATALOG

    assert {facts.encoding for facts in CATALOG.values()} == set(ENCODINGS)


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_installed_encodings_verify_and_load(name: str) -> None:
    verify_encoding(name, INSTALLED)
    encoding = load_encoding(name, INSTALLED)

    assert encoding.name == name
    text = "Velo: bicycle service in Oslo, 自転車"
    assert encoding.decode(encoding.encode_ordinary(text)) == text
    assert len(encoding.encode_ordinary("Hello")) == 1


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_load_encoding_from_an_empty_dir_names_the_install_command(
    tmp_path: Path, name: str
) -> None:
    with pytest.raises(TokenizerUnavailableError) as raised:
        load_encoding(name, tmp_path)

    message = str(raised.value)
    assert name in message
    assert "is missing" in message
    assert str(tmp_path / cache_key(ENCODINGS[name])) in message
    assert "ftflow tokenizers install" in message


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_verify_encoding_detects_a_corrupted_file(installed_copy: Path, name: str) -> None:
    path = installed_copy / cache_key(ENCODINGS[name])
    data = bytearray(path.read_bytes())
    data[1000] ^= 0x01  # one flipped bit
    path.write_bytes(bytes(data))

    with pytest.raises(TokenizerUnavailableError, match="fails its sha256 check") as raised:
        verify_encoding(name, installed_copy)
    assert "ftflow tokenizers install" in str(raised.value)
    with pytest.raises(TokenizerUnavailableError):
        load_encoding(name, installed_copy)


def test_verify_encoding_detects_a_truncated_file(installed_copy: Path) -> None:
    path = installed_copy / cache_key(ENCODINGS["o200k_base"])
    path.write_bytes(path.read_bytes()[:-10])

    with pytest.raises(TokenizerUnavailableError, match="sha256"):
        verify_encoding("o200k_base", installed_copy)


def test_verify_encoding_refuses_an_unsupported_encoding() -> None:
    with pytest.raises(TokenizerUnavailableError, match="p50k_base") as raised:
        verify_encoding("p50k_base", INSTALLED)
    assert "o200k_base" in str(raised.value)
    assert "cl100k_base" in str(raised.value)


def test_install_is_idempotent_when_everything_is_installed(installed_copy: Path) -> None:
    before = {p.name: p.read_bytes() for p in installed_copy.iterdir()}
    report = install_encodings(installed_copy, offline=True)

    assert report.sources == dict.fromkeys(ENCODINGS, "already installed")
    assert report.lines() == [f"{name}: already installed" for name in ENCODINGS]
    assert {p.name: p.read_bytes() for p in installed_copy.iterdir()} == before


def test_tokenizers_install_command_reports_already_installed(installed_copy: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FTFLOW_")}
    environment["FTFLOW_TIKTOKEN_CACHE_DIR"] = str(installed_copy)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ftflow"), "tokenizers", "install", "--offline"],
        env=environment,
        cwd=installed_copy,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert str(installed_copy) in result.stdout
    assert "o200k_base: already installed" in result.stdout
    assert "cl100k_base: already installed" in result.stdout


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_install_offline_from_the_litellm_wheel_into_an_empty_dir(tmp_path: Path) -> None:
    # Downloads the pinned litellm wheel (~40 MB) from the package index.
    target = tmp_path / "fresh"
    report = install_encodings(target, offline=True)

    assert report.sources == dict.fromkeys(ENCODINGS, f"extracted from the {LITELLM_PIN} wheel")
    for name, source in ENCODINGS.items():
        verify_encoding(name, target)
        assert (target / cache_key(source)).read_bytes() == (
            INSTALLED / cache_key(source)
        ).read_bytes()
    assert sorted(p.name for p in target.iterdir()) == sorted(
        cache_key(s) for s in ENCODINGS.values()
    )  # no partial files left behind

    again = install_encodings(target, offline=True)
    assert again.sources == dict.fromkeys(ENCODINGS, "already installed")

    # A corrupted file is replaced; the intact one is left alone.
    broken = target / cache_key(ENCODINGS["cl100k_base"])
    broken.write_bytes(b"not an encoding")
    repaired = install_encodings(target, offline=True)
    assert repaired.sources == {
        "o200k_base": "already installed",
        "cl100k_base": f"extracted from the {LITELLM_PIN} wheel",
    }
    verify_encoding("cl100k_base", target)
