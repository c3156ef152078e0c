"""Rendering pages: the Jinja environment and the context every page gets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates

from interfaces.web.deps import Auth, csrf_token
from schemas.verdict import VERDICT_NAMES

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
STATE_NAMES = {"queued": "排队中", "checking": "检查中", "done": "已完成", "failed": "检查未完成"}


BEIJING = ZoneInfo("Asia/Shanghai")


def _when(ts: float | None) -> str:
    """A stored time in Beijing time, as the case log's times are (not the machine's zone)."""
    if ts is None:
        return ""
    return dt.datetime.fromtimestamp(ts, BEIJING).strftime("%Y-%m-%d %H:%M")


templates.env.filters["when"] = _when
EVENT_NAMES = {
    "opened": "受理",
    "green_channel": "绿色通道",
    "dispatched": "征求意见",
    "inspected": "现场勘察",
    "opinion": "部门意见",
    "exception": "认可例外",
    "paused": "暂停补正",
    "revision": "新版成果",
    "concluded": "联合验收意见",
    "archived": "存档",
    "registered": "登记",
}
templates.env.globals.update(
    VERDICT_NAMES=VERDICT_NAMES, STATE_NAMES=STATE_NAMES, EVENT_NAMES=EVENT_NAMES
)


def render(request: Request, name: str, auth: Auth | None, status_code: int = 200, **context):
    """A page with the person, their organisation and the session's CSRF token."""
    context.update(auth=auth, csrf=csrf_token(request, auth))
    return templates.TemplateResponse(request, name, context, status_code=status_code)
