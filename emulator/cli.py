"""Command line: ``python -m emulator serve [options]`` (also ``ftflow emulator serve``).

On start it prints the client settings as ``NAME=value`` lines on stdout and nothing else, so
``eval "$(python -m emulator serve ... &)"``-style use and ``.env`` files work; logs go to
stderr. Exit codes: 0 after a clean stop, 1 for a runtime error, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emulator.config import EmulatorConfig, Tunables
from emulator.core.faults import parse_fault_spec

__all__ = ["build_parser", "config_from_args", "main"]

_DEFAULTS = EmulatorConfig()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m emulator",
        description="Local emulator of Azure OpenAI fine-tuning and ARM model deployments.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the emulator over HTTPS")
    serve.add_argument(
        "--host", default=_DEFAULTS.host, help="address to bind (default %(default)s)"
    )
    serve.add_argument(
        "--port",
        type=int,
        default=_DEFAULTS.port,
        help="port to bind; 0 picks a free one (default %(default)s)",
    )
    serve.add_argument(
        "--data-dir",
        type=Path,
        default=_DEFAULTS.data_dir,
        help="state, TLS material and secrets (default %(default)s)",
    )
    serve.add_argument(
        "--speed",
        type=float,
        default=_DEFAULTS.speed,
        help="simulated seconds per wall second (default %(default)s)",
    )
    serve.add_argument(
        "--clock",
        choices=("scaled", "manual"),
        default=_DEFAULTS.clock,
        help="'manual': time moves only via POST /_emulator/clock/advance",
    )
    serve.add_argument(
        "--allow-remote", action="store_true", help="permit binding a non-loopback address"
    )
    serve.add_argument("--api-key", help="data plane key (default: generated, kept in data dir)")
    serve.add_argument("--client-secret", help="Entra client secret (default: generated)")
    serve.add_argument("--subscription-id", default=_DEFAULTS.subscription_id)
    serve.add_argument("--resource-group", default=_DEFAULTS.resource_group)
    serve.add_argument("--account", default=_DEFAULTS.account_name, help="account name")
    serve.add_argument("--location", default=_DEFAULTS.location)
    serve.add_argument("--tenant-id", default=_DEFAULTS.tenant_id)
    serve.add_argument("--client-id", default=_DEFAULTS.client_id)
    serve.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="install a fault rule, e.g. 'POST /openai/fine_tuning/jobs 503 share=0.5', "
        "'* /openai/.* latency latency_ms=200', 'POST /openai/files drop times=1', "
        "'job internal_error', 'deployment name=my-.*', 'file filename=bad.*'",
    )
    serve.add_argument("--fault-seed", type=int, default=0, help="seed of partial faults")
    serve.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="GROUP.NAME=VALUE",
        help="override a setting, e.g. limits.max_files=5, timings.deployment_seconds=10, "
        "behaviour.v1_job_statuses=openai (see GET /_emulator/settings)",
    )
    serve.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    return parser


def _parse_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """An :class:`EmulatorConfig` from parsed ``serve`` arguments (ValueError if invalid)."""
    changes: dict[str, dict[str, Any]] = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        group, dot, field = name.partition(".")
        if not sep or not dot:
            raise ValueError(f"--set expects GROUP.NAME=VALUE, got {item!r}")
        changes.setdefault(group, {})[field] = _parse_value(value)
    tunables = Tunables().updated(changes)
    for spec in args.fault:
        parse_fault_spec(spec)
    if args.speed <= 0:
        raise ValueError(f"--speed must be positive, got {args.speed}")
    return EmulatorConfig(
        data_dir=args.data_dir,
        host=args.host,
        port=args.port,
        allow_remote=args.allow_remote,
        speed=args.speed,
        clock=args.clock,
        api_key=args.api_key,
        client_secret=args.client_secret,
        subscription_id=args.subscription_id,
        resource_group=args.resource_group,
        account_name=args.account,
        location=args.location,
        tenant_id=args.tenant_id,
        client_id=args.client_id,
        faults=tuple(args.fault),
        fault_seed=args.fault_seed,
        tunables=tunables,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    from emulator.server import NonLoopbackRefused, serve_forever  # noqa: PLC0415 - heavy

    try:
        serve_forever(config)
    except NonLoopbackRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot serve on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0
