"""The DXF overlay: a marker, the code and the object at every placed finding, one layer per
severity, the project CRS in one file and each floor plan in its own."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import ezdxf
import pytest

from engine.precheck import precheck, workspace
from outputs.overlay import APPID, LAYERS, MARKER_RADIUS, write_overlay
from sample_data import build_model, write_package
from sample_data.defects import DEFECTS
from schemas.check import CheckResult
from schemas.findings import Finding, Place
from schemas.profile import load_profile

TOL = 1e-6


@pytest.fixture(scope="module")
def placed_result(tmp_path_factory) -> CheckResult:
    """S with a footprint across the red line (site.dxf: PLN-010, located in the project
    CRS) and a unit label moved out of its unit (floor plan 0001: DXF-006, local)."""
    tmp = tmp_path_factory.mktemp("overlay")
    model = build_model("S")
    DEFECTS["PLN-010"].apply(model)
    unit = model.buildings[0].units[0]
    unit.label.at = (unit.label.at[0] + 1000.0, unit.label.at[1])
    pkg = write_package(model, tmp / "pkg")
    with workspace(tmp) as wd:
        return precheck(pkg, load_profile(), wd)


def xdata(entity) -> dict[str, str]:
    if not entity.has_xdata(APPID):
        return {}
    return dict(tag.value.split("=", 1) for tag in entity.get_xdata(APPID))


def assert_drawn(path: Path, findings: list[tuple[Finding, tuple[float, float]]]) -> None:
    """Each finding has its circle (with XDATA), its cross and its code text, on the layer
    of its severity, at its point."""
    doc = ezdxf.readfile(path)
    assert doc.dxfversion == "AC1024"  # R2010
    for layer, colour in LAYERS.values():
        assert doc.layers.get(layer).color == colour
    msp = doc.modelspace()
    circles = list(msp.query("CIRCLE"))
    lines = list(msp.query("LINE"))
    texts = list(msp.query("TEXT"))
    mtexts = list(msp.query("MTEXT"))
    assert len(circles) == len(findings)
    unused = list(circles)
    for f, (x, y) in findings:
        layer = LAYERS[f.severity][0]
        hit = next(
            (
                c
                for c in unused
                if c.dxf.layer == layer
                and abs(c.dxf.center.x - x) <= TOL
                and abs(c.dxf.center.y - y) <= TOL
                and xdata(c).get("code") == f.code
                and xdata(c).get("handle") == f.object.handle
            ),
            None,
        )
        assert hit is not None, f"no marker for {f.code} at {x, y} on {layer}"
        unused.remove(hit)
        assert hit.dxf.radius == pytest.approx(MARKER_RADIUS)
        meta = xdata(hit)
        for name in ("sheet", "key", "file", "layer", "field"):
            assert meta.get(name) == getattr(f.object, name)
        assert meta.get("row") == (str(f.object.row) if f.object.row is not None else None)
        through = [
            ln
            for ln in lines
            if ln.dxf.layer == layer
            and abs((ln.dxf.start.x + ln.dxf.end.x) / 2 - x) <= TOL
            and abs((ln.dxf.start.y + ln.dxf.end.y) / 2 - y) <= TOL
        ]
        assert len(through) >= 2  # the cross
        assert any(t.dxf.text == f.code and t.dxf.layer == layer for t in texts)
        if f.object.handle:
            assert any(f"句柄 {f.object.handle}" in m.text and m.dxf.layer == layer for m in mtexts)


def test_overlay_in_project_crs_and_one_per_floor_plan(placed_result, tmp_path):
    result = placed_result
    located = [(f, f.location) for f in result.findings if f.location is not None]
    local = [(f, f.local) for f in result.findings if f.local is not None]
    assert {f.code for f, _ in located} >= {"PLN-010"} and "DXF-006" in {f.code for f, _ in local}
    assert all(f.object.file == "drawings/floors/0001.dxf" for f, _ in local)

    target = tmp_path / "out" / "qc.dxf"
    paths = write_overlay(result, target)

    assert paths == [target, tmp_path / "out" / "qc_0001.dxf"]
    assert_drawn(paths[0], located)
    assert_drawn(paths[1], local)
    assert sorted(p.name for p in target.parent.iterdir()) == [
        "qc.dxf",
        "qc_0001.dxf",
    ]  # no temp left


def test_overlay_layers_xdata_and_names_for_every_kind_of_place(placed_result, tmp_path):
    """Warnings and infos on their layers, a table place in XDATA, findings at one point
    stacked, a floor plan the package does not have named by its file, text that MTEXT
    would read as formatting kept literal, unplaced findings left out."""
    at = (414900.125, 4039200.5)
    findings = [
        Finding(
            "PLN-011",
            "error",
            "planning",
            "[PLN-011] 退让 {a\\b} 0.5 m",
            Place(
                sheet="退让",
                row=3,
                key="k",
                field="SCZ",
                file="drawings/site.dxf",
                layer="JZJD",
                handle="3F",
            ),
            location=at,
        ),
        Finding(
            "CRS-005",
            "warning",
            "crs",
            "[CRS-005] 项目不在本市范围",
            Place(file="drawings/site.dxf", layer="YDHX", handle="2A"),
            location=at,
        ),
        Finding(
            "XSV-007",
            "info",
            "cross",
            "[XSV-007] 面积",
            Place(sheet="规划指标", row=4),
            location=(1.0, 2.0),
        ),
        Finding(
            "PRP-006",
            "error",
            "property",
            "[PRP-006] 套内面积",
            Place(
                sheet="户",
                row=12,
                key="371502001001GB00001F00010301",
                field="SCTNJZMJ",
                file="drawings/floors/0001.dxf",
                layer="FC_H",
                handle="2B",
            ),
            local=(12.5, 7.25),
        ),
        Finding(
            "PRP-008",
            "error",
            "property",
            "[PRP-008] 越界",
            Place(file="drawings/floors/0007.dxf", layer="FC_H", handle="9"),
            local=(-3.0, 4.0),
        ),
        Finding(
            "RPT-004", "error", "report", "[RPT-004] 空值", Place(sheet="户", row=5, field="HH")
        ),
    ]
    result = dataclasses.replace(placed_result, findings=findings)
    paths = write_overlay(result, tmp_path / "check.dxf")

    assert [p.name for p in paths] == ["check.dxf", "check_0001.dxf", "check_0007.dxf"]
    assert_drawn(paths[0], [(f, f.location) for f in findings[:3]])
    assert_drawn(paths[1], [(findings[3], findings[3].local)])
    assert_drawn(paths[2], [(findings[4], findings[4].local)])

    msp = ezdxf.readfile(paths[0]).modelspace()
    codes = Counter(t.dxf.text for t in msp.query("TEXT"))
    assert codes == {"PLN-011": 1, "CRS-005": 1, "XSV-007": 1}
    heights = {t.dxf.text: t.dxf.insert.y for t in msp.query("TEXT")}
    assert heights["PLN-011"] != heights["CRS-005"]  # stacked, not on top of each other
    literal = [m for m in msp.query("MTEXT") if "退让" in m.plain_text()]
    assert literal and "{a\\b}" in literal[0].plain_text()
    assert "退让 第3行" in literal[0].plain_text()


def test_overlay_of_a_clean_package_is_one_empty_drawing(sample_s, tmp_path):
    with workspace(tmp_path) as wd:
        result = precheck(sample_s, load_profile(), wd)
    paths = write_overlay(result, tmp_path / "qc.dxf")
    assert paths == [tmp_path / "qc.dxf"]
    doc = ezdxf.readfile(paths[0])
    assert len(doc.modelspace()) == 0
    assert {"QC_ERROR", "QC_WARNING", "QC_INFO"} <= {layer.dxf.name for layer in doc.layers}
