"""The joint acceptance case's steps (spec/case.md) as Prefect flows.

=============== =====================================================================
``case_step``     one event (its record form, :func:`cases.events.to_record`) checked and
                  appended through :class:`storage.case_log.CaseLog`
``open_case``     受理 on a stored revision: its sha256, verdict, firm, 容缺 deadline and
                  findings read from the catalogue and the archived findings.json
``revise_case``   the next revision of the case's project (closes 容缺 items, resumes)
``conclude_case`` 验收结论: the combined opinion issued, rendered from the case and the
                  check of its revision (:mod:`outputs.joint_opinion`), written into
                  ``<store>/cases/<case>/联合验收意见书.html`` (the firm's copy) and
                  annexed beside the revision's product of every department asked and
                  the archive (``products/<dep>/<project>/r<N>.case/``); an artifact
``flag_overdue``  the daily check (deployment ``daily``, 08:00 Asia/Shanghai): every
                  overdue stage and 容缺 item recorded in ``case_flags``; the board as a
                  markdown and a table artifact
=============== =====================================================================

A refused event fails its flow run with the rule's code and reason (``CASE-0nn …``):
nothing is written. The person acts for an organisation; the role follows from the
profile's ``[case]`` table as on the command line. Times are Beijing time, naive.

The 绿色通道: :func:`submission_queue` sends a green case's submissions to the work pool's
``green`` queue (priority 1, before ``default``'s 10), and :func:`submit_for_case` runs the
``submit`` deployment there (:func:`flows.deploy.ensure_work_queues` makes the queues).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from analysis import casework
from cases.board import STAGE_NAMES, board, overdue
from cases.case import Case, Refused, conclusion_of
from cases.events import (
    Actor,
    CaseOpened,
    CombinedOpinionIssued,
    Event,
    RevisionSubmitted,
    from_record,
)
from cases.profile import CaseRules, load_case_rules
from engine.precheck import precheck
from outputs.joint_opinion import DOCUMENT_NAME, render_joint_opinion
from schemas.profile import load_profile
from storage.case_log import CaseLog, write_case_document
from storage.files import ascii_key
from storage.store import AnnexDiffers, Store

__all__ = [
    "DEFAULT_QUEUE",
    "GREEN_QUEUE",
    "QUEUE_PRIORITIES",
    "WORK_POOL",
    "case_step",
    "conclude_case",
    "flag_overdue",
    "open_case",
    "revise_case",
    "submission_queue",
    "submit_for_case",
]

log = logging.getLogger(__name__)

BEIJING = ZoneInfo("Asia/Shanghai")
WORK_POOL = "duoce"
GREEN_QUEUE, DEFAULT_QUEUE, ANALYSTS_QUEUE = "green", "default", "analysts"
# a lower number is served first (Prefect work-queue priority)
QUEUE_PRIORITIES: dict[str, int] = {GREEN_QUEUE: 1, DEFAULT_QUEUE: 10, ANALYSTS_QUEUE: 20}


# ------------------------------------------------------------------------------ helpers


def now() -> dt.datetime:
    """Beijing time, naive, to the second (how the case log keeps times)."""
    return dt.datetime.now(BEIJING).replace(tzinfo=None, microsecond=0)


def _at(value: str | None) -> dt.datetime:
    if value is None:
        return now()
    at = dt.datetime.fromisoformat(value)
    return at.astimezone(BEIJING).replace(tzinfo=None) if at.tzinfo else at


def actor(person: str, organisation: str, rules: CaseRules) -> Actor:
    """The person acting for an organisation, in the role the profile gives it."""
    return Actor(person, organisation, rules.role_of(organisation))  # type: ignore[arg-type]


def submission_queue(case: Case | None) -> str:
    """The work queue a case's submissions go to: ``green`` for a 绿色通道 case."""
    return GREEN_QUEUE if case is not None and case.green else DEFAULT_QUEUE


def _record(store: str, event: Event, rules: CaseRules) -> Case:
    try:
        return CaseLog.in_store(store).record(event, rules)
    except Refused as refusal:
        log.error("%s %s", refusal.code, refusal.reason)
        raise


def _outcome(case: Case) -> dict[str, Any]:
    return {
        "case_id": case.case_id,
        "version": case.version,
        "stage": case.stage,
        "revision": case.revision,
        "green": case.green,
        "paused": case.paused,
        "open_items": [i.code for i in case.open_items],
    }


# ------------------------------------------------------------------------------ the steps


@flow(name="case_step", log_prints=True)
def case_step(store: str, event: dict[str, Any], profile: str = "liaocheng") -> dict[str, Any]:
    """One event of a case (:func:`cases.events.to_record`'s form: kind, case_id, person,
    organisation, at, payload), checked against the case and appended. The role is the
    organisation's (a given ``role`` other than the organisation's is refused)."""
    rules = load_case_rules(profile)
    record = dict(event)
    role = rules.role_of(str(record["organisation"]))
    if record.get("role") not in (None, role):
        raise Refused(
            "CASE-001", f"{record['organisation']} 的角色是 {role}，不是 {record['role']}"
        )
    record["role"] = role
    record.setdefault("at", now().isoformat())
    record.setdefault("payload", {})
    case = _record(store, from_record(record), rules)
    print(
        f"{case.case_id}：{record['kind']} 已记录（第 {case.version} 项事件，{STAGE_NAMES.get(case.stage, case.stage)}）"
    )
    return _outcome(case)


@task(name="revision-facts", cache_policy=NO_CACHE)
def revision_facts(store: str, project_id: str, revision: int, profile: str) -> dict[str, Any]:
    """What a case keeps of a stored revision: sha256, verdict, firm, the 容缺 deadline and
    its findings (tolerated when the profile tolerates their code), from the catalogue and
    the findings.json archived with it.

    Raises
    ------
    LookupError
        The revision is not recorded, or its findings.json cannot be read.
    """
    tolerated = set(load_profile(profile).tolerated.codes)
    return casework.revision_facts(Store(Path(store)), project_id, revision, tolerated)


@flow(name="open_case", log_prints=True)
def open_case(
    store: str,
    project_id: str,
    revision: int,
    person: str,
    organisation: str = "approval",
    case_id: str | None = None,
    at: str | None = None,
    profile: str = "liaocheng",
) -> dict[str, Any]:
    """受理: a case on a stored revision (refused for a ``rejected`` one); one 容缺 item per
    tolerated finding."""
    rules = load_case_rules(profile)
    facts = revision_facts(store, project_id, revision, profile)
    event = CaseOpened(
        case_id=case_id or project_id,
        actor=actor(person, organisation, rules),
        at=_at(at),
        project_id=project_id,
        revision=revision,
        **facts,
    )
    case = _record(store, event, rules)
    print(f"{case.case_id}：已受理第 {revision} 版；容缺事项 {len(case.open_items)} 项")
    return _outcome(case)


@flow(name="revise_case", log_prints=True)
def revise_case(
    store: str,
    case_id: str,
    revision: int,
    person: str,
    organisation: str,
    at: str | None = None,
    profile: str = "liaocheng",
) -> dict[str, Any]:
    """The next stored revision of the case's project: closes the 容缺 items whose finding
    is gone, resumes a paused clock (unless it is ``rejected``)."""
    rules = load_case_rules(profile)
    case = CaseLog.in_store(store).case(case_id)
    if case is None:
        raise Refused("CASE-003", f"案件 {case_id} 尚未受理")
    facts = revision_facts(store, case.project_id, revision, profile)
    facts.pop("firm")
    event = RevisionSubmitted(
        case_id=case_id,
        actor=actor(person, organisation, rules),
        at=_at(at),
        revision=revision,
        **facts,
    )
    after = _record(store, event, rules)
    closed = [i.code for i in after.items if i.closed_revision == revision]
    print(
        f"{case_id}：第 {revision} 版；消除容缺事项 {len(closed)} 项，尚余 {len(after.open_items)} 项"
    )
    return _outcome(after)


@task(name="render-joint-opinion", cache_policy=NO_CACHE)
def render_for(store: str, case: Case, profile: str) -> str:
    """The combined opinion: the case's revision checked again from the stored package
    (the same package, the same rules give the same findings), then rendered."""
    vault = Store(Path(store))
    raw = vault.raw_path(case.package_sha256)
    if raw is None:
        raise LookupError(f"成果库中没有第 {case.revision} 版的成果包 {case.package_sha256}")
    with vault.workspace("joint") as work:
        result = precheck(raw, load_profile(profile), work)
        result.package.sha256 = case.package_sha256  # the stored key is the identity of record
        return render_joint_opinion(case, load_case_rules(profile), result)


@flow(name="conclude_case", log_prints=True)
def conclude_case(
    store: str,
    case_id: str,
    person: str,
    number: str,
    organisation: str = "approval",
    at: str | None = None,
    profile: str = "liaocheng",
) -> dict[str, Any]:
    """验收结论: issue the combined opinion (通过 unless a department said 不通过), render
    it and write it into the case's folder; a case already concluded is only rendered and
    written again (the same bytes). Its artifact says where it is and what it concludes."""
    rules = load_case_rules(profile)
    case = CaseLog.in_store(store).case(case_id)
    if case is None:
        raise Refused("CASE-003", f"案件 {case_id} 尚未受理")
    if case.concluded_at is None:
        event = CombinedOpinionIssued(
            case_id=case_id,
            actor=actor(person, organisation, rules),
            at=_at(at),
            number=number,
            conclusion=conclusion_of(case),  # type: ignore[arg-type]
        )
        case = _record(store, event, rules)
    html = render_for(store, case, profile)
    data = html.encode("utf-8")
    path = write_case_document(store, case_id, DOCUMENT_NAME, data)
    annexes = annex_opinion(store, case, data)
    show_conclusion(case, rules, path)
    print(f"{case_id}：联合验收意见书 {case.number}，结论 {case.conclusion} → {path}")
    print(f"{case_id}：已附于 {len(annexes)} 个部门的成果旁：{'、'.join(annexes)}")
    return {
        **_outcome(case),
        "number": case.number,
        "conclusion": case.conclusion,
        "path": str(path),
        "annexes": {dep: str(p) for dep, p in annexes.items()},
    }


@task(name="annex-joint-opinion", cache_policy=NO_CACHE)
def annex_opinion(store: str, case: Case, data: bytes) -> dict[str, Path]:
    """The combined opinion sealed beside each department's product of the case's
    revision (:meth:`storage.store.Store.annex_product`); the same bytes again change
    nothing. A department whose product already has another document is not changed:
    the others are annexed, then the run fails naming it."""
    vault = Store(Path(store))
    done: dict[str, Path] = {}
    refused: list[str] = []
    for dep in casework.opinion_departments(case):
        try:
            done[dep] = vault.annex_product(
                dep, case.project_id, case.revision, DOCUMENT_NAME, data
            )
        except AnnexDiffers as exc:
            log.error("%s", exc)
            refused.append(f"{dep}：{exc}")
    if refused:
        raise AnnexDiffers("联合验收意见书与已附于成果旁的不同，未替换：" + "；".join(refused))
    return done


def show_conclusion(case: Case, rules: CaseRules, path: Path) -> None:
    lines = [
        f"# 联合验收意见书 {case.number}",
        "",
        f"- 案件 {case.case_id}，项目 {case.project_id} 第 {case.revision} 版",
        f"- 成果包 sha256 `{case.package_sha256}`",
        f"- 结论：**{case.conclusion}**",
        f"- 文件：`{path}`",
        "",
        "| 部门 | 意见 | 经办人 | 日期 | 稿次 |",
        "|---|---|---|---|---|",
    ]
    for dep in case.requested:
        o = case.opinion(dep)
        if o is not None:
            lines.append(
                f"| {rules.name(dep)} | {o.decision} | {o.person} | {o.at:%Y-%m-%d} | {o.version} |"
            )
    for i in case.items:
        state = f"第 {i.closed_revision} 版消除" if not i.is_open else "未办结"
        lines.append(f"\n- 容缺事项 {i.code}：期限 {i.deadline}，{state}")
    create_markdown_artifact(
        "\n".join(lines),
        key=f"joint-opinion-{ascii_key(case.case_id)}",
        description="联合验收意见书",
    )


# ------------------------------------------------------------------------------ the daily check


def board_markdown(cases: list[Case], rules: CaseRules, today: dt.date) -> str:
    """The board (open cases by stage, their running clocks) as markdown."""
    rows = board(cases, rules, today)
    lines = [f"# 案件看板 {today}（工作日）", ""]
    if not rows:
        return "\n".join([*lines, "没有未办结的案件。"])
    lines += [
        "| 环节 | 案件 | 项目 | 时钟 | 期限 | 应于 | 剩余 | 超期 | 标记 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        flags = "、".join(x for x, on in (("绿色通道", r.green), ("暂停中", r.paused)) if on)
        for c in r.clocks:
            lines.append(
                f"| {STAGE_NAMES.get(r.stage, r.stage)} | {r.case_id} | {r.project_id} "
                f"| {STAGE_NAMES.get(c.stage, c.stage)} | {c.limit} | {c.due or '—'} "
                f"| {c.remaining} | {c.overdue} | {flags} |"
            )
        for i in r.overdue_items:
            lines.append(
                f"| 容缺 | {r.case_id} | {r.project_id} | {i.code} | — | {i.deadline} | 0 | 超期 | {flags} |"
            )
    return "\n".join(lines)


@flow(name="flag_overdue", log_prints=True)
def flag_overdue(
    store: str = "store", profile: str = "liaocheng", today: str | None = None
) -> dict[str, Any]:
    """The daily check: every overdue stage and 容缺 item of the open cases, recorded in
    ``case_flags`` (once per day), and the board as artifacts.

    Returns
    -------
    dict
        ``day``, ``open_cases``, ``flags`` (case, what, responsible, days over) and
        ``new`` (how many were not yet recorded that day).
    """
    rules = load_case_rules(profile)
    day = dt.date.fromisoformat(today) if today else now().date()
    case_log = CaseLog.in_store(store)
    cases = [c for c in case_log.cases() if not c.closed]
    flags = [
        (o.case_id, o.what, o.responsible, o.days_over)
        for c in cases
        for o in overdue(c, rules, day)
    ]
    new = case_log.record_flags(day.isoformat(), flags)
    create_markdown_artifact(
        board_markdown(cases, rules, day), key="case-board", description="案件看板"
    )
    rows = [
        {
            "case": case_id,
            "what": STAGE_NAMES.get(what, what)
            if not what.startswith("item:")
            else f"容缺 {what[5:]}",
            "responsible": "、".join(rules.name(o) for o in responsible),
            "days_over": days_over,
        }
        for case_id, what, responsible, days_over in flags
    ]
    create_table_artifact(
        rows or [{"case": "", "what": "无超期"}],
        key="case-overdue",
        description="超期环节与容缺事项",
    )
    print(f"{day}：未办结案件 {len(cases)} 件，超期 {len(flags)} 项（新记录 {new} 项）")
    return {"day": day.isoformat(), "open_cases": len(cases), "flags": flags, "new": new}


# ------------------------------------------------------------------------------ the green channel


def submit_for_case(
    store: str,
    case_id: str,
    source: str,
    profile: str = "liaocheng",
    deployment: str = "submit_package/submit",
    timeout: float | None = 0,
) -> Any:
    """Run the ``submit`` deployment for a case's next package on the case's work queue
    (``green`` for a 绿色通道 case, served first). Returns the flow run."""
    from prefect.deployments import run_deployment

    case = CaseLog.in_store(store).case(case_id)
    if case is None:
        raise Refused("CASE-003", f"案件 {case_id} 尚未受理")
    queue = submission_queue(case)
    return run_deployment(
        name=deployment,
        parameters={"source": source, "store": store, "profile": profile},
        work_queue_name=queue,
        tags=[f"案件:{case_id}"] + (["绿色通道"] if case.green else []),
        timeout=timeout,
    )
