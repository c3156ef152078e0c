"""The web service on a throw-away store: organisations of every kind, their people, and
clients logged in as each (FastAPI's TestClient: in process, no network)."""

from __future__ import annotations

import io
import re
import time
import zipfile
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from interfaces.web.app import create_app
from interfaces.web.security import hash_password
from interfaces.web.settings import WebSettings

PASSWORD = "correct horse 12"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

# (username, organisation, kind, department, analyst)
PEOPLE = [
    ("firm_a", "甲秘测绘有限公司", "firm", None, False),
    ("firm_b", "乙方测绘院", "firm", None, False),
    ("dept_b", "规划局", "department", "planning", False),
    ("dept_b_analyst", "规划局", "department", "planning", True),
    ("lead_b", "行政审批局", "lead", None, False),
    ("lead_b_analyst", "行政审批局", "lead", None, True),
]


@dataclass
class Web:
    app: object
    settings: WebSettings

    def client(self) -> TestClient:
        return TestClient(self.app, base_url="http://testserver", follow_redirects=False)

    def login(self, username: str, password: str = PASSWORD) -> tuple[TestClient, str]:
        """A client logged in as ``username`` and its session's CSRF token."""
        client = self.client()
        page = client.get("/login")
        token = CSRF.search(page.text).group(1)
        done = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token, "next": "/"})
        assert done.status_code == 303, done.text
        return client, CSRF.search(client.get("/account").text).group(1)


def junk_zip(name: str = "note.txt") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(name, "not a survey package")
    return buf.getvalue()


def wait_done(client: TestClient, upload_id: str, timeout: float = 120) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        state = client.get(f"/api/packages/{upload_id}").json()
        if state["state"] in ("done", "failed"):
            return state
        time.sleep(0.1)
    raise AssertionError(f"upload {upload_id} not checked in {timeout} s")


@pytest.fixture
def web(tmp_path) -> Web:
    settings = WebSettings(store=tmp_path / "store", secret_key="test-secret",
                           check_mode="thread", upload_limit=2_000_000)
    app = create_app(settings)
    accounts = app.state.services.accounts
    pw = hash_password(PASSWORD)
    orgs: dict[str, str] = {}
    for username, org, kind, dep, analyst in PEOPLE:
        if org not in orgs:
            orgs[org] = accounts.add_org(org, kind, dep).id
        accounts.add_person(orgs[org], username, username, pw,
                            role="analyst" if analyst else "member")
    admin_org = accounts.add_org("系统运维", "lead").id
    accounts.add_person(admin_org, "admin", "管理员", pw, is_admin=True)
    with TestClient(app):  # runs the lifespan (check pool) for the test
        yield Web(app, settings)
