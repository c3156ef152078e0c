"""`duoce` as a firm uses it: exit codes, findings.json, and never a traceback."""

from __future__ import annotations

import io
import json
import shutil

import openpyxl
from typer.testing import CliRunner

from interfaces.cli import app

runner = CliRunner()


def run(*args: str):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def test_clean_package_exits_zero_with_accepted(sample_s, tmp_path):
    out = tmp_path / "findings.json"
    result = run("check", sample_s, "--json", out)
    assert result.exit_code == 0, result.output
    assert "通过" in result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["verdict"] == "accepted" and doc["counts"]["error"] == 0


def test_text_in_a_number_cell_exits_one_with_rpt003_at_its_row(sample_s, tmp_path):
    pkg = tmp_path / sample_s.name
    shutil.copytree(sample_s, pkg)
    wb = openpyxl.load_workbook(pkg / "report.xlsx")
    ws = wb["户"]
    header = [c.value for c in ws[1]]
    col = next(i for i, h in enumerate(header, start=1) if "SCTNJZMJ" in str(h) or h == "实测套内建筑面积")
    ws.cell(row=5, column=col, value="八十八点一")
    buf = io.BytesIO()
    wb.save(buf)
    (pkg / "report.xlsx").write_bytes(buf.getvalue())
    out = tmp_path / "f.json"
    result = run("check", pkg, "--json", out)
    assert result.exit_code == 1
    found = json.loads(out.read_text(encoding="utf-8"))["findings"]
    hits = [f for f in found if f["code"] == "RPT-003"]
    assert [(f["object"]["sheet"], f["object"]["row"], f["object"]["field"]) for f in hits] == [("户", 5, "SCTNJZMJ")]
    assert any(f["code"] == "PKG-004" for f in found)  # the workbook no longer matches its checksum


def test_missing_package_is_a_finding_not_a_crash(tmp_path):
    out = tmp_path / "f.json"
    result = run("check", tmp_path / "nowhere.zip", "--json", out)
    assert result.exit_code == 1
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [f["code"] for f in doc["findings"]] == ["PKG-001"]
    assert doc["project_id"] is None and doc["verdict"] == "rejected"


def test_not_a_zip_is_pkg001(tmp_path):
    bad = tmp_path / "p.zip"
    bad.write_bytes(b"this is not a zip")
    result = run("check", bad)
    assert result.exit_code == 1 and "PKG-001" in result.output


def test_bad_invocation_exits_two(tmp_path):
    assert run("check").exit_code == 2
    assert run("check", tmp_path, "--no-such-option").exit_code == 2
    assert run("check", tmp_path, "--profile", tmp_path / "missing.toml").exit_code == 2


def test_profile_severity_override_changes_the_exit_code(sample_s, tmp_path):
    pkg = tmp_path / sample_s.name
    shutil.copytree(sample_s, pkg)
    (pkg / "extra.txt").write_text("x", encoding="utf-8")  # PKG-005, a warning by default
    assert run("check", pkg).exit_code == 0
    strict = tmp_path / "strict.toml"
    strict.write_text('base = "liaocheng"\nname = "strict"\n[severity]\n"PKG-005" = "error"\n', encoding="utf-8")
    assert run("check", pkg, "--profile", strict).exit_code == 1
    off = tmp_path / "off.toml"
    off.write_text('base = "liaocheng"\nname = "quiet"\n[severity]\n"PKG-005" = "off"\n', encoding="utf-8")
    out = tmp_path / "f.json"
    assert run("check", pkg, "--profile", off, "--json", out).exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8"))["findings"] == []
