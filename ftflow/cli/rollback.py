"""``ftflow rollback``: the stable deployment serves the previous model again.

Runs the ``rollback`` flow (it needs Prefect, to read the continuous pipeline's state from
its Variable, so the command is an entry point above every layer, like ``ftflow run``). Exit 0
when the model was restored, 1 when there is nothing to roll back to or the rollback failed
(the reason printed, no traceback), 2 for a usage problem.
"""

from __future__ import annotations

import click

from ftflow.cli._output import EXIT_FINDINGS, EXIT_USAGE, abort
from ftflow.continuous.request import DEFAULT_VARIABLE, RollbackRequest

__all__ = ["rollback"]


@click.command()
@click.option(
    "--variable",
    default=DEFAULT_VARIABLE,
    show_default=True,
    envvar="FTFLOW_CONTINUOUS_VARIABLE",
    show_envvar=True,
    help="Prefect Variable holding the continuous pipeline's state.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON, nothing else.")
def rollback(variable: str, as_json: bool) -> None:
    """Restore the previous model on the continuous pipeline's stable deployment."""
    import asyncio  # noqa: PLC0415

    from pydantic import ValidationError  # noqa: PLC0415

    try:
        request = RollbackRequest(variable=variable)
    except ValidationError as error:
        abort(f"--variable {variable!r}: {error.errors()[0]['msg']}", EXIT_USAGE)
    from flows.rollback import rollback as rollback_flow  # noqa: PLC0415 - the entry point
    from ftflow.notifications import StageFailed  # noqa: PLC0415

    try:
        result = asyncio.run(rollback_flow(request))
    except StageFailed as failure:
        abort(f"rollback failed at {failure.stage}: {failure.message}", EXIT_FINDINGS)
    except Exception as error:
        abort(f"rollback failed: {error}", EXIT_FINDINGS)
    if as_json:
        click.echo(result.model_dump_json())
    else:
        click.echo(result.message)
