"""Which encodings the supported models use, where tiktoken expects them, and loading them.

tiktoken looks for an encoding file in ``TIKTOKEN_CACHE_DIR`` under the sha1 of its download
URL and checks the file's sha256 before use. We install the files there ourselves
(:mod:`ftflow.tokenizers.install`) and point tiktoken at that directory; if a file is missing
we fail with the command that installs it. There is no fallback estimate.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    import tiktoken

__all__ = [
    "ENCODINGS",
    "EncodingSource",
    "TokenizerUnavailableError",
    "cache_key",
    "load_encoding",
    "verify_encoding",
]

INSTALL_HINT = "run `ftflow tokenizers install` (or `make install`) to install the encodings"


@dataclass(frozen=True, slots=True)
class EncodingSource:
    """Where tiktoken downloads an encoding from, and the sha256 it checks on load."""

    name: str
    url: str
    sha256: str


ENCODINGS: Mapping[str, EncodingSource] = MappingProxyType(
    {
        "o200k_base": EncodingSource(
            "o200k_base",
            "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
            "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        ),
        "cl100k_base": EncodingSource(
            "cl100k_base",
            "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
            "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        ),
    }
)


class TokenizerUnavailableError(RuntimeError):
    """Raised when an encoding file is not installed or fails its checksum."""


def cache_key(source: EncodingSource) -> str:
    """The file name tiktoken gives ``source`` in its cache: the sha1 of the URL."""
    return hashlib.sha1(source.url.encode(), usedforsecurity=False).hexdigest()


def _verified(path: Path, source: EncodingSource) -> bool:
    try:
        data = path.read_bytes()
    except OSError:
        return False
    return hashlib.sha256(data).hexdigest() == source.sha256


def load_encoding(name: str, cache_dir: Path) -> tiktoken.Encoding:
    """The tiktoken encoding ``name``, loaded from ``cache_dir`` only.

    Raises :class:`TokenizerUnavailableError` naming the missing file and the install
    command, rather than letting tiktoken try the internet.
    """
    verify_encoding(name, cache_dir)
    return _load(name, str(cache_dir))


def verify_encoding(name: str, cache_dir: Path) -> None:
    """Check that ``name`` is installed and intact in ``cache_dir``, without loading it."""
    source = ENCODINGS.get(name)
    if source is None:
        known = ", ".join(ENCODINGS)
        raise TokenizerUnavailableError(f"unsupported encoding {name!r}; supported: {known}")
    path = cache_dir / cache_key(source)
    if not _verified(path, source):
        state = "is missing" if not path.exists() else "fails its sha256 check"
        raise TokenizerUnavailableError(
            f"tokenizer encoding {name} {state} at {path}; {INSTALL_HINT}"
        )


@cache
def _load(name: str, cache_dir: str) -> tiktoken.Encoding:
    import tiktoken  # noqa: PLC0415 - heavy import, only when counting tokens
    from tiktoken_ext import openai_public  # noqa: PLC0415

    # tiktoken reads its cache directory from the environment and nowhere else.
    os.environ["TIKTOKEN_CACHE_DIR"] = cache_dir
    encoding = tiktoken.Encoding(**openai_public.ENCODING_CONSTRUCTORS[name]())
    # The Rust core holds its own copy of the rank table; tiktoken keeps the Python copy
    # only to pickle the encoding, which ftflow never does. Letting it go saves ~30 MB in
    # each process (the validator runs one per core).
    encoding._mergeable_ranks = {}
    return encoding
