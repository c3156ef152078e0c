"""The joint acceptance case (联合验收) in the service: the lead office's board and actions,
a department's cases, opinions, exceptions and products, a firm's projects, their
revisions (fixed / new / open) and cases. Every action is an event recorded through
:meth:`storage.case_log.CaseLog.record`: a refusal shows its CASE code and reason (409)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from cases.board import STAGE_NAMES, board, findings_view, stage_clocks
from cases.case import Case, Refused, conclusion_of
from cases.events import (
    DECISIONS,
    ArchiveCertified,
    CaseOpened,
    CasePaused,
    CombinedOpinionIssued,
    Event,
    ExceptionAccepted,
    GreenChannelMarked,
    OpinionGiven,
    OpinionsRequested,
    Registered,
    SiteInspected,
)
from interfaces.web.casework import (
    actor,
    case_log,
    org_key,
    own_project,
    revision_facts,
    revision_history,
    rules_of,
    today,
    visible_case,
    visible_cases,
)
from interfaces.web.casework import now as now_
from interfaces.web.checks import run_joint_opinion
from interfaces.web.deps import Auth, PersonAuth, services
from interfaces.web.pages import render

router = APIRouter(include_in_schema=False)

DECISION_CLASS = {"通过": "ok", "有条件通过": "warn", "不通过": "bad"}


def _rules(request: Request):
    return rules_of(services(request).settings.profile)


def _role(auth: Auth, *roles: str) -> None:
    if auth.role not in roles:
        raise HTTPException(403, "无权访问：您的角色不能办理此项")


def _record(request: Request, event: Event) -> Case:
    try:
        return case_log(services(request)).record(event, _rules(request))
    except Refused as refusal:
        raise HTTPException(409, f"{refusal.code} {refusal.reason}") from None


def _case_dep(*roles: str):
    """A dependency: the role first (403), then the case, visible to the asker (404) —
    both before the form is read, so a refusal says nothing about the form either."""

    def dep(request: Request, auth: PersonAuth, case_id: str) -> tuple[Auth, Case]:
        if roles:
            _role(auth, *roles)
        return auth, visible_case(services(request), auth, case_id)

    return dep


AnyCase = Annotated[tuple[Auth, Case], Depends(_case_dep())]
LeadCase = Annotated[tuple[Auth, Case], Depends(_case_dep("lead"))]
DeptCase = Annotated[tuple[Auth, Case], Depends(_case_dep("department"))]
ActingCase = Annotated[tuple[Auth, Case], Depends(_case_dep("lead", "department"))]


def _lead(auth: PersonAuth) -> Auth:
    _role(auth, "lead")
    return auth


LeadAuth = Annotated[Auth, Depends(_lead)]


def _back(case_id: str) -> RedirectResponse:
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


def _opinion_clock(case: Case, rules, day: dt.date):
    return next((c for c in stage_clocks(case, rules, day) if c.stage == "opinions"), None)


# ------------------------------------------------------------------ lists


@router.get("/cases")
def cases_page(request: Request, auth: PersonAuth):
    svc = services(request)
    rules, day = _rules(request), today()
    cases = visible_cases(svc, auth)
    context: dict = {"rules": rules, "day": day, "STAGE_NAMES": STAGE_NAMES}
    if auth.role in ("lead", "analyst"):
        opened = {(c.project_id, c.revision) for c in case_log(svc).cases()}
        waiting = []
        if auth.role == "lead":
            opened_projects = {c.project_id for c in case_log(svc).cases()}
            waiting = [
                r
                for r in svc.store.revisions()
                if r.verdict != "rejected"
                and r.project_id not in opened_projects
                and (r.project_id, r.revision) not in opened
            ]
        context.update(rows=board(cases, rules, day), waiting=waiting)
        return render(request, "board.html", auth, **context)
    if auth.role == "department":
        me = org_key(auth, rules)
        asked = [
            (c, _opinion_clock(c, rules, day), c.opinion(me))
            for c in sorted(cases, key=lambda c: (c.closed, not c.green, c.case_id))
        ]
        return render(request, "dept_cases.html", auth, asked=asked, **context)
    projects = svc.accounts.projects_of(auth.org.id)
    by_project = {c.project_id: c for c in cases}
    latest = {p: (svc.store.revisions(p) or [None])[-1] for p in projects}
    return render(
        request, "firm_projects.html", auth, projects=projects, by_project=by_project,
        latest=latest, **context,
    )  # fmt: skip


@router.post("/cases")
def open_case(
    request: Request,
    auth: LeadAuth,
    project_id: str = Form(...),
    revision: int = Form(...),
    case_id: str = Form(""),
):
    svc = services(request)
    facts = revision_facts(svc, project_id, revision)
    case_id = (case_id.strip() or project_id)[:100]
    event = CaseOpened(
        case_id=case_id, actor=actor(auth, _rules(request)), at=now_(),
        project_id=project_id, revision=revision, **facts,
    )  # fmt: skip
    _record(request, event)
    return _back(case_id)


# ------------------------------------------------------------------ one case


@router.get("/cases/{case_id}")
def case_page(request: Request, seen: AnyCase):
    svc = services(request)
    auth, case = seen
    rules, day = _rules(request), today()
    me = org_key(auth, rules)
    products, product, annexes = [], None, []
    if auth.role == "department":
        reader = svc.store.reader(me)
        try:
            product = reader.product(case.project_id, case.revision)
            products = reader.files(product)
        except LookupError:
            product = None
        annexes = [a.name for a in reader.annexes(case.project_id) if a.revision == case.revision]
    from outputs.joint_opinion import DOCUMENT_NAME
    from storage.case_log import case_folder

    joint = (case_folder(svc.store.root, case.case_id) / DOCUMENT_NAME).is_file()
    return render(
        request,
        "case.html",
        auth,
        case=case,
        rules=rules,
        day=day,
        me=me,
        clocks=stage_clocks(case, rules, day),
        findings=findings_view(case, rules),
        own_surveys=rules.surveys_of(me) if auth.role == "department" else (),
        products=products,
        product=product,
        annexes=annexes,
        joint=joint,
        conclusion=conclusion_of(case),
        STAGE_NAMES=STAGE_NAMES,
        DECISIONS=DECISIONS,
        DECISION_CLASS=DECISION_CLASS,
        history=[r for r in case_log(svc).rows(case.case_id)],
    )


def _lead_action(request: Request, seen: tuple[Auth, Case], build) -> RedirectResponse:
    auth, case = seen
    _record(request, build(case.case_id, actor(auth, _rules(request))))
    return _back(case.case_id)


@router.post("/cases/{case_id}/green")
def mark_green(request: Request, seen: LeadCase, reason: str = Form("")):
    return _lead_action(request, seen, lambda case_id, a: GreenChannelMarked(
        case_id=case_id, actor=a, at=now_(), reason=reason[:500]))  # fmt: skip


@router.post("/cases/{case_id}/dispatch")
def dispatch(
    request: Request, seen: LeadCase, departments: Annotated[list[str] | None, Form()] = None
):
    rules = _rules(request)
    chosen = tuple(dict.fromkeys(d for d in departments or () if d)) or rules.departments
    return _lead_action(request, seen, lambda case_id, a: OpinionsRequested(
        case_id=case_id, actor=a, at=now_(), departments=chosen))  # fmt: skip


@router.post("/cases/{case_id}/inspect")
def inspect(
    request: Request,
    seen: LeadCase,
    inspected_on: str = Form(""),
    participants: str = Form(""),
    notes: str = Form(""),
):
    at = now_()
    try:
        day = dt.date.fromisoformat(inspected_on) if inspected_on else at.date()
    except ValueError:
        raise HTTPException(400, f"CASE-010 勘察日期无效：{inspected_on[:20]}") from None
    people = tuple(p.strip() for p in participants.replace("，", ",").split(",") if p.strip())
    return _lead_action(request, seen, lambda case_id, a: SiteInspected(
        case_id=case_id, actor=a, at=at, inspected_on=day, participants=people[:50],
        notes=notes[:2000]))  # fmt: skip


@router.post("/cases/{case_id}/pause")
def pause(request: Request, seen: ActingCase, reason: str = Form(...)):
    auth, case = seen
    case_id = case.case_id
    _record(request, CasePaused(case_id=case_id, actor=actor(auth, _rules(request)), at=now_(),
                                reason=reason[:1000]))  # fmt: skip
    return _back(case_id)


@router.post("/cases/{case_id}/conclude")
def conclude(request: Request, seen: LeadCase, number: str = Form(...)):
    svc = services(request)
    auth, case = seen
    case_id = case.case_id
    _record(request, CombinedOpinionIssued(
        case_id=case_id, actor=actor(auth, _rules(request)), at=now_(), number=number[:100],
        conclusion=conclusion_of(case)))  # type: ignore[arg-type]  # fmt: skip
    svc.checker.call(run_joint_opinion, str(svc.store.root), svc.settings.profile, case_id)
    return _back(case_id)


@router.post("/cases/{case_id}/opinion")
def give_opinion(
    request: Request,
    seen: DeptCase,
    decision: str = Form(...),
    text: str = Form(""),
):
    auth, case = seen
    case_id = case.case_id
    _record(request, OpinionGiven(
        case_id=case_id, actor=actor(auth, _rules(request)), at=now_(),
        decision=decision, text=text[:4000]))  # type: ignore[arg-type]  # fmt: skip
    return _back(case_id)


@router.post("/cases/{case_id}/exception")
def accept_exception(
    request: Request,
    seen: DeptCase,
    finding: int = Form(...),
    reason: str = Form(...),
):
    auth, case = seen
    case_id = case.case_id
    if not 0 <= finding < len(case.findings):
        raise HTTPException(400, "CASE-009 没有这一问题")
    identity = case.findings[finding].identity
    _record(request, ExceptionAccepted(
        case_id=case_id, actor=actor(auth, _rules(request)), at=now_(), identity=identity,
        reason=reason[:1000]))  # fmt: skip
    return _back(case_id)


@router.post("/cases/{case_id}/archive")
def archive(request: Request, seen: DeptCase, certificate: str = Form(...)):
    auth, case = seen
    case_id = case.case_id
    _record(request, ArchiveCertified(case_id=case_id, actor=actor(auth, _rules(request)),
                                      at=now_(), certificate=certificate[:100]))  # fmt: skip
    return _back(case_id)


@router.post("/cases/{case_id}/register")
def register(request: Request, seen: DeptCase, number: str = Form(...)):
    auth, case = seen
    case_id = case.case_id
    _record(request, Registered(case_id=case_id, actor=actor(auth, _rules(request)),
                                at=now_(), number=number[:100]))  # fmt: skip
    return _back(case_id)


@router.get("/cases/{case_id}/joint-opinion")
def joint_opinion(request: Request, seen: AnyCase):
    """The combined opinion (published to every department asked and to the firm)."""
    from outputs.joint_opinion import DOCUMENT_NAME
    from storage.case_log import case_folder

    svc = services(request)
    _, case = seen
    path = case_folder(svc.store.root, case.case_id) / DOCUMENT_NAME
    if not path.is_file():
        raise HTTPException(404, "联合验收意见书尚未生成")
    return FileResponse(path, media_type="text/html; charset=utf-8", headers={
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:"})  # fmt: skip


@router.get("/cases/{case_id}/products/{name:path}")
def product_file(request: Request, seen: DeptCase, name: str):
    """A file of the department's own product of the case's revision (its read-only view
    of the store: another department's product cannot be named)."""
    svc = services(request)
    auth, case = seen
    reader = svc.store.reader(org_key(auth, _rules(request)))
    try:
        product = reader.product(case.project_id, case.revision)
        with reader.open(product, name) as f:
            data = f.read()
    except (LookupError, PermissionError, FileNotFoundError, IsADirectoryError):
        raise HTTPException(404, "成果文件不存在") from None
    media = (
        "application/geopackage+sqlite3" if name.endswith(".gpkg") else "application/octet-stream"
    )
    base = name.rsplit("/", 1)[-1]
    return Response(data, media_type=media, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(base)}"})  # fmt: skip


@router.get("/cases/{case_id}/annexes/{name}")
def annex_file(request: Request, seen: DeptCase, name: str):
    """A document annexed to the department's own product of the case's revision (the
    combined opinion, sealed beside the product)."""
    svc = services(request)
    auth, case = seen
    reader = svc.store.reader(org_key(auth, _rules(request)))
    found = [a for a in reader.annexes(case.project_id)
             if a.revision == case.revision and a.name == name]  # fmt: skip
    if not found:
        raise HTTPException(404, "附件不存在")
    try:
        with reader.open_annex(found[0]) as f:
            data = f.read()
    except (PermissionError, FileNotFoundError):
        raise HTTPException(404, "附件不存在") from None
    return Response(data, media_type="text/html; charset=utf-8", headers={
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:"})  # fmt: skip


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


# ------------------------------------------------------------------ a firm's projects


@router.get("/projects/{project_id}")
def project_page(request: Request, auth: PersonAuth, project_id: str):
    svc = services(request)
    own_project(svc, auth, project_id)
    case = next((c for c in case_log(svc).cases() if c.project_id == project_id), None)
    rules, day = _rules(request), today()
    return render(
        request, "project.html", auth, project_id=project_id,
        history=revision_history(svc, project_id), case=case, rules=rules,
        clocks=stage_clocks(case, rules, day) if case else [], STAGE_NAMES=STAGE_NAMES,
    )  # fmt: skip


@router.get("/projects/{project_id}/revisions/{revision}/findings.json")
def revision_findings(request: Request, auth: PersonAuth, project_id: str, revision: int):
    from storage.archive import archived_findings

    svc = services(request)
    own_project(svc, auth, project_id)
    doc = archived_findings(svc.store, project_id, revision)
    if doc is None:
        raise HTTPException(404, "该版本的 findings.json 不存在")
    return Response(
        json.dumps(doc, ensure_ascii=False, indent=1),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="findings-r{revision}.json"'},
    )
