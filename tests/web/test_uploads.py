"""Uploads: the form (streamed, PKG-007 as bytes arrive), a script's raw body, and tus
(create, chunks, resume), each reaching the pre-check and its report."""

from __future__ import annotations

import base64

from tests.web.conftest import junk_zip, wait_done

TUS = {"Tus-Resumable": "1.0.0"}


def _meta(filename: str) -> str:
    return f"filename {base64.b64encode(filename.encode()).decode()},filetype {base64.b64encode(b'application/zip').decode()}"


def test_form_upload_is_checked_and_reported(web):
    client, csrf = web.login("firm_a")
    sent = client.post("/packages", data={"csrf_token": csrf},
                       files={"package": ("成果包.zip", junk_zip(), "application/zip")})
    assert sent.status_code == 303
    upload_id = sent.headers["location"].rsplit("/", 1)[1]
    state = wait_done(client, upload_id)
    assert state["state"] == "done" and state["verdict"] == "rejected"
    assert state["counts"]["error"] >= 1
    page = client.get(f"/packages/{upload_id}")
    assert "成果包.zip" in page.text and "退回补正" in page.text
    report = client.get(f"/packages/{upload_id}/report")
    assert report.status_code == 200 and "PKG-" in report.text
    assert "default-src 'none'" in report.headers["content-security-policy"]
    assert client.get(f"/packages/{upload_id}/findings.json").json()["verdict"] == "rejected"
    assert "成果包.zip" in client.get("/packages").text


def test_form_upload_without_the_csrf_field_first_is_refused(web):
    client, csrf = web.login("firm_a")
    late = client.post("/packages", files=[("package", ("a.zip", junk_zip(), "application/zip")),
                                           ("csrf_token", (None, csrf))])
    assert late.status_code == 403
    assert client.get("/api/packages").json() == []
    assert not list((web.settings.web_dir / "uploads").rglob("*.zip"))


def test_upload_over_the_limit_is_refused_while_it_arrives(web):
    limit = web.app.state.services.upload_limit
    client, csrf = web.login("firm_a")

    def body():  # no Content-Length: the limit can only be applied as bytes arrive
        yield b"PK\x03\x04"
        for _ in range(limit // 65536 + 2):
            yield b"\0" * 65536

    over = client.post("/api/packages?filename=big.zip", content=body(),
                       headers={"X-CSRF-Token": csrf, "Content-Type": "application/zip"})
    assert over.status_code == 413 and "PKG-007" in over.json()["detail"]
    form = client.post("/packages", data={"csrf_token": csrf},
                       files={"package": ("big.zip", b"\0" * (limit + 1), "application/zip")})
    assert form.status_code == 413 and "PKG-007" in form.text
    assert client.get("/api/packages").json() == []
    assert not list((web.settings.web_dir / "uploads").rglob("*.zip"))


def test_tus_upload_in_chunks_resumes_and_is_checked(web):
    client, csrf = web.login("firm_a")
    data = junk_zip("tus.txt")
    headers = {**TUS, "X-CSRF-Token": csrf}
    made = client.post("/api/tus", headers={**headers, "Upload-Length": str(len(data)),
                                            "Upload-Metadata": _meta("断点.zip")})
    assert made.status_code == 201, made.text
    url = made.headers["location"].replace("http://testserver", "")
    half = len(data) // 2
    first = client.patch(url, content=data[:half], headers={
        **headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert first.status_code == 204 and first.headers["upload-offset"] == str(half)
    # the connection broke here: the client asks where to resume
    head = client.head(url, headers=TUS)
    assert head.headers["upload-offset"] == str(half)
    stale = client.patch(url, content=data, headers={
        **headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert stale.status_code == 409
    rest = client.patch(url, content=data[half:], headers={
        **headers, "Upload-Offset": str(half), "Content-Type": "application/offset+octet-stream"})
    assert rest.status_code == 204
    [upload] = client.get("/api/packages").json()
    assert upload["filename"] == "断点.zip" and upload["size"] == len(data)
    assert wait_done(client, upload["id"])["state"] == "done"


def test_tus_refuses_an_upload_over_the_limit_or_without_its_length(web):
    client, csrf = web.login("firm_a")
    headers = {**TUS, "X-CSRF-Token": csrf, "Upload-Metadata": _meta("a.zip")}
    limit = web.app.state.services.upload_limit
    big = client.post("/api/tus", headers={**headers, "Upload-Length": str(limit + 1)})
    assert big.status_code == 413 and "PKG-007" in big.json()["detail"]
    deferred = client.post("/api/tus", headers={**headers, "Upload-Defer-Length": "1"})
    assert deferred.status_code == 400


def test_tus_is_for_firms_only(web):
    client, csrf = web.login("dept_b")
    made = client.post("/api/tus", headers={**TUS, "X-CSRF-Token": csrf, "Upload-Length": "10",
                                            "Upload-Metadata": _meta("a.zip")})
    assert made.status_code == 403


def test_a_finishing_tus_upload_does_not_hold_other_requests(web, monkeypatch):
    """The last chunk's hashing runs in the thread pool: while it runs (held here on an
    event), the same event loop answers another request."""
    import threading

    from fastapi.testclient import TestClient

    import interfaces.web.tus as tus

    hashing, release = threading.Event(), threading.Event()
    real = tus.sha256_of

    def slow_sha256_of(path):
        hashing.set()
        release.wait(30)
        return real(path)

    monkeypatch.setattr(tus, "sha256_of", slow_sha256_of)
    data = junk_zip("large.txt")
    with TestClient(web.app, base_url="http://testserver", follow_redirects=False) as client:
        client.cookies.update(web.login("firm_a")[0].cookies)  # one event loop for both
        csrf = client.get("/account").text.split('name="csrf_token" value="')[1].split('"')[0]
        headers = {**TUS, "X-CSRF-Token": csrf}
        made = client.post("/api/tus", headers={**headers, "Upload-Length": str(len(data)),
                                                "Upload-Metadata": _meta("大.zip")})
        url = made.headers["location"].replace("http://testserver", "")
        finished = {}

        def last_chunk():
            finished["patch"] = client.patch(url, content=data, headers={
                **headers, "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream"})

        def other_request():
            finished["other"] = client.get("/api/packages")

        upload = threading.Thread(target=last_chunk)
        upload.start()
        try:
            assert hashing.wait(30), "the last chunk never reached the hashing"
            other = threading.Thread(target=other_request)
            other.start()
            other.join(20)
            assert not other.is_alive(), "a request waited for the upload's hashing"
            assert finished["other"].status_code == 200
            assert finished["other"].json() == []  # not registered yet: still hashing
            assert upload.is_alive() and "patch" not in finished
        finally:
            release.set()
            upload.join(30)
        assert finished["patch"].status_code == 204
        [done] = client.get("/api/packages").json()
        assert done["filename"] == "大.zip" and done["size"] == len(data)
