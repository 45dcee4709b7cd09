"""Continuous fine-tuning, the core: data versions, state, serving and reports; no Prefect.

=================  ==========================================================================
``request``        `ContinuousRequest`, the flow's parameters, and `ContinuousResult`
``data``           scanning a data location (any fsspec URL), new files, the training set
``state``          `ContinuousState` (trained hashes, promoted/previous model, lineage)
``serving``        asking a deployment the evaluation questions; deleting a deployment
``report``         lineage and evaluation tables, summaries, notification messages
=================  ==========================================================================

The metrics and the promote/reject decision are in `ftflow.evaluation`.
"""

from ftflow.continuous.data import (
    DataFile,
    DataLocationError,
    TrainingSet,
    build_training_set,
    read_text,
    scan,
    select,
)
from ftflow.continuous.request import (
    DEFAULT_VARIABLE,
    ContinuousRequest,
    ContinuousResult,
    Outcome,
    RollbackRequest,
    RollbackResult,
)
from ftflow.continuous.state import (
    ContinuousState,
    LineageEntry,
    NothingToRollBack,
    StateTooLarge,
    fit,
    record_decision,
    record_rollback,
)

__all__ = [
    "DEFAULT_VARIABLE",
    "ContinuousRequest",
    "ContinuousResult",
    "ContinuousState",
    "DataFile",
    "DataLocationError",
    "LineageEntry",
    "NothingToRollBack",
    "Outcome",
    "RollbackRequest",
    "RollbackResult",
    "StateTooLarge",
    "TrainingSet",
    "build_training_set",
    "fit",
    "read_text",
    "record_decision",
    "record_rollback",
    "scan",
    "select",
]
