"""Training files on the service: uploaded once per content, then awaited until processed.

A file's identity is its content: the upload is named ``<stem>-<sha256[:16]><suffix>``, and
before uploading we look for a file of that name and size. The create itself is sent once,
without SDK retries: if the connection drops after the service stored the file, the next
attempt finds it by name instead of uploading a twin.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import openai
from openai.types import FileObject

from ftflow.azure.errors import FileRejected, InvalidRequest, PollTimeout, from_openai
from ftflow.azure.waiting import Backoff

__all__ = [
    "LocalFile",
    "RemoteFile",
    "UploadedFile",
    "delete_file",
    "find_upload",
    "list_training_files",
    "local_file",
    "service_time",
    "upload_once",
    "wait_processed",
]

# Files that are no use to a job: gone, or rejected by the service (deleted as soon as seen).
_GONE = frozenset({"deleted", "deleting", "error"})
_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A data file and the name its content is uploaded under."""

    path: Path
    sha256: str
    size: int

    @property
    def upload_name(self) -> str:
        return f"{self.path.stem}-{self.sha256[:16]}{self.path.suffix}"


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file on the service: its id, and whether this call created it."""

    id: str
    name: str
    status: str
    created: bool


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """A fine-tuning file on the service, as its list reports it."""

    id: str
    filename: str
    bytes: int
    status: str
    created_at: datetime


def local_file(path: Path) -> LocalFile:
    """Hash ``path`` in chunks (memory stays flat for 512 MB files)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
            size += len(block)
    return LocalFile(path, digest.hexdigest(), size)


def find_upload(client: openai.OpenAI, local: LocalFile) -> FileObject | None:
    """The service's copy of ``local``'s content, if it was uploaded before."""
    try:
        for remote in client.files.list(purpose="fine-tune"):
            if (
                remote.filename == local.upload_name
                and remote.bytes == local.size
                and remote.status not in _GONE
            ):
                return remote
    except openai.OpenAIError as error:
        raise from_openai(error, f"listing files to find {local.upload_name}") from error
    return None


def upload_once(client: openai.OpenAI, local: LocalFile) -> UploadedFile:
    """Upload ``local`` unless the same content is already there."""
    existing = find_upload(client, local)
    if existing is not None:
        return UploadedFile(existing.id, existing.filename, existing.status, created=False)
    once = client.with_options(max_retries=0)
    try:
        with local.path.open("rb") as handle:
            remote = once.files.create(
                file=(local.upload_name, handle, "application/jsonl"), purpose="fine-tune"
            )
    except openai.OpenAIError as error:
        raise from_openai(error, f"uploading {local.path}") from error
    return UploadedFile(remote.id, remote.filename, remote.status, created=True)


def wait_processed(
    client: openai.OpenAI,
    file_id: str,
    *,
    timeout_seconds: float,
    backoff: Backoff,
    sleep: Callable[[float], None],
) -> FileObject:
    """Poll until the file is ``processed``; :class:`FileRejected` with the service's reason."""
    for delay in backoff.delays(timeout_seconds):
        try:
            remote = client.files.retrieve(file_id)
        except openai.OpenAIError as error:
            raise from_openai(error, f"checking file {file_id}") from error
        if remote.status == "processed":
            return remote
        if remote.status == "error":
            details = remote.status_details or "no details given"
            delete_file(client, file_id)
            raise FileRejected(
                f"the service rejected file {remote.filename}: {details}; fix the data and "
                "run again (the rejected upload was deleted)",
                code="fileRejected",
            )
        if remote.status in _GONE:
            raise FileRejected(f"file {file_id} was deleted while being processed")
        sleep(delay)
    raise PollTimeout(f"file {file_id} was not processed within {timeout_seconds:.0f} s")


def delete_file(client: openai.OpenAI, file_id: str) -> None:
    """Delete a file (a rejected upload, an old one); one already gone counts as deleted."""
    try:
        client.files.delete(file_id)
    except openai.NotFoundError:
        return
    except openai.OpenAIError as error:
        raise from_openai(error, f"deleting file {file_id}") from error


def list_training_files(client: openai.OpenAI) -> tuple[list[RemoteFile], datetime]:
    """Every ``fine-tune`` file on the resource, and the service's clock when it answered.

    Ages are judged against the service's own clock (its ``Date`` header), not this
    machine's: the two may disagree, and ``created_at`` is the service's.
    """
    try:
        raw = client.files.with_raw_response.list(purpose="fine-tune")
        files = [
            RemoteFile(
                id=remote.id,
                filename=remote.filename,
                bytes=remote.bytes,
                status=remote.status,
                created_at=datetime.fromtimestamp(remote.created_at, UTC),
            )
            for remote in raw.parse()
        ]
    except openai.OpenAIError as error:
        raise from_openai(error, "listing fine-tuning files") from error
    return files, service_time(raw.headers)


def service_time(headers: Mapping[str, str]) -> datetime:
    """The time a response's ``Date`` header gives; `ServiceError` when it has none."""
    value = headers.get("date")
    try:
        when = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        when = None
    if when is None or when.tzinfo is None:
        raise InvalidRequest(
            f"the service's response has no usable Date header ({value!r}), so the age of its "
            "files cannot be judged; check the endpoint (a proxy in between?)"
        )
    return when
