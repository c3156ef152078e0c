"""One's own account: who and where, and API tokens for scripts (shown once at creation)."""

from __future__ import annotations

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse

from interfaces.web.deps import PersonAuth, services
from interfaces.web.pages import render
from interfaces.web.security import digest, new_api_token

router = APIRouter(include_in_schema=False)


@router.get("/account")
def account(request: Request, auth: PersonAuth):
    tokens = services(request).accounts.tokens_of(auth.person.id)
    return render(request, "account.html", auth, tokens=tokens, new_token=None)


@router.post("/account/tokens")
def add_token(request: Request, auth: PersonAuth, name: str = Form("脚本")):
    accounts = services(request).accounts
    token = new_api_token()
    accounts.add_token(auth.person.id, name[:100], digest(token))
    return render(
        request, "account.html", auth, tokens=accounts.tokens_of(auth.person.id), new_token=token
    )


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(request: Request, auth: PersonAuth, token_id: str):
    if not services(request).accounts.revoke_token(auth.person.id, token_id):
        raise HTTPException(404, "令牌不存在")
    return RedirectResponse("/account", status_code=303)
