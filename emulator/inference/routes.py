"""Chat completions: ``/openai/deployments/{deployment}/chat/completions`` (versioned) and
``/openai/v1/chat/completions`` with ``model`` = deployment; JSON or server-sent events.

Responses carry Azure's content-filter fields (``prompt_filter_results`` and per-choice
``content_filter_results``; nothing is ever filtered) and OpenAI's usage block.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from emulator.core.errors import Surface
from emulator.core.http import Call, json_response
from emulator.inference.errors import InvalidChatRequest
from emulator.inference.state import Completion

if TYPE_CHECKING:
    from emulator.backend import Backend

__all__ = ["chat_completions", "chat_completions_v1"]

_SAFE = {"filtered": False, "severity": "safe"}
_ROLES = ("system", "developer", "user", "assistant", "tool", "function")


def _prompt_filters() -> list[dict[str, Any]]:
    return [
        {
            "prompt_index": 0,
            "content_filter_results": {
                "hate": _SAFE,
                "jailbreak": {"filtered": False, "detected": False},
                "self_harm": _SAFE,
                "sexual": _SAFE,
                "violence": _SAFE,
            },
        }
    ]


def _choice_filters() -> dict[str, Any]:
    return {
        "hate": _SAFE,
        "protected_material_code": {"filtered": False, "detected": False},
        "protected_material_text": {"filtered": False, "detected": False},
        "self_harm": _SAFE,
        "sexual": _SAFE,
        "violence": _SAFE,
    }


def _usage(c: Completion) -> dict[str, Any]:
    return {
        "prompt_tokens": c.prompt_tokens,
        "completion_tokens": c.completion_tokens,
        "total_tokens": c.prompt_tokens + c.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _check(body: Mapping[str, Any]) -> tuple[list[dict[str, Any]], int | None, int]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidChatRequest(
            "'messages' is a required property and must be a non-empty array.", param="messages"
        )
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise InvalidChatRequest(
                f"Invalid value for 'messages[{index}].role': expected one of {', '.join(_ROLES)}.",
                param=f"messages[{index}].role",
            )
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InvalidChatRequest("max_tokens must be a positive integer.", param="max_tokens")
    n = body.get("n", 1)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 128:
        raise InvalidChatRequest("n must be an integer from 1 to 128.", param="n")
    return messages, limit, n


def _answer(backend: Backend, call: Call, deployment: str) -> Response:
    body = call.json_object()
    messages, limit, n = _check(body)
    completion = backend.inference.complete(
        deployment, messages, max_tokens=limit, tools=body.get("tools")
    )
    if body.get("stream"):
        options = body.get("stream_options")
        with_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        return _stream(completion, n, include_usage=with_usage)
    choices: list[dict[str, Any]] = [
        {
            "index": index,
            "finish_reason": completion.finish_reason,
            "logprobs": None,
            "message": {
                "role": "assistant",
                "content": completion.content,
                "refusal": None,
                "annotations": [],
            },
            "content_filter_results": _choice_filters(),
        }
        for index in range(n)
    ]
    usage = _usage(completion)
    if n > 1:
        usage["completion_tokens"] *= n
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    return json_response(
        {
            "id": completion.id,
            "object": "chat.completion",
            "created": completion.created,
            "model": completion.model,
            "choices": choices,
            "usage": usage,
            "system_fingerprint": completion.fingerprint,
            "prompt_filter_results": _prompt_filters(),
        }
    )


def _stream(c: Completion, n: int, *, include_usage: bool) -> Response:
    def chunk(choices: list[dict[str, Any]], **extra: Any) -> str:
        payload = {
            "id": c.id,
            "object": "chat.completion.chunk",
            "created": c.created,
            "model": c.model,
            "system_fingerprint": c.fingerprint,
            "choices": choices,
            **extra,
        }
        return f"data: {json.dumps(payload)}\n\n"

    parts = [
        "data: "
        + json.dumps(
            {
                "choices": [],
                "created": 0,
                "id": "",
                "model": "",
                "object": "",
                "prompt_filter_results": _prompt_filters(),
            }
        )
        + "\n\n"
    ]
    words = c.content.split(" ")
    pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
    for index in range(n):
        parts.append(
            chunk(
                [
                    {
                        "index": index,
                        "delta": {"role": "assistant", "content": ""},
                        "finish_reason": None,
                        "logprobs": None,
                    }
                ]
            )
        )
        for piece in pieces:
            parts.append(
                chunk(
                    [
                        {
                            "index": index,
                            "delta": {"content": piece},
                            "finish_reason": None,
                            "logprobs": None,
                            "content_filter_results": _choice_filters(),
                        }
                    ]
                )
            )
        parts.append(
            chunk(
                [
                    {
                        "index": index,
                        "delta": {},
                        "finish_reason": c.finish_reason,
                        "logprobs": None,
                        "content_filter_results": {},
                    }
                ]
            )
        )
    if include_usage:
        parts.append(chunk([], usage=_usage(c)))
    parts.append("data: [DONE]\n\n")
    return Response("".join(parts), media_type="text/event-stream")


def chat_completions(backend: Backend, call: Call) -> Response:
    """``POST /openai/deployments/{deployment}/chat/completions?api-version=``."""
    return _answer(backend, call, call.params["deployment"])


def chat_completions_v1(backend: Backend, call: Call) -> Response:
    """``POST /openai/v1/chat/completions`` with ``model`` naming the deployment."""
    model = call.json_object().get("model")
    if not isinstance(model, str) or not model:
        raise InvalidChatRequest("'model' is required: the name of a deployment.", param="model")
    assert call.surface is Surface.V1
    return _answer(backend, call, model)
