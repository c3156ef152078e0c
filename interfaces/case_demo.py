"""The case demo: one joint acceptance case through every stage with the sample project.

:func:`run_demo` makes the project's two revisions (:mod:`sample_data.case_revisions`:
r1 with one tolerated CAD-013, r2 with it fixed), submits r1 (the ``submit_package``
flow), and runs the case through the case flows (:mod:`flows.case`): 受理 on r1 (容缺受理:
one item), 绿色通道, 征求意见, 现场勘察, the registry asks for a correction (the clock
pauses) and gives a conditional opinion, the other departments theirs; r2 is submitted and
closes the item and resumes the clock; the registry's opinion becomes 通过 (its second
version); the combined opinion is issued and written; the archive certifies, the registry
registers. It prints the board on the way and where the combined opinion is.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from cases.board import STAGE_NAMES, board, stage_clocks
from cases.case import Case
from cases.profile import CaseRules, load_case_rules

__all__ = ["DemoOutcome", "run_demo"]

LEAD = "王受理"
PEOPLE = {"planning": "李规划", "housing": "赵房产", "registration": "钱登记", "archive": "孙档案"}
FIRM_PERSON = "周测绘"


@dataclass(frozen=True)
class DemoOutcome:
    """The case as it ended, and where its combined opinion is."""

    case: Case
    document: Path
    revisions: tuple[int, int]


def _print_board(console: Console, cases: list[Case], rules: CaseRules, today: dt.date) -> None:
    rows = board(cases, rules, today)
    table = Table(title=f"案件看板 {today}（工作日）")
    for header in ("环节", "案件", "时钟", "负责", "应于", "剩余", "超期", "标记"):
        table.add_column(header)
    for r in rows:
        flags = "、".join(x for x, on in (("绿色通道", r.green), ("暂停中", r.paused)) if on)
        for c in r.clocks:
            table.add_row(
                STAGE_NAMES.get(r.stage, r.stage), r.case_id, STAGE_NAMES.get(c.stage, c.stage),
                "、".join(rules.name(o) for o in c.responsible), str(c.due or "—"),
                str(c.remaining), str(c.overdue), flags,
            )  # fmt: skip
        for i in r.open_items:
            table.add_row("容缺", r.case_id, i.code, "测绘单位", str(i.deadline), "", "", "未办结")
    if not rows:
        console.print(f"{today}：没有未办结的案件")
    else:
        console.print(table)


def _print_clocks(console: Console, case: Case, rules: CaseRules, today: dt.date) -> None:
    table = Table(title=f"案件 {case.case_id} 各环节（工作日）")
    for header in ("环节", "开始", "完成", "期限", "已用", "结果"):
        table.add_column(header)
    for c in stage_clocks(case, rules, today):
        result = (
            f"超期 {c.overdue}" if c.overdue else ("按期完成" if c.end else f"剩余 {c.remaining}")
        )
        table.add_row(
            STAGE_NAMES.get(c.stage, c.stage),
            str(c.start),
            str(c.end or "—"),
            str(c.limit),
            str(c.used),
            result,
        )
    console.print(table)


def run_demo(
    store: Path,
    console: Console,
    *,
    profile: str = "liaocheng",
    start: dt.datetime | None = None,
    seed: int = 0,
) -> DemoOutcome:
    """Run one case through every stage in ``store``; print the board and the document's
    place. ``start`` (Beijing time, naive; default now) is the time of the opening, each
    later step a few minutes after the one before. ``seed``: the sample project's variant
    (``duoce demo`` takes another than its own sample package, so that the case's fixed
    revision is not that package again)."""
    from flows.case import (
        case_step,
        conclude_case,
        now,
        open_case,
        revise_case,
        submission_queue,
    )
    from flows.pipeline import submit_package
    from sample_data.case_revisions import make_case_revisions
    from storage.case_log import CaseLog

    rules = load_case_rules(profile)
    store_s = str(store)
    t0 = start or now()
    step = iter(range(0, 10_000, 5))

    def at() -> str:
        return (t0 + dt.timedelta(minutes=next(step))).isoformat()

    def record(kind: str, person: str, organisation: str, **payload: object) -> dict:
        return case_step(
            store_s,
            {"kind": kind, "case_id": case_id, "person": person, "organisation": organisation,
             "at": at(), "payload": payload},
            profile,
        )  # fmt: skip

    with tempfile.TemporaryDirectory(prefix="duoce-case-demo-") as tmp:
        revs = make_case_revisions(Path(tmp), seed=seed)
        console.print(f"样例项目 {revs.project_id}：r1 含容缺问题 {revs.tolerated_code}，r2 已补正")
        first = submit_package(str(revs.r1), store_s, profile)
        console.print(f"提交 r1 → 第 {first.revision} 版，检查结论 {first.result.verdict.name}")
        case_id = f"{revs.project_id}-{t0:%Y%m%d%H%M%S}"

        opened = open_case(
            store_s, revs.project_id, first.revision, LEAD, rules.lead, case_id, at(), profile
        )
        console.print(
            f"受理（容缺受理）：案件 {case_id}，容缺事项 {'、'.join(opened['open_items'])}"
        )
        record("green_channel", LEAD, rules.lead, reason="重点民生项目")
        console.print("绿色通道：本案后续成果提交进入 green 工作队列（优先级 1）")
        record("dispatched", LEAD, rules.lead, departments=list(rules.departments))
        record("inspected", LEAD, rules.lead, inspected_on=t0.date().isoformat(),
               participants=[LEAD, *PEOPLE.values()], notes="现场与成果一致")  # fmt: skip
        registration = rules.registration
        record("paused", PEOPLE.get(registration, "登记"), registration,
               reason=f"补正：{revs.tolerated_code} 界址线边长（容缺事项）")  # fmt: skip
        for dep in rules.departments:
            person = PEOPLE.get(dep, f"{dep}经办人")
            if dep == registration:
                record("opinion", person, dep, decision="有条件通过",
                       text=f"待补正 {revs.tolerated_code} 后通过", relies_on=[revs.tolerated_code])  # fmt: skip
            else:
                record("opinion", person, dep, decision="通过", text="同意")
        log = CaseLog.in_store(store)
        console.print("各部门意见已出具；等待测绘单位补正（时钟暂停）：")
        _print_board(console, [log.case(case_id)], rules, t0.date())

        queue = submission_queue(log.case(case_id))
        second = submit_package(str(revs.r2), store_s, profile)
        console.print(
            f"提交 r2（工作队列 {queue}）→ 第 {second.revision} 版，检查结论 {second.result.verdict.name}"
        )
        firm = second.result.tables.project.get("CHDW") or log.case(case_id).firm
        revised = revise_case(store_s, case_id, second.revision, FIRM_PERSON, firm, at(), profile)
        console.print(
            f"第 {second.revision} 版消除了容缺事项；尚余 {len(revised['open_items'])} 项，时钟恢复"
        )
        record(
            "opinion",
            PEOPLE.get(registration, "登记"),
            registration,
            decision="通过",
            text="已补正，同意",
        )

    number = f"聊联验〔{t0.year}〕{t0:%m%d%H%M}号"
    concluded = conclude_case(store_s, case_id, LEAD, number, rules.lead, at(), profile)
    record(
        "archived",
        PEOPLE.get(rules.archive, "档案"),
        rules.archive,
        certificate=f"档存〔{t0.year}〕1号",
    )
    record("registered", PEOPLE.get(registration, "登记"), registration,
           number=f"鲁（{t0.year}）聊城市不动产权第0000001号")  # fmt: skip
    case = log.case(case_id)
    assert case is not None
    _print_clocks(console, case, rules, t0.date())
    _print_board(console, [c for c in log.cases() if not c.closed], rules, t0.date())
    document = Path(concluded["path"])
    console.print(f"联合验收意见书 {case.number}（结论：{case.conclusion}）→ {document}")
    return DemoOutcome(case, document, (first.revision, second.revision))
