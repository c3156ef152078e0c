"""The case in the service (no Prefect: the check pool runs in threads): a department sees
the cases asking its opinion with the working days left and gives its opinion; a
department not asked sees nothing; the lead marks the green channel, records the
inspection, is refused the conclusion while an opinion is missing (CASE-003), then
concludes; the board puts green cases first and overdue stages in red; the firm follows
its case; analysts see statistics drawn as inline SVG and run a rerun off the request."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest

from tests.web.conftest import PASSWORD
from tests.web.test_access import _open_case


@pytest.fixture
def casework(web):
    from interfaces.web.security import hash_password

    accounts = web.app.state.services.accounts
    housing = accounts.add_org("住建局", "department", "housing").id
    accounts.add_person(housing, "dept_h", "房产科", hash_password(PASSWORD))
    firm = accounts.person_by_username("firm_a")
    accounts.claim_project("LC-P-1", firm.org_id)
    _open_case(web, "CASE-1", "LC-P-1")
    return web


def test_departments_see_only_the_cases_asking_their_opinion(casework):
    planning, _ = casework.login("dept_b")
    assert "CASE-1" not in planning.get("/cases").text
    assert planning.get("/cases/CASE-1").status_code == 404
    housing, csrf = casework.login("dept_h")
    listing = housing.get("/cases").text
    assert "CASE-1" in listing and re.search(r"剩余 [1-5] 个工作日", listing), listing
    page = housing.get("/cases/CASE-1")
    assert page.status_code == 200 and "出具意见" in page.text
    assert housing.post("/cases/CASE-1/opinion", data={"decision": "通过"}).status_code == 403  # no CSRF
    done = housing.post("/cases/CASE-1/opinion",
                        data={"csrf_token": csrf, "decision": "有条件通过", "text": "补充门牌号"})
    assert done.status_code == 303
    assert "有条件通过" in housing.get("/cases/CASE-1").text
    bad = housing.post("/cases/CASE-1/opinion", data={"csrf_token": csrf, "decision": "随便"})
    assert bad.status_code == 409 and "CASE-010" in bad.text


def test_the_lead_runs_the_case_to_its_conclusion(casework):
    lead, csrf = casework.login("lead_b")
    assert lead.post("/cases/CASE-1/green", data={"csrf_token": csrf, "reason": "重点项目"}).status_code == 303
    today = dt.date.today().isoformat()
    assert lead.post("/cases/CASE-1/inspect", data={"csrf_token": csrf, "inspected_on": today,
                                                    "participants": "张三,李四"}).status_code == 303
    refused = lead.post("/cases/CASE-1/conclude", data={"csrf_token": csrf, "number": "LY-1"})
    assert refused.status_code == 409 and "CASE-003" in refused.text
    housing, hcsrf = casework.login("dept_h")
    housing.post("/cases/CASE-1/opinion", data={"csrf_token": hcsrf, "decision": "通过"})
    assert lead.post("/cases/CASE-1/conclude", data={"csrf_token": csrf, "number": "LY-1"}).status_code == 303
    page = lead.get("/cases/CASE-1").text
    assert "通过（LY-1）" in page and "绿色通道" in page
    board = lead.get("/cases").text
    assert "CASE-1" in board and "绿色通道" in board
    # a department may not act for the lead, nor the lead for a department
    assert housing.post("/cases/CASE-1/green", data={"csrf_token": hcsrf}).status_code == 403
    assert lead.post("/cases/CASE-1/opinion", data={"csrf_token": csrf, "decision": "通过"}).status_code == 403
    firm, _ = casework.login("firm_a")
    assert "LC-P-1" in firm.get("/cases").text and firm.get("/cases/CASE-1").status_code == 200
    other, _ = casework.login("firm_b")
    assert other.get("/cases/CASE-1").status_code == 404 and "LC-P-1" not in other.get("/cases").text


def test_the_board_shows_overdue_stages_in_red(casework):
    import datetime as dt

    from cases.events import Actor, CaseOpened
    from interfaces.web.casework import case_log, rules_of

    svc = casework.app.state.services
    rules = rules_of(svc.settings.profile)
    old = dt.datetime(2026, 1, 5, 9, 0)
    case_log(svc).record(CaseOpened(case_id="OLD-1", actor=Actor("甲", rules.lead, "lead"), at=old,
                                    project_id="LC-OLD", revision=1, package_sha256="1" * 64,
                                    verdict="accepted", firm="某院"), rules)
    lead, _ = casework.login("lead_b")
    board = lead.get("/cases").text
    row = board[board.index("OLD-1"):]
    assert '<tr class="overdue">' in board and "超期" in row[:800]


def test_analysts_see_statistics_as_svg_and_run_a_rerun(casework):
    analyst, csrf = casework.login("dept_b_analyst")
    page = analyst.get("/stats")
    assert page.status_code == 200 and "<svg" in page.text and "<script" not in page.text
    started = analyst.post("/reruns", data={"csrf_token": csrf})
    assert started.status_code == 303
    url = started.headers["location"]
    for _ in range(200):
        text = analyst.get(url).text
        if "已完成" in text or "检查未完成" in text:
            break
        time.sleep(0.1)
    assert "已完成" in text and "重查 0 个版本" in text
    dept, _ = casework.login("dept_b")
    assert dept.get("/stats").status_code == 403
    assert dept.get(url).status_code == 403
    firm, _ = casework.login("firm_a")
    assert firm.get("/reruns").status_code == 403
