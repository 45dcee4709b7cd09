"""Print uv's pinned requirement, with every hash uv.lock records for it, for pip.

make installs uv with `pip install --require-hashes` from this line, so the installer that
reads the lock is itself the version, and the bytes, the lock holds.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

LOCK = Path(__file__).resolve().parent.parent / "uv.lock"


def uv_requirement(lock: Path = LOCK) -> str:
    packages = tomllib.loads(lock.read_text(encoding="utf-8"))["package"]
    pinned = [package for package in packages if package["name"] == "uv"]
    if len(pinned) != 1:
        raise SystemExit(f"{lock}: expected one locked version of uv, found {len(pinned)}")
    (package,) = pinned
    hashes = [wheel["hash"] for wheel in package.get("wheels", [])]
    if "sdist" in package:
        hashes.append(package["sdist"]["hash"])
    options = " ".join(f"--hash={digest}" for digest in hashes)
    return f"uv=={package['version']} {options}"


if __name__ == "__main__":
    sys.stdout.write(uv_requirement() + "\n")
