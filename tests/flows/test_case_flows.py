"""The case's flows against the test Prefect server: one event per ``case_step`` (refusals
fail the run with their code, nothing written), ``open_case`` / ``revise_case`` from the
store's revisions, ``flag_overdue`` recording each overdue stage and item once a day with
the board as artifacts; the 绿色通道's work queue chosen and honoured by the server."""

from __future__ import annotations

from pathlib import Path

import pytest

from cases.case import Refused
from cases.events import to_record
from flows.case import (
    case_step,
    flag_overdue,
    open_case,
    revise_case,
    submission_queue,
    submit_for_case,
)
from storage.case_log import CaseLog
from storage.store import Store
from tests.cases.stored import store_revision

PROJECT, FIRM = "LC-KFQ-2022-0137", "鲁测公司"
CAD013 = {
    "code": "CAD-013",
    "severity": "error",
    "domain": "cadastral",
    "message": "界址线边长超限",
    "object": {"sheet": "界址线", "key": "J2/J3", "field": "JZXCD"},
}


def submit(store: Store, n: int, verdict: str, findings: list[dict], deadline: str | None) -> None:
    """A revision in the catalogue with its archived findings.json (no package checked)."""
    store_revision(
        store, n, verdict, findings, deadline,
        counts={"error": len(findings)}, submitted_at="2026-09-14T09:00:00+08:00",
    )  # fmt: skip


def event(kind: str, who: str, at: str, **payload) -> dict:
    person, org = who.split("@")
    return {
        "kind": kind,
        "case_id": PROJECT,
        "person": person,
        "organisation": org,
        "at": at,
        "payload": payload,
    }


@pytest.fixture
def store(tmp_path: Path) -> str:
    vault = Store(tmp_path / "store")
    submit(vault, 1, "accepted_with_deficiencies", [CAD013], "2026-09-21")
    submit(vault, 2, "accepted", [], None)
    return str(vault.root)


def test_the_green_flag_chooses_the_queue():
    from cases.case import replay
    from tests.cases.make import green, opened

    plain = replay([opened("2026-09-14")])
    assert submission_queue(None) == "default"
    assert submission_queue(plain) == "default"
    assert submission_queue(replay([opened("2026-09-14"), green("2026-09-14")])) == "green"


def test_steps_through_flows_and_the_daily_flags(prefect_harness, store):
    first = open_case(store, PROJECT, 1, "王受理", at="2026-09-14T09:30")
    assert first["open_items"] == ["CAD-013"] and first["stage"] == "dispatched"
    case_step(store, event("dispatched", "王受理@approval", "2026-09-14T10:00",
                           departments=["planning", "housing", "registration", "archive"]))  # fmt: skip
    # a department acting as the lead office is refused; nothing is written
    with pytest.raises(Refused) as refused:
        case_step(store, event("green_channel", "李规划@planning", "2026-09-14T11:00", reason="x"))
    assert refused.value.code == "CASE-001"
    with pytest.raises(Refused):
        case_step(
            store, {**event("green_channel", "李规划@planning", "2026-09-14T11:00"), "role": "lead"}
        )
    assert CaseLog.in_store(store).case(PROJECT).version == 2

    # nothing done since: by hand, 15–18, 20 (a Sunday worked before National Day), 21–24
    # September are 9 working days: inspection (limit 1) 8 over, opinions (5) 4 over; the
    # item's deadline (21st) 3 calendar days past
    daily = flag_overdue(store, today="2026-09-24")
    whats = {what: days for _, what, _, days in daily["flags"]}
    assert whats == {"inspected": 8, "opinions": 4, "item:CAD-013": 3}
    assert daily["new"] == 3 and flag_overdue(store, today="2026-09-24")["new"] == 0
    assert [f["what"] for f in CaseLog.in_store(store).flags("2026-09-24")] == [
        "inspected",
        "opinions",
        "item:CAD-013",
    ]

    # r2 closes the item
    second = revise_case(store, PROJECT, 2, "周测绘", FIRM, at="2026-09-24T15:00")
    assert second["open_items"] == [] and second["revision"] == 2
    assert "item:CAD-013" not in {
        w for _, w, _, _ in flag_overdue(store, today="2026-09-25")["flags"]
    }


def test_work_queues_exist_with_their_priorities_and_a_green_case_uses_its_own(
    prefect_harness, store, monkeypatch
):
    from prefect.client.orchestration import get_client

    from flows.deploy import ensure_work_queues
    from flows.pipeline import submit_package

    assert ensure_work_queues() == {"green": 1, "default": 10, "analysts": 20}
    assert ensure_work_queues(priorities={"green": 1, "default": 10}) == {"green": 1, "default": 10}
    with get_client(sync_client=True) as client:
        assert client.read_work_queue_by_name("green", work_pool_name="duoce").priority == 1
        assert client.read_work_queue_by_name("default", work_pool_name="duoce").priority == 10

    # the submit deployment on the pool; a green case's run lands on the green queue
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    submit_package.to_deployment(
        name="submit-pool", work_pool_name="duoce", work_queue_name="default"
    ).apply()
    open_case(store, PROJECT, 1, "王受理", at="2026-09-14T09:30")
    plain = submit_for_case(store, PROJECT, "pkg.zip", deployment="submit_package/submit-pool")
    case_step(
        store, event("green_channel", "王受理@approval", "2026-09-14T10:00", reason="重点项目")
    )
    fast = submit_for_case(store, PROJECT, "pkg.zip", deployment="submit_package/submit-pool")
    assert (plain.work_queue_name, fast.work_queue_name) == ("default", "green")
    assert "绿色通道" in fast.tags and "绿色通道" not in plain.tags
    with get_client(sync_client=True) as client:  # scheduled, waiting for a worker of the pool
        for run in (plain, fast):
            client.set_flow_run_state(
                run.id, __import__("prefect.states").states.Cancelled(), force=True
            )


def test_an_event_record_round_trips_through_case_step(prefect_harness, store):
    from tests.cases.make import dispatched

    open_case(store, PROJECT, 1, "王受理", at="2026-09-14T09:30")
    record = to_record(dispatched("2026-09-14"))
    out = case_step(store, record)
    assert out["stage"] == "opinions" and out["version"] == 2


def test_the_combined_opinion_is_annexed_to_each_asked_department_and_the_archive(
    prefect_harness, store, monkeypatch
):
    import flows.case
    from flows.case import conclude_case
    from outputs.joint_opinion import DOCUMENT_NAME
    from storage.case_log import case_folder
    from tests.cases.make import HOUSING, PLANNING, dispatched, inspected, opinion

    # the rendering itself is outputs' (tested there); here: where its bytes go
    html = "<h1>联合验收意见书 聊联验〔2026〕1号</h1>"
    monkeypatch.setattr(flows.case, "render_for", lambda store, case, profile: html)
    open_case(store, PROJECT, 2, "王受理", at="2026-09-14T09:30")
    for e in (
        dispatched("2026-09-14", ("planning", "housing")),
        inspected("2026-09-15"),
        opinion("2026-09-16", PLANNING),
        opinion("2026-09-16", HOUSING, "有条件通过", "补充车位说明"),
    ):
        case_step(store, to_record(e))

    out = conclude_case(store, PROJECT, "王受理", "聊联验〔2026〕1号", at="2026-09-17T15:00")

    vault = Store(store)
    firm_copy = case_folder(store, PROJECT) / DOCUMENT_NAME
    assert Path(out["path"]) == firm_copy and firm_copy.read_text("utf-8") == html
    assert set(out["annexes"]) == {"planning", "housing", "archive"}  # not registration
    for dep in ("planning", "housing", "archive"):
        [annex] = vault.reader(dep).annexes(PROJECT)
        assert (annex.revision, annex.name) == (2, DOCUMENT_NAME)
        assert Path(out["annexes"][dep]) == annex.path == vault.annex_path(dep, PROJECT, 2)
        with vault.reader(dep).open_annex(annex) as fh:
            assert fh.read() == html.encode("utf-8")
    assert vault.reader("registration").annexes() == []
    assert vault.verify_all() == []
    # concluding again renders and annexes the same bytes: nothing changes
    again = conclude_case(store, PROJECT, "王受理", "聊联验〔2026〕1号")
    assert again["annexes"] == out["annexes"] and len(vault.annexes()) == 3
