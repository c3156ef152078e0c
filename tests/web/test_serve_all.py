"""``duoce serve`` (``serve.serve_all``) on loopback ports, in a subprocess: its own Prefect
server, the served deployments and the web application. A firm logs in, uploads the S
sample: the pre-check is a ``check_package`` flow run; it submits: a ``submit_package``
flow run; the pages follow them to their verdicts. SIGTERM stops everything: no process
of the service's process groups is left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.processes import wait_for_http
from tests.web.conftest import CSRF, PASSWORD
from tests.web.test_serve import _zip_dir

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    from interfaces.web.serve import free_port

    return free_port()


def _descendants(pid: int) -> set[int]:
    """Every process whose ancestry leads to ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purpose
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_for(client: httpx.Client, url: str, marker: str, timeout: float = 240) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        page = client.get(url)
        if marker in page.text:
            return page.text
        assert "内部错误" not in page.text, page.text[-2000:]
        time.sleep(0.5)
    raise AssertionError(f"{marker!r} not on {url} after {timeout} s")


def test_serve_all_runs_checks_as_flow_runs_and_stops_every_child(sample_s, tmp_path):
    store = tmp_path / "store"
    from typer.testing import CliRunner

    from interfaces.web.admin_cli import admin_app

    runner = CliRunner()
    for args, stdin in (
        (["org", "add", "甲测绘", "--kind", "firm"], None),
        (["user", "add", "firm_a", "--org", "甲测绘", "--password-stdin"], PASSWORD + "\n"),
    ):
        done = runner.invoke(admin_app, [*args, "--store", str(store)], input=stdin)
        assert done.exit_code == 0, done.output
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "DUOCE_"))}
    env |= {
        "DUOCE_WEB_SECRET": "serve-all-test",
        "NO_PROXY": "*",
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
    }
    code = f"from interfaces.web.serve import serve_all; serve_all('127.0.0.1', {port}, {str(store)!r})"
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    children: set[int] = set()
    try:
        wait_for_http(proc, base + "/login", log, attempts=1200, pause=0.25)
        children = _descendants(proc.pid)
        assert len(children) >= 2, children  # the Prefect server and the deployments

        client = httpx.Client(base_url=base, follow_redirects=False, timeout=60, trust_env=False)
        token = CSRF.search(client.get("/login").text).group(1)
        assert (
            client.post(
                "/login", data={"username": "firm_a", "password": PASSWORD, "csrf_token": token}
            ).status_code
            == 303
        )
        csrf = CSRF.search(client.get("/account").text).group(1)
        package = _zip_dir(sample_s, tmp_path / "S.zip")
        with package.open("rb") as f:
            sent = client.post(
                "/packages",
                data={"csrf_token": csrf},
                files={"package": ("S.zip", f, "application/zip")},
            )
        assert sent.status_code == 303, log.read_text(errors="replace")[-3000:]
        page_url = sent.headers["location"]
        page = _wait_for(client, page_url, 'id="verdict"')
        assert "通过" in page
        upload_id = page_url.rsplit("/", 1)[1]
        assert client.get(f"/api/packages/{upload_id}").json()["verdict"] == "accepted"

        done = client.post(f"{page_url}/submit", data={"csrf_token": csrf})
        assert done.status_code == 303, done.text
        page = _wait_for(client, page_url, 'id="submitted-verdict"')
        assert "第 1 版" in page
        from storage.store import Store

        assert [r.revision for r in Store(store).revisions("LC-KFQ-2022-0137")] == [1]
        project = client.get("/projects/LC-KFQ-2022-0137")
        assert project.status_code == 200 and "r1" in project.text
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError("serve_all did not stop on SIGTERM") from None
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in children) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = [p for p in children if _alive(p)]
        for p in left:
            os.kill(p, signal.SIGKILL)
        assert not left, f"left running after SIGTERM: {left}"
        # every child stopped on its own SIGTERM, none waited out the grace and was killed
        assert "已强制结束" not in log.read_text(errors="replace")
