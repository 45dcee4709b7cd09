"""A local emulator of Azure OpenAI fine-tuning (data plane) and Microsoft.CognitiveServices
model deployments (ARM), with an emulated Entra ID token endpoint, served over HTTPS.

Independent of the pipeline: it never imports ``ftflow``, ``tasks``, ``flows``, ``deployments``
or Prefect. Start it with ``python -m emulator serve`` (see :mod:`emulator.cli`), in a thread with
:class:`emulator.server.EmulatorServer`, or mount :func:`emulator.app.create_app` in-process.
The README in this folder lists endpoints, versions and known differences from Azure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["EmulatorConfig", "EmulatorServer", "create_app"]

if TYPE_CHECKING:
    from emulator.app import create_app
    from emulator.config import EmulatorConfig
    from emulator.server import EmulatorServer


def __getattr__(name: str) -> Any:
    if name == "EmulatorConfig":
        from emulator.config import EmulatorConfig  # noqa: PLC0415 - lazy public surface

        return EmulatorConfig
    if name == "create_app":
        from emulator.app import create_app  # noqa: PLC0415

        return create_app
    if name == "EmulatorServer":
        from emulator.server import EmulatorServer  # noqa: PLC0415

        return EmulatorServer
    raise AttributeError(name)
