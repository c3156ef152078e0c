"""The administrator's page: organisations and people (the same as ``duoce admin``)."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from interfaces.web.deps import AdminAuth, Auth, services
from interfaces.web.pages import render
from interfaces.web.security import hash_password
from storage.accounts import AccountError

router = APIRouter(include_in_schema=False)


def _page(request: Request, auth: Auth, error: str | None = None, status: int = 200):
    accounts = services(request).accounts
    orgs = accounts.orgs()
    return render(
        request,
        "admin.html",
        auth,
        status_code=status,
        error=error,
        orgs=orgs,
        people=accounts.people(),
        org_names={o.id: o.name for o in orgs},
    )


@router.get("/admin")
def admin(request: Request, auth: AdminAuth):
    return _page(request, auth)


@router.post("/admin/orgs")
def add_org(
    request: Request,
    auth: AdminAuth,
    name: str = Form(...),
    kind: str = Form(...),
    department: str = Form(""),
):
    try:
        services(request).accounts.add_org(name, kind, department.strip() or None)
    except AccountError as exc:
        return _page(request, auth, str(exc), 400)
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/people")
def add_person(
    request: Request,
    auth: AdminAuth,
    org_id: str = Form(...),
    username: str = Form(...),
    display_name: str = Form(""),
    password: str = Form(...),
    role: str = Form("member"),
):
    try:
        services(request).accounts.add_person(
            org_id, username, display_name, hash_password(password), role=role
        )
    except (AccountError, ValueError) as exc:
        return _page(request, auth, str(exc), 400)
    return RedirectResponse("/admin", status_code=303)
