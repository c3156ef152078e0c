"""Deterministic sample packages (成果包) of deliverable.md, for tests and the demo.

>>> from pathlib import Path
>>> from sample_data import make_package
>>> make_package(Path("out"), "S")                   # out/LC-KFQ-2022-0137/
>>> make_package(Path("out"), "S", as_zip=True)      # out/LC-KFQ-2022-0137.zip

:func:`build_model` computes the whole project in memory (geometry first, every reported
figure derived from it); :func:`write_package` only writes the model out.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyproj
from shapely.geometry import Polygon

from sample_data import figures
from sample_data.geometry import (
    area,
    area_limit,
    areas,
    clockwise_from_northwest,
    offset_polyline,
    outward_offset,
    rect,
    survey_signed_area,
    translate,
)
from sample_data.layout import FloorTemplate, SiteLayout, floor_template, site_large, site_small
from sample_data.model import (
    Balcony,
    BoundaryLine,
    BoundaryPoint,
    Building,
    Floor,
    Label,
    Parcel,
    ProjectInfo,
    ProjectModel,
    SharedPart,
    Site,
    Unit,
)

SPEC_VERSION = "1"
EPSG = 4548  # CGCS2000 3° Gauss-Krüger, CM 117E, no zone prefix
SITE_LONLAT = (116.05, 36.48)  # where the site's centroid lies
TZ = timezone(timedelta(hours=8))
SURVEY_ORG = "聊城市某测绘有限公司"
ZDDM = "371502001001GB00001"  # 371502 东昌府区 · 地籍区 001 · 子区 001 · GB · 00001
ROAD_OFFSET = 3.0  # m outside the site boundary
FLOOR_HEIGHT = 3.00  # CG above ground, m
BASEMENT_HEIGHT = 3.60
PARAPET = 0.60  # JZWGD = DSCS × CG + parapet
INNER_AREA_JITTER = (-0.02, -0.01, 0.0, 0.01, 0.02)  # reported vs drawn SCTNJZMJ, m²


@dataclass(frozen=True)
class SizeSpec:
    """What a size letter stands for."""

    project_id: str
    xmmc: str
    zl: str
    ghxkzh: str
    modules: int  # four-unit modules per floor
    dscs: int
    dxcs: int


SIZES: dict[str, SizeSpec] = {
    "S": SizeSpec(
        "LC-KFQ-2022-0137", "聊城经济技术开发区某住宅小区1#楼", "聊城市东昌府区东昌东路以北、华山路以东",
        "建字第371502202200137号", modules=1, dscs=6, dxcs=0,
    ),
    "L": SizeSpec(
        "LC-KFQ-2022-0999", "聊城经济技术开发区某大型住宅小区", "聊城市东昌府区黄河路以南、华山路以西",
        "建字第371502202200999号", modules=2, dscs=30, dxcs=1,
    ),
}


def build_model(size: str = "S", *, seed: int = 0) -> ProjectModel:
    """Build a consistent project in memory.

    Parameters
    ----------
    size : {"S", "L"}
        "S": one building, 6 floors × 4 units (24 units). "L": 40 buildings,
        30 floors × 8 units and one basement level each (9 600 units).
    seed : int
        Varies the floor dimensions and the small figure jitters; the same ``(size,
        seed)`` always gives the same model.

    Returns
    -------
    ProjectModel
        Every reported figure derived from the model's geometry (see README).
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, not {size!r}")
    spec = SIZES[size]
    rng = random.Random(f"duoce-sample-{size}-{seed}")
    template = floor_template(spec.modules, rng)
    layout = site_small() if size == "S" else site_large(template.width, template.depth)
    shift = _crs_shift(layout)

    site = _site(layout, shift)
    parcel = _parcel(site, spec)
    buildings = [
        _building(number, origin, shift, template, spec, size, rng)
        for number, origin in enumerate(layout.footprint_origins, start=1)
    ]
    n_units = sum(len(b.units) for b in buildings)
    model = ProjectModel(
        size=size,
        seed=seed,
        spec_version=SPEC_VERSION,
        project_id=spec.project_id,
        survey_org=SURVEY_ORG,
        created=datetime(2022, 5, 6, 10, 0, tzinfo=TZ),
        epsg=EPSG,
        info=ProjectInfo(
            xmbh=spec.project_id, xmmc=spec.xmmc, zl=spec.zl, jsdw="聊城某置业有限公司",
            chdw=SURVEY_ORG, chzz="乙测资字37503456", clrq=date(2022, 5, 6), zbx=f"EPSG:{EPSG}",
            gcjz="1985国家高程基准", fcmjjd="二级", jzdjd="二级", ghxkzh=spec.ghxkzh,
        ),
        parcel=parcel,
        site=site,
        buildings=buildings,
        indicators=figures.planning_indicators(site, buildings, round(n_units * 1.1)),
        setbacks=figures.setbacks(site, buildings),
    )
    _check(model)
    return model


def _crs_shift(layout: SiteLayout) -> tuple[float, float]:
    """Whole-metre shift that puts the site's centroid at :data:`SITE_LONLAT`."""
    to_crs = pyproj.Transformer.from_crs(4326, EPSG, always_xy=True)
    easting, northing = to_crs.transform(*SITE_LONLAT)
    c = Polygon(layout.boundary).centroid
    return float(round(easting - c.x)), float(round(northing - c.y))


def _site(layout: SiteLayout, shift: tuple[float, float]) -> Site:
    """The site in the CRS: boundary clockwise from the NW point, roads 3 m outside."""
    dx, dy = shift
    roads = [
        translate(offset_polyline(chain, ROAD_OFFSET, extend=10.0), dx, dy)
        for chain in layout.road_chains
    ]
    return Site(
        boundary=clockwise_from_northwest(translate(layout.boundary, dx, dy)),
        roads=roads,
        greens=[translate(g, dx, dy) for g in layout.greens],
    )


def _parcel(site: Site, spec: SizeSpec) -> Parcel:
    """The parcel: ring = site boundary, points J1..Jn clockwise from the NW point."""
    ring = list(site.boundary)
    poly = Polygon(ring)
    centre = (poly.centroid.x, poly.centroid.y)
    points = [
        BoundaryPoint(
            jzdh=f"J{i}", sxh=i, x=n, y=e, jblx="钢钉",
            label=Label(f"J{i}", outward_offset((e, n), centre, 1.0)),
        )
        for i, (e, n) in enumerate(ring, start=1)
    ]
    lines = [
        BoundaryLine(p.jzdh, q.jzdh, round(math.hypot(q.x - p.x, q.y - p.y), 2))
        for p, q in zip(points, points[1:] + points[:1], strict=True)
    ]
    label_at = (round(centre[0] - 12.0, 3), round(centre[1], 3))
    return Parcel(
        zddm=ZDDM, bdcdyh=ZDDM + "W00000000", qlr="聊城某置业有限公司", zl=spec.zl,
        zdmj=round(area(ring), 2), yt="0701", qllx="4", qlxz="102", ring=ring,
        label=Label(ZDDM, label_at), xdata=ZDDM, points=points, lines=lines,
    )


def _floor_label(size: str, number: int, sjc: int) -> tuple[str, bool]:
    """Floor label text and whether it is written as MTEXT (L mixes the styles)."""
    if size == "S":
        return f"{sjc}层", False
    if sjc < 0:
        return (f"{sjc}层" if number % 2 else f"地下{-sjc}层"), False
    style = sjc % 3
    return (f"第{sjc}层" if style == 2 else f"{sjc}层"), style == 0


def _building(
    number: int,
    origin: tuple[float, float],
    shift: tuple[float, float],
    template: FloorTemplate,
    spec: SizeSpec,
    size: str,
    rng: random.Random,
) -> Building:
    """One building: footprint in the CRS, floors, units and shared parts in local metres."""
    zrzh = f"{ZDDM}F{number:04d}"
    ox, oy = origin
    footprint = translate(rect(ox, oy, ox + template.width, oy + template.depth), *shift)
    fx, fy = footprint[0]
    label_at = (round(fx + template.width / 2 - 1.5, 3), round(fy + template.depth / 2 - 0.75, 3))
    building = Building(
        number=number, zrzh=zrzh, zddm=ZDDM, jzwmc=f"{number}#楼", fwjg="3",
        zcs=spec.dscs + spec.dxcs, dscs=spec.dscs, dxcs=spec.dxcs,
        jzwgd=round(spec.dscs * FLOOR_HEIGHT + PARAPET, 2), zzdmj=round(area(footprint), 2),
        scjzmj=0.0, footprint=footprint,
        label=Label(f"{number}#", label_at, mtext=size == "L" and number % 4 == 0),
    )
    pitch = max(40.0, math.ceil(template.frame_height + 10.0))
    levels = [-k for k in range(spec.dxcs, 0, -1)] + list(range(1, spec.dscs + 1))
    for sjc in levels:
        dy = sjc * pitch
        frame = translate(template.frame, 0.0, dy, 2)
        text, mtext = _floor_label(size, number, sjc)
        building.floors.append(
            Floor(zrzh, sjc, BASEMENT_HEIGHT if sjc < 0 else FLOOR_HEIGHT, frame,
                  Label(text, (round(frame[0][0] + 0.6, 2), round(frame[2][1] - 1.0, 2)), mtext))
        )
        for part in template.shared:
            building.shared_parts.append(
                SharedPart(zrzh, sjc, part.name, translate(part.ring, 0.0, dy, 2),
                           Label(part.name, (part.label_at[0], round(part.label_at[1] + dy, 2))), 0.0)
            )
        if sjc < 0:
            continue  # the basement holds shared parts only
        for shape in template.units:
            hh = f"{sjc * 100 + shape.index:04d}"
            building.units.append(
                Unit(
                    bdcdyh=zrzh + hh, zrzh=zrzh, sjc=sjc, hh=hh, shbw=f"{number}-{sjc}{shape.index:02d}",
                    fwyt="11", ring=translate(shape.ring, 0.0, dy, 2),
                    label=Label(hh, (shape.label_at[0], round(shape.label_at[1] + dy, 2))),
                    balconies=[
                        Balcony(translate(ring, 0.0, dy, 2), Label(kind, (at[0], round(at[1] + dy, 2))))
                        for ring, kind, at in shape.balconies
                    ],
                    drawn_area=0.0,
                )
            )
    _measure(building, rng)
    return building


def _measure(building: Building, rng: random.Random) -> None:
    """Areas from the drawn polygons (one vectorised call per kind), then apportionment."""
    units = building.units
    unit_areas = areas([u.ring for u in units])
    balconies = [(i, b) for i, u in enumerate(units) for b in u.balconies]
    balcony_areas = areas([b.ring for _, b in balconies])
    drawn = list(map(float, unit_areas))
    for (i, b), a in zip(balconies, balcony_areas, strict=True):
        drawn[i] += b.factor * float(a)
    for unit, d in zip(units, drawn, strict=True):
        unit.drawn_area = d
        unit.sctnjzmj = round(d + rng.choice(INNER_AREA_JITTER), 2)
    for part, a in zip(building.shared_parts, areas([p.ring for p in building.shared_parts]), strict=True):
        part.mj = round(float(a), 2)
    figures.apportion(building)
    for unit in units:
        deviation = rng.uniform(-0.008, 0.008)  # the pre-sale figure, < 1 % off
        unit.ycjzmj = round(unit.scjzmj * (1 + deviation), 2)


def _check(model: ProjectModel) -> None:
    """Fail loudly if a layout change broke an invariant the package promises."""
    problems: list[str] = []
    site = Polygon(model.site.boundary)
    pts = [(p.x, p.y) for p in model.parcel.points]
    if survey_signed_area(pts) <= 0:
        problems.append("boundary points are not clockwise")
    footprints = [Polygon(b.footprint) for b in model.buildings]
    greens = [Polygon(g) for g in model.site.greens]
    for b, fp in zip(model.buildings, footprints, strict=True):
        if not site.contains(fp):
            problems.append(f"footprint {b.number} outside the site")
        if any(fp.intersects(g) for g in greens):
            problems.append(f"footprint {b.number} overlaps green")
        for u in b.units:
            if abs(u.sctnjzmj - u.drawn_area) > area_limit(u.drawn_area) / 2:
                problems.append(f"unit {u.bdcdyh} jitter beyond half the limit")
                break
    for i, g in enumerate(greens):
        if not site.contains(g) or any(g.intersects(h) for h in greens[i + 1:]):
            problems.append(f"green {i} outside the site or overlapping another")
    problems += [f"setback {s.zrzh} {s.dx} {s.scz} < {s.ghyq}" for s in model.setbacks if s.scz < s.ghyq]
    if problems:
        raise RuntimeError("sample layout is inconsistent: " + "; ".join(problems))


def write_package(
    model: ProjectModel,
    out: Path,
    *,
    report_format: str = "xlsx",
    as_zip: bool = False,
    dxf_version: str = "R2010",
    dxf_encoding: str | None = None,
    autocad: bool = False,
) -> Path:
    """Write ``model`` as a package under the directory ``out``.

    Parameters
    ----------
    model : ProjectModel
        From :func:`build_model`, possibly changed since.
    out : Path
        Parent directory; created if missing.
    report_format : {"xlsx", "csv"}
        ``report.xlsx``, or one ``report/<sheet>.csv`` per sheet (UTF-8 with BOM).
    as_zip : bool
        Write ``out/<project_id>.zip`` (files under one top folder ``<project_id>/``)
        instead of the directory ``out/<project_id>/``.
    dxf_version : str
        "R2000", "R2004", "R2007", "R2010", "R2013" or "R2018".
    dxf_encoding : str, optional
        Code page of R2000/R2004 drawings, e.g. "gbk" ($DWGCODEPAGE ANSI_936); None keeps
        ezdxf's default. R2007 and later are always UTF-8.
    autocad : bool
        Write every drawing as AutoCAD 2013+ does (:mod:`sample_data.autocad`): with
        ``dxf_version`` "R2013" (AC1027) or "R2018" only; ``$DWGCODEPAGE`` ANSI_936 with
        UTF-8 text, CRLF line ends, THUMBNAILIMAGE and ACDSDATA sections.

    Returns
    -------
    Path
        The package directory or zip file. An existing one of the same name is replaced.
    """
    from sample_data.package import write

    return write(
        model, Path(out), report_format=report_format, as_zip=as_zip,
        dxf_version=dxf_version, dxf_encoding=dxf_encoding, autocad=autocad,
    )


def make_package(out: Path, size: str = "S", **kwargs: Any) -> Path:
    """:func:`build_model` then :func:`write_package`; ``seed`` goes to the former, the
    other keyword arguments to the latter."""
    seed = int(kwargs.pop("seed", 0))
    return write_package(build_model(size, seed=seed), Path(out), **kwargs)
