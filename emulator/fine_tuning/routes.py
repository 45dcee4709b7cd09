"""Fine-tuning job routes (both path styles; pause/resume on preview and v1; delete versioned)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from emulator.core.errors import EmulatorError, Surface
from emulator.core.http import Call, json_response, query_int
from emulator.fine_tuning.models import BASE_MODELS

if TYPE_CHECKING:
    from emulator.backend import Backend

__all__ = [
    "cancel",
    "checkpoints",
    "create",
    "delete",
    "events",
    "get",
    "get_model",
    "list_jobs",
    "list_models",
    "pause",
    "resume",
]


def _job(backend: Backend, call: Call, job: Any) -> dict[str, Any]:
    return job.to_api(backend.now(), call.surface, backend.settings.behaviour)  # type: ignore[no-any-return]


def create(backend: Backend, call: Call) -> Response:
    """``POST /fine_tuning/jobs``: 201 + Location (versioned), 200 (v1)."""
    job = backend.jobs.create(call.json_object(), call.surface, call.api_version)
    body = _job(backend, call, job)
    if call.surface is Surface.VERSIONED:
        return json_response(body, 201, {"Location": call.data_url(f"/fine_tuning/jobs/{job.id}")})
    return json_response(body)


def list_jobs(backend: Backend, call: Call) -> Response:
    """``GET /fine_tuning/jobs?after=&limit=``, newest first."""
    limit = query_int(call, "limit", 20, 1, 100)
    jobs, has_more = backend.jobs.list_jobs(after=call.query_str("after"), limit=limit)
    data = [_job(backend, call, job) for job in jobs]
    return json_response({"object": "list", "data": data, "has_more": has_more})


def get(backend: Backend, call: Call) -> Response:
    """``GET /fine_tuning/jobs/{job_id}``."""
    return json_response(_job(backend, call, backend.jobs.get(call.params["job_id"])))


def cancel(backend: Backend, call: Call) -> Response:
    """``POST /fine_tuning/jobs/{job_id}/cancel``."""
    return json_response(_job(backend, call, backend.jobs.cancel(call.params["job_id"])))


def pause(backend: Backend, call: Call) -> Response:
    """``POST /fine_tuning/jobs/{job_id}/pause`` (2025-04-01-preview, v1)."""
    return json_response(_job(backend, call, backend.jobs.pause(call.params["job_id"])))


def resume(backend: Backend, call: Call) -> Response:
    """``POST /fine_tuning/jobs/{job_id}/resume`` (2025-04-01-preview, v1)."""
    return json_response(_job(backend, call, backend.jobs.resume(call.params["job_id"])))


def delete(backend: Backend, call: Call) -> Response:
    """``DELETE /fine_tuning/jobs/{job_id}``: 204 (versioned only)."""
    backend.jobs.delete(call.params["job_id"], backend.deployments.deployed_model_names())
    return Response(status_code=204)


def events(backend: Backend, call: Call) -> Response:
    """``GET /fine_tuning/jobs/{job_id}/events?after=&limit=``."""
    limit = query_int(call, "limit", 20, 1, 10_000)
    items, has_more = backend.jobs.events(
        call.params["job_id"], after=call.query_str("after"), limit=limit
    )
    behaviour = backend.settings.behaviour
    data = [event.to_api(behaviour) for event in items]
    return json_response({"object": "list", "data": data, "has_more": has_more})


def checkpoints(backend: Backend, call: Call) -> Response:
    """``GET /fine_tuning/jobs/{job_id}/checkpoints?after=&limit=``, newest first."""
    limit = query_int(call, "limit", 10, 1, 100)
    items, has_more = backend.jobs.checkpoints(
        call.params["job_id"], after=call.query_str("after"), limit=limit
    )
    data = [c.to_api() for c in items]
    body: dict[str, Any] = {"object": "list", "data": data, "has_more": has_more}
    if call.surface is Surface.V1:
        body["first_id"] = data[0]["id"] if data else None
        body["last_id"] = data[-1]["id"] if data else None
    return json_response(body)


_DEPRECATION = {"fine_tune": 1798761600, "inference": 1830297600}


def _base_model_api(model_id: str) -> dict[str, Any]:
    base = BASE_MODELS[model_id]
    return {
        "object": "model",
        "id": base.id,
        "created_at": base.created_at,
        "status": "succeeded",
        "lifecycle_status": "generally-available",
        "capabilities": {
            "fine_tune": True,
            "inference": True,
            "completion": False,
            "chat_completion": True,
            "embeddings": False,
        },
        "deprecation": _DEPRECATION,
    }


def _fine_tuned_api(job: Any) -> dict[str, Any]:
    return {
        "object": "model",
        "id": job.fine_tuned_model,
        "created_at": int(job.finished_at or job.created_at),
        "status": "succeeded",
        "lifecycle_status": "generally-available",
        "model": job.model,
        "fine_tune": job.id,
        "capabilities": {
            "fine_tune": True,
            "inference": True,
            "completion": False,
            "chat_completion": True,
            "embeddings": False,
        },
        "deprecation": {"inference": _DEPRECATION["inference"]},
    }


def list_models(backend: Backend, call: Call) -> Response:
    """``GET /models``: fine-tunable base models and the resource's fine-tuned models."""
    data = [_base_model_api(model_id) for model_id in BASE_MODELS]
    data += [_fine_tuned_api(job) for job in backend.jobs.succeeded_models()]
    return json_response({"object": "list", "data": data})


def get_model(backend: Backend, call: Call) -> Response:
    """``GET /models/{model_id}``."""
    model_id = call.params["model_id"]
    if model_id in BASE_MODELS:
        return json_response(_base_model_api(model_id))
    for job in backend.jobs.succeeded_models():
        if job.fine_tuned_model == model_id:
            return json_response(_fine_tuned_api(job))
    raise ModelNotFound(model_id)


class ModelNotFound(EmulatorError):
    """No base or fine-tuned model with this id."""

    status_code = 404
    code = "notFound"

    def __init__(self, model_id: str) -> None:
        super().__init__(f"The model '{model_id}' does not exist.")
