"""The combined opinion (联合验收意见书) of a concluded case: every department's opinion with
its person and date (earlier versions listed), the 容缺 items with deadline and state, the
accepted exceptions, the conclusion (通过 only if no department said 不通过), number, date,
revision, sha256; deterministic; refused for a case not concluded or another revision."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from cases.case import handle
from cases.events import (
    Actor,
    CaseOpened,
    CombinedOpinionIssued,
    ExceptionAccepted,
    FindingRef,
    OpinionGiven,
    OpinionsRequested,
    SiteInspected,
)
from cases.profile import load_case_rules
from outputs.joint_opinion import render_joint_opinion

RULES = load_case_rules("liaocheng")
LEAD = Actor("王受理", "approval", "lead")
PEOPLE = {
    "planning": Actor("李规划", "planning", "department"),
    "housing": Actor("赵房产", "housing", "department"),
    "registration": Actor("钱登记", "registration", "department"),
    "archive": Actor("孙档案", "archive", "department"),
}


@pytest.fixture(scope="module")
def r1(tmp_path_factory):
    """The check of the sample project's r1 (one tolerated CAD-013)."""
    from engine.precheck import precheck, workspace
    from sample_data.case_revisions import make_case_revisions
    from schemas.profile import load_profile

    revs = make_case_revisions(tmp_path_factory.mktemp("revisions"))
    with workspace() as work:
        result = precheck(revs.r1, load_profile("liaocheng"), work)
    assert result.verdict.verdict == "accepted_with_deficiencies"
    return result


def at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, 9, day, hour)


def concluded_case(result, decisions: dict[str, str]):
    """A case on r1 through dispatch, inspection, opinions (planning twice), an exception
    and the conclusion."""
    tolerated = tuple(result.profile.tolerated.codes)
    refs = tuple(FindingRef.of(f, tolerated) for f in result.findings)
    v = result.verdict
    events = [
        CaseOpened(case_id="C1", actor=LEAD, at=at(14, 9), project_id=result.package.project_id,
                   revision=1, package_sha256=result.package.sha256, verdict=v.verdict, firm="鲁测公司",
                   deadline=dt.date(2026, 9, 25), deadline_basis="statutory", findings=refs),
        OpinionsRequested(case_id="C1", actor=LEAD, at=at(14, 10), departments=RULES.departments),
        SiteInspected(case_id="C1", actor=LEAD, at=at(15, 16), inspected_on=dt.date(2026, 9, 15),
                      participants=("王受理", "李规划"), notes="现场与成果一致"),
        OpinionGiven(case_id="C1", actor=PEOPLE["planning"], at=at(15, 17), decision="有条件通过",
                     text="绿地待补植"),
        ExceptionAccepted(case_id="C1", actor=PEOPLE["registration"], at=at(16, 9),
                          identity=refs[0].identity, reason="历史界址，现状认可"),
    ]  # fmt: skip
    for dep, decision in decisions.items():
        events.append(
            OpinionGiven(
                case_id="C1", actor=PEOPLE[dep], at=at(16, 10), decision=decision, text=f"{dep}意见"
            )
        )
    case = None
    for e in events:
        case = handle(case, e, RULES)
    conclusion = "不通过" if "不通过" in decisions.values() else "通过"
    return handle(
        case,
        CombinedOpinionIssued(case_id="C1", actor=LEAD, at=at(17, 15), number="聊联验〔2026〕8号",
                              conclusion=conclusion),  # type: ignore[arg-type]
        RULES,
    )  # fmt: skip


ALL_PASS = {"planning": "通过", "housing": "通过", "registration": "通过", "archive": "有条件通过"}


def text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def section(html: str, sid: str) -> str:
    m = re.search(rf"<section id='{sid}'>(.*?)</section>", html, re.S)
    assert m, sid
    return text_of(m.group(1))


def test_every_department_with_person_date_and_earlier_versions(r1):
    case = concluded_case(r1, ALL_PASS)
    html = render_joint_opinion(case, RULES, r1)
    opinions = section(html, "department-opinions")
    for dep, person in (
        ("planning", "李规划"),
        ("housing", "赵房产"),
        ("registration", "钱登记"),
        ("archive", "孙档案"),
    ):
        assert RULES.name(dep) in opinions and person in opinions
    assert "2026 年 9 月 16 日" in opinions and "第 2 稿" in opinions
    # planning's first version (有条件通过, 绿地待补植) is listed as superseded
    assert "此前各稿" in opinions and "有条件通过：绿地待补植" in opinions


def test_number_date_revision_sha_items_exceptions_conclusion(r1):
    case = concluded_case(r1, ALL_PASS)
    html = render_joint_opinion(case, RULES, r1)
    assert "聊联验〔2026〕8号" in html and "日期：2026 年 9 月 17 日" in html
    project = section(html, "s-project")
    assert "第 1 版" in project and r1.package.sha256 in project and "LC-KFQ-2022-0137" in project
    items = section(html, "tolerated-items")
    assert "CAD-013" in items and "2026 年 9 月 25 日" in items and "未办结" in items
    exceptions = section(html, "exceptions")
    assert (
        RULES.name("registration") in exceptions
        and "历史界址，现状认可" in exceptions
        and "钱登记" in exceptions
    )
    conclusion = section(html, "conclusion")
    assert "联合验收结论通过各部门均未出具不通过意见" in conclusion
    assert "@page{size:A4" in html


def test_one_department_against_makes_the_conclusion_against(r1):
    case = concluded_case(r1, {**ALL_PASS, "housing": "不通过"})
    conclusion = section(render_joint_opinion(case, RULES, r1), "conclusion")
    assert f"联合验收结论不通过{RULES.name('housing')}出具了不通过意见" in conclusion


def test_rendering_is_deterministic(r1):
    case = concluded_case(r1, ALL_PASS)
    assert render_joint_opinion(case, RULES, r1) == render_joint_opinion(case, RULES, r1)


def test_refused_before_the_conclusion_or_for_another_revision(r1):
    case = concluded_case(r1, ALL_PASS)
    with pytest.raises(ValueError, match="尚未出具"):
        render_joint_opinion(dataclasses.replace(case, concluded_at=None), RULES, r1)
    with pytest.raises(ValueError, match="sha256"):
        render_joint_opinion(dataclasses.replace(case, package_sha256="b" * 64), RULES, r1)


def test_text_is_escaped(r1):
    case = concluded_case(r1, ALL_PASS)
    case = dataclasses.replace(case, number="<script>x</script>")
    html = render_joint_opinion(case, RULES, r1)
    assert "<script>" not in html and "&lt;script&gt;" in html
