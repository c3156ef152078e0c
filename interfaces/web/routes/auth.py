"""Login and logout. The login form carries a CSRF token bound to a signed nonce cookie;
five failed logins of one user name in 15 minutes lock it for the rest of that window (the
failures are rows of the account tables: the lock holds in every worker and after a restart)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse

from interfaces.web.deps import MaybeAuth, PersonAuth, services
from interfaces.web.pages import render
from interfaces.web.security import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    digest,
    new_secret,
    verify_password,
)

router = APIRouter(include_in_schema=False)

MAX_FAILURES = 5
WINDOW = 15 * 60


def _safe_next(target: str | None) -> str:
    """Only a path of this site (never another host) after login."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _login_page(request: Request, status: int = 200, error: str | None = None, next_: str = "/"):
    svc = services(request)
    nonce = new_secret()
    response = render(
        request,
        "login.html",
        None,
        status_code=status,
        error=error,
        login_csrf=svc.signer.csrf_token("login", nonce),
        next=_safe_next(next_),
    )
    response.set_cookie(
        LOGIN_COOKIE,
        svc.signer.sign_login_nonce(nonce),
        max_age=3600,
        httponly=True,
        samesite="lax",
        secure=svc.settings.secure_cookies,
    )
    return response


@router.get("/login")
def login_form(request: Request, auth: MaybeAuth, next: str = "/"):
    if auth is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, next_=next)


@router.post("/login")
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form("/"),
):
    svc = services(request)
    nonce = svc.signer.login_nonce(request.cookies.get(LOGIN_COOKIE))
    if not svc.signer.csrf_ok("login", nonce, csrf_token):
        raise HTTPException(403, "登录表单已失效（CSRF 校验失败），请刷新页面后重试")
    username = username.strip()
    if svc.accounts.login_failures(username, WINDOW) >= MAX_FAILURES:
        return _login_page(request, 429, "登录失败次数过多，请 15 分钟后再试", next)
    person = svc.accounts.person_by_username(username)
    ok, new_hash = verify_password(password, person.password_hash if person else None)
    if person is None or not ok or not person.active:
        svc.accounts.add_login_failure(username, WINDOW)
        return _login_page(request, 401, "用户名或密码错误", next)
    svc.accounts.clear_login_failures(username)
    if new_hash:
        svc.accounts.set_password_hash(person.id, new_hash)
    session_id = new_secret()
    svc.accounts.add_session(digest(session_id), person.id, svc.settings.session_hours * 3600)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        svc.signer.sign_session(session_id),
        max_age=int(svc.settings.session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=svc.settings.secure_cookies,
    )
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, auth: PersonAuth):
    if auth.session_id:
        services(request).accounts.end_session(digest(auth.session_id))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/")
def home(request: Request, auth: PersonAuth):
    if auth.role == "firm":
        return RedirectResponse("/packages", status_code=303)
    return render(request, "home.html", auth)
