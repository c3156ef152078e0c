"""The joint acceptance case seen through the service: who a logged-in person is in the
case (:class:`cases.events.Actor`), which cases they may see, and the facts of a stored
revision a case keeps. Every event goes through :meth:`storage.case_log.CaseLog.record`
(:func:`cases.case.handle` checks role, organisation and order).

Visibility (``case.md``): the lead office and analysts every case, a department the cases
that ask its opinion, a firm the cases of its own projects (those it submitted through the
service first). What one may not see is "not found", like what does not exist.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import HTTPException

from cases.case import Case
from cases.events import Actor
from cases.profile import CaseRules, load_case_rules
from interfaces.web.deps import Auth
from storage.case_log import CaseLog

BEIJING = ZoneInfo("Asia/Shanghai")
CASE_NOT_FOUND = "案件不存在"


@functools.lru_cache(maxsize=8)
def rules_of(profile_ref: str) -> CaseRules:
    return load_case_rules(profile_ref)


@functools.lru_cache(maxsize=8)
def _log(root: str) -> CaseLog:
    return CaseLog.in_store(root)


def case_log(svc) -> CaseLog:
    return _log(str(svc.store.root))


def now() -> dt.datetime:
    """Beijing time, naive, to the second (how the case log keeps times)."""
    return dt.datetime.now(BEIJING).replace(tzinfo=None, microsecond=0)


def today() -> dt.date:
    return now().date()


def org_key(auth: Auth, rules: CaseRules) -> str:
    """The organisation as the case names it: the lead office's key, a department's code,
    a firm's name."""
    if auth.org.kind == "lead":
        return rules.lead
    if auth.org.kind == "department":
        return auth.org.department or ""
    return auth.org.name


def actor(auth: Auth, rules: CaseRules) -> Actor:
    name = auth.person.display_name or auth.person.username
    return Actor(name, org_key(auth, rules), auth.role)  # type: ignore[arg-type]


def firm_actor(auth: Auth, case: Case) -> Actor:
    """A firm acting on its own project's case: the case names the firm as its package
    does (the service checked the project is this firm's)."""
    return Actor(auth.person.display_name or auth.person.username, case.firm, "firm")


def may_see(svc, auth: Auth, case: Case) -> bool:
    rules = rules_of(svc.settings.profile)
    if auth.role in ("lead", "analyst"):
        return True
    if auth.role == "department":
        return org_key(auth, rules) in case.requested
    return svc.accounts.project_owner(case.project_id) == auth.org.id


def visible_cases(svc, auth: Auth) -> list[Case]:
    return [c for c in case_log(svc).cases() if may_see(svc, auth, c)]


def visible_case(svc, auth: Auth, case_id: str) -> Case:
    case = case_log(svc).case(case_id)
    if case is None or not may_see(svc, auth, case):
        raise HTTPException(404, CASE_NOT_FOUND)
    return case


def own_project(svc, auth: Auth, project_id: str) -> None:
    """A firm's own project (claimed at its first submission), else 404."""
    if auth.role != "firm" or svc.accounts.project_owner(project_id) != auth.org.id:
        raise HTTPException(404, "项目不存在")


def revision_facts(svc, project_id: str, revision: int) -> dict[str, Any]:
    """What a case keeps of a stored revision (:func:`analysis.casework.revision_facts`,
    as ``duoce case open`` reads it): 404 for an unrecorded revision, 409 for an
    unreadable findings.json."""
    from analysis import casework

    tolerated = set(svc.profile.tolerated.codes)
    try:
        return casework.revision_facts(svc.store, project_id, revision, tolerated)
    except casework.RevisionNotRecorded as exc:
        raise HTTPException(404, str(exc)) from exc
    except casework.FindingsUnreadable as exc:
        raise HTTPException(409, str(exc)) from exc


def revision_history(svc, project_id: str) -> list[dict[str, Any]]:
    """Each revision of a project with its verdict and, against the one before, how many
    findings were fixed, are new and are still open (matched by identity and count, as
    the revision diff does)."""
    from outputs.revisions import identity_of
    from storage.archive import archived_findings

    out: list[dict[str, Any]] = []
    before: Counter | None = None
    for rev in svc.store.revisions(project_id):
        doc = archived_findings(svc.store, project_id, rev.revision)
        now_ids = Counter(identity_of(f) for f in (doc or {}).get("findings") or [])
        if before is None or doc is None:
            diff = None
        else:
            still = now_ids & before
            diff = {
                "fixed": sum((before - still).values()),
                "new": sum((now_ids - still).values()),
                "open": sum(still.values()),
            }
        out.append({"rev": rev, "diff": diff, "has_findings": doc is not None})
        before = now_ids if doc is not None else None
    return out


def follow_revision(svc, run) -> None:
    """A firm's submitted revision joins its project's open case (RevisionSubmitted: the
    容缺 items it fixes close, a paused clock resumes); nothing when there is no case, or
    it already has this revision."""
    from cases.case import Refused
    from cases.events import RevisionSubmitted

    case = next((c for c in case_log(svc).cases() if c.project_id == run.project_id), None)
    if case is None or case.closed or case.revision >= run.revision:
        return
    if svc.accounts.project_owner(run.project_id) != run.org_id:
        return
    facts = revision_facts(svc, run.project_id, run.revision)
    person = svc.accounts.person(run.person_id)
    event = RevisionSubmitted(
        case_id=case.case_id,
        actor=Actor(person.display_name if person else "测绘单位", case.firm, "firm"),
        at=max(now(), case.last_at or now()),
        revision=run.revision,
        package_sha256=facts["package_sha256"],
        verdict=facts["verdict"],
        deadline=facts["deadline"],
        deadline_basis=facts["deadline_basis"],
        findings=facts["findings"],
    )
    try:
        case_log(svc).record(event, rules_of(svc.settings.profile))
    except Refused:
        pass  # e.g. the firm named in the package is not the case's: the lead decides
