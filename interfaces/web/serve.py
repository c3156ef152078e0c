"""Starting the service: :func:`run` (the web application alone under uvicorn) and
:func:`serve_all` (``duoce serve``: everything on one machine).

:func:`serve_all` starts, in this order:

1. a Prefect server on loopback (``prefect server start``, its home under
   ``<store>/web/prefect``), unless ``PREFECT_API_URL`` names one already;
2. the deployments, served in a child process (``python -m flows.deploy``:
   ``check_package/precheck``, ``submit_package/submit``, the rerun and the daily check),
   which runs every flow run the web application starts — the checks never run in the
   web process;
3. the pre-check worker (``python -m interfaces.web.worker``): the deployment
   ``check_package/web-precheck`` run in processes started once, where the web
   application sends its pre-checks (no process start and imports per check);
4. the web application under uvicorn in this process, with ``DUOCE_WEB_PREFECT=1``.

Each child is the leader of its own process group. On Ctrl-C or SIGTERM uvicorn stops,
then the pre-check worker, the deployments and last the Prefect server are terminated one
after the other (their whole groups: the flow runs' processes too), each killed if it does
not stop within ``grace`` seconds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from interfaces.web.jobs import PRECHECK_ENV
from interfaces.web.worker import DEPLOYMENT as WARM_DEPLOYMENT

ROOT = Path(__file__).resolve().parents[2]


def run(
    host: str = "127.0.0.1", port: int = 8000, store: Path | str | None = None, **settings
) -> None:
    """Serve the application on ``host:port`` until interrupted (Ctrl-C / SIGTERM)."""
    import uvicorn

    from interfaces.web.app import create_app
    from interfaces.web.settings import WebSettings

    app = create_app(WebSettings.from_env(store=Path(store) if store else None, **settings))
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _wait_http(url: str, child: subprocess.Popen, timeout: float, what: str) -> None:
    import httpx

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if child.poll() is not None:
            raise RuntimeError(f"{what}未能启动（退出码 {child.returncode}）")
        try:
            if httpx.get(url, timeout=2, trust_env=False).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{what}在 {timeout:.0f} 秒内未就绪：{url}")


def _wait_deployments(names: tuple[str, ...], child: subprocess.Popen, timeout: float) -> None:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    end = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        for name in names:
            while True:
                if child.poll() is not None:
                    raise RuntimeError(f"检查服务的工作进程未能启动（退出码 {child.returncode}）")
                try:
                    client.read_deployment_by_name(name)
                    break
                except ObjectNotFound:
                    if time.monotonic() > end:
                        raise RuntimeError(f"部署 {name} 在 {timeout:.0f} 秒内未就绪") from None
                    time.sleep(0.3)


def _stop(children: list[subprocess.Popen], grace: float) -> None:
    """Terminate each child's process group, newest first, one after the other; kill what
    is left of a group after ``grace`` seconds.

    One after the other, so that the Prefect server (the first child) is still there
    while the deployments and the pre-check worker stop: they tell it on the way out. All
    at once, the served deployments and the server waited for each other until both were
    killed (measured: 15.4 s, the whole grace, for every Ctrl-C).
    """
    for child in reversed(children):
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            what = " ".join(str(a) for a in child.args[1:3])
            print(f"{what} 未在 {grace:.0f} 秒内停止，已强制结束", file=sys.stderr, flush=True)
        with contextlib.suppress(ProcessLookupError):  # the group: flow-run processes too
            os.killpg(child.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5)


def serve_all(
    host: str = "127.0.0.1",
    port: int = 8000,
    store: Path | str | None = None,
    *,
    prefect_port: int | None = None,
    grace: float = 15.0,
    startup_timeout: float = 180.0,
    log_dir: Path | None = None,
    **settings,
) -> None:
    """``duoce serve``: the Prefect server (unless ``PREFECT_API_URL`` is set), the served
    deployments and the web application, stopped together (see the module's docstring)."""
    from engine.settings import get_settings

    store_root = Path(store or get_settings().store).absolute()
    web_dir = store_root / "web"
    log_dir = log_dir or web_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DUOCE_STORE": str(store_root)}
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env.setdefault("DO_NOT_TRACK", "1")
    children: list[subprocess.Popen] = []

    def start(args: list[str], name: str) -> subprocess.Popen:
        sink = (log_dir / f"{name}.log").open("ab")
        child = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as a whole
        )  # fmt: skip
        sink.close()
        children.append(child)
        return child

    def on_term(signum, _frame):  # SIGTERM before uvicorn is up: stop the same way
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        if not env.get("PREFECT_API_URL"):
            env.setdefault("PREFECT_HOME", str(web_dir / "prefect"))
            pport = prefect_port or free_port()
            server = start(
                [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                 "--port", str(pport)], "prefect-server",
            )  # fmt: skip
            env["PREFECT_API_URL"] = f"http://127.0.0.1:{pport}/api"
            _wait_http(env["PREFECT_API_URL"] + "/health", server, startup_timeout, "Prefect 服务")
        os.environ["PREFECT_API_URL"] = env["PREFECT_API_URL"]
        env.setdefault("PREFECT_RUNNER_POLL_FREQUENCY", "1")
        worker = start([sys.executable, "-m", "flows.deploy"], "deployments")
        warm = start([sys.executable, "-m", "interfaces.web.worker"], "precheck-worker")
        _wait_deployments(("check_package/precheck", "submit_package/submit"), worker,
                          startup_timeout)  # fmt: skip
        _wait_deployments((WARM_DEPLOYMENT,), warm, startup_timeout)
        os.environ[PRECHECK_ENV] = WARM_DEPLOYMENT
        os.environ["DUOCE_WEB_PREFECT"] = "1"
        os.environ["DUOCE_STORE"] = str(store_root)
        # uvicorn takes SIGTERM while it serves and raises it again here when it stopped
        run(host, port, store_root, **settings)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        _stop(children, grace)


if (
    __name__ == "__main__"
):  # pragma: no cover - python -m interfaces.web.serve [PORT] [STORE] [--all]
    args = [a for a in sys.argv[1:] if a != "--all"]
    (serve_all if "--all" in sys.argv else run)(
        port=int(args[0]) if args else 8000,
        store=args[1] if len(args) > 1 else None,
    )
