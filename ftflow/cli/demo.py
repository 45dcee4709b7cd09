"""``ftflow demo``: the whole pipeline on the local emulator with the bundled sample data.

Starts the emulator as a separate process (its printed settings become the pipeline's
environment, exactly as Azure's would), deploys the base model so the smoke test has
something to compare with, runs ``ftflow run PARAMS`` and stops the emulator. Running it
again resumes: the emulator keeps its state in ``.emulator`` and Prefect its results in
``.prefect``, so nothing is uploaded, trained or deployed twice.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from ftflow.cli._output import EXIT_FINDINGS, abort

__all__ = ["demo"]

_SETTINGS_LINES = 14
_START_TIMEOUT_SECONDS = 60.0


def _read_settings(process: subprocess.Popen[bytes]) -> dict[str, str]:
    """The ``NAME=value`` lines the emulator prints once it listens."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    received = b""
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while received.count(b"\n") < _SETTINGS_LINES:
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(remaining, 0.0))
        chunk = os.read(fd, 65536) if ready else b""
        if not chunk:
            abort("the emulator did not start; see .emulator/emulator.log", EXIT_FINDINGS)
        received += chunk
    lines = received.decode().splitlines()[:_SETTINGS_LINES]
    return dict(line.partition("=")[::2] for line in lines)


@contextmanager
def _emulator(data_dir: Path, speed: float) -> Iterator[dict[str, str]]:
    data_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "emulator", "serve", "--port", "0"]
    command += ["--data-dir", str(data_dir), "--speed", str(speed)]
    with (data_dir / "emulator.log").open("ab") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log)
        try:
            yield _read_settings(process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _deploy_base(model: str, name: str) -> None:
    from ftflow.azure.clients import connect  # noqa: PLC0415
    from ftflow.azure.deployments import DeploymentSpec, deploy  # noqa: PLC0415
    from ftflow.settings import (  # noqa: PLC0415
        DataPlaneSettings,
        IdentitySettings,
        ManagementSettings,
    )

    azure = connect(DataPlaneSettings(), ManagementSettings(), IdentitySettings())
    try:
        state = deploy(
            azure.management,
            azure.resource_group,
            azure.account,
            DeploymentSpec(name=name, model=model),
        )
    finally:
        azure.close()
    click.echo(f"base model {model} deployed as {name}: {state.provisioning_state}")


@click.command()
@click.option(
    "--params",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=Path("examples/emulator-params.json"),
    show_default=True,
    help="Flow parameters to run.",
)
@click.option(
    "--data-dir", type=click.Path(path_type=Path), default=Path(".emulator"), show_default=True
)
@click.option("--speed", type=float, default=600.0, show_default=True, help="Emulator speed.")
def demo(params: Path, data_dir: Path, speed: float) -> None:
    """Run the fine-tune flow end to end on the local emulator."""
    import orjson  # noqa: PLC0415

    request = orjson.loads(params.read_bytes())
    started = time.monotonic()
    with _emulator(data_dir.resolve(), speed) as settings:
        os.environ.update({k: v for k, v in settings.items() if k.startswith("AZURE_")})
        click.echo(f"emulator serving on {settings['AZURE_OPENAI_ENDPOINT']}")
        if request.get("base_deployment"):
            _deploy_base(request["base_model"], request["base_deployment"])
        ftflow = Path(sys.executable).parent / "ftflow"
        code = subprocess.call([str(ftflow), "run", str(params)])
    click.echo(f"demo finished in {time.monotonic() - started:.1f} s")
    raise SystemExit(code)
