"""The ``duoce`` console entry: for ``duoce check PACKAGE …`` the drawing readers start
first, before the CLI's own imports (typer, rich: ≈ 0.3 s that the readers spend importing
theirs), then the CLI runs as usual and takes them over (:func:`parsers.pool.start_early`).

Only the plain form ``duoce check PACKAGE`` (the package first) is recognised here; any
other form starts its readers in the command, as every verb does. ``DUOCE_WORKERS``
(environment or ``.env``, :mod:`engine.settings`) says how many; 0: none.
"""

from __future__ import annotations

import sys


def main() -> None:  # pragma: no cover - console entry (tests/interfaces/test_launch.py runs it)
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "check" and not args[1].startswith("-"):
        from engine.settings import get_settings
        from parsers.pool import start_early

        try:
            workers = get_settings().workers
        except ValueError:  # a bad setting: the command says so
            workers = 0
        start_early(args[1], workers)
    from interfaces.cli import main as cli_main

    cli_main()


if __name__ == "__main__":  # pragma: no cover
    main()
