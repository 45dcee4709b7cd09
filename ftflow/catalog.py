"""The models Azure OpenAI fine-tunes, and what the pipeline must know about each.

Facts from the Azure fine-tuning docs (../shared/reference/azure-fine-tuning-api.md §B):
the tokenizer encoding, the largest training example in tokens, and the training methods.
A fine-tuned model id ``<base>.ft-<hex>`` (optionally ``:ckpt-step-N``) resolves to its base,
which is how continuous fine-tuning starts from an earlier model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = [
    "CATALOG",
    "DEFAULT_TRAINING_PRICES",
    "Method",
    "ModelFacts",
    "UnknownModelError",
    "base_model_of",
    "is_fine_tuned",
    "resolve_model",
]

Method = Literal["supervised", "dpo", "reinforcement"]
Encoding = Literal["o200k_base", "cl100k_base"]


@dataclass(frozen=True, slots=True)
class ModelFacts:
    """One fine-tunable base model."""

    name: str
    encoding: Encoding
    max_example_tokens: int
    methods: tuple[Method, ...]


_MODELS = (
    ModelFacts("gpt-4o-mini-2024-07-18", "o200k_base", 65_536, ("supervised",)),
    ModelFacts("gpt-4o-2024-08-06", "o200k_base", 65_536, ("supervised", "dpo")),
    ModelFacts("gpt-4.1-2025-04-14", "o200k_base", 65_536, ("supervised", "dpo")),
    ModelFacts("gpt-4.1-mini-2025-04-14", "o200k_base", 65_536, ("supervised", "dpo")),
    ModelFacts("gpt-4.1-nano-2025-04-14", "o200k_base", 32_768, ("supervised",)),
    ModelFacts("o4-mini-2025-04-16", "o200k_base", 65_536, ("reinforcement",)),
    # gpt-35-turbo has no separate training-example limit: its request limit applies.
    ModelFacts("gpt-35-turbo-0125", "cl100k_base", 16_385, ("supervised",)),
    ModelFacts("gpt-35-turbo-1106", "cl100k_base", 16_385, ("supervised",)),
)

CATALOG: Mapping[str, ModelFacts] = MappingProxyType({m.name: m for m in _MODELS})

# Other spellings people use for the same model.
_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "gpt-35-turbo (0125)": "gpt-35-turbo-0125",
        "gpt-35-turbo (1106)": "gpt-35-turbo-1106",
        "gpt-3.5-turbo-0125": "gpt-35-turbo-0125",
        "gpt-3.5-turbo-1106": "gpt-35-turbo-1106",
    }
)

# USD per 1M training tokens (global training). Defaults only: prices change, so the table is
# overridable (FTFLOW_PRICES_FILE) and every figure derived from it is labelled an estimate.
DEFAULT_TRAINING_PRICES: Mapping[str, float] = MappingProxyType(
    {
        "gpt-4o-mini-2024-07-18": 3.30,
        "gpt-4o-2024-08-06": 27.50,
        "gpt-4.1-2025-04-14": 25.00,
        "gpt-4.1-mini-2025-04-14": 5.00,
        "gpt-4.1-nano-2025-04-14": 1.50,
        "gpt-35-turbo-0125": 8.00,
        "gpt-35-turbo-1106": 8.00,
    }
)

_FINE_TUNED = re.compile(r"^(?P<base>.+?)\.ft-[0-9a-fA-F]+(?:[:._-].*)?$")


class UnknownModelError(ValueError):
    """Raised for a model id that is neither a known base model nor fine-tuned from one."""

    def __init__(self, model: str) -> None:
        self.model = model
        known = ", ".join(CATALOG)
        super().__init__(
            f"unknown model {model!r}: fine-tunable base models are {known}; "
            "a fine-tuned model is written <base>.ft-<hex>"
        )


def is_fine_tuned(model: str) -> bool:
    """Whether ``model`` is a fine-tuned model id (``<base>.ft-<hex>``, or one's checkpoint)."""
    return _FINE_TUNED.match(model.strip()) is not None


def base_model_of(model: str) -> str:
    """The base model id behind ``model``: itself, or the base of a ``.ft-`` model."""
    name = model.strip()
    while (match := _FINE_TUNED.match(name)) is not None:
        name = match.group("base")
    return _ALIASES.get(name, name)


def resolve_model(model: str) -> ModelFacts:
    """The facts for ``model`` (a base or fine-tuned id); :class:`UnknownModelError` if none."""
    facts = CATALOG.get(base_model_of(model))
    if facts is None:
        raise UnknownModelError(model)
    return facts
