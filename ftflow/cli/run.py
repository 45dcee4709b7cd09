"""``ftflow run PARAMS.json``: run the ``fine-tune`` flow from the command line.

Progress streams to the terminal as the flow logs it (job events included). The parameters
are checked before anything starts: a bad file or field is a usage error (exit 2) naming the
field. Exit 0 when the run completes, 1 when it fails (the failing stage and its error are
printed, no traceback).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from ftflow.cli._output import EXIT_FINDINGS, EXIT_USAGE, abort
from ftflow.request import FineTuneRequest

__all__ = ["run"]


def _request_from(path: Path) -> FineTuneRequest:
    import orjson  # noqa: PLC0415
    from pydantic import ValidationError  # noqa: PLC0415

    try:
        data = orjson.loads(path.read_bytes())
    except OSError as error:
        abort(f"{path}: cannot read: {error.strerror}", EXIT_USAGE)
    except orjson.JSONDecodeError as error:
        abort(f"{path}: not valid JSON: {error}", EXIT_USAGE)
    if isinstance(data, dict) and "request" in data:
        data = data["request"]
    try:
        request = FineTuneRequest.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
            for e in error.errors()
        )
        abort(f"{path}: invalid parameters: {problems}", EXIT_USAGE)
    # The flow runs here, in this process: its data files must be here too.
    for field, value in (
        ("training_file", request.training_file),
        ("validation_file", request.validation_file),
    ):
        if value is not None and not Path(value).is_file():
            problem = "not a file" if Path(value).exists() else "no such file"
            abort(f"{path}: invalid parameters: {field}: {problem}: {value}", EXIT_USAGE)
    return request


class _WithoutTraceback(logging.Formatter):
    """Formats a record as ``inner`` would, without its traceback or stack."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        plain = logging.makeLogRecord(record.__dict__)
        plain.exc_info, plain.exc_text, plain.stack_info = None, None, None
        return self.inner.format(plain)


def _terminal_without_tracebacks() -> None:
    """The terminal shows progress and the failure's message; tracebacks stay in the run's
    logs on the Prefect server (its API handler is on the run loggers, not on the root)."""
    for handler in logging.getLogger().handlers:
        if handler.formatter is not None and not isinstance(handler.formatter, _WithoutTraceback):
            handler.setFormatter(_WithoutTraceback(handler.formatter))


@click.command()
@click.argument("params", type=click.Path(path_type=Path))
def run(params: Path) -> None:
    """Run the fine-tune flow with the parameters in PARAMS (JSON, see examples/)."""
    import asyncio  # noqa: PLC0415

    request = _request_from(params)
    # Without PREFECT_API_URL, Prefect starts a temporary server for this run. Its telemetry
    # heartbeat writes to the new SQLite database while the run is being created there, and
    # Prefect 3.9 prints that write's "database is locked" failure as a traceback. A run of
    # this offline tool sends no telemetry anyway; the local stack's server starts the same way.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Its first start migrates a new database: Prefect's 20 s are not enough on a busy machine
    # (measured: the run failed with "Timed out while attempting to connect" on two busy cores).
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    from flows.fine_tune import fine_tune  # noqa: PLC0415 - the CLI is the entry point
    from ftflow.notifications import StageFailed  # noqa: PLC0415

    _terminal_without_tracebacks()
    try:
        result = asyncio.run(fine_tune(request))
    except StageFailed as failure:
        abort(f"the run failed at {failure.stage}: {failure.message}", EXIT_FINDINGS)
    except Exception as error:
        abort(f"the run failed: {error}", EXIT_FINDINGS)
    click.echo(f"fine-tuned model: {result.fine_tuned_model}")
    click.echo(f"deployment: {result.deployment}")
    click.echo(f"smoke test: {result.smoke_verdict}")
