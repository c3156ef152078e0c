"""Starting the web application under uvicorn (``duoce serve`` will call :func:`run` once
the Prefect worker is wired in)."""

from __future__ import annotations

from pathlib import Path


def run(
    host: str = "127.0.0.1", port: int = 8000, store: Path | str | None = None, **settings
) -> None:
    """Serve the application on ``host:port`` until interrupted (Ctrl-C / SIGTERM)."""
    import uvicorn

    from interfaces.web.app import create_app
    from interfaces.web.settings import WebSettings

    app = create_app(WebSettings.from_env(store=Path(store) if store else None, **settings))
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)


if __name__ == "__main__":  # pragma: no cover - python -m interfaces.web.serve [PORT] [STORE]
    import sys

    run(
        port=int(sys.argv[1]) if len(sys.argv) > 1 else 8000,
        store=sys.argv[2] if len(sys.argv) > 2 else None,
    )
