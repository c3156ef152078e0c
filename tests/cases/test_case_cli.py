"""``duoce case`` driven as each role with typer's CliRunner: a case through every stage,
refusals with exit 2 and a code, the board's working days counted by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from interfaces.case_cli import case_app
from storage.store import Store
from tests.cases.stored import store_revision

PROJECT = "LC-KFQ-2022-0137"
FIRM = "鲁测公司"
CAD013 = {
    "code": "CAD-013",
    "severity": "error",
    "domain": "cadastral",
    "message": "界址点间距超限",
    "object": {"sheet": "界址点", "key": "J12"},
}
PLN003 = {
    "code": "PLN-003",
    "severity": "warning",
    "domain": "planning",
    "message": "绿地率",
    "object": {"sheet": "规划指标", "row": 3, "field": "LDL"},
}

LEAD = "王受理@approval"
PLANNING, HOUSING = "李规划@planning", "赵房产@housing"
REGISTRY, ARCHIVE = "钱登记@registration", "孙档案@archive"


def submit(store: Store, n: int, verdict: str, findings: list[dict], deadline: str | None) -> None:
    store_revision(
        store, n, verdict, findings, deadline,
        counts={"error": 1}, submitted_at="2026-09-18T09:00:00+08:00",
    )  # fmt: skip


@pytest.fixture
def cli(tmp_path: Path):
    store = Store(tmp_path / "store")
    submit(store, 1, "accepted_with_deficiencies", [CAD013, PLN003], "2026-09-25")
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(case_app, [*args, "--store", str(store.root)])
        assert result.exit_code == code, result.output
        return result.output

    run.store = store  # type: ignore[attr-defined]
    return run


def test_a_case_through_every_stage_as_each_role(cli) -> None:
    out = cli("open", PROJECT, "--revision", "1", "--as", LEAD, "--at", "2026-09-18T10:00")
    assert "容缺事项：CAD-013" in out and "2026-09-25" in out
    cli("dispatch", PROJECT, "--as", LEAD, "--at", "2026-09-21T09:00")
    cli("inspect", PROJECT, "--as", LEAD, "--with", "王受理", "--with", "李规划", "--at", "2026-09-21T15:00")
    cli("exception", PROJECT, "--as", REGISTRY, "--finding", "CAD-013", "--reason", "历史界址", "--at", "2026-09-22T09:00")
    for who in (PLANNING, HOUSING, REGISTRY, ARCHIVE):
        cli("opinion", PROJECT, "--as", who, "--decision", "通过", "--text", "同意", "--at", "2026-09-24T10:00")
    assert "结论：通过" in cli("conclude", PROJECT, "--as", LEAD, "--number", "聊联验〔2026〕1号", "--at", "2026-09-28T10:00")
    cli("archive", PROJECT, "--as", ARCHIVE, "--certificate", "档存7号", "--at", "2026-09-29T10:00")
    out = cli("register", PROJECT, "--as", REGISTRY, "--number", "鲁0001", "--at", "2026-09-29T11:00", code=2)
    assert "CASE-006" in out  # the 容缺 item is open

    submit(cli.store, 2, "accepted", [PLN003], None)
    cli("revise", PROJECT, "--revision", "2", "--as", f"周测绘@{FIRM}", "--at", "2026-09-30T09:00")
    cli("register", PROJECT, "--as", REGISTRY, "--number", "鲁0001", "--at", "2026-09-30T10:00")
    out = cli("show", PROJECT, "--as", "吴分析@approval", "--role", "analyst", "--today", "2026-10-09")
    assert "已于第 2 版消除" in out and "意见 聊城市住房和城乡建设局：通过" in out
    assert "已办结" in out
    assert "没有未办结的案件" in cli("board", "--as", LEAD, "--today", "2026-10-09")


def test_refusals_exit_2_with_the_code(cli) -> None:
    assert "CASE-001" in cli("open", PROJECT, "--revision", "1", "--as", PLANNING, code=2)
    cli("open", PROJECT, "--revision", "1", "--as", LEAD, "--at", "2026-09-18T10:00")
    out = cli("opinion", PROJECT, "--as", PLANNING, "--decision", "通过", "--at", "2026-09-21T09:00", code=2)
    assert "CASE-003" in out  # out of turn: not asked yet
    cli("dispatch", PROJECT, "--as", LEAD, "--dept", "planning", "--dept", "registration", "--dept", "archive", "--at", "2026-09-21T09:00")
    out = cli("opinion", PROJECT, "--as", HOUSING, "--decision", "通过", "--at", "2026-09-21T10:00", code=2)
    assert "CASE-002" in out  # another department's case
    assert "CASE-009" in cli("exception", PROJECT, "--as", PLANNING, "--finding", "CAD-013", "--reason", "x", "--at", "2026-09-21T10:00", code=2)
    assert "CASE-001" in cli("dispatch", PROJECT, "--as", "吴分析@approval", "--role", "analyst", code=2)
    assert "CASE-002" in cli("show", PROJECT, "--as", HOUSING, code=2)
    assert "CASE-002" in cli("show", PROJECT, "--as", "某人@别家公司", code=2)
    assert "CASE-010" in cli("board", "--as", "没有机构", code=2)
    assert "CASE-010" in cli("open", PROJECT, "--revision", "9", "--as", LEAD, "--case", "X", code=2)


def test_the_board_counts_working_days_by_hand_and_a_pause_stops_them(cli) -> None:
    cli("open", PROJECT, "--revision", "1", "--as", LEAD, "--at", "2026-09-18T10:00")
    # opened Fri 09-18; dispatch due Sun 09-20 (make-up working day); on 09-22: 3 used → 2 over
    out = cli("board", "--as", LEAD, "--today", "2026-09-22")
    assert "征求意见（聊城市行政审批服务局）应于 2026-09-20：超期 2 个工作日" in out
    # total: 10 working days over Mid-autumn and National Day → 10-09; by 09-22: 3 used
    assert "办结（聊城市行政审批服务局）应于 2026-10-09：剩余 7 个工作日" in out
    assert "容缺事项 CAD-013 已超期" not in out
    cli("pause", PROJECT, "--as", LEAD, "--reason", "补正界址点成果表", "--at", "2026-09-22T16:00")
    out = cli("board", "--as", LEAD, "--today", "2026-10-12")
    assert "［暂停中］" in out and "暂停中，剩余 7 个工作日" in out
    assert "容缺事项 CAD-013 已超期（期限 2026-09-25）" in out
    # a firm sees its own case on the board; another firm nothing
    assert PROJECT in cli("board", "--as", f"周测绘@{FIRM}", "--today", "2026-10-12")
    assert "没有未办结的案件" in cli("board", "--as", "某人@别家公司", "--today", "2026-10-12")
