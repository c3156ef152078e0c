"""A firm's packages: upload (streamed), the list of its own uploads, each one's pre-check
state and report. Every lookup is by (upload id, the asking firm): another firm's upload
is "not found"."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse

from interfaces.web.checks import FINDINGS_NAME, REPORT_NAME, upload_dir
from interfaces.web.deps import Auth, FirmAuth, FirmStreamAuth, services
from interfaces.web.pages import render
from interfaces.web.uploads import receive_form, register
from storage.accounts import Upload

router = APIRouter(include_in_schema=False)

NOT_FOUND = "成果包不存在"
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"


def own_upload(request: Request, auth: Auth, upload_id: str) -> Upload:
    upload = services(request).accounts.upload(upload_id, auth.org.id)
    if upload is None:
        raise HTTPException(404, NOT_FOUND)
    return upload


def upload_file(
    request: Request, auth: Auth, upload_id: str, name: str, media: str, download: str | None = None
) -> FileResponse:
    upload = own_upload(request, auth, upload_id)
    path = upload_dir(services(request).settings.web_dir, auth.org.id, upload.id) / name
    if upload.state != "done" or not path.is_file():
        raise HTTPException(404, "报告尚未生成")
    headers = {"Content-Security-Policy": REPORT_CSP} if name == REPORT_NAME else {}
    return FileResponse(
        path,
        media_type=media,
        headers=headers,
        filename=download,
        content_disposition_type="attachment" if download else "inline",
    )


@router.get("/packages")
def packages(request: Request, auth: FirmAuth):
    svc = services(request)
    return render(
        request,
        "packages.html",
        auth,
        uploads=svc.accounts.uploads_of(auth.org.id),
        limit=svc.upload_limit,
    )


@router.post("/packages")
async def upload(request: Request, auth: FirmStreamAuth):
    svc = services(request)
    sink, sha256, filename = await receive_form(
        request, auth, svc.settings.web_dir, svc.upload_limit
    )
    register(svc, auth, sink.id, filename, sink.size, sha256)
    return RedirectResponse(f"/packages/{sink.id}", status_code=303)


@router.get("/packages/{upload_id}")
def package(request: Request, auth: FirmAuth, upload_id: str):
    return render(request, "package.html", auth, upload=own_upload(request, auth, upload_id))


@router.get("/packages/{upload_id}/report")
def report(request: Request, auth: FirmAuth, upload_id: str):
    return upload_file(request, auth, upload_id, REPORT_NAME, "text/html; charset=utf-8")


@router.get("/packages/{upload_id}/findings.json")
def findings(request: Request, auth: FirmAuth, upload_id: str):
    return upload_file(
        request, auth, upload_id, FINDINGS_NAME, "application/json", download="findings.json"
    )
