"""The catalogue explains every rule, and docs/rules.md is generated from it (cannot drift)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from schemas.catalogue import CATALOGUE, make, markdown
from schemas.findings import Place

ROOT = Path(__file__).resolve().parents[2]


def test_every_rule_has_a_basis_and_a_fix_in_chinese() -> None:
    empty = [code for code, r in CATALOGUE.items() if not r.basis.strip() or not r.fix.strip()]
    assert empty == []
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in r.fix) for r in CATALOGUE.values())


def test_docs_rules_md_is_the_generated_catalogue() -> None:
    committed = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert committed == markdown(), "run: python -m schemas.catalogue --markdown > docs/rules.md"
    for code, rule in CATALOGUE.items():
        assert f"### {code} {rule.title}" in committed


def test_the_generator_runs_as_a_module() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "schemas.catalogue", "--markdown"], cwd=ROOT, capture_output=True, check=True
    )
    assert out.stdout.decode("utf-8") == markdown()
    bad = subprocess.run([sys.executable, "-m", "schemas.catalogue"], cwd=ROOT, capture_output=True)
    assert bad.returncode == 2 and "用法" in bad.stderr.decode("utf-8")


def test_the_message_does_not_repeat_the_code() -> None:
    f = make("RPT-004", Place(sheet="户", row=5), sheet="户", column="FWYT")
    assert f.code == "RPT-004"
    assert "RPT-004" not in f.message
    assert f.message == "「户」第 5 行 FWYT 为空"


def test_a_difference_is_stated_where_a_tolerance_is_exceeded() -> None:
    f = make("PRP-005", Place(sheet="自然幢", row=3), expected=1000.004, actual=1000.5, tolerance=0.03, key="Z1")
    assert f.message == "幢 Z1 实测建筑面积 1000.50 m² 与各户合计 1000.00 m² 相差 0.50 m²，超过 0.03 m²"
    every = [code for code, r in CATALOGUE.items() if "相差超过" in r.template]
    assert every == []  # 相差 is always followed by the figure


def test_a_ratio_tolerance_reads_as_a_percent() -> None:
    f = make("XSV-007", expected=1000.0, actual=1100.0, tolerance=0.03, ratio=0.1)
    assert "相差 100.00 m²（10.00%），超过 3%" in f.message


def test_indicator_figures_carry_their_unit() -> None:
    f = make("PLN-002", Place(sheet="规划指标", row=9), expected=18.0, actual=18.9, tolerance=0.1,
             scope="项目", indicator="建筑高度", unit=" m", digits=2)
    assert f.message == "项目 建筑高度 实测 18.90 m 超过规划许可 18.00 m，超出 0.90 m（允许超出 0.10 m）"


def test_a_value_that_does_not_fit_its_format_is_shown_plainly() -> None:
    f = make("PRP-002", Place(sheet="户", row=3), expected=0.1234567, actual="abc", key="x")
    assert f.message == "户 x 分摊系数 abc 与本幢分摊系数 0.123457 不符"
