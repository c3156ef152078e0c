"""Seeded defects across the three surveys (XSV-001..008).

Each makes the cadastral, property and planning parts of one package disagree in one
place, keeping each part consistent in itself, so that exactly its rule fires.
"""

from __future__ import annotations

import io
import math

import ezdxf

from sample_data.defects import defect
from sample_data.defects.planning import indicator, move_footprint, shift_across
from sample_data.model import ProjectModel

SITE = "drawings/site.dxf"
OTHER_ZDDM = "371502001001GB00002"  # a well-formed ZDDM that is no parcel of the package


@defect("XSV-001")
def building_of_no_parcel(model: ProjectModel) -> dict:
    """Building 1 is numbered under parcel …00002, which is not in the package: its ZRZH,
    and every reference to it (层, 户 and their BDCDYH, 共有部位, 规划指标, 退让), say so
    consistently; the 自然幢 ZDDM column still names the real parcel."""
    b = model.buildings[0]
    old = b.zrzh
    new = OTHER_ZDDM + old[19:]
    b.zrzh = new
    for f in b.floors:
        f.zrzh = new
    for u in b.units:
        u.zrzh = new
        u.bdcdyh = new + u.bdcdyh[24:]
    for part in b.shared_parts:
        part.zrzh = new
    for ind in model.indicators:
        if ind.fw == old:
            ind.fw = new
    for sb in model.setbacks:
        if sb.zrzh == old:
            sb.zrzh = new
    return {"sheet": "自然幢", "row": 2, "field": "ZRZH"}


@defect("XSV-002")
def unit_under_other_building(model: ProjectModel) -> dict:
    """The first unit's BDCDYH names building 0002 of the same parcel while its ZRZH is 0001."""
    u = model.buildings[0].units[0]
    u.bdcdyh = u.zrzh[:20] + "0002" + u.bdcdyh[24:]
    return {"sheet": "户", "row": 2, "field": "BDCDYH"}


@defect("XSV-003")
def red_line_differs_from_parcel(model: ProjectModel) -> dict:
    """One YDHX vertex is drawn 1 m along the chord of its neighbours: the red line keeps
    its area (no PLN-005) but departs ~0.55 m from the cadastral parcel."""
    ring = model.site.boundary
    (x0, y0), (x1, y1), (x2, y2) = ring[0], ring[1], ring[2]
    length = math.hypot(x2 - x0, y2 - y0)
    ring[1] = (round(x1 + (x2 - x0) / length, 3), round(y1 + (y2 - y0) / length, 3))
    return {"sheet": "宗地", "row": 2, "layer": "ZD"}


@defect("XSV-004")
def parcel_and_site_area_disagree(model: ProjectModel) -> dict:
    """ZDMJ rounded 0.06 m² down and YDMJ 0.06 m² up: each within 0.1 m² of its own
    drawing (no CAD-010, no PLN-005), 0.12 m² apart from each other."""
    model.parcel.zdmj = round(model.parcel.zdmj - 0.06, 2)
    ydmj = indicator(model, "YDMJ")[1]
    ydmj.scz = round(ydmj.scz + 0.06, 2)
    return {"sheet": "宗地", "row": 2, "field": "ZDMJ"}


@defect("XSV-005", knock_on=("PLN-010",))
def footprint_outside_parcel(model: ProjectModel) -> dict:
    """Building 1 stands 0.5 m across the west boundary. The parcel is the red line (as it
    should be), so the footprint also crosses the red line: PLN-010 is the planning side of
    the same fact and cannot be avoided."""
    move_footprint(model, *shift_across(model, len(model.site.boundary) - 1, 0.5))
    return {"sheet": "自然幢", "row": 2, "file": SITE, "layer": "JZJD"}


@defect("XSV-006")
def footprint_area_misreported(model: ProjectModel) -> dict:
    """Building 1's 幢占地面积 (ZZDMJ) is 5 m² over its drawn footprint."""
    b = model.buildings[0]
    b.zzdmj = round(b.zzdmj + 5.0, 2)
    return {"sheet": "自然幢", "row": 2, "field": "ZZDMJ"}


@defect("XSV-007")
def planning_total_low(model: ProjectModel) -> dict:
    """The planning 总建筑面积 (ZJZMJ) is reported 5 % under the property survey's total."""
    row, ind = indicator(model, "ZJZMJ")
    ind.scz = round(ind.scz * 0.95, 2)
    return {"sheet": "规划指标", "row": row}


@defect("XSV-008", stage="files")
def extra_floor_frame(files: dict[str, bytes], model: ProjectModel) -> dict:
    """Building 1's floor plan frames a 7th floor (an empty FC_C frame labelled 7层) that the
    自然幢 sheet (DSCS 6) and the 层 sheet do not have."""
    b = model.buildings[0]
    path = f"drawings/floors/{b.plan_name}.dxf"
    doc = ezdxf.read(io.StringIO(files[path].decode("utf-8")))
    top, below = b.floors[-1], b.floors[-2]
    pitch = top.frame[0][1] - below.frame[0][1]
    frame = [(x, round(y + pitch, 2)) for x, y in top.frame]
    label = (top.label.at[0], round(top.label.at[1] + pitch, 2))
    msp = doc.modelspace()
    msp.add_lwpolyline(frame, close=True, dxfattribs={"layer": "FC_C"})
    msp.add_text(f"{top.sjc + 1}层", height=0.8, dxfattribs={"layer": "FC_C", "insert": label})
    stream = io.StringIO()
    doc.write(stream)
    files[path] = stream.getvalue().encode("utf-8")
    return {"sheet": "自然幢", "row": 2, "field": "DSCS", "file": path}
