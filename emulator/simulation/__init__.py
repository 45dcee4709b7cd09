"""The emulator's simulation core: real training arithmetic and data-driven answers.

:mod:`~emulator.simulation.training` trains a small smoothed n-gram model on a job's tokens and
reports per-step loss and token accuracy; :mod:`~emulator.simulation.responder` makes fine-tuned
deployments answer from their training data and base models answer generically.
"""

from emulator.simulation.responder import (
    Exchange,
    Responder,
    exchanges_from_chat,
    generic_reply,
    message_text,
)
from emulator.simulation.training import (
    DEFAULT_VOCAB_SIZE,
    Hyperparameters,
    StepMetrics,
    TrainingExample,
    resolve_hyperparameters,
    steps_per_epoch,
    train,
)

__all__ = [
    "DEFAULT_VOCAB_SIZE",
    "Exchange",
    "Hyperparameters",
    "Responder",
    "StepMetrics",
    "TrainingExample",
    "exchanges_from_chat",
    "generic_reply",
    "message_text",
    "resolve_hyperparameters",
    "steps_per_epoch",
    "train",
]
