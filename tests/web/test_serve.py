"""The service under uvicorn on a loopback port (``serve.run`` in a subprocess): log in,
upload the S sample, see its verdict; a tus upload broken off mid-chunk resumes."""

from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.processes import stop, wait_for_http
from tests.web.conftest import CSRF, PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    store = tmp_path_factory.mktemp("serve") / "store"
    env = {**os.environ, "DUOCE_WEB_SECRET": "serve-test", "NO_PROXY": "*"}
    from typer.testing import CliRunner

    from interfaces.web.admin_cli import admin_app  # the same code as `duoce admin`

    runner = CliRunner()
    for args, stdin in ((["org", "add", "甲测绘", "--kind", "firm"], None),
                        (["user", "add", "firm_a", "--org", "甲测绘", "--password-stdin"], PASSWORD + "\n")):
        done = runner.invoke(admin_app, [*args, "--store", str(store)], input=stdin)
        assert done.exit_code == 0, done.output
    port = _free_port()
    code = f"from interfaces.web.serve import run; run('127.0.0.1', {port}, {str(store)!r})"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(proc, base + "/healthz", attempts=300)
        yield base, port
    finally:
        stop(proc)


def _login(base: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30, trust_env=False)
    token = CSRF.search(client.get("/login").text).group(1)
    assert client.post("/login", data={"username": "firm_a", "password": PASSWORD,
                                       "csrf_token": token}).status_code == 303
    return client, CSRF.search(client.get("/account").text).group(1)


def _zip_dir(folder: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                z.write(f, Path(folder.name) / f.relative_to(folder))
    return out


def test_login_upload_the_s_sample_and_see_its_verdict(server, sample_s, tmp_path):
    base, _ = server
    client, csrf = _login(base)
    package = _zip_dir(sample_s, tmp_path / "S.zip")
    with package.open("rb") as f:
        sent = client.post("/packages", data={"csrf_token": csrf},
                           files={"package": ("S.zip", f, "application/zip")})
    assert sent.status_code == 303, sent.text
    upload_id = sent.headers["location"].rsplit("/", 1)[1]
    end = time.monotonic() + 180
    while (state := client.get(f"/api/packages/{upload_id}").json())["state"] not in ("done", "failed"):
        assert time.monotonic() < end, state
        time.sleep(0.25)
    assert state["state"] == "done" and state["verdict"] == "accepted", state
    assert state["counts"]["error"] == 0
    report = client.get(f"/packages/{upload_id}/report")
    assert report.status_code == 200 and state["project_id"] in report.text


def test_a_tus_upload_broken_off_mid_chunk_resumes(server, tmp_path):
    base, port = server
    client, csrf = _login(base)
    data = os.urandom(300_000)
    headers = {"Tus-Resumable": "1.0.0", "X-CSRF-Token": csrf}
    made = client.post("/api/tus", headers={**headers, "Upload-Length": str(len(data)),
                                            "Upload-Metadata": "filename " + base64.b64encode(b"r.zip").decode()
                                            + ",filetype " + base64.b64encode(b"application/zip").decode()})
    assert made.status_code == 201
    path = "/api/tus/" + made.headers["location"].rsplit("/", 1)[1]
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    sent_part = 120_000
    with socket.create_connection(("127.0.0.1", port)) as raw:  # promise all, send part, hang up
        raw.sendall((f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
                     f"X-CSRF-Token: {csrf}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
                     f"Content-Type: application/offset+octet-stream\r\nContent-Length: {len(data)}\r\n\r\n").encode()
                    + data[:sent_part])
        time.sleep(0.5)
    for _ in range(50):
        offset = int(client.head(path, headers=headers).headers["upload-offset"])
        if offset:
            break
        time.sleep(0.1)
    assert 0 < offset <= sent_part
    rest = client.patch(path, content=data[offset:], headers={
        **headers, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
    assert rest.status_code == 204
    uploads = client.get("/api/packages").json()
    assert any(u["filename"] == "r.zip" and u["size"] == len(data) for u in uploads)
    assert re.fullmatch(r"[0-9a-f]{64}", uploads[0]["sha256"])
