"""Resumable uploads (the tus protocol, tuspyserver) under ``/api/tus``, for large packages.

Only firms may upload; each firm's unfinished uploads live in their own folder
(``<store>/web/tus/<org>/``), so an upload id of another firm is simply not found (404).
The declared ``Upload-Length`` is required (no deferred length) and held to the PKG-007
limit at creation; tuspyserver then refuses any chunk past the declared length. When the
last chunk arrives the file moves to the upload folder, is hashed and its pre-check is
queued, as for a form upload — in the thread pool, so that the event loop goes on serving
other requests meanwhile; ``Upload-Metadata`` ``filename`` names it.

A browser client authenticated by the session cookie sends ``X-CSRF-Token`` on POST, PATCH
and DELETE (``deps.require_person``); a script sends its API token.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool
from tuspyserver import create_tus_router

from interfaces.web.checks import PACKAGE_NAME, upload_dir
from interfaces.web.deps import Auth, FirmAuth, services
from interfaces.web.uploads import clean_filename, too_large
from storage.accounts import new_id

PREFIX = "/api/tus"
_UID = re.compile(r"[0-9a-f]{32}")


def tus_dir(web_dir: Path, org_id: str) -> Path:
    return web_dir / "tus" / org_id


async def tus_auth(request: Request, auth: FirmAuth) -> Auth:
    """The firm making the request; an upload id that is not tuspyserver's form is 404."""
    uid = request.path_params.get("uuid")
    if uid is not None and not _UID.fullmatch(uid):
        raise HTTPException(404, "上传不存在")
    return auth


TusAuth = Annotated[Auth, Depends(tus_auth)]


async def tus_files(request: Request, auth: TusAuth) -> Callable[[dict], dict]:
    folder = tus_dir(services(request).settings.web_dir, auth.org.id)
    folder.mkdir(parents=True, exist_ok=True)
    return lambda _metadata: {"files_dir": str(folder)}


async def tus_pre_create(request: Request, auth: TusAuth) -> Callable[[dict, dict], None]:
    limit = services(request).upload_limit

    def check(metadata: dict, info: dict) -> None:
        if info.get("size") is None or info.get("defer_length"):
            raise HTTPException(400, "请在 Upload-Length 中给出成果包大小")
        if int(info["size"]) > limit:
            raise too_large(limit)
        if not metadata.get("filename"):
            raise HTTPException(400, "请在 Upload-Metadata 中给出 filename")

    return check


def sha256_of(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def finish_upload(svc, auth: Auth, path: str, metadata: dict) -> None:
    """Move a finished tus file to its upload folder, hash it, record it and start its
    pre-check. Blocking (seconds for a large package): run in the thread pool."""
    from interfaces.web.uploads import register

    source = Path(path)
    upload_id = new_id()
    folder = upload_dir(svc.settings.web_dir, auth.org.id, upload_id)
    folder.mkdir(parents=True, mode=0o750)
    target = folder / PACKAGE_NAME
    os.replace(source, target)
    source.with_name(source.name + ".info").unlink(missing_ok=True)
    register(
        svc,
        auth,
        upload_id,
        clean_filename(metadata.get("filename")),
        target.stat().st_size,
        sha256_of(target),
    )


async def tus_complete(request: Request, auth: TusAuth) -> Callable[[str, dict], Awaitable[None]]:
    svc = services(request)

    async def done(path: str, metadata: dict) -> None:  # tuspyserver awaits it
        await run_in_threadpool(finish_upload, svc, auth, path, metadata)

    return done


def tus_router(web_dir: Path, limit: int) -> APIRouter:
    return create_tus_router(
        prefix=PREFIX,
        files_dir=str(web_dir / "tus" / "_unused"),
        max_size=limit,
        auth=tus_auth,
        file_dep=tus_files,
        pre_create_dep=tus_pre_create,
        upload_complete_dep=tus_complete,
        days_to_keep=3,
        tags=["tus 断点续传"],
    )
