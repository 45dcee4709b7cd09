"""How long ``ftflow run`` takes to give up on an endpoint nothing listens on, against the
retry delays it is configured to wait.

The upload task retries transient errors (a refused connection among them) with exponential
backoff (``tasks._policy.TRANSIENT_RETRIES``: 4 retries, 2, 4, 8 and 16 s, jitter up to 50%).
The baseline is those delays as configured, without jitter: what a user waits at the least
before hearing that the endpoint is wrong. The figure is ``ftflow run``'s wall time from start
to exit 1 (Prefect's temporary server included, as a user runs it), and the ratio says what
the run adds to the delays. A fresh ``PREFECT_HOME`` under ``benchmarks/out/flow_give_up/``
per run; ``--repeat N`` (default 3) keeps the fastest. ``--record`` appends to RESULTS.md.

This was an assertion in ``tests/badinput`` ("gives up in under 90 s"); the test now checks the
number of attempts, and the duration is measured here.

Usage: ``python benchmarks/flow_give_up.py [--repeat 3] [--record]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import sys
import time
from pathlib import Path

from _flowbench import FTFLOW, PARAMS, REPO, CpuMeter, mark, own_env, run_command  # type: ignore[import-not-found, unused-ignore]
from _measure import foreign_warning, record  # type: ignore[import-not-found, unused-ignore]

from tasks._policy import TRANSIENT_RETRIES

OUT = Path(__file__).resolve().parent / "out" / "flow_give_up"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def configured_delays() -> float:
    """The retry delays of the upload task, without jitter (seconds)."""
    retries = int(TRANSIENT_RETRIES["retries"])
    delays = TRANSIENT_RETRIES["retry_delay_seconds"]
    if callable(delays):  # Prefect's exponential_backoff: the list of delays for N retries
        delays = delays(retries)
    if isinstance(delays, list):
        return float(sum(delays))
    return float(delays) * retries


def give_up_once(params: Path, home: Path) -> float:
    """Wall seconds of one ``ftflow run`` against a closed port, to its exit 1."""
    shutil.rmtree(home, ignore_errors=True)
    endpoint = f"https://127.0.0.1:{_closed_port()}"
    env = own_env() | {
        "PREFECT_HOME": str(home),
        "AZURE_OPENAI_ENDPOINT": endpoint,
        "AZURE_OPENAI_API_KEY": "benchmark-key-unused",
        "AZURE_OPENAI_MAX_RETRIES": "0",
        "AZURE_SUBSCRIPTION_ID": "00000000-0000-4000-8000-000000000000",
        "AZURE_RESOURCE_GROUP": "benchmark",
        "AZURE_OPENAI_ACCOUNT": "benchmark",
    }
    started = time.monotonic()
    done = run_command([str(FTFLOW), "run", str(params)], env)
    seconds = time.monotonic() - started
    if done.returncode != 1 or f"could not reach {endpoint}" not in done.stdout:
        raise SystemExit(f"ftflow run did not give up as expected:\n{done.stdout[-3000:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()

    mark()
    OUT.mkdir(parents=True, exist_ok=True)
    request = json.loads(PARAMS.read_text())
    request.pop("base_deployment", None)
    for name in ("training_file", "validation_file"):
        request[name] = str(REPO / request[name])
    params = OUT / "params.json"
    params.write_text(json.dumps(request))

    meter = CpuMeter()
    started = time.monotonic()
    runs = [give_up_once(params, OUT / f"prefect-{i}") for i in range(args.repeat)]
    wall = time.monotonic() - started
    _, foreign = meter.read()

    baseline = configured_delays()
    fastest = min(runs)
    lines = [
        f"give up on an unreachable endpoint: ftflow run {fastest:.1f} s (fastest of "
        f"{args.repeat}: {', '.join(f'{s:.1f}' for s in runs)} s)",
        f"baseline, the configured retry delays without jitter: {baseline:.1f} s",
        f"ratio: {fastest / baseline:.2f}x the delays",
        *foreign_warning(foreign, wall, "the runs"),
    ]
    print("\n".join(lines))
    if args.record:
        record(lines, "ftflow run gives up on an unreachable endpoint", "prefect")
    return 0


if __name__ == "__main__":
    sys.exit(main())
