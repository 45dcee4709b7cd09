"""validate placeholder."""
import click
@click.command()
def validate() -> None:
    """Validate."""
