"""The simulated training run: real arithmetic on the tokens, driven by the hyperparameters."""

from __future__ import annotations

import math
import random

import pytest

from emulator.simulation import (
    Hyperparameters,
    StepMetrics,
    TrainingExample,
    steps_per_epoch,
    train,
)


def make_examples(
    n: int, seed: int, *, noise: float = 0.2, patterns: int = 10, length: int = 12
) -> list[TrainingExample]:
    """A learnable toy language: a 3-token prompt picks a pattern the 12-token reply follows.

    The prompt is not trained on (like system and user turns); a share ``noise`` of the reply
    tokens is replaced by random tokens that no model can predict.
    """
    rng = random.Random(seed)
    examples = []
    for _ in range(n):
        pattern = rng.randrange(patterns)
        prompt = [1, 2, 10 + pattern]
        reply = [
            1000 + rng.randrange(200) if rng.random() < noise else 100 + 20 * pattern + j
            for j in range(length)
        ]
        examples.append(
            TrainingExample(tuple(prompt + reply), (False,) * len(prompt) + (True,) * length)
        )
    return examples


TRAIN = make_examples(40, seed=1)
VALID = make_examples(10, seed=2)


def epoch_mean_loss(metrics: list[StepMetrics], epoch: int, per_epoch: int) -> float:
    steps = metrics[(epoch - 1) * per_epoch : epoch * per_epoch]
    return sum(step.train_loss for step in steps) / len(steps)


def test_untrained_model_is_uniform_over_the_vocabulary() -> None:
    metrics = train(TRAIN, [], Hyperparameters(1, 4, 1.0), seed=0, vocab_size=5000)
    assert metrics[0].step == 1
    assert metrics[0].train_loss == pytest.approx(math.log(5000))
    assert metrics[0].train_mean_token_accuracy == 0.0


def test_vocabulary_grows_to_cover_the_largest_token_id() -> None:
    metrics = train(TRAIN, [], Hyperparameters(1, 4, 1.0), seed=0, vocab_size=10)
    assert metrics[0].train_loss == pytest.approx(math.log(1200))  # ids go up to 1199


def test_one_step_by_hand() -> None:
    """Counts 1 everywhere after one update; each order backs off to the one below with alpha 2."""
    example = TrainingExample((5, 6, 7), (True, True, True))
    metrics = train([example], [], Hyperparameters(2, 1, 1.0), seed=0, vocab_size=10)
    unigram = (1 + 64 / 10) / (3 + 64)
    bigram = (1 + 2 * unigram) / (1 + 2)
    trigram = (1 + 2 * bigram) / (1 + 2)
    assert [step.train_loss for step in metrics] == pytest.approx(
        [math.log(10), -math.log(trigram)]
    )
    assert [step.train_mean_token_accuracy for step in metrics] == [0.0, 1.0]


def test_learning_rate_multiplier_scales_the_update() -> None:
    """At learning rate 3 one update is worth three at learning rate 1 (counts add up)."""
    example = TrainingExample((5, 6, 7), (True, True, True))
    fast = train([example], [], Hyperparameters(2, 1, 3.0), seed=0, vocab_size=10)
    slow = train([example], [], Hyperparameters(4, 1, 1.0), seed=0, vocab_size=10)
    assert fast[1].train_loss == pytest.approx(slow[3].train_loss)


def test_loss_falls_and_accuracy_rises_with_training() -> None:
    metrics = train(TRAIN, VALID, Hyperparameters(3, 1, 1.0), seed=0)
    first = metrics[:5]
    last = metrics[-40:]
    first_loss = sum(step.train_loss for step in first) / len(first)
    last_loss = sum(step.train_loss for step in last) / len(last)
    assert first_loss > 4.0
    assert last_loss < 0.6
    last_accuracy = sum(step.train_mean_token_accuracy for step in last) / len(last)
    assert metrics[0].train_mean_token_accuracy == 0.0
    assert last_accuracy > 0.8
    assert all(0.0 <= step.train_mean_token_accuracy <= 1.0 for step in metrics)


def test_higher_learning_rate_multiplier_learns_faster() -> None:
    losses = []
    for lr in (0.1, 0.5, 2.0):
        metrics = train(TRAIN, [], Hyperparameters(2, 1, lr), seed=0)
        losses.append(epoch_mean_loss(metrics, 2, 40))
    assert losses[0] > losses[1] > losses[2]
    assert losses[0] - losses[2] > 0.5


def test_more_epochs_mean_more_steps_and_lower_training_loss() -> None:
    two = train(TRAIN, [], Hyperparameters(2, 4, 1.0), seed=0)
    six = train(TRAIN, [], Hyperparameters(6, 4, 1.0), seed=0)
    assert len(two) == 2 * steps_per_epoch(40, 4) == 20
    assert len(six) == 6 * 10
    assert [step.step for step in six] == list(range(1, 61))
    assert six[:20] == two  # the same seed shuffles the first epochs the same way
    assert epoch_mean_loss(six, 6, 10) < epoch_mean_loss(two, 2, 10) - 0.1


def test_larger_batches_take_fewer_steps_and_learn_less_per_epoch() -> None:
    """Measured on the training examples themselves after one epoch: how much was learnt."""
    by_batch = {size: train(TRAIN, TRAIN, Hyperparameters(1, size, 1.0), 0) for size in (1, 16)}
    assert len(by_batch[1]) == 40
    assert len(by_batch[16]) == 3  # 16 + 16 + 8
    small, large = by_batch[1][-1].full_valid_loss, by_batch[16][-1].full_valid_loss
    assert small is not None
    assert large is not None
    assert large > small + 0.3


def test_different_data_give_different_curves() -> None:
    hp = Hyperparameters(2, 2, 1.0)
    easy = train(make_examples(40, seed=1, noise=0.0), [], hp, seed=0)
    hard = train(make_examples(40, seed=1, noise=0.6), [], hp, seed=0)
    other = train(make_examples(40, seed=3), [], hp, seed=0)
    base = train(TRAIN, [], hp, seed=0)
    assert epoch_mean_loss(easy, 2, 20) < 0.5 * epoch_mean_loss(hard, 2, 20)
    assert [s.train_loss for s in other] != [s.train_loss for s in base]


def test_validation_metrics_come_from_the_validation_examples() -> None:
    hp = Hyperparameters(3, 4, 1.0)
    without = train(TRAIN, [], hp, seed=0)
    assert all(step.valid_loss is None for step in without)
    assert all(step.valid_mean_token_accuracy is None for step in without)
    assert all(step.full_valid_loss is None for step in without)
    assert all(step.full_valid_mean_token_accuracy is None for step in without)

    held_out = train(TRAIN, VALID, hp, seed=0)
    seen = train(TRAIN, TRAIN[:10], hp, seed=0)
    # Validation never changes what is trained.
    assert [s.train_loss for s in held_out] == [s.train_loss for s in without]
    assert all(s.valid_loss is not None and s.valid_loss > 0 for s in held_out)
    ends = [s.step for s in held_out if s.full_valid_loss is not None]
    assert ends == [10, 20, 30]
    assert all(s.full_valid_mean_token_accuracy is not None for s in held_out if s.step in ends)
    # Examples the model was trained on score better than held-out ones with novel noise.
    held_out_final = held_out[-1].full_valid_loss
    seen_final = seen[-1].full_valid_loss
    assert held_out_final is not None
    assert seen_final is not None
    assert seen_final < held_out_final - 1.0


def test_full_validation_is_the_whole_validation_set() -> None:
    """With a batch as large as the validation set, the mini-batch is the whole set."""
    metrics = train(TRAIN, VALID, Hyperparameters(2, 10, 1.0), seed=0)
    for step in metrics:
        if step.full_valid_loss is not None:
            assert step.full_valid_loss == pytest.approx(step.valid_loss)
            assert step.full_valid_mean_token_accuracy == pytest.approx(
                step.valid_mean_token_accuracy
            )


def test_many_epochs_at_a_high_rate_overfit() -> None:
    metrics = train(TRAIN, VALID, Hyperparameters(20, 1, 5.0), seed=0)
    full = [s.full_valid_loss for s in metrics if s.full_valid_loss is not None]
    assert len(full) == 20
    assert full[-1] > full[0] + 0.5  # validation loss rises...
    assert epoch_mean_loss(metrics, 20, 40) < epoch_mean_loss(metrics, 1, 40)  # ...training falls


def test_context_includes_tokens_that_are_not_trained_on() -> None:
    """Only the untrained prompt says which pattern follows, yet the model learns to predict it."""
    data = make_examples(40, seed=1, noise=0.0)
    metrics = train(data, data, Hyperparameters(3, 1, 2.0), seed=0)
    assert metrics[-1].full_valid_mean_token_accuracy == 1.0


def test_same_seed_same_curve_other_seed_other_curve() -> None:
    hp = Hyperparameters(2, 2, 1.0)
    first = train(TRAIN, VALID, hp, seed=7)
    again = train(TRAIN, VALID, hp, seed=7)
    other = train(TRAIN, VALID, hp, seed=8)
    assert first == again
    assert [s.train_loss for s in first] != [s.train_loss for s in other]
    assert [s.valid_loss for s in first] != [s.valid_loss for s in other]


def test_batches_without_trainable_tokens_repeat_the_previous_figures() -> None:
    silent = TrainingExample((1, 2, 3), (False, False, False))
    metrics = train([silent], [silent], Hyperparameters(2, 1, 1.0), seed=0, vocab_size=100)
    assert [s.train_loss for s in metrics] == pytest.approx([math.log(100)] * 2)
    assert [s.valid_loss for s in metrics] == pytest.approx([math.log(100)] * 2)


def test_invalid_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="at least one example"):
        train([], [], Hyperparameters(1, 1, 1.0), seed=0)
    with pytest.raises(ValueError, match="n_epochs"):
        train(TRAIN, [], Hyperparameters(0, 1, 1.0), seed=0)
    with pytest.raises(ValueError, match="learning_rate_multiplier"):
        train(TRAIN, [], Hyperparameters(1, 1, 0.0), seed=0)
    with pytest.raises(ValueError, match="differ in length"):
        TrainingExample((1, 2), (True,))
    with pytest.raises(ValueError, match="negative"):
        TrainingExample((1, -2), (True, True))
