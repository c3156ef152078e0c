"""The JSON API (``/api``, described at ``/api/docs``): the same service as the pages, for
scripts with an API token (``Authorization: Bearer dct_…``)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from interfaces.web.checks import FINDINGS_NAME, REPORT_NAME
from interfaces.web.deps import FirmAuth, PersonAuth, services
from interfaces.web.routes.packages import own_upload, upload_file
from interfaces.web.uploads import clean_filename, receive_body, register
from storage.accounts import Upload

router = APIRouter(prefix="/api")


class Me(BaseModel):
    username: str
    display_name: str
    organisation: str
    role: str


class UploadOut(BaseModel):
    id: str
    filename: str
    size: int
    sha256: str
    state: str
    project_id: str | None
    verdict: str | None
    counts: dict[str, int] | None
    created_at: float
    finished_at: float | None

    @classmethod
    def of(cls, u: Upload) -> UploadOut:
        return cls(**{k: getattr(u, k) for k in cls.model_fields})


@router.get("/me", response_model=Me, summary="当前用户")
def me(auth: PersonAuth) -> Me:
    return Me(
        username=auth.person.username,
        display_name=auth.person.display_name,
        organisation=auth.org.name,
        role=auth.role,
    )


@router.get("/packages", response_model=list[UploadOut], summary="本单位上传的成果包")
def list_packages(request: Request, auth: FirmAuth) -> list[UploadOut]:
    return [UploadOut.of(u) for u in services(request).accounts.uploads_of(auth.org.id)]


@router.post(
    "/packages",
    response_model=UploadOut,
    status_code=202,
    summary="上传成果包（请求体为 zip，流式接收）并排队预检",
)
async def upload_package(
    request: Request, auth: FirmAuth, filename: str = Query("package.zip", max_length=200)
) -> UploadOut:
    svc = services(request)
    sink, sha256 = await receive_body(
        request, auth, svc.settings.web_dir, svc.upload_limit, filename
    )
    upload = await run_in_threadpool(
        register, svc, auth, sink.id, clean_filename(filename), sink.size, sha256
    )
    return UploadOut.of(upload)


@router.get("/packages/{upload_id}", response_model=UploadOut, summary="成果包预检状态")
def get_package(request: Request, auth: FirmAuth, upload_id: str) -> UploadOut:
    return UploadOut.of(own_upload(request, auth, upload_id))


@router.get("/packages/{upload_id}/report", summary="质检报告（HTML）")
def get_report(request: Request, auth: FirmAuth, upload_id: str):
    return upload_file(request, auth, upload_id, REPORT_NAME, "text/html; charset=utf-8")


@router.get("/packages/{upload_id}/findings", summary="findings.json")
def get_findings(request: Request, auth: FirmAuth, upload_id: str):
    return upload_file(request, auth, upload_id, FINDINGS_NAME, "application/json")
