"""The ``duoce`` console entry: for ``duoce check PACKAGE …`` the drawing readers start
first, before the CLI's own imports (typer, rich, pydantic: ≈ 0.3 s that the readers spend
importing theirs), then the CLI runs as usual and takes them over.

Only the plain form ``duoce check PACKAGE`` (the package first) is recognised here; any
other form starts its readers in the command, as every verb does. ``DUOCE_READ_WORKERS``
is honoured from the environment; a ``.env`` value the settings find later wins (the early
readers are then let go).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main() -> None:  # pragma: no cover - console entry (tests/interfaces/test_launch.py runs it)
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "check" and not args[1].startswith("-"):
        from parsers.pool import hold_early, read_workers, readers_for

        value = os.environ.get("DUOCE_READ_WORKERS", "").strip()
        requested = int(value) if value.isdigit() else None
        hold_early(args[1], readers_for(Path(args[1]), read_workers(requested)))
    from interfaces.cli import main as cli_main

    cli_main()


if __name__ == "__main__":  # pragma: no cover
    main()
