"""Receiving a package: streamed to disk in chunks, the PKG-007 size limit applied as the
bytes arrive, never the whole package in memory.

Three ways in, one place on disk (``<store>/web/uploads/<org>/<upload>/package.zip``):
the page's multipart form (:func:`receive_form`), a script's raw body
(:func:`receive_body`) and a finished tus upload (``tus.py``), each handing the file to
:func:`register`, which records it and queues its pre-check.

The limit: the profile's ``limits.max_total_bytes`` (PKG-007, the unpacked size a package
may have) plus 1 KiB of zip headers per entry allowed (``limits.max_entries``): a zip is
never much larger than what it holds, so a body past that is refused before it is read to
its end, with PKG-007 in the message.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import HTTPException, Request
from python_multipart.multipart import MultipartParser, parse_options_header

from interfaces.web.checks import PACKAGE_NAME, upload_dir
from interfaces.web.deps import Auth, check_csrf_value
from interfaces.web.security import CSRF_FIELD
from storage.accounts import Upload, new_id

FILE_FIELD = "package"
MAX_FIELD_BYTES = 4096
MAX_FIELDS = 8


def upload_limit(profile, override: int | None = None) -> int:
    """Bytes a package upload may have (see the module's docstring)."""
    if override is not None:
        return override
    return profile.limits.max_total_bytes + 1024 * profile.limits.max_entries


def too_large(limit: int) -> HTTPException:
    return HTTPException(
        413, f"PKG-007 成果包超出大小限制：上传超过 {limit:,} 字节上限，已停止接收"
    )


def clean_filename(name: str | None) -> str:
    """The last part of a client's file name, without control characters (display only)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:200] or "package.zip"


class _Sink:
    """A new upload folder and its package file, counted and hashed as bytes arrive."""

    def __init__(self, web_dir: Path, org_id: str, limit: int) -> None:
        self.id = new_id()
        self.folder = upload_dir(web_dir, org_id, self.id)
        self.folder.mkdir(parents=True, mode=0o750)
        self.path = self.folder / PACKAGE_NAME
        self._file = open(self.path, "xb")  # noqa: SIM115 - closed in close()/discard()
        self.size = 0
        self.limit = limit
        self._sha = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise too_large(self.limit)
        self._sha.update(data)
        self._file.write(data)

    def close(self) -> str:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        return self._sha.hexdigest()

    def discard(self) -> None:
        self._file.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _declared_too_large(request: Request, limit: int) -> None:
    try:
        declared = int(request.headers.get("content-length", "0"))
    except ValueError:
        raise HTTPException(400, "Content-Length 无效") from None
    if declared > limit + 64 * 1024:  # multipart framing on top of the file
        raise too_large(limit)


async def receive_body(
    request: Request, auth: Auth, web_dir: Path, limit: int, filename: str
) -> tuple[_Sink, str]:
    """A raw request body (``application/zip`` or ``application/octet-stream``)."""
    _declared_too_large(request, limit)
    sink = _Sink(web_dir, auth.org.id, limit)
    try:
        async for chunk in request.stream():
            sink.write(chunk)
        if sink.size == 0:
            raise HTTPException(400, "PKG-001 成果包为空：未收到任何内容")
        return sink, sink.close()
    except BaseException:
        sink.discard()
        raise


async def receive_form(
    request: Request, auth: Auth, web_dir: Path, limit: int
) -> tuple[_Sink, str, str]:
    """The upload form: ``csrf_token`` first, then the file field ``package``.

    The CSRF field must come before the file (the form puts it first): a file part before a
    valid token is refused at its first byte, not after the whole package arrived.
    """
    _declared_too_large(request, limit)
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise HTTPException(400, "请用上传表单提交成果包（multipart/form-data）")

    state: dict = {
        "headers": {},
        "field": None,
        "name": None,
        "value": b"",
        "fields": 0,
        "header_field": b"",
        "header_value": b"",
        "filename": None,
    }
    sink: _Sink | None = None
    events: list[tuple[str, bytes]] = []

    def on_part_begin() -> None:
        events.append(("begin", b""))

    def on_header_field(data: bytes, start: int, end: int) -> None:
        events.append(("hfield", data[start:end]))

    def on_header_value(data: bytes, start: int, end: int) -> None:
        events.append(("hvalue", data[start:end]))

    def on_header_end() -> None:
        events.append(("hend", b""))

    def on_headers_finished() -> None:
        events.append(("hdone", b""))

    def on_part_data(data: bytes, start: int, end: int) -> None:
        events.append(("data", data[start:end]))

    def on_part_end() -> None:
        events.append(("end", b""))

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    csrf_seen = auth.via != "session"
    got_file = False
    filename = "package.zip"
    try:
        async for chunk in _chunks(request):
            parser.write(chunk)
            for kind, data in events:
                if kind == "begin":
                    state.update(
                        headers={},
                        name=None,
                        value=b"",
                        filename=None,
                        header_field=b"",
                        header_value=b"",
                    )
                elif kind == "hfield":
                    state["header_field"] += data
                elif kind == "hvalue":
                    state["header_value"] += data
                elif kind == "hend":
                    state["headers"][state["header_field"].lower()] = state["header_value"]
                    state["header_field"] = state["header_value"] = b""
                elif kind == "hdone":
                    _, disp = parse_options_header(
                        state["headers"].get(b"content-disposition", b"")
                    )
                    state["name"] = disp.get(b"name", b"").decode("utf-8", "replace")
                    fname = disp.get(b"filename")
                    if fname is not None:
                        if state["name"] != FILE_FIELD or got_file:
                            raise HTTPException(400, "表单只能含一个成果包文件（字段 package）")
                        if not csrf_seen:
                            raise HTTPException(
                                403, "表单已失效或来源不明（CSRF 校验失败），请刷新页面后重试"
                            )
                        state["filename"] = clean_filename(fname.decode("utf-8", "replace"))
                        sink = _Sink(web_dir, auth.org.id, limit)
                        got_file = True
                    else:
                        state["fields"] += 1
                        if state["fields"] > MAX_FIELDS:
                            raise HTTPException(400, "表单字段过多")
                elif kind == "data":
                    if state["filename"] is not None and sink is not None:
                        sink.write(data)
                    else:
                        state["value"] += data
                        if len(state["value"]) > MAX_FIELD_BYTES:
                            raise HTTPException(400, "表单字段过长")
                elif kind == "end":
                    if state["filename"] is None and state["name"] == CSRF_FIELD:
                        check_csrf_value(request, auth, state["value"].decode("ascii", "replace"))
                        csrf_seen = True
                    elif state["filename"] is not None:
                        filename = state["filename"]
            events.clear()
        parser.finalize()
        if not csrf_seen:
            raise HTTPException(403, "表单已失效或来源不明（CSRF 校验失败），请刷新页面后重试")
        if sink is None:
            raise HTTPException(400, "请选择要上传的成果包（.zip）")
        if sink.size == 0:
            raise HTTPException(400, "PKG-001 成果包为空：未收到任何内容")
        return sink, sink.close(), filename
    except BaseException:
        if sink is not None:
            sink.discard()
        raise


async def _chunks(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        if chunk:
            yield chunk


def register(svc, auth: Auth, sink_id: str, filename: str, size: int, sha256: str) -> Upload:
    """Record an upload whose package is in place, and queue its pre-check."""
    upload = svc.accounts.add_upload(sink_id, auth.org.id, auth.person.id, filename, size, sha256)
    svc.jobs.precheck(upload)
    return upload
