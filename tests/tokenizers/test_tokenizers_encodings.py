"""The tokenizer encodings: found offline, verified, installed from the package index.

Installing from the litellm wheel runs the real ``pip download`` against a local index holding
a small wheel built here from this environment's verified encoding files: nothing is
downloaded.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Mapping
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


# Where litellm's wheel ships the encodings, named by tiktoken's cache key (as in the
# litellm 1.109.1 wheel); written out here rather than taken from the code under test.
LITELLM_ENCODINGS_DIR = "litellm/litellm_core_utils/tokenizers/"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def build_litellm_wheel(into: Path, encodings: Mapping[str, bytes]) -> Path:
    """A wheel of the pinned litellm release holding ``encodings`` (cache key → bytes) where
    litellm ships them, with the metadata pip checks: a stand-in of the real ~40 MB wheel."""
    name, version = LITELLM_PIN.split("==")
    info = f"{name}-{version}.dist-info/"
    members = {LITELLM_ENCODINGS_DIR + key: data for key, data in encodings.items()}
    members[f"{name}/__init__.py"] = b""
    members[info + "METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    )
    members[info + "WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: ftflow-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = [f"{path},{_record_hash(data)},{len(data)}" for path, data in members.items()]
    members[info + "RECORD"] = ("\n".join([*record, f"{info}RECORD,,"]) + "\n").encode()
    into.mkdir(parents=True, exist_ok=True)
    wheel = into / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in members.items():
            archive.writestr(path, data)
    return wheel


@pytest.fixture
def local_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory that is pip's only package source (``--find-links``, no index, no
    configuration files), so `install_encodings`'s real ``pip download`` never leaves the
    machine; the test puts wheels in it."""
    index = tmp_path / "index"
    index.mkdir()
    for name in [name for name in os.environ if name.startswith("PIP_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    return index


def installed_bytes() -> dict[str, bytes]:
    """This environment's verified encoding files, by cache key."""
    return {cache_key(s): (INSTALLED / cache_key(s)).read_bytes() for s in ENCODINGS.values()}


def test_install_offline_extracts_the_encodings_from_the_litellm_wheel(
    local_index: Path, tmp_path: Path
) -> None:
    build_litellm_wheel(local_index, installed_bytes())
    target = tmp_path / "fresh"
    report = install_encodings(target, offline=True)

    assert report.sources == dict.fromkeys(ENCODINGS, f"extracted from the {LITELLM_PIN} wheel")
    for name in ENCODINGS:
        verify_encoding(name, target)
    # The installed files' very bytes, and no partial files left behind.
    assert {p.name: p.read_bytes() for p in target.iterdir()} == installed_bytes()

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


def test_install_refuses_a_wheel_file_that_fails_the_sha256_check(
    local_index: Path, tmp_path: Path
) -> None:
    files = installed_bytes()
    cl100k = cache_key(ENCODINGS["cl100k_base"])
    tampered = bytearray(files[cl100k])
    tampered[1000] ^= 0x01
    files[cl100k] = bytes(tampered)
    build_litellm_wheel(local_index, files)
    target = tmp_path / "fresh"

    with pytest.raises(TokenizerUnavailableError) as raised:
        install_encodings(target, offline=True)

    message = str(raised.value)
    assert "could not install encoding cl100k_base" in message
    assert ENCODINGS["cl100k_base"].sha256 in message
    assert str(target / cl100k) in message
    # The tampered file was never written; the intact one was.
    assert sorted(p.name for p in target.iterdir()) == [cache_key(ENCODINGS["o200k_base"])]
    verify_encoding("o200k_base", target)


def test_install_with_no_wheel_to_be_had_names_the_file_to_place(
    local_index: Path, tmp_path: Path
) -> None:
    target = tmp_path / "fresh"
    with pytest.raises(TokenizerUnavailableError) as raised:
        install_encodings(target, offline=True)

    message = str(raised.value)
    assert f"`pip download {LITELLM_PIN}` did not provide it" in message
    assert ENCODINGS["o200k_base"].sha256 in message
    assert str(target / cache_key(ENCODINGS["o200k_base"])) in message
    assert not target.exists() or list(target.iterdir()) == []
