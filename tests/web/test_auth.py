"""Login, sessions, CSRF on every unsafe route, API tokens, hashes at rest."""

from __future__ import annotations

import sqlite3

from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from interfaces.web.app import create_app
from interfaces.web.security import LOGIN_COOKIE, SESSION_COOKIE
from tests.web.conftest import CSRF, PASSWORD

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def test_login_sets_a_hardened_session_cookie(web):
    client = web.client()
    token = CSRF.search(client.get("/login").text).group(1)
    done = client.post("/login", data={"username": "firm_a", "password": PASSWORD,
                                       "csrf_token": token})
    assert done.status_code == 303
    cookie = [h for h in done.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)][0]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert client.get("/api/me").json()["organisation"] == "甲秘测绘有限公司"


def test_login_refuses_a_wrong_password_and_a_missing_token(web):
    client = web.client()
    token = CSRF.search(client.get("/login").text).group(1)
    wrong = client.post("/login", data={"username": "firm_a", "password": "nope-nope-nope",
                                        "csrf_token": token})
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    no_token = client.post("/login", data={"username": "firm_a", "password": PASSWORD})
    assert no_token.status_code == 403
    other = web.client()  # a token from another browser's login page does not fit
    other.cookies.set(LOGIN_COOKIE, "forged")
    assert other.post("/login", data={"username": "firm_a", "password": PASSWORD,
                                      "csrf_token": token}).status_code == 403


def test_pages_need_a_login(web):
    client = web.client()
    page = client.get("/packages")
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert client.get("/api/packages").status_code == 401


def test_every_unsafe_route_refuses_a_session_without_its_csrf_token(web):
    """Enumerated from the app: a new POST/PATCH/DELETE route is covered automatically."""
    admin, _ = web.login("admin")
    firm, _ = web.login("firm_a")
    other_token = "0" * 64
    checked = 0
    for ctx in iter_route_contexts(web.app.routes):
        path = getattr(ctx, "path", "")
        for method in sorted((getattr(ctx, "methods", None) or set()) & UNSAFE):
            if path == "/login":
                continue  # bound to the login nonce, tested above
            url = path.replace("{upload_id}", "x").replace("{token_id}", "x")
            url = url.replace("{uuid}", "0" * 32)
            for client in (admin, firm):
                for headers in ({}, {"X-CSRF-Token": other_token}):
                    got = client.request(method, url, headers={"Tus-Resumable": "1.0.0", **headers},
                                         data={"csrf_token": other_token} if headers else None)
                    assert got.status_code == 403, (method, url, got.status_code, got.text[:200])
                    assert "CSRF" in got.text  # refused for the token, before any role check
            checked += 1
    assert checked >= 8


def test_logout_ends_the_session(web):
    client, csrf = web.login("firm_a")
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    assert client.get("/api/me").status_code == 401


def test_api_token_works_without_csrf_is_hashed_at_rest_and_can_be_revoked(web):
    client, csrf = web.login("firm_a")
    page = client.post("/account/tokens", data={"csrf_token": csrf, "name": "ci"})
    token = next(w for w in page.text.split() if "dct_" in w).split(">")[1].split("<")[0]
    assert token.startswith("dct_")
    bare = web.client()
    auth = {"Authorization": f"Bearer {token}"}
    assert bare.get("/api/me", headers=auth).json()["username"] == "firm_a"
    assert bare.post("/api/packages?filename=a.zip", content=b"PK", headers=auth).status_code == 202
    db = sqlite3.connect(web.settings.store / "catalogue.sqlite")
    dump = "\n".join(db.iterdump())
    assert token not in dump and PASSWORD not in dump
    assert "$argon2id$" in dump
    token_id = db.execute("SELECT id FROM acct_tokens").fetchone()[0]
    assert client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf}).status_code == 303
    assert bare.get("/api/me", headers=auth).status_code == 401
    assert bare.get("/api/me", headers={"Authorization": "Bearer dct_forged"}).status_code == 401


def test_only_admins_reach_the_admin_page_and_create_people(web):
    firm, csrf = web.login("firm_a")
    assert firm.get("/admin").status_code == 403
    admin, csrf = web.login("admin")
    assert admin.post("/admin/orgs", data={"csrf_token": csrf, "name": "丙测绘", "kind": "firm"}).status_code == 303
    org_id = admin.app.state.services.accounts.org_by_name("丙测绘").id
    made = admin.post("/admin/people", data={"csrf_token": csrf, "org_id": org_id, "username": "firm_c",
                                            "password": PASSWORD, "role": "member"})
    assert made.status_code == 303
    web.login("firm_c")
    bad = admin.post("/admin/people", data={"csrf_token": csrf, "org_id": org_id, "username": "firm_d",
                                           "password": PASSWORD, "role": "analyst"})
    assert bad.status_code == 400 and "分析人员" in bad.text


def test_admin_cli_makes_orgs_people_and_tokens(tmp_path):
    from typer.testing import CliRunner

    from interfaces.web.admin_cli import admin_app

    store = ["--store", str(tmp_path / "store")]
    run = CliRunner().invoke
    assert run(admin_app, ["org", "add", "档案馆", "--kind", "department", "--department", "archive", *store]).exit_code == 0
    assert run(admin_app, ["org", "add", "档案馆", "--kind", "department", "--department", "archive", *store]).exit_code == 1
    assert run(admin_app, ["org", "add", "无部门", "--kind", "department", *store]).exit_code == 1
    short = run(admin_app, ["user", "add", "arc", "--org", "档案馆", "--password-stdin", *store], input="short\n")
    assert short.exit_code == 1 and "至少" in short.output
    made = run(admin_app, ["user", "add", "arc", "--org", "档案馆", "--analyst", "--password-stdin", *store],
               input=PASSWORD + "\n")
    assert made.exit_code == 0, made.output
    token = run(admin_app, ["token", "add", "arc", *store])
    assert token.exit_code == 0 and token.output.strip().startswith("dct_")
    assert run(admin_app, ["token", "add", "nobody", *store]).exit_code == 1


def _try_login(web, client, password: str):
    token = CSRF.search(client.get("/login").text).group(1)
    return client.post("/login", data={"username": "firm_a", "password": password,
                                       "csrf_token": token})


def test_five_failed_logins_lock_the_name_in_every_worker_and_after_a_restart(web):
    from interfaces.web.routes.auth import MAX_FAILURES, WINDOW
    from storage.accounts import login_failures

    client = web.client()
    for _ in range(MAX_FAILURES):
        assert _try_login(web, client, "wrong-password-1").status_code == 401
    locked = _try_login(web, client, PASSWORD)  # the right password, yet locked
    assert locked.status_code == 429 and "登录失败次数过多" in locked.text
    # another worker (or the service started again) on the same store: still locked
    second = create_app(web.settings)
    with TestClient(second, base_url="http://testserver", follow_redirects=False) as other:
        assert _try_login(web, other, PASSWORD).status_code == 429
    # the window over: the name may log in again, and a success clears its failures
    accounts = web.app.state.services.accounts
    with accounts.engine.begin() as conn:
        conn.execute(login_failures.update().values(at=login_failures.c.at - WINDOW - 1))
    assert _try_login(web, client, "wrong-password-1").status_code == 401
    assert accounts.login_failures("firm_a", WINDOW) == 1
    assert _try_login(web, client, PASSWORD).status_code == 303
    assert accounts.login_failures("firm_a", WINDOW) == 0
    with accounts.engine.connect() as conn:  # expired rows were pruned, none is left
        assert conn.execute(login_failures.select()).first() is None
