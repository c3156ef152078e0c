"""The report's ten sheets as plain tables, ready for the xlsx or csv writer.

Headers follow deliverable.md. To exercise all three header forms a reader must accept,
宗地 writes ``中文(CODE)``, 界址线 and 退让 write the bare code, every other sheet the
Chinese name. Code cells (ZDDM, BDCDYH, HH, YT, QLLX, FWJG …) are strings so that their
leading zeros survive; numbers are numbers; the writer formats them by ``decimals``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sample_data.model import ProjectModel

HeaderForm = Literal["name", "code", "both"]
Cell = object  # str, int, float, datetime.date or None


@dataclass(frozen=True)
class Column:
    """A column: its header as written, and the decimals of its float cells."""

    header: str
    decimals: int | None = None


@dataclass
class Table:
    """A sheet: name, columns and rows of cell values (str, int, float, date or None)."""

    name: str
    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]


def _columns(spec: list[tuple[str, str, int | None]], form: HeaderForm) -> list[Column]:
    def header(code: str, name: str) -> str:
        return {"name": name, "code": code, "both": f"{name}({code})"}[form]

    return [Column(header(code, name), decimals) for code, name, decimals in spec]


#: Sheet name → (header form, [(code, 中文, decimals of floats)]), in workbook order.
SHEETS: dict[str, tuple[HeaderForm, list[tuple[str, str, int | None]]]] = {
    "宗地": ("both", [
        ("ZDDM", "宗地代码", None), ("BDCDYH", "不动产单元号", None), ("QLR", "权利人", None),
        ("ZL", "坐落", None), ("ZDMJ", "宗地面积", 2), ("YT", "土地用途", None),
        ("QLLX", "权利类型", None), ("QLXZ", "权利性质", None),
    ]),
    "界址点": ("name", [
        ("ZDDM", "宗地代码", None), ("JZDH", "界址点号", None), ("SXH", "顺序号", None),
        ("XZBZ", "X坐标", 3), ("YZBZ", "Y坐标", 3), ("JBLX", "界标类型", None),
    ]),
    "界址线": ("code", [
        ("ZDDM", "宗地代码", None), ("QSJZDH", "起始界址点号", None),
        ("ZZJZDH", "终止界址点号", None), ("JZXCD", "勘丈边长", 2),
    ]),
    "自然幢": ("name", [
        ("ZRZH", "自然幢号", None), ("ZDDM", "宗地代码", None), ("JZWMC", "建筑物名称", None),
        ("FWJG", "房屋结构", None), ("ZCS", "总层数", None), ("DSCS", "地上层数", None),
        ("DXCS", "地下层数", None), ("JZWGD", "建筑物高度", 2), ("ZZDMJ", "幢占地面积", 2),
        ("SCJZMJ", "实测建筑面积", 2),
    ]),
    "层": ("name", [("ZRZH", "自然幢号", None), ("SJC", "实际层", None), ("CG", "层高", 2)]),
    "户": ("name", [
        ("BDCDYH", "不动产单元号", None), ("ZRZH", "自然幢号", None), ("SJC", "所在实际层", None),
        ("HH", "户号", None), ("SHBW", "室号部位", None), ("FWYT", "房屋用途", None),
        ("SCTNJZMJ", "实测套内建筑面积", 2), ("SCFTJZMJ", "实测分摊建筑面积", 2),
        ("SCJZMJ", "实测建筑面积", 2), ("SCFTXS", "实测分摊系数", 6), ("YCJZMJ", "预测建筑面积", 2),
    ]),
    "共有部位": ("name", [
        ("ZRZH", "自然幢号", None), ("SJC", "所在层", None), ("MC", "名称", None), ("MJ", "面积", 2),
    ]),
    "规划指标": ("name", [
        ("ZBDM", "指标代码", None), ("FW", "范围", None), ("GHZ", "规划许可值", 2),
        ("SCZ", "实测值", 2), ("DW", "单位", None),
    ]),
    "退让": ("code", [
        ("ZRZH", "自然幢号", None), ("DX", "退让对象", None), ("GHYQ", "规划要求最小距离", 2),
        ("SCZ", "实测距离", 2),
    ]),
}

#: 项目信息 (long form): field code → 中文, in row order.
PROJECT_FIELDS: list[tuple[str, str]] = [
    ("XMBH", "项目编号"), ("XMMC", "项目名称"), ("ZL", "坐落"), ("JSDW", "建设单位"),
    ("CHDW", "测绘单位"), ("CHZZ", "测绘资质证书编号"), ("CLRQ", "测量日期"), ("ZBX", "坐标系"),
    ("GCJZ", "高程基准"), ("FCMJJD", "房产面积精度等级"), ("JZDJD", "界址点精度等级"),
    ("GHXKZH", "建设工程规划许可证号"),
]

SHEET_NAMES: list[str] = ["项目信息", *SHEETS]


def report_tables(model: ProjectModel) -> list[Table]:
    """The ten sheets of the report, in workbook order."""
    info = model.info
    project = Table("项目信息", [Column("字段"), Column("值")])
    project.rows = [[name, getattr(info, code.lower())] for code, name in PROJECT_FIELDS]

    def table(name: str) -> Table:
        form, spec = SHEETS[name]
        return Table(name, _columns(spec, form))

    p = model.parcel
    parcel = table("宗地")
    parcel.rows = [[p.zddm, p.bdcdyh, p.qlr, p.zl, p.zdmj, p.yt, p.qllx, p.qlxz]]
    points = table("界址点")
    points.rows = [[p.zddm, q.jzdh, q.sxh, q.x, q.y, q.jblx] for q in p.points]
    lines = table("界址线")
    lines.rows = [[p.zddm, e.start, e.end, e.length] for e in p.lines]

    buildings, floors, units, shared = table("自然幢"), table("层"), table("户"), table("共有部位")
    for b in model.buildings:
        buildings.rows.append(
            [b.zrzh, b.zddm, b.jzwmc, b.fwjg, b.zcs, b.dscs, b.dxcs, b.jzwgd, b.zzdmj, b.scjzmj]
        )
        floors.rows += [[f.zrzh, f.sjc, f.cg] for f in b.floors]
        units.rows += [
            [u.bdcdyh, u.zrzh, u.sjc, u.hh, u.shbw, u.fwyt, u.sctnjzmj, u.scftjzmj, u.scjzmj,
             u.scftxs, u.ycjzmj]
            for u in b.units
        ]
        shared.rows += [[s.zrzh, s.sjc, s.mc, s.mj] for s in b.shared_parts]

    indicators = table("规划指标")
    indicators.rows = [[i.zbdm, i.fw, i.ghz, i.scz, i.dw] for i in model.indicators]
    setbacks = table("退让")
    setbacks.rows = [[s.zrzh, s.dx, s.ghyq, s.scz] for s in model.setbacks]
    return [project, parcel, points, lines, buildings, floors, units, shared, indicators, setbacks]
