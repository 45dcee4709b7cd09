"""``python -m emulator``: see :mod:`emulator.cli`."""

from __future__ import annotations

from emulator.cli import main

raise SystemExit(main())
