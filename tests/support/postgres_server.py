"""A private PostgreSQL server for a test: Debian's ``postgresql`` binaries, a fresh cluster.

`running_postgres` runs ``initdb`` into a new temporary directory (owned by the ``postgres``
system user when the tests run as root, since PostgreSQL refuses to run as root), starts it
with ``pg_ctl`` on a free port of 127.0.0.1 only, with a random password for the one role
(``scram-sha-256``, no trust authentication) and ``fsync=off`` (a test cluster is thrown
away), creates the database, and yields its SQLAlchemy URL for asyncpg. Afterwards it stops
the cluster (``pg_ctl stop -m fast``) and removes the directory. ``make test`` installs the
``postgresql`` package.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Postgres", "postgres_bin", "running_postgres"]

ROLE = "ftflow"
_INSTALL = "apt-get install -y postgresql (`make test` does it when run as root)"


@dataclass(frozen=True)
class Postgres:
    """A running test cluster."""

    url: str
    """``postgresql+asyncpg://ftflow:<password>@127.0.0.1:<port>/<database>``: a secret."""
    port: int
    log_file: Path


def postgres_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding ``pg_ctl``, if any."""
    found = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")]
    found.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return found[-1] if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(command: Sequence[str | Path], *, cwd: Path, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{Path(str(command[0])).name} … failed (exit {done.returncode}): "
            f"{(done.stdout + done.stderr).strip()[-2000:]}"
        )


@contextmanager
def running_postgres(database: str = "prefect") -> Iterator[Postgres]:
    """A fresh PostgreSQL cluster with ``database``, for the duration of the block."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise RuntimeError(f"PostgreSQL is not installed: {_INSTALL}")
    base = Path(tempfile.mkdtemp(prefix="ftflow-postgres-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(base, owner.pw_uid, owner.pw_gid)
        as_owner = ["runuser", "-u", "postgres", "--"]
    data, log_file = base / "data", base / "postgres.log"
    password = secrets.token_urlsafe(24)
    port = _free_port()
    started = False
    try:
        password_file = base / "password"
        password_file.write_text(password + "\n")
        password_file.chmod(0o600)
        if as_owner:
            os.chown(password_file, owner.pw_uid, owner.pw_gid)
        initdb: list[str | Path] = [
            bin_dir / "initdb",
            "-D",
            data,
            "-U",
            ROLE,
            "-E",
            "UTF8",
            "--no-sync",
        ]
        _run([*as_owner, *initdb, "--auth=scram-sha-256", f"--pwfile={password_file}"], cwd=base)
        password_file.unlink()
        options = f"-p {port} -c listen_addresses=127.0.0.1 -k {base} -c fsync=off"
        pg_ctl: list[str | Path] = [bin_dir / "pg_ctl", "-D", data, "-l", log_file, "-o", options]
        _run([*as_owner, *pg_ctl, "-w", "-t", "120", "start"], cwd=base)
        started = True
        client_env = os.environ | {"PGPASSWORD": password}
        _run(
            [bin_dir / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", ROLE, database],
            cwd=base,
            env=client_env,
        )
        url = f"postgresql+asyncpg://{ROLE}:{password}@127.0.0.1:{port}/{database}"
        yield Postgres(url=url, port=port, log_file=log_file)
    finally:
        if started:
            _run([*as_owner, bin_dir / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop"], cwd=base)
        shutil.rmtree(base, ignore_errors=True)
