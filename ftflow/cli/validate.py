"""``ftflow validate``: the data gate from the command line.

Exit status: 0 when the data may go on (warnings allowed), 1 when errors were found, 2 for a
usage problem or an input that cannot be read.
"""

from __future__ import annotations

from pathlib import Path

import click

from ftflow.cli._output import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, abort

__all__ = ["validate"]


@click.command()
@click.argument("training", type=click.Path(path_type=Path))
@click.option(
    "--validation", type=click.Path(path_type=Path), help="Validation JSONL file to check too."
)
@click.option(
    "--model",
    required=True,
    help="Base model (e.g. gpt-4o-mini-2024-07-18) or a fine-tuned <base>.ft-<hex> model.",
)
@click.option(
    "--epochs",
    type=click.IntRange(1, 50),
    help="Epochs for the cost estimate; default: the service's automatic choice.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    default=None,
    help="Processes to scan with; 0 = one per core. [env FTFLOW_WORKERS]",
)
def validate(
    training: Path,
    validation: Path | None,
    model: str,
    epochs: int | None,
    as_json: bool,
    workers: int | None,
) -> None:
    """Check TRAINING (JSONL) for MODEL: format, tokens, duplicates, cost estimate."""
    from ftflow.catalog import UnknownModelError  # noqa: PLC0415 - keep --help fast
    from ftflow.prices import PriceFileError, load_prices  # noqa: PLC0415
    from ftflow.settings import TokenizerSettings, ValidationSettings  # noqa: PLC0415
    from ftflow.tokenizers import TokenizerUnavailableError  # noqa: PLC0415
    from ftflow.validation import (  # noqa: PLC0415
        UnreadableInputError,
        ValidationOptions,
        validate_dataset,
    )

    settings = ValidationSettings()
    try:
        options = ValidationOptions(
            workers=settings.workers if workers is None else workers,
            prices=load_prices(settings.prices_file),
        )
        report = validate_dataset(
            training,
            model=model,
            validation=validation,
            epochs=epochs,
            encodings_dir=TokenizerSettings().tiktoken_cache_dir,
            options=options,
        )
    except (UnknownModelError, UnreadableInputError, PriceFileError) as error:
        abort(str(error), EXIT_USAGE)
    except TokenizerUnavailableError as error:
        abort(str(error), EXIT_USAGE)
    if as_json:
        import orjson  # noqa: PLC0415

        click.echo(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        from ftflow.cli._report import render  # noqa: PLC0415

        render(report)
    raise SystemExit(EXIT_OK if report.ok else EXIT_FINDINGS)
