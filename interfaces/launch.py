"""The ``duoce`` console entry: the CLI (:mod:`interfaces.cli`), run as a module too
(``python -m interfaces.launch``).

Before anything imports numpy, the entry asks numpy's bundled OpenBLAS for no thread pool
of its own (``OPENBLAS_NUM_THREADS=1``, unless the user set it): a check does no large
linear algebra, and the pool's extra thread spins at start-up — measured per thread from
``/proc/self/task``: 0.10 s CPU on every ``duoce`` run, for nothing (≈ 4 % of an L check).
Dask does the same for its workers. Child processes (the web's check pool, the flows
``duoce serve`` starts) inherit it.
"""

from __future__ import annotations

import os


def main() -> None:  # pragma: no cover - console entry (tests/interfaces/test_launch.py runs it)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from interfaces.cli import main as cli_main

    cli_main()


if __name__ == "__main__":  # pragma: no cover
    main()
