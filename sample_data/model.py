"""In-memory model of a sample project: every figure the package reports, and the geometry
it was computed from.

The model is plain, mutable dataclasses. :func:`sample_data.generator.build_model` fills
it consistently; the writers turn it into files without computing anything, so a test (or
a defect seeder) can change one figure or one vertex and the package carries exactly that
change.

Coordinates
-----------
Drawing coordinates are ``(x, y)`` tuples as written to DXF: in the project CRS for the
site and parcel drawings (x = easting, y = northing), in local metres for the floor plans.
Boundary points keep the surveying axes of the report (``x`` = northing, ``y`` = easting).
Rings are open: the first vertex is not repeated at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

Point = tuple[float, float]
Ring = list[Point]

#: Balcony label text → share of its area counted in the unit's inner area.
BALCONY_FACTORS: dict[str, float] = {"封闭": 1.0, "未封闭": 0.5}


@dataclass
class Label:
    """A TEXT (or MTEXT) label of a drawing.

    Attributes
    ----------
    text : str
        The plain text a reader sees.
    at : Point
        Insertion point in drawing coordinates.
    mtext : bool
        Write as MTEXT with inline font formatting instead of TEXT.
    """

    text: str
    at: Point
    mtext: bool = False


@dataclass
class ProjectInfo:
    """The 项目信息 sheet (long form)."""

    xmbh: str
    xmmc: str
    zl: str
    jsdw: str
    chdw: str
    chzz: str
    clrq: date
    zbx: str
    gcjz: str
    fcmjjd: str
    jzdjd: str
    ghxkzh: str


@dataclass
class BoundaryPoint:
    """A row of 界址点 and its JZD circle and label in parcel.dxf.

    ``x`` is the northing, ``y`` the easting (surveying axes, as in the report).
    """

    jzdh: str
    sxh: int
    x: float
    y: float
    jblx: str
    label: Label


@dataclass
class BoundaryLine:
    """A row of 界址线: one edge between consecutive boundary points."""

    start: str
    end: str
    length: float


@dataclass
class Parcel:
    """The 宗地 row, its boundary points and lines, and the ZD polygon of parcel.dxf."""

    zddm: str
    bdcdyh: str
    qlr: str
    zl: str
    zdmj: float
    yt: str
    qllx: str
    qlxz: str
    ring: Ring
    label: Label
    xdata: str | None
    points: list[BoundaryPoint] = field(default_factory=list)
    lines: list[BoundaryLine] = field(default_factory=list)


@dataclass
class Site:
    """The planning drawing's site boundary (YDHX), road red lines (DLHX) and green (LDFW)."""

    boundary: Ring
    roads: list[list[Point]]
    greens: list[Ring]


@dataclass
class Floor:
    """A 层 row and its FC_C frame in the floor plan."""

    zrzh: str
    sjc: int
    cg: float
    frame: Ring
    label: Label


@dataclass
class Balcony:
    """An FC_YT polygon; its label (封闭 / 未封闭) decides the share that counts."""

    ring: Ring
    label: Label

    @property
    def factor(self) -> float:
        """Share of the balcony area counted in the unit's inner area (0 if unlabelled)."""
        return BALCONY_FACTORS.get(self.label.text, 0.0)


@dataclass
class Unit:
    """A 户 row and its FC_H polygon (with balconies) in the floor plan.

    ``drawn_area`` is the inner area computed from the drawing (polygon + balconies at
    their factor); the report figures are derived from it when the model is built.
    """

    bdcdyh: str
    zrzh: str
    sjc: int
    hh: str
    shbw: str
    fwyt: str
    ring: Ring
    label: Label
    balconies: list[Balcony]
    drawn_area: float
    sctnjzmj: float = 0.0
    scftjzmj: float = 0.0
    scjzmj: float = 0.0
    scftxs: float = 0.0
    ycjzmj: float | None = None


@dataclass
class SharedPart:
    """A 共有部位 row and its FC_GY polygon."""

    zrzh: str
    sjc: int
    mc: str
    ring: Ring
    label: Label
    mj: float


@dataclass
class Building:
    """A 自然幢 row, its footprint in site.dxf, and its floor plan ``floors/<幢号>.dxf``."""

    number: int
    zrzh: str
    zddm: str
    jzwmc: str
    fwjg: str
    zcs: int
    dscs: int
    dxcs: int
    jzwgd: float
    zzdmj: float
    scjzmj: float
    footprint: Ring
    label: Label
    floors: list[Floor] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    shared_parts: list[SharedPart] = field(default_factory=list)

    @property
    def plan_name(self) -> str:
        """The 4-digit 幢号: the floor plan's file stem."""
        return f"{self.number:04d}"


@dataclass
class Indicator:
    """A 规划指标 row (long form): indicator code, scope, permitted and measured value."""

    zbdm: str
    fw: str
    ghz: float | int
    scz: float | int
    dw: str | None


@dataclass
class Setback:
    """A 退让 row."""

    zrzh: str
    dx: str
    ghyq: float
    scz: float


@dataclass
class ProjectModel:
    """Everything a package holds, before it is written.

    Attributes
    ----------
    size, seed : str, int
        The arguments it was built from.
    project_id : str
        manifest ``project_id``; also the package's folder name.
    created : datetime
        manifest ``created`` and every timestamp written into files (aware, +08:00).
    epsg : int
        Project CRS of site.dxf and parcel.dxf.
    """

    size: str
    seed: int
    spec_version: str
    project_id: str
    survey_org: str
    created: datetime
    epsg: int
    info: ProjectInfo
    parcel: Parcel
    site: Site
    buildings: list[Building]
    indicators: list[Indicator]
    setbacks: list[Setback]

    def units(self) -> list[Unit]:
        """All units of all buildings, in building order."""
        return [u for b in self.buildings for u in b.units]
