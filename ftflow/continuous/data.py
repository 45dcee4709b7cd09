"""The data location: which files are there, which are new, and the next training set.

Any fsspec URL works: a local directory (the default protocol), ``abfs://container/folder``
(Azure Blob or Data Lake through ``adlfs``, authenticated from its environment), ``s3://``,
``memory://`` … Files are identified by their content (sha256), never by name or time, so a
renamed file is not new and an edited one is. Names starting with a dot are skipped: write a
file under a dot name and rename it when complete, and a run never sees half of it.
"""

from __future__ import annotations

import fnmatch
import hashlib
import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec

__all__ = [
    "TRAINING_SET_NAME",
    "DataFile",
    "DataLocationError",
    "TrainingSet",
    "build_training_set",
    "read_text",
    "scan",
    "select",
]

_CHUNK = 1024 * 1024
TRAINING_SET_NAME = "continuous-train.jsonl"
"""The training set's file name: uploads are named ``continuous-train-<sha256[:16]>.jsonl``."""


class DataLocationError(ValueError):
    """The data location or a file in it cannot be read; the message names it."""


@dataclass(frozen=True)
class DataFile:
    """One data file: where it is (as its filesystem names it), its content hash and size."""

    path: str
    sha256: str
    size: int

    @property
    def name(self) -> str:
        """The file's name, for tables and messages."""
        return posixpath.basename(self.path)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON values."""
        return {"path": self.path, "sha256": self.sha256, "size": self.size}


@dataclass(frozen=True)
class TrainingSet:
    """The file a job trains on, built from data files: where, its hash and what is in it."""

    path: Path
    sha256: str
    files: tuple[DataFile, ...]
    examples: int

    @property
    def version(self) -> str:
        """The data version: sha256[:16] of the training set (its upload name carries it)."""
        return self.sha256[:16]


def _filesystem(location: str) -> tuple[Any, str]:
    try:
        fs, path = fsspec.core.url_to_fs(location)
    except (ImportError, ValueError) as error:
        raise DataLocationError(f"cannot open data location {location!r}: {error}") from error
    return fs, str(path)


def _digest(fs: Any, path: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with fs.open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def scan(location: str, pattern: str = "*.jsonl") -> list[DataFile]:
    """Every file under ``location`` whose name matches ``pattern``, hashed, sorted by path."""
    fs, root = _filesystem(location)
    try:
        if not fs.isdir(root):
            raise DataLocationError(
                f"data location {location!r} is not a directory (or does not exist)"
            )
        paths = sorted(
            path
            for path in fs.find(root)
            if fnmatch.fnmatch(posixpath.basename(path), pattern)
            and not posixpath.basename(path).startswith(".")
        )
        return [DataFile(path, *_digest(fs, path)) for path in paths]
    except OSError as error:
        raise DataLocationError(f"cannot read data location {location!r}: {error}") from error


def select(
    found: Sequence[DataFile], trained: Iterable[str], mode: str, hash_chars: int = 16
) -> tuple[list[DataFile], list[DataFile]]:
    """(new files, files to train on): one file per content; ``mode`` new_only or all."""
    known = {sha256[:hash_chars] for sha256 in trained}
    unique: dict[str, DataFile] = {}
    for data_file in found:
        unique.setdefault(data_file.sha256, data_file)
    distinct = list(unique.values())
    new = [f for f in distinct if f.sha256[:hash_chars] not in known]
    if not new:
        return [], []
    return new, (distinct if mode == "all" else new)


def build_training_set(
    location: str, files: Sequence[DataFile], into: Path, name: str = TRAINING_SET_NAME
) -> TrainingSet:
    """Concatenate ``files`` (in order) into ``into / name``; each checked unchanged."""
    if not files:
        raise ValueError("no files to build a training set from")
    fs, _ = _filesystem(location)
    into.mkdir(parents=True, exist_ok=True)
    target = into / name
    digest = hashlib.sha256()
    examples = 0
    with target.open("wb") as out:
        for data_file in files:
            check = hashlib.sha256()
            last = b"\n"
            try:
                with fs.open(data_file.path, "rb") as handle:
                    for line in handle:
                        check.update(line)
                        examples += bool(line.strip())
                        digest.update(line)
                        out.write(line)
                        last = line
            except OSError as error:
                raise DataLocationError(f"cannot read {data_file.path}: {error}") from error
            if check.hexdigest() != data_file.sha256:
                raise DataLocationError(f"{data_file.path} changed since it was scanned; run again")
            if not last.endswith(b"\n"):
                digest.update(b"\n")
                out.write(b"\n")
    return TrainingSet(target, digest.hexdigest(), tuple(files), examples)


def read_text(url: str) -> tuple[str, str]:
    """A whole UTF-8 text file (local path or fsspec URL), and the sha256 of its bytes."""
    fs, path = _filesystem(url)
    try:
        with fs.open(path, "rb") as handle:
            raw: bytes = handle.read()
    except OSError as error:
        raise DataLocationError(f"cannot read {url!r}: {error}") from error
    try:
        return raw.decode("utf-8-sig"), hashlib.sha256(raw).hexdigest()
    except UnicodeDecodeError as error:
        raise DataLocationError(f"{url!r} is not UTF-8: {error}") from error
