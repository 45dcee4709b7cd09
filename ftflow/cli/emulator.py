"""``ftflow emulator``: run the local Azure emulator (the ``emulator`` package)."""

from __future__ import annotations

import click

__all__ = ["emulator"]


@click.group(context_settings={"ignore_unknown_options": True})
def emulator() -> None:
    """The local emulator of Azure OpenAI fine-tuning and ARM deployments."""


@emulator.command(
    "serve", context_settings={"ignore_unknown_options": True, "allow_extra_args": True}
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def serve(args: tuple[str, ...]) -> None:
    """Serve the emulator; options as for `python -m emulator --help`."""
    from emulator.cli import main as emulator_main  # noqa: PLC0415 - launch only

    raise SystemExit(emulator_main(["serve", *args]))
