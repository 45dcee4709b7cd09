"""The data gate: JSONL training data checked and counted in the model's own tokens.

The same function serves ``ftflow validate`` and the flow's validate task.
"""

from ftflow.validation.engine import UnreadableInputError, ValidationOptions, validate_dataset
from ftflow.validation.findings import KINDS, Finding, Severity
from ftflow.validation.report import FileReport, ValidationReport
from ftflow.validation.stats import BillingEstimate, TokenDistribution, auto_epochs

__all__ = [
    "KINDS",
    "BillingEstimate",
    "FileReport",
    "Finding",
    "Severity",
    "TokenDistribution",
    "UnreadableInputError",
    "ValidationOptions",
    "ValidationReport",
    "auto_epochs",
    "validate_dataset",
]
