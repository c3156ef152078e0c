"""The ``duoce`` console entry: the CLI (:mod:`interfaces.cli`), run as a module too
(``python -m interfaces.launch``)."""

from __future__ import annotations


def main() -> None:  # pragma: no cover - console entry (tests/interfaces/test_launch.py runs it)
    from interfaces.cli import main as cli_main

    cli_main()


if __name__ == "__main__":  # pragma: no cover
    main()
