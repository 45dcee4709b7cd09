"""The ``ftflow`` command: one module per command group, registered here and nowhere else."""

from __future__ import annotations

import click

from ftflow import __version__
from ftflow.cli.emulator import emulator
from ftflow.cli.rollback import rollback
from ftflow.cli.run import run
from ftflow.cli.tokenizers import tokenizers
from ftflow.cli.validate import validate

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ftflow")
def main() -> None:
    """Fine-tune Azure OpenAI models on your own data, orchestrated by Prefect."""


main.add_command(validate)
main.add_command(tokenizers)
main.add_command(emulator)
main.add_command(run)
main.add_command(rollback)
