"""Upload a data file once per content and wait until the service has processed it."""

from __future__ import annotations

import time
from pathlib import Path

from prefect import task
from prefect.concurrency.sync import concurrency
from prefect.logging import get_run_logger

from ftflow.azure.clients import AzureClients
from ftflow.azure.files import local_file, upload_once, wait_processed
from ftflow.azure.limits import upload_limit_name
from ftflow.azure.waiting import Backoff
from tasks._policy import RESUMABLE, TRANSIENT_RETRIES

__all__ = ["upload_file"]

_PROCESSING_TIMEOUT_SECONDS = 3600.0


@task(name="upload", task_run_name="upload-{role}", **RESUMABLE, **TRANSIENT_RETRIES)
def upload_file(
    path: str, sha256: str, role: str, resource: str, azure: AzureClients
) -> dict[str, object]:
    """The service's id for this content, uploading it only if it is not there yet.

    Cached on the content hash and the resource (``path`` only says where to read it), so a
    re-run with the same data neither uploads nor even looks it up again.
    """
    logger = get_run_logger()
    local = local_file(Path(path))
    if local.sha256 != sha256:
        raise ValueError(f"{path} changed while the run was preparing it; run again")
    # Another run may be uploading the same content right now: look and upload while
    # holding the resource's upload slot, so the second to come finds the first's file.
    with concurrency(upload_limit_name(azure.account), occupy=1, lease_duration=60.0):
        uploaded = upload_once(azure.data, local)
    verb = "uploaded" if uploaded.created else "found already uploaded"
    logger.info("%s %s as %s (%s)", verb, path, uploaded.id, uploaded.name)
    processed = wait_processed(
        azure.data,
        uploaded.id,
        timeout_seconds=_PROCESSING_TIMEOUT_SECONDS,
        backoff=Backoff(initial=1.0, maximum=15.0),
        sleep=time.sleep,
    )
    logger.info("%s is %s", uploaded.id, processed.status)
    return {
        "id": uploaded.id,
        "name": uploaded.name,
        "role": role,
        "bytes": local.size,
        "sha256": sha256,
        "created": uploaded.created,
    }
