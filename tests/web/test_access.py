"""Access enforced everywhere: every route of the application, enumerated from its router
(so a new route is covered without touching this file), asked by each role of another
organisation for firm A's things: refused (403/404), or — for a route that names no
resource — answered without a trace of firm A (its name, its file, its project, its ids,
its count).

Firm A's case asks only the housing department: the lead office and the analysts may see
it (case.md), never firm A's pre-checks, uploads or ids; firm B and the planning
department (not asked) see nothing of it, not even its id or project."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts

from tests.web.conftest import PEOPLE, junk_zip, wait_done

# Routes anyone may reach: they show no organisation's data at all.
PUBLIC = {"/login", "/healthz", "/api/docs", "/api/openapi.json", "/static"}
OTHERS = [username for username, *_ in PEOPLE if username != "firm_a"]
PARAM = re.compile(r"{(\w+)(?::\w+)?}")


@pytest.fixture
def firm_a(web):
    """Firm A with two checked uploads, a tus upload in progress and an API token."""
    client, csrf = web.login("firm_a")
    ids = []
    for _ in range(2):
        sent = client.post("/packages", data={"csrf_token": csrf},
                           files={"package": ("甲秘项目-机密.zip", junk_zip(), "application/zip")})
        ids.append(sent.headers["location"].rsplit("/", 1)[1])
    for upload_id in ids:
        wait_done(client, upload_id)
    made = client.post("/api/tus", headers={
        "Tus-Resumable": "1.0.0", "X-CSRF-Token": csrf, "Upload-Length": "100",
        "Upload-Metadata": "filename " + __import__("base64").b64encode("甲秘续传.zip".encode()).decode()})
    tus_id = made.headers["location"].rsplit("/", 1)[1]
    client.post("/account/tokens", data={"csrf_token": csrf, "name": "甲秘脚本"})
    accounts = web.app.state.services.accounts
    person = accounts.person_by_username("firm_a")
    token_id = accounts.tokens_of(person.id)[0].id
    project, case_id = "LC-SECRET-PRJ-7", "案件-SECRET-7"
    assert accounts.claim_project(project, person.org_id)
    run = accounts.add_run(person.org_id, person.id, "submit", ids[0], project)
    _open_case(web, case_id, project)
    values = {"upload_id": ids[0], "uuid": tus_id, "token_id": token_id, "case_id": case_id,
              "project_id": project, "revision": "1", "name": "findings.json", "run_id": run.id}
    secrets = ["甲秘", *ids, tus_id, token_id, person.id, person.org_id, run.id]
    return values, secrets, [case_id, project]


def _open_case(web, case_id: str, project: str) -> None:
    """A case on firm A's project, opened and sent to the housing department only."""
    import datetime as dt

    from cases.events import Actor, CaseOpened, OpinionsRequested
    from interfaces.web.casework import case_log, rules_of

    svc = web.app.state.services
    rules = rules_of(svc.settings.profile)
    lead = Actor("办事员", rules.lead, "lead")
    at = dt.datetime.now().replace(microsecond=0) - dt.timedelta(hours=1)
    case_log(svc).record(CaseOpened(case_id=case_id, actor=lead, at=at, project_id=project,
                                    revision=1, package_sha256="0" * 64, verdict="accepted",
                                    firm="样例测绘院"), rules)
    case_log(svc).record(OpinionsRequested(case_id=case_id, actor=lead, at=at,
                                           departments=("housing",)), rules)


def _routes(app):
    for ctx in iter_route_contexts(app.routes):
        path = getattr(ctx, "path", None)
        methods = getattr(ctx, "methods", None) or {"GET"}  # a mount: its GET
        yield path, sorted(methods)


# who may see firm A's case (not its pre-checks): the lead office and the analysts
CASE_INSIDERS = {"lead_b", "lead_b_analyst", "dept_b_analyst"}


def test_every_route_refuses_every_role_of_another_organisation(web, firm_a):
    values, upload_secrets, case_secrets = firm_a
    routes = sorted(_routes(web.app), key=lambda r: r[0] == "/logout")  # logging out last
    assert len(routes) >= 20
    seen_params = set()
    for username in OTHERS:
        insider = username in CASE_INSIDERS
        secrets = upload_secrets + ([] if insider else case_secrets)
        client, csrf = web.login(username)
        for path, methods in routes:
            names = PARAM.findall(path)
            missing = set(names) - set(values)
            assert not missing, f"{path}: give the access test a value of firm A's for {missing}"
            seen_params.update(names)
            url = PARAM.sub(lambda m: values[m.group(1)], path)
            if path == "/static":
                url = "/static/style.css"
            for method in methods:
                headers = {"X-CSRF-Token": csrf, "Tus-Resumable": "1.0.0",
                           "Content-Type": "application/offset+octet-stream",
                           "Upload-Offset": "0", "Upload-Length": "10"}
                got = client.request(method, url, headers=headers,
                                     content=b"0123456789" if method in ("POST", "PATCH") else None)
                where = f"{username} {method} {url} → {got.status_code}"
                if insider and path.startswith("/cases/{case_id}"):
                    assert got.status_code < 500, where  # the lead's and analysts' to see
                elif names and path not in PUBLIC:
                    assert got.status_code in (403, 404), where
                elif path in PUBLIC:
                    assert got.status_code < 500, where
                else:  # names no resource: refused, or about the asker's own organisation
                    assert got.status_code in (200, 201, 202, 204, 303, 400, 403, 404, 409, 413, 422), where
                for secret in secrets:
                    assert secret not in got.text, f"{where} shows {secret!r}"
                    assert all(secret not in v for v in got.headers.values()), f"{where} header {secret!r}"
    assert seen_params == set(values), "a value no route uses: remove it"


def test_a_firm_sees_its_own_count_only(web, firm_a):
    client, _ = web.login("firm_b")
    assert client.get("/api/packages").json() == []
    assert "还没有上传过成果包" in client.get("/packages").text
    own, _ = web.login("firm_a")
    assert len(own.get("/api/packages").json()) == 2


def test_anonymous_requests_reach_nothing_but_the_public_pages(web, firm_a):
    values, upload_secrets, case_secrets = firm_a
    secrets = upload_secrets + case_secrets
    client = web.client()
    for path, methods in _routes(web.app):
        if any(path == p or path.startswith(p + "/") for p in PUBLIC) or path == "/static":
            continue
        url = PARAM.sub(lambda m: values[m.group(1)], path)
        for method in methods:
            got = client.request(method, url, headers={"Tus-Resumable": "1.0.0"})
            assert got.status_code in (401, 303), f"{method} {url} → {got.status_code}"
            if got.status_code == 303:
                assert got.headers["location"].startswith("/login")
            assert not any(s in got.text for s in secrets)
