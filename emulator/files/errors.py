"""Errors of the Files API."""

from __future__ import annotations

from emulator.core.errors import EmulatorError

__all__ = [
    "FileNotFound",
    "FileQuotaExceeded",
    "FileTooLarge",
    "InvalidUpload",
]


class FileNotFound(EmulatorError):
    """No file with this id (or it was deleted)."""

    status_code = 404
    code = "notFound"

    def __init__(self, file_id: str) -> None:
        super().__init__(f"File with id '{file_id}' not found.")


class FileTooLarge(EmulatorError):
    """The upload is larger than the Files API accepts."""

    status_code = 413
    code = "invalidPayload"

    def __init__(self, size: int | None, limit: int) -> None:
        shown = "more than" if size is None else f"{size} bytes,"
        super().__init__(
            f"The file is too large ({shown} the limit is {limit} bytes). Use the Uploads API "
            "for larger files.",
            param="file",
        )


class FileQuotaExceeded(EmulatorError):
    """The resource already holds as many fine-tuning files, or bytes, as allowed."""

    status_code = 400
    code = "quotaExceeded"


class InvalidUpload(EmulatorError):
    """A malformed upload request (missing part, unknown purpose ...)."""

    status_code = 400
    code = "invalidPayload"
