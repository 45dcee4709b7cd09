"""Resolving "auto" hyperparameters and rejecting values the service would refuse."""

from __future__ import annotations

import math

import pytest

from emulator.simulation import Hyperparameters, resolve_hyperparameters, steps_per_epoch


@pytest.mark.parametrize(
    ("n_examples", "epochs"),
    [
        (1, 25),  # 100 // 1 = 100, capped at 25
        (4, 25),
        (5, 20),
        (10, 10),
        (20, 5),
        (30, 3),  # 90 < 100 but 100 // 30 = 3
        (33, 3),
        (34, 3),
        (1000, 3),
        (8333, 3),  # 24,999 examples seen: still 3
        (8334, 2),  # 25,002 > 25,000: 25000 // 8334
        (12_500, 2),
        (12_501, 1),
        (1_000_000, 1),
    ],
)
def test_auto_epochs_follow_the_published_heuristic(n_examples: int, epochs: int) -> None:
    assert resolve_hyperparameters(n_examples, None, None, None).n_epochs == epochs


@pytest.mark.parametrize(
    ("n_examples", "batch_size"),
    [
        (1, 1),
        (500, 1),
        (700, 1),  # 1.4 is below sqrt(2): nearer 1 than 2 in log scale
        (750, 2),
        (1000, 2),
        (2000, 4),
        (3000, 8),  # 6 is nearer 8 than 4 in log scale
        (5000, 8),
        (20_000, 32),
        (100_000, 256),
        (10_000_000, 256),
    ],
)
def test_auto_batch_size_is_a_power_of_two_near_two_per_mille(
    n_examples: int, batch_size: int
) -> None:
    assert resolve_hyperparameters(n_examples, None, None, None).batch_size == batch_size


def test_auto_learning_rate_multiplier_is_one() -> None:
    assert resolve_hyperparameters(100, None, None, None) == Hyperparameters(3, 1, 1.0)


def test_requested_values_are_kept() -> None:
    hp = resolve_hyperparameters(10, 50, 256, 10)
    assert hp == Hyperparameters(n_epochs=50, batch_size=256, learning_rate_multiplier=10.0)
    assert isinstance(hp.learning_rate_multiplier, float)
    assert resolve_hyperparameters(10, 1, 1, 0.02) == Hyperparameters(1, 1, 0.02)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((0, None, None, None), "n_examples must be a positive integer, got 0"),
        ((10, 0, None, None), "n_epochs must be between 1 and 50, got 0"),
        ((10, 51, None, None), "n_epochs must be between 1 and 50, got 51"),
        ((10, True, None, None), "n_epochs must be an integer"),
        ((10, 2.5, None, None), "n_epochs must be an integer"),
        ((10, None, 0, None), "batch_size must be between 1 and 256, got 0"),
        ((10, None, 257, None), "batch_size must be between 1 and 256, got 257"),
        ((10, None, None, 0.0), "learning_rate_multiplier must be greater than 0"),
        ((10, None, None, -1.0), "learning_rate_multiplier must be greater than 0"),
        ((10, None, None, 10.5), "at most 10"),
        ((10, None, None, math.nan), "learning_rate_multiplier"),
        ((10, None, None, math.inf), "learning_rate_multiplier"),
        ((10, None, None, "1.0"), "learning_rate_multiplier must be a number"),
    ],
)
def test_out_of_range_values_are_refused(arguments: tuple[object, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_hyperparameters(*arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("n_examples", "batch_size", "steps"),
    [(10, 1, 10), (10, 3, 4), (10, 10, 1), (10, 256, 1), (1, 1, 1), (0, 4, 1), (257, 256, 2)],
)
def test_steps_per_epoch(n_examples: int, batch_size: int, steps: int) -> None:
    assert steps_per_epoch(n_examples, batch_size) == steps


def test_steps_per_epoch_needs_a_positive_batch_size() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        steps_per_epoch(10, 0)
