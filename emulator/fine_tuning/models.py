"""The base models the emulated resource fine-tunes and deploys, and fine-tuned model names.

Facts from Azure's fine-tuning model table: tokenizer encoding, longest training example and the
training methods of each base model, and the name/version pair ARM uses to deploy it. A
fine-tuned model is named ``<base>.ft-<32 hex>``; its checkpoints ``<model>:ckpt-step-<N>``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "BASE_MODELS",
    "BaseModel",
    "base_model_by_deployment",
    "checkpoint_name",
    "is_fine_tuned_name",
]


@dataclass(frozen=True)
class BaseModel:
    """A fine-tunable base model."""

    id: str
    encoding: str
    max_example_tokens: int
    methods: tuple[str, ...]
    deploy_name: str
    deploy_version: str
    created_at: int


_ALL = (
    BaseModel("gpt-4o-mini-2024-07-18", "o200k_base", 65_536, ("supervised",),
              "gpt-4o-mini", "2024-07-18", 1721260800),
    BaseModel("gpt-4o-2024-08-06", "o200k_base", 65_536, ("supervised", "dpo"),
              "gpt-4o", "2024-08-06", 1722902400),
    BaseModel("gpt-4.1-2025-04-14", "o200k_base", 65_536, ("supervised", "dpo"),
              "gpt-4.1", "2025-04-14", 1744588800),
    BaseModel("gpt-4.1-mini-2025-04-14", "o200k_base", 65_536, ("supervised", "dpo"),
              "gpt-4.1-mini", "2025-04-14", 1744588800),
    BaseModel("gpt-4.1-nano-2025-04-14", "o200k_base", 32_768, ("supervised",),
              "gpt-4.1-nano", "2025-04-14", 1744588800),
    BaseModel("o4-mini-2025-04-16", "o200k_base", 65_536, ("reinforcement",),
              "o4-mini", "2025-04-16", 1744761600),
    BaseModel("gpt-35-turbo-0125", "cl100k_base", 16_385, ("supervised",),
              "gpt-35-turbo", "0125", 1706140800),
    BaseModel("gpt-35-turbo-1106", "cl100k_base", 16_385, ("supervised",),
              "gpt-35-turbo", "1106", 1699228800),
)  # fmt: skip

BASE_MODELS: Mapping[str, BaseModel] = MappingProxyType({m.id: m for m in _ALL})

_FINE_TUNED = re.compile(r"^.+\.ft-[0-9a-f]{32}(?:-[A-Za-z0-9_-]+)?$")


def base_model_by_deployment(name: str, version: str | None) -> BaseModel | None:
    """The base model ARM names ``name`` (+ ``version``), or a full id given as ``name``."""
    if name in BASE_MODELS:
        return BASE_MODELS[name]
    for model in _ALL:
        if model.deploy_name == name and (version is None or model.deploy_version == version):
            return model
    return None


def is_fine_tuned_name(name: str) -> bool:
    """Whether ``name`` has the shape of a fine-tuned model id (not a checkpoint)."""
    return _FINE_TUNED.match(name) is not None


def checkpoint_name(model: str, step: int) -> str:
    """The name of a non-final checkpoint of ``model`` at ``step``."""
    return f"{model}:ckpt-step-{step}"
