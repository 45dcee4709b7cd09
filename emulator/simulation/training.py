"""Fine-tuning as real arithmetic: hyperparameter rules and a step-by-step training run.

:func:`train` trains a small smoothed trigram model (see :mod:`emulator.simulation._ngram`) on a
job's tokens, batch by batch, and reports for every step the loss and token accuracy that the
service would report: computed under the model as it stands before the step's update, on the
batch's trainable tokens (the assistant messages trained on), like the forward pass of a real
optimiser step. Validation metrics come from the validation examples, after the update.

How the hyperparameters act:

* ``n_epochs``: every epoch is another pass over the shuffled examples; counts keep growing, so
  training loss keeps falling and, after enough epochs, validation loss rises again (overfitting).
* ``batch_size``: one step per batch, so fewer, smoother steps; and as in stochastic gradient
  descent at a fixed learning rate, a larger batch learns less per example: each token adds
  ``learning_rate_multiplier / sqrt(batch_size)`` to the counts (square-root scaling).
* ``learning_rate_multiplier``: scales every count update, so a higher multiplier drops the loss
  faster and overfits sooner.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from emulator.simulation._ngram import Position, TrigramModel

__all__ = [
    "DEFAULT_VOCAB_SIZE",
    "Hyperparameters",
    "StepMetrics",
    "TrainingExample",
    "resolve_hyperparameters",
    "steps_per_epoch",
    "train",
]

DEFAULT_VOCAB_SIZE = 200_000
"""Vocabulary size used for smoothing when the caller does not pass one (o200k_base scale)."""

MIN_EPOCHS, MAX_EPOCHS = 1, 50
MIN_BATCH_SIZE, MAX_BATCH_SIZE = 1, 256
MAX_LEARNING_RATE_MULTIPLIER = 10.0
DEFAULT_LEARNING_RATE_MULTIPLIER = 1.0

# OpenAI's published default-epochs heuristic (fine-tuning data preparation cookbook).
_TARGET_EPOCHS = 3
_MIN_TARGET_EXAMPLES = 100
_MAX_TARGET_EXAMPLES = 25_000
_MIN_DEFAULT_EPOCHS = 1
_MAX_DEFAULT_EPOCHS = 25
_AUTO_BATCH_FRACTION = 0.002


@dataclass(frozen=True)
class TrainingExample:
    """One example as the trainer sees it: its token ids and which of them are trained on."""

    tokens: tuple[int, ...]
    trainable: tuple[bool, ...]

    def __post_init__(self) -> None:
        if len(self.tokens) != len(self.trainable):
            raise ValueError(
                f"tokens and trainable differ in length ({len(self.tokens)} != "
                f"{len(self.trainable)})"
            )
        if self.tokens and min(self.tokens) < 0:
            raise ValueError("token ids must not be negative")


@dataclass(frozen=True)
class Hyperparameters:
    """Resolved hyperparameters of a fine-tuning job (no "auto" left)."""

    n_epochs: int
    batch_size: int
    learning_rate_multiplier: float


@dataclass(frozen=True)
class StepMetrics:
    """What one training step reports, like a row of the service's results file."""

    step: int
    train_loss: float
    train_mean_token_accuracy: float
    valid_loss: float | None
    valid_mean_token_accuracy: float | None
    full_valid_loss: float | None
    full_valid_mean_token_accuracy: float | None


def _check_int(name: str, value: int, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


def resolve_hyperparameters(
    n_examples: int,
    requested_n_epochs: int | None,
    requested_batch_size: int | None,
    requested_lr_multiplier: float | None,
) -> Hyperparameters:
    """Resolve "auto" (``None``) hyperparameters for ``n_examples`` training examples.

    * epochs: 3, unless that would show the model fewer than 100 examples (then
      ``min(25, 100 // n)``) or more than 25,000 (then ``max(1, 25000 // n)``), the rule OpenAI
      publishes in its data preparation cookbook;
    * batch size: 0.2% of the examples, rounded to the nearest power of two, within 1..256;
    * learning rate multiplier: 1.0.

    Requested values must lie in the ranges the service accepts (epochs 1..50, batch size 1..256,
    0 < learning rate multiplier <= 10); anything else raises :class:`ValueError`.
    """
    if isinstance(n_examples, bool) or not isinstance(n_examples, int) or n_examples < 1:
        raise ValueError(f"n_examples must be a positive integer, got {n_examples!r}")
    if requested_n_epochs is None:
        n_epochs = _TARGET_EPOCHS
        if n_examples * _TARGET_EPOCHS < _MIN_TARGET_EXAMPLES:
            n_epochs = min(_MAX_DEFAULT_EPOCHS, _MIN_TARGET_EXAMPLES // n_examples)
        elif n_examples * _TARGET_EPOCHS > _MAX_TARGET_EXAMPLES:
            n_epochs = max(_MIN_DEFAULT_EPOCHS, _MAX_TARGET_EXAMPLES // n_examples)
    else:
        n_epochs = _check_int("n_epochs", requested_n_epochs, MIN_EPOCHS, MAX_EPOCHS)
    if requested_batch_size is None:
        share = max(1.0, n_examples * _AUTO_BATCH_FRACTION)
        batch_size = min(MAX_BATCH_SIZE, 2 ** round(math.log2(share)))
    else:
        batch_size = _check_int("batch_size", requested_batch_size, MIN_BATCH_SIZE, MAX_BATCH_SIZE)
    if requested_lr_multiplier is None:
        lr = DEFAULT_LEARNING_RATE_MULTIPLIER
    else:
        if isinstance(requested_lr_multiplier, bool) or not isinstance(
            requested_lr_multiplier, (int, float)
        ):
            raise ValueError(
                f"learning_rate_multiplier must be a number, got {requested_lr_multiplier!r}"
            )
        lr = float(requested_lr_multiplier)
        if not 0.0 < lr <= MAX_LEARNING_RATE_MULTIPLIER:  # also rejects NaN
            raise ValueError(
                "learning_rate_multiplier must be greater than 0 and at most "
                f"{MAX_LEARNING_RATE_MULTIPLIER:g}, got {requested_lr_multiplier!r}"
            )
    return Hyperparameters(n_epochs=n_epochs, batch_size=batch_size, learning_rate_multiplier=lr)


def steps_per_epoch(n_examples: int, batch_size: int) -> int:
    """Optimiser steps in one epoch: one per batch, the last batch possibly smaller; at least 1."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    return max(1, -(-n_examples // batch_size))


def _mean(nll: float, correct: int, count: int) -> tuple[float, float] | None:
    if count == 0:
        return None
    return nll / count, correct / count


def train(
    train: Sequence[TrainingExample],
    validation: Sequence[TrainingExample],
    hp: Hyperparameters,
    seed: int,
    *,
    vocab_size: int = DEFAULT_VOCAB_SIZE,
) -> list[StepMetrics]:
    """Train a fresh model on ``train`` and return the metrics of every step, in order.

    Deterministic for equal inputs and ``seed``. Each epoch shuffles the examples (a
    ``random.Random(seed)`` carried across epochs) and cuts them into batches of
    ``hp.batch_size``; each batch is one step. ``vocab_size`` is the tokenizer's vocabulary size,
    which sets the uniform floor of the smoothing (an untrained model scores ``ln(vocab_size)``);
    it is raised to the largest token id + 1 when the data holds larger ids.

    Validation, when there are validation examples, is measured after the step's update:
    ``valid_*`` on a mini-batch of ``min(batch_size, len(validation))`` examples drawn in a
    seeded rotating order, ``full_valid_*`` on the whole validation set at the last step of each
    epoch. A batch without any trainable token repeats the previous step's figures.
    """
    if not train:
        raise ValueError("training needs at least one example")
    _check_int("n_epochs", hp.n_epochs, MIN_EPOCHS, MAX_EPOCHS)
    _check_int("batch_size", hp.batch_size, MIN_BATCH_SIZE, MAX_BATCH_SIZE)
    if not 0.0 < hp.learning_rate_multiplier <= MAX_LEARNING_RATE_MULTIPLIER:
        raise ValueError(f"learning_rate_multiplier out of range: {hp.learning_rate_multiplier!r}")
    largest = max((max(ex.tokens) for ex in (*train, *validation) if ex.tokens), default=-1)
    model = TrigramModel(max(vocab_size, largest + 1))
    train_pos = [model.positions(ex.tokens, ex.trainable) for ex in train]
    valid_pos = [model.positions(ex.tokens, ex.trainable) for ex in validation]
    eta = hp.learning_rate_multiplier / math.sqrt(hp.batch_size)

    order_rng = random.Random(seed)
    valid_rng = random.Random(f"{seed}/validation")
    valid_order: list[int] = []
    valid_size = min(hp.batch_size, len(valid_pos))

    uniform = (math.log(model.vocab_size), 0.0)
    last_train = uniform
    last_valid = uniform
    metrics: list[StepMetrics] = []
    per_epoch = steps_per_epoch(len(train_pos), hp.batch_size)
    for _epoch in range(hp.n_epochs):
        order = list(range(len(train_pos)))
        order_rng.shuffle(order)
        for index in range(per_epoch):
            batch = [
                train_pos[i] for i in order[index * hp.batch_size : (index + 1) * hp.batch_size]
            ]
            last_train = _mean(*model.evaluate(batch)) or last_train
            model.update(batch, eta)
            valid: tuple[float, float] | None = None
            full: tuple[float, float] | None = None
            if valid_pos:
                sample: list[list[Position]] = []
                while len(sample) < valid_size:
                    if not valid_order:
                        valid_order = list(range(len(valid_pos)))
                        valid_rng.shuffle(valid_order)
                    sample.append(valid_pos[valid_order.pop()])
                valid = last_valid = _mean(*model.evaluate(sample)) or last_valid
                if index == per_epoch - 1:
                    full = _mean(*model.evaluate(valid_pos)) or last_valid
            metrics.append(
                StepMetrics(
                    step=len(metrics) + 1,
                    train_loss=last_train[0],
                    train_mean_token_accuracy=last_train[1],
                    valid_loss=valid[0] if valid else None,
                    valid_mean_token_accuracy=valid[1] if valid else None,
                    full_valid_loss=full[0] if full else None,
                    full_valid_mean_token_accuracy=full[1] if full else None,
                )
            )
    return metrics
