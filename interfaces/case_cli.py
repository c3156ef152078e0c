"""``duoce case``: the joint acceptance case from the command line (spec/case.md).

Every verb acts as a named person of an organisation: ``--as 姓名@机构``, the organisation
by its key in the profile's ``[case]`` table (``approval`` the lead office, ``planning``,
``housing``, ``registration``, ``archive`` …; any other organisation is a surveying firm).
The role follows from the organisation; ``--role analyst`` reads only. What the role may
not do is refused with the rule's code and a Chinese reason, exit 2; a store or a
findings.json that cannot be read is exit 1. Times are Beijing time (``--at`` to give one).

The verbs call :func:`storage.case_log.CaseLog.record`, which checks the event with
:func:`cases.case.handle` and appends it in one transaction. Heavy imports (SQLAlchemy,
the store) happen inside the verbs, so ``duoce check`` never loads them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn
from zoneinfo import ZoneInfo

import typer

if TYPE_CHECKING:
    from cases.case import Case
    from cases.events import Actor, Event
    from cases.profile import CaseRules
    from storage.case_log import CaseLog

__all__ = ["case_app"]

BEIJING = ZoneInfo("Asia/Shanghai")

case_app = typer.Typer(
    help="联合验收案件：受理、征求意见、现场勘察、部门意见、联合验收意见、存档、登记与看板。",
    no_args_is_help=True,
    add_completion=False,
)

AsOpt = Annotated[str, typer.Option("--as", help="以谁的身份：姓名@机构（机构为配置中的代号，如 approval、planning）", metavar="姓名@机构")]
RoleOpt = Annotated[str | None, typer.Option("--role", help="analyst：只读", metavar="角色")]
StoreOpt = Annotated[Path | None, typer.Option("--store", help="成果库目录（默认 ./store，或 DUOCE_STORE）", metavar="目录")]
ProfileOpt = Annotated[str | None, typer.Option("--profile", help="城市配置名称或 .toml 路径", metavar="配置")]
AtOpt = Annotated[str | None, typer.Option("--at", help="事件时间（北京时间，如 2026-09-18T10:00；默认现在）", metavar="时间")]
CaseArg = Annotated[str, typer.Argument(help="案件编号", metavar="案件")]


# ------------------------------------------------------------------ plumbing


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _settings(store: Path | None, profile: str | None) -> tuple[Path, CaseRules, str]:
    from cases.profile import load_case_rules
    from engine.settings import get_settings

    settings = get_settings(store=store, profile=profile)
    try:
        rules = load_case_rules(settings.profile)
    except (OSError, ValueError) as exc:
        _fail(f"CASE-010 城市配置 {settings.profile} 不能读取：{exc}")
    return settings.store, rules, settings.profile


def _log(root: Path) -> CaseLog:
    import sqlalchemy as sa

    from storage.case_log import CaseLog

    if root.exists() and not root.is_dir():
        _fail(f"成果库路径 {root} 是一个文件，应为目录（--store 或 DUOCE_STORE）")
    try:
        return CaseLog.in_store(root)
    except (OSError, sa.exc.SQLAlchemyError) as exc:
        _fail(f"成果库 {root} 的目录库无法打开：{exc}", 1)


def _actor(who: str, role: str | None, rules: CaseRules) -> Actor:
    from cases.events import Actor

    person, sep, org = who.partition("@")
    if not sep or not person.strip() or not org.strip():
        _fail(f"CASE-010 --as 应为 姓名@机构，不是 {who!r}")
    person, org = person.strip(), org.strip()
    if role not in (None, "analyst"):
        _fail(f"CASE-010 --role 只能是 analyst，不是 {role!r}")
    if role == "analyst":
        if org != rules.lead and org not in rules.departments:
            _fail(f"CASE-001 分析人员须属于牵头部门或职能部门，{org} 不是")
        return Actor(person, org, "analyst")
    if org == rules.lead:
        return Actor(person, org, "lead")
    if org in rules.departments:
        return Actor(person, org, "department")
    return Actor(person, org, "firm")


def _session(
    who: str, role: str | None, store: Path | None, profile: str | None
) -> tuple[CaseRules, Actor, CaseLog]:
    """What a verb acts with: the case rules, the person acting (``--as``, ``--role``) and
    the store's case log, each refused as the verbs refuse it."""
    root, rules, _ = _settings(store, profile)
    actor = _actor(who, role, rules)
    return rules, actor, _log(root)


def _at(value: str | None) -> dt.datetime:
    if value is None:
        return dt.datetime.now(BEIJING).replace(tzinfo=None, microsecond=0)
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        _fail(f"CASE-010 --at 不是时间：{value!r}（如 2026-09-18T10:00）")
    return at.astimezone(BEIJING).replace(tzinfo=None) if at.tzinfo else at


def _record(log: CaseLog, event: Event, rules: CaseRules) -> Case:
    from cases.case import Refused

    try:
        case = log.record(event, rules)
    except Refused as refusal:
        _fail(f"{refusal.code} {refusal.reason}")
    typer.echo(f"已记录：{case.case_id} 第 {case.version} 项事件（{_stage_name(case.stage)}）")
    return case


def _stage_name(stage: str) -> str:
    from cases.board import STAGE_NAMES

    return STAGE_NAMES.get(stage, stage)


def _visible(case: Case, actor: Actor, rules: CaseRules) -> bool:
    """Who sees a case: the lead and analysts all, a department those that ask its
    opinion, a firm its own."""
    if actor.role in ("lead", "analyst"):
        return True
    if actor.role == "department":
        return actor.organisation in case.requested
    return actor.organisation == case.firm


def _case(log: CaseLog, case_id: str, actor: Actor, rules: CaseRules) -> Case:
    case = log.case(case_id)
    if case is None:
        _fail(f"CASE-003 案件 {case_id} 尚未受理")
    if not _visible(case, actor, rules):
        _fail(f"CASE-002 {actor}无权查看案件 {case_id}")
    return case


def _facts(store_root: Path, project_id: str, revision: int, profile: str) -> dict[str, Any]:
    """What the case keeps of a stored revision (:func:`analysis.casework.revision_facts`):
    an unrecorded revision is exit 2, an unreadable findings.json exit 1."""
    from analysis.casework import FindingsUnreadable, RevisionNotRecorded, revision_facts
    from schemas.profile import load_profile
    from storage.store import Store

    tolerated = set(load_profile(profile).tolerated.codes)
    try:
        return revision_facts(Store(store_root), project_id, revision, tolerated)
    except RevisionNotRecorded as exc:
        _fail(str(exc))
    except FindingsUnreadable as exc:
        _fail(str(exc), 1)


# ------------------------------------------------------------------ the verbs


@case_app.command("open")
def open_(
    project: Annotated[str, typer.Argument(help="项目编号", metavar="项目")],
    revision: Annotated[int, typer.Option("--revision", help="受理的版本号", metavar="版本")],
    who: AsOpt,
    case_id: Annotated[str | None, typer.Option("--case", help="案件编号（默认为项目编号）", metavar="案件")] = None,
    role: RoleOpt = None,
    store: StoreOpt = None,
    profile: ProfileOpt = None,
    at: AtOpt = None,
) -> None:
    """受理：以已提交且未退回补正的版本建立案件（容缺受理时每个容缺问题一项）。"""
    from cases.events import CaseOpened

    root, rules, profile_name = _settings(store, profile)
    actor = _actor(who, role, rules)
    facts = _facts(root, project, revision, profile_name)
    event = CaseOpened(
        case_id=case_id or project,
        actor=actor,
        at=_at(at),
        project_id=project,
        revision=revision,
        **facts,
    )
    case = _record(_log(root), event, rules)
    for item in case.open_items:
        typer.echo(f"容缺事项：{item.code}（{'/'.join(p for p in item.identity[1:] if p)}）期限 {item.deadline}")


@case_app.command("revise")
def revise(
    case_id: CaseArg,
    revision: Annotated[int, typer.Option("--revision", help="新版本号", metavar="版本")],
    who: AsOpt,
    role: RoleOpt = None,
    store: StoreOpt = None,
    profile: ProfileOpt = None,
    at: AtOpt = None,
) -> None:
    """补正后的新版本：关闭问题已消除的容缺事项，恢复暂停的时钟（退回补正的版本除外）。"""
    from cases.events import RevisionSubmitted

    root, rules, profile_name = _settings(store, profile)
    actor, log = _actor(who, role, rules), _log(root)
    case = _case(log, case_id, actor, rules)
    facts = _facts(root, case.project_id, revision, profile_name)
    facts.pop("firm")
    event = RevisionSubmitted(case_id=case_id, actor=actor, at=_at(at), revision=revision, **facts)
    _record(log, event, rules)


def _simple(case_id: str, who: str, role: str | None, store: Path | None, profile: str | None, build) -> None:  # type: ignore[no-untyped-def]
    rules, actor, log = _session(who, role, store, profile)
    _record(log, build(actor, rules), rules)


@case_app.command("green")
def green(case_id: CaseArg, who: AsOpt, reason: Annotated[str, typer.Option("--reason", help="理由", metavar="理由")] = "", role: RoleOpt = None, store: StoreOpt = None, profile: ProfileOpt = None, at: AtOpt = None) -> None:
    """标记绿色通道（牵头部门）。"""
    from cases.events import GreenChannelMarked

    _simple(case_id, who, role, store, profile, lambda a, r: GreenChannelMarked(case_id=case_id, actor=a, at=_at(at), reason=reason))


@case_app.command("dispatch")
def dispatch(
    case_id: CaseArg,
    who: AsOpt,
    departments: Annotated[list[str] | None, typer.Option("--dept", help="征求意见的部门（默认配置中的全部）", metavar="部门")] = None,
    role: RoleOpt = None,
    store: StoreOpt = None,
    profile: ProfileOpt = None,
    at: AtOpt = None,
) -> None:
    """征求意见：向各职能部门发出意见征求（牵头部门）。"""
    from cases.events import OpinionsRequested

    _simple(case_id, who, role, store, profile, lambda a, r: OpinionsRequested(
        case_id=case_id, actor=a, at=_at(at), departments=tuple(departments or r.departments)))  # fmt: skip


@case_app.command("inspect")
def inspect(
    case_id: CaseArg,
    who: AsOpt,
    on: Annotated[str | None, typer.Option("--on", help="勘察日期（默认为记录当天）", metavar="日期")] = None,
    participants: Annotated[list[str] | None, typer.Option("--with", help="参加人", metavar="姓名")] = None,
    notes: Annotated[str, typer.Option("--notes", help="勘察记录", metavar="文字")] = "",
    role: RoleOpt = None,
    store: StoreOpt = None,
    profile: ProfileOpt = None,
    at: AtOpt = None,
) -> None:
    """现场勘察：记录联合现场勘察（牵头部门）。"""
    from cases.events import SiteInspected

    when = _at(at)
    try:
        day = dt.date.fromisoformat(on) if on else when.date()
    except ValueError:
        _fail(f"CASE-010 --on 不是日期：{on!r}")
    _simple(case_id, who, role, store, profile, lambda a, r: SiteInspected(
        case_id=case_id, actor=a, at=when, inspected_on=day,
        participants=tuple(participants or ()), notes=notes))  # fmt: skip


@case_app.command("opinion")
def opinion(
    case_id: CaseArg,
    who: AsOpt,
    decision: Annotated[str, typer.Option("--decision", help="通过 / 有条件通过 / 不通过", metavar="意见")],
    text: Annotated[str, typer.Option("--text", help="意见正文（有条件通过时写明条件）", metavar="文字")] = "",
    relies_on: Annotated[list[str] | None, typer.Option("--relies-on", help="所依据的问题编号", metavar="编号")] = None,
    role: RoleOpt = None,
    store: StoreOpt = None,
    profile: ProfileOpt = None,
    at: AtOpt = None,
) -> None:
    """部门意见：本部门的意见；再次出具则替代前一稿（各稿均保留）。"""
    from cases.events import OpinionGiven

    _simple(case_id, who, role, store, profile, lambda a, r: OpinionGiven(
        case_id=case_id, actor=a, at=_at(at), decision=decision, text=text,  # type: ignore[arg-type]
        relies_on=tuple(relies_on or ())))  # fmt: skip


@case_app.command("exception")
def exception(
    case_id: CaseArg,
    who: AsOpt,
    code: Annotated[str, typer.Option("--finding", help="问题编号，如 CAD-013", metavar="编号")],
    reason: Annotated[str, typer.Option("--reason", help="认可的理由", metavar="理由")],
    key: Annotated[str | None, typer.Option("--object", help="对象（键或行号），同一编号有多处时必填", metavar="对象")] = None,
    role: RoleOpt = None,
    store: StoreOpt = None,
    profile: ProfileOpt = None,
    at: AtOpt = None,
) -> None:
    """认可例外：本部门测绘成果中的一个问题，按问题标识带到以后各版。"""
    from cases.events import ExceptionAccepted

    rules, actor, log = _session(who, role, store, profile)
    case = log.case(case_id)
    if case is None:
        _fail(f"CASE-003 案件 {case_id} 尚未受理")
    found = {f.identity for f in case.findings if f.code == code and (key is None or f.identity[2] == key)}
    if len(found) > 1:
        keys = "、".join(sorted(i[2] or "（无）" for i in found))
        _fail(f"CASE-010 {code} 有 {len(found)} 处（{keys}），请用 --object 指明")
    identity = next(iter(found), (code, "", key or "", "", "", ""))
    _record(log, ExceptionAccepted(case_id=case_id, actor=actor, at=_at(at), identity=identity, reason=reason), rules)


@case_app.command("pause")
def pause(case_id: CaseArg, who: AsOpt, reason: Annotated[str, typer.Option("--reason", help="补正要求", metavar="理由")], role: RoleOpt = None, store: StoreOpt = None, profile: ProfileOpt = None, at: AtOpt = None) -> None:
    """暂停：等待测绘单位补正，时钟停止，直到下一版成果。"""
    from cases.events import CasePaused

    _simple(case_id, who, role, store, profile, lambda a, r: CasePaused(case_id=case_id, actor=a, at=_at(at), reason=reason))


@case_app.command("conclude")
def conclude(case_id: CaseArg, who: AsOpt, number: Annotated[str, typer.Option("--number", help="联合验收意见书编号", metavar="编号")], role: RoleOpt = None, store: StoreOpt = None, profile: ProfileOpt = None, at: AtOpt = None) -> None:
    """出具联合验收意见（牵头部门）：有部门不通过则结论为不通过。"""
    from cases.case import conclusion_of
    from cases.events import CombinedOpinionIssued

    rules, actor, log = _session(who, role, store, profile)
    case = log.case(case_id)
    conclusion = conclusion_of(case) if case is not None else "通过"
    case = _record(log, CombinedOpinionIssued(case_id=case_id, actor=actor, at=_at(at), number=number, conclusion=conclusion), rules)  # type: ignore[arg-type]
    typer.echo(f"结论：{case.conclusion}")


@case_app.command("archive")
def archive(case_id: CaseArg, who: AsOpt, certificate: Annotated[str, typer.Option("--certificate", help="不动产档案存档证明编号", metavar="编号")], role: RoleOpt = None, store: StoreOpt = None, profile: ProfileOpt = None, at: AtOpt = None) -> None:
    """存档：记录存档证明（档案部门）。"""
    from cases.events import ArchiveCertified

    _simple(case_id, who, role, store, profile, lambda a, r: ArchiveCertified(case_id=case_id, actor=a, at=_at(at), certificate=certificate))


@case_app.command("register")
def register(case_id: CaseArg, who: AsOpt, number: Annotated[str, typer.Option("--number", help="登记编号", metavar="编号")], role: RoleOpt = None, store: StoreOpt = None, profile: ProfileOpt = None, at: AtOpt = None) -> None:
    """登记：记录不动产登记（登记部门）；有未办结的容缺事项时不能登记。"""
    from cases.events import Registered

    _simple(case_id, who, role, store, profile, lambda a, r: Registered(case_id=case_id, actor=a, at=_at(at), number=number))


# ------------------------------------------------------------------ reading


def _today(value: str | None) -> dt.date:
    if value is None:
        return dt.datetime.now(BEIJING).date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _fail(f"CASE-010 --today 不是日期：{value!r}")


TodayOpt = Annotated[str | None, typer.Option("--today", help="按哪一天计算（默认今天）", metavar="日期")]


def _clock_text(c: Any) -> str:
    if c.overdue:
        state = f"超期 {c.overdue} 个工作日"
    elif c.end is None and c.due is None:
        state = f"暂停中，剩余 {c.remaining} 个工作日"
    else:
        state = f"剩余 {c.remaining} 个工作日" if c.end is None else "按期完成"
    estimate = "（含日历以外的年份，按周一至周五估算）" if c.basis != "statutory" else ""
    return state + estimate


@case_app.command("show")
def show(case_id: CaseArg, who: AsOpt, role: RoleOpt = None, today: TodayOpt = None, store: StoreOpt = None, profile: ProfileOpt = None) -> None:
    """案件详情：各环节时钟、部门意见、容缺事项、认可的例外、暂停记录。"""
    from cases.board import findings_view, stage_clocks

    rules, actor, log = _session(who, role, store, profile)
    case = _case(log, case_id, actor, rules)
    day = _today(today)
    flags = ("［绿色通道］" if case.green else "") + ("［暂停中，等待补正］" if case.paused else "")
    typer.echo(f"案件 {case.case_id}：项目 {case.project_id} 第 {case.revision} 版，测绘单位 {case.firm}，环节：{_stage_name(case.stage)}{flags}")
    for c in stage_clocks(case, rules, day):
        end = f"{c.end}" if c.end else "—"
        due = f"{c.due}" if c.due else "—"
        typer.echo(f"  {_stage_name(c.stage)}：{c.start} 起，期限 {c.limit} 个工作日，应于 {due}，完成 {end}，已用 {c.used}，{_clock_text(c)}")
    for dep in case.requested:
        o = case.opinion(dep)
        typer.echo(f"  意见 {rules.name(dep)}：" + (f"{o.decision}（第 {o.version} 稿，{o.person}，{o.at:%Y-%m-%d}）{o.text}" if o else "未出具"))
    if case.conclusion:
        typer.echo(f"  联合验收意见 {case.number}：{case.conclusion}")
    for i in case.items:
        status = f"已于第 {i.closed_revision} 版消除" if not i.is_open else ("已超期" if i.overdue_on(day) else "未办结")
        typer.echo(f"  容缺事项 {i.code}（{'/'.join(p for p in i.identity[1:] if p)}）期限 {i.deadline}：{status}")
    for f, exc in findings_view(case, rules):
        if exc is not None:
            typer.echo(f"  已认可例外 {f.code}（{rules.name(exc.department)}，{exc.person}）：{exc.reason}")
    for p in case.pauses:
        end = f"第 {p.resumed_by_revision} 版恢复于 {p.resumed_at:%Y-%m-%d}" if p.resumed_at else "尚未恢复"
        typer.echo(f"  暂停 {p.at:%Y-%m-%d}（{p.by}）：{p.reason}；{end}")


@case_app.command("board")
def board(who: AsOpt, role: RoleOpt = None, today: TodayOpt = None, store: StoreOpt = None, profile: ProfileOpt = None) -> None:
    """看板：未办结的案件按环节列出，含剩余或超期的工作日与超期的容缺事项。"""
    from cases.board import board as rows_of

    root, rules, _ = _settings(store, profile)
    actor = _actor(who, role, rules)
    day = _today(today)
    cases = [c for c in _log(root).cases() if _visible(c, actor, rules)]
    rows = rows_of(cases, rules, day)
    if not rows:
        typer.echo(f"{day}：没有未办结的案件")
        return
    typer.echo(f"{day} 看板（工作日）")
    for r in rows:
        flags = ("［绿色通道］" if r.green else "") + ("［暂停中］" if r.paused else "")
        typer.echo(f"{_stage_name(r.stage)}  {r.case_id}{flags}")
        for c in r.clocks:
            who_ = "、".join(rules.name(o) for o in c.responsible)
            typer.echo(f"    {_stage_name(c.stage)}（{who_}）应于 {c.due or '—'}：{_clock_text(c)}")
        for i in r.overdue_items:
            typer.echo(f"    容缺事项 {i.code} 已超期（期限 {i.deadline}）")
