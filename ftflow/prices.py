"""The training price table: defaults from the catalog, overridable from a JSON file."""

from __future__ import annotations

from pathlib import Path

import orjson

from ftflow.catalog import DEFAULT_TRAINING_PRICES

__all__ = ["PriceFileError", "load_prices"]


class PriceFileError(ValueError):
    """The prices file is unreadable or not ``{"model": USD per 1M tokens, ...}``."""


def load_prices(path: Path | None) -> dict[str, float]:
    """The default prices, updated with those in ``path`` when given."""
    prices = dict(DEFAULT_TRAINING_PRICES)
    if path is None:
        return prices
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as error:
        raise PriceFileError(f"{path}: cannot read the prices file: {error}") from error
    if not isinstance(data, dict):
        raise PriceFileError(f"{path}: expected a JSON object of model -> USD per 1M tokens")
    for model, price in data.items():
        if isinstance(price, bool) or not isinstance(price, int | float) or price < 0:
            raise PriceFileError(f"{path}: price for {model!r} must be a non-negative number")
        prices[model] = float(price)
    return prices
