"""Figures about a dataset: token distribution, epochs, billed tokens and cost estimate.

The service chooses epochs itself when none are given; its rule is not published. We use the
rule OpenAI documents for its own fine-tuning (aim for about 3 epochs, more for tiny sets,
fewer for huge ones) and label every figure derived from it an estimate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

__all__ = ["BillingEstimate", "TokenDistribution", "auto_epochs", "estimate_billing"]

_TARGET_EPOCHS = 3
_MIN_TARGET_EXAMPLES = 100
_MAX_TARGET_EXAMPLES = 25_000
_MIN_EPOCHS = 1
_MAX_EPOCHS = 25


@dataclass(frozen=True, slots=True)
class TokenDistribution:
    """Tokens per example: the shape of the data in the model's own units."""

    examples: int
    total: int
    minimum: int
    median: float
    p95: int
    maximum: int
    mean: float

    @classmethod
    def of(cls, counts: Sequence[int]) -> TokenDistribution:
        if not counts:
            return cls(0, 0, 0, 0.0, 0, 0, 0.0)
        ordered = sorted(counts)
        n = len(ordered)
        middle = n // 2
        median = ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2
        p95 = ordered[min(n - 1, math.ceil(0.95 * n) - 1)]
        total = sum(ordered)
        return cls(n, total, ordered[0], float(median), p95, ordered[-1], total / n)

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def auto_epochs(examples: int) -> int:
    """Epochs the service would likely choose for ``examples`` (OpenAI's published rule)."""
    if examples <= 0:
        return _TARGET_EPOCHS
    if examples * _TARGET_EPOCHS < _MIN_TARGET_EXAMPLES:
        return min(_MAX_EPOCHS, _MIN_TARGET_EXAMPLES // examples)
    if examples * _TARGET_EPOCHS > _MAX_TARGET_EXAMPLES:
        return max(_MIN_EPOCHS, _MAX_TARGET_EXAMPLES // examples)
    return _TARGET_EPOCHS


@dataclass(frozen=True, slots=True)
class BillingEstimate:
    """Training tokens billed and what they cost: an estimate, never an invoice."""

    epochs: int
    epochs_source: str
    training_tokens: int
    billed_tokens: int
    usd_per_million: float | None
    estimated_usd: float | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def estimate_billing(
    model: str, examples: int, training_tokens: int, epochs: int | None, prices: Mapping[str, float]
) -> BillingEstimate:
    """Billed tokens are the training file's tokens times the epochs."""
    chosen = epochs if epochs is not None else auto_epochs(examples)
    source = "given" if epochs is not None else "auto, estimated by OpenAI's published rule"
    billed = training_tokens * chosen
    price = prices.get(model)
    cost = None if price is None else round(billed / 1_000_000 * price, 4)
    return BillingEstimate(chosen, source, training_tokens, billed, price, cost)
