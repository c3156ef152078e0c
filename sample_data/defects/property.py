"""Seeded defects of the property survey (PRP-001..013).

Each changes the model the way a firm's mistake would — one figure of a 户 row, a 层 row,
the 自然幢 total, a unit polygon, a floor frame or a balcony of the floor plan — and leaves
everything else as built, so that exactly its rule fires. The S sample has one building
(1#, ``drawings/floors/0001.dxf``), six floors of four units 0101..0604.
"""

from __future__ import annotations

from sample_data.defects import defect
from sample_data.model import Balcony, Label, ProjectModel, Unit
from sample_data.report_writers import csv_files, xlsx_bytes
from sample_data.tables import report_tables

UNIT = "户"
PLAN = "drawings/floors/0001.dxf"


def unit(model: ProjectModel, hh: str) -> Unit:
    """Building 1's unit with 户号 ``hh``."""
    return next(u for u in model.buildings[0].units if u.hh == hh)


def at_unit(u: Unit, field: str | None = None, **drawing: str) -> dict:
    out = {"sheet": UNIT, "key": u.bdcdyh, **drawing}
    if field:
        out["field"] = field
    return out


# ---------------------------------------------------------------- PRP-001..005: the figures


@defect("PRP-001")
def total_typo(model: ProjectModel) -> dict:
    """Unit 0101's 实测建筑面积 (SCJZMJ) is 1 m² too large; its inner and apportioned areas
    and the building's total are right (PRP-005 does not repeat the unit's finding)."""
    u = unit(model, "0101")
    u.scjzmj = round(u.scjzmj + 1.0, 2)
    return at_unit(u, "SCJZMJ")


@defect("PRP-001", variant="inner-area", knock_on=("PRP-006",))
def inner_area_typo(model: ProjectModel) -> dict:
    """Unit 0203's 套内建筑面积 (SCTNJZMJ) is written 2 m² too large; its apportioned area and
    total were computed from the right one. The unit's figures do not add up (PRP-001) and
    differ from the drawing (PRP-006, unavoidable: the drawn area is right); the building's
    coefficient K is taken with the area the unit's own figures imply, so no other unit's
    SCFTXS is reported (no PRP-002 cascade)."""
    u = unit(model, "0203")
    u.sctnjzmj = round(u.sctnjzmj + 2.0, 2)
    return at_unit(u, "SCJZMJ")


@defect("PRP-002")
def coefficient_typo(model: ProjectModel) -> dict:
    """Unit 0203's 分摊系数 (SCFTXS) has a digit wrong (1e-4 off); its apportioned area is right."""
    u = unit(model, "0203")
    u.scftxs = round(u.scftxs + 0.0001, 6)
    return at_unit(u, "SCFTXS")


@defect("PRP-003")
def apportioned_typo(model: ProjectModel) -> dict:
    """Unit 0302's 分摊建筑面积 (SCFTJZMJ) is 0.5 m² too large; its total (SCJZMJ) was computed
    from the right one. Only PRP-003: the total is right (no PRP-001) and the building's sum
    is off by this unit alone (no PRP-004)."""
    u = unit(model, "0302")
    u.scftjzmj = round(u.scftjzmj + 0.5, 2)
    return at_unit(u, "SCFTJZMJ")


@defect("PRP-004")
def rounded_up(model: ProjectModel) -> dict:
    """Every unit's apportioned area was rounded up by a cent (within PRP-003's 0.01 each),
    totals carried through: Σ SCFTJZMJ exceeds Σ 共有部位 MJ by 0.24 m² (limit 0.13)."""
    b = model.buildings[0]
    for u in b.units:
        u.scftjzmj = round(u.scftjzmj + 0.01, 2)
        u.scjzmj = round(u.scjzmj + 0.01, 2)
    b.scjzmj = round(sum(u.scjzmj for u in b.units), 2)
    return {"sheet": "自然幢", "key": b.zrzh}


@defect("PRP-004", variant="shared-part", knock_on=("PRP-002", "PRP-003"))
def shared_part_typo(model: ProjectModel) -> dict:
    """The 楼梯间 of floor 1 is reported 10 m² too large. K is then off for the whole
    building: PRP-002 and PRP-003 fire on every unit (each unit's figures are wrong against
    the report as it stands), PRP-004 names the building."""
    b = model.buildings[0]
    part = next(p for p in b.shared_parts if p.sjc == 1 and p.mc == "楼梯间")
    part.mj = round(part.mj + 10.0, 2)
    return {"sheet": "自然幢", "key": b.zrzh}


@defect("PRP-005")
def building_total_typo(model: ProjectModel) -> dict:
    """Building 1's 实测建筑面积 (自然幢 SCJZMJ) is 5 m² more than the sum of its units."""
    b = model.buildings[0]
    b.scjzmj = round(b.scjzmj + 5.0, 2)
    return {"sheet": "自然幢", "key": b.zrzh, "field": "SCJZMJ"}


# ---------------------------------------------------------------- PRP-006..008, 013: the floor plan


@defect("PRP-006")
def drawn_too_deep(model: ProjectModel) -> dict:
    """Unit 0204's north wall is drawn 10 cm too far north: about 1.8 m² more than reported
    (limit 0.65 m²). The table is right."""
    u = unit(model, "0204")
    top = max(y for _, y in u.ring)
    u.ring = [(x, round(y + 0.10, 2) if y == top else y) for x, y in u.ring]
    return at_unit(u, "SCTNJZMJ", file=PLAN, layer="FC_H")


@defect("PRP-007")
def wrong_unit_label(model: ProjectModel) -> dict:
    """Unit 0101's polygon is labelled 0199: the row 0101 has no polygon and the polygon
    0199 no row (two PRP-007 findings of one mistake)."""
    u = unit(model, "0101")
    u.label.text = "0199"
    return at_unit(u, "HH", file=PLAN, layer="FC_H")


@defect("PRP-008")
def frame_cuts_unit(model: ProjectModel) -> dict:
    """Floor 3's frame (FC_C) has a slot cut from its top edge into the north-east corner
    of unit 0304: 0.3 m × 0.3 m of the unit lies outside the frame."""
    b = model.buildings[0]
    floor = next(f for f in b.floors if f.sjc == 3)
    u = unit(model, "0304")
    ux = max(x for x, _ in u.ring)
    uy = max(y for _, y in u.ring)
    x0 = min(x for x, _ in floor.frame)
    x1 = max(x for x, _ in floor.frame)
    y0 = min(y for _, y in floor.frame)
    y1 = max(y for _, y in floor.frame)
    sx0, sx1, sy = round(ux - 0.6, 2), round(ux - 0.3, 2), round(uy - 0.3, 2)
    floor.frame = [
        (x0, y0),
        (x1, y0),
        (x1, y1),
        (sx1, y1),
        (sx1, sy),
        (sx0, sy),
        (sx0, y1),
        (x0, y1),
    ]
    return at_unit(u, file=PLAN, layer="FC_H")


@defect("PRP-008", variant="overlap")
def units_overlap(model: ProjectModel) -> dict:
    """Unit 0503's east wall is drawn 5 cm into unit 0504 (about 0.19 m² overlap; 0503's
    area grows 0.4 m², within its area limit)."""
    u = unit(model, "0503")
    east = max(x for x, _ in u.ring)
    u.ring = [(round(x + 0.05, 2) if x == east else x, y) for x, y in u.ring]
    return at_unit(u, file=PLAN, layer="FC_H")


@defect("PRP-013")
def balcony_unlabelled(model: ProjectModel) -> dict:
    """Unit 0201's balcony is labelled 阳台 instead of 封闭 / 未封闭 (its share is unknown, so
    the unit's drawn area is not judged: no PRP-006)."""
    unit(model, "0201").balconies[0].label.text = "阳台"
    return {"file": PLAN, "layer": "FC_YT"}


@defect("PRP-013", variant="detached")
def balcony_detached(model: ProjectModel) -> dict:
    """Unit 0604 gets a 未封闭 balcony drawn 30 cm off its north wall, touching no unit."""
    u = unit(model, "0604")
    top = max(y for _, y in u.ring)
    east = max(x for x, _ in u.ring)
    y0, y1, x0, x1 = (
        round(top + 0.3, 2),
        round(top + 1.3, 2),
        round(east - 6.0, 2),
        round(east - 2.0, 2),
    )
    ring = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    u.balconies.append(Balcony(ring, Label("未封闭", (round(x0 + 0.3, 2), round(y0 + 0.4, 2)))))
    return {"file": PLAN, "layer": "FC_YT"}


# ---------------------------------------------------------------- PRP-009..012: the tables


@defect("PRP-009")
def presale_off(model: ProjectModel) -> dict:
    """Unit 0601 was pre-sold with a figure 5 % below its measured area (a warning)."""
    u = unit(model, "0601")
    u.ycjzmj = round(u.scjzmj / 1.05, 2)
    return at_unit(u, "SCJZMJ")


@defect("PRP-010")
def low_floor(model: ProjectModel) -> dict:
    """Floor 2 of building 1 is reported 2.10 m high, yet its units carry area."""
    b = model.buildings[0]
    floor = next(f for f in b.floors if f.sjc == 2)
    floor.cg = 2.10
    return {"sheet": "层", "key": f"{b.zrzh}/2", "field": "CG"}


@defect("PRP-011", stage="files")
def extra_floor_row(files: dict[str, bytes], model: ProjectModel) -> dict:
    """The 层 sheet lists a floor above the top one of building 1 (S: a 7th floor, DSCS 6);
    the 自然幢 sheet and the drawings are right."""
    b = model.buildings[0]
    tables = report_tables(model)
    floors = next(t for t in tables if t.name == "层")
    floors.rows.append([b.zrzh, b.dscs + 1, 3.0])
    if "report.xlsx" in files:
        files["report.xlsx"] = xlsx_bytes(tables, model.created, model.survey_org)
    else:
        files.update(csv_files(tables))
    return {"sheet": "自然幢", "key": b.zrzh}


@defect("PRP-012")
def unit_number_typo(model: ProjectModel) -> dict:
    """Unit 0402's 户号 (HH) is written 0420; its BDCDYH and the drawing say 0402 (the row
    still finds its polygon by BDCDYH: no PRP-007)."""
    u = unit(model, "0402")
    u.hh = "0420"
    return at_unit(u, "HH")
