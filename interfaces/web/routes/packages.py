"""A firm's packages: upload (streamed), the list of its own uploads, each one's pre-check
state and report. Every lookup is by (upload id, the asking firm): another firm's upload
is "not found"."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from interfaces.web.checks import FINDINGS_NAME, OVERLAY_NAME, REPORT_NAME, upload_dir
from interfaces.web.deps import Auth, FirmAuth, FirmStreamAuth, services
from interfaces.web.pages import render
from interfaces.web.uploads import receive_form, register
from storage.accounts import Upload

router = APIRouter(include_in_schema=False)

NOT_FOUND = "成果包不存在"
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"


def own_upload(request: Request, auth: Auth, upload_id: str) -> Upload:
    """The firm's own upload, its pre-check followed (Prefect) — else 404."""
    svc = services(request)
    upload = svc.accounts.upload(upload_id, auth.org.id)
    if upload is None:
        raise HTTPException(404, NOT_FOUND)
    return svc.jobs.refresh_upload(upload)


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
    await run_in_threadpool(register, svc, auth, sink.id, filename, sink.size, sha256)
    return RedirectResponse(f"/packages/{sink.id}", status_code=303)


@router.get("/packages/{upload_id}")
def package(request: Request, auth: FirmAuth, upload_id: str):
    svc = services(request)
    upload = own_upload(request, auth, upload_id)
    folder = upload_dir(svc.settings.web_dir, auth.org.id, upload.id)
    return render(
        request,
        "package.html",
        auth,
        upload=upload,
        submissions=svc.jobs.submissions(upload),
        has_report=(folder / REPORT_NAME).is_file(),
        has_overlay=(folder / OVERLAY_NAME).is_file(),
        prefect=svc.settings.prefect,
    )


@router.post("/packages/{upload_id}/submit")
def submit(request: Request, auth: FirmAuth, upload_id: str):
    """提交: the checked package goes to the store as the project's next revision (a
    ``submit_package`` flow run). The project becomes this firm's at its first submission;
    a project another firm submitted first is refused."""
    svc = services(request)
    upload = own_upload(request, auth, upload_id)
    if upload.state != "done" or not upload.project_id:
        raise HTTPException(409, "预检未完成或项目编号无法读取，不能提交")
    if any(not r.finished for r in svc.jobs.submissions(upload)):
        raise HTTPException(409, "此成果包正在提交中")
    if not svc.accounts.claim_project(upload.project_id, auth.org.id):
        raise HTTPException(409, "该项目编号已由其他单位提交，请与牵头部门联系")
    svc.jobs.submit(upload, auth.person.id)
    return RedirectResponse(f"/packages/{upload.id}", status_code=303)


@router.get("/packages/{upload_id}/overlay.dxf")
def overlay(request: Request, auth: FirmAuth, upload_id: str):
    return upload_file(
        request, auth, upload_id, OVERLAY_NAME, "image/vnd.dxf", download="overlay.dxf"
    )


@router.get("/packages/{upload_id}/report")
def report(request: Request, auth: FirmAuth, upload_id: str):
    return upload_file(request, auth, upload_id, REPORT_NAME, "text/html; charset=utf-8")


@router.get("/packages/{upload_id}/findings.json")
def findings(request: Request, auth: FirmAuth, upload_id: str):
    return upload_file(
        request, auth, upload_id, FINDINGS_NAME, "application/json", download="findings.json"
    )
