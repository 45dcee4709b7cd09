"""Chat completions on deployments: who answers and what it costs in tokens.

A deployed fine-tuned model (or checkpoint) answers with
:class:`~emulator.simulation.responder.Responder` built from its training data and, for
continuous fine-tuning, its ancestors'; a deployed base model answers with
:func:`~emulator.simulation.responder.generic_reply`. Usage is counted with the model's real
tokenizer.
"""

from __future__ import annotations

import secrets
import string
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from emulator.core.runtime import Runtime
from emulator.deployments.state import DeploymentRecord, DeploymentsState
from emulator.fine_tuning.models import BASE_MODELS
from emulator.fine_tuning.state import JobsState
from emulator.fine_tuning.tokens import count_chat_tokens, get_encoding
from emulator.inference.errors import DeploymentUnavailable
from emulator.simulation.responder import Responder, generic_reply

__all__ = ["Completion", "InferenceState"]

_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Completion:
    """One answer: the text, why it stopped, and token counts."""

    id: str
    model: str
    content: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    created: int
    fingerprint: str


class InferenceState:
    """Answers chat completions for the account's deployments."""

    def __init__(self, runtime: Runtime, deployments: DeploymentsState, jobs: JobsState) -> None:
        self.rt = runtime
        self.deployments = deployments
        self.jobs = jobs
        self._responders: dict[str, Responder] = {}
        self._lock = threading.Lock()

    def forget(self) -> None:
        """Drop cached responders (after a reset)."""
        with self._lock:
            self._responders.clear()

    def ready_deployment(self, name: str) -> DeploymentRecord:
        """The deployment ``name`` if it can serve requests now."""
        record = self.deployments.find(name)
        if record is None or record.state(self.rt.clock.now()) != "Succeeded":
            raise DeploymentUnavailable()
        return record

    def _responder(self, job_id: str) -> Responder:
        with self._lock:
            responder = self._responders.get(job_id)
            if responder is None:
                responder = Responder(self.jobs.exchanges(job_id))
                self._responders[job_id] = responder
            return responder

    def complete(
        self,
        deployment: str,
        messages: Sequence[Mapping[str, Any]],
        *,
        max_tokens: int | None,
        tools: object = None,
    ) -> Completion:
        """Answer ``messages`` on ``deployment``."""
        record = self.ready_deployment(deployment)
        if record.fine_tuned and record.job_id is not None:
            reply = self._responder(record.job_id).reply(messages)
            model = str(record.model["name"])
        else:
            reply = generic_reply(messages)
            model = record.base_model
        encoding = get_encoding(BASE_MODELS[record.base_model].encoding)
        tokens = encoding.encode_ordinary(reply)
        finish = "stop"
        if max_tokens is not None and len(tokens) > max_tokens:
            tokens = tokens[:max_tokens]
            reply = encoding.decode(tokens)
            finish = "length"
        return Completion(
            id="chatcmpl-" + "".join(secrets.choice(_ALPHABET) for _ in range(29)),
            model=model,
            content=reply,
            finish_reason=finish,
            prompt_tokens=count_chat_tokens(encoding, messages, tools),
            completion_tokens=len(tokens),
            created=int(self.rt.clock.now()),
            fingerprint="fp_" + secrets.token_hex(5),
        )
