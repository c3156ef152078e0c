"""Who is asking, and may they: the session or API token, the person, the role, CSRF.

Every route but the public ones (login, static files, the OpenAPI page, health) depends on
:func:`require_person` or a role check built on it. An unsafe request (POST, PATCH, PUT,
DELETE) made with the session cookie must carry the session's CSRF token, in the form field
``csrf_token`` or the header ``X-CSRF-Token``; without it: 403. A request with an API token
(``Authorization: Bearer dct_…``) needs no CSRF token: a browser never sends it by itself.

Refusals say what is refused, never what exists: a resource of another organisation is
"not found" (404), exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from interfaces.web.security import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, digest
from storage.accounts import Organisation, Person

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ROLE_NAMES = {
    "firm": "测绘单位",
    "department": "职能部门",
    "lead": "牵头部门",
    "analyst": "分析人员",
}


@dataclass(frozen=True)
class Auth:
    person: Person
    org: Organisation
    via: str  # "session" or "token"
    session_id: str | None = None

    @property
    def role(self) -> str:
        """firm, department, lead or analyst (``case.md`` roles)."""
        return "analyst" if self.person.role == "analyst" else self.org.kind

    @property
    def role_name(self) -> str:
        return ROLE_NAMES[self.role]


class NotAuthenticated(Exception):
    """No valid session or token: a page redirects to the login, the API answers 401."""


def services(request: Request):
    return request.app.state.services


def current_auth(request: Request) -> Auth | None:
    """The person behind the API token or the session cookie, or None."""
    if hasattr(request.state, "auth"):
        return request.state.auth
    svc = services(request)
    auth = None
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated
        person = svc.accounts.token_person(digest(token.strip()))
        if person is None:
            raise NotAuthenticated
        auth = _auth(svc, person, "token", None)
    else:
        session_id = svc.signer.session_id(request.cookies.get(SESSION_COOKIE))
        if session_id:
            person = svc.accounts.session_person(digest(session_id))
            if person is not None:
                auth = _auth(svc, person, "session", session_id)
    request.state.auth = auth
    return auth


def _auth(svc, person: Person, via: str, session_id: str | None) -> Auth | None:
    org = svc.accounts.org(person.org_id)
    return Auth(person, org, via, session_id) if org is not None else None


MaybeAuth = Annotated[Auth | None, Depends(current_auth)]


def csrf_token(request: Request, auth: Auth | None) -> str | None:
    """The token a form of this session must carry."""
    if auth is None or auth.session_id is None:
        return None
    return services(request).signer.csrf_token("session", auth.session_id)


def check_csrf_value(request: Request, auth: Auth, token: str | None) -> None:
    if auth.via != "session":
        return
    if not services(request).signer.csrf_ok("session", auth.session_id, token):
        raise HTTPException(403, "表单已失效或来源不明（CSRF 校验失败），请刷新页面后重试")


async def _check_csrf(request: Request, auth: Auth, *, body_checked: bool) -> None:
    if request.method not in UNSAFE or auth.via != "session":
        return
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("application/x-www-form-urlencoded"):
            form = await request.form()  # cached: the route reads the same form
            value = form.get(CSRF_FIELD)
            token = value if isinstance(value, str) else None
        elif body_checked and ctype.startswith("multipart/form-data"):
            return  # the streaming upload checks the field before the file (uploads.py)
    check_csrf_value(request, auth, token)


async def require_person(request: Request, auth: MaybeAuth) -> Auth:
    if auth is None:
        raise NotAuthenticated
    await _check_csrf(request, auth, body_checked=False)
    return auth


async def require_person_streaming(request: Request, auth: MaybeAuth) -> Auth:
    """As :func:`require_person`, for the one route that reads a multipart body as a
    stream and checks the CSRF field itself."""
    if auth is None:
        raise NotAuthenticated
    await _check_csrf(request, auth, body_checked=True)
    return auth


PersonAuth = Annotated[Auth, Depends(require_person)]


def _role_check(auth: Auth, roles: tuple[str, ...]) -> Auth:
    if auth.role not in roles:
        names = "、".join(ROLE_NAMES[r] for r in roles)
        raise HTTPException(403, f"无权访问：此功能仅限{names}")
    return auth


async def require_firm(auth: PersonAuth) -> Auth:
    return _role_check(auth, ("firm",))


async def require_firm_streaming(
    auth: Annotated[Auth, Depends(require_person_streaming)],
) -> Auth:
    return _role_check(auth, ("firm",))


async def require_admin(auth: PersonAuth) -> Auth:
    if not auth.person.is_admin:
        raise HTTPException(403, "无权访问：此功能仅限系统管理员")
    return auth


FirmAuth = Annotated[Auth, Depends(require_firm)]
FirmStreamAuth = Annotated[Auth, Depends(require_firm_streaming)]
AdminAuth = Annotated[Auth, Depends(require_admin)]
