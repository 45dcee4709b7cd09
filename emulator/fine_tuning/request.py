"""The body of ``POST /fine_tuning/jobs``, checked field by field as Azure checks it.

Hyperparameters may come at the top level (``hyperparameters``, deprecated on v1) or under
``method.<type>.hyperparameters``; ``"auto"`` (or absence) means the service picks the value when
training starts. ``trainingType`` (an Azure extra no spec lists) is accepted in any known
spelling and echoed nowhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emulator.config import Behaviour
from emulator.core.errors import Surface
from emulator.fine_tuning.errors import InvalidJobRequest
from emulator.simulation.training import resolve_hyperparameters

__all__ = ["JobRequest", "parse_job_request"]

_SUFFIX_VERSIONED = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_SUFFIX_V1 = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_TRAINING_TYPES = frozenset(
    {
        "standard",
        "globalstandard",
        "global",
        "developer",
        "developertier",
        "provisionedmanaged",
        "1",
        "2",
        "3",
    }
)
_HP_KEYS = ("n_epochs", "batch_size", "learning_rate_multiplier")
_DPO_KEYS = ("beta", "l2_multiplier")
_MAX_SEED = 2_147_483_647


@dataclass(frozen=True)
class JobRequest:
    """A checked job request."""

    model: str
    training_file: str
    validation_file: str | None
    suffix: str | None
    seed: int | None
    hyperparameters: dict[str, Any]
    """Requested values; None means auto."""
    method: str
    method_body: dict[str, Any] | None
    training_type: str | None
    metadata: dict[str, str] | None
    integrations: list[Any] | None

    def check_hyperparameters(self, n_examples: int) -> None:
        """Reject values outside the accepted ranges."""
        try:
            resolve_hyperparameters(
                max(n_examples, 1),
                self.hyperparameters.get("n_epochs"),
                self.hyperparameters.get("batch_size"),
                self.hyperparameters.get("learning_rate_multiplier"),
            )
        except ValueError as exc:
            raise InvalidJobRequest(
                f"Invalid hyperparameters: {exc}.", param="hyperparameters"
            ) from exc


def _required_str(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidJobRequest(f"'{key}' is required and must be a non-empty string.", param=key)
    return value


def _hp_value(key: str, value: object) -> Any:
    if value is None or value == "auto":
        return None
    if key == "learning_rate_multiplier":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidJobRequest(
                f"hyperparameters.{key} must be a number or 'auto', got {value!r}.",
                param=f"hyperparameters.{key}",
            )
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidJobRequest(
            f"hyperparameters.{key} must be an integer or 'auto', got {value!r}.",
            param=f"hyperparameters.{key}",
        )
    return value


def _hyperparameters(given: object, where: str) -> dict[str, Any]:
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        raise InvalidJobRequest(f"'{where}' must be an object.", param=where)
    values: dict[str, Any] = {}
    for key, value in given.items():
        if key in _HP_KEYS:
            values[key] = _hp_value(key, value)
        elif key in _DPO_KEYS:
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise InvalidJobRequest(f"{where}.{key} must be a number.", param=f"{where}.{key}")
        else:
            raise InvalidJobRequest(f"Unknown hyperparameter '{key}'.", param=f"{where}.{key}")
    return values


def _method(body: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None, dict[str, Any]]:
    method = body.get("method")
    if method is None:
        return "supervised", None, {}
    if not isinstance(method, Mapping):
        raise InvalidJobRequest("'method' must be an object.", param="method")
    kind = method.get("type")
    if kind not in ("supervised", "dpo", "reinforcement"):
        raise InvalidJobRequest(
            f"method.type must be 'supervised', 'dpo' or 'reinforcement', got {kind!r}.",
            param="method.type",
        )
    if kind == "reinforcement":
        raise InvalidJobRequest(
            "Reinforcement fine-tuning is not available on this resource.", param="method.type"
        )
    settings = method.get(kind) or {}
    if not isinstance(settings, Mapping):
        raise InvalidJobRequest(f"method.{kind} must be an object.", param=f"method.{kind}")
    values = _hyperparameters(settings.get("hyperparameters"), f"method.{kind}.hyperparameters")
    for key in _DPO_KEYS:  # the DPO how-to puts beta / l2_multiplier directly under method.dpo
        if key in settings and kind == "dpo":
            _hyperparameters({key: settings[key]}, f"method.{kind}")
    return str(kind), dict(method), values


def parse_job_request(
    body: Mapping[str, Any], surface: Surface, behaviour: Behaviour
) -> JobRequest:
    """Check ``body``; :class:`InvalidJobRequest` names the first bad field."""
    model = _required_str(body, "model")
    training_file = _required_str(body, "training_file")
    validation_file = body.get("validation_file")
    if validation_file is not None and (
        not isinstance(validation_file, str) or not validation_file
    ):
        raise InvalidJobRequest("'validation_file' must be a file id.", param="validation_file")
    suffix = body.get("suffix")
    if suffix is not None:
        pattern = _SUFFIX_V1 if surface is Surface.V1 else _SUFFIX_VERSIONED
        limit = 64 if surface is Surface.V1 else 40
        if not isinstance(suffix, str) or not pattern.match(suffix):
            raise InvalidJobRequest(
                f"The suffix must be 1 to {limit} characters from [a-zA-Z0-9_-]"
                f"{'.' if surface is not Surface.V1 else ' and .'}; got {suffix!r}.",
                param="suffix",
            )
    seed = body.get("seed")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= _MAX_SEED
    ):
        raise InvalidJobRequest(f"The seed must be an integer from 0 to {_MAX_SEED}.", param="seed")
    method, method_body, method_hp = _method(body)
    hyperparameters = {**_hyperparameters(body.get("hyperparameters"), "hyperparameters")}
    hyperparameters.update({k: v for k, v in method_hp.items() if k in _HP_KEYS})
    training_type = body.get("trainingType", body.get("training_type"))
    if training_type is not None:
        if str(training_type).replace("_", "").lower() not in _TRAINING_TYPES:
            raise InvalidJobRequest(
                f"Unknown trainingType {training_type!r}; use Standard, GlobalStandard or "
                "Developer.",
                param="trainingType",
            )
        training_type = str(training_type)
    elif behaviour.require_training_type:
        raise InvalidJobRequest(
            "The specified base model does not support fine-tuning.", param="trainingType"
        )
    metadata = body.get("metadata")
    if metadata is not None and (
        not isinstance(metadata, Mapping)
        or len(metadata) > 16
        or any(not isinstance(v, str) or len(k) > 64 or len(v) > 512 for k, v in metadata.items())
    ):
        raise InvalidJobRequest(
            "metadata must hold at most 16 string pairs (keys up to 64, values up to 512 "
            "characters).",
            param="metadata",
        )
    integrations = body.get("integrations")
    if integrations is not None and not isinstance(integrations, list):
        raise InvalidJobRequest("'integrations' must be a list.", param="integrations")
    return JobRequest(
        model=model,
        training_file=training_file,
        validation_file=validation_file,
        suffix=suffix,
        seed=seed,
        hyperparameters={k: hyperparameters.get(k) for k in _HP_KEYS},
        method=method,
        method_body=method_body,
        training_type=training_type,
        metadata=dict(metadata) if metadata is not None else None,
        integrations=integrations,
    )
