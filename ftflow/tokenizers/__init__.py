"""The models' own tokenizers, installed into a project-owned cache, never fetched at run time."""

from ftflow.tokenizers.encodings import (
    ENCODINGS,
    EncodingSource,
    TokenizerUnavailableError,
    cache_key,
    load_encoding,
    verify_encoding,
)
from ftflow.tokenizers.install import InstallReport, install_encodings

__all__ = [
    "ENCODINGS",
    "EncodingSource",
    "InstallReport",
    "TokenizerUnavailableError",
    "cache_key",
    "install_encodings",
    "load_encoding",
    "verify_encoding",
]
