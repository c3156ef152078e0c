"""The case demo runs one case through every stage with the sample project's two
revisions; its final state is read back from the case log and the store."""

from __future__ import annotations

import datetime as dt
import io
import re

from rich.console import Console

from cases.profile import load_case_rules
from interfaces.case_demo import run_demo
from storage.case_log import CaseLog
from storage.store import Store

RULES = load_case_rules("liaocheng")


def test_the_demo_case_ends_registered_with_its_combined_opinion(prefect_harness, tmp_path):
    store = tmp_path / "store"
    sink = io.StringIO()
    console = Console(file=sink, width=160, color_system=None)
    outcome = run_demo(store, console, start=dt.datetime(2026, 9, 14, 9, 0))
    printed = sink.getvalue()

    log = CaseLog.in_store(store)
    assert log.verify() == []
    case = log.case(outcome.case.case_id)
    assert case == outcome.case
    # every stage recorded, in order, and the case closed by registration
    assert [e.kind for e in log.events(case.case_id)] == [
        "opened", "green_channel", "dispatched", "inspected", "paused",
        "opinion", "opinion", "opinion", "opinion", "revision", "opinion",
        "concluded", "archived", "registered",
    ]  # fmt: skip
    assert case.stage == "closed" and case.registered_at is not None and case.conclusion == "通过"
    assert case.green and case.certificate and case.registration_number
    # the 容缺 item opened on r1 was closed by r2, which also resumed the paused clock
    assert outcome.revisions == (1, 2) and case.revision == 2 and case.verdict == "accepted"
    assert [(i.code, i.opened_revision, i.closed_revision) for i in case.items] == [
        ("CAD-013", 1, 2)
    ]
    assert [(p.resumed_by_revision, p.resumed_at is not None) for p in case.pauses] == [(2, True)]
    # every department's opinion in force is 通过; the registry's is its second version
    assert {d: case.opinion(d).decision for d in RULES.departments} == dict.fromkeys(
        RULES.departments, "通过"
    )
    assert [o.decision for o in case.opinions["registration"]] == ["有条件通过", "通过"]
    # the stores holds both revisions and the combined opinion in the case's folder
    assert [r.revision for r in Store(store).revisions(case.project_id)] == [1, 2]
    assert outcome.document == store / "cases" / case.case_id / "联合验收意见书.html"
    html = outcome.document.read_text(encoding="utf-8")
    assert case.number in html and case.package_sha256 in html
    for dep in RULES.departments:
        assert RULES.name(dep) in html
    assert "已于第 2 版消除" in re.sub(r"<[^>]+>", "", html)
    # what it printed: the board while paused, the stages, where the document is
    assert "暂停中" in printed and "容缺" in printed
    assert (
        f"联合验收意见书 {case.number}（结论：通过）" in printed
        and "联合验收意见书.html" in printed
    )
