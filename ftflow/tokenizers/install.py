"""Install the tokenizer encodings into the cache, from the internet or from a PyPI package.

Order of sources, for each encoding not already installed and verified:

1. tiktoken's own download URL, when the internet is reachable;
2. the ``litellm`` wheel from the package index, which ships the same files already named by
   tiktoken's cache key. The wheel is downloaded (pinned, no dependencies, never installed),
   only the encoding files are extracted, and each is checked against tiktoken's sha256.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ftflow.tokenizers.encodings import (
    ENCODINGS,
    EncodingSource,
    TokenizerUnavailableError,
    cache_key,
)

__all__ = ["LITELLM_PIN", "InstallReport", "install_encodings"]

LITELLM_PIN = "litellm==1.109.1"
_WHEEL_DIR = "litellm/litellm_core_utils/tokenizers/"
_DOWNLOAD_TIMEOUT_SECONDS = 20.0


@dataclass
class InstallReport:
    """What :func:`install_encodings` found and did, encoding by encoding."""

    cache_dir: Path
    sources: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        return [f"{name}: {how}" for name, how in self.sources.items()]


def _matches(data: bytes, source: EncodingSource) -> bool:
    return hashlib.sha256(data).hexdigest() == source.sha256


def _write(cache_dir: Path, source: EncodingSource, data: bytes) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / cache_key(source)
    partial = target.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(target)


def _from_internet(source: EncodingSource) -> bytes | None:
    try:
        with urllib.request.urlopen(source.url, timeout=_DOWNLOAD_TIMEOUT_SECONDS) as response:  # noqa: S310 - fixed https URL
            data: bytes = response.read()
    except OSError:
        return None
    return data if _matches(data, source) else None


def _download_wheel(into: Path) -> Path | None:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet"]
    command += ["--only-binary", ":all:", "-d", str(into), LITELLM_PIN]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(into.glob("litellm-*.whl"))
    if result.returncode != 0 or not wheels:
        return None
    return wheels[0]


def _from_wheel(wheel: Path, source: EncodingSource) -> bytes | None:
    with zipfile.ZipFile(wheel) as archive:
        try:
            data = archive.read(_WHEEL_DIR + cache_key(source))
        except KeyError:
            return None
    return data if _matches(data, source) else None


def install_encodings(cache_dir: Path, *, offline: bool = False) -> InstallReport:
    """Make every supported encoding present and verified in ``cache_dir``.

    Idempotent: verified files are left alone. Raises :class:`TokenizerUnavailableError`
    when some encoding could be obtained from no source.
    """
    report = InstallReport(cache_dir)
    missing: list[EncodingSource] = []
    for source in ENCODINGS.values():
        path = cache_dir / cache_key(source)
        if path.exists() and _matches(path.read_bytes(), source):
            report.sources[source.name] = "already installed"
            continue
        data = None if offline else _from_internet(source)
        if data is not None:
            _write(cache_dir, source, data)
            report.sources[source.name] = "downloaded by tiktoken's URL"
        else:
            missing.append(source)
    if missing:
        with tempfile.TemporaryDirectory(prefix="ftflow-encodings-") as tmp:
            wheel = _download_wheel(Path(tmp))
            for source in missing:
                data = _from_wheel(wheel, source) if wheel is not None else None
                if data is None:
                    raise TokenizerUnavailableError(
                        f"could not install encoding {source.name}: no internet access to "
                        f"{source.url} and `pip download {LITELLM_PIN}` did not provide it; "
                        f"place the file with sha256 {source.sha256} at "
                        f"{cache_dir / cache_key(source)}"
                    )
                _write(cache_dir, source, data)
                report.sources[source.name] = f"extracted from the {LITELLM_PIN} wheel"
    return report
