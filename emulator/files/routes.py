"""Files API routes: upload, list, get, delete, content (both path styles)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from starlette.datastructures import UploadFile
from starlette.responses import Response

from emulator.core.errors import Surface
from emulator.core.http import Call, json_response, query_int
from emulator.files.errors import InvalidUpload

if TYPE_CHECKING:
    from emulator.backend import Backend

__all__ = ["content", "delete", "get", "list_files", "upload"]

_MIN_EXPIRY, _MAX_EXPIRY = 1_209_600, 2_592_000


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    stream.seek(0)
    while chunk := stream.read(1024 * 1024):
        yield chunk


def _expiry(call: Call) -> int | None:
    assert call.form is not None
    anchor = call.form.get("expires_after[anchor]") or call.form.get("expires_after.anchor")
    seconds = call.form.get("expires_after[seconds]") or call.form.get("expires_after.seconds")
    if anchor is None and seconds is None:
        return None
    if anchor != "created_at" or not isinstance(seconds, str) or not seconds.isdigit():
        raise InvalidUpload(
            "expires_after needs anchor 'created_at' and a number of seconds.",
            param="expires_after",
        )
    value = int(seconds)
    if not _MIN_EXPIRY <= value <= _MAX_EXPIRY:
        raise InvalidUpload(
            f"expires_after.seconds must be between {_MIN_EXPIRY} and {_MAX_EXPIRY}.",
            param="expires_after.seconds",
        )
    return value


def upload(backend: Backend, call: Call) -> Response:
    """``POST /files`` (multipart: ``purpose``, ``file``)."""
    form = call.form
    assert form is not None
    purpose = form.get("purpose")
    if not isinstance(purpose, str) or not purpose:
        raise InvalidUpload("The 'purpose' field is required.", param="purpose")
    part = form.get("file")
    if not isinstance(part, UploadFile):
        raise InvalidUpload("The 'file' field is required and must be a file.", param="file")
    record = backend.files.upload(
        filename=part.filename or "file",
        purpose=purpose,
        chunks=_chunks(part.file),
        surface=call.surface,
        expires_after_seconds=_expiry(call),
    )
    body = record.to_api(backend.now(), call.surface)
    if call.surface is Surface.VERSIONED:
        return json_response(body, 201, {"Location": call.data_url(f"/files/{record.id}")})
    return json_response(body)


def list_files(backend: Backend, call: Call) -> Response:
    """``GET /files?purpose=&after=&limit=&order=``."""
    limit = query_int(call, "limit", 10_000, 1, 10_000)
    order = call.query_str("order") or "desc"
    records, has_more = backend.files.list_files(
        purpose=call.query_str("purpose"), after=call.query_str("after"), limit=limit, order=order
    )
    now = backend.now()
    data = [r.to_api(now, call.surface) for r in records]
    body: dict[str, Any] = {"object": "list", "data": data}
    if call.surface is Surface.V1:
        body["first_id"] = data[0]["id"] if data else None
        body["last_id"] = data[-1]["id"] if data else None
        body["has_more"] = has_more
    return json_response(body)


def get(backend: Backend, call: Call) -> Response:
    """``GET /files/{file_id}``."""
    record = backend.files.get(call.params["file_id"])
    return json_response(record.to_api(backend.now(), call.surface))


def delete(backend: Backend, call: Call) -> Response:
    """``DELETE /files/{file_id}``."""
    file_id = call.params["file_id"]
    backend.files.delete(file_id)
    return json_response({"object": "file", "id": file_id, "deleted": True})


def content(backend: Backend, call: Call) -> Response:
    """``GET /files/{file_id}/content``: the bytes as uploaded."""
    data = backend.files.content(call.params["file_id"])
    return Response(data, media_type="application/octet-stream")
