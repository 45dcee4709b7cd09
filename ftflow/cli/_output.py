"""Shared terminal helpers: errors to stderr, exit codes."""

from __future__ import annotations

from typing import NoReturn

import click

__all__ = ["EXIT_FINDINGS", "EXIT_OK", "EXIT_USAGE", "abort"]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


def abort(message: str, code: int = EXIT_FINDINGS) -> NoReturn:
    """Print ``message`` to stderr as an error and exit with ``code``; no traceback."""
    click.echo(f"error: {message}", err=True)
    raise SystemExit(code)
